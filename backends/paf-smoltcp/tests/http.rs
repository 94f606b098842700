//! A paf client and a paf server on two smoltcp stacks joined by an
//! in-memory link: HTTP/1.1, HTTP/2 (prior knowledge and ALPN), TLS, large
//! bodies both ways, many connections at once, and a graceful stop.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use common::*;
use http::{Method, Request, StatusCode};
use paf_core::{client::RequestExt, Body};
use paf_hyper::Client;

const MIB: u64 = 1 << 20;

fn get(url: &str) -> Request<Body> {
    Request::get(url).body(Body::empty()).unwrap()
}

async fn text(client: &Client, request: Request<Body>) -> String {
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().to_string(1 << 20).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_request_reaches_a_server_on_the_other_stack() {
    let served = serve_plain(80);
    assert_eq!(served.running.url().as_deref(), Some("http://10.0.0.1:80"));
    let client = Client::builder().ctx(served.ctx.clone()).build();
    within(10, async {
        assert_eq!(text(&client, get("http://10.0.0.1/")).await, "hello");
        assert_eq!(
            text(&client, get("http://10.0.0.1/version")).await,
            "HTTP/1.1"
        );
        // The server sees the client stack's address and an ephemeral port.
        let peer: SocketAddr = text(&client, get("http://10.0.0.1/peer"))
            .await
            .parse()
            .unwrap();
        assert_eq!(peer.ip(), CLIENT_IP);
        assert!(peer.port() >= 49152, "{peer}");
    })
    .await;
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_with_prior_knowledge_is_spoken() {
    let served = serve_plain(8080);
    let client = Client::builder()
        .ctx(served.ctx.clone())
        .http2_prior_knowledge(true)
        .build();
    within(10, async {
        assert_eq!(
            text(&client, get("http://10.0.0.1/version")).await,
            "HTTP/2.0"
        );
        // Requests at once share the connection: one peer port for all.
        let peers = futures_util::future::join_all(
            (0..8).map(|_| text(&client, get("http://10.0.0.1/peer"))),
        )
        .await;
        assert!(peers.iter().all(|p| *p == peers[0]), "{peers:?}");
    })
    .await;
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_alpn_picks_h2_or_http1_as_the_client_offers() {
    let served = serve_tls();
    assert_eq!(
        served.running.url().as_deref(),
        Some("https://10.0.0.1:443")
    );
    within(10, async {
        let h2 = Client::builder().ctx(served.ctx.clone()).build();
        let response = h2.get("https://localhost/version").await.unwrap();
        let info = response
            .extensions()
            .get::<paf_core::ctx::ConnectionInfo>()
            .cloned()
            .unwrap();
        assert!(info.tls && info.is_h2(), "{info:?}");
        assert_eq!(
            response.into_body().to_string(64).await.unwrap(),
            "HTTP/2.0"
        );

        let h1 = Client::builder()
            .ctx(served.ctx.clone())
            .http1_only(true)
            .build();
        assert_eq!(
            text(&h1, get("https://localhost/version")).await,
            "HTTP/1.1"
        );
    })
    .await;
    served.stop().await;
}

/// Uploads and downloads 64 MiB of pattern bytes, checking every byte on
/// the other side.
async fn both_ways(served: Served, base: &str) {
    const LEN: u64 = 64 * MIB;
    let client = Client::builder().ctx(served.ctx.clone()).build();
    let started = Instant::now();
    within(30, async {
        let upload = Request::builder()
            .method(Method::POST)
            .uri(format!("{base}/upload"))
            .body(pattern_body(LEN))
            .unwrap();
        assert_eq!(text(&client, upload).await, format!("ok {LEN}"));

        let response = client
            .request(get(&format!("{base}/download/{LEN}")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(check_pattern(response.into_body()).await, Ok(LEN));
    })
    .await;
    eprintln!("{base}: 64 MiB each way in {:?}", started.elapsed());
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_of_64_mib_goes_both_ways_intact_over_http1() {
    both_ways(serve_plain(80), "http://10.0.0.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_of_64_mib_goes_both_ways_intact_over_tls_and_h2() {
    both_ways(serve_tls(), "https://localhost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_are_served_at_once() {
    let served = serve_plain(80);
    // No pooling: every request opens a connection of its own.
    let client = Client::builder()
        .ctx(served.ctx.clone())
        .pool_max_idle_per_endpoint(0)
        .build();
    let started = Instant::now();
    let peers = within(
        10,
        futures_util::future::join_all((0..24).map(|i| {
            let client = client.clone();
            async move {
                // Each holds its connection for 300 ms.
                let slept = text(&client, get(&format!("http://10.0.0.1/sleep/{}", 300 + i))).await;
                assert_eq!(slept, "slept");
                text(&client, get("http://10.0.0.1/peer")).await
            }
        })),
    )
    .await;
    let elapsed = started.elapsed();
    // One after the other they would take 24 × 0.3 s.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(peers.len(), 24);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_a_slow_request_finish_then_refuses_connections() {
    let Served {
        running,
        // Kept: a stack nobody holds stops, and would answer nothing.
        server_stack: _server_stack,
        client_stack,
        ctx,
    } = serve_plain(80);
    let addr = running.local_addr().unwrap();
    let client = Client::builder().ctx(ctx.clone()).build();

    let slow = tokio::spawn({
        let client = client.clone();
        async move { text(&client, get("http://10.0.0.1/sleep/800")).await }
    });
    // Let the request reach the handler before the stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    within(10, running.stop(Duration::from_secs(5))).await;
    assert!(
        stopping.elapsed() >= Duration::from_millis(400),
        "stopped before the request ended"
    );
    assert_eq!(within(10, slow).await.unwrap(), "slept");

    // The port is closed: the stack answers a SYN with a reset.
    let refused = within(10, client_stack.connect(addr)).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    let fresh = Client::builder().ctx(ctx).build();
    let err = within(10, fresh.get("http://10.0.0.1/")).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_its_own_ctx_reaches_the_stack() {
    let served = serve_plain(80);
    // The client's default context knows nothing of smoltcp.
    let client = Client::new();
    let request = get("http://service.internal/").with_ctx(served.ctx.clone());
    assert_eq!(within(10, text(&client, request)).await, "hello");
    served.stop().await;
}
