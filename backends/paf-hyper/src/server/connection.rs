//! One connection's life: the TLS handshake or the version sniffing, the
//! hyper connection and its watch (idle, stop, shedding), and its end, told
//! to the connection hook. Its requests are in [`super::request`].

use std::{
    io,
    pin::Pin,
    sync::atomic::{AtomicU8, Ordering},
    sync::Arc,
    task::{Poll, Waker},
    time::Duration,
};

use futures_util::task::AtomicWaker;
use http::Version;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use paf_core::{
    ctx::{Io, Prefixed},
    server::{ConnInfo, ConnectionEnd, ConnectionHook, PeerAddr, ServerError, TlsInfo},
    tls::ALPN_H2,
    BoxError,
};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, Instrument, Span};

use super::{
    connections::Activity,
    request::{Conn, Serve},
    request_log::{connection_span, TARGET},
    running::{stopped, StopSignal},
    stream::{sniff, Proto, SendTimeout},
    Server,
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
        // TLS is boxed: this future is moved (copied whole) when the
        // connection's task is made, and with the handshake's state inline
        // it would be kilobytes a plain connection never uses (so is
        // hyper's connection, in `serve_http`).
        if let Some(acceptor) = &self.inner.tls {
            return Box::pin(self.serve_tls(acceptor, io, peer, stop, span)).await;
        }
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
        self.serve_http(io, proto, peer, None, stop, span).await;
    }

    /// The TLS handshake, then HTTP over it by ALPN.
    async fn serve_tls<I: Io>(
        &self,
        acceptor: &TlsAcceptor,
        io: I,
        peer: PeerAddr,
        mut stop: StopSignal,
        span: Span,
    ) {
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
        // The connection's span reaches the requests through `activity`.
        let service = Serve(Arc::new(Conn {
            server: self.clone(),
            info,
            activity: activity.clone(),
        }));
        let (result, why) = match proto {
            Proto::Http1 => {
                // Upgrades (101, CONNECT) hand the connection to the
                // handler: see `paf_hyper::upgrade`.
                let conn = self
                    .inner
                    .http1
                    .serve_connection(io, service)
                    .with_upgrades();
                let conn = Box::pin(conn);
                // An idle HTTP/1 connection is also waiting for a request
                // head: the head read timeout is its idle limit too.
                let limit = limits.idle_timeout.min(limits.header_read_timeout);
                drive(conn, activity, limit, true, stop, shed, watch_span).await
            }
            Proto::Http2 => {
                let conn = Box::pin(self.inner.http2.serve_connection(io, service));
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

/// Runs one hyper connection until it ends; it comes boxed, so that the
/// futures around it stay small enough to be moved cheaply (hyper's
/// connection state is over a kilobyte). A stop turns into a graceful
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
    mut conn: Pin<Box<C>>,
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
    let mut closing = false;
    // The waker last handed to the watch, and the order last seen: a
    // task's waker seldom changes, and comparing costs less than
    // registering it again at every poll. An order's wake-up takes the
    // registered waker with it, so a new order means registering again.
    let mut registered: Option<Waker> = None;
    let mut seen = 0;
    let result = std::future::poll_fn(|cx| {
        let order = loop {
            if !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                orders.waker.register(cx.waker());
                registered = Some(cx.waker().clone());
            }
            // Read after registering: an order given meanwhile is seen now
            // or wakes the task.
            let order = orders.order.load(Ordering::Acquire);
            if order == seen {
                break order;
            }
            seen = order;
            registered = None;
        };
        match order {
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
    let mut quiet = activity.quiet();
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
            () = activity.idle_for(idle_limit, &mut quiet) => {
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
                quiet.restart();
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
