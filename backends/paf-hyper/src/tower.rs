//! Interop with the tower ecosystem, both ways: [`ServiceHandler`] serves any
//! `tower::Service` (an axum `Router`, a service behind tower layers) on paf's
//! [`Server`](crate::Server), with its TLS, limits and graceful stop; and
//! [`HandlerService`] lets a paf [`Handler`] stand where a tower service is
//! expected (nested in a router, wrapped in middleware).
//!
//! ```ignore
//! // axum is not a dependency of paf-hyper: this shows the shape.
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
//! let running = paf_hyper::Server::new(paf_hyper::tower::ServiceHandler::new(app))
//!     .bind_tcp("127.0.0.1:0".parse()?)
//!     .await?;
//! ```

use std::{
    convert::Infallible,
    fmt::Display,
    future::poll_fn,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use paf_core::{
    server::{status_response, Handler},
    Body, BoxError, BoxFuture,
};
use tower_service::Service;

/// A tower service as a paf [`Handler`].
///
/// Each request gets its own clone of the service, made ready and then
/// called, as hyper-util's `TowerToHyperService` does: a handler is shared
/// by every connection, while `Service::call` wants `&mut self`. The
/// response body is wrapped with [`Body::wrap`]. A service error (from
/// `poll_ready` or the call) is logged and answered with a bare `500`;
/// services that answer every request, such as axum's `Router`, have
/// `Infallible` errors.
#[derive(Clone, Debug)]
pub struct ServiceHandler<S> {
    service: S,
}

impl<S> ServiceHandler<S> {
    /// Serves requests with `service`.
    pub fn new(service: S) -> Self {
        ServiceHandler { service }
    }
}

impl<S, B> Handler for ServiceHandler<S>
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Display,
    S::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn call(&self, request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        // The clone that was made ready is the one called: tower allows a
        // service to reserve capacity in `poll_ready` for the next call.
        let mut service = self.service.clone();
        Box::pin(async move {
            // The error is not held across an await: `S::Error` need not be
            // `Send`.
            if let Err(error) = poll_fn(|cx| service.poll_ready(cx)).await {
                return failed(error);
            }
            match service.call(request).await {
                Ok(response) => response.map(Body::wrap),
                Err(error) => failed(error),
            }
        })
    }
}

/// Logs a service's error; the client gets a bare 500, not its details.
fn failed(error: impl Display) -> Response<Body> {
    tracing::warn!(%error, "tower service failed; answering 500");
    status_response(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A paf [`Handler`] as a tower service: always ready, never failing.
///
/// It takes requests with any body an engine or framework hands over
/// (wrapped with [`Body::wrap`]), so it can be nested in an axum `Router`
/// with `route_service` or wrapped in any tower layer. Clones share the
/// handler.
#[derive(Debug)]
pub struct HandlerService<H> {
    handler: Arc<H>,
}

impl<H> HandlerService<H> {
    /// A service answering with `handler`.
    pub fn new(handler: H) -> Self {
        HandlerService {
            handler: Arc::new(handler),
        }
    }
}

impl<H> Clone for HandlerService<H> {
    fn clone(&self) -> Self {
        HandlerService {
            handler: Arc::clone(&self.handler),
        }
    }
}

impl<H, B> Service<Request<B>> for HandlerService<H>
where
    H: Handler,
    B: http_body::Body + Send + 'static,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let answer = self.handler.call(request.map(Body::wrap));
        Box::pin(async move { Ok(answer.await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service whose every call fails, to see the error become a 500.
    #[derive(Clone)]
    struct Failing;

    impl Service<Request<Body>> for Failing {
        type Response = Response<Body>;
        type Error = &'static str;
        type Future = std::future::Ready<Result<Response<Body>, &'static str>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _request: Request<Body>) -> Self::Future {
            std::future::ready(Err("database unreachable"))
        }
    }

    #[tokio::test]
    async fn service_error_is_a_bare_500() {
        let handler = ServiceHandler::new(Failing);
        let response = Handler::call(&handler, Request::new(Body::empty())).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().to_string(64).await.unwrap();
        assert!(!body.contains("database"), "{body}");
    }

    #[tokio::test]
    async fn handler_round_trips_through_a_service() {
        let echo_path = |req: Request<Body>| async move {
            Response::new(Body::from(req.uri().path().to_string()))
        };
        // paf handler → tower service → paf handler again.
        let handler = ServiceHandler::new(HandlerService::new(echo_path));
        let request = Request::get("/round/trip").body(Body::empty()).unwrap();
        let response = Handler::call(&handler, request).await;
        assert_eq!(
            response.into_body().to_string(64).await.unwrap(),
            "/round/trip"
        );
    }
}
