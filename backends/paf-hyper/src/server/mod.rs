//! The HTTP server: listeners (TCP, Unix), TLS with ALPN, hyper connections,
//! the limits that keep a server on the internet standing, and a stop that
//! lets in-flight requests finish.
//!
//! A [`Server`] holds the user's [`Handler`], [`ErrorHandler`] and settings;
//! binding it yields a [`Running`] server whose accept loop runs in a tokio
//! task. Every connection is its own task: TLS handshake when configured,
//! then HTTP/1.1 or HTTP/2 (ALPN over TLS, the client's first bytes
//! otherwise), each request handed to the handler with a [`ConnInfo`](paf_core::server::ConnInfo) in its
//! extensions (unless [`ServerBuilder::conn_info`] turns that off). The limits and what a client that passes them gets are listed
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
//!
//! # Logging
//!
//! The server logs with [`tracing`], nothing per request above `debug`:
//! `RUST_LOG=paf=info` (or `paf_hyper=info`; targets match by prefix) is
//! quiet but for what needs attention, `RUST_LOG=paf=debug` is an access
//! log.
//!
//! | target (and the targets under it) | level | what |
//! |---|---|---|
//! | `paf_hyper::server` | `warn` | a handler that panicked or timed out, an accept loop that fails |
//! | `paf_hyper::server` | `debug` | span `connection` (`peer`, `tls`; then `id`, `version`, `alpn`, `sni`), and the event `connection ended` in it (`end`: a [`ConnectionEnd`](paf_core::server::ConnectionEnd)); a failed handshake, requests refused before the handler (bad target, body too large) |
//! | `paf_hyper::server` | `debug` | span `request`, in its connection's (`method`, `path`, `version`; then `status` and `head_ms` at the response head, `bytes` and `total_ms` at the end of the body). The handler runs in it: its own events carry the request. |
//! | `paf_hyper::server::access` | `debug` | one event per request, once its response body is sent: `conn`, `peer`, `method`, `path`, `version`, `status`, `bytes`, `total_ms` (and `complete=false` when the response was cut short). A root event, so that it reads whole on its own line, and can be enabled alone. |
//!
//! `path` is the path without the query (a query often carries tokens that
//! should stay out of logs), or for `CONNECT` the authority. The times are
//! from the request head coming in, in milliseconds; the body's end is when
//! its last byte is handed to the connection (an empty body ends with the
//! head). Requests that hyper answers by itself (a malformed head) never
//! reach the handler and get no request span: their connection ends
//! `Failed`.
//!
//! With `RUST_LOG=paf=debug` and `tracing_subscriber::fmt`, a request reads:
//!
//! ```text
//! DEBUG paf_hyper::server::access: served conn=0 peer=127.0.0.1:51234 method=GET path=/index.html version=HTTP/1.1 status=200 bytes=13 total_ms=0.21
//! ```
//!
//! When `debug` is off (no subscriber, or `info`) and there is no access
//! log, a request costs one level check: nothing is allocated, formatted or
//! timed, and no span is entered.
//!
//! For a log file in the Combined Log Format instead, or as well, see
//! [`ServerBuilder::access_log`].

mod accept;
mod access_log;
mod builder;
mod connection;
mod connections;
mod request;
mod request_body;
mod request_log;
mod running;
mod stream;
mod target;
#[cfg(unix)]
mod unix;

use std::{fmt, io, net::SocketAddr, path::Path, sync::Arc};

use hyper::server::conn::{http1, http2};
use hyper_util::rt::TokioExecutor;
use paf_core::{
    ctx::Io,
    server::{ConnectionHook, ErrorHandler, Handler, Listener, PeerAddr},
    Error, Result,
};
use tokio::{
    net::TcpListener,
    sync::{watch, Semaphore},
};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, Instrument};

pub use access_log::{AccessLog, AccessLogWriter, AccessRecord};
pub use builder::ServerBuilder;
pub use running::{Running, StopHandle};

use accept::accept_loop;
use builder::Limits;
use connections::Registry;
use running::Listening;

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
    /// Told of each connection's start and end.
    hook: Option<Arc<dyn ConnectionHook>>,
    /// Told of each request once its response is done.
    access_log: Option<Arc<dyn AccessLog>>,
    /// Whether requests carry their connection's `ConnInfo`.
    conn_info: bool,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    /// One permit per open connection, shared by every listener.
    connection_slots: Arc<Semaphore>,
    /// The open connections, for shedding at the limit.
    registry: Arc<Registry>,
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("tls", &self.inner.tls.is_some())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
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
        let listener = listen(addr).map_err(|e| bind_error(addr, e))?;
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

    /// Serves the connections of any [`Listener`] in a spawned task, as
    /// [`bind_tcp`](Server::bind_tcp) serves a TCP socket: the same limits,
    /// TLS and ALPN, hooks and graceful stop. A listener on a user-space
    /// TCP/IP stack, or one handing over streams made in the process, is
    /// served this way; the listener is dropped when the server stops.
    ///
    /// ```
    /// use paf_core::{http::Response, Body};
    /// use paf_hyper::Server;
    ///
    /// # async fn demo() -> std::io::Result<()> {
    /// // A socket made elsewhere (inherited, configured by hand).
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = Server::new(|_req| async { Response::new(Body::from("hello\n")) });
    /// let running = server.serve(listener);
    /// assert!(running.url().is_some());
    /// running.stop(std::time::Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn serve<L: Listener>(&self, listener: L) -> Running {
        let listening = match listener.local_addr() {
            Some(addr) => Listening::Tcp(addr),
            None => Listening::Other,
        };
        debug!(
            tls = self.inner.tls.is_some(),
            ?listening,
            "serving a listener"
        );
        self.start(listener, listening)
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
        let span = self.connection_span(&peer);
        if span.is_disabled() {
            self.serve_io(io, peer, stop, span).await;
        } else {
            let serving = self.serve_io(io, peer, stop, span.clone());
            serving.instrument(span).await;
        }
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
}

/// How many connections the kernel holds for the accept loop. A stop makes
/// every kept-alive client reconnect at once; tokio's default of 128 drops
/// the excess, and their clients wait a second before trying again.
const LISTEN_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std's and tokio's bind do: a restarted server gets its port back
    // while connections of the previous one are in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

fn bind_error(what: impl fmt::Display, e: io::Error) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("binding {what}: {e}")))
}
