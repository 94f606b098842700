//! Shared by the integration tests: two stacks joined by an in-memory link,
//! a context that reaches the server stack, and a handler with a route per
//! behaviour under test. The test certificate and the step timeout are
//! paf-testkit's.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::{
    convert::Infallible,
    net::{Ipv4Addr, SocketAddr},
    sync::OnceLock,
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use paf_core::{server::ConnInfo, Body, Ctx};
use paf_hyper::{Running, Server};
use paf_smoltcp::{Config, MemoryDevice, Stack};
// Not every test that includes this module bounds its steps.
#[allow(unused_imports)]
pub use paf_testkit::within;
use paf_testkit::TestCert;

pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Large windows: the 64 MiB tests would crawl on small ones.
pub fn config(ip: Ipv4Addr) -> Config {
    Config::new(ip, 24)
        .buffer_size(1 << 20)
        .connect_timeout(Duration::from_secs(5))
}

/// A server stack (10.0.0.1) and a client stack (10.0.0.2) on one link,
/// polled on the current runtime.
pub fn stacks() -> (Stack, Stack) {
    let (a, b) = MemoryDevice::pair();
    let server = Stack::new(a, config(SERVER_IP)).unwrap();
    let client = Stack::new(b, config(CLIENT_IP)).unwrap();
    (server, client)
}

/// A context whose every connection goes to `addr` through `stack`.
pub fn ctx_to(stack: &Stack, addr: SocketAddr) -> Ctx {
    Ctx::new()
        .with_transport("smoltcp", stack.clone())
        .with_blocking_transport("smoltcp", stack.clone())
        .with_user_endpoint("smoltcp", addr)
}

/// A paf server on the server stack of a new pair, and what reaches it.
pub struct Served {
    pub running: Running,
    /// The server stack, to open more ports on.
    pub server_stack: Stack,
    pub client_stack: Stack,
    /// Reaches the server from the client stack.
    pub ctx: Ctx,
}

impl Served {
    pub async fn stop(self) {
        self.running.stop(Duration::from_secs(1)).await;
    }
}

/// `server` on `port` of a new server stack.
pub fn serve(server: Server, port: u16) -> Served {
    let (server_stack, client_stack) = stacks();
    let running = server.serve(server_stack.listen(port).unwrap());
    let ctx = ctx_to(&client_stack, running.local_addr().unwrap());
    Served {
        running,
        server_stack,
        client_stack,
        ctx,
    }
}

/// [`router`] in plain HTTP on `port`.
pub fn serve_plain(port: u16) -> Served {
    serve(Server::new(router), port)
}

/// [`router`] over TLS on port 443, offering `h2` and `http/1.1`; the
/// context trusts the certificate (named `localhost` and 127.0.0.1).
pub fn serve_tls() -> Served {
    let cert = TestCert::localhost();
    let server = Server::builder()
        .tls(cert.server_config(&[b"h2", b"http/1.1"]))
        .build(router);
    let mut served = serve(server, 443);
    served.ctx = served.ctx.with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    served
}

/// The bytes of the large bodies: a block of a prime length repeated, so
/// that a lost, repeated or shifted chunk does not line up again.
const BLOCK: usize = 65521;

fn block() -> &'static Bytes {
    static BLOCK_BYTES: OnceLock<Bytes> = OnceLock::new();
    BLOCK_BYTES.get_or_init(|| {
        // Twice over, so that any run of up to BLOCK bytes starting
        // anywhere in the block is one slice.
        (0..2 * BLOCK)
            .map(|i| {
                let i = i % BLOCK;
                (i ^ (i >> 8)) as u8
            })
            .collect::<Vec<u8>>()
            .into()
    })
}

/// The pattern's bytes from `offset`, `len` of them (at most a block).
pub fn pattern(offset: u64, len: usize) -> Bytes {
    let start = (offset % BLOCK as u64) as usize;
    block().slice(start..start + len.min(BLOCK))
}

/// A body of `len` pattern bytes, streamed in chunks.
pub fn pattern_body(len: u64) -> Body {
    let chunks = (0..len).step_by(BLOCK).map(move |offset| {
        let n = (len - offset).min(BLOCK as u64) as usize;
        Ok::<_, Infallible>(pattern(offset, n))
    });
    Body::from_stream_sized(futures_util::stream::iter(chunks), len)
}

/// Reads a body to its end, checking every byte against the pattern.
/// `Err` names the first offset that differs.
pub async fn check_pattern(mut body: Body) -> Result<u64, String> {
    let mut offset = 0u64;
    while let Some(chunk) = body.chunk().await {
        let chunk = chunk.map_err(|e| format!("body error at {offset}: {e}"))?;
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let n = rest.len().min(BLOCK);
            if rest[..n] != pattern(offset, n)[..] {
                return Err(format!("bytes differ from the pattern at {offset}"));
            }
            offset += n as u64;
            rest = &rest[n..];
        }
    }
    Ok(offset)
}

/// Answers by path:
/// - `/peer`: the peer address as the server saw it;
/// - `/version`: the HTTP version spoken;
/// - `/sleep/MS`: waits, then answers `slept`;
/// - `/upload`: checks the body against the pattern, answers `ok LEN`;
/// - `/download/LEN`: LEN bytes of the pattern;
/// - `/echo`: the body, up to 16 MiB;
/// - anything else: `hello`.
pub async fn router(req: Request<Body>) -> Response<Body> {
    let info = ConnInfo::of(&req).cloned();
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/peer" => Response::new(Body::from(
            info.map(|i| i.peer.to_string()).unwrap_or_default(),
        )),
        "/version" => Response::new(Body::from(format!("{:?}", req.version()))),
        "/upload" => match check_pattern(req.into_body()).await {
            Ok(len) => Response::new(Body::from(format!("ok {len}"))),
            Err(e) => status(StatusCode::BAD_REQUEST, e),
        },
        "/echo" => match req.into_body().to_bytes(16 << 20).await {
            Ok(bytes) => Response::new(Body::from(bytes)),
            Err(e) => status(StatusCode::BAD_REQUEST, e.to_string()),
        },
        _ => {
            if let Some(ms) = path.strip_prefix("/sleep/") {
                tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
                return Response::new(Body::from("slept"));
            }
            if let Some(len) = path.strip_prefix("/download/") {
                return match len.parse() {
                    Ok(len) => Response::new(pattern_body(len)),
                    Err(_) => status(StatusCode::BAD_REQUEST, "bad length".into()),
                };
            }
            Response::new(Body::from("hello"))
        }
    }
}

fn status(code: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = code;
    response
}
