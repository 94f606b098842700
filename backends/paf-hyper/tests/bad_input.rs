//! The bad-input catalogue: what the internet sends a server, over raw TCP
//! and TLS sockets, each with its documented outcome (the status hyper or
//! paf answers, or a closed connection) and a good request served
//! afterwards, so that no input takes the server down.
//!
//! The outcomes are the ones listed in `ServerBuilder`'s documentation.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::stream;
use http::{Request, Response, StatusCode};
use paf_core::{
    rustls::pki_types::ServerName,
    server::{DefaultErrorHandler, ErrorHandler, ServerError},
    tls, Body,
};
use paf_hyper::{Running, Server};
use paf_testkit::TestCert;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

/// Upper bound for anything a test waits on: a bug fails, never hangs.
const LIMIT: Duration = Duration::from_secs(10);
const MAX_HEADER: usize = 8 * 1024;
const MAX_BODY: u64 = 64 * 1024;
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(500);
const SEND_TIMEOUT: Duration = Duration::from_millis(500);
const BODY_READ_TIMEOUT: Duration = Duration::from_millis(500);
const MAX_STREAMS: u32 = 10;
/// What `/big` answers: more than loopback socket buffers hold.
const BIG: usize = 64 << 20;

/// What the handler and the error handler saw.
#[derive(Default)]
struct Seen {
    /// Requests that reached the handler.
    calls: AtomicUsize,
    /// The errors the handler's body reads failed with.
    body_errors: Mutex<Vec<paf_core::Error>>,
    /// `ServerError::Connection` reports, and their causes.
    connection_errors: Mutex<Vec<String>>,
    handshake_errors: AtomicUsize,
    /// `/hold` requests in progress, and the most there were at once.
    holding: AtomicUsize,
    most_held: AtomicUsize,
}

impl Seen {
    /// Waits (boundedly) until `check` holds.
    async fn until(&self, what: &str, check: impl Fn(&Seen) -> bool) {
        timeout(LIMIT, async {
            while !check(self) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("never saw {what}"));
    }

    fn body_errors(&self) -> Vec<String> {
        let errors = self.body_errors.lock().unwrap();
        errors.iter().map(ToString::to_string).collect()
    }
}

/// Zeros, handed out without a copy.
static ZEROS: [u8; 1 << 20] = [0; 1 << 20];

/// Routes:
/// - `/read`: reads the body (1 MiB cap) and answers `read N`, or 400 and
///   the error when the read failed;
/// - `/big`: a [`BIG`]-byte body;
/// - `/hold`: answers after 300 ms;
/// - `/header`: the bytes of the `x-bin` header, in hex;
/// - anything else: `ok`.
async fn handler(seen: Arc<Seen>, req: Request<Body>) -> Response<Body> {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    match req.uri().path() {
        "/read" => match req.into_body().to_bytes(1 << 20).await {
            Ok(body) => Response::new(Body::from(format!("read {}", body.len()))),
            Err(e) => {
                let text = e.to_string();
                seen.body_errors.lock().unwrap().push(e);
                let mut response = Response::new(Body::from(text));
                *response.status_mut() = StatusCode::BAD_REQUEST;
                response
            }
        },
        "/big" => {
            let chunks = (0..BIG / ZEROS.len()).map(|_| Ok::<_, std::io::Error>(&ZEROS[..]));
            Response::new(Body::from_stream_sized(stream::iter(chunks), BIG as u64))
        }
        "/hold" => {
            let now = seen.holding.fetch_add(1, Ordering::SeqCst) + 1;
            seen.most_held.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            seen.holding.fetch_sub(1, Ordering::SeqCst);
            Response::new(Body::from("held"))
        }
        "/header" => {
            let value = req.headers().get("x-bin").map(|v| v.as_bytes().to_vec());
            let hex: String = value
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Response::new(Body::from(hex))
        }
        _ => Response::new(Body::from("ok")),
    }
}

/// A server with small limits, so that the catalogue reaches them quickly.
struct Catalogue {
    running: Running,
    seen: Arc<Seen>,
    cert: Option<TestCert>,
}

impl Catalogue {
    async fn plain() -> Catalogue {
        Self::start(None).await
    }

    /// HTTPS offering `h2` and `http/1.1`.
    async fn tls() -> Catalogue {
        Self::start(Some(TestCert::localhost())).await
    }

    async fn start(cert: Option<TestCert>) -> Catalogue {
        let seen = Arc::new(Seen::default());
        let errors = seen.clone();
        let mut builder = Server::builder()
            .max_header_size(MAX_HEADER)
            .max_body_size(MAX_BODY)
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .send_timeout(SEND_TIMEOUT)
            .body_read_timeout(BODY_READ_TIMEOUT)
            .max_http2_streams(MAX_STREAMS)
            .error_handler(move |error: &ServerError| {
                match error {
                    ServerError::Connection { source, .. } => {
                        let cause = std::iter::successors(
                            Some(&**source as &(dyn std::error::Error + 'static)),
                            |e| e.source(),
                        )
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(": ");
                        errors.connection_errors.lock().unwrap().push(cause);
                    }
                    ServerError::Handshake { .. } => {
                        errors.handshake_errors.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {}
                }
                DefaultErrorHandler.handle(error)
            });
        if let Some(cert) = &cert {
            builder = builder.tls(cert.server_config(&[tls::ALPN_H2, tls::ALPN_HTTP11]));
        }
        let state = seen.clone();
        let running = builder
            .build(move |req| handler(state.clone(), req))
            .bind_tcp(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        Catalogue {
            running,
            seen,
            cert,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.running.local_addr().unwrap()
    }

    /// A TLS connection offering only `alpn`.
    async fn tls_connect(&self, alpn: &[u8]) -> tokio_rustls::client::TlsStream<TcpStream> {
        let cert_pem = &self.cert.as_ref().expect("a TLS catalogue").cert_pem;
        let mut config = tls::ClientTls::new()
            .webpki_roots(false)
            .add_roots_pem(cert_pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        config.alpn_protocols = vec![alpn.to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(self.addr()).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        timeout(LIMIT, connector.connect(name, tcp))
            .await
            .unwrap()
            .unwrap()
    }

    /// Sends `bytes` on a new plain connection; what came back until close.
    async fn send(&self, bytes: impl Into<Vec<u8>>) -> Answer {
        let stream = TcpStream::connect(self.addr()).await.unwrap();
        exchange(stream, bytes.into()).await
    }

    /// Sends `bytes` on a new TLS connection speaking HTTP/1.1.
    async fn send_tls(&self, bytes: impl Into<Vec<u8>>) -> Answer {
        exchange(self.tls_connect(tls::ALPN_HTTP11).await, bytes.into()).await
    }

    /// The good request that every case ends with: the server still serves.
    async fn assert_still_serves(self) {
        let good = b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec();
        let answer = if self.cert.is_some() {
            self.send_tls(good).await
        } else {
            self.send(good).await
        };
        assert_eq!(answer.status(), Some(200), "{answer:?}");
        assert!(answer.bytes.ends_with(b"\r\n\r\nok"), "{answer:?}");
        timeout(LIMIT, self.running.stop(Duration::from_secs(1)))
            .await
            .unwrap();
    }
}

/// What a server sent on a connection until it closed it.
struct Answer {
    bytes: Vec<u8>,
    /// The connection ended with a reset rather than a clean close.
    reset: bool,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.bytes[..self.bytes.len().min(300)];
        write!(
            f,
            "{:?}{} ({} bytes, reset: {})",
            String::from_utf8_lossy(shown),
            if shown.len() < self.bytes.len() {
                "…"
            } else {
                ""
            },
            self.bytes.len(),
            self.reset
        )
    }
}

impl Answer {
    /// The status of an HTTP/1 response, when one came.
    fn status(&self) -> Option<u16> {
        let line = self.bytes.strip_prefix(b"HTTP/1.1 ")?;
        std::str::from_utf8(line.get(..3)?).ok()?.parse().ok()
    }

    fn has_header(&self, line: &str) -> bool {
        let head_end = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(self.bytes.len());
        String::from_utf8_lossy(&self.bytes[..head_end])
            .to_ascii_lowercase()
            .contains(&format!("\r\n{line}\r\n"))
    }

    fn body(&self) -> &[u8] {
        let at = self.bytes.windows(4).position(|w| w == b"\r\n\r\n");
        at.map_or(&[], |at| &self.bytes[at + 4..])
    }
}

/// Writes `bytes` (from a task of its own: the server may answer and close
/// before it has read them all) and reads until the server closes.
async fn exchange<S>(stream: S, bytes: Vec<u8>) -> Answer
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&bytes).await;
        let _ = writer.flush().await;
        // Kept open: closing our side is not part of the input.
        writer
    });
    let mut answer = Answer {
        bytes: Vec::new(),
        reset: false,
    };
    timeout(LIMIT, async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => answer.bytes.extend_from_slice(&buf[..n]),
                Err(_) => {
                    answer.reset = true;
                    break;
                }
            }
        }
    })
    .await
    .expect("the server should close the connection");
    writing.abort();
    answer
}

fn request(head: &str) -> Vec<u8> {
    head.replace('\n', "\r\n").into_bytes()
}

// ---- Malformed HTTP/1 heads: hyper answers 400 and closes ----------------

async fn assert_400_and_close(input: Vec<u8>) {
    let server = Catalogue::plain().await;
    let answer = server.send(input).await;
    assert_eq!(answer.status(), Some(400), "{answer:?}");
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    // The error handler heard of it as a connection error.
    server
        .seen
        .until("a connection error", |s| {
            !s.connection_errors.lock().unwrap().is_empty()
        })
        .await;
    server.assert_still_serves().await;
}

#[tokio::test]
async fn malformed_request_line_gets_400() {
    assert_400_and_close(request("GET /index.html\nhost: x\n\n")).await;
}

#[tokio::test]
async fn method_with_bad_characters_gets_400() {
    assert_400_and_close(request("G(E)T / HTTP/1.1\nhost: x\n\n")).await;
}

#[tokio::test]
async fn invalid_header_name_gets_400() {
    assert_400_and_close(request("GET / HTTP/1.1\nhost: x\nbad name: y\n\n")).await;
}

#[tokio::test]
async fn header_without_colon_gets_400() {
    assert_400_and_close(request("GET / HTTP/1.1\nhost: x\nno-colon-here\n\n")).await;
}

#[tokio::test]
async fn obsolete_line_folding_gets_400() {
    assert_400_and_close(request("GET / HTTP/1.1\nhost: x\nx-folded: a\n  b\n\n")).await;
}

#[tokio::test]
async fn nul_byte_in_header_value_gets_400() {
    assert_400_and_close(b"GET / HTTP/1.1\r\nhost: x\r\nx-nul: a\0b\r\n\r\n".to_vec()).await;
}

#[tokio::test]
async fn duplicate_content_length_with_different_values_gets_400() {
    let input = "POST /read HTTP/1.1\nhost: x\ncontent-length: 5\ncontent-length: 6\n\nhello!";
    assert_400_and_close(request(input)).await;
}

#[tokio::test]
async fn invalid_content_length_gets_400() {
    assert_400_and_close(request(
        "POST /read HTTP/1.1\nhost: x\ncontent-length: -5\n\n",
    ))
    .await;
}

#[tokio::test]
async fn transfer_encoding_other_than_chunked_gets_400() {
    let input = "POST /read HTTP/1.1\nhost: x\ntransfer-encoding: gzip\n\nhello";
    assert_400_and_close(request(input)).await;
}

#[tokio::test]
async fn transfer_encoding_on_http10_gets_400() {
    let input = "POST /read HTTP/1.0\nhost: x\ntransfer-encoding: chunked\n\n0\n\n";
    assert_400_and_close(request(input)).await;
}

// ---- Framing that hyper accepts, with care ---------------------------------

#[tokio::test]
async fn content_length_with_transfer_encoding_is_read_as_chunked_then_closed() {
    let server = Catalogue::plain().await;
    let input = "POST /read HTTP/1.1\nhost: x\ncontent-length: 100\n\
                 transfer-encoding: chunked\n\n5\nhello\n0\n\n";
    // Smuggled bytes after the chunked body must not become a request.
    let mut bytes = request(input);
    bytes.extend_from_slice(b"GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n");
    let answer = server.send(bytes).await;
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    assert_eq!(answer.body(), b"read 5");
    assert!(answer.has_header("connection: close"), "{answer:?}");
    assert_eq!(
        server.seen.calls.load(Ordering::SeqCst),
        1,
        "no smuggled request"
    );
    server.assert_still_serves().await;
}

#[tokio::test]
async fn non_utf8_header_value_is_accepted_byte_for_byte() {
    let server = Catalogue::plain().await;
    let input =
        b"GET /header HTTP/1.1\r\nhost: x\r\nx-bin: caf\xe9 \xff\r\nconnection: close\r\n\r\n";
    let answer = server.send(input.to_vec()).await;
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    assert_eq!(answer.body(), b"636166e920ff");
    server.assert_still_serves().await;
}

// ---- Bad bodies: the handler's read fails ----------------------------------

/// Sends a body the handler cannot read; it answers 400 with the error, and
/// the connection is closed after it.
async fn assert_body_read_fails(input: Vec<u8>) -> Vec<String> {
    let server = Catalogue::plain().await;
    let answer = server.send(input).await;
    assert_eq!(answer.status(), Some(400), "{answer:?}");
    let errors = server.seen.body_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    server.assert_still_serves().await;
    errors
}

#[tokio::test]
async fn bad_chunk_size_fails_the_body_read_and_closes() {
    let input = "POST /read HTTP/1.1\nhost: x\ntransfer-encoding: chunked\n\nzz\nhello\n0\n\n";
    assert_body_read_fails(request(input)).await;
}

#[tokio::test]
async fn chunk_extension_abuse_fails_the_body_read_and_closes() {
    // hyper allows 16 KiB of chunk extensions per body.
    let mut input = request("POST /read HTTP/1.1\nhost: x\ntransfer-encoding: chunked\n\n");
    for _ in 0..40 {
        input.extend_from_slice(b"1;");
        input.extend_from_slice(&[b'e'; 1000]);
        input.extend_from_slice(b"\r\nx\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    assert_body_read_fails(input).await;
}

#[tokio::test]
async fn truncated_body_then_close_fails_the_body_read() {
    let server = Catalogue::plain().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let input = "POST /read HTTP/1.1\nhost: x\ncontent-length: 100\n\nonly ten b";
    stream.write_all(&request(input)).await.unwrap();
    drop(stream);
    server
        .seen
        .until("the failed body read", |s| !s.body_errors().is_empty())
        .await;
    server.assert_still_serves().await;
}

#[tokio::test]
async fn reset_in_the_middle_of_a_body_fails_the_body_read() {
    let server = Catalogue::plain().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut input = request("POST /read HTTP/1.1\nhost: x\ncontent-length: 60000\n\n");
    input.extend_from_slice(&[b'a'; 20_000]);
    stream.write_all(&input).await.unwrap();
    server
        .seen
        .until("the handler", |s| s.calls.load(Ordering::SeqCst) == 1)
        .await;
    // SO_LINGER 0: closing sends a RST instead of a FIN.
    stream.set_zero_linger().unwrap();
    drop(stream);
    server
        .seen
        .until("the failed body read", |s| !s.body_errors().is_empty())
        .await;
    server.assert_still_serves().await;
}

// ---- Half-closed clients: the response still comes --------------------------

/// Writes `input`, shuts the write side (a FIN; over TLS a close_notify
/// first), and reads until the server closes.
async fn half_closed<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, input: &[u8]) -> String {
    stream.write_all(input).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut bytes = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut bytes))
        .await
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A client that half-closes after its request still gets the whole
/// response.
async fn assert_half_closed_client_gets_its_response(server: Catalogue) {
    let input = request("POST /read HTTP/1.1\nhost: x\ncontent-length: 5\n\nhello");
    let answer = if server.cert.is_some() {
        half_closed(server.tls_connect(tls::ALPN_HTTP11).await, &input).await
    } else {
        half_closed(TcpStream::connect(server.addr()).await.unwrap(), &input).await
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.ends_with("read 5"), "{answer:?}");
    server.assert_still_serves().await;
}

#[tokio::test]
async fn half_closed_client_gets_its_response() {
    assert_half_closed_client_gets_its_response(Catalogue::plain().await).await;
}

#[tokio::test]
async fn half_closed_tls_client_gets_its_response() {
    assert_half_closed_client_gets_its_response(Catalogue::tls().await).await;
}

// ---- Stalled bodies: 408, then the connection is closed -------------------

/// A body promised by `Content-Length` of which 3 bytes come, then nothing:
/// the handler's read fails once it has waited the body read timeout, and
/// the client gets 408 and a closed connection.
async fn assert_stalled_body_gets_408(server: Catalogue) {
    let input = request("POST /read HTTP/1.1\nhost: x\ncontent-length: 100\n\nabc");
    let started = Instant::now();
    let answer = if server.cert.is_some() {
        server.send_tls(input).await
    } else {
        server.send(input).await
    };
    let waited = started.elapsed();
    assert_eq!(answer.status(), Some(408), "{answer:?}");
    assert!(answer.has_header("connection: close"), "{answer:?}");
    assert!(waited >= BODY_READ_TIMEOUT, "answered after {waited:?}");
    let errors = server.seen.body_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("timed out"), "{errors:?}");
    server.assert_still_serves().await;
}

#[tokio::test]
async fn stalled_body_gets_408_and_close() {
    assert_stalled_body_gets_408(Catalogue::plain().await).await;
}

#[tokio::test]
async fn stalled_body_over_tls_gets_408_and_close() {
    assert_stalled_body_gets_408(Catalogue::tls().await).await;
}

// ---- Request targets that do not fit the method (RFC 9112 §3.2) -----------

async fn assert_targets_are_checked(server: Catalogue) {
    let send = |input: &str| {
        let input = request(input);
        let tls = server.cert.is_some();
        let server = &server;
        async move {
            if tls {
                server.send_tls(input).await
            } else {
                server.send(input).await
            }
        }
    };
    for input in [
        "GET * HTTP/1.1\nhost: x\nconnection: close\n\n",
        "DELETE * HTTP/1.1\nhost: x\nconnection: close\n\n",
        "GET example.org:443 HTTP/1.1\nhost: example.org\nconnection: close\n\n",
        "GET ftp://example.org/file HTTP/1.1\nhost: example.org\nconnection: close\n\n",
        "CONNECT /path HTTP/1.1\nhost: x\nconnection: close\n\n",
    ] {
        let answer = send(input).await;
        assert_eq!(answer.status(), Some(400), "{input:?}: {answer:?}");
    }
    let answer = send("CONNECT example.org:443 HTTP/1.1\nhost: example.org:443\n\n").await;
    assert_eq!(answer.status(), Some(405), "{answer:?}");
    assert!(
        answer.has_header("allow: get, head, post, put, delete, patch, options"),
        "{answer:?}"
    );
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    let answer = send("OPTIONS * HTTP/1.1\nhost: x\nconnection: close\n\n").await;
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 1);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn targets_that_do_not_fit_the_method_get_400_and_connect_405() {
    assert_targets_are_checked(Catalogue::plain().await).await;
}

#[tokio::test]
async fn targets_that_do_not_fit_the_method_over_tls_get_400_and_connect_405() {
    assert_targets_are_checked(Catalogue::tls().await).await;
}

// ---- Limits ----------------------------------------------------------------

#[tokio::test]
async fn oversize_headers_get_431() {
    let server = Catalogue::plain().await;
    let input = format!(
        "GET / HTTP/1.1\nhost: x\nx-big: {}\n\n",
        "a".repeat(MAX_HEADER + 1)
    );
    let answer = server.send(request(&input)).await;
    assert_eq!(answer.status(), Some(431), "{answer:?}");
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn more_than_100_header_fields_get_431() {
    let server = Catalogue::plain().await;
    let fields: String = (0..101).map(|i| format!("x-{i}: y\n")).collect();
    let answer = server
        .send(request(&format!("GET / HTTP/1.1\nhost: x\n{fields}\n")))
        .await;
    assert_eq!(answer.status(), Some(431), "{answer:?}");
    server.assert_still_serves().await;
}

#[tokio::test]
async fn ten_megabyte_url_gets_431() {
    let server = Catalogue::plain().await;
    let mut input = b"GET /".to_vec();
    input.resize(10 << 20, b'a');
    input.extend_from_slice(b" HTTP/1.1\r\nhost: x\r\n\r\n");
    let answer = server.send(input).await;
    assert_eq!(answer.status(), Some(431), "{answer:?}");
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn oversize_body_by_content_length_gets_413_without_calling_the_handler() {
    let server = Catalogue::plain().await;
    let mut input = request(&format!(
        "POST /read HTTP/1.1\nhost: x\ncontent-length: {}\n\n",
        MAX_BODY + 1
    ));
    input.extend_from_slice(&[b'a'; 1000]);
    let answer = server.send(input).await;
    assert_eq!(answer.status(), Some(413), "{answer:?}");
    assert!(answer.has_header("connection: close"), "{answer:?}");
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn oversize_chunked_body_gets_413_when_the_limit_is_passed() {
    let server = Catalogue::plain().await;
    let mut input = request("POST /read HTTP/1.1\nhost: x\ntransfer-encoding: chunked\n\n");
    for _ in 0..(MAX_BODY / 1000 + 2) {
        input.extend_from_slice(b"3e8\r\n");
        input.extend_from_slice(&[b'a'; 1000]);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    let answer = server.send(input).await;
    // The handler answered 400 to its failed read; the server says 413.
    assert_eq!(answer.status(), Some(413), "{answer:?}");
    assert!(answer.has_header("connection: close"), "{answer:?}");
    let errors = server
        .seen
        .body_errors
        .lock()
        .unwrap()
        .drain(..)
        .collect::<Vec<_>>();
    assert!(
        matches!(errors[..], [paf_core::Error::BodyTooLarge { limit }] if limit == MAX_BODY),
        "{errors:?}"
    );
    server.assert_still_serves().await;
}

#[tokio::test]
async fn never_finished_headers_are_cut_off_without_response() {
    let server = Catalogue::plain().await;
    let begun = Instant::now();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // Slowloris: a header line now and then, never the blank line.
    let trickle = async {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream
                .write_all(format!("x-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let _ = timeout(LIMIT, trickle).await;
    let took = begun.elapsed();
    assert!(took >= HEADER_READ_TIMEOUT, "cut after {took:?}");
    assert!(took < HEADER_READ_TIMEOUT * 6, "cut after {took:?}");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "no response (no 408): {rest:?}");
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn client_that_reads_nothing_is_disconnected_after_send_timeout() {
    let server = Catalogue::plain().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // Read nothing while the server's writes block, then see how it ended.
    server
        .seen
        .until("the send timeout", |s| {
            let errors = s.connection_errors.lock().unwrap();
            errors.iter().any(|e| e.contains("read nothing"))
        })
        .await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    timeout(LIMIT, async {
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            received += n;
        }
    })
    .await
    .unwrap();
    assert!(received < BIG, "the whole {received} bytes came");
    server.assert_still_serves().await;
}

// ---- TLS -------------------------------------------------------------------

#[tokio::test]
async fn tls_garbage_instead_of_client_hello_is_closed_without_http() {
    let server = Catalogue::tls().await;
    let garbage: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let answer = server.send(garbage).await;
    assert!(!answer.bytes.starts_with(b"HTTP/"), "{answer:?}");
    server
        .seen
        .until("a handshake error", |s| {
            s.handshake_errors.load(Ordering::SeqCst) == 1
        })
        .await;
    server.assert_still_serves().await;
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_closed_without_http() {
    let server = Catalogue::tls().await;
    let answer = server.send(request("GET / HTTP/1.1\nhost: x\n\n")).await;
    assert!(!answer.bytes.starts_with(b"HTTP/"), "{answer:?}");
    server
        .seen
        .until("a handshake error", |s| {
            s.handshake_errors.load(Ordering::SeqCst) == 1
        })
        .await;
    server.assert_still_serves().await;
}

#[tokio::test]
async fn malformed_request_line_over_tls_gets_400() {
    let server = Catalogue::tls().await;
    let answer = server
        .send_tls(request("GET /index.html\nhost: x\n\n"))
        .await;
    assert_eq!(answer.status(), Some(400), "{answer:?}");
    server.assert_still_serves().await;
}

#[tokio::test]
async fn oversize_headers_over_tls_get_431() {
    let server = Catalogue::tls().await;
    let input = format!(
        "GET / HTTP/1.1\nhost: x\nx-big: {}\n\n",
        "a".repeat(MAX_HEADER + 1)
    );
    let answer = server.send_tls(request(&input)).await;
    assert_eq!(answer.status(), Some(431), "{answer:?}");
    server.assert_still_serves().await;
}

#[tokio::test]
async fn bad_chunk_size_over_tls_fails_the_body_read() {
    let server = Catalogue::tls().await;
    let input = "POST /read HTTP/1.1\nhost: x\ntransfer-encoding: chunked\n\nzz\nhello\n0\n\n";
    let answer = server.send_tls(request(input)).await;
    assert_eq!(answer.status(), Some(400), "{answer:?}");
    assert_eq!(server.seen.body_errors().len(), 1);
    server.assert_still_serves().await;
}

// ---- HTTP/2 ----------------------------------------------------------------

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const REFUSED_STREAM: u32 = 0x7;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = len[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A GET for `path` as an HPACK block that uses no dynamic table:
/// `:method GET`, `:scheme http` (static), `:path` and `:authority x`
/// (literal without indexing).
fn get_block(path: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x04, u8::try_from(path.len()).unwrap()];
    block.extend_from_slice(path.as_bytes());
    block.extend_from_slice(&[0x01, 0x01, b'x']);
    block
}

/// Reads frames until `done` says so or the connection ends: (type, flags,
/// stream, payload) of each.
async fn read_frames<S: AsyncRead + Unpin>(
    stream: &mut S,
    done: impl Fn(&[(u8, u8, u32, Vec<u8>)]) -> bool,
) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut frames = Vec::new();
    let _ = timeout(LIMIT, async {
        while !done(&frames) {
            let mut head = [0u8; 9];
            if stream.read_exact(&mut head).await.is_err() {
                return;
            }
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & !(1 << 31);
            let mut payload = vec![0u8; len];
            if stream.read_exact(&mut payload).await.is_err() {
                return;
            }
            frames.push((head[3], head[4], stream_id, payload));
        }
    })
    .await;
    frames
}

#[tokio::test]
async fn http2_preface_then_garbage_gets_goaway_and_close() {
    let server = Catalogue::plain().await;
    let mut input = H2_PREFACE.to_vec();
    input.extend_from_slice(b"this is not a frame, not at all, no.");
    let answer = server.send(input).await;
    let mut rest = &answer.bytes[..];
    let frames = read_frames(&mut rest, |_| false).await;
    assert!(
        frames.iter().any(|f| f.0 == GOAWAY),
        "no GOAWAY in {:?}",
        frames.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    server.assert_still_serves().await;
}

#[tokio::test]
async fn http2_stream_flood_past_the_limit_is_refused() {
    let server = Catalogue::plain().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let flood = 3 * MAX_STREAMS;
    let mut input = H2_PREFACE.to_vec();
    input.extend(frame(SETTINGS, 0, 0, &[]));
    for i in 0..flood {
        let block = get_block("/hold");
        input.extend(frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1, &block));
    }
    stream.write_all(&input).await.unwrap();
    let refused = |frames: &[(u8, u8, u32, Vec<u8>)]| {
        let codes = frames.iter().filter(|f| f.0 == RST_STREAM);
        codes
            .filter(|f| f.3[..] == REFUSED_STREAM.to_be_bytes())
            .count() as u32
    };
    let answered =
        |frames: &[(u8, u8, u32, Vec<u8>)]| frames.iter().filter(|f| f.0 == HEADERS).count() as u32;
    let frames = read_frames(&mut stream, |frames| {
        refused(frames) + answered(frames) >= flood
    })
    .await;
    assert_eq!(refused(&frames), flood - MAX_STREAMS);
    assert_eq!(answered(&frames), MAX_STREAMS);
    assert!(server.seen.calls.load(Ordering::SeqCst) <= MAX_STREAMS as usize);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn http2_client_with_many_concurrent_requests_is_held_to_the_limit() {
    let server = Catalogue::plain().await;
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    // Once the server's SETTINGS are in (after a first exchange), the
    // client holds its streams to the advertised limit; before, it may
    // open more and see the excess refused, as the flood test shows.
    let first = Request::get("http://x/").body(String::new()).unwrap();
    let response = timeout(LIMIT, send.send_request(first)).await.unwrap();
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    let requests = (0..3 * MAX_STREAMS).map(|_| {
        let mut send = send.clone();
        async move {
            let request = Request::get("http://x/hold").body(String::new()).unwrap();
            let response = timeout(LIMIT, send.send_request(request)).await.unwrap();
            response.unwrap().status()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let most = server.seen.most_held.load(Ordering::SeqCst);
    assert_eq!(most, MAX_STREAMS as usize, "streams served at once");
    server.assert_still_serves().await;
}

#[tokio::test]
async fn oversize_http2_body_without_length_gets_413() {
    let server = Catalogue::plain().await;
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let chunks =
        (0..MAX_BODY / 1000 + 2).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 1000])));
    let body = Body::from_stream(stream::iter(chunks));
    let request = Request::post("http://x/read").body(body).unwrap();
    let response = timeout(LIMIT, send.send_request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The connection carries on: HTTP/2 resets only the stream.
    let request = Request::get("http://x/").body(Body::empty()).unwrap();
    let response = timeout(LIMIT, send.send_request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.assert_still_serves().await;
}

#[tokio::test]
async fn oversize_http2_headers_get_431_on_the_stream() {
    let server = Catalogue::plain().await;
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let big = "a".repeat(MAX_HEADER + 1);
    let request = Request::get("http://x/")
        .header("x-big", big)
        .body(Body::empty())
        .unwrap();
    let response = timeout(LIMIT, send.send_request(request)).await.unwrap();
    assert_eq!(
        response.unwrap().status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(server.seen.calls.load(Ordering::SeqCst), 0);
    // Only the stream failed: the connection goes on.
    let request = Request::get("http://x/").body(Body::empty()).unwrap();
    let response = timeout(LIMIT, send.send_request(request)).await.unwrap();
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    server.assert_still_serves().await;
}
