//! The ureq backend against real servers on loopback: paf-hyper servers on a
//! background runtime, and raw `std::net` servers where a scripted, broken
//! reply is the point. Every client call is plain blocking code.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::*;
use http::{Method, Request, StatusCode};
use paf_core::{
    blocking::{Body, Client as _},
    client::RequestExt,
    ctx::{BlockingIo, BlockingTransport, Endpoint},
    error::TimeoutKind,
    Ctx, Error,
};
use paf_testkit::TestCert;
use paf_ureq::Client;

fn request(method: Method, url: &str, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::new(body.into());
    *req.method_mut() = method;
    *req.uri_mut() = url.parse().unwrap();
    req
}

fn text(response: http::Response<Body>) -> String {
    response.into_body().read_to_string(1 << 20).unwrap()
}

#[test]
fn works_from_a_thread_without_any_runtime() {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let server = plain_server();
    let client = Client::new();
    assert_eq!(client.backend(), "ureq");
    let response = client.get(&format!("{}/", server.url())).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response), "hello");
}

#[test]
fn post_put_patch_and_delete_send_their_bodies() {
    let server = plain_server();
    let client = Client::new();
    let url = format!("{}/echo", server.url());
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let response = client
            .send(request(method.clone(), &url, "hello world"))
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-method"], method.as_str());
        assert_eq!(response.headers()["x-version"], "HTTP/1.1");
        assert_eq!(text(response), "hello world", "{method}");
    }
}

#[test]
fn non_standard_method_and_empty_post_are_sent() {
    let server = plain_server();
    let client = Client::new();
    let url = format!("{}/echo", server.url());
    let method = Method::from_bytes(b"PROPFIND").unwrap();
    let response = client.send(request(method, &url, "<x/>")).unwrap();
    assert_eq!(response.headers()["x-method"], "PROPFIND");
    assert_eq!(text(response), "<x/>");

    let response = client
        .send(request(
            Method::POST,
            &format!("{}/count", server.url()),
            "",
        ))
        .unwrap();
    assert_eq!(text(response), "0 content-length=0");
    let response = client
        .send(request(Method::GET, &format!("{}/count", server.url()), ""))
        .unwrap();
    assert_eq!(text(response), "0 none");
}

#[test]
fn query_strings_reach_the_server_and_headers_keep_order_and_repeats() {
    let server = plain_server();
    let client = Client::new();
    let mut req = request(
        Method::GET,
        &format!("{}/headers?q=a%20b&x=1", server.url()),
        Body::empty(),
    );
    let headers = req.headers_mut();
    headers.append("X-Multi", "one".parse().unwrap());
    headers.append("x-other", "between".parse().unwrap());
    headers.append("x-multi", "two".parse().unwrap());
    let response = client.send(req).unwrap();
    let lines = text(response);
    let multi: Vec<&str> = lines
        .lines()
        .filter(|l| l.starts_with("x-multi: "))
        .collect();
    assert_eq!(multi, ["x-multi: one", "x-multi: two"], "{lines}");
    // No header the caller did not ask for, beyond Host.
    assert!(!lines.contains("user-agent"), "{lines}");
    assert!(!lines.contains("accept"), "{lines}");
    assert!(
        lines.contains(&format!("host: {}", server.addr())),
        "{lines}"
    );
}

#[test]
fn repeated_response_headers_are_kept_in_order() {
    let server = plain_server();
    let response = Client::new()
        .get(&format!("{}/repeated", server.url()))
        .unwrap();
    let multi: Vec<_> = response
        .headers()
        .get_all("X-MULTI")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(multi, ["one", "two", "three"]);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}

#[test]
fn client_and_server_errors_are_responses() {
    let server = plain_server();
    let client = Client::new();
    for code in [400u16, 404, 418, 500, 503] {
        let response = client
            .get(&format!("{}/status/{code}", server.url()))
            .unwrap();
        assert_eq!(response.status().as_u16(), code);
    }
}

#[test]
fn redirects_come_back_as_they_are() {
    let server = plain_server();
    let client = Client::new();
    let response = client.get(&format!("{}/redirect", server.url())).unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/elsewhere");
    assert_eq!(text(response), "moved");

    // A redirect without a body takes another way through ureq.
    let response = client.get(&format!("{}/status/301", server.url())).unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert!(response.body().is_empty());
}

#[test]
fn gzip_bodies_are_not_decoded() {
    let server = plain_server();
    let response = Client::new()
        .get(&format!("{}/gzip", server.url()))
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(
        response.headers()["content-length"],
        GZIP_HELLO.len().to_string()
    );
    let body = response.into_body().read_to_bytes(1024).unwrap();
    assert_eq!(&body[..], GZIP_HELLO);
}

#[test]
fn head_204_and_304_have_empty_bodies_and_the_connection_goes_on() {
    let server = plain_server();
    let client = Client::new();
    let peer_before = text(client.get(&format!("{}/peer", server.url())).unwrap());

    let response = client
        .send(request(Method::HEAD, &format!("{}/", server.url()), ""))
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-length"], "5");
    assert_eq!(response.body().len(), Some(0));
    assert_eq!(text(response), "");

    for code in [204, 304] {
        let response = client
            .get(&format!("{}/status/{code}", server.url()))
            .unwrap();
        assert_eq!(response.status().as_u16(), code);
        assert!(response.body().is_empty());
    }

    // The same connection still frames the next response right.
    let peer_after = text(client.get(&format!("{}/peer", server.url())).unwrap());
    assert_eq!(peer_before, peer_after);
}

#[test]
fn keep_alive_reuses_one_connection_within_a_context() {
    let server = plain_server();
    let client = Client::new();
    let url = format!("{}/peer", server.url());
    let first = text(client.get(&url).unwrap());
    let second = text(client.get(&url).unwrap());
    assert_eq!(first, second);
    // Reading exactly the stated length is reading to the end.
    let response = client.get(&url).unwrap();
    let mut exact = vec![0; usize::try_from(response.body().len().unwrap()).unwrap()];
    response.into_body().read_exact(&mut exact).unwrap();
    assert_eq!(String::from_utf8(exact).unwrap(), first);
    assert_eq!(text(client.get(&url).unwrap()), first);
    // A body dropped before its end cannot leave its connection reusable.
    let unread = client.get(&url).unwrap();
    drop(unread);
    let third = text(client.get(&url).unwrap());
    assert_ne!(third, first);
}

#[test]
fn a_reused_connection_the_server_closed_is_replaced() {
    // The server drops connections idle for 200 ms.
    let server = serve(
        paf_hyper::Server::builder()
            .header_read_timeout(Duration::from_millis(200))
            .build(router),
    );
    let client = Client::new();
    let url = format!("{}/peer", server.url());
    let first = text(client.get(&url).unwrap());
    std::thread::sleep(Duration::from_millis(600));
    let second = text(client.get(&url).unwrap());
    assert_ne!(first, second, "a new connection answers");

    // So can a body in memory, with an idempotent method.
    std::thread::sleep(Duration::from_millis(600));
    let response = client
        .send(request(
            Method::PUT,
            &format!("{}/echo", server.url()),
            "again",
        ))
        .unwrap();
    assert_eq!(text(response), "again");

    // A streamed body cannot be sent twice: the error says what happened.
    std::thread::sleep(Duration::from_millis(600));
    let body = Body::from_reader(io::repeat(b'x').take(10), None);
    let err = client
        .send(request(
            Method::POST,
            &format!("{}/count", server.url()),
            body,
        ))
        .unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
    assert!(err.to_string().contains("reused connection"), "{err}");
}

const SIZE: u64 = 64 << 20;

/// Counts the bytes it hands out, so that a test can see how far a stream
/// was read at a given moment.
struct Counting<R> {
    inner: R,
    produced: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

#[test]
fn streams_a_64_mib_upload_with_and_without_a_length() {
    // The server notes how much the client had read from its body when the
    // first bytes arrived: a client that buffered would have read it all.
    let produced = Arc::new(AtomicU64::new(0));
    let at_first_chunk = Arc::new(AtomicU64::new(0));
    let server = serve(paf_hyper::Server::new({
        let (produced, at_first_chunk) = (produced.clone(), at_first_chunk.clone());
        move |req: Request<paf_core::Body>| {
            let (produced, at_first_chunk) = (produced.clone(), at_first_chunk.clone());
            async move {
                let chunked = !req.headers().contains_key("content-length");
                let mut body = req.into_body();
                let mut total = 0u64;
                while let Some(Ok(chunk)) = body.chunk().await {
                    if total == 0 {
                        at_first_chunk.store(produced.load(Ordering::SeqCst), Ordering::SeqCst);
                    }
                    total += chunk.len() as u64;
                }
                http::Response::new(paf_core::Body::from(format!("{total} chunked={chunked}")))
            }
        }
    }));
    let client = Client::new();
    let url = format!("{}/upload", server.url());
    for len in [Some(SIZE), None] {
        produced.store(0, Ordering::SeqCst);
        let reader = Counting {
            inner: io::repeat(b'u').take(SIZE),
            produced: produced.clone(),
        };
        let body = Body::from_reader(reader, len);
        let response = client.send(request(Method::PUT, &url, body)).unwrap();
        assert_eq!(text(response), format!("{SIZE} chunked={}", len.is_none()));
        let streamed = at_first_chunk.load(Ordering::SeqCst);
        assert!(streamed < SIZE / 2, "{streamed} bytes read before sending");
    }
}

#[test]
fn streams_a_64_mib_download_with_and_without_a_length() {
    // The server counts what it produced: when the response head is in, a
    // client that buffered would have had it all.
    let produced = Arc::new(AtomicU64::new(0));
    let server = serve(paf_hyper::Server::new({
        let produced = produced.clone();
        move |req: Request<paf_core::Body>| {
            let produced = produced.clone();
            async move {
                let chunks = futures_util::stream::unfold(0u64, move |sent| {
                    let produced = produced.clone();
                    async move {
                        (sent < SIZE).then(|| {
                            produced.fetch_add(1 << 16, Ordering::SeqCst);
                            (Ok::<_, io::Error>(vec![b'd'; 1 << 16]), sent + (1 << 16))
                        })
                    }
                });
                let body = if req.uri().path() == "/sized" {
                    paf_core::Body::from_stream_sized(chunks, SIZE)
                } else {
                    paf_core::Body::from_stream(chunks)
                };
                http::Response::new(body)
            }
        }
    }));
    let client = Client::new();
    for (path, len) in [("sized", Some(SIZE)), ("chunked", None)] {
        produced.store(0, Ordering::SeqCst);
        let response = client.get(&format!("{}/{path}", server.url())).unwrap();
        let sent = produced.load(Ordering::SeqCst);
        assert!(
            sent < SIZE / 2,
            "{sent} bytes sent before the head came back"
        );
        assert_eq!(response.body().len(), len);
        assert_eq!(count_bytes(response.into_body()).unwrap(), SIZE);
    }
}

#[test]
fn one_client_serves_many_threads() {
    let server = plain_server();
    let client = Client::new();
    let url = format!("{}/echo", server.url());
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (client, url) = (&client, &url);
            scope.spawn(move || {
                for i in 0..20 {
                    let sent = format!("thread {t} request {i}");
                    let response = client
                        .send(request(Method::POST, url, sent.clone()))
                        .unwrap();
                    assert_eq!(text(response), sent);
                }
            });
        }
    });
}

#[test]
fn a_request_body_shorter_than_its_length_is_a_body_error() {
    let server = plain_server();
    let body = Body::from_reader(io::repeat(b'u').take(3), Some(10));
    let err = Client::new()
        .send(request(
            Method::POST,
            &format!("{}/count", server.url()),
            body,
        ))
        .unwrap_err();
    assert!(matches!(err, Error::Body { .. }), "{err:?}");
}

#[test]
fn body_over_the_cap_is_body_too_large() {
    let server = plain_server();
    let client = Client::new();
    for path in ["download", "download-sized"] {
        let response = client
            .get(&format!("{}/{path}/100000", server.url()))
            .unwrap();
        let err = response.into_body().read_to_bytes(1000).unwrap_err();
        assert!(
            matches!(err, Error::BodyTooLarge { limit: 1000 }),
            "{err:?}"
        );
    }
}

#[test]
fn tls_with_the_test_ca_and_http11_where_the_server_offers_h2() {
    let cert = TestCert::localhost();
    let server = tls_server(&cert, &[b"h2", b"http/1.1"]);
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let client = Client::builder().ctx(ctx).build();
    let response = client.get(&format!("{}/version", server.url())).unwrap();
    assert_eq!(text(response), "HTTP/1.1");
    // Over `localhost` too: the name is the certificate's.
    let url = format!("https://localhost:{}/echo", server.addr().port());
    let response = client.send(request(Method::POST, &url, "secret")).unwrap();
    assert_eq!(text(response), "secret");
}

#[test]
fn tls_without_the_ca_is_refused_with_the_rustls_error() {
    let cert = TestCert::localhost();
    let server = tls_server(&cert, &[b"http/1.1"]);
    let err = Client::new()
        .get(&format!("{}/", server.url()))
        .unwrap_err();
    let Error::Tls {
        server_name,
        source,
    } = &err
    else {
        panic!("expected a TLS error, got {err:?}");
    };
    assert_eq!(server_name, "127.0.0.1");
    assert!(
        source.downcast_ref::<rustls::Error>().is_some(),
        "{source:?}"
    );
}

#[test]
fn per_request_context_overrides_the_client_default() {
    let cert = TestCert::localhost();
    let server = tls_server(&cert, &[b"http/1.1"]);
    let client = Client::new();
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let req = request(Method::GET, &format!("{}/", server.url()), "").with_ctx(ctx);
    assert_eq!(text(client.send(req).unwrap()), "hello");
}

#[test]
fn the_context_decides_tls_whatever_the_scheme() {
    // An `https` URL over a plain stream, as behind a TLS-terminating hop.
    let plain = plain_server();
    let ctx = Ctx::new().with_tls(false);
    let url = format!("https://127.0.0.1:{}/headers", plain.addr().port());
    let response = Client::new()
        .send(request(Method::GET, &url, "").with_ctx(ctx))
        .unwrap();
    let lines = text(response);
    assert!(
        lines.contains(&format!("host: {}", plain.addr())),
        "{lines}"
    );

    // An `http` URL over TLS.
    let cert = TestCert::localhost();
    let tls = tls_server(&cert, &[b"http/1.1"]);
    let ctx = Ctx::new()
        .with_ca_pem(cert.cert_pem.as_bytes())
        .unwrap()
        .with_tls(true);
    let url = format!("http://localhost:{}/", tls.addr().port());
    let response = Client::new()
        .send(request(Method::GET, &url, "").with_ctx(ctx))
        .unwrap();
    assert_eq!(text(response), "hello");
}

#[test]
fn unix_socket_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paf.sock");
    let _server = unix_server(&path, router);
    let client = Client::builder()
        .ctx(Ctx::new().with_unix_socket(&path))
        .build();
    // The host needs no DNS entry: the context says where it is.
    let response = client
        .send(request(
            Method::POST,
            "http://app.invalid/echo",
            "over unix",
        ))
        .unwrap();
    assert_eq!(text(response), "over unix");
}

#[test]
fn two_contexts_never_share_a_connection() {
    let tcp = plain_server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sock");
    let _unix = unix_server(&path, |_req: Request<paf_core::Body>| async {
        http::Response::new(paf_core::Body::from("unix"))
    });
    // The same URL: one context routes its host to the Unix socket, the
    // other goes by TCP as the URL says.
    let url = format!("http://localhost:{}/", tcp.addr().port());
    let to_unix = Ctx::new().route("localhost", Endpoint::Unix(path.clone()));
    let client = Client::new();
    for _ in 0..3 {
        let req = request(Method::GET, &url, "").with_ctx(to_unix.clone());
        assert_eq!(text(client.send(req).unwrap()), "unix");
        assert_eq!(text(client.get(&url).unwrap()), "hello");
    }
}

/// Reaches services by name over TCP, as a service registry would.
struct Services(Vec<(String, SocketAddr)>);

impl BlockingTransport for Services {
    type Endpoint = String;

    fn connect(&self, name: &String) -> io::Result<Box<dyn BlockingIo>> {
        let (_, addr) =
            self.0.iter().find(|(n, _)| n == name).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no service {name}"))
            })?;
        Ok(Box::new(TcpStream::connect(addr)?))
    }
}

#[test]
fn user_blocking_transport_carries_the_request() {
    let server = plain_server();
    let ctx = Ctx::new()
        .with_blocking_transport("svc", Services(vec![("api".into(), server.addr())]))
        .with_user_endpoint("svc", "api".to_string());
    let client = Client::builder().ctx(ctx.clone()).build();
    let response = client
        .send(request(Method::POST, "http://api.internal/echo", "by name"))
        .unwrap();
    assert_eq!(text(response), "by name");

    let missing = ctx.with_user_endpoint("svc", "nothing".to_string());
    let err = client
        .send(request(Method::GET, "http://api.internal/", "").with_ctx(missing))
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[test]
fn user_endpoint_without_a_blocking_transport_is_no_transport() {
    let ctx = Ctx::new().with_user_endpoint("nowhere", 1u8);
    let err = Client::builder()
        .ctx(ctx)
        .build()
        .get("http://svc.internal/")
        .unwrap_err();
    assert!(matches!(err, Error::NoTransport { .. }), "{err:?}");
    assert!(err.to_string().contains("\"nowhere\""), "{err}");
}

#[test]
fn refused_connection_is_a_connect_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Client::new()
        .get(&format!("http://127.0.0.1:{port}/"))
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

/// `err` is the timeout of `kind` after `limit`, and it came soon after it.
fn assert_timed_out(err: &Error, kind: TimeoutKind, limit: Duration, started: Instant) {
    assert!(
        matches!(err, Error::Timeout { what, after } if *what == kind && *after == limit),
        "{err:?}"
    );
    assert!(started.elapsed() < limit + Duration::from_secs(2));
}

#[test]
fn slow_response_passes_the_request_timeout() {
    let server = plain_server();
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let err = client
        .get(&format!("{}/sleep/5000", server.url()))
        .unwrap_err();
    assert_timed_out(
        &err,
        TimeoutKind::Request,
        Duration::from_millis(300),
        started,
    );
    // Within the limit, the same client is fine.
    assert_eq!(
        text(client.get(&format!("{}/sleep/10", server.url())).unwrap()),
        "slept"
    );
}

#[test]
fn request_timeout_reaches_into_the_body() {
    let server = plain_server();
    let client = Client::builder()
        .timeout(Duration::from_millis(400))
        .build();
    let started = Instant::now();
    let response = client.get(&format!("{}/stall-body", server.url())).unwrap();
    let err = response.into_body().read_to_bytes(1024).unwrap_err();
    assert_timed_out(
        &err,
        TimeoutKind::Request,
        Duration::from_millis(400),
        started,
    );
}

#[test]
fn connect_timeout_against_a_full_backlog() {
    // A listener that never accepts: once its queue is full the kernel drops
    // new SYNs and a connect hangs. Fill it, then connect through paf.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let full =
        (0..2000).any(
            |_| match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(stream) => {
                    held.push(stream);
                    false
                }
                Err(_) => true,
            },
        );
    if !full {
        eprintln!("the backlog never filled up: connect timeout not tested here");
        return;
    }
    let client = Client::builder()
        .connect_timeout(Duration::from_millis(200))
        .build();
    let started = Instant::now();
    let err = client.get(&format!("http://{addr}/")).unwrap_err();
    assert_timed_out(
        &err,
        TimeoutKind::Connect,
        Duration::from_millis(200),
        started,
    );
    assert!(err.is_connect());

    // Without a connect timeout, the request's own budget bounds connecting.
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let err = client.get(&format!("http://{addr}/")).unwrap_err();
    assert_timed_out(
        &err,
        TimeoutKind::Request,
        Duration::from_millis(300),
        started,
    );
}

/// A server on a thread that reads one request head and writes `reply`.
fn scripted(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut head = BufReader::new(&stream);
        let mut line = String::new();
        while head.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let _ = (&stream).write_all(reply);
    });
    addr
}

#[test]
fn malformed_response_is_a_protocol_error() {
    let addr = scripted(b"HTTP/1.1 two hundred OK\r\n\r\n");
    let err = Client::new().get(&format!("http://{addr}/")).unwrap_err();
    assert!(err.is_protocol(), "{err:?}");

    let addr = scripted(b"");
    let err = Client::new().get(&format!("http://{addr}/")).unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
}

#[test]
fn truncated_body_is_a_protocol_error() {
    let addr = scripted(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
    let response = Client::new().get(&format!("http://{addr}/")).unwrap();
    assert_eq!(response.body().len(), Some(10));
    let err = response.into_body().read_to_bytes(100).unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
}

#[test]
fn close_delimited_body_is_read_to_the_end() {
    let addr = scripted(b"HTTP/1.0 200 OK\r\n\r\nuntil the end");
    let response = Client::new().get(&format!("http://{addr}/")).unwrap();
    assert_eq!(response.version(), http::Version::HTTP_10);
    assert_eq!(response.body().len(), None);
    assert_eq!(text(response), "until the end");
}

#[test]
fn relative_url_is_an_invalid_url() {
    let err = Client::new().get("/just/a/path").unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
}
