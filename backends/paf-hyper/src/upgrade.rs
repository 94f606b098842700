//! Taking a connection over: after a `101 Switching Protocols` (WebSocket,
//! say) or a `2xx` answer to `CONNECT`, the bytes on the connection are no
//! longer HTTP, and whoever upgraded it reads and writes them directly.
//!
//! On the server, a handler answers `101` and, in a task of its own, waits
//! for the connection with [`request`] (it comes once the response has been
//! written); on the client, [`response`] gives the connection a `101`
//! arrived on. Both give a tokio `AsyncRead + AsyncWrite` stream that
//! crates such as tokio-tungstenite take as it is.
//!
//! ```
//! use paf_core::{http::{Request, Response, StatusCode}, Body};
//!
//! async fn handler(mut req: Request<Body>) -> Response<Body> {
//!     let upgrade = paf_hyper::upgrade::request(&mut req);
//!     tokio::spawn(async move {
//!         if let Ok(stream) = upgrade.await {
//!             // Speak the new protocol on `stream`.
//!             drop(stream);
//!         }
//!     });
//!     Response::builder()
//!         .status(StatusCode::SWITCHING_PROTOCOLS)
//!         .header("upgrade", "example")
//!         .header("connection", "upgrade")
//!         .body(Body::empty())
//!         .unwrap()
//! }
//! # drop(handler);
//! ```
//!
//! An upgraded connection has left the server's hands: it no longer counts
//! towards `max_connections`, its idle and send timeouts no longer apply,
//! and a stop does not end it. Upgrades are HTTP/1.1's; on HTTP/2 the
//! futures fail.

use std::future::Future;

use hyper_util::rt::TokioIo;
use paf_core::{
    http::{Request, Response},
    Body, Result,
};

use crate::error::from_hyper;

/// An upgraded connection: a tokio `AsyncRead + AsyncWrite` stream.
pub type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// The connection `request` came on, once the handler's `101` (or `2xx`
/// to `CONNECT`) has been written. Take it before handing the request on,
/// await it in a task of its own, after returning the response. Fails when
/// the response was not an upgrade, or the connection closed first.
pub fn request(request: &mut Request<Body>) -> impl Future<Output = Result<Upgraded>> + Send {
    let upgrade = hyper::upgrade::on(request);
    async move { upgrade.await.map(TokioIo::new).map_err(from_hyper) }
}

/// The connection a `101` (or `2xx` to `CONNECT`) `response` arrived on,
/// from a paf-hyper client. Fails when it was not an upgrade.
pub fn response(response: &mut Response<Body>) -> impl Future<Output = Result<Upgraded>> + Send {
    let upgrade = hyper::upgrade::on(response);
    async move { upgrade.await.map(TokioIo::new).map_err(from_hyper) }
}
