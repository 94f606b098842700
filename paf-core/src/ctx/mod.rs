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

use std::{
    any::Any,
    collections::BTreeMap,
    fmt,
    hash::{Hash, Hasher},
    io,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use rustls::{pki_types::ServerName, ClientConfig};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{
    error::{Error, Result, TimeoutKind},
    tls::{self, ClientTls},
    BoxFuture,
};

mod blocking;
pub use blocking::{BlockingConnection, BlockingIo, BlockingTransport};

/// A connected byte stream: what every transport yields.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A boxed [`Io`].
pub type BoxIo = Box<dyn Io>;

/// A transport registered by the user: turns an endpoint value into a stream.
///
/// ```
/// use paf_core::ctx::{BoxIo, Ctx, Transport};
/// use paf_core::BoxFuture;
///
/// /// Reaches "services" by number over an in-memory pipe.
/// struct Pipes;
///
/// impl Transport for Pipes {
///     type Endpoint = u32;
///     fn connect(&self, service: &u32) -> BoxFuture<'static, std::io::Result<BoxIo>> {
///         let _service = *service;
///         Box::pin(async move {
///             let (client, _server) = tokio::io::duplex(64 * 1024);
///             Ok(Box::new(client) as BoxIo)
///         })
///     }
/// }
///
/// let ctx = Ctx::new()
///     .with_transport("pipes", Pipes)
///     .with_user_endpoint("pipes", 7u32);
/// assert_eq!(ctx.endpoint_for("example.org").unwrap().to_string(), "pipes:7");
/// ```
pub trait Transport: Send + Sync + 'static {
    /// The value that names one peer of this transport.
    type Endpoint: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static;

    /// Connects to `endpoint`.
    fn connect(&self, endpoint: &Self::Endpoint) -> BoxFuture<'static, io::Result<BoxIo>>;
}

/// Where a connection goes. Endpoints compare equal when they reach the same
/// peer the same way, which is what connection pools key on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP to a host name (resolved at connect time) or IP literal, and a port.
    Tcp {
        /// Host name or IP literal, without brackets.
        host: String,
        /// Port.
        port: u16,
    },
    /// TCP to an address, with no name resolution.
    TcpAddr(SocketAddr),
    /// A Unix domain socket at this path.
    Unix(PathBuf),
    /// A value for a transport the user registered.
    User(UserEndpoint),
}

impl Endpoint {
    /// A user transport's endpoint: the transport's name and its value.
    pub fn user<E>(transport: &str, value: E) -> Self
    where
        E: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static,
    {
        Endpoint::User(UserEndpoint {
            transport: Arc::from(transport),
            value: Arc::new(value),
        })
    }

    /// The name of the transport this endpoint needs (`tcp`, `unix` or the
    /// user's name).
    pub fn transport_name(&self) -> &str {
        match self {
            Endpoint::Tcp { .. } | Endpoint::TcpAddr(_) => "tcp",
            Endpoint::Unix(_) => "unix",
            Endpoint::User(u) => &u.transport,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::TcpAddr(addr) => write!(f, "tcp://{addr}"),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::User(u) => write!(f, "{}:{:?}", u.transport, u.value),
        }
    }
}

/// The endpoint of a user transport: its name and a value of the transport's
/// [`Transport::Endpoint`] type.
#[derive(Clone)]
pub struct UserEndpoint {
    transport: Arc<str>,
    value: Arc<dyn DynValue>,
}

impl UserEndpoint {
    /// The transport's name.
    pub fn transport(&self) -> &str {
        &self.transport
    }

    /// The value, when it is of type `E`.
    pub fn value<E: 'static>(&self) -> Option<&E> {
        self.value.as_any().downcast_ref()
    }
}

impl fmt::Debug for UserEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:?}", self.transport, self.value)
    }
}

impl PartialEq for UserEndpoint {
    fn eq(&self, other: &Self) -> bool {
        self.transport == other.transport && self.value.dyn_eq(other.value.as_any())
    }
}
impl Eq for UserEndpoint {}

impl Hash for UserEndpoint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.transport.hash(state);
        self.value.dyn_hash(state);
    }
}

/// Equality and hashing through `dyn`, so that endpoint values of any type
/// can key a connection pool.
trait DynValue: Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn dyn_eq(&self, other: &dyn Any) -> bool;
    fn dyn_hash(&self, state: &mut dyn Hasher);
}

impl<T: Any + Eq + Hash + fmt::Debug + Send + Sync> DynValue for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn dyn_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
    fn dyn_hash(&self, mut state: &mut dyn Hasher) {
        std::any::TypeId::of::<T>().hash(&mut state);
        self.hash(&mut state);
    }
}

trait DynTransport: Send + Sync {
    fn connect(&self, value: &dyn Any) -> Option<BoxFuture<'static, io::Result<BoxIo>>>;
    fn endpoint_type(&self) -> &'static str;
}

impl<T: Transport> DynTransport for T {
    fn connect(&self, value: &dyn Any) -> Option<BoxFuture<'static, io::Result<BoxIo>>> {
        value
            .downcast_ref::<T::Endpoint>()
            .map(|endpoint| Transport::connect(self, endpoint))
    }
    fn endpoint_type(&self) -> &'static str {
        std::any::type_name::<T::Endpoint>()
    }
}

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
    transports: Arc<BTreeMap<String, Arc<dyn DynTransport>>>,
    blocking_transports: Arc<BTreeMap<String, Arc<dyn blocking::DynBlockingTransport>>>,
    connect_timeout: Option<Duration>,
}

/// The URL schemes a context understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `http`: plain, port 80 by default.
    Http,
    /// `https`: TLS, port 443 by default.
    Https,
}

impl Scheme {
    /// The scheme's default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// The scheme as written in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
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
            .field("transports", &self.transports.keys().collect::<Vec<_>>())
            .field(
                "blocking_transports",
                &self.blocking_transports.keys().collect::<Vec<_>>(),
            )
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Identifies connections that can be shared: the same endpoint, reached
/// with the same TLS settings. Backends key their pools on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnKey {
    endpoint: Endpoint,
    tls: Option<TlsKey>,
}

impl ConnKey {
    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl fmt::Display for ConnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tls {
            Some(tls) => write!(f, "{} (TLS {})", self.endpoint, tls.server_name),
            None => write!(f, "{}", self.endpoint),
        }
    }
}

#[derive(Clone)]
struct TlsKey {
    server_name: String,
    config: Arc<ClientConfig>,
    alpn: Option<Arc<[Vec<u8>]>>,
}

impl fmt::Debug for TlsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsKey")
            .field("server_name", &self.server_name)
            .field("alpn", &self.alpn)
            .finish()
    }
}

// Configurations are compared by identity: two contexts share connections
// only when they trust exactly the same configuration object.
impl PartialEq for TlsKey {
    fn eq(&self, other: &Self) -> bool {
        self.server_name == other.server_name
            && Arc::ptr_eq(&self.config, &other.config)
            && self.alpn == other.alpn
    }
}
impl Eq for TlsKey {}
impl Hash for TlsKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.server_name.hash(state);
        Arc::as_ptr(&self.config).hash(state);
        self.alpn.hash(state);
    }
}

/// A connected stream and what was learnt while connecting.
pub struct Connection {
    /// The byte stream (TLS already layered on when the context asked for it).
    pub io: BoxIo,
    /// What was negotiated.
    pub info: ConnectionInfo,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// What was learnt while connecting.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The endpoint that was reached.
    pub endpoint: Endpoint,
    /// The peer's address, for TCP.
    pub peer_addr: Option<SocketAddr>,
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
                reason: "the context has no host and no explicit endpoint".into(),
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
                reason: "no port: the context has no URL and no explicit endpoint".into(),
            }),
        }
    }

    /// The key of connections this context makes; equal keys may share one.
    pub fn key(&self) -> Result<ConnKey> {
        let endpoint = self.endpoint()?;
        let tls = if self.tls_enabled() {
            Some(TlsKey {
                server_name: self.server_name()?.to_string(),
                config: self.tls_config(),
                alpn: self.alpn.clone(),
            })
        } else {
            None
        };
        Ok(ConnKey { endpoint, tls })
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
                reason: "TLS needs a server name: set a URL or Ctx::with_server_name".into(),
            })
    }

    /// The error for a user endpoint whose transport is not registered,
    /// listing those that are.
    fn unknown_transport(&self, endpoint: &Endpoint, name: &str, blocking: bool) -> Error {
        let (kind, registered): (&str, Vec<&String>) = if blocking {
            (
                "blocking transport",
                self.blocking_transports.keys().collect(),
            )
        } else {
            ("transport", self.transports.keys().collect())
        };
        Error::NoTransport {
            target: endpoint.to_string(),
            reason: format!("no {kind} is registered as {name:?} (registered: {registered:?})"),
        }
    }

    /// Connects: picks the endpoint, opens the transport, and layers TLS on
    /// top when the context asks for it.
    pub async fn connect(&self) -> Result<Connection> {
        let endpoint = self.endpoint()?;
        let attempt = self.connect_to(endpoint);
        match self.connect_timeout {
            Some(after) => {
                tokio::time::timeout(after, attempt)
                    .await
                    .map_err(|_| Error::Timeout {
                        what: TimeoutKind::Connect,
                        after,
                    })?
            }
            None => attempt.await,
        }
    }

    async fn connect_to(&self, endpoint: Endpoint) -> Result<Connection> {
        let (io, peer_addr) = self.open(&endpoint).await?;
        let mut info = ConnectionInfo {
            endpoint,
            peer_addr,
            tls: false,
            alpn: None,
        };
        if !self.tls_enabled() {
            return Ok(Connection { io, info });
        }
        let name = self.server_name()?.to_string();
        let server_name = ServerName::try_from(name.clone()).map_err(|e| Error::Tls {
            server_name: name.clone(),
            source: Box::new(e),
        })?;
        let stream = tokio_rustls::TlsConnector::from(self.tls_config_with_alpn())
            .connect(server_name, io)
            .await
            .map_err(|e| Error::Tls {
                server_name: name,
                source: tls::rustls_cause(e),
            })?;
        info.tls = true;
        info.alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        Ok(Connection {
            io: Box::new(stream),
            info,
        })
    }

    async fn open(&self, endpoint: &Endpoint) -> Result<(BoxIo, Option<SocketAddr>)> {
        let connect_error = |source: io::Error| Error::Connect {
            endpoint: endpoint.to_string(),
            source,
        };
        match endpoint {
            Endpoint::Tcp { host, port } => {
                let addrs = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(connect_error)?;
                let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
                // Addresses are tried in the order the resolver gives them.
                for addr in addrs {
                    match tcp(addr).await {
                        Ok(io) => return Ok((io, Some(addr))),
                        Err(e) => last = e,
                    }
                }
                Err(connect_error(last))
            }
            Endpoint::TcpAddr(addr) => Ok((tcp(*addr).await.map_err(connect_error)?, Some(*addr))),
            Endpoint::Unix(path) => Ok((unix(path).await.map_err(connect_error)?, None)),
            Endpoint::User(user) => {
                let transport = self
                    .transports
                    .get(&*user.transport)
                    .ok_or_else(|| self.unknown_transport(endpoint, &user.transport, false))?;
                let connecting = transport.connect(user.value.as_any()).ok_or_else(|| {
                    wrong_endpoint_type(endpoint, "transport", transport.endpoint_type())
                })?;
                Ok((connecting.await.map_err(connect_error)?, None))
            }
        }
    }
}

/// The error for a user endpoint whose value is not of the type its
/// transport takes.
fn wrong_endpoint_type(endpoint: &Endpoint, kind: &str, expected: &str) -> Error {
    Error::NoTransport {
        target: endpoint.to_string(),
        reason: format!(
            "{kind} {:?} takes endpoints of type {expected}",
            endpoint.transport_name()
        ),
    }
}

async fn tcp(addr: SocketAddr) -> io::Result<BoxIo> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    // Requests are small writes followed by a wait: Nagle only adds latency.
    stream.set_nodelay(true)?;
    Ok(Box::new(stream))
}

#[cfg(unix)]
async fn unix(path: &std::path::Path) -> io::Result<BoxIo> {
    Ok(Box::new(tokio::net::UnixStream::connect(path).await?))
}

#[cfg(not(unix))]
async fn unix(_path: &std::path::Path) -> io::Result<BoxIo> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Unix domain sockets need a Unix system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    #[test]
    fn https_url_implies_tls_and_port_443() {
        let ctx = Ctx::new().with_uri(&uri("https://Example.ORG/x")).unwrap();
        assert!(ctx.tls_enabled());
        assert_eq!(ctx.host(), Some("example.org"));
        assert_eq!(ctx.port(), Some(443));
        assert_eq!(
            ctx.endpoint().unwrap(),
            Endpoint::Tcp {
                host: "example.org".into(),
                port: 443
            }
        );
    }

    #[test]
    fn http_url_with_port_and_ipv6_literal() {
        let ctx = Ctx::new().with_uri(&uri("http://[::1]:8080/")).unwrap();
        assert!(!ctx.tls_enabled());
        assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://[::1]:8080");
    }

    #[test]
    fn url_crate_urls_fill_the_same_way() {
        let url = url::Url::parse("https://127.0.0.1:8443/a?b").unwrap();
        let ctx = Ctx::new().with_url(&url).unwrap();
        assert_eq!(ctx.endpoint().unwrap().to_string(), "tcp://127.0.0.1:8443");
        assert!(ctx.tls_enabled());
    }

    #[test]
    fn bad_urls_are_invalid_url_errors() {
        assert!(matches!(
            Ctx::new().with_uri(&uri("/relative")),
            Err(Error::InvalidUrl { .. })
        ));
        let err = Ctx::new().with_uri(&uri("ftp://host/")).unwrap_err();
        assert!(
            err.to_string().contains("unsupported scheme \"ftp\""),
            "{err}"
        );
        let url = url::Url::parse("unix:/tmp/x").unwrap();
        assert!(matches!(
            Ctx::new().with_url(&url),
            Err(Error::InvalidUrl { .. })
        ));
    }

    #[test]
    fn route_beats_context_endpoint_beats_url() {
        let ctx = Ctx::new()
            .with_uri(&uri("http://api.local/"))
            .unwrap()
            .with_unix_socket("/run/all.sock");
        assert_eq!(
            ctx.endpoint().unwrap(),
            Endpoint::Unix("/run/all.sock".into())
        );
        let ctx = ctx.route("API.local", Endpoint::Unix("/run/api.sock".into()));
        assert_eq!(
            ctx.endpoint().unwrap(),
            Endpoint::Unix("/run/api.sock".into())
        );
        assert_eq!(
            ctx.endpoint_for("other.local").unwrap(),
            Endpoint::Unix("/run/all.sock".into())
        );
    }

    #[test]
    fn explicit_tls_overrides_scheme() {
        let ctx = Ctx::new()
            .with_uri(&uri("https://h/"))
            .unwrap()
            .with_tls(false);
        assert!(!ctx.tls_enabled());
        let ctx = Ctx::new()
            .with_uri(&uri("http://h/"))
            .unwrap()
            .with_tls(true);
        assert!(ctx.tls_enabled());
    }

    #[test]
    fn empty_context_says_what_it_lacks() {
        let err = Ctx::new().endpoint().unwrap_err();
        assert!(matches!(err, Error::NoTransport { .. }));
        assert!(
            err.to_string().contains("no host and no explicit endpoint"),
            "{err}"
        );
    }

    #[test]
    fn keys_separate_endpoints_and_tls_settings() {
        let a = Ctx::new().with_uri(&uri("http://a/")).unwrap();
        let a2 = Ctx::new().with_uri(&uri("http://a/other")).unwrap();
        let b = Ctx::new().with_uri(&uri("https://a/")).unwrap();
        assert_eq!(a.key().unwrap(), a2.key().unwrap());
        assert_ne!(a.key().unwrap(), b.key().unwrap());
        let u1 = a.clone().with_user_endpoint("mem", 1u8);
        let u1b = a.clone().with_user_endpoint("mem", 1u8);
        let u2 = a.with_user_endpoint("mem", 2u8);
        assert_eq!(u1.key().unwrap(), u1b.key().unwrap());
        assert_ne!(u1.key().unwrap(), u2.key().unwrap());
        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        let b2 = b.clone().with_ca_pem(ca.cert.pem().as_bytes()).unwrap();
        assert_ne!(b.key().unwrap(), b2.key().unwrap());
    }

    #[tokio::test]
    async fn unregistered_user_transport_is_named_in_the_error() {
        let ctx = Ctx::new()
            .with_uri(&uri("http://svc/"))
            .unwrap()
            .with_user_endpoint("nowhere", 3u16);
        let err = ctx.connect().await.unwrap_err();
        assert!(matches!(err, Error::NoTransport { .. }));
        assert!(err.to_string().contains("\"nowhere\""), "{err}");
    }

    struct Refuse;
    impl Transport for Refuse {
        type Endpoint = String;
        fn connect(&self, _: &String) -> BoxFuture<'static, io::Result<BoxIo>> {
            Box::pin(async { Err(io::Error::from(io::ErrorKind::ConnectionRefused)) })
        }
    }

    #[tokio::test]
    async fn user_transport_with_wrong_value_type_is_refused() {
        let ctx = Ctx::new()
            .with_uri(&uri("http://svc/"))
            .unwrap()
            .with_transport("refuse", Refuse)
            .with_user_endpoint("refuse", 3u16);
        let err = ctx.connect().await.unwrap_err();
        assert!(err.to_string().contains("alloc::string::String"), "{err}");
        let ctx = ctx.with_user_endpoint("refuse", "x".to_string());
        let err = ctx.connect().await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!(err.to_string(), "cannot connect to refuse:\"x\"");
    }

    #[tokio::test]
    async fn refused_tcp_connection_is_a_connect_error() {
        // Bind then drop to find a port with nobody listening.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ctx = Ctx::new()
            .with_uri(&uri(&format!("http://127.0.0.1:{port}/")))
            .unwrap();
        let err = ctx.connect().await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));
    }

    #[tokio::test]
    async fn missing_unix_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.sock");
        let ctx = Ctx::new()
            .with_uri(&uri("http://localhost/"))
            .unwrap()
            .with_unix_socket(&path);
        let err = ctx.connect().await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert!(err.to_string().contains("absent.sock"));
    }
}
