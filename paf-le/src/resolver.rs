//! A certificate an HTTPS server can have swapped while it runs.
//!
//! rustls asks a [`ResolvesServerCert`] for the certificate at every
//! handshake; [`CertResolver`] answers with whatever was last put in it.
//! Connections already open keep the certificate they were made with, new
//! ones get the new one: no restart, no dropped connection. For one
//! certificate per name, see [`CertManager`](crate::CertManager).

use std::sync::{Arc, RwLock};

use rustls::{
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    ServerConfig,
};

use crate::{
    certificate::Certificate,
    challenge::{offers_only_acme_tls, Challenges, ACME_TLS_ALPN},
    error::Result,
    x509::{self, AltName},
};

/// The server's current certificate, replaceable at any time.
///
/// ```no_run
/// # async fn demo() -> paf_le::Result<()> {
/// use std::sync::Arc;
/// use paf_core::{http::{Request, Response}, Body};
/// use paf_le::{CertResolver, Certificate};
///
/// let resolver = Arc::new(CertResolver::new(&Certificate::self_signed(["example.org"])?)?);
/// let https = paf_hyper::Server::builder()
///     .tls(resolver.server_config()?)
///     .build(|_req: Request<Body>| async { Response::new(Body::from("hello")) })
///     .bind_tcp("0.0.0.0:443".parse().unwrap())
///     .await?;
/// // Later, when a certificate was issued:
/// # let issued = Certificate::self_signed(["example.org"])?;
/// resolver.set(&issued)?;
/// # let _ = https; Ok(()) }
/// ```
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
    challenges: Option<Challenges>,
}

impl CertResolver {
    /// A resolver serving `cert` until it is replaced.
    pub fn new(cert: &Certificate) -> Result<Self> {
        Ok(Self::from_certified_key(cert.certified_key()?))
    }

    /// A resolver serving a rustls [`CertifiedKey`].
    pub fn from_certified_key(certified: Arc<CertifiedKey>) -> Self {
        CertResolver {
            current: RwLock::new(certified),
            challenges: None,
        }
    }

    /// Also answers TLS-ALPN-01 validation handshakes (ALPN `acme-tls/1`
    /// alone) with the challenge certificates of `challenges` (usually
    /// [`Config::challenges`](crate::Config::challenges)); for a name the
    /// served certificate lists, the storage behind them is asked too.
    /// [`server_config`](CertResolver::server_config) then lists
    /// `acme-tls/1`.
    pub fn answering(mut self, challenges: Challenges) -> Self {
        self.challenges = Some(challenges);
        self
    }

    /// Serves `cert` from the next handshake on. Fails, leaving the current
    /// certificate in place, when the key does not belong to the chain.
    pub fn set(&self, cert: &Certificate) -> Result<()> {
        self.set_certified_key(cert.certified_key()?);
        Ok(())
    }

    /// Serves this rustls [`CertifiedKey`] from the next handshake on.
    pub fn set_certified_key(&self, certified: Arc<CertifiedKey>) {
        // Replacing an `Arc` cannot leave the value half-written, so a
        // poisoned lock is still good.
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = certified;
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A server configuration that takes its certificate from this
    /// resolver (ring provider, TLS 1.2 and 1.3, ALPN `h2` then
    /// `http/1.1`, then `acme-tls/1` when it
    /// [answers challenges](CertResolver::answering)), for
    /// [`paf_hyper::ServerBuilder::tls`].
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>> {
        server_config(self.clone(), self.challenges.is_some())
    }

    /// Whether the served certificate lists `name`.
    fn lists(&self, name: &str) -> bool {
        let current = self.current();
        let Some(leaf) = current.end_entity_cert().ok() else {
            return false;
        };
        x509::alt_names(leaf).is_some_and(|names| {
            names
                .iter()
                .any(|alt| matches!(alt, AltName::Dns(dns) if dns == name))
        })
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if offers_only_acme_tls(&client_hello) {
            // A CA validating TLS-ALPN-01 gets the challenge's certificate
            // or none, never the site's (RFC 8737 §3).
            let challenges = self.challenges.as_ref()?;
            let name = client_hello.server_name()?.to_ascii_lowercase();
            return challenges.tls_alpn_answer(&name, self.lists(&name));
        }
        Some(self.current())
    }
}

/// A server configuration taking its certificates from `resolver`: ring,
/// TLS 1.2 and 1.3, ALPN `h2`, `http/1.1` and, with `acme_tls`,
/// `acme-tls/1` last (a server picks by its own order, so browsers never
/// get it).
pub(crate) fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    acme_tls: bool,
) -> Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(paf_core::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| paf_core::Error::Tls {
            server_name: "the server configuration".into(),
            source: Box::new(e),
        })?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![
        paf_core::tls::ALPN_H2.to_vec(),
        paf_core::tls::ALPN_HTTP11.to_vec(),
    ];
    if acme_tls {
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_the_served_certificate_and_refuses_mismatched_keys() {
        let a = Certificate::self_signed(["a.example.org"]).unwrap();
        let b = Certificate::self_signed(["b.example.org"]).unwrap();
        let resolver = Arc::new(CertResolver::new(&a).unwrap());
        resolver.server_config().unwrap();
        assert_eq!(resolver.current().end_entity_cert().unwrap(), a.leaf());
        resolver.set(&b).unwrap();
        assert_eq!(resolver.current().end_entity_cert().unwrap(), b.leaf());

        let mixed = Certificate::from_pem(a.chain_pem(), b.key_pem()).unwrap();
        assert!(resolver.set(&mixed).is_err());
        assert_eq!(resolver.current().end_entity_cert().unwrap(), b.leaf());
    }
}
