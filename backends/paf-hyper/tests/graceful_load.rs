//! Graceful stop under load: 200 clients keep sending requests on kept-alive
//! HTTP/1.1 connections (raw hyper client connections) while the server is
//! stopped. Every request the handler accepted must reach its client whole,
//! no response may be cut short, and connections made after the stop are
//! refused.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use paf_core::Body;
use paf_hyper::Server;
use tokio::{net::TcpStream, time::timeout};

const CLIENTS: usize = 200;
/// Every response body is this long, so a cut one shows.
const BODY_LEN: usize = 16 * 1024;
/// How long the clients run before the stop.
const LOAD: Duration = Duration::from_millis(700);
const GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Counts {
    /// Requests the handler was called for.
    accepted: AtomicU64,
    /// Responses that came with status 200 and the whole body.
    complete: AtomicU64,
    /// Responses whose body was cut or wrong.
    broken: AtomicU64,
    /// Requests that got no response: sent on a connection the server was
    /// closing (it never saw them), or refused connections.
    unanswered: AtomicU64,
    /// Connections refused after the stop.
    refused_after_stop: AtomicU64,
    /// Connections accepted after the listener should have been closed.
    accepted_after_stop: AtomicU64,
}

/// Where the test is.
#[derive(Default)]
struct Phase {
    stop_called: AtomicBool,
    /// A connection attempt was refused after the stop.
    listener_closed: AtomicBool,
}

/// One client: a kept-alive connection, requests one after another; a new
/// connection when the server closes one; done once connecting fails after
/// the stop.
async fn client(addr: SocketAddr, counts: Arc<Counts>, phase: Arc<Phase>, id: usize) {
    let mut n = 0u64;
    loop {
        let was_closed = phase.listener_closed.load(Ordering::SeqCst);
        let tcp = match TcpStream::connect(addr).await {
            Ok(tcp) => tcp,
            Err(e) => {
                assert!(
                    phase.stop_called.load(Ordering::SeqCst),
                    "connect failed before the stop: {e}"
                );
                // A connect caught in the backlog as the listener closed
                // is reset rather than refused.
                assert!(
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                    ),
                    "{e}"
                );
                counts.refused_after_stop.fetch_add(1, Ordering::SeqCst);
                return;
            }
        };
        if was_closed {
            // The listener was already closed: this must not connect.
            counts.accepted_after_stop.fetch_add(1, Ordering::SeqCst);
        }
        let Ok((mut send, conn)) = http1::handshake(TokioIo::new(tcp)).await else {
            continue;
        };
        tokio::spawn(conn);
        loop {
            if send.ready().await.is_err() {
                break;
            }
            n += 1;
            let request = Request::get(format!("/client/{id}/{n}"))
                .header("host", "localhost")
                .body(String::new())
                .unwrap();
            let response = match send.send_request(request).await {
                Ok(response) => response,
                Err(_) => {
                    counts.unanswered.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            };
            let status = response.status();
            let body = response.into_body().collect().await.map(|b| b.to_bytes());
            match body {
                Ok(body) if status == StatusCode::OK && body.len() == BODY_LEN => {
                    counts.complete.fetch_add(1, Ordering::SeqCst);
                }
                _ => {
                    counts.broken.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_under_load_loses_no_accepted_request() {
    let counts = Arc::new(Counts::default());
    let seen = counts.clone();
    let server = Server::new(move |req: Request<Body>| {
        let seen = seen.clone();
        async move {
            seen.accepted.fetch_add(1, Ordering::SeqCst);
            // Some work, so that requests are in flight when the stop comes.
            let spread = req.uri().path().len() as u64 % 7;
            tokio::time::sleep(Duration::from_millis(2 + spread * 3)).await;
            Response::new(Body::from(vec![b'x'; BODY_LEN]))
        }
    });
    let running = server.bind_tcp(([127, 0, 0, 1], 0).into()).await.unwrap();
    let addr = running.local_addr().unwrap();
    let phase = Arc::new(Phase::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(client(addr, counts.clone(), phase.clone(), id)))
        .collect();

    tokio::time::sleep(LOAD).await;
    let before_stop = counts.complete.load(Ordering::SeqCst);
    let handle = running.stop_handle();
    phase.stop_called.store(true, Ordering::SeqCst);
    handle.stop(GRACE);
    let stopping = tokio::spawn(running.wait());
    // The listener closes right after the stop: once a probe is refused,
    // every later connection attempt of the clients must be too.
    timeout(GRACE, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("connections are refused soon after the stop");
    phase.listener_closed.store(true, Ordering::SeqCst);

    timeout(GRACE * 2, stopping).await.unwrap().unwrap();
    for client in clients {
        timeout(GRACE, client).await.unwrap().unwrap();
    }

    let accepted = counts.accepted.load(Ordering::SeqCst);
    let complete = counts.complete.load(Ordering::SeqCst);
    println!(
        "{CLIENTS} clients: {accepted} requests accepted, {complete} complete \
         ({before_stop} before the stop), {} unanswered (never accepted), \
         {} connections refused after the stop",
        counts.unanswered.load(Ordering::SeqCst),
        counts.refused_after_stop.load(Ordering::SeqCst),
    );
    assert!(
        before_stop > CLIENTS as u64,
        "too little load: {before_stop}"
    );
    assert_eq!(counts.broken.load(Ordering::SeqCst), 0, "cut responses");
    assert_eq!(accepted, complete, "accepted requests lost");
    assert_eq!(
        counts.refused_after_stop.load(Ordering::SeqCst),
        CLIENTS as u64,
        "every client ends on a refused connection"
    );
    assert_eq!(counts.accepted_after_stop.load(Ordering::SeqCst), 0);
}
