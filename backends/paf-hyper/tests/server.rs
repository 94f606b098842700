//! The server against real clients on loopback: hyper's client connections
//! over TCP, TLS, Unix sockets and in-memory pipes, raw bytes, and curl.

// clippy.toml allows unwrap in `#[test]` functions; the client helpers here
// are test code too, and a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use http::{Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use paf_core::{
    ctx::Io,
    rustls::{pki_types::ServerName, ServerConfig},
    server::{status_response, ConnInfo, Handler, PeerAddr, ServerError},
    tls, Body,
};
use paf_hyper::{Running, Server, ServerBuilder};
use paf_testkit::TestCert;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::Command,
    sync::Notify,
    time::timeout,
};

/// Upper bound for anything a test waits on: a bug fails, never hangs.
const LIMIT: Duration = Duration::from_secs(10);

fn loopback() -> SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// Answers with what it saw: method, path, version, peer, SNI and body.
async fn echo(req: Request<Body>) -> Response<Body> {
    let info = ConnInfo::of(&req).cloned();
    let head = format!("{} {}", req.method(), req.uri().path());
    let body = req
        .into_body()
        .to_string(1 << 20)
        .await
        .unwrap_or_else(|e| format!("<body error: {e}>"));
    let (version, peer, sni) = match info {
        Some(info) => (
            format!("{:?}", info.version),
            info.peer.to_string(),
            info.tls.and_then(|t| t.sni).unwrap_or_default(),
        ),
        None => ("no ConnInfo".into(), String::new(), String::new()),
    };
    Response::new(Body::from(format!(
        "{head} {version} peer={peer} sni={sni} body={body}"
    )))
}

/// An HTTP/1.1 client connection over any stream.
struct H1(http1::SendRequest<String>);

impl H1 {
    async fn over(io: impl Io) -> H1 {
        let (send, conn) = timeout(LIMIT, http1::handshake(TokioIo::new(io)))
            .await
            .unwrap()
            .unwrap();
        tokio::spawn(conn);
        H1(send)
    }

    async fn connect(addr: SocketAddr) -> H1 {
        H1::over(TcpStream::connect(addr).await.unwrap()).await
    }

    async fn send(&mut self, method: &str, path: &str, body: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .body(body.to_string())
            .unwrap();
        timeout(LIMIT, async {
            self.0.ready().await.unwrap();
            let response = self.0.send_request(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        })
        .await
        .unwrap()
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        self.send("GET", path, "").await
    }
}

/// An HTTP/2 client connection over any stream.
async fn h2_get(io: impl Io, path: &str) -> (StatusCode, Version, String) {
    timeout(LIMIT, async {
        let (mut send, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
        tokio::spawn(conn);
        let request = Request::get(format!("https://localhost{path}"))
            .body(String::new())
            .unwrap();
        let response = send.send_request(request).await.unwrap();
        let (status, version) = (response.status(), response.version());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, version, String::from_utf8(body.to_vec()).unwrap())
    })
    .await
    .unwrap()
}

/// paf's own server configuration (ALPN `h2` then `http/1.1`) for `cert`.
fn server_tls(cert: &TestCert) -> ServerConfig {
    tls::server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap()
}

/// A TLS connection to `localhost` at `addr`, trusting only `ca_pem`,
/// offering ALPN h2 then http/1.1.
async fn tls_connect(addr: SocketAddr, ca_pem: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
    let config = tls::ClientTls::new()
        .webpki_roots(false)
        .add_roots_pem(ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    timeout(
        LIMIT,
        connector.connect(ServerName::try_from("localhost").unwrap(), tcp),
    )
    .await
    .unwrap()
    .unwrap()
}

/// A server on a free loopback port.
async fn start(builder: ServerBuilder, handler: impl Handler) -> Running {
    builder.build(handler).bind_tcp(loopback()).await.unwrap()
}

fn addr_of(running: &Running) -> SocketAddr {
    running.local_addr().unwrap()
}

async fn stop(running: Running) {
    timeout(LIMIT, running.stop(Duration::from_secs(1)))
        .await
        .unwrap();
}

/// How long `running.stop(grace)` took.
async fn timed_stop(running: Running, grace: Duration) -> Duration {
    let begun = Instant::now();
    timeout(LIMIT, running.stop(grace)).await.unwrap();
    begun.elapsed()
}

/// A TCP connection that has sent `bytes`.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads until the peer closes (or resets) the connection.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut seen))
        .await
        .expect("the server should close the connection");
    seen
}

async fn curl_available() -> bool {
    let found = Command::new("curl")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|out| out.status.success());
    if !found {
        println!("curl is not on PATH: test skipped");
    }
    found
}

#[tokio::test]
async fn get_and_post_round_trip_over_tcp() {
    let running = start(Server::builder(), echo).await;
    let addr = addr_of(&running);
    assert_ne!(addr.port(), 0);
    assert_eq!(
        running.url().unwrap(),
        format!("http://127.0.0.1:{}", addr.port())
    );

    let mut client = H1::connect(addr).await;
    let (status, body) = client.get("/hello").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.starts_with("GET /hello HTTP/1.1 peer=127.0.0.1:"),
        "{body}"
    );
    assert!(body.ends_with(" body="), "{body}");
    // The same (kept-alive) connection carries the next request.
    let (status, body) = client.send("POST", "/submit", "payload").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("POST /submit HTTP/1.1"), "{body}");
    assert!(body.ends_with("body=payload"), "{body}");
    stop(running).await;
}

#[tokio::test]
async fn conn_info_can_be_left_out_of_requests() {
    let running = start(Server::builder().conn_info(false), echo).await;
    let mut client = H1::connect(addr_of(&running)).await;
    let (status, body) = client.send("POST", "/plain", "payload").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "POST /plain no ConnInfo peer= sni= body=payload");
    // HTTP/2 as well.
    let tcp = TcpStream::connect(addr_of(&running)).await.unwrap();
    let (status, _, body) = h2_get(tcp, "/h2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "GET /h2 no ConnInfo peer= sni= body=");
    stop(running).await;
}

#[tokio::test]
async fn http2_prior_knowledge_on_plain_tcp() {
    let running = start(Server::builder(), echo).await;
    let tcp = TcpStream::connect(addr_of(&running)).await.unwrap();
    let (status, version, body) = h2_get(tcp, "/h2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version, Version::HTTP_2);
    assert!(
        body.starts_with("GET /h2 HTTP/2.0 peer=127.0.0.1:"),
        "{body}"
    );
    stop(running).await;
}

#[tokio::test]
async fn tls_alpn_h2_and_http11() {
    let cert = TestCert::localhost();

    // ALPN h2 and http/1.1 offered by both: HTTP/2.
    let running = start(Server::builder().tls(Arc::new(server_tls(&cert))), echo).await;
    let addr = addr_of(&running);
    assert_eq!(
        running.url().unwrap(),
        format!("https://127.0.0.1:{}", addr.port())
    );
    let stream = tls_connect(addr, &cert.cert_pem).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(tls::ALPN_H2));
    let (status, version, body) = h2_get(stream, "/secure").await;
    assert_eq!((status, version), (StatusCode::OK, Version::HTTP_2));
    assert!(body.starts_with("GET /secure HTTP/2.0 "), "{body}");
    assert!(body.contains(" sni=localhost "), "{body}");
    stop(running).await;

    // A server that offers http/1.1 only: HTTP/1.1, whatever the client offers.
    let mut config = server_tls(&cert);
    config.alpn_protocols = vec![tls::ALPN_HTTP11.to_vec()];
    let running = start(Server::builder().tls(Arc::new(config)), echo).await;
    let stream = tls_connect(addr_of(&running), &cert.cert_pem).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(tls::ALPN_HTTP11));
    let (status, body) = H1::over(stream).await.get("/secure").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("GET /secure HTTP/1.1 "), "{body}");
    assert!(body.contains(" sni=localhost "), "{body}");
    stop(running).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paf.sock");
    let running = Server::new(echo).bind_unix(&path).await.unwrap();
    assert_eq!(running.unix_path(), Some(path.as_path()));
    assert_eq!(running.local_addr(), None);
    assert_eq!(running.url(), None);

    let unix = tokio::net::UnixStream::connect(&path).await.unwrap();
    let (status, body) = H1::over(unix).await.send("PUT", "/u", "over unix").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("PUT /u HTTP/1.1 peer=unix:"), "{body}");
    assert!(body.ends_with("body=over unix"), "{body}");

    stop(running).await;
    assert!(!path.exists(), "the socket file is removed on stop");
}

#[cfg(unix)]
#[tokio::test]
async fn bind_unix_replaces_only_a_stale_socket() {
    let dir = tempfile::tempdir().unwrap();

    // A regular file is never clobbered.
    let file = dir.path().join("data.txt");
    std::fs::write(&file, "precious").unwrap();
    let err = Server::new(echo).bind_unix(&file).await.unwrap_err();
    assert!(err.to_string().contains("I/O error"), "{err}");
    let io = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        io.contains("data.txt") && io.contains("not a socket"),
        "{io}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");

    // A socket a live server accepts on is not taken over.
    let path = dir.path().join("live.sock");
    let live = Server::new(echo).bind_unix(&path).await.unwrap();
    let err = Server::new(echo).bind_unix(&path).await.unwrap_err();
    let io = std::error::Error::source(&err).unwrap().to_string();
    assert!(io.contains("live.sock") && io.contains("listening"), "{io}");
    stop(live).await;

    // A socket file left behind by a dead server is replaced.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let running = Server::new(echo).bind_unix(&stale).await.unwrap();
    let unix = tokio::net::UnixStream::connect(&stale).await.unwrap();
    assert_eq!(H1::over(unix).await.get("/").await.0, StatusCode::OK);
    stop(running).await;
}

#[tokio::test]
async fn binding_a_taken_port_names_the_address() {
    let running = start(Server::builder(), echo).await;
    let addr = addr_of(&running);
    let err = Server::new(echo).bind_tcp(addr).await.unwrap_err();
    let io = std::error::Error::source(&err).unwrap();
    assert!(io.to_string().contains(&addr.to_string()), "{io}");
    stop(running).await;
}

#[tokio::test]
async fn url_of_unspecified_address_is_loopback() {
    let running = Server::new(echo)
        .bind_tcp(([0, 0, 0, 0], 0).into())
        .await
        .unwrap();
    let port = addr_of(&running).port();
    assert_eq!(running.url().unwrap(), format!("http://127.0.0.1:{port}"));
    stop(running).await;
    // IPv6 literals are bracketed (when the machine has IPv6 loopback).
    if let Ok(running) = Server::new(echo).bind_tcp("[::1]:0".parse().unwrap()).await {
        let port = addr_of(&running).port();
        assert_eq!(running.url().unwrap(), format!("http://[::1]:{port}"));
        stop(running).await;
    }
}

/// A server whose handler signals when it starts, then answers after `delay`.
async fn slow_server(delay: Duration) -> (Running, Arc<Notify>) {
    let started = Arc::new(Notify::new());
    let signal = started.clone();
    let handler = move |_req: Request<Body>| {
        let started = signal.clone();
        async move {
            started.notify_one();
            tokio::time::sleep(delay).await;
            Response::new(Body::from("slow but complete"))
        }
    };
    (start(Server::builder(), handler).await, started)
}

#[tokio::test]
async fn stop_tells_a_busy_http1_connection_to_close_after_its_response() {
    let (running, started) = slow_server(Duration::from_millis(300)).await;
    let addr = addr_of(&running);
    // A keep-alive request in progress when the stop comes: it is answered,
    // with `connection: close`, so the client sends nothing more on it.
    let mut busy = raw(addr, b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n").await;
    timeout(LIMIT, started.notified()).await.unwrap();
    let stopping = tokio::spawn(timed_stop(running, Duration::from_secs(5)));
    let answer = String::from_utf8(read_to_close(&mut busy).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answer:?}"
    );
    assert!(answer.ends_with("slow but complete"), "{answer:?}");
    stopping.await.unwrap();
}

#[tokio::test]
async fn stop_lets_in_flight_request_finish_and_refuses_new_connections() {
    let (running, started) = slow_server(Duration::from_millis(500)).await;
    let addr = addr_of(&running);

    // A kept-alive idle connection must not hold the stop up.
    let mut idle = raw(addr, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await;
    timeout(LIMIT, started.notified()).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = timeout(LIMIT, idle.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));

    let in_flight = tokio::spawn(async move { H1::connect(addr).await.get("/slow").await });
    timeout(LIMIT, started.notified()).await.unwrap();
    let took = timed_stop(running, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(300), "stop waited {took:?}");
    assert!(took < Duration::from_secs(4), "stop waited {took:?}");

    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "slow but complete");
    // The idle connection was closed by the stop.
    assert_eq!(
        timeout(LIMIT, idle.read(&mut buf)).await.unwrap().unwrap(),
        0
    );
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn stop_lets_in_flight_http2_stream_finish() {
    let (running, started) = slow_server(Duration::from_millis(300)).await;
    let tcp = TcpStream::connect(addr_of(&running)).await.unwrap();
    let in_flight = tokio::spawn(async move { h2_get(tcp, "/slow").await });
    timeout(LIMIT, started.notified()).await.unwrap();
    // GOAWAY closed the connection once its stream was done, well before
    // the grace period ran out.
    let took = timed_stop(running, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "stop waited {took:?}");
    let (status, version, body) = in_flight.await.unwrap();
    assert_eq!((status, version), (StatusCode::OK, Version::HTTP_2));
    assert_eq!(body, "slow but complete");
}

#[tokio::test]
async fn stop_aborts_after_grace() {
    let (running, started) = slow_server(Duration::from_secs(3600)).await;
    let addr = addr_of(&running);
    let mut stream = raw(addr, b"GET /never HTTP/1.1\r\nhost: x\r\n\r\n").await;
    timeout(LIMIT, started.notified()).await.unwrap();

    let took = timed_stop(running, Duration::from_millis(200)).await;
    assert!(took >= Duration::from_millis(200), "stop waited {took:?}");
    assert!(took < Duration::from_secs(3), "stop waited {took:?}");
    // The aborted connection is closed without a response.
    assert!(read_to_close(&mut stream).await.is_empty());
}

#[tokio::test]
async fn stop_handle_ends_wait() {
    let running = start(Server::builder(), echo).await;
    let handle = running.stop_handle();
    assert!(!handle.is_stopped());
    let waiting = tokio::spawn(running.wait());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    handle.stop(Duration::from_secs(1));
    assert!(handle.is_stopped());
    timeout(LIMIT, waiting).await.unwrap().unwrap();
}

#[tokio::test]
async fn handler_panic_becomes_500_and_server_goes_on() {
    let server = Server::new(|req: Request<Body>| async move {
        if req.uri().path() == "/panic" {
            panic!("boom");
        }
        Response::new(Body::from("fine"))
    });
    let running = server.bind_tcp(loopback()).await.unwrap();
    let mut client = H1::connect(addr_of(&running)).await;
    let (status, body) = client.get("/panic").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "Internal Server Error", "no internals leak");
    // Same connection, then a new one: both still served.
    assert_eq!(client.get("/ok").await, (StatusCode::OK, "fine".into()));
    let mut other = H1::connect(addr_of(&running)).await;
    assert_eq!(other.get("/ok").await, (StatusCode::OK, "fine".into()));
    stop(running).await;
}

#[tokio::test]
async fn error_handler_answers_panics_and_timeouts() {
    let server = Server::builder()
        .handler_timeout(Duration::from_millis(200))
        .error_handler(|error: &ServerError| {
            let (status, text) = match error {
                ServerError::HandlerPanicked { message, .. } => {
                    (StatusCode::BAD_GATEWAY, format!("panicked: {message}"))
                }
                ServerError::HandlerTimeout { after, .. } => {
                    (StatusCode::GATEWAY_TIMEOUT, format!("timed out: {after:?}"))
                }
                other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
            };
            let mut response = Response::new(Body::from(text));
            *response.status_mut() = status;
            response
        })
        .build(|req: Request<Body>| async move {
            match req.uri().path() {
                "/panic" => panic!("formatted {}", 42),
                "/slow" => tokio::time::sleep(Duration::from_secs(3600)).await,
                _ => {}
            }
            Response::new(Body::from("fine"))
        });
    let running = server.bind_tcp(loopback()).await.unwrap();
    let mut client = H1::connect(addr_of(&running)).await;
    assert_eq!(
        client.get("/panic").await,
        (StatusCode::BAD_GATEWAY, "panicked: formatted 42".into())
    );
    assert_eq!(
        client.get("/slow").await,
        (StatusCode::GATEWAY_TIMEOUT, "timed out: 200ms".into())
    );
    assert_eq!(client.get("/").await, (StatusCode::OK, "fine".into()));
    stop(running).await;
}

/// An error handler that counts what it hears.
#[derive(Clone, Default)]
struct Counts {
    handshakes: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl Counts {
    fn handler(&self) -> impl Fn(&ServerError) -> Response<Body> + Send + Sync + 'static {
        let counts = self.clone();
        move |error: &ServerError| {
            match error {
                ServerError::Handshake { .. } => counts.handshakes.fetch_add(1, Ordering::SeqCst),
                ServerError::Connection { .. } => counts.connections.fetch_add(1, Ordering::SeqCst),
                _ => 0,
            };
            status_response(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }

    /// Waits (boundedly) until `counter` reaches `at_least`.
    async fn reach(counter: &AtomicUsize, at_least: usize) {
        timeout(LIMIT, async {
            while counter.load(Ordering::SeqCst) < at_least {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the error handler should have heard of the failure");
    }
}

#[tokio::test]
async fn bad_connection_does_not_stop_the_server() {
    let cert = TestCert::localhost();
    let counts = Counts::default();
    let running = start(
        Server::builder()
            .tls(Arc::new(server_tls(&cert)))
            .error_handler(counts.handler()),
        echo,
    )
    .await;
    let addr = addr_of(&running);

    // Plain HTTP to the TLS port: the handshake fails, the connection closes.
    read_to_close(&mut raw(addr, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await).await;
    // Random bytes, and a client that leaves at once.
    drop(raw(addr, &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3]).await);
    drop(TcpStream::connect(addr).await.unwrap());
    Counts::reach(&counts.handshakes, 3).await;

    let stream = tls_connect(addr, &cert.cert_pem).await;
    let (status, _, body) = h2_get(stream, "/after").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("GET /after HTTP/2.0"), "{body}");
    stop(running).await;
}

#[tokio::test]
async fn malformed_http_gets_400_and_server_goes_on() {
    let counts = Counts::default();
    let running = start(Server::builder().error_handler(counts.handler()), echo).await;
    let addr = addr_of(&running);
    let answer = read_to_close(&mut raw(addr, b"NOT\x01HTTP AT ALL\r\n\r\n").await).await;
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
    Counts::reach(&counts.connections, 1).await;
    assert_eq!(H1::connect(addr).await.get("/").await.0, StatusCode::OK);
    stop(running).await;
}

#[tokio::test]
async fn silent_or_slow_clients_are_cut_off_after_header_read_timeout() {
    let running = start(
        Server::builder().header_read_timeout(Duration::from_millis(300)),
        echo,
    )
    .await;
    let addr = addr_of(&running);

    // A client that says nothing at all.
    let begun = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    read_to_close(&mut silent).await;
    assert!(begun.elapsed() >= Duration::from_millis(250));

    // A client that never finishes its request head.
    let begun = Instant::now();
    let answer = read_to_close(&mut raw(addr, b"GET / HTTP/1.1\r\nhost: x\r\n").await).await;
    assert!(begun.elapsed() >= Duration::from_millis(250));
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");

    assert_eq!(H1::connect(addr).await.get("/").await.0, StatusCode::OK);
    stop(running).await;
}

#[tokio::test]
async fn tls_handshake_timeout_drops_a_stalled_client() {
    let cert = TestCert::localhost();
    let counts = Counts::default();
    let running = start(
        Server::builder()
            .tls(Arc::new(server_tls(&cert)))
            .tls_handshake_timeout(Duration::from_millis(300))
            .error_handler(counts.handler()),
        echo,
    )
    .await;
    let mut stalled = TcpStream::connect(addr_of(&running)).await.unwrap();
    read_to_close(&mut stalled).await;
    Counts::reach(&counts.handshakes, 1).await;
    stop(running).await;
}

#[tokio::test]
async fn serve_connection_over_in_memory_duplex() {
    let server = Server::new(echo);
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let serving = tokio::spawn(async move {
        server
            .serve_connection(server_end, PeerAddr::Other("mem".into()))
            .await
    });
    let mut client = H1::over(client).await;
    let (status, body) = client.send("POST", "/mem", "in memory").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "POST /mem HTTP/1.1 peer=mem sni= body=in memory");
    // The connection's end ends serve_connection.
    drop(client);
    timeout(LIMIT, serving).await.unwrap().unwrap();
}

async fn hello(req: Request<Body>) -> Response<Body> {
    Response::new(Body::from(format!("hello over {:?}\n", req.version())))
}

async fn curl(args: &[&str]) -> String {
    let out = timeout(LIMIT, Command::new("curl").args(args).output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn curl_http2_against_https_server() {
    if !curl_available().await {
        return;
    }
    let cert = TestCert::localhost();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.cert_pem).unwrap();
    let running = start(Server::builder().tls(Arc::new(server_tls(&cert))), hello).await;
    let port = addr_of(&running).port();
    let out = curl(&[
        "--http2",
        "--cacert",
        path_str(&ca),
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        &format!("https://localhost:{port}/"),
        "-sS",
        "-o",
        "-",
        "-w",
        "%{http_version}",
    ])
    .await;
    assert_eq!(out, "hello over HTTP/2.0\n2");
    stop(running).await;
}

#[cfg(unix)]
#[tokio::test]
async fn curl_unix_socket() {
    if !curl_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curl.sock");
    let running = Server::new(hello).bind_unix(&path).await.unwrap();
    let out = curl(&[
        "-sS",
        "--unix-socket",
        path_str(&path),
        "http://localhost/x",
    ])
    .await;
    assert_eq!(out, "hello over HTTP/1.1\n");
    stop(running).await;
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn an_acme_tls_alpn_handshake_is_closed_after_it() {
    let cert = TestCert::localhost();
    let mut config = server_tls(&cert);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"acme-tls/1".to_vec()];
    let running = start(
        Server::builder().tls(Arc::new(config)),
        |_req: Request<Body>| async { Response::new(Body::from("served")) },
    )
    .await;
    let mut client = tls::ClientTls::new()
        .webpki_roots(false)
        .add_roots_pem(cert.cert_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    client.alpn_protocols = vec![b"acme-tls/1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr_of(&running)).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream = timeout(LIMIT, connector.connect(name, tcp))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"acme-tls/1"[..]));
    // RFC 8737: nothing follows the handshake. A request gets no answer.
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut answer))
        .await
        .unwrap();
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    stop(running).await;
}
