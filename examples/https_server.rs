//! HTTPS with HTTP/2 by ALPN. The certificate is generated at start (for
//! `localhost` and 127.0.0.1, written to a temporary folder so that a client
//! can trust it) or read from PEM files.
//!
//! ```text
//! cargo run -p paf-examples --features tls-cert --example https_server                     # port 8443
//! cargo run -p paf-examples --features tls-cert --example https_server -- --port 9443 --cert cert.pem --key key.pem
//! curl --http2 --cacert /tmp/paf-https/cert.pem https://localhost:8443/
//! ```

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use http::{Request, Response};
use paf_core::{server::ConnInfo, Body};
use paf_hyper::Server;

async fn hello(req: Request<Body>) -> Response<Body> {
    let (version, sni) = ConnInfo::of(&req)
        .map(|c| {
            let sni = c.tls.as_ref().and_then(|t| t.sni.clone());
            (c.version, sni.unwrap_or_else(|| "-".into()))
        })
        .unwrap_or_default();
    Response::new(Body::from(format!("Hello over {version:?}, SNI {sni}\n")))
}

struct Args {
    port: u16,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        port: 8443,
        cert: None,
        key: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--cert" => args.cert = Some(value()?.into()),
            "--key" => args.key = Some(value()?.into()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(args)
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let (cert_pem, key_pem) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => (read(cert)?, read(key)?),
        (None, None) => {
            let generated =
                rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
            let dir = std::env::temp_dir().join("paf-https");
            std::fs::create_dir_all(&dir)?;
            let cert_path = dir.join("cert.pem");
            std::fs::write(&cert_path, generated.cert.pem())?;
            println!("self-signed certificate: {}", cert_path.display());
            (
                generated.cert.pem().into_bytes(),
                generated.signing_key.serialize_pem().into_bytes(),
            )
        }
        _ => return Err("--cert and --key go together".into()),
    };
    let config = paf_core::tls::server_config_from_pem(&cert_pem, &key_pem)?;
    let running = Server::builder()
        .tls(Arc::new(config))
        .build(hello)
        .bind_tcp(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await?;
    let port = running.local_addr().map_or(args.port, |a| a.port());
    println!("listening on https://localhost:{port}/ (h2 and http/1.1 by ALPN; Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    running.stop(Duration::from_secs(5)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
