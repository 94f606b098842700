//! Redirects, handled once above every engine.
//!
//! Engines never follow redirects themselves: paf does, above them, with
//! the same rules whatever the engine. By default a 3xx is a response like
//! any other (CoHTTP does not follow either); a client built with
//! [`Builder::redirect`](crate::client::Builder::redirect) set to
//! [`Policy::limited`] follows them, and [`send`] (async) or
//! [`send_blocking`] apply a policy over any client:
//!
//! - 301, 302 and 303 turn the next request into a `GET` without a body
//!   (`HEAD` stays `HEAD`), as browsers, curl and reqwest do for 301/302;
//! - 307 and 308 repeat the method and the body; a streamed body cannot be
//!   sent twice, so such a redirect is handed back as the response;
//! - a relative `Location` is resolved against the URL that answered;
//! - when the next URL has another scheme, host or port, `Authorization`,
//!   `Cookie` and `Proxy-Authorization` are not carried over;
//! - past the limit, the result is [`Error::TooManyRedirects`].

use http::{header, HeaderMap, Method, Request, Response, StatusCode, Uri};

use crate::{blocking, client::Client, ctx::Ctx, Body, Error, Result};

/// Whether and how far redirects are followed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    max: Option<usize>,
}

impl Policy {
    /// Redirects are responses (the default).
    pub fn none() -> Self {
        Policy { max: None }
    }

    /// Follows at most `max` redirects in a row.
    pub fn limited(max: usize) -> Self {
        Policy { max: Some(max) }
    }

    /// The limit, or `None` when redirects are not followed.
    pub fn max(&self) -> Option<usize> {
        self.max
    }
}

/// What the first request was, kept to build the next one.
struct Hop {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ctx: Option<Ctx>,
}

impl Hop {
    fn of<B>(request: &Request<B>) -> Self {
        Hop {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            ctx: request.extensions().get::<Ctx>().cloned(),
        }
    }

    /// The next request's head after `status` with `location`, and whether
    /// it keeps the body; `None` when the response is not a redirect to
    /// follow.
    fn next(
        &self,
        status: StatusCode,
        location: Option<&http::HeaderValue>,
    ) -> Option<(Hop, bool)> {
        let keep_body = match status {
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER => false,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
            _ => return None,
        };
        let location = location?.to_str().ok()?;
        let base = url::Url::parse(&self.uri.to_string()).ok()?;
        let next = base.join(location).ok()?;
        let uri: Uri = next.as_str().parse().ok()?;
        let mut headers = self.headers.clone();
        let method = if keep_body || self.method == Method::HEAD {
            self.method.clone()
        } else {
            for name in [
                header::CONTENT_LENGTH,
                header::CONTENT_TYPE,
                header::CONTENT_ENCODING,
                header::TRANSFER_ENCODING,
            ] {
                headers.remove(name);
            }
            Method::GET
        };
        let same_origin = uri.scheme() == self.uri.scheme()
            && uri.host() == self.uri.host()
            && uri.port_u16() == self.uri.port_u16();
        if !same_origin {
            headers.remove(header::AUTHORIZATION);
            headers.remove(header::COOKIE);
            headers.remove(header::PROXY_AUTHORIZATION);
        }
        // The Host of the old URL would be wrong for the new one.
        headers.remove(header::HOST);
        let hop = Hop {
            method,
            uri,
            headers,
            ctx: self.ctx.clone(),
        };
        Some((hop, keep_body))
    }

    fn request<B>(&self, body: B) -> Request<B> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(ctx) = &self.ctx {
            request.extensions_mut().insert(ctx.clone());
        }
        request
    }
}

/// A body that can be sent again when it is in memory.
trait Replay: Sized + Default {
    fn try_clone(&self) -> Option<Self>;
}

impl Replay for Body {
    fn try_clone(&self) -> Option<Self> {
        Body::try_clone(self)
    }
}

impl Replay for blocking::Body {
    fn try_clone(&self) -> Option<Self> {
        blocking::Body::try_clone(self)
    }
}

/// The state of one chain of redirects, shared by the async and blocking
/// loops.
struct Follower<B> {
    hop: Hop,
    replay: Option<B>,
    followed: usize,
    max: usize,
}

impl<B: Replay> Follower<B> {
    fn start(request: &Request<B>, policy: Policy) -> Option<Self> {
        // Nothing is copied for a policy that follows nothing.
        let max = policy.max?;
        Some(Follower {
            hop: Hop::of(request),
            replay: request.body().try_clone(),
            followed: 0,
            max,
        })
    }

    /// The next request to send after `response`, or `None` when the
    /// response is the answer.
    fn after<R>(&mut self, response: &Response<R>) -> Result<Option<Request<B>>> {
        let location = response.headers().get(header::LOCATION);
        let Some((next, keep_body)) = self.hop.next(response.status(), location) else {
            return Ok(None);
        };
        let body = if keep_body {
            match self.replay.as_ref().and_then(Replay::try_clone) {
                Some(body) => body,
                // A streamed body is gone: the redirect is the answer.
                None => return Ok(None),
            }
        } else {
            self.replay = Some(B::default());
            B::default()
        };
        if self.followed == self.max {
            return Err(Error::TooManyRedirects {
                limit: self.max,
                url: next.uri.to_string(),
            });
        }
        self.followed += 1;
        let request = next.request(body);
        self.hop = next;
        Ok(Some(request))
    }
}

/// Sends `request` through `client`, following redirects as `policy` says.
/// (Clients built by paf's backends follow their own
/// [`Settings::redirect`](crate::client::Settings::redirect) already.)
pub async fn send<C: Client + ?Sized>(
    client: &C,
    request: Request<Body>,
    policy: Policy,
) -> Result<Response<Body>> {
    follow(request, policy, |request| client.send(request)).await
}

/// Sends `request` with `send`, then each redirect `policy` follows.
pub(crate) async fn follow<F, Fut>(
    request: Request<Body>,
    policy: Policy,
    send: F,
) -> Result<Response<Body>>
where
    F: Fn(Request<Body>) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>>>,
{
    let Some(mut follower) = Follower::start(&request, policy) else {
        return send(request).await;
    };
    let mut response = send(request).await?;
    while let Some(next) = follower.after(&response)? {
        log_hop(response.status(), next.uri());
        response = send(next).await?;
    }
    Ok(response)
}

/// Each redirect followed is a DEBUG event, between the requests' spans.
fn log_hop(status: StatusCode, to: &http::Uri) {
    tracing::debug!(
        target: "paf_core::client",
        status = status.as_u16(),
        to = %crate::client::Redacted(to),
        "following a redirect"
    );
}

/// [`send`] for blocking clients.
pub fn send_blocking<C: blocking::Client + ?Sized>(
    client: &C,
    request: Request<blocking::Body>,
    policy: Policy,
) -> Result<Response<blocking::Body>> {
    follow_blocking(request, policy, |request| client.send(request))
}

/// [`follow`] for blocking clients.
pub(crate) fn follow_blocking<F>(
    request: Request<blocking::Body>,
    policy: Policy,
    send: F,
) -> Result<Response<blocking::Body>>
where
    F: Fn(Request<blocking::Body>) -> Result<Response<blocking::Body>>,
{
    let Some(mut follower) = Follower::start(&request, policy) else {
        return send(request);
    };
    let mut response = send(request)?;
    while let Some(next) = follower.after(&response)? {
        log_hop(response.status(), next.uri());
        response = send(next)?;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn hop(method: Method, uri: &str) -> Hop {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Hop {
            method,
            uri: uri.parse().unwrap(),
            headers,
            ctx: None,
        }
    }

    fn loc(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn see_other_turns_post_into_get_without_body_headers() {
        let (next, keep) = hop(Method::POST, "http://a/x")
            .next(StatusCode::SEE_OTHER, Some(&loc("/y?z=1")))
            .unwrap();
        assert!(!keep);
        assert_eq!(next.method, Method::GET);
        assert_eq!(next.uri, "http://a/y?z=1");
        assert!(next.headers.get(header::CONTENT_TYPE).is_none());
        assert!(
            next.headers.get(header::AUTHORIZATION).is_some(),
            "same origin keeps credentials"
        );
    }

    #[test]
    fn temporary_redirect_keeps_method_and_body() {
        let (next, keep) = hop(Method::PUT, "http://a/x")
            .next(StatusCode::TEMPORARY_REDIRECT, Some(&loc("y")))
            .unwrap();
        assert!(keep);
        assert_eq!(next.method, Method::PUT);
        assert_eq!(next.uri, "http://a/y");
    }

    #[test]
    fn head_stays_head_and_cross_origin_drops_credentials() {
        let (next, _) = hop(Method::HEAD, "http://a/x")
            .next(StatusCode::FOUND, Some(&loc("https://b:8443/")))
            .unwrap();
        assert_eq!(next.method, Method::HEAD);
        assert!(next.headers.get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn non_redirects_and_missing_locations_are_final() {
        let h = hop(Method::GET, "http://a/");
        assert!(h.next(StatusCode::OK, Some(&loc("/y"))).is_none());
        assert!(h.next(StatusCode::FOUND, None).is_none());
        assert!(h.next(StatusCode::NOT_MODIFIED, Some(&loc("/y"))).is_none());
    }
}
