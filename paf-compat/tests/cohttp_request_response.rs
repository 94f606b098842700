//! The request and response cases of CoHTTP's tests, ported:
//! `cohttp/test/test_request.ml` ("Auth", "Encoding", "Parse URI" and the
//! `Request.make` round trip) and `cohttp/test/test_response.ml`
//! ("Encoding", "Bodyless statuses"). The "Parse URI" cases go through the
//! compat server on a real socket, since hyper, not CoHTTP's parser, reads
//! the request line here.
#![allow(clippy::unwrap_used)]

use paf_compat::auth::Credential;
use paf_compat::code::{Method, Status};
use paf_compat::transfer::{Encoding, HasBody};
use paf_compat::{Header, Request, Response};

fn uri_userinfo() -> http::Uri {
    "http://foo:bar%2525@ocaml.org".parse().unwrap()
}

fn header_auth() -> Header {
    Header::init().add_authorization(&Credential::Basic("qux".into(), "qwerty".into()))
}

/// Mirrors cohttp/test/test_request.ml "URI has user info"
#[test]
fn uri_has_userinfo() {
    // The OCaml test checks the URI itself, not a request built from it.
    let uri = paf_compat::Uri::of_string(&uri_userinfo().to_string());
    assert!(uri.userinfo().is_some());
    assert_eq!(uri.user().as_deref(), Some("foo"));
}

/// Mirrors cohttp/test/test_request.ml "from URI - do not override"
#[test]
fn auth_uri_no_override() {
    let req = Request::builder(uri_userinfo())
        .headers(header_auth())
        .build();
    assert_eq!(
        req.headers().get_authorization(),
        header_auth().get_authorization(),
        "auth uri no override"
    );
}

/// Mirrors cohttp/test/test_request.ml "from URI" (one level of
/// percent-decoding: `bar%2525` is `bar%25`)
#[test]
fn auth_uri() {
    let req = Request::make(uri_userinfo());
    assert_eq!(
        req.headers().get_authorization(),
        Some(Credential::Basic("foo".into(), "bar%25".into()))
    );
}

fn someuri() -> http::Uri {
    "http://someuri.com".parse().unwrap()
}

/// Mirrors cohttp/test/test_request.ml "from content-length header"
#[test]
fn encoding_content_length_header() {
    let req = Request::builder(someuri())
        .headers(Header::of_list([("content-length", "100")]))
        .build();
    assert_eq!(req.encoding(), Encoding::Fixed(100));
}

/// Mirrors cohttp/test/test_request.ml "from transfer-encoding header"
#[test]
fn encoding_transfer_encoding_header() {
    let req = Request::builder(someuri())
        .headers(Header::of_list([("transfer-encoding", "chunked")]))
        .build();
    assert_eq!(req.encoding(), Encoding::Chunked);
}

/// Mirrors cohttp/test/test_request.ml "with both headers"
#[test]
fn encoding_both_headers() {
    let req = Request::builder(someuri())
        .headers(Header::of_list([
            ("transfer-encoding", "chunked"),
            ("content-length", "100"),
        ]))
        .build();
    assert_eq!(req.encoding(), Encoding::Chunked);
}

/// Mirrors cohttp/test/test_request.ml "from both optional argument and
/// headers"
#[test]
fn encoding_header_opt_argument() {
    let req = Request::builder(someuri())
        .encoding(Encoding::Chunked)
        .headers(Header::of_list([("content-length", "100")]))
        .build();
    assert_eq!(req.encoding(), Encoding::Fixed(100));
}

/// Mirrors cohttp/test/test_request.ml "null content-length": a `PUT` with
/// `body_length:0` declares `content-length: 0`, after `host` and
/// `user-agent`.
#[test]
fn null_content_length_header() {
    let req = Request::builder(someuri())
        .meth(Method::Put)
        .encoding(Encoding::Fixed(0))
        .build();
    assert_eq!(
        req.headers().to_list(),
        vec![
            ("host".to_string(), "someuri.com".to_string()),
            (
                "user-agent".to_string(),
                paf_compat::header::USER_AGENT.to_string()
            ),
            ("content-length".to_string(), "0".to_string()),
        ]
    );
    assert_eq!(req.resource(), "/");
}

/// Mirrors cohttp/test/test_request.ml "useless null content-length": a
/// `GET` made without a body length declares none.
#[test]
fn useless_null_content_length_header() {
    let req = Request::make(someuri());
    assert_eq!(req.headers().get("content-length"), None);
    assert_eq!(req.encoding(), Encoding::Unknown);
    assert_eq!(req.has_body(), HasBody::No);
}

/// Mirrors cohttp/test/test_request.ml "Request.make uri round-trip"
#[test]
fn uri_round_trip() {
    let uri: http::Uri = "https://foo@www.example.com/test".parse().unwrap();
    let expected = paf_compat::Uri::of_string("https://www.example.com/test");
    // CoHTTP's Request.uri is rebuilt from the resource and `Host`, so the
    // userinfo is not in it; the target keeps it.
    assert_eq!(Request::make(uri.clone()).uri(), expected);
    assert_eq!(Request::make(uri.clone()).target(), &uri);
}

/// Mirrors cohttp/test/test_response.ml "default is chunked"
#[test]
fn default_encoding_is_chunked() {
    assert_eq!(Response::make().encoding(), Encoding::Chunked);
}

/// Mirrors cohttp/test/test_response.ml "explicit encoding"
#[test]
fn explicit_encoding_is_used() {
    let res = Response::builder()
        .status(Status::Ok)
        .encoding(Encoding::Fixed(5))
        .build();
    assert_eq!(res.encoding(), Encoding::Fixed(5));
}

/// Mirrors cohttp/test/test_response.ml "from headers"
#[test]
fn encoding_from_headers() {
    let res = Response::builder()
        .headers(Header::of_list([("content-length", "42")]))
        .build();
    assert_eq!(res.encoding(), Encoding::Fixed(42));
}

fn bodyless_statuses() -> [Status; 7] {
    [
        Status::Continue,
        Status::SwitchingProtocols,
        Status::Processing,
        Status::Checkpoint,
        Status::NoContent,
        Status::NotModified,
        Status::Code(199),
    ]
}

fn assert_no_framing(name: &str, res: &Response) {
    assert_eq!(res.encoding(), Encoding::Unknown, "{name}");
    assert_eq!(res.headers().get("transfer-encoding"), None, "{name}");
    assert_eq!(res.headers().get("content-length"), None, "{name}");
}

/// Mirrors cohttp/test/test_response.ml "no encoding by default"
#[test]
fn bodyless_has_no_encoding() {
    for status in bodyless_statuses() {
        let res = Response::builder().status(status).build();
        assert_no_framing(&status.to_string(), &res);
    }
}

/// Mirrors cohttp/test/test_response.ml "ignores explicit encoding"
#[test]
fn bodyless_ignores_explicit_encoding() {
    for status in bodyless_statuses() {
        for encoding in [Encoding::Chunked, Encoding::Fixed(0)] {
            let res = Response::builder()
                .status(status)
                .encoding(encoding)
                .build();
            assert_no_framing(&format!("{status} {encoding}"), &res);
        }
    }
}

/// Mirrors cohttp/test/test_response.ml "no body"
#[test]
fn bodyless_has_no_body() {
    for status in bodyless_statuses() {
        let res = Response::builder().status(status).build();
        assert_eq!(res.has_body(), HasBody::No, "{status}");
    }
}

/// Mirrors cohttp/test/test_request.ml "Parse URI", every case: raw
/// request lines sent to the compat server, whose callback reports
/// `Request.uri` and `Request.resource`. The expected URIs are built with
/// [`paf_compat::Uri`] the way the OCaml test builds them.
#[cfg(feature = "hyper")]
mod parse_uri {
    use std::time::Duration;

    use paf_compat::code::Status;
    use paf_compat::server::{self, Conn, Server};
    use paf_compat::{Body, Header, Request, Uri};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends `head` as is and gives back the `x-uri` and `x-resource` the
    /// callback saw, or the status line when it was not 200.
    async fn parse(head: &str) -> (String, String) {
        let server = Server::make(|_: Conn, req: Request, _: Body| async move {
            let headers = Header::init()
                .add("x-uri", req.uri().to_string())
                .add("x-resource", req.resource())
                .add("connection", "close");
            server::respond_string(Status::Ok, "", Some(headers))
        });
        let running = server
            .bind_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut stream = tokio::net::TcpStream::connect(running.local_addr().unwrap())
            .await
            .unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        running.stop(Duration::from_secs(1)).await;
        let field = |name: &str| {
            answer
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_owned)
        };
        match (field("x-uri"), field("x-resource")) {
            (Some(uri), Some(resource)) => (uri, resource),
            _ => (
                answer.lines().next().unwrap_or_default().to_owned(),
                String::new(),
            ),
        }
    }

    async fn uri_is(target: &str, host: Option<&str>, expected: Uri) {
        let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
        let head = format!("GET {target} HTTP/1.1\r\n{host}\r\n");
        let (uri, _) = parse(&head).await;
        assert_eq!(uri, expected.to_string(), "{head:?}");
    }

    async fn refused(head: &str) {
        let (status, _) = parse(head).await;
        assert!(status.starts_with("HTTP/1.1 400"), "{head:?}: {status}");
    }

    const HOST: Option<&str> = Some("example.com");

    #[tokio::test]
    async fn simple_with_host_and_port() {
        uri_is("/", None, Uri::of_string("/")).await;
        uri_is("/", HOST, Uri::of_string("//example.com/")).await;
        let port = Some("example.com:8080");
        uri_is("/", port, Uri::of_string("//example.com:8080/")).await;
    }

    #[tokio::test]
    async fn double_and_triple_slash() {
        uri_is("//", None, Uri::of_string("").with_path("//")).await;
        uri_is("//", HOST, Uri::of_string("//example.com//")).await;
        uri_is("///", None, Uri::of_string("").with_path("///")).await;
        uri_is("///", HOST, Uri::of_string("//example.com///")).await;
    }

    #[tokio::test]
    async fn no_slash_is_a_bad_request() {
        refused("GET foo HTTP/1.1\r\n\r\n").await;
        refused("GET foo HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
        refused("GET ?foo HTTP/1.1\r\n\r\n").await;
        refused("GET ?foo HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
    }

    /// "empty" and "empty with host": CoHTTP reads `GET  HTTP/1.1` (an
    /// empty target) as `/`; hyper refuses the request line (400).
    #[tokio::test]
    async fn empty_target_is_refused_by_hyper() {
        refused("GET  HTTP/1.1\r\n\r\n").await;
        refused("GET  HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
    }

    #[tokio::test]
    async fn path_like_scheme_is_absolute_whatever_host_says() {
        let expected = || Uri::of_string("http://example.net/");
        uri_is("http://example.net", None, expected()).await;
        uri_is("http://example.net", HOST, expected()).await;
        let (_, resource) =
            parse("GET http://example.net HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
        assert_eq!(resource, "http://example.net/");
    }

    #[tokio::test]
    async fn path_like_host_port_stays_a_path() {
        let path = "//example.net:8080";
        uri_is(path, None, Uri::of_string("").with_path(path)).await;
        uri_is(path, HOST, Uri::of_string("//example.com").with_path(path)).await;
    }

    #[tokio::test]
    async fn query_string() {
        uri_is("/?foo", None, Uri::of_string("/?foo")).await;
        uri_is("/?foo", HOST, Uri::of_string("//example.com/?foo")).await;
        let (_, resource) = parse("GET /?foo HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
        assert_eq!(resource, "/?foo");
    }

    /// "CONNECT" and "CONNECT with host": the URI comes from the target,
    /// not from `Host`, and the resource is the authority.
    #[tokio::test]
    async fn connect_takes_its_target_not_host() {
        let expected = Uri::of_string("//vpn.example.net:443").to_string();
        for host in ["", "Host: vpn.example.com:443\r\n"] {
            let head = format!("CONNECT vpn.example.net:443 HTTP/1.1\r\n{host}\r\n");
            let (uri, resource) = parse(&head).await;
            assert_eq!(uri, expected, "{head:?}");
            assert_eq!(resource, "vpn.example.net:443");
        }
    }

    #[tokio::test]
    async fn options_asterisk() {
        let (uri, resource) = parse("OPTIONS * HTTP/1.1\r\n\r\n").await;
        assert_eq!(uri, Uri::of_string("").to_string());
        assert_eq!(resource, "*");
        let (uri, _) = parse("OPTIONS * HTTP/1.1\r\nHost: example.com:443\r\n\r\n").await;
        assert_eq!(uri, Uri::of_string("//example.com:443").to_string());
    }

    /// "parent traversal": the dot segments are removed, so a prefix route
    /// or an access check sees `/etc/shadow`; the resource stays as sent.
    #[tokio::test]
    async fn parent_traversal_is_resolved() {
        let target = "/../../../../etc/shadow";
        uri_is(target, None, Uri::of_string("/etc/shadow")).await;
        uri_is(target, HOST, Uri::of_string("//example.com/etc/shadow")).await;
        let (_, resource) = parse(&format!("GET {target} HTTP/1.1\r\n\r\n")).await;
        assert_eq!(resource, target);
        uri_is("/files/../data.json", None, Uri::of_string("/data.json")).await;
    }
}
