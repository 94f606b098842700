//! The ports against the real CoHTTP: cohttp's own file server
//! (`cohttp_server_lwt`) and curl (`cohttp_curl_lwt`), built from
//! `tests/ocaml/*.ml` with ocamlfind against the cohttp-lwt-unix on the
//! machine (Debian's 4.0.0), and their ports `examples/cohttp_server.rs`
//! and `examples/cohttp_curl.rs`, included here as modules so the test
//! runs the examples' own code.
//!
//! The reference is OCaml against OCaml: cohttp_curl_lwt fetching from
//! cohttp_server_lwt. Each other pair (the OCaml curl against the ported
//! server, the ported curl against the OCaml server, the ports together)
//! must see the same thing for every request of [`REQUESTS`]: the status,
//! `content-type`, `content-length`, `location`, the set of `allow`
//! values and the body byte for byte, once each server's port is replaced
//! by `PORT`. Two things are not compared, on purpose: the `date` field
//! (the time), and the order of the `allow` values (see [`Seen::allow`]).
//!
//! Without ocamlfind, cohttp-lwt-unix or cmdliner the tests print
//! "skipped" and pass, unless `PAF_REQUIRE_PEERS=1` (as in CI).
#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../../examples/cohttp_server.rs"]
mod cohttp_server;

#[allow(dead_code)]
#[path = "../../examples/cohttp_curl.rs"]
mod cohttp_curl;

use std::future::IntoFuture;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use paf_compat::code;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout};

/// Upper bound for one request, one start, one build.
const LIMIT: Duration = Duration::from_secs(30);

/// `(method, path)` of each request, run in this order.
const REQUESTS: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/hello.txt"),
    ("HEAD", "/hello.txt"),
    ("GET", "/blob.bin"),
    ("GET", "/docs"),
    ("GET", "/docs/"),
    ("GET", "/docs/a%20b.txt"),
    ("GET", "/docs/inner/"),
    ("GET", "/sub"),
    ("GET", "/sub/"),
    ("GET", "/missing"),
    ("GET", "/pipe"),
    ("POST", "/hello.txt"),
    ("DELETE", "/docs/"),
    ("GET", "/%2e%2e/secret.txt"),
];

/// A `..` that would climb out of the root: ocaml-uri (and paf-compat's
/// `Uri`, which follows it) removes the dot segment from the request's
/// URI, `%2e%2e` included, so both servers serve `root/secret.txt`, never
/// the file of that name outside the root.
const ESCAPE: &str = "/%2e%2e/secret.txt";

// ---------------------------------------------------------- the peers ---

/// The OCaml programs, built once: `None` when the OCaml side is missing.
fn ocaml_programs() -> Option<&'static (PathBuf, PathBuf)> {
    static BUILT: OnceLock<Option<(TempDir, (PathBuf, PathBuf))>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let found = std::process::Command::new("ocamlfind")
                .args(["query", "cohttp-lwt-unix", "cmdliner"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                paf_testkit::skip_or_fail(
                    "ocamlfind with cohttp-lwt-unix and cmdliner",
                    "Debian: `apt-get install -y ocaml-nox ocaml-findlib \
                     libcohttp-lwt-unix-ocaml-dev liblwt-ssl-ocaml-dev libcmdliner-ocaml-dev`",
                );
                return None;
            }
            let dir = TempDir::new().unwrap();
            let build = |name: &str| {
                let source =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/ocaml/{name}.ml"));
                std::fs::copy(source, dir.path().join(format!("{name}.ml"))).unwrap();
                let out = std::process::Command::new("ocamlfind")
                    .args([
                        "ocamlopt",
                        "-thread",
                        "-package",
                        "cohttp-lwt-unix,cmdliner",
                    ])
                    .args(["-linkpkg", &format!("{name}.ml"), "-o", name])
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "ocamlfind ocamlopt {name}.ml failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                dir.path().join(name)
            };
            let programs = (build("cohttp_server_lwt"), build("cohttp_curl_lwt"));
            Some((dir, programs))
        })
        .as_ref()
        .map(|(_, programs)| programs)
}

/// A port nothing listens on now (both servers take a port number, as
/// the OCaml's `-p` does, and put it in their pages), never one this
/// process handed out before: the tests start their servers at once.
fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until the server listens on `port`; false when it ended first
/// (another program took the port between `free_port` and its bind).
async fn wait_listening(port: u16, mut ended: impl FnMut() -> bool) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..300 {
        if ended() {
            return false;
        }
        if TcpStream::connect(addr).await.is_ok() {
            // Listening, unless it is someone else who is and the server
            // is about to fail its bind.
            sleep(Duration::from_millis(50)).await;
            return !ended();
        }
        sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on {addr}");
}

/// A running server: the OCaml process (killed on drop) or the port's
/// task (stopped on drop).
enum Running {
    Ocaml(#[allow(dead_code)] Child),
    Port(#[allow(dead_code)] oneshot::Sender<()>),
}

struct Site {
    docroot: TempDir,
}

impl Site {
    /// The directory both servers serve: files of several types, a file
    /// whose name needs encoding, a directory with an index, directories
    /// without one, a FIFO (neither file nor directory), and a file
    /// outside the root and one of the same name inside it (see
    /// [`ESCAPE`]).
    fn new() -> Site {
        let top = TempDir::new().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir_all(root.join("docs/inner")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("hello.txt"), "hello from the docroot\n").unwrap();
        std::fs::write(
            root.join("blob.bin"),
            (0..=255u8).cycle().take(3000).collect::<Vec<u8>>(),
        )
        .unwrap();
        std::fs::write(root.join("docs/a b.txt"), "spaced\n").unwrap();
        std::fs::write(root.join("docs/Data.json"), "{\"a\": 1}\n").unwrap();
        std::fs::write(root.join("docs/zeta.html"), vec![b'z'; 5000]).unwrap();
        std::fs::write(root.join("sub/index.html"), "<p>index of sub</p>\n").unwrap();
        std::fs::write(top.path().join("secret.txt"), "outside the root\n").unwrap();
        std::fs::write(root.join("secret.txt"), "inside the root\n").unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .unwrap();
        assert!(fifo.success(), "mkfifo");
        Site { docroot: top }
    }

    fn root(&self) -> PathBuf {
        self.docroot.path().join("root")
    }

    async fn ocaml_server(&self, program: &Path) -> (u16, Running) {
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(program)
                .arg(self.root())
                .args(["-p", &port.to_string(), "-s", "127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            if wait_listening(port, || child.try_wait().unwrap().is_some()).await {
                return (port, Running::Ocaml(child));
            }
        }
        panic!("cohttp_server_lwt did not start");
    }

    async fn ported_server(&self) -> (u16, Running) {
        for _ in 0..5 {
            let port = free_port();
            let (stop, stopped) = oneshot::channel::<()>();
            let root = self.root();
            let create =
                cohttp_server::start_server(root, port, "127.0.0.1", "index.html".into(), None)
                    .unwrap()
                    .stop(async {
                        let _ = stopped.await;
                    });
            let serving = tokio::spawn(create.into_future());
            if wait_listening(port, || serving.is_finished()).await {
                return (port, Running::Port(stop));
            }
        }
        panic!("the ported server did not start");
    }
}

// ------------------------------------------------------ what was seen ---

/// One answer as a curl printed it with `-i`, the server's port replaced
/// by `PORT`.
#[derive(Debug, PartialEq)]
struct Seen {
    status: String,
    content_type: Option<String>,
    content_length: Option<String>,
    location: Option<String>,
    /// CoHTTP 4 stores a name's values in reverse (`add_multi "allow"
    /// ["GET"; "HEAD"]` sends `HEAD` first); CoHTTP 6 and paf-compat keep
    /// the order. The set is what a client can rely on.
    allow: Vec<String>,
    body: Vec<u8>,
    /// The curl's verdict: success, or the status line it printed on
    /// standard error before exiting with 1.
    failure: Option<String>,
}

fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Parses `-i` output: the status line, header lines, an empty line, the
/// body.
fn parse(output: &[u8], port: u16, failure: Option<String>) -> Seen {
    let output = replace(output, &format!("127.0.0.1:{port}"), "127.0.0.1:PORT");
    let end = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&output)));
    let head = String::from_utf8(output[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_owned();
    let fields: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut allow: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "allow")
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()))
        .collect();
    allow.sort();
    Seen {
        status,
        content_type: field("content-type"),
        content_length: field("content-length"),
        location: field("location"),
        allow,
        body: output[end + 4..].to_vec(),
        failure,
    }
}

/// What the OCaml curl (`-i`) printed for `meth path` on `port`.
async fn ocaml_curl(program: &Path, port: u16, meth: &str, path: &str) -> Seen {
    let url = format!("http://127.0.0.1:{port}{path}");
    let run = Command::new(program)
        .args(["-i", "-X", meth, &url])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = timeout(LIMIT, run).await.unwrap().unwrap();
    let failure = match out.status.code() {
        Some(0) => None,
        Some(1) => Some(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        other => panic!(
            "cohttp_curl_lwt {meth} {url}: exit {other:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    parse(&out.stdout, port, failure)
}

/// What the ported curl (`-i`) printed for `meth path` on `port`; its
/// `main` prints the failure's status line, as the OCaml does.
async fn ported_curl(port: u16, meth: &str, path: &str) -> Seen {
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut out = Vec::new();
    let status = timeout(LIMIT, cohttp_curl::client(&url, meth, true, &mut out))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cohttp_curl {meth} {url}: {e}"));
    let failure =
        (!code::is_success(code::code_of_status(&status))).then(|| code::string_of_status(&status));
    parse(&out, port, failure)
}

/// Which curl and which server.
#[derive(Clone, Copy, Debug)]
enum Side {
    Ocaml,
    Port,
}

async fn fetch(
    curl: Side,
    programs: &(PathBuf, PathBuf),
    port: u16,
    meth: &str,
    path: &str,
) -> Seen {
    match curl {
        Side::Ocaml => ocaml_curl(&programs.1, port, meth, path).await,
        Side::Port => ported_curl(port, meth, path).await,
    }
}

/// Runs every request with `curl` against `server` and compares each
/// answer with the reference (the OCaml curl against the OCaml server).
async fn compare(curl: Side, server: Side) {
    let Some(programs) = ocaml_programs() else {
        println!("{curl:?} curl against the {server:?} server: skipped");
        return;
    };
    let site = Site::new();
    let (ref_port, _reference) = site.ocaml_server(&programs.0).await;
    let (port, _server) = match server {
        Side::Ocaml => site.ocaml_server(&programs.0).await,
        Side::Port => site.ported_server().await,
    };
    for &(meth, path) in REQUESTS {
        let want = ocaml_curl(&programs.1, ref_port, meth, path).await;
        let got = fetch(curl, programs, port, meth, path).await;
        let what = format!("{curl:?} curl, {server:?} server: {meth} {path}");
        if path == ESCAPE {
            assert_eq!(got.body, b"inside the root\n", "{what}");
        }
        assert_eq!(
            got, want,
            "{what}: differs from cohttp_curl_lwt against cohttp_server_lwt"
        );
    }
    println!(
        "{curl:?} curl against the {server:?} server: {} requests as OCaml against OCaml",
        REQUESTS.len()
    );
}

#[tokio::test]
async fn cohttp_curl_gets_from_the_ported_server_what_cohttp_server_lwt_sends() {
    compare(Side::Ocaml, Side::Port).await;
}

#[tokio::test]
async fn the_ported_curl_gets_from_cohttp_server_lwt_what_cohttp_curl_gets() {
    compare(Side::Port, Side::Ocaml).await;
}

#[tokio::test]
async fn the_ported_curl_and_server_together_match_ocaml_against_ocaml() {
    compare(Side::Port, Side::Port).await;
}

/// The reference itself is stable: two OCaml servers on one root answer
/// the same (so a difference above is the port's, not the setup's).
#[tokio::test]
async fn cohttp_against_cohttp_is_a_stable_reference() {
    compare(Side::Ocaml, Side::Ocaml).await;
}
