//! An axum `Router` served by paf's server through `tower::ServiceHandler`:
//! over plain TCP and TLS, with a path extractor, paf's connection info and
//! a paf handler nested back in the router, tower-http middleware (trace,
//! gzip), and a graceful stop.
#![cfg(feature = "tower")]

mod common;

use std::{sync::Arc, time::Duration};

use axum::{extract::Path, routing::get, Extension, Router};
use common::within;
use http::{Request, Response, StatusCode};
use paf_core::{server::ConnInfo, Body, Ctx};
use paf_hyper::{
    tower::{HandlerService, ServiceHandler},
    Client, Running, Server,
};
use paf_testkit::TestCert;
use tokio::sync::Notify;

/// Two axum routes, one with a path extractor; one reading paf's
/// connection info; a slow one that says when it started; and a paf
/// handler mounted as a tower service.
fn app(slow_started: Arc<Notify>) -> Router {
    let paf_handler = |req: Request<Body>| async move {
        Response::new(Body::from(format!("paf saw {}", req.uri().path())))
    };
    Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}") }),
        )
        .route(
            "/conn",
            get(|Extension(conn): Extension<Arc<ConnInfo>>| async move {
                format!("tls={}", conn.tls.is_some())
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                slow_started.notify_one();
                tokio::time::sleep(Duration::from_millis(500)).await;
                "slow done"
            }),
        )
        .route_service("/paf", HandlerService::new(paf_handler))
}

async fn get_text(client: &Client, url: &str) -> (StatusCode, String) {
    let response = within(10, client.get(url)).await.expect("a response");
    let status = response.status();
    let body = response.into_body().to_string(1024).await;
    (status, body.expect("the whole body"))
}

async fn serve(server: Server) -> Running {
    server
        .bind_tcp("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the server binds")
}

#[tokio::test]
async fn axum_router_serves_over_plain_tcp() {
    let handler = ServiceHandler::new(app(Arc::default()));
    let running = serve(Server::new(handler)).await;
    let base = running.url().unwrap();
    let client = Client::new();

    let text = |s: &str| s.to_string();
    assert_eq!(
        get_text(&client, &format!("{base}/")).await,
        (StatusCode::OK, text("hello from axum"))
    );
    assert_eq!(
        get_text(&client, &format!("{base}/users/42")).await,
        (StatusCode::OK, text("user 42"))
    );
    assert_eq!(
        get_text(&client, &format!("{base}/conn")).await,
        (StatusCode::OK, text("tls=false"))
    );
    assert_eq!(
        get_text(&client, &format!("{base}/paf")).await,
        (StatusCode::OK, text("paf saw /paf"))
    );
    // The extractor's and the router's own refusals come through as they are.
    let (status, _) = get_text(&client, &format!("{base}/users/abc")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_text(&client, &format!("{base}/nowhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn axum_router_serves_over_paf_tls() {
    let cert = TestCert::localhost();
    let server = Server::builder()
        .tls(cert.server_config(&[b"h2", b"http/1.1"]))
        .build(ServiceHandler::new(app(Arc::default())));
    let running = serve(server).await;
    let base = running.url().unwrap();
    assert!(base.starts_with("https://"), "{base}");
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let client = Client::builder().ctx(ctx).build();

    assert_eq!(
        get_text(&client, &format!("{base}/users/7")).await,
        (StatusCode::OK, "user 7".to_string())
    );
    assert_eq!(
        get_text(&client, &format!("{base}/conn")).await,
        (StatusCode::OK, "tls=true".to_string())
    );

    running.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn stop_lets_in_flight_axum_request_finish() {
    let slow_started = Arc::new(Notify::new());
    let running = serve(Server::new(ServiceHandler::new(app(slow_started.clone())))).await;
    let base = running.url().unwrap();

    let in_flight = tokio::spawn({
        let url = format!("{base}/slow");
        async move { get_text(&Client::new(), &url).await }
    });
    within(10, slow_started.notified()).await;
    within(10, running.stop(Duration::from_secs(5))).await;

    assert_eq!(
        in_flight.await.unwrap(),
        (StatusCode::OK, "slow done".to_string())
    );
    // Stopped means stopped: a new request finds no server.
    let refused = within(10, Client::new().get(&format!("{base}/"))).await;
    assert!(refused.is_err(), "served after stop: {refused:?}");
}

/// tower-http's middleware runs on paf's server as on axum's own: the
/// trace layer sees every request and its status, the compression layer
/// gzips a large answer for a client that accepts gzip (over TLS with
/// HTTP/2, as examples/axum_https.rs serves) and leaves it alone otherwise.
#[tokio::test]
async fn tower_http_trace_and_compression_layers_run_on_paf() {
    use std::{
        io::Read,
        sync::atomic::{AtomicUsize, Ordering},
    };
    use tower_http::{compression::CompressionLayer, trace::TraceLayer};

    let report: String = (0..2000)
        .map(|i| format!("line {i}: all quiet\n"))
        .collect();
    let traced = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(std::sync::Mutex::new(Vec::new()));
    let router = Router::new()
        .route(
            "/report",
            get({
                let report = report.clone();
                move || async move { report }
            }),
        )
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http().on_response({
            let traced = traced.clone();
            let statuses = statuses.clone();
            move |response: &http::Response<_>, _latency: Duration, _span: &tracing::Span| {
                traced.fetch_add(1, Ordering::SeqCst);
                statuses.lock().unwrap().push(response.status());
            }
        }));
    let cert = TestCert::localhost();
    let server = Server::builder()
        .tls(cert.server_config(&[b"h2", b"http/1.1"]))
        .build(ServiceHandler::new(router));
    let running = serve(server).await;
    let base = running.url().unwrap();
    let ctx = Ctx::new().with_ca_pem(cert.cert_pem.as_bytes()).unwrap();
    let client = Client::builder().ctx(ctx).build();

    let request = Request::get(format!("{base}/report"))
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let response = within(10, client.request(request)).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let gzipped = response.into_body().to_bytes(1 << 20).await.unwrap();
    assert!(gzipped.len() < report.len() / 4, "{} bytes", gzipped.len());
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, report);

    // A client that does not ask for gzip gets the text as it is.
    let (status, plain) = get_text_limit(&client, &format!("{base}/report"), 1 << 20).await;
    assert_eq!((status, plain.len()), (StatusCode::OK, report.len()));

    assert_eq!(traced.load(Ordering::SeqCst), 2);
    assert_eq!(*statuses.lock().unwrap(), [StatusCode::OK, StatusCode::OK]);
    running.stop(Duration::from_secs(1)).await;
}

async fn get_text_limit(client: &Client, url: &str, limit: usize) -> (StatusCode, String) {
    let response = within(10, client.get(url)).await.expect("a response");
    let status = response.status();
    assert!(response.headers().get("content-encoding").is_none());
    let body = response.into_body().to_string(limit).await;
    (status, body.expect("the whole body"))
}
