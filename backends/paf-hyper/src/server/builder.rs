//! The server's settings: its limits, their defaults, and the builder that
//! documents them.

use std::{fmt, sync::Arc, time::Duration};

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use paf_core::server::{ConnectionHook, DefaultErrorHandler, ErrorHandler, Handler};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::{AccessLog, Inner, Server};

const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// nginx's `client_body_timeout` default.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
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
pub(super) const NO_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The settings a [`ServerBuilder`] collects.
#[derive(Clone, Debug)]
pub(super) struct Limits {
    pub(super) header_read_timeout: Duration,
    pub(super) tls_handshake_timeout: Duration,
    pub(super) handler_timeout: Option<Duration>,
    pub(super) idle_timeout: Duration,
    pub(super) send_timeout: Duration,
    pub(super) body_read_timeout: Duration,
    pub(super) accept_connect: bool,
    pub(super) max_header_size: usize,
    pub(super) max_body_size: u64,
    pub(super) max_connections: usize,
    pub(super) max_http2_streams: u32,
    pub(super) http2_keep_alive: Option<Duration>,
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

/// Configures a [`Server`]. The defaults are meant for a server facing the
/// internet; each limit below can be changed with the method of its name.
///
/// # Limits
///
/// | Limit | Default | A client that passes it gets |
/// |---|---|---|
/// | [`max_header_size`](Self::max_header_size): request line and headers | 64 KiB | 431, then the connection is closed (HTTP/1); 431 on that stream (HTTP/2) |
/// | [`max_body_size`](Self::max_body_size): request body | 1 GiB | 413 from the error handler; the handler's read fails with [`Error::BodyTooLarge`](paf_core::Error::BodyTooLarge) |
/// | [`header_read_timeout`](Self::header_read_timeout): time to send a request head | 30 s | the connection is closed without a response (no 408) |
/// | [`idle_timeout`](Self::idle_timeout): time with no request in progress | 60 s | the connection is closed (HTTP/2: after a GOAWAY) |
/// | [`send_timeout`](Self::send_timeout): a write blocked by a client that reads nothing | 30 s | the connection is closed |
/// | [`body_read_timeout`](Self::body_read_timeout): time without a request body byte while the handler reads | 60 s | the read fails with [`Error::Timeout`](paf_core::Error::Timeout); 408 from the error handler when nothing was written yet, then the connection is closed |
/// | [`handler_timeout`](Self::handler_timeout): time to produce a response head | none | the error handler's response, 503 by default |
/// | [`tls_handshake_timeout`](Self::tls_handshake_timeout) | 10 s | the connection is closed |
/// | [`max_connections`](Self::max_connections): connections open at once | 10,000 | the oldest idle or stalled connection is closed to make room; with none, the new one waits until one closes |
/// | [`max_http2_streams`](Self::max_http2_streams): concurrent streams on one HTTP/2 connection | 100 | `RST_STREAM(REFUSED_STREAM)` for each stream past it |
/// | [`http2_keep_alive_interval`](Self::http2_keep_alive_interval): PING to an HTTP/2 client | every 30 s | no answer within 20 s: the connection is closed |
///
/// The head read and idle timeouts count from the end of the last response
/// and end the connection between the limit and an eighth more after it:
/// the server does not read the clock for each request, it looks at its
/// connections' activity now and then.
///
/// A panic in the handler becomes the error handler's response (500 by
/// default) and is logged at `warn`; the connection and the server go on.
///
/// A request target that does not fit its method (RFC 9112 §3.2: `*` on
/// anything but `OPTIONS`, a bare `host:port` on anything but `CONNECT`,
/// an absolute URI whose scheme is not `http` or `https`) gets 400 from the
/// error handler ([`ServerError::BadTarget`](paf_core::server::ServerError::BadTarget)) without calling the handler,
/// and the connection is closed after it;
/// `CONNECT` gets 405 ([`ServerError::ConnectNotAllowed`](paf_core::server::ServerError::ConnectNotAllowed)) unless
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
/// [`ServerError::Connection`](paf_core::server::ServerError::Connection) (its response is not used), whose source is
/// a [`paf_core::Error`]: [`Error::Protocol`](paf_core::Error::Protocol) for what the client sent,
/// [`Error::Io`](paf_core::Error::Io) for what the socket did (a reset, or
/// [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut) past the send timeout). A bad request
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
    hook: Option<Arc<dyn ConnectionHook>>,
    access_log: Option<Arc<dyn AccessLog>>,
    conn_info: bool,
    limits: Limits,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            tls: None,
            error_handler: Box::new(DefaultErrorHandler),
            hook: None,
            access_log: None,
            conn_info: true,
            limits: Limits::default(),
        }
    }
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("tls", &self.tls.is_some())
            .field("access_log", &self.access_log.is_some())
            .field("conn_info", &self.conn_info)
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

    /// Tells `hook` of each connection's start and end, and how it ended
    /// ([`ConnectionEnd`](paf_core::server::ConnectionEnd)): for metrics,
    /// or CoHTTP's `?conn_closed`. Each request's
    /// [`ConnInfo::id`](paf_core::server::ConnInfo::id) is its connection's.
    pub fn connection_hook(mut self, hook: impl ConnectionHook) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Hands each request, once its response is done, to `log` as an
    /// [`AccessRecord`](super::AccessRecord), whose `Display` is a line of
    /// the Combined Log Format (path without the query, time in UTC):
    ///
    /// ```text
    /// 127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /path HTTP/1.1" 200 1234 "-" "curl/8.0"
    /// ```
    ///
    /// Give it an [`AccessLogWriter`](super::AccessLogWriter) to write these
    /// lines to stdout or a file, or a closure to route, filter or format
    /// the records yourself. Default: none (the same requests are logged
    /// with `tracing` at `debug`, see [the module docs](super#logging)).
    /// Requests hyper answers by itself (400, 431 for a malformed head, see
    /// below) never reach it.
    ///
    /// ```
    /// use paf_hyper::server::{AccessLogWriter, Server};
    ///
    /// let server = Server::builder()
    ///     .access_log(AccessLogWriter::new(std::io::stdout()))
    ///     .build(|_req| async { paf_core::http::Response::new(paf_core::Body::empty()) });
    /// ```
    pub fn access_log(mut self, log: impl AccessLog) -> Self {
        self.access_log = Some(Arc::new(log));
        self
    }

    /// Whether each request carries its connection's
    /// [`ConnInfo`](paf_core::server::ConnInfo) (peer, HTTP version, TLS
    /// details) in its extensions, for
    /// [`ConnInfo::of`](paf_core::server::ConnInfo::of) and axum's
    /// `Extension<Arc<ConnInfo>>` (default on). The information is built
    /// once per connection, but putting it in a request's extensions
    /// allocates their map: about a tenth of what a small HTTP/1.1 request
    /// costs the server (see the README's benchmarks). A server whose
    /// handler never asks can turn it off. The access log, the tracing
    /// spans and the connection hook have it either way.
    ///
    /// ```
    /// use paf_core::{http::Response, server::ConnInfo, Body};
    /// use paf_hyper::Server;
    ///
    /// let server = Server::builder()
    ///     .conn_info(false)
    ///     .build(|req| async move {
    ///         assert!(ConnInfo::of(&req).is_none());
    ///         Response::new(Body::from("hello\n"))
    ///     });
    /// # drop(server);
    /// ```
    pub fn conn_info(mut self, on: bool) -> Self {
        self.conn_info = on;
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
    /// gets the error handler's answer to [`ServerError::HandlerTimeout`](paf_core::server::ServerError::HandlerTimeout)
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
    /// read fails with [`Error::Timeout`](paf_core::Error::Timeout) ([`TimeoutKind::Body`]), the
    /// request gets the error handler's answer to
    /// [`ServerError::BodyTimeout`](paf_core::server::ServerError::BodyTimeout) (408 from the default one) unless the
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
    /// stream, and [`Body::to_bytes`](paf_core::Body::to_bytes) has a cap of its own; lower it for a
    /// server that takes only small bodies).
    ///
    /// A request whose `Content-Length` is over it gets 413 at once,
    /// without calling the handler. A body that passes it while the handler
    /// reads (chunked, or HTTP/2 without a length) fails the read with
    /// [`Error::BodyTooLarge`](paf_core::Error::BodyTooLarge), and the request gets 413 whatever the
    /// handler answered; a handler that had already answered and streams
    /// the body back has its response cut. Both 413s come from the error
    /// handler ([`ServerError::BodyTooLarge`](paf_core::server::ServerError::BodyTooLarge)); an HTTP/1 connection is
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
        http1
            // A client that shuts its write side after its request still
            // reads: it must get the response.
            .half_close(true)
            // The head read timeout is the connection's idle watch (see
            // `connection::drive`): hyper's own arms a timer for every
            // request head, about a thousand instructions a request.
            .header_read_timeout(None)
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
                hook: self.hook,
                access_log: self.access_log,
                conn_info: self.conn_info,
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
pub(super) fn finite(limit: Duration) -> Option<Duration> {
    (limit < NO_LIMIT).then_some(limit)
}
