//! An axum `Router` served by paf's server through `tower::ServiceHandler`:
//! over plain TCP and TLS, with a path extractor, paf's connection info and
//! a paf handler nested back in the router, and a graceful stop.
#![cfg(feature = "tower")]

mod common;

use std::{sync::Arc, time::Duration};

use axum::{extract::Path, routing::get, Extension, Router};
use common::{test_cert, within};
use http::{Request, Response, StatusCode};
use paf_core::{server::ConnInfo, Body, Ctx};
use paf_hyper::{
    tower::{HandlerService, ServiceHandler},
    Client, Running, Server,
};
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
    let cert = test_cert();
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
