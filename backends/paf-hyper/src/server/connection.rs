//! One connection's life: the TLS handshake or the version sniffing, the
//! hyper connection and its watch (idle, stop, shedding), and each request
//! on it, from the target check to the error handler's answers.

use std::{
    convert::Infallible,
    io,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::atomic::{AtomicU8, Ordering},
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use futures_util::FutureExt;
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body::{Frame, SizeHint};
use hyper::{body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use paf_core::{
    ctx::{Io, Prefixed},
    server::{
        status_response, ConnInfo, ConnectionEnd, ConnectionHook, PeerAddr, ServerError, TlsInfo,
    },
    tls::ALPN_H2,
    Body, BoxError, BoxFuture, Error, Result,
};
use tokio::sync::Notify;
use tracing::{debug, warn, Instrument, Span};

use super::{
    builder::finite,
    connections::{Activity, InFlight},
    request_body::{RequestBody, Verdict},
    request_log::{connection_span, RequestLog, TARGET},
    running::{stopped, StopSignal},
    stream::{sniff, Proto, SendTimeout},
    target, Server,
};
use crate::error::from_hyper;

impl Server {
    /// The span of a connection from `peer` (see [`connection_span`]).
    pub(super) fn connection_span(&self, peer: &PeerAddr) -> Span {
        connection_span(peer, self.inner.tls.is_some())
    }

    /// One connection, from its first byte to its end; `stop` turns into a
    /// graceful shutdown. The caller runs it in `span` when that is enabled
    /// (everything logged meanwhile, by the server, hyper, h2 or the
    /// handler, is then in it), and not otherwise: the connection's task is
    /// polled several times a request, and would enter and leave a disabled
    /// span each time.
    pub(super) async fn serve_io<I: Io>(
        &self,
        mut io: I,
        peer: PeerAddr,
        mut stop: StopSignal,
        span: Span,
    ) {
        let Some(acceptor) = &self.inner.tls else {
            let limit = self.inner.limits.header_read_timeout;
            let sniffed = tokio::select! {
                sniffed = tokio::time::timeout(limit, sniff(&mut io)) => sniffed,
                () = stopped(&mut stop) => return,
            };
            let (proto, seen) = match sniffed {
                Ok(Ok(sniffed)) => sniffed,
                Ok(Err(e)) => return self.connection_failed(peer, Box::new(e)),
                Err(_) => {
                    let e = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no request within {limit:?}"),
                    );
                    return self.connection_failed(peer, Box::new(e));
                }
            };
            let io = Prefixed::new(seen, io);
            return self.serve_http(io, proto, peer, None, stop, span).await;
        };

        let limit = self.inner.limits.tls_handshake_timeout;
        let handshake = tokio::select! {
            handshake = tokio::time::timeout(limit, acceptor.accept(io)) => handshake,
            () = stopped(&mut stop) => return,
        };
        let tls = match handshake {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return self.handshake_failed(peer, paf_core::tls::rustls_cause(e)),
            Err(_) => {
                let e = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no TLS handshake within {limit:?}"),
                );
                return self.handshake_failed(peer, Box::new(e));
            }
        };
        let conn = tls.get_ref().1;
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        if alpn.as_deref() == Some(ACME_TLS_ALPN) {
            // An ACME TLS-ALPN-01 validation: the handshake was the whole
            // exchange (RFC 8737 section 3), nothing is served after it.
            let mut tls = tls;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
            return;
        }
        let proto = if alpn.as_deref() == Some(ALPN_H2) {
            Proto::Http2
        } else {
            Proto::Http1
        };
        let info = TlsInfo::new(conn.server_name().map(str::to_string), alpn);
        if !span.is_disabled() {
            if let Some(alpn) = &info.alpn {
                span.record("alpn", String::from_utf8_lossy(alpn).as_ref());
            }
            if let Some(sni) = &info.sni {
                span.record("sni", sni.as_str());
            }
        }
        self.serve_http(tls, proto, peer, Some(info), stop, span)
            .await;
    }

    async fn serve_http<T: Io>(
        &self,
        io: T,
        proto: Proto,
        peer: PeerAddr,
        tls: Option<TlsInfo>,
        stop: StopSignal,
        span: Span,
    ) {
        let limits = &self.inner.limits;
        let io = TokioIo::new(SendTimeout::new(io, limits.send_timeout));
        let activity = Arc::new(Activity::new(span.clone()));
        let registered = self.inner.registry.register(activity.clone());
        let shed = registered.shed.clone();
        let server = self.clone();
        // Built once, shared by the connection's requests.
        let version = match proto {
            Proto::Http1 => Version::HTTP_11,
            Proto::Http2 => Version::HTTP_2,
        };
        let info = Arc::new(ConnInfo::new(peer.clone(), version, tls).with_id(registered.id));
        span.record("id", registered.id);
        span.record("version", tracing::field::debug(version));
        let mut ending = Ending::start(self.inner.hook.clone(), info.clone(), span.clone());
        let watch_span = span.clone();
        let watched = activity.clone();
        // The connection's span reaches the requests through `activity`:
        // one more capture would make the service's future bigger.
        let service = service_fn(move |request: Request<Incoming>| {
            let server = server.clone();
            let info = info.clone();
            // Counted from the moment hyper hands the request over until the
            // response body is dropped: the connection is busy meanwhile.
            let in_flight = watched.begin();
            let activity = watched.clone();
            async move {
                let access_log = server.inner.access_log.as_ref();
                let log = RequestLog::begin(&activity.span, access_log, &info, &request);
                let response = match log {
                    None => server.respond(request, info, activity).await,
                    Some(log) => server.respond_logged(log, request, info, activity).await,
                };
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_flight: in_flight,
                }))
            }
        });
        let (result, why) = match proto {
            Proto::Http1 => {
                // Upgrades (101, CONNECT) hand the connection to the
                // handler: see `paf_hyper::upgrade`.
                let conn = self
                    .inner
                    .http1
                    .serve_connection(io, service)
                    .with_upgrades();
                // An idle HTTP/1 connection is also waiting for a request
                // head: the head read timeout is its idle limit too.
                let limit = limits.idle_timeout.min(limits.header_read_timeout);
                drive(conn, activity, limit, true, stop, shed, watch_span).await
            }
            Proto::Http2 => {
                let conn = self.inner.http2.serve_connection(io, service);
                drive(
                    conn,
                    activity,
                    limits.idle_timeout,
                    false,
                    stop,
                    shed,
                    watch_span,
                )
                .await
            }
        };
        let how = match result {
            Err(e) => {
                let error = from_hyper(e);
                let how = ConnectionEnd::Failed {
                    reason: error.to_string(),
                };
                self.connection_failed(peer, Box::new(error));
                how
            }
            Ok(()) => match why {
                SHED => ConnectionEnd::Shed,
                IDLE => ConnectionEnd::Idle,
                STOP => ConnectionEnd::Stopped,
                _ => ConnectionEnd::Closed,
            },
        };
        ending.end(how);
    }

    /// [`respond`](Self::respond) to a request that is logged: in its span
    /// when that is enabled, the response body counted. Boxed, so that the
    /// future hyper keeps (and moves) for every request stays as small as
    /// when nothing is logged.
    fn respond_logged(
        &self,
        log: Box<RequestLog>,
        request: Request<Incoming>,
        info: Arc<ConnInfo>,
        activity: Arc<Activity>,
    ) -> BoxFuture<'static, Response<Body>> {
        let server = self.clone();
        let span = log.span.clone();
        let respond = async move {
            let response = server.respond(request, info, activity).await;
            log.responded(response)
        };
        if span.is_disabled() {
            Box::pin(respond)
        } else {
            Box::pin(respond.instrument(span))
        }
    }

    async fn respond(
        &self,
        request: Request<Incoming>,
        info: Arc<ConnInfo>,
        activity: Arc<Activity>,
    ) -> Response<Body> {
        let version = request.version();
        let peer = &info.peer;
        let limits = &self.inner.limits;
        if let Some(reason) = target::refusal(request.method(), request.uri(), version) {
            debug!(%peer, method = %request.method(), uri = %request.uri(), reason, "bad request target");
            let error = ServerError::BadTarget {
                method: request.method().clone(),
                target: request.uri().to_string(),
                reason,
                peer: peer.clone(),
            };
            // What else the client sends cannot be trusted to be framed as
            // it thinks either: answer, then close.
            return closing(self.error_response(&error), version);
        }
        if request.method() == http::Method::CONNECT && !limits.accept_connect {
            debug!(%peer, "CONNECT refused");
            let peer = peer.clone();
            return self.error_response(&ServerError::ConnectNotAllowed { peer });
        }
        let limit = limits.max_body_size;
        // The declared length is known before a byte of the body is read:
        // refuse at once rather than let the handler start on it.
        if http_body::Body::size_hint(request.body()).lower() > limit {
            debug!(%peer, limit, "request body declared larger than the limit");
            return self.body_too_large(limit, peer.clone(), version);
        }
        // A request without a body (most GETs) needs no guard on it.
        let mut verdict = None;
        let mut request = request.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                return Body::empty();
            }
            let judged = Arc::new(Verdict::default());
            verdict = Some(judged.clone());
            let read_timeout = finite(limits.body_read_timeout);
            Body::wrap(RequestBody::new(
                body,
                limit,
                read_timeout,
                judged,
                activity,
            ))
        });
        // An HTTP/1.0 request on a connection counted as HTTP/1.1 gets its
        // own description; every other request shares the connection's.
        let info = if info.version == version {
            info
        } else {
            Arc::new(ConnInfo::new(peer.clone(), version, info.tls.clone()).with_id(info.id))
        };
        let conn = Arc::clone(&info);
        request.extensions_mut().insert(info);
        // The call is guarded too, for a handler that panics before it
        // returns its future. Only the boxed future is kept across the
        // wait: this future stays small, and hyper moves it for every
        // request.
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.handler.call(request)));
        let outcome = match call {
            Err(panic) => Ok(Err(panic)),
            Ok(answer) => {
                let answer = AssertUnwindSafe(answer).catch_unwind();
                match self.inner.limits.handler_timeout {
                    None => Ok(answer.await),
                    Some(limit) => tokio::time::timeout(limit, answer).await.map_err(|_| limit),
                }
            }
        };
        let error = match outcome {
            // Whatever the handler made of its failed read, the client is
            // told why: its body was too large.
            Ok(Ok(_)) if verdict.as_deref().is_some_and(Verdict::too_large) => {
                debug!(peer = %conn.peer, limit, "request body passed the limit");
                return self.body_too_large(limit, conn.peer.clone(), version);
            }
            Ok(Ok(_)) if verdict.as_deref().is_some_and(Verdict::timed_out) => {
                let after = limits.body_read_timeout;
                debug!(peer = %conn.peer, ?after, "request body stalled");
                let response = self.error_response(&ServerError::BodyTimeout {
                    after,
                    peer: conn.peer.clone(),
                });
                return closing(response, version);
            }
            Ok(Ok(response)) => return response,
            Ok(Err(panic)) => {
                let message = panic_message(&*panic);
                warn!(peer = %conn.peer, %message, "handler panicked");
                ServerError::HandlerPanicked {
                    message,
                    peer: conn.peer.clone(),
                }
            }
            Err(after) => {
                warn!(peer = %conn.peer, ?after, "handler timed out");
                ServerError::HandlerTimeout {
                    after,
                    peer: conn.peer.clone(),
                }
            }
        };
        self.error_response(&error)
    }

    /// The error handler's answer to a body over the limit. The rest of the
    /// body is not read, so an HTTP/1 connection cannot carry another
    /// request: say so rather than let the client find out.
    fn body_too_large(&self, limit: u64, peer: PeerAddr, version: Version) -> Response<Body> {
        let response = self.error_response(&ServerError::BodyTooLarge { limit, peer });
        closing(response, version)
    }

    /// The error handler's response; a panicking error handler must not
    /// take the connection down with it, so it gets a bare 500.
    fn error_response(&self, error: &ServerError) -> Response<Body> {
        std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.error_handler.handle(error)))
            .unwrap_or_else(|_| {
                warn!(%error, "error handler panicked");
                status_response(StatusCode::INTERNAL_SERVER_ERROR)
            })
    }

    fn handshake_failed(&self, peer: PeerAddr, source: BoxError) {
        let error = ServerError::Handshake { peer, source };
        debug!(%error, "TLS handshake failed");
        // Nothing can be sent before TLS is up: the response is unused.
        drop(self.error_response(&error));
    }

    fn connection_failed(&self, peer: PeerAddr, source: BoxError) {
        let error = ServerError::Connection { peer, source };
        debug!(%error, "connection failed");
        // hyper already answered what it could (400, 431…): unused.
        drop(self.error_response(&error));
    }
}

/// Closes an HTTP/1 connection after `response`: the rest of the request
/// body was not read, so the connection cannot carry another request.
fn closing(mut response: Response<Body>, version: Version) -> Response<Body> {
    if version < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic payload is not a string".to_string()
    }
}

/// A hyper connection that can be asked to finish gracefully: HTTP/1.1
/// with upgrades, and HTTP/2.
trait Shutdown: std::future::Future<Output = std::result::Result<(), hyper::Error>> {
    fn shut_down(self: Pin<&mut Self>);
}

impl<I, S> Shutdown for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S::ResBody: http_body::Body + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn shut_down(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E> Shutdown for hyper::server::conn::http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S::ResBody: http_body::Body + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn shut_down(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// The ALPN protocol of an ACME TLS-ALPN-01 validation (RFC 8737).
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// What the watch of a connection asks of it (0, the default: nothing).
const SHUT_DOWN: u8 = 1;
const DROP: u8 = 2;

/// Why the watch gave its first order (0: it gave none).
const STOP: u8 = 1;
const IDLE: u8 = 2;
const SHED: u8 = 3;

/// The orders a connection's watch gives it: a flag it reads each time it
/// is polled, and the waker to make it look; and why the first was given.
#[derive(Default)]
struct Orders {
    order: AtomicU8,
    why: AtomicU8,
    waker: AtomicWaker,
}

impl Orders {
    fn give(&self, order: u8, why: u8) {
        let _ = self
            .why
            .compare_exchange(0, why, Ordering::AcqRel, Ordering::Acquire);
        self.order.fetch_max(order, Ordering::AcqRel);
        self.waker.wake();
    }
}

/// A connection whose start the [`ConnectionHook`] was told of, if there is
/// one, whose end is told to it and logged in the connection's span
/// exactly once: by [`Ending::end`], or when dropped (the task aborted at
/// the end of a stop's grace period) as [`ConnectionEnd::Aborted`].
struct Ending {
    hook: Option<Arc<dyn ConnectionHook>>,
    info: Arc<ConnInfo>,
    span: Span,
    ended: bool,
}

impl Ending {
    fn start(hook: Option<Arc<dyn ConnectionHook>>, info: Arc<ConnInfo>, span: Span) -> Ending {
        if let Some(hook) = &hook {
            hook.started(&info);
        }
        Ending {
            hook,
            info,
            span,
            ended: false,
        }
    }

    fn end(&mut self, how: ConnectionEnd) {
        if !std::mem::replace(&mut self.ended, true) {
            debug!(target: TARGET, parent: &self.span, end = ?how, "connection ended");
            if let Some(hook) = &self.hook {
                hook.ended(&self.info, &how);
            }
        }
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.end(ConnectionEnd::Aborted);
    }
}

/// Runs one hyper connection until it ends. A stop turns into a graceful
/// shutdown (idle HTTP/1 connections close, HTTP/2 ones get a GOAWAY,
/// requests in flight still get their responses); so does a stretch of
/// `idle_limit` with no request in progress, except on HTTP/1, where the
/// connection is simply closed: nothing is in progress on it, and a client
/// still sending a request head has had its time (this is the head read
/// timeout, see [`ServerBuilder::header_read_timeout`]). Being shed closes
/// it at once.
///
/// The stop, the shedding and the idle time are watched by a task of the
/// connection's own, which sets a flag and wakes the connection: the
/// connection's task, polled several times a request, only reads the flag,
/// rather than polling three more futures each time.
///
/// [`ServerBuilder::header_read_timeout`]: super::ServerBuilder::header_read_timeout
async fn drive<C>(
    conn: C,
    activity: Arc<Activity>,
    idle_limit: Duration,
    http1: bool,
    stop: StopSignal,
    shed: Arc<Notify>,
    span: Span,
) -> (std::result::Result<(), hyper::Error>, u8)
where
    C: Shutdown,
{
    let orders = Arc::new(Orders::default());
    // In the connection's span: its shedding and idling are logged there.
    let watch = watch(orders.clone(), activity, idle_limit, http1, stop, shed);
    let watch = if span.is_disabled() {
        tokio::spawn(watch)
    } else {
        tokio::spawn(watch.instrument(span))
    };
    // The watch ends with the connection, however that ends (an abort by
    // the drain included).
    let _watch = AbortOnDrop(watch);
    tokio::pin!(conn);
    let mut closing = false;
    let result = std::future::poll_fn(|cx| {
        orders.waker.register(cx.waker());
        match orders.order.load(Ordering::Acquire) {
            DROP => return Poll::Ready(Ok(())),
            SHUT_DOWN if !closing => {
                conn.as_mut().shut_down();
                closing = true;
            }
            _ => {}
        }
        conn.as_mut().poll(cx)
    })
    .await;
    (result, orders.why.load(Ordering::Acquire))
}

/// Watches a connection for a stop, shedding and idleness; see [`drive`].
async fn watch(
    orders: Arc<Orders>,
    activity: Arc<Activity>,
    idle_limit: Duration,
    http1: bool,
    mut stop: StopSignal,
    shed: Arc<Notify>,
) {
    let mut closing = false;
    loop {
        tokio::select! {
            () = shed.notified() => {
                // Idle or stalled while a new connection waits for room:
                // nothing a client is waiting for is lost.
                debug!("connection shed to make room for a new one");
                return orders.give(DROP, SHED);
            }
            () = stopped(&mut stop), if !closing => {
                orders.give(SHUT_DOWN, STOP);
                closing = true;
            }
            () = activity.idle_for(idle_limit) => {
                if closing || http1 {
                    // Nothing is in progress: on HTTP/1 nothing is lost by
                    // closing; on HTTP/2 the shutdown did not end it (a
                    // peer that never answers the GOAWAY's PING).
                    debug!(after = ?idle_limit, "closing idle connection");
                    return orders.give(DROP, IDLE);
                }
                debug!(after = ?idle_limit, "shutting down idle connection");
                orders.give(SHUT_DOWN, IDLE);
                closing = true;
                // The peer gets a whole idle period after the GOAWAY before
                // the connection is dropped under it.
                activity.touch();
            }
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response body that keeps its request counted as in progress until
/// hyper is done with it.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
