//! The baseline: a server on hyper 1.x and hyper-util used directly, with
//! the same handler as [`crate::paf_server`] and the same socket setting
//! (`TCP_NODELAY`), and nothing else. Over TLS it is tokio-rustls's
//! `TlsAcceptor` in front of the same hyper builders, with the rustls
//! configuration the paf server gets ([`crate::tls::server_config`]).

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::{
    body::Incoming,
    server::conn::{http1, http2},
    service::service_fn,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
};
use tokio_rustls::TlsAcceptor;

use crate::HELLO;

/// Which hyper connection builder serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// `hyper::server::conn::http1::Builder`: HTTP/1.1 only, what a plain
    /// hyper program writes.
    Http1,
    /// `hyper::server::conn::http2::Builder`: HTTP/2 only (h2c with prior
    /// knowledge on a plain port, ALPN `h2` over TLS).
    Http2,
    /// `hyper_util::server::conn::auto::Builder`: HTTP/1.1 and HTTP/2 prior
    /// knowledge on one connection, told apart by the first bytes, as the
    /// paf server does on a plain port.
    Auto,
    /// TLS only: the ALPN protocol the handshake agreed on picks the
    /// builder, `http2::Builder` for `h2` and `http1::Builder` otherwise, as
    /// the paf server does over TLS.
    Alpn,
}

impl Protocol {
    /// The ALPN protocols a TLS listener offers for this choice.
    pub fn alpn(self) -> Vec<Vec<u8>> {
        let (h2, h1) = (b"h2".to_vec(), b"http/1.1".to_vec());
        match self {
            Protocol::Http1 => vec![h1],
            Protocol::Http2 => vec![h2],
            Protocol::Auto | Protocol::Alpn => vec![h2, h1],
        }
    }
}

async fn hello(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(HELLO))))
}

/// Serves connections from `listener` until the task is dropped, through
/// `tls` when it is given. [`Protocol::Alpn`] without TLS serves HTTP/1.1.
pub async fn serve(listener: TcpListener, protocol: Protocol, tls: Option<TlsAcceptor>) {
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
        let tls = tls.clone();
        // The handshake runs in the connection's task, as the accept loop
        // must not wait for one client.
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, protocol, false).await,
                Some(acceptor) => {
                    // A failed handshake is the client's business here.
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    serve_connection(stream, protocol, h2).await;
                }
            }
        });
    }
}

/// One connection with the builder `protocol` names; `h2` is whether ALPN
/// agreed on HTTP/2 (for [`Protocol::Alpn`]).
async fn serve_connection<I>(io: I, protocol: Protocol, h2: bool)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let service = service_fn(hello);
    // A connection's error is the client's business in a benchmark.
    let _ = match (protocol, h2) {
        (Protocol::Http1, _) | (Protocol::Alpn, false) => http1::Builder::new()
            .serve_connection(io, service)
            .await
            .map_err(|e| e.to_string()),
        (Protocol::Http2, _) | (Protocol::Alpn, true) => http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service)
            .await
            .map_err(|e| e.to_string()),
        (Protocol::Auto, _) => auto::Builder::new(TokioExecutor::new())
            .serve_connection(io, service)
            .await
            .map_err(|e| e.to_string()),
    };
}
