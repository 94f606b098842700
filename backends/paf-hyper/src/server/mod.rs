//! The HTTP server: listeners (TCP, Unix), TLS with ALPN, hyper connections,
//! the limits that keep a server on the internet standing, and a stop that
//! lets in-flight requests finish.
//!
//! A [`Server`] holds the user's [`Handler`], [`ErrorHandler`] and settings;
//! binding it yields a [`Running`] server whose accept loop runs in a tokio
//! task. Every connection is its own task: TLS handshake when configured,
//! then HTTP/1.1 or HTTP/2 (ALPN over TLS, the client's first bytes
//! otherwise), each request handed to the handler with a [`ConnInfo`] in its
//! extensions. The limits and what a client that passes them gets are listed
//! on [`ServerBuilder`].
//!
//! ```
//! use paf_core::{http::{Request, Response}, server::ConnInfo, Body};
//! use paf_hyper::Server;
//! use std::time::Duration;
//!
//! # async fn demo() -> paf_core::Result<()> {
//! let server = Server::new(|req: Request<Body>| async move {
//!     let peer = ConnInfo::of(&req).map(|c| c.peer.to_string()).unwrap_or_default();
//!     Response::new(Body::from(format!("hello {peer}\n")))
//! });
//! let running = server.bind_tcp(([127, 0, 0, 1], 0).into()).await?;
//! println!("listening on {}", running.url().unwrap_or_default());
//! // Stop accepting, give requests in flight five seconds to finish.
//! running.stop(Duration::from_secs(5)).await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

use std::{
    convert::Infallible,
    fmt,
    future::{poll_fn, Future},
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::{Buf, Bytes};
use futures_util::FutureExt;
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body::{Frame, SizeHint};
use hyper::{body::Incoming, server::conn::http1, server::conn::http2, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::graceful::GracefulConnection,
};
use paf_core::{
    ctx::Io,
    server::{
        status_response, ConnInfo, DefaultErrorHandler, ErrorHandler, Handler, PeerAddr,
        ServerError, TlsInfo,
    },
    tls::ALPN_H2,
    Body, BoxError, Error, Result,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, OwnedSemaphorePermit, Semaphore},
    task::{JoinHandle, JoinSet},
    time::{Instant, Sleep},
};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::error::from_hyper;

mod connections;
mod request_body;
mod target;

use connections::{Activity, InFlight, Registry};
use request_body::{RequestBody, Verdict};

const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// nginx's `client_body_timeout` default.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A request whose body read has waited this long for a byte counts as
/// stalled, and its connection may be shed at the connection limit.
const STALLED_AFTER: Duration = Duration::from_secs(1);
/// At the connection limit with nothing to shed yet, how often to look
/// again (a read may have become stalled since).
const SHED_RECHECK: Duration = Duration::from_millis(200);
const DEFAULT_MAX_HEADER_SIZE: usize = 64 * 1024;
const DEFAULT_MAX_BODY_SIZE: u64 = 1 << 30;
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
const DEFAULT_MAX_HTTP2_STREAMS: u32 = 100;
const DEFAULT_HTTP2_KEEP_ALIVE: Duration = Duration::from_secs(30);
/// hyper's HTTP/1 read buffer never holds less: the head limit is checked
/// against what was read, so the buffer must be able to hold the limit.
const HYPER_DEFAULT_BUF_SIZE: usize = 8192 + 4096 * 100;
/// Durations beyond this mean "no limit": deadlines are computed by adding
/// them to the clock, which must not overflow.
const NO_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// How long the accept loop pauses after an error that is not about one
/// connection (EMFILE, ENOBUFS): retrying at once would spin while the
/// condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// What a client speaking HTTP/2 with prior knowledge sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An HTTP server: the handler, the error handler and the settings.
///
/// Cheap to clone (an `Arc` inside); one `Server` can be bound to several
/// listeners and serve streams handed to it with
/// [`serve_connection`](Server::serve_connection).
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    handler: Box<dyn Handler>,
    error_handler: Box<dyn ErrorHandler>,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    /// One permit per open connection, shared by every listener.
    connection_slots: Arc<Semaphore>,
    /// The open connections, for shedding at the limit.
    registry: Arc<Registry>,
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

/// The settings a [`ServerBuilder`] collects.
#[derive(Clone, Debug)]
struct Limits {
    header_read_timeout: Duration,
    tls_handshake_timeout: Duration,
    handler_timeout: Option<Duration>,
    idle_timeout: Duration,
    send_timeout: Duration,
    body_read_timeout: Duration,
    accept_connect: bool,
    max_header_size: usize,
    max_body_size: u64,
    max_connections: usize,
    max_http2_streams: u32,
    http2_keep_alive: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            handler_timeout: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            accept_connect: false,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_http2_streams: DEFAULT_MAX_HTTP2_STREAMS,
            http2_keep_alive: Some(DEFAULT_HTTP2_KEEP_ALIVE),
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("tls", &self.inner.tls.is_some())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Server`]. The defaults are meant for a server facing the
/// internet; each limit below can be changed with the method of its name.
///
/// # Limits
///
/// | Limit | Default | A client that passes it gets |
/// |---|---|---|
/// | [`max_header_size`](Self::max_header_size): request line and headers | 64 KiB | 431, then the connection is closed (HTTP/1); 431 on that stream (HTTP/2) |
/// | [`max_body_size`](Self::max_body_size): request body | 1 GiB | 413 from the error handler; the handler's read fails with [`Error::BodyTooLarge`] |
/// | [`header_read_timeout`](Self::header_read_timeout): time to send a request head | 30 s | the connection is closed without a response (no 408) |
/// | [`idle_timeout`](Self::idle_timeout): time with no request in progress | 60 s | the connection is closed (HTTP/2: after a GOAWAY) |
/// | [`send_timeout`](Self::send_timeout): a write blocked by a client that reads nothing | 30 s | the connection is closed |
/// | [`body_read_timeout`](Self::body_read_timeout): time without a request body byte while the handler reads | 60 s | the read fails with [`Error::Timeout`]; 408 from the error handler when nothing was written yet, then the connection is closed |
/// | [`handler_timeout`](Self::handler_timeout): time to produce a response head | none | the error handler's response, 503 by default |
/// | [`tls_handshake_timeout`](Self::tls_handshake_timeout) | 10 s | the connection is closed |
/// | [`max_connections`](Self::max_connections): connections open at once | 10,000 | the oldest idle or stalled connection is closed to make room; with none, the new one waits until one closes |
/// | [`max_http2_streams`](Self::max_http2_streams): concurrent streams on one HTTP/2 connection | 100 | `RST_STREAM(REFUSED_STREAM)` for each stream past it |
/// | [`http2_keep_alive_interval`](Self::http2_keep_alive_interval): PING to an HTTP/2 client | every 30 s | no answer within 20 s: the connection is closed |
///
/// A panic in the handler becomes the error handler's response (500 by
/// default) and is logged at `warn`; the connection and the server go on.
///
/// A request target that does not fit its method (RFC 9112 §3.2: `*` on
/// anything but `OPTIONS`, a bare `host:port` on anything but `CONNECT`,
/// an absolute URI whose scheme is not `http` or `https`) gets 400 from the
/// error handler ([`ServerError::BadTarget`]) without calling the handler;
/// `CONNECT` gets 405 ([`ServerError::ConnectNotAllowed`]) unless
/// [`accept_connect`](Self::accept_connect) is on.
///
/// A client that sends its request and then shuts down its write side
/// (`shutdown(SHUT_WR)`, or a TLS `close_notify`) still gets its response:
/// the connection is closed after it.
///
/// # What hyper answers by itself
///
/// Malformed HTTP/1 never reaches the handler: hyper answers and closes the
/// connection, and the error handler hears of it as
/// [`ServerError::Connection`] (its response is not used), whose source is
/// a [`paf_core::Error`]: [`Error::Protocol`] for what the client sent,
/// [`Error::Io`] for what the socket did (a reset, or
/// [`io::ErrorKind::TimedOut`] past the send timeout). A bad request
/// line, method token, header name or value, a header line without a colon,
/// obsolete line folding, a `Transfer-Encoding` that is not `chunked`, or
/// `Content-Length` values that disagree get 400; a head over
/// [`max_header_size`](Self::max_header_size) or with more than 100 header
/// fields gets 431 (a URI over 64 KiB gets 414 when the head limit lets it
/// through). A request with both `Content-Length` and `Transfer-Encoding:
/// chunked` is read as chunked, and its connection is closed after the
/// response (RFC 9112, section 6.3). Header values with bytes that are not
/// UTF-8 (obs-text) are accepted and handed to the handler as they are.
///
/// A body that turns out malformed (a bad chunk size) or cut short fails the
/// handler's read with an error; whatever the handler answers is sent and
/// the connection is then closed.
pub struct ServerBuilder {
    tls: Option<Arc<rustls::ServerConfig>>,
    error_handler: Box<dyn ErrorHandler>,
    limits: Limits,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            tls: None,
            error_handler: Box::new(DefaultErrorHandler),
            limits: Limits::default(),
        }
    }
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// A builder with the default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves HTTPS with this configuration (see
    /// [`paf_core::tls::server_config`]). The ALPN protocol the handshake
    /// agrees on picks the HTTP version: `h2` gives HTTP/2, anything else
    /// (`http/1.1`, or no ALPN at all) gives HTTP/1.1.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Decides the response when the handler fails and hears of connection
    /// failures (default [`DefaultErrorHandler`]).
    pub fn error_handler(mut self, handler: impl ErrorHandler) -> Self {
        self.error_handler = Box::new(handler);
        self
    }

    /// How long a client has to send a complete HTTP/1 request head,
    /// counted from the connection's start or from the end of the previous
    /// response (default 30 s). It also bounds the wait for the first bytes
    /// of a plain connection, which tell HTTP/1.1 from HTTP/2. A client that
    /// passes it is disconnected without a response: the defence against
    /// slowloris.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long a TLS handshake may take (default 10 s).
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.limits.tls_handshake_timeout = timeout;
        self
    }

    /// How long the handler may take to produce a response head (default:
    /// no limit). Past it the handler's future is dropped and the request
    /// gets the error handler's answer to [`ServerError::HandlerTimeout`]
    /// (503 from the default one). Streaming the body is not limited.
    pub fn handler_timeout(mut self, timeout: Duration) -> Self {
        self.limits.handler_timeout = Some(timeout);
        self
    }

    /// How long a connection may stay open with no request in progress
    /// (default 60 s), counted from its start or from the end of its last
    /// response. Then an HTTP/1 connection is closed and an HTTP/2 one gets
    /// a GOAWAY. An idle HTTP/1 connection is also waiting for a request
    /// head, so the [`header_read_timeout`](Self::header_read_timeout) ends
    /// it too: the shorter of the two applies (30 s with the defaults).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How long a write may stay blocked because the client reads nothing
    /// (default 30 s). Past it the connection is closed, so a client that
    /// asks for a large response and never reads it does not hold the
    /// connection and its buffers for ever. A client that reads slowly but
    /// steadily is not affected.
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.limits.send_timeout = timeout;
        self
    }

    /// How long the handler's read of a request body may wait for the next
    /// byte (default 60 s, as nginx's `client_body_timeout`). Past it the
    /// read fails with [`Error::Timeout`] ([`TimeoutKind::Body`]), the
    /// request gets the error handler's answer to
    /// [`ServerError::BodyTimeout`] (408 from the default one) unless the
    /// handler had already answered, and the connection is closed: a client
    /// that promised a body and sends none does not hold a connection and a
    /// handler for ever. Only time spent waiting counts: a slow upload that
    /// keeps sending is not affected.
    ///
    /// [`TimeoutKind::Body`]: paf_core::error::TimeoutKind::Body
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_read_timeout = timeout;
        self
    }

    /// Lets `CONNECT` requests reach the handler (default off: 405 without
    /// calling it). A handler that accepts them answers 2xx and takes the
    /// connection over.
    pub fn accept_connect(mut self, accept: bool) -> Self {
        self.limits.accept_connect = accept;
        self
    }

    /// The largest request head accepted, in bytes: request line and
    /// headers together (default 64 KiB). HTTP/1 requests over it get 431
    /// and their connection is closed; on HTTP/2 it is the advertised
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`, and a stream over it gets 431.
    pub fn max_header_size(mut self, bytes: usize) -> Self {
        self.limits.max_header_size = bytes;
        self
    }

    /// The largest request body accepted, in bytes (default 1 GiB: bodies
    /// stream, and [`Body::to_bytes`] has a cap of its own; lower it for a
    /// server that takes only small bodies).
    ///
    /// A request whose `Content-Length` is over it gets 413 at once,
    /// without calling the handler. A body that passes it while the handler
    /// reads (chunked, or HTTP/2 without a length) fails the read with
    /// [`Error::BodyTooLarge`], and the request gets 413 whatever the
    /// handler answered; a handler that had already answered and streams
    /// the body back has its response cut. Both 413s come from the error
    /// handler ([`ServerError::BodyTooLarge`]); an HTTP/1 connection is
    /// closed after them, as the rest of the body is not read.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.limits.max_body_size = bytes;
        self
    }

    /// How many connections may be open at once (default 10,000), counted
    /// over every listener the server is bound to. At the limit, the next
    /// connection is accepted and makes room: the oldest connection that
    /// is idle (no request in progress, or a head still coming) or stalled
    /// (its requests have waited over a second for a body byte) is closed.
    /// When none is, that one connection waits until one ends, and the rest
    /// wait in the listen backlog. Streams given to
    /// [`Server::serve_connection`] are not counted. At least 1.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// How many streams an HTTP/2 client may have open at once on one
    /// connection (default 100; advertised as
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`). Streams past it are refused
    /// with `RST_STREAM(REFUSED_STREAM)`, which clients may retry.
    pub fn max_http2_streams(mut self, streams: u32) -> Self {
        self.limits.max_http2_streams = streams;
        self
    }

    /// How often an HTTP/2 connection is checked with a PING (default
    /// 30 s; `None` sends none). A client that does not answer one within
    /// 20 s is disconnected: this finds peers that vanished while a long
    /// request was open.
    pub fn http2_keep_alive_interval(mut self, interval: Option<Duration>) -> Self {
        self.limits.http2_keep_alive = interval;
        self
    }

    /// The server, answering with `handler`.
    pub fn build(self, handler: impl Handler) -> Server {
        let limits = self.limits;
        let mut http1 = http1::Builder::new();
        // hyper's timeouts need a timer, or the header timeout never fires.
        http1
            .timer(TokioTimer::new())
            // A client that shuts its write side after its request still
            // reads: it must get the response.
            .half_close(true)
            .header_read_timeout(finite(limits.header_read_timeout))
            .max_header_size(limits.max_header_size)
            .max_buf_size(limits.max_header_size.max(HYPER_DEFAULT_BUF_SIZE));
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_http2_streams)
            .max_header_list_size(u32::try_from(limits.max_header_size).unwrap_or(u32::MAX))
            .keep_alive_interval(limits.http2_keep_alive.and_then(finite));
        let slots = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        Server {
            inner: Arc::new(Inner {
                handler: Box::new(handler),
                error_handler: self.error_handler,
                tls: self.tls.map(TlsAcceptor::from),
                connection_slots: Arc::new(Semaphore::new(slots)),
                registry: Arc::default(),
                limits,
                http1,
                http2,
            }),
        }
    }
}

/// `None` for a duration so long that it means "no limit".
fn finite(limit: Duration) -> Option<Duration> {
    (limit < NO_LIMIT).then_some(limit)
}

impl Server {
    /// A builder, to set TLS, the error handler or timeouts.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A plain HTTP server with the default settings.
    pub fn new(handler: impl Handler) -> Server {
        Self::builder().build(handler)
    }

    /// Listens on a TCP address (port 0 picks a free port, see
    /// [`Running::local_addr`]) and serves it in a spawned task.
    ///
    /// Fails with [`Error::Io`] naming the address when it cannot be bound.
    pub async fn bind_tcp(&self, addr: SocketAddr) -> Result<Running> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| bind_error(addr, e))?;
        let local = listener.local_addr().map_err(|e| bind_error(addr, e))?;
        debug!(addr = %local, tls = self.inner.tls.is_some(), "listening");
        Ok(self.start(listener, Listening::Tcp(local)))
    }

    /// Listens on a Unix domain socket at `path` and serves it in a spawned
    /// task. The socket file is removed when the server stops.
    ///
    /// An existing file at `path` is replaced only when it is a socket that
    /// nobody accepts on (left by a server that died); any other file, or a
    /// socket a live server listens on, is an [`Error::Io`] naming the path.
    #[cfg(unix)]
    pub async fn bind_unix(&self, path: impl AsRef<Path>) -> Result<Running> {
        let path = path.as_ref();
        let fail = |e| bind_error(format_args!("unix:{}", path.display()), e);
        unix::remove_stale_socket(path).await.map_err(fail)?;
        let listener = tokio::net::UnixListener::bind(path).map_err(fail)?;
        debug!(path = %path.display(), tls = self.inner.tls.is_some(), "listening");
        let listener = unix::Listener::new(listener, path);
        Ok(self.start(listener, Listening::Unix(path.to_path_buf())))
    }

    /// Serves one stream that was accepted elsewhere (a user transport, a
    /// socket passed by a supervisor, one end of [`tokio::io::duplex`])
    /// until it closes: the TLS handshake first when the server has TLS,
    /// then HTTP. Errors go to the error handler; this never fails.
    ///
    /// Without TLS, the stream's first bytes pick the version: the HTTP/2
    /// preface gives HTTP/2 (prior knowledge), anything else HTTP/1.1.
    pub async fn serve_connection<I: Io>(&self, io: I, peer: PeerAddr) {
        // Nothing stops a connection served on the caller's behalf but its end.
        let (_never, stop) = watch::channel(None);
        self.serve(io, peer, stop).await;
    }

    fn start<L: Listener>(&self, listener: L, listening: Listening) -> Running {
        let (tx, rx) = watch::channel(None);
        let task = tokio::spawn(accept_loop(self.clone(), listener, rx));
        Running {
            listening,
            tls: self.inner.tls.is_some(),
            stop: StopHandle { tx },
            task,
        }
    }

    /// One connection, from its first byte to its end; `stop` turns into a
    /// graceful shutdown.
    async fn serve<I: Io>(&self, mut io: I, peer: PeerAddr, mut stop: StopSignal) {
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
            let io = Prefixed { seen, io };
            return self.serve_http(io, proto, peer, None, stop).await;
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
        let proto = if alpn.as_deref() == Some(ALPN_H2) {
            Proto::Http2
        } else {
            Proto::Http1
        };
        let info = TlsInfo::new(conn.server_name().map(str::to_string), alpn);
        self.serve_http(tls, proto, peer, Some(info), stop).await;
    }

    async fn serve_http<T: Io>(
        &self,
        io: T,
        proto: Proto,
        peer: PeerAddr,
        tls: Option<TlsInfo>,
        stop: StopSignal,
    ) {
        let limits = &self.inner.limits;
        let io = TokioIo::new(SendTimeout::new(io, limits.send_timeout));
        let activity = Arc::new(Activity::default());
        let registered = self.inner.registry.register(activity.clone());
        let server = self.clone();
        let conn_peer = peer.clone();
        let watched = activity.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let server = server.clone();
            let peer = conn_peer.clone();
            let tls = tls.clone();
            // Counted from the moment hyper hands the request over until the
            // response body is dropped: the connection is busy meanwhile.
            let in_flight = watched.begin();
            let activity = watched.clone();
            async move {
                let response = server.respond(request, peer, tls, activity).await;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_flight: in_flight,
                }))
            }
        });
        let result = match proto {
            Proto::Http1 => {
                let conn = self.inner.http1.serve_connection(io, service);
                drive(conn, &activity, limits.idle_timeout, stop, &registered.shed).await
            }
            Proto::Http2 => {
                let conn = self.inner.http2.serve_connection(io, service);
                drive(conn, &activity, limits.idle_timeout, stop, &registered.shed).await
            }
        };
        if let Err(e) = result {
            self.connection_failed(peer, Box::new(from_hyper(e)));
        }
    }

    async fn respond(
        &self,
        request: Request<Incoming>,
        peer: PeerAddr,
        tls: Option<TlsInfo>,
        activity: Arc<Activity>,
    ) -> Response<Body> {
        let version = request.version();
        let limits = &self.inner.limits;
        if let Some(reason) = target::refusal(request.method(), request.uri(), version) {
            debug!(%peer, method = %request.method(), uri = %request.uri(), reason, "bad request target");
            let error = ServerError::BadTarget {
                method: request.method().clone(),
                target: request.uri().to_string(),
                reason,
                peer,
            };
            return self.error_response(&error);
        }
        if request.method() == http::Method::CONNECT && !limits.accept_connect {
            debug!(%peer, "CONNECT refused");
            return self.error_response(&ServerError::ConnectNotAllowed { peer });
        }
        let limit = limits.max_body_size;
        // The declared length is known before a byte of the body is read:
        // refuse at once rather than let the handler start on it.
        if http_body::Body::size_hint(request.body()).lower() > limit {
            debug!(%peer, limit, "request body declared larger than the limit");
            return self.body_too_large(limit, peer, version);
        }
        let verdict = Arc::new(Verdict::default());
        let read_timeout = finite(limits.body_read_timeout);
        let mut request = request.map(|body| {
            Body::wrap(RequestBody::new(
                body,
                limit,
                read_timeout,
                verdict.clone(),
                activity,
            ))
        });
        let info = ConnInfo::new(peer.clone(), version, tls);
        request.extensions_mut().insert(info);
        // The call itself is inside the guarded future, so a handler that
        // panics before returning its future is caught too.
        let answer = AssertUnwindSafe(async { self.inner.handler.call(request).await });
        let outcome = match self.inner.limits.handler_timeout {
            None => Ok(answer.catch_unwind().await),
            Some(limit) => tokio::time::timeout(limit, answer.catch_unwind())
                .await
                .map_err(|_| limit),
        };
        let error = match outcome {
            // Whatever the handler made of its failed read, the client is
            // told why: its body was too large.
            Ok(Ok(_)) if verdict.too_large() => {
                debug!(%peer, limit, "request body passed the limit");
                return self.body_too_large(limit, peer, version);
            }
            Ok(Ok(_)) if verdict.timed_out() => {
                let after = limits.body_read_timeout;
                debug!(%peer, ?after, "request body stalled");
                let response = self.error_response(&ServerError::BodyTimeout { after, peer });
                return closing(response, version);
            }
            Ok(Ok(response)) => return response,
            Ok(Err(panic)) => {
                let message = panic_message(&*panic);
                warn!(%peer, %message, "handler panicked");
                ServerError::HandlerPanicked { message, peer }
            }
            Err(after) => {
                warn!(%peer, ?after, "handler timed out");
                ServerError::HandlerTimeout { after, peer }
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

/// Where a [`Running`] server listens.
#[derive(Debug)]
enum Listening {
    Tcp(SocketAddr),
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(PathBuf),
}

/// A server accepting connections in a spawned task, returned by
/// [`Server::bind_tcp`] and [`Server::bind_unix`].
///
/// Dropping it does not stop the server: take a [`StopHandle`] first, or
/// call [`stop`](Running::stop).
#[derive(Debug)]
pub struct Running {
    listening: Listening,
    tls: bool,
    stop: StopHandle,
    task: JoinHandle<()>,
}

impl Running {
    /// The TCP address listened on (with the port chosen when 0 was asked),
    /// `None` for a Unix socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.listening {
            Listening::Tcp(addr) => Some(*addr),
            Listening::Unix(_) => None,
        }
    }

    /// The path of the Unix socket listened on, `None` for TCP.
    pub fn unix_path(&self) -> Option<&Path> {
        match &self.listening {
            Listening::Unix(path) => Some(path),
            Listening::Tcp(_) => None,
        }
    }

    /// The base URL of a TCP server: `http://127.0.0.1:8080`,
    /// `https://[::1]:8443`. An unspecified address (`0.0.0.0`, `::`) is
    /// given as the loopback address of its family, which reaches it.
    /// `None` for a Unix socket.
    pub fn url(&self) -> Option<String> {
        let addr = self.local_addr()?;
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.tls { "https" } else { "http" };
        Some(format!("{scheme}://{}", SocketAddr::new(ip, addr.port())))
    }

    /// A handle that stops this server from anywhere (a signal handler,
    /// another task).
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops the server (see [`StopHandle::stop`]) and returns once every
    /// connection has ended: at the latest when `grace` is over, when the
    /// connections still open are aborted.
    pub async fn stop(self, grace: Duration) {
        self.stop.stop(grace);
        self.wait().await;
    }

    /// Waits until the server was stopped through a [`StopHandle`] and every
    /// connection has ended.
    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            warn!(error = %e, "the accept loop failed");
        }
    }
}

/// The value a stop sets: when connections still open get aborted.
type StopSignal = watch::Receiver<Option<Instant>>;

/// Stops a [`Running`] server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle {
    tx: watch::Sender<Option<Instant>>,
}

impl StopHandle {
    /// Stops the server: the listener is closed at once (new connections are
    /// refused), idle connections are closed, HTTP/2 clients get a GOAWAY,
    /// and requests in flight may finish within `grace`; then whatever is
    /// still open is aborted. Returns at once; [`Running::stop`] and
    /// [`Running::wait`] wait for the end.
    ///
    /// Calling it again can shorten the grace period, never lengthen it
    /// (a second Ctrl-C can mean "now").
    pub fn stop(&self, grace: Duration) {
        let now = Instant::now();
        // A grace too large for the clock means "no hurry": a year will do.
        let deadline = now
            .checked_add(grace)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        self.tx.send_if_modified(|current| match current {
            Some(earlier) if *earlier <= deadline => false,
            _ => {
                *current = Some(deadline);
                true
            }
        });
    }

    /// Whether [`stop`](StopHandle::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.tx.borrow().is_some()
    }
}

/// Resolves once a stop was asked for. When every [`StopHandle`] is gone
/// nobody can stop the server any more: it never resolves.
async fn stopped(stop: &mut StopSignal) {
    let unstoppable = stop.wait_for(Option::is_some).await.is_err();
    if unstoppable {
        std::future::pending::<()>().await;
    }
}

/// What the accept loop needs of a listener.
trait Listener: Send + Sync + 'static {
    type Stream: Io;
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, PeerAddr)>> + Send + '_;
}

impl Listener for TcpListener {
    type Stream = TcpStream;

    async fn accept(&self) -> io::Result<(TcpStream, PeerAddr)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        // Responses are written whole: Nagle's delay would only add latency.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        Ok((stream, PeerAddr::Tcp(peer)))
    }
}

async fn accept_loop<L: Listener>(server: Server, listener: L, mut stop: StopSignal) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                log_connection_end(ended);
            }
            accepted = listener.accept() => match accepted {
                Ok((io, peer)) => {
                    let Some(slot) = make_room(&server.inner, &mut stop).await else {
                        break;
                    };
                    let server = server.clone();
                    let stop = stop.clone();
                    connections.spawn(async move {
                        server.serve(io, peer, stop).await;
                        drop(slot);
                    });
                }
                // The peer gave up before we took it: nothing to wait for.
                Err(e) if is_about_one_connection(&e) => {
                    debug!(error = %e, "accepting a connection failed");
                }
                Err(e) => {
                    warn!(error = %e, "accepting connections failed; retrying shortly");
                    // A stop during the pause is seen at the top of the loop.
                    let _ = tokio::time::timeout(ACCEPT_BACKOFF, stopped(&mut stop)).await;
                }
            },
        }
    }
    // Closing the listener now makes new connections fail at once rather
    // than wait in the backlog until the grace period ends.
    drop(listener);
    debug!(
        connections = connections.len(),
        "stopped accepting; draining connections"
    );
    drain(&mut connections, &mut stop).await;
}

/// A slot for a connection just accepted: a free one, or one made by
/// shedding the oldest idle or stalled connection (see [`Registry`]). With
/// nothing to shed, the new connection waits for one to end, looking again
/// now and then (a read may have stalled since), and the next ones wait in
/// the listen backlog. `None` when the server is stopped meanwhile.
async fn make_room(inner: &Inner, stop: &mut StopSignal) -> Option<OwnedSemaphorePermit> {
    let slots = &inner.connection_slots;
    if let Ok(slot) = slots.clone().try_acquire_owned() {
        return Some(slot);
    }
    debug!("connection limit reached; making room");
    loop {
        inner.registry.shed_oldest(STALLED_AFTER);
        tokio::select! {
            slot = slots.clone().acquire_owned() => return slot.ok(),
            () = tokio::time::sleep(SHED_RECHECK) => {}
            () = stopped(stop) => return None,
        }
    }
}

/// Waits for the connections to end until the stop's deadline (which a later
/// stop may bring nearer), then aborts the rest.
async fn drain(connections: &mut JoinSet<()>, stop: &mut StopSignal) {
    let mut deadline = (*stop.borrow_and_update()).unwrap_or_else(Instant::now);
    let mut watching = true;
    loop {
        tokio::select! {
            ended = connections.join_next() => match ended {
                Some(ended) => log_connection_end(ended),
                None => return,
            },
            () = tokio::time::sleep_until(deadline) => break,
            changed = stop.changed(), if watching => match changed {
                Ok(()) => {
                    let asked = *stop.borrow_and_update();
                    if let Some(asked) = asked {
                        deadline = deadline.min(asked);
                    }
                }
                Err(_) => watching = false,
            },
        }
    }
    debug!(
        connections = connections.len(),
        "grace period over; aborting connections"
    );
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

fn log_connection_end(ended: std::result::Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        if e.is_panic() {
            warn!(error = %e, "a connection task panicked");
        }
    }
}

fn is_about_one_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

fn bind_error(what: impl fmt::Display, e: io::Error) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("binding {what}: {e}")))
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

/// Runs one hyper connection until it ends: a stop, or a stretch of
/// `idle_limit` with no request in progress, turns into a graceful shutdown
/// (idle HTTP/1 connections close, HTTP/2 ones get a GOAWAY, requests in
/// flight still get their responses).
async fn drive<C>(
    conn: C,
    activity: &Activity,
    idle_limit: Duration,
    mut stop: StopSignal,
    shed: &tokio::sync::Notify,
) -> std::result::Result<(), hyper::Error>
where
    C: GracefulConnection<Error = hyper::Error>,
{
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => return result,
            () = shed.notified() => {
                // Idle or stalled while a new connection waits for room:
                // nothing a client is waiting for is lost.
                debug!("connection shed to make room for a new one");
                return Ok(());
            }
            () = stopped(&mut stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.idle_for(idle_limit) => {
                if closing {
                    // Nothing is in progress, yet the shutdown did not end
                    // the connection (an HTTP/2 peer that never answers the
                    // GOAWAY's PING): nothing is lost by dropping it.
                    debug!("closing connection stayed idle; dropping it");
                    return Ok(());
                }
                debug!(after = ?idle_limit, "closing idle connection");
                conn.as_mut().graceful_shutdown();
                closing = true;
                // The peer gets a whole idle period after the GOAWAY before
                // the connection is dropped under it.
                activity.touch();
            }
        }
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

/// A stream whose writes fail with [`io::ErrorKind::TimedOut`] when one has
/// been blocked for `limit`: the peer reads nothing, and its connection
/// would otherwise hold its buffers for as long as it likes.
struct SendTimeout<I> {
    io: I,
    limit: Duration,
    /// Armed while a write is blocked; allocated at the first block only,
    /// so that connections that never block pay nothing.
    timer: Option<Pin<Box<Sleep>>>,
    blocked: bool,
}

impl<I> SendTimeout<I> {
    fn new(io: I, limit: Duration) -> Self {
        SendTimeout {
            io,
            limit,
            timer: None,
            blocked: false,
        }
    }

    /// Passes a write's outcome through, arming the timer when the write
    /// blocks and failing it once the timer has run out.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.blocked = false;
            return poll;
        }
        let Some(limit) = finite(self.limit) else {
            return Poll::Pending;
        };
        if !self.blocked {
            self.blocked = true;
            let deadline = Instant::now() + limit;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let expired = self
            .timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if expired {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer read nothing for {limit:?}"),
            )));
        }
        Poll::Pending
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for SendTimeout<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SendTimeout<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}

#[derive(Clone, Copy, Debug)]
enum Proto {
    Http1,
    Http2,
}

/// Reads a plain connection's first bytes, up to the length of the HTTP/2
/// preface, and says which version they start. Done here rather than by
/// hyper-util's auto builder because that one waits for them without a time
/// limit, so a silent client would hold a connection forever.
async fn sniff<I: Io>(io: &mut I) -> io::Result<(Proto, Bytes)> {
    let mut buf = [0u8; H2_PREFACE.len()];
    let mut filled = 0;
    while filled < buf.len() {
        let n = poll_fn(|cx| {
            let mut read = ReadBuf::new(&mut buf[filled..]);
            ready!(Pin::new(&mut *io).poll_read(cx, &mut read))?;
            Poll::Ready(Ok::<_, io::Error>(read.filled().len()))
        })
        .await?;
        let end = filled + n;
        if n == 0 || buf[filled..end] != H2_PREFACE[filled..end] {
            return Ok((Proto::Http1, Bytes::copy_from_slice(&buf[..end])));
        }
        filled = end;
    }
    Ok((Proto::Http2, Bytes::copy_from_slice(&buf)))
}

/// A stream whose first bytes were already read by [`sniff`]: they are read
/// again before the rest.
struct Prefixed<I> {
    seen: Bytes,
    io: I,
}

impl<I: AsyncRead + Unpin> AsyncRead for Prefixed<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.seen.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.seen.len().min(buf.remaining());
        buf.put_slice(&this.seen[..n]);
        this.seen.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Prefixed<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(unix)]
mod unix {
    //! Unix socket files: not clobbering what is not ours, cleaning up
    //! what is.

    use std::{
        io,
        os::unix::fs::{FileTypeExt, MetadataExt},
        path::{Path, PathBuf},
    };

    use paf_core::server::PeerAddr;
    use tokio::net::{UnixListener, UnixStream};
    use tracing::debug;

    /// Removes a socket file left by a server that is gone; refuses to touch
    /// anything else.
    pub(super) async fn remove_stale_socket(path: &Path) -> io::Result<()> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            ));
        }
        match UnixStream::connect(path).await {
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "a server is listening on this socket",
            )),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                debug!(path = %path.display(), "removing a stale socket file");
                std::fs::remove_file(path)
            }
            Err(e) => Err(e),
        }
    }

    /// A Unix listener and its socket file, removed when dropped (after the
    /// listener is closed, as fields drop in order).
    pub(super) struct Listener {
        listener: UnixListener,
        _file: SocketFile,
    }

    impl Listener {
        pub(super) fn new(listener: UnixListener, path: &Path) -> Self {
            let identity = std::fs::symlink_metadata(path)
                .ok()
                .map(|m| (m.dev(), m.ino()));
            Listener {
                listener,
                _file: SocketFile {
                    path: path.to_path_buf(),
                    identity,
                },
            }
        }
    }

    impl super::Listener for Listener {
        type Stream = UnixStream;

        async fn accept(&self) -> io::Result<(UnixStream, PeerAddr)> {
            let (stream, peer) = self.listener.accept().await?;
            Ok((
                stream,
                PeerAddr::Unix(peer.as_pathname().map(Path::to_path_buf)),
            ))
        }
    }

    struct SocketFile {
        path: PathBuf,
        /// Device and inode of the socket we bound: if another server has
        /// since bound the same path, its file is left alone.
        identity: Option<(u64, u64)>,
    }

    impl Drop for SocketFile {
        fn drop(&mut self) {
            let current = std::fs::symlink_metadata(&self.path)
                .ok()
                .map(|m| (m.dev(), m.ino()));
            if current.is_some() && current == self.identity {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    debug!(path = %self.path.display(), error = %e, "cannot remove the socket file");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sniffs a stream on which `sent` was written (then closed when
    /// `close`), and reads the whole stream back through [`Prefixed`].
    async fn sniff_sent(sent: &[u8], close: bool) -> (Proto, Vec<u8>) {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(sent).await.unwrap();
        if close {
            drop(client);
        } else {
            client.shutdown().await.unwrap();
        }
        let (proto, seen) = sniff(&mut server).await.unwrap();
        let mut again = Vec::new();
        Prefixed { seen, io: server }
            .read_to_end(&mut again)
            .await
            .unwrap();
        (proto, again)
    }

    #[tokio::test]
    async fn sniff_tells_http2_preface_from_http1_and_loses_no_byte() {
        let http1 = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        let (proto, again) = sniff_sent(http1, false).await;
        assert!(matches!(proto, Proto::Http1));
        assert_eq!(again, http1);

        let mut http2 = H2_PREFACE.to_vec();
        http2.extend_from_slice(b"frames");
        let (proto, again) = sniff_sent(&http2, false).await;
        assert!(matches!(proto, Proto::Http2));
        assert_eq!(again, http2);
    }

    #[tokio::test]
    async fn sniff_stops_at_eof() {
        let (proto, again) = sniff_sent(b"PRI *", true).await;
        assert!(matches!(proto, Proto::Http1));
        assert_eq!(again, b"PRI *");
    }

    #[test]
    fn a_second_stop_only_shortens_the_grace() {
        let (tx, rx) = watch::channel(None);
        let handle = StopHandle { tx };
        assert!(!handle.is_stopped());
        handle.stop(Duration::from_secs(10));
        let first = rx.borrow().unwrap();
        handle.stop(Duration::from_secs(100));
        assert_eq!(*rx.borrow(), Some(first));
        handle.stop(Duration::ZERO);
        assert!(rx.borrow().unwrap() < first);
        handle.stop(Duration::MAX);
        assert!(handle.is_stopped());
    }
}
