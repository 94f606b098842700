//! Just enough X.509 to read a certificate's validity period, which the
//! renewal schedule is made of, and the names it covers, which decide
//! whether a stored certificate still fits the configuration. Everything
//! else about certificates is left to rustls and webpki.
//!
//! Certificate ::= SEQUENCE { tbsCertificate, … }
//! TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
//!     signature, issuer, validity SEQUENCE { notBefore, notAfter },
//!     subject, subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL,
//!     [2] subjectUniqueID OPTIONAL, [3] extensions OPTIONAL }
//! (RFC 5280 §4.1). DER only: definite lengths, times in UTC with seconds.

use std::{
    net::IpAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const EXTENSIONS: u8 = 0xa3;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// id-ce-authorityKeyIdentifier, 2.5.29.35.
const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];
const INTEGER: u8 = 0x02;
/// AuthorityKeyIdentifier's keyIdentifier [0], implicitly tagged.
const KEY_IDENTIFIER: u8 = 0x80;
/// GeneralName's dNSName [2] and iPAddress [7], implicitly tagged.
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;

/// A name of a certificate's subjectAltName extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AltName {
    Dns(String),
    Ip(IpAddr),
}

/// The dNSName and iPAddress entries of a DER certificate's
/// subjectAltName (DNS names lowercased), `None` when it is not a
/// certificate; empty when it has no such extension.
pub(crate) fn alt_names(cert: &[u8]) -> Option<Vec<AltName>> {
    let Some(value) = extension(cert, SUBJECT_ALT_NAME)? else {
        return Some(Vec::new());
    };
    let mut names = Vec::new();
    let (tag, mut general_names, _) = tlv(value)?;
    expect_tag(tag, SEQUENCE)?;
    while !general_names.is_empty() {
        let (tag, name, after) = tlv(general_names)?;
        general_names = after;
        match tag {
            DNS_NAME => {
                let name = std::str::from_utf8(name).ok()?;
                names.push(AltName::Dns(name.to_ascii_lowercase()));
            }
            IP_ADDRESS => match name.len() {
                4 => {
                    let octets: [u8; 4] = name.try_into().ok()?;
                    names.push(AltName::Ip(IpAddr::from(octets)));
                }
                16 => {
                    let octets: [u8; 16] = name.try_into().ok()?;
                    names.push(AltName::Ip(IpAddr::from(octets)));
                }
                _ => return None,
            },
            _ => {}
        }
    }
    Some(names)
}

/// The content octets of a DER certificate's serialNumber INTEGER.
pub(crate) fn serial(cert: &[u8]) -> Option<&[u8]> {
    let (tag, serial, _) = tlv(tbs_after(cert, 0)?)?;
    expect_tag(tag, INTEGER)?;
    Some(serial)
}

/// The keyIdentifier of a DER certificate's authorityKeyIdentifier
/// extension, `None` when it has none (or is not a certificate).
pub(crate) fn authority_key_id(cert: &[u8]) -> Option<&[u8]> {
    let value = extension(cert, AUTHORITY_KEY_IDENTIFIER)??;
    let (tag, fields, _) = tlv(value)?;
    expect_tag(tag, SEQUENCE)?;
    let (tag, key_id, _) = tlv(fields)?;
    expect_tag(tag, KEY_IDENTIFIER)?;
    Some(key_id)
}

/// The extnValue contents of the extension `oid` of a DER certificate:
/// `Some(None)` when it has no such extension, `None` when it is not a
/// certificate.
fn extension<'a>(cert: &'a [u8], wanted: &[u8]) -> Option<Option<&'a [u8]>> {
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    let mut rest = tbs_after(cert, 6)?;
    while !rest.is_empty() {
        let (tag, content, after) = tlv(rest)?;
        rest = after;
        if tag != EXTENSIONS {
            continue;
        }
        let (tag, mut extensions, _) = tlv(content)?;
        expect_tag(tag, SEQUENCE)?;
        while !extensions.is_empty() {
            let (tag, extension, after) = tlv(extensions)?;
            extensions = after;
            expect_tag(tag, SEQUENCE)?;
            let (tag, oid, mut fields) = tlv(extension)?;
            expect_tag(tag, OID)?;
            if oid != wanted {
                continue;
            }
            if fields.first() == Some(&BOOLEAN) {
                fields = tlv(fields)?.2;
            }
            let (tag, value, _) = tlv(fields)?;
            expect_tag(tag, OCTET_STRING)?;
            return Some(Some(value));
        }
    }
    Some(None)
}

/// `(notBefore, notAfter)` of a DER certificate, `None` when it is not one.
pub(crate) fn validity(cert: &[u8]) -> Option<(SystemTime, SystemTime)> {
    // serialNumber, signature, issuer
    let rest = tbs_after(cert, 3)?;
    let (tag, validity, _) = tlv(rest)?;
    expect_tag(tag, SEQUENCE)?;
    let (tag, not_before, rest) = tlv(validity)?;
    let not_before = time(tag, not_before)?;
    let (tag, not_after, _) = tlv(rest)?;
    let not_after = time(tag, not_after)?;
    Some((not_before, not_after))
}

/// The fields of a DER certificate's TBSCertificate that follow its
/// version and `skip` more fields.
fn tbs_after(cert: &[u8], skip: usize) -> Option<&[u8]> {
    let (tag, certificate, _) = tlv(cert)?;
    expect_tag(tag, SEQUENCE)?;
    let (tag, tbs, _) = tlv(certificate)?;
    expect_tag(tag, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = tlv(rest)?.2;
    }
    for _ in 0..skip {
        rest = tlv(rest)?.2;
    }
    Some(rest)
}

fn expect_tag(tag: u8, wanted: u8) -> Option<()> {
    (tag == wanted).then_some(())
}

/// Splits one DER element off `input`: `(tag, content, rest)`.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        // Long form with 1 to 4 length octets; 0x80 (indefinite) is not DER.
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            if input.len() < count {
                return None;
            }
            let (octets, after) = input.split_at(count);
            input = after;
            octets
                .iter()
                .fold(0usize, |len, &octet| (len << 8) | usize::from(octet))
        }
        _ => return None,
    };
    if input.len() < len {
        return None;
    }
    let (content, rest) = input.split_at(len);
    Some((tag, content, rest))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, text: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| digits.get(range)?.parse::<i64>().ok();
    let (year, rest) = match (tag, digits.len()) {
        // RFC 5280 §4.1.2.5.1: two-digit years 50..99 are 19xx.
        (UTC_TIME, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (num(0..4)?, 4),
        _ => return None,
    };
    let month = num(rest..rest + 2)?;
    let day = num(rest + 2..rest + 4)?;
    let hour = num(rest + 4..rest + 6)?;
    let minute = num(rest + 6..rest + 8)?;
    let second = num(rest + 8..rest + 10)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // 60 is allowed for a leap second.
    if second > 60 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    match u64::try_from(secs) {
        Ok(after) => UNIX_EPOCH.checked_add(Duration::from_secs(after)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs())),
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12; // March = 0
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn reads_utc_and_generalized_times_from_a_real_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["a.example.org".into()]).unwrap();
        // 2025-03-04T00:00:00Z is a UTCTime, 2055-06-07T08:09:10Z a
        // GeneralizedTime (years from 2050 on).
        params.not_before = rcgen::date_time_ymd(2025, 3, 4);
        params.not_after = rcgen::date_time_ymd(2055, 6, 7)
            + std::time::Duration::from_secs(8 * 3600 + 9 * 60 + 10);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (not_before, not_after) = validity(cert.der()).unwrap();
        assert_eq!(not_before, at(1_741_046_400));
        assert_eq!(not_after, at(2_695_968_550));
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
        // Every truncation is refused or read short, never a panic.
        for end in 0..cert.der().len() {
            let _ = alt_names(&cert.der()[..end]);
        }
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
        assert_eq!(authority_key_id(b"garbage"), None);
        let _ = ca;
    }

    #[test]
    fn times_before_2000_and_leap_days() {
        assert_eq!(time(UTC_TIME, b"991231235959Z"), Some(at(946_684_799)));
        assert_eq!(
            time(GENERALIZED_TIME, b"20240229000000Z"),
            Some(at(1_709_164_800))
        );
        assert_eq!(time(UTC_TIME, b"700101000000Z"), Some(UNIX_EPOCH));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert_eq!(validity(b""), None);
        assert_eq!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(validity(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(validity(&[0x30, 0x03, 0x30, 0x01]), None);
        assert_eq!(time(UTC_TIME, b"991231235959"), None);
        assert_eq!(time(UTC_TIME, b"991331235959Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"991231235959Z"), None);
        assert_eq!(time(UTC_TIME, b"99+231235959Z"), None);
    }
}
