//! End to end: the compat client against the compat server, over TCP, TLS
//! and a Unix socket, on real sockets.
#![cfg(feature = "hyper")]
#![allow(clippy::unwrap_used)]

mod common;

use std::future::IntoFuture;
use std::time::Duration;

use common::{router, tcp_server, tls_server, within, Site, TestCert, SECRET};
use futures_util::stream;
use paf_compat::code::{Method, Status, Version};
use paf_compat::paf_core::{ctx::Endpoint, redirect::Policy};
use paf_compat::transfer::Encoding;
use paf_compat::{Body, Client, Ctx, Header, Request, Response};

fn url(running: &paf_compat::server::Running, path: &str) -> String {
    format!("{}{path}", running.url().unwrap())
}

async fn text(answer: (Response, Body)) -> (Response, String) {
    let (res, body) = answer;
    (res, body.to_string().await.unwrap())
}

#[tokio::test]
async fn get_answers_status_headers_and_body_as_cohttp() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    let (res, body) = within("get", async {
        text(client.get(url(&server, "/echo?q=1")).await.unwrap()).await
    })
    .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.version(), &Version::Http1_1);
    assert!(res.is_keep_alive());
    assert_eq!(res.encoding(), Encoding::Fixed(0));
    let h = res.headers();
    assert_eq!(h.get("x-method"), Some("GET"));
    assert_eq!(h.get("x-resource"), Some("/echo?q=1"));
    assert_eq!(h.get("x-version"), Some("HTTP/1.1"));
    // CoHTTP's Request.make adds its user agent.
    assert_eq!(h.get("x-ua"), Some(paf_compat::header::USER_AGENT));
    assert_eq!(body, "");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn head_answers_the_response_alone() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let res: Response = within(
        "head",
        Client::new().head(url(&server, "/echo")).into_future(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get("x-method"), Some("HEAD"));
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn delete_post_put_patch_send_their_method_and_body() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    let u = url(&server, "/echo");
    let calls = [
        ("DELETE", client.delete(&u)),
        ("POST", client.post(&u)),
        ("PUT", client.put(&u)),
        ("PATCH", client.patch(&u)),
    ];
    for (method, call) in calls {
        let sent = format!("payload of {method}");
        let (res, body) = within(method, async {
            text(call.body(sent.clone()).await.unwrap()).await
        })
        .await;
        assert_eq!(res.headers().get("x-method"), Some(method));
        assert_eq!(body, sent, "{method} body echoed");
    }
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn call_sends_any_method_with_the_given_headers_and_body() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let (res, body) = within("call", async {
        let answer = Client::new()
            .call(Method::Other("PROPFIND".into()), url(&server, "/echo"))
            .headers(Header::init_with("x-custom", "kept"))
            .body("<propfind/>")
            .await
            .unwrap();
        text(answer).await
    })
    .await;
    assert_eq!(res.headers().get("x-method"), Some("PROPFIND"));
    assert_eq!(res.headers().get("x-custom"), Some("kept"));
    assert_eq!(body, "<propfind/>");
    server.stop(Duration::from_secs(1)).await;
}

fn unsized_stream(parts: &[&'static str]) -> Body {
    let parts: Vec<_> = parts.iter().map(|p| Ok::<_, std::io::Error>(*p)).collect();
    Body::of_stream(paf_compat::paf_core::Body::from_stream(stream::iter(parts)))
}

#[tokio::test]
async fn call_chunked_true_sends_transfer_encoding_chunked() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let (res, body) = within("chunked", async {
        let answer = Client::new()
            .post(url(&server, "/echo"))
            .body("hello")
            .chunked(true)
            .await
            .unwrap();
        text(answer).await
    })
    .await;
    assert_eq!(res.headers().get("x-te"), Some("chunked"));
    assert_eq!(res.headers().get("x-cl"), None);
    assert_eq!(body, "hello");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn call_chunked_false_sends_content_length_even_for_a_stream() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    for body in [
        unsized_stream(&["hel", "lo"]),
        Body::of_string_list(["he", "llo"]),
    ] {
        let (res, echoed) = within("not chunked", async {
            let answer = client
                .put(url(&server, "/echo"))
                .body(body)
                .chunked(false)
                .await
                .unwrap();
            text(answer).await
        })
        .await;
        assert_eq!(res.headers().get("x-cl"), Some("5"));
        assert_eq!(res.headers().get("x-te"), None);
        assert_eq!(echoed, "hello");
    }
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn without_chunked_the_body_form_picks_the_framing() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    let (res, _) = client
        .post(url(&server, "/echo"))
        .body(Body::of_string("abc"))
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-cl"), Some("3"));
    let (res, _) = client
        .post(url(&server, "/echo"))
        .body(Body::of_string_list(["a", "bc"]))
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-te"), Some("chunked"));
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn post_form_round_trips_through_the_server() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let params = vec![
        ("name", vec!["Ada Lovelace"]),
        ("tags", vec!["a,b", "c&d=e"]),
        ("empty", vec![]),
        ("ünï", vec!["cöde+1"]),
    ];
    let (res, body) = within("post_form", async {
        text(
            Client::new()
                .post_form(url(&server, "/form"), params)
                .await
                .unwrap(),
        )
        .await
    })
    .await;
    assert_eq!(res.headers().get("x-is-form"), Some("true"));
    assert_eq!(
        body, "name=Ada Lovelace;tags=a,b|c&d=e;empty=;ünï=cöde+1;",
        "the server reads back every key and value"
    );
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn post_form_keeps_a_content_type_the_caller_gave() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let (res, _) = Client::new()
        .post_form(url(&server, "/echo"), [("a", ["1"])])
        .headers(Header::init_with("content-type", "text/x-mine"))
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-ct"), Some("text/x-mine"));
    assert_eq!(res.headers().get("x-cl"), Some("3"));
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn callv_answers_in_order_on_one_connection() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let base = url(&server, "/");
    let echo = |body: &str| {
        let req = Request::builder(url(&server, "/echo").parse().unwrap())
            .meth(Method::Post)
            .build();
        (req, Body::of_string(body.to_owned()))
    };
    let conn = || {
        (
            Request::make(url(&server, "/conn").parse().unwrap()),
            Body::empty(),
        )
    };
    let answers = within(
        "callv",
        Client::new()
            .callv(&base, [echo("first"), conn(), echo("third"), conn()])
            .into_future(),
    )
    .await
    .unwrap();
    let mut bodies = Vec::new();
    for (res, body) in answers {
        assert_eq!(res.status(), Status::Ok);
        bodies.push(body.to_string().await.unwrap());
    }
    assert_eq!(bodies[0], "first");
    assert!(bodies[1].starts_with("peer=127.0.0.1:"), "{}", bodies[1]);
    assert_eq!(bodies[2], "third");
    assert_eq!(
        bodies[1], bodies[3],
        "both /conn requests came from the same peer port"
    );
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn respond_helpers_set_cohttps_status_headers_and_body() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    let get = |path: &str| {
        let call = client.get(url(&server, path));
        async move { text(call.await.unwrap()).await }
    };

    let (res, body) = within("respond", get("/respond")).await;
    assert_eq!(res.status(), Status::Accepted);
    assert_eq!(
        res.encoding(),
        Encoding::Chunked,
        "a list of strings goes chunked"
    );
    assert_eq!(res.headers().get("x-a"), Some("1"));
    assert_eq!(body, "chunk one, chunk two");

    let (res, body) = within("respond_string", get("/respond_string")).await;
    assert_eq!(res.status(), Status::Created);
    assert_eq!(res.encoding(), Encoding::Fixed(4));
    assert_eq!(body, "made");

    let (res, body) = within("respond_error", get("/respond_error")).await;
    assert_eq!(res.status(), Status::InternalServerError);
    assert_eq!(body, "Error: boom");

    let (res, body) = within("respond_error status", get("/respond_error_status")).await;
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(body, "Error: bad input");

    let (res, body) = within("respond_redirect", get("/respond_redirect")).await;
    assert_eq!(
        res.status(),
        Status::Found,
        "redirects are not followed by default"
    );
    assert_eq!(res.headers().get_location(), Some("/respond_string"));
    assert_eq!(res.encoding(), Encoding::Fixed(0));
    assert_eq!(body, "");

    let (res, body) = within("respond_need_auth", get("/respond_need_auth")).await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(
        res.headers().get("www-authenticate"),
        Some("Basic realm=\"paf realm\"")
    );
    assert_eq!(body, "");

    let (res, body) = within("respond_not_found", get("/respond_not_found")).await;
    assert_eq!(res.status(), Status::NotFound);
    assert_eq!(body, "Not found: /respond_not_found");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn redirects_are_followed_when_the_policy_says_so() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::builder()
        .redirect(Policy::limited(2))
        .build()
        .unwrap();
    let (res, body) = within("redirect", async {
        text(client.get(url(&server, "/respond_redirect")).await.unwrap()).await
    })
    .await;
    assert_eq!(res.status(), Status::Created);
    assert_eq!(body, "made");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_panicking_callback_answers_cohttps_internal_server_error() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let (res, body) = within("panic", async {
        text(Client::new().get(url(&server, "/panic")).await.unwrap()).await
    })
    .await;
    assert_eq!(res.status(), Status::InternalServerError);
    assert_eq!(body, "Error: Internal Server Error");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn respond_file_serves_files_with_the_content_type_of_their_extension() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    let cases = [
        ("/files/index.html", "text/html", "<h1>hello</h1>"),
        ("/files/sub/style.css", "text/css", "h1 { color: red }"),
        ("/files/notes.txt", "text/plain", "plain notes"),
        ("/files/inside.txt", "text/plain", "plain notes"),
    ];
    for (path, media, content) in cases {
        let (res, body) = within(path, async {
            text(client.get(url(&server, path)).await.unwrap()).await
        })
        .await;
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert_eq!(res.headers().get("content-type"), Some(media), "{path}");
        assert_eq!(
            res.encoding(),
            Encoding::Fixed(content.len() as u64),
            "{path}"
        );
        assert_eq!(body, content, "{path}");
    }
    let (res, body) = within(
        "binary",
        client.get(url(&server, "/files/data.bin")).into_future(),
    )
    .await
    .unwrap();
    assert_eq!(
        res.headers().get("content-type"),
        Some("application/octet-stream")
    );
    let bytes = body.to_bytes_with_limit(1 << 20).await.unwrap();
    assert_eq!(bytes.len(), 100_000);
    assert!(bytes.iter().all(|b| *b == 7));
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn respond_file_answers_404_for_every_path_out_of_the_root() {
    let site = Site::new();
    let server = tcp_server(&site).await;
    let client = Client::new();
    for path in [
        "/files/../secret.txt",
        "/files/sub/../../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/%2E%2E%2Fsecret.txt",
        "/files/sub%2f..%2f..%2fsecret.txt",
        "/files//etc/passwd",
        "/files/%2Fetc%2Fpasswd",
        "/files/escape.txt",
        "/files/sub",
        "/files/missing.txt",
    ] {
        let (res, body) = within(path, async {
            text(client.get(url(&server, path)).await.unwrap()).await
        })
        .await;
        assert_eq!(res.status(), Status::NotFound, "{path}");
        // respond_file's own 404, or, for dot segments, the router's: the
        // request's URI has them resolved as CoHTTP does (`/files/..` is
        // `/`), so such paths no longer reach the /files route at all.
        assert!(body.starts_with("Not found"), "{path}: {body}");
        assert!(!body.contains(SECRET), "{path} leaked the secret");
        assert!(!body.contains("root:"), "{path} leaked /etc/passwd");
    }
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn respond_file_puts_an_absolute_file_name_under_the_root() {
    let site = Site::new();
    let secret = site.dir.path().join("secret.txt");
    let (res, body) =
        paf_compat::server::respond_file_under(site.root(), secret.to_str().unwrap(), None).await;
    assert_eq!(res.status(), Status::NotFound);
    assert_eq!(body.to_string().await.unwrap(), "Not found");
}

#[tokio::test]
async fn tls_end_to_end_with_the_test_ca_in_the_ctx() {
    let site = Site::new();
    let cert = TestCert::localhost();
    let server = tls_server(&site, &cert).await;
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let client = Client::builder().ctx(ctx).build().unwrap();
    let base = server.url().unwrap();
    assert!(base.starts_with("https://"));

    let (res, body) = within("tls get", async {
        text(client.get(format!("{base}/conn")).await.unwrap()).await
    })
    .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(body.contains("tls=true"), "{body}");
    // CoHTTP's Request.uri has no scheme on a server, TLS or not; the
    // HTTP/2 `:authority` is the host.
    let authority = base.trim_start_matches("https://");
    assert!(body.contains(&format!("uri=//{authority}/conn")), "{body}");
    // ALPN picked HTTP/2, which always keeps the connection.
    assert_eq!(res.version(), &Version::Other("HTTP/2.0".into()));
    assert!(res.is_keep_alive());

    let (_, body) = within("tls post_form", async {
        text(
            client
                .post_form(format!("{base}/form"), [("k", ["v"])])
                .await
                .unwrap(),
        )
        .await
    })
    .await;
    assert_eq!(body, "k=v;");

    let err = within(
        "tls without the CA",
        Client::new().get(format!("{base}/conn")).into_future(),
    )
    .await
    .unwrap_err();
    assert!(err.as_http().is_some_and(|e| e.is_tls()), "{err:?}");
    server.stop(Duration::from_secs(1)).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_end_to_end_through_a_ctx_route() {
    let site = Site::new();
    let sock = site.dir.path().join("compat.sock");
    let server = router(site.root()).bind_unix(&sock).await.unwrap();
    let ctx = Ctx::new().route("app.local", Endpoint::Unix(sock.clone()));
    let client = Client::new();

    let (res, body) = within("unix get", async {
        text(
            client
                .get("http://app.local/conn")
                .ctx(ctx.clone())
                .await
                .unwrap(),
        )
        .await
    })
    .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(body.starts_with("peer=unix:"), "{body}");
    assert!(body.contains("uri=//app.local/conn"), "{body}");

    let (_, body) = within("unix post", async {
        text(
            client
                .post("http://app.local/echo")
                .ctx(ctx.clone())
                .body("over a socket")
                .await
                .unwrap(),
        )
        .await
    })
    .await;
    assert_eq!(body, "over a socket");

    server.stop(Duration::from_secs(1)).await;
    assert!(!sock.exists(), "the socket file is removed on stop");
}

#[tokio::test]
async fn an_invalid_url_is_a_typed_error_naming_it() {
    let err = Client::new().get("http://exa mple/").await.unwrap_err();
    assert!(
        matches!(err.as_http(), Some(paf_compat::paf_core::Error::InvalidUrl { url, .. }) if url == "http://exa mple/"),
        "{err:?}"
    );
}

#[tokio::test]
async fn conn_closed_is_called_once_per_connection_with_its_conn() {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let seen = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(Mutex::new(Vec::new()));
    let (seen_in, closed_in) = (seen.clone(), closed.clone());
    let server = paf_compat::server::Server::make(move |conn: paf_compat::server::Conn, _, _| {
        seen_in.lock().unwrap().push(conn.id);
        async { paf_compat::server::respond_string(Status::Ok, "hello", None) }
    })
    .conn_closed(move |conn| closed_in.lock().unwrap().push((conn.id, conn.peer.clone())));
    let running = server
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = running.local_addr().unwrap();
    let mut peers = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        peers.push(stream.local_addr().unwrap());
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        within("a response", stream.read_to_end(&mut answer))
            .await
            .unwrap();
        assert!(answer.ends_with(b"hello"));
    }
    within("two closed connections", async {
        while closed.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    let closed = closed.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1], "two connections, two ids");
    let closed_ids: Vec<_> = closed.iter().map(|(id, _)| *id).collect();
    assert_eq!(closed_ids, seen, "each connection reported once, in order");
    for ((_, peer), ours) in closed.iter().zip(&peers) {
        assert_eq!(peer.to_string(), ours.to_string());
    }
    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn head_keeps_the_content_length_the_callback_gave_and_304_has_none() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = paf_compat::server::Server::make(|_, req: Request, _| async move {
        // As cohttp_server_lwt answers HEAD: the GET's headers, no body.
        let headers = Header::init_with("content-length", "1234");
        let status = if req.resource() == "/cached" {
            Status::NotModified
        } else {
            Status::Ok
        };
        paf_compat::server::respond(status, Body::empty(), Some(headers))
    });
    let running = server
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = running.local_addr().unwrap();
    // hyper removes Content-Length from every 304 (documented on the
    // server module); a HEAD keeps it.
    for (head, kept) in [
        (
            "HEAD /file HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            true,
        ),
        (
            "GET /cached HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            false,
        ),
    ] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        within("a response", stream.read_to_string(&mut answer))
            .await
            .unwrap();
        assert_eq!(
            answer
                .to_ascii_lowercase()
                .contains("\r\ncontent-length: 1234\r\n"),
            kept,
            "{head:?}: {answer:?}"
        );
        assert!(answer.ends_with("\r\n\r\n"), "no body: {answer:?}");
    }
    running.stop(Duration::from_secs(1)).await;
}
