//! Where a connection goes: endpoints, and the values of user transports
//! that key connection pools.

use std::{
    any::Any,
    fmt,
    hash::{Hash, Hasher},
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
};

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
/// [`Transport::Endpoint`](super::Transport::Endpoint) type.
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

    /// The value as `Any`, for the transport registry to downcast.
    pub(super) fn value_any(&self) -> &dyn Any {
        self.value.as_any()
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
