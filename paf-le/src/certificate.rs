//! An issued certificate: the chain and its private key, as PEM texts and
//! as rustls types, with the validity period the renewal schedule needs.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer},
    sign::CertifiedKey,
    ServerConfig,
};

use crate::{
    error::{Error, Result},
    x509,
};

/// A certificate chain (leaf first) and its private key.
///
/// The PEM texts are what the CA sent and what the key serialises to; the
/// rustls types are parsed from them once.
pub struct Certificate {
    chain_pem: String,
    key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl Clone for Certificate {
    fn clone(&self) -> Self {
        Certificate {
            chain_pem: self.chain_pem.clone(),
            key_pem: self.key_pem.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            not_before: self.not_before,
            not_after: self.not_after,
        }
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("chain_len", &self.chain.len())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// A certificate from a PEM chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    ///
    /// Fails with [`Error::Certificate`] when the chain is empty or the
    /// leaf's validity cannot be read, and with [`Error::Paf`] when the PEM
    /// does not parse. Whether the key matches the leaf is checked when a
    /// server is given the certificate ([`Certificate::certified_key`]).
    pub fn from_pem(chain_pem: impl Into<String>, key_pem: impl Into<String>) -> Result<Self> {
        let chain_pem = chain_pem.into();
        let key_pem = key_pem.into();
        let chain = paf_core::tls::certificates_from_pem(chain_pem.as_bytes())?;
        let key = paf_core::tls::private_key_from_pem(key_pem.as_bytes())?;
        let leaf = chain.first().ok_or_else(|| Error::Certificate {
            reason: "the chain holds no certificate".into(),
        })?;
        let (not_before, not_after) = x509::validity(leaf).ok_or_else(|| Error::Certificate {
            reason: "the validity period of the leaf certificate cannot be read".into(),
        })?;
        Ok(Certificate {
            chain_pem,
            key_pem,
            chain,
            key,
            not_before,
            not_after,
        })
    }

    /// A self-signed certificate for `hostnames` with a new ECDSA P-256 key:
    /// something for an HTTPS server to start with until the CA's arrives.
    pub fn self_signed<I, S>(hostnames: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = hostnames.into_iter().map(Into::into).collect::<Vec<_>>();
        let generated = rcgen::generate_simple_self_signed(names).map_err(|e| Error::Key {
            what: "self-signed certificate".into(),
            reason: e.to_string(),
        })?;
        Self::from_pem(generated.cert.pem(), generated.signing_key.serialize_pem())
    }

    /// The chain as PEM, leaf first.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The private key as PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf certificate.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        // `from_pem`, the only constructor, refuses an empty chain.
        &self.chain[0]
    }

    /// The private key.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The leaf's serial number in hexadecimal, as `openssl x509 -serial`
    /// shows it: what tells two certificates for the same names apart in
    /// a log. `None` when it cannot be read.
    pub fn serial_hex(&self) -> Option<String> {
        x509::serial(self.leaf()).map(|serial| {
            serial
                .iter()
                .skip_while(|b| **b == 0)
                .map(|b| format!("{b:02X}"))
                .collect()
        })
    }

    /// The start of the leaf's validity period.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// The end of the leaf's validity period.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// The time at which `fraction` (0 to 1) of the validity period has
    /// passed: `renew_at(2.0 / 3.0)` is when a renewal is due by default.
    /// A fraction outside 0..=1 is clamped; NaN counts as 0.
    pub fn renew_at(&self, fraction: f64) -> SystemTime {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let lifetime = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or(Duration::ZERO);
        // Whole seconds: certificate times have no finer resolution, and
        // rounding keeps 2/3 of 90 days at exactly 60 days.
        let elapsed = Duration::try_from_secs_f64((lifetime.as_secs_f64() * fraction).round())
            .unwrap_or(lifetime);
        self.not_before + elapsed
    }

    /// The chain and key for rustls, checked to belong together.
    pub fn certified_key(&self) -> Result<Arc<CertifiedKey>> {
        let certified = CertifiedKey::from_der(
            self.chain.clone(),
            self.key.clone_key(),
            &paf_core::tls::provider(),
        )
        .map_err(|e| Error::Certificate {
            reason: format!("the key does not fit the certificate: {e}"),
        })?;
        Ok(Arc::new(certified))
    }

    /// A server configuration serving this certificate alone (ALPN `h2`,
    /// `http/1.1`). For a certificate that can change while the server
    /// runs, use [`CertResolver`](crate::CertResolver).
    pub fn server_config(&self) -> Result<ServerConfig> {
        Ok(paf_core::tls::server_config(
            self.chain.clone(),
            self.key.clone_key(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_round_trips_through_pem() {
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        let again = Certificate::from_pem(cert.chain_pem(), cert.key_pem()).unwrap();
        assert_eq!(again.leaf(), cert.leaf());
        assert_eq!(again.not_after(), cert.not_after());
        cert.certified_key().unwrap();
        cert.server_config().unwrap();
        let serial = cert.serial_hex().unwrap();
        assert!(!serial.is_empty() && serial.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn renewal_time_is_the_fraction_of_the_lifetime() {
        let mut cert = Certificate::self_signed(["a.example.org"]).unwrap();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        cert.not_before = start;
        cert.not_after = start + Duration::from_secs(90 * 86_400);
        assert_eq!(
            cert.renew_at(2.0 / 3.0),
            start + Duration::from_secs(60 * 86_400)
        );
        assert_eq!(cert.renew_at(0.0), start);
        assert_eq!(cert.renew_at(7.0), cert.not_after());
        assert_eq!(cert.renew_at(f64::NAN), start);
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let a = Certificate::self_signed(["a.example.org"]).unwrap();
        let b = Certificate::self_signed(["b.example.org"]).unwrap();
        let mixed = Certificate::from_pem(a.chain_pem(), b.key_pem()).unwrap();
        assert!(matches!(
            mixed.certified_key(),
            Err(Error::Certificate { .. })
        ));
    }

    #[test]
    fn pem_without_certificates_is_refused() {
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert!(Certificate::from_pem("", key).is_err());
    }
}
