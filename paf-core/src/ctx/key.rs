//! The key under which connections are shared.

use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::Arc,
};

use rustls::ClientConfig;

use super::{proxy::ProxyKey, Ctx, Endpoint, Proxy};
use crate::error::Result;

/// Identifies connections that can be shared: the same endpoint, reached
/// with the same TLS settings. Backends key their pools on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnKey {
    endpoint: Endpoint,
    tls: Option<TlsKey>,
    /// The proxy the connection is tunnelled through (proxy.rs).
    proxy: Option<ProxyKey>,
}

impl ConnKey {
    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The proxy the connection goes through, if any.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref().map(ProxyKey::proxy)
    }

    /// The TLS server name, when connections of this key use TLS.
    pub(super) fn server_name(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.server_name.as_str())
    }
}

impl fmt::Display for ConnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tls {
            Some(tls) => write!(f, "{} (TLS {})", self.endpoint, tls.server_name)?,
            None => write!(f, "{}", self.endpoint)?,
        }
        match self.proxy() {
            Some(proxy) => write!(f, " through proxy {proxy}"),
            None => Ok(()),
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

impl Ctx {
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
        let proxy = self.proxy_key(&endpoint);
        Ok(ConnKey {
            endpoint,
            tls,
            proxy,
        })
    }
}
