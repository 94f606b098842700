//! TLS-ALPN-01 (RFC 8737): the CA connects to port 443 of the name,
//! offering `acme-tls/1` as its only ALPN protocol, and checks that the
//! certificate it gets names exactly that name and carries the critical
//! id-pe-acmeIdentifier extension holding the SHA-256 of the key
//! authorization. Such a handshake is answered with that certificate and
//! nothing else: a site's certificate is never sent to it, and a name
//! without a challenge in progress gets no certificate at all.

use std::sync::Arc;

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair};
use ring::digest::{digest, SHA256};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    server::ClientHello,
    sign::CertifiedKey,
};

use crate::error::{Error, Result};

/// The ALPN protocol of TLS-ALPN-01 validation connections, which an
/// HTTPS server's configuration must list for the CA's handshake to
/// succeed ([`CertManager::server_config`](crate::CertManager::server_config)
/// and [`CertResolver::server_config`](crate::CertResolver::server_config)
/// do, after `h2` and `http/1.1`, so that browsers never pick it).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// True when the client offers ALPN `acme-tls/1` and nothing else: a CA
/// validating TLS-ALPN-01 (RFC 8737 §3), not a browser.
pub(crate) fn offers_only_acme_tls(hello: &ClientHello<'_>) -> bool {
    let Some(mut protocols) = hello.alpn() else {
        return false;
    };
    let mut any = false;
    let only = protocols.all(|protocol| {
        any = true;
        protocol == ACME_TLS_ALPN
    });
    any && only
}

/// The self-signed certificate answering a TLS-ALPN-01 challenge for
/// `name`: its only subjectAltName is `name`, and its critical
/// acmeIdentifier extension holds SHA-256(`key_authorization`).
pub(crate) fn challenge_certificate(
    name: &str,
    key_authorization: &str,
) -> Result<Arc<CertifiedKey>> {
    let failed = |e: rcgen::Error| Error::Key {
        what: format!("TLS-ALPN-01 certificate for {name}"),
        reason: e.to_string(),
    };
    let mut params = CertificateParams::new(vec![name.to_string()]).map_err(failed)?;
    params.distinguished_name = DistinguishedName::new();
    let hash = digest(&SHA256, key_authorization.as_bytes());
    params
        .custom_extensions
        .push(CustomExtension::new_acme_identifier(hash.as_ref()));
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not `CertifiedKey::from_der`: its key check parses the certificate
    // with webpki, which refuses the critical extension it does not know.
    // The key was made for this certificate just above.
    let signing_key = paf_core::tls::provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| Error::Certificate {
            reason: format!("the TLS-ALPN-01 certificate key for {name}: {e}"),
        })?;
    Ok(Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(cert.der().to_vec())],
        signing_key,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The acmeIdentifier extension of RFC 8737 §3: OID 1.3.6.1.5.5.7.1.31,
    /// critical, an OCTET STRING wrapping an OCTET STRING of 32 bytes.
    #[test]
    fn the_challenge_certificate_carries_the_critical_acme_identifier() {
        let certified = challenge_certificate("alpn.example.org", "token.thumbprint").unwrap();
        let der = certified.end_entity_cert().unwrap().as_ref().to_vec();
        let hash = digest(&SHA256, b"token.thumbprint");
        let mut extension = vec![
            0x30, 0x31, // Extension SEQUENCE
            0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f, // 1.3.6.1.5.5.7.1.31
            0x01, 0x01, 0xff, // critical
            0x04, 0x22, 0x04, 0x20, // extnValue { OCTET STRING (32) }
        ];
        extension.extend_from_slice(hash.as_ref());
        assert!(
            der.windows(extension.len()).any(|w| w == extension),
            "the extension is in the certificate"
        );
        assert_eq!(
            crate::x509::alt_names(&der).unwrap(),
            [crate::x509::AltName::Dns("alpn.example.org".into())]
        );
    }
}
