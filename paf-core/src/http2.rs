//! What an HTTP/2 request may carry, decided once for every backend that
//! speaks HTTP/2.
//!
//! A request is built the same way whatever version it will travel on: a
//! caller (or a porting layer such as CoHTTP's `Request.make`) may set `Host`
//! and HTTP/1.1's connection headers. On HTTP/2 the authority travels in the
//! `:authority` pseudo-header only (RFC 9113 §8.3.1) and connection-specific
//! headers are malformed (§8.2.2): servers such as nginx answer a `Host` sent
//! next to `:authority` with 400. [`prepare_request`] turns such a request
//! into its HTTP/2 form just before it is written.

use http::{
    header::{CONNECTION, HOST, TE},
    uri::{Authority, Parts},
    HeaderMap, HeaderName, HeaderValue, Request, Uri,
};

use crate::{Error, Result};

/// Headers that describe one HTTP/1.1 connection and have no meaning on
/// HTTP/2 (RFC 9113 §8.2.2); `te` is handled apart, since `te: trailers`
/// is allowed.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Rewrites `request` into what HTTP/2 allows:
///
/// - a `Host` header, whoever set it, becomes the URI's authority (sent as
///   `:authority`) and is removed; without one, the URI's authority is
///   kept, less any `user:password@` (never sent on HTTP/2);
/// - `connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`,
///   `upgrade`, and the headers `connection` names, are removed;
/// - `te` is kept only as `te: trailers`.
///
/// Fails with [`Error::InvalidUrl`] when `Host` is not a valid authority or
/// is given twice with different values: sending either would be guessing.
///
/// ```
/// use http::Request;
/// let mut req = Request::get("https://127.0.0.1:8443/index.html")
///     .header("host", "localhost:8443")
///     .header("connection", "keep-alive")
///     .body(())
///     .unwrap();
/// paf_core::http2::prepare_request(&mut req).unwrap();
/// assert_eq!(req.uri(), "https://localhost:8443/index.html");
/// assert!(req.headers().get("host").is_none());
/// assert!(req.headers().get("connection").is_none());
/// ```
pub fn prepare_request<B>(request: &mut Request<B>) -> Result<()> {
    let authority = match host_authority(request.uri(), request.headers())? {
        Some(authority) => Some(authority),
        None => request
            .uri()
            .authority()
            .filter(|a| a.as_str().contains('@'))
            .map(without_userinfo)
            .transpose()
            .map_err(|reason| invalid(request.uri(), reason))?,
    };
    if let Some(authority) = authority {
        let uri = request.uri().clone();
        let mut parts = Parts::from(uri.clone());
        parts.authority = Some(authority);
        *request.uri_mut() = Uri::from_parts(parts).map_err(|e| invalid(&uri, e.to_string()))?;
        request.headers_mut().remove(HOST);
    }
    strip_connection_headers(request.headers_mut());
    Ok(())
}

/// The authority a `Host` header names.
fn host_authority(uri: &Uri, headers: &HeaderMap) -> Result<Option<Authority>> {
    let mut values = headers.get_all(HOST).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(invalid(uri, "two different Host headers".into()));
    }
    let authority = first
        .to_str()
        .ok()
        .and_then(|s| s.parse::<Authority>().ok())
        .filter(|a| !a.as_str().contains('@') && !a.host().is_empty())
        .ok_or_else(|| {
            invalid(
                uri,
                format!("the Host header {first:?} is not a host[:port]"),
            )
        })?;
    Ok(Some(authority))
}

fn without_userinfo(authority: &Authority) -> std::result::Result<Authority, String> {
    let s = authority.as_str();
    let host_port = s.rsplit_once('@').map_or(s, |(_, rest)| rest);
    host_port
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())
}

fn invalid(uri: &Uri, reason: String) -> Error {
    Error::InvalidUrl {
        url: uri.to_string(),
        reason,
    }
}

/// Removes what HTTP/2 forbids from a request's headers; see
/// [`prepare_request`].
pub fn strip_connection_headers(headers: &mut HeaderMap) {
    // Connection options name further hop-by-hop headers (RFC 9110 §7.6.1).
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        // `te: trailers` may be kept even when `connection` lists `te`.
        if name != TE {
            headers.remove(name);
        }
    }
    for name in CONNECTION_SPECIFIC {
        headers.remove(name);
    }
    let trailers = headers.get_all(TE).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
        })
    });
    headers.remove(TE);
    if trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
}

/// Whether a `Host` header on `request` names an authority other than its
/// URI's: such a request means something on HTTP/1.1 that only a rewritten
/// `:authority` can say on HTTP/2. Default ports count as written
/// (`example.org` and `example.org:443` differ for an `https` URI only in
/// spelling, and are the same here).
pub fn host_differs_from_uri<B>(request: &Request<B>) -> bool {
    let uri = request.uri();
    let Some(host) = request.headers().get(HOST) else {
        return false;
    };
    let Some(authority) = host.to_str().ok().and_then(|h| h.parse::<Authority>().ok()) else {
        return true;
    };
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    let port = |a: &Authority| a.port_u16().unwrap_or(default_port);
    match uri.authority() {
        Some(ours) => {
            !ours.host().eq_ignore_ascii_case(authority.host()) || port(ours) != port(&authority)
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::get(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap()
    }

    fn prepared(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut r = req(uri, headers);
        prepare_request(&mut r).unwrap();
        r
    }

    #[test]
    fn host_becomes_the_authority_and_is_not_sent_twice() {
        let r = prepared("https://localhost:8443/a?b", &[("host", "localhost:8443")]);
        assert_eq!(r.uri(), "https://localhost:8443/a?b");
        assert_eq!(r.headers().get_all(HOST).iter().count(), 0);

        let r = prepared("https://127.0.0.1:8443/a", &[("host", "virtual.test")]);
        assert_eq!(r.uri(), "https://virtual.test/a");
        assert!(r.headers().is_empty());
    }

    #[test]
    fn repeated_equal_host_is_one_authority_and_differing_ones_are_refused() {
        let r = prepared("http://a/", &[("host", "b:81"), ("host", "b:81")]);
        assert_eq!(r.uri(), "http://b:81/");
        let mut r = req("http://a/", &[("host", "b"), ("host", "c")]);
        let e = prepare_request(&mut r).unwrap_err();
        assert!(matches!(e, Error::InvalidUrl { .. }), "{e:?}");
    }

    #[test]
    fn a_host_that_is_not_an_authority_is_refused() {
        for bad in ["a b", "user@host", "", "host/path"] {
            let mut r = req("http://a/", &[("host", bad)]);
            assert!(prepare_request(&mut r).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn userinfo_never_travels_in_the_authority() {
        let r = prepared("http://user:pw@example.org:8080/x", &[]);
        assert_eq!(r.uri(), "http://example.org:8080/x");
    }

    #[test]
    fn connection_specific_headers_are_removed() {
        let r = prepared(
            "http://a/",
            &[
                ("connection", "keep-alive, x-hop"),
                ("keep-alive", "timeout=5"),
                ("proxy-connection", "keep-alive"),
                ("transfer-encoding", "chunked"),
                ("upgrade", "websocket"),
                ("x-hop", "1"),
                ("x-end-to-end", "kept"),
            ],
        );
        let names: Vec<_> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-end-to-end"]);
    }

    #[test]
    fn te_is_kept_only_as_trailers() {
        let r = prepared("http://a/", &[("te", "gzip, Trailers")]);
        assert_eq!(r.headers()[TE], "trailers");
        let r = prepared("http://a/", &[("te", "gzip")]);
        assert!(r.headers().get(TE).is_none());
        let r = prepared("http://a/", &[("te", "trailers"), ("connection", "te")]);
        assert_eq!(r.headers()[TE], "trailers");
    }

    #[test]
    fn host_differs_only_when_it_names_another_place() {
        let differs = |uri, host| host_differs_from_uri(&req(uri, &[("host", host)]));
        assert!(!differs("https://Example.org/", "example.org:443"));
        assert!(!differs("http://example.org:8080/", "example.org:8080"));
        assert!(differs("http://example.org:8080/", "example.org"));
        assert!(differs("http://127.0.0.1/", "virtual.test"));
        assert!(!host_differs_from_uri(&req("http://a/", &[])));
    }
}
