//! The async client written once: [`EngineClient`] holds the settings and
//! does everything that is the same whatever the engine; a backend
//! implements [`Engine`], how one request goes out on its engine.
//!
//! # Logging
//! Each request is a DEBUG span `request` (target `paf_core::client`) with
//! its method, URL (without credentials), backend, and once answered its
//! status, whether it was sent again, and the time to the response head;
//! a DEBUG event tells the bytes and time when the body has been read. So
//! `RUST_LOG=paf=debug` logs every request; at INFO nothing is logged per
//! request, and with DEBUG off none of this costs more than a level check.

use std::{fmt, future::Future, sync::Arc, time::Instant};

use http::{Request, Response};
use tracing::{field::Empty, Instrument, Span};

use super::{
    get_request, send_with_replay, with_timeout, Builder, Client, Failed, FromSettings, Redacted,
    Settings,
};
use crate::{body::BodyObserver, Body, BoxFuture, Result};

/// What an async backend implements: how one request goes out on its
/// engine. The rest is [`EngineClient`]'s, the same for every engine: the
/// client type, its builder and [`Settings`], the whole-exchange timeout,
/// the one replay of a request whose connection closed unanswered
/// ([`send_with_replay`]), and the body idle limit on every response.
///
/// A backend takes each request's context with [`Settings::request_ctx`]
/// (through [`super::DefaultRoutes`], which works a route out once per
/// origin for requests that carry no context), and waits for the response
/// head under [`Settings::response_head_timeout`] with
/// [`super::response_head`], since only the engine knows when the
/// request's last byte has left.
pub trait Engine: Send + Sync + Sized + 'static {
    /// The backend's name (`hyper`, `reqwest`), for messages and logs.
    const NAME: &'static str;

    /// What the engine works out once per request before its attempts (a
    /// connection key, the engine instance that sends it).
    type Route: Send + Sync + 'static;

    /// The engine for a client with these settings.
    fn new(settings: &Settings) -> Self;

    /// Prepares `request`: works out where it goes through its context
    /// ([`Settings::request_ctx`]: the request's own, or the client's
    /// filled from its URI and the settings; [`super::DefaultRoutes`]
    /// keeps what was worked out for the client's), refuses what the engine
    /// cannot do, adapts the request to it.
    fn route(&self, settings: &Settings, request: &mut Request<Body>) -> Result<Self::Route>;

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
/// use paf_core::{http::{Request, Response}, Body, Result};
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
///     fn route(&self, _: &Settings, _: &mut Request<Body>) -> Result<()> {
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
        Client::send(self, request).await
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
        let shared = self.inner.clone();
        let policy = shared.settings.redirect;
        if policy.max().is_none() {
            // The default: nothing to follow, no layer of redirects around
            // every request.
            return Box::pin(shared.send(request));
        }
        Box::pin(crate::redirect::follow(request, policy, move |request| {
            shared.clone().send(request)
        }))
    }

    fn backend(&self) -> &'static str {
        E::NAME
    }
}

impl<E: Engine> Shared<E> {
    /// Sends one request (each redirect followed is one). What needs no
    /// waiting is done here, before the future: its span, the codings it
    /// asks for, its route. The future owns what it needs and nests no
    /// other `async fn`: every layer of futures is copied whole as it
    /// starts (into the box of [`Client::send`], at each `.await`), and
    /// boxes of more than about 1 KiB miss the allocator's fast path
    /// (measured: memcpy was a third of the client's instructions when the
    /// engine's attempt was not boxed, and several layers still cost more
    /// than 1k instructions a request).
    fn send(
        self: Arc<Self>,
        mut request: Request<Body>,
    ) -> impl Future<Output = Result<Response<Body>>> + Send + 'static {
        let span = tracing::debug_span!(
            target: "paf_core::client",
            "request",
            method = %request.method(),
            url = %Redacted(request.uri()),
            backend = E::NAME,
            status = Empty,
            retried = Empty,
            head_ms = Empty,
        );
        let started = (!span.is_disabled()).then(Instant::now);
        // Asks for the codings, and decodes the answer last, above every
        // other wrapper.
        let decoding = crate::decompress::prepare(&mut request, self.settings.decompress);
        let route = span.in_scope(|| self.engine.route(&self.settings, &mut request));
        async move {
            let settings = &self.settings;
            let result = match route {
                Err(error) => Err(error),
                Ok(route) => {
                    let attempts = send_with_replay(request, |request, reuse| {
                        if !reuse {
                            span.record("retried", true);
                            tracing::debug!(
                                parent: &span,
                                "connection closed before the response; sending again on a fresh one"
                            );
                        }
                        // Boxed: an engine's attempt is a large future.
                        Box::pin(self.engine.attempt(settings, &route, request, reuse))
                    });
                    with_timeout(settings.timeout, attempts)
                        .instrument(span.clone())
                        .await
                }
            };
            // The body's limits, innermost first: the request's deadline
            // (put on by `with_timeout`), the idle limit, then decoding.
            let result = result.map(|response| decoding.decode(settings.idle_bounded(response)));
            let Some(started) = started else {
                return result;
            };
            match result {
                Ok(response) => {
                    span.record("status", response.status().as_u16());
                    span.record("head_ms", started.elapsed().as_secs_f64() * 1e3);
                    Ok(response.map(|body| body.observed(Logged::new(span, started))))
                }
                Err(error) => {
                    tracing::debug!(parent: &span, %error, "request failed");
                    Err(error)
                }
            }
        }
    }
}

/// Watches a response body and, once it is read to its end (or failed, or
/// dropped), logs how many bytes came and how long the whole request took,
/// in the request's span. Only used when the span is enabled.
struct Logged {
    span: Span,
    started: Instant,
    bytes: u64,
    done: bool,
}

impl Logged {
    fn new(span: Span, started: Instant) -> Self {
        Logged {
            span,
            started,
            bytes: 0,
            done: false,
        }
    }

    fn finish(&mut self, outcome: &str) {
        if !std::mem::replace(&mut self.done, true) {
            tracing::debug!(
                parent: &self.span,
                bytes = self.bytes,
                total_ms = self.started.elapsed().as_secs_f64() * 1e3,
                "response body {outcome}"
            );
        }
    }
}

impl BodyObserver for Logged {
    fn data(&mut self, len: usize, _at_end: bool) {
        self.bytes += len as u64;
    }

    fn ended(&mut self) {
        self.finish("read");
    }

    fn failed(&mut self, _: &crate::Error) {
        self.finish("failed");
    }

    fn dropped(&mut self, at_end: bool) {
        self.finish(if at_end {
            "read"
        } else {
            "dropped before its end"
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tracing::{
        field::{Field, Visit},
        span::{Attributes, Id, Record},
        Event, Subscriber,
    };
    use tracing_subscriber::{
        layer::Context as LayerContext, prelude::*, registry::LookupSpan, Layer,
    };

    use super::*;
    use crate::Error;

    /// Answers `/ok` with a body, fails `/closed` once as a connection
    /// closed unanswered (then answers), refuses anything else.
    #[derive(Default)]
    struct Scripted {
        closed_once: std::sync::atomic::AtomicBool,
    }

    impl Engine for Scripted {
        const NAME: &'static str = "scripted";
        type Route = ();
        fn new(_: &Settings) -> Self {
            Scripted::default()
        }
        fn route(&self, _: &Settings, _: &mut Request<Body>) -> Result<()> {
            Ok(())
        }
        async fn attempt(
            &self,
            _: &Settings,
            _: &(),
            request: Request<Body>,
            _reuse: bool,
        ) -> std::result::Result<Response<Body>, Failed> {
            match request.uri().path() {
                "/ok" => Ok(Response::new(Body::from("twelve bytes"))),
                "/closed"
                    if !self
                        .closed_once
                        .swap(true, std::sync::atomic::Ordering::SeqCst) =>
                {
                    Err(Failed {
                        error: Error::protocol("closed", None),
                        closed_early: true,
                    })
                }
                "/closed" => Ok(Response::new(Body::empty())),
                _ => Err(Error::protocol("refused", None).into()),
            }
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Captured {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: LayerContext<'_, S>) {
            let mut fields = Fields(format!("span {}:", attrs.metadata().name()));
            attrs.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn on_record(&self, _: &Id, values: &Record<'_>, _: LayerContext<'_, S>) {
            let mut fields = Fields("record:".into());
            values.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
            let mut fields = Fields(format!("event {}:", event.metadata().level()));
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }

    fn run<F: Future>(fut: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(fut)
    }

    #[test]
    fn each_request_is_a_debug_span_with_its_outcome_and_body_size() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(captured.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let client = EngineClient::<Scripted>::new();
        run(async {
            let response = client
                .get("http://user:secret@example.org/ok?q=1")
                .await
                .unwrap();
            assert_eq!(
                response.into_body().to_string(64).await.unwrap(),
                "twelve bytes"
            );
            client.get("http://example.org/closed").await.unwrap();
            client.get("http://example.org/refused").await.unwrap_err();
        });
        let log = captured.0.lock().unwrap().join("\n");
        assert!(
            log.contains(
                "span request: method=GET url=http://example.org/ok?q=1 backend=\"scripted\""
            ),
            "{log}"
        );
        assert!(
            !log.contains("secret"),
            "credentials stay out of logs: {log}"
        );
        assert!(log.contains("record: status=200"), "{log}");
        assert!(log.contains("bytes=12"), "{log}");
        assert!(log.contains("message=response body read"), "{log}");
        assert!(log.contains("record: retried=true"), "{log}");
        assert!(log.contains("message=request failed"), "{log}");
        assert!(
            !log.contains("event INFO"),
            "nothing per request at INFO: {log}"
        );
    }
}
