//! The `normalise` cases of CoHTTP's tests, ported: `cohttp/test/test_path.ml`
//! ("Check normalise"), against `paf_compat::path::normalise`, with
//! CoHTTP's answers, NUL and backslash included.
#![allow(clippy::unwrap_used)]

use paf_compat::{path, Uri};

/// Mirrors test_path.ml "Check normalise", every case.
#[test]
fn test_normalise() {
    let cases = [
        ("relative simple", "/foo/bar", "foo/bar"),
        ("relative dot", "/foo/./bar", "foo/bar"),
        (
            "relative grandparent blocked",
            "/../../etc/passwd",
            "etc/passwd",
        ),
        (
            "encoded slash traversal blocked",
            "/..%2f..%2fetc/passwd",
            "etc/passwd",
        ),
        (
            "absolute-form grandparent blocked",
            "http://host/../../etc/passwd",
            "etc/passwd",
        ),
        (
            "absolute-form deep grandparent blocked",
            "https://example.com/a/../../../../etc/shadow",
            "etc/shadow",
        ),
        ("root path empty", "/", ""),
        ("empty path", "", ""),
        ("trailing slash dropped", "/foo/bar/", "foo/bar"),
        ("encoded trailing slash dropped", "/foo/bar%2f", "foo/bar"),
        ("empty segments collapsed", "/foo//bar", "foo/bar"),
        (
            "encoded control preserved",
            "/sol%001.html",
            "sol\x001.html",
        ),
        (
            "plain slash separator",
            "/private/secret.txt",
            "private/secret.txt",
        ),
        (
            "backslash preserved, distinct from slash",
            "/private%5csecret.txt",
            "private\\secret.txt",
        ),
        (
            "encoded backslash traversal preserved verbatim",
            "/..%5c..%5cwindows",
            "..\\..\\windows",
        ),
    ];
    for (name, uri, expected) in cases {
        assert_eq!(path::normalise(&Uri::of_string(uri)), expected, "{name}");
    }
}

/// Percent-encoding is decoded once: what it spells after that is a name.
#[test]
fn normalise_decodes_once() {
    assert_eq!(
        path::normalise(&Uri::of_string("/..%252f..%252fbuzz")),
        "..%2f..%2fbuzz"
    );
    assert_eq!(path::normalise(&Uri::of_string("/a/%2e%2e/b")), "b");
    assert_eq!(
        path::normalise(&Uri::of_string("/caf%C3%A9.txt")),
        "café.txt"
    );
}

/// OCaml strings are bytes: `normalise_bytes` keeps what is not UTF-8, and
/// `normalise` writes it as U+FFFD.
#[test]
fn normalise_bytes_keeps_bytes_that_are_not_utf8() {
    let uri = Uri::of_string("/a%ffb/../c%fe");
    assert_eq!(path::normalise_bytes(&uri), b"c\xfe".to_vec());
    assert_eq!(path::normalise(&uri), "c\u{fffd}");
}
