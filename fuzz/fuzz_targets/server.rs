//! Arbitrary bytes from a client to a paf server connection, in memory:
//! `Server::serve_connection` over `tokio::io::duplex`, on a current-thread
//! runtime whose clock is paused (timeouts fire as soon as nothing else can
//! run, so a stalled exchange costs no real time). The server must neither
//! panic nor hang; what it answers is not checked.
#![no_main]

use std::{sync::OnceLock, time::Duration};

use http::{Request, Response};
use libfuzzer_sys::fuzz_target;
use paf_core::{server::PeerAddr, Body};
use paf_hyper::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Small limits, so that inputs reach them.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::builder()
            .max_header_size(4096)
            .max_body_size(1024)
            .header_read_timeout(Duration::from_secs(1))
            .idle_timeout(Duration::from_secs(2))
            .send_timeout(Duration::from_secs(1))
            .handler_timeout(Duration::from_secs(1))
            .max_http2_streams(8)
            .build(handler)
    })
}

/// `/echo` streams the request body back (so a body over the limit fails
/// mid-response); anything else reads the body whole and answers its size.
async fn handler(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/echo" {
        return Response::new(req.into_body());
    }
    match req.into_body().to_bytes(2048).await {
        Ok(bytes) => Response::new(Body::from(bytes.len().to_string())),
        Err(e) => Response::new(Body::from(e.to_string())),
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime builds")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let (mut client, server_end) = tokio::io::duplex(16 * 1024);
        let serving = server().serve_connection(server_end, PeerAddr::Other("fuzz".into()));
        let talking = async {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
        };
        // Virtual time: the bound costs nothing unless the server hangs.
        let exchange = async { tokio::join!(serving, talking) };
        let finished = tokio::time::timeout(Duration::from_secs(60), exchange).await;
        assert!(
            finished.is_ok(),
            "the connection outlived every server timeout"
        );
    });
});
