//! The hyper client against a real paf server on loopback: bodies, pooling,
//! TLS with ALPN, Unix sockets, a user transport, and the typed errors.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use common::{plain_server, router, tls_server, within};
use futures_util::{stream, StreamExt as _};
use http::{Request, Response, StatusCode, Version};
use paf_core::{
    client::RequestExt,
    ctx::{BoxIo, ConnectionInfo, Endpoint, Transport},
    server::PeerAddr,
    Body, BoxFuture, Ctx, Error,
};
use paf_hyper::{Client, Server};
use paf_testkit::TestCert;

const MIB: u64 = 1 << 20;

fn url(running: &paf_hyper::Running, path: &str) -> String {
    format!("{}{path}", running.url().expect("a TCP server has a URL"))
}

#[tokio::test]
async fn get_and_post_with_bodies() {
    let server = plain_server().await;
    let client = Client::new();

    let res = within(10, client.get(&url(&server, "/"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_11);
    assert_eq!(res.into_body().to_string(1024).await.unwrap(), "hello");

    let req = Request::post(url(&server, "/echo"))
        .header("content-type", "text/plain")
        .body(Body::from("posted body"))
        .unwrap();
    let res = within(10, client.request(req)).await.unwrap();
    assert_eq!(res.headers()["x-method"], "POST");
    assert_eq!(
        res.into_body().to_string(1024).await.unwrap(),
        "posted body"
    );

    // A chunked upload of unknown length.
    let chunks = stream::iter(["a", "b", "c"].map(Ok::<_, std::io::Error>));
    let req = Request::put(url(&server, "/echo"))
        .body(Body::from_stream(chunks))
        .unwrap();
    let res = within(10, client.request(req)).await.unwrap();
    assert_eq!(res.headers()["x-method"], "PUT");
    assert_eq!(res.into_body().to_string(1024).await.unwrap(), "abc");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn statuses_of_any_value_are_responses() {
    let server = plain_server().await;
    let client = Client::new();
    for code in [204u16, 304, 404, 500, 503] {
        let res = within(10, client.get(&url(&server, &format!("/status/{code}"))))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), code);
        assert!(res.into_body().to_bytes(16).await.unwrap().is_empty());
    }
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn keep_alive_connection_is_reused() {
    let server = plain_server().await;
    let client = Client::new();
    let mut peers = Vec::new();
    for _ in 0..3 {
        let res = within(10, client.get(&url(&server, "/peer")))
            .await
            .unwrap();
        // The next request follows at once: the connection must be back in
        // the pool as soon as its body has been read.
        peers.push(res.into_body().to_string(1024).await.unwrap());
    }
    assert!(peers[0].starts_with("127.0.0.1:"), "{peers:?}");
    assert!(
        peers.iter().all(|p| *p == peers[0]),
        "one connection expected: {peers:?}"
    );

    // A client that keeps no idle connection opens one per request.
    let fresh = Client::builder().pool_max_idle_per_endpoint(0).build();
    let a = fresh.get(&url(&server, "/peer")).await.unwrap();
    let a = a.into_body().to_string(1024).await.unwrap();
    let b = fresh.get(&url(&server, "/peer")).await.unwrap();
    let b = b.into_body().to_string(1024).await.unwrap();
    assert_ne!(a, b);
    server.stop(Duration::from_secs(1)).await;
}

/// Bytes produced but not yet consumed, and the most there ever were.
#[derive(Default)]
struct InFlight {
    produced: AtomicU64,
    consumed: AtomicU64,
    peak: AtomicU64,
}

impl InFlight {
    fn produce(&self, n: u64) {
        let produced = self.produced.fetch_add(n, Ordering::SeqCst) + n;
        let consumed = self.consumed.load(Ordering::SeqCst);
        self.peak
            .fetch_max(produced.saturating_sub(consumed), Ordering::SeqCst);
    }
    fn consume(&self, n: u64) {
        self.consumed.fetch_add(n, Ordering::SeqCst);
    }
}

const CHUNK: usize = 64 * 1024;

fn counted_stream(total: u64, flight: Arc<InFlight>) -> Body {
    let chunk = Bytes::from(vec![0x5a; CHUNK]);
    let chunks = total / CHUNK as u64;
    let stream = stream::iter(0..chunks).map(move |_| {
        flight.produce(CHUNK as u64);
        Ok::<_, std::io::Error>(chunk.clone())
    });
    Body::from_stream_sized(stream, total)
}

#[tokio::test]
async fn upload_of_256_mib_streams_with_bounded_memory() {
    let total = 256 * MIB;
    let flight = Arc::new(InFlight::default());
    let seen = flight.clone();
    let server = Server::new(move |req: Request<Body>| {
        let seen = seen.clone();
        async move {
            let mut body = req.into_body();
            let mut n = 0u64;
            while let Some(chunk) = body.chunk().await {
                let Ok(chunk) = chunk else { break };
                n += chunk.len() as u64;
                seen.consume(chunk.len() as u64);
            }
            Response::new(Body::from(n.to_string()))
        }
    })
    .bind_tcp("127.0.0.1:0".parse().unwrap())
    .await
    .unwrap();

    let req = Request::post(url(&server, "/upload"))
        .body(counted_stream(total, flight.clone()))
        .unwrap();
    let res = within(120, Client::new().request(req)).await.unwrap();
    let received: u64 = res
        .into_body()
        .to_string(64)
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(received, total);
    assert_eq!(flight.consumed.load(Ordering::SeqCst), total);
    let peak = flight.peak.load(Ordering::SeqCst);
    println!("upload: at most {peak} bytes produced ahead of the server");
    assert!(
        peak <= 32 * MIB,
        "{peak} bytes were produced ahead of the server: the upload was buffered"
    );
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn download_of_256_mib_streams_with_bounded_memory() {
    let total = 256 * MIB;
    let flight = Arc::new(InFlight::default());
    let produced = flight.clone();
    let server = Server::new(move |_req: Request<Body>| {
        let produced = produced.clone();
        async move { Response::new(counted_stream(total, produced)) }
    })
    .bind_tcp("127.0.0.1:0".parse().unwrap())
    .await
    .unwrap();

    let res = within(30, Client::new().get(&url(&server, "/download")))
        .await
        .unwrap();
    assert_eq!(res.body().len(), Some(total), "Content-Length is passed on");
    let mut body = res.into_body();
    let mut n = 0u64;
    while let Some(chunk) = within(30, body.chunk()).await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        flight.consume(chunk.len() as u64);
    }
    assert_eq!(n, total);
    let peak = flight.peak.load(Ordering::SeqCst);
    println!("download: at most {peak} bytes produced ahead of the client");
    assert!(
        peak <= 32 * MIB,
        "{peak} bytes were produced ahead of the client: the download was buffered"
    );
    server.stop(Duration::from_secs(1)).await;
}

fn tls_client(cert_pem: &str) -> Client {
    let ctx = Ctx::new().with_ca_pem(cert_pem.as_bytes()).unwrap();
    Client::builder().ctx(ctx).build()
}

fn localhost_url(running: &paf_hyper::Running, path: &str) -> String {
    let port = running.local_addr().unwrap().port();
    format!("https://localhost:{port}{path}")
}

#[tokio::test]
async fn http2_over_tls_is_chosen_by_alpn() {
    let cert = TestCert::localhost();
    let server = tls_server(cert.server_config(&[b"h2", b"http/1.1"])).await;
    let client = tls_client(&cert.cert_pem);
    // The name is verified against the certificate; the address is explicit
    // so that `localhost` resolving to ::1 first does not matter.
    let ctx = Ctx::new()
        .with_ca_pem(cert.cert_pem.as_bytes())
        .unwrap()
        .route("localhost", Endpoint::TcpAddr(server.local_addr().unwrap()));
    let req = Request::get(localhost_url(&server, "/version"))
        .body(Body::empty())
        .unwrap()
        .with_ctx(ctx);
    let res = within(10, client.request(req)).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    let info = res.extensions().get::<ConnectionInfo>().unwrap().clone();
    assert!(info.tls && info.is_h2(), "{info:?}");
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "HTTP/2.0");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn http2_requests_share_one_connection() {
    let cert = TestCert::localhost();
    let server = tls_server(cert.server_config(&[b"h2"])).await;
    let url = format!(
        "https://127.0.0.1:{}/peer",
        server.local_addr().unwrap().port()
    );
    let client = tls_client(&cert.cert_pem);
    let first = client.get(&url).await.unwrap();
    let first = first.into_body().to_string(64).await.unwrap();
    let all = within(
        20,
        futures_util::future::join_all((0..20).map(|_| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let res = client.get(&url).await.unwrap();
                assert_eq!(res.version(), Version::HTTP_2);
                res.into_body().to_string(64).await.unwrap()
            }
        })),
    )
    .await;
    assert!(all.iter().all(|p| *p == first), "{first} vs {all:?}");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn http11_fallback_when_server_offers_only_http11() {
    let cert = TestCert::localhost();
    let server = tls_server(cert.server_config(&[b"http/1.1"])).await;
    let client = tls_client(&cert.cert_pem);
    let url = format!(
        "https://127.0.0.1:{}/version",
        server.local_addr().unwrap().port()
    );
    let res = within(10, client.get(&url)).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_11);
    let info = res.extensions().get::<ConnectionInfo>().unwrap();
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "HTTP/1.1");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn http1_only_client_does_not_offer_h2() {
    let cert = TestCert::localhost();
    let server = tls_server(cert.server_config(&[b"h2", b"http/1.1"])).await;
    let client = Client::builder()
        .ctx(Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap())
        .http1_only(true)
        .build();
    let url = format!(
        "https://127.0.0.1:{}/version",
        server.local_addr().unwrap().port()
    );
    let res = within(10, client.get(&url)).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_11);
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn http2_prior_knowledge_over_plain_tcp() {
    let server = plain_server().await;
    let client = Client::builder().http2_prior_knowledge(true).build();
    let res = within(10, client.get(&url(&server, "/version")))
        .await
        .unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "HTTP/2.0");
    server.stop(Duration::from_secs(1)).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paf.sock");
    let server = Server::new(router).bind_unix(&path).await.unwrap();
    let client = Client::builder()
        .ctx(Ctx::new().route("app.local", Endpoint::Unix(path.clone())))
        .build();
    let req = Request::post("http://app.local/echo")
        .body(Body::from("over a unix socket"))
        .unwrap();
    let res = within(10, client.request(req)).await.unwrap();
    let info = res.extensions().get::<ConnectionInfo>().unwrap();
    assert_eq!(info.endpoint, Endpoint::Unix(path.clone()));
    assert_eq!(
        res.into_body().to_string(64).await.unwrap(),
        "over a unix socket"
    );
    // Hosts without a route still go over TCP: nothing listens there.
    let err = client.get("http://127.0.0.1:1/").await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    server.stop(Duration::from_secs(1)).await;
}

/// Reaches "services" by name over in-memory pipes, each served by a paf
/// server's `serve_connection`: no socket at all.
struct Memory {
    server: Server,
    connects: Arc<AtomicU64>,
}

impl Transport for Memory {
    type Endpoint = String;

    fn connect(&self, service: &String) -> BoxFuture<'static, std::io::Result<BoxIo>> {
        let server = self.server.clone();
        let peer = PeerAddr::Other(format!("memory:{service}"));
        self.connects.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let (client_end, server_end) = tokio::io::duplex(64 * 1024);
            tokio::spawn(async move { server.serve_connection(server_end, peer).await });
            Ok(Box::new(client_end) as BoxIo)
        })
    }
}

#[tokio::test]
async fn user_transport_over_in_memory_pipes() {
    let connects = Arc::new(AtomicU64::new(0));
    let transport = Memory {
        server: Server::new(router),
        connects: connects.clone(),
    };
    let ctx = Ctx::new()
        .with_transport("memory", transport)
        .with_user_endpoint("memory", "billing".to_string());
    let client = Client::builder().ctx(ctx).build();
    for _ in 0..2 {
        let res = within(10, client.get("http://billing.internal/peer"))
            .await
            .unwrap();
        let info = res.extensions().get::<ConnectionInfo>().unwrap();
        assert_eq!(
            info.endpoint,
            Endpoint::user("memory", "billing".to_string())
        );
        assert_eq!(
            res.into_body().to_string(64).await.unwrap(),
            "memory:billing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(connects.load(Ordering::SeqCst), 1, "the pipe is reused");
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Client::new()
        .get(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let source = std::error::Error::source(&err).unwrap();
    let io = source.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn tls_verification_fails_without_the_ca() {
    let cert = TestCert::localhost();
    let server = tls_server(cert.server_config(&[b"h2", b"http/1.1"])).await;
    let url = format!("https://127.0.0.1:{}/", server.local_addr().unwrap().port());
    let err = within(10, Client::new().get(&url)).await.unwrap_err();
    let Error::Tls {
        server_name,
        source,
    } = &err
    else {
        panic!("expected a TLS error, got {err:?}");
    };
    assert_eq!(server_name, "127.0.0.1");
    let rustls_err = source.downcast_ref::<rustls::Error>().unwrap();
    assert!(
        matches!(
            rustls_err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{rustls_err:?}"
    );
    // The server still serves a client that trusts the certificate.
    let res = tls_client(&cert.cert_pem).get(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn request_timeout_is_a_timeout_error() {
    let server = plain_server().await;
    let client = Client::builder()
        .timeout(Duration::from_millis(200))
        .build();
    let err = within(10, client.get(&url(&server, "/sleep/3000")))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // A quick request on the same client is fine.
    let res = within(10, client.get(&url(&server, "/"))).await.unwrap();
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "hello");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn reading_past_the_cap_is_body_too_large() {
    let server = plain_server().await;
    let req = Request::post(url(&server, "/echo"))
        .body(Body::from(vec![b'x'; 10_000]))
        .unwrap();
    let res = within(10, Client::new().request(req)).await.unwrap();
    let err = res.into_body().to_bytes(9_999).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 9_999 }),
        "{err:?}"
    );
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn invalid_urls_are_typed_errors() {
    let client = Client::new();
    assert!(matches!(
        client.get("not a url").await,
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        client.get("/relative/only").await,
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        client.get("ftp://127.0.0.1/").await,
        Err(Error::InvalidUrl { .. })
    ));
}

#[tokio::test]
async fn client_is_usable_as_a_trait_object() {
    let server = plain_server().await;
    let client: Arc<dyn paf_core::client::Client> = Arc::new(Client::new());
    assert_eq!(client.backend(), "hyper");
    let req = Request::get(url(&server, "/")).body(Body::empty()).unwrap();
    let res = within(10, client.send(req)).await.unwrap();
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "hello");
    server.stop(Duration::from_secs(1)).await;
}
