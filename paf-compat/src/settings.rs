//! What both clients are configured with, and how a backend's builder gets
//! it. CoHTTP has no client settings (its context carries them); these are
//! paf's, with the names every paf backend builder shares.

use std::time::Duration;

use paf_core::{redirect::Policy, Ctx};

use crate::body::DEFAULT_LIMIT;

/// A client's settings; see the setters of the `ClientBuilder`s.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) ctx: Option<Ctx>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) redirect: Policy,
    pub(crate) body_limit: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ctx: None,
            timeout: None,
            connect_timeout: None,
            redirect: Policy::none(),
            body_limit: DEFAULT_LIMIT,
        }
    }
}

/// The setters of a `ClientBuilder` holding `settings: Settings`.
macro_rules! settings_setters {
    () => {
        /// The transport context of requests that carry none (CoHTTP's
        /// `?ctx` given to every call): routes, Unix sockets, extra CA
        /// certificates, user transports. Without it each request's context
        /// is filled from its URL.
        pub fn ctx(mut self, ctx: paf_core::Ctx) -> Self {
            self.settings.ctx = Some(ctx);
            self
        }

        /// Limits the whole exchange, from connecting to the end of the
        /// response body: [`paf_core::Error::Timeout`] past it. No limit by
        /// default, as in CoHTTP.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.timeout = Some(timeout);
            self
        }

        /// Limits connecting (transport and TLS handshake) for contexts
        /// that set no limit of their own.
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.connect_timeout = Some(timeout);
            self
        }

        /// Whether redirects are followed. Default
        /// [`Policy::none`](paf_core::redirect::Policy::none): a 3xx is the
        /// answer, as in CoHTTP. The rules are paf-core's
        /// ([`paf_core::redirect`]), the same on every backend.
        pub fn redirect(mut self, policy: paf_core::redirect::Policy) -> Self {
            self.settings.redirect = policy;
            self
        }

        /// The cap for what the client reads into memory on its own: the
        /// responses of `callv`, and a streamed body sent with
        /// `chunked(false)` (default [`DEFAULT_LIMIT`](crate::body::DEFAULT_LIMIT)).
        pub fn body_limit(mut self, limit: usize) -> Self {
            self.settings.body_limit = limit;
            self
        }
    };
}
pub(crate) use settings_setters;

/// Builds a backend client from its builder (`paf_hyper::Client::builder()`
/// and the like: they share these option names) and the settings.
macro_rules! build_backend {
    ($builder:expr, $settings:expr) => {{
        let settings: &$crate::settings::Settings = $settings;
        let mut builder = $builder;
        if let Some(ctx) = &settings.ctx {
            builder = builder.ctx(ctx.clone());
        }
        if let Some(timeout) = settings.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = settings.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        builder.build()
    }};
}
pub(crate) use build_backend;
