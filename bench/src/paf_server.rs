//! The server under test: paf-hyper's public API with the same handler as
//! [`crate::raw_server`].

use std::net::SocketAddr;

use http::{Request, Response};
use paf_core::Body;
use paf_hyper::{Running, Server};

use crate::HELLO;

async fn hello(_request: Request<Body>) -> Response<Body> {
    Response::new(Body::from(HELLO))
}

/// Starts the paf server on `addr`, on the current tokio runtime.
pub async fn start(addr: SocketAddr) -> paf_core::Result<Running> {
    Server::new(hello).bind_tcp(addr).await
}
