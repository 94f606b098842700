//! CoHTTP's `Server.create ?stop ~mode` and a callback answering `Err`,
//! on real sockets: `Server::create` over TCP, TLS and a Unix socket, its
//! stop future, dropping it, a listener that cannot be set up; and a
//! client whose context `map_context` changed.
#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used)]

mod common;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

use common::{within, TestCert, ALPN};
use paf_compat::client::Call;
use paf_compat::code::Status;
use paf_compat::paf_core::ctx::Endpoint;
use paf_compat::server::{self, Conn, Mode, Server};
use paf_compat::{Body, Client, Ctx, Error, Request, Response};
use tokio::sync::oneshot;

/// Answers its resource; `/fail` fails with an error.
fn server() -> Server {
    Server::make(|_: Conn, req: Request, _: Body| async move {
        match req.resource() {
            "/fail" => Err("the database is down".to_owned()),
            other => Ok(server::respond_string(
                Status::Ok,
                format!("at {other}"),
                None,
            )),
        }
    })
}

/// A loopback address with a port free a moment ago.
fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// GETs `url` until the server answers (it binds in a spawned task).
async fn get_when_up(client: &Client, url: &str) -> (Response, String) {
    within("the server to answer", async {
        loop {
            match client.get(url).await {
                Ok((res, body)) => return (res, body.to_string().await.unwrap()),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
}

async fn refused(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn a_callback_err_answers_cohttps_500_and_the_next_request_is_served() {
    let running = server()
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = running.url().unwrap();
    let client = Client::new();
    let (res, body) = within("fail", text(client.get(format!("{base}/fail")))).await;
    assert_eq!(res.status(), Status::InternalServerError);
    assert_eq!(res.headers().get("content-length"), Some("28"));
    assert_eq!(body, "Error: Internal Server Error");
    let (res, body) = within("ok", text(client.get(format!("{base}/ok")))).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(body, "at /ok");
    running.stop(Duration::from_secs(1)).await;
}

/// A named `async fn` answering `Result<_, paf_compat::Error>` with `?`.
#[tokio::test]
async fn an_async_fn_callback_can_use_the_question_mark() {
    async fn upper(_: Conn, _: Request, body: Body) -> Result<(Response, Body), Error> {
        let text = body.to_string().await?;
        Ok(server::respond_string(
            Status::Ok,
            text.to_uppercase(),
            None,
        ))
    }
    let running = Server::make(upper)
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = running.url().unwrap();
    let client = Client::new();
    let (res, body) = within("post", async {
        let (res, body) = client.post(&base).body("shout").await.unwrap();
        (res, body.to_string().await.unwrap())
    })
    .await;
    assert_eq!((res.status(), body.as_str()), (Status::Ok, "SHOUT"));
    // Bytes that are not UTF-8 make `to_string` fail, hence a 500.
    let (res, body) = within("post bytes", async {
        let (res, body) = client
            .post(&base)
            .body(Body::of_bytes(&b"\xff"[..]))
            .await
            .unwrap();
        (res, body.to_string().await.unwrap())
    })
    .await;
    assert_eq!(res.status(), Status::InternalServerError);
    assert_eq!(body, "Error: Internal Server Error");
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn create_serves_until_its_stop_future_resolves() {
    let addr = free_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(
        Server::create(Mode::Tcp(addr), server())
            .stop(async {
                stopped.await.ok();
            })
            .grace(Duration::from_secs(1))
            .into_future(),
    );
    let (res, body) = get_when_up(&Client::new(), &format!("http://{addr}/up")).await;
    assert_eq!((res.status(), body.as_str()), (Status::Ok, "at /up"));
    assert!(!serving.is_finished(), "create runs until stopped");

    stop.send(()).unwrap();
    within("create to return after its stop", serving)
        .await
        .unwrap()
        .unwrap();
    assert!(refused(addr).await, "the listener is closed");
}

#[tokio::test]
async fn dropping_the_create_future_stops_the_server() {
    let addr = free_addr();
    let serving = tokio::spawn(Server::create(Mode::Tcp(addr), server()).into_future());
    get_when_up(&Client::new(), &format!("http://{addr}/up")).await;
    serving.abort();
    within("the listener to close", async {
        while !refused(addr).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn create_on_an_address_in_use_fails_at_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = within(
        "create",
        Server::create(Mode::Tcp(addr), server()).into_future(),
    )
    .await
    .unwrap_err();
    assert!(err.as_http().is_some(), "{err:?}");
    assert!(
        err.to_string().contains(&addr.to_string())
            || format!("{err:?}").contains(&addr.to_string()),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_in_tls_mode_serves_https() {
    let cert = TestCert::localhost();
    let addr = free_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(
        Server::create(Mode::Tls(addr, cert.server_config(ALPN)), server())
            .stop(async {
                stopped.await.ok();
            })
            .into_future(),
    );
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let client = Client::builder().ctx(ctx).build().unwrap();
    let url = format!("https://localhost:{}/secure", addr.port());
    let (res, body) = get_when_up(&client, &url).await;
    assert_eq!((res.status(), body.as_str()), (Status::Ok, "at /secure"));
    stop.send(()).unwrap();
    within("create to return", serving).await.unwrap().unwrap();
}

/// `Unix_domain_socket`, reached by a client whose `map_context` routes the
/// host to the socket.
#[cfg(unix)]
#[tokio::test]
async fn create_on_a_unix_socket_reached_through_map_context() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("create.sock");
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(
        Server::create(Mode::UnixDomainSocket(sock.clone()), server())
            .stop(async {
                stopped.await.ok();
            })
            .into_future(),
    );
    let plain = Client::new();
    assert!(plain.context().is_none());
    let client = plain.map_context(|ctx| ctx.route("app.local", Endpoint::Unix(sock.clone())));
    assert!(client.context().is_some());
    let (res, body) = get_when_up(&client, "http://app.local/over-unix").await;
    assert_eq!((res.status(), body.as_str()), (Status::Ok, "at /over-unix"));
    // The client it came from is unchanged: no route to the socket.
    let err = within("plain", failure(plain.get("http://app.local/"))).await;
    assert!(err.as_http().is_some_and(|e| e.is_connect()), "{err:?}");

    stop.send(()).unwrap();
    within("create to return", serving).await.unwrap().unwrap();
    assert!(!sock.exists(), "the socket file is removed on stop");
}

/// `map_context` starts from the builder's context and is applied on top.
#[tokio::test]
async fn map_context_transforms_the_builders_context() {
    let running = server()
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = running.local_addr().unwrap();
    let base = Client::builder()
        .ctx(Ctx::new().route("first.test", Endpoint::TcpAddr(addr)))
        .build()
        .unwrap();
    let both = base.map_context(|ctx| ctx.route("second.test", Endpoint::TcpAddr(addr)));
    for host in ["first.test", "second.test"] {
        let (res, body) = within(host, text(both.get(format!("http://{host}/x")))).await;
        assert_eq!(
            (res.status(), body.as_str()),
            (Status::Ok, "at /x"),
            "{host}"
        );
    }
    running.stop(Duration::from_secs(1)).await;
}

/// Awaits a call and reads its body, failing the test on an error.
async fn text(call: Call) -> (Response, String) {
    let (res, body) = call.await.unwrap();
    (res, body.to_string().await.unwrap())
}

/// Awaits a call that must fail.
async fn failure(call: Call) -> Error {
    call.await.unwrap_err()
}
