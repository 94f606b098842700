//! Which request-target forms go with which methods (RFC 9112 §3.2),
//! checked before the handler runs: hyper parses every form for any method,
//! and a handler routing on `uri().path()` would otherwise see `*`, an empty
//! path, or an `ftp://` URI it never expected.

use http::{Method, Uri, Version};

/// Why a target is refused, or `None` when it fits the method.
///
/// - origin-form (`/path?query`): any method but `CONNECT`;
/// - absolute-form (`http://host/path`): any method but `CONNECT`, with the
///   scheme `http` or `https` only;
/// - authority-form (`host:port`): `CONNECT` only, and `CONNECT` takes
///   nothing else;
/// - asterisk-form (`*`): `OPTIONS` only.
///
/// On HTTP/2 the pseudo-headers leave no such choice (the `h2` crate checks
/// them), so only the scheme is looked at there.
pub(super) fn refusal(method: &Method, uri: &Uri, version: Version) -> Option<&'static str> {
    let connect = method == Method::CONNECT;
    if let Some(scheme) = uri.scheme_str() {
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Some("an absolute target with a scheme other than http or https");
        }
    }
    if version >= Version::HTTP_2 {
        return None;
    }
    let asterisk = uri.scheme().is_none() && uri.authority().is_none() && uri.path() == "*";
    let authority_form = uri.scheme().is_none() && uri.authority().is_some();
    match (connect, asterisk, authority_form) {
        (_, true, _) if method != Method::OPTIONS => Some("the target * is for OPTIONS only"),
        (false, _, true) => Some("a target of host and port alone is for CONNECT only"),
        (true, _, false) => Some("CONNECT takes a target of host and port alone"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(method: &str, target: &str) -> Option<&'static str> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        refusal(&method, &target.parse().unwrap(), Version::HTTP_11)
    }

    #[test]
    fn each_form_goes_with_its_methods() {
        assert_eq!(check("GET", "/a?b"), None);
        assert_eq!(check("POST", "http://example.org/a"), None);
        assert_eq!(check("GET", "HTTPS://example.org/"), None);
        assert_eq!(check("OPTIONS", "*"), None);
        assert_eq!(check("CONNECT", "example.org:443"), None);

        assert!(check("GET", "ftp://example.org/file").is_some());
        assert!(check("GET", "*").is_some());
        assert!(check("DELETE", "*").is_some());
        assert!(check("GET", "example.org:443").is_some());
        assert!(check("CONNECT", "/path").is_some());
        assert!(check("CONNECT", "http://example.org/").is_some());
    }

    #[test]
    fn http2_targets_are_only_checked_for_their_scheme() {
        let uri = "https://example.org/".parse().unwrap();
        assert_eq!(refusal(&Method::GET, &uri, Version::HTTP_2), None);
        let uri = "gopher://example.org/".parse().unwrap();
        assert!(refusal(&Method::GET, &uri, Version::HTTP_2).is_some());
    }
}
