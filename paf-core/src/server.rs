//! The server side: what a user writes (a [`Handler`], an [`ErrorHandler`])
//! and what a server backend tells them ([`ConnInfo`], [`ServerError`]).
//!
//! A handler is any `async Fn(Request<Body>) -> Response<Body>`; the
//! connection a request came on is in its extensions ([`ConnInfo::of`]).

#[cfg(feature = "tokio")]
use std::io;
use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use http::{Request, Response, StatusCode, Version};

#[cfg(feature = "tokio")]
use crate::ctx::Io;
use crate::{error::BoxError, Body, BoxFuture};

/// Answers requests.
///
/// ```
/// use paf_core::{server::{ConnInfo, Handler}, Body};
/// use http::{Request, Response};
///
/// async fn hello(req: Request<Body>) -> Response<Body> {
///     let peer = ConnInfo::of(&req).map(|c| c.peer.to_string()).unwrap_or_default();
///     Response::new(Body::from(format!("hello {peer}")))
/// }
/// fn check(_: impl Handler) {}
/// check(hello);
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, request: Request<Body>) -> BoxFuture<'static, Response<Body>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request<Body>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    fn call(&self, request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        Box::pin(self(request))
    }
}

impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn call(&self, request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        (**self).call(request)
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
/// Where a server takes its connections from: the kernel's TCP and Unix
/// listeners, or anything else that yields byte streams (a user-space TCP/IP
/// stack, an in-memory pipe, sockets handed over by a supervisor). A server
/// backend serves every listener the same way: the same limits, TLS and
/// ALPN, hooks and graceful stop.
///
/// The server owns the listener while it runs and drops it when it stops,
/// so dropping must close it (new connections are then refused).
///
/// ```
/// use paf_core::server::{Listener, PeerAddr};
/// use tokio::{io::DuplexStream, sync::mpsc};
///
/// /// Connections made in this process, handed over a channel.
/// struct Pipes(mpsc::Receiver<DuplexStream>);
///
/// impl Listener for Pipes {
///     type Io = DuplexStream;
///     async fn accept(&mut self) -> std::io::Result<(DuplexStream, PeerAddr)> {
///         match self.0.recv().await {
///             Some(io) => Ok((io, PeerAddr::Other("pipe".into()))),
///             // Nobody can connect any more: wait for the server's stop.
///             None => std::future::pending().await,
///         }
///     }
/// }
/// ```
pub trait Listener: Send + 'static {
    /// The connections it yields.
    type Io: Io;

    /// Waits for the next connection and says who is on the other end.
    ///
    /// An error about one connection ([`io::ErrorKind::ConnectionAborted`],
    /// `ConnectionReset`, `ConnectionRefused`, `Interrupted`) is logged and
    /// the server goes on at once; any other error (out of file
    /// descriptors, say) pauses accepting briefly before the next call.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, PeerAddr)>> + Send;

    /// The IP address and port listened on, when there is one: a server
    /// reports it as its local address and URL. `None` by default.
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }
}

#[cfg(feature = "tokio")]
impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, PeerAddr)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // Responses are written whole: Nagle's delay would only add latency.
        // A socket that refuses the option still works, just slower.
        let _ = stream.set_nodelay(true);
        Ok((stream, PeerAddr::Tcp(peer)))
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        tokio::net::TcpListener::local_addr(self).ok()
    }
}

#[cfg(all(unix, feature = "tokio"))]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, PeerAddr)> {
        let (stream, peer) = tokio::net::UnixListener::accept(self).await?;
        let path = peer.as_pathname().map(std::path::Path::to_path_buf);
        Ok((stream, PeerAddr::Unix(path)))
    }
}

/// The address of a connection's peer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix socket peer (usually unnamed).
    Unix(Option<PathBuf>),
    /// A stream handed to the server by the user, described by them.
    Other(String),
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerAddr::Tcp(addr) => write!(f, "{addr}"),
            PeerAddr::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            PeerAddr::Unix(None) => f.write_str("unix:(unnamed)"),
            PeerAddr::Other(what) => f.write_str(what),
        }
    }
}

/// What the server knows of the connection a request came on. The server
/// puts it in every request's extensions (unless told not to: paf-hyper's
/// `ServerBuilder::conn_info(false)`), built once per connection and
/// shared by its requests (as an `Arc<ConnInfo>`; [`ConnInfo::of`] finds
/// either form, so a test may insert a plain `ConnInfo`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnInfo {
    /// The connection's number, unique among a server's connections (the
    /// one its [`ConnectionHook`] is told of); 0 when no server set one.
    pub id: u64,
    /// Who is on the other end.
    pub peer: PeerAddr,
    /// The HTTP version spoken on the connection.
    pub version: Version,
    /// TLS details, for HTTPS connections.
    pub tls: Option<TlsInfo>,
}

impl ConnInfo {
    /// A description of a connection.
    pub fn new(peer: PeerAddr, version: Version, tls: Option<TlsInfo>) -> Self {
        ConnInfo {
            id: 0,
            peer,
            version,
            tls,
        }
    }

    /// The same description with the connection's number.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }

    /// The connection information of a request served by a paf server.
    pub fn of<B>(request: &Request<B>) -> Option<&ConnInfo> {
        let extensions = request.extensions();
        extensions
            .get::<Arc<ConnInfo>>()
            .map(|shared| &**shared)
            .or_else(|| extensions.get::<ConnInfo>())
    }
}

/// What was negotiated in a TLS handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The ALPN protocol agreed on.
    pub alpn: Option<Vec<u8>>,
}

impl TlsInfo {
    /// TLS details of a connection.
    pub fn new(sni: Option<String>, alpn: Option<Vec<u8>>) -> Self {
        TlsInfo { sni, alpn }
    }
}

/// How a connection ended, as a [`ConnectionHook`] is told.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEnd {
    /// The peer closed it, or the server did after a response that said it
    /// would (`connection: close`, a request it could not read to the end).
    Closed,
    /// Closed after a stretch with no request in progress (the idle
    /// timeout, or on HTTP/1 the head read timeout).
    Idle,
    /// Closed, idle or stalled, to make room for a new connection at the
    /// server's connection limit.
    Shed,
    /// Ended by the server's stop, its requests answered.
    Stopped,
    /// Cut when the stop's grace period ran out, requests still in
    /// progress.
    Aborted,
    /// Ended by an error: malformed HTTP, a reset, a write timeout. The
    /// error handler heard of it as [`ServerError::Connection`].
    Failed {
        /// The error, as text.
        reason: String,
    },
}

/// Hears of each connection's start and end: the connection-level hooks
/// CoHTTP's `?conn_closed` and servers' metrics need. A connection starts
/// when HTTP does on it (after the TLS handshake); one that fails before
/// (a handshake that fails) is only told to the [`ErrorHandler`]. Every
/// started connection ends exactly once. Both are called from the
/// connection's task: keep them short.
pub trait ConnectionHook: Send + Sync + 'static {
    /// A connection began; its requests will carry the same `conn.id`.
    fn started(&self, conn: &ConnInfo) {
        let _ = conn;
    }

    /// A connection ended, and how.
    fn ended(&self, conn: &ConnInfo, how: &ConnectionEnd) {
        let _ = (conn, how);
    }
}

/// Something that went wrong on the server side of a connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The handler panicked; the request gets the error handler's response.
    HandlerPanicked {
        /// The panic's message, when it was a string.
        message: String,
        /// The connection.
        peer: PeerAddr,
    },
    /// The handler did not answer within the server's handler timeout.
    HandlerTimeout {
        /// The limit.
        after: Duration,
        /// The connection.
        peer: PeerAddr,
    },
    /// The TLS handshake failed (garbage instead of a ClientHello, unknown
    /// certificate, timeout). No HTTP response can be sent.
    Handshake {
        /// The connection.
        peer: PeerAddr,
        /// The cause.
        source: BoxError,
    },
    /// The connection failed at the HTTP level: a malformed request, a reset,
    /// a read timeout. For malformed HTTP/1 framing the engine has already
    /// answered (400, 431…) before the error is reported.
    Connection {
        /// The connection.
        peer: PeerAddr,
        /// The engine's error.
        source: BoxError,
    },
    /// The request body is larger than the server's limit: its
    /// `Content-Length` said so (the handler is not called), or the limit
    /// was passed while the handler read it (the read failed with
    /// [`Error::BodyTooLarge`](crate::Error::BodyTooLarge)). The request
    /// gets the error handler's response: 413 from the default one.
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The connection.
        peer: PeerAddr,
    },
    /// No byte of the request body came for the server's body read
    /// timeout while the handler read it: the read failed with
    /// [`Error::Timeout`](crate::Error::Timeout), and the request gets the
    /// error handler's response (408 from the default one) when nothing
    /// was written yet; the connection is then closed.
    BodyTimeout {
        /// The limit.
        after: Duration,
        /// The connection.
        peer: PeerAddr,
    },
    /// The request target does not fit the method (RFC 9112 §3.2): an
    /// absolute URI with a scheme other than `http`/`https`, an authority
    /// alone on anything but `CONNECT`, `*` on anything but `OPTIONS`. The
    /// handler is not called; the default answer is 400.
    BadTarget {
        /// The method.
        method: http::Method,
        /// The target as received.
        target: String,
        /// Why it was refused.
        reason: &'static str,
        /// The connection.
        peer: PeerAddr,
    },
    /// A `CONNECT` request to a server that was not built to accept them.
    /// The handler is not called; the default answer is 405.
    ConnectNotAllowed {
        /// The connection.
        peer: PeerAddr,
    },
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerError::HandlerPanicked { message, peer } => {
                write!(f, "handler panicked serving {peer}: {message}")
            }
            ServerError::HandlerTimeout { after, peer } => {
                write!(f, "handler took longer than {after:?} serving {peer}")
            }
            ServerError::Handshake { peer, source } => {
                write!(f, "TLS handshake with {peer} failed: {source}")
            }
            ServerError::Connection { peer, source } => {
                write!(f, "connection with {peer} failed: {source}")
            }
            ServerError::BodyTooLarge { limit, peer } => {
                write!(f, "request body from {peer} is larger than {limit} bytes")
            }
            ServerError::BodyTimeout { after, peer } => {
                write!(f, "request body from {peer} stalled for {after:?}")
            }
            ServerError::BadTarget {
                method,
                target,
                reason,
                peer,
            } => write!(f, "{method} {target:?} from {peer}: {reason}"),
            ServerError::ConnectNotAllowed { peer } => {
                write!(f, "CONNECT from {peer}, which this server does not accept")
            }
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Handshake { source, .. } | ServerError::Connection { source, .. } => {
                Some(&**source as &(dyn std::error::Error + 'static))
            }
            _ => None,
        }
    }
}

/// Decides what a failed request gets, and hears of connection failures.
pub trait ErrorHandler: Send + Sync + 'static {
    /// The response for `error` when one can still be sent (handler panics
    /// and timeouts, bodies over the limit); for connection-level errors the
    /// value is not used.
    fn handle(&self, error: &ServerError) -> Response<Body>;
}

impl<F> ErrorHandler for F
where
    F: Fn(&ServerError) -> Response<Body> + Send + Sync + 'static,
{
    fn handle(&self, error: &ServerError) -> Response<Body> {
        self(error)
    }
}

/// The default error handler: answers with a bare status (500 for a panic,
/// 503 for a handler timeout, 413 for a body over the limit, 408 for a
/// stalled body, 400 for a target that does not fit its method, 405 for a
/// refused `CONNECT`), never with internal details.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultErrorHandler;

impl ErrorHandler for DefaultErrorHandler {
    fn handle(&self, error: &ServerError) -> Response<Body> {
        let status = match error {
            ServerError::HandlerTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ServerError::BadTarget { .. } => StatusCode::BAD_REQUEST,
            ServerError::ConnectNotAllowed { .. } => {
                let mut response = status_response(StatusCode::METHOD_NOT_ALLOWED);
                // Every other method goes to the handler, which knows its
                // own; the one this answer is about is not among them.
                response.headers_mut().insert(
                    http::header::ALLOW,
                    http::HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"),
                );
                return response;
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        status_response(status)
    }
}

/// A response with this status, its reason phrase as a text body.
pub fn status_response(status: StatusCode) -> Response<Body> {
    let text = status.canonical_reason().unwrap_or("");
    let mut response = Response::new(Body::from(text.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closures_are_handlers() {
        let handler = |req: Request<Body>| async move {
            Response::new(Body::from(req.uri().path().to_string()))
        };
        // Closures also have the unstable `Fn::call`: name the trait.
        let res = Handler::call(&handler, Request::get("/p").body(Body::empty()).unwrap()).await;
        assert_eq!(res.into_body().to_string(64).await.unwrap(), "/p");
    }

    #[test]
    fn default_error_handler_hides_the_panic_message() {
        let res = DefaultErrorHandler.handle(&ServerError::HandlerPanicked {
            message: "secret".into(),
            peer: PeerAddr::Other("test".into()),
        });
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let res = DefaultErrorHandler.handle(&ServerError::HandlerTimeout {
            after: Duration::from_secs(1),
            peer: PeerAddr::Other("test".into()),
        });
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let res = DefaultErrorHandler.handle(&ServerError::BodyTooLarge {
            limit: 10,
            peer: PeerAddr::Other("test".into()),
        });
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
