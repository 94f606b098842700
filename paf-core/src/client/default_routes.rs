//! Routes worked out once per origin. A request that carries no context of
//! its own goes through the client's default context filled from its URL,
//! so where it goes depends on nothing but the URL's scheme and authority:
//! an engine keeps what it worked out for them here, instead of filling a
//! context and resolving it again for every request.

use std::sync::{Mutex, PoisonError};

use http::{uri::Authority, Request};

use super::{RequestExt, Settings};
use crate::{Ctx, Result};

/// How many origins' routes are kept; past it the one used least recently
/// goes.
const MAX_ORIGINS: usize = 64;

/// An engine's routes for requests without a context of their own
/// ([`RequestExt::with_ctx`]), one per URL origin (scheme and authority),
/// at most 64 of them.
///
/// ```
/// use paf_core::client::{DefaultRoutes, Settings};
/// use paf_core::{http::Request, Body, Ctx};
///
/// let routes = DefaultRoutes::new();
/// let settings = Settings::default();
/// let mut made = 0;
/// for _ in 0..2 {
///     let mut request = Request::get("http://example.org/x").body(Body::empty()).unwrap();
///     let endpoint = routes.route(&settings, &mut request, |ctx: Ctx, _| {
///         made += 1;
///         Ok(ctx.endpoint()?.to_string())
///     });
///     assert_eq!(endpoint.unwrap(), "tcp://example.org:80");
/// }
/// assert_eq!(made, 1, "worked out once for the origin");
/// ```
pub struct DefaultRoutes<R> {
    /// Most recently used first. A client talks to few origins, and its
    /// requests mostly to the one it just talked to: found at the front
    /// after a comparison or two, cheaper than hashing the key (a
    /// `PerKey`'s SipHash of the authority cost more than the rest of the
    /// lookup).
    routes: Mutex<Vec<(Origin, R)>>,
}

impl<R: Clone> Default for DefaultRoutes<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Clone> DefaultRoutes<R> {
    /// No routes yet.
    pub fn new() -> Self {
        DefaultRoutes {
            routes: Mutex::new(Vec::new()),
        }
    }

    /// The route of `request`: `make` works it out from the request's
    /// context ([`Settings::request_ctx`], which takes the context out of
    /// the request) and the request. A request without a context of its
    /// own gets the route kept for its URL's origin, which `make` works out
    /// only the first time (under a lock: it should only build, not wait on
    /// the network). Errors are not kept.
    pub fn route<B>(
        &self,
        settings: &Settings,
        request: &mut Request<B>,
        make: impl FnOnce(Ctx, &Request<B>) -> Result<R>,
    ) -> Result<R> {
        let Some((https, authority)) = origin(request) else {
            return make(settings.request_ctx(request)?, request);
        };
        let mut routes = self.lock();
        let kept = routes.iter().position(|(origin, _)| {
            origin.https == https && origin.authority.as_str() == authority.as_str()
        });
        if let Some(at) = kept {
            routes[..=at].rotate_right(1);
            return Ok(routes[0].1.clone());
        }
        let origin = Origin {
            https,
            authority: authority.clone(),
        };
        let route = make(settings.request_ctx(request)?, request)?;
        routes.truncate(MAX_ORIGINS - 1);
        routes.insert(0, (origin, route.clone()));
        Ok(route)
    }

    /// How many origins have a route kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no route is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Origin, R)>> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<R> std::fmt::Debug for DefaultRoutes<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.routes.lock().map_or(0, |routes| routes.len());
        f.debug_struct("DefaultRoutes").field("len", &len).finish()
    }
}

/// A URL's scheme (`https` or not) and authority, compared byte for byte
/// (`Authority`'s own `==` ignores case, byte by byte): two spellings of
/// one origin (`Example.org`, `example.org:80`) are two entries with equal
/// routes, which is only a little memory.
struct Origin {
    https: bool,
    authority: Authority,
}

/// The origin of a request that carries no context of its own and has an
/// `http` or `https` URL with an authority.
fn origin<B>(request: &Request<B>) -> Option<(bool, &Authority)> {
    if request.ctx().is_some() {
        return None;
    }
    let uri = request.uri();
    let https = match uri.scheme_str()? {
        s if s.eq_ignore_ascii_case("https") => true,
        s if s.eq_ignore_ascii_case("http") => false,
        _ => return None,
    };
    Some((https, uri.authority()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;

    fn request(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[test]
    fn a_route_is_worked_out_once_per_origin_and_never_for_a_request_with_its_own_context() {
        let routes = DefaultRoutes::new();
        let settings = Settings::default();
        let made = std::cell::Cell::new(0);
        let route = |request: &mut Request<Body>| {
            routes
                .route(&settings, request, |ctx, _| {
                    made.set(made.get() + 1);
                    Ok(ctx.endpoint()?.to_string())
                })
                .unwrap()
        };
        assert_eq!(route(&mut request("http://a/1")), "tcp://a:80");
        assert_eq!(route(&mut request("http://a/2?q")), "tcp://a:80");
        assert_eq!(made.get(), 1);
        assert_eq!(route(&mut request("https://a/")), "tcp://a:443");
        assert_eq!(route(&mut request("http://a:8080/")), "tcp://a:8080");
        assert_eq!(made.get(), 3);

        let own = Ctx::new().with_unix_socket("/run/a.sock");
        let mut with_ctx = request("http://a/").with_ctx(own);
        assert_eq!(route(&mut with_ctx), "unix:/run/a.sock");
        assert!(with_ctx.ctx().is_none(), "the context is taken out");
        assert_eq!(made.get(), 4);
        assert_eq!(routes.len(), 3, "a request's own context is not kept");
    }

    #[test]
    fn the_origin_used_least_recently_goes_past_the_limit() {
        let routes = DefaultRoutes::new();
        let settings = Settings::default();
        let made = std::cell::Cell::new(0);
        let route = |uri: &str| {
            routes
                .route(&settings, &mut request(uri), |_, _| {
                    made.set(made.get() + 1);
                    Ok(())
                })
                .unwrap()
        };
        for n in 0..MAX_ORIGINS {
            route(&format!("http://h{n}/"));
        }
        route("http://h0/");
        route("http://new/");
        assert_eq!(routes.len(), MAX_ORIGINS);
        let made_before = made.get();
        route("http://h0/");
        assert_eq!(made.get(), made_before, "h0 was used again, so kept");
        route("http://h1/");
        assert_eq!(made.get(), made_before + 1, "h1 was the oldest, so gone");
    }

    #[test]
    fn errors_are_not_kept() {
        let routes: DefaultRoutes<()> = DefaultRoutes::new();
        let settings = Settings::default();
        let refused = routes.route(&settings, &mut request("http://a/"), |_, _| {
            Err(crate::Error::protocol("refused", None))
        });
        assert!(refused.is_err());
        assert!(routes.is_empty());
        let bad_url = routes.route(&settings, &mut request("ftp://a/"), |_, _| Ok(()));
        assert!(bad_url.unwrap_err().to_string().contains("scheme"));
        assert!(routes.is_empty());
        routes
            .route(&settings, &mut request("http://a/"), |_, _| Ok(()))
            .unwrap();
        assert_eq!(routes.len(), 1);
    }
}
