//! The blocking client: paf's requests through ureq, over the transport the
//! request's context resolves.
//!
//! ureq pools connections inside an [`Agent`] by scheme, host and port, which
//! says nothing of how they were reached. So the client keeps one agent per
//! connection key ([`ConnKey`]: endpoint and TLS settings) and each agent's
//! connector is bound to the context of that key: a host routed to a Unix
//! socket and the same host over TCP never share a connection.

use std::{io::Read, time::Duration};

use http::{
    header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING},
    uri::Scheme,
    HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use paf_core::{
    blocking::{Body, Engine, EngineClient},
    client::{error_after_retry, is_idempotent, Builder, Settings},
    ctx::ConnKey,
    per_key::PerKey,
    tls::ALPN_HTTP11,
    Ctx, Error, Result,
};
use ureq::{config::AutoHeaderValue, Agent, SendBody};

use crate::{
    body::{RequestBody, ResponseBody},
    error::Exchange,
    transport::{ClosedBeforeResponse, CtxConnector, CtxResolver},
};

/// How many agents (each with its own idle connections) a client keeps;
/// past it, the one used least recently is dropped with its connections.
const MAX_AGENTS: usize = 64;

/// A blocking HTTP/1.1 client on ureq. Cheap to clone: clones share the
/// connections. Needs no async runtime.
///
/// ```no_run
/// # fn main() -> paf_core::Result<()> {
/// let client = paf_ureq::Client::new();
/// let response = client.get("http://127.0.0.1:8080/")?;
/// println!("{}", response.status());
/// let text = response.into_body().read_to_string(1 << 20)?;
/// # Ok(()) }
/// ```
pub type Client = EngineClient<UreqEngine>;

/// Builds a [`Client`]: paf's shared client settings (see
/// [`paf_core::client::Builder`] for the options and their defaults).
/// ureq speaks HTTP/1.1 only: with `http2_prior_knowledge` set, requests
/// to `http://` URLs are refused as unsupported.
pub type ClientBuilder = Builder<Client>;

/// ureq as a paf engine: what [`Client`] sends requests with. It keeps one
/// ureq agent per connection key (see the [module docs](self)).
pub struct UreqEngine {
    /// The configuration every agent starts from.
    config: ureq::config::Config,
    agents: PerKey<AgentKey, Agent>,
}

impl std::fmt::Debug for UreqEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UreqEngine")
            .field("agents", &self.agents)
            .finish_non_exhaustive()
    }
}

impl Engine for UreqEngine {
    const NAME: &'static str = crate::BACKEND;

    fn new(settings: &Settings) -> Self {
        // paf's common behaviour: every status is a response, redirects come
        // back as they are, nothing is decoded, no header is added that the
        // caller did not ask for, and the environment's proxy is not used
        // (the context says how a peer is reached).
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .allow_non_standard_methods(true)
            .timeout_global(settings.timeout)
            // ureq counts this one from the request's last byte, as paf
            // means it; the body's idle limit is the transport's (ureq's
            // own body limit is a total).
            .timeout_recv_response(settings.response_head_timeout)
            .max_idle_connections(settings.pool_max_idle_per_endpoint)
            .max_idle_connections_per_host(settings.pool_max_idle_per_endpoint)
            .max_idle_age(settings.pool_idle_timeout)
            .build();
        UreqEngine {
            config,
            agents: PerKey::new(MAX_AGENTS),
        }
    }

    fn send(
        &self,
        settings: &Settings,
        ctx: Ctx,
        request: Request<Body>,
    ) -> Result<Response<Body>> {
        self.exchange(settings, ctx, request)
    }
}

impl UreqEngine {
    fn exchange(
        &self,
        settings: &Settings,
        ctx: Ctx,
        request: Request<Body>,
    ) -> Result<Response<Body>> {
        // A request that asks for HTTP/2 by its version is refused rather
        // than quietly sent as HTTP/1.1.
        if request.version() >= Version::HTTP_2 {
            return Err(Error::Unsupported {
                backend: crate::BACKEND,
                feature: format!("{:?}", request.version()),
            });
        }
        // ureq speaks HTTP/1.1 only: a server offered `h2` too would pick it.
        let ctx = ctx.with_alpn(vec![ALPN_HTTP11.to_vec()]);
        if settings.http2_prior_knowledge && !ctx.tls_enabled() {
            return Err(Error::Unsupported {
                backend: crate::BACKEND,
                feature: "HTTP/2 prior knowledge".into(),
            });
        }
        let exchange = Exchange {
            url: request.uri().to_string(),
            server_name: ctx
                .tls_enabled()
                .then(|| ctx.server_name().ok().map(str::to_string))
                .flatten(),
            timeout: settings.timeout,
            response_head_timeout: settings.response_head_timeout,
            body_idle_timeout: settings.body_idle_timeout,
        };
        let agent = self.agent(&ctx)?;

        let (parts, body) = request.into_parts();
        let method = parts.method;
        let mut headers = parts.headers;
        let uri = engine_uri(&parts.uri, ctx.tls_enabled(), &mut headers)?;
        let len = frame(&method, body.len(), &mut headers);

        // An idempotent request whose body is in memory (or empty) can go
        // again when its connection closes before the response (RFC 9110
        // §9.2.2); a streamed one cannot. Every pooled connection may turn
        // out closed (ureq cannot probe them), so those are retried while
        // the pool lasts; a new connection that closes is retried once, and
        // only when it carried the first attempt.
        let replayable = is_idempotent(&method) && (len == Some(0) || body.try_clone().is_some());
        let attempts = if replayable {
            settings.pool_max_idle_per_endpoint + 2
        } else {
            1
        };
        let mut body = Some(body);
        let mut attempt = 1;
        // The error of the attempt before, once one is sent again.
        let mut first: Option<Error> = None;
        let response = loop {
            let this_body = if attempt < attempts {
                body.as_ref().and_then(Body::try_clone)
            } else {
                body.take()
            };
            let send_body = match this_body {
                Some(body) if len != Some(0) => {
                    SendBody::from_owned_reader(RequestBody::new(body, len))
                }
                _ => SendBody::none(),
            };
            let headers = if attempt < attempts {
                headers.clone()
            } else {
                std::mem::take(&mut headers)
            };
            let mut engine_request = Request::new(send_body);
            *engine_request.method_mut() = method.clone();
            *engine_request.uri_mut() = uri.clone();
            *engine_request.version_mut() = Version::HTTP_11;
            *engine_request.headers_mut() = headers;
            match agent.run(engine_request) {
                Ok(response) => break response,
                Err(ureq::Error::Other(e))
                    if attempt < attempts
                        && e.downcast_ref::<ClosedBeforeResponse>()
                            .is_some_and(|closed| closed.reused || attempt == 1) =>
                {
                    first.get_or_insert(exchange.error(ureq::Error::Other(e)));
                    attempt += 1;
                }
                Err(e) => {
                    let error = exchange.error(e);
                    return Err(match first {
                        Some(first) => error_after_retry(first, error),
                        None => error,
                    });
                }
            }
        };
        Ok(into_paf_response(response, &method, exchange))
    }

    /// The agent whose connector is bound to this context's connection key.
    fn agent(&self, ctx: &Ctx) -> Result<Agent> {
        let key = AgentKey {
            conn: ctx.key()?,
            connect_timeout: ctx.connect_timeout(),
        };
        self.agents.get_or_try_insert_with(key, || {
            Ok(Agent::with_parts(
                self.config.clone(),
                CtxConnector::new(ctx.clone())?,
                CtxResolver,
            ))
        })
    }
}

/// Contexts with equal keys reach the same peer the same way; the connect
/// timeout is part of the agent's key because its connector applies it.
#[derive(Clone, PartialEq, Eq, Hash)]
struct AgentKey {
    conn: ConnKey,
    connect_timeout: Option<Duration>,
}

/// ureq checks that an `https` URL goes over TLS and a plain one does not
/// need to; the context has the last word ([`Ctx::with_tls`]), so the URL
/// handed to ureq gets the scheme the context chose. `Host` keeps naming
/// the URL's authority.
fn engine_uri(uri: &Uri, tls: bool, headers: &mut HeaderMap) -> Result<Uri> {
    let https = uri.scheme() == Some(&Scheme::HTTPS);
    if https == tls {
        return Ok(uri.clone());
    }
    let invalid = |reason: String| Error::InvalidUrl {
        url: uri.to_string(),
        reason,
    };
    let authority = uri.authority().ok_or_else(|| invalid("no host".into()))?;
    let default_port = if https { 443 } else { 80 };
    let port = authority.port_u16().unwrap_or(default_port);
    if !headers.contains_key(HOST) {
        let host = if port == default_port {
            authority.host().to_string()
        } else {
            format!("{}:{port}", authority.host())
        };
        let host = HeaderValue::from_str(&host).map_err(|e| invalid(e.to_string()))?;
        headers.insert(HOST, host);
    }
    let mut parts = uri.clone().into_parts();
    parts.scheme = Some(if tls { Scheme::HTTPS } else { Scheme::HTTP });
    parts.authority = Some(
        format!("{}:{port}", authority.host())
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?,
    );
    Uri::from_parts(parts).map_err(|e| invalid(e.to_string()))
}

/// Sets the request's framing headers and returns the length the body must
/// have. A body of known length is sent with `Content-Length` (the body's
/// length wins over a header that says otherwise); one of unknown length is
/// chunked, unless the caller stated its length in `Content-Length`. An
/// empty body gets `Content-Length: 0` where the method expects content
/// (POST, PUT, PATCH) or the caller set the header, and no framing header
/// otherwise (RFC 9110 §8.6).
fn frame(method: &Method, body_len: Option<u64>, headers: &mut HeaderMap) -> Option<u64> {
    let stated = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let len = body_len.or(stated);
    match len {
        Some(0)
            if stated.is_none()
                && !matches!(*method, Method::POST | Method::PUT | Method::PATCH) =>
        {
            headers.remove(CONTENT_LENGTH);
            headers.remove(TRANSFER_ENCODING);
        }
        Some(len) => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
            headers.remove(TRANSFER_ENCODING);
        }
        // ureq adds `Transfer-Encoding: chunked` itself.
        None => {
            headers.remove(CONTENT_LENGTH);
        }
    }
    len
}

/// ureq's response as paf's: the same head, and a body streamed from ureq's
/// reader whose length is the `Content-Length`. Responses that cannot have a
/// body (to `HEAD`, 1xx, 204, 304) get an empty one whatever their headers
/// say.
fn into_paf_response(
    response: Response<ureq::Body>,
    method: &Method,
    exchange: Exchange,
) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let no_body = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    // ureq knows no length for a body it skips (a redirect it would not
    // follow, say), even when `Content-Length: 0` says it.
    let stated_empty = || {
        !parts.headers.contains_key(TRANSFER_ENCODING)
            && parts
                .headers
                .get(CONTENT_LENGTH)
                .is_some_and(|len| len.as_bytes() == b"0")
    };
    let len = if no_body || stated_empty() {
        Some(0)
    } else {
        body.content_length()
    };
    let mut reader = body.into_reader();
    let body = if len == Some(0) {
        // Reading the end hands the connection back to the pool at once.
        let _ = reader.read(&mut [0; 1]);
        Body::empty()
    } else {
        Body::from_reader(ResponseBody::new(reader, len, exchange), len)
    };
    let mut paf = Response::new(body);
    *paf.status_mut() = status;
    *paf.version_mut() = parts.version;
    *paf.headers_mut() = parts.headers;
    paf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies_get_content_length_only_where_content_is_expected() {
        let mut headers = HeaderMap::new();
        assert_eq!(frame(&Method::GET, Some(0), &mut headers), Some(0));
        assert!(headers.get(CONTENT_LENGTH).is_none());
        assert_eq!(frame(&Method::POST, Some(0), &mut headers), Some(0));
        assert_eq!(headers[CONTENT_LENGTH], "0");
    }

    #[test]
    fn body_length_wins_and_unknown_length_is_chunked() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(3));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert_eq!(frame(&Method::PUT, Some(5), &mut headers), Some(5));
        assert_eq!(headers[CONTENT_LENGTH], "5");
        assert!(headers.get(TRANSFER_ENCODING).is_none());

        let mut headers = HeaderMap::new();
        assert_eq!(frame(&Method::POST, None, &mut headers), None);
        assert!(headers.get(CONTENT_LENGTH).is_none());

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(7));
        assert_eq!(frame(&Method::POST, None, &mut headers), Some(7));
    }

    #[test]
    fn engine_uri_follows_the_context_tls_choice() {
        let mut headers = HeaderMap::new();
        let uri: Uri = "https://example.org/a?b".parse().unwrap();
        assert_eq!(engine_uri(&uri, true, &mut headers).unwrap(), uri);
        assert!(headers.is_empty());

        let plain = engine_uri(&uri, false, &mut headers).unwrap();
        assert_eq!(plain.to_string(), "http://example.org:443/a?b");
        assert_eq!(headers[HOST], "example.org");

        let mut headers = HeaderMap::new();
        let uri: Uri = "http://[::1]:8080/".parse().unwrap();
        let tls = engine_uri(&uri, true, &mut headers).unwrap();
        assert_eq!(tls.to_string(), "https://[::1]:8080/");
        assert_eq!(headers[HOST], "[::1]:8080");
    }
}
