//! The HTTP-01 challenge handler.
//!
//! Provisioning writes each token's key authorization into [`Challenges`]
//! before telling the CA it is ready, and takes it out when the order is
//! done; [`ChallengeHandler`] reads the store on every request (and the
//! storage behind it for tokens another instance published), so one
//! server keeps working across orders and renewals. The CA fetches
//! `http://<name>/.well-known/acme-challenge/<token>` on port 80, possibly
//! several times from several places (RFC 8555 §8.3).

use std::future::ready;

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use paf_core::{
    server::{status_response, Handler},
    Body, BoxFuture,
};

use super::Challenges;

/// The path under which HTTP-01 tokens are fetched.
pub const CHALLENGE_PATH_PREFIX: &str = "/.well-known/acme-challenge/";

/// The handler of paths outside the challenge prefix when nothing is
/// wrapped: 404 Not Found.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl Handler for NotFound {
    fn call(&self, _request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        Box::pin(ready(status_response(StatusCode::NOT_FOUND)))
    }
}

/// Answers HTTP-01 challenges from a [`Challenges`] store and passes every
/// other request to the handler it wraps.
///
/// - `GET` or `HEAD /.well-known/acme-challenge/<token>`: 200 with the key
///   authorization when the token is live, 404 otherwise;
/// - another method on a challenge path: 405;
/// - any other path: the wrapped handler ([`NotFound`] by default).
///
/// ```
/// use paf_core::{http::{Request, Response}, Body};
/// use paf_le::{ChallengeHandler, Challenges};
///
/// let challenges = Challenges::new();
/// // The site itself, with challenges answered in front of it.
/// let handler = ChallengeHandler::wrap(challenges.clone(), |_req: Request<Body>| async {
///     Response::new(Body::from("hello"))
/// });
/// let server = paf_hyper::Server::new(handler);
/// # let _ = server;
/// ```
#[derive(Debug, Clone)]
pub struct ChallengeHandler<H = NotFound> {
    challenges: Challenges,
    inner: H,
}

impl ChallengeHandler<NotFound> {
    /// A handler that answers challenges and 404 to everything else.
    pub fn new(challenges: Challenges) -> Self {
        ChallengeHandler {
            challenges,
            inner: NotFound,
        }
    }
}

impl<H: Handler> ChallengeHandler<H> {
    /// A handler that answers challenges and passes everything else to `inner`.
    pub fn wrap(challenges: Challenges, inner: H) -> Self {
        ChallengeHandler { challenges, inner }
    }

    /// The answer to a request for a challenge `token`: from the process
    /// at once, else from the storage behind the store.
    fn answer(&self, method: &Method, token: &str) -> BoxFuture<'static, Response<Body>> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = status_response(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Box::pin(ready(response));
        }
        // Tokens are base64url (RFC 8555 §8.3); anything with another
        // segment is not one.
        if token.is_empty() || token.contains('/') {
            return Box::pin(ready(status_response(StatusCode::NOT_FOUND)));
        }
        if let Some(key_authorization) = self.challenges.key_authorization(token) {
            return Box::pin(ready(key_authorization_response(key_authorization)));
        }
        if self.challenges.storage().is_none() {
            return Box::pin(ready(status_response(StatusCode::NOT_FOUND)));
        }
        let challenges = self.challenges.clone();
        let token = token.to_string();
        Box::pin(async move {
            match challenges.lookup(&token).await {
                Some(key_authorization) => key_authorization_response(key_authorization),
                None => status_response(StatusCode::NOT_FOUND),
            }
        })
    }
}

fn key_authorization_response(key_authorization: String) -> Response<Body> {
    let mut response = Response::new(Body::from(key_authorization));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

impl<H: Handler> Handler for ChallengeHandler<H> {
    fn call(&self, request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        match request.uri().path().strip_prefix(CHALLENGE_PATH_PREFIX) {
            Some(token) => self.answer(request.method(), token),
            None => self.inner.call(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(handler: &impl Handler, method: Method, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = handler.call(request).await;
        let status = response.status();
        (status, response.into_body().to_string(1024).await.unwrap())
    }

    #[tokio::test]
    async fn live_token_is_answered_with_its_key_authorization() {
        let challenges = Challenges::new();
        challenges.insert("tok-1", "tok-1.thumbprint");
        let handler = ChallengeHandler::new(challenges);
        let (status, body) = get(&handler, Method::GET, "/.well-known/acme-challenge/tok-1").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "tok-1.thumbprint");
    }

    #[tokio::test]
    async fn unknown_token_and_removed_token_are_404() {
        let challenges = Challenges::new();
        challenges.insert("tok-1", "tok-1.thumbprint");
        let handler = ChallengeHandler::new(challenges.clone());
        for path in [
            "/.well-known/acme-challenge/other",
            "/.well-known/acme-challenge/",
            "/.well-known/acme-challenge/tok-1/extra",
        ] {
            assert_eq!(
                get(&handler, Method::GET, path).await.0,
                StatusCode::NOT_FOUND
            );
        }
        challenges.remove("tok-1");
        let (status, _) = get(&handler, Method::GET, "/.well-known/acme-challenge/tok-1").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn other_paths_go_to_the_wrapped_handler() {
        let challenges = Challenges::new();
        challenges.insert("tok-1", "tok-1.thumbprint");
        let handler = ChallengeHandler::wrap(challenges, |req: Request<Body>| async move {
            Response::new(Body::from(format!("site: {}", req.uri().path())))
        });
        let (status, body) = get(&handler, Method::GET, "/index.html").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "site: /index.html")
        );
        // The challenge path is still answered in front of the site.
        let (_, body) = get(&handler, Method::GET, "/.well-known/acme-challenge/tok-1").await;
        assert_eq!(body, "tok-1.thumbprint");
        // Without a wrapped handler, other paths are 404.
        let bare = ChallengeHandler::new(Challenges::new());
        assert_eq!(
            get(&bare, Method::GET, "/index.html").await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn post_to_a_challenge_path_is_405() {
        let challenges = Challenges::new();
        challenges.insert("tok-1", "tok-1.thumbprint");
        let handler = ChallengeHandler::new(challenges);
        let (status, _) = get(&handler, Method::POST, "/.well-known/acme-challenge/tok-1").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
