//! Just enough X.509 to read a certificate's validity period, which the
//! renewal schedule is made of, the names it covers, which decide whether
//! a stored certificate still fits the configuration, and the serial and
//! authority key identifier that name it to ARI. The DER is read by
//! `x509-parser` (parsing only: no signature is checked, which is left to
//! rustls and webpki); anything that is not a certificate reads as `None`.

use std::{
    net::IpAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use x509_parser::{
    certificate::X509Certificate,
    extensions::{GeneralName, ParsedExtension},
    oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    prelude::FromDer,
};

/// A name of a certificate's subjectAltName extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AltName {
    Dns(String),
    Ip(IpAddr),
}

/// `cert` read as a DER certificate; bytes after it are ignored.
fn parse(cert: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(cert).ok().map(|(_, cert)| cert)
}

/// The dNSName and iPAddress entries of a DER certificate's
/// subjectAltName (DNS names lowercased), `None` when it is not a
/// certificate (a malformed or repeated extension, a dNSName that is not
/// IA5, an address of neither 4 nor 16 octets); empty when it has no such
/// extension.
pub(crate) fn alt_names(cert: &[u8]) -> Option<Vec<AltName>> {
    let cert = parse(cert)?;
    let Some(san) = cert.subject_alternative_name().ok()? else {
        return Some(Vec::new());
    };
    let mut names = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(dns) => names.push(AltName::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(octets) => {
                let ip = match octets.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*octets).ok()?),
                    16 => IpAddr::from(<[u8; 16]>::try_from(*octets).ok()?),
                    _ => return None,
                };
                names.push(AltName::Ip(ip));
            }
            // [2] dNSName or [7] iPAddress that x509-parser could not read.
            GeneralName::Invalid(tag, _) if matches!(tag.0, 2 | 7) => return None,
            _ => {}
        }
    }
    Some(names)
}

/// The content octets of a DER certificate's serialNumber INTEGER.
pub(crate) fn serial(cert: &[u8]) -> Option<&[u8]> {
    Some(parse(cert)?.raw_serial())
}

/// The keyIdentifier of a DER certificate's authorityKeyIdentifier
/// extension, `None` when it has none (or is not a certificate).
pub(crate) fn authority_key_id(cert: &[u8]) -> Option<&[u8]> {
    let cert = parse(cert)?;
    let extension = cert
        .get_extension_unique(&OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER)
        .ok()??;
    match extension.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|id| id.0),
        _ => None,
    }
}

/// `(notBefore, notAfter)` of a DER certificate, `None` when it is not one.
pub(crate) fn validity(cert: &[u8]) -> Option<(SystemTime, SystemTime)> {
    let cert = parse(cert)?;
    let validity = cert.validity();
    Some((
        system_time(validity.not_before.timestamp())?,
        system_time(validity.not_after.timestamp())?,
    ))
}

/// Seconds from the Unix epoch (before it when negative) as a
/// `SystemTime`, `None` when the platform's cannot hold it.
fn system_time(secs: i64) -> Option<SystemTime> {
    match u64::try_from(secs) {
        Ok(after) => UNIX_EPOCH.checked_add(Duration::from_secs(after)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A self-signed certificate for `a.example.org` valid from
    /// `not_before` to `not_after`.
    fn valid_between(
        not_before: time::OffsetDateTime,
        not_after: time::OffsetDateTime,
    ) -> rcgen::Certificate {
        let mut params = rcgen::CertificateParams::new(vec!["a.example.org".into()]).unwrap();
        params.not_before = not_before;
        params.not_after = not_after;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap()
    }

    #[test]
    fn reads_utc_and_generalized_times_from_a_real_certificate() {
        // 2025-03-04T00:00:00Z is a UTCTime, 2055-06-07T08:09:10Z a
        // GeneralizedTime (years from 2050 on).
        let cert = valid_between(
            rcgen::date_time_ymd(2025, 3, 4),
            rcgen::date_time_ymd(2055, 6, 7) + Duration::from_secs(8 * 3600 + 9 * 60 + 10),
        );
        let (not_before, not_after) = validity(cert.der()).unwrap();
        assert_eq!(not_before, at(1_741_046_400));
        assert_eq!(not_after, at(2_695_968_550));
    }

    #[test]
    fn times_before_2000_and_leap_days() {
        // UTCTimes 991231235959Z (a two-digit year of the 1900s, RFC 5280
        // §4.1.2.5.1) and 240229000000Z, then a GeneralizedTime on the leap
        // day of 2096.
        let cert = valid_between(
            rcgen::date_time_ymd(1999, 12, 31) + Duration::from_secs(86_399),
            rcgen::date_time_ymd(2024, 2, 29),
        );
        assert_eq!(
            validity(cert.der()),
            Some((at(946_684_799), at(1_709_164_800)))
        );
        let cert = valid_between(
            rcgen::date_time_ymd(1970, 1, 1),
            rcgen::date_time_ymd(2096, 2, 29),
        );
        assert_eq!(validity(cert.der()), Some((UNIX_EPOCH, at(3_981_312_000))));
    }

    #[test]
    fn a_validity_before_the_epoch_is_read() {
        let cert = valid_between(
            rcgen::date_time_ymd(1969, 12, 31),
            rcgen::date_time_ymd(2000, 1, 1),
        );
        let (not_before, _) = validity(cert.der()).unwrap();
        assert_eq!(
            UNIX_EPOCH.duration_since(not_before).ok(),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn reads_dns_and_ip_alt_names() {
        let mut params =
            rcgen::CertificateParams::new(vec!["A.example.org".into(), "b.example.org".into()])
                .unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("192.0.2.7".parse().unwrap()));
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("2001:db8::1".parse().unwrap()));
        params.subject_alt_names.push(rcgen::SanType::URI(
            "https://example.org/".try_into().unwrap(),
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            alt_names(cert.der()).unwrap(),
            [
                AltName::Dns("a.example.org".into()),
                AltName::Dns("b.example.org".into()),
                AltName::Ip("192.0.2.7".parse().unwrap()),
                AltName::Ip("2001:db8::1".parse().unwrap()),
            ]
        );
    }

    #[test]
    fn a_certificate_without_alt_names_has_none() {
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(alt_names(cert.der()), Some(Vec::new()));
        assert!(validity(cert.der()).is_some());
    }

    #[test]
    fn reads_the_serial_and_the_authority_key_identifier() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![7; 20]);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let mut params = rcgen::CertificateParams::new(vec!["a.example.org".into()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x01, 0x02, 0x03]));
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = params.signed_by(&key, &issuer).unwrap();
        assert_eq!(serial(leaf.der()), Some([0x01, 0x02, 0x03].as_slice()));
        assert_eq!(authority_key_id(leaf.der()), Some([7u8; 20].as_slice()));
        // The self-signed CA has no authority key identifier.
        assert_eq!(authority_key_id(ca.der()), None);
        assert_eq!(authority_key_id(b"garbage"), None);
    }

    #[test]
    fn a_serial_with_its_high_bit_set_keeps_its_leading_zero() {
        // DER's INTEGER puts a 0x00 before a first octet of 0x80 or more;
        // ARI wants the content octets as they are encoded.
        let mut params = rcgen::CertificateParams::new(vec!["a.example.org".into()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x80, 0x01]));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(serial(cert.der()), Some([0x00, 0x80, 0x01].as_slice()));
    }

    #[test]
    fn garbage_and_truncations_are_refused_without_panicking() {
        assert_eq!(validity(b""), None);
        assert_eq!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(validity(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(validity(&[0x30, 0x03, 0x30, 0x01]), None);
        assert_eq!(alt_names(b"garbage"), None);
        assert_eq!(serial(&[0x30, 0x00]), None);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let mut params =
            rcgen::CertificateParams::new(vec!["a.example.org".into(), "b.example.org".into()])
                .unwrap();
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        assert!(authority_key_id(&der).is_some());
        // Every truncation, and every octet flipped, is refused or read,
        // never a panic.
        for end in 0..der.len() {
            let cut = &der[..end];
            assert_eq!(validity(cut), None, "cut at {end}");
            assert_eq!(alt_names(cut), None, "cut at {end}");
            assert_eq!(serial(cut), None, "cut at {end}");
            assert_eq!(authority_key_id(cut), None, "cut at {end}");
        }
        for at in 0..der.len() {
            let mut flipped = der.clone();
            flipped[at] ^= 0xff;
            let _ = (
                validity(&flipped),
                alt_names(&flipped),
                serial(&flipped),
                authority_key_id(&flipped),
            );
        }
    }
}
