//! hyper 1.x used directly, answering every request with 13 bytes: the
//! baseline of the server benchmark. Runs until killed.
//!
//! Plain HTTP by default; HTTPS with `--cert` and `--key`, through
//! tokio-rustls's `TlsAcceptor` and the same rustls configuration as
//! `paf-server --cert --key`.
#![forbid(unsafe_code)]

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::Parser;
use paf_bench::raw_server::{self, Protocol};
use tokio_rustls::TlsAcceptor;

/// A raw hyper server for benchmarks.
#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// Which hyper connection builder serves [default: http1, or alpn with
    /// --cert]. Over TLS, http1 and http2 offer only their own ALPN
    /// protocol; alpn needs --cert.
    #[arg(long, value_enum)]
    protocol: Option<Protocol>,
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
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw-hyper-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (protocol, tls) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let protocol = args.protocol.unwrap_or(Protocol::Alpn);
            let resumption = !args.no_tls_resumption;
            let config =
                paf_bench::tls::server_config(cert, key, Some(protocol.alpn()), resumption)?;
            (protocol, Some(TlsAcceptor::from(config)))
        }
        _ => match args.protocol.unwrap_or(Protocol::Http1) {
            Protocol::Alpn => return Err("--protocol alpn needs --cert and --key".into()),
            protocol => (protocol, None),
        },
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let runtime = paf_bench::runtime(args.threads)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        println!("listening on {scheme}://{}/", listener.local_addr()?);
        std::io::stdout().flush()?;
        raw_server::serve(listener, protocol, tls).await;
        Ok(())
    })
}
