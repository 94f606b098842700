//! The blocking client written once: [`EngineClient`] holds the settings
//! and the context each request goes through; a backend implements
//! [`Engine`], how one request goes out on its engine.

use std::{fmt, sync::Arc};

use http::{Request, Response};

use super::{Body, Client};
use crate::{
    client::{get_request, Builder, FromSettings, Redacted, Settings},
    Ctx, Result,
};
use tracing::field::Empty;

/// What a blocking backend implements: sending one request through the
/// context paf resolved for it, under the [`Settings`]' limits. The client
/// type, its builder and settings, and the context each request goes
/// through are [`EngineClient`]'s.
pub trait Engine: Send + Sync + Sized + 'static {
    /// The backend's name (`ureq`), for messages and logs.
    const NAME: &'static str;

    /// The engine for a client with these settings.
    fn new(settings: &Settings) -> Self;

    /// Sends `request` through `ctx` (the request's own context or the
    /// client's, filled from its URI and the settings) and returns the
    /// response once its head has arrived.
    fn send(&self, settings: &Settings, ctx: Ctx, request: Request<Body>)
        -> Result<Response<Body>>;
}

/// A blocking HTTP client on the engine `E`: what `paf_ureq::Client` is.
/// Cheap to clone: clones share the engine and its connections.
///
/// ```
/// use paf_core::blocking::{Body, Engine, EngineClient};
/// use paf_core::client::Settings;
/// use paf_core::{http::{Request, Response}, Ctx, Result};
///
/// /// An engine that answers with the endpoint the context resolved.
/// struct Where;
///
/// impl Engine for Where {
///     const NAME: &'static str = "where";
///     fn new(_: &Settings) -> Self {
///         Where
///     }
///     fn send(&self, _: &Settings, ctx: Ctx, _: Request<Body>) -> Result<Response<Body>> {
///         Ok(Response::new(Body::from(ctx.endpoint()?.to_string())))
///     }
/// }
///
/// let client = EngineClient::<Where>::new();
/// let response = client.get("http://example.org:8080/x")?;
/// assert_eq!(response.into_body().read_to_string(64)?, "tcp://example.org:8080");
/// # Ok::<(), paf_core::Error>(())
/// ```
pub struct EngineClient<E> {
    inner: Arc<Shared<E>>,
}

struct Shared<E> {
    settings: Settings,
    engine: E,
}

impl<E> Clone for EngineClient<E> {
    fn clone(&self) -> Self {
        EngineClient {
            inner: self.inner.clone(),
        }
    }
}

impl<E: Engine> fmt::Debug for EngineClient<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("backend", &E::NAME)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl<E: Engine> FromSettings for EngineClient<E> {
    fn from_settings(settings: Settings) -> Self {
        let engine = E::new(&settings);
        EngineClient {
            inner: Arc::new(Shared { settings, engine }),
        }
    }
}

impl<E: Engine> Default for EngineClient<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Engine> EngineClient<E> {
    /// A client with the default settings.
    pub fn new() -> Self {
        Builder::default().build()
    }

    /// A builder to change the settings.
    pub fn builder() -> Builder<Self> {
        Builder::default()
    }

    /// Sends a request; its URI must be absolute. The response comes back
    /// once its head has arrived, its body still to be read.
    pub fn request(&self, request: Request<Body>) -> Result<Response<Body>> {
        let policy = self.inner.settings.redirect;
        crate::redirect::follow_blocking(request, policy, |request| self.send_one(request))
    }

    /// One request, without following redirects.
    fn send_one(&self, mut request: Request<Body>) -> Result<Response<Body>> {
        // As the async client logs (see `paf_core::client::EngineClient`).
        let span = tracing::debug_span!(
            target: "paf_core::client",
            "request",
            method = %request.method(),
            url = %Redacted(request.uri()),
            backend = E::NAME,
            status = Empty,
        );
        let _entered = span.enter();
        let settings = &self.inner.settings;
        let decoding = crate::decompress::prepare(&mut request, settings.decompress);
        let ctx = settings.request_ctx(&mut request)?;
        let result = self
            .inner
            .engine
            .send(settings, ctx, request)
            .map(|response| decoding.decode_blocking(response));
        match &result {
            Ok(response) => {
                span.record("status", response.status().as_u16());
            }
            Err(error) => tracing::debug!(%error, "request failed"),
        }
        result
    }

    /// `GET uri`.
    pub fn get(&self, uri: &str) -> Result<Response<Body>> {
        self.request(get_request(uri)?)
    }

    /// The settings the client was built with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The engine.
    pub fn engine(&self) -> &E {
        &self.inner.engine
    }
}

impl<E: Engine> Client for EngineClient<E> {
    fn send(&self, request: Request<Body>) -> Result<Response<Body>> {
        self.request(request)
    }

    fn backend(&self) -> &'static str {
        E::NAME
    }
}
