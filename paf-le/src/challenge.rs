//! The HTTP-01 challenge: a live store of tokens and the handler that serves
//! them.
//!
//! Provisioning writes each token's key authorization into [`Challenges`]
//! before telling the CA it is ready, and takes it out when the order is
//! done; [`ChallengeHandler`] reads the store on every request, so one
//! server keeps working across orders and renewals. The CA fetches
//! `http://<name>/.well-known/acme-challenge/<token>` on port 80, possibly
//! several times from several places (RFC 8555 §8.3).

use std::{
    collections::HashMap,
    future::ready,
    sync::{Arc, RwLock},
};

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use paf_core::{
    server::{status_response, Handler},
    Body, BoxFuture,
};

/// The path under which HTTP-01 tokens are fetched.
pub const CHALLENGE_PATH_PREFIX: &str = "/.well-known/acme-challenge/";

/// The tokens of the orders in progress and their key authorizations.
/// Cheap to clone: clones share the tokens.
#[derive(Clone, Default)]
pub struct Challenges {
    tokens: Arc<RwLock<HashMap<String, String>>>,
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenges")
            .field("tokens", &self.len())
            .finish()
    }
}

impl Challenges {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `token` with `key_authorization` from now on.
    pub fn insert(&self, token: impl Into<String>, key_authorization: impl Into<String>) {
        self.write().insert(token.into(), key_authorization.into());
    }

    /// Stops answering `token`.
    pub fn remove(&self, token: &str) {
        self.write().remove(token);
    }

    /// The key authorization served for `token`, if it is live.
    pub fn key_authorization(&self, token: &str) -> Option<String> {
        self.read().get(token).cloned()
    }

    /// How many tokens are live.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when no token is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A guard that removes the tokens put through it when dropped, so an
    /// order that fails or is cancelled leaves nothing behind.
    pub(crate) fn scope(&self) -> ChallengeScope {
        ChallengeScope {
            challenges: self.clone(),
            tokens: Vec::new(),
        }
    }

    // A panic while holding the lock cannot leave the map half-updated
    // (every operation is one map call), so a poisoned lock is still good.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, String>> {
        self.tokens.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, String>> {
        self.tokens.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The tokens of one order; see [`Challenges::scope`].
pub(crate) struct ChallengeScope {
    challenges: Challenges,
    tokens: Vec<String>,
}

impl ChallengeScope {
    pub(crate) fn insert(&mut self, token: String, key_authorization: String) {
        self.challenges.insert(token.clone(), key_authorization);
        self.tokens.push(token);
    }
}

impl Drop for ChallengeScope {
    fn drop(&mut self) {
        for token in &self.tokens {
            self.challenges.remove(token);
        }
    }
}

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

    /// The answer to a request for a challenge `token`.
    fn answer(&self, method: &Method, token: &str) -> Response<Body> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = status_response(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        // Tokens are base64url (RFC 8555 §8.3); anything with another
        // segment is not one.
        let key_authorization = (!token.is_empty() && !token.contains('/'))
            .then(|| self.challenges.key_authorization(token))
            .flatten();
        let Some(key_authorization) = key_authorization else {
            return status_response(StatusCode::NOT_FOUND);
        };
        let mut response = Response::new(Body::from(key_authorization));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        response
    }
}

impl<H: Handler> Handler for ChallengeHandler<H> {
    fn call(&self, request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        match request.uri().path().strip_prefix(CHALLENGE_PATH_PREFIX) {
            Some(token) => Box::pin(ready(self.answer(request.method(), token))),
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

    #[test]
    fn scope_removes_its_tokens_when_dropped() {
        let challenges = Challenges::new();
        challenges.insert("kept", "kept.x");
        {
            let mut scope = challenges.scope();
            scope.insert("a".into(), "a.x".into());
            scope.insert("b".into(), "b.x".into());
            assert_eq!(challenges.len(), 3);
        }
        assert_eq!(challenges.len(), 1);
        assert_eq!(
            challenges.key_authorization("kept").as_deref(),
            Some("kept.x")
        );
    }
}
