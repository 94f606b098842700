//! Shared by the integration tests: real paf servers (paf-hyper) on a
//! background tokio runtime, and a handler with a route per behaviour under
//! test; the test certificate is paf-testkit's. The client side is plain
//! blocking code.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::{net::SocketAddr, path::Path, sync::OnceLock, time::Duration};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use paf_core::{server::ConnInfo, Body};
use paf_hyper::{Running, Server, StopHandle};
use paf_testkit::TestCert;

/// The runtime the servers run on; the tests' own threads have none.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A running server, stopped when dropped.
pub struct TestServer {
    pub running: Running,
    stop: StopHandle,
}

impl TestServer {
    fn new(running: Running) -> Self {
        let stop = running.stop_handle();
        TestServer { running, stop }
    }

    /// `http://127.0.0.1:PORT` (or `https://…`).
    pub fn url(&self) -> String {
        self.running.url().unwrap()
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.local_addr().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.stop(Duration::ZERO);
    }
}

/// A plain HTTP server with [`router`] on 127.0.0.1.
pub fn plain_server() -> TestServer {
    serve(Server::new(router))
}

/// A server with [`router`] built by `server`.
pub fn serve(server: Server) -> TestServer {
    let addr = "127.0.0.1:0".parse().unwrap();
    TestServer::new(runtime().block_on(server.bind_tcp(addr)).unwrap())
}

/// An HTTPS server with [`router`] offering these ALPN protocols.
pub fn tls_server(cert: &TestCert, alpn: &[&[u8]]) -> TestServer {
    serve(
        Server::builder()
            .tls(cert.server_config(alpn))
            .build(router),
    )
}

/// A server with `handler` on a Unix socket at `path`.
pub fn unix_server(path: &Path, handler: impl paf_core::server::Handler) -> TestServer {
    TestServer::new(
        runtime()
            .block_on(Server::new(handler).bind_unix(path))
            .unwrap(),
    )
}

/// `hello` gzipped: what a server sends with `content-encoding: gzip`.
pub const GZIP_HELLO: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 255, 203, 72, 205, 201, 201, 7, 0, 134, 166, 16, 54, 5, 0, 0, 0,
];

/// Answers by path:
/// - `/echo`: the request body, with `x-method` and `x-version` headers;
/// - `/headers`: the request headers, one `name: value` line each, in order;
/// - `/count`: how many body bytes arrived and how they were framed, read
///   chunk by chunk (`<bytes> <content-length|chunked>`);
/// - `/download/N` and `/download-sized/N`: N bytes in 64 KiB chunks,
///   chunked or with `Content-Length`;
/// - `/stall-body`: the head and 5 bytes at once, the rest never;
/// - `/peer`: the peer address as the server saw it;
/// - `/version`: the HTTP version the server spoke;
/// - `/sleep/MS`: waits, then answers `slept`;
/// - `/status/N`: an empty response with status N;
/// - `/redirect`: 302 to `/elsewhere` with a body `moved`;
/// - `/gzip`: [`GZIP_HELLO`] with `content-encoding: gzip`;
/// - `/repeated`: `x-multi` three times and two `set-cookie`;
/// - anything else: `hello`.
pub async fn router(req: Request<Body>) -> Response<Body> {
    let info = ConnInfo::of(&req).cloned();
    let path = req.uri().path().to_string();
    let version = format!("{:?}", req.version());
    match path.as_str() {
        "/echo" => {
            let method = req.method().to_string();
            let body = req.into_body().to_bytes(1 << 20).await;
            match body {
                Ok(bytes) => Response::builder()
                    .header("x-method", method)
                    .header("x-version", version)
                    .body(Body::from(bytes))
                    .unwrap(),
                Err(e) => Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .body(Body::from(e.to_string()))
                    .unwrap(),
            }
        }
        "/headers" => {
            let lines: String = req
                .headers()
                .iter()
                .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
                .collect();
            Response::new(Body::from(lines))
        }
        "/count" => {
            let framing = match req.headers().get("content-length") {
                Some(len) => format!("content-length={}", len.to_str().unwrap_or("?")),
                None if req.headers().contains_key("transfer-encoding") => "chunked".into(),
                None => "none".into(),
            };
            let mut body = req.into_body();
            let mut total = 0u64;
            while let Some(chunk) = body.chunk().await {
                match chunk {
                    Ok(chunk) => total += chunk.len() as u64,
                    Err(e) => return Response::new(Body::from(format!("error {e}"))),
                }
            }
            Response::new(Body::from(format!("{total} {framing}")))
        }
        "/peer" => {
            let peer = info.map(|i| i.peer.to_string()).unwrap_or_default();
            Response::new(Body::from(peer))
        }
        "/version" => Response::new(Body::from(version)),
        "/redirect" => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "/elsewhere")
            .body(Body::from("moved"))
            .unwrap(),
        "/gzip" => Response::builder()
            .header("content-encoding", "gzip")
            .header("content-type", "text/plain")
            .body(Body::from(GZIP_HELLO))
            .unwrap(),
        "/repeated" => Response::builder()
            .header("x-multi", "one")
            .header("set-cookie", "a=1")
            .header("X-Multi", "two")
            .header("set-cookie", "b=2")
            .header("x-MULTI", "three")
            .body(Body::from("repeated"))
            .unwrap(),
        "/stall-body" => {
            let chunks = futures_util::stream::unfold(0u8, |step| async move {
                if step == 0 {
                    return Some((Ok::<_, std::io::Error>(Bytes::from_static(b"start")), 1));
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
                None
            });
            Response::new(Body::from_stream_sized(chunks, 10))
        }
        _ => {
            if let Some(ms) = path.strip_prefix("/sleep/") {
                let ms = ms.parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                return Response::new(Body::from("slept"));
            }
            if let Some(code) = path.strip_prefix("/status/") {
                let status = code
                    .parse::<u16>()
                    .ok()
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let mut res = Response::new(Body::empty());
                *res.status_mut() = status;
                return res;
            }
            if let Some(n) = path.strip_prefix("/download-sized/") {
                let n = n.parse().unwrap_or(0);
                return Response::new(Body::from_stream_sized(download(n), n));
            }
            if let Some(n) = path.strip_prefix("/download/") {
                return Response::new(Body::from_stream(download(n.parse().unwrap_or(0))));
            }
            Response::new(Body::from("hello"))
        }
    }
}

/// `n` bytes of `x` in chunks of 64 KiB, made as they are sent.
fn download(n: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    const CHUNK: u64 = 64 * 1024;
    static BLOCK: [u8; CHUNK as usize] = [b'x'; CHUNK as usize];
    futures_util::stream::unfold(n, |left| async move {
        if left == 0 {
            return None;
        }
        let size = left.min(CHUNK);
        Some((Ok(Bytes::from_static(&BLOCK[..size as usize])), left - size))
    })
}

/// Reads a blocking body to its end through a small buffer, never holding
/// more than that buffer: how many bytes there were.
pub fn count_bytes(mut body: impl std::io::Read) -> paf_core::Result<u64> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        match body.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) => return Err(paf_core::Error::from_io(e)),
        }
    }
}
