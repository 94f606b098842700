//! instant-acme's HTTP client, made of a paf client.
//!
//! instant-acme talks ACME over whatever implements its `HttpClient`; this
//! adapter sends those requests through a [`paf_core::client::Client`], so
//! the transport context (routes, user transports, extra CA certificates)
//! applies to ACME traffic as it does to the rest of the program, as the
//! OCaml original passes its Mimic context to the ACME client.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http::{header::RETRY_AFTER, HeaderMap, Request};
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse};
use paf_core::{client::Client, error::TimeoutKind, Body};

/// The largest ACME answer read: directories, orders and certificate chains
/// are a few KiB; anything this big is not ACME.
const MAX_RESPONSE: usize = 1 << 20;

/// An [`instant_acme::HttpClient`] that sends through a paf client.
///
/// paf-le builds one from its [`Config`](crate::Config); it is public for
/// programs that drive instant-acme themselves:
///
/// ```no_run
/// # async fn demo() -> Result<(), instant_acme::Error> {
/// use std::{sync::Arc, time::Duration};
/// let http = paf_le::AcmeHttpClient::new(Arc::new(paf_hyper::Client::new()), Duration::from_secs(30));
/// let builder = instant_acme::Account::builder_with_http(Box::new(http));
/// # let _ = builder; Ok(()) }
/// ```
#[derive(Clone)]
pub struct AcmeHttpClient {
    client: Arc<dyn Client>,
    timeout: Duration,
    /// The `Retry-After` of the last answer, if it was a refusal that had
    /// one: instant-acme hands on a refusal's body only.
    retry_after: Arc<Mutex<Option<Duration>>>,
}

impl std::fmt::Debug for AcmeHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeHttpClient")
            .field("backend", &self.client.backend())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl AcmeHttpClient {
    /// Sends through `client`; each exchange, the answer read to its end
    /// included, is cut off after `timeout`.
    pub fn new(client: Arc<dyn Client>, timeout: Duration) -> Self {
        AcmeHttpClient {
            client,
            timeout,
            retry_after: Arc::default(),
        }
    }

    /// How long the CA asked to wait in its last answer, when that answer
    /// was a refusal with a `Retry-After` header.
    pub(crate) fn last_retry_after(&self) -> Option<Duration> {
        *self.retry_after.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, status: http::StatusCode, headers: &HeaderMap) {
        let retry_after = if status.is_success() {
            None
        } else {
            headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()))
        };
        *self.retry_after.lock().unwrap_or_else(|e| e.into_inner()) = retry_after;
    }

    /// Sends one request and reads the whole answer (at most 1 MiB).
    pub(crate) async fn exchange(
        &self,
        request: Request<Body>,
    ) -> paf_core::Result<(http::response::Parts, Bytes)> {
        let client = self.client.clone();
        let this = self.clone();
        let exchange = async move {
            let (parts, body) = client.send(request).await?.into_parts();
            this.record(parts.status, &parts.headers);
            let body = body.to_bytes(MAX_RESPONSE).await?;
            Ok((parts, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(paf_core::Error::Timeout {
                what: TimeoutKind::Request,
                after: self.timeout,
            }))
    }
}

impl instant_acme::HttpClient for AcmeHttpClient {
    fn request(
        &self,
        request: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // instant-acme's bodies are whole JWS documents already in memory.
            let Ok(body) = body.collect().await;
            let request = Request::from_parts(parts, Body::full(body.to_bytes()));
            match this.exchange(request).await {
                Ok((parts, body)) => Ok(BytesResponse {
                    parts,
                    body: Box::new(body),
                }),
                Err(e) => Err(instant_acme::Error::Other(Box::new(e))),
            }
        })
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3) as a wait from `now`:
/// delay-seconds, or an HTTP-date read by `httpdate`: an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, the form servers send) or one of the
/// two obsolete forms, which RFC 9110 §5.6.7 has recipients accept too. A
/// date whose weekday is wrong is refused. A date in the past is no wait.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 09:49:37 GMT", now),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 07:49:37 GMT", now),
            Some(Duration::ZERO),
            "a date past is no wait"
        );
        // The obsolete RFC 850 and asctime forms (RFC 9110 §5.6.7).
        for obsolete in ["Sunday, 06-Nov-94 09:49:37 GMT", "Sun Nov  6 09:49:37 1994"] {
            assert_eq!(
                parse_retry_after(obsolete, now),
                Some(Duration::from_secs(3600)),
                "{obsolete:?}"
            );
        }
        for bad in [
            "",
            "-5",
            "soon",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Mon, 06 Nov 1994 09:49:37 GMT",
            "Sun, 06 Nov 1994 09:49:37 UTC",
            "Sun, 06 Nov 1994 09:49:37 GMT trailing",
            "Sun, 06 Név 1994 09:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}
