//! Upgrades: a handler answers `101` and takes the connection over; a
//! paf-hyper client takes over the connection a `101` arrived on.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::{Request, Response, StatusCode};
use paf_core::Body;
use paf_hyper::{upgrade, Running, Server};
use paf_testkit::{read_head, round_trip, upper_echo};
use tokio::{io::AsyncWriteExt, net::TcpStream, time::timeout};

const LIMIT: Duration = Duration::from_secs(10);

/// Upgrades to "echo": every byte sent comes back in upper case.
async fn handler(mut req: Request<Body>) -> Response<Body> {
    if req.headers().get("upgrade").map(|v| v.as_bytes()) != Some(b"echo") {
        return Response::new(Body::from("no upgrade asked"));
    }
    let upgrade = upgrade::request(&mut req);
    tokio::spawn(async move {
        if let Ok(stream) = upgrade.await {
            upper_echo(stream).await;
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "echo")
        .header("connection", "upgrade")
        .body(Body::empty())
        .unwrap()
}

async fn start() -> Running {
    Server::new(handler)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_handler_takes_the_connection_over_after_101() {
    let running = start().await;
    let mut stream = TcpStream::connect(running.local_addr().unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"GET /chat HTTP/1.1\r\nhost: x\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(round_trip(&mut stream, b"hello").await, b"HELLO");
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_client_takes_over_the_connection_a_101_came_on() {
    let running = start().await;
    let client = paf_hyper::Client::new();
    let request = Request::get(format!("{}/chat", running.url().unwrap()))
        .header("upgrade", "echo")
        .header("connection", "upgrade")
        .body(Body::empty())
        .unwrap();
    let mut response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let mut stream = timeout(LIMIT, upgrade::response(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round_trip(&mut stream, b"over paf").await, b"OVER PAF");
    // A plain request on another connection is still served.
    let plain = client
        .get(&format!("{}/", running.url().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        plain.into_body().to_string(100).await.unwrap(),
        "no upgrade asked"
    );
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_response_that_is_not_an_upgrade_fails_to_upgrade() {
    let running = start().await;
    let mut response = paf_hyper::Client::new()
        .get(&format!("{}/", running.url().unwrap()))
        .await
        .unwrap();
    assert!(timeout(LIMIT, upgrade::response(&mut response))
        .await
        .unwrap()
        .is_err());
    running.stop(Duration::from_secs(1)).await;
}
