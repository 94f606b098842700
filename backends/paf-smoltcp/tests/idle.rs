//! An idle stack costs no CPU: its task sleeps until smoltcp's next timer
//! or a wake-up, and an idle connection has no timer. Alone in its test
//! binary, so that no other test's work is counted.
#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::*;
use paf_hyper::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// CPU time of this process so far (user + system), in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name may hold spaces; the fields after it do not.
    let after_name = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime: fields 14 and 15 of proc(5), 11 and 12 here.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_stacks_with_open_connections_use_no_cpu() {
    let served = serve_plain(80);
    let (server_stack, client_stack) = (&served.server_stack, &served.client_stack);
    let client = Client::builder().ctx(served.ctx.clone()).build();
    // A kept-alive HTTP connection, and a raw one, both left open.
    let response = client.get("http://10.0.0.1/").await.unwrap();
    assert_eq!(response.into_body().to_string(64).await.unwrap(), "hello");
    let mut listener = server_stack.listen(7).unwrap();
    let (raw, accepted) = tokio::join!(
        client_stack.connect(std::net::SocketAddr::from((SERVER_IP, 7))),
        listener.accept()
    );
    let (mut raw, (mut accepted, _)) = (raw.unwrap(), accepted.unwrap());
    raw.write_all(b"x").await.unwrap();
    accepted.read_exact(&mut [0]).await.unwrap();
    // Delayed ACKs and the like settle within milliseconds.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks() - before;
    // A tick is 10 ms: 2 ticks in 2 s is 1 % of one core; a stack that
    // polled in a loop would use all of it.
    eprintln!("{used} ticks of CPU in 2 s idle");
    assert!(used <= 2, "{used} ticks of CPU in 2 s idle");

    // Still alive after the sleep.
    raw.write_all(b"y").await.unwrap();
    accepted.read_exact(&mut [0]).await.unwrap();
    served.stop().await;
}
