//! CoHTTP's `` `Expert `` answers as connection upgrades: a callback
//! answers `101` (or `200` to CONNECT) and takes the connection over; the
//! paf-compat client takes over the connection a `101` arrived on. The
//! protocol spoken after the switch is paf-testkit's small echo: every
//! byte comes back in upper case.
#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use paf_compat::client::Upgrade;
use paf_compat::code::Status;
use paf_compat::server::{self, Conn, Expert, ResponseAction, Running, Server};
use paf_compat::{code::Method, Body, Client, Header, Request, Response};
use paf_testkit::{read_head, round_trip, upper_echo};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

/// `make_response_action`: `/echo` with `upgrade: echo` switches,
/// `/wrong` answers an `Expert` with `200` (which cannot switch),
/// anything else is an ordinary answer.
async fn start(ran: Arc<AtomicBool>) -> Running {
    let server = Server::make_response_action(move |_: Conn, req: Request, _: Body| {
        let ran = ran.clone();
        async move {
            match (req.resource(), req.headers().get("upgrade")) {
                ("/echo", Some("echo")) => {
                    server::respond_upgrade(Some(Header::init_with("upgrade", "echo")), upper_echo)
                }
                ("/wrong", _) => {
                    let res = Response::builder().status(Status::Ok).build();
                    let expert =
                        Expert::new(move |_| async move { ran.store(true, Ordering::SeqCst) });
                    ResponseAction::Expert(res, expert)
                }
                _ => server::respond_string(Status::Ok, "plain HTTP", None).into(),
            }
        }
    });
    server
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn respond_upgrade_writes_101_then_hands_the_connection_over() {
    let running = start(Arc::default()).await;
    let mut stream = TcpStream::connect(running.local_addr().unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nhost: x\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await.to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 101 switching protocols\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nupgrade: echo\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: upgrade\r\n"), "{head}");
    // A 101 carries no body, so no framing either.
    assert!(
        !head.contains("content-length") && !head.contains("transfer-encoding"),
        "{head}"
    );
    assert_eq!(round_trip(&mut stream, b"raw bytes").await, b"RAW BYTES");
    assert_eq!(round_trip(&mut stream, b"and more").await, b"AND MORE");
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_client_takes_over_the_connection_a_101_came_on() {
    let running = start(Arc::default()).await;
    let client = Client::new();
    let headers = Header::of_list([("upgrade", "echo"), ("connection", "upgrade")]);
    let url = format!("{}/echo", running.url().unwrap());
    let (res, upgrade) = timeout(LIMIT, client.get(url).headers(headers).upgrade())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), Status::SwitchingProtocols);
    assert_eq!(res.headers().get("upgrade"), Some("echo"));
    let Upgrade::Switched(mut stream) = upgrade else {
        panic!("not switched: {upgrade:?}");
    };
    assert_eq!(
        round_trip(&mut stream, b"over paf-compat").await,
        b"OVER PAF-COMPAT"
    );
    // The client still serves ordinary calls, on another connection.
    let (_, body) = client.get(running.url().unwrap()).await.unwrap();
    assert_eq!(body.to_string().await.unwrap(), "plain HTTP");
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_answer_that_does_not_switch_is_refused_with_its_body() {
    let running = start(Arc::default()).await;
    // The server ignores an upgrade it does not know and answers 200.
    let headers = Header::of_list([("upgrade", "other"), ("connection", "upgrade")]);
    let url = format!("{}/echo", running.url().unwrap());
    let (res, upgrade) = Client::new()
        .get(url)
        .headers(headers)
        .upgrade()
        .await
        .unwrap();
    assert_eq!(res.status(), Status::Ok);
    let Upgrade::Refused(body) = upgrade else {
        panic!("switched on a 200");
    };
    assert_eq!(body.to_string().await.unwrap(), "plain HTTP");
    running.stop(Duration::from_secs(1)).await;
}

/// CoHTTP would write the 200 and hand the raw channels over; hyper cannot,
/// so the callback's mistake is a 500 and the function never runs.
#[tokio::test]
async fn an_expert_answer_that_does_not_switch_is_a_500() {
    let ran = Arc::new(AtomicBool::new(false));
    let running = start(ran.clone()).await;
    let (res, body) = Client::new()
        .get(format!("{}/wrong", running.url().unwrap()))
        .await
        .unwrap();
    assert_eq!(res.status(), Status::InternalServerError);
    assert_eq!(
        body.to_string().await.unwrap(),
        "Error: Internal Server Error"
    );
    // A 101 to a request that asked for no upgrade cannot switch either.
    let plain = Server::make_expert(|_: Conn, _: Request, _: Body| async {
        let res = Response::builder()
            .status(Status::SwitchingProtocols)
            .build();
        (res, Expert::new(upper_echo))
    });
    let plain = plain
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (res, _) = Client::new().get(plain.url().unwrap()).await.unwrap();
    assert_eq!(res.status(), Status::InternalServerError);
    assert!(!ran.load(Ordering::SeqCst), "the Expert function ran");
    plain.stop(Duration::from_secs(1)).await;
    running.stop(Duration::from_secs(1)).await;
}

/// `make_expert` answering `200` to CONNECT: a tunnel, CoHTTP's other use
/// of `` `Expert ``.
#[tokio::test]
async fn make_expert_answers_connect_with_a_tunnel() {
    let server = Server::make_expert(|_: Conn, req: Request, _: Body| async move {
        assert_eq!(req.meth(), &Method::Connect);
        let res = Response::builder().status(Status::Ok).build();
        Ok::<_, paf_compat::Error>((res, Expert::new(upper_echo)))
    });
    let running = server
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = running.local_addr().unwrap();

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"CONNECT example.org:443 HTTP/1.1\r\nhost: example.org:443\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    assert_eq!(round_trip(&mut stream, b"tunnelled").await, b"TUNNELLED");

    running.stop(Duration::from_secs(1)).await;
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn upgrading_on_reqwest_is_unsupported() {
    let running = start(Arc::default()).await;
    let client = Client::with_backend(paf_compat::Backend::Reqwest).unwrap();
    let headers = Header::of_list([("upgrade", "echo"), ("connection", "upgrade")]);
    let err = client
        .get(format!("{}/echo", running.url().unwrap()))
        .headers(headers)
        .upgrade()
        .await
        .unwrap_err();
    match err {
        paf_compat::Error::Http(e) => assert!(e.is_unsupported(), "{e}"),
        other => panic!("not Unsupported: {other}"),
    }
    running.stop(Duration::from_secs(1)).await;
}
