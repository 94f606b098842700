//! The cookie cases of CoHTTP's `cohttp/test/test_header.ml` ("Cookie"
//! suite), ported.

use paf_compat::cookie::{CookieHdr, Expiration, SetCookieHdr, SetCookieVersion};
use paf_compat::Header;

fn cookies(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Mirrors cohttp/test/test_header.ml "Valid Set-Cookie"
#[test]
fn valid_set_cookie() {
    let c = SetCookieHdr::make(("key", "value"))
        .with_expiration(Expiration::Session)
        .with_path("/foo/bar")
        .with_domain("ocaml.org")
        .with_secure(true)
        .with_http_only(true);
    let (k, v) = c.serialize_version(SetCookieVersion::Http1_0);
    assert_eq!(k, "Set-Cookie", "header key");
    assert_eq!(
        v, "key=value; domain=ocaml.org; path=/foo/bar; secure; httponly",
        "header value"
    );

    let c = SetCookieHdr::make(("key", "value"))
        .with_expiration(Expiration::MaxAge(100))
        .with_path("/foo/bar")
        .with_domain("ocaml.org");
    let (k, v) = c.serialize_version(SetCookieVersion::Http1_0);
    assert_eq!(k, "Set-Cookie", "header key2");
    assert_eq!(
        v, "key=value; Max-Age=100; domain=ocaml.org; path=/foo/bar",
        "header value2"
    );

    let (k, v) = c.serialize_version(SetCookieVersion::Http1_1);
    assert_eq!(k, "Set-Cookie2", "header key 1.1");
    assert_eq!(
        v, "Domain=ocaml.org; Max-Age=100; Path=/foo/bar; Version=1",
        "header value 1.1"
    );
}

/// Mirrors cohttp/test/test_header.ml "Valid Cookie"
#[test]
fn valid_cookie() {
    let (k, v) = CookieHdr::serialize([("foo", "bar"), ("a", "b")]);
    assert_eq!(k, "cookie", "key");
    assert_eq!(v, "foo=bar; a=b", "value");
    let h = Header::of_list([(k, v)]);
    assert_eq!(
        CookieHdr::extract(&h),
        cookies(&[("foo", "bar"), ("a", "b")]),
        "headers"
    );
}

/// Mirrors cohttp/test/test_header.ml "Cookie with ="
#[test]
fn cookie_with_eq_val() {
    let (k, v) = CookieHdr::serialize([("test", "me=")]);
    let h = Header::of_list([(k, v)]);
    assert_eq!(
        CookieHdr::extract(&h),
        cookies(&[("test", "me=")]),
        "cookie_with_eq_val"
    );
}

/// Mirrors cohttp/test/test_header.ml "Ignores empty cookie"
#[test]
fn ignores_empty_cookie() {
    let (k, v) = CookieHdr::serialize([("foo", "bar")]);
    // An invalid empty component in front.
    let h = Header::of_list([(k, format!("; {v}"))]);
    assert_eq!(CookieHdr::extract(&h), cookies(&[("foo", "bar")]), "cookie");
}
