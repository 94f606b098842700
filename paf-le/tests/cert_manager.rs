//! The certificate manager against a real pebble: a certificate per name
//! picked by SNI, the three challenge types (TLS-ALPN-01 answered by the
//! HTTPS server itself, DNS-01 through challtestsrv's DNS with a
//! wildcard), the fallback from one type to the next, answers shared
//! through the storage, a renewal under load, and a renewal by another
//! instance picked up from a shared directory.
//!
//! Orders are counted at the wire (see tests/manager.rs). pebble's nonce
//! rejection stays on. Each test times its orders and prints them.

mod common;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime},
};

use common::{
    fresh_dir, note, recorded, serial, served_chain, start, tls_client, tls_client_config, verify,
    verify_chain, within_limit, ChallTestSrv, Pebble,
};
use http::{Request, Response};
use paf_core::{Body, BoxFuture};
use paf_le::{
    CertManager, ChallengeHandler, ChallengeType, Challenges, Lease, ManualClock, MemoryStorage,
    NotFound, Origin, RenewalEvent, Storage, StorageError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

async fn site(_req: Request<Body>) -> Response<Body> {
    Response::new(Body::from("hello over TLS"))
}

/// paf's HTTPS server with the manager's configuration, on `addr`.
async fn https(manager: &CertManager, addr: SocketAddr) -> paf_hyper::Running {
    paf_hyper::Server::builder()
        .tls(manager.server_config().expect("a server configuration"))
        .build(site)
        .bind_tcp(addr)
        .await
        .expect("the HTTPS server binds")
}

/// paf's HTTP server answering the manager's HTTP-01 challenges on
/// pebble's `httpPort`.
async fn serve_port80(pebble: &Pebble, manager: &CertManager) -> paf_hyper::Running {
    paf_hyper::Server::new(manager.http_handler(NotFound))
        .bind_tcp(pebble.challenge_addr())
        .await
        .expect("the challenge server binds")
}

/// Waits for the first certificate of `name`, panicking with pebble's
/// logs if it fails; the time it took.
async fn ready(pebble: &Pebble, manager: &CertManager, name: &str) -> Duration {
    let started = Instant::now();
    within_limit(name, manager.ready(name))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", pebble.logs()));
    started.elapsed()
}

/// The next event of a certificate, within the flow limit.
async fn next_event(events: &mut tokio::sync::broadcast::Receiver<RenewalEvent>) -> RenewalEvent {
    within_limit("the next event", events.recv())
        .await
        .expect("the manager runs")
}

fn alert(err: &std::io::Error) -> bool {
    err.to_string().contains("alert")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_name_gets_its_certificate_by_sni_and_a_restart_serves_the_stored_ones() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "acme");
    let settings = || recorded(&pebble, &recorder).storage_dir(&storage);
    let manager = CertManager::new(settings()).unwrap();
    let port80 = serve_port80(&pebble, &manager).await;
    let server = https(&manager, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.local_addr().unwrap();

    manager.add(["a.example.test"]).unwrap();
    manager.add(["b.example.test"]).unwrap();
    let both = ready(&pebble, &manager, "a.example.test").await;
    ready(&pebble, &manager, "b.example.test").await;
    note(&format!("two HTTP-01 orders at once: {both:?}"));

    let root = pebble.root_pem().await;
    let client = tls_client(&root, ALPN);
    // The client verifies each chain against pebble's root for its name.
    let a = served_chain(&client, addr, "a.example.test").await.unwrap();
    let b = served_chain(&client, addr, "b.example.test").await.unwrap();
    assert_ne!(a[0], b[0], "one certificate per name");
    assert_eq!(a[0], *manager.certificate("a.example.test").unwrap().leaf());
    let unknown = served_chain(&client, addr, "c.example.test")
        .await
        .unwrap_err();
    assert!(alert(&unknown), "no certificate, an alert: {unknown}");

    // Names come and go while the server runs.
    assert!(manager.remove("b.example.test").await);
    let removed = served_chain(&client, addr, "b.example.test")
        .await
        .unwrap_err();
    assert!(alert(&removed), "{removed}");
    manager.add(["c.example.test"]).unwrap();
    let one = ready(&pebble, &manager, "c.example.test").await;
    note(&format!("one full HTTP-01 order (manager): {one:?}"));
    served_chain(&client, addr, "c.example.test").await.unwrap();
    assert_eq!(counts.orders(), 3);
    manager.stop().await;

    // A new process on the same store: the stored certificates are
    // served as they are, nothing is ordered.
    let again = CertManager::new(settings()).unwrap();
    let mut events = again.events();
    again.add(["a.example.test"]).unwrap();
    ready(&pebble, &again, "a.example.test").await;
    let event = next_event(&mut events).await;
    assert!(
        matches!(
            &event,
            RenewalEvent::Loaded { origin: Origin::Stored, names, .. } if **names == ["a.example.test"]
        ),
        "{event:?}"
    );
    assert_eq!(again.certificate("a.example.test").unwrap().leaf(), &a[0]);
    assert_eq!(counts.orders(), 3, "nothing ordered at the restart");
    again.stop().await;
    server.stop(Duration::from_secs(1)).await;
    port80.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn_01_is_answered_by_the_https_server_itself() {
    let Some((pebble, recorder, _counts)) = start().await else {
        return;
    };
    let manager =
        CertManager::new(recorded(&pebble, &recorder).challenge_types([ChallengeType::TlsAlpn01]))
            .unwrap();
    // pebble validates on its tlsPort: the site's HTTPS server listens
    // there, and nothing on port 80.
    let server = https(&manager, pebble.tls_addr()).await;
    let name = "alpn.example.test";
    manager.add([name]).unwrap();
    let took = ready(&pebble, &manager, name).await;
    note(&format!("one full TLS-ALPN-01 order: {took:?}"));

    let root = pebble.root_pem().await;
    let chain = served_chain(&tls_client(&root, ALPN), pebble.tls_addr(), name)
        .await
        .unwrap();
    verify_chain(&root, &chain, name).unwrap();
    assert!(std::net::TcpStream::connect(pebble.challenge_addr()).is_err());
    assert!(manager.challenges().is_empty(), "answers withdrawn");
    // Once validated, an acme-tls/1 handshake gets nothing.
    let acme = served_chain(
        &tls_client(&root, &[b"acme-tls/1"]),
        pebble.tls_addr(),
        name,
    )
    .await;
    assert!(acme.is_err());
    manager.stop().await;
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_01_gets_a_wildcard_certificate() {
    let Some((pebble, recorder, _counts)) = start().await else {
        return;
    };
    let dns = Arc::new(ChallTestSrv::new(&pebble));
    let manager = CertManager::new(
        recorded(&pebble, &recorder)
            .challenge_types([ChallengeType::Dns01])
            .dns_provider(dns.clone()),
    )
    .unwrap();
    let server = https(&manager, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.local_addr().unwrap();
    manager.add(["*.paf.test", "paf.test"]).unwrap();
    let took = ready(&pebble, &manager, "paf.test").await;
    note(&format!(
        "one full DNS-01 order (wildcard and apex): {took:?}"
    ));

    let cert = manager.certificate("www.paf.test").unwrap();
    assert!(
        cert.leaf().windows(10).any(|w| w == b"*.paf.test"),
        "the wildcard is a subjectAltName"
    );
    let root = pebble.root_pem().await;
    for name in ["paf.test", "www.paf.test", "api.paf.test"] {
        verify(&root, &cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let chain = served_chain(&tls_client(&root, ALPN), addr, name)
            .await
            .unwrap();
        assert_eq!(chain[0], *cert.leaf(), "{name}");
    }
    assert!(
        verify(&root, &cert, "a.b.paf.test").is_err(),
        "one label only"
    );
    // Both values were published under one name, and both removed.
    let set = dns.set.lock().unwrap().clone();
    assert_eq!(set.len(), 2, "{set:?}");
    assert!(set
        .iter()
        .all(|s| s.starts_with("_acme-challenge.paf.test ")));
    assert_eq!(dns.values("_acme-challenge.paf.test"), 0);
    manager.stop().await;
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_types_are_tried_in_the_configured_order() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let manager = CertManager::new(
        recorded(&pebble, &recorder)
            .challenge_types([ChallengeType::TlsAlpn01, ChallengeType::Http01]),
    )
    .unwrap();
    // Port 80 is served, pebble's tlsPort is not: TLS-ALPN-01 fails, and
    // the manager orders again with HTTP-01.
    let port80 = serve_port80(&pebble, &manager).await;
    let name = "fallback.example.test";
    manager.add([name]).unwrap();
    let took = ready(&pebble, &manager, name).await;
    note(&format!(
        "TLS-ALPN-01 failed, then HTTP-01 passed: {took:?}"
    ));
    verify(
        &pebble.root_pem().await,
        &manager.certificate(name).unwrap(),
        name,
    )
    .unwrap();
    assert_eq!(counts.orders(), 2, "one order per challenge type tried");
    assert_eq!(manager.state(name).unwrap().failures, 0, "one attempt");
    manager.stop().await;
    port80.stop(Duration::from_secs(1)).await;

    // The same with the port 443 answer in place: TLS-ALPN-01 first.
    let server = https(&manager, pebble.tls_addr()).await;
    manager.add(["first.example.test"]).unwrap();
    ready(&pebble, &manager, "first.example.test").await;
    assert_eq!(counts.orders(), 3, "the first type passed");
    manager.stop().await;
    server.stop(Duration::from_secs(1)).await;
}

/// A storage that holds back the writes of challenge answers until the
/// test opens the gate: the other instance is then known to be ready to
/// answer before the CA is told to look.
#[derive(Debug)]
struct Gated {
    inner: MemoryStorage,
    gate: tokio::sync::Semaphore,
    held: tokio::sync::Notify,
}

impl Storage for Gated {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        self.inner.get(key)
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            if key.starts_with("challenges/") {
                self.held.notify_one();
                let _pass = self.gate.acquire().await;
            }
            self.inner.put(key, value).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.delete(key)
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        self.inner.list(prefix)
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        self.inner.try_lock(name, lease)
    }

    fn unlock<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.unlock(lease)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_answers_the_challenges_through_the_shared_storage() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = Arc::new(Gated {
        inner: MemoryStorage::new(),
        gate: tokio::sync::Semaphore::new(0),
        held: tokio::sync::Notify::new(),
    });
    let shared = || recorded(&pebble, &recorder).storage(storage.clone());

    // HTTP-01: instance A orders and serves nothing; instance B's port 80
    // handler knows no token of its own and reads A's from the storage.
    let a = CertManager::new(shared()).unwrap();
    let port80 = paf_hyper::Server::new(ChallengeHandler::new(
        Challenges::new().with_storage(storage.clone()),
    ))
    .bind_tcp(pebble.challenge_addr())
    .await
    .unwrap();
    storage.gate.add_permits(1_000);
    a.add(["shared-http.example.test"]).unwrap();
    ready(&pebble, &a, "shared-http.example.test").await;
    port80.stop(Duration::from_secs(1)).await;

    // TLS-ALPN-01: B's HTTPS server is on pebble's tlsPort and B manages
    // the name too; A holds the certificate's lock and orders, B's task
    // waits for the lock. B's resolver finds A's answer in the storage.
    storage.gate.forget_permits(1_000);
    let tls_only = || shared().challenge_types([ChallengeType::TlsAlpn01]);
    let a = CertManager::new(tls_only()).unwrap();
    let b = CertManager::new(tls_only()).unwrap();
    let server = https(&b, pebble.tls_addr()).await;
    let name = "shared-alpn.example.test";
    a.add([name]).unwrap();
    // A is about to publish its answer: it holds the lock.
    within_limit("A's answer", storage.held.notified()).await;
    b.add([name]).unwrap();
    storage.gate.add_permits(1_000);
    ready(&pebble, &a, name).await;
    ready(&pebble, &b, name).await;
    assert_eq!(
        a.certificate(name).unwrap().leaf(),
        b.certificate(name).unwrap().leaf(),
        "B picked A's certificate up from the storage"
    );
    assert!(b.challenges().is_empty(), "B published nothing itself");
    assert_eq!(counts.orders(), 2, "one order per certificate");
    assert!(storage.list("challenges/").await.unwrap().is_empty());
    a.stop().await;
    b.stop().await;
    server.stop(Duration::from_secs(1)).await;
}

/// What one client connection saw.
struct Seen {
    started: Instant,
    serial: Result<Vec<u8>, String>,
}

/// Fetches `https://name/` over a new connection each time until `stop`.
async fn keep_fetching(
    connector: tokio_rustls::TlsConnector,
    addr: SocketAddr,
    name: &'static str,
    stop: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    while stop.load(Ordering::Relaxed) == 0 {
        let started = Instant::now();
        let outcome = async {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let server_name =
                rustls::pki_types::ServerName::try_from(name).map_err(|e| e.to_string())?;
            let mut tls = connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            let leaf = tls
                .get_ref()
                .1
                .peer_certificates()
                .ok_or("no certificate")?[0]
                .to_vec();
            tls.write_all(
                format!("GET / HTTP/1.1\r\nhost: {name}\r\nconnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .map_err(|e| e.to_string())?;
            let mut response = Vec::new();
            tls.read_to_end(&mut response)
                .await
                .map_err(|e| e.to_string())?;
            if !response.starts_with(b"HTTP/1.1 200") || !response.ends_with(b"hello over TLS") {
                return Err(format!("answer: {}", String::from_utf8_lossy(&response)));
            }
            Ok(serial(&leaf))
        }
        .await;
        seen.lock().expect("not poisoned").push(Seen {
            started,
            serial: outcome,
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_under_fifty_tls_clients_fails_no_handshake() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let name = "busy.example.test";
    let clock = ManualClock::new(std::time::SystemTime::now());
    let manager = CertManager::builder(
        recorded(&pebble, &recorder).challenge_types([ChallengeType::TlsAlpn01]),
    )
    .clock(clock.clone())
    .check_interval(Duration::from_millis(50))
    .build()
    .unwrap();
    let server = https(&manager, pebble.tls_addr()).await;
    manager.add([name]).unwrap();
    ready(&pebble, &manager, name).await;
    let first = manager.certificate(name).unwrap();
    let root = pebble.root_pem().await;

    let stop = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    // Full handshakes only: a resumed TLS session keeps the certificate it
    // was made with (and the client reports that one), which is not what
    // this test looks at.
    let connector = {
        let mut config = (*tls_client_config(&root)).clone();
        config.resumption = rustls::client::Resumption::disabled();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    };
    let clients: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(keep_fetching(
                connector.clone(),
                pebble.tls_addr(),
                name,
                stop.clone(),
                seen.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Renewal is due: the manager orders, pebble validates TLS-ALPN-01 on
    // the busy server, and the new certificate is swapped in.
    let mut events = manager.events();
    let renewal_started = Instant::now();
    clock.set(first.renew_at(manager.settings().renew_fraction()));
    let event = next_event(&mut events).await;
    let renewed_at = Instant::now();
    assert!(
        matches!(
            event,
            RenewalEvent::Renewed {
                origin: Origin::Issued,
                ..
            }
        ),
        "{event:?}\n{}",
        pebble.logs()
    );
    note(&format!(
        "renewal (TLS-ALPN-01) under 50 clients: {:?}",
        renewed_at - renewal_started
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(1, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let old_serial = serial(first.leaf());
    let new_serial = serial(manager.certificate(name).unwrap().leaf());
    assert_ne!(old_serial, new_serial);
    let after: Vec<&Seen> = seen.iter().filter(|s| s.started >= renewed_at).collect();
    let failures: Vec<&String> = seen
        .iter()
        .filter_map(|s| s.serial.as_ref().err())
        .collect();
    let stale = after
        .iter()
        .filter(|s| s.serial.as_ref().ok() != Some(&new_serial))
        .count();
    let before = seen.len() - after.len();
    note(&format!(
        "{} connections ({before} before the swap, {} after), {} failed",
        seen.len(),
        after.len(),
        failures.len()
    ));
    assert!(failures.is_empty(), "failed connections: {failures:?}");
    assert!(seen
        .iter()
        .any(|s| s.serial.as_ref().ok() == Some(&old_serial)));
    assert!(
        after.len() >= 50,
        "clients kept connecting: {}",
        after.len()
    );
    assert_eq!(
        stale, 0,
        "every connection after the swap sees the new certificate"
    );
    assert_eq!(counts.orders(), 2);
    manager.stop().await;
    server.stop(Duration::from_secs(1)).await;
}

/// A directory that is pebble's plus ARI (RFC 9773), which pebble 2.4
/// lacks: `GET /dir` answers pebble's directory with a `renewalInfo`
/// URL added, pointing here; `GET /renewal-info/<id>` answers the window
/// the test sets, with `Retry-After: 21600`. Every other endpoint stays
/// pebble's own.
struct AriProxy {
    running: paf_hyper::Running,
    window: Arc<Mutex<(SystemTime, SystemTime)>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl AriProxy {
    async fn start(pebble: &Pebble) -> AriProxy {
        let window = Arc::new(Mutex::new((SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH)));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        drop(listener);
        let pebble_directory = pebble.directory_url.clone();
        let client = paf_hyper::Client::builder().ctx(pebble.ctx()).build();
        let handler = {
            let (window, asked, base) = (window.clone(), asked.clone(), base.clone());
            move |req: Request<Body>| {
                let (window, asked, base) = (window.clone(), asked.clone(), base.clone());
                let (client, pebble_directory) = (client.clone(), pebble_directory.clone());
                async move {
                    let path = req.uri().path().to_string();
                    if path == "/dir" {
                        let upstream = client
                            .get(&pebble_directory)
                            .await
                            .expect("pebble's directory");
                        let body = upstream
                            .into_body()
                            .to_bytes(1 << 16)
                            .await
                            .expect("its body");
                        let mut directory: serde_json::Value =
                            serde_json::from_slice(&body).expect("JSON");
                        directory["renewalInfo"] = format!("{base}/renewal-info").into();
                        return Response::new(Body::from(directory.to_string()));
                    }
                    if let Some(id) = path.strip_prefix("/renewal-info/") {
                        asked.lock().expect("not poisoned").push(id.to_string());
                        let (start, end) = *window.lock().expect("not poisoned");
                        let body = serde_json::json!({
                            "suggestedWindow": { "start": rfc3339(start), "end": rfc3339(end) }
                        });
                        let mut response = Response::new(Body::from(body.to_string()));
                        response
                            .headers_mut()
                            .insert(http::header::RETRY_AFTER, 21_600.into());
                        return response;
                    }
                    let mut response = Response::new(Body::from("not here"));
                    *response.status_mut() = http::StatusCode::NOT_FOUND;
                    response
                }
            }
        };
        let running = paf_hyper::Server::new(handler)
            .bind_tcp(
                base.trim_start_matches("http://")
                    .parse()
                    .expect("an address"),
            )
            .await
            .expect("the proxy binds");
        AriProxy {
            running,
            window,
            asked,
        }
    }

    fn directory_url(&self) -> String {
        format!("http://{}/dir", self.running.local_addr().expect("bound"))
    }

    fn set_window(&self, start: SystemTime, end: SystemTime) {
        *self.window.lock().expect("not poisoned") = (start, end);
    }
}

/// `at` as RFC 3339 UTC, whole seconds.
fn rfc3339(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cas_renewal_window_decides_when_to_renew() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let proxy = AriProxy::start(&pebble).await;
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    proxy.set_window(now + 30 * day, now + 31 * day);
    let clock = ManualClock::new(now);
    let manager = CertManager::builder(recorded(&pebble, &recorder).directory(
        paf_le::Directory::Url(proxy.directory_url().parse().unwrap()),
    ))
    .clock(clock.clone())
    .check_interval(Duration::from_millis(50))
    .build()
    .unwrap();
    let port80 = serve_port80(&pebble, &manager).await;
    let name = "ari.example.test";
    let mut events = manager.events();
    manager.add([name]).unwrap();
    ready(&pebble, &manager, name).await;
    let first = manager.certificate(name).unwrap();

    // Due within the CA's window, not at two thirds of the lifetime.
    let RenewalEvent::Loaded { next_renewal, .. } = next_event(&mut events).await else {
        panic!("the first certificate");
    };
    assert!(
        next_renewal >= now + 30 * day && next_renewal <= now + 31 * day,
        "{next_renewal:?} vs {:?}",
        first.renew_at(2.0 / 3.0)
    );
    let asked = proxy.asked.lock().unwrap().clone();
    let serial = base64url(&serial(first.leaf()));
    assert!(
        asked.iter().any(|id| id.ends_with(&format!(".{serial}"))),
        "the certificate's ARI id (AKI.serial) was asked: {asked:?}"
    );

    // The CA moves the window into the past (an incident): after its
    // Retry-After (6 h) the task asks again and renews at once.
    proxy.set_window(
        now - Duration::from_secs(2 * 3600),
        now - Duration::from_secs(3600),
    );
    clock.advance(Duration::from_secs(6 * 3600 + 1));
    let event = next_event(&mut events).await;
    assert!(
        matches!(
            event,
            RenewalEvent::Renewed {
                origin: Origin::Issued,
                ..
            }
        ),
        "{event:?}\n{}",
        pebble.logs()
    );
    assert_ne!(manager.certificate(name).unwrap().leaf(), first.leaf());
    // pebble 2.4 does not echo the `replaces` field, which instant-acme
    // requires of a CA with ARI: the order naming the old certificate is
    // given up and placed again without it.
    note(&format!(
        "orders for the ARI renewal: {} (pebble ignores `replaces`)",
        counts.orders() - 1
    ));
    manager.stop().await;
    port80.stop(Duration::from_secs(1)).await;

    // Without ARI (pebble's own directory): two thirds of the lifetime.
    let plain = CertManager::new(recorded(&pebble, &recorder)).unwrap();
    let plain_port80 = serve_port80(&pebble, &plain).await;
    plain.add(["plain.example.test"]).unwrap();
    ready(&pebble, &plain, "plain.example.test").await;
    let cert = plain.certificate("plain.example.test").unwrap();
    assert_eq!(
        plain.state("plain.example.test").unwrap().next_renewal,
        cert.renew_at(2.0 / 3.0)
    );
    plain.stop().await;
    plain_port80.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_by_another_instance_on_a_shared_directory_is_picked_up_by_the_periodic_check() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    // Two instances, each with its own FileStorage on one directory (a
    // shared volume); A's clock is moved to renew, B has no notification
    // but reads its stored bundle every 200 ms.
    let storage = fresh_dir(pebble.dir(), "shared");
    let clock = ManualClock::new(SystemTime::now());
    let a = CertManager::builder(recorded(&pebble, &recorder).storage_dir(&storage))
        .clock(clock.clone())
        .check_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let b = CertManager::builder(recorded(&pebble, &recorder).storage_dir(&storage))
        .storage_check_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let port80 = serve_port80(&pebble, &a).await;
    let server_b = https(&b, "127.0.0.1:0".parse().unwrap()).await;
    let name = "shared-volume.example.test";
    a.add([name]).unwrap();
    ready(&pebble, &a, name).await;
    b.add([name]).unwrap();
    ready(&pebble, &b, name).await;
    assert_eq!(counts.orders(), 1, "B loaded A's certificate");

    let old = a.certificate(name).unwrap();
    let mut events = b.events();
    clock.set(old.renew_at(a.settings().renew_fraction()));
    // B's own first load may still be on its way to the subscriber.
    let event = loop {
        match next_event(&mut events).await {
            RenewalEvent::Loaded { .. } => continue,
            other => break other,
        }
    };
    assert!(
        matches!(
            event,
            RenewalEvent::Renewed {
                origin: Origin::Stored,
                ..
            }
        ),
        "{event:?}"
    );
    let new = a.certificate(name).unwrap();
    assert_ne!(serial(new.leaf()), serial(old.leaf()));
    let root = pebble.root_pem().await;
    let client = {
        let mut config = (*tls_client_config(&root)).clone();
        config.resumption = rustls::client::Resumption::disabled();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    };
    let chain = served_chain(&client, server_b.local_addr().unwrap(), name)
        .await
        .unwrap();
    assert_eq!(
        serial(&chain[0]),
        serial(new.leaf()),
        "B serves A's renewal"
    );
    assert_eq!(counts.orders(), 2, "B did not order");
    a.stop().await;
    b.stop().await;
    port80.stop(Duration::from_secs(1)).await;
    server_b.stop(Duration::from_secs(1)).await;
}
