//! The hyper client: requests go over whatever the transport context
//! resolves, HTTP/2 when the server picks `h2` by ALPN (or by prior
//! knowledge when asked), HTTP/1.1 otherwise.
//!
//! Connections are pooled by [`ConnKey`]: the endpoint the context resolved
//! and its TLS settings, so two hosts routed to one Unix socket, or one host
//! reached through two user transports, never share a connection by mistake.
//! An HTTP/1.1 connection goes back to the pool once its response body has
//! been read to the end; an HTTP/2 connection is shared by every request.
//!
//! The limits are paf-core's: the response-head timer starts once hyper
//! has taken the request's last byte on a connection that is ready
//! ([`paf_core::client::response_head`]), and the response body carries
//! the read-idle limit. A request whose connection closed before its
//! response came goes again once, on a fresh connection, when paf-core
//! says it may ([`paf_core::client::replay_copy`]).

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures_util::{
    future::{ready, Either},
    FutureExt as _,
};
use http::{header::HOST, HeaderValue, Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use paf_core::{
    body::Sent,
    client::{
        closed_by_peer, response_head, Builder, DefaultRoutes, Engine, EngineClient, Failed,
        Settings,
    },
    ctx::{ConnKey, ConnectionInfo},
    error::find_cause,
    Body, Ctx, Result,
};

use crate::error::from_hyper;

/// An async HTTP client on hyper. Cheap to clone: clones share the pool.
///
/// ```no_run
/// # async fn demo() -> paf_core::Result<()> {
/// let client = paf_hyper::Client::new();
/// let response = client.get("http://127.0.0.1:8080/").await?;
/// println!("{}", response.status());
/// let text = response.into_body().to_string(1 << 20).await?;
/// # Ok(()) }
/// ```
pub type Client = EngineClient<HyperEngine>;

/// Builds a [`Client`]: paf's shared client settings (see
/// [`paf_core::client::Builder`] for the options and their defaults).
pub type ClientBuilder = Builder<Client>;

/// hyper as a paf engine: what [`Client`] sends requests with. It holds
/// the connection pool (see the [module docs](self)).
pub struct HyperEngine {
    pool: Arc<Pool>,
    /// The routes of requests through the client's own context, per
    /// origin: such a request costs a lookup, not a context filled in and
    /// resolved again.
    routes: DefaultRoutes<Arc<Route>>,
}

impl std::fmt::Debug for HyperEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperEngine").finish_non_exhaustive()
    }
}

/// What a request goes through: its context, and the route it resolved
/// once (endpoint, proxy, TLS, and the key of the connections that may
/// carry it).
#[derive(Debug)]
pub struct Route {
    ctx: Ctx,
    plan: paf_core::ctx::Route,
}

impl Engine for HyperEngine {
    const NAME: &'static str = "hyper";
    type Route = Arc<Route>;

    fn new(settings: &Settings) -> Self {
        HyperEngine {
            pool: Arc::new(Pool {
                idle_timeout: settings.pool_idle_timeout,
                max_idle: settings.pool_max_idle_per_endpoint,
                state: Mutex::default(),
            }),
            routes: DefaultRoutes::new(),
        }
    }

    fn route(&self, settings: &Settings, request: &mut Request<Body>) -> Result<Arc<Route>> {
        self.routes.route(settings, request, |ctx, _| {
            let plan = ctx.resolve()?;
            Ok(Arc::new(Route { ctx, plan }))
        })
    }

    /// The module's `attempt` itself, not a future around it: each layer of
    /// futures is copied whole as it starts.
    fn attempt<'a>(
        &'a self,
        settings: &'a Settings,
        route: &'a Arc<Route>,
        request: Request<Body>,
        reuse: bool,
    ) -> impl Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a {
        attempt(&self.pool, settings, route, request, reuse)
    }
}

/// One attempt: on a pooled connection when `reuse` allows and there is
/// one, on a new one otherwise. A request that a connection gives back
/// unsent (it was closing) goes on the next one, whatever its method.
///
/// The shell boxes this future, and a box of more than about 1 KiB misses
/// the allocator's fast path and is copied whole as it starts (it was
/// 4,184 bytes; now 992). So the request is handed to a pooled
/// connection that is ready here, before the future, which then holds only
/// the wait for its head; the rest (a connection still settling, the next
/// one when this one gives the request back, a new connection) is a future
/// of its own ([`on_next`]), boxed only when a request gets that far.
fn attempt<'a>(
    pool: &'a Pool,
    settings: &'a Settings,
    route: &'a Route,
    mut request: Request<Body>,
    reuse: bool,
) -> impl Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a {
    if !reuse {
        return Either::Right(Either::Right(rest(pool, settings, route, request, None)));
    }
    let key = route.plan.key();
    if let Some((mut sender, info)) = pool.shared_h2(key) {
        if let Err(e) = to_h2_form(&mut request) {
            return Either::Left(Either::Left(ready(Err(e.into()))));
        }
        let (tracked, sent) = track_sent(request);
        let head = sender.try_send_request(tracked);
        let next = move |unsent| rest(pool, settings, route, unsent, pool.take_h1(key));
        let limit = settings.response_head_timeout;
        let waiting = on_pooled(limit, sent, head, move |head| finish(head, info), next);
        return Either::Left(Either::Right(waiting));
    }
    match pool.take_h1(key) {
        Some((sender, info, false)) => Either::Right(Either::Left(on_pooled_h1(
            pool, settings, route, sender, info, request,
        ))),
        settling => Either::Right(Either::Right(rest(
            pool, settings, route, request, settling,
        ))),
    }
}

/// What a request waits for after its first pooled connection, boxed.
type Rest<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a>>;

/// [`on_next`], boxed: only a request that gets that far pays for its
/// size (the new connection's futures).
fn rest<'a>(
    pool: &'a Pool,
    settings: &'a Settings,
    route: &'a Route,
    request: Request<Body>,
    next: Option<(http1::SendRequest<Body>, ConnectionInfo, bool)>,
) -> Rest<'a> {
    Box::pin(on_next(pool, settings, route, request, next))
}

/// The rest of an attempt: on `next` (a pooled HTTP/1.1 connection, the
/// third value `true` while its task has not yet seen its last response
/// read), or the next pooled one that is open, else on a new connection.
async fn on_next(
    pool: &Pool,
    settings: &Settings,
    route: &Route,
    request: Request<Body>,
    mut next: Option<(http1::SendRequest<Body>, ConnectionInfo, bool)>,
) -> std::result::Result<Response<Body>, Failed> {
    while let Some((mut sender, info, settling)) = next {
        if settling && sender.ready().await.is_err() {
            next = pool.take_h1(route.plan.key());
            continue;
        }
        return on_pooled_h1(pool, settings, route, sender, info, request).await;
    }
    on_new_connection(pool, settings, route, request).await
}

/// Sends `request` on a pooled HTTP/1.1 connection that is ready, and
/// waits for its head ([`on_pooled`]); the connection is listed again
/// once the head is in.
fn on_pooled_h1<'a>(
    pool: &'a Pool,
    settings: &'a Settings,
    route: &'a Route,
    mut sender: http1::SendRequest<Body>,
    info: ConnectionInfo,
    mut request: Request<Body>,
) -> impl Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a {
    let key = route.plan.key();
    to_h1_form(&mut request);
    let (tracked, sent) = track_sent(request);
    let head = sender.try_send_request(tracked);
    let done = move |head| {
        let read = pool.put_back(key.clone(), sender, info.clone());
        finish_h1(head, info, read)
    };
    let next = move |unsent| rest(pool, settings, route, unsent, pool.take_h1(key));
    on_pooled(settings.response_head_timeout, sent, head, done, next)
}

/// Waits for the head of a request sent on a pooled connection (`head`,
/// hyper's `try_send_request`): `done` makes the response, `next` sends
/// again what the connection gave back unsent. `head` is pinned here and
/// waited for by reference: an async block keeps what it captures and,
/// beside it, each future it awaits, so `head` passed on by value would be
/// kept once more.
// Not an `async fn`, which keeps its arguments twice too (as taken, and
// moved into its body).
#[allow(clippy::manual_async_fn)]
fn on_pooled<'a, H, D, N>(
    limit: Option<Duration>,
    sent: Sent,
    head: H,
    done: D,
    next: N,
) -> impl Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a
where
    H: Future<
            Output = std::result::Result<
                Response<hyper::body::Incoming>,
                hyper::client::conn::TrySendError<Request<Body>>,
            >,
        > + Send
        + 'a,
    D: FnOnce(Response<hyper::body::Incoming>) -> Response<Body> + Send + 'a,
    N: FnOnce(Request<Body>) -> Rest<'a> + Send + 'a,
{
    async move {
        // Worked out apart, so that the wait for the next connection keeps
        // neither the head nor the outcome.
        let unsent = {
            // The request given back is boxed at once: the outcome is
            // moved through every layer of the wait.
            let head = std::pin::pin!(head.map(|outcome| {
                Ok(outcome.map_err(|mut e| match e.take_message() {
                    Some(unsent) => Unsent::Back(Box::new(unsent)),
                    None => Unsent::Failed(e.into_error()),
                }))
            }));
            match response_head(limit, sent, head).await? {
                Ok(response) => return Ok(done(response)),
                Err(Unsent::Back(unsent)) => unsent,
                Err(Unsent::Failed(e)) => return Err(failed(e)),
            }
        };
        // The connection went away before the request left: the next
        // connection is as good as the old one was.
        next(*unsent).await
    }
}

/// What became of a request sent on a pooled connection that did not answer.
enum Unsent {
    /// The connection gave it back without sending it.
    Back(Box<Request<Body>>),
    Failed(hyper::Error),
}

/// [`attempt`] on a connection of its own, which then joins the pool.
async fn on_new_connection(
    pool: &Pool,
    settings: &Settings,
    route: &Route,
    mut request: Request<Body>,
) -> std::result::Result<Response<Body>, Failed> {
    let key = route.plan.key().clone();
    let head_limit = settings.response_head_timeout;
    let connection = route.ctx.connect_via(&route.plan).await?;
    let info = connection.info;
    let io = TokioIo::new(connection.io);
    let h2 = info.is_h2() || (settings.http2_prior_knowledge && !info.tls);
    if h2 {
        let (mut sender, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(io)
            .await
            .map_err(from_hyper)?;
        drive(&key, "HTTP/2", conn);
        pool.share_h2(key, sender.clone(), info.clone());
        to_h2_form(&mut request)?;
        let (request, sent) = track_sent(request);
        let head = sender.send_request(request);
        let response = fresh_head(head_limit, sent, head).await?;
        Ok(finish(response, info))
    } else {
        let (mut sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(from_hyper)?;
        drive(&key, "HTTP/1.1", conn.with_upgrades());
        to_h1_form(&mut request);
        let (request, sent) = track_sent(request);
        let head = sender.send_request(request);
        let response = fresh_head(head_limit, sent, head).await?;
        let read = pool.put_back(key, sender, info.clone());
        Ok(finish_h1(response, info, read))
    }
}

/// The request, and what tells when hyper has taken its last byte.
fn track_sent(request: Request<Body>) -> (Request<Body>, Sent) {
    let (parts, body) = request.into_parts();
    let (body, sent) = body.track_sent();
    (Request::from_parts(parts, body), sent)
}

/// Waits for the head of a response on a new connection, under the head
/// limit.
async fn fresh_head<F>(
    limit: Option<Duration>,
    sent: Sent,
    head: F,
) -> std::result::Result<Response<hyper::body::Incoming>, Failed>
where
    F: Future<Output = hyper::Result<Response<hyper::body::Incoming>>>,
{
    response_head(limit, sent, head.map(|outcome| Ok(outcome.map_err(failed)))).await?
}

/// A failed exchange, told apart when the connection closed (or was
/// reset) before the response head came: hyper's "connection closed
/// before message completed", or an I/O error that says the peer closed.
fn failed(err: hyper::Error) -> Failed {
    let closed_early = err.is_incomplete_message()
        || find_cause::<std::io::Error>(&err).is_some_and(|io| closed_by_peer(io.kind()))
        || find_cause::<h2::Error>(&err).is_some_and(unprocessed);
    Failed {
        error: from_hyper(err),
        closed_early,
    }
}

/// An HTTP/2 stream the server did not process (RFC 9113 §8.7): one it
/// refused, or one above the last stream id of its GOAWAY. An idempotent
/// request on it is sent again, as one whose connection closed unanswered.
fn unprocessed(err: &h2::Error) -> bool {
    err.is_remote() && (err.is_go_away() || err.reason() == Some(h2::Reason::REFUSED_STREAM))
}

/// Runs a connection's I/O in a task of its own until it closes.
fn drive<F>(key: &ConnKey, version: &'static str, conn: F)
where
    F: Future<Output = std::result::Result<(), hyper::Error>> + Send + 'static,
{
    let endpoint = key.to_string();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%endpoint, version, error = %e, "connection ended with an error");
        }
    });
}

fn finish(response: Response<hyper::body::Incoming>, info: ConnectionInfo) -> Response<Body> {
    let mut response = response.map(|body| Body::wrap(body.map_err(from_hyper)));
    response.extensions_mut().insert(info);
    response
}

/// An HTTP/1.1 response whose body, once read to its end, marks its
/// connection as about to take the next request (see [`Pool::take_h1`]).
fn finish_h1(
    response: Response<hyper::body::Incoming>,
    info: ConnectionInfo,
    read: Arc<AtomicBool>,
) -> Response<Body> {
    use http_body::Body as _;
    if response.body().is_end_stream() {
        read.store(true, Ordering::Release);
    }
    let mut response = response.map(|body| {
        Body::wrap(MarkEnd {
            inner: body.map_err(from_hyper),
            read,
        })
    });
    response.extensions_mut().insert(info);
    response
}

/// A body that records when it has been read to its end.
struct MarkEnd<B> {
    inner: B,
    read: Arc<AtomicBool>,
}

impl<B: http_body::Body + Unpin> http_body::Body for MarkEnd<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.read.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// HTTP/1.1 requests carry the path in the request line and the authority
/// in `Host` (RFC 9112 §3.2).
fn to_h1_form(request: &mut Request<Body>) {
    let uri = request.uri().clone();
    if !request.headers().contains_key(HOST) {
        if let Some(host) = uri.host() {
            let value = match uri.port_u16() {
                Some(port) => HeaderValue::from_str(&format!("{host}:{port}")),
                None => HeaderValue::from_str(host),
            };
            if let Ok(value) = value {
                request.headers_mut().insert(HOST, value);
            }
        }
    }
    if uri.scheme().is_some() {
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse::<Uri>()
            .unwrap_or_else(|_| Uri::from_static("/"));
        *request.uri_mut() = path;
    }
    *request.version_mut() = Version::HTTP_11;
}

/// HTTP/2 carries scheme and authority as pseudo-headers taken from the
/// absolute URI: a `Host` header becomes that authority, and what HTTP/2
/// forbids is dropped (paf-core decides this for every backend).
fn to_h2_form(request: &mut Request<Body>) -> Result<()> {
    paf_core::http2::prepare_request(request)?;
    *request.version_mut() = Version::HTTP_2;
    Ok(())
}

#[derive(Default)]
struct PoolState {
    idle: HashMap<ConnKey, Vec<Idle>>,
    shared: HashMap<ConnKey, (http2::SendRequest<Body>, ConnectionInfo)>,
}

struct Idle {
    sender: http1::SendRequest<Body>,
    info: ConnectionInfo,
    since: Instant,
    /// The last response's body was read to its end: the connection takes
    /// the next request as soon as its task has seen that.
    read: Arc<AtomicBool>,
}

struct Pool {
    idle_timeout: Duration,
    max_idle: usize,
    state: Mutex<PoolState>,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // A panic while holding the lock leaves only a map of connections
        // behind, which is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn shared_h2(&self, key: &ConnKey) -> Option<(http2::SendRequest<Body>, ConnectionInfo)> {
        let mut state = self.lock();
        match state.shared.get(key) {
            Some((sender, _)) if sender.is_closed() => {
                state.shared.remove(key);
                None
            }
            Some((sender, info)) => Some((sender.clone(), info.clone())),
            None => None,
        }
    }

    fn share_h2(&self, key: ConnKey, sender: http2::SendRequest<Body>, info: ConnectionInfo) {
        self.lock().shared.insert(key, (sender, info));
    }

    /// The most recently used connection that can take a request now: it
    /// is the likeliest to be still open on the server's side. Failing
    /// that, one whose last body was read to its end but whose task has not
    /// yet run to see it (the third value is then `true`: wait for it to be
    /// ready): a caller that sends right after reading a body, as CoHTTP's
    /// `callv` does, keeps its connection. Connections whose response body
    /// is still being read stay listed for later; closed and expired ones
    /// are dropped.
    fn take_h1(&self, key: &ConnKey) -> Option<(http1::SendRequest<Body>, ConnectionInfo, bool)> {
        let mut state = self.lock();
        let list = state.idle.get_mut(key)?;
        list.retain(|idle| idle.since.elapsed() < self.idle_timeout && !idle.sender.is_closed());
        let found = match list.iter().rposition(|idle| idle.sender.is_ready()) {
            Some(at) => Some((list.remove(at), false)),
            None => list
                .iter()
                .rposition(|idle| idle.read.load(Ordering::Acquire))
                .map(|at| (list.remove(at), true)),
        }
        .map(|(idle, settling)| (idle.sender, idle.info, settling));
        if list.is_empty() {
            state.idle.remove(key);
        }
        found
    }

    /// Lists the connection again as soon as its response head is in. It
    /// becomes ready for the next request once that response's body has
    /// been read to its end, which [`Pool::take_h1`] checks: waiting for it
    /// here, in a task of its own, made the next request of a sequential
    /// caller find the pool empty and open a new connection.
    /// Answers the flag the response's body sets once read to its end.
    fn put_back(
        &self,
        key: ConnKey,
        sender: http1::SendRequest<Body>,
        info: ConnectionInfo,
    ) -> Arc<AtomicBool> {
        let read = Arc::new(AtomicBool::new(false));
        if self.max_idle == 0 {
            return read;
        }
        let mut state = self.lock();
        let list = state.idle.entry(key).or_default();
        if list.len() < self.max_idle {
            list.push(Idle {
                sender,
                info,
                since: Instant::now(),
                read: read.clone(),
            });
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_form_moves_authority_to_host() {
        let mut req = Request::get("http://example.org:8080/a/b?c=d")
            .body(Body::empty())
            .unwrap();
        to_h1_form(&mut req);
        assert_eq!(req.uri(), "/a/b?c=d");
        assert_eq!(req.headers()[HOST], "example.org:8080");
    }

    #[test]
    fn h1_form_keeps_an_explicit_host() {
        let mut req = Request::get("http://[::1]/")
            .header(HOST, "virtual.example")
            .body(Body::empty())
            .unwrap();
        to_h1_form(&mut req);
        assert_eq!(req.uri(), "/");
        assert_eq!(req.headers()[HOST], "virtual.example");
    }
}
