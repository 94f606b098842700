//! Keys: the account key (read, derived from a seed, or left to
//! instant-acme to generate) and the certificate key with its CSR.

use std::path::Path;

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rcgen::{CertificateParams, DistinguishedName, KeyPair, SanType};
use ring::hkdf;
use rustls::pki_types::{pem::PemObject, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::{
    config::{AccountKey, CertificateKey, Name},
    error::{Error, Result},
};

/// The domain separation of seed-derived keys: changing it changes every
/// derived key, hence every derived account.
const SEED_SALT: &[u8] = b"paf-le account key v1";

/// The configured account key as PKCS#8 DER, or `None` when a new one is to
/// be generated with the account.
pub(crate) fn account_key(key: &AccountKey) -> Result<Option<PrivatePkcs8KeyDer<'static>>> {
    match key {
        AccountKey::Generate => Ok(None),
        AccountKey::File(path) => account_key_from_file(path).map(Some),
        AccountKey::Seed(seed) => account_key_from_seed(seed).map(Some),
    }
}

fn account_key_from_file(path: &Path) -> Result<PrivatePkcs8KeyDer<'static>> {
    let what = || format!("account key file {}", path.display());
    let pem = std::fs::read(path).map_err(|e| Error::Key {
        what: what(),
        reason: format!("cannot read it: {e}"),
    })?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| Error::Key {
        what: what(),
        reason: format!("no private key in it ({e})"),
    })?;
    let secret = match key {
        PrivateKeyDer::Pkcs8(der) => p256::SecretKey::from_pkcs8_der(der.secret_pkcs8_der()),
        PrivateKeyDer::Sec1(der) => p256::SecretKey::from_sec1_der(der.secret_sec1_der())
            .map_err(|_| p256::pkcs8::Error::KeyMalformed),
        _ => {
            return Err(Error::Unsupported {
                what: format!(
                    "the {}: an RSA account key (instant-acme signs with ECDSA P-256 only)",
                    what()
                ),
            })
        }
    }
    .map_err(|_| Error::Key {
        what: what(),
        reason: "not an ECDSA P-256 key (instant-acme signs with P-256 only)".into(),
    })?;
    to_pkcs8(&secret, &what())
}

/// A P-256 key derived from `seed`: HKDF-SHA256 expands the seed into
/// candidate scalars until one is in range (the first almost always is:
/// the chance of a miss is below 2^-32).
pub(crate) fn account_key_from_seed(seed: &[u8]) -> Result<PrivatePkcs8KeyDer<'static>> {
    struct Scalar;
    impl hkdf::KeyType for Scalar {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SEED_SALT).extract(seed);
    let failed = || Error::Key {
        what: "account key seed".into(),
        reason: "HKDF gave no valid P-256 scalar".into(),
    };
    for counter in 0u8..=u8::MAX {
        let info = [b"P-256 scalar".as_slice(), &[counter]];
        let okm = prk.expand(&info, Scalar).map_err(|_| failed())?;
        let mut bytes = [0u8; 32];
        okm.fill(&mut bytes).map_err(|_| failed())?;
        if let Ok(secret) = p256::SecretKey::from_bytes(&bytes.into()) {
            return to_pkcs8(&secret, "account key seed");
        }
    }
    Err(failed())
}

fn to_pkcs8(secret: &p256::SecretKey, what: &str) -> Result<PrivatePkcs8KeyDer<'static>> {
    // The encoding carries the public key, which ring insists on.
    let document = secret.to_pkcs8_der().map_err(|e| Error::Key {
        what: what.to_string(),
        reason: format!("cannot encode it as PKCS#8: {e}"),
    })?;
    Ok(PrivatePkcs8KeyDer::from(document.as_bytes().to_vec()))
}

/// The key for a new certificate.
pub(crate) fn certificate_key(key: &CertificateKey) -> Result<KeyPair> {
    let generated = |alg| {
        KeyPair::generate_for(alg).map_err(|e| Error::Key {
            what: "certificate key".into(),
            reason: format!("cannot generate it: {e}"),
        })
    };
    match key {
        CertificateKey::EcdsaP256 => generated(&rcgen::PKCS_ECDSA_P256_SHA256),
        CertificateKey::Pem(pem) => KeyPair::from_pem(pem).map_err(|e| Error::Key {
            what: "certificate key PEM".into(),
            reason: format!("not a usable PKCS#8 private key: {e}"),
        }),
        // `ConfigBuilder::build` refuses these; say so again rather than
        // trust that nobody builds a `Config` another way later.
        CertificateKey::Rsa2048 | CertificateKey::Rsa4096 => Err(Error::Unsupported {
            what: "generating RSA certificate keys with ring".into(),
        }),
    }
}

/// A DER certificate signing request for `names`, signed by `key`. The
/// subject is left empty: CAs take the names from the subjectAltName
/// extension only.
pub(crate) fn csr(names: &[Name], key: &KeyPair) -> Result<Vec<u8>> {
    let failed = |e: rcgen::Error| Error::Key {
        what: "certificate signing request".into(),
        reason: e.to_string(),
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    for name in names {
        params.subject_alt_names.push(match name {
            Name::Dns(dns) => SanType::DnsName(dns.clone().try_into().map_err(failed)?),
            Name::Ip(ip) => SanType::IpAddress(*ip),
        });
    }
    let request = params.serialize_request(key).map_err(failed)?;
    Ok(request.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_usable_key() {
        let a = account_key_from_seed(b"sixteen byte seed!").unwrap();
        let b = account_key_from_seed(b"sixteen byte seed!").unwrap();
        let c = account_key_from_seed(b"another sixteen byte seed").unwrap();
        assert_eq!(a.secret_pkcs8_der(), b.secret_pkcs8_der());
        assert_ne!(a.secret_pkcs8_der(), c.secret_pkcs8_der());
        // instant-acme (on ring) accepts it as an account key.
        instant_acme::Key::from_pkcs8_der(a).unwrap();
    }

    #[test]
    fn account_key_file_in_pkcs8_or_sec1_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let pkcs8 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let path = dir.path().join("pkcs8.pem");
        std::fs::write(&path, pkcs8.serialize_pem()).unwrap();
        let der = account_key(&AccountKey::File(path)).unwrap().unwrap();
        instant_acme::Key::from_pkcs8_der(der).unwrap();

        let secret = p256::SecretKey::from_pkcs8_der(&pkcs8.serialize_der()).unwrap();
        let sec1 = secret.to_sec1_pem(Default::default()).unwrap();
        let path = dir.path().join("sec1.pem");
        std::fs::write(&path, sec1.as_bytes()).unwrap();
        let der = account_key(&AccountKey::File(path)).unwrap().unwrap();
        instant_acme::Key::from_pkcs8_der(der).unwrap();
    }

    #[test]
    fn account_key_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = account_key(&AccountKey::File(missing.clone())).unwrap_err();
        assert!(err.to_string().contains(&missing.display().to_string()));

        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let path = dir.path().join("p384.pem");
        std::fs::write(&path, p384.serialize_pem()).unwrap();
        let err = account_key(&AccountKey::File(path.clone())).unwrap_err();
        assert!(matches!(err, Error::Key { .. }), "{err}");
        assert!(err.to_string().contains("p384.pem"));
    }

    #[test]
    fn csr_carries_every_name() {
        let key = certificate_key(&CertificateKey::EcdsaP256).unwrap();
        let names = [
            Name::Dns("a.example.org".into()),
            Name::Ip("192.0.2.7".parse().unwrap()),
        ];
        let der = csr(&names, &key).unwrap();
        // The SAN extension holds the DNS name as an IA5String and the
        // address as its four octets.
        let contains = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
        assert!(contains(b"a.example.org"));
        assert!(
            contains(&[0x87, 4, 192, 0, 2, 7]),
            "iPAddress [7] of 4 octets"
        );
    }
}
