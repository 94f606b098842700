//! The client against servers that break HTTP: each failure is a typed
//! `paf_core::Error`, never a hang or a panic.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{io, net::SocketAddr, time::Duration};

use paf_core::Error;
use paf_hyper::Client;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    time::timeout,
};

/// Upper bound for anything a test waits on: a bug fails, never hangs.
const LIMIT: Duration = Duration::from_secs(10);

/// A server that reads one request head, writes `answer`, then calls
/// `rest` (which may go on writing) and closes the connection.
async fn serve_once<F, Fut>(answer: &'static [u8], rest: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(n @ 1..) => head.extend_from_slice(&buf[..n]),
                _ => return,
            }
        }
        if stream.write_all(answer).await.is_ok() {
            rest(stream).await;
        }
    });
    addr
}

async fn close(_stream: TcpStream) {}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

#[tokio::test]
async fn malformed_status_line_is_a_protocol_error() {
    let addr = serve_once(b"HTTP/1.1 2OO OK\r\ncontent-length: 0\r\n\r\n", close).await;
    let err = timeout(LIMIT, Client::new().get(&url(addr)))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
}

/// The error reading a body that the server cut short.
async fn cut_body_error(answer: &'static [u8]) -> Error {
    let addr = serve_once(answer, close).await;
    let response = timeout(LIMIT, Client::new().get(&url(addr)))
        .await
        .unwrap()
        .unwrap();
    timeout(LIMIT, response.into_body().to_bytes(1 << 20))
        .await
        .unwrap()
        .unwrap_err()
}

/// A body that ends before its framing said: an I/O error of kind
/// `UnexpectedEof` (hyper's own error kept as its cause).
fn is_early_end(err: &Error) -> bool {
    matches!(err, Error::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof)
}

#[tokio::test]
async fn truncated_chunked_body_is_an_early_end_error() {
    let err =
        cut_body_error(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel").await;
    assert!(is_early_end(&err), "{err:?}");
}

#[tokio::test]
async fn body_shorter_than_its_content_length_is_an_early_end_error() {
    let err = cut_body_error(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b").await;
    assert!(is_early_end(&err), "{err:?}");
}

#[tokio::test]
async fn never_ending_body_past_the_cap_is_body_too_large() {
    let addr = serve_once(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        |mut stream| async move {
            let chunk = [b"400\r\n".as_slice(), &[b'x'; 1024], b"\r\n"].concat();
            // Until the client hangs up.
            while stream.write_all(&chunk).await.is_ok() {}
        },
    )
    .await;
    let response = timeout(LIMIT, Client::new().get(&url(addr)))
        .await
        .unwrap()
        .unwrap();
    let err = timeout(LIMIT, response.into_body().to_bytes(1 << 20))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit } if limit == 1 << 20),
        "{err:?}"
    );
}

#[tokio::test]
async fn declared_length_past_the_cap_is_body_too_large_at_once() {
    let addr = serve_once(
        b"HTTP/1.1 200 OK\r\ncontent-length: 10000000000\r\n\r\n",
        |stream| async move {
            // Holds the connection without sending: the cap must not wait.
            tokio::time::sleep(LIMIT).await;
            drop(stream);
        },
    )
    .await;
    let response = timeout(LIMIT, Client::new().get(&url(addr)))
        .await
        .unwrap()
        .unwrap();
    let err = timeout(
        Duration::from_secs(2),
        response.into_body().to_bytes(1 << 20),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(err.is_body_too_large(), "{err:?}");
}
