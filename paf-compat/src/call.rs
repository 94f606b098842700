//! What both clients share: the arguments of a CoHTTP call as they are
//! collected, the methods that set them, and CoHTTP's client functions,
//! which are the same names with the same meaning on the async and the
//! blocking client (only sending differs).

use paf_core::{client::RequestExt, Ctx};

use crate::body::CoreBody;
use crate::code::Method;
use crate::request::{IntoUri, Request};
use crate::transfer::Encoding;
use crate::{Error, Header};

/// What a client call collects before it is sent: CoHTTP's `call`
/// arguments. Both clients' `Call` types hold one.
pub(crate) struct Outgoing<B> {
    pub(crate) meth: Method,
    pub(crate) uri: Result<http::Uri, Error>,
    pub(crate) headers: Option<Header>,
    pub(crate) body: Option<B>,
    pub(crate) chunked: Option<bool>,
    pub(crate) ctx: Option<Ctx>,
    /// Set by `post_form`: `content-type` is added unless present.
    pub(crate) form: bool,
}

impl<B> std::fmt::Debug for Outgoing<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("meth", &self.meth)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("chunked", &self.chunked)
            .finish_non_exhaustive()
    }
}

impl<B> Outgoing<B> {
    pub(crate) fn new(meth: Method, uri: impl IntoUri) -> Self {
        Outgoing {
            meth,
            uri: uri.into_uri(),
            headers: None,
            body: None,
            chunked: None,
            ctx: None,
            form: false,
        }
    }

    /// `post_form`'s request: the params as the body, not chunked.
    pub(crate) fn form(uri: impl IntoUri, body: B) -> Self {
        let mut out = Outgoing::new(Method::Post, uri);
        out.body = Some(body);
        out.chunked = Some(false);
        out.form = true;
        out
    }

    /// The engine's request. `encoding` is what `chunked` asked for (the
    /// caller measured the body for `Fixed`); the context, when given, goes
    /// into the request's extensions.
    pub(crate) fn into_http<S: CoreBody>(
        self,
        encoding: Option<Encoding>,
        body: S,
    ) -> Result<http::Request<S>, Error> {
        let mut headers = self.headers;
        if self.form {
            headers = Some(Header::add_opt_unless_exists(
                headers,
                "content-type",
                "application/x-www-form-urlencoded",
            ));
        }
        let mut builder = Request::builder(self.uri?).meth(self.meth);
        if let Some(headers) = headers {
            builder = builder.headers(headers);
        }
        if let Some(encoding) = encoding {
            builder = builder.encoding(encoding);
        }
        let request = builder.build().into_http(body)?;
        Ok(with_ctx(request, self.ctx))
    }
}

/// `callv`'s requests for the engine, in order: each request's resource on
/// the scheme and authority of `uri`, with the batch's context.
pub(crate) fn callv_requests<B, S>(
    uri: Result<http::Uri, Error>,
    requests: Vec<(Request, B)>,
    ctx: Option<Ctx>,
) -> Result<Vec<http::Request<S>>, Error>
where
    B: Into<S>,
    S: CoreBody,
{
    let base = uri?;
    requests
        .into_iter()
        .map(|(request, body)| {
            let request = request.into_callv_http(&base, body.into())?;
            Ok(with_ctx(request, ctx.clone()))
        })
        .collect()
}

fn with_ctx<S>(request: http::Request<S>, ctx: Option<Ctx>) -> http::Request<S> {
    match ctx {
        Some(ctx) => request.with_ctx(ctx),
        None => request,
    }
}

/// A client's `Callv` type: the batch `callv` collects, and its `?ctx`.
macro_rules! callv_type {
    ($name:literal, $doc:literal, $must_use:literal) => {
        #[doc = $doc]
        #[must_use = $must_use]
        pub struct Callv {
            client: Client,
            uri: Result<http::Uri, Error>,
            requests: Vec<(Request, Body)>,
            ctx: Option<paf_core::Ctx>,
        }

        impl std::fmt::Debug for Callv {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)
                    .field("uri", &self.uri)
                    .field("requests", &self.requests.len())
                    .finish_non_exhaustive()
            }
        }

        impl Callv {
            /// CoHTTP's `?ctx`, for every request of the batch.
            pub fn ctx(mut self, ctx: paf_core::Ctx) -> Self {
                self.ctx = Some(ctx);
                self
            }
        }
    };
}
pub(crate) use callv_type;

/// Declares the optional arguments of CoHTTP's client calls on a `Call`
/// type holding an `out: Outgoing<$body>`, for both clients.
macro_rules! call_options {
    ($body:ty) => {
        /// CoHTTP's `?ctx`: send through this transport context (a Unix
        /// socket, extra CA certificates…) rather than the client's. CoHTTP
        /// then opens a dedicated connection; here connections are pooled
        /// per endpoint whatever context reached them.
        pub fn ctx(mut self, ctx: paf_core::Ctx) -> Self {
            self.out.ctx = Some(ctx);
            self
        }

        /// CoHTTP's `?headers`.
        pub fn headers(mut self, headers: $crate::Header) -> Self {
            self.out.headers = Some(headers);
            self
        }

        /// CoHTTP's `?body`.
        pub fn body(mut self, body: impl Into<$body>) -> Self {
            self.out.body = Some(body.into());
            self
        }

        /// CoHTTP's `?chunked`: `true` sends the body chunked
        /// (`Transfer-Encoding: chunked` on HTTP/1.1), `false` with a
        /// `Content-Length` (a stream of unknown length is read into memory
        /// first, under the client's body limit). Unset, the body's own
        /// form decides ([`Body::transfer_encoding`](crate::Body::transfer_encoding)).
        pub fn chunked(mut self, chunked: bool) -> Self {
            self.out.chunked = Some(chunked);
            self
        }
    };
}
pub(crate) use call_options;

/// CoHTTP's client functions on a `Client` with `Call`, `Callv` and `Body`
/// types of its own (async or blocking), the same for both clients.
macro_rules! client_functions {
    ($engine:ty) => {
        #[doc = concat!("A client on any `", stringify!($engine), "` (a backend")]
        /// configured by hand, a test double), with the default body limit;
        /// redirects are followed as the engine's own settings say.
        pub fn from_engine(engine: std::sync::Arc<$engine>) -> Self {
            Client {
                engine,
                body_limit: $crate::body::DEFAULT_LIMIT,
                ctx: None,
            }
        }

        /// CoHTTP's `Client.map_context`, reshaped: a client whose calls
        /// go through `f(ctx)`, where `ctx` is this client's transport
        /// context (the one given to the builder's `ctx`, else an empty
        /// [`Ctx`](paf_core::Ctx), which each request fills from its URL).
        /// The new client shares this one's engine and connection pool; a
        /// call's own `.ctx(c)` still wins.
        ///
        /// CoHTTP's `map_context v f` lifts `f` over a function that takes
        /// `?ctx`, which is how its client functions are built; what a
        /// porter does with it is change the context every call gets,
        /// which is this.
        pub fn map_context(&self, f: impl FnOnce(paf_core::Ctx) -> paf_core::Ctx) -> Self {
            Client {
                ctx: Some(f(self.ctx.clone().unwrap_or_default())),
                ..self.clone()
            }
        }

        /// The transport context calls get when they bring none, as set by
        /// the builder's `ctx` or [`map_context`](Self::map_context).
        pub fn context(&self) -> Option<&paf_core::Ctx> {
            self.ctx.as_ref()
        }

        /// CoHTTP's `Client.call ?ctx ?headers ?body ?chunked meth uri`: any
        /// method.
        pub fn call(&self, meth: impl Into<Method>, uri: impl IntoUri) -> Call {
            self.prepare(Outgoing::new(meth.into(), uri))
        }

        /// CoHTTP's `Client.get ?ctx ?headers uri`.
        pub fn get(&self, uri: impl IntoUri) -> Call {
            self.call(Method::Get, uri)
        }

        /// CoHTTP's `Client.head ?ctx ?headers uri`: the response alone, as
        /// in CoHTTP.
        pub fn head(&self, uri: impl IntoUri) -> Call<Response> {
            self.prepare(Outgoing::new(Method::Head, uri))
        }

        /// CoHTTP's `Client.delete ?ctx ?body ?chunked ?headers uri`.
        pub fn delete(&self, uri: impl IntoUri) -> Call {
            self.call(Method::Delete, uri)
        }

        /// CoHTTP's `Client.post ?ctx ?body ?chunked ?headers uri`.
        pub fn post(&self, uri: impl IntoUri) -> Call {
            self.call(Method::Post, uri)
        }

        /// CoHTTP's `Client.put ?ctx ?body ?chunked ?headers uri`.
        pub fn put(&self, uri: impl IntoUri) -> Call {
            self.call(Method::Put, uri)
        }

        /// CoHTTP's `Client.patch ?ctx ?body ?chunked ?headers uri`.
        pub fn patch(&self, uri: impl IntoUri) -> Call {
            self.call(Method::Patch, uri)
        }

        /// CoHTTP's `Client.post_form ?ctx ?headers ~params uri`: a `POST` of
        /// `params` as `application/x-www-form-urlencoded` (see
        /// `Body::of_form`: a key's values are joined by commas, as CoHTTP
        /// does), with a `Content-Length`. The `content-type` is added
        /// unless the headers have one.
        pub fn post_form<K, I, V>(
            &self,
            uri: impl IntoUri,
            params: impl IntoIterator<Item = (K, I)>,
        ) -> Call
        where
            K: AsRef<str>,
            I: IntoIterator<Item = V>,
            V: AsRef<str>,
        {
            self.prepare(Outgoing::form(uri, Body::of_form(params)))
        }

        /// CoHTTP's `Client.callv ?ctx uri requests`: the requests sent to
        /// `uri`'s scheme and authority (each with its own method,
        /// resource, headers and body), the responses in the same order.
        ///
        /// What is guaranteed: requests leave one after the other, never
        /// pipelined, and each response's body is read into memory (under
        /// the client's `body_limit`) before the next request is sent. On
        /// hyper and ureq the next request therefore goes on the same
        /// keep-alive connection, unless the server closed it; reqwest
        /// hands a connection back to its pool from a task of its own, so a
        /// request may find it not yet there and open another. Over HTTP/2
        /// every request shares one connection anyway. CoHTTP pipelines on a
        /// dedicated connection instead; paf's engines do not pipeline.
        pub fn callv(
            &self,
            uri: impl IntoUri,
            requests: impl IntoIterator<Item = (Request, Body)>,
        ) -> Callv {
            Callv {
                client: self.clone(),
                uri: uri.into_uri(),
                requests: requests.into_iter().collect(),
                ctx: self.ctx.clone(),
            }
        }

        /// The name of the backend sending the requests (`hyper`,
        /// `reqwest`, `ureq`).
        pub fn backend(&self) -> &'static str {
            self.engine.backend()
        }

        fn prepare<T>(&self, mut out: Outgoing<Body>) -> Call<T> {
            out.ctx = self.ctx.clone();
            Call {
                client: self.clone(),
                out,
                answer: std::marker::PhantomData,
            }
        }
    };
}
pub(crate) use client_functions;
