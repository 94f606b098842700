//! paf-smoltcp: paf on a TCP/IP stack that is not the kernel's, as the
//! OCaml paf runs on MirageOS's mirage-tcpip. The stack is [smoltcp],
//! driven by a tokio task; its connections are tokio streams, so paf's
//! servers serve them and paf's clients reach them through the transport
//! context.
//!
//! ```
//! use std::{net::{Ipv4Addr, SocketAddr}, time::Duration};
//! use paf_core::{http::Response, Body, Ctx};
//! use paf_smoltcp::{Config, MemoryDevice, Stack};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Two stacks joined by an in-memory link: 10.0.0.1 and 10.0.0.2.
//! let (a, b) = MemoryDevice::pair();
//! let server_stack = Stack::new(a, Config::new(Ipv4Addr::new(10, 0, 0, 1), 24))?;
//! let client_stack = Stack::new(b, Config::new(Ipv4Addr::new(10, 0, 0, 2), 24))?;
//!
//! // A paf server on port 80 of the first...
//! let server = paf_hyper::Server::new(|_req| async { Response::new(Body::from("hello\n")) });
//! let running = server.serve(server_stack.listen(80)?);
//! assert_eq!(running.url().as_deref(), Some("http://10.0.0.1:80"));
//!
//! // ...and a paf client reaching it from the second.
//! let ctx = Ctx::new()
//!     .with_transport("smoltcp", client_stack.clone())
//!     .with_user_endpoint("smoltcp", SocketAddr::from(([10, 0, 0, 1], 80)));
//! let client = paf_hyper::Client::builder().ctx(ctx).build();
//! let response = client.get("http://10.0.0.1/").await?;
//! assert_eq!(response.into_body().to_string(1024).await?, "hello\n");
//!
//! running.stop(Duration::from_secs(1)).await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! # The model
//! A [`Stack`] is one smoltcp interface (one IPv4 address, an optional
//! gateway) on one [`Device`], with its TCP sockets. A task polls the
//! interface and then sleeps until smoltcp's next timer, a frame from the
//! device or activity on a socket: an idle stack costs no CPU.
//!
//! - [`Stack::connect`] opens a [`TcpStream`] (tokio `AsyncRead` and
//!   `AsyncWrite`); [`Stack::connect_blocking`] a [`BlockingTcpStream`].
//! - [`Stack::listen`] opens a [`TcpListener`], which keeps a backlog of
//!   listening sockets ([`Config::backlog`]) so that many clients can
//!   connect at once. It is a [`paf_core::server::Listener`]:
//!   `paf_hyper::Server::serve` serves it with TLS, ALPN, limits and
//!   graceful stop, as it serves a kernel socket.
//! - `Stack` is a [`paf_core::ctx::Transport`] and a
//!   [`paf_core::ctx::BlockingTransport`] whose endpoint is a
//!   `SocketAddr`: register it in a [`paf_core::Ctx`] under a name and
//!   name the address with `with_user_endpoint`.
//!
//! Streams behave as TCP does: shutting one down sends a FIN once its data
//! has gone and the peer reads to its end; dropping one closes it the same
//! way (the stack finishes the close, and resets it after a minute if the
//! peer never answers); [`TcpStream::abort`] resets it.
//!
//! # Devices
//! - [`MemoryDevice`]: two ends of an in-memory link ([`MemoryLink`] for
//!   Ethernet frames, another MTU, checksums), for tests and for two
//!   stacks in one process;
//! - `TapDevice` (feature `tap`, Linux): a TAP interface, the stack being
//!   a host on the kernel's side of the cable;
//! - any [`smoltcp::phy::Device`]: implement [`Device`] (one readiness
//!   method), or wrap it in [`Polled`] to try it at a fixed interval.
//!
//! Throughput is decided by the windows ([`Config::buffer_size`], scaled
//! past 64 KiB) and the link's MTU: the in-memory link carries 64 KiB
//! packets by default and moves gigabytes a second.
//!
//! # What it does not do
//! IPv4 only; no DNS (endpoints are addresses); TCP only (it answers pings,
//! no more). A TAP device is not `Send` (smoltcp's type), so its stack runs
//! on a thread of its own ([`Stack::on_thread`]).
//!
//! # smoltcp
//! The stack is smoltcp 0.14, which needs Rust 1.91: this crate's
//! rust-version, above the 1.88 of the rest of paf. It drops or trims what
//! a peer sends outside the advertised window, and probes a zero window, so
//! a lost window update does not stall a connection. Should smoltcp panic
//! all the same, the panic stops the stack, not the process: its streams
//! and listeners fail with [`std::io::ErrorKind::NotConnected`].
//!
//! # Features
//! - `tap`: `TapDevice` and `Stack::tap`, a stack on a Linux TAP interface.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod blocking;
mod config;
mod device;
mod driver;
mod listener;
pub mod memory;
mod stack;
mod stream;
#[cfg(all(feature = "tap", target_os = "linux"))]
mod tap;
mod transport;

pub use blocking::BlockingTcpStream;
pub use config::Config;
pub use device::{Device, Polled};
pub use listener::TcpListener;
pub use memory::{MemoryDevice, MemoryLink};
pub use stack::Stack;
pub use stream::TcpStream;
#[cfg(all(feature = "tap", target_os = "linux"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "tap", target_os = "linux"))))]
pub use tap::TapDevice;

/// The smoltcp crate, for users who bring their own device.
pub use smoltcp;
