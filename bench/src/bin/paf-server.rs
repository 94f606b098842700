//! The paf-hyper server answering every request with 13 bytes: the server
//! under test in the server benchmark. Runs until killed.
#![forbid(unsafe_code)]

use std::{io::Write, net::SocketAddr, process::ExitCode};

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = paf_bench::runtime(args.threads)
        .map_err(|e| e.to_string())
        .and_then(|runtime| {
            runtime.block_on(async {
                let running = paf_bench::paf_server::start(args.addr)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("listening on {}", running.url().unwrap_or_default());
                std::io::stdout().flush().map_err(|e| e.to_string())?;
                running.wait().await;
                Ok(())
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paf-server: {e}");
            ExitCode::FAILURE
        }
    }
}
