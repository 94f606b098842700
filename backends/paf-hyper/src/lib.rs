//! paf-hyper: paf's hyper backend, an async HTTP client and server.
//!
//! ```
//! use std::time::Duration;
//! use http::{Request, Response};
//! use paf_core::Body;
//! use paf_hyper::{Client, Server};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), paf_core::Error> {
//! let running = Server::new(|req: Request<Body>| async move {
//!     Response::new(Body::from(format!("you asked for {}", req.uri().path())))
//! })
//! .bind_tcp("127.0.0.1:0".parse().unwrap())
//! .await?;
//!
//! let url = format!("{}/index.html", running.url().unwrap());
//! let response = Client::new().get(&url).await?;
//! assert_eq!(response.into_body().to_string(1024).await?, "you asked for /index.html");
//!
//! running.stop(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```
//!
//! # Client
//! [`Client`] sends `http::Request<paf_core::Body>` over whatever the
//! request's transport context ([`paf_core::Ctx`]) resolves: TCP, TLS, a Unix
//! socket or a user transport. Over TLS it speaks HTTP/2 when the server
//! picks `h2` by ALPN and HTTP/1.1 otherwise; on plain connections HTTP/2 is
//! used by prior knowledge when [`ClientBuilder::http2_prior_knowledge`] is
//! set. HTTP/1.1 connections are kept alive and reused per endpoint, HTTP/2
//! connections are shared. Every status code is a response; `Err` means no
//! response was had. Bodies stream both ways.
//!
//! # Server
//! [`Server`] serves a [`paf_core::server::Handler`] on a TCP address or a
//! Unix socket, plain or with a rustls configuration (ALPN picks `h2` or
//! `http/1.1`; plain connections get HTTP/1.1 and HTTP/2 prior knowledge).
//! [`Running`] gives the bound address and a [`StopHandle`]: stopping refuses
//! new connections at once and lets in-flight requests finish within a grace
//! period. A handler's panic becomes the error handler's response (500 by
//! default), and one bad connection never stops the others.
//!
//! # Tower
//! With the `tower` feature, [`tower::ServiceHandler`] serves any
//! `tower::Service` (an axum `Router`, middleware from any tower layer) on
//! [`Server`], and [`tower::HandlerService`] makes a paf handler a tower
//! service.
//!
//! ```ignore
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
//! let server = paf_hyper::Server::new(paf_hyper::tower::ServiceHandler::new(app));
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod client;
mod error;
pub mod server;
#[cfg(feature = "tower")]
pub mod tower;
pub mod upgrade;

pub use client::{Client, ClientBuilder, HyperEngine};
pub use server::{
    AccessLog, AccessLogWriter, AccessRecord, Running, Server, ServerBuilder, StopHandle,
};
