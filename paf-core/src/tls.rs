//! rustls configurations built on the `ring` provider.
//!
//! paf never installs a process-wide crypto provider: every configuration is
//! built with an explicit provider, so a program that links another rustls
//! user is not surprised, and `aws-lc-rs` never has to be in the build.

use std::sync::{Arc, OnceLock};

use rustls::{
    crypto::CryptoProvider,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    ClientConfig, RootCertStore, ServerConfig,
};

use crate::error::{BoxError, Error, Result};

/// ALPN identifier of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN identifier of HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The `ring` crypto provider every paf configuration is built with.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn tls_error(what: &str, source: rustls::Error) -> Error {
    Error::Tls {
        server_name: what.to_string(),
        source: Box::new(source),
    }
}

/// The cause of a failed handshake: tokio-rustls reports it as an
/// `io::Error` wrapping the [`rustls::Error`], which is what a caller wants
/// to match on. Other I/O errors are kept as they are.
pub fn rustls_cause(err: std::io::Error) -> BoxError {
    if err.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
        if let Some(inner) = err.into_inner() {
            return inner;
        }
        return "TLS error without its cause".into();
    }
    Box::new(err)
}

/// Parses every certificate in a PEM text.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls {
            server_name: "PEM certificates".into(),
            source: Box::new(e),
        })?;
    if certs.is_empty() {
        return Err(Error::Tls {
            server_name: "PEM certificates".into(),
            source: "no CERTIFICATE block in the PEM text".into(),
        });
    }
    Ok(certs)
}

/// Parses the first private key (PKCS#8, PKCS#1 or SEC1) in a PEM text.
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::Tls {
        server_name: "PEM private key".into(),
        source: Box::new(e),
    })
}

/// Settings for the client side of TLS, turned into a [`ClientConfig`] by
/// [`ClientTls::build`].
#[derive(Debug, Clone)]
pub struct ClientTls {
    webpki_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    alpn: Vec<Vec<u8>>,
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls {
            webpki_roots: true,
            extra_roots: Vec::new(),
            alpn: vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()],
        }
    }
}

impl ClientTls {
    /// Mozilla's roots (webpki-roots) and ALPN `h2`, `http/1.1`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts this CA certificate too.
    pub fn add_root(mut self, cert: CertificateDer<'static>) -> Self {
        self.extra_roots.push(cert);
        self
    }

    /// Trusts every certificate of a PEM text too.
    pub fn add_roots_pem(mut self, pem: &[u8]) -> Result<Self> {
        self.extra_roots.extend(certificates_from_pem(pem)?);
        Ok(self)
    }

    /// Whether Mozilla's roots are trusted (default `true`). Turn it off to
    /// trust only the roots added here, as for a private CA.
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.webpki_roots = on;
        self
    }

    /// The ALPN protocols offered, in order of preference.
    pub fn alpn(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// Builds the rustls configuration (TLS 1.2 and 1.3, certificate
    /// verification on).
    pub fn build(&self) -> Result<ClientConfig> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in &self.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| tls_error("an extra CA certificate", e))?;
        }
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("the client configuration", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }
}

/// The client configuration used when a context names none: webpki roots,
/// ALPN `h2` then `http/1.1`. Built once per process.
pub fn default_client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                ClientTls::new()
                    .build()
                    .expect("the ring provider supports the safe default protocol versions"),
            )
        })
        .clone()
}

/// A server configuration from a certificate chain and its key, offering
/// ALPN `h2` then `http/1.1`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("the server configuration", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls_error("the server certificate", e))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
    Ok(config)
}

/// [`server_config`] from PEM texts of the chain and the key.
pub fn server_config_from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<ServerConfig> {
    server_config(
        certificates_from_pem(chain_pem)?,
        private_key_from_pem(key_pem)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_pem_is_a_tls_error() {
        assert!(certificates_from_pem(b"not a pem").unwrap_err().is_tls());
        assert!(private_key_from_pem(b"-----BEGIN NOTHING-----")
            .unwrap_err()
            .is_tls());
    }

    #[test]
    fn server_config_from_generated_cert_offers_h2_first() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let config = server_config_from_pem(
            cert.cert.pem().as_bytes(),
            cert.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = rcgen::generate_simple_self_signed(vec!["a".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b".into()]).unwrap();
        let err = server_config_from_pem(
            a.cert.pem().as_bytes(),
            b.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap_err();
        assert!(err.is_tls());
    }

    #[test]
    fn client_config_with_private_root_only() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let config = ClientTls::new()
            .webpki_roots(false)
            .add_roots_pem(cert.cert.pem().as_bytes())
            .unwrap()
            .alpn(vec![ALPN_HTTP11.to_vec()])
            .build()
            .unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
