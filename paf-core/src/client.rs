//! The client side every backend implements.
//!
//! [`Client`] is object-safe: a program holds `Arc<dyn Client>` and does not
//! care which engine is behind it. A request carries its transport context in
//! its extensions ([`RequestExt::with_ctx`]); without one, the client's own
//! default context is used, filled from the request's URL.

use std::{future::Future, time::Duration};

use http::{Request, Response};

use crate::{ctx::Ctx, error::TimeoutKind, Body, BoxFuture, Error, Result};

/// An asynchronous HTTP client backend.
///
/// Every status code is a response, not an error: `Err` means no response
/// was had (connect, TLS, protocol, timeout…).
pub trait Client: Send + Sync + 'static {
    /// Sends a request and returns the response head with its body still to
    /// be read. The request's URI must be absolute (`http://…`, `https://…`).
    fn send(&self, request: Request<Body>) -> BoxFuture<'static, Result<Response<Body>>>;

    /// The backend's name (`hyper`, `reqwest`…), for messages and logs.
    fn backend(&self) -> &'static str;
}

/// Attaches a transport context to a request.
pub trait RequestExt {
    /// Sends this request through `ctx` rather than the client's default.
    fn with_ctx(self, ctx: Ctx) -> Self;
    /// The context attached to this request, if any.
    fn ctx(&self) -> Option<&Ctx>;
}

impl<B> RequestExt for Request<B> {
    fn with_ctx(mut self, ctx: Ctx) -> Self {
        self.extensions_mut().insert(ctx);
        self
    }

    fn ctx(&self) -> Option<&Ctx> {
        self.extensions().get::<Ctx>()
    }
}

/// The context a backend uses for a request: the one attached to it (taken
/// out of its extensions) or `default`, filled from the request's URI.
pub fn request_ctx<B>(request: &mut Request<B>, default: &Ctx) -> Result<Ctx> {
    let ctx = request
        .extensions_mut()
        .remove::<Ctx>()
        .unwrap_or_else(|| default.clone());
    ctx.with_uri(request.uri())
}

/// Bounds a whole exchange by `timeout`: the wait for the response head,
/// then the reading of its body, which fails with [`Error::Timeout`] once
/// the same deadline passes. Every async backend applies its `timeout`
/// setting through this, so that it means the same everywhere.
pub async fn with_timeout<F>(timeout: Option<Duration>, exchange: F) -> Result<Response<Body>>
where
    F: Future<Output = Result<Response<Body>>>,
{
    let Some(after) = timeout else {
        return exchange.await;
    };
    let deadline = tokio::time::Instant::now() + after;
    let response = tokio::time::timeout_at(deadline, exchange)
        .await
        .map_err(|_| Error::Timeout {
            what: TimeoutKind::Request,
            after,
        })??;
    Ok(response.map(|body| body.with_deadline(deadline, after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attached_context_wins_over_default() {
        let mut req = Request::get("http://svc/x")
            .body(Body::empty())
            .unwrap()
            .with_ctx(Ctx::new().with_unix_socket("/run/svc.sock"));
        assert!(req.ctx().is_some());
        let ctx = request_ctx(&mut req, &Ctx::new()).unwrap();
        assert_eq!(ctx.endpoint().unwrap().to_string(), "unix:/run/svc.sock");
        assert!(
            req.ctx().is_none(),
            "the context is moved out of the request"
        );
    }

    #[test]
    fn default_context_is_filled_from_the_uri() {
        let mut req = Request::get("https://svc:8443/")
            .body(Body::empty())
            .unwrap();
        let ctx = request_ctx(&mut req, &Ctx::new()).unwrap();
        assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://svc:8443");
        assert!(ctx.tls_enabled());
    }

    #[test]
    fn client_is_object_safe() {
        fn takes(_: Option<std::sync::Arc<dyn Client>>) {}
        takes(None);
    }
}
