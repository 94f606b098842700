//! The one rustls server configuration both benchmark servers are given:
//! built by [`paf_core::tls::server_config_from_pem`] (the `ring` provider,
//! TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`) from the same certificate and
//! key files, so the TLS rows compare the servers and not their settings.
//!
//! rustls resumes sessions by default (a 256-entry session cache and two
//! TLS 1.3 tickets per connection), and wrk resumes them on every
//! reconnection: a new-connection benchmark then measures resumed
//! handshakes. `resumption: false` turns both off, so that every
//! connection costs a full handshake.

use std::{path::Path, sync::Arc};

use rustls::ServerConfig;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The configuration for the certificate chain in `cert` and the key in
/// `key` (PEM files), offering the ALPN protocols `alpn` (in order of
/// preference; `None` keeps paf's `h2`, `http/1.1`), with rustls's session
/// resumption on or off.
pub fn server_config(
    cert: &Path,
    key: &Path,
    alpn: Option<Vec<Vec<u8>>>,
    resumption: bool,
) -> Result<Arc<ServerConfig>, BoxError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let (cert_pem, key_pem) = (read(cert)?, read(key)?);
    let mut config = paf_core::tls::server_config_from_pem(&cert_pem, &key_pem).map_err(|e| {
        format!(
            "{} and {} do not make a TLS configuration: {}",
            cert.display(),
            key.display(),
            crate::error_chain(&e)
        )
    })?;
    if let Some(alpn) = alpn {
        config.alpn_protocols = alpn;
    }
    if !resumption {
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(Arc::new(config))
}
