//! CoHTTP's server (`Cohttp_lwt.S.Server`, as `Cohttp_lwt_unix.Server`):
//! [`Server::make`] with a callback, the `respond_*` helpers, and running
//! on TCP, TLS and Unix sockets on paf-hyper (feature `hyper`).
//!
//! The callback gets the connection's description ([`Conn`]), the
//! [`Request`] and its [`Body`], and answers `(Response, Body)`, usually
//! through a helper:
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
//! # What differs from CoHTTP
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
//! - `Expert` responses (`make_expert`, writing to the raw channel) have no
//!   counterpart: hyper owns the connection.

mod file;

use std::{future::Future, net::SocketAddr, path::Path, sync::Arc};

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

type Callback = dyn Fn(Conn, Request, Body) -> BoxFuture<'static, (Response, Body)> + Send + Sync;
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

impl Server {
    /// CoHTTP's `Server.make ~callback ()`: `callback conn request body`
    /// answers each request. `?conn_closed` is [`Server::conn_closed`].
    pub fn make<F, Fut>(callback: F) -> Server
    where
        F: Fn(Conn, Request, Body) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (Response, Body)> + Send + 'static,
    {
        Server {
            callback: Arc::new(move |conn, request, body| Box::pin(callback(conn, request, body))),
            conn_closed: None,
            tls: None,
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

    /// CoHTTP's `` Server.create ~mode:(`TCP (`Port p)) server ``: listens on
    /// `addr` (port 0 picks one: see [`Running::local_addr`]) and serves in
    /// a spawned task until [`Running::stop`] or a [`StopHandle`] stops it
    /// (CoHTTP's `?stop`).
    pub async fn bind_tcp(&self, addr: SocketAddr) -> Result<Running, Error> {
        let server = self.hyper(paf_hyper::Server::builder());
        Ok(server.bind_tcp(addr).await?)
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
    request: http::Request<paf_core::Body>,
) -> http::Response<paf_core::Body> {
    let conn = ConnInfo::of(&request).cloned().unwrap_or_else(|| {
        ConnInfo::new(PeerAddr::Other("unknown".into()), request.version(), None)
    });
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
    let (response, body) = callback(conn, request, Body::of_stream(body)).await;
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
