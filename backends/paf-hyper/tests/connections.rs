//! Many concurrent keep-alive connections against one server on loopback:
//! all are opened and held, then each makes a request, and every one is
//! answered.
//!
//! The 10,000-connection run is `#[ignore]`d (it takes its client into a
//! second process, since 20,000 sockets in one process pass the usual
//! open-file limit) and reports the server's peak RSS per connection:
//!
//! ```text
//! cargo test -p paf-hyper --release --test connections -- --ignored --nocapture ten_thousand
//! ```

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{io, net::SocketAddr, time::Duration};

use futures_util::{stream, StreamExt};
use http::{Request, Response};
use paf_core::Body;
use paf_hyper::{Running, Server};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

/// Connections opened (and requests made) at once: more would overflow
/// the listen backlog for no gain.
const PARALLEL: usize = 256;
const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

async fn ok(_req: Request<Body>) -> Response<Body> {
    Response::new(Body::from("ok"))
}

async fn start(max_connections: usize) -> Running {
    Server::builder()
        .max_connections(max_connections)
        .build(ok)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

/// Raises the open-file limit to `needed` if it is lower; false (with a
/// message saying why) when it cannot be.
fn enough_files(needed: u64) -> bool {
    match rlimit::increase_nofile_limit(needed) {
        Ok(got) if got >= needed => true,
        Ok(got) => {
            println!("skipped: the open-file limit is {got}, {needed} are needed");
            false
        }
        Err(e) => {
            println!("skipped: cannot raise the open-file limit to {needed}: {e}");
            false
        }
    }
}

/// A value in KiB from /proc/self/status (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends a GET on a kept-alive connection and reads the `ok` response.
async fn get(stream: &mut TcpStream) -> io::Result<()> {
    stream.write_all(GET).await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"\r\n\r\nok") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        seen.extend_from_slice(&buf[..n]);
    }
    if !seen.starts_with(b"HTTP/1.1 200") {
        return Err(io::Error::other(String::from_utf8_lossy(&seen).to_string()));
    }
    Ok(())
}

/// Opens `count` connections and holds them all; then makes one request on
/// each. How many were answered.
async fn hold_then_request(addr: SocketAddr, count: usize) -> usize {
    let connects = stream::iter(0..count).map(|_| TcpStream::connect(addr));
    let held: Vec<TcpStream> = connects
        .buffer_unordered(PARALLEL)
        .map(|c| c.expect("connecting"))
        .collect()
        .await;
    assert_eq!(held.len(), count);
    let requests = stream::iter(held).map(|mut stream| async move {
        let answered = get(&mut stream).await;
        // Still held: every connection stays open until all are answered.
        (answered, stream)
    });
    let done: Vec<_> = requests.buffer_unordered(PARALLEL).collect().await;
    done.iter().filter(|(answered, _)| answered.is_ok()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_keep_alive_connections_are_all_served() {
    const COUNT: usize = 1000;
    // Both ends of every connection live in this process.
    if !enough_files(2 * COUNT as u64 + 200) {
        return;
    }
    let running = start(COUNT).await;
    let before = status_kib("VmRSS");
    let answered = timeout(
        Duration::from_secs(30),
        hold_then_request(running.local_addr().unwrap(), COUNT),
    )
    .await
    .unwrap();
    assert_eq!(answered, COUNT);
    if let (Some(before), Some(peak)) = (before, status_kib("VmHWM")) {
        println!(
            "{COUNT} connections (both ends in one process): peak RSS {peak} KiB, \
             {:.1} KiB per connection over the {before} KiB before",
            peak.saturating_sub(before) as f64 / COUNT as f64
        );
    }
    timeout(
        Duration::from_secs(10),
        running.stop(Duration::from_secs(1)),
    )
    .await
    .unwrap();
}

const HOLD_ADDR: &str = "PAF_HOLD_ADDR";
const HOLD_COUNT: &str = "PAF_HOLD_COUNT";

#[test]
#[ignore = "10,000 connections and a second process: run it with the command in the module docs"]
fn ten_thousand_keep_alive_connections_report_rss_per_connection() {
    const COUNT: usize = 10_000;
    if !enough_files(COUNT as u64 + 200) {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let running = start(COUNT + 100).await;
        let addr = running.local_addr().unwrap();
        let before = status_kib("VmRSS").unwrap();
        // The client half runs as this test binary's `connection_holder`.
        let client = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "connection_holder", "--nocapture"])
            .env(HOLD_ADDR, addr.to_string())
            .env(HOLD_COUNT, COUNT.to_string())
            .output();
        let out = timeout(Duration::from_secs(300), client)
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("answered {COUNT} of {COUNT}")),
            "{stdout}"
        );
        let peak = status_kib("VmHWM").unwrap();
        println!(
            "server: {COUNT} kept-alive connections, each answered once; RSS {before} KiB \
             before, peak {peak} KiB: {:.1} KiB per connection",
            peak.saturating_sub(before) as f64 / COUNT as f64
        );
        timeout(
            Duration::from_secs(30),
            running.stop(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    });
}

/// The client half of the 10,000-connection test, run by it in a process
/// of its own; it does nothing when run on its own.
#[test]
#[ignore = "started by ten_thousand_keep_alive_connections_report_rss_per_connection"]
fn connection_holder() {
    let (Ok(addr), Ok(count)) = (std::env::var(HOLD_ADDR), std::env::var(HOLD_COUNT)) else {
        println!("nothing to do: started by the 10,000-connection test only");
        return;
    };
    let (addr, count): (SocketAddr, usize) = (addr.parse().unwrap(), count.parse().unwrap());
    assert!(enough_files(count as u64 + 200), "open-file limit");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answered = runtime.block_on(hold_then_request(addr, count));
    println!("answered {answered} of {count}");
}
