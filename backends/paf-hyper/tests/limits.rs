//! The server's limits that the bad-input catalogue does not reach: idle
//! keep-alive connections (HTTP/1 and HTTP/2), the connection limit, and a
//! body that passes its limit after the handler has answered.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use http::{Request, Response};
use paf_core::Body;
use paf_hyper::{Running, ServerBuilder};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

/// Upper bound for anything a test waits on: a bug fails, never hangs.
const LIMIT: Duration = Duration::from_secs(10);
const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

/// `/echo` streams the request body back; `/sleep` answers after 600 ms;
/// anything else answers `ok`.
async fn handler(req: Request<Body>) -> Response<Body> {
    match req.uri().path() {
        "/echo" => Response::new(req.into_body()),
        "/sleep" => {
            tokio::time::sleep(Duration::from_millis(600)).await;
            Response::new(Body::from("slept"))
        }
        _ => Response::new(Body::from("ok")),
    }
}

async fn start(builder: ServerBuilder) -> (Running, SocketAddr) {
    let running = builder
        .build(handler)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let addr = running.local_addr().unwrap();
    (running, addr)
}

async fn stop(running: Running) {
    timeout(LIMIT, running.stop(Duration::from_secs(1)))
        .await
        .unwrap();
}

/// Reads one HTTP/1 response with a `Content-Length` body; its text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    timeout(LIMIT, async {
        loop {
            let text = String::from_utf8_lossy(&seen).to_string();
            if let Some(at) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_string)
                    })
                    .and_then(|l| l.trim().parse().ok())
                    .unwrap_or(0);
                if seen.len() >= at + 4 + len {
                    return text;
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert_ne!(n, 0, "closed mid-response: {text:?}");
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap()
}

/// Waits until the server closes `stream`; how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let begun = Instant::now();
    let mut rest = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut rest))
        .await
        .expect("the server should close the connection");
    begun.elapsed()
}

#[tokio::test]
async fn idle_http1_connection_is_closed_after_idle_timeout() {
    let idle = Duration::from_millis(300);
    let (running, addr) = start(
        ServerBuilder::new()
            .idle_timeout(idle)
            .header_read_timeout(Duration::from_secs(30)),
    )
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(GET).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let took = closed_after(&mut stream).await;
    assert!(
        took >= idle - Duration::from_millis(50),
        "closed after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    stop(running).await;
}

#[tokio::test]
async fn request_longer_than_idle_timeout_is_not_cut() {
    let (running, addr) =
        start(ServerBuilder::new().idle_timeout(Duration::from_millis(200))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /sleep HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.ends_with("\r\n\r\nslept"), "{response:?}");
    stop(running).await;
}

#[tokio::test]
async fn idle_http2_connection_gets_goaway_then_is_closed() {
    let idle = Duration::from_millis(300);
    let (running, addr) = start(ServerBuilder::new().idle_timeout(idle)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut input = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    input.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
    stream.write_all(&input).await.unwrap();
    let begun = Instant::now();
    // Frames until the GOAWAY; the client never answers the server's PING,
    // so the server gives up on it after a second idle period.
    let mut goaway_after = None;
    timeout(LIMIT, async {
        loop {
            let mut head = [0u8; 9];
            if stream.read_exact(&mut head).await.is_err() {
                return;
            }
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0u8; len];
            if stream.read_exact(&mut payload).await.is_err() {
                return;
            }
            if head[3] == 0x7 && goaway_after.is_none() {
                goaway_after = Some(begun.elapsed());
            }
        }
    })
    .await
    .expect("the server should close the connection");
    let goaway_after = goaway_after.expect("a GOAWAY before the close");
    assert!(
        goaway_after >= idle - Duration::from_millis(50),
        "{goaway_after:?}"
    );
    assert!(goaway_after < Duration::from_secs(5), "{goaway_after:?}");
    stop(running).await;
}

#[tokio::test]
async fn connection_past_max_connections_waits_while_every_slot_is_busy() {
    let (running, addr) = start(ServerBuilder::new().max_connections(2)).await;
    let sleep = b"GET /sleep HTTP/1.1\r\nhost: x\r\n\r\n";
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(sleep).await.unwrap();
    }
    // Both slots hold a request in progress: nothing can be shed, so the
    // third connection is not served meanwhile.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(GET).await.unwrap();
    let mut buf = [0u8; 64];
    let early = timeout(Duration::from_millis(300), third.read(&mut buf)).await;
    assert!(early.is_err(), "answered past the limit: {early:?}");
    // Their responses come whole, undisturbed by the waiting connection.
    for stream in [&mut first, &mut second] {
        assert!(read_response(stream).await.ends_with("slept"));
    }
    // Once a slot's connection is idle, it makes room: the third is served.
    assert!(read_response(&mut third).await.starts_with("HTTP/1.1 200"));
    stop(running).await;
}

#[tokio::test]
async fn idle_connection_makes_room_past_max_connections() {
    let (running, addr) = start(ServerBuilder::new().max_connections(2)).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(GET).await.unwrap();
        assert!(read_response(stream).await.starts_with("HTTP/1.1 200"));
    }
    // Both slots hold idle keep-alive connections: the oldest is closed to
    // serve the third at once.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(GET).await.unwrap();
    assert!(read_response(&mut third).await.starts_with("HTTP/1.1 200"));
    let mut buf = [0u8; 64];
    let closed = timeout(LIMIT, first.read(&mut buf)).await.unwrap();
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    // The younger one was not disturbed.
    second.write_all(GET).await.unwrap();
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));
    stop(running).await;
}

#[tokio::test]
async fn body_passing_the_limit_cuts_a_response_already_streaming_it() {
    let (running, addr) = start(ServerBuilder::new().max_body_size(10_000)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut input =
        b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        input.extend_from_slice(b"3e8\r\n");
        input.extend_from_slice(&[b'a'; 1000]);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    let writing = tokio::spawn(async move {
        let _ = stream.write_all(&input).await;
        stream
    });
    let mut stream = writing.await.unwrap();
    let mut answer = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut answer))
        .await
        .expect("the server should close the connection");
    let text = String::from_utf8_lossy(&answer);
    // The handler had answered 200 and was streaming the body back: the
    // response is cut short, never completed with the last chunk.
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(!text.ends_with("0\r\n\r\n"), "{text:?}");
    assert!(answer.len() < 20_000, "{} bytes", answer.len());
    stop(running).await;
}
