//! The client side every backend implements.
//!
//! [`Client`] is object-safe: a program holds `Arc<dyn Client>` and does not
//! care which engine is behind it. A request carries its transport context in
//! its extensions ([`RequestExt::with_ctx`]); without one, the client's own
//! default context is used, filled from the request's URL.

use std::{fmt, future::Future, io, marker::PhantomData, time::Duration};

mod default_routes;
#[cfg(feature = "tokio")]
mod engine;
pub use default_routes::DefaultRoutes;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use engine::{Engine, EngineClient};

use http::{Method, Request, Response, Uri};

// The timeout kinds are named in the settings' docs in every build.
#[cfg(feature = "tokio")]
use crate::body::Sent;
#[cfg_attr(not(feature = "tokio"), allow(unused_imports))]
use crate::error::TimeoutKind;
use crate::{ctx::Ctx, tls::ALPN_HTTP11, Body, BoxFuture, Error, Result};
#[cfg(feature = "tokio")]
use futures_util::future::Either;

/// How long connecting (transport and TLS handshake) may take by default:
/// 30 s, as Go's default transport dials and as ureq 2 connected. Far
/// above a slow network's round trips and handshakes, yet a dead address
/// does not hold the caller for the minutes the system's own SYN retries
/// take (curl's default connect limit is 300 s; reqwest and ureq 3 have
/// none).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the response head may take by default, from the request's
/// last byte to the end of the headers: 60 s, what nginx gives an upstream
/// to answer (`proxy_read_timeout`). Unlike nginx's, it is a total, not a
/// wait between two reads, so a server that trickles its headers a byte at
/// a time cannot stretch it. A handler that works longer than that before
/// answering is rare and can say so with [`Builder::response_head_timeout`].
pub const DEFAULT_RESPONSE_HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a response body may go without a byte by default: 60 s,
/// nginx's `proxy_read_timeout` between two reads. A download of any size
/// at any rate passes; a peer that stopped sending does not hold the
/// caller for ever (curl's `--speed-time` and reqwest's `read_timeout` are
/// the same kind of limit, off unless asked).
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// The whole exchange, body included ([`TimeoutKind::Request`]).
    pub timeout: Option<Duration>,
    /// Connecting (transport and TLS handshake), for contexts that set none
    /// ([`TimeoutKind::Connect`]).
    pub connect_timeout: Option<Duration>,
    /// From the request's last byte to the end of the response's headers
    /// ([`TimeoutKind::ResponseHead`]).
    pub response_head_timeout: Option<Duration>,
    /// The longest wait for the next bytes of a response body
    /// ([`TimeoutKind::BodyIdle`]).
    pub body_idle_timeout: Option<Duration>,
    /// HTTP/2 without negotiation on connections without TLS.
    pub http2_prior_knowledge: bool,
    /// Offer only `http/1.1` in ALPN.
    pub http1_only: bool,
    /// How long an idle connection is kept for reuse.
    pub pool_idle_timeout: Duration,
    /// How many idle connections are kept per endpoint (0: no reuse).
    pub pool_max_idle_per_endpoint: usize,
    /// Whether redirects are followed ([`crate::redirect`]).
    pub redirect: crate::redirect::Policy,
    /// Which response codings are asked for and decoded
    /// ([`crate::decompress`]): none by default.
    pub decompress: crate::decompress::Codings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ctx: Ctx::new(),
            timeout: None,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            response_head_timeout: Some(DEFAULT_RESPONSE_HEAD_TIMEOUT),
            body_idle_timeout: Some(DEFAULT_BODY_IDLE_TIMEOUT),
            http2_prior_knowledge: false,
            http1_only: false,
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_endpoint: 32,
            redirect: crate::redirect::Policy::none(),
            decompress: crate::decompress::Codings::none(),
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

    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    /// The response with the body idle limit
    /// ([`Settings::body_idle_timeout`]) on its body.
    pub fn idle_bounded(&self, response: Response<Body>) -> Response<Body> {
        match self.body_idle_timeout {
            Some(idle) => response.map(|body| body.with_idle_timeout(idle)),
            None => response,
        }
    }
}

/// A client backend built from [`Settings`].
pub trait FromSettings: Sized {
    /// The client.
    fn from_settings(settings: Settings) -> Self;
}

/// The settings themselves: `Builder<Settings>` changes settings that a
/// wrapper (paf-compat's builders) keeps.
impl FromSettings for Settings {
    fn from_settings(settings: Settings) -> Self {
        settings
    }
}

/// Builds any backend's client from the shared [`Settings`].
///
/// # Defaults
/// A stalled peer never holds the caller for ever: every wait on the
/// network has a limit, and each limit gives [`Error::Timeout`] with its
/// own [`TimeoutKind`]. Each can be changed, or switched off with `None`.
///
/// | limit | default | bounds | kind |
/// |---|---|---|---|
/// | [`connect_timeout`](Builder::connect_timeout) | 30 s ([`DEFAULT_CONNECT_TIMEOUT`]) | connecting, TLS handshake included | [`TimeoutKind::Connect`] |
/// | [`response_head_timeout`](Builder::response_head_timeout) | 60 s ([`DEFAULT_RESPONSE_HEAD_TIMEOUT`]) | from the request's last byte to the end of the response's headers, however slowly they come | [`TimeoutKind::ResponseHead`] |
/// | [`body_idle_timeout`](Builder::body_idle_timeout) | 60 s ([`DEFAULT_BODY_IDLE_TIMEOUT`]) | each wait for more of the response body | [`TimeoutKind::BodyIdle`] |
/// | [`timeout`](Builder::timeout) | none | the whole exchange, body included | [`TimeoutKind::Request`] |
///
/// The whole-exchange limit stays opt-in: no single figure suits both a
/// health check and a large download. The others: HTTP/2 when ALPN picks
/// it, idle connections kept 90 s, at most 32 idle connections per
/// endpoint.
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
    /// response body to its end (none by default; `None` removes it).
    /// Passing it gives [`Error::Timeout`] with [`TimeoutKind::Request`].
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.timeout = timeout.into();
        self
    }

    /// Limits connecting (transport and TLS handshake) for every request
    /// whose context sets no connect timeout of its own (default
    /// [`DEFAULT_CONNECT_TIMEOUT`]; `None`: as long as the system tries).
    /// Passing it gives [`Error::Timeout`] with [`TimeoutKind::Connect`].
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.connect_timeout = timeout.into();
        self
    }

    /// Limits the wait for the response head: from the moment the engine
    /// has taken the request's last byte to the end of the response's
    /// headers, however they trickle in (default
    /// [`DEFAULT_RESPONSE_HEAD_TIMEOUT`]; `None`: wait for ever). Passing
    /// it gives [`Error::Timeout`] with [`TimeoutKind::ResponseHead`].
    ///
    /// On reqwest, a request without a body starts the wait when it is
    /// handed to the engine, so there the wait also covers connecting
    /// (bounded by the connect limit): reqwest tells nobody when it has
    /// connected.
    pub fn response_head_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.response_head_timeout = timeout.into();
        self
    }

    /// Limits each wait for more of a response body: no byte for this long
    /// is [`Error::Timeout`] with [`TimeoutKind::BodyIdle`] (default
    /// [`DEFAULT_BODY_IDLE_TIMEOUT`]; `None`: wait for ever). A slow but
    /// steady body passes whatever its size; only the reader's waits count,
    /// not its own pauses between reads.
    pub fn body_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.body_idle_timeout = timeout.into();
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

    /// Whether redirects are followed: [`Policy::none`](crate::redirect::Policy::none)
    /// by default (a 3xx is the answer, as in CoHTTP), or
    /// [`Policy::limited`](crate::redirect::Policy::limited). paf follows
    /// them above the engine, with the same rules on every backend (see
    /// [`crate::redirect`]).
    pub fn redirect(mut self, policy: crate::redirect::Policy) -> Self {
        self.settings.redirect = policy;
        self
    }

    /// Asks for these response codings and decodes them
    /// ([`crate::decompress`]): none by default, so that a body comes as
    /// it was sent (CoHTTP decodes nothing). `Codings::all()` is every
    /// coding this build has (paf-core's features `gzip`, `deflate`,
    /// `brotli`, `zstd`). The same on every engine: their own
    /// decompression stays off. A request that sets its own
    /// `Accept-Encoding` is left to negotiate for itself.
    pub fn decompress(mut self, codings: crate::decompress::Codings) -> Self {
        self.settings.decompress = codings;
        self
    }

    /// Starts from these settings.
    pub fn from_settings(settings: Settings) -> Self {
        Builder {
            settings,
            client: PhantomData,
        }
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

/// A URI for logs: userinfo (`user:password@`) left out.
pub(crate) struct Redacted<'a>(pub(crate) &'a Uri);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.0;
        if let Some(scheme) = uri.scheme_str() {
            write!(f, "{scheme}://")?;
        }
        if let Some(authority) = uri.authority() {
            let authority = authority.as_str();
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            f.write_str(host)?;
        }
        match uri.path_and_query() {
            Some(path) => write!(f, "{path}"),
            None => Ok(()),
        }
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

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
/// Bounds a whole exchange by `timeout`, counted from this call: the wait
/// for the response head, then the reading of its body, which fails with
/// [`Error::Timeout`] once the same deadline passes. Every async backend
/// applies its `timeout` setting through this, so that it means the same
/// everywhere.
///
/// A combinator, not an `async fn`: the future is `exchange` with a timer
/// beside it, not `exchange` kept twice (once as the argument, once being
/// awaited), which every layer above would copy.
pub fn with_timeout<F>(
    timeout: Option<Duration>,
    exchange: F,
) -> impl Future<Output = Result<Response<Body>>>
where
    F: Future<Output = Result<Response<Body>>>,
{
    use futures_util::FutureExt as _;
    let Some(after) = timeout else {
        return Either::Left(exchange);
    };
    let deadline = tokio::time::Instant::now() + after;
    Either::Right(
        tokio::time::timeout_at(deadline, exchange).map(move |outcome| {
            let response = outcome.map_err(|_| Error::Timeout {
                what: TimeoutKind::Request,
                after,
            })??;
            Ok(response.map(|body| body.with_deadline(deadline, after)))
        }),
    )
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
/// Waits for a response head under the response-head limit
/// ([`Settings::response_head_timeout`]): `head` is the engine's exchange
/// up to the head, `sent` resolves once the engine has taken the request's
/// last byte (see [`Body::track_sent`]). The limit counts from then, so a
/// slow upload does not eat into it. Every
/// async backend waits for heads through this, so that the limit means the
/// same everywhere.
pub async fn response_head<T, F>(limit: Option<Duration>, sent: Sent, head: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let Some(after) = limit else {
        return head.await;
    };
    let head = std::pin::pin!(head);
    // `sent` is asked first: when it is done already (a request without a
    // body), the engine's future is polled first under the timer, not
    // twice in a row (once here, once more there).
    let head = match futures_util::future::select(sent, head).await {
        Either::Left(((), head)) => head,
        Either::Right((done, _)) => return done,
    };
    tokio::time::timeout(after, head)
        .await
        .map_err(|_| Error::Timeout {
            what: TimeoutKind::ResponseHead,
            after,
        })?
}

/// Methods a client may send again without asking (RFC 9110 §9.2.2): the
/// server must treat a repeat as it treated the first.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// A copy of `request` to send again on a fresh connection if its
/// connection closes before the response comes (a keep-alive connection
/// the server was closing, say): `Some` only for an idempotent method
/// ([`is_idempotent`]) with a body in memory or none. RFC 9110 §9.2.2 lets
/// a client retry such a request once on its own; a `POST`, or a streamed
/// body already consumed, is never sent twice behind the caller's back.
/// The copy has the request's method, URI, version, headers, extensions
/// and body.
pub fn replay_copy(request: &Request<Body>) -> Option<Request<Body>> {
    if !is_idempotent(request.method()) {
        return None;
    }
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

/// An attempt at an exchange that failed: its error, and whether its
/// connection closed (or was reset) after the request went out and before
/// the response head came, the one failure after which a request may be
/// sent again ([`send_with_replay`]).
#[derive(Debug)]
pub struct Failed {
    /// What went wrong.
    pub error: Error,
    /// The connection closed before the response head came.
    pub closed_early: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            closed_early: false,
        }
    }
}

/// Sends `request` through `attempt`; when that fails with its connection
/// closed before the response ([`Failed::closed_early`]) and the request
/// may be sent again ([`replay_copy`]), sends it once more. `attempt`'s
/// second argument says whether it may use a pooled connection: `false`
/// for the second attempt, which goes on a fresh one. Every async backend
/// retries through this, so that the rule is the same everywhere.
///
/// The copy and the first attempt are made by this call, so the future
/// holds them and not the request as well (which every layer above would
/// copy as it moves the future).
pub fn send_with_replay<F, Fut>(
    request: Request<Body>,
    attempt: F,
) -> impl Future<Output = Result<Response<Body>>>
where
    F: Fn(Request<Body>, bool) -> Fut,
    Fut: Future<Output = std::result::Result<Response<Body>, Failed>>,
{
    let replay = replay_copy(&request);
    let first = attempt(request, true);
    async move {
        // Taken apart before the second wait, so that the future does not
        // keep the first outcome beside it.
        let error = match first.await {
            Ok(response) => return Ok(response),
            Err(Failed {
                error,
                closed_early: true,
            }) => error,
            Err(failed) => return Err(failed.error),
        };
        let Some(again) = replay else {
            return Err(error);
        };
        attempt(again, false)
            .await
            .map_err(|retry| error_after_retry(error, retry.error))
    }
}

/// The error of a request sent again (see [`replay_copy`]) whose second
/// attempt failed too: the second attempt's, unless that one reached no
/// server (a connect error), when the first error tells more of what
/// became of the request. So [`Error::is_connect`] keeps meaning that
/// nothing was sent.
pub fn error_after_retry(first: Error, retry: Error) -> Error {
    if retry.is_connect() {
        first
    } else {
        retry
    }
}

/// I/O errors that mean the peer closed or reset the connection: what a
/// request written onto a connection the server was closing meets.
pub fn closed_by_peer(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
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
    fn every_wait_has_a_limit_by_default() {
        let s = Settings::default();
        assert_eq!(s.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(s.response_head_timeout, Some(DEFAULT_RESPONSE_HEAD_TIMEOUT));
        assert_eq!(s.body_idle_timeout, Some(DEFAULT_BODY_IDLE_TIMEOUT));
        assert_eq!(s.timeout, None, "the whole-exchange limit stays opt-in");

        struct Probe(Settings);
        impl FromSettings for Probe {
            fn from_settings(settings: Settings) -> Self {
                Probe(settings)
            }
        }
        let s = Builder::<Probe>::new()
            .connect_timeout(None)
            .response_head_timeout(Duration::from_secs(5))
            .body_idle_timeout(None)
            .timeout(Duration::from_secs(9))
            .build()
            .0;
        assert_eq!(s.connect_timeout, None);
        assert_eq!(s.response_head_timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.body_idle_timeout, None);
        assert_eq!(s.timeout, Some(Duration::from_secs(9)));
    }

    #[tokio::test(start_paused = true)]
    async fn head_limit_counts_from_the_last_byte_sent() {
        let limit = Some(Duration::from_secs(2));
        // The body takes 10 s to go out, the head comes 1 s later: in time.
        let (body, sent) = Body::from("x").track_sent();
        let head = async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            body.to_bytes(1).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok("head")
        };
        assert_eq!(response_head(limit, sent, head).await.unwrap(), "head");

        // Nothing comes after the request: cut 2 s after the last byte.
        let (_body, sent) = Body::empty().track_sent();
        let started = tokio::time::Instant::now();
        let err = response_head(limit, sent, std::future::pending::<Result<()>>())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    what: TimeoutKind::ResponseHead,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[test]
    fn only_idempotent_requests_with_bodies_in_memory_are_replayed() {
        let get = Request::get("http://h/").body(Body::empty()).unwrap();
        assert!(replay_copy(&get).is_some());
        let put = Request::put("http://h/")
            .header("x-a", "1")
            .body(Body::from("data"))
            .unwrap();
        let copy = replay_copy(&put).unwrap();
        assert_eq!(copy.headers()["x-a"], "1");
        assert_eq!(copy.body().len(), Some(4));
        let post = Request::post("http://h/").body(Body::from("data")).unwrap();
        assert!(replay_copy(&post).is_none());
        let streamed = Request::put("http://h/")
            .body(Body::from_stream(futures_util::stream::iter([Ok::<
                _,
                io::Error,
            >(
                "x"
            )])))
            .unwrap();
        assert!(replay_copy(&streamed).is_none());
    }

    #[tokio::test]
    async fn a_request_is_replayed_once_and_only_when_it_may_be() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let closed = || Failed {
            error: Error::protocol("closed before the response", None),
            closed_early: true,
        };
        let refused = || Error::Connect {
            endpoint: "tcp://h:80".into(),
            source: io::ErrorKind::ConnectionRefused.into(),
        };
        let tries = AtomicUsize::new(0);
        let fresh = std::sync::Mutex::new(Vec::new());
        let attempt = |_: Request<Body>, reuse: bool| {
            let n = tries.fetch_add(1, Ordering::SeqCst);
            fresh.lock().unwrap().push(!reuse);
            async move {
                match n {
                    0 => Err(closed()),
                    _ => Ok(Response::new(Body::from("again"))),
                }
            }
        };
        let get = Request::get("http://h/").body(Body::empty()).unwrap();
        let response = send_with_replay(get, attempt).await.unwrap();
        assert_eq!(response.into_body().to_string(10).await.unwrap(), "again");
        assert_eq!(
            *fresh.lock().unwrap(),
            [false, true],
            "the replay goes on a fresh connection"
        );

        // A POST is not sent twice.
        tries.store(0, Ordering::SeqCst);
        let post = Request::post("http://h/").body(Body::from("x")).unwrap();
        assert!(send_with_replay(post, attempt)
            .await
            .unwrap_err()
            .is_protocol());
        assert_eq!(tries.load(Ordering::SeqCst), 1);

        // Twice closed: no third attempt. A replay that cannot connect
        // leaves the first error, which says the request was sent.
        for second in [closed(), Failed::from(refused())] {
            let second = std::sync::Mutex::new(Some(second));
            let tries = AtomicUsize::new(0);
            let attempt = |_: Request<Body>, _: bool| {
                let n = tries.fetch_add(1, Ordering::SeqCst);
                let outcome = match n {
                    0 => Err(closed()),
                    _ => Err(second.lock().unwrap().take().unwrap_or_else(closed)),
                };
                async move { outcome }
            };
            let get = Request::get("http://h/").body(Body::empty()).unwrap();
            let err = send_with_replay(get, attempt).await.unwrap_err();
            assert!(err.is_protocol() && !err.is_connect(), "{err:?}");
            assert_eq!(tries.load(Ordering::SeqCst), 2);
        }
    }

    #[test]
    fn client_is_object_safe() {
        fn takes(_: Option<std::sync::Arc<dyn Client>>) {}
        takes(None);
    }
}
