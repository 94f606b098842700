//! CoHTTP's server (`Cohttp_lwt.S.Server`, as `Cohttp_lwt_unix.Server`):
//! [`Server::make`] with a callback, the `respond_*` helpers, and running
//! on TCP, TLS and Unix sockets on paf-hyper (feature `hyper`).
//!
//! The callback gets the connection's description ([`Conn`]), the
//! [`Request`] and its [`Body`], and answers `(Response, Body)`, usually
//! through a helper, or a `Result` of it (see [`CallbackOutput`]):
//!
//! ```
//! use paf_compat::server::{self, Conn, Server};
//! use paf_compat::{code::Status, Body, Request};
//!
//! let server = Server::make(|_conn: Conn, req: Request, _body: Body| async move {
//!     match req.resource() {
//!         "/" => server::respond_string(Status::Ok, "hello", None),
//!         other => server::respond_not_found(Some(other)),
//!     }
//! });
//! # drop(server);
//! ```
//!
//! # Running it
//!
//! CoHTTP's `Server.create ~mode server` is [`Server::create`]`(mode,
//! server)`: it listens as the [`Mode`] says (TCP, TLS, a Unix socket) and
//! its future runs until the `stop` future given with
//! [`Create::stop`] resolves (CoHTTP's `?stop`), or for ever:
//!
//! ```no_run
//! # async fn demo(server: paf_compat::Server) -> Result<(), paf_compat::Error> {
//! use paf_compat::server::{Mode, Server};
//!
//! // Server.create ~mode:(`TCP (`Port 8080)) server
//! Server::create(Mode::port(8080), server.clone()).await?;
//! // Server.create ~stop ~mode server, `stop` being any future: a
//! // signal, a message, a timer.
//! let stop = tokio::time::sleep(std::time::Duration::from_secs(3600));
//! Server::create(Mode::port(8080), server).stop(stop).await?;
//! # Ok(()) }
//! ```
//!
//! To get the address of a port chosen by the system or a handle that
//! stops the server from elsewhere, bind it instead:
//! [`Server::bind_tcp`] and [`Server::bind_unix`] return a [`Running`]
//! once listening, and [`Running::wait`] is then `Server.create`'s
//! blocking form: it returns when a [`StopHandle`] has stopped the server
//! and its connections have ended.
//!
//! # What differs from CoHTTP
//! - A callback answering `Err` gets the answer CoHTTP gives to a callback
//!   that raises: `500` with the body `Error: Internal Server Error`, and
//!   the error in the log (at `warn`; CoHTTP logs at `err`).
//! - CoHTTP's `?conn_closed` is [`Server::conn_closed`], called once when
//!   a connection ends, with the same [`Conn`] its requests carried
//!   ([`ConnInfo::id`] tells connections apart, as CoHTTP's `conn` does).
//!   A connection whose TLS handshake fails never had a `Conn`, and is not
//!   reported.
//! - hyper, not the callback, manages keep-alive: CoHTTP adds a
//!   `connection: keep-alive`/`close` field to each response, paf does not.
//! - A panicking callback answers `500` with CoHTTP's body for an
//!   exception (`Error: Internal Server Error`); other connections carry
//!   on.
//! - The framing a response's headers declare is applied to its body and
//!   the field then left to the engine, which writes it (see
//!   [`Response::encoding`]): `Chunked` is sent chunked, `Fixed(n)` with a
//!   `Content-Length`; a body whose length is known and differs keeps its
//!   own rather than breaking the connection.
//! - A `HEAD` answer keeps the `Content-Length` the callback gave (the
//!   length a `GET` would have had). A `304` does not: hyper removes the
//!   field from every 304 it sends.
//! - An `` `Expert `` answer ([`ResponseAction::Expert`], from
//!   [`Server::make_response_action`], [`Server::make_expert`] or
//!   [`respond_upgrade`]) is a connection upgrade: its response must be
//!   `101 Switching Protocols` to a request that asked for an upgrade (an
//!   `Upgrade` field, HTTP/1.1), or a `2xx` to `CONNECT`. CoHTTP writes any
//!   response head and hands over the raw channels; hyper owns an HTTP
//!   connection until it has been upgraded, so another status, or a request
//!   that cannot be upgraded (HTTP/2), gets `500` and a warning in the log.
//!   The function gets one stream ([`Upgraded`]) where CoHTTP gives `ic`
//!   and `oc` (`tokio::io::split` gives the halves), once the head is
//!   written.

mod file;

use std::future::{Future, IntoFuture};
use std::{fmt, net::SocketAddr, path::Path, path::PathBuf, sync::Arc, time::Duration};

use paf_core::server::{
    status_response, DefaultErrorHandler, ErrorHandler, Handler, PeerAddr, ServerError,
};
use paf_core::BoxFuture;

use crate::auth::Challenge;
use crate::code::Status;
use crate::transfer::Encoding;
use crate::{Body, Error, Header, Request, Response};

pub use file::{mime_type, resolve_local_file, respond_file, respond_file_under};
pub use paf_core::server::ConnInfo;
pub use paf_hyper::{Running, StopHandle};

/// What the callback learns of the connection, CoHTTP's `conn`: the peer's
/// address, the HTTP version, the TLS details.
pub type Conn = ConnInfo;

/// The callback, its answer or the text of its error.
type Callback =
    dyn Fn(Conn, Request, Body) -> BoxFuture<'static, Result<ResponseAction, String>> + Send + Sync;
type ConnClosed = dyn Fn(Conn) + Send + Sync;

/// A server: the callback, and TLS when it serves HTTPS. Cheap to clone;
/// one `Server` can be bound to several listeners.
#[derive(Clone)]
pub struct Server {
    callback: Arc<Callback>,
    conn_closed: Option<Arc<ConnClosed>>,
    tls: Option<Arc<paf_core::rustls::ServerConfig>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// What a callback may answer: `(Response, Body)`, as in CoHTTP, or a
/// `Result` of it, for a callback that uses `?`. An `Err` (any error that
/// can be displayed) is what an exception raised by the callback is in
/// CoHTTP: the client gets `500` with the body `Error: Internal Server
/// Error` ([`respond_error`]), and the error is logged at `warn` with the
/// request's method and target.
///
/// ```
/// use paf_compat::server::{self, Conn, Server};
/// use paf_compat::{code::Status, Body, Request, Response};
///
/// async fn callback(_: Conn, _: Request, body: Body) -> Result<(Response, Body), paf_compat::Error> {
///     let text = body.to_string().await?;
///     Ok(server::respond_string(Status::Ok, text.to_uppercase(), None))
/// }
///
/// let server = Server::make(callback);
/// # drop(server);
/// ```
///
/// A closure answering a `Result` names its error type somewhere, as Rust
/// cannot infer it through `?`: `Ok::<_, MyError>(…)`.
///
/// CoHTTP's other two callbacks answer the same way: a [`ResponseAction`]
/// (`make_response_action`'s), or `(Response, Expert)` (`make_expert`'s),
/// each also in a `Result`.
///
/// The trait is sealed: the forms above are the ones there are.
pub trait CallbackOutput: sealed::Sealed + Send + 'static {}

impl CallbackOutput for (Response, Body) {}

impl<E: fmt::Display + Send + 'static> CallbackOutput for Result<(Response, Body), E> {}

impl CallbackOutput for ResponseAction {}

impl<E: fmt::Display + Send + 'static> CallbackOutput for Result<ResponseAction, E> {}

impl CallbackOutput for (Response, Expert) {}

impl<E: fmt::Display + Send + 'static> CallbackOutput for Result<(Response, Expert), E> {}

mod sealed {
    use super::{Expert, ResponseAction};
    use crate::{Body, Response};

    pub trait Sealed {
        /// The answer, or the error's text for the log.
        fn into_answer(self) -> Result<ResponseAction, String>;
    }

    impl Sealed for ResponseAction {
        fn into_answer(self) -> Result<ResponseAction, String> {
            Ok(self)
        }
    }

    impl Sealed for (Response, Body) {
        fn into_answer(self) -> Result<ResponseAction, String> {
            Ok(self.into())
        }
    }

    impl Sealed for (Response, Expert) {
        fn into_answer(self) -> Result<ResponseAction, String> {
            Ok(self.into())
        }
    }

    impl<T: Sealed, E: std::fmt::Display> Sealed for Result<T, E> {
        fn into_answer(self) -> Result<ResponseAction, String> {
            self.map_err(|e| e.to_string())?.into_answer()
        }
    }
}

/// The connection once an upgrade's response has been written, a tokio
/// `AsyncRead + AsyncWrite` stream: CoHTTP's `ic` and `oc` in one
/// (`tokio::io::split` gives the two halves).
pub type Upgraded = paf_hyper::upgrade::Upgraded;

/// CoHTTP's `response_action`: what `Server.make_response_action`'s
/// callback answers.
///
/// ```
/// use paf_compat::server::{self, Conn, ResponseAction, Server};
/// use paf_compat::{code::Status, Body, Header, Request};
/// use tokio::io::AsyncWriteExt;
///
/// let server = Server::make_response_action(|_: Conn, req: Request, _: Body| async move {
///     match req.headers().get("upgrade") {
///         // `Expert (res, fun ic oc -> ...)
///         Some("hello") => server::respond_upgrade(
///             Some(Header::init_with("upgrade", "hello")),
///             |mut stream| async move {
///                 let _ = stream.write_all(b"hello, raw bytes\n").await;
///             },
///         ),
///         // `Response (res, body)
///         _ => server::respond_string(Status::Ok, "plain HTTP", None).into(),
///     }
/// });
/// # drop(server);
/// ```
pub enum ResponseAction {
    /// `` `Expert (res, f) ``: `res` is written, then `f` takes the
    /// connection over (see [`Expert`] for which responses can).
    Expert(Response, Expert),
    /// `` `Response (res, body) ``: an ordinary answer.
    Response(Response, Body),
}

impl fmt::Debug for ResponseAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseAction::Expert(res, _) => {
                f.debug_tuple("Expert").field(res).finish_non_exhaustive()
            }
            ResponseAction::Response(res, body) => {
                f.debug_tuple("Response").field(res).field(body).finish()
            }
        }
    }
}

impl From<(Response, Body)> for ResponseAction {
    fn from((response, body): (Response, Body)) -> Self {
        ResponseAction::Response(response, body)
    }
}

impl From<(Response, Expert)> for ResponseAction {
    fn from((response, expert): (Response, Expert)) -> Self {
        ResponseAction::Expert(response, expert)
    }
}

/// The function of an `` `Expert `` answer, CoHTTP's `ic -> oc -> unit
/// Lwt.t`: it runs in a task of its own with the connection once the
/// response head has been written, and the connection closes when it
/// returns (and drops the stream).
///
/// The response must switch protocols: `101` to a request with an
/// `Upgrade` field over HTTP/1.1, or a `2xx` to `CONNECT`. CoHTTP lets any
/// response be followed by raw bytes; hyper owns the connection until it is
/// upgraded, so any other `Expert` answer is `500` (and a warning in the
/// log), and the function is not called. A client that closes before the
/// head is written never reaches it either.
pub struct Expert(Box<dyn FnOnce(Upgraded) -> BoxFuture<'static, ()> + Send>);

impl Expert {
    /// The function `f`, to run on the upgraded connection.
    pub fn new<F, Fut>(f: F) -> Expert
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Expert(Box::new(move |stream| Box::pin(f(stream))))
    }
}

impl fmt::Debug for Expert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Expert(..)")
    }
}

/// An `` `Expert `` answer that switches protocols: `101 Switching
/// Protocols` with `headers` (which name the protocol, `upgrade: websocket`
/// say, and whatever it needs, such as `sec-websocket-accept`) and
/// `connection: upgrade` unless they set `connection`; `f` gets the
/// connection once the `101` is written. The request must have asked for
/// an upgrade (see [`Expert`]).
pub fn respond_upgrade<F, Fut>(headers: Option<Header>, f: F) -> ResponseAction
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let headers = headers
        .unwrap_or_default()
        .add_unless_exists("connection", "upgrade");
    let response = Response::builder()
        .status(Status::SwitchingProtocols)
        .headers(headers)
        .build();
    ResponseAction::Expert(response, Expert::new(f))
}

impl Server {
    /// CoHTTP's `Server.make ~callback ()`: `callback conn request body`
    /// answers each request, with `(Response, Body)` or a `Result` of it
    /// ([`CallbackOutput`]: an `Err` answers CoHTTP's `500`).
    /// `?conn_closed` is [`Server::conn_closed`].
    pub fn make<F, Fut>(callback: F) -> Server
    where
        F: Fn(Conn, Request, Body) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: CallbackOutput,
    {
        Server {
            callback: Arc::new(move |conn, request, body| {
                let answer = callback(conn, request, body);
                Box::pin(async move { sealed::Sealed::into_answer(answer.await) })
            }),
            conn_closed: None,
            tls: None,
        }
    }

    /// CoHTTP's `Server.make_response_action ~callback ()`: the callback
    /// answers a [`ResponseAction`], `Expert` or `Response` (or a `Result`
    /// of one). The same as [`Server::make`], which takes every
    /// [`CallbackOutput`]; the name is kept for porting.
    pub fn make_response_action<F, Fut>(callback: F) -> Server
    where
        F: Fn(Conn, Request, Body) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: CallbackOutput,
    {
        Server::make(callback)
    }

    /// CoHTTP's `Server.make_expert ~callback ()`: the callback answers
    /// `(Response, Expert)` (or a `Result` of it), the response and what
    /// takes the connection over once it is written (see [`Expert`]). The
    /// same as [`Server::make`]; the name is kept for porting.
    pub fn make_expert<F, Fut>(callback: F) -> Server
    where
        F: Fn(Conn, Request, Body) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: CallbackOutput,
    {
        Server::make(callback)
    }

    /// CoHTTP's `Server.create ?stop ~mode server`: listens as `mode`
    /// says and serves `server` until the [`Create::stop`] future resolves
    /// (CoHTTP's `?stop`); without one, for as long as the returned future
    /// is polled. Awaiting it fails only when the listener cannot be set up
    /// (the address is taken, the socket path is not writable).
    ///
    /// On a stop, the listener closes at once and requests in flight get
    /// [`Create::grace`] (10 s unless told) to finish before the
    /// connections are closed; then the future returns. Dropping the
    /// future stops the server in the same way, without waiting.
    ///
    /// [`Running::wait`] after [`Server::bind_tcp`] is the same with the
    /// address known once listening and a [`StopHandle`] in hand.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), paf_compat::Error> {
    /// use paf_compat::server::{self, Conn, Mode, Server};
    /// use paf_compat::{code::Status, Body, Request};
    ///
    /// let server = Server::make(|_: Conn, _: Request, _: Body| async {
    ///     server::respond_string(Status::Ok, "hello", None)
    /// });
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let mode = Mode::Tcp("127.0.0.1:0".parse().unwrap());
    /// let serving = tokio::spawn(async move {
    ///     Server::create(mode, server)
    ///         .stop(async { stopped.await.unwrap_or_default() })
    ///         .await
    /// });
    /// stop.send(()).unwrap_or_default();
    /// serving.await.unwrap()?;
    /// # Ok(()) }
    /// ```
    pub fn create(mode: Mode, server: Server) -> Create {
        Create {
            mode,
            server,
            stop: None,
            grace: Create::DEFAULT_GRACE,
            builder: None,
        }
    }

    /// CoHTTP's `Server.make ?conn_closed`: `conn_closed conn` is called
    /// once when a connection ends, however it ends (closed by either side,
    /// idle, stopped, failed), with the [`Conn`] its requests carried.
    ///
    /// ```
    /// use paf_compat::server::{self, Conn, Server};
    /// use paf_compat::{code::Status, Body, Request};
    ///
    /// let server = Server::make(|_: Conn, _: Request, _: Body| async {
    ///     server::respond_string(Status::Ok, "hello", None)
    /// })
    /// .conn_closed(|conn: Conn| println!("connection {} from {} closed", conn.id, conn.peer));
    /// # drop(server);
    /// ```
    pub fn conn_closed(mut self, conn_closed: impl Fn(Conn) + Send + Sync + 'static) -> Server {
        self.conn_closed = Some(Arc::new(conn_closed));
        self
    }

    /// Serves HTTPS with this configuration (for instance from
    /// [`paf_core::tls::server_config_from_pem`]); ALPN picks HTTP/2 or
    /// HTTP/1.1. CoHTTP's `` ~mode:(`TLS …) ``.
    pub fn tls(mut self, config: Arc<paf_core::rustls::ServerConfig>) -> Server {
        self.tls = Some(config);
        self
    }

    /// The callback as a paf handler, for a server configured by hand
    /// (CoHTTP's `Server.callback`, which serves one connection): give it
    /// to [`paf_hyper::ServerBuilder::build`], or use [`Server::hyper`].
    pub fn handler(&self) -> impl Handler + Clone {
        let callback = self.callback.clone();
        move |request: http::Request<paf_core::Body>| answer(callback.clone(), request)
    }

    /// A paf-hyper server answering with this one's callback, configured by
    /// `builder` (timeouts; CoHTTP's `?timeout`), with this server's TLS
    /// when it has some, and CoHTTP's answer to a failing callback.
    pub fn hyper(&self, builder: paf_hyper::ServerBuilder) -> paf_hyper::Server {
        let builder = match &self.tls {
            Some(config) => builder.tls(config.clone()),
            None => builder,
        };
        let builder = match &self.conn_closed {
            Some(conn_closed) => builder.connection_hook(ClosedHook(conn_closed.clone())),
            None => builder,
        };
        // CoHTTP's callback gets CONNECT requests too.
        builder
            .accept_connect(true)
            .error_handler(cohttp_error_response)
            .build(self.handler())
    }

    /// CoHTTP's `` Server.create ~mode:(`TCP (`Port p)) server ``, in two
    /// steps: listens on `addr` (port 0 picks one: see
    /// [`Running::local_addr`]) and serves in a spawned task until
    /// [`Running::stop`] or a [`StopHandle`] stops it (CoHTTP's `?stop`);
    /// [`Running::wait`] then waits as `Server.create` does. One step is
    /// [`Server::create`].
    pub async fn bind_tcp(&self, addr: SocketAddr) -> Result<Running, Error> {
        let server = self.hyper(paf_hyper::Server::builder());
        Ok(server.bind_tcp(addr).await?)
    }

    /// Serves the connections of any [`Listener`](paf_core::server::Listener)
    /// (a socket made elsewhere, a user-space TCP/IP stack such as the
    /// paf-smoltcp crate's) in a spawned task: what the OCaml paf's
    /// `serve` does with the protocol its Mimic context gives, here with
    /// this server's callback, TLS and `conn_closed`.
    ///
    /// ```
    /// # async fn demo() -> std::io::Result<()> {
    /// use paf_compat::server::{self, Conn, Server};
    /// use paf_compat::{code::Status, Body, Request};
    ///
    /// let server = Server::make(|_: Conn, _: Request, _: Body| async {
    ///     server::respond_string(Status::Ok, "hello", None)
    /// });
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let running = server.serve(listener);
    /// assert!(running.local_addr().is_some());
    /// running.stop(std::time::Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn serve(&self, listener: impl paf_core::server::Listener) -> Running {
        self.hyper(paf_hyper::Server::builder()).serve(listener)
    }

    /// CoHTTP's `` Server.create ~mode:(`Unix_domain_socket (`File path)) server ``:
    /// listens on a Unix socket at `path`, removed when the server
    /// stops.
    #[cfg(unix)]
    pub async fn bind_unix(&self, path: impl AsRef<Path>) -> Result<Running, Error> {
        let server = self.hyper(paf_hyper::Server::builder());
        Ok(server.bind_unix(path).await?)
    }
}

async fn answer(
    callback: Arc<Callback>,
    mut request: http::Request<paf_core::Body>,
) -> http::Response<paf_core::Body> {
    let conn = ConnInfo::of(&request).cloned().unwrap_or_else(|| {
        ConnInfo::new(PeerAddr::Other("unknown".into()), request.version(), None)
    });
    // Taken before the request is handed on, and only when hyper could
    // upgrade this connection (HTTP/1.1, an `Upgrade` field or CONNECT).
    let upgrade = can_upgrade(&request).then(|| paf_hyper::upgrade::request(&mut request));
    let (parts, body) = request.into_parts();
    if is_bad_target(&parts) {
        // CoHTTP refuses such a request ("bad request URI") and closes;
        // hyper takes `GET host` as an authority, which only CONNECT may use.
        let close = Header::init_with("connection", "close");
        let (response, body) =
            respond_error(Some(Status::BadRequest), "bad request URI", Some(close));
        return response
            .into_http(body.into_core())
            .unwrap_or_else(|_| status_response(http::StatusCode::BAD_REQUEST));
    }
    let request = Request::of_http(&parts);
    let (response, body) = match callback(conn, request, Body::of_stream(body)).await {
        Ok(ResponseAction::Response(response, body)) => (response, body),
        Ok(ResponseAction::Expert(response, expert)) => {
            return switch(&parts, response, expert, upgrade)
        }
        Err(error) => {
            // CoHTTP logs a raised exception and answers as for a panic.
            tracing::warn!(method = %parts.method, target = %parts.uri, %error, "the callback failed");
            return internal_server_error();
        }
    };
    // The length of the body a GET would have had: a HEAD answer carries
    // no body, and its Content-Length says what the representation's is
    // (as cohttp_server_lwt answers HEAD).
    let declared = (parts.method == http::Method::HEAD)
        .then(|| response.headers().get("content-length").map(str::to_owned))
        .flatten();
    match response.into_http(body.into_core()) {
        Ok(mut response) => {
            if let Some(value) = declared.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_LENGTH, value);
            }
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "the callback's response cannot be sent");
            internal_server_error()
        }
    }
}

/// Whether hyper can hand this request's connection over: HTTP/1.1 with an
/// `Upgrade` field, or CONNECT.
fn can_upgrade(request: &http::Request<paf_core::Body>) -> bool {
    request.version() == http::Version::HTTP_11
        && (request.headers().contains_key(http::header::UPGRADE)
            || request.method() == http::Method::CONNECT)
}

/// An `` `Expert `` answer: the response, and the expert's function run on
/// the connection once hyper has written it and let go. What cannot be
/// upgraded is the callback's error (see [`Expert`]).
fn switch(
    parts: &http::request::Parts,
    response: Response,
    expert: Expert,
    upgrade: Option<impl Future<Output = paf_core::Result<Upgraded>> + Send + 'static>,
) -> http::Response<paf_core::Body> {
    let code = crate::code::code_of_status(&response.status());
    let switches =
        code == 101 || (parts.method == http::Method::CONNECT && (200..300).contains(&code));
    let (Some(upgrade), true) = (upgrade, switches) else {
        tracing::warn!(
            method = %parts.method, target = %parts.uri, status = code,
            "an Expert answer must switch protocols (101 to an upgrade request on HTTP/1.1, \
             or 2xx to CONNECT): hyper owns the connection otherwise"
        );
        return internal_server_error();
    };
    let response = match response.into_http(paf_core::Body::empty()) {
        Ok(response) => response,
        Err(e) => {
            tracing::warn!(error = %e, "the callback's response cannot be sent");
            return internal_server_error();
        }
    };
    let target = parts.uri.clone();
    tokio::spawn(async move {
        match upgrade.await {
            Ok(stream) => (expert.0)(stream).await,
            // The client went away before the head was written.
            Err(error) => tracing::debug!(%target, %error, "the connection was not upgraded"),
        }
    });
    response
}

/// An authority-form target (`GET example.com`) on another method than
/// `CONNECT`: not a path CoHTTP (or RFC 9112 §3.2) accepts.
fn is_bad_target(parts: &http::request::Parts) -> bool {
    parts.uri.scheme().is_none()
        && parts.uri.authority().is_some()
        && parts.method != http::Method::CONNECT
}

/// What CoHTTP answers when the callback raises.
fn internal_server_error() -> http::Response<paf_core::Body> {
    let (response, body) = respond_error(None, "Internal Server Error", None);
    response
        .into_http(body.into_core())
        .unwrap_or_else(|_| status_response(http::StatusCode::INTERNAL_SERVER_ERROR))
}

fn cohttp_error_response(error: &ServerError) -> http::Response<paf_core::Body> {
    match error {
        ServerError::HandlerPanicked { .. } => internal_server_error(),
        other => DefaultErrorHandler.handle(other),
    }
}

/// CoHTTP's `Server.respond ?headers ~status ~body ()`: the framing comes
/// from `headers` when they declare one (`Content-Length` or
/// `Transfer-Encoding`), else from the body
/// ([`Body::transfer_encoding`]).
pub fn respond(status: Status, body: Body, headers: Option<Header>) -> (Response, Body) {
    let encoding = match headers.as_ref().map(Header::get_transfer_encoding) {
        None | Some(Encoding::Unknown) => body.transfer_encoding(),
        Some(declared) => declared,
    };
    let response = Response::builder()
        .status(status)
        .encoding(encoding)
        .headers(headers.unwrap_or_default())
        .build();
    (response, body)
}

/// CoHTTP's `Server.respond_string ?headers ~status ~body ()`: with a
/// `Content-Length`.
pub fn respond_string(
    status: Status,
    body: impl Into<String>,
    headers: Option<Header>,
) -> (Response, Body) {
    let body = body.into();
    let response = Response::builder()
        .status(status)
        .encoding(Encoding::Fixed(body.len() as u64))
        .headers(headers.unwrap_or_default())
        .build();
    (response, Body::of_string(body))
}

/// CoHTTP's `Server.respond_error ?headers ?status ~body ()`: `status`
/// (default `500`) with the body `Error: ` followed by `body`.
pub fn respond_error(
    status: Option<Status>,
    body: &str,
    headers: Option<Header>,
) -> (Response, Body) {
    respond_string(
        status.unwrap_or(Status::InternalServerError),
        format!("Error: {body}"),
        headers,
    )
}

/// CoHTTP's `Server.respond_redirect ?headers ~uri ()`: `302 Found` to
/// `uri`, with an empty body. A `location` already in `headers` wins.
pub fn respond_redirect(uri: &str, headers: Option<Header>) -> (Response, Body) {
    let headers = match headers {
        None => Header::init_with("location", uri),
        Some(headers) => headers.add_unless_exists("location", uri),
    };
    respond(Status::Found, Body::empty(), Some(headers))
}

/// CoHTTP's `Server.respond_need_auth ?headers ~auth ()`: `401
/// Unauthorized` with `www-authenticate` set to the challenge, and an empty
/// body.
pub fn respond_need_auth(auth: &Challenge, headers: Option<Header>) -> (Response, Body) {
    let headers = headers.unwrap_or_default().add_authorization_req(auth);
    respond(Status::Unauthorized, Body::empty(), Some(headers))
}

/// CoHTTP's `Server.respond_not_found ?uri ()`: `404` with the body
/// `Not found`, or `Not found: URI` when `uri` is given.
pub fn respond_not_found(uri: Option<&str>) -> (Response, Body) {
    let body = match uri {
        None => "Not found".to_owned(),
        Some(uri) => format!("Not found: {uri}"),
    };
    respond_string(Status::NotFound, body, None)
}

/// Where [`Server::create`] listens: Conduit's server modes, which CoHTTP's
/// `Server.create ~mode` takes.
#[derive(Clone)]
#[non_exhaustive]
pub enum Mode {
    /// `` `TCP (`Port p) ``: plain HTTP (HTTP/1.1 and HTTP/2 with prior
    /// knowledge) on this address; [`Mode::port`] gives Conduit's
    /// address for a port. A [`Server::tls`] configuration still applies.
    Tcp(SocketAddr),
    /// `` `TLS (`Crt_file_path c, `Key_file_path k, pass, `Port p) ``:
    /// HTTPS on this address with this configuration, made from the
    /// certificate and key with
    /// [`paf_core::tls::server_config_from_pem`]. It replaces a
    /// [`Server::tls`] configuration.
    Tls(SocketAddr, Arc<paf_core::rustls::ServerConfig>),
    /// `` `Unix_domain_socket (`File path) ``: a Unix socket at this path,
    /// removed when the server stops.
    #[cfg(unix)]
    UnixDomainSocket(PathBuf),
}

impl Mode {
    /// `` `TCP (`Port port) ``: every IPv4 interface (`0.0.0.0`), as
    /// Conduit binds a port.
    pub fn port(port: u16) -> Mode {
        Mode::Tcp(SocketAddr::from(([0, 0, 0, 0], port)))
    }
}

impl Default for Mode {
    /// CoHTTP's default mode, `` `TCP (`Port 8080) ``.
    fn default() -> Self {
        Mode::port(8080)
    }
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Tcp(addr) => f.debug_tuple("Tcp").field(addr).finish(),
            Mode::Tls(addr, _) => f.debug_tuple("Tls").field(addr).finish_non_exhaustive(),
            #[cfg(unix)]
            Mode::UnixDomainSocket(path) => f.debug_tuple("UnixDomainSocket").field(path).finish(),
        }
    }
}

/// A server to run, from [`Server::create`]: CoHTTP's optional arguments
/// of `Server.create` as methods. Await it to run the server.
#[must_use = "a server runs only when awaited"]
pub struct Create {
    mode: Mode,
    server: Server,
    stop: Option<BoxFuture<'static, ()>>,
    grace: Duration,
    builder: Option<paf_hyper::ServerBuilder>,
}

impl fmt::Debug for Create {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Create")
            .field("mode", &self.mode)
            .field("stop", &self.stop.is_some())
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl Create {
    /// How long requests in flight may take to finish once the server is
    /// stopped, unless [`Create::grace`] says otherwise.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

    /// CoHTTP's `?stop`: the server stops when `stop` resolves.
    pub fn stop(mut self, stop: impl Future<Output = ()> + Send + 'static) -> Self {
        self.stop = Some(Box::pin(stop));
        self
    }

    /// How long requests in flight may take to finish after a stop (CoHTTP
    /// lets them run on; paf closes what is still open after this).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// CoHTTP's `?timeout` and `?backlog`: paf-hyper's limits and timeouts
    /// from this builder (see [`Server::hyper`]).
    pub fn hyper(mut self, builder: paf_hyper::ServerBuilder) -> Self {
        self.builder = Some(builder);
        self
    }

    async fn run(self) -> Result<(), Error> {
        let Create {
            mode,
            server,
            stop,
            grace,
            builder,
        } = self;
        let server = match &mode {
            Mode::Tls(_, config) => server.tls(config.clone()),
            _ => server,
        };
        let hyper = server.hyper(builder.unwrap_or_default());
        let running = match mode {
            Mode::Tcp(addr) | Mode::Tls(addr, _) => hyper.bind_tcp(addr).await?,
            #[cfg(unix)]
            Mode::UnixDomainSocket(path) => hyper.bind_unix(path).await?,
        };
        let _stop_on_drop = StopOnDrop(running.stop_handle(), grace);
        match stop {
            Some(stop) => {
                stop.await;
                running.stop(grace).await;
            }
            // Nothing but dropping this future stops the server.
            None => running.wait().await,
        }
        Ok(())
    }
}

impl IntoFuture for Create {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Stops the server when [`Server::create`]'s future is dropped: a server
/// nobody awaits any more would otherwise run on with nobody to stop it.
struct StopOnDrop(StopHandle, Duration);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop(self.1);
    }
}

/// Calls CoHTTP's `conn_closed` at each connection's end.
struct ClosedHook(Arc<ConnClosed>);

impl paf_core::server::ConnectionHook for ClosedHook {
    fn ended(&self, conn: &ConnInfo, _how: &paf_core::server::ConnectionEnd) {
        (self.0)(conn.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn respond_takes_the_framing_from_the_headers_first() {
        let headers = Header::init_with("content-length", "3");
        let (res, _) = respond(Status::Ok, Body::of_string_list(["a", "bc"]), Some(headers));
        assert_eq!(res.encoding(), Encoding::Fixed(3));
        let (res, _) = respond(Status::Ok, Body::of_string_list(["a", "bc"]), None);
        assert_eq!(res.encoding(), Encoding::Chunked);
    }

    #[tokio::test]
    async fn respond_error_prefixes_the_body_as_cohttp() {
        let (res, body) = respond_error(None, "boom", None);
        assert_eq!(res.status(), Status::InternalServerError);
        assert_eq!(res.headers().get("content-length"), Some("11"));
        assert_eq!(body.to_string().await.unwrap(), "Error: boom");
    }

    #[test]
    fn respond_redirect_keeps_a_given_location() {
        let given = Header::init_with("location", "/first");
        let (res, _) = respond_redirect("/second", Some(given));
        assert_eq!(res.headers().get_multi("location"), vec!["/first"]);
        assert_eq!(res.headers().get("content-length"), Some("0"));
    }
}
