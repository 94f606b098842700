//! The smallest paf server: answers `GET /` with a short text and stops
//! cleanly on Ctrl-C.
//!
//! ```text
//! cargo run -p paf-examples --example hello_server            # port 8080
//! cargo run -p paf-examples --example hello_server -- 3000    # another port
//! ```

use std::{net::SocketAddr, time::Duration};

use http::{Method, Request, Response, StatusCode};
use paf_core::{server::ConnInfo, Body};
use paf_hyper::Server;

async fn hello(req: Request<Body>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => {
            let version = ConnInfo::of(&req).map(|c| c.version).unwrap_or_default();
            Response::new(Body::from(format!("Hello from paf ({version:?})\n")))
        }
        _ => paf_core::server::status_response(StatusCode::NOT_FOUND),
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|e| format!("port {arg:?}: {e}"))?,
        None => 8080,
    };
    let running = Server::new(hello)
        .bind_tcp(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    if let Some(url) = running.url() {
        println!("listening on {url}/ (Ctrl-C to stop)");
    }
    tokio::signal::ctrl_c().await?;
    println!("stopping: in-flight requests get 5 s to finish");
    running.stop(Duration::from_secs(5)).await;
    println!("stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
