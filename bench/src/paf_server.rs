//! The server under test: paf-hyper's public API with the same handler as
//! [`crate::raw_server`].

use std::{net::SocketAddr, sync::Arc};

use http::{Request, Response};
use paf_core::Body;
use paf_hyper::{Running, Server};

use crate::HELLO;

async fn hello(_request: Request<Body>) -> Response<Body> {
    Response::new(Body::from(HELLO))
}

/// Starts the paf server on `addr`, on the current tokio runtime: HTTPS
/// with `tls` when it is given (HTTP/1.1 or HTTP/2 by ALPN), plain HTTP
/// otherwise (HTTP/1.1 or HTTP/2 prior knowledge, by the first bytes).
/// `conn_info` is [`paf_hyper::ServerBuilder::conn_info`] (on by default
/// in paf).
pub async fn start(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    conn_info: bool,
) -> paf_core::Result<Running> {
    let builder = Server::builder().conn_info(conn_info);
    let builder = match tls {
        Some(config) => builder.tls(config),
        None => builder,
    };
    builder.build(hello).bind_tcp(addr).await
}
