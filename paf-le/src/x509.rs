//! Just enough X.509 to read a certificate's validity period, which the
//! renewal schedule is made of. Everything else about certificates is left
//! to rustls and webpki.
//!
//! Certificate ::= SEQUENCE { tbsCertificate, … }
//! TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
//!     signature, issuer, validity SEQUENCE { notBefore, notAfter }, … }
//! (RFC 5280 §4.1). DER only: definite lengths, times in UTC with seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `(notBefore, notAfter)` of a DER certificate, `None` when it is not one.
pub(crate) fn validity(cert: &[u8]) -> Option<(SystemTime, SystemTime)> {
    let (tag, certificate, _) = tlv(cert)?;
    expect_tag(tag, SEQUENCE)?;
    let (tag, tbs, _) = tlv(certificate)?;
    expect_tag(tag, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = tlv(rest)?.2;
    }
    // serialNumber, signature, issuer
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (tag, validity, _) = tlv(rest)?;
    expect_tag(tag, SEQUENCE)?;
    let (tag, not_before, rest) = tlv(validity)?;
    let not_before = time(tag, not_before)?;
    let (tag, not_after, _) = tlv(rest)?;
    let not_after = time(tag, not_after)?;
    Some((not_before, not_after))
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
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
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
