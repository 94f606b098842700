//! Fetches a URL with paf's hyper client and prints the status, the headers
//! and the body.
//!
//! ```text
//! cargo run -p paf-examples --example get -- http://127.0.0.1:8080/
//! cargo run -p paf-examples --example get -- https://localhost:8443/ --ca /tmp/paf-https/cert.pem
//! cargo run -p paf-examples --example get -- http://localhost/ --unix /tmp/paf.sock
//! ```

use paf_core::Ctx;
use paf_hyper::Client;

/// Bodies larger than this are not printed whole.
const MAX_BODY: usize = 16 << 20;

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut ctx = Ctx::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => {
                let path = args.next().ok_or("--ca needs a PEM file")?;
                let pem = std::fs::read(&path).map_err(|e| format!("reading {path}: {e}"))?;
                ctx = ctx.with_ca_pem(&pem)?;
            }
            "--unix" => {
                let path = args.next().ok_or("--unix needs a socket path")?;
                ctx = ctx.with_unix_socket(path);
            }
            _ if url.is_none() => url = Some(arg),
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    let url = url.ok_or("usage: get URL [--ca CERT.pem] [--unix SOCKET]")?;

    let client = Client::builder().ctx(ctx).build();
    let response = client.get(&url).await?;
    println!("{:?} {}", response.version(), response.status());
    for (name, value) in response.headers() {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!();
    let body = response.into_body().to_bytes(MAX_BODY).await?;
    println!("{}", String::from_utf8_lossy(&body));
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
