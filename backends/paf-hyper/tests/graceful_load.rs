//! Graceful stop under load: 200 clients (each a `paf_hyper::Client` with
//! its own pool) keep sending requests on kept-alive HTTP/1.1 connections
//! while the server is replaced five times, as in a rolling restart: a new
//! server starts, new connections go to it, and the old one is stopped
//! gracefully. Every request the handler accepted must reach its client
//! whole, no response may be cut short, connections made to a stopped
//! server are refused, and no request may fail: one written onto a
//! kept-alive connection the stopping server was closing goes again on a
//! fresh connection (RFC 9110 §9.2.2), which reaches the new server.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use http::{Request, Response, StatusCode};
use paf_core::{
    ctx::{BoxIo, Transport},
    Body, BoxFuture, Ctx,
};
use paf_hyper::{Running, Server};
use tokio::{net::TcpStream, time::timeout};

const CLIENTS: usize = 200;
const STOPS: usize = 5;
/// Every response body is this long, so a cut one shows.
const BODY_LEN: usize = 16 * 1024;
/// How long the clients run before each stop. More than a second: the
/// clients of a stopped server reconnect all at once, past the new
/// listener's backlog of 128, and a dropped SYN is sent again a second
/// later; a server stopped before that would refuse it.
const LOAD: Duration = Duration::from_millis(1500);
const GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Counts {
    /// Requests the handler was called for.
    accepted: AtomicU64,
    /// Responses that came with status 200 and the whole body.
    complete: AtomicU64,
    /// Responses whose body was cut or wrong.
    broken: AtomicU64,
    /// Requests that failed, by the number of stops before the failure.
    failed: [AtomicU64; STOPS + 1],
    /// The first few failures, for the message.
    failures: Mutex<Vec<String>>,
}

/// Where the test is.
#[derive(Default)]
struct Phase {
    /// How many clients have had their first response.
    started: AtomicUsize,
    /// How many stops were asked for so far.
    stops: AtomicUsize,
    /// The clients are to finish.
    done: AtomicBool,
}

/// The service's address as the clients find it: the server that runs
/// now. A new connection goes wherever it points at that moment.
#[derive(Clone)]
struct Current(Arc<Mutex<SocketAddr>>);

impl Transport for Current {
    type Endpoint = String;

    fn connect(&self, _service: &String) -> BoxFuture<'static, std::io::Result<BoxIo>> {
        let addr = *self.0.lock().unwrap();
        Box::pin(async move {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            Ok(Box::new(tcp) as BoxIo)
        })
    }
}

/// One client: requests one after another on its own client's kept-alive
/// connections, until told to finish.
async fn client(ctx: Ctx, counts: Arc<Counts>, phase: Arc<Phase>, id: usize) {
    let client = paf_hyper::Client::builder().ctx(ctx).build();
    let mut n = 0u64;
    while !phase.done.load(Ordering::SeqCst) {
        n += 1;
        let stops = phase.stops.load(Ordering::SeqCst);
        let response = match client.get(&format!("http://svc/client/{id}/{n}")).await {
            Ok(response) => response,
            Err(e) => {
                counts.failed[stops].fetch_add(1, Ordering::SeqCst);
                let mut failures = counts.failures.lock().unwrap();
                if failures.len() < 10 {
                    failures.push(format!("{e:?}"));
                }
                continue;
            }
        };
        let status = response.status();
        match response.into_body().to_bytes(BODY_LEN).await {
            Ok(body) if status == StatusCode::OK && body.len() == BODY_LEN => {
                counts.complete.fetch_add(1, Ordering::SeqCst);
                if n == 1 {
                    phase.started.fetch_add(1, Ordering::SeqCst);
                }
            }
            _ => {
                counts.broken.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

async fn serve(counts: Arc<Counts>) -> Running {
    let server = Server::new(move |req: Request<Body>| {
        let counts = counts.clone();
        async move {
            counts.accepted.fetch_add(1, Ordering::SeqCst);
            // Some work, so that requests are in flight when the stop comes.
            let spread = req.uri().path().len() as u64 % 7;
            tokio::time::sleep(Duration::from_millis(2 + spread * 3)).await;
            Response::new(Body::from(vec![b'x'; BODY_LEN]))
        }
    });
    server.bind_tcp(([127, 0, 0, 1], 0).into()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restarts_under_load_lose_no_request() {
    let counts = Arc::new(Counts::default());
    let phase = Arc::new(Phase::default());
    let mut running = serve(counts.clone()).await;
    let current = Current(Arc::new(Mutex::new(running.local_addr().unwrap())));
    let ctx = Ctx::new()
        .with_transport("current", current.clone())
        .with_user_endpoint("current", "svc".to_string());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(client(ctx.clone(), counts.clone(), phase.clone(), id)))
        .collect();

    // 200 connections at once overflow the accept queue (see `LOAD`). The
    // stops start once every client is in.
    timeout(GRACE * 2, async {
        while phase.started.load(Ordering::SeqCst) < CLIENTS {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every client gets a first response");

    let mut before_stops = Vec::new();
    for stop in 1..=STOPS {
        tokio::time::sleep(LOAD).await;
        before_stops.push(counts.complete.load(Ordering::SeqCst));
        // The new server first, then the old one stops: its kept-alive
        // connections are what the clients lose.
        let next = serve(counts.clone()).await;
        *current.0.lock().unwrap() = next.local_addr().unwrap();
        let stopping = std::mem::replace(&mut running, next);
        let old = stopping.local_addr().unwrap();
        phase.stops.store(stop, Ordering::SeqCst);
        stopping.stop_handle().stop(GRACE);
        let drained = tokio::spawn(stopping.wait());
        // The listener closes right after the stop.
        timeout(GRACE, async {
            while TcpStream::connect(old).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("connections are refused soon after the stop");
        timeout(GRACE * 2, drained).await.unwrap().unwrap();
    }
    tokio::time::sleep(LOAD).await;
    phase.done.store(true, Ordering::SeqCst);
    for client in clients {
        timeout(GRACE, client).await.unwrap().unwrap();
    }
    running.stop(Duration::from_secs(1)).await;

    let accepted = counts.accepted.load(Ordering::SeqCst);
    let complete = counts.complete.load(Ordering::SeqCst);
    let failed: Vec<u64> = counts.failed[1..]
        .iter()
        .map(|n| n.load(Ordering::SeqCst))
        .collect();
    println!(
        "{CLIENTS} clients, {STOPS} stops: {accepted} requests accepted, {complete} complete \
         (before each stop: {before_stops:?}), failed after each stop: {failed:?}"
    );
    let failures = counts.failures.lock().unwrap().clone();
    assert!(
        before_stops[0] > CLIENTS as u64,
        "too little load: {before_stops:?}"
    );
    assert_eq!(counts.broken.load(Ordering::SeqCst), 0, "cut responses");
    assert_eq!(accepted, complete, "accepted requests lost");
    assert_eq!(
        counts.failed[0].load(Ordering::SeqCst),
        0,
        "failures before any stop: {failures:?}"
    );
    assert_eq!(
        failed.iter().sum::<u64>(),
        0,
        "failed requests: {failures:?}"
    );
}
