//! paf's server against HTTP clients nobody here wrote: Python's httpx (its
//! HTTP/2 is the `h2` library, not nghttp2), Go's net/http as Caddy's reverse
//! proxy, and OCaml's CoHTTP. Each runs the same mix: a small GET, a POST the
//! handler echoes, a 1 MiB download, and a second GET that must arrive on the
//! kept-alive connection; then the test compares what the client saw with what
//! the handler sent, including the HTTP version the handler saw.
//!
//! The peers are programs on the machine. One that is missing skips its test
//! with a note, unless `PAF_REQUIRE_PEERS=1` (as in CI), where it fails it.

// clippy.toml allows unwrap in `#[test]` functions; the helpers here are test
// code too, and a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Output, Stdio},
    sync::{Arc, LazyLock},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use paf_core::{server::ConnInfo, tls, Body};
use paf_hyper::{Client, Running, Server};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use tokio::{net::TcpStream, process::Command, time::timeout};

/// Upper bound for one peer's whole run: a hung peer fails, never hangs.
const LIMIT: Duration = Duration::from_secs(20);

const HELLO: &str = "hello from paf\n";
/// More than HTTP/2's 64 KiB initial window, so flow control works both ways.
const PAYLOAD_LEN: usize = 200_003;
const BLOB_LEN: usize = 1 << 20;

/// The mix every peer sends, in order, all on one connection.
const MIX: [&str; 4] = ["hello", "echo", "blob", "hello-again"];

/// Deterministic bytes that do not repeat with any short period (xorshift32).
fn pseudo_random(len: usize, seed: u32) -> Bytes {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// What `GET /blob` answers.
static BLOB: LazyLock<Bytes> = LazyLock::new(|| pseudo_random(BLOB_LEN, 0x9e37_79b9));
/// What the peers `POST /echo`.
static PAYLOAD: LazyLock<Bytes> = LazyLock::new(|| pseudo_random(PAYLOAD_LEN, 0x2545_f491));

/// The handler every peer talks to. Each answer carries the peer address it
/// came from (`x-peer`) and the HTTP version it was spoken in (`x-version`).
async fn handler(req: Request<Body>) -> Response<Body> {
    let peer = ConnInfo::of(&req).map_or_else(String::new, |info| info.peer.to_string());
    let version = format!("{:?}", req.version());
    let (status, body) = match (req.method().as_str(), req.uri().path()) {
        ("GET", "/hello") => (StatusCode::OK, Body::from(HELLO)),
        ("GET", "/blob") => (StatusCode::OK, Body::full(BLOB.clone())),
        ("POST", "/echo") => match req.into_body().to_bytes(2 * PAYLOAD_LEN).await {
            Ok(bytes) => (StatusCode::OK, Body::full(bytes)),
            Err(e) => (StatusCode::BAD_REQUEST, Body::from(e.to_string())),
        },
        _ => (StatusCode::NOT_FOUND, Body::empty()),
    };
    Response::builder()
        .status(status)
        .header("x-peer", peer)
        .header("x-version", version)
        .body(body)
        .expect("valid response")
}

/// What a client saw for one request of the mix.
#[derive(Debug)]
struct Seen {
    request: String,
    status: u16,
    /// The version the client says it spoke.
    version: Version,
    x_peer: String,
    x_version: String,
    body: Bytes,
}

/// Checks that `peer` saw the whole mix as the handler sent it: statuses,
/// byte-exact bodies, the versions the client and the handler spoke, and one
/// connection for all of it.
fn check_mix(peer: &str, seen: &[Seen], client_version: Version, server_version: Version) {
    let names: Vec<&str> = seen.iter().map(|s| s.request.as_str()).collect();
    assert_eq!(names, MIX, "{peer}: the requests answered");
    for s in seen {
        let what = format!("{peer}, {}", s.request);
        assert_eq!(s.status, 200, "{what}: status");
        assert_eq!(s.version, client_version, "{what}: version the client saw");
        assert_eq!(
            s.x_version,
            format!("{server_version:?}"),
            "{what}: version the handler saw"
        );
        let want: &[u8] = match s.request.as_str() {
            "echo" => &PAYLOAD,
            "blob" => &BLOB,
            _ => HELLO.as_bytes(),
        };
        assert_same_bytes(&what, &s.body, want);
    }
    let first: SocketAddr = seen[0]
        .x_peer
        .parse()
        .unwrap_or_else(|e| panic!("{peer}: x-peer {:?} is not an address: {e}", seen[0].x_peer));
    assert_eq!(first.ip(), Ipv4Addr::LOCALHOST, "{peer}: x-peer");
    for s in seen {
        assert_eq!(
            s.x_peer, seen[0].x_peer,
            "{peer}, {}: every request comes on the kept-alive connection",
            s.request
        );
    }
    println!(
        "{peer}: {} requests on one connection from {first}, client saw {client_version:?}, \
         handler saw {server_version:?}",
        seen.len()
    );
}

/// Byte-exact comparison that reports lengths and the first difference rather
/// than printing a megabyte.
fn assert_same_bytes(what: &str, got: &[u8], want: &[u8]) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: body differs: got {} bytes, want {}; first difference at {at:?}",
            got.len(),
            want.len()
        );
    }
}

/// How the peer reaches paf's server.
#[derive(Clone, Copy, Debug)]
enum Over {
    Tcp,
    Tls,
}

/// A client nobody here wrote.
#[derive(Clone, Copy, Debug)]
enum Peer {
    /// Python's httpx in a mode of `peers/httpx_client.py`: `http1`, `http2`
    /// (both offered, ALPN picks) or `http2-only` (prior knowledge on http://).
    Httpx(&'static str),
    /// Caddy's reverse proxy (Go's net/http client), paf's client in front.
    Caddy(Upstream),
    /// OCaml's cohttp-lwt-unix.
    Cohttp,
}

/// Starts a server, has `peer` run the mix against it, and checks what the
/// peer saw, `version` being what the handler must see. A peer that is not
/// installed skips (see [`peer_present`]).
async fn interop(peer: Peer, over: Over, version: Version) {
    let setup = Setup::start(over).await;
    let seen = match peer {
        Peer::Httpx(mode) => httpx_mix(&setup, mode).await,
        Peer::Caddy(upstream) => caddy_mix(&setup, upstream).await,
        Peer::Cohttp => cohttp_mix(&setup).await,
    };
    if let Some(seen) = seen {
        // A client and the server it talks to agree on the version; in front
        // of Caddy, paf's client speaks HTTP/1.1 whatever Go sends upstream.
        let client_version = match peer {
            Peer::Caddy(_) => Version::HTTP_11,
            _ => version,
        };
        let label = format!("{peer:?} over {over:?}");
        check_mix(&label, &seen, client_version, version);
    }
    setup.stop().await;
}

/// A test CA and the listener certificate it issued, an end-entity certificate
/// for `localhost` and 127.0.0.1: the peers verify a real chain, with their
/// own X.509 code (OpenSSL, Go's crypto/x509), as they would in production.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        // rcgen gives every certificate the same subject by default; with the
        // issuer's subject equal to its own, OpenSSL takes the listener
        // certificate for a self-signed one.
        ca.distinguished_name
            .push(DnType::CommonName, "paf interop test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert_pem = leaf.signed_by(&key, &issuer).unwrap().pem();
        Pki {
            ca_pem,
            cert_pem,
            key_pem: key.serialize_pem(),
        }
    }

    /// A server configuration offering ALPN h2, then http/1.1.
    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let mut config =
            tls::server_config_from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap();
        config.alpn_protocols = vec![tls::ALPN_H2.to_vec(), tls::ALPN_HTTP11.to_vec()];
        Arc::new(config)
    }
}

/// A paf server with [`handler`] on a free loopback port, and the files a
/// peer needs: the CA to trust, the payload to POST, a directory for bodies.
struct Setup {
    running: Running,
    addr: SocketAddr,
    /// The URL peers use: `https://localhost:PORT` (the certificate's name, for
    /// SNI and host name checks) or `http://127.0.0.1:PORT`.
    base: String,
    dir: TempDir,
}

impl Setup {
    async fn start(over: Over) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new();
        std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
        std::fs::write(dir.path().join("payload"), &*PAYLOAD).unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let builder = match over {
            Over::Tcp => Server::builder(),
            Over::Tls => Server::builder().tls(pki.server_config()),
        };
        let loopback = (Ipv4Addr::LOCALHOST, 0).into();
        let running = builder.build(handler).bind_tcp(loopback).await.unwrap();
        let addr = running.local_addr().unwrap();
        let base = match over {
            Over::Tcp => format!("http://{addr}"),
            Over::Tls => format!("https://localhost:{}", addr.port()),
        };
        Setup {
            running,
            addr,
            base,
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The arguments every peer program takes: BASE_URL CA_FILE PAYLOAD_FILE OUT_DIR.
    fn peer_args(&self) -> Vec<String> {
        [
            self.base.clone(),
            path_string(&self.path("ca.pem")),
            path_string(&self.path("payload")),
            path_string(&self.path("out")),
        ]
        .into()
    }

    async fn stop(self) {
        timeout(LIMIT, self.running.stop(Duration::from_secs(1)))
            .await
            .expect("the server stops");
    }
}

fn path_string(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// Whether a peer can run here. A missing peer skips its test with a note
/// (`install` says how to get it), except under `PAF_REQUIRE_PEERS=1`, where
/// it fails the test.
fn peer_present(peer: &str, install: &str, found: bool) -> bool {
    if !found {
        paf_testkit::skip_or_fail(peer, install);
    }
    found
}

/// Whether `program args` runs and exits successfully.
async fn runs(program: &str, args: &[&str]) -> bool {
    let probe = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(timeout(LIMIT, probe).await, Ok(Ok(status)) if status.success())
}

/// Runs a peer program to its end; it is killed if it outlives [`LIMIT`].
async fn run_peer(peer: &str, command: &mut Command) -> Output {
    let run = command.stdin(Stdio::null()).kill_on_drop(true).output();
    let output = timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("{peer} did not finish within {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("{peer} did not start: {e}"));
    assert!(
        output.status.success(),
        "{peer} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Reads a peer's report: one line per request,
/// `request=NAME status=N version=V x-peer=ADDR x-version=V`, with the body
/// in `OUT_DIR/NAME.body`.
fn parse_report(stdout: &[u8], out_dir: &Path) -> Result<Vec<Seen>, String> {
    let text = std::str::from_utf8(stdout).map_err(|e| e.to_string())?;
    text.lines()
        .map(|line| {
            let field = |key: &str| {
                line.split(' ')
                    .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                    .map(str::to_string)
                    .ok_or_else(|| format!("no {key} in {line:?}"))
            };
            let request = field("request")?;
            let status = field("status")?;
            let version = field("version")?;
            let body_file = out_dir.join(format!("{request}.body"));
            Ok(Seen {
                status: status
                    .parse()
                    .map_err(|_| format!("status {status:?} in {line:?}"))?,
                version: match version.as_str() {
                    "HTTP/1.0" => Version::HTTP_10,
                    "HTTP/1.1" => Version::HTTP_11,
                    "HTTP/2" => Version::HTTP_2,
                    _ => return Err(format!("version {version:?} in {line:?}")),
                },
                x_peer: field("x-peer")?,
                x_version: field("x-version")?,
                body: std::fs::read(&body_file)
                    .map_err(|e| format!("{}: {e}", body_file.display()))?
                    .into(),
                request,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- httpx ---

const HTTPX_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/httpx_client.py");

/// Runs the mix with httpx in `mode` (`http1`, `http2`, `http2-only`; see the
/// script) against `setup`'s server.
async fn httpx_mix(setup: &Setup, mode: &str) -> Option<Vec<Seen>> {
    let found = runs("python3", &["-c", "import httpx, h2"]).await;
    if !peer_present(
        "httpx (python3 with httpx[http2])",
        "PyPI: `pip install 'httpx[http2]'`",
        found,
    ) {
        return None;
    }
    let output = run_peer(
        "httpx",
        Command::new("python3")
            .arg(HTTPX_CLIENT)
            .args(setup.peer_args())
            .arg(mode),
    )
    .await;
    Some(parse_report(&output.stdout, &setup.path("out")).unwrap())
}

#[tokio::test]
async fn httpx_http2_over_tls_sees_what_the_handler_sent() {
    interop(Peer::Httpx("http2"), Over::Tls, Version::HTTP_2).await;
}

#[tokio::test]
async fn httpx_http11_over_tls_sees_what_the_handler_sent() {
    interop(Peer::Httpx("http1"), Over::Tls, Version::HTTP_11).await;
}

#[tokio::test]
async fn httpx_http11_over_plain_tcp_sees_what_the_handler_sent() {
    interop(Peer::Httpx("http1"), Over::Tcp, Version::HTTP_11).await;
}

#[tokio::test]
async fn httpx_h2c_prior_knowledge_sees_what_the_handler_sent() {
    interop(Peer::Httpx("http2-only"), Over::Tcp, Version::HTTP_2).await;
}

// ---------------------------------------------------------------- Caddy ---

/// How Caddy's Go client reaches paf's server.
#[derive(Clone, Copy, Debug)]
enum Upstream {
    /// `reverse_proxy 127.0.0.1:P`: HTTP/1.1.
    Http11,
    /// `reverse_proxy h2c://127.0.0.1:P`: HTTP/2 with prior knowledge.
    H2c,
    /// `reverse_proxy https://…` trusting the test CA: TLS, ALPN picks.
    Https,
}

/// A Caddy reverse proxy in front of `setup`'s server, killed on drop.
struct Caddy {
    _process: tokio::process::Child,
    /// The proxy's URL, for the front client.
    base: String,
}

/// Runs the mix through Caddy in front of `setup`'s server, or `None` if
/// Caddy is not installed.
async fn caddy_mix(setup: &Setup, upstream: Upstream) -> Option<Vec<Seen>> {
    if !peer_present(
        "caddy",
        "Debian: `apt-get install -y caddy`",
        runs("caddy", &["version"]).await,
    ) {
        return None;
    }
    let target = setup.addr;
    let proxy = match upstream {
        Upstream::Http11 => format!("reverse_proxy {target}"),
        Upstream::H2c => format!("reverse_proxy h2c://{target}"),
        Upstream::Https => format!(
            "reverse_proxy https://{target} {{
		transport http {{
			tls_trusted_ca_certs {}
			tls_server_name localhost
		}}
	}}",
            path_string(&setup.path("ca.pem"))
        ),
    };
    // The port is free when we look; should something take it before Caddy
    // binds it, Caddy exits and we try another.
    let mut failures = Vec::new();
    for _ in 0..3 {
        match start_caddy(setup, &proxy).await {
            Ok(caddy) => return Some(mix_through(&caddy).await),
            Err(failure) => failures.push(failure),
        }
    }
    panic!("caddy did not start:\n{}", failures.join("\n---\n"));
}

async fn start_caddy(setup: &Setup, proxy: &str) -> Result<Caddy, String> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    // No admin endpoint and no automatic HTTPS: Caddy listens on our one
    // loopback port and writes nothing outside its own directories.
    let caddyfile = format!(
        "{{
	admin off
	auto_https off
}}
http://127.0.0.1:{port} {{
	bind 127.0.0.1
	{proxy}
}}
"
    );
    let home = setup.path(&format!("caddy-{port}"));
    std::fs::create_dir(&home).map_err(|e| e.to_string())?;
    let config = home.join("Caddyfile");
    std::fs::write(&config, caddyfile).map_err(|e| e.to_string())?;
    let log_path = home.join("caddy.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut process = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&config)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("caddy did not start: {e}"))?;
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let ready = timeout(LIMIT, async {
        loop {
            if let Ok(Some(status)) = process.try_wait() {
                return Err(format!("caddy exited ({status}):\n{}", log()));
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    match ready {
        Ok(Ok(())) => Ok(Caddy {
            _process: process,
            base: format!("http://127.0.0.1:{port}"),
        }),
        Ok(Err(failure)) => Err(failure),
        Err(_) => Err(format!("caddy did not listen within {LIMIT:?}:\n{}", log())),
    }
}

/// Runs the mix through the proxy with paf's own client in front: the handler's
/// answers (`x-version`, `x-peer`) tell what Caddy's Go client sent upstream.
async fn mix_through(proxy: &Caddy) -> Vec<Seen> {
    let client = Client::new();
    let mut seen = Vec::new();
    for name in MIX {
        let (method, path, body) = match name {
            "echo" => ("POST", "/echo", Body::full(PAYLOAD.clone())),
            "blob" => ("GET", "/blob", Body::empty()),
            _ => ("GET", "/hello", Body::empty()),
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", proxy.base))
            .body(body)
            .unwrap();
        let response = timeout(LIMIT, client.request(request))
            .await
            .unwrap_or_else(|_| panic!("caddy: {name} timed out"))
            .unwrap_or_else(|e| panic!("caddy: {name} failed: {e}"));
        let header = |key: &str| {
            response.headers().get(key).map_or_else(
                || "-".to_string(),
                |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        };
        let (status, version) = (response.status().as_u16(), response.version());
        let (x_peer, x_version) = (header("x-peer"), header("x-version"));
        let body = timeout(LIMIT, response.into_body().to_bytes(2 * BLOB_LEN))
            .await
            .unwrap_or_else(|_| panic!("caddy: {name} body timed out"))
            .unwrap_or_else(|e| panic!("caddy: {name} body failed: {e}"));
        seen.push(Seen {
            request: name.to_string(),
            status,
            version,
            x_peer,
            x_version,
            body,
        });
    }
    seen
}

#[tokio::test]
async fn caddy_over_http11_upstream_sees_what_the_handler_sent() {
    interop(Peer::Caddy(Upstream::Http11), Over::Tcp, Version::HTTP_11).await;
}

#[tokio::test]
async fn caddy_over_h2c_upstream_sees_what_the_handler_sent() {
    interop(Peer::Caddy(Upstream::H2c), Over::Tcp, Version::HTTP_2).await;
}

#[tokio::test]
async fn caddy_over_https_upstream_speaks_http2_and_sees_what_the_handler_sent() {
    interop(Peer::Caddy(Upstream::Https), Over::Tls, Version::HTTP_2).await;
}

// --------------------------------------------------------------- CoHTTP ---

const COHTTP_CLIENT: &str = include_str!("peers/cohttp_client.ml");

/// Builds the CoHTTP peer into `setup`'s directory and runs the mix with it.
async fn cohttp_mix(setup: &Setup) -> Option<Vec<Seen>> {
    let found = runs("ocamlfind", &["query", "cohttp-lwt-unix"]).await;
    if !peer_present(
        "cohttp (ocamlfind with cohttp-lwt-unix)",
        "Debian: `apt-get install -y ocaml-nox ocaml-findlib libcohttp-lwt-unix-ocaml-dev \
         liblwt-ssl-ocaml-dev`",
        found,
    ) {
        return None;
    }
    let build = setup.path("cohttp");
    std::fs::create_dir(&build).unwrap();
    std::fs::write(build.join("cohttp_client.ml"), COHTTP_CLIENT).unwrap();
    run_peer(
        "ocamlfind ocamlopt",
        Command::new("ocamlfind")
            .args(["ocamlopt", "-thread", "-package", "cohttp-lwt-unix"])
            .args(["-linkpkg", "cohttp_client.ml", "-o", "cohttp_client"])
            .current_dir(&build),
    )
    .await;
    let output = run_peer(
        "cohttp",
        Command::new(build.join("cohttp_client")).args(setup.peer_args()),
    )
    .await;
    Some(parse_report(&output.stdout, &setup.path("out")).unwrap())
}

#[tokio::test]
async fn cohttp_over_plain_tcp_sees_what_the_handler_sent() {
    interop(Peer::Cohttp, Over::Tcp, Version::HTTP_11).await;
}

/// CoHTTP's TLS here is conduit's OpenSSL binding (lwt_ssl), which offers no
/// ALPN: the server must fall back to HTTP/1.1.
#[tokio::test]
async fn cohttp_over_tls_without_alpn_sees_what_the_handler_sent() {
    interop(Peer::Cohttp, Over::Tls, Version::HTTP_11).await;
}
