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

/// An HTTP/2 server (the h2 crate) that turns away the first stream of its
/// first connection with `how`, then answers every other request `ok`.
/// Returns its address and a count of the connections it accepted.
async fn h2_refusing_first_stream(
    how: Refusal,
) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::{atomic::Ordering, Arc};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let first = count.fetch_add(1, Ordering::SeqCst) == 0;
            tokio::spawn(async move {
                if first && how == Refusal::GoAway {
                    return go_away_after_first_headers(stream).await;
                }
                let Ok(mut conn) = h2::server::handshake(stream).await else {
                    return;
                };
                let mut refuse = first;
                while let Some(Ok((_request, mut respond))) = conn.accept().await {
                    if std::mem::take(&mut refuse) {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                        continue;
                    }
                    let response = http::Response::new(());
                    if let Ok(mut body) = respond.send_response(response, false) {
                        let _ = body.send_data(bytes::Bytes::from_static(b"ok"), true);
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// Reads the client's frames until its first request's HEADERS has come,
/// then answers with the server's SETTINGS and a GOAWAY whose last stream
/// id is 0: the request was received and not processed.
async fn go_away_after_first_headers(mut stream: TcpStream) {
    const PREFACE: usize = 24;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // Frames after the preface: 9-byte heads, type in byte 3.
        let mut at = PREFACE;
        let mut headers = false;
        while seen.len() >= at + 9 {
            let len = usize::from(seen[at]) << 16
                | usize::from(seen[at + 1]) << 8
                | usize::from(seen[at + 2]);
            headers |= seen[at + 3] == 0x1;
            at += 9 + len;
        }
        if headers {
            break;
        }
        match stream.read(&mut buf).await {
            Ok(n @ 1..) => seen.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
    // GOAWAY: length 8, type 7, stream 0; last stream id 0, NO_ERROR.
    let go_away = [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let _ = stream.write_all(&settings).await;
    let _ = stream.write_all(&go_away).await;
    // Keep the connection until the client lets it go.
    let _ = stream.read(&mut buf).await;
}

#[derive(Clone, Copy, PartialEq)]
enum Refusal {
    RefusedStream,
    GoAway,
}

/// A stream the server refused (`REFUSED_STREAM`) or left out of its
/// GOAWAY was not processed (RFC 9113 §8.7): an idempotent request is sent
/// again on a fresh connection, as one closed unanswered is.
#[tokio::test]
async fn http2_streams_the_server_did_not_process_are_sent_again() {
    use std::sync::atomic::Ordering;
    for how in [Refusal::RefusedStream, Refusal::GoAway] {
        let (addr, accepted) = h2_refusing_first_stream(how).await;
        let client = Client::builder().http2_prior_knowledge(true).build();
        let response = timeout(LIMIT, client.get(&url(addr)))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(response.status(), 200);
        let body = timeout(LIMIT, response.into_body().to_bytes(1 << 10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&body[..], b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "a fresh connection");
    }
}

/// A POST is not sent again by itself, even when the server says it did
/// not process it: the caller gets a typed error and decides.
#[tokio::test]
async fn a_refused_http2_post_is_an_error_not_a_replay() {
    use std::sync::atomic::Ordering;
    let (addr, accepted) = h2_refusing_first_stream(Refusal::RefusedStream).await;
    let client = Client::builder().http2_prior_knowledge(true).build();
    let request = http::Request::post(url(addr))
        .body(paf_core::Body::from("payload"))
        .unwrap();
    let err = timeout(LIMIT, client.request(request))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_protocol() || matches!(err, Error::Io(_)), "{err:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
