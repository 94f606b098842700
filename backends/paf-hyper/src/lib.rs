//! paf-hyper: paf's hyper backend.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
mod error;
pub mod server;

pub use client::{Client, ClientBuilder};
pub use server::{Running, Server, ServerBuilder, StopHandle};
