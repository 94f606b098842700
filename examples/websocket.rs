//! A WebSocket echo server and client on paf's upgrades, with tokio-tungstenite
//! framing the messages (the way ocaml-websocket's `upgrade_connection` sits
//! on CoHTTP's `Expert` response). The server's handler does the opening
//! handshake itself and answers `101`, then takes the connection over; the
//! client sends the upgrade request with paf's client, checks the `101`, and
//! takes over the connection it came on.
//!
//! ```text
//! cargo run -p paf-examples --features websocket --example websocket                        # ws://127.0.0.1:9001/
//! cargo run -p paf-examples --features websocket --example websocket -- --connect ws://127.0.0.1:9001/
//! cargo run -p paf-examples --features websocket --example websocket -- --listen 127.0.0.1:9443 --tls
//! cargo run -p paf-examples --features websocket --example websocket -- --connect wss://localhost:9443/ \
//!     --ca /tmp/paf-websocket/cert.pem
//! ```
//!
//! Any WebSocket client works against the server, e.g. Python's
//! `python3 -m websockets ws://127.0.0.1:9001/`.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use http::{
    header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE},
    HeaderMap, HeaderName, Method, Request, Response, StatusCode,
};
use paf_core::{server::ConnInfo, tls::ALPN_HTTP11, Body, Ctx};
use paf_hyper::{upgrade, Client, Server};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::{
    tungstenite::{
        handshake::{client::generate_key, derive_accept_key},
        protocol::{frame::coding::CloseCode, CloseFrame, Role},
        Message,
    },
    WebSocketStream,
};

// ---------------------------------------------------------------- server ---

async fn handler(mut req: Request<Body>) -> Response<Body> {
    let response = match accept_handshake(&req) {
        Ok(response) => response,
        Err(why) => {
            let mut response = Response::new(Body::from(format!("{why}\n")));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    let peer = ConnInfo::of(&req).map_or_else(|| "?".into(), |c| c.peer.to_string());
    // The connection is ours once the `101` is out: wait for it elsewhere.
    let upgrade = upgrade::request(&mut req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(stream) => echo(stream, &peer).await,
            Err(e) => eprintln!("{peer}: no upgrade: {e}"),
        }
    });
    response
}

/// The `101` that accepts a WebSocket opening handshake (RFC 6455 §4.2.2),
/// or why the request is not one.
fn accept_handshake(req: &Request<Body>) -> Result<Response<Body>, &'static str> {
    let headers = req.headers();
    if req.method() != Method::GET
        || !has_token(headers, UPGRADE, "websocket")
        || !has_token(headers, CONNECTION, "upgrade")
    {
        return Err("this is a WebSocket endpoint: send a GET with `upgrade: websocket`");
    }
    if headers.get(SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err("only WebSocket version 13 is spoken here");
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or("no sec-websocket-key")?;
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "upgrade")
        // Proves to the client that we read its key, i.e. that we speak
        // WebSocket rather than being a cache replaying some old answer.
        .header(SEC_WEBSOCKET_ACCEPT, derive_accept_key(key.as_bytes()))
        .body(Body::empty())
        .expect("the headers are valid"))
}

/// Whether header `name` lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Sends every text and binary message back. tungstenite answers pings and
/// the peer's close frame by itself.
async fn echo(stream: upgrade::Upgraded, peer: &str) {
    println!("{peer}: WebSocket open");
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    while let Some(message) = ws.next().await {
        match message {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.send(message).await {
                    eprintln!("{peer}: {e}");
                    break;
                }
            }
            Ok(Message::Close(frame)) => println!("{peer}: closed by the client: {frame:?}"),
            Ok(_) => {}
            Err(e) => {
                eprintln!("{peer}: {e}");
                break;
            }
        }
    }
    // After the closing handshake the server closes the TCP connection
    // first (RFC 6455 §7.1.1), over TLS with a close_notify.
    let _ = ws.get_mut().shutdown().await;
}

async fn serve(listen: SocketAddr, tls: bool) -> Result<(), Box<dyn std::error::Error>> {
    let builder = if tls {
        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
        let dir = std::env::temp_dir().join("paf-websocket");
        std::fs::create_dir_all(&dir)?;
        let cert_path = dir.join("cert.pem");
        std::fs::write(&cert_path, generated.cert.pem())?;
        println!("self-signed certificate: {}", cert_path.display());
        let mut config = paf_core::tls::server_config_from_pem(
            generated.cert.pem().as_bytes(),
            generated.signing_key.serialize_pem().as_bytes(),
        )?;
        // The WebSocket handshake is HTTP/1.1's; paf's upgrades do not do
        // RFC 8441's WebSocket over HTTP/2.
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Server::builder().tls(Arc::new(config))
    } else {
        Server::builder()
    };
    let running = builder.build(handler).bind_tcp(listen).await?;
    let addr = running.local_addr().unwrap_or(listen);
    let url = if tls {
        // The certificate's name, which a client checks.
        format!("wss://localhost:{}/", addr.port())
    } else {
        format!("ws://{addr}/")
    };
    println!("echoing WebSocket messages on {url} (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    // Open WebSockets have left the server: the stop does not wait for them.
    running.stop(Duration::from_secs(5)).await;
    Ok(())
}

// ---------------------------------------------------------------- client ---

async fn connect(url: &str, ca: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    // paf's client speaks http(s); the WebSocket schemes name the same thing.
    let http_url = match url.split_once("://") {
        Some(("ws", rest)) => format!("http://{rest}"),
        Some(("wss", rest)) => format!("https://{rest}"),
        _ => url.to_string(),
    };
    let mut ctx = Ctx::new();
    if let Some(ca) = ca {
        let pem = std::fs::read(&ca).map_err(|e| format!("reading {}: {e}", ca.display()))?;
        ctx = ctx.with_ca_pem(&pem)?;
    }
    // Offer only HTTP/1.1 by ALPN: the handshake is an HTTP/1.1 upgrade.
    let client = Client::builder().ctx(ctx).http1_only(true).build();

    let key = generate_key();
    let request = Request::get(&http_url)
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "upgrade")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, &key)
        .body(Body::empty())?;
    let mut response = client.request(request).await?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(format!("{url} answered {} instead of 101", response.status()).into());
    }
    let accept = response.headers().get(SEC_WEBSOCKET_ACCEPT);
    if accept.map(|v| v.as_bytes()) != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
        return Err(format!("{url}: wrong sec-websocket-accept {accept:?}").into());
    }
    let stream = upgrade::response(&mut response).await?;
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    println!("connected to {url}");

    for message in [
        Message::text("hello from paf"),
        Message::binary(vec![0x70, 0x61, 0x66, 0x00, 0xff]),
    ] {
        ws.send(message).await?;
        match ws.next().await {
            Some(Ok(echo)) => println!("echo: {echo:?}"),
            Some(Err(e)) => return Err(e.into()),
            None => return Err("the server closed before echoing".into()),
        }
    }
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await?;
    // The server answers the close frame, then ends the connection.
    while let Some(message) = ws.next().await {
        if let Message::Close(frame) = message? {
            println!("closed by the server: {frame:?}");
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ main ---

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 9001));
    let (mut tls, mut url, mut ca) = (false, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--tls" => tls = true,
            "--connect" => url = Some(value()?),
            "--ca" => ca = Some(PathBuf::from(value()?)),
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    match url {
        Some(url) => connect(&url, ca).await,
        None => serve(listen, tls).await,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
