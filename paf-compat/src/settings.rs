//! What both clients are built with: paf-core's client
//! [`Settings`] — the options every paf backend
//! builder has, redirects included — and paf-compat's cap on what a client
//! reads into memory by itself. CoHTTP has no client settings (its context
//! carries them); its defaults are kept: no overall timeout, no redirect
//! followed.

use std::time::Duration;

use paf_core::{client::Settings, redirect::Policy, Ctx};

use crate::body::DEFAULT_LIMIT;

/// Configures a client: [`paf_compat::client::ClientBuilder`](crate::client::ClientBuilder)
/// for the async client, [`paf_compat::blocking::ClientBuilder`](crate::blocking::ClientBuilder)
/// for the blocking one; `K` is which, and what else it holds (the async
/// client's backend).
#[derive(Debug, Clone)]
pub struct ClientBuilder<K> {
    pub(crate) settings: Settings,
    /// The context of calls that bring none, when one was set.
    pub(crate) ctx: Option<Ctx>,
    pub(crate) body_limit: usize,
    /// The blocking client's is a marker that holds nothing.
    #[cfg_attr(not(any(feature = "hyper", feature = "reqwest")), allow(dead_code))]
    pub(crate) kind: K,
}

impl<K: Default> Default for ClientBuilder<K> {
    fn default() -> Self {
        ClientBuilder {
            settings: Settings::default(),
            ctx: None,
            body_limit: DEFAULT_LIMIT,
            kind: K::default(),
        }
    }
}

impl<K> ClientBuilder<K> {
    /// The transport context of requests that carry none (CoHTTP's
    /// `?ctx` given to every call): routes, Unix sockets, extra CA
    /// certificates, user transports. Without it each request's context
    /// is filled from its URL.
    pub fn ctx(mut self, ctx: Ctx) -> Self {
        self.settings.ctx = ctx.clone();
        self.ctx = Some(ctx);
        self
    }

    /// Limits the whole exchange, from connecting to the end of the
    /// response body: [`paf_core::Error::Timeout`] past it. No limit by
    /// default, as in CoHTTP.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Limits connecting (transport and TLS handshake) for contexts that
    /// set no limit of their own (paf-core's default otherwise:
    /// [`paf_core::client::DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = Some(timeout);
        self
    }

    /// Whether redirects are followed. Default
    /// [`Policy::none`](paf_core::redirect::Policy::none): a 3xx is the
    /// answer, as in CoHTTP. The rules are paf-core's
    /// ([`paf_core::redirect`]), the same on every backend.
    pub fn redirect(mut self, policy: Policy) -> Self {
        self.settings.redirect = policy;
        self
    }

    /// The cap for what the client reads into memory on its own: the
    /// responses of `callv`, and a streamed body sent with
    /// `chunked(false)` (default [`DEFAULT_LIMIT`]).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Any other of paf's client settings (the response-head and body-idle
    /// limits, HTTP/2 prior knowledge, the pool), on paf-core's builder.
    ///
    /// ```
    /// # #[cfg(feature = "hyper")] {
    /// use std::time::Duration;
    ///
    /// let builder = paf_compat::Client::builder()
    ///     .settings_with(|b| b.body_idle_timeout(Duration::from_secs(5)));
    /// assert_eq!(builder.settings().body_idle_timeout, Some(Duration::from_secs(5)));
    /// # }
    /// ```
    pub fn settings_with(
        mut self,
        change: impl FnOnce(paf_core::client::Builder<Settings>) -> paf_core::client::Builder<Settings>,
    ) -> Self {
        self.settings = change(paf_core::client::Builder::from_settings(self.settings)).build();
        self
    }

    /// The paf-core settings so far.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}
