//! The async client written once: [`EngineClient`] holds the settings and
//! does everything that is the same whatever the engine; a backend
//! implements [`Engine`], how one request goes out on its engine.

use std::{fmt, future::Future, sync::Arc};

use http::{Request, Response};

use super::{
    get_request, send_with_replay, with_timeout, Builder, Client, Failed, FromSettings, Settings,
};
use crate::{Body, BoxFuture, Ctx, Result};

/// What an async backend implements: how one request goes out on its
/// engine. The rest is [`EngineClient`]'s, the same for every engine: the
/// client type, its builder and [`Settings`], the context each request
/// goes through, the whole-exchange timeout, the one replay of a request
/// whose connection closed unanswered ([`send_with_replay`]), and the body
/// idle limit on every response.
///
/// A backend waits for the response head under
/// [`Settings::response_head_timeout`] with [`super::response_head`], since
/// only the engine knows when the request's last byte has left.
pub trait Engine: Send + Sync + Sized + 'static {
    /// The backend's name (`hyper`, `reqwest`), for messages and logs.
    const NAME: &'static str;

    /// What the engine works out once per request before its attempts (a
    /// connection key, the engine instance that sends it).
    type Route: Send + Sync;

    /// The engine for a client with these settings.
    fn new(settings: &Settings) -> Self;

    /// Prepares `request`, which goes through `ctx` (the request's own
    /// context or the client's, filled from its URI and the settings):
    /// refuses what the engine cannot do, adapts the request to it.
    fn route(
        &self,
        settings: &Settings,
        ctx: Ctx,
        request: &mut Request<Body>,
    ) -> Result<Self::Route>;

    /// One attempt at sending `request`: on a pooled connection when
    /// `reuse` allows, on a fresh one otherwise (the replay). Says in
    /// [`Failed::closed_early`] whether the connection closed before the
    /// response head came, which is when the request may go again.
    fn attempt<'a>(
        &'a self,
        settings: &'a Settings,
        route: &'a Self::Route,
        request: Request<Body>,
        reuse: bool,
    ) -> impl Future<Output = std::result::Result<Response<Body>, Failed>> + Send + 'a;
}

/// An async HTTP client on the engine `E`: what `paf_hyper::Client` and
/// `paf_reqwest::Client` are. Cheap to clone: clones share the engine and
/// its connections.
///
/// ```
/// use paf_core::client::{Engine, EngineClient, Failed, Settings};
/// use paf_core::{http::{Request, Response}, Body, Ctx, Result};
///
/// /// An engine that answers every request itself.
/// struct Echo;
///
/// impl Engine for Echo {
///     const NAME: &'static str = "echo";
///     type Route = ();
///     fn new(_: &Settings) -> Self {
///         Echo
///     }
///     fn route(&self, _: &Settings, _: Ctx, _: &mut Request<Body>) -> Result<()> {
///         Ok(())
///     }
///     async fn attempt(
///         &self,
///         _: &Settings,
///         _: &(),
///         request: Request<Body>,
///         _reuse: bool,
///     ) -> std::result::Result<Response<Body>, Failed> {
///         Ok(Response::new(Body::from(request.uri().to_string())))
///     }
/// }
///
/// # async fn demo() -> Result<()> {
/// let client = EngineClient::<Echo>::new();
/// let response = client.get("http://example.org/x").await?;
/// assert_eq!(response.into_body().to_string(64).await?, "http://example.org/x");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(demo()).unwrap();
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
    pub async fn request(&self, request: Request<Body>) -> Result<Response<Body>> {
        self.inner.send(request).await
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str) -> Result<Response<Body>> {
        self.request(get_request(uri)?).await
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
    fn send(&self, request: Request<Body>) -> BoxFuture<'static, Result<Response<Body>>> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request).await })
    }

    fn backend(&self) -> &'static str {
        E::NAME
    }
}

impl<E: Engine> Shared<E> {
    async fn send(&self, mut request: Request<Body>) -> Result<Response<Body>> {
        let settings = &self.settings;
        let ctx = settings.request_ctx(&mut request)?;
        let route = self.engine.route(settings, ctx, &mut request)?;
        let exchange = async {
            let response = send_with_replay(request, |request, reuse| {
                if !reuse {
                    tracing::debug!(
                        backend = E::NAME,
                        "connection closed before the response; sending again on a fresh one"
                    );
                }
                self.engine.attempt(settings, &route, request, reuse)
            })
            .await?;
            Ok(settings.idle_bounded(response))
        };
        with_timeout(settings.timeout, exchange).await
    }
}
