//! A server fed by a listener of the user's (`Server::serve`): in-memory
//! pipes instead of the kernel's sockets, served with TLS and ALPN, hooks,
//! and the graceful stop, as `bind_tcp` serves TCP.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::{router, within};
use paf_core::{
    ctx::{BoxIo, Ctx, Transport},
    server::{ConnInfo, ConnectionEnd, ConnectionHook, Listener, PeerAddr},
    BoxFuture,
};
use paf_hyper::{Client, Server};
use paf_testkit::TestCert;
use tokio::{io::DuplexStream, sync::mpsc};

/// Connections made in this process: the client's transport keeps one end,
/// the listener yields the other.
struct Pipes {
    incoming: mpsc::Receiver<io::Result<DuplexStream>>,
}

impl Listener for Pipes {
    type Io = DuplexStream;

    async fn accept(&mut self) -> io::Result<(DuplexStream, PeerAddr)> {
        match self.incoming.recv().await {
            Some(Ok(io)) => Ok((io, PeerAddr::Other("pipe".into()))),
            Some(Err(e)) => Err(e),
            None => std::future::pending().await,
        }
    }
}

/// The client's side: each connect makes a pipe and hands its other end to
/// the listener, and fails once the listener is gone (the server stopped).
#[derive(Clone)]
struct Dialer {
    to_listener: mpsc::Sender<io::Result<DuplexStream>>,
}

impl Transport for Dialer {
    type Endpoint = ();

    fn connect(&self, _: &()) -> BoxFuture<'static, io::Result<BoxIo>> {
        let to_listener = self.to_listener.clone();
        Box::pin(async move {
            let (client_end, server_end) = tokio::io::duplex(256 * 1024);
            to_listener.send(Ok(server_end)).await.map_err(|_| {
                io::Error::new(io::ErrorKind::ConnectionRefused, "the listener is closed")
            })?;
            Ok(Box::new(client_end) as BoxIo)
        })
    }
}

fn pipes() -> (Pipes, Dialer) {
    let (to_listener, incoming) = mpsc::channel(16);
    (Pipes { incoming }, Dialer { to_listener })
}

#[derive(Default, Clone)]
struct Counts {
    started: Arc<AtomicU64>,
    ended: Arc<AtomicU64>,
}

impl ConnectionHook for Counts {
    fn started(&self, _: &ConnInfo) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }
    fn ended(&self, _: &ConnInfo, _: &ConnectionEnd) {
        self.ended.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_user_listener_is_served_with_tls_alpn_and_hooks() {
    let cert = TestCert::localhost();
    let counts = Counts::default();
    let server = Server::builder()
        .tls(cert.server_config(&[b"h2", b"http/1.1"]))
        .connection_hook(counts.clone())
        .build(router);
    let (listener, dialer) = pipes();
    let running = server.serve(listener);
    assert_eq!(running.local_addr(), None);
    assert_eq!(running.url(), None);

    let ctx = Ctx::new()
        .with_transport("pipes", dialer)
        .with_user_endpoint("pipes", ())
        .with_ca_pem(cert.cert_pem.as_bytes())
        .unwrap();
    let client = Client::builder().ctx(ctx).build();
    let res = within(10, client.get("https://localhost/version"))
        .await
        .unwrap();
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "HTTP/2.0");
    let res = within(10, client.get("https://localhost/peer"))
        .await
        .unwrap();
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "pipe");
    assert_eq!(
        counts.started.load(Ordering::SeqCst),
        1,
        "one h2 connection"
    );

    within(10, running.stop(Duration::from_secs(2))).await;
    assert_eq!(counts.ended.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn stopping_finishes_requests_in_flight_then_drops_the_listener() {
    let (listener, dialer) = pipes();
    let running = Server::new(router).serve(listener);
    let ctx = Ctx::new()
        .with_transport("pipes", dialer.clone())
        .with_user_endpoint("pipes", ());
    let client = Client::builder().ctx(ctx).build();

    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.get("http://service/sleep/300").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = Instant::now();
    within(10, running.stop(Duration::from_secs(5))).await;
    assert!(stopping.elapsed() < Duration::from_secs(4));
    let res = within(10, slow).await.unwrap().unwrap();
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "slept");

    // The listener was dropped: a new connection is refused at once.
    let err = within(10, client.get("http://service/")).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(dialer.to_listener.is_closed());
}

#[tokio::test]
async fn accept_errors_do_not_stop_the_server() {
    let (listener, dialer) = pipes();
    let running = Server::new(router).serve(listener);
    // One error about a single connection (skipped at once), one about the
    // listener (a short pause), then connections again.
    for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::OutOfMemory] {
        dialer
            .to_listener
            .send(Err(io::Error::new(kind, "injected")))
            .await
            .unwrap();
    }
    let ctx = Ctx::new()
        .with_transport("pipes", dialer)
        .with_user_endpoint("pipes", ());
    let client = Client::builder().ctx(ctx).build();
    let res = within(10, client.get("http://service/")).await.unwrap();
    assert_eq!(res.into_body().to_string(64).await.unwrap(), "hello");
    within(10, running.stop(Duration::from_secs(1))).await;
}
