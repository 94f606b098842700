//! One suite of cases, written once, run against every paf client backend:
//! hyper and reqwest through `paf_core::client::Client`, ureq through
//! `paf_core::blocking::Client`. The peers are a real paf server on loopback
//! (plain, TLS, Unix socket), mockito where a scripted reply is the point
//! (redirects, encodings), and raw sockets for replies no server would send
//! (malformed or truncated). A case a backend cannot support must return
//! paf's typed `Unsupported` error, and is shown so in the matrix.
//!
//! One test prints the matrix, every case on every backend against every
//! peer. Beside it each case has a test per backend against paf's own
//! servers alone, `paf::<case>::<backend>`, to run one case by itself:
//! `cargo test -p paf-conformance --all-features -- method_get::ureq`.
#![allow(clippy::unwrap_used)]

use std::{
    fmt::Write as _,
    io::{Read as _, Write as _},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use paf_core::{
    blocking,
    client::RequestExt,
    ctx::{BlockingIo, BlockingTransport, BoxIo, Endpoint, Transport},
    redirect::{self, Policy},
    server::ConnInfo,
    Body, BoxFuture, Ctx, Error,
};
use paf_hyper::{Running, Server};

mod peers;

const MIB: u64 = 1 << 20;
const SMALL: usize = 1 << 20;

// ---------------------------------------------------------------------------
// The backends, behind one way of sending.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Hyper,
    Reqwest,
    Ureq,
}

const BACKENDS: [Backend; 3] = [Backend::Hyper, Backend::Reqwest, Backend::Ureq];

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Hyper => "hyper",
            Backend::Reqwest => "reqwest",
            Backend::Ureq => "ureq",
        }
    }
}

/// Client settings a case may change; every backend gets the same. A
/// limit left at `None` keeps the backend's default.
#[derive(Clone, Default)]
struct Settings {
    ctx: Ctx,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    response_head_timeout: Option<Duration>,
    body_idle_timeout: Option<Duration>,
    redirect: Policy,
    decompress: paf_core::decompress::Codings,
}

impl Settings {
    /// Any backend's client, built through paf-core's shared builder.
    fn client<C: paf_core::client::FromSettings>(&self) -> C {
        let mut b = paf_core::client::Builder::<C>::new().ctx(self.ctx.clone());
        if let Some(t) = self.timeout {
            b = b.timeout(t);
        }
        if let Some(t) = self.connect_timeout {
            b = b.connect_timeout(t);
        }
        if let Some(t) = self.response_head_timeout {
            b = b.response_head_timeout(t);
        }
        if let Some(t) = self.body_idle_timeout {
            b = b.body_idle_timeout(t);
        }
        b.decompress(self.decompress).build()
    }
}

enum ReqBody {
    Empty,
    Bytes(Bytes),
    /// This many bytes, produced as they are sent.
    Streamed(u64),
}

enum Read {
    /// Read the body to memory under this cap (the library's capped read).
    Capped(usize),
    /// Count the bytes chunk by chunk, keeping none.
    Count,
}

struct Req {
    method: Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: ReqBody,
    version: Option<Version>,
    ctx: Option<Ctx>,
    read: Read,
}

impl Req {
    fn new(method: Method, url: impl Into<String>) -> Self {
        Req {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: ReqBody::Empty,
            version: None,
            ctx: None,
            read: Read::Capped(SMALL),
        }
    }
    fn get(url: impl Into<String>) -> Self {
        Req::new(Method::GET, url)
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: ReqBody) -> Self {
        self.body = body;
        self
    }
    fn read(mut self, read: Read) -> Self {
        self.read = read;
        self
    }
    fn version(mut self, version: Version) -> Self {
        self.version = Some(version);
        self
    }
    fn ctx(mut self, ctx: Ctx) -> Self {
        self.ctx = Some(ctx);
        self
    }

    fn http<B>(&self, body: B) -> Request<B> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(&self.url);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        if let Some(version) = self.version {
            builder = builder.version(version);
        }
        let request = builder.body(body).unwrap();
        match &self.ctx {
            Some(ctx) => request.with_ctx(ctx.clone()),
            None => request,
        }
    }
}

#[derive(Debug)]
struct Resp {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
    len: u64,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The protocol the server spoke with the client: a front's own
    /// `x-front-version` (the handler behind it sees the front's request),
    /// or the handler's `x-version`.
    fn server_version(&self) -> String {
        match self.header("x-front-version") {
            front if !front.is_empty() => front,
            _ => self.header("x-version"),
        }
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }
}

fn chunks(total: u64) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
    let n = total / chunk.len() as u64;
    futures_util::stream::iter(0..n).map(move |_| Ok(chunk.clone()))
}

async fn exchange(backend: Backend, settings: &Settings, req: Req) -> Result<Resp, Error> {
    match backend {
        Backend::Hyper | Backend::Reqwest => {
            let body = match &req.body {
                ReqBody::Empty => Body::empty(),
                ReqBody::Bytes(b) => Body::from(b.clone()),
                ReqBody::Streamed(n) => Body::from_stream_sized(chunks(*n), *n),
            };
            let request = req.http(body);
            let response = if backend == Backend::Hyper {
                let client: paf_hyper::Client = settings.client();
                redirect::send(&client, request, settings.redirect).await?
            } else {
                let client: paf_reqwest::Client = settings.client();
                redirect::send(&client, request, settings.redirect).await?
            };
            read_async(response, &req.read).await
        }
        Backend::Ureq => {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || {
                let body = match &req.body {
                    ReqBody::Empty => blocking::Body::empty(),
                    ReqBody::Bytes(b) => blocking::Body::from(b.clone()),
                    ReqBody::Streamed(n) => {
                        blocking::Body::from_reader(std::io::repeat(b'z').take(*n), Some(*n))
                    }
                };
                let request = req.http(body);
                let client: paf_ureq::Client = settings.client();
                let response = redirect::send_blocking(&client, request, settings.redirect)?;
                read_blocking(response, &req.read)
            })
            .await
            .unwrap()
        }
    }
}

async fn read_async(response: Response<Body>, read: &Read) -> Result<Resp, Error> {
    let (parts, mut body) = response.into_parts();
    let (body, len) = match read {
        Read::Capped(cap) => {
            let bytes = body.to_bytes(*cap).await?;
            let len = bytes.len() as u64;
            (bytes, len)
        }
        Read::Count => {
            let mut len = 0u64;
            while let Some(chunk) = body.chunk().await {
                len += chunk?.len() as u64;
            }
            (Bytes::new(), len)
        }
    };
    Ok(Resp {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
        len,
    })
}

fn read_blocking(response: Response<blocking::Body>, read: &Read) -> Result<Resp, Error> {
    let (parts, mut body) = response.into_parts();
    let (body, len) = match read {
        Read::Capped(cap) => {
            let bytes = body.read_to_bytes(*cap)?;
            let len = bytes.len() as u64;
            (bytes, len)
        }
        Read::Count => {
            let len = std::io::copy(&mut body, &mut std::io::sink()).map_err(Error::from_io)?;
            (Bytes::new(), len)
        }
    };
    Ok(Resp {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
        len,
    })
}

// ---------------------------------------------------------------------------
// The peers.

async fn handler(req: Request<Body>) -> Response<Body> {
    let peer = ConnInfo::of(&req)
        .map(|c| c.peer.to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let mut res = Response::builder();
    match path.as_str() {
        p if p.starts_with("/echo") => {
            let multi: Vec<_> = req
                .headers()
                .get_all("x-multi")
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            let mixed = req
                .headers()
                .get("x-mixed")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            let hosts: Vec<_> = req
                .headers()
                .get_all("host")
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            let seen = |name: &str| {
                req.headers()
                    .get(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_else(|| "none".into())
            };
            res = res
                .header("x-host-seen", hosts.join("|"))
                .header(
                    "x-authority-seen",
                    req.uri().authority().map_or("none", |a| a.as_str()),
                )
                .header("x-content-type-seen", seen("content-type"))
                .header("x-method", req.method().as_str())
                .header(
                    "x-uri",
                    req.uri().path_and_query().map_or("", |p| p.as_str()),
                )
                .header("x-version", format!("{:?}", req.version()))
                .header("x-multi-seen", multi.join("|"))
                .header("x-mixed-seen", mixed)
                .header("x-content-length", seen("content-length"));
            match req.into_body().to_bytes(SMALL).await {
                Ok(b) => res.body(Body::from(b)).unwrap(),
                Err(e) => res.status(413).body(Body::from(e.to_string())).unwrap(),
            }
        }
        "/count" => {
            let mut body = req.into_body();
            let mut n = 0u64;
            while let Some(Ok(chunk)) = body.chunk().await {
                n += chunk.len() as u64;
            }
            res.body(Body::from(n.to_string())).unwrap()
        }
        "/peer" => res.body(Body::from(peer)).unwrap(),
        // The end of the fronts' 307 (mockito scripts the same for paf).
        "/put-here" if req.method() == Method::PUT => {
            let body = req.into_body().to_bytes(SMALL).await.unwrap_or_default();
            let text = format!("put {}", String::from_utf8_lossy(&body));
            res.body(Body::from(text)).unwrap()
        }
        "/headers" => res
            .header("x-rep", "1")
            .header("x-rep", "2")
            .header("x-rep", "3")
            .header("X-Upper", "yes")
            .body(Body::from("headers"))
            .unwrap(),
        "/chunked" => res
            .body(Body::from_stream(futures_util::stream::iter(
                ["one,", "two,", "three"].map(Ok::<_, std::io::Error>),
            )))
            .unwrap(),
        "/stall-body" => res
            .body(Body::from_stream(
                futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("start"))])
                    .chain(futures_util::stream::pending()),
            ))
            .unwrap(),
        "/forever" => res
            .body(Body::from_stream(futures_util::stream::repeat_with(|| {
                Ok::<_, std::io::Error>(Bytes::from(vec![b'f'; 16 * 1024]))
            })))
            .unwrap(),
        _ => {
            if let Some(n) = path.strip_prefix("/download/") {
                let n: u64 = n.parse().unwrap_or(0);
                return res.body(Body::from_stream_sized(chunks(n), n)).unwrap();
            }
            if let Some(code) = path.strip_prefix("/status/") {
                let code: u16 = code.parse().unwrap_or(400);
                return res.status(code).body(Body::empty()).unwrap();
            }
            if let Some(ms) = path.strip_prefix("/sleep/") {
                let ms: u64 = ms.parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                return res.body(Body::from("slept")).unwrap();
            }
            res.body(Body::from("hello")).unwrap()
        }
    }
}

/// paf's own servers, the mock, and the fronts nobody here wrote.
struct Env {
    plain: Running,
    tls: Running,
    tls_h1: Running,
    unix: Running,
    unix_path: std::path::PathBuf,
    ca_pem: String,
    key_pem: String,
    mock: mockito::ServerGuard,
    docroot: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Env {
    /// The matrix test's: in a temporary directory removed with the Env,
    /// with the files the fronts serve.
    async fn start() -> Env {
        Env::start_in(tempfile::tempdir().unwrap(), true).await
    }

    /// Starts paf's servers (the Unix socket in `dir`) and the mock; with
    /// `fronts`, also writes the files nginx and Caddy serve themselves.
    async fn start_in(dir: tempfile::TempDir, fronts: bool) -> Env {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let ca_pem = cert.cert.pem();
        let key_pem = cert.signing_key.serialize_pem();
        let config = |alpn: &[&[u8]]| {
            let mut c =
                paf_core::tls::server_config_from_pem(ca_pem.as_bytes(), key_pem.as_bytes())
                    .unwrap();
            c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Arc::new(c)
        };
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let plain = Server::new(handler).bind_tcp(local).await.unwrap();
        let tls = Server::builder()
            .tls(config(&[b"h2", b"http/1.1"]))
            .build(handler)
            .bind_tcp(local)
            .await
            .unwrap();
        let tls_h1 = Server::builder()
            .tls(config(&[b"http/1.1"]))
            .build(handler)
            .bind_tcp(local)
            .await
            .unwrap();
        let unix_path = dir.path().join(SOCKET);
        let unix = Server::new(handler).bind_unix(&unix_path).await.unwrap();
        let mock = mockito::Server::new_async().await;
        // What the fronts serve themselves; the sizes are those the cases ask.
        let docroot = dir.path().join("docroot");
        if fronts {
            let downloads = docroot.join("download");
            std::fs::create_dir_all(&downloads).unwrap();
            for size in [1000, 65536, 64 * MIB] {
                let file = std::fs::File::create(downloads.join(size.to_string())).unwrap();
                std::io::copy(&mut std::io::repeat(b'z').take(size), &mut &file).unwrap();
            }
            std::fs::write(docroot.join("gzip"), GZIP_HELLO).unwrap();
        }
        Env {
            plain,
            tls,
            tls_h1,
            unix,
            unix_path,
            ca_pem,
            key_pem,
            mock,
            docroot,
            _dir: dir,
        }
    }

    /// paf's own servers as a target; mockito scripts the redirects.
    fn paf(&self) -> Target {
        Target {
            peer: "paf",
            plain: self.plain.local_addr().unwrap(),
            tls: self.tls.local_addr().unwrap(),
            tls_h1: self.tls_h1.local_addr().unwrap(),
            unix: self.unix_path.clone(),
            scripted: self.mock.url(),
            ca_pem: self.ca_pem.clone(),
        }
    }

    /// A front started by [`peers`], which scripts the redirects itself.
    fn front(&self, front: &peers::Front) -> Target {
        Target {
            peer: front.name,
            plain: front.plain,
            tls: front.tls,
            tls_h1: front.tls_h1,
            unix: front.unix.clone(),
            scripted: format!("http://{}", front.plain),
            ca_pem: self.ca_pem.clone(),
        }
    }

    fn setup(&self) -> peers::Setup<'_> {
        peers::Setup {
            upstream: self.plain.local_addr().unwrap(),
            cert_pem: &self.ca_pem,
            key_pem: &self.key_pem,
            docroot: &self.docroot,
        }
    }

    async fn stop(self) {
        for running in [self.plain, self.tls, self.tls_h1, self.unix] {
            running.stop(Duration::from_secs(1)).await;
        }
    }
}

/// The name of paf's Unix socket in the Env's directory.
const SOCKET: &str = "conformance.sock";

/// What a case talks to: paf's own servers, or a front (nginx, Caddy).
struct Target {
    /// `paf`, `nginx` or `caddy`.
    peer: &'static str,
    /// HTTP/1.1 (and HTTP/2 by prior knowledge, on paf) without TLS.
    plain: SocketAddr,
    /// TLS with ALPN `h2` and `http/1.1`.
    tls: SocketAddr,
    /// TLS with ALPN `http/1.1` only.
    tls_h1: SocketAddr,
    unix: std::path::PathBuf,
    /// Base URL of the scripted routes: redirects and the gzip body.
    scripted: String,
    ca_pem: String,
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.plain)
    }

    fn https(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.tls.port())
    }

    fn https_h1(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.tls_h1.port())
    }

    fn scripted(&self, path: &str) -> String {
        format!("{}{path}", self.scripted)
    }

    fn tls_settings(&self) -> Settings {
        Settings {
            ctx: Ctx::new().with_ca_pem(self.ca_pem.as_bytes()).unwrap(),
            ..Settings::default()
        }
    }
}

/// A one-shot raw TCP peer: reads the request head, writes `reply` as is,
/// then closes. For replies no real server would send.
fn scripted(reply: &'static [u8]) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // Serves a few connections: a backend may retry once.
        for _ in 0..2 {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = stream.write_all(reply);
        }
    });
    addr
}

/// Reads one request head (and the body its `Content-Length` announces)
/// from a raw peer's connection; `false` when the client went away first.
fn read_request(stream: &mut std::net::TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: u64 = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut (&*stream).take(len), &mut std::io::sink()).is_ok_and(|n| n == len)
}

/// A raw peer that never finishes: after the request it writes `first`,
/// then `then` one byte every `every`, then holds the connection open, for
/// at most 20 s in all. For servers that stall.
fn stalling(first: &'static [u8], then: &'static [u8], every: Duration) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        if !read_request(&mut stream) || stream.write_all(first).is_err() {
            return;
        }
        for byte in then {
            std::thread::sleep(every);
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
        }
        // Held open until the client gives up (its end of stream) or 20 s.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
        let _ = stream.read(&mut [0u8; 1]);
    });
    addr
}

/// A raw peer whose first connection reads a request and closes without
/// answering, as a server closing a keep-alive connection does; a second
/// connection is answered. Counts the connections it took.
fn closes_first_connection() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = taken.clone();
    std::thread::spawn(move || {
        for n in 1..=2 {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if read_request(&mut stream) && n == 2 {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond");
            }
        }
    });
    (addr, taken)
}

// ---------------------------------------------------------------------------
// The cases.

enum Support {
    Pass,
    Unsupported(String),
}

type Outcome = Result<Support, String>;
type Case = for<'a> fn(&'a Target, Backend) -> BoxFuture<'a, Outcome>;

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Runs `req` and fails the case on an error.
async fn ok(b: Backend, s: &Settings, req: Req) -> Result<Resp, String> {
    exchange(b, s, req)
        .await
        .map_err(|e| format!("unexpected error: {e:?}"))
}

/// Runs `req` and fails the case unless it errs.
async fn err(b: Backend, s: &Settings, req: Req) -> Result<Error, String> {
    match exchange(b, s, req).await {
        Ok(resp) => Err(format!(
            "expected an error, got {} {:?}",
            resp.status,
            resp.text()
        )),
        Err(e) => Ok(e),
    }
}

fn unsupported(e: &Error, backend: Backend) -> Outcome {
    match e {
        Error::Unsupported {
            backend: name,
            feature,
        } if *name == backend.name() => Ok(Support::Unsupported(feature.clone())),
        other => Err(format!(
            "expected Unsupported from {}, got {other:?}",
            backend.name()
        )),
    }
}

macro_rules! case {
    ($name:ident, |$t:ident, $b:ident| $body:block) => {
        fn $name<'a>($t: &'a Target, $b: Backend) -> BoxFuture<'a, Outcome> {
            Box::pin(async move { $body })
        }
    };
}

async fn method_echo(t: &Target, b: Backend, method: &str, body: Option<&'static str>) -> Outcome {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = Req::new(method.clone(), t.url("/echo"));
    if let Some(body) = body {
        req = req.body(ReqBody::Bytes(Bytes::from_static(body.as_bytes())));
    }
    let resp = ok(b, &Settings::default(), req).await?;
    check!(resp.status == 200, "status {}", resp.status);
    check!(
        resp.header("x-method") == method.as_str(),
        "server saw {}",
        resp.header("x-method")
    );
    if method != Method::HEAD {
        check!(resp.text() == body.unwrap_or(""), "body {:?}", resp.text());
    }
    Ok(Support::Pass)
}

case!(method_get, |t, b| { method_echo(t, b, "GET", None).await });
case!(method_post_with_body, |t, b| {
    method_echo(t, b, "POST", Some("posted")).await
});
case!(method_put_with_body, |t, b| {
    method_echo(t, b, "PUT", Some("put")).await
});
case!(method_delete, |t, b| {
    method_echo(t, b, "DELETE", None).await
});
case!(method_patch_with_body, |t, b| {
    method_echo(t, b, "PATCH", Some("patched")).await
});
case!(method_options, |t, b| {
    method_echo(t, b, "OPTIONS", None).await
});
case!(method_extension_token, |t, b| {
    method_echo(t, b, "PURGE", None).await
});

case!(head_has_no_body, |t, b| {
    let resp = ok(
        b,
        &Settings::default(),
        Req::new(Method::HEAD, t.url("/download/1000")),
    )
    .await?;
    check!(resp.status == 200, "status {}", resp.status);
    check!(resp.len == 0, "HEAD body of {} bytes", resp.len);
    check!(
        resp.header("content-length") == "1000",
        "content-length {:?}",
        resp.header("content-length")
    );
    Ok(Support::Pass)
});

/// GETs `path` from the echo route and checks the server saw it unchanged.
async fn target_kept(t: &Target, b: Backend, path: &str) -> Outcome {
    let resp = ok(b, &Settings::default(), Req::get(t.url(path))).await?;
    check!(
        resp.header("x-uri") == path,
        "server saw {}",
        resp.header("x-uri")
    );
    Ok(Support::Pass)
}

case!(query_string_is_kept, |t, b| {
    target_kept(t, b, "/echo?a=1&b=x%20y&c=%26").await
});

case!(percent_encoded_path_is_kept, |t, b| {
    target_kept(t, b, "/echo/p%C3%A9/x%2Fy?q=%C3%A9").await
});

case!(request_header_repeated_values_kept_in_order, |t, b| {
    let req = Req::get(t.url("/echo"))
        .header("x-multi", "a")
        .header("x-multi", "b")
        .header("x-multi", "c");
    let resp = ok(b, &Settings::default(), req).await?;
    check!(
        resp.header("x-multi-seen") == "a|b|c",
        "server saw {:?}",
        resp.header("x-multi-seen")
    );
    Ok(Support::Pass)
});

case!(request_header_names_case_insensitive, |t, b| {
    let req = Req::get(t.url("/echo")).header("X-MiXeD", "v");
    let resp = ok(b, &Settings::default(), req).await?;
    check!(
        resp.header("x-mixed-seen") == "v",
        "server saw {:?}",
        resp.header("x-mixed-seen")
    );
    Ok(Support::Pass)
});

case!(response_repeated_headers_kept_in_order, |t, b| {
    let resp = ok(b, &Settings::default(), Req::get(t.url("/headers"))).await?;
    let reps: Vec<_> = resp
        .headers
        .get_all("x-rep")
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect();
    check!(reps == ["1", "2", "3"], "x-rep {reps:?}");
    Ok(Support::Pass)
});

case!(response_header_names_case_insensitive, |t, b| {
    let resp = ok(b, &Settings::default(), Req::get(t.url("/headers"))).await?;
    check!(
        resp.headers.get("x-upper").is_some() && resp.headers.get("X-UPPER").is_some(),
        "{:?}",
        resp.headers
    );
    Ok(Support::Pass)
});

case!(empty_body_post_sends_zero_length, |t, b| {
    let req = Req::new(Method::POST, t.url("/echo")).body(ReqBody::Bytes(Bytes::new()));
    let resp = ok(b, &Settings::default(), req).await?;
    check!(resp.len == 0, "echoed {} bytes", resp.len);
    let cl = resp.header("x-content-length");
    check!(cl == "0" || cl == "none", "content-length {cl}");
    Ok(Support::Pass)
});

case!(small_body_round_trip_with_length, |t, b| {
    let req = Req::new(Method::POST, t.url("/echo"))
        .body(ReqBody::Bytes(Bytes::from_static(b"0123456789")));
    let resp = ok(b, &Settings::default(), req).await?;
    check!(resp.text() == "0123456789", "echoed {:?}", resp.text());
    check!(
        resp.header("x-content-length") == "10",
        "content-length {}",
        resp.header("x-content-length")
    );
    Ok(Support::Pass)
});

case!(upload_64_mib_streamed, |t, b| {
    let req = Req::new(Method::POST, t.url("/count")).body(ReqBody::Streamed(64 * MIB));
    let resp = ok(b, &Settings::default(), req).await?;
    check!(
        resp.text() == (64 * MIB).to_string(),
        "server counted {}",
        resp.text()
    );
    Ok(Support::Pass)
});

case!(download_64_mib_streamed, |t, b| {
    let req = Req::get(t.url(&format!("/download/{}", 64 * MIB))).read(Read::Count);
    let resp = ok(b, &Settings::default(), req).await?;
    check!(resp.len == 64 * MIB, "read {} bytes", resp.len);
    Ok(Support::Pass)
});

case!(chunked_response_read_whole, |t, b| {
    let resp = ok(b, &Settings::default(), Req::get(t.url("/chunked"))).await?;
    check!(resp.text() == "one,two,three", "body {:?}", resp.text());
    check!(
        resp.header("transfer-encoding") == "chunked",
        "framing {:?}",
        resp.headers
    );
    Ok(Support::Pass)
});

async fn status_case(t: &Target, b: Backend, code: u16) -> Outcome {
    let resp = ok(
        b,
        &Settings::default(),
        Req::get(t.url(&format!("/status/{code}"))),
    )
    .await?;
    check!(resp.status.as_u16() == code, "status {}", resp.status);
    check!(resp.len == 0, "body of {} bytes", resp.len);
    Ok(Support::Pass)
}

case!(status_204_has_no_body, |t, b| {
    status_case(t, b, 204).await
});
case!(status_304_has_no_body, |t, b| {
    status_case(t, b, 304).await
});
case!(status_404_is_a_response, |t, b| {
    status_case(t, b, 404).await
});
case!(status_500_is_a_response, |t, b| {
    status_case(t, b, 500).await
});
case!(status_599_unknown_code_is_a_response, |t, b| {
    status_case(t, b, 599).await
});

case!(redirect_not_followed_by_default, |t, b| {
    let resp = ok(b, &Settings::default(), Req::get(t.scripted("/moved"))).await?;
    check!(resp.status == 302, "status {}", resp.status);
    check!(
        resp.header("location") == "/target",
        "location {}",
        resp.header("location")
    );
    Ok(Support::Pass)
});

fn follow(max: usize) -> Settings {
    Settings {
        redirect: Policy::limited(max),
        ..Settings::default()
    }
}

case!(redirect_followed_when_asked, |t, b| {
    let resp = ok(b, &follow(5), Req::get(t.scripted("/moved"))).await?;
    check!(
        resp.status == 200 && resp.text() == "target",
        "{} {:?}",
        resp.status,
        resp.text()
    );
    Ok(Support::Pass)
});

case!(redirect_303_turns_post_into_get, |t, b| {
    let req = Req::new(Method::POST, t.scripted("/see-other"))
        .body(ReqBody::Bytes(Bytes::from_static(b"form")));
    let resp = ok(b, &follow(5), req).await?;
    check!(
        resp.status == 200 && resp.text() == "got with get",
        "{} {:?}",
        resp.status,
        resp.text()
    );
    Ok(Support::Pass)
});

case!(redirect_307_repeats_method_and_body, |t, b| {
    let req = Req::new(Method::PUT, t.scripted("/temporary"))
        .body(ReqBody::Bytes(Bytes::from_static(b"again")));
    let resp = ok(b, &follow(5), req).await?;
    check!(
        resp.status == 200 && resp.text() == "put again",
        "{} {:?}",
        resp.status,
        resp.text()
    );
    Ok(Support::Pass)
});

case!(redirect_limit_is_an_error, |t, b| {
    let e = err(b, &follow(3), Req::get(t.scripted("/loop"))).await?;
    check!(
        matches!(e, Error::TooManyRedirects { limit: 3, .. }),
        "{e:?}"
    );
    Ok(Support::Pass)
});

case!(gzip_body_is_not_decoded, |t, b| {
    let resp = ok(b, &Settings::default(), Req::get(t.scripted("/gzip"))).await?;
    check!(
        resp.header("content-encoding") == "gzip",
        "headers {:?}",
        resp.headers
    );
    check!(
        resp.body.as_ref() == GZIP_HELLO,
        "body was changed: {:?}",
        resp.body
    );
    Ok(Support::Pass)
});

case!(gzip_body_is_decoded_when_asked, |t, b| {
    let settings = Settings {
        decompress: paf_core::decompress::Codings::all(),
        ..Settings::default()
    };
    let resp = ok(b, &settings, Req::get(t.scripted("/gzip"))).await?;
    check!(resp.text() == "hello", "body {:?}", resp.body);
    check!(
        resp.header("content-encoding").is_empty() && resp.header("content-length").is_empty(),
        "the encoded body's headers stayed: {:?}",
        resp.headers
    );
    Ok(Support::Pass)
});

/// A tinyproxy of the case's own, or the reason there is none.
fn tinyproxy(auth: Option<(&str, &str)>) -> Result<paf_testkit::Tinyproxy, String> {
    paf_testkit::Tinyproxy::start(auth).ok_or_else(|| "tinyproxy is not installed".to_string())
}

/// Settings whose context goes through `proxy` (and trusts the test CA).
fn through(t: &Target, proxy: &str) -> Settings {
    let mut settings = t.tls_settings();
    settings.ctx = settings
        .ctx
        .with_proxy(paf_core::ctx::Proxy::all(proxy).unwrap());
    settings
}

case!(proxy_reaches_http_and_https_targets, |t, b| {
    let proxy = tinyproxy(None)?;
    let settings = through(t, &proxy.url(None));
    for url in [t.url("/echo"), t.https("/echo")] {
        let resp = ok(b, &settings, Req::get(url.clone())).await?;
        check!(resp.status == 200, "{url}: status {}", resp.status);
        check!(
            resp.header("x-method") == "GET",
            "{url}: {:?}",
            resp.header("x-method")
        );
    }
    // Both went through the proxy: https by CONNECT on every engine.
    let tls_port = t.tls.port();
    check!(
        proxy.saw_connect(&format!("127.0.0.1:{tls_port}")),
        "the proxy saw no CONNECT to the TLS port; log:\n{}",
        proxy.log()
    );
    check!(
        proxy
            .log()
            .contains(&format!("127.0.0.1:{}", t.plain.port())),
        "the proxy never saw the plain target; log:\n{}",
        proxy.log()
    );
    Ok(Support::Pass)
});

case!(
    proxy_credentials_are_sent_and_a_refusal_is_an_error,
    |t, b| {
        let proxy = tinyproxy(Some(("paf", "s3cret")))?;
        let good = through(t, &proxy.url(Some("paf:s3cret")));
        let resp = ok(b, &good, Req::get(t.https("/echo"))).await?;
        check!(resp.status == 200, "status {}", resp.status);
        let bad = through(t, &proxy.url(Some("paf:wrong")));
        let e = err(b, &bad, Req::get(t.https("/echo"))).await?;
        check!(e.is_connect(), "a refused tunnel is a connect error: {e:?}");
        Ok(Support::Pass)
    }
);

case!(no_proxy_hosts_go_direct, |t, b| {
    let proxy = tinyproxy(None)?;
    let mut settings = t.tls_settings();
    let rule = paf_core::ctx::Proxy::all(&proxy.url(None))
        .unwrap()
        .with_no_proxy(paf_core::ctx::NoProxy::parse("127.0.0.1"));
    settings.ctx = settings.ctx.with_proxy(rule);
    let resp = ok(b, &settings, Req::get(t.https("/echo"))).await?;
    check!(resp.status == 200, "status {}", resp.status);
    check!(
        !proxy.log().contains(&format!("127.0.0.1:{}", t.tls.port())),
        "NO_PROXY was not honoured; log:\n{}",
        proxy.log()
    );
    Ok(Support::Pass)
});

/// "hello" compressed by gzip.
const GZIP_HELLO: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
    0x00, 0x86, 0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00,
];

case!(connection_refused_is_a_connect_error, |_t, b| {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = err(
        b,
        &Settings::default(),
        Req::get(format!("http://127.0.0.1:{port}/")),
    )
    .await?;
    check!(matches!(e, Error::Connect { .. }), "{e:?}");
    Ok(Support::Pass)
});

case!(connect_timeout_is_a_timeout_error, |_t, b| {
    // A listener whose accept queue is full drops new SYNs: the connect
    // hangs on loopback until the client gives up.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    let settings = Settings {
        connect_timeout: Some(Duration::from_millis(300)),
        ..Settings::default()
    };
    let started = std::time::Instant::now();
    let e = err(b, &settings, Req::get(format!("http://{addr}/"))).await?;
    drop(held);
    drop(listener);
    check!(
        e.is_timeout() && e.is_connect(),
        "{e:?} after {:?}",
        started.elapsed()
    );
    Ok(Support::Pass)
});

case!(request_timeout_is_a_timeout_error, |t, b| {
    let settings = Settings {
        timeout: Some(Duration::from_millis(300)),
        ..Settings::default()
    };
    let e = err(b, &settings, Req::get(t.url("/sleep/5000"))).await?;
    check!(
        matches!(
            e,
            Error::Timeout {
                what: paf_core::error::TimeoutKind::Request,
                ..
            }
        ),
        "{e:?}"
    );
    Ok(Support::Pass)
});

case!(request_timeout_covers_the_body, |t, b| {
    let settings = Settings {
        timeout: Some(Duration::from_millis(500)),
        ..Settings::default()
    };
    let e = err(b, &settings, Req::get(t.url("/stall-body"))).await?;
    check!(e.is_timeout(), "{e:?}");
    Ok(Support::Pass)
});

/// GETs from a peer that stalls, with the client limit of `kind` set to
/// `limit`, and checks that this limit ended the wait, and soon after it:
/// the caller was held no longer.
async fn cut_by(
    b: Backend,
    addr: SocketAddr,
    kind: paf_core::error::TimeoutKind,
    limit: Duration,
) -> Outcome {
    use paf_core::error::TimeoutKind;
    let mut settings = Settings::default();
    match kind {
        TimeoutKind::ResponseHead => settings.response_head_timeout = Some(limit),
        TimeoutKind::BodyIdle => settings.body_idle_timeout = Some(limit),
        other => return Err(format!("no setting for {other:?}")),
    }
    let started = std::time::Instant::now();
    let e = err(b, &settings, Req::get(format!("http://{addr}/"))).await?;
    let held = started.elapsed();
    check!(
        matches!(e, Error::Timeout { what, after } if what == kind && after == limit),
        "expected a {kind:?} timeout after {limit:?}, got {e:?} after {held:?}"
    );
    check!(
        held >= limit && held < limit + Duration::from_millis(1500),
        "held the caller {held:?} for a limit of {limit:?}"
    );
    Ok(Support::Pass)
}

case!(response_head_trickled_is_a_timeout, |_t, b| {
    // The head goes on for ever, a byte every 100 ms: never idle, never done.
    let addr = stalling(
        b"HTTP/1.1 200 OK\r\n",
        b"x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        Duration::from_millis(100),
    );
    let limit = Duration::from_millis(400);
    cut_by(b, addr, paf_core::error::TimeoutKind::ResponseHead, limit).await
});

case!(response_head_never_sent_is_a_timeout, |_t, b| {
    let addr = stalling(b"", b"", Duration::ZERO);
    let limit = Duration::from_millis(400);
    cut_by(b, addr, paf_core::error::TimeoutKind::ResponseHead, limit).await
});

case!(body_stalled_midway_is_an_idle_timeout, |_t, b| {
    let addr = stalling(
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b",
        b"",
        Duration::ZERO,
    );
    let limit = Duration::from_millis(300);
    cut_by(b, addr, paf_core::error::TimeoutKind::BodyIdle, limit).await
});

case!(
    get_is_sent_again_when_the_connection_closes_unanswered,
    |_t, b| {
        let (addr, taken) = closes_first_connection();
        let resp = ok(b, &Settings::default(), Req::get(format!("http://{addr}/"))).await?;
        check!(
            resp.status == 200 && resp.text() == "second",
            "{} {:?}",
            resp.status,
            resp.text()
        );
        let connections = taken.load(std::sync::atomic::Ordering::SeqCst);
        check!(connections == 2, "{connections} connections");
        Ok(Support::Pass)
    }
);

case!(streamed_post_is_not_sent_again, |_t, b| {
    let (addr, taken) = closes_first_connection();
    let req = Req::new(Method::POST, format!("http://{addr}/")).body(ReqBody::Streamed(64 * 1024));
    let e = err(b, &Settings::default(), req).await?;
    // A second connection would come at once; give it time to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let connections = taken.load(std::sync::atomic::Ordering::SeqCst);
    check!(
        connections == 1,
        "sent again: {connections} connections ({e:?})"
    );
    check!(e.is_protocol() || matches!(&e, Error::Io(_)), "{e:?}");
    Ok(Support::Pass)
});

case!(body_over_cap_is_body_too_large, |t, b| {
    let req = Req::get(t.url("/download/65536")).read(Read::Capped(1000));
    let e = err(b, &Settings::default(), req).await?;
    check!(matches!(e, Error::BodyTooLarge { limit: 1000 }), "{e:?}");
    Ok(Support::Pass)
});

case!(endless_body_stops_at_cap, |t, b| {
    let req = Req::get(t.url("/forever")).read(Read::Capped(256 * 1024));
    let e = err(b, &Settings::default(), req).await?;
    check!(e.is_body_too_large(), "{e:?}");
    Ok(Support::Pass)
});

case!(tls_with_the_test_ca, |t, b| {
    let resp = ok(b, &t.tls_settings(), Req::get(t.https_h1("/echo"))).await?;
    check!(resp.status == 200, "status {}", resp.status);
    Ok(Support::Pass)
});

case!(tls_rejected_without_the_ca, |t, b| {
    let e = err(b, &Settings::default(), Req::get(t.https("/"))).await?;
    let Error::Tls { source, .. } = &e else {
        return Err(format!("expected Error::Tls, got {e:?}"));
    };
    check!(
        matches!(
            source.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{source:?}"
    );
    Ok(Support::Pass)
});

case!(http2_over_tls_by_alpn, |t, b| {
    let req = Req::get(t.https("/echo")).version(Version::HTTP_2);
    match exchange(b, &t.tls_settings(), req).await {
        Ok(resp) => {
            check!(resp.version == Version::HTTP_2, "spoke {:?}", resp.version);
            check!(
                resp.server_version() == "HTTP/2.0",
                "server saw {}",
                resp.server_version()
            );
            Ok(Support::Pass)
        }
        Err(e) => unsupported(&e, b),
    }
});

case!(http11_when_server_offers_only_http11, |t, b| {
    let resp = ok(b, &t.tls_settings(), Req::get(t.https_h1("/echo"))).await?;
    check!(resp.version == Version::HTTP_11, "spoke {:?}", resp.version);
    check!(
        resp.server_version() == "HTTP/1.1",
        "server saw {}",
        resp.server_version()
    );
    Ok(Support::Pass)
});

case!(unix_socket_through_the_context, |t, b| {
    let ctx = Ctx::new().route("app.local", Endpoint::Unix(t.unix.clone()));
    let req = Req::new(Method::POST, "http://app.local/echo")
        .body(ReqBody::Bytes(Bytes::from_static(b"over unix")))
        .ctx(ctx);
    match exchange(b, &Settings::default(), req).await {
        Ok(resp) => {
            check!(resp.text() == "over unix", "body {:?}", resp.text());
            Ok(Support::Pass)
        }
        Err(e) => unsupported(&e, b),
    }
});

/// Reaches the plain server by a service name: an async and a blocking
/// transport registered under one name.
struct Named(SocketAddr);

impl Transport for Named {
    type Endpoint = String;
    fn connect(&self, _service: &String) -> BoxFuture<'static, std::io::Result<BoxIo>> {
        let addr = self.0;
        Box::pin(async move { Ok(Box::new(tokio::net::TcpStream::connect(addr).await?) as BoxIo) })
    }
}

impl BlockingTransport for Named {
    type Endpoint = String;
    fn connect(&self, _service: &String) -> std::io::Result<Box<dyn BlockingIo>> {
        Ok(Box::new(std::net::TcpStream::connect(self.0)?))
    }
}

case!(user_transport_through_the_context, |t, b| {
    let addr = t.plain;
    let ctx = Ctx::new()
        .with_transport("named", Named(addr))
        .with_blocking_transport("named", Named(addr))
        .with_user_endpoint("named", "billing".to_string());
    let req = Req::get("http://billing.internal/echo?via=named").ctx(ctx);
    match exchange(b, &Settings::default(), req).await {
        Ok(resp) => {
            check!(
                resp.header("x-uri") == "/echo?via=named",
                "server saw {}",
                resp.header("x-uri")
            );
            Ok(Support::Pass)
        }
        Err(e) => unsupported(&e, b),
    }
});

case!(explicit_tcp_address_overrides_the_name, |t, b| {
    let addr = t.plain;
    let ctx = Ctx::new().route("api.test", Endpoint::TcpAddr(addr));
    let req = Req::get(format!("http://api.test:{}/echo", addr.port())).ctx(ctx);
    let resp = ok(b, &Settings::default(), req).await?;
    check!(resp.header("x-method") == "GET", "{:?}", resp.headers);
    Ok(Support::Pass)
});

case!(keep_alive_connection_is_reused, |t, b| {
    // One client for both requests, as users hold it.
    let peers = match b {
        Backend::Hyper | Backend::Reqwest => {
            let client: Box<dyn paf_core::client::Client> = if b == Backend::Hyper {
                Box::new(paf_hyper::Client::new())
            } else {
                Box::new(paf_reqwest::Client::new())
            };
            let mut peers = Vec::new();
            for _ in 0..2 {
                let req = Req::get(t.url("/peer")).http(Body::empty());
                let resp = client.send(req).await.map_err(|e| format!("{e:?}"))?;
                peers.push(
                    resp.into_body()
                        .to_string(1024)
                        .await
                        .map_err(|e| format!("{e:?}"))?,
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peers
        }
        Backend::Ureq => {
            let url = t.url("/peer");
            tokio::task::spawn_blocking(move || {
                use paf_core::blocking::Client as _;
                let client = paf_ureq::Client::new();
                let mut peers = Vec::new();
                for _ in 0..2 {
                    let req = Req::get(url.clone()).http(blocking::Body::empty());
                    let resp = client.send(req).map_err(|e| format!("{e:?}"))?;
                    peers.push(
                        resp.into_body()
                            .read_to_string(1024)
                            .map_err(|e| format!("{e:?}"))?,
                    );
                }
                Ok::<_, String>(peers)
            })
            .await
            .unwrap()?
        }
    };
    check!(peers[0] == peers[1], "two connections: {peers:?}");
    Ok(Support::Pass)
});

case!(malformed_status_line_is_a_protocol_error, |_t, b| {
    let addr = scripted(b"HTTP/1.1 abc Broken\r\ncontent-length: 0\r\n\r\n");
    let e = err(b, &Settings::default(), Req::get(format!("http://{addr}/"))).await?;
    check!(e.is_protocol(), "{e:?}");
    Ok(Support::Pass)
});

case!(truncated_body_is_an_error, |_t, b| {
    let addr = scripted(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b");
    let e = err(b, &Settings::default(), Req::get(format!("http://{addr}/"))).await?;
    check!(
        e.is_protocol()
            || matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof),
        "{e:?}"
    );
    Ok(Support::Pass)
});

case!(truncated_chunked_body_is_an_error, |_t, b| {
    let addr =
        scripted(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwor");
    let e = err(b, &Settings::default(), Req::get(format!("http://{addr}/"))).await?;
    check!(
        e.is_protocol()
            || matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof),
        "{e:?}"
    );
    Ok(Support::Pass)
});

case!(invalid_url_is_an_invalid_url_error, |_t, b| {
    let e = err(b, &Settings::default(), Req::get("ftp://127.0.0.1/file")).await?;
    check!(matches!(e, Error::InvalidUrl { .. }), "{e:?}");
    Ok(Support::Pass)
});

/// Checks how the authority reached paf's handler: in `Host` on HTTP/1.1,
/// in `:authority` alone on HTTP/2. A front's handler sees the front's own
/// request, so there only the status tells (nginx answers 400 to a `Host`
/// sent next to `:authority`).
fn authority_seen(t: &Target, resp: &Resp, authority: &str) -> Outcome {
    check!(
        resp.status == 200,
        "status {} {:?}",
        resp.status,
        resp.text()
    );
    if t.peer != "paf" {
        return Ok(Support::Pass);
    }
    if resp.version == Version::HTTP_2 {
        check!(
            resp.header("x-host-seen").is_empty() && resp.header("x-authority-seen") == authority,
            "on HTTP/2 the handler saw host {:?} and authority {:?}",
            resp.header("x-host-seen"),
            resp.header("x-authority-seen")
        );
    } else {
        check!(
            resp.header("x-host-seen") == authority,
            "on {:?} the handler saw host {:?}",
            resp.version,
            resp.header("x-host-seen")
        );
    }
    Ok(Support::Pass)
}

case!(host_header_given_is_sent_once, |t, b| {
    // CoHTTP's `Request.make` (and so paf-compat) always sets `Host`.
    let authority = format!("127.0.0.1:{}", t.tls.port());
    let req = Req::get(t.https("/echo")).header("host", authority.clone());
    let resp = ok(b, &t.tls_settings(), req).await?;
    authority_seen(t, &resp, &authority)
});

case!(host_header_naming_another_authority_is_kept, |t, b| {
    let req = Req::get(t.https("/echo")).header("host", "virtual.test");
    let resp = ok(b, &t.tls_settings(), req).await?;
    authority_seen(t, &resp, "virtual.test")
});

/// What paf-compat's calls answered: status and body text, in order.
type Answers = Vec<(u16, String)>;

/// Runs paf-compat's own client on backend `b`: the async `Client` on hyper
/// and reqwest, the `blocking` one on ureq, as a porter would use them.
async fn compat(
    b: Backend,
    t: &Target,
    async_calls: impl for<'c> FnOnce(
        &'c paf_compat::Client,
    ) -> BoxFuture<'c, Result<Answers, paf_compat::Error>>,
    blocking_calls: impl FnOnce(&paf_compat::blocking::Client) -> Result<Answers, paf_compat::Error>
        + Send
        + 'static,
) -> Result<Answers, String> {
    let ctx = Ctx::new().with_ca_pem(t.ca_pem.as_bytes()).unwrap();
    let answers = match b {
        Backend::Hyper | Backend::Reqwest => {
            let backend = match b {
                Backend::Hyper => paf_compat::Backend::Hyper,
                _ => paf_compat::Backend::Reqwest,
            };
            let client = paf_compat::Client::builder()
                .backend(backend)
                .ctx(ctx)
                .build()
                .map_err(|e| format!("{e:?}"))?;
            async_calls(&client).await
        }
        Backend::Ureq => tokio::task::spawn_blocking(move || {
            let client = paf_compat::blocking::Client::builder().ctx(ctx).build();
            blocking_calls(&client)
        })
        .await
        .unwrap(),
    };
    answers.map_err(|e| format!("paf-compat: {e:?}"))
}

fn status_of(res: &paf_compat::Response) -> u16 {
    paf_compat::code::code_of_status(&res.status())
}

case!(compat_get_over_tls, |t, b| {
    let url = t.https("/echo?via=compat");
    let url2 = url.clone();
    let answers = compat(
        b,
        t,
        |c| {
            Box::pin(async move {
                let (res, body) = c.get(url.as_str()).await?;
                Ok(vec![(status_of(&res), body.to_string().await?)])
            })
        },
        move |c| {
            let (res, body) = c.get(url2.as_str()).send()?;
            Ok(vec![(status_of(&res), body.to_string()?)])
        },
    )
    .await?;
    check!(answers == [(200, String::new())], "{answers:?}");
    Ok(Support::Pass)
});

case!(compat_post_form_over_tls, |t, b| {
    let url = t.https("/echo");
    let url2 = url.clone();
    let params = [("k", ["v"]), ("sp", ["a b"])];
    let answers = compat(
        b,
        t,
        |c| {
            Box::pin(async move {
                let (res, body) = c.post_form(url.as_str(), params).await?;
                let seen = res
                    .headers()
                    .get("x-content-type-seen")
                    .unwrap_or("")
                    .to_owned();
                Ok(vec![(status_of(&res), body.to_string().await?), (0, seen)])
            })
        },
        move |c| {
            let (res, body) = c.post_form(url2.as_str(), params).send()?;
            let seen = res
                .headers()
                .get("x-content-type-seen")
                .unwrap_or("")
                .to_owned();
            Ok(vec![(status_of(&res), body.to_string()?), (0, seen)])
        },
    )
    .await?;
    check!(
        answers[0].0 == 200 && ["k=v&sp=a%20b", "k=v&sp=a+b"].contains(&answers[0].1.as_str()),
        "{answers:?}"
    );
    check!(
        answers[1].1 == "application/x-www-form-urlencoded",
        "content-type seen {:?}",
        answers[1].1
    );
    Ok(Support::Pass)
});

case!(compat_callv_in_order_on_one_connection, |t, b| {
    let base = t.url("/");
    let (echo, peer) = (t.url("/echo"), t.url("/peer"));
    // The batch: (request, body text); each client wraps the text in its
    // own body type.
    let batch = move || {
        use paf_compat::{code::Method, Request};
        let post = |text: &str| {
            let req = Request::builder(echo.parse().unwrap())
                .meth(Method::Post)
                .build();
            (req, text.to_owned())
        };
        let conn = || (Request::make(peer.parse().unwrap()), String::new());
        vec![post("first"), conn(), post("third"), conn()]
    };
    let (base2, batch2) = (base.clone(), batch.clone());
    let answers = compat(
        b,
        t,
        |c| {
            Box::pin(async move {
                let mut answers = Vec::new();
                let batch = batch()
                    .into_iter()
                    .map(|(req, text)| (req, paf_compat::Body::of_string(text)));
                for (res, body) in c.callv(base.as_str(), batch).await? {
                    answers.push((status_of(&res), body.to_string().await?));
                }
                Ok(answers)
            })
        },
        move |c| {
            let mut answers = Vec::new();
            let batch = batch2()
                .into_iter()
                .map(|(req, text)| (req, paf_compat::blocking::Body::of_string(text)));
            for (res, body) in c.callv(base2.as_str(), batch).send()? {
                answers.push((status_of(&res), body.to_string()?));
            }
            Ok(answers)
        },
    )
    .await?;
    let texts: Vec<_> = answers.iter().map(|(_, text)| text.as_str()).collect();
    check!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    check!(
        texts[0] == "first" && texts[2] == "third" && !texts[1].is_empty(),
        "{texts:?}"
    );
    // reqwest hands a connection back to its pool from a task of its own:
    // a request sent the moment a body ends may find it not yet there.
    if b != Backend::Reqwest {
        check!(texts[1] == texts[3], "two connections: {texts:?}");
    }
    Ok(Support::Pass)
});

// ---------------------------------------------------------------------------
// The list of cases, and a test of each case on each backend.

/// Names the cases once, in the matrix's order. Makes `CASES`, the
/// matrix's rows, and for each case a module of three tests,
/// `paf::<case>::{hyper, reqwest, ureq}`, each running that case on that
/// backend alone against paf's own servers (see [`run_one`]):
/// `cargo test -p paf-conformance --all-features -- method_get::ureq`.
/// (Their module sorts after the matrix test, which the harness so starts
/// first: the longest test does not wait behind 186 short ones.)
macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        const CASES: &[(&str, Case)] = &[$((stringify!($name), $name)),+];

        /// Each case on each backend, against paf's own servers.
        mod paf {
            $(
                mod $name {
                    use crate::{run_one, Backend};

                    #[test]
                    fn hyper() {
                        run_one(stringify!($name), crate::$name, Backend::Hyper);
                    }

                    #[test]
                    fn reqwest() {
                        run_one(stringify!($name), crate::$name, Backend::Reqwest);
                    }

                    #[test]
                    fn ureq() {
                        run_one(stringify!($name), crate::$name, Backend::Ureq);
                    }
                }
            )+
        }
    };
}

/// paf's own servers and the scripted mock for the per-case tests: started
/// once per test binary, on a runtime of their own that serves them for as
/// long as the binary runs (a static is never dropped; nothing here is a
/// process that could outlive it).
struct Shared {
    _runtime: tokio::runtime::Runtime,
    _env: Env,
    target: Target,
}

static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();

/// The target of the per-case tests: paf's own servers, started on first
/// use.
fn shared() -> &'static Target {
    &SHARED
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("paf-conformance-servers")
                .enable_all()
                .build()
                .unwrap();
            let env = runtime.block_on(async {
                let mut env = Env::start_in(shared_dir(), false).await;
                script_mocks(&mut env).await;
                env
            });
            let target = env.paf();
            Shared {
                _runtime: runtime,
                _env: env,
                target,
            }
        })
        .target
}

/// What the shared Env's directories are called in the temporary directory.
const SHARED_PREFIX: &str = "paf-conformance-";

/// A directory for the shared Env's Unix socket. Never dropped, it stays
/// behind when the binary exits: first removes those of earlier runs, more
/// than a minute old and whose socket no longer answers.
fn shared_dir() -> tempfile::TempDir {
    let tmp = std::env::temp_dir();
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(SHARED_PREFIX))
            && entry.file_type().is_ok_and(|t| t.is_dir());
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(60))
        };
        let dead = || std::os::unix::net::UnixStream::connect(entry.path().join(SOCKET)).is_err();
        if ours && old() && dead() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    tempfile::Builder::new()
        .prefix(SHARED_PREFIX)
        .tempdir_in(tmp)
        .unwrap()
}

/// Runs one case on one backend against the [`shared`] paf servers, as its
/// cell of the matrix runs: on a runtime like the matrix test's, its own,
/// within the same 60 s. Unsupported passes, and says why.
fn run_one(name: &str, case: Case, backend: Backend) {
    let target = shared();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), case(target, backend))
            .await
            .unwrap_or_else(|_| Err("the case did not finish within 60 s".into()))
    });
    // A case cut short may leave a blocking call running: not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(Support::Pass) => {}
        Ok(Support::Unsupported(feature)) => {
            println!("{name} on {}: unsupported ({feature})", backend.name());
        }
        Err(why) => panic!("{name} on {} against paf: {why}", backend.name()),
    }
}

cases! {
    method_get,
    method_post_with_body,
    method_put_with_body,
    method_delete,
    method_patch_with_body,
    method_options,
    method_extension_token,
    head_has_no_body,
    query_string_is_kept,
    percent_encoded_path_is_kept,
    request_header_repeated_values_kept_in_order,
    request_header_names_case_insensitive,
    response_repeated_headers_kept_in_order,
    response_header_names_case_insensitive,
    empty_body_post_sends_zero_length,
    small_body_round_trip_with_length,
    upload_64_mib_streamed,
    download_64_mib_streamed,
    chunked_response_read_whole,
    status_204_has_no_body,
    status_304_has_no_body,
    status_404_is_a_response,
    status_500_is_a_response,
    status_599_unknown_code_is_a_response,
    redirect_not_followed_by_default,
    redirect_followed_when_asked,
    redirect_303_turns_post_into_get,
    redirect_307_repeats_method_and_body,
    redirect_limit_is_an_error,
    gzip_body_is_not_decoded,
    gzip_body_is_decoded_when_asked,
    proxy_reaches_http_and_https_targets,
    proxy_credentials_are_sent_and_a_refusal_is_an_error,
    no_proxy_hosts_go_direct,
    connection_refused_is_a_connect_error,
    connect_timeout_is_a_timeout_error,
    request_timeout_is_a_timeout_error,
    request_timeout_covers_the_body,
    response_head_trickled_is_a_timeout,
    response_head_never_sent_is_a_timeout,
    body_stalled_midway_is_an_idle_timeout,
    get_is_sent_again_when_the_connection_closes_unanswered,
    streamed_post_is_not_sent_again,
    body_over_cap_is_body_too_large,
    endless_body_stops_at_cap,
    tls_with_the_test_ca,
    tls_rejected_without_the_ca,
    http2_over_tls_by_alpn,
    http11_when_server_offers_only_http11,
    unix_socket_through_the_context,
    user_transport_through_the_context,
    explicit_tcp_address_overrides_the_name,
    keep_alive_connection_is_reused,
    malformed_status_line_is_a_protocol_error,
    truncated_body_is_an_error,
    truncated_chunked_body_is_an_error,
    invalid_url_is_an_invalid_url_error,
    host_header_given_is_sent_once,
    host_header_naming_another_authority_is_kept,
    compat_get_over_tls,
    compat_post_form_over_tls,
    compat_callv_in_order_on_one_connection,
}

async fn script_mocks(env: &mut Env) {
    let m = &mut env.mock;
    m.mock("GET", "/moved")
        .with_status(302)
        .with_header("location", "/target")
        .create_async()
        .await;
    m.mock("GET", "/target")
        .with_status(200)
        .with_body("target")
        .create_async()
        .await;
    m.mock("POST", "/see-other")
        .with_status(303)
        .with_header("location", "/got")
        .create_async()
        .await;
    m.mock("GET", "/got")
        .with_status(200)
        .with_body("got with get")
        .create_async()
        .await;
    m.mock("PUT", "/temporary")
        .with_status(307)
        .with_header("location", "/put-here")
        .create_async()
        .await;
    m.mock("PUT", "/put-here")
        .match_body("again")
        .with_status(200)
        .with_body("put again")
        .create_async()
        .await;
    m.mock("GET", "/loop")
        .with_status(302)
        .with_header("location", "/loop")
        .create_async()
        .await;
    m.mock("GET", "/gzip")
        .with_status(200)
        .with_header("content-encoding", "gzip")
        .with_header("content-type", "text/plain")
        .with_body(GZIP_HELLO)
        .create_async()
        .await;
}

/// Cases whose peer is the test itself (a closed port, a full accept queue,
/// a raw socket, a bad URL): they run once, in paf's columns.
const PEERLESS: &[&str] = &[
    "connection_refused_is_a_connect_error",
    "connect_timeout_is_a_timeout_error",
    "response_head_trickled_is_a_timeout",
    "response_head_never_sent_is_a_timeout",
    "body_stalled_midway_is_an_idle_timeout",
    "get_is_sent_again_when_the_connection_closes_unanswered",
    "streamed_post_is_not_sent_again",
    "malformed_status_line_is_a_protocol_error",
    "truncated_body_is_an_error",
    "truncated_chunked_body_is_an_error",
    "invalid_url_is_an_invalid_url_error",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_passes_every_case_or_says_unsupported() {
    let mut env = Env::start().await;
    script_mocks(&mut env).await;
    let mut fronts = Vec::new();
    fronts.extend(peers::nginx(&env.setup()).await);
    fronts.extend(peers::caddy(&env.setup()).await);
    let mut targets = vec![env.paf()];
    targets.extend(fronts.iter().map(|front| env.front(front)));

    let mut matrix = String::from("| case |");
    for target in &targets {
        for backend in BACKENDS {
            match target.peer {
                "paf" => write!(matrix, " {} |", backend.name()),
                peer => write!(matrix, " {} · {peer} |", backend.name()),
            }
            .unwrap();
        }
    }
    matrix.push('\n');
    matrix.push_str(&"|---".repeat(1 + targets.len() * BACKENDS.len()));
    matrix.push_str("|\n");
    let mut failures = Vec::new();
    let mut counts = [0usize; 2];
    for (name, case) in CASES {
        let mut row = format!("| {name} |");
        for target in &targets {
            for backend in BACKENDS {
                if target.peer != "paf" && PEERLESS.contains(name) {
                    row.push_str(" — |");
                    continue;
                }
                let outcome = tokio::time::timeout(Duration::from_secs(60), case(target, backend))
                    .await
                    .unwrap_or_else(|_| Err("the case did not finish within 60 s".into()));
                let cell = match outcome {
                    Ok(Support::Pass) => {
                        counts[0] += 1;
                        "pass".to_string()
                    }
                    Ok(Support::Unsupported(feature)) => {
                        counts[1] += 1;
                        format!("unsupported ({feature})")
                    }
                    Err(why) => {
                        failures.push(format!(
                            "{name} on {} against {}: {why}",
                            backend.name(),
                            target.peer
                        ));
                        "FAIL".to_string()
                    }
                };
                let _ = write!(row, " {cell} |");
            }
        }
        matrix.push_str(&row);
        matrix.push('\n');
    }
    println!("{matrix}");
    println!(
        "{} cases x {} backends x {} peers ({}): {} pass, {} unsupported, {} failed",
        CASES.len(),
        BACKENDS.len(),
        targets.len(),
        targets
            .iter()
            .map(|t| t.peer)
            .collect::<Vec<_>>()
            .join(", "),
        counts[0],
        counts[1],
        failures.len()
    );
    if !failures.is_empty() {
        for front in &fronts {
            println!("--- {} log ---\n{}", front.name, front.log());
        }
    }
    for front in fronts {
        front.stop().await;
    }
    env.stop().await;
    assert!(CASES.len() >= 40, "the suite has {} cases", CASES.len());
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
