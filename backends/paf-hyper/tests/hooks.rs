//! The connection hook: every connection that starts ends exactly once, and
//! the hook is told how: closed, idle, shed, stopped, aborted or failed.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use http::{Request, Response};
use paf_core::{
    server::{ConnInfo, ConnectionEnd, ConnectionHook},
    Body,
};
use paf_hyper::{Running, Server, ServerBuilder};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

const LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Started(u64),
    Ended(u64, ConnectionEnd),
}

#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl ConnectionHook for Recorder {
    fn started(&self, conn: &ConnInfo) {
        self.0.lock().unwrap().push(Event::Started(conn.id));
    }

    fn ended(&self, conn: &ConnInfo, how: &ConnectionEnd) {
        self.0
            .lock()
            .unwrap()
            .push(Event::Ended(conn.id, how.clone()));
    }
}

impl Recorder {
    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until `n` connections have ended; their ends, by id.
    async fn ended(&self, n: usize) -> Vec<(u64, ConnectionEnd)> {
        timeout(LIMIT, async {
            loop {
                let ended: Vec<_> = self
                    .events()
                    .into_iter()
                    .filter_map(|e| match e {
                        Event::Ended(id, how) => Some((id, how)),
                        Event::Started(_) => None,
                    })
                    .collect();
                if ended.len() >= n {
                    return ended;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the connections should end")
    }
}

/// `/slow` answers after 2 s; anything else answers with the connection id
/// the request carries.
async fn handler(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let id = ConnInfo::of(&req).map(|c| c.id).unwrap_or(u64::MAX);
    Response::new(Body::from(id.to_string()))
}

async fn start(builder: ServerBuilder) -> (Running, Recorder) {
    let recorder = Recorder::default();
    let running = builder
        .connection_hook(recorder.clone())
        .build(handler)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    (running, recorder)
}

async fn request(stream: &mut TcpStream, path: &str) -> String {
    let head = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = timeout(LIMIT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn a_connection_closed_by_its_client_ends_closed_with_the_id_its_requests_carry() {
    let (running, hooks) = start(Server::builder()).await;
    let mut stream = TcpStream::connect(running.local_addr().unwrap())
        .await
        .unwrap();
    let answer = request(&mut stream, "/").await;
    drop(stream);
    let ended = hooks.ended(1).await;
    let Event::Started(id) = hooks.events()[0] else {
        panic!("{:?}", hooks.events());
    };
    assert!(answer.ends_with(&format!("\r\n\r\n{id}")), "{answer:?}");
    assert_eq!(ended, [(id, ConnectionEnd::Closed)]);
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn idle_shed_stopped_and_aborted_connections_are_told_apart() {
    let (running, hooks) = start(
        Server::builder()
            .idle_timeout(Duration::from_millis(300))
            .max_connections(2),
    )
    .await;
    let addr = running.local_addr().unwrap();
    // Idle: one request, then nothing for longer than the idle timeout.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    request(&mut idle, "/").await;
    assert_eq!(hooks.ended(1).await[0].1, ConnectionEnd::Idle);

    // Shed: two idle keep-alive connections fill the limit; a third one
    // makes the older go.
    let mut older = TcpStream::connect(addr).await.unwrap();
    let older_id: u64 = request(&mut older, "/")
        .await
        .rsplit("\r\n")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut younger = TcpStream::connect(addr).await.unwrap();
    request(&mut younger, "/").await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    request(&mut third, "/").await;
    let ended = hooks.ended(2).await;
    assert_eq!(ended[1], (older_id, ConnectionEnd::Shed));

    // Stopped and aborted: one connection idle, one in a slow request, and a
    // stop whose grace is shorter than the request.
    drop(younger);
    hooks.ended(3).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.stop(Duration::from_millis(300)).await;
    let ended = hooks.ended(5).await;
    let tail: Vec<_> = ended[3..].iter().map(|(_, how)| how.clone()).collect();
    assert!(tail.contains(&ConnectionEnd::Stopped), "{ended:?}");
    assert!(tail.contains(&ConnectionEnd::Aborted), "{ended:?}");
    // Every connection that started ended exactly once.
    let events = hooks.events();
    let started = events
        .iter()
        .filter(|e| matches!(e, Event::Started(_)))
        .count();
    assert_eq!(started, 5, "{events:?}");
    assert_eq!(ended.len(), 5, "{events:?}");
    drop((idle, third));
}

#[tokio::test]
async fn a_connection_that_sends_garbage_ends_failed() {
    let (running, hooks) = start(Server::builder()).await;
    let mut stream = TcpStream::connect(running.local_addr().unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"NOT\x01HTTP AT ALL\r\n\r\n")
        .await
        .unwrap();
    let ended = hooks.ended(1).await;
    assert!(
        matches!(&ended[0].1, ConnectionEnd::Failed { reason } if !reason.is_empty()),
        "{ended:?}"
    );
    running.stop(Duration::from_secs(1)).await;
}
