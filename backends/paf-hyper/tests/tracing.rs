//! The server's tracing: a `connection` span per connection, a `request`
//! span in it per request, one `debug` access event per request on
//! `paf_hyper::server::access`, nothing per request at `info`; and the
//! access log's Combined Log Format lines.
//!
//! Each test installs its subscriber as the thread's default and runs on a
//! current-thread runtime: the server's tasks (hyper's HTTP/2 streams
//! included) are polled on the test's thread, so they see it.

// Test code: a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{router, within};
use http::{Request, Response};
use paf_core::{ctx::Endpoint, Body, Ctx};
use paf_hyper::{
    server::{AccessRecord, ServerBuilder},
    Client, Running,
};
use paf_testkit::TestCert;
use tracing::{
    field::{Field, Visit},
    span::{Attributes, Id, Record},
    Event, Level, Subscriber,
};
use tracing_subscriber::{
    filter::LevelFilter, layer::Context, prelude::*, registry::LookupSpan, Layer,
};

/// A span as the subscriber saw it: its fields as recorded so far.
#[derive(Clone, Debug)]
struct SpanSeen {
    id: u64,
    name: &'static str,
    target: String,
    level: Level,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
struct EventSeen {
    target: String,
    level: Level,
    /// The span it happened in (explicit or current), by name and id.
    span: Option<(&'static str, u64)>,
    fields: BTreeMap<String, String>,
}

impl EventSeen {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

impl SpanSeen {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Seen {
    spans: Vec<SpanSeen>,
    events: Vec<EventSeen>,
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Seen>>);

impl Captured {
    fn spans(&self, name: &str) -> Vec<SpanSeen> {
        let seen = self.0.lock().unwrap();
        seen.spans
            .iter()
            .filter(|s| s.name == name && s.target.starts_with("paf_hyper::server"))
            .cloned()
            .collect()
    }

    fn server_events(&self) -> Vec<EventSeen> {
        let seen = self.0.lock().unwrap();
        seen.events
            .iter()
            .filter(|e| e.target.starts_with("paf_hyper::server"))
            .cloned()
            .collect()
    }

    /// Captures what this thread's tasks log until the guard is dropped.
    fn install() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(captured.clone());
        (captured, tracing::subscriber::set_default(subscriber))
    }

    /// The one connection span there should be.
    fn connection(&self) -> SpanSeen {
        let connections = self.spans("connection");
        assert_eq!(connections.len(), 1, "{self}");
        connections[0].clone()
    }

    /// The spans the handler's own events were in, in order.
    fn handler_spans(&self) -> Vec<Option<(&'static str, u64)>> {
        let seen = self.0.lock().unwrap();
        seen.events
            .iter()
            .filter(|e| e.target == "app")
            .map(|e| e.span)
            .collect()
    }

    fn access_events(&self) -> Vec<EventSeen> {
        self.server_events()
            .into_iter()
            .filter(|e| e.target == "paf_hyper::server::access")
            .collect()
    }

    /// Waits until `done` holds for what was seen (the last events come
    /// when the server drops a response body, which may be just after the
    /// client has it).
    async fn until(&self, what: &str, done: impl Fn(&Captured) -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while !done(self) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting for {what}: {}", self);
    }
}

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seen = self.0.lock().unwrap();
        for span in &seen.spans {
            writeln!(f, "span {span:?}")?;
        }
        for event in &seen.events {
            writeln!(f, "event {event:?}")?;
        }
        Ok(())
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.id().into_u64());
        let meta = attrs.metadata();
        self.0.lock().unwrap().spans.push(SpanSeen {
            id: id.into_u64(),
            name: meta.name(),
            target: meta.target().to_string(),
            level: *meta.level(),
            parent,
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut seen = self.0.lock().unwrap();
        let span = seen
            .spans
            .iter_mut()
            .rev()
            .find(|s| s.id == id.into_u64())
            .unwrap();
        values.record(&mut Fields(&mut span.fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx
            .event_span(event)
            .map(|span| (span.name(), span.id().into_u64()));
        let meta = event.metadata();
        self.0.lock().unwrap().events.push(EventSeen {
            target: meta.target().to_string(),
            level: *meta.level(),
            span,
            fields,
        });
    }
}

/// The access log's lines, as an [`AccessLog`](paf_hyper::server::AccessLog) closure writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<(String, AccessRecord)>>>);

impl Lines {
    fn builder(&self) -> ServerBuilder {
        let lines = self.clone();
        paf_hyper::Server::builder().access_log(move |record: &AccessRecord| {
            lines
                .0
                .lock()
                .unwrap()
                .push((record.to_string(), record.clone()));
        })
    }

    fn get(&self) -> Vec<(String, AccessRecord)> {
        self.0.lock().unwrap().clone()
    }
}

/// A Combined Log Format line, cut into its fields.
#[derive(Debug, PartialEq)]
struct Clf {
    host: String,
    time: String,
    request: String,
    status: u16,
    bytes: u64,
    referer: String,
    user_agent: String,
}

fn parse_clf(line: &str) -> Clf {
    let (host, rest) = line.split_once(" - - [").unwrap();
    let (time, rest) = rest.split_once("] \"").unwrap();
    let (request, rest) = rest.split_once("\" ").unwrap();
    let (status, rest) = rest.split_once(' ').unwrap();
    let (bytes, rest) = rest.split_once(" \"").unwrap();
    let (referer, rest) = rest.split_once("\" \"").unwrap();
    let user_agent = rest.strip_suffix('"').unwrap();
    Clf {
        host: host.into(),
        time: time.into(),
        request: request.into(),
        status: status.parse().unwrap(),
        bytes: bytes.parse().unwrap(),
        referer: referer.into(),
        user_agent: user_agent.into(),
    }
}

/// `dd/Mon/yyyy:hh:mm:ss +0000`
fn is_clf_time(time: &str) -> bool {
    let b = time.as_bytes();
    time.len() == 26
        && b[2] == b'/'
        && b[6] == b'/'
        && b[11] == b':'
        && time.ends_with(" +0000")
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&&time[3..6])
        && time[7..11].parse::<u32>().is_ok_and(|y| y >= 2024)
}

async fn start(builder: ServerBuilder) -> Running {
    builder
        .build(traced_router)
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The common router, logging an event of its own at `info`.
async fn traced_router(req: Request<Body>) -> Response<Body> {
    tracing::info!(target: "app", "handling");
    router(req).await
}

async fn text(client: &Client, request: Request<Body>) -> (u16, String) {
    let response = within(10, client.request(request)).await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().to_string(1 << 20).await.unwrap(),
    )
}

#[tokio::test]
async fn http1_requests_are_spans_in_their_connection_span_with_one_access_event_each() {
    let (captured, _guard) = Captured::install();
    let lines = Lines::default();
    let running = start(lines.builder()).await;
    let base = running.url().unwrap();
    let client = Client::new();

    let get = Request::get(format!("{base}/hello?token=secret"))
        .header("user-agent", "paf-test/1.0")
        .header("referer", "http://example.org/from")
        .body(Body::empty())
        .unwrap();
    assert_eq!(text(&client, get).await, (200, "hello".into()));
    let missing = Request::get(format!("{base}/status/404"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(text(&client, missing).await.0, 404);
    let post = Request::post(format!("{base}/echo"))
        .body(Body::from("payload"))
        .unwrap();
    assert_eq!(text(&client, post).await, (200, "payload".into()));
    // The connection ends when the client's pool lets it go.
    drop(client);
    captured
        .until("three access events and the connection's end", |c| {
            c.access_events().len() == 3
                && c.server_events()
                    .iter()
                    .any(|e| e.field("message") == "connection ended")
        })
        .await;

    // One connection, kept alive for the three requests.
    let conn = &captured.connection();
    assert_eq!(conn.level, Level::DEBUG);
    assert_eq!(conn.target, "paf_hyper::server");
    assert!(conn.field("peer").starts_with("127.0.0.1:"), "{conn:?}");
    assert_eq!(conn.field("tls"), "false");
    assert_eq!(conn.field("version"), "HTTP/1.1");
    assert!(conn.field("id").parse::<u64>().is_ok(), "{conn:?}");
    assert_eq!(conn.field("alpn"), "");

    let requests = captured.spans("request");
    assert_eq!(requests.len(), 3, "{captured}");
    for request in &requests {
        assert_eq!(request.level, Level::DEBUG);
        assert_eq!(request.parent, Some(conn.id), "{request:?}");
        assert_eq!(request.field("version"), "HTTP/1.1");
        assert!(
            request.field("head_ms").parse::<f64>().is_ok(),
            "{request:?}"
        );
        assert!(
            request.field("total_ms").parse::<f64>().is_ok(),
            "{request:?}"
        );
    }
    let summary: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.field("method"),
                r.field("path"),
                r.field("status"),
                r.field("bytes"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("GET", "/hello", "200", "5"),
            ("GET", "/status/404", "404", "0"),
            ("POST", "/echo", "200", "7"),
        ]
    );

    // The handler runs in its request's span.
    let ids: Vec<_> = requests.iter().map(|r| Some(("request", r.id))).collect();
    assert_eq!(captured.handler_spans(), ids);

    // One root access event per request, every field of the line in it.
    let access = captured.access_events();
    for event in &access {
        assert_eq!(event.level, Level::DEBUG);
        assert_eq!(event.span, None, "a root event: {event:?}");
        assert_eq!(event.field("message"), "served");
        assert_eq!(event.field("peer"), conn.field("peer"));
        assert_eq!(event.field("conn"), conn.field("id"));
        assert_eq!(event.field("version"), "HTTP/1.1");
        assert!(event.field("total_ms").parse::<f64>().is_ok(), "{event:?}");
    }
    let lines_seen: Vec<_> = access
        .iter()
        .map(|e| {
            (
                e.field("method"),
                e.field("path"),
                e.field("status"),
                e.field("bytes"),
            )
        })
        .collect();
    assert_eq!(lines_seen, summary);

    // The connection's end, in its span.
    let ended: Vec<_> = captured
        .server_events()
        .into_iter()
        .filter(|e| e.field("message") == "connection ended")
        .collect();
    assert_eq!(ended.len(), 1, "{captured}");
    assert_eq!(ended[0].level, Level::DEBUG);
    assert_eq!(ended[0].span, Some(("connection", conn.id)));
    assert_eq!(ended[0].field("end"), "Closed");

    // Nothing about requests above debug, and the query never logged.
    let loud: Vec<_> = captured
        .server_events()
        .into_iter()
        .filter(|e| e.level <= Level::INFO)
        .collect();
    assert!(loud.is_empty(), "{loud:?}");
    // (The client's own span has it: the client is the caller's.)
    let server_side = captured
        .to_string()
        .lines()
        .filter(|line| line.contains("paf_hyper::server"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!server_side.contains("secret"), "{server_side}");

    // The access log: the same three requests in the Combined Log Format.
    let lines = lines.get();
    assert_eq!(lines.len(), 3);
    let parsed: Vec<_> = lines.iter().map(|(line, _)| parse_clf(line)).collect();
    for clf in &parsed {
        assert_eq!(clf.host, "127.0.0.1");
        assert!(is_clf_time(&clf.time), "{clf:?}");
    }
    let fields: Vec<_> = parsed
        .iter()
        .map(|c| (c.request.as_str(), c.status, c.bytes))
        .collect();
    assert_eq!(
        fields,
        [
            ("GET /hello HTTP/1.1", 200, 5),
            ("GET /status/404 HTTP/1.1", 404, 0),
            ("POST /echo HTTP/1.1", 200, 7),
        ]
    );
    assert_eq!(parsed[0].referer, "http://example.org/from");
    assert_eq!(parsed[0].user_agent, "paf-test/1.0");
    // The record keeps the whole target; the query is shown on request.
    let (_, first) = &lines[0];
    assert_eq!(first.uri.query(), Some("token=secret"));
    assert!(first.complete);
    assert!(first
        .with_query()
        .to_string()
        .contains("\"GET /hello?token=secret HTTP/1.1\""));
    assert_eq!(first.conn.peer.to_string(), conn.field("peer"));

    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn http2_streams_are_request_spans_in_one_connection_span() {
    let (captured, _guard) = Captured::install();
    let running = start(paf_hyper::Server::builder()).await;
    let base = running.url().unwrap();
    let client = Client::builder().http2_prior_knowledge(true).build();
    for path in ["/a", "/b?x=1"] {
        let get = Request::get(format!("{base}{path}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(text(&client, get).await, (200, "hello".into()));
    }
    captured
        .until("two access events", |c| c.access_events().len() == 2)
        .await;

    let conn = &captured.connection();
    assert_eq!(conn.field("version"), "HTTP/2.0");
    let requests = captured.spans("request");
    let seen: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.parent,
                r.field("path"),
                r.field("version"),
                r.field("status"),
                r.field("bytes"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Some(conn.id), "/a", "HTTP/2.0", "200", "5"),
            (Some(conn.id), "/b", "HTTP/2.0", "200", "5"),
        ]
    );
    // hyper polls each stream in a task of its own: the handler still runs
    // in its request's span.
    let ids: Vec<_> = requests.iter().map(|r| Some(("request", r.id))).collect();
    assert_eq!(captured.handler_spans(), ids);
    running.stop(Duration::from_secs(1)).await;
    drop(client);
}

#[tokio::test]
async fn tls_connection_spans_carry_alpn_and_sni() {
    let (captured, _guard) = Captured::install();
    let cert = TestCert::localhost();
    let lines = Lines::default();
    let running = start(
        lines
            .builder()
            .tls(cert.server_config(&[b"h2", b"http/1.1"])),
    )
    .await;
    let port = running.local_addr().unwrap().port();
    // The name is verified against the certificate; the address is
    // explicit so that `localhost` resolving to ::1 first does not matter.
    let ctx = Ctx::new()
        .with_ca_pem(cert.cert_pem.as_bytes())
        .unwrap()
        .route(
            "localhost",
            Endpoint::TcpAddr(running.local_addr().unwrap()),
        );
    let client = Client::builder().ctx(ctx).build();
    let get = Request::get(format!("https://localhost:{port}/version"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(text(&client, get).await, (200, "HTTP/2.0".into()));
    captured
        .until("the access event", |c| c.access_events().len() == 1)
        .await;

    let conn = &captured.connection();
    assert_eq!(conn.field("tls"), "true");
    assert_eq!(conn.field("alpn"), "h2");
    assert_eq!(conn.field("sni"), "localhost");
    assert_eq!(conn.field("version"), "HTTP/2.0");
    let lines = lines.get();
    assert_eq!(lines.len(), 1);
    let clf = parse_clf(&lines[0].0);
    assert_eq!(
        (clf.request.as_str(), clf.status, clf.bytes),
        ("GET /version HTTP/2.0", 200, 8)
    );
    assert!(lines[0].1.conn.tls.is_some());
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn at_info_nothing_is_recorded_per_request_but_the_access_log_still_is() {
    let captured = Captured::default();
    let subscriber =
        tracing_subscriber::registry().with(captured.clone().with_filter(LevelFilter::INFO));
    let _guard = tracing::subscriber::set_default(subscriber);
    let lines = Lines::default();
    let running = start(lines.builder()).await;
    let base = running.url().unwrap();
    let client = Client::new();
    for _ in 0..3 {
        let get = Request::get(format!("{base}/"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(text(&client, get).await.0, 200);
    }
    drop(client);
    running.stop(Duration::from_secs(1)).await;

    assert!(captured.spans("connection").is_empty(), "{captured}");
    assert!(captured.spans("request").is_empty(), "{captured}");
    assert!(captured.server_events().is_empty(), "{captured}");
    // The handler's own event at info: without a span around it.
    let seen = captured.0.lock().unwrap();
    assert_eq!(seen.events.iter().filter(|e| e.target == "app").count(), 3);
    assert!(seen.events.iter().all(|e| e.span.is_none()));
    assert_eq!(lines.get().len(), 3);
}

#[tokio::test]
async fn a_response_cut_short_is_logged_incomplete() {
    let (captured, _guard) = Captured::install();
    let lines = Lines::default();
    // A chunk every few milliseconds, for ever: the client reads the first
    // and goes away, and a write after it fails.
    let running = lines
        .builder()
        .build(|_req: Request<Body>| async {
            let chunks = futures_util::stream::unfold(0, |n| async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from("chunk")), n + 1))
            });
            Response::new(Body::from_stream(chunks))
        })
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = Client::new();
    let response = within(10, client.get(&running.url().unwrap()))
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = within(10, body.chunk()).await.unwrap().unwrap();
    assert_eq!(first, "chunk");
    drop(body);
    drop(client);
    captured
        .until("the access event", |c| c.access_events().len() == 1)
        .await;

    let event = &captured.access_events()[0];
    assert_eq!(event.field("message"), "response cut short");
    assert_eq!(event.field("complete"), "false");
    let bytes: u64 = event.field("bytes").parse().unwrap();
    assert!(bytes >= 5 && bytes.is_multiple_of(5), "{event:?}");
    let lines = lines.get();
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].1.complete);
    assert_eq!(parse_clf(&lines[0].0).bytes, bytes);
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_refused_target_is_logged_without_its_query() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (captured, _guard) = Captured::install();
    let running = start(paf_hyper::Server::builder()).await;
    let addr = running.local_addr().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET ftp://example.org/file?token=secret HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    within(10, stream.read_to_end(&mut answer)).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
    running.stop(Duration::from_secs(1)).await;

    let events = captured.server_events();
    let refused = events
        .iter()
        .find(|e| e.fields.get("message").map(String::as_str) == Some("bad request target"))
        .unwrap_or_else(|| panic!("no refusal event: {captured}"));
    assert_eq!(refused.field("path"), "/file", "{captured}");
    assert!(!format!("{captured}").contains("secret"), "{captured}");
}
