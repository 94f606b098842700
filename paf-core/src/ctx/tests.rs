//! The context's tests.

use super::*;
use std::io;

use crate::BoxFuture;

fn uri(s: &str) -> http::Uri {
    s.parse().unwrap()
}

#[test]
fn https_url_implies_tls_and_port_443() {
    let ctx = Ctx::new().with_uri(&uri("https://Example.ORG/x")).unwrap();
    assert!(ctx.tls_enabled());
    assert_eq!(ctx.host(), Some("example.org"));
    assert_eq!(ctx.port(), Some(443));
    assert_eq!(
        ctx.endpoint().unwrap(),
        Endpoint::Tcp {
            host: "example.org".into(),
            port: 443
        }
    );
}

#[test]
fn http_url_with_port_and_ipv6_literal() {
    let ctx = Ctx::new().with_uri(&uri("http://[::1]:8080/")).unwrap();
    assert!(!ctx.tls_enabled());
    assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://[::1]:8080");
}

#[test]
fn url_crate_urls_fill_the_same_way() {
    let url = url::Url::parse("https://127.0.0.1:8443/a?b").unwrap();
    let ctx = Ctx::new().with_url(&url).unwrap();
    assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://127.0.0.1:8443");
    assert!(ctx.tls_enabled());
}

#[test]
fn bad_urls_are_invalid_url_errors() {
    assert!(matches!(
        Ctx::new().with_uri(&uri("/relative")),
        Err(Error::InvalidUrl { .. })
    ));
    let err = Ctx::new().with_uri(&uri("ftp://host/")).unwrap_err();
    assert!(
        err.to_string().contains("unsupported scheme \"ftp\""),
        "{err}"
    );
    let url = url::Url::parse("unix:/tmp/x").unwrap();
    assert!(matches!(
        Ctx::new().with_url(&url),
        Err(Error::InvalidUrl { .. })
    ));
}

#[test]
fn route_beats_context_endpoint_beats_url() {
    let ctx = Ctx::new()
        .with_uri(&uri("http://api.local/"))
        .unwrap()
        .with_unix_socket("/run/all.sock");
    assert_eq!(
        ctx.endpoint().unwrap(),
        Endpoint::Unix("/run/all.sock".into())
    );
    let ctx = ctx.route("API.local", Endpoint::Unix("/run/api.sock".into()));
    assert_eq!(
        ctx.endpoint().unwrap(),
        Endpoint::Unix("/run/api.sock".into())
    );
    assert_eq!(
        ctx.endpoint_for("other.local").unwrap(),
        Endpoint::Unix("/run/all.sock".into())
    );
}

#[test]
fn explicit_tls_overrides_scheme() {
    let ctx = Ctx::new()
        .with_uri(&uri("https://h/"))
        .unwrap()
        .with_tls(false);
    assert!(!ctx.tls_enabled());
    let ctx = Ctx::new()
        .with_uri(&uri("http://h/"))
        .unwrap()
        .with_tls(true);
    assert!(ctx.tls_enabled());
}

#[test]
fn empty_context_says_what_it_lacks() {
    let err = Ctx::new().endpoint().unwrap_err();
    assert!(matches!(err, Error::NoTransport { .. }));
    assert!(
        err.to_string().contains("no host and no explicit endpoint"),
        "{err}"
    );
}

#[test]
fn keys_separate_endpoints_and_tls_settings() {
    let a = Ctx::new().with_uri(&uri("http://a/")).unwrap();
    let a2 = Ctx::new().with_uri(&uri("http://a/other")).unwrap();
    let b = Ctx::new().with_uri(&uri("https://a/")).unwrap();
    assert_eq!(a.key().unwrap(), a2.key().unwrap());
    assert_ne!(a.key().unwrap(), b.key().unwrap());
    let u1 = a.clone().with_user_endpoint("mem", 1u8);
    let u1b = a.clone().with_user_endpoint("mem", 1u8);
    let u2 = a.with_user_endpoint("mem", 2u8);
    assert_eq!(u1.key().unwrap(), u1b.key().unwrap());
    assert_ne!(u1.key().unwrap(), u2.key().unwrap());
    let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
    let b2 = b.clone().with_ca_pem(ca.cert.pem().as_bytes()).unwrap();
    assert_ne!(b.key().unwrap(), b2.key().unwrap());
}

#[tokio::test]
async fn unregistered_user_transport_is_named_in_the_error() {
    let ctx = Ctx::new()
        .with_uri(&uri("http://svc/"))
        .unwrap()
        .with_user_endpoint("nowhere", 3u16);
    let err = ctx.connect().await.unwrap_err();
    assert!(matches!(err, Error::NoTransport { .. }));
    assert!(err.to_string().contains("\"nowhere\""), "{err}");
}

struct Refuse;
impl Transport for Refuse {
    type Endpoint = String;
    fn connect(&self, _: &String) -> BoxFuture<'static, io::Result<BoxIo>> {
        Box::pin(async { Err(io::Error::from(io::ErrorKind::ConnectionRefused)) })
    }
}

#[tokio::test]
async fn user_transport_with_wrong_value_type_is_refused() {
    let ctx = Ctx::new()
        .with_uri(&uri("http://svc/"))
        .unwrap()
        .with_transport("refuse", Refuse)
        .with_user_endpoint("refuse", 3u16);
    let err = ctx.connect().await.unwrap_err();
    assert!(err.to_string().contains("alloc::string::String"), "{err}");
    let ctx = ctx.with_user_endpoint("refuse", "x".to_string());
    let err = ctx.connect().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(err.to_string(), "cannot connect to refuse:\"x\"");
}

#[tokio::test]
async fn refused_tcp_connection_is_a_connect_error() {
    // Bind then drop to find a port with nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ctx = Ctx::new()
        .with_uri(&uri(&format!("http://127.0.0.1:{port}/")))
        .unwrap();
    let err = ctx.connect().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));
}

#[tokio::test]
async fn missing_unix_socket_is_a_connect_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.sock");
    let ctx = Ctx::new()
        .with_uri(&uri("http://localhost/"))
        .unwrap()
        .with_unix_socket(&path);
    let err = ctx.connect().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.to_string().contains("absent.sock"));
}
