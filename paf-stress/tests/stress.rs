//! The stress tool against real paf servers on loopback: the built binary
//! for what a user sees (exit status, JSON, SVG), the library for the same
//! run called from code.
#![allow(clippy::unwrap_used)]

use std::{
    process::{Command, Output},
    sync::mpsc,
    thread,
    time::Duration,
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
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let handler = move |_req: Request<Body>| async move {
                    let mut response = Response::new(Body::from(HELLO));
                    *response.status_mut() = status;
                    response
                };
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
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
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
    assert!(text.contains("p99") && text.contains("latency (ms, log scale)"));
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
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
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
    assert!(report.latency_ms.p50 <= report.latency_ms.max);
    assert!(report.to_string().contains("Summary: POST"));
}
