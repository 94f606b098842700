//! The client side every backend implements.
//!
//! [`Client`] is object-safe: a program holds `Arc<dyn Client>` and does not
//! care which engine is behind it. A request carries its transport context in
//! its extensions ([`RequestExt::with_ctx`]); without one, the client's own
//! default context is used, filled from the request's URL.

use std::{future::Future, marker::PhantomData, time::Duration};

use http::{Request, Response, Uri};

use crate::{ctx::Ctx, error::TimeoutKind, tls::ALPN_HTTP11, Body, BoxFuture, Error, Result};

/// An asynchronous HTTP client backend.
///
/// Every status code is a response, not an error: `Err` means no response
/// was had (connect, TLS, protocol, timeout…).
pub trait Client: Send + Sync + 'static {
    /// Sends a request and returns the response head with its body still to
    /// be read. The request's URI must be absolute (`http://…`, `https://…`).
    fn send(&self, request: Request<Body>) -> BoxFuture<'static, Result<Response<Body>>>;

    /// The backend's name (`hyper`, `reqwest`…), for messages and logs.
    fn backend(&self) -> &'static str;
}

/// Attaches a transport context to a request.
pub trait RequestExt {
    /// Sends this request through `ctx` rather than the client's default.
    fn with_ctx(self, ctx: Ctx) -> Self;
    /// The context attached to this request, if any.
    fn ctx(&self) -> Option<&Ctx>;
}

impl<B> RequestExt for Request<B> {
    fn with_ctx(mut self, ctx: Ctx) -> Self {
        self.extensions_mut().insert(ctx);
        self
    }

    fn ctx(&self) -> Option<&Ctx> {
        self.extensions().get::<Ctx>()
    }
}

/// The context a backend uses for a request: the one attached to it (taken
/// out of its extensions) or `default`, filled from the request's URI.
pub fn request_ctx<B>(request: &mut Request<B>, default: &Ctx) -> Result<Ctx> {
    let ctx = request
        .extensions_mut()
        .remove::<Ctx>()
        .unwrap_or_else(|| default.clone());
    ctx.with_uri(request.uri())
}

/// The settings every client backend takes, with one meaning whatever the
/// engine. Backends build from them ([`FromSettings`]) through the shared
/// [`Builder`], so switching engines changes no option name.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The context for requests that carry none.
    pub ctx: Ctx,
    /// The whole exchange, body included.
    pub timeout: Option<Duration>,
    /// Connecting (transport and TLS handshake), for contexts that set none.
    pub connect_timeout: Option<Duration>,
    /// HTTP/2 without negotiation on connections without TLS.
    pub http2_prior_knowledge: bool,
    /// Offer only `http/1.1` in ALPN.
    pub http1_only: bool,
    /// How long an idle connection is kept for reuse.
    pub pool_idle_timeout: Duration,
    /// How many idle connections are kept per endpoint (0: no reuse).
    pub pool_max_idle_per_endpoint: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ctx: Ctx::new(),
            timeout: None,
            connect_timeout: None,
            http2_prior_knowledge: false,
            http1_only: false,
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_endpoint: 32,
        }
    }
}

impl Settings {
    /// The context a request goes through: its own (see
    /// [`RequestExt::with_ctx`]) or the default, filled from its URI, given
    /// the connect timeout when it sets none, and offering only `http/1.1`
    /// when [`Settings::http1_only`] is set.
    pub fn request_ctx<B>(&self, request: &mut Request<B>) -> Result<Ctx> {
        let mut ctx = request_ctx(request, &self.ctx)?;
        if let (Some(timeout), None) = (self.connect_timeout, ctx.connect_timeout()) {
            ctx = ctx.with_connect_timeout(timeout);
        }
        if self.http1_only {
            ctx = ctx.with_alpn(vec![ALPN_HTTP11.to_vec()]);
        }
        Ok(ctx)
    }
}

/// A client backend built from [`Settings`].
pub trait FromSettings: Sized {
    /// The client.
    fn from_settings(settings: Settings) -> Self;
}

/// Builds any backend's client from the shared [`Settings`]. Defaults: no
/// request timeout, no connect timeout, HTTP/2 when ALPN picks it, idle
/// connections kept 90 s, at most 32 idle connections per endpoint.
#[derive(Debug)]
pub struct Builder<C> {
    settings: Settings,
    client: PhantomData<fn() -> C>,
}

impl<C> Default for Builder<C> {
    fn default() -> Self {
        Builder {
            settings: Settings::default(),
            client: PhantomData,
        }
    }
}

impl<C: FromSettings> Builder<C> {
    /// A builder with the default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context used for requests that carry none (see
    /// [`RequestExt::with_ctx`]): its TLS settings, routes, endpoints and
    /// transports apply to every such request.
    pub fn ctx(mut self, ctx: Ctx) -> Self {
        self.settings.ctx = ctx;
        self
    }

    /// Limits the whole exchange: connecting, sending, and reading the
    /// response body to its end. Passing it gives [`Error::Timeout`] with
    /// [`TimeoutKind::Request`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Limits connecting (transport and TLS handshake) for every request
    /// whose context sets no connect timeout of its own. Passing it gives
    /// [`Error::Timeout`] with [`TimeoutKind::Connect`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = Some(timeout);
        self
    }

    /// Speaks HTTP/2 without negotiation on connections without TLS
    /// (backends without HTTP/2 refuse such requests as unsupported).
    pub fn http2_prior_knowledge(mut self, on: bool) -> Self {
        self.settings.http2_prior_knowledge = on;
        self
    }

    /// Offers only `http/1.1` in ALPN.
    pub fn http1_only(mut self, on: bool) -> Self {
        self.settings.http1_only = on;
        self
    }

    /// How long an idle connection is kept for reuse.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.pool_idle_timeout = timeout;
        self
    }

    /// How many idle connections are kept per endpoint (0 turns reuse off).
    pub fn pool_max_idle_per_endpoint(mut self, max: usize) -> Self {
        self.settings.pool_max_idle_per_endpoint = max;
        self
    }

    /// The settings so far.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The client.
    pub fn build(self) -> C {
        C::from_settings(self.settings)
    }
}

/// A `GET` request for `uri`, with a typed error for a URI that does not
/// parse.
pub fn get_request<B: Default>(uri: &str) -> Result<Request<B>> {
    let parsed: Uri = uri
        .parse()
        .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl {
            url: uri.to_string(),
            reason: e.to_string(),
        })?;
    let mut request = Request::new(B::default());
    *request.uri_mut() = parsed;
    Ok(request)
}

/// Bounds a whole exchange by `timeout`: the wait for the response head,
/// then the reading of its body, which fails with [`Error::Timeout`] once
/// the same deadline passes. Every async backend applies its `timeout`
/// setting through this, so that it means the same everywhere.
pub async fn with_timeout<F>(timeout: Option<Duration>, exchange: F) -> Result<Response<Body>>
where
    F: Future<Output = Result<Response<Body>>>,
{
    let Some(after) = timeout else {
        return exchange.await;
    };
    let deadline = tokio::time::Instant::now() + after;
    let response = tokio::time::timeout_at(deadline, exchange)
        .await
        .map_err(|_| Error::Timeout {
            what: TimeoutKind::Request,
            after,
        })??;
    Ok(response.map(|body| body.with_deadline(deadline, after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attached_context_wins_over_default() {
        let mut req = Request::get("http://svc/x")
            .body(Body::empty())
            .unwrap()
            .with_ctx(Ctx::new().with_unix_socket("/run/svc.sock"));
        assert!(req.ctx().is_some());
        let ctx = request_ctx(&mut req, &Ctx::new()).unwrap();
        assert_eq!(ctx.endpoint().unwrap().to_string(), "unix:/run/svc.sock");
        assert!(
            req.ctx().is_none(),
            "the context is moved out of the request"
        );
    }

    #[test]
    fn default_context_is_filled_from_the_uri() {
        let mut req = Request::get("https://svc:8443/")
            .body(Body::empty())
            .unwrap();
        let ctx = request_ctx(&mut req, &Ctx::new()).unwrap();
        assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://svc:8443");
        assert!(ctx.tls_enabled());
    }

    #[test]
    fn client_is_object_safe() {
        fn takes(_: Option<std::sync::Arc<dyn Client>>) {}
        takes(None);
    }
}
