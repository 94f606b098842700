//! instant-acme's HTTP client, made of a paf client.
//!
//! instant-acme talks ACME over whatever implements its `HttpClient`; this
//! adapter sends those requests through a [`paf_core::client::Client`], so
//! the transport context (routes, user transports, extra CA certificates)
//! applies to ACME traffic as it does to the rest of the program, as the
//! OCaml original passes its Mimic context to the ACME client.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use http::Request;
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
        AcmeHttpClient { client, timeout }
    }

    /// Sends one request and reads the whole answer (at most 1 MiB).
    pub(crate) async fn exchange(
        &self,
        request: Request<Body>,
    ) -> paf_core::Result<(http::response::Parts, Bytes)> {
        let client = self.client.clone();
        let exchange = async move {
            let (parts, body) = client.send(request).await?.into_parts();
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
