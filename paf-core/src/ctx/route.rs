//! A context resolved once: [`Route`] says where one connection goes and
//! how, so that connecting (async or blocking) reads a plan instead of
//! asking the context piecemeal each time.

use std::{fmt, sync::Arc, time::Duration};

use rustls::{pki_types::ServerName, ClientConfig};

use super::{ConnKey, Ctx, Endpoint, Proxy};
use crate::error::{Error, Result};

/// Where and how one connection goes, worked out once from a [`Ctx`]
/// ([`Ctx::resolve`]): the endpoint, the proxy it goes through (if any),
/// the TLS to layer on top (server name, and the rustls configuration with
/// the context's ALPN list already applied), the connect limit, and the key
/// of the connections it may share. [`Ctx::connect_via`] and
/// [`Ctx::connect_blocking_via`] follow it; [`Ctx::connect`] and
/// [`Ctx::connect_blocking`] resolve and follow in one step.
///
/// ```
/// use paf_core::ctx::Ctx;
///
/// let ctx = Ctx::new().with_uri(&"https://example.org/x".parse().unwrap())?;
/// let route = ctx.resolve()?;
/// assert_eq!(route.endpoint().to_string(), "tcp://example.org:443");
/// assert_eq!(route.server_name(), Some("example.org"));
/// assert!(route.proxy().is_none());
/// # Ok::<(), paf_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Route {
    pub(super) endpoint: Endpoint,
    pub(super) proxy: Option<Proxy>,
    pub(super) tls: Option<TlsPlan>,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) key: ConnKey,
}

/// The TLS a route layers on its stream.
#[derive(Clone)]
pub(super) struct TlsPlan {
    /// The name as given, for messages.
    pub(super) name: String,
    /// The name sent in SNI and verified.
    pub(super) server_name: ServerName<'static>,
    /// The configuration, with the context's ALPN list applied.
    pub(super) config: Arc<ClientConfig>,
}

impl Route {
    /// Where the connection goes.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The proxy whose tunnel it goes through.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// The TLS server name, when TLS is layered on the stream.
    pub fn server_name(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.name.as_str())
    }

    /// The ALPN protocols offered, when TLS is layered on the stream.
    pub fn alpn(&self) -> Option<&[Vec<u8>]> {
        self.tls.as_ref().map(|tls| &tls.config.alpn_protocols[..])
    }

    /// How long connecting may take, TLS included.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The key of the connections this route may share.
    pub fn key(&self) -> &ConnKey {
        &self.key
    }

    /// The same route with another connect limit (a caller's remaining
    /// budget, say).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("endpoint", &self.endpoint)
            .field("proxy", &self.proxy.as_ref().map(ToString::to_string))
            .field("server_name", &self.server_name())
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl Ctx {
    /// Works out, once, where a connection of this context goes and how
    /// (see [`Route`]). Fails as connecting would before touching the
    /// network: no endpoint, no server name for TLS, an invalid one.
    pub fn resolve(&self) -> Result<Route> {
        // The key already holds the endpoint, the proxy and the server
        // name: the route is read off it, not worked out a second time.
        let key = self.key()?;
        let endpoint = key.endpoint().clone();
        let proxy = key.proxy().cloned();
        let tls = if let Some(name) = key.server_name() {
            let name = name.to_string();
            let server_name = ServerName::try_from(name.clone()).map_err(|e| Error::Tls {
                server_name: name.clone(),
                source: Box::new(e),
            })?;
            Some(TlsPlan {
                name,
                server_name,
                config: self.tls_config_with_alpn(),
            })
        } else {
            None
        };
        Ok(Route {
            endpoint,
            proxy,
            tls,
            connect_timeout: self.connect_timeout,
            key,
        })
    }
}
