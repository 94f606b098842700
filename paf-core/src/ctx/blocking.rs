//! The blocking form of the transport context, for engines without an async
//! runtime (ureq). The same [`Ctx`] resolves to a `Read + Write` stream: the
//! same endpoint order, the same TLS configuration (rustls' own blocking
//! stream), and user transports registered with
//! [`Ctx::with_blocking_transport`].

use std::{
    any::Any,
    fmt,
    hash::Hash,
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream, ToSocketAddrs},
    sync::Arc,
    time::{Duration, Instant},
};

use rustls::{ClientConnection, StreamOwned};

use super::{ConnectionInfo, Ctx, Endpoint, Route};
use crate::{
    error::{Error, Result, TimeoutKind},
    tls,
};

/// A connected blocking byte stream.
///
/// `set_timeouts` lets an engine bound each read and write; streams that
/// cannot be bounded keep the default, which does nothing.
pub trait BlockingIo: Read + Write + Send + 'static {
    /// Bounds the next reads and writes (`None`: wait for ever).
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        let _ = (read, write);
        Ok(())
    }
}

impl BlockingIo for TcpStream {
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }
}

#[cfg(unix)]
impl BlockingIo for std::os::unix::net::UnixStream {
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }
}

impl BlockingIo for Box<dyn BlockingIo> {
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        (**self).set_timeouts(read, write)
    }
}

impl BlockingIo for StreamOwned<ClientConnection, Box<dyn BlockingIo>> {
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.sock.set_timeouts(read, write)
    }
}

/// A transport the user registers for blocking engines: the blocking twin
/// of [`super::Transport`].
pub trait BlockingTransport: Send + Sync + 'static {
    /// The value that names one peer of this transport.
    type Endpoint: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static;

    /// Connects to `endpoint`.
    fn connect(&self, endpoint: &Self::Endpoint) -> io::Result<Box<dyn BlockingIo>>;
}

pub(super) trait DynBlockingTransport: Send + Sync {
    fn connect(&self, value: &dyn Any) -> Option<io::Result<Box<dyn BlockingIo>>>;
    fn endpoint_type(&self) -> &'static str;
}

impl<T: BlockingTransport> DynBlockingTransport for T {
    fn connect(&self, value: &dyn Any) -> Option<io::Result<Box<dyn BlockingIo>>> {
        value
            .downcast_ref::<T::Endpoint>()
            .map(|endpoint| BlockingTransport::connect(self, endpoint))
    }
    fn endpoint_type(&self) -> &'static str {
        std::any::type_name::<T::Endpoint>()
    }
}

/// A connected blocking stream and what was learnt while connecting.
pub struct BlockingConnection {
    /// The byte stream, TLS already layered on when the context asked for it.
    pub io: Box<dyn BlockingIo>,
    /// What was negotiated.
    pub info: ConnectionInfo,
}

impl fmt::Debug for BlockingConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingConnection")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Registers a blocking transport under `name`, for blocking engines;
    /// user endpoints with this name reach it (see [`Ctx::with_transport`]
    /// for async engines: a name may have both).
    pub fn with_blocking_transport<T: BlockingTransport>(
        mut self,
        name: &str,
        transport: T,
    ) -> Self {
        Arc::make_mut(&mut self.blocking_transports).insert(name.to_string(), Arc::new(transport));
        self
    }

    /// Connects without an async runtime: the same endpoint order and TLS
    /// settings as [`Ctx::connect`]. The connect timeout bounds the TCP
    /// connect and, on TCP and Unix streams, the TLS handshake.
    pub fn connect_blocking(&self) -> Result<BlockingConnection> {
        self.connect_blocking_via(&self.resolve()?)
    }

    /// [`Ctx::connect_via`] for blocking engines: connects along a route
    /// this context resolved ([`Ctx::resolve`]).
    pub fn connect_blocking_via(&self, route: &Route) -> Result<BlockingConnection> {
        let endpoint = &route.endpoint;
        let limit = route.connect_timeout;
        let started = Instant::now();
        // A TCP endpoint may be reached through a proxy's tunnel (proxy.rs).
        let (mut io, peer_addr) = match &route.proxy {
            Some(proxy) => self.open_through_blocking(proxy, endpoint, limit, started)?,
            None => self.open_blocking(endpoint, limit)?,
        };
        let mut info = ConnectionInfo {
            endpoint: endpoint.clone(),
            peer_addr,
            tls: false,
            alpn: None,
            proxy: route.proxy.as_ref().map(ToString::to_string),
        };
        let Some(plan) = &route.tls else {
            return Ok(BlockingConnection { io, info });
        };
        let tls_error = |source: crate::BoxError| Error::Tls {
            server_name: plan.name.clone(),
            source,
        };
        let mut conn = ClientConnection::new(plan.config.clone(), plan.server_name.clone())
            .map_err(|e| tls_error(Box::new(e)))?;
        if let Some(limit) = route.connect_timeout {
            let left = limit
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1));
            io.set_timeouts(Some(left), Some(left))?;
        }
        // The handshake is completed here, so that a refused certificate is
        // a TLS error of connecting, not an I/O error of the first write.
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut io) {
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    return Err(Error::Timeout {
                        what: TimeoutKind::Connect,
                        after: route.connect_timeout.unwrap_or_default(),
                    });
                }
                return Err(tls_error(tls::rustls_cause(e)));
            }
        }
        io.set_timeouts(None, None)?;
        info.tls = true;
        info.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        Ok(BlockingConnection {
            io: Box::new(StreamOwned::new(conn, io)),
            info,
        })
    }

    /// Opens `endpoint`, each socket connect bounded by `limit`.
    pub(super) fn open_blocking(
        &self,
        endpoint: &Endpoint,
        limit: Option<Duration>,
    ) -> Result<(Box<dyn BlockingIo>, Option<SocketAddr>)> {
        let connect_error = |source: io::Error| Error::Connect {
            endpoint: endpoint.to_string(),
            source,
        };
        match endpoint {
            Endpoint::Tcp { host, port } => {
                let addrs = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(connect_error)?;
                let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
                for addr in addrs {
                    match tcp_blocking(addr, limit) {
                        Ok(io) => return Ok((io, Some(addr))),
                        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                            return Err(connect_timed_out(limit))
                        }
                        Err(e) => last = e,
                    }
                }
                Err(connect_error(last))
            }
            Endpoint::TcpAddr(addr) => match tcp_blocking(*addr, limit) {
                Ok(io) => Ok((io, Some(*addr))),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(connect_timed_out(limit)),
                Err(e) => Err(connect_error(e)),
            },
            Endpoint::Unix(path) => {
                #[cfg(unix)]
                {
                    let stream =
                        std::os::unix::net::UnixStream::connect(path).map_err(connect_error)?;
                    Ok((Box::new(stream), None))
                }
                #[cfg(not(unix))]
                {
                    let _ = path;
                    Err(connect_error(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "Unix domain sockets need a Unix system",
                    )))
                }
            }
            Endpoint::User(user) => {
                let transport = self
                    .blocking_transports
                    .get(user.transport())
                    .ok_or_else(|| self.unknown_transport(endpoint, user.transport(), true))?;
                let connected = transport.connect(user.value_any()).ok_or_else(|| {
                    super::wrong_endpoint_type(
                        endpoint,
                        "blocking transport",
                        transport.endpoint_type(),
                    )
                })?;
                Ok((connected.map_err(connect_error)?, None))
            }
        }
    }
}

fn tcp_blocking(addr: SocketAddr, limit: Option<Duration>) -> io::Result<Box<dyn BlockingIo>> {
    let stream = match limit {
        Some(limit) => TcpStream::connect_timeout(&addr, limit)?,
        None => TcpStream::connect(addr)?,
    };
    // Requests are small writes followed by a wait: Nagle only adds latency.
    stream.set_nodelay(true)?;
    Ok(Box::new(stream))
}

fn connect_timed_out(limit: Option<Duration>) -> Error {
    Error::Timeout {
        what: TimeoutKind::Connect,
        after: limit.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    fn ctx(url: &str) -> Ctx {
        Ctx::new().with_uri(&url.parse().unwrap()).unwrap()
    }

    #[test]
    fn blocking_tcp_reaches_a_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"hi\n").unwrap();
        });
        let conn = ctx(&format!("http://127.0.0.1:{}/", addr.port()))
            .connect_blocking()
            .unwrap();
        assert_eq!(conn.info.peer_addr, Some(addr));
        let mut line = String::new();
        BufReader::new(conn.io).read_line(&mut line).unwrap();
        assert_eq!(line, "hi\n");
        server.join().unwrap();
    }

    #[test]
    fn blocking_refused_is_a_connect_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = ctx(&format!("http://127.0.0.1:{port}/"))
            .connect_blocking()
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
    }

    struct Pipe;
    impl BlockingIo for io::Cursor<Vec<u8>> {}
    impl BlockingTransport for Pipe {
        type Endpoint = u8;
        fn connect(&self, n: &u8) -> io::Result<Box<dyn BlockingIo>> {
            Ok(Box::new(io::Cursor::new(vec![*n; 3])))
        }
    }

    #[test]
    fn blocking_user_transport_is_used_and_missing_one_is_named() {
        let base = ctx("http://svc/").with_user_endpoint("pipe", 7u8);
        let err = base.connect_blocking().unwrap_err();
        assert!(err.to_string().contains("\"pipe\""), "{err}");
        let mut conn = base
            .with_blocking_transport("pipe", Pipe)
            .connect_blocking()
            .unwrap();
        let mut buf = Vec::new();
        conn.io.read_to_end(&mut buf).unwrap();
        assert_eq!(buf, [7, 7, 7]);
    }

    #[test]
    fn blocking_tls_to_a_plain_server_is_a_tls_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        let err = ctx(&format!("https://127.0.0.1:{}/", addr.port()))
            .connect_blocking()
            .unwrap_err();
        assert!(err.is_tls(), "{err:?}");
        server.join().unwrap();
    }
}
