//! The blocking client against the compat server, which runs in a
//! background tokio runtime while the test thread blocks.
#![cfg(all(feature = "hyper", feature = "ureq"))]
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{tcp_server, tls_server, Site, TestCert};
use paf_compat::blocking::{Body, Client};
use paf_compat::code::{Method, Status};
use paf_compat::server::Running;
use paf_compat::{Ctx, Header, Request};

/// A runtime serving the router, and the server's base URL.
struct Background {
    runtime: tokio::runtime::Runtime,
    server: Option<Running>,
    base: String,
    _site: Site,
}

impl Background {
    fn start(tls: Option<&TestCert>) -> Background {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let site = Site::new();
        let server = runtime.block_on(async {
            match tls {
                Some(cert) => tls_server(&site, cert).await,
                None => tcp_server(&site).await,
            }
        });
        let base = server.url().unwrap();
        Background {
            runtime,
            server: Some(server),
            base,
            _site: site,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop(Duration::from_secs(1)));
        }
    }
}

fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(20)).build()
}

#[test]
fn blocking_get_answers_status_headers_and_body() {
    let bg = Background::start(None);
    let (res, body) = client()
        .get(bg.url("/echo?x=1"))
        .headers(Header::init_with("x-custom", "kept"))
        .send()
        .unwrap();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get("x-method"), Some("GET"));
    assert_eq!(res.headers().get("x-resource"), Some("/echo?x=1"));
    assert_eq!(res.headers().get("x-custom"), Some("kept"));
    assert_eq!(body.to_string().unwrap(), "");
    assert_eq!(client().backend(), "ureq");
}

#[test]
fn blocking_head_answers_the_response_alone() {
    let bg = Background::start(None);
    let res = client().head(bg.url("/echo")).send().unwrap();
    assert_eq!(res.headers().get("x-method"), Some("HEAD"));
}

#[test]
fn blocking_methods_send_their_method_and_body() {
    let bg = Background::start(None);
    let c = client();
    let u = bg.url("/echo");
    for (method, call) in [
        ("DELETE", c.delete(&u)),
        ("POST", c.post(&u)),
        ("PUT", c.put(&u)),
        ("PATCH", c.patch(&u)),
        ("OPTIONS", c.call(Method::Options, &u)),
    ] {
        let (res, body) = call.body(format!("to {method}")).send().unwrap();
        assert_eq!(res.headers().get("x-method"), Some(method));
        assert_eq!(body.to_string().unwrap(), format!("to {method}"));
    }
}

#[test]
fn blocking_chunked_flag_picks_transfer_encoding_or_content_length() {
    let bg = Background::start(None);
    let (res, _) = client()
        .post(bg.url("/echo"))
        .body("hello")
        .chunked(true)
        .send()
        .unwrap();
    assert_eq!(res.headers().get("x-te"), Some("chunked"));
    assert_eq!(res.headers().get("x-cl"), None);

    let reader = Body::of_reader(std::io::Cursor::new(b"hello".to_vec()), None);
    let (res, body) = client()
        .post(bg.url("/echo"))
        .body(reader)
        .chunked(false)
        .send()
        .unwrap();
    assert_eq!(res.headers().get("x-cl"), Some("5"));
    assert_eq!(res.headers().get("x-te"), None);
    assert_eq!(body.to_string().unwrap(), "hello");
}

#[test]
fn blocking_post_form_round_trips() {
    let bg = Background::start(None);
    let (res, body) = client()
        .post_form(bg.url("/form"), [("a b", vec!["1", "2,3"]), ("c", vec![])])
        .send()
        .unwrap();
    assert_eq!(res.headers().get("x-is-form"), Some("true"));
    assert_eq!(body.to_string().unwrap(), "a b=1|2,3;c=;");
}

#[test]
fn blocking_callv_answers_in_order_on_one_connection() {
    let bg = Background::start(None);
    let conn = || {
        (
            Request::make(bg.url("/conn").parse().unwrap()),
            Body::empty(),
        )
    };
    let echo = |text: &str| {
        let req = Request::builder(bg.url("/echo").parse().unwrap())
            .meth(Method::Put)
            .build();
        (req, Body::of_string(text.to_owned()))
    };
    let answers = client()
        .callv(bg.url("/"), [conn(), echo("two"), conn()])
        .send()
        .unwrap();
    let bodies: Vec<String> = answers
        .into_iter()
        .map(|(res, body)| {
            assert_eq!(res.status(), Status::Ok);
            body.to_string().unwrap()
        })
        .collect();
    assert!(bodies[0].starts_with("peer=127.0.0.1:"), "{}", bodies[0]);
    assert_eq!(bodies[1], "two");
    assert_eq!(
        bodies[0], bodies[2],
        "the same connection carried the batch"
    );
}

#[test]
fn blocking_tls_with_the_test_ca_in_the_ctx() {
    let cert = TestCert::localhost();
    let bg = Background::start(Some(&cert));
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let (res, body) = client().get(bg.url("/conn")).ctx(ctx).send().unwrap();
    assert_eq!(res.status(), Status::Ok);
    // ureq speaks HTTP/1.1 only.
    assert_eq!(res.version(), &paf_compat::code::Version::Http1_1);
    assert!(body.to_string().unwrap().contains("tls=true"));
}

#[test]
fn blocking_respond_helpers_are_seen_as_sent() {
    let bg = Background::start(None);
    let (res, mut body) = client().get(bg.url("/respond_need_auth")).send().unwrap();
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(
        res.headers().get("www-authenticate"),
        Some("Basic realm=\"paf realm\"")
    );
    assert!(body.is_empty().unwrap());
}

/// `Client.map_context` on the blocking client: a host routed to the
/// server's address by the mapped context; the original client is unchanged.
#[test]
fn map_context_routes_the_blocking_clients_calls() {
    let bg = Background::start(None);
    let addr = bg.server.as_ref().unwrap().local_addr().unwrap();
    let plain = client();
    let routed = plain.map_context(|ctx| {
        ctx.route(
            "app.local",
            paf_compat::paf_core::ctx::Endpoint::TcpAddr(addr),
        )
    });
    let (res, body) = routed.get("http://app.local/echo").send().unwrap();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get("x-host"), Some("app.local"));
    assert_eq!(body.to_string().unwrap(), "");
    assert!(plain.context().is_none());
    assert!(plain.get("http://app.local/echo").send().is_err());
}
