//! The baseline: a server on hyper 1.x and hyper-util used directly, with
//! the same handler as [`crate::paf_server`] and the same socket setting
//! (`TCP_NODELAY`), and nothing else.

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::net::TcpListener;

use crate::HELLO;

/// Which hyper connection builder serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// `hyper::server::conn::http1::Builder`: HTTP/1.1 only, what a plain
    /// hyper program writes.
    Http1,
    /// `hyper_util::server::conn::auto::Builder`: HTTP/1.1 and HTTP/2 prior
    /// knowledge on one port, as the paf server offers.
    Auto,
}

async fn hello(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(HELLO))))
}

/// Serves connections from `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, protocol: Protocol) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or the like: wait for some to close.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // A connection without it still works, only slower.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(stream);
        tokio::spawn(async move {
            // A connection's error is the client's business in a benchmark.
            let _ = match protocol {
                Protocol::Http1 => http1::Builder::new()
                    .serve_connection(io, service_fn(hello))
                    .await
                    .map_err(|e| e.to_string()),
                Protocol::Auto => auto::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service_fn(hello))
                    .await
                    .map_err(|e| e.to_string()),
            };
        });
    }
}
