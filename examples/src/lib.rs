//! Runnable examples of paf, one topic each (see `examples/*.rs`):
//!
//! - `hello_server`: the smallest server, stopped cleanly on Ctrl-C;
//! - `get`: fetch a URL and print status, headers and body;
//! - `unix_socket`: a server and a client talking over a Unix socket;
//! - `https_server`: HTTPS with ALPN h2 from a generated or given certificate;
//! - `cohttp_port`: a cohttp-lwt-unix client and server program ported to paf-compat;
//! - `cohttp_server`: cohttp's own file server (`cohttp_server_lwt`) ported to paf-compat;
//! - `cohttp_curl`: cohttp's curl (`cohttp_curl_lwt`) ported to paf-compat;
//! - `letsencrypt`: a certificate over ACME HTTP-01 (Let's Encrypt or any directory);
//! - `websocket`: a WebSocket echo server and client on paf's upgrades;
//! - `cluster`: one of several instances behind one name sharing a Redis (`--features redis`);
//! - `axum_https`: an axum Router with tower-http middleware on paf's HTTPS server (`--features axum`);
//! - `userspace_stack`: paf on smoltcp, a TCP/IP stack in user space (`--features smoltcp`).
//!
//! Run one with `cargo run -p paf-examples --example NAME -- ARGS`; the
//! examples beyond the smallest ones name their Cargo feature
//! (`--features compat`, `le`, `websocket`, `tls-cert`, `redis`, `axum`,
//! `smoltcp`), so that
//! `hello_server` builds only paf-core and paf-hyper.
#![forbid(unsafe_code)]

use std::{error::Error, process::ExitCode};

/// Ends an example's `main`: success when `result` is `Ok`; otherwise the
/// error and each of its causes on stderr, as text a user reads (`Display`,
/// not `Debug`), and a failure exit code.
pub fn exit(result: Result<(), Box<dyn Error>>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    eprintln!("error: {error}");
    let mut cause = error.source();
    while let Some(source) = cause {
        eprintln!("  caused by: {source}");
        cause = source.source();
    }
    ExitCode::FAILURE
}
