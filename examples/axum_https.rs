//! An axum `Router` on paf's server: paf gives it HTTPS with HTTP/2 by ALPN,
//! the server limits and a graceful stop; tower-http gives it middleware
//! (a trace of every request, gzip compression of the answers).
//!
//! ```text
//! cargo run -p paf-examples --features axum --example axum_https            # port 8443
//! curl --cacert /tmp/paf-axum/cert.pem --compressed -v https://localhost:8443/report
//! curl --cacert /tmp/paf-axum/cert.pem https://localhost:8443/users/7
//! ```
//!
//! Each request is logged (tower-http's `TraceLayer`, printed by
//! tracing-subscriber); `/report` is large enough for the compression layer
//! to gzip it when the client accepts gzip.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::Path, routing::get, Extension, Router};
use paf_core::server::ConnInfo;
use paf_hyper::{tower::ServiceHandler, Server};
use tower_http::{compression::CompressionLayer, trace::TraceLayer};
use tracing::Level;
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// The application: plain axum, nothing paf-specific but the connection
/// facts paf puts in each request's extensions.
fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello from axum on paf\n" }))
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}\n") }),
        )
        .route(
            "/conn",
            get(|Extension(conn): Extension<Arc<ConnInfo>>| async move {
                format!("{:?} from {}\n", conn.version, conn.peer)
            }),
        )
        .route(
            "/report",
            get(|| async {
                (0..2000)
                    .map(|i| format!("line {i}: all quiet\n"))
                    .collect::<String>()
            }),
        )
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}

fn port() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok(8443),
        (Some("--port"), Some(port)) => port.parse().map_err(|e| format!("--port: {e}")),
        (Some(other), _) => Err(format!("unexpected argument {other:?} (--port N)")),
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The requests tower-http traces, paf's own debug lines, and only
    // warnings from the protocol crates below.
    let targets = Targets::new()
        .with_target("tower_http", Level::DEBUG)
        .with_target("paf_hyper", Level::DEBUG)
        .with_default(Level::WARN);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(targets)
        .init();
    let port = port()?;
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    let dir = std::env::temp_dir().join("paf-axum");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("cert.pem"), generated.cert.pem())?;
    println!(
        "self-signed certificate: {}",
        dir.join("cert.pem").display()
    );
    let config = paf_core::tls::server_config_from_pem(
        generated.cert.pem().as_bytes(),
        generated.signing_key.serialize_pem().as_bytes(),
    )?;

    let running = Server::builder()
        .tls(Arc::new(config))
        .build(ServiceHandler::new(app()))
        .bind_tcp(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    let port = running.local_addr().map_or(port, |a| a.port());
    println!("listening on https://localhost:{port}/ (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    running.stop(Duration::from_secs(5)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
