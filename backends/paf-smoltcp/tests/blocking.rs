//! paf's blocking client (ureq) over the stack's blocking transport: the
//! stacks and the server run on a background runtime, the client in plain
//! blocking code on the test's thread.
#![allow(clippy::unwrap_used)]

mod common;

use std::{net::SocketAddr, sync::OnceLock, time::Duration};

use common::*;
use http::{Method, Request, StatusCode};
use paf_core::blocking::{Body, Client as _};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

#[test]
fn ureq_reaches_a_paf_server_on_the_other_stack() {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let served = runtime().block_on(async { serve_plain(80) });
    let client = paf_ureq::Client::builder().ctx(served.ctx.clone()).build();

    let response = client.get("http://10.0.0.1/").unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body().read_to_string(64).unwrap(), "hello");

    // A body larger than the socket buffers, both ways.
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut request = Request::new(Body::full(data.clone()));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = "http://10.0.0.1/echo".parse().unwrap();
    let response = client.send(request).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = response.into_body().read_to_bytes(8 << 20).unwrap();
    assert!(echoed[..] == data[..], "{} bytes came back", echoed.len());

    // The connection was kept alive and is reused.
    let first = client.get("http://10.0.0.1/peer").unwrap();
    let first = first.into_body().read_to_string(64).unwrap();
    let second = client.get("http://10.0.0.1/peer").unwrap();
    assert_eq!(second.into_body().read_to_string(64).unwrap(), first);

    runtime().block_on(served.stop());
}

#[test]
fn ureq_to_a_closed_port_is_a_connect_error() {
    // The server stack is up, with nothing listening on port 80.
    let (_server_stack, client_stack) = runtime().block_on(async { stacks() });
    let nobody = SocketAddr::from((SERVER_IP, 80));
    let client = paf_ureq::Client::builder()
        .ctx(ctx_to(&client_stack, nobody))
        .connect_timeout(Duration::from_secs(2))
        .build();
    let err = client.get("http://10.0.0.1/").unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}
