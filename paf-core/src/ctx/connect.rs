//! Connecting through the async context: the endpoint opened, TLS layered
//! on top.

use std::{fmt, io, net::SocketAddr};

use super::{wrong_endpoint_type, BoxIo, ConnectionInfo, Ctx, Endpoint, Route};
use crate::{
    error::{Error, Result, TimeoutKind},
    tls,
};

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

impl Ctx {
    /// Connects: picks the endpoint, opens the transport, and layers TLS on
    /// top when the context asks for it ([`Ctx::resolve`], then
    /// [`Ctx::connect_via`]).
    pub async fn connect(&self) -> Result<Connection> {
        self.connect_via(&self.resolve()?).await
    }

    /// Connects along a route this context resolved ([`Ctx::resolve`]):
    /// the endpoint (through the route's proxy, if any), then TLS, within
    /// the route's connect limit. A backend resolves once per request and
    /// connects as often as it needs.
    pub async fn connect_via(&self, route: &Route) -> Result<Connection> {
        let attempt = self.connect_to(route);
        match route.connect_timeout {
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

    async fn connect_to(&self, route: &Route) -> Result<Connection> {
        let endpoint = &route.endpoint;
        // A TCP endpoint may be reached through a proxy's tunnel (proxy.rs).
        let (io, peer_addr) = match &route.proxy {
            Some(proxy) => self.open_through(proxy, endpoint).await?,
            None => self.open(endpoint).await?,
        };
        let mut info = ConnectionInfo {
            endpoint: endpoint.clone(),
            peer_addr,
            tls: false,
            alpn: None,
            proxy: route.proxy.as_ref().map(ToString::to_string),
        };
        let Some(plan) = &route.tls else {
            return Ok(Connection { io, info });
        };
        let stream = tokio_rustls::TlsConnector::from(plan.config.clone())
            .connect(plan.server_name.clone(), io)
            .await
            .map_err(|e| Error::Tls {
                server_name: plan.name.clone(),
                source: tls::rustls_cause(e),
            })?;
        info.tls = true;
        info.alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        Ok(Connection {
            io: Box::new(stream),
            info,
        })
    }

    pub(super) async fn open(&self, endpoint: &Endpoint) -> Result<(BoxIo, Option<SocketAddr>)> {
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
                    .get(user.transport())
                    .ok_or_else(|| self.unknown_transport(endpoint, user.transport(), false))?;
                let connecting = transport.connect(user.value_any()).ok_or_else(|| {
                    wrong_endpoint_type(endpoint, "transport", transport.endpoint_type())
                })?;
                Ok((connecting.await.map_err(connect_error)?, None))
            }
        }
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
