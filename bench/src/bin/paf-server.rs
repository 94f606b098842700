//! The paf-hyper server answering every request with 13 bytes: the server
//! under test in the server benchmark. Runs until killed.
//!
//! Plain HTTP by default (HTTP/1.1, or HTTP/2 with prior knowledge, told
//! apart by the first bytes); HTTPS with `--cert` and `--key` (HTTP/1.1 or
//! HTTP/2 by ALPN).
#![forbid(unsafe_code)]

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::Parser;

/// A paf server for benchmarks.
#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8082")]
    addr: SocketAddr,
    /// Runtime worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Serve HTTPS with this certificate chain (PEM); needs --key.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Turn rustls's session resumption off (no session cache, no tickets):
    /// every TLS connection then costs a full handshake.
    #[arg(long, requires = "cert")]
    no_tls_resumption: bool,
    /// Leave the connection's `ConnInfo` out of the requests' extensions
    /// (`ServerBuilder::conn_info(false)`), to price it.
    #[arg(long)]
    no_conn_info: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paf-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let resumption = !args.no_tls_resumption;
            let config = paf_bench::tls::server_config(cert, key, None, resumption);
            Some(config.map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let runtime = paf_bench::runtime(args.threads).map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let running = paf_bench::paf_server::start(args.addr, tls, !args.no_conn_info)
            .await
            .map_err(|e| paf_bench::error_chain(&e))?;
        println!("listening on {}", running.url().unwrap_or_default());
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        running.wait().await;
        Ok(())
    })
}
