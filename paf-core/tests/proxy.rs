//! Proxies as a transport of the context: `Ctx::connect` and
//! `Ctx::connect_blocking` through a real tinyproxy (CONNECT tunnels to a
//! plain and a TLS origin, basic auth, NO_PROXY), through hand-written
//! proxies for what tinyproxy cannot show (early bytes after the head, a
//! silent proxy, a proxy over TLS), and the pure parts: proxy URLs, the
//! environment's variables, NO_PROXY lists.
//!
//! Without tinyproxy on PATH the tests that need it pass with a note,
//! unless `PAF_REQUIRE_PEERS=1`, where they fail.
#![cfg(feature = "tokio")]
// clippy.toml allows unwrap in `#[test]` functions; the helpers here are
// test code too, and a failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    io::{self, Read, Write},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use paf_core::{
    ctx::{Ctx, Endpoint, NoProxy, Proxies, Proxy, ProxyRefused, Scheme},
    tls, Error,
};
use paf_testkit::Tinyproxy;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_rustls::TlsAcceptor;

// ---------------------------------------------------------------------------
// Peers: origins and hand-written proxies.

/// Reads a request head and answers with a body naming what was asked.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, who: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next().unwrap_or_default().to_string();
    let body = format!("{who} saw {line}");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A plain HTTP/1.1 origin on loopback.
async fn http_origin() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, "origin"));
        }
    });
    addr
}

/// A certificate for 127.0.0.1 and `localhost`: (cert PEM, key PEM).
fn certificate() -> (String, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    (cert.cert.pem(), cert.signing_key.serialize_pem())
}

fn acceptor(cert: &(String, String)) -> TlsAcceptor {
    let mut config = tls::server_config_from_pem(cert.0.as_bytes(), cert.1.as_bytes()).unwrap();
    config.alpn_protocols = vec![tls::ALPN_HTTP11.to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// An HTTPS origin with `cert`.
async fn tls_origin(cert: &(String, String)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = acceptor(cert);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    answer(tls, "tls origin").await;
                }
            });
        }
    });
    addr
}

/// Reads a CONNECT head; returns its target.
async fn read_connect<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? != 1 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    let mut words = head.split(' ');
    (words.next()? == "CONNECT").then_some(())?;
    words.next().map(str::to_string)
}

/// A CONNECT proxy over TLS (with `cert`) that tunnels for real.
async fn tls_proxy(cert: &(String, String)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = acceptor(cert);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut client) = acceptor.accept(stream).await else {
                    return;
                };
                let Some(target) = read_connect(&mut client).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    addr
}

/// A proxy that answers CONNECT with `answer` in one write (head and any
/// early bytes), then echoes what it receives; or never answers when
/// `answer` is empty.
async fn scripted_proxy(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_connect(&mut stream).await.is_none() {
                    return;
                }
                if answer.is_empty() {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let _ = stream.write_all(answer).await;
                let mut buf = [0u8; 256];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    let _ = stream.write_all(&buf[..n]).await;
                }
            });
        }
    });
    addr
}

/// A port with nothing listening.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------
// Clients.

fn ctx(url: &str) -> Ctx {
    Ctx::new().with_uri(&url.parse().unwrap()).unwrap()
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n")
}

/// The response body once complete (the head's Content-Length read).
fn body_of(response: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))?
        .parse()
        .ok()?;
    (body.len() >= length).then(|| body[..length].to_string())
}

/// GET `path` through `Ctx::connect`: (body, connection info).
async fn get_async(
    ctx: &Ctx,
    path: &str,
) -> Result<(String, paf_core::ctx::ConnectionInfo), Error> {
    let mut conn = ctx.connect().await?;
    conn.io.write_all(request(path).as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(body) = body_of(&response) {
            return Ok((body, conn.info));
        }
        let n = conn.io.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed early: {:?}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&buf[..n]);
    }
}

/// GET `path` through `Ctx::connect_blocking`, off the runtime.
async fn get_blocking(
    ctx: &Ctx,
    path: &str,
) -> Result<(String, paf_core::ctx::ConnectionInfo), Error> {
    let ctx = ctx.clone();
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let mut conn = ctx.connect_blocking()?;
        conn.io.write_all(request(&path).as_bytes()).unwrap();
        let mut response = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            if let Some(body) = body_of(&response) {
                return Ok((body, conn.info));
            }
            let n = conn.io.read(&mut buf).unwrap();
            assert!(n > 0, "closed early");
            response.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap()
}

/// Both ways, for tests that expect the same outcome from each.
async fn get_both(
    ctx: &Ctx,
    path: &str,
) -> [Result<(String, paf_core::ctx::ConnectionInfo), Error>; 2] {
    [get_async(ctx, path).await, get_blocking(ctx, path).await]
}

fn refusal(err: &Error) -> &ProxyRefused {
    ProxyRefused::find(err).unwrap_or_else(|| panic!("not a proxy refusal: {err:?}"))
}

// ---------------------------------------------------------------------------
// Through tinyproxy.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_target_goes_through_a_connect_tunnel() {
    let Some(proxy) = Tinyproxy::start(None) else {
        return;
    };
    let origin = http_origin().await;
    let ctx = ctx(&format!("http://{origin}/")).with_proxy(Proxy::all(&proxy.url(None)).unwrap());
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&ctx, "/plain").await)
    {
        let (body, info) = result.unwrap_or_else(|e| panic!("{way}: {e:?}"));
        assert_eq!(body, "origin saw GET /plain HTTP/1.1", "{way}");
        assert_eq!(
            info.proxy.as_deref(),
            Some(proxy.url(None).as_str()),
            "{way}"
        );
        assert_eq!(
            info.peer_addr.map(|a| a.port()),
            Some(proxy.port()),
            "{way}"
        );
        assert_eq!(
            info.endpoint.to_string(),
            format!("tcp://{origin}"),
            "{way}"
        );
        assert!(!info.tls, "{way}");
    }
    assert!(proxy.saw_connect(&origin.to_string()), "{}", proxy.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_target_is_verified_through_the_tunnel() {
    let Some(proxy) = Tinyproxy::start(None) else {
        return;
    };
    let cert = certificate();
    let origin = tls_origin(&cert).await;
    let base =
        ctx(&format!("https://{origin}/")).with_proxy(Proxy::https(&proxy.url(None)).unwrap());
    let trusting = base.clone().with_ca_pem(cert.0.as_bytes()).unwrap();
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&trusting, "/secret").await)
    {
        let (body, info) = result.unwrap_or_else(|e| panic!("{way}: {e:?}"));
        assert_eq!(body, "tls origin saw GET /secret HTTP/1.1", "{way}");
        assert!(info.tls, "{way}");
        assert_eq!(info.alpn.as_deref(), Some(tls::ALPN_HTTP11), "{way}");
        assert_eq!(
            info.peer_addr.map(|a| a.port()),
            Some(proxy.port()),
            "{way}"
        );
    }
    assert!(proxy.saw_connect(&origin.to_string()), "{}", proxy.log());
    // The origin's certificate, not the proxy, is what TLS checks.
    for (way, result) in ["async", "blocking"].iter().zip(get_both(&base, "/").await) {
        let err = result.expect_err("an untrusted origin certificate");
        assert!(err.is_tls(), "{way}: {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_are_sent_and_refusals_are_typed() {
    // tinyproxy allows only [A-Za-z0-9._-] in its BasicAuth line; "%2E" in
    // the URL checks the percent-decoding end to end.
    let Some(proxy) = Tinyproxy::start(Some(("paf", "s3cret.pw"))) else {
        return;
    };
    let origin = http_origin().await;
    let url = format!("http://{origin}/");

    let good = ctx(&url).with_proxy(Proxy::all(&proxy.url(Some("paf:s3cret%2Epw"))).unwrap());
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&good, "/auth").await)
    {
        let (body, _) = result.unwrap_or_else(|e| panic!("{way}: {e:?}"));
        assert_eq!(body, "origin saw GET /auth HTTP/1.1", "{way}");
    }
    let explicit = ctx(&url).with_proxy(
        Proxy::all(&proxy.url(None))
            .unwrap()
            .with_basic_auth("paf", "s3cret.pw"),
    );
    assert!(get_async(&explicit, "/").await.is_ok());

    let missing = ctx(&url).with_proxy(Proxy::all(&proxy.url(None)).unwrap());
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&missing, "/").await)
    {
        let err = result.expect_err("no credentials");
        assert!(err.is_connect(), "{way}: {err:?}");
        let refused = refusal(&err);
        assert_eq!(refused.status(), 407, "{way}");
        assert!(refused.is_auth_failure());
        assert_eq!(refused.proxy(), format!("127.0.0.1:{}", proxy.port()));
        let Error::Connect { source, .. } = &err else {
            unreachable!()
        };
        assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            source.to_string(),
            format!(
                "proxy 127.0.0.1:{} answered 407 Proxy Authentication Required",
                proxy.port()
            )
        );
    }
    // tinyproxy 1.11 answers wrong credentials with 401, not 407.
    let wrong = ctx(&url).with_proxy(Proxy::all(&proxy.url(Some("paf:nope"))).unwrap());
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&wrong, "/").await)
    {
        let err = result.expect_err("wrong credentials");
        let refused = refusal(&err);
        assert!(refused.is_auth_failure(), "{way}: {refused}");
        assert!(!err.to_string().contains("nope"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_go_direct() {
    let Some(proxy) = Tinyproxy::start(None) else {
        return;
    };
    let direct = http_origin().await;
    let proxied = http_origin().await;
    let rule = Proxy::all(&proxy.url(None))
        .unwrap()
        .with_no_proxy(NoProxy::parse(&format!(
            " example.org, 127.0.0.1:{} ",
            direct.port()
        )));
    let to_direct = ctx(&format!("http://{direct}/")).with_proxy(rule.clone());
    let to_proxied = ctx(&format!("http://{proxied}/")).with_proxy(rule);
    assert!(to_direct.proxy().is_none());
    assert!(to_proxied.proxy().is_some());
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&to_direct, "/d").await)
    {
        let (body, info) = result.unwrap_or_else(|e| panic!("{way}: {e:?}"));
        assert_eq!(body, "origin saw GET /d HTTP/1.1");
        assert_eq!(info.proxy, None, "{way}");
        assert_eq!(info.peer_addr, Some(direct), "{way}");
    }
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&to_proxied, "/p").await)
    {
        let (_, info) = result.unwrap_or_else(|e| panic!("{way}: {e:?}"));
        assert!(info.proxy.is_some(), "{way}");
    }
    // The proxied requests were logged, so the log is being written: the
    // direct one would be there too had it gone through the proxy.
    assert!(proxy.saw_connect(&proxied.to_string()), "{}", proxy.log());
    assert!(
        !proxy.log().contains(&format!("CONNECT {direct} ")),
        "{}",
        proxy.log()
    );
}

// ---------------------------------------------------------------------------
// Through hand-written proxies.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_down_is_a_connect_error_naming_the_proxy() {
    let port = closed_port();
    let ctx = ctx("http://origin.example:80/")
        .with_proxy(Proxy::all(&format!("127.0.0.1:{port}")).unwrap());
    for (way, result) in ["async", "blocking"].iter().zip(get_both(&ctx, "/").await) {
        let err = result.expect_err("nothing listens");
        let Error::Connect { endpoint, source } = &err else {
            panic!("{way}: {err:?}")
        };
        assert_eq!(
            endpoint,
            &format!("proxy http://127.0.0.1:{port} (tunnel to tcp://origin.example:80)"),
            "{way}"
        );
        assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused, "{way}");
        assert!(ProxyRefused::find(&err).is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_after_the_proxy_head_are_kept() {
    let proxy = scripted_proxy(b"HTTP/1.1 200 Connection established\r\n\r\nEARLY").await;
    let ctx =
        ctx("http://origin.example/").with_proxy(Proxy::all(&format!("http://{proxy}")).unwrap());
    let mut conn = ctx.connect().await.unwrap();
    let mut early = [0u8; 5];
    conn.io.read_exact(&mut early).await.unwrap();
    assert_eq!(&early, b"EARLY");
    conn.io.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    conn.io.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");

    let (early, echo) = tokio::task::spawn_blocking(move || {
        let mut conn = ctx.connect_blocking().unwrap();
        let mut early = [0u8; 5];
        conn.io.read_exact(&mut early).unwrap();
        conn.io.write_all(b"pong").unwrap();
        let mut echo = [0u8; 4];
        conn.io.read_exact(&mut echo).unwrap();
        (early, echo)
    })
    .await
    .unwrap();
    assert_eq!(&early, b"EARLY");
    assert_eq!(&echo, b"pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_proxy_answers_are_connect_errors() {
    let garbage = scripted_proxy(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
    let ctx1 = ctx("http://origin.example/").with_proxy(Proxy::all(&garbage.to_string()).unwrap());
    for (way, result) in ["async", "blocking"].iter().zip(get_both(&ctx1, "/").await) {
        let err = result.expect_err("not HTTP");
        let Error::Connect { source, .. } = &err else {
            panic!("{way}: {err:?}")
        };
        assert_eq!(source.kind(), io::ErrorKind::InvalidData, "{way}");
        assert!(
            source.to_string().contains(&garbage.to_string()),
            "{source}"
        );
    }
    let gateway = scripted_proxy(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad").await;
    let ctx2 = ctx("http://origin.example/").with_proxy(Proxy::all(&gateway.to_string()).unwrap());
    for (way, result) in ["async", "blocking"].iter().zip(get_both(&ctx2, "/").await) {
        let err = result.expect_err("refused");
        assert_eq!(refusal(&err).status(), 502, "{way}");
        assert!(!refusal(&err).is_auth_failure());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_proxy_runs_into_the_connect_timeout() {
    let silent = scripted_proxy(b"").await;
    let ctx = ctx("http://origin.example/")
        .with_proxy(Proxy::all(&silent.to_string()).unwrap())
        .with_connect_timeout(Duration::from_millis(300));
    for (way, result) in ["async", "blocking"].iter().zip(get_both(&ctx, "/").await) {
        let err = result.expect_err("no answer");
        assert!(err.is_timeout() && err.is_connect(), "{way}: {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_carries_tls_inside_tls() {
    let proxy_cert = certificate();
    let origin_cert = certificate();
    let proxy = tls_proxy(&proxy_cert).await;
    let origin = tls_origin(&origin_cert).await;
    let settings = tls::ClientTls::new()
        .webpki_roots(false)
        .add_roots_pem(proxy_cert.0.as_bytes())
        .unwrap()
        .add_roots_pem(origin_cert.0.as_bytes())
        .unwrap();
    let ctx = ctx(&format!("https://{origin}/"))
        .with_client_tls(&settings)
        .unwrap()
        .with_proxy(Proxy::all(&format!("https://{proxy}")).unwrap());
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&ctx, "/nested").await)
    {
        let (body, info) = result.unwrap_or_else(|e| panic!("{way}: {e:?}"));
        assert_eq!(body, "tls origin saw GET /nested HTTP/1.1", "{way}");
        assert_eq!(info.proxy, Some(format!("https://{proxy}")), "{way}");
    }
    // A proxy certificate the context does not trust is a TLS error.
    let untrusting = ctx.with_ca_pem(origin_cert.0.as_bytes()).unwrap();
    for (way, result) in ["async", "blocking"]
        .iter()
        .zip(get_both(&untrusting, "/").await)
    {
        let err = result.expect_err("untrusted proxy");
        let Error::Tls { server_name, .. } = &err else {
            panic!("{way}: {err:?}")
        };
        assert_eq!(server_name, "proxy 127.0.0.1", "{way}");
    }
}

// ---------------------------------------------------------------------------
// Selection and keys.

#[test]
fn only_tcp_endpoints_are_proxied() {
    let proxy = Proxy::all("http://proxy.internal:3128").unwrap();
    let base = ctx("http://app.local/").with_proxy(proxy);
    assert_eq!(base.proxy().map(Proxy::host), Some("proxy.internal"));
    let by_addr = base.clone().with_tcp_addr("10.0.0.7:8080".parse().unwrap());
    assert!(by_addr.proxy().is_some());
    assert!(base
        .clone()
        .with_unix_socket("/run/app.sock")
        .proxy()
        .is_none());
    assert!(base
        .clone()
        .with_user_endpoint("mem", 1u8)
        .proxy()
        .is_none());
    let routed = base
        .clone()
        .route("app.local", Endpoint::Unix("/run/app.sock".into()));
    assert!(routed.proxy().is_none());
    assert!(base.without_proxy().proxy().is_none());
}

#[test]
fn rules_follow_the_target_scheme_in_order() {
    let proxies = Proxies::new()
        .with(Proxy::https("http://secure-proxy:1").unwrap())
        .with(Proxy::all("http://any-proxy:2").unwrap());
    let https = ctx("https://example.org/").with_proxies(proxies.clone());
    let http = ctx("http://example.org/").with_proxies(proxies);
    assert_eq!(https.proxy().map(Proxy::host), Some("secure-proxy"));
    assert_eq!(http.proxy().map(Proxy::host), Some("any-proxy"));
    let only_http = ctx("https://example.org/").with_proxy(Proxy::http("p:3").unwrap());
    assert!(only_http.proxy().is_none());
}

#[test]
fn pool_keys_separate_proxied_and_direct_connections() {
    let direct = ctx("https://example.org/");
    let proxy = Proxy::all("http://proxy:3128").unwrap();
    let proxied = direct.clone().with_proxy(proxy.clone());
    let other_user = direct
        .clone()
        .with_proxy(proxy.clone().with_basic_auth("u", "p"));
    let bypassed = direct
        .clone()
        .with_proxy(proxy.with_no_proxy(NoProxy::parse("example.org")));
    let (direct, proxied) = (direct.key().unwrap(), proxied.key().unwrap());
    assert_ne!(direct, proxied);
    assert_ne!(proxied, other_user.key().unwrap());
    assert_eq!(direct, bypassed.key().unwrap());
    assert_eq!(proxied.proxy().map(Proxy::port), Some(3128));
    assert_eq!(
        proxied.to_string(),
        "tcp://example.org:443 (TLS example.org) through proxy http://proxy:3128"
    );
    assert!(!format!("{:?}", other_user).contains("\"p\""));
}

// ---------------------------------------------------------------------------
// Proxy URLs, NO_PROXY lists and the environment.

#[test]
fn proxy_urls_are_parsed_with_decoded_credentials() {
    let p = Proxy::all("HTTP://Al%20ice:p%40ss%3Aword@Proxy.Example:8080/").unwrap();
    assert_eq!(p.scheme(), Scheme::Http);
    assert_eq!((p.host(), p.port()), ("proxy.example", 8080));
    assert_eq!(p.username(), Some("Al ice"));
    assert_eq!(p.password(), Some("p@ss:word"));
    assert_eq!(p.to_string(), "http://proxy.example:8080");
    assert!(!format!("{p:?}").contains("p@ss"));

    assert_eq!(Proxy::all("proxy").unwrap().to_string(), "http://proxy:80");
    assert_eq!(Proxy::all("https://proxy").unwrap().port(), 443);
    assert_eq!(Proxy::all("http://[::1]:3128").unwrap().host(), "::1");
    assert_eq!(
        Proxy::all("http://[::1]:3128").unwrap().to_string(),
        "http://[::1]:3128"
    );
    assert_eq!(Proxy::all("http://u@p:1").unwrap().password(), Some(""));

    for bad in [
        "socks5://user:hunter2@proxy:1080",
        "http://",
        "http://proxy:99999",
        "http://proxy:1/path",
        "ftp://proxy",
    ] {
        let err = Proxy::all(bad).expect_err(bad);
        assert!(matches!(err, Error::InvalidUrl { .. }), "{bad}: {err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn no_proxy_lists_match_hosts_domains_ips_and_ports() {
    let list = NoProxy::parse(
        " localhost,.Example.COM , *.corp.test,internal, 10.0.0.0/8 ,192.168.1.7,\
         [::1],fd00::/8, svc:8443 ,[fe80::1]:80,,bad entry,300.1.1.1/99",
    );
    let yes = [
        ("localhost", 80),
        ("LOCALHOST.", 80),
        ("example.com", 443),
        ("api.example.com", 443),
        ("a.b.corp.test", 1),
        ("corp.test", 1),
        ("internal", 1),
        ("sub.internal", 1),
        ("10.200.3.4", 80),
        ("192.168.1.7", 80),
        ("::1", 80),
        ("[::1]", 80),
        ("fd12::5", 80),
        ("svc", 8443),
        ("fe80::1", 80),
    ];
    for (host, port) in yes {
        assert!(list.matches(host, port), "{host}:{port} should go direct");
    }
    let no = [
        ("notexample.com", 443),
        ("example.com.evil.org", 443),
        ("xinternal", 1),
        ("11.0.0.1", 80),
        ("192.168.1.8", 80),
        ("::2", 80),
        ("svc", 443),
        ("fe80::1", 81),
        ("bad", 1),
        ("entry", 1),
    ];
    for (host, port) in no {
        assert!(!list.matches(host, port), "{host}:{port} should be proxied");
    }
    assert!(NoProxy::parse("*").matches("anything", 1));
    assert!(NoProxy::parse(" * , x").matches("anything", 1));
    assert!(NoProxy::parse("0.0.0.0/0").matches("1.2.3.4", 1));
    assert!(!NoProxy::parse("0.0.0.0/0").matches("::1", 1));
    assert!(NoProxy::parse("").is_empty());
    assert!(NoProxy::parse(" , ,").is_empty());
    assert!(!NoProxy::new().matches("localhost", 80));
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// (scheme, host) -> the proxy host chosen, for a quick table.
fn chosen(proxies: &Proxies, scheme: Scheme, host: &str) -> Option<String> {
    proxies
        .for_target(scheme, host, scheme.default_port())
        .map(|p| p.host().to_string())
}

#[test]
fn environment_rules() {
    // Nothing set, or only empty values: no proxy.
    assert!(Proxies::from_env_with(env(&[])).unwrap().is_empty());
    assert!(Proxies::from_env_with(env(&[("HTTP_PROXY", " ")]))
        .unwrap()
        .is_empty());

    // Lower-case names win over upper-case ones, as with curl.
    let p = Proxies::from_env_with(env(&[
        ("http_proxy", "lower:1"),
        ("HTTP_PROXY", "upper:1"),
        ("HTTPS_PROXY", "https-upper:2"),
    ]))
    .unwrap();
    assert_eq!(chosen(&p, Scheme::Http, "x").as_deref(), Some("lower"));
    assert_eq!(
        chosen(&p, Scheme::Https, "x").as_deref(),
        Some("https-upper")
    );

    // httpoxy: HTTP_PROXY is ignored in a CGI program, http_proxy is not.
    let cgi = Proxies::from_env_with(env(&[
        ("REQUEST_METHOD", "GET"),
        ("HTTP_PROXY", "attacker:1"),
    ]))
    .unwrap();
    assert!(cgi.is_empty());
    let cgi = Proxies::from_env_with(env(&[
        ("REQUEST_METHOD", "GET"),
        ("HTTP_PROXY", "attacker:1"),
        ("http_proxy", "admin:1"),
    ]))
    .unwrap();
    assert_eq!(chosen(&cgi, Scheme::Http, "x").as_deref(), Some("admin"));

    // ALL_PROXY is the fallback; NO_PROXY applies to every rule.
    let p = Proxies::from_env_with(env(&[
        ("https_proxy", "http://secure:3128"),
        ("ALL_PROXY", "http://fallback:3128"),
        ("NO_PROXY", "internal, 10.0.0.0/8"),
        ("no_proxy", "lower.example"),
    ]))
    .unwrap();
    assert_eq!(
        chosen(&p, Scheme::Https, "a.org").as_deref(),
        Some("secure")
    );
    assert_eq!(
        chosen(&p, Scheme::Http, "a.org").as_deref(),
        Some("fallback")
    );
    // no_proxy (lower case) was preferred over NO_PROXY.
    assert_eq!(chosen(&p, Scheme::Https, "lower.example"), None);
    assert_eq!(chosen(&p, Scheme::Http, "www.lower.example"), None);
    assert_eq!(
        chosen(&p, Scheme::Http, "internal").as_deref(),
        Some("fallback")
    );

    // Credentials in the environment's URL are decoded.
    let p = Proxies::from_env_with(env(&[("all_proxy", "http://me:a%2Fb@p:1")])).unwrap();
    let proxy = p.iter().next().unwrap();
    assert_eq!(proxy.password(), Some("a/b"));

    // A value paf cannot use is an error naming the variable, without the
    // password.
    let err = Proxies::from_env_with(env(&[("ALL_PROXY", "socks5://me:hunter2@p:1080")]))
        .expect_err("SOCKS is not spoken");
    let text = err.to_string();
    assert!(
        text.contains("ALL_PROXY") && text.contains("socks5"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn ctx_reads_the_environment_only_when_asked() {
    // The process environment is not changed here (tests run in parallel):
    // whatever it holds, a new context has no proxy until asked.
    assert!(Ctx::new().proxies().is_empty());
    assert!(ctx("http://example.org/").proxy().is_none());
    // Asking reads what `Proxies::from_env` reads.
    match (Ctx::new().with_proxy_from_env(), Proxies::from_env()) {
        (Ok(ctx), Ok(proxies)) => assert_eq!(ctx.proxies(), &proxies),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("{a:?} vs {b:?}"),
    }
}
