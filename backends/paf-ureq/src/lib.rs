//! paf-ureq: paf's blocking backend, a [`paf_core::blocking::Client`] on
//! [ureq] 3. It needs no async runtime: call it from a plain `fn main()`.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpListener;
//!
//! // A one-shot server on a thread, to have something to talk to.
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! std::thread::spawn(move || {
//!     let Ok((stream, _)) = listener.accept() else { return };
//!     let mut head = BufReader::new(&stream);
//!     let mut line = String::new();
//!     // The request head ends with an empty line.
//!     while head.read_line(&mut line).is_ok_and(|n| n > 2) {
//!         line.clear();
//!     }
//!     let _ = (&stream).write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
//! });
//!
//! let client = paf_ureq::Client::new();
//! let response = client.get(&format!("http://{addr}/greeting"))?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.into_body().read_to_string(1024)?, "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The model
//! [`Client`] sends `http::Request<paf_core::blocking::Body>` and returns
//! `http::Response<paf_core::blocking::Body>` as soon as the response head
//! has arrived; the body is then read from the connection as the caller
//! reads it. Request bodies are streamed from their reader too, with
//! `Content-Length` when their length is known and chunked otherwise.
//!
//! Where a request goes is the business of its transport context
//! ([`paf_core::Ctx`], attached with
//! [`paf_core::client::RequestExt::with_ctx`], or the client's default):
//! TCP, a Unix socket, or a transport the user registered with
//! [`paf_core::Ctx::with_blocking_transport`], with TLS layered on by the
//! context's rustls configuration (ring provider, its CA certificates).
//! ureq is handed the resulting stream through its transport extension points
//! and does no name resolution, socket or TLS work of its own, so this crate
//! links no TLS library beyond the context's rustls.
//!
//! # Behaviour shared with the other paf backends
//! - every status code is a response: 4xx and 5xx are `Ok`;
//! - redirects are not followed: a 3xx comes back as it is;
//! - bodies are not decoded: a `content-encoding: gzip` body arrives as sent;
//! - header names are case-insensitive and repeated headers keep their order,
//!   both ways; no header is added that the caller did not set, beyond
//!   `Host` and the body's framing;
//! - responses to `HEAD`, and 1xx, 204 and 304 responses, have empty bodies;
//! - no wait on the network is unbounded by default: connecting
//!   ([`ClientBuilder::connect_timeout`], 30 s,
//!   [`paf_core::error::TimeoutKind::Connect`]), the response head from the
//!   request's last byte ([`ClientBuilder::response_head_timeout`], 60 s,
//!   `ResponseHead`, ureq's own `timeout_recv_response`) and each wait for
//!   more of the body ([`ClientBuilder::body_idle_timeout`], 60 s,
//!   `BodyIdle`, a read timeout on the stream while the body is read);
//!   [`ClientBuilder::timeout`] bounds the whole exchange, until the body
//!   has been read to its end (`Request`), when it is set;
//! - body caps are the caller's: [`paf_core::blocking::Body::read_to_bytes`]
//!   fails with [`paf_core::Error::BodyTooLarge`] past its limit;
//! - errors are [`paf_core::Error`]'s typed variants: a refused connection
//!   is `Connect`, a refused certificate `Tls` (the rustls error as source),
//!   a malformed response `Protocol`.
//!
//! # What ureq does not do
//! ureq speaks HTTP/1.1 only: TLS connections offer ALPN `http/1.1` alone,
//! whatever the context's configuration lists, so a server that also speaks
//! HTTP/2 answers in HTTP/1.1. Connections are kept alive and reused per
//! endpoint. ureq's own transport probes an idle connection before reusing
//! it; a context-made stream cannot be probed without blocking, so a reused
//! connection that the server closed while it was idle is found out when the
//! request meets its end, before any byte of a response. Such a request is
//! sent again on another connection when its method is idempotent and its
//! body is empty or in memory (so is one whose new connection closed before
//! any byte of a response, once); otherwise the error is
//! [`paf_core::Error::Protocol`].
//!
//! # Features
//! This crate has no Cargo features. ureq is used with all of its own
//! features off (no TLS, no gzip or brotli decoding, no cookies, no proxies).
//!
//! [ureq]: https://docs.rs/ureq/3
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod body;
pub mod client;
mod error;
mod transport;

pub use client::{Client, ClientBuilder, UreqEngine};

/// The backend's name, as [`paf_core::blocking::Client::backend`] gives it.
pub const BACKEND: &str = "ureq";
