//! paf-core: the types every paf crate shares.
//!
//! **Which crate?** paf-core with an engine crate (`paf-hyper`,
//! `paf-reqwest`, `paf-ureq`) is the `http`-typed API, for new Rust code.
//! Code ported from OCaml's CoHTTP keeps its names with `paf-compat`
//! (`Client.get`, `Server.make`, `Header`, `Code`…), which is built on
//! this crate.
//!
//! paf is an HTTP client and server library whose engines (hyper, reqwest,
//! ureq) are swappable. This crate holds what they have in common and
//! nothing engine-specific:
//!
//! - requests and responses are [`http::Request`]`<`[`Body`]`>` and
//!   [`http::Response`]`<`[`Body`]`>`; URLs are [`url::Url`] or [`http::Uri`];
//! - [`Body`]: full bytes or a stream, read to memory only under a cap;
//! - [`Error`]: one error type with variants a caller can act on;
//! - [`Ctx`]: the transport context ("Mimic" in the OCaml original) that says
//!   how a peer is reached: TCP, TLS, a Unix socket or a user transport;
//! - the traits backends implement: [`client::Client`] (async),
//!   [`blocking::Client`], and on the server side [`server::Handler`] and
//!   [`server::ErrorHandler`], and [`server::Listener`] for servers that
//!   take connections from anything that yields streams.
//!
//! # Features
//! - `tokio` (default): the async side, on tokio: the context's async
//!   connect and user transports, body timeouts, server listeners. A
//!   blocking-only build (paf-ureq, paf-compat's `blocking`) leaves it off
//!   and compiles neither tokio nor tokio-rustls.
//!
//! ```
//! use paf_core::{Body, Ctx};
//!
//! # async fn demo() -> Result<(), paf_core::Error> {
//! // A context that reaches `http://app.local` over a Unix socket.
//! let ctx = Ctx::new()
//!     .route("app.local", paf_core::ctx::Endpoint::Unix("/run/app.sock".into()))
//!     .with_uri(&"http://app.local/status".parse::<http::Uri>().unwrap())?;
//! assert_eq!(ctx.endpoint()?.to_string(), "unix:/run/app.sock");
//!
//! // Bodies are read under a cap.
//! let body = Body::from("twelve bytes");
//! assert!(body.to_bytes(4).await.unwrap_err().is_body_too_large());
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod blocking;
pub mod body;
pub mod client;
pub mod ctx;
pub mod decompress;
pub mod error;
pub mod http2;
pub mod per_key;
pub mod redirect;
pub mod server;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod timer;
pub mod tls;

pub use body::Body;
pub use ctx::Ctx;
pub use error::{BoxError, Error, Result};

pub use bytes;
pub use http;
pub use rustls;
pub use url;

/// A boxed, sendable future, as the object-safe traits return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
