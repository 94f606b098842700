//! A certificate bundle: the chain and its private key in one PEM text,
//! stored and replaced as one value, so that a chain can never be paired
//! with another certificate's key on disk.
//!
//! The chain comes first, leaf first, and the key last: a bundle cut
//! short loses (part of) its key, which reading reports, rather than
//! silently losing an intermediate.

use rustls::pki_types::pem::{PemObject, SectionKind};

use crate::{certificate::Certificate, error::Corruption};

const HEADER: &str = "# paf-le certificate bundle: the chain (leaf first), then its private key\n";

/// The bundle text of `cert`.
pub(crate) fn encode(cert: &Certificate) -> Vec<u8> {
    let mut text =
        String::with_capacity(HEADER.len() + cert.chain_pem().len() + cert.key_pem().len() + 2);
    text.push_str(HEADER);
    for pem in [cert.chain_pem(), cert.key_pem()] {
        text.push_str(pem.trim_end());
        text.push('\n');
    }
    text.into_bytes()
}

/// The certificate of a bundle, checked whole: at least one certificate,
/// exactly one private key after them, and the key belonging to the leaf.
pub(crate) fn decode(bytes: &[u8]) -> Result<Certificate, Corruption> {
    let text = std::str::from_utf8(bytes).map_err(|_| Corruption::NotText)?;
    let mut certificates = 0;
    let mut keys = 0;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, _) = section.map_err(|e| Corruption::Pem(pem_error(&e)))?;
        match kind {
            SectionKind::Certificate if keys == 0 => certificates += 1,
            SectionKind::Certificate => {
                return Err(Corruption::Pem(
                    "a certificate follows the private key".into(),
                ))
            }
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                keys += 1
            }
            _ => {}
        }
    }
    if certificates == 0 {
        return Err(Corruption::NoCertificate);
    }
    match keys {
        0 => return Err(Corruption::NoPrivateKey),
        1 => {}
        _ => return Err(Corruption::SeveralKeys),
    }
    // The key is the one section after the chain: split the text there so
    // that the certificate keeps both PEM texts as they were.
    let key_start = text
        .match_indices("-----BEGIN ")
        .map(|(at, _)| at)
        .find(|&at| !text[at..].starts_with("-----BEGIN CERTIFICATE-----"))
        .ok_or(Corruption::NoPrivateKey)?;
    let chain_start = text.find("-----BEGIN CERTIFICATE-----").unwrap_or(0);
    let (chain, key) = (&text[chain_start..key_start], &text[key_start..]);
    let cert =
        Certificate::from_pem(chain, key).map_err(|e| Corruption::Certificate(e.to_string()))?;
    cert.certified_key().map_err(|_| Corruption::KeyMismatch)?;
    Ok(cert)
}

/// A PEM error in words (the library prints markers as byte lists).
fn pem_error(err: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match err {
        Error::MissingSectionEnd { end_marker } => format!(
            "no END line for a {} section",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { line } => {
            format!("a malformed BEGIN line: {}", String::from_utf8_lossy(line))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips() {
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        let bundle = encode(&cert);
        let text = std::str::from_utf8(&bundle).unwrap();
        assert!(text.find("CERTIFICATE").unwrap() < text.find("PRIVATE KEY").unwrap());
        let back = decode(&bundle).unwrap();
        assert_eq!(back.leaf(), cert.leaf());
        assert_eq!(back.key_pem().trim_end(), cert.key_pem().trim_end());
        assert_eq!(back.not_after(), cert.not_after());
    }

    #[test]
    fn a_bundle_cut_anywhere_is_a_typed_error_or_whole() {
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        let bundle = encode(&cert);
        // Every prefix: the write that stopped there. None panics, none
        // yields a certificate without its key.
        for end in 0..bundle.len() {
            if let Ok(back) = decode(&bundle[..end]) {
                // Only the end of the END line can be missing then.
                assert!(end > bundle.len() - 30, "cut at {end} of {}", bundle.len());
                assert_eq!(
                    back.private_key().secret_der(),
                    cert.private_key().secret_der()
                );
                assert_eq!(back.chain(), cert.chain());
            }
        }
        let text = std::str::from_utf8(&bundle).unwrap();
        let key_start = text.find("-----BEGIN PRIVATE KEY-----").unwrap();
        assert_eq!(
            decode(&bundle[..key_start]).err(),
            Some(Corruption::NoPrivateKey)
        );
        let half = decode(&bundle[..bundle.len() / 2]).err().unwrap();
        assert_eq!(
            half.to_string(),
            "its PEM text is malformed or cut short (no END line for a CERTIFICATE section)"
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_a_mismatch() {
        let a = Certificate::self_signed(["a.example.org"]).unwrap();
        let b = Certificate::self_signed(["b.example.org"]).unwrap();
        let mixed = format!("{}{}", a.chain_pem(), b.key_pem());
        assert_eq!(
            decode(mixed.as_bytes()).err(),
            Some(Corruption::KeyMismatch)
        );
        let two_keys = format!("{}{}{}", a.chain_pem(), a.key_pem(), b.key_pem());
        assert_eq!(
            decode(two_keys.as_bytes()).err(),
            Some(Corruption::SeveralKeys)
        );
        assert_eq!(
            decode(a.key_pem().as_bytes()).err(),
            Some(Corruption::NoCertificate)
        );
        assert_eq!(decode(&[0xff, 0xfe]).err(), Some(Corruption::NotText));
        assert_eq!(decode(b"").err(), Some(Corruption::NoCertificate));
    }
}
