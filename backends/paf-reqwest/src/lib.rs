//! paf-reqwest: paf's reqwest backend, an async HTTP client.
//!
//! ```no_run
//! # async fn demo() -> paf_core::Result<()> {
//! use paf_core::Ctx;
//!
//! let ctx = Ctx::new().with_ca_pem(&std::fs::read("ca.pem")?)?;
//! let client = paf_reqwest::Client::builder().ctx(ctx).build();
//! let response = client.get("https://localhost:8443/").await?;
//! println!("{:?} {}", response.version(), response.status());
//! # Ok(()) }
//! ```
//!
//! The client implements [`paf_core::client::Client`]: the same requests,
//! responses, bodies and errors as every other paf backend. reqwest is used
//! as an adapter only: it never follows redirects (see
//! [`paf_core::redirect`]), never decodes bodies, never reads proxies from
//! the environment, and its TLS is paf's rustls configuration on `ring`
//! (the context's roots and ALPN list).
//!
//! # Limits and retries
//! paf-core's limits apply as on every backend: reqwest is given the
//! connect limit, and paf-core bounds the wait for the response head and
//! each wait for more of the body above it. The head wait starts once
//! reqwest has taken the request's last byte; for a request without a body
//! reqwest says nothing before the response, so there the wait starts when
//! the request is handed over and also covers connecting. A request whose
//! connection closed before its response head came goes again once when
//! paf-core allows it ([`paf_core::client::replay_copy`]); reqwest picks the
//! connection for it, a pooled one it has not seen closed or a new one.
//!
//! # What the context can ask of it
//! reqwest connects by itself, so it can use only the context entries it has
//! a setting for: TCP to the URL's host (or to an explicit address on the
//! URL's port), a Unix socket, the context's TLS configuration and connect
//! timeout. A user transport, TLS over an `http://` URL (or none over
//! `https://`), another SNI name than the URL's host, or a TCP endpoint on
//! another host or port fail with [`paf_core::Error::Unsupported`] naming the
//! entry; nothing falls back to plain TCP silently.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

use std::{future::Future, io, sync::Arc, time::Duration};

use http::{Request, Response};
use http_body_util::BodyExt;
use paf_core::{
    client::{
        closed_by_peer, response_head, Builder, DefaultRoutes, Engine, EngineClient, Failed,
        Settings,
    },
    ctx::{ConnKey, Endpoint, Scheme},
    error::{find_cause, ProtocolKind, TimeoutKind},
    per_key::PerKey,
    url::Url,
    Body, Ctx, Error, Result,
};

const BACKEND: &str = "reqwest";

/// How many reqwest engines (one per endpoint and TLS setting) are kept;
/// past it the one used least recently goes, with its idle connections.
const MAX_ENGINES: usize = 64;

/// An async HTTP client on reqwest. Cheap to clone: clones share the
/// engines and their connections.
pub type Client = EngineClient<ReqwestEngine>;

/// Builds a [`Client`]: paf's shared client settings (see
/// [`paf_core::client::Builder`] for the options and their defaults).
pub type ClientBuilder = Builder<Client>;

/// reqwest as a paf engine: what [`Client`] sends requests with.
///
/// reqwest fixes TLS settings, Unix sockets and address overrides when a
/// client is built: it keeps one reqwest client per connection key (and per
/// "HTTP/1.1 only": a `Host` naming another authority), each with its
/// pool, at most 64 of them.
pub struct ReqwestEngine {
    engines: PerKey<(ConnKey, bool), reqwest::Client>,
    /// The parsed `scheme://authority/` of the URLs seen: a request's URL
    /// is this with its path and query set, instead of its `http::Uri`
    /// printed and parsed again whole (host parsing included) every time.
    bases: PerKey<(bool, http::uri::Authority), Url>,
    /// The routes of requests through the client's own context, per
    /// origin: such a request costs a lookup, not a context filled in and
    /// an engine, a base and an endpoint worked out again.
    defaults: DefaultRoutes<Arc<Route>>,
}

impl std::fmt::Debug for ReqwestEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqwestEngine")
            .field("engines", &self.engines)
            .finish()
    }
}

impl Engine for ReqwestEngine {
    const NAME: &'static str = BACKEND;
    type Route = Arc<Route>;

    fn new(_: &Settings) -> Self {
        ReqwestEngine {
            engines: PerKey::new(MAX_ENGINES),
            bases: PerKey::new(MAX_ENGINES),
            defaults: DefaultRoutes::new(),
        }
    }

    fn route(&self, settings: &Settings, request: &mut Request<Body>) -> Result<Arc<Route>> {
        if host_needs_http1(settings, request)? {
            // Rare (a `Host` naming another authority): worked out for this
            // request alone, on an HTTP/1.1-only engine.
            let ctx = settings.request_ctx(request)?;
            return self
                .new_route(settings, &ctx, request.uri(), true)
                .map(Arc::new);
        }
        self.defaults.route(settings, request, |ctx, request| {
            self.new_route(settings, &ctx, request.uri(), false)
                .map(Arc::new)
        })
    }

    /// The reqwest request is made and started here, before the future,
    /// which then holds reqwest's (boxed) future and the head limit only:
    /// the shell boxes it, and a box of more than about 1 KiB misses the
    /// allocator's fast path.
    fn attempt<'a>(
        &'a self,
        settings: &'a Settings,
        route: &'a Arc<Route>,
        request: Request<Body>,
        _reuse: bool,
    ) -> impl Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a {
        let (parts, body) = request.into_parts();
        let (body, sent) = body.track_sent();
        let mut url = route.base.clone();
        if let Some(path_and_query) = parts.uri.path_and_query() {
            url.set_path(path_and_query.path());
            // The base has no query to clear.
            if let Some(query) = path_and_query.query() {
                url.set_query(Some(query));
            }
        }
        let mut request = reqwest::Request::new(parts.method, url);
        *request.headers_mut() = parts.headers;
        *request.version_mut() = parts.version;
        *request.body_mut() = Some(reqwest::Body::wrap(body));
        let pending = route.engine.execute(request);
        async move {
            let head = async { Ok(pending.await) };
            let response = response_head(settings.response_head_timeout, sent, head)
                .await?
                .map_err(|e| route.failed(e))?;
            let response: Response<reqwest::Body> = response.into();
            Ok(response.map(|body| Body::wrap(body.map_err(classify_body))))
        }
    }
}

/// The way of requests through reqwest, shared by the requests to one
/// origin through the client's context: the engine that sends them, the
/// URL base, and what their errors are reported against.
#[derive(Debug)]
pub struct Route {
    /// The request URL's `scheme://authority/`, parsed.
    base: Url,
    engine: reqwest::Client,
    connect_timeout: Option<Duration>,
    endpoint: Endpoint,
    server_name: String,
}

impl Route {
    fn failed(&self, err: reqwest::Error) -> Failed {
        // hyper's "connection closed before message completed", or the
        // peer's reset, while no response head had come.
        let closed_early = !err.is_connect()
            && !err.is_timeout()
            && (find_cause::<hyper::Error>(&err).is_some_and(hyper::Error::is_incomplete_message)
                || find_cause::<io::Error>(&err).is_some_and(|io| closed_by_peer(io.kind())));
        Failed {
            error: classify(err, &self.endpoint, &self.server_name, self.connect_timeout),
            closed_early,
        }
    }
}

/// reqwest learns the version by ALPN after it has the request, so the
/// HTTP/2 rule on `Host` ([`paf_core::http2`]) is applied beforehand. A
/// `Host` that repeats the URL's authority is dropped: the engine writes
/// it again on HTTP/1.1, and sends `:authority` alone on HTTP/2. One that
/// names another authority can only be said on HTTP/1.1 here (reqwest
/// takes `:authority`, SNI and the connection from the URL alike), so
/// the request goes on an HTTP/1.1-only engine; where HTTP/2 is demanded
/// that is [`Error::Unsupported`].
fn host_needs_http1(settings: &Settings, request: &mut Request<Body>) -> Result<bool> {
    if !request.headers().contains_key(http::header::HOST) {
        return Ok(false);
    }
    if !paf_core::http2::host_differs_from_uri(request) {
        request.headers_mut().remove(http::header::HOST);
        return Ok(false);
    }
    let https = request
        .uri()
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let prior_knowledge = settings.http2_prior_knowledge && !https;
    if request.version() == http::Version::HTTP_2 || prior_knowledge {
        return Err(unsupported(
            "a Host header other than the URL's authority on HTTP/2",
        ));
    }
    Ok(true)
}

fn unsupported(feature: impl Into<String>) -> Error {
    Error::Unsupported {
        backend: BACKEND,
        feature: feature.into(),
    }
}

impl ReqwestEngine {
    /// The route of a request to `uri` through `ctx`.
    fn new_route(
        &self,
        settings: &Settings,
        ctx: &Ctx,
        uri: &http::Uri,
        http1_only: bool,
    ) -> Result<Route> {
        Ok(Route {
            base: self.base(uri)?,
            engine: self.engine(settings, ctx, http1_only)?,
            connect_timeout: ctx.connect_timeout(),
            endpoint: ctx.endpoint()?,
            server_name: ctx.host().unwrap_or_default().to_string(),
        })
    }

    /// The parsed `scheme://authority/` of `uri`, from the cache.
    fn base(&self, uri: &http::Uri) -> Result<Url> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: uri.to_string(),
            reason,
        };
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(invalid("not an http:// or https:// URL".into())),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("no host".into()))?
            .clone();
        self.bases
            .get_or_try_insert_with((https, authority.clone()), || {
                let scheme = if https { "https" } else { "http" };
                Url::parse(&format!("{scheme}://{authority}/")).map_err(|e| invalid(e.to_string()))
            })
    }

    fn engine(&self, settings: &Settings, ctx: &Ctx, http1_only: bool) -> Result<reqwest::Client> {
        self.engines
            .get_or_try_insert_with((ctx.key()?, http1_only), || {
                build_engine(settings, ctx, http1_only)
            })
    }
}

fn build_engine(settings: &Settings, ctx: &Ctx, http1_only: bool) -> Result<reqwest::Client> {
    let http1_only = http1_only || settings.http1_only;
    let host = ctx.host().unwrap_or_default();
    let port = ctx.port().unwrap_or_default();
    let https = ctx.scheme() == Some(Scheme::Https);
    if ctx.tls_enabled() != https {
        return Err(unsupported(if https {
            "plain HTTP to an https:// URL"
        } else {
            "TLS to an http:// URL"
        }));
    }
    if https && ctx.server_name()? != host {
        return Err(unsupported(format!(
            "TLS server name {:?} other than the URL's host {host:?}",
            ctx.server_name()?
        )));
    }
    let mut config = (*ctx.tls_config()).clone();
    config.alpn_protocols = if http1_only {
        vec![paf_core::tls::ALPN_HTTP11.to_vec()]
    } else {
        ctx.alpn()
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        // paf decodes (paf_core::decompress), whatever features reqwest has.
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .tcp_nodelay(true)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_endpoint)
        .tls_backend_preconfigured(config);
    if let Some(timeout) = ctx.connect_timeout() {
        builder = builder.connect_timeout(timeout);
    }
    if settings.http2_prior_knowledge && !https {
        builder = builder.http2_prior_knowledge();
    }
    if http1_only {
        builder = builder.http1_only();
    }
    if let Some(proxy) = ctx.proxy() {
        builder = builder.proxy(reqwest_proxy(ctx, proxy, settings)?);
    }
    builder = match ctx.endpoint()? {
        Endpoint::Tcp { host: h, port: p } if h == host && p == port => builder,
        Endpoint::TcpAddr(addr) if addr.port() == port => builder.resolve(host, addr),
        #[cfg(unix)]
        Endpoint::Unix(path) => builder.unix_socket(path),
        Endpoint::User(user) => {
            return Err(unsupported(format!(
                "user transport {:?}",
                user.transport()
            )))
        }
        other => {
            return Err(unsupported(format!(
                "endpoint {other} for a URL on {host}:{port}"
            )))
        }
    };
    builder
        .build()
        .map_err(|e| Error::protocol("building the reqwest client", Some(Box::new(e))))
}

/// paf's proxy as reqwest's. paf has already decided that this context's
/// connections go through it (NO_PROXY included: the engine is one per
/// connection key, which names the proxy), so reqwest gets the proxy for
/// every URL. reqwest tunnels https targets with CONNECT as paf does, but
/// forwards http targets to the proxy in absolute form: the one difference
/// from paf's other engines, which tunnel both.
fn reqwest_proxy(
    ctx: &Ctx,
    proxy: &paf_core::ctx::Proxy,
    settings: &Settings,
) -> Result<reqwest::Proxy> {
    if matches!(ctx.endpoint()?, Endpoint::TcpAddr(_)) {
        // reqwest's address override is bypassed through a proxy (the proxy
        // resolves the name): it would not go where the context says.
        return Err(unsupported("a TCP address endpoint through a proxy"));
    }
    if settings.http2_prior_knowledge && ctx.scheme() != Some(Scheme::Https) {
        return Err(unsupported("HTTP/2 prior knowledge through a proxy"));
    }
    let mut reqwest_proxy =
        reqwest::Proxy::all(proxy.to_string()).map_err(|e| Error::InvalidUrl {
            url: proxy.to_string(),
            reason: e.to_string(),
        })?;
    if let (Some(user), Some(password)) = (proxy.username(), proxy.password()) {
        reqwest_proxy = reqwest_proxy.basic_auth(user, password);
    }
    Ok(reqwest_proxy)
}

/// Turns reqwest's error into the paf variant a caller can act on.
fn classify(
    err: reqwest::Error,
    endpoint: &Endpoint,
    server_name: &str,
    connect_timeout: Option<Duration>,
) -> Error {
    if let Some(tls) = find_cause::<rustls::Error>(&err) {
        return Error::Tls {
            server_name: server_name.to_string(),
            source: Box::new(tls.clone()),
        };
    }
    if err.is_timeout() {
        // Only the connect timeout is reqwest's own; the request timeout is
        // applied above it.
        return Error::Timeout {
            what: TimeoutKind::Connect,
            after: connect_timeout.unwrap_or_default(),
        };
    }
    if find_cause::<Error>(&err).is_some() {
        // A paf body failed under reqwest: the chain keeps the paf error
        // (find it with `find_cause`), not only its text.
        return Error::Body {
            source: Box::new(err),
        };
    }
    let io_kind = find_cause::<io::Error>(&err).map(io::Error::kind);
    if err.is_connect() {
        return Error::Connect {
            endpoint: endpoint.to_string(),
            source: io::Error::new(io_kind.unwrap_or(io::ErrorKind::Other), err),
        };
    }
    if err.is_builder() {
        return Error::InvalidUrl {
            url: err.url().map(ToString::to_string).unwrap_or_default(),
            reason: err.to_string(),
        };
    }
    match io_kind {
        Some(kind) => Error::Io(io::Error::new(kind, err)),
        None => protocol(err),
    }
}

/// A protocol error, of the kind the hyper error under it tells.
fn protocol(err: reqwest::Error) -> Error {
    let kind = match find_cause::<hyper::Error>(&err) {
        Some(e) if e.is_incomplete_message() || e.is_canceled() || e.is_closed() => {
            ProtocolKind::ClosedEarly
        }
        Some(e) if e.is_parse() || e.is_parse_status() => ProtocolKind::Malformed,
        _ => ProtocolKind::Other,
    };
    Error::protocol_of(kind, err.to_string(), Some(Box::new(err)))
}

/// Turns reqwest's error while reading a body into paf's. reqwest is given
/// no limit that runs during a body (the idle limit is paf-core's, above
/// it), so a timeout reported here is the system's giving up on the peer:
/// an I/O error of kind `TimedOut`, like any other I/O error.
fn classify_body(err: reqwest::Error) -> Error {
    match find_cause::<io::Error>(&err).map(io::Error::kind) {
        Some(kind) => Error::Io(io::Error::new(kind, err)),
        None if err.is_timeout() => Error::Io(io::Error::new(io::ErrorKind::TimedOut, err)),
        None => protocol(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner() -> ReqwestEngine {
        ReqwestEngine::new(&Settings::default())
    }

    impl ReqwestEngine {
        fn build_engine_for(&self, ctx: &Ctx) -> Result<reqwest::Client> {
            build_engine(&Settings::default(), ctx, false)
        }
        fn engine_for(&self, ctx: &Ctx) -> Result<reqwest::Client> {
            self.engine(&Settings::default(), ctx, false)
        }
    }

    fn ctx(url: &str) -> Ctx {
        Ctx::new().with_uri(&url.parse().unwrap()).unwrap()
    }

    fn unsupported_feature(result: Result<reqwest::Client>) -> String {
        match result {
            Err(Error::Unsupported { backend, feature }) => {
                assert_eq!(backend, "reqwest");
                feature
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn context_entries_reqwest_cannot_use_are_refused_by_name() {
        let i = inner();
        let f = unsupported_feature(
            i.build_engine_for(&ctx("http://h/").with_user_endpoint("mem", 1u8)),
        );
        assert_eq!(f, "user transport \"mem\"");
        let f = unsupported_feature(i.build_engine_for(&ctx("http://h/").with_tls(true)));
        assert_eq!(f, "TLS to an http:// URL");
        let f =
            unsupported_feature(i.build_engine_for(&ctx("https://h/").with_server_name("other")));
        assert!(f.contains("\"other\""), "{f}");
        let f = unsupported_feature(i.build_engine_for(
            &ctx("http://h:8080/").with_tcp_addr("127.0.0.1:9090".parse().unwrap()),
        ));
        assert!(f.contains("127.0.0.1:9090"), "{f}");
    }

    #[test]
    fn requests_through_the_client_context_are_routed_once_per_origin() {
        use paf_core::client::RequestExt;
        let settings = Settings::default();
        let i = inner();
        let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
        let first = i.route(&settings, &mut get("http://a/x")).unwrap();
        let again = i.route(&settings, &mut get("http://a/y?q=1")).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let own = i
            .route(&settings, &mut get("http://a/").with_ctx(Ctx::new()))
            .unwrap();
        assert!(
            !Arc::ptr_eq(&first, &own),
            "a request's own context is its own"
        );
        let mut other_host = get("http://a/");
        other_host
            .headers_mut()
            .insert(http::header::HOST, http::HeaderValue::from_static("b"));
        let http1 = i.route(&settings, &mut other_host).unwrap();
        assert!(
            !Arc::ptr_eq(&first, &http1),
            "another Host goes on HTTP/1.1 alone"
        );
        assert_eq!(i.defaults.len(), 1);
    }

    #[test]
    fn usable_contexts_build_one_engine_per_key() {
        let i = inner();
        i.engine_for(&ctx("http://a/")).unwrap();
        i.engine_for(&ctx("http://a/other")).unwrap();
        i.engine_for(&ctx("https://a/")).unwrap();
        i.engine_for(&ctx("http://a:8080/").with_tcp_addr("127.0.0.1:8080".parse().unwrap()))
            .unwrap();
        assert_eq!(i.engines.len(), 3);
    }
}
