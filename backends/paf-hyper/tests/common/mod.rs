//! Shared by the integration tests: server start-up and a small routing
//! handler. The test certificate and the step timeout are paf-testkit's,
//! re-exported here.
#![allow(dead_code, unreachable_pub)]

use std::{sync::Arc, time::Duration};

use http::{Request, Response, StatusCode};
use paf_core::{server::ConnInfo, Body};
use paf_hyper::{Running, Server};
// Not every test that includes this module bounds its steps.
#[allow(unused_imports)]
pub use paf_testkit::within;
/// Answers by path:
/// - `/echo`: the request body, with `x-method` and `x-version` headers;
/// - `/peer`: the peer address as the server saw it;
/// - `/version`: the HTTP version the server spoke;
/// - `/sleep/MS`: waits, then answers `slept`;
/// - `/status/N`: an empty response with status N;
/// - anything else: `hello`.
pub async fn router(req: Request<Body>) -> Response<Body> {
    let info = ConnInfo::of(&req).cloned();
    let path = req.uri().path().to_string();
    let version = format!("{:?}", req.version());
    if path == "/echo" {
        let method = req.method().to_string();
        let body = req.into_body().to_bytes(64 << 20).await;
        return match body {
            Ok(bytes) => Response::builder()
                .header("x-method", method)
                .header("x-version", version)
                .body(Body::from(bytes))
                .expect("valid response"),
            Err(e) => Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .body(Body::from(e.to_string()))
                .expect("valid response"),
        };
    }
    if path == "/peer" {
        let peer = info.map(|i| i.peer.to_string()).unwrap_or_default();
        return Response::new(Body::from(peer));
    }
    if path == "/version" {
        return Response::new(Body::from(version));
    }
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
    Response::new(Body::from("hello"))
}

/// Starts a plain HTTP server with [`router`] on 127.0.0.1, any port.
pub async fn plain_server() -> Running {
    Server::new(router)
        .bind_tcp("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("server binds")
}

/// Starts an HTTPS server with [`router`] and this TLS configuration.
pub async fn tls_server(config: Arc<rustls::ServerConfig>) -> Running {
    Server::builder()
        .tls(config)
        .build(router)
        .bind_tcp("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("server binds")
}
