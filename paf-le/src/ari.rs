//! ACME Renewal Information (ARI, RFC 9773): the CA says when each
//! certificate should be renewed, and can move that time earlier (a
//! revocation to come, an incident).
//!
//! When the directory lists `renewalInfo`, the renewal time is a random
//! point of the suggested window (so that a CA's certificates are not all
//! renewed in the same second), asked again after the CA's `Retry-After`;
//! and the new order names the certificate it `replaces`. A CA without
//! ARI, or one that does not answer, leaves the configured fraction of
//! the lifetime (two thirds: a third of the lifetime left) in charge.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{header::USER_AGENT, Request, StatusCode};
use instant_acme::CertificateIdentifier;
use paf_core::Body;
use tracing::{debug, info};

use crate::{
    acme_client::{parse_retry_after, AcmeHttpClient},
    backoff::unit_random,
    certificate::Certificate,
    config::Config,
    renew::Due,
    x509,
};

/// How soon to ask again when the CA gives no `Retry-After` (RFC 9773
/// §4.3.3 suggests six hours).
const DEFAULT_RECHECK: Duration = Duration::from_secs(6 * 3600);
/// Bounds on the CA's `Retry-After`: not more often than hourly, at least
/// daily.
const MIN_RECHECK: Duration = Duration::from_secs(3600);
const MAX_RECHECK: Duration = Duration::from_secs(86_400);
/// After a failed look (the CA did not answer), the next one.
const RECHECK_AFTER_FAILURE: Duration = Duration::from_secs(3600);

/// When `cert` is due for renewal at `now`: in the CA's suggested window
/// when it has ARI, else at `fraction` of its lifetime.
pub(crate) async fn due(
    config: &Config,
    cert: &Certificate,
    fraction: f64,
    now: SystemTime,
) -> Due {
    let fallback = Due {
        at: cert.renew_at(fraction),
        recheck_at: None,
    };
    let Some(id) = certificate_id(cert) else {
        return fallback;
    };
    let http = AcmeHttpClient::new(config.http.clone(), config.request_timeout);
    let base = match renewal_info_url(&http, config.directory.url()).await {
        Ok(Some(base)) => base,
        Ok(None) => return fallback,
        Err(reason) => {
            debug!(
                reason,
                "no renewal information: the directory cannot be read"
            );
            return Due {
                recheck_at: Some(now + RECHECK_AFTER_FAILURE),
                ..fallback
            };
        }
    };
    let url = format!("{}/{id}", base.trim_end_matches('/'));
    match window(&http, &url, now).await {
        Ok((start, end, retry_after)) => {
            let at = pick(start, end, now, unit_random());
            info!(certificate = %id, ?start, ?end, renew_at = ?at,
                  "the CA's renewal window (ARI)");
            Due {
                at,
                recheck_at: Some(now + retry_after.clamp(MIN_RECHECK, MAX_RECHECK)),
            }
        }
        Err(reason) => {
            debug!(
                url,
                reason, "no renewal information: keeping the lifetime fraction"
            );
            Due {
                recheck_at: Some(now + RECHECK_AFTER_FAILURE),
                ..fallback
            }
        }
    }
}

/// The ARI identifier of a certificate: base64url of its authority key
/// identifier and of its serial number's octets, joined by a dot.
pub(crate) fn certificate_id(cert: &Certificate) -> Option<CertificateIdentifier<'static>> {
    let leaf = cert.leaf().as_ref();
    let key_id = x509::authority_key_id(leaf)?;
    let serial = x509::serial(leaf)?;
    Some(
        CertificateIdentifier::new(
            rustls::pki_types::Der::from_slice(key_id),
            rustls::pki_types::Der::from_slice(serial),
        )
        .into_owned(),
    )
}

/// The directory's `renewalInfo` URL, if it lists one.
pub(crate) async fn renewal_info_url(
    http: &AcmeHttpClient,
    directory: &str,
) -> Result<Option<String>, String> {
    let request = Request::get(directory)
        .header(USER_AGENT, crate::provision::USER_AGENT_VALUE)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let (parts, body) = http.exchange(request).await.map_err(|e| e.to_string())?;
    if !parts.status.is_success() {
        return Err(format!("status {}", parts.status));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok(json
        .get("renewalInfo")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned))
}

/// The suggested window at `url` and the CA's `Retry-After`.
async fn window(
    http: &AcmeHttpClient,
    url: &str,
    now: SystemTime,
) -> Result<(SystemTime, SystemTime, Duration), String> {
    let request = Request::get(url)
        .header(USER_AGENT, crate::provision::USER_AGENT_VALUE)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let (parts, body) = http.exchange(request).await.map_err(|e| e.to_string())?;
    if parts.status != StatusCode::OK {
        return Err(format!("status {}", parts.status));
    }
    let retry_after = parts
        .headers
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, now))
        .unwrap_or(DEFAULT_RECHECK);
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let time = |field: &str| {
        json.get("suggestedWindow")
            .and_then(|window| window.get(field))
            .and_then(serde_json::Value::as_str)
            .and_then(parse_rfc3339)
            .ok_or_else(|| format!("no suggestedWindow.{field} time"))
    };
    let (start, end) = (time("start")?, time("end")?);
    if end < start {
        return Err("the window ends before it starts".into());
    }
    Ok((start, end, retry_after))
}

/// The point `random` (0 to 1) of the window, or `now` if that has passed.
fn pick(start: SystemTime, end: SystemTime, now: SystemTime, random: f64) -> SystemTime {
    let width = end.duration_since(start).unwrap_or(Duration::ZERO);
    let at = start + width.mul_f64(random.clamp(0.0, 1.0));
    at.max(now)
}

/// An RFC 3339 time (`2025-01-02T03:04:05Z`, `…05.123+01:00`), read by
/// `time`; `None` before 1970.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    // `time` takes any separator between the date and the time (RFC 3339
    // §5.6 allows a space "for readability"); the grammar's is `T`.
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc3339_times_with_fractions_and_offsets() {
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(at(1_709_164_800))
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00.123456Z"),
            Some(at(1_709_164_800))
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T01:30:00+01:30"),
            Some(at(1_709_164_800))
        );
        assert_eq!(
            parse_rfc3339("2024-02-28T22:00:00-02:00"),
            Some(at(1_709_164_800))
        );
        assert_eq!(
            parse_rfc3339("2024-02-29t00:00:00z"),
            Some(at(1_709_164_800))
        );
        for bad in [
            "",
            "2024-02-29",
            "2024-02-29 00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-02-29T00:00:00",
            "2024-02-29T00:00:00.Z",
            "2024-02-29T00:00:00+0100",
            "2024-02-29T0a:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-02-29T00:00:00Z trailing",
            "2024-02-29X00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_renewal_time_is_in_the_window_and_never_past() {
        let (start, end) = (at(1_000), at(2_000));
        assert_eq!(pick(start, end, at(0), 0.0), start);
        assert_eq!(pick(start, end, at(0), 1.0), end);
        assert_eq!(pick(start, end, at(0), 0.5), at(1_500));
        assert_eq!(
            pick(start, end, at(1_800), 0.5),
            at(1_800),
            "a passed point is now"
        );
        assert_eq!(
            pick(start, end, at(5_000), 0.3),
            at(5_000),
            "a passed window is now"
        );
    }

    #[test]
    fn a_self_signed_certificate_has_no_ari_identifier() {
        // rcgen's self-signed certificates carry no authority key identifier.
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        assert!(certificate_id(&cert).is_none());
    }
}
