//! A paf server on a smoltcp stack over a TAP device, reached by curl
//! through the kernel's own stack. Everything happens inside a network
//! namespace the test creates (and deletes, also on failure): the TAP
//! device, the kernel's address 10.77.0.1, the stack's 10.77.0.2, curl.
//!
//! The test does not enter the namespace itself (that takes `setns`, and
//! this crate forbids `unsafe`): it runs its own binary again under `ip
//! netns exec`, where the ignored `tap_server_side` serves until its stdin
//! closes.
//!
//! Without the means (no /dev/net/tun, `ip` failing, no curl: not root),
//! the test says why and passes, unless `PAF_REQUIRE_PEERS=1` (CI), where
//! it fails.
#![allow(clippy::unwrap_used)]
#![cfg(all(target_os = "linux", feature = "tap"))]

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::Path,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use paf_hyper::Server;
use paf_smoltcp::{Config, Stack};

/// Tells the re-run binary to be the server, on this TAP device.
const SERVER_ENV: &str = "PAF_SMOLTCP_TAP_SERVER";
const READY: &str = "PAF-SMOLTCP-TAP-READY";
const KERNEL_IP: &str = "10.77.0.1";
const STACK_IP: [u8; 4] = [10, 77, 0, 2];

fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A network namespace, deleted when dropped.
struct Netns(String);

impl Netns {
    fn create() -> Result<Netns, String> {
        if !Path::new("/dev/net/tun").exists() {
            return Err("/dev/net/tun is missing".into());
        }
        let name = format!("paf-smoltcp-{}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let ns = Netns(name);
        run(ns
            .command("ip")
            .args(["tuntap", "add", "dev", "tap0", "mode", "tap"]))?;
        run(ns
            .command("ip")
            .args(["addr", "add", &format!("{KERNEL_IP}/24"), "dev", "tap0"]))?;
        run(ns.command("ip").args(["link", "set", "tap0", "up"]))?;
        run(ns.command("ip").args(["link", "set", "lo", "up"]))?;
        Ok(ns)
    }

    /// `program` run inside the namespace.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0]).arg(program);
        command
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes the TAP device in it.
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// The server process, killed if the test fails before it stops.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Without the means, a skip with the reason, or a failure where the
/// means are required.
fn cannot_run(reason: &str) {
    if paf_testkit::peers_required() {
        panic!("the TAP test cannot run, and PAF_REQUIRE_PEERS=1: {reason}");
    }
    paf_testkit::note(&format!("skipping the TAP test: {reason}"));
}

#[test]
fn curl_in_a_namespace_reaches_a_paf_server_on_a_tap_device() {
    let curl = match run(Command::new("curl").arg("--version")) {
        Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
        Err(reason) => return cannot_run(&reason),
    };
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(reason) => return cannot_run(&reason),
    };

    let mut server = ns.command(std::env::current_exe().unwrap());
    server
        .args(["--exact", "tap_server_side", "--ignored", "--nocapture"])
        .env(SERVER_ENV, "tap0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut server = ServerProcess(server.spawn().unwrap());
    let stdout = server.0.stdout.take().unwrap();
    let (ready_tx, ready) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(READY) {
                let _ = ready_tx.send(());
            }
        }
    });
    ready
        .recv_timeout(Duration::from_secs(20))
        .expect("the server in the namespace did not start");

    let url = |path: &str| format!("http://{}/{path}", std::net::Ipv4Addr::from(STACK_IP));
    let curl_get = |extra: &[&str], path: &str| {
        let output = run(ns
            .command("curl")
            .args(["-sS", "--max-time", "10"])
            .args(extra)
            .arg(url(path)))
        .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(curl_get(&[], ""), "hello");
    // The server sees the kernel's side of the link.
    let peer = curl_get(&[], "peer");
    assert!(peer.starts_with(&format!("{KERNEL_IP}:")), "{peer}");
    assert_eq!(curl_get(&[], "version"), "HTTP/1.1");
    if curl.contains("HTTP2") {
        assert_eq!(
            curl_get(&["--http2-prior-knowledge"], "version"),
            "HTTP/2.0"
        );
    }

    // A body of many full-size frames, both ways.
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut post = ns
        .command("curl")
        .args(["-sS", "--max-time", "20", "--data-binary", "@-"])
        .arg(url("echo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = post.stdin.take().unwrap();
    let writer = std::thread::spawn({
        let body = body.clone();
        move || stdin.write_all(&body)
    });
    let mut echoed = Vec::new();
    post.stdout
        .take()
        .unwrap()
        .read_to_end(&mut echoed)
        .unwrap();
    assert!(post.wait().unwrap().success());
    writer.join().unwrap().unwrap();
    assert!(echoed == body, "{} bytes came back", echoed.len());

    // Closing its stdin stops the server gracefully.
    drop(server.0.stdin.take());
    let status = server.0.wait().unwrap();
    assert!(status.success(), "the server ended with {status}");
    drop(ns);
}

/// The server side: a paf server on a stack over the TAP device named by
/// `PAF_SMOLTCP_TAP_SERVER`, until stdin closes. Does nothing without it.
#[test]
#[ignore = "the server side of the TAP test, run by it inside its network namespace"]
fn tap_server_side() {
    let Ok(tap) = std::env::var(SERVER_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = Config::new(STACK_IP.into(), 24).gateway(KERNEL_IP.parse().unwrap());
        let stack = Stack::tap(&tap, config).unwrap();
        let running = Server::new(common::router).serve(stack.listen(80).unwrap());
        println!("{READY}");
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .unwrap();
        running.stop(Duration::from_secs(2)).await;
    });
}
