//! hyper 1.x used directly, answering every request with 13 bytes: the
//! baseline of the server benchmark. Runs until killed.
#![forbid(unsafe_code)]

use std::{io::Write, net::SocketAddr, process::ExitCode};

use clap::Parser;
use paf_bench::raw_server::{self, Protocol};

/// A raw hyper server for benchmarks.
#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// Which hyper connection builder serves.
    #[arg(long, value_enum, default_value_t = Protocol::Http1)]
    protocol: Protocol,
    /// Runtime worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = paf_bench::runtime(args.threads).and_then(|runtime| {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(args.addr).await?;
            println!("listening on http://{}/", listener.local_addr()?);
            std::io::stdout().flush()?;
            raw_server::serve(listener, args.protocol).await;
            Ok(())
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw-hyper-server: {e}");
            ExitCode::FAILURE
        }
    }
}
