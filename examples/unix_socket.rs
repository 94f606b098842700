//! A server on a Unix domain socket and a client that reaches it through
//! the transport context: the URL names the service, the context says how
//! to get there.
//!
//! ```text
//! cargo run -p paf-examples --example unix_socket
//! ```

use std::time::Duration;

use http::{Request, Response};
use paf_core::{ctx::Endpoint, server::ConnInfo, Body, Ctx};
use paf_hyper::{Client, Server};

async fn whoami(req: Request<Body>) -> Response<Body> {
    let peer = ConnInfo::of(&req)
        .map(|c| c.peer.to_string())
        .unwrap_or_default();
    Response::new(Body::from(format!(
        "{} {} from {peer}\n",
        req.method(),
        req.uri()
    )))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("paf-example-{}.sock", std::process::id()));
    let running = Server::new(whoami).bind_unix(&path).await?;
    println!("server listening on {}", path.display());

    // Requests for `app.local` go to the socket; other hosts still use TCP.
    let ctx = Ctx::new().route("app.local", Endpoint::Unix(path.clone()));
    let client = Client::builder().ctx(ctx).build();
    for path in ["/", "/status"] {
        let response = client.get(&format!("http://app.local{path}")).await?;
        print!(
            "{} -> {}",
            response.status(),
            response.into_body().to_string(1 << 20).await?
        );
    }

    running.stop(Duration::from_secs(1)).await;
    println!("server stopped, socket removed: {}", !path.exists());
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
