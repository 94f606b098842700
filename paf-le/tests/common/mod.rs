//! A real ACME server for the tests: pebble, with pebble-challtestsrv as its
//! DNS server (every name resolves to 127.0.0.1), both on free loopback
//! ports, killed when the [`Pebble`] value is dropped.
//!
//! Pebble validates HTTP-01 by connecting to `httpPort` of 127.0.0.1, where
//! the test runs paf's challenge server, TLS-ALPN-01 on `tlsPort`, where a
//! test runs paf's HTTPS server, and DNS-01 by asking challtestsrv, whose
//! TXT records [`ChallTestSrv`] sets through its management API. Random
//! validation sleeps are off (`PEBBLE_VA_NOSLEEP=1`); the default 5%
//! rejection of good nonces stays on, so every run goes through
//! instant-acme's `badNonce` retries.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "redis")]
pub mod redis_server;

use std::{
    fs,
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http::{Method, Request, Response, StatusCode};
use paf_core::{Body, BoxFuture, Ctx};
use paf_le::{Certificate, ConfigBuilder, Directory};
use rustls::{
    client::{danger::ServerCertVerifier, WebPkiServerVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
    RootCertStore,
};

const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// No flow may hang: each must end well within this.
pub const FLOW_LIMIT: Duration = Duration::from_secs(60);

/// `future`, which must end within [`FLOW_LIMIT`].
pub async fn within_limit<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(FLOW_LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {FLOW_LIMIT:?}"))
}

/// Says something in the test output even when the test passes.
#[allow(unused_imports)] // not by every test that includes this module
pub use paf_testkit::note;

/// Settings (no names) at `pebble`, sending through `recorder`.
pub fn recorded(pebble: &Pebble, recorder: &Recorder) -> ConfigBuilder {
    paf_le::Config::builder()
        .directory(Directory::Url(pebble.directory_url.parse().expect("URL")))
        .http_client(Arc::new(recorder.clone()))
        .challenge_addr(pebble.challenge_addr())
        .poll_timeout(Duration::from_secs(20))
        .request_timeout(Duration::from_secs(10))
}

/// A configuration for `names` at `pebble`, sending through `recorder`.
pub fn config(pebble: &Pebble, recorder: &Recorder, names: &[&str]) -> ConfigBuilder {
    recorded(pebble, recorder).hostnames(names.iter().copied())
}

/// A pebble, a recorder in front of it, and its counts; `None` when
/// pebble is not installed (the test then passes without running).
pub async fn start() -> Option<(Pebble, Recorder, Counts)> {
    let pebble = Pebble::start()?;
    let recorder = Recorder::new(&pebble);
    let counts = Counts::new(&pebble, &recorder).await;
    Some((pebble, recorder, counts))
}

/// What the recorder counts at pebble.
pub struct Counts {
    recorder: Recorder,
    pub new_order: String,
    pub new_account: String,
}

impl Counts {
    pub async fn new(pebble: &Pebble, recorder: &Recorder) -> Counts {
        Counts {
            recorder: recorder.clone(),
            new_order: pebble.directory_path("newOrder").await,
            new_account: pebble.directory_path("newAccount").await,
        }
    }

    /// Orders pebble created.
    pub fn orders(&self) -> usize {
        self.recorder
            .count(&Method::POST, &self.new_order, StatusCode::CREATED)
    }

    /// Accounts pebble created.
    pub fn accounts(&self) -> usize {
        self.recorder
            .count(&Method::POST, &self.new_account, StatusCode::CREATED)
    }
}

/// A running pebble and its DNS server.
pub struct Pebble {
    dir: tempfile::TempDir,
    pebble: Child,
    dns: Child,
    /// What [`Pebble::restart`] needs to start pebble again the same way.
    config_path: PathBuf,
    dns_port: u16,
    env: Vec<(String, String)>,
    acme_port: u16,
    management_port: u16,
    /// The ACME directory URL.
    pub directory_url: String,
    /// The management interface (`/roots/0` is the issuing root).
    pub management_url: String,
    /// The port pebble validates HTTP-01 challenges on.
    pub http_port: u16,
    /// The port pebble validates TLS-ALPN-01 challenges on.
    pub tls_port: u16,
    /// challtestsrv's management API (`/set-txt`, `/clear-txt`), plain HTTP.
    pub dns_management_url: String,
    /// The CA of pebble's own HTTPS listeners (a self-signed certificate).
    pub listener_ca_pem: String,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.pebble, &mut self.dns] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether both binaries are on PATH.
fn installed() -> bool {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    };
    on_path("pebble") && on_path("pebble-challtestsrv")
}

/// Free loopback ports, each free for TCP and UDP when picked. The sockets
/// are held until all are picked so that no two are the same.
fn free_ports(count: usize) -> Vec<u16> {
    let mut held = Vec::new();
    while held.len() < count {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free TCP port");
        let port = tcp.local_addr().expect("local address").port();
        if let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            held.push((tcp, udp, port));
        }
    }
    held.into_iter().map(|(_, _, port)| port).collect()
}

impl Pebble {
    /// Starts pebble and its DNS server. Without them on PATH: fails the
    /// test under `PAF_REQUIRE_PEERS=1` or when `CI` is set, else says why
    /// and returns `None` (the test then passes without running).
    pub fn start() -> Option<Pebble> {
        Self::start_with_env(&[])
    }

    /// [`Pebble::start`] with extra environment variables for pebble.
    pub fn start_with_env(env: &[(&str, &str)]) -> Option<Pebble> {
        Self::start_with(env, serde_json::json!({}))
    }

    /// [`Pebble::start`] with these fields added to (or replacing those of)
    /// pebble's configuration object, e.g. `externalAccountMACKeys`.
    pub fn start_with_config(config: serde_json::Value) -> Option<Pebble> {
        Self::start_with(&[], config)
    }

    fn start_with(env: &[(&str, &str)], extra_config: serde_json::Value) -> Option<Pebble> {
        if !installed() {
            let what = "pebble and pebble-challtestsrv";
            let install = "Debian: `apt-get install -y pebble`";
            // `CI` alone required pebble here before `PAF_REQUIRE_PEERS`.
            if std::env::var_os("CI").is_some() {
                panic!("{what} are not on PATH ({install}): the ACME tests cannot run");
            }
            paf_testkit::skip_or_fail(what, install);
            return None;
        }
        // A port picked free can be taken by someone else before pebble
        // binds it; try again with new ports then.
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Self::try_start(env, &extra_config) {
                Ok(pebble) => return Some(pebble),
                Err(failure) => last_failure = failure,
            }
        }
        panic!("pebble did not start: {last_failure}");
    }

    fn try_start(env: &[(&str, &str)], extra_config: &serde_json::Value) -> Result<Pebble, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let ports = free_ports(6);
        let (acme, management, http, tls, dns, dns_management) =
            (ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]);

        let listener = paf_testkit::TestCert::localhost();
        let cert_path = dir.path().join("listener-cert.pem");
        let key_path = dir.path().join("listener-key.pem");
        fs::write(&cert_path, &listener.cert_pem).map_err(|e| e.to_string())?;
        fs::write(&key_path, &listener.key_pem).map_err(|e| e.to_string())?;
        let mut config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{acme}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": cert_path,
                "privateKey": key_path,
                "httpPort": http,
                "tlsPort": tls,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
            }
        });
        if let (Some(pebble), Some(extra)) =
            (config["pebble"].as_object_mut(), extra_config.as_object())
        {
            pebble.extend(extra.clone());
        }
        let config_path = dir.path().join("pebble-config.json");
        fs::write(&config_path, config.to_string()).map_err(|e| e.to_string())?;

        let log = |name: &str| -> Result<Stdio, String> {
            let file = fs::File::create(dir.path().join(name)).map_err(|e| e.to_string())?;
            Ok(Stdio::from(file))
        };
        let dns_child = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{dns_management}")])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdin(Stdio::null())
            .stdout(log("challtestsrv.log")?)
            .stderr(log("challtestsrv.err")?)
            .spawn()
            .map_err(|e| format!("cannot run pebble-challtestsrv: {e}"))?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let pebble_child = spawn_pebble(dir.path(), &config_path, dns, &env);
        let pebble_child = match pebble_child {
            Ok(child) => child,
            Err(e) => {
                let mut dns_child = dns_child;
                let _ = dns_child.kill();
                let _ = dns_child.wait();
                return Err(format!("cannot run pebble: {e}"));
            }
        };
        let mut pebble = Pebble {
            dir,
            pebble: pebble_child,
            dns: dns_child,
            config_path,
            dns_port: dns,
            env,
            acme_port: acme,
            management_port: management,
            directory_url: format!("https://127.0.0.1:{acme}/dir"),
            management_url: format!("https://127.0.0.1:{management}"),
            http_port: http,
            tls_port: tls,
            dns_management_url: format!("http://127.0.0.1:{dns_management}"),
            listener_ca_pem: listener.cert_pem,
        };
        pebble.wait_ready(&[acme, management, dns, dns_management])?;
        Ok(pebble)
    }

    /// Stops pebble and starts it again on the same ports with the same
    /// configuration: a CA that has lost its state (accounts, orders, its
    /// issuing root). The DNS server keeps running.
    pub fn restart(&mut self) {
        let _ = self.pebble.kill();
        let _ = self.pebble.wait();
        // The ports are free once the process is gone; wait until they are
        // (a connection is refused) before pebble binds them again.
        for port in [self.acme_port, self.management_port] {
            let deadline = Instant::now() + READY_TIMEOUT;
            while TcpStream::connect(("127.0.0.1", port)).is_ok() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.pebble = spawn_pebble(self.dir.path(), &self.config_path, self.dns_port, &self.env)
            .unwrap_or_else(|e| panic!("pebble does not start again: {e}"));
        let ports = [self.acme_port, self.management_port];
        self.wait_ready(&ports)
            .unwrap_or_else(|e| panic!("pebble does not start again: {e}"));
    }

    /// Waits until every port accepts connections, or one process died.
    fn wait_ready(&mut self, ports: &[u16]) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        for &port in ports {
            loop {
                if let Some(exited) = self.exited() {
                    return Err(format!("{exited}:\n{}", self.logs()));
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("port {port} never opened:\n{}", self.logs()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Which process died, if one did.
    fn exited(&mut self) -> Option<String> {
        for (name, child) in [
            ("pebble", &mut self.pebble),
            ("challtestsrv", &mut self.dns),
        ] {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(format!("{name} exited with {status}"));
            }
        }
        None
    }

    /// Everything both processes printed, for failure messages.
    pub fn logs(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        [
            "pebble.log",
            "pebble.err",
            "challtestsrv.log",
            "challtestsrv.err",
        ]
        .iter()
        .map(|name| format!("--- {name}\n{}", read(name)))
        .collect()
    }

    /// Where paf's challenge server must listen for pebble to reach it.
    pub fn challenge_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.http_port))
    }

    /// Where paf's HTTPS server must listen for pebble to validate
    /// TLS-ALPN-01 on it.
    pub fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.tls_port))
    }

    /// Settings for a certificate manager against this pebble (no names).
    pub fn settings(&self) -> ConfigBuilder {
        let directory = url::Url::parse(&self.directory_url).expect("directory URL");
        paf_le::Config::builder()
            .directory(Directory::Url(directory))
            .extra_ca_pem(&self.listener_ca_pem)
            .challenge_addr(self.challenge_addr())
            .poll_timeout(Duration::from_secs(20))
            .request_timeout(Duration::from_secs(10))
    }

    /// A configuration for `names` against this pebble: its directory, its
    /// listener's CA trusted, challenges answered on its `httpPort`.
    pub fn config(&self, names: &[&str]) -> ConfigBuilder {
        let directory = url::Url::parse(&self.directory_url).expect("directory URL");
        paf_le::Config::builder()
            .hostnames(names.iter().copied())
            .directory(Directory::Url(directory))
            .extra_ca_pem(&self.listener_ca_pem)
            .challenge_addr(self.challenge_addr())
            .poll_timeout(Duration::from_secs(20))
            .request_timeout(Duration::from_secs(10))
    }

    /// A transport context that trusts pebble's listener certificate.
    pub fn ctx(&self) -> Ctx {
        Ctx::new()
            .with_ca_pem(self.listener_ca_pem.as_bytes())
            .expect("the listener certificate parses")
    }

    /// The root that signs pebble's certificates, from the management
    /// interface.
    pub async fn root_pem(&self) -> String {
        let client = paf_hyper::Client::builder().ctx(self.ctx()).build();
        let response = client
            .get(&format!("{}/roots/0", self.management_url))
            .await
            .expect("pebble's management interface answers");
        assert!(
            response.status().is_success(),
            "GET /roots/0: {}",
            response.status()
        );
        response
            .into_body()
            .to_string(1 << 16)
            .await
            .expect("the root PEM is read")
    }

    /// The path of an endpoint of the directory (`newAccount` →
    /// `/sign-me-up`).
    pub async fn directory_path(&self, field: &str) -> String {
        let client = paf_hyper::Client::builder().ctx(self.ctx()).build();
        let response = client.get(&self.directory_url).await.expect("directory");
        let body = response
            .into_body()
            .to_bytes(1 << 16)
            .await
            .expect("directory body");
        let directory: serde_json::Value = serde_json::from_slice(&body).expect("directory JSON");
        let url = directory[field].as_str().expect("directory field");
        url::Url::parse(url)
            .expect("directory URL")
            .path()
            .to_string()
    }

    /// The temporary directory of this instance, for test files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Starts pebble with its logs appended to the directory's files.
fn spawn_pebble(
    dir: &Path,
    config_path: &Path,
    dns: u16,
    env: &[(String, String)],
) -> Result<Child, String> {
    let log = |name: &str| -> Result<Stdio, String> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .map_err(|e| e.to_string())?;
        Ok(Stdio::from(file))
    };
    Command::new("pebble")
        .arg("-config")
        .arg(config_path)
        .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env_remove("PEBBLE_WFE_NONCEREJECT")
        .env_remove("PEBBLE_VA_ALWAYS_VALID")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(log("pebble.log")?)
        .stderr(log("pebble.err")?)
        .spawn()
        .map_err(|e| format!("cannot run pebble: {e}"))
}

/// A test's mutex: a panic elsewhere does not make its data unusable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One exchange a [`Recorder`] saw.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: Method,
    pub path: String,
    /// The status, or `None` for a failure the recorder injected.
    pub status: Option<StatusCode>,
}

/// A paf client that records every exchange with the CA (method, path,
/// status), and can answer requests to a path itself with a CA error
/// instead of passing them on: the way to count orders and accounts at
/// pebble, and to make a step fail a set number of times.
#[derive(Clone)]
pub struct Recorder {
    inner: paf_hyper::Client,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    failures: Arc<Mutex<Vec<Injected>>>,
}

struct Injected {
    method: Method,
    path: String,
    remaining: usize,
    retry_after: Option<u64>,
}

impl Recorder {
    /// A recorder in front of a client that trusts `pebble`'s listener.
    pub fn new(pebble: &Pebble) -> Recorder {
        Recorder {
            inner: paf_hyper::Client::builder().ctx(pebble.ctx()).build(),
            exchanges: Arc::default(),
            failures: Arc::default(),
        }
    }

    /// How many `method path` requests were answered with `status`.
    pub fn count(&self, method: &Method, path: &str, status: StatusCode) -> usize {
        lock(&self.exchanges)
            .iter()
            .filter(|e| e.method == *method && e.path == path && e.status == Some(status))
            .count()
    }

    /// How many requests were sent to the CA (injected failures aside).
    pub fn total(&self) -> usize {
        lock(&self.exchanges)
            .iter()
            .filter(|e| e.status.is_some())
            .count()
    }

    /// How many `method path` requests were failed by the recorder.
    pub fn injected(&self, method: &Method, path: &str) -> usize {
        lock(&self.exchanges)
            .iter()
            .filter(|e| e.method == *method && e.path == path && e.status.is_none())
            .count()
    }

    /// Answers the next `times` `method path` requests with a 503
    /// `serverInternal` problem (and `Retry-After: secs` if given).
    pub fn fail_next(&self, method: Method, path: &str, times: usize, retry_after: Option<u64>) {
        lock(&self.failures).push(Injected {
            method,
            path: path.to_string(),
            remaining: times,
            retry_after,
        });
    }
}

impl paf_core::client::Client for Recorder {
    fn send(&self, request: Request<Body>) -> BoxFuture<'static, paf_core::Result<Response<Body>>> {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let injected = {
            let mut failures = lock(&self.failures);
            failures
                .iter_mut()
                .find(|f| f.method == method && f.path == path && f.remaining > 0)
                .map(|f| {
                    f.remaining -= 1;
                    f.retry_after
                })
        };
        let exchanges = self.exchanges.clone();
        if let Some(retry_after) = injected {
            lock(&exchanges).push(Exchange {
                method,
                path,
                status: None,
            });
            let mut response = Response::new(Body::from(
                r#"{"type":"urn:ietf:params:acme:error:serverInternal","detail":"injected by the test","status":503}"#,
            ));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/problem+json"),
            );
            if let Some(secs) = retry_after {
                headers.insert(http::header::RETRY_AFTER, secs.into());
            }
            return Box::pin(async move { Ok(response) });
        }
        let response = self.inner.send(request);
        Box::pin(async move {
            let response = response.await?;
            lock(&exchanges).push(Exchange {
                method,
                path,
                status: Some(response.status()),
            });
            Ok(response)
        })
    }

    fn backend(&self) -> &'static str {
        "recording hyper"
    }
}

/// Verifies `cert`'s chain up to `root_pem` for `name` as a TLS client
/// would: signatures, validity, and that the leaf covers the name.
pub fn verify(root_pem: &str, cert: &Certificate, name: &str) -> Result<(), rustls::Error> {
    verify_chain(root_pem, cert.chain(), name)
}

/// [`verify`] for a chain, leaf first.
pub fn verify_chain(
    root_pem: &str,
    chain: &[CertificateDer<'static>],
    name: &str,
) -> Result<(), rustls::Error> {
    let mut roots = RootCertStore::empty();
    let root = paf_core::tls::certificates_from_pem(root_pem.as_bytes()).expect("root PEM");
    let (added, _) = roots.add_parsable_certificates(root);
    assert_eq!(added, 1, "pebble's root is one certificate");
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), paf_core::tls::provider())
            .build()
            .expect("a verifier");
    let server_name = ServerName::try_from(name.to_string()).expect("a server name");
    let (leaf, intermediates) = chain.split_first().expect("a non-empty chain");
    verifier
        .verify_server_cert(leaf, intermediates, &server_name, &[], UnixTime::now())
        .map(|_| ())
}

/// A scratch directory path that does not exist yet.
pub fn fresh_dir(parent: &Path, name: &str) -> PathBuf {
    let path = parent.join(name);
    assert!(!path.exists());
    path
}

/// A DNS provider over pebble-challtestsrv's management API: the DNS
/// server pebble asks. challtestsrv can only clear every value of a name
/// at once, so the values still wanted are set again after a clear.
#[derive(Debug)]
pub struct ChallTestSrv {
    url: String,
    client: paf_hyper::Client,
    values: Mutex<std::collections::HashMap<String, Vec<String>>>,
    /// Every `set` seen, as `name value`.
    pub set: Mutex<Vec<String>>,
}

impl ChallTestSrv {
    pub fn new(pebble: &Pebble) -> ChallTestSrv {
        ChallTestSrv {
            url: pebble.dns_management_url.clone(),
            client: paf_hyper::Client::new(),
            values: Mutex::default(),
            set: Mutex::default(),
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<(), paf_core::BoxError> {
        let request = Request::post(format!("{}{path}", self.url))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))?;
        let response = paf_core::client::Client::send(&self.client, request).await?;
        if !response.status().is_success() {
            return Err(format!("challtestsrv {path}: {}", response.status()).into());
        }
        Ok(())
    }

    /// How many values the name has now.
    pub fn values(&self, name: &str) -> usize {
        lock(&self.values).get(name).map_or(0, Vec::len)
    }
}

impl paf_le::DnsProvider for ChallTestSrv {
    fn set_txt<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), paf_core::BoxError>> {
        Box::pin(async move {
            self.post(
                "/set-txt",
                serde_json::json!({ "host": format!("{name}."), "value": value }),
            )
            .await?;
            lock(&self.values)
                .entry(name.to_string())
                .or_default()
                .push(value.to_string());
            lock(&self.set).push(format!("{name} {value}"));
            Ok(())
        })
    }

    fn clear_txt<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), paf_core::BoxError>> {
        Box::pin(async move {
            let remaining = {
                let mut values = lock(&self.values);
                let list = values.entry(name.to_string()).or_default();
                list.retain(|v| v != value);
                list.clone()
            };
            self.post(
                "/clear-txt",
                serde_json::json!({ "host": format!("{name}.") }),
            )
            .await?;
            for value in remaining {
                self.post(
                    "/set-txt",
                    serde_json::json!({ "host": format!("{name}."), "value": value }),
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// The serial number octets of a DER certificate (RFC 5280: the first
/// INTEGER of the TBSCertificate, after the optional [0] version).
pub fn serial(der: &[u8]) -> Vec<u8> {
    fn split(input: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = input[0];
        let (len, start) = match input[1] {
            n @ 0..=0x7f => (usize::from(n), 2),
            n => {
                let count = usize::from(n & 0x7f);
                let len = input[2..2 + count]
                    .iter()
                    .fold(0usize, |len, b| (len << 8) | usize::from(*b));
                (len, 2 + count)
            }
        };
        (tag, &input[start..start + len], &input[start + len..])
    }
    let (_, certificate, _) = split(der);
    let (_, tbs, _) = split(certificate);
    let (tag, first, rest) = split(tbs);
    let (_, serial, _) = if tag == 0xa0 {
        split(rest)
    } else {
        (tag, first, rest)
    };
    serial.to_vec()
}

/// A TLS client configuration trusting only `root_pem`, offering
/// ALPN `http/1.1`.
pub fn tls_client_config(root_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(
        paf_core::tls::certificates_from_pem(root_pem.as_bytes()).expect("root PEM"),
    );
    let mut config = rustls::ClientConfig::builder_with_provider(paf_core::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A TLS client trusting only `root_pem`, offering `alpn`.
pub fn tls_client(root_pem: &str, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut config = (*tls_client_config(root_pem)).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// The chain served at `addr` for `name` to a client trusting `connector`'s
/// roots (verified), or the handshake error.
pub async fn served_chain(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    name: &str,
) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let tls = connector
        .connect(
            ServerName::try_from(name.to_string()).expect("a server name"),
            tcp,
        )
        .await?;
    Ok(tls
        .get_ref()
        .1
        .peer_certificates()
        .expect("a TLS server sends its chain")
        .iter()
        .map(|c| c.clone().into_owned())
        .collect())
}
