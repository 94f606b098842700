//! Servers nobody here wrote, as the suite's peers: nginx (its own HTTP/1.1
//! parser and HTTP/2 stack) and Caddy (Go's `net/http`), started from
//! Debian's packages with a configuration the test writes, on free loopback
//! ports and a Unix socket.
//!
//! Each front answers some routes itself (static files, redirects, its view
//! of the client's address) and hands the rest to the suite's paf handler
//! over HTTP/1.1, so the client always talks to the front's implementation,
//! never to paf's. Every response carries `x-front-version`, the protocol
//! the front spoke with the client.
//!
//! A missing program skips that peer with a message, unless
//! `PAF_REQUIRE_PEERS=1` (as `.ci/run` sets), where it fails the test.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

/// A server program started for the suite.
pub(crate) struct Front {
    /// `nginx` or `caddy`.
    pub(crate) name: &'static str,
    /// HTTP/1.1 without TLS.
    pub(crate) plain: SocketAddr,
    /// TLS offering `h2` and `http/1.1` by ALPN.
    pub(crate) tls: SocketAddr,
    /// TLS offering `http/1.1` only.
    pub(crate) tls_h1: SocketAddr,
    /// HTTP/1.1 on a Unix socket.
    pub(crate) unix: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

/// What both fronts are given.
pub(crate) struct Setup<'a> {
    /// The paf server the fronts hand dynamic routes to.
    pub(crate) upstream: SocketAddr,
    /// The listener certificate and key (PEM).
    pub(crate) cert_pem: &'a str,
    /// Its key.
    pub(crate) key_pem: &'a str,
    /// Files the fronts serve themselves: `download/<n>`, `gzip`.
    pub(crate) docroot: &'a Path,
}

/// Whether a missing peer fails the run rather than skipping it.
pub(crate) fn required() -> bool {
    std::env::var("PAF_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

fn found(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            !required(),
            "{program} is not installed and PAF_REQUIRE_PEERS=1"
        );
        println!("{program} not found: its column is skipped");
    }
    found
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("a bound address")
}

impl Front {
    /// Waits until every listener accepts, or fails with the front's log.
    async fn ready(self) -> Front {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let tcp = [self.plain, self.tls, self.tls_h1];
            let mut up = true;
            for addr in tcp {
                up &= tokio::net::TcpStream::connect(addr).await.is_ok();
            }
            up &= tokio::net::UnixStream::connect(&self.unix).await.is_ok();
            if up {
                return self;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen within 20 s; its log:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the program wrote, for failure messages.
    pub(crate) fn log(&self) -> String {
        let mut log = String::new();
        for file in ["stderr.log", "error.log"] {
            if let Ok(text) = std::fs::read_to_string(self.dir.path().join(file)) {
                log.push_str(&text);
            }
        }
        log
    }

    /// Stops the program.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn spawn(program: &str, args: &[&str], dir: &Path, envs: &[(&str, &Path)]) -> Child {
    let stderr = std::fs::File::create(dir.join("stderr.log")).expect("a log file");
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true);
    for (name, value) in envs {
        command.env(name, value);
    }
    command.spawn().expect("the program starts")
}

/// A front about to start: its directory (with the certificate), ports
/// and socket path.
struct Plan {
    name: &'static str,
    dir: tempfile::TempDir,
    plain: SocketAddr,
    tls: SocketAddr,
    tls_h1: SocketAddr,
    unix: PathBuf,
}

impl Plan {
    /// `None` when the program is missing (see [`found`]).
    fn new(name: &'static str, setup: &Setup<'_>) -> Option<Plan> {
        if !found(name) {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("cert.pem"), setup.cert_pem).expect("write cert");
        std::fs::write(dir.path().join("key.pem"), setup.key_pem).expect("write key");
        let unix = dir.path().join(format!("{name}.sock"));
        Some(Plan {
            name,
            dir,
            plain: free_port(),
            tls: free_port(),
            tls_h1: free_port(),
            unix,
        })
    }

    /// Runs the program with `args` and waits until it listens.
    async fn start(self, args: &[&str], envs: &[(&str, &Path)]) -> Front {
        let child = spawn(self.name, args, self.dir.path(), envs);
        Front {
            name: self.name,
            plain: self.plain,
            tls: self.tls,
            tls_h1: self.tls_h1,
            unix: self.unix,
            child,
            dir: self.dir,
        }
        .ready()
        .await
    }
}

/// nginx 1.22: one process (no workers to hand files to another user), the
/// HTTP/2 listener declared as Debian's sites declare it (`ssl http2`).
pub(crate) async fn nginx(setup: &Setup<'_>) -> Option<Front> {
    let plan = Plan::new("nginx", setup)?;
    let (d, plain, tls, tls_h1) = (
        plan.dir.path().to_path_buf(),
        plan.plain,
        plan.tls,
        plan.tls_h1,
    );
    let unix = plan.unix.clone();
    let docroot = setup.docroot.display();
    let routes = format!(
        r#"
        add_header x-front-version $server_protocol always;
        location / {{
            proxy_pass http://paf;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
        location /download/ {{ root {docroot}; }}
        location = /gzip {{
            default_type text/plain;
            add_header x-front-version $server_protocol always;
            add_header content-encoding gzip always;
            alias {docroot}/gzip;
        }}
        location = /peer {{ default_type text/plain; return 200 "$remote_addr:$remote_port"; }}
        location = /moved {{ return 302 /target; }}
        location = /target {{ default_type text/plain; return 200 "target"; }}
        location = /see-other {{ return 303 /got; }}
        location = /got {{
            if ($request_method != GET) {{ return 405; }}
            default_type text/plain;
            return 200 "got with get";
        }}
        location = /temporary {{ return 307 /put-here; }}
        location = /loop {{ return 302 /loop; }}
        "#
    );
    std::fs::write(d.join("routes.conf"), routes).expect("write routes");
    let p = d.display();
    let conf = format!(
        r#"
daemon off;
master_process off;
error_log {p}/error.log info;
pid {p}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    default_type application/octet-stream;
    client_max_body_size 0;
    absolute_redirect off;
    upstream paf {{ server {upstream}; keepalive 16; }}
    server {{
        listen {plain};
        listen unix:{unix};
        include {p}/routes.conf;
    }}
    server {{
        listen {tls} ssl http2;
        ssl_certificate {p}/cert.pem;
        ssl_certificate_key {p}/key.pem;
        include {p}/routes.conf;
    }}
    server {{
        listen {tls_h1} ssl;
        ssl_certificate {p}/cert.pem;
        ssl_certificate_key {p}/key.pem;
        include {p}/routes.conf;
    }}
}}
"#,
        upstream = setup.upstream,
        unix = unix.display(),
    );
    let conf_path = d.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let conf_arg = conf_path.display().to_string();
    let prefix = format!("{p}/");
    Some(plan.start(&["-c", &conf_arg, "-p", &prefix], &[]).await)
}

/// Caddy 2.6 (Go's HTTP/1.1 and HTTP/2): no admin endpoint, no automatic
/// HTTPS, the test's certificate, h3 off (loopback TCP only).
pub(crate) async fn caddy(setup: &Setup<'_>) -> Option<Front> {
    let plan = Plan::new("caddy", setup)?;
    let (d, plain, tls, tls_h1) = (
        plan.dir.path().to_path_buf(),
        plan.plain,
        plan.tls,
        plan.tls_h1,
    );
    let unix = plan.unix.clone();
    let p = d.display();
    let docroot = setup.docroot.display();
    let caddyfile = format!(
        r#"
{{
    admin off
    auto_https off
    storage file_system {p}/data
    servers 127.0.0.1:{tls_h1_port} {{
        protocols h1
    }}
    servers {{
        protocols h1 h2
    }}
}}

(routes) {{
    header x-front-version {{http.request.proto}}
    handle_path /download/* {{
        root * {docroot}/download
        file_server
    }}
    handle /gzip {{
        header content-encoding gzip
        root * {docroot}
        file_server
    }}
    handle /peer {{
        respond "{{remote_host}}:{{remote_port}}"
    }}
    handle /moved {{
        redir * /target 302
    }}
    handle /target {{
        respond "target"
    }}
    handle /see-other {{
        redir * /got 303
    }}
    @get_got {{
        method GET
        path /got
    }}
    handle @get_got {{
        respond "got with get"
    }}
    handle /temporary {{
        redir * /put-here 307
    }}
    handle /loop {{
        redir * /loop 302
    }}
    handle {{
        reverse_proxy {upstream} {{
            flush_interval -1
        }}
    }}
}}

http://:{plain_port} {{
    bind 127.0.0.1
    import routes
}}

https://:{tls_port} {{
    bind 127.0.0.1
    tls {p}/cert.pem {p}/key.pem
    import routes
}}

https://:{tls_h1_port} {{
    bind 127.0.0.1
    tls {p}/cert.pem {p}/key.pem
    import routes
}}

http:// {{
    bind unix/{unix}
    import routes
}}
"#,
        upstream = setup.upstream,
        plain_port = plain.port(),
        tls_port = tls.port(),
        tls_h1_port = tls_h1.port(),
        unix = unix.display(),
    );
    let file = d.join("Caddyfile");
    std::fs::write(&file, caddyfile).expect("write the Caddyfile");
    let file_arg = file.display().to_string();
    let args = ["run", "--config", &file_arg, "--adapter", "caddyfile"];
    let d = d.as_path();
    let home = [("HOME", d), ("XDG_DATA_HOME", d), ("XDG_CONFIG_HOME", d)];
    Some(plan.start(&args, &home).await)
}
