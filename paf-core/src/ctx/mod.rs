//! The transport context, paf's "Mimic": *how* a peer is reached.
//!
//! A request says what to ask; a [`Ctx`] says how to get there. It holds typed
//! entries (scheme, host, port, TLS settings, explicit endpoints, transports
//! the user registered) and resolves them to one connected byte stream. Every
//! backend that accepts a stream uses the same `Ctx`, so "for this host, use
//! `/run/app.sock`" is written once, whatever engine sends the request.
//!
//! # Resolution order
//! [`Ctx::endpoint`] picks the first of:
//! 1. an endpoint routed to the request's host with [`Ctx::route`];
//! 2. the endpoint set for every host with [`Ctx::with_endpoint`] (or
//!    [`Ctx::with_unix_socket`], [`Ctx::with_tcp_addr`], [`Ctx::with_user_endpoint`]);
//! 3. TCP to the host and port of the URL, the name resolved by the system.
//!
//! The first endpoint present is used and no other is tried when it fails, so
//! an error always names the endpoint that was meant. TLS is layered on top of
//! whichever endpoint was picked when the URL's scheme is `https` or
//! [`Ctx::with_tls`] says so; the server name is the URL's host unless
//! [`Ctx::with_server_name`] sets another.
//!
//! A TCP endpoint is reached through an HTTP proxy's `CONNECT` tunnel when
//! the context has a proxy rule for the URL ([`Ctx::with_proxy`],
//! [`Ctx::with_proxy_from_env`]; off by default, see [`Proxy`]).

use std::{
    collections::BTreeMap, fmt, hash::Hash, net::SocketAddr, path::PathBuf, sync::Arc,
    time::Duration,
};

use rustls::ClientConfig;

use crate::{
    error::{Error, NoTransportReason, Result},
    tls::{self, ClientTls},
};

mod blocking;
#[cfg(feature = "tokio")]
mod connect;
mod endpoint;
mod key;
mod prefixed;
mod route;
// Proxies (CONNECT tunnels): see proxy.rs.
mod proxy;
#[cfg(test)]
mod tests;
#[cfg(feature = "tokio")]
mod transport;

pub use blocking::{BlockingConnection, BlockingIo, BlockingTransport};
#[cfg(feature = "tokio")]
pub use connect::Connection;
pub use endpoint::{Endpoint, Scheme, UserEndpoint};
pub use key::ConnKey;
pub use prefixed::Prefixed;
pub use proxy::{NoProxy, Proxies, Proxy, ProxyRefused};
pub use route::Route;
#[cfg(feature = "tokio")]
pub use transport::{BoxIo, Io, Transport};

/// The transport context. Cheap to clone; every `with_*` returns a new value.
///
/// ```
/// use paf_core::ctx::{Ctx, Endpoint};
///
/// let url = "https://api.example.org/v1".parse::<http::Uri>().unwrap();
/// let ctx = Ctx::new().with_uri(&url).unwrap();
/// assert!(ctx.tls_enabled());
/// assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://api.example.org:443");
///
/// // An explicit entry overrides what the URL implies.
/// let ctx = ctx.route("api.example.org", Endpoint::Unix("/run/api.sock".into()));
/// assert_eq!(ctx.endpoint().unwrap().to_string(), "unix:/run/api.sock");
/// ```
#[derive(Clone, Default)]
pub struct Ctx {
    scheme: Option<Scheme>,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<bool>,
    tls_config: Option<Arc<ClientConfig>>,
    server_name: Option<String>,
    alpn: Option<Arc<[Vec<u8>]>>,
    endpoint: Option<Endpoint>,
    routes: Vec<(String, Endpoint)>,
    #[cfg(feature = "tokio")]
    transports: Arc<BTreeMap<String, Arc<dyn transport::DynTransport>>>,
    blocking_transports: Arc<BTreeMap<String, Arc<dyn blocking::DynBlockingTransport>>>,
    connect_timeout: Option<Duration>,
    /// Proxy rules (none: connect directly); see proxy.rs.
    proxies: Proxies,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("custom_tls_config", &self.tls_config.is_some())
            .field("server_name", &self.server_name)
            .field("endpoint", &self.endpoint)
            .field("routes", &self.routes)
            .field("transports", &self.transport_names())
            .field(
                "blocking_transports",
                &self.blocking_transports.keys().collect::<Vec<_>>(),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("proxies", &self.proxies)
            .finish()
    }
}

/// What was learnt while connecting.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The endpoint that was reached.
    pub endpoint: Endpoint,
    /// The peer's address, for TCP: the proxy's when `proxy` is set.
    pub peer_addr: Option<SocketAddr>,
    /// The proxy the connection is tunnelled through (its URL without
    /// credentials, `http://proxy.internal:3128`), if any.
    pub proxy: Option<String>,
    /// Whether TLS is layered on the stream.
    pub tls: bool,
    /// The ALPN protocol the server picked, if any.
    pub alpn: Option<Vec<u8>>,
}

impl ConnectionInfo {
    /// True when the server picked HTTP/2 by ALPN.
    pub fn is_h2(&self) -> bool {
        self.alpn.as_deref() == Some(tls::ALPN_H2)
    }
}

fn invalid_url(url: &dyn fmt::Display, reason: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: url.to_string(),
        reason: reason.into(),
    }
}

fn parse_scheme(url: &dyn fmt::Display, scheme: Option<&str>) -> Result<Scheme> {
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        Some("http") => Ok(Scheme::Http),
        Some("https") => Ok(Scheme::Https),
        Some(other) => Err(invalid_url(url, format!("unsupported scheme {other:?}"))),
        None => Err(invalid_url(url, "no scheme (expected http:// or https://)")),
    }
}

/// IPv6 literals come bracketed in URLs; endpoints hold them bare.
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

impl Ctx {
    /// An empty context: it reaches nothing until a URL or an endpoint is set.
    pub fn new() -> Self {
        Ctx::default()
    }

    /// Fills scheme, host and port from an absolute URI. Explicit entries
    /// (endpoints, routes, `with_tls`) keep their precedence.
    pub fn with_uri(mut self, uri: &http::Uri) -> Result<Self> {
        let scheme = parse_scheme(uri, uri.scheme_str())?;
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid_url(uri, "no host"))?;
        self.port = Some(uri.port_u16().unwrap_or(scheme.default_port()));
        self.host = Some(bare_host(host).to_ascii_lowercase());
        self.scheme = Some(scheme);
        Ok(self)
    }

    /// [`Ctx::with_uri`] for a [`url::Url`].
    pub fn with_url(mut self, url: &url::Url) -> Result<Self> {
        let scheme = parse_scheme(url, Some(url.scheme()))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid_url(url, "no host"))?;
        self.port = Some(url.port().unwrap_or(scheme.default_port()));
        self.host = Some(bare_host(host).to_ascii_lowercase());
        self.scheme = Some(scheme);
        Ok(self)
    }

    /// Forces TLS on or off, whatever the scheme says.
    pub fn with_tls(mut self, on: bool) -> Self {
        self.tls = Some(on);
        self
    }

    /// Uses this rustls configuration for TLS (its roots, its ALPN list).
    pub fn with_tls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Builds the TLS configuration from [`ClientTls`] settings.
    pub fn with_client_tls(self, settings: &ClientTls) -> Result<Self> {
        Ok(self.with_tls_config(Arc::new(settings.build()?)))
    }

    /// Trusts the CA certificates of a PEM text beside Mozilla's roots.
    pub fn with_ca_pem(self, pem: &[u8]) -> Result<Self> {
        self.with_client_tls(&ClientTls::new().add_roots_pem(pem)?)
    }

    /// The name sent in SNI and verified against the certificate, instead of
    /// the URL's host.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The ALPN protocols to offer, overriding the TLS configuration's list
    /// (a backend that speaks only HTTP/1.1 sets `[b"http/1.1"]`).
    pub fn with_alpn(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = Some(protocols.into());
        self
    }

    /// Uses this endpoint for every host not given a route of its own.
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Connects to this Unix domain socket, whatever the URL's host.
    pub fn with_unix_socket(self, path: impl Into<PathBuf>) -> Self {
        self.with_endpoint(Endpoint::Unix(path.into()))
    }

    /// Connects to this TCP address, whatever the URL's host (which is still
    /// used for `Host` and for TLS).
    pub fn with_tcp_addr(self, addr: SocketAddr) -> Self {
        self.with_endpoint(Endpoint::TcpAddr(addr))
    }

    /// Uses `endpoint` for requests to `host` (compared case-insensitively).
    /// A later route for the same host replaces the earlier one.
    pub fn route(mut self, host: &str, endpoint: Endpoint) -> Self {
        let host = bare_host(host).to_ascii_lowercase();
        self.routes.retain(|(h, _)| *h != host);
        self.routes.push((host, endpoint));
        self
    }

    /// Registers a transport under `name`; endpoints of type
    /// [`Transport::Endpoint`] with this name are reached through it. A later
    /// registration under the same name replaces the earlier one.
    #[cfg(feature = "tokio")]
    pub fn with_transport<T: Transport>(mut self, name: &str, transport: T) -> Self {
        Arc::make_mut(&mut self.transports).insert(name.to_string(), Arc::new(transport));
        self
    }

    /// Uses the transport registered as `name`, with this value, for every
    /// host not given a route of its own.
    pub fn with_user_endpoint<E>(self, name: &str, value: E) -> Self
    where
        E: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static,
    {
        self.with_endpoint(Endpoint::user(name, value))
    }

    /// Limits the time to connect, TLS handshake included.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The scheme from the URL.
    pub fn scheme(&self) -> Option<Scheme> {
        self.scheme
    }

    /// The host from the URL (lowercase, IPv6 without brackets).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port from the URL, or the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The connect timeout, if one is set.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// Whether TLS is layered on the stream: explicit [`Ctx::with_tls`], or
    /// else the scheme is `https`.
    pub fn tls_enabled(&self) -> bool {
        self.tls.unwrap_or(self.scheme == Some(Scheme::Https))
    }

    /// The rustls configuration TLS would use.
    pub fn tls_config(&self) -> Arc<ClientConfig> {
        self.tls_config
            .clone()
            .unwrap_or_else(tls::default_client_config)
    }

    /// The TLS configuration with the context's ALPN override applied.
    fn tls_config_with_alpn(&self) -> Arc<ClientConfig> {
        let config = self.tls_config();
        match &self.alpn {
            Some(alpn) if config.alpn_protocols[..] != alpn[..] => {
                let mut with_alpn = (*config).clone();
                with_alpn.alpn_protocols = alpn.to_vec();
                Arc::new(with_alpn)
            }
            _ => config,
        }
    }

    /// The ALPN protocols a TLS connection of this context offers.
    pub fn alpn(&self) -> Vec<Vec<u8>> {
        match &self.alpn {
            Some(alpn) => alpn.to_vec(),
            None => self.tls_config().alpn_protocols.clone(),
        }
    }

    /// True when the context names a transport the user registered: backends
    /// that cannot carry arbitrary streams refuse such contexts.
    pub fn endpoint_is_user(&self) -> bool {
        matches!(self.endpoint(), Ok(Endpoint::User(_)))
    }

    /// The endpoint a connection for the context's host goes to (see the
    /// module docs for the order).
    pub fn endpoint(&self) -> Result<Endpoint> {
        match self.host.as_deref() {
            Some(host) => self.endpoint_for(host),
            None => self.endpoint.clone().ok_or_else(|| Error::NoTransport {
                target: "(no URL)".into(),
                reason: NoTransportReason::NoTarget,
            }),
        }
    }

    /// The endpoint a connection to `host` goes to.
    pub fn endpoint_for(&self, host: &str) -> Result<Endpoint> {
        let host = bare_host(host).to_ascii_lowercase();
        if let Some((_, endpoint)) = self.routes.iter().find(|(h, _)| *h == host) {
            return Ok(endpoint.clone());
        }
        if let Some(endpoint) = &self.endpoint {
            return Ok(endpoint.clone());
        }
        match self.port.or(self.scheme.map(Scheme::default_port)) {
            Some(port) => Ok(Endpoint::Tcp { host, port }),
            None => Err(Error::NoTransport {
                target: host,
                reason: NoTransportReason::NoPort,
            }),
        }
    }

    /// The name TLS sends in SNI and verifies: [`Ctx::with_server_name`], or
    /// else the URL's host.
    pub fn server_name(&self) -> Result<&str> {
        self.server_name
            .as_deref()
            .or(self.host.as_deref())
            .ok_or_else(|| Error::NoTransport {
                target: self
                    .endpoint
                    .as_ref()
                    .map_or_else(|| "(nothing)".into(), ToString::to_string),
                reason: NoTransportReason::NoServerName,
            })
    }

    /// The names of the async transports registered.
    #[cfg(feature = "tokio")]
    fn transport_names(&self) -> Vec<&String> {
        self.transports.keys().collect()
    }

    /// The names of the async transports registered: none without tokio.
    #[cfg(not(feature = "tokio"))]
    fn transport_names(&self) -> Vec<&String> {
        Vec::new()
    }

    /// The error for a user endpoint whose transport is not registered,
    /// listing those that are.
    fn unknown_transport(&self, endpoint: &Endpoint, name: &str, blocking: bool) -> Error {
        let registered: Vec<&String> = if blocking {
            self.blocking_transports.keys().collect()
        } else {
            self.transport_names()
        };
        Error::NoTransport {
            target: endpoint.to_string(),
            reason: NoTransportReason::NotRegistered {
                name: name.to_string(),
                blocking,
                registered: registered.into_iter().cloned().collect(),
            },
        }
    }
}

/// The error for a user endpoint whose value is not of the type its
/// transport takes.
fn wrong_endpoint_type(endpoint: &Endpoint, kind: &str, expected: &'static str) -> Error {
    Error::NoTransport {
        target: endpoint.to_string(),
        reason: NoTransportReason::WrongEndpointType {
            transport: endpoint.transport_name().to_string(),
            blocking: kind.starts_with("blocking"),
            expected,
        },
    }
}
