//! Clients a server meets on a bad day, in numbers: ones that shut their
//! write side after the request (and must still get the whole response),
//! and floods of clients that promise a body and send none (which must not
//! lock a good client out of a server at its connection limit).

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use paf_core::{rustls::pki_types::ServerName, tls};
use paf_hyper::{Running, Server, ServerBuilder};
use paf_testkit::TestCert;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
    task::JoinSet,
    time::timeout,
};

const LIMIT: Duration = Duration::from_secs(20);

async fn start(builder: ServerBuilder) -> Running {
    builder
        .build(common::router)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

fn tls_connector(cert: &TestCert) -> tokio_rustls::TlsConnector {
    let mut config = tls::ClientTls::new()
        .webpki_roots(false)
        .add_roots_pem(cert.cert_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    config.alpn_protocols = vec![tls::ALPN_HTTP11.to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Writes `request`, shuts the write side (a FIN; over TLS a close_notify
/// first), and reads until the server closes.
async fn half_closed<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    // A reset after a partial answer is a lost response, like a short one.
    let _ = stream.read_to_end(&mut answer).await;
    answer
}

/// Sends `requests` half-closed requests, 100 at a time, and counts the
/// responses that did not come whole (`expect` ending the answer).
async fn lost_of(
    running: &Running,
    tls: Option<&TestCert>,
    requests: usize,
    request: &'static [u8],
    expect: &'static [u8],
) -> usize {
    let addr = running.local_addr().unwrap();
    let connector = tls.map(tls_connector);
    let mut lost = 0;
    let mut sent = 0;
    while sent < requests {
        let mut batch = JoinSet::new();
        for _ in 0..100.min(requests - sent) {
            let connector = connector.clone();
            batch.spawn(async move {
                let tcp = TcpStream::connect(addr).await.unwrap();
                let answer = match connector {
                    Some(connector) => {
                        let name = ServerName::try_from("localhost").unwrap();
                        let stream = connector.connect(name, tcp).await.unwrap();
                        half_closed(stream, request).await
                    }
                    None => half_closed(tcp, request).await,
                };
                answer.starts_with(b"HTTP/1.1 200 ") && answer.ends_with(expect)
            });
            sent += 1;
        }
        while let Some(whole) = batch.join_next().await {
            lost += usize::from(!whole.unwrap());
        }
    }
    lost
}

const SLOW_GET: &[u8] = b"GET /sleep/200 HTTP/1.1\r\nhost: x\r\n\r\n";
const FAST_GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
const POST: &[u8] = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 11\r\n\r\nhello world";

async fn assert_half_closed_clients_lose_nothing(tls: Option<&TestCert>) {
    let mut builder = Server::builder();
    if let Some(cert) = tls {
        builder = builder.tls(cert.server_config(&[tls::ALPN_HTTP11]));
    }
    let running = start(builder).await;
    for (what, request, expect) in [
        ("slow GET", SLOW_GET, &b"slept"[..]),
        ("fast GET", FAST_GET, &b"hello"[..]),
        ("POST", POST, &b"hello world"[..]),
    ] {
        let lost = timeout(LIMIT, lost_of(&running, tls, 500, request, expect))
            .await
            .unwrap();
        println!(
            "{} {what}: {lost} of 500 responses lost",
            if tls.is_some() { "TLS" } else { "plain" }
        );
        assert_eq!(lost, 0, "{what}: {lost} of 500 responses lost");
    }
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_clients_get_every_response() {
    assert_half_closed_clients_lose_nothing(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_tls_clients_get_every_response() {
    assert_half_closed_clients_lose_nothing(Some(&TestCert::localhost())).await;
}

/// Opens a connection that sends a head promising 100 bytes of body, then
/// 3 of them, then nothing.
async fn stalled(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc")
        .await
        .unwrap();
    stream
}

async fn good_request(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_past_the_connection_limit_do_not_lock_out_a_good_one() {
    // A body read timeout far longer than the test: only shedding can make
    // room for the good client in time.
    let body_timeout = Duration::from_secs(60);
    let running = start(
        Server::builder()
            .max_connections(4)
            .body_read_timeout(body_timeout),
    )
    .await;
    let addr = running.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..12 {
        held.push(stalled(addr).await);
    }
    // Long enough for the first ones to count as stalled (over a second).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    let answer = timeout(LIMIT, good_request(addr)).await.unwrap();
    let took = started.elapsed();
    println!("with 12 stalled clients and room for 4, a good client was served in {took:?}");
    assert!(
        answer.starts_with(b"HTTP/1.1 200 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(answer.ends_with(b"hello"));
    assert!(took < body_timeout / 4, "served after {took:?}");
    drop(held);
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_make_room_at_the_limit() {
    let running = start(Server::builder().max_connections(2)).await;
    let addr = running.local_addr().unwrap();
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(FAST_GET).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].ends_with(b"hello"));
        idle.push(stream);
    }
    let started = Instant::now();
    let answer = timeout(LIMIT, good_request(addr)).await.unwrap();
    assert!(
        answer.ends_with(b"hello"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The oldest idle connection was the one closed.
    let mut buf = [0u8; 16];
    let oldest = timeout(LIMIT, idle[0].read(&mut buf)).await.unwrap();
    assert!(matches!(oldest, Ok(0) | Err(_)), "{oldest:?}");
    running.stop(Duration::from_secs(1)).await;
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Not a check but a figure for the notes: what a stalled connection costs
/// the server (both ends live in this process; the client side is a bare
/// socket). `cargo test -p paf-hyper --release --test unlucky_clients --
/// --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn memory_per_stalled_connection() {
    let running = start(Server::builder()).await;
    let addr = running.local_addr().unwrap();
    let _ = good_request(addr).await;
    let before = rss_kib();
    let mut held = Vec::new();
    for _ in 0..400 {
        held.push(stalled(addr).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    println!(
        "400 stalled connections: RSS {before} KiB -> {after} KiB, {:.1} KiB each",
        (after.saturating_sub(before)) as f64 / 400.0
    );
    drop(held);
    running.stop(Duration::from_secs(1)).await;
}
