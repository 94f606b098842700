//! WebSocket (RFC 6455) on paf-hyper's upgrades, with tokio-tungstenite
//! framing the messages, against a WebSocket implementation nobody here
//! wrote: Python's `websockets`. paf's server takes its client's text,
//! binary and 1 MiB messages, ping and close; paf's client does the same
//! against its echo server. Each over plain TCP and over TLS.
//!
//! The peer is `python3` with `websockets` (PyPI, version 13 or later). When
//! it is missing the tests skip with a note, unless `PAF_REQUIRE_PEERS=1`
//! (as in CI), where they fail.

// clippy.toml allows unwrap in `#[test]` functions; the helpers here are test
// code too, and a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use std::{path::Path, process::Stdio, time::Duration};

use common::within;
use futures_util::{SinkExt, StreamExt};
use http::{
    header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE},
    HeaderMap, Method, Request, Response, StatusCode,
};
use paf_core::{
    tls::{ClientTls, ALPN_HTTP11},
    Body, Ctx,
};
use paf_hyper::{upgrade, Client, Running, Server};
use paf_testkit::TestCert;
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
    sync::mpsc,
};
use tokio_tungstenite::{
    tungstenite::{
        handshake::{client::generate_key, derive_accept_key},
        protocol::{frame::coding::CloseCode, CloseFrame, Role},
        Message,
    },
    WebSocketStream,
};

/// Seconds a test step may take before the test fails rather than hangs.
const STEP: u64 = 30;

/// What both sides send, as in `peers/ws_client.py`.
const TEXT: &str = "hello from websockets, ünïcødé ✓";
const PING: &[u8] = b"paf-ping";
const BIG_LEN: usize = 1 << 20;

fn binary() -> Vec<u8> {
    (0..=255).collect()
}

/// The 1 MiB message: the top byte of a multiplicative hash of each index,
/// so that no short period repeats and a misplaced chunk cannot echo back
/// equal.
fn big() -> Vec<u8> {
    (0..BIG_LEN as u32)
        .map(|i| i.wrapping_mul(0x9e37_79b1).to_be_bytes()[0])
        .collect()
}

// ------------------------------------------------------------- the server ---

/// Whether `name` lists `token` (a comma-separated, case-insensitive list).
fn has_token(headers: &HeaderMap, name: http::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// The `101` that accepts a WebSocket opening handshake (RFC 6455 §4.2.2),
/// or why the request is not one.
fn accept_handshake(req: &Request<Body>) -> Result<Response<Body>, &'static str> {
    let headers = req.headers();
    if req.method() != Method::GET {
        return Err("a WebSocket handshake is a GET");
    }
    if !has_token(headers, UPGRADE, "websocket") || !has_token(headers, CONNECTION, "upgrade") {
        return Err("no `upgrade: websocket` with `connection: upgrade`");
    }
    if headers.get(SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err("sec-websocket-version is not 13");
    }
    // The key is 16 random bytes in base64: 24 characters.
    let key = match headers.get(SEC_WEBSOCKET_KEY) {
        Some(key) if key.len() == 24 => key,
        _ => return Err("no 24-character sec-websocket-key"),
    };
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "upgrade")
        .header(SEC_WEBSOCKET_ACCEPT, derive_accept_key(key.as_bytes()))
        .body(Body::empty())
        .expect("valid response"))
}

/// What the server's side of one WebSocket saw: every message in order
/// (pings and the close frame included: tungstenite shows them, and answers
/// them itself), and how the stream ended.
struct Session {
    received: Vec<Message>,
    ended: Result<(), String>,
}

/// Accepts WebSocket handshakes and echoes text and binary messages; each
/// finished session goes to `sessions`. Anything else gets a `400`.
async fn echo_handler(
    mut req: Request<Body>,
    sessions: mpsc::UnboundedSender<Session>,
) -> Response<Body> {
    let response = match accept_handshake(&req) {
        Ok(response) => response,
        Err(why) => {
            let mut response = Response::new(Body::from(why));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    let upgrade = upgrade::request(&mut req);
    tokio::spawn(async move {
        let session = match upgrade.await {
            Ok(stream) => {
                echo(WebSocketStream::from_raw_socket(stream, Role::Server, None).await).await
            }
            Err(e) => Session {
                received: Vec::new(),
                ended: Err(format!("no upgrade: {e}")),
            },
        };
        let _ = sessions.send(session);
    });
    response
}

async fn echo(mut ws: WebSocketStream<upgrade::Upgraded>) -> Session {
    let mut received = Vec::new();
    let ended = loop {
        match ws.next().await {
            // tungstenite has answered the peer's close frame: the stream
            // ends once that answer is out.
            None => break Ok(()),
            Some(Err(e)) => break Err(e.to_string()),
            Some(Ok(message)) => {
                received.push(message.clone());
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    break Err("echo failed".into());
                }
            }
        }
    };
    // The server closes the TCP connection first (RFC 6455 §7.1.1); over
    // TLS, with a close_notify.
    let _ = ws.get_mut().shutdown().await;
    Session { received, ended }
}

/// How the peers reach each other.
#[derive(Clone, Copy, Debug)]
enum Over {
    Tcp,
    Tls,
}

/// paf's WebSocket echo server on a free loopback port.
struct EchoServer {
    running: Running,
    sessions: mpsc::UnboundedReceiver<Session>,
    /// `ws://127.0.0.1:PORT` or `wss://localhost:PORT` (the certificate's name).
    base: String,
}

impl EchoServer {
    async fn start(over: Over, cert: &TestCert) -> EchoServer {
        let (tx, sessions) = mpsc::unbounded_channel();
        let handler = move |req| echo_handler(req, tx.clone());
        let builder = match over {
            Over::Tcp => Server::builder(),
            // WebSocket handshakes are HTTP/1.1's (RFC 8441's over HTTP/2 is
            // not something paf's upgrades do).
            Over::Tls => Server::builder().tls(cert.server_config(&[ALPN_HTTP11])),
        };
        let running = builder
            .build(handler)
            .bind_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let port = running.local_addr().unwrap().port();
        let base = match over {
            Over::Tcp => format!("ws://127.0.0.1:{port}"),
            Over::Tls => format!("wss://localhost:{port}"),
        };
        EchoServer {
            running,
            sessions,
            base,
        }
    }

    /// The next session that ended.
    async fn session(&mut self) -> Session {
        within(STEP, self.sessions.recv())
            .await
            .expect("the handler reports its sessions")
    }

    async fn stop(self) {
        within(STEP, self.running.stop(Duration::from_secs(1))).await;
    }
}

// ---------------------------------------------------------------- Python ---

const WS_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/ws_client.py");
const WS_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/ws_server.py");

/// Whether `python3` with `websockets` runs here. A missing peer skips its
/// test with a note, except under `PAF_REQUIRE_PEERS=1`, where it fails it.
async fn websockets_present() -> bool {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import websockets.asyncio.client, websockets.asyncio.server",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    let found = matches!(
        tokio::time::timeout(Duration::from_secs(STEP), probe).await,
        Ok(Ok(status)) if status.success()
    );
    if !found {
        paf_testkit::skip_or_fail(
            "python3 with websockets",
            "PyPI: `pip install 'websockets>=13'`",
        );
    }
    found
}

/// Files the peers read: the test certificate (the Python side trusts it as
/// its CA, or serves it) and the 1 MiB payload.
struct Files {
    dir: TempDir,
    cert: TestCert,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let cert = TestCert::localhost();
        std::fs::write(dir.path().join("cert.pem"), &cert.cert_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &cert.key_pem).unwrap();
        std::fs::write(dir.path().join("big"), big()).unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        Files { dir, cert }
    }

    fn path(&self, name: &str) -> String {
        path_string(&self.dir.path().join(name))
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap()
    }
}

fn path_string(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// Python's echo server (`peers/ws_server.py`), killed on drop.
struct PythonServer {
    _process: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    port: u16,
}

impl PythonServer {
    async fn start(over: Over, files: &Files) -> PythonServer {
        let mut command = Command::new("python3");
        command.arg(WS_SERVER);
        if let Over::Tls = over {
            command.args([files.path("cert.pem"), files.path("key.pem")]);
        }
        let stderr = std::fs::File::create(files.dir.path().join("server.log")).unwrap();
        let mut process = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(process.stdout.take().unwrap()).lines();
        // It binds port 0 and says which port it got: no race for a port.
        let first = tokio::time::timeout(Duration::from_secs(STEP), stdout.next_line()).await;
        let port = match &first {
            Ok(Ok(Some(line))) => line.strip_prefix("port=").and_then(|p| p.parse().ok()),
            _ => None,
        };
        let Some(port) = port else {
            panic!(
                "ws_server.py did not start: {first:?}\n{}",
                String::from_utf8_lossy(&files.read("server.log"))
            );
        };
        PythonServer {
            _process: process,
            stdout,
            port,
        }
    }

    /// What it printed about one connection, up to its `closed` line.
    async fn connection_log(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while lines
            .last()
            .is_none_or(|l: &String| !l.starts_with("closed"))
        {
            let next = tokio::time::timeout(Duration::from_secs(STEP), self.stdout.next_line());
            match next.await {
                Ok(Ok(Some(line))) => lines.push(line),
                other => panic!("ws_server.py said {lines:?}, then {other:?}"),
            }
        }
        lines
    }
}

// -------------------------------------------- Python's client, paf's server ---

/// Python's client sends text, binary and 1 MiB messages, pings and closes
/// with 4001; paf's server must have echoed all of it, byte for byte, and
/// seen all of it, ping and close code included.
async fn python_client_against_paf_server(over: Over) {
    if !websockets_present().await {
        return;
    }
    let files = Files::new();
    let mut server = EchoServer::start(over, &files.cert).await;
    let url = format!("{}/chat", server.base);
    let run = Command::new("python3")
        .arg(WS_CLIENT)
        .args([
            url.clone(),
            files.path("cert.pem"),
            files.path("big"),
            files.path("out"),
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = within(STEP, run).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ws_client.py against {url} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    // What Python saw: each echo, the pong, and the server's close frame.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "echo name=text type=str",
            "echo name=binary type=bytes",
            "echo name=big type=bytes",
            "pong data=paf-ping",
        ],
        "{stdout}"
    );
    let closed = lines[4]
        .strip_prefix("closed code=4001 reason=bye from python seconds=")
        .unwrap_or_else(|| panic!("the server's close frame, as Python saw it: {stdout}"));
    // websockets gives up waiting for the server to close the TCP connection
    // after its close_timeout (5 s): a close well under it was clean.
    let seconds: f64 = closed.parse().unwrap();
    assert!(seconds < 4.0, "the close took {seconds} s");
    assert_eq!(files.read("out/text.echo"), TEXT.as_bytes());
    assert_eq!(files.read("out/binary.echo"), binary());
    assert!(
        files.read("out/big.echo") == big(),
        "the 1 MiB echo differs"
    );

    // What paf's server saw, in order.
    let session = server.session().await;
    assert_eq!(session.ended, Ok(()), "the server's stream ended cleanly");
    let [text, bin, big_message, ping, close] = &session.received[..] else {
        panic!(
            "{} messages: {:?}",
            session.received.len(),
            kinds(&session.received)
        );
    };
    assert_eq!(*text, Message::text(TEXT));
    assert_eq!(*bin, Message::binary(binary()));
    assert!(
        *big_message == Message::binary(big()),
        "the 1 MiB message differs"
    );
    assert_eq!(*ping, Message::Ping(PING.into()));
    assert_eq!(
        *close,
        Message::Close(Some(CloseFrame {
            code: CloseCode::from(4001),
            reason: "bye from python".into(),
        }))
    );
    server.stop().await;
}

/// Message kinds and sizes, for a failure message shorter than a megabyte.
fn kinds(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m {
            Message::Text(t) => format!("text {t:?}"),
            Message::Binary(b) => format!("binary, {} bytes", b.len()),
            Message::Close(frame) => format!("close {frame:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn python_client_gets_its_messages_echoed_over_ws() {
    python_client_against_paf_server(Over::Tcp).await;
}

#[tokio::test]
async fn python_client_gets_its_messages_echoed_over_wss() {
    python_client_against_paf_server(Over::Tls).await;
}

// -------------------------------------------- paf's client, Python's server ---

/// paf's client opens a WebSocket to Python's echo server, sends text,
/// binary and 1 MiB messages, pings and closes with 4002; every echo, the
/// pong and the close answer must come back, and Python must have seen the
/// same messages and close code.
async fn paf_client_against_python_server(over: Over) {
    if !websockets_present().await {
        return;
    }
    let files = Files::new();
    let mut peer = PythonServer::start(over, &files).await;
    let ctx = Ctx::new().with_client_tls(
        &ClientTls::new()
            .webpki_roots(false)
            .add_roots_pem(files.cert.cert_pem.as_bytes())
            .unwrap(),
    );
    // WebSocket's handshake is HTTP/1.1's: offer nothing else by ALPN.
    let client = Client::builder().ctx(ctx.unwrap()).http1_only(true).build();
    let url = match over {
        Over::Tcp => format!("http://127.0.0.1:{}/chat?room=1", peer.port),
        Over::Tls => format!("https://localhost:{}/chat?room=1", peer.port),
    };
    let key = generate_key();
    let request = Request::get(&url)
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "upgrade")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, &key)
        .body(Body::empty())
        .unwrap();
    let mut response = within(STEP, client.request(request)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS, "{url}");
    assert_eq!(
        response.headers()[SEC_WEBSOCKET_ACCEPT],
        derive_accept_key(key.as_bytes()),
        "sec-websocket-accept answers our key"
    );
    let stream = within(STEP, upgrade::response(&mut response))
        .await
        .unwrap();
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;

    let mut round_trip = async |message: Message| {
        within(STEP, ws.send(message)).await.unwrap();
        within(STEP, ws.next()).await.unwrap().unwrap()
    };
    assert_eq!(round_trip(Message::text(TEXT)).await, Message::text(TEXT));
    assert_eq!(
        round_trip(Message::binary(binary())).await,
        Message::binary(binary())
    );
    assert!(
        round_trip(Message::binary(big())).await == Message::binary(big()),
        "the 1 MiB echo differs"
    );
    assert_eq!(
        round_trip(Message::Ping(PING.into())).await,
        Message::Pong(PING.into())
    );
    let bye = CloseFrame {
        code: CloseCode::from(4002),
        reason: "bye from paf".into(),
    };
    within(STEP, ws.close(Some(bye.clone()))).await.unwrap();
    // The server answers with the same code, then the stream ends.
    assert_eq!(
        within(STEP, ws.next()).await.unwrap().unwrap(),
        Message::Close(Some(bye))
    );
    assert!(
        within(STEP, ws.next()).await.is_none(),
        "the stream ends after the close"
    );
    // The server waits for the client to close the TCP connection after the
    // closing handshake (RFC 6455 §7.1.1 lets either side go first).
    within(STEP, ws.get_mut().shutdown()).await.unwrap();
    drop(ws);

    assert_eq!(
        peer.connection_log().await,
        [
            "open path=/chat?room=1".to_string(),
            format!("got type=str len={}", TEXT.chars().count()),
            "got type=bytes len=256".into(),
            format!("got type=bytes len={BIG_LEN}"),
            "closed code=4002 reason=bye from paf".into(),
        ]
    );
}

#[tokio::test]
async fn paf_client_talks_to_python_echo_server_over_ws() {
    paf_client_against_python_server(Over::Tcp).await;
}

#[tokio::test]
async fn paf_client_talks_to_python_echo_server_over_wss() {
    paf_client_against_python_server(Over::Tls).await;
}

// ------------------------------------------------------ the handshake alone ---

/// RFC 6455 §1.3's worked example: key `dGhlIHNhbXBsZSBub25jZQ==` is
/// accepted with `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`; a request without the
/// upgrade headers gets a `400` and no upgrade.
#[tokio::test]
async fn the_handshake_answers_rfc_6455_sample_key_and_refuses_plain_requests() {
    let cert = TestCert::localhost();
    let mut server = EchoServer::start(Over::Tcp, &cert).await;
    let url = server.base.replacen("ws://", "http://", 1) + "/chat";
    let client = Client::new();
    let request = Request::get(&url)
        .header(UPGRADE, "WebSocket")
        .header(CONNECTION, "keep-alive, Upgrade")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .body(Body::empty())
        .unwrap();
    let mut response = within(STEP, client.request(request)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        response.headers()[SEC_WEBSOCKET_ACCEPT],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(response.headers()[UPGRADE], "websocket");
    // Dropping the upgraded connection ends the server's session with an
    // error, not a hang.
    drop(
        within(STEP, upgrade::response(&mut response))
            .await
            .unwrap(),
    );
    let ended = server.session().await.ended.unwrap_err();
    assert!(ended.contains("without closing handshake"), "{ended}");

    let plain = within(STEP, client.get(&url)).await.unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        plain.into_body().to_string(1024).await.unwrap(),
        "no `upgrade: websocket` with `connection: upgrade`"
    );
    server.stop().await;
}
