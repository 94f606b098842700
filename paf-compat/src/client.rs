//! CoHTTP's client (`Cohttp_lwt.S.Client`, as `Cohttp_lwt_unix.Client`):
//! `get`, `head`, `delete`, `post`, `put`, `patch`, `post_form`, `call` and
//! `callv`, on the async backend the Cargo features chose.
//!
//! CoHTTP's optional arguments (`?ctx`, `?headers`, `?body`, `?chunked`)
//! are methods of the [`Call`] each function returns; awaiting the call
//! sends it:
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Client.get uri` | `client.get(uri).await?` |
//! | `Client.get ~ctx ~headers uri` | `client.get(uri).ctx(ctx).headers(h).await?` |
//! | `Client.post ~body ~chunked:false uri` | `client.post(uri).body(b).chunked(false).await?` |
//! | `Client.call ~headers ~body meth uri` | `client.call(meth, uri).headers(h).body(b).await?` |
//!
//! Each answers `(Response, Body)` as CoHTTP does (`head` only the
//! [`Response`], as CoHTTP's); the body is still on the wire until read, so
//! read or [`drain`](Body::drain) it for the connection to be reused.
//! Status codes of any value are responses; `Err` means no response was had.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::sync::Arc;

use paf_core::{client::FromSettings, BoxFuture};

use crate::call::{call_options, callv_requests, callv_type, client_functions, Outgoing};
use crate::code::Method;
use crate::request::IntoUri;
use crate::transfer::Encoding;
use crate::{Body, Error, Request, Response};

/// The async engines paf-compat can drive; each is a Cargo feature of the
/// same name, and a variant exists only when its feature is on: naming a
/// backend that is not compiled in is a compile error. A backend named at
/// run time (from a configuration file, say) is parsed with
/// [`str::parse`], which answers [`Error::BackendDisabled`] for a known
/// backend whose feature is off.
///
/// ```
/// use paf_compat::Backend;
///
/// let backend: Backend = "hyper".parse()?;
/// assert_eq!(backend, Backend::Hyper);
/// assert!(Backend::ALL.contains(&Backend::default()));
/// assert!("curl".parse::<Backend>().is_err());
/// # Ok::<(), paf_compat::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// hyper (feature `hyper`, on by default): HTTP/1.1 and HTTP/2 over
    /// every transport a context resolves (TCP, TLS, Unix sockets, user
    /// transports).
    #[cfg(feature = "hyper")]
    #[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
    Hyper,
    /// reqwest (feature `reqwest`): HTTP/1.1 and HTTP/2 over TCP, TLS and
    /// Unix sockets; a user transport is [`paf_core::Error::Unsupported`].
    #[cfg(feature = "reqwest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    Reqwest,
}

/// Every backend paf-compat knows of, compiled in or not, by name.
const KNOWN: [&str; 2] = ["hyper", "reqwest"];

impl Backend {
    /// The backends compiled in, the default first.
    pub const ALL: &'static [Backend] = &[
        #[cfg(feature = "hyper")]
        Backend::Hyper,
        #[cfg(feature = "reqwest")]
        Backend::Reqwest,
    ];

    /// The backend's name, which is also its Cargo feature's.
    pub const fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "hyper")]
            Backend::Hyper => "hyper",
            #[cfg(feature = "reqwest")]
            Backend::Reqwest => "reqwest",
        }
    }
}

impl Default for Backend {
    /// hyper when its feature is on, else reqwest.
    fn default() -> Self {
        Backend::ALL[0]
    }
}

impl std::str::FromStr for Backend {
    type Err = Error;

    /// A backend by its name (`hyper`, `reqwest`, any case):
    /// [`Error::BackendDisabled`] when its feature is off,
    /// [`Error::InvalidArgument`] when paf-compat knows no such backend.
    fn from_str(name: &str) -> Result<Backend, Error> {
        if let Some(backend) = Backend::ALL
            .iter()
            .find(|b| b.name().eq_ignore_ascii_case(name))
        {
            return Ok(*backend);
        }
        match KNOWN.iter().find(|known| known.eq_ignore_ascii_case(name)) {
            Some(backend) => Err(Error::BackendDisabled { backend }),
            None => Err(Error::InvalidArgument {
                function: "Backend::from_str",
                reason: "unknown backend: paf-compat's async backends are hyper and reqwest",
            }),
        }
    }
}

/// An async HTTP client with CoHTTP's functions. Cheap to clone: clones
/// share the backend and its connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), paf_compat::Error> {
/// use paf_compat::{Client, Header};
///
/// let client = Client::new();
/// let (res, body) = client
///     .get("http://127.0.0.1:8080/")
///     .headers(Header::init_with("accept", "text/plain"))
///     .await?;
/// println!("{} {}", res.status(), body.to_string().await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    /// The backend, built with the settings (redirects included).
    engine: Arc<dyn paf_core::client::Client>,
    body_limit: usize,
    /// The context of calls that bring none (see `map_context`).
    ctx: Option<paf_core::Ctx>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("backend", &self.engine.backend())
            .field("body_limit", &self.body_limit)
            .field("ctx", &self.ctx)
            .finish()
    }
}

/// Configures a [`Client`]: the backend and paf's settings (see
/// [`settings::ClientBuilder`](crate::settings::ClientBuilder) for them).
pub type ClientBuilder = crate::settings::ClientBuilder<Async>;

/// What the async client's builder holds besides the settings: the
/// backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Async {
    backend: Backend,
}

impl crate::settings::ClientBuilder<Async> {
    /// Which engine sends the requests (default [`Backend::default`]).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.kind.backend = backend;
        self
    }

    /// The client. (A backend whose feature is off cannot be named: see
    /// [`Backend`].)
    pub fn build(self) -> Result<Client, Error> {
        let settings = self.settings;
        let engine: Arc<dyn paf_core::client::Client> = match self.kind.backend {
            #[cfg(feature = "hyper")]
            Backend::Hyper => Arc::new(paf_hyper::Client::from_settings(settings)),
            #[cfg(feature = "reqwest")]
            Backend::Reqwest => Arc::new(paf_reqwest::Client::from_settings(settings)),
        };
        Ok(Client {
            engine,
            body_limit: self.body_limit,
            ctx: self.ctx,
        })
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client on the default backend with the default settings.
    pub fn new() -> Client {
        ClientBuilder::default()
            .build()
            .expect("the default backend is one whose feature is on")
    }

    /// A builder, to pick the backend or change the settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client on this backend with the default settings.
    pub fn with_backend(backend: Backend) -> Result<Client, Error> {
        Client::builder().backend(backend).build()
    }

    client_functions!(dyn paf_core::client::Client);

    /// Sends through the backend, which follows redirects as its settings
    /// say.
    async fn send(
        &self,
        request: http::Request<paf_core::Body>,
    ) -> Result<(Response, Body), Error> {
        let response = self.engine.send(request).await?;
        let (parts, body) = response.into_parts();
        Ok((Response::of_http(&parts), Body::of_stream(body)))
    }
}

/// One call being prepared: CoHTTP's optional arguments as methods. Await
/// it (or call [`send`](Call::send)) to send it. `T` is what it answers:
/// `(Response, Body)`, or the [`Response`] alone for `head`.
#[must_use = "a call is sent only when awaited"]
pub struct Call<T = (Response, Body)> {
    client: Client,
    out: Outgoing<Body>,
    answer: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Call").field(&self.out).finish()
    }
}

impl<T> Call<T> {
    call_options!(Body);

    async fn exchange(self) -> Result<(Response, Body), Error> {
        let client = self.client.clone();
        let request = self.into_http().await?;
        client.send(request).await
    }

    /// The request to send, its body framed as `?chunked` says.
    async fn into_http(self) -> Result<http::Request<paf_core::Body>, Error> {
        let Call {
            client, mut out, ..
        } = self;
        let body = out.body.take().unwrap_or_default();
        let (encoding, body) = match out.chunked {
            Some(true) => (Some(Encoding::Chunked), body),
            Some(false) => {
                let (len, body) = body.length(client.body_limit).await?;
                (Some(Encoding::Fixed(len)), body)
            }
            None => (None, body),
        };
        out.into_http(encoding, body.into_core())
    }
}

impl Call<(Response, Body)> {
    /// Sends the request; the same as awaiting the call.
    pub fn send(self) -> BoxFuture<'static, Result<(Response, Body), Error>> {
        Box::pin(self.exchange())
    }

    /// Sends a request that asks to switch protocols (`upgrade` and
    /// `connection: upgrade` among its [`headers`](Call::headers)) and,
    /// when the server agrees (`101 Switching Protocols`), gives the
    /// connection the answer arrived on: [`Upgrade::Switched`].
    /// Any other answer is [`Upgrade::Refused`] with its body. CoHTTP's
    /// client has no counterpart (ocaml-websocket writes the request
    /// itself on a Conduit flow); this is the client half of
    /// [`server::respond_upgrade`](crate::server::respond_upgrade).
    ///
    /// Upgrades are hyper's and HTTP/1.1's: on the reqwest backend this is
    /// [`paf_core::Error::Unsupported`], and a request that went out over
    /// HTTP/2 is never switched.
    ///
    /// ```no_run
    /// # async fn demo(client: paf_compat::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use paf_compat::client::Upgrade;
    /// use paf_compat::Header;
    /// use tokio::io::AsyncWriteExt;
    ///
    /// let headers = Header::of_list([("upgrade", "echo"), ("connection", "upgrade")]);
    /// let (res, upgrade) = client.get("http://127.0.0.1:8080/").headers(headers).upgrade().await?;
    /// match upgrade {
    ///     Upgrade::Switched(mut stream) => stream.write_all(b"hello").await?,
    ///     Upgrade::Refused(body) => println!("{:?}: {}", res.status(), body.to_string().await?),
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "hyper")]
    pub fn upgrade(self) -> BoxFuture<'static, Result<(Response, Upgrade), Error>> {
        Box::pin(async move {
            let client = self.client.clone();
            if client.engine.backend() != "hyper" {
                return Err(Error::Http(paf_core::Error::Unsupported {
                    backend: client.engine.backend(),
                    feature: "connection upgrades (101 Switching Protocols)".to_owned(),
                }));
            }
            let request = self.into_http().await?;
            let mut response = client.engine.send(request).await?;
            let switched = response.status() == http::StatusCode::SWITCHING_PROTOCOLS;
            let stream = match switched {
                true => Some(paf_hyper::upgrade::response(&mut response).await?),
                false => None,
            };
            let (parts, body) = response.into_parts();
            let upgrade = match stream {
                Some(stream) => Upgrade::Switched(stream),
                None => Upgrade::Refused(Body::of_stream(body)),
            };
            Ok((Response::of_http(&parts), upgrade))
        })
    }
}

/// What [`Call::upgrade`] got: the connection, or an ordinary answer's
/// body.
#[cfg(feature = "hyper")]
#[derive(Debug)]
pub enum Upgrade {
    /// The server switched protocols: the connection, a tokio `AsyncRead +
    /// AsyncWrite` stream, on which the new protocol's bytes follow.
    Switched(Upgraded),
    /// The server answered without switching: the answer's body.
    Refused(Body),
}

/// A connection taken over after a `101`, a tokio `AsyncRead + AsyncWrite`
/// stream.
#[cfg(feature = "hyper")]
pub type Upgraded = paf_hyper::upgrade::Upgraded;

impl Call<Response> {
    /// Sends the request; the same as awaiting the call.
    pub fn send(self) -> BoxFuture<'static, Result<Response, Error>> {
        Box::pin(async move { Ok(self.exchange().await?.0) })
    }
}

impl IntoFuture for Call<(Response, Body)> {
    type Output = Result<(Response, Body), Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

impl IntoFuture for Call<Response> {
    type Output = Result<Response, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

callv_type!(
    "Callv",
    "A `callv` batch being prepared (see [`Client::callv`]). Await it for the responses, in order.",
    "a batch is sent only when awaited"
);

impl Callv {
    /// Sends the batch; the same as awaiting it.
    pub fn send(self) -> BoxFuture<'static, Result<Vec<(Response, Body)>, Error>> {
        Box::pin(async move {
            let requests = callv_requests(self.uri, self.requests, self.ctx)?;
            let mut answers = Vec::with_capacity(requests.len());
            for request in requests {
                let (response, body) = self.client.send(request).await?;
                // Read whole, so the connection is free for the next one.
                let body = body.to_bytes_with_limit(self.client.body_limit).await?;
                answers.push((response, Body::of_bytes(body)));
            }
            Ok(answers)
        })
    }
}

impl IntoFuture for Callv {
    type Output = Result<Vec<(Response, Body)>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}
