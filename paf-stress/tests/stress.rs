//! The stress tool against real paf servers on loopback: the built binary
//! for what a user sees (exit status, JSON, SVG), the library for the same
//! run called from code.
#![allow(clippy::unwrap_used)]

use std::{
    process::{Command, Output, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use clap::Parser;
use http::{Request, Response, StatusCode};
use paf_core::Body;
use serde_json::Value;

/// The body every test server answers with: 13 bytes, as in the benchmarks.
const HELLO: &str = "Hello, World!";

/// A paf-hyper server on its own runtime and thread, stopped when dropped.
struct TestServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// Where a test server listens.
enum Listen {
    Tcp,
    Unix(std::path::PathBuf),
    Tls(Box<paf_core::rustls::ServerConfig>),
}

impl TestServer {
    fn start(status: StatusCode) -> TestServer {
        Self::start_on(status, Listen::Tcp)
    }

    fn start_on(status: StatusCode, listen: Listen) -> TestServer {
        let handler = move |_req: Request<Body>| async move {
            let mut response = Response::new(Body::from(HELLO));
            *response.status_mut() = status;
            response
        };
        Self::serve(handler, listen)
    }

    fn serve(handler: impl paf_core::server::Handler, listen: Listen) -> TestServer {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let loopback = "127.0.0.1:0".parse().unwrap();
                let running = match listen {
                    Listen::Tcp => paf_hyper::Server::new(handler).bind_tcp(loopback).await,
                    Listen::Unix(path) => paf_hyper::Server::new(handler).bind_unix(path).await,
                    Listen::Tls(config) => {
                        paf_hyper::Server::builder()
                            .tls(std::sync::Arc::new(*config))
                            .build(handler)
                            .bind_tcp(loopback)
                            .await
                    }
                }
                .unwrap();
                let url = running.url().unwrap_or_else(|| "http://localhost/".into());
                ready_tx.send(url).unwrap();
                let _ = stop_rx.await;
                running.stop(Duration::from_secs(1)).await;
            });
        });
        TestServer {
            url: ready_rx.recv().unwrap(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.take().map(|stop| stop.send(()));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn paf_stress(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paf-stress"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the binary with `--json FILE` and returns its exit status and JSON.
fn run_json(args: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut all = vec!["--no-progress", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = paf_stress(&all);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, serde_json::from_str(&text).unwrap())
}

fn u(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing"))
}

/// The invariants every report keeps, whatever happened in the run.
fn assert_counts_add_up(report: &Value) {
    let requests = u(report, "requests");
    assert_eq!(
        u(report, "successes") + u(report, "failures"),
        requests,
        "{report}"
    );
    let errors: u64 = report["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(u(report, "failures"), u(report, "failed_statuses") + errors);
    let statuses: u64 = report["status_codes"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(statuses, u(report, "responses"));
    assert_eq!(u(report, "responses") + errors, requests);
    let in_histogram: u64 = report["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(in_histogram, u(report, "responses"));
}

/// A closed port on loopback: one that was just free, nothing listens on it.
fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/")
}

fn f(report: &Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {report}"))
}

fn latency(report: &Value, key: &str) -> f64 {
    report["latency_ms"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("latency_ms.{key} missing in {report}"))
}

fn assert_percentiles_ordered(report: &Value) {
    let l = &report["latency_ms"];
    let order = ["min", "p50", "p90", "p99", "p99_9", "max"].map(|k| l[k].as_f64().unwrap());
    assert!(order[0] > 0.0, "{l}");
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{l}");
}

#[test]
fn every_backend_reports_counts_that_add_up_and_no_failure() {
    let server = TestServer::start(StatusCode::OK);
    for backend in ["hyper", "reqwest", "ureq"] {
        let (output, report) =
            run_json(&["-c", "8", "-n", "300", "--backend", backend, &server.url]);
        assert!(
            output.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(report["backend"], backend);
        assert_eq!(u(&report, "requests"), 300);
        assert_eq!(u(&report, "failures"), 0, "{report}");
        assert_eq!(u(&report, "successes"), 300);
        assert_eq!(report["status_codes"]["200"], 300);
        assert_eq!(report["versions"]["HTTP/1.1"], 300);
        assert_eq!(u(&report, "bytes"), 300 * HELLO.len() as u64);
        assert!(report["requests_per_sec"].as_f64().unwrap() > 0.0);
        assert_counts_add_up(&report);
        assert_percentiles_ordered(&report);

        let text = String::from_utf8(output.stdout).unwrap();
        for expected in ["Requests/s:", "Latency histogram", "p99.9", "200: 300"] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
    }
}

#[test]
fn http2_runs_use_one_shared_connection_and_say_so() {
    let server = TestServer::start(StatusCode::OK);
    for backend in ["hyper", "reqwest"] {
        let (output, report) = run_json(&[
            "-c",
            "16",
            "-n",
            "200",
            "--http2",
            "--backend",
            backend,
            &server.url,
        ]);
        assert!(output.status.success(), "{backend}: {report}");
        assert_eq!(report["versions"]["HTTP/2"], 200, "{backend}: {report}");
        assert_eq!(report["protocol"], "HTTP/2");
    }
    let output = paf_stress(&["--http2", "--backend", "ureq", "-n", "1", &server.url]);
    assert_eq!(output.status.code(), Some(2), "ureq has no HTTP/2");
}

#[test]
fn server_errors_fail_the_run_and_are_counted() {
    let server = TestServer::start(StatusCode::INTERNAL_SERVER_ERROR);
    let (output, report) = run_json(&["-c", "4", "-n", "120", &server.url]);
    assert_eq!(output.status.code(), Some(1), "5xx fails by default");
    assert_eq!(u(&report, "failures"), 120);
    assert_eq!(u(&report, "failed_statuses"), 120);
    assert_eq!(u(&report, "successes"), 0);
    assert_eq!(report["status_codes"]["500"], 120);
    assert_counts_add_up(&report);

    // The user decides what a failure is.
    let (output, report) = run_json(&["-c", "4", "-n", "20", "--fail-on", "none", &server.url]);
    assert!(output.status.success());
    assert_eq!(u(&report, "successes"), 20);
    assert_counts_add_up(&report);
}

#[test]
fn refused_connections_are_grouped_under_their_error_kind() {
    let url = closed_port_url();
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let (output, report) = run_json(&["-c", "2", "-n", "10", &url]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(u(&report, "responses"), 0);
    assert_eq!(report["errors"]["connect"]["count"], 10, "{report}");
    assert!(report["errors"]["connect"]["example"]
        .as_str()
        .unwrap()
        .contains(&format!("127.0.0.1:{port}")));
    assert_counts_add_up(&report);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("connect: 10"), "{text}");
}

#[test]
fn a_run_without_any_response_has_no_latency_rather_than_zero() {
    let url = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("latency.svg");
    let (output, report) = run_json(&["-c", "2", "-n", "6", "--plot", svg.to_str().unwrap(), &url]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(u(&report, "requests"), 6);
    assert_eq!(u(&report, "responses"), 0);
    // Absent, not 0.000: no field of a latency object to misread.
    assert!(report["latency_ms"].is_null(), "{report}");
    assert_eq!(report["histogram"].as_array().map(Vec::len), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Latency (ms): n/a (no response)"), "{text}");
    assert!(!text.contains("0.000"), "no zero latency anywhere:\n{text}");
    // The plot still has its axes, and says why it is empty.
    let svg = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = svg_texts(&doc);
    assert!(
        texts.iter().any(|t| t.text.contains("no response")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.text == "responses"), "{texts:?}");
}

#[test]
fn plot_is_a_well_formed_svg_of_the_histogram() {
    let server = TestServer::start(StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("latency.svg");
    let output = paf_stress(&[
        "--no-progress",
        "-n",
        "200",
        "--plot",
        svg.to_str().unwrap(),
        &server.url,
    ]);
    assert!(output.status.success());
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let bars = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert!(bars >= 2, "a background and at least one bar");
    assert!(text.contains("p99"));

    let texts = svg_texts(&doc);
    // Both axes are labelled...
    assert!(
        texts.iter().any(|t| t.text == "latency (ms, log scale)"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.text == "responses"), "{texts:?}");
    // ...and carry numeric tick labels: the latency ticks in a row (one `y`,
    // increasing left to right), the count ticks in a column (one `x`,
    // increasing upwards).
    let ticks = |row: bool| -> Vec<(f64, f64)> {
        let mut groups: std::collections::BTreeMap<i64, Vec<(f64, f64)>> = Default::default();
        for t in texts.iter().filter(|t| t.text.parse::<f64>().is_ok()) {
            let value = t.text.parse::<f64>().unwrap();
            let (key, pos) = if row { (t.y, t.x) } else { (t.x, t.y) };
            groups.entry(key as i64).or_default().push((pos, value));
        }
        groups
            .into_values()
            .max_by_key(Vec::len)
            .unwrap_or_default()
    };
    let x_ticks = ticks(true);
    assert!(
        x_ticks.len() >= 3,
        "latency ticks: {x_ticks:?} in {texts:?}"
    );
    assert!(
        x_ticks
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
        "{x_ticks:?}"
    );
    let y_ticks = ticks(false);
    assert!(y_ticks.len() >= 3, "count ticks: {y_ticks:?} in {texts:?}");
    assert!(
        y_ticks
            .windows(2)
            .all(|w| (w[0].0 > w[1].0) == (w[0].1 < w[1].1)),
        "{y_ticks:?}"
    );
    assert!(y_ticks.iter().any(|&(_, v)| v == 0.0), "{y_ticks:?}");
}

/// A `<text>` of an SVG: where it is and what it says (trimmed).
#[derive(Debug)]
struct SvgText {
    x: f64,
    y: f64,
    text: String,
}

fn svg_texts(doc: &roxmltree::Document<'_>) -> Vec<SvgText> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| SvgText {
            x: n.attribute("x")
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN),
            y: n.attribute("y")
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN),
            text: n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect::<String>()
                .trim()
                .to_string(),
        })
        .collect()
}

#[test]
fn json_to_stdout_is_pure_json() {
    let server = TestServer::start(StatusCode::OK);
    let output = paf_stress(&["--no-progress", "-n", "50", "--json", "-", &server.url]);
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(u(&report, "requests"), 50);
    assert!(String::from_utf8_lossy(&output.stderr).contains("Requests/s:"));
}

#[test]
fn unix_socket_and_duration_runs_stop_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("paf.sock");
    let _server = TestServer::start_on(StatusCode::OK, Listen::Unix(socket.clone()));
    let (output, report) = run_json(&[
        "-c",
        "4",
        "-z",
        "300ms",
        "--unix",
        socket.to_str().unwrap(),
        "http://localhost/",
    ]);
    assert!(output.status.success(), "{report}");
    assert!(u(&report, "requests") > 0);
    let elapsed = report["elapsed_secs"].as_f64().unwrap();
    assert!((0.3..3.0).contains(&elapsed), "elapsed {elapsed}");
    assert_counts_add_up(&report);
}

#[test]
fn https_uses_the_ca_file_and_alpn_picks_http2() {
    let paf_testkit::TestCert { cert_pem, key_pem } =
        paf_testkit::TestCert::for_names(&["127.0.0.1"]);
    // paf's own configuration: ALPN `h2` then `http/1.1`.
    let config =
        paf_core::tls::server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let server = TestServer::start_on(StatusCode::OK, Listen::Tls(Box::new(config)));
    let url = server.url.replace("http://", "https://");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert_pem).unwrap();
    let ca = ca.to_str().unwrap();

    for backend in ["hyper", "reqwest"] {
        let (output, report) = run_json(&[
            "-n",
            "50",
            "--http2",
            "--cacert",
            ca,
            "--backend",
            backend,
            &url,
        ]);
        assert!(output.status.success(), "{backend}: {report}");
        assert_eq!(report["versions"]["HTTP/2"], 50, "{backend}: {report}");
    }
    let (output, report) = run_json(&[
        "-n",
        "50",
        "--http1",
        "--cacert",
        ca,
        "--backend",
        "ureq",
        &url,
    ]);
    assert!(output.status.success(), "{report}");
    assert_eq!(report["versions"]["HTTP/1.1"], 50);

    // Without the CA the certificate is refused: every request is a TLS error.
    let (output, report) = run_json(&["-n", "5", "-c", "1", &url]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["errors"]["tls"]["count"], 5, "{report}");
}

#[test]
fn library_run_gives_the_same_report() {
    let server = TestServer::start(StatusCode::OK);
    let args = paf_stress::Args::parse_from([
        "paf-stress",
        "--no-progress",
        "-c",
        "4",
        "-n",
        "100",
        "-m",
        "POST",
        "-d",
        "ping",
        "-H",
        "x-test: 1",
        &server.url,
    ]);
    let report = paf_stress::run(&args).unwrap();
    assert!(!report.failed());
    assert_eq!(report.requests, 100);
    assert_eq!(report.method, "POST");
    assert_eq!(report.status_codes[&200], 100);
    let latency = report.latency_ms.unwrap();
    assert!(latency.p50 <= latency.max);
    assert!(report.to_string().contains("Mode:        closed loop"));
    assert!(report.to_string().contains("Summary: POST"));
}

/// A server that answers the first `fast` requests at once and then hangs
/// every later one (far past any test), counting what it has seen.
fn hanging_server(fast: u64) -> (TestServer, Arc<AtomicU64>) {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let handler = move |_req: Request<Body>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n >= fast {
                tokio::time::sleep(Duration::from_secs(120)).await;
            }
            Response::new(Body::from(HELLO))
        }
    };
    (TestServer::serve(handler, Listen::Tcp), seen)
}

/// Waits for `cond`, up to `limit`.
fn wait_until(limit: Duration, what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_stops_the_run_reports_it_and_writes_the_files() {
    const FAST: u64 = 20;
    const CLIENTS: u64 = 3;
    for backend in ["hyper", "ureq"] {
        let (server, seen) = hanging_server(FAST);
        let dir = tempfile::tempdir().unwrap();
        let (json, svg) = (dir.path().join("report.json"), dir.path().join("plot.svg"));
        let child = Command::new(env!("CARGO_BIN_EXE_paf-stress"))
            .args([
                "--no-progress",
                "--backend",
                backend,
                "-c",
                "3",
                "-z",
                "10m",
            ])
            .args(["--timeout", "10m", "--json", json.to_str().unwrap()])
            .args(["--plot", svg.to_str().unwrap(), &server.url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        // Every client is now stuck in a request that will not end: only an
        // interrupt that abandons them can end the run.
        wait_until(Duration::from_secs(20), "the clients to hang", || {
            seen.load(Ordering::SeqCst) >= FAST + CLIENTS
        });
        let interrupted_at = Instant::now();
        let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(kill.success());

        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || done_tx.send(child.wait_with_output()));
        let output = match done_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(output) => output.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                panic!("{backend}: paf-stress did not stop on SIGINT");
            }
        };
        let stopped_in = interrupted_at.elapsed();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        // Nothing failed: the run's own exit status, not a signal's.
        assert_eq!(output.status.code(), Some(0), "{backend}: {stdout}{stderr}");
        assert!(
            stopped_in < Duration::from_secs(10),
            "{backend}: {stopped_in:?}"
        );
        assert!(stderr.contains("interrupted"), "{backend}: {stderr}");
        assert!(
            stdout.contains(&format!("Requests:    {FAST} ({FAST} succeeded, 0 failed)")),
            "{backend}: {stdout}"
        );
        assert!(
            stdout.contains("Interrupted: stopped early; 3 request(s) in flight abandoned"),
            "{backend}: {stdout}"
        );
        assert!(stdout.contains("p99"), "{backend}: {stdout}");

        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["interrupted"], true, "{backend}: {report}");
        assert_eq!(u(&report, "requests"), FAST, "{backend}: {report}");
        assert_eq!(u(&report, "abandoned"), CLIENTS, "{backend}: {report}");
        assert_counts_add_up(&report);
        assert_percentiles_ordered(&report);
        assert!(f(&report, "elapsed_secs") < 600.0);
        let svg = std::fs::read_to_string(&svg).unwrap();
        roxmltree::Document::parse(&svg).unwrap();
        assert!(svg.contains("(interrupted)"), "{backend}");
    }
}

/// A server that freezes for `stall` once it has seen `at` requests: every
/// request that arrives meanwhile is answered when the freeze ends (a
/// garbage collection, a lock, a full disk).
fn stalling_server(at: u64, stall: Duration) -> TestServer {
    let seen = Arc::new(AtomicU64::new(0));
    let frozen_until = Arc::new(Mutex::new(None::<Instant>));
    let handler = move |_req: Request<Body>| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let until = {
            let mut until = frozen_until.lock().unwrap();
            if n == at {
                *until = Some(Instant::now() + stall);
            }
            *until
        };
        async move {
            if let Some(until) = until.filter(|&t| t > Instant::now()) {
                tokio::time::sleep_until(until.into()).await;
            }
            Response::new(Body::from(HELLO))
        }
    };
    TestServer::serve(handler, Listen::Tcp)
}

#[test]
fn constant_rate_counts_the_stall_that_a_closed_loop_hides() {
    let stall = Duration::from_millis(300);
    let stall_ms = stall.as_secs_f64() * 1000.0;

    // Closed loop: the two clients wait out the freeze with the server and
    // send nothing meanwhile, so only their two requests are slow.
    let server = stalling_server(200, stall);
    let (output, closed) = run_json(&["-c", "2", "-n", "1000", &server.url]);
    assert!(output.status.success(), "{closed}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Mode:        closed loop"), "{text}");
    assert_eq!(closed["mode"]["kind"], "closed_loop");
    assert!(
        latency(&closed, "max") >= 0.8 * stall_ms,
        "it saw the stall: {closed}"
    );
    assert!(
        latency(&closed, "p99") < 0.5 * stall_ms,
        "and hides it: {closed}"
    );
    drop(server);

    // Constant rate: 400 requests due 2.5 ms apart. The ~120 that fall due
    // during the freeze are sent late, and timed from when they were due.
    let server = stalling_server(100, stall);
    let (output, paced) = run_json(&["-c", "4", "-q", "400", "-n", "400", &server.url]);
    assert!(output.status.success(), "{paced}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("Mode:        constant rate 400 req/s"),
        "{text}"
    );
    assert!(text.contains("from the scheduled send time"), "{text}");
    assert_eq!(paced["mode"]["kind"], "constant_rate");
    assert_eq!(paced["mode"]["per_sec"], 400.0);
    assert_eq!(u(&paced, "requests"), 400);
    assert_eq!(u(&paced, "unsent"), 0);
    assert_counts_add_up(&paced);
    assert_percentiles_ordered(&paced);
    // The schedule was kept: the last request was not due before 0.9975 s.
    assert!(f(&paced, "elapsed_secs") >= 0.99, "{paced}");
    // The queueing behind the freeze is in the percentiles, not only in max.
    let (p90, p99) = (latency(&paced, "p90"), latency(&paced, "p99"));
    assert!(p99 >= 0.5 * stall_ms, "p99 {p99} ms: {paced}");
    assert!(p90 >= 0.2 * stall_ms, "p90 {p90} ms: {paced}");
    assert!(p99 > 2.0 * latency(&closed, "p99"), "{paced}\n{closed}");
}

#[test]
fn a_timed_constant_rate_run_sends_what_falls_due_before_it_ends() {
    let server = TestServer::start(StatusCode::OK);
    for backend in ["hyper", "ureq"] {
        let (output, report) = run_json(&[
            "-c",
            "2",
            "--rate",
            "200",
            "-z",
            "500ms",
            "--backend",
            backend,
            &server.url,
        ]);
        assert!(output.status.success(), "{backend}: {report}");
        // Due at 0, 5, ..., 495 ms: 100 requests, each sent or reported as
        // unsent, whatever the machine's load.
        assert_eq!(
            u(&report, "requests") + u(&report, "unsent"),
            100,
            "{backend}: {report}"
        );
        assert!(u(&report, "requests") >= 50, "{backend}: {report}");
        assert_eq!(report["interrupted"], false);
        assert_eq!(u(&report, "abandoned"), 0);
        assert_counts_add_up(&report);
        let elapsed = f(&report, "elapsed_secs");
        assert!((0.49..5.0).contains(&elapsed), "{backend}: {elapsed}");
    }
}
