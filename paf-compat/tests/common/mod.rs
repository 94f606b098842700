//! Shared by the end-to-end tests: a compat server with one route per
//! behaviour under test, started on TCP, TLS or a Unix socket. The test
//! certificate is paf-testkit's.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::{future::Future, path::PathBuf, sync::Arc, time::Duration};

use paf_compat::auth::Challenge;
use paf_compat::code::{self, Status};
use paf_compat::server::{self, Conn, Running, Server};
use paf_compat::{Body, Header, Request, Response};
pub use paf_testkit::TestCert;

/// The ALPN protocols paf's servers offer by default, which the TLS
/// servers here offer.
pub const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Fails the test rather than hang it.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than 20 s"))
}

/// A temporary served root holding `index.html`, `notes.txt`, `data.bin`
/// and `sub/style.css`, next to a `secret.txt` outside it, and a symbolic
/// link `root/escape.txt` to that secret.
pub struct Site {
    pub dir: tempfile::TempDir,
}

pub const SECRET: &str = "the secret outside the root";

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("index.html"), "<h1>hello</h1>").unwrap();
        std::fs::write(root.join("notes.txt"), "plain notes").unwrap();
        std::fs::write(root.join("data.bin"), vec![7u8; 100_000]).unwrap();
        std::fs::write(root.join("sub/style.css"), "h1 { color: red }").unwrap();
        std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("escape.txt")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("notes.txt"), root.join("inside.txt")).unwrap();
        Site { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

/// The routes, by path:
/// - `/echo`: the request body back, with its head in `x-` headers
///   (`x-method`, `x-resource`, `x-version`, `x-te`, `x-cl`, `x-ua`,
///   `x-host`, `x-ct`);
/// - `/form`: the body read by `Body::to_form`, as `k=v1|v2;` text, and
///   `x-is-form`;
/// - `/conn`: the peer, the TLS state and the absolute URI the server saw;
/// - `/respond*`: one `respond_*` helper each;
/// - `/files/…`: `respond_file` under the site's root;
/// - `/panic`: the callback panics.
pub fn router(docroot: PathBuf) -> Server {
    let docroot = Arc::new(docroot);
    Server::make(move |conn: Conn, req: Request, body: Body| {
        let docroot = docroot.clone();
        async move { route(&docroot, conn, req, body).await }
    })
}

fn opt(h: Header, name: &str, value: Option<&str>) -> Header {
    match value {
        Some(v) => h.add(name, v),
        None => h,
    }
}

async fn route(
    docroot: &std::path::Path,
    conn: Conn,
    req: Request,
    body: Body,
) -> (Response, Body) {
    let path = req.uri().path().to_owned();
    if let Some(file) = path.strip_prefix("/files") {
        // The raw resource, so that percent-encoding reaches respond_file.
        let raw = req
            .resource()
            .strip_prefix("/files")
            .unwrap_or(file)
            .to_owned();
        return server::respond_file_under(docroot, &raw, None).await;
    }
    match path.as_str() {
        "/echo" => {
            let h = req.headers();
            let headers = Header::init()
                .add("x-method", code::string_of_method(req.meth()))
                .add("x-resource", req.resource())
                .add("x-version", code::string_of_version(req.version()));
            let headers = opt(headers, "x-te", h.get("transfer-encoding"));
            let headers = opt(headers, "x-cl", h.get("content-length"));
            let headers = opt(headers, "x-ua", h.get("user-agent"));
            let headers = opt(headers, "x-host", h.get("host"));
            let headers = opt(headers, "x-ct", h.get("content-type"));
            let headers = opt(headers, "x-custom", h.get("x-custom"));
            match body.to_string().await {
                Ok(text) => server::respond_string(Status::Ok, text, Some(headers)),
                Err(e) => server::respond_error(Some(Status::BadRequest), &e.to_string(), None),
            }
        }
        "/form" => {
            let is_form = req.headers().is_form().to_string();
            let form = body.to_form().await.unwrap_or_default();
            let text: String = form
                .iter()
                .map(|(k, vs)| format!("{k}={};", vs.join("|")))
                .collect();
            server::respond_string(
                Status::Ok,
                text,
                Some(Header::init_with("x-is-form", is_form)),
            )
        }
        "/conn" => {
            let text = format!(
                "peer={} tls={} uri={}",
                conn.peer,
                conn.tls.is_some(),
                req.uri()
            );
            server::respond_string(Status::Ok, text, None)
        }
        "/respond" => server::respond(
            Status::Accepted,
            Body::of_string_list(["chunk one, ", "chunk two"]),
            Some(Header::init_with("x-a", "1")),
        ),
        "/respond_string" => server::respond_string(Status::Created, "made", None),
        "/respond_error" => server::respond_error(None, "boom", None),
        "/respond_error_status" => {
            server::respond_error(Some(Status::BadRequest), "bad input", None)
        }
        "/respond_redirect" => server::respond_redirect("/respond_string", None),
        "/respond_need_auth" => {
            server::respond_need_auth(&Challenge::Basic("paf realm".into()), None)
        }
        "/respond_not_found" => server::respond_not_found(Some(req.resource())),
        "/panic" => panic!("the callback fails"),
        _ => server::respond_not_found(Some(req.resource())),
    }
}

/// The router on 127.0.0.1, plain.
pub async fn tcp_server(site: &Site) -> Running {
    router(site.root())
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The router on 127.0.0.1 with TLS.
pub async fn tls_server(site: &Site, cert: &TestCert) -> Running {
    router(site.root())
        .tls(cert.server_config(ALPN))
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}
