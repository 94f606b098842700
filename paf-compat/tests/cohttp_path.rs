//! The path cases of CoHTTP's tests, ported: `cohttp/test/test_path.ml`
//! ("Check resolve_local_file"), against `server::resolve_local_file`.
//!
//! A `..` that stays inside the root is resolved as CoHTTP resolves it
//! (`/images/../buzz` is `buzz`). One deliberate difference: CoHTTP drops a
//! `..` that would climb above the root (`../buzz` under `/foo/bar/baz` is
//! `/foo/bar/baz/buzz`) and keeps a decoded NUL or backslash in the name;
//! paf-compat refuses those paths outright (`None`, which
//! `respond_file_under` answers with 404), so that a request that tries to
//! leave the root never reaches a file.
#![cfg(feature = "hyper")]

use std::path::PathBuf;

use paf_compat::server::resolve_local_file;

fn check(name: &str, docroot: &str, uri: &str, expected: Option<&str>) {
    assert_eq!(
        resolve_local_file(docroot, uri),
        expected.map(PathBuf::from),
        "{name}"
    );
}

/// Mirrors test_path.ml's accepted cases ("simple", "cwd", percent-encoded
/// names) with CoHTTP's expected paths.
#[test]
fn test_resolve_local_file_accepted() {
    let cases = [
        (
            "full URL simple",
            "/foo/bar/baz",
            "https://example.com/images/buzz",
            "/foo/bar/baz/images/buzz",
        ),
        (
            "full URL cwd",
            "/foo/bar/baz",
            "https://example.com/./buzz",
            "/foo/bar/baz/buzz",
        ),
        (
            "trailing-slash-docroot full URL simple",
            "/foo/bar/baz/",
            "https://example.com/images/buzz",
            "/foo/bar/baz/images/buzz",
        ),
        (
            "trailing-slash-docroot full URL cwd",
            "/foo/bar/baz/",
            "https://example.com/./buzz",
            "/foo/bar/baz/buzz",
        ),
        (
            "filepath simple",
            "/foo/bar/baz",
            "/images/buzz",
            "/foo/bar/baz/images/buzz",
        ),
        (
            "filepath cwd",
            "/foo/bar/baz",
            "./buzz",
            "/foo/bar/baz/buzz",
        ),
        (
            "trailing-slash-docroot filepath simple",
            "/foo/bar/baz/",
            "/images/buzz",
            "/foo/bar/baz/images/buzz",
        ),
        (
            "trailing-slash-docroot filepath cwd",
            "/foo/bar/baz/",
            "./buzz",
            "/foo/bar/baz/buzz",
        ),
        ("root-docroot simple", "/", "/images/buzz", "/images/buzz"),
        ("root-docroot cwd", "/", "./buzz", "/buzz"),
        ("blank-docroot simple", "", "/images/buzz", "images/buzz"),
        ("blank-docroot cwd", "", "./buzz", "buzz"),
        ("blank-docroot blank-path", "", "https://example.com", ""),
        ("blank-docroot blank-uri", "", "", ""),
        ("cwd-docroot simple", ".", "/images/buzz", "./images/buzz"),
        ("cwd-docroot cwd", ".", "./buzz", "./buzz"),
        ("cwd-docroot blank-path", ".", "https://example.com", "./"),
        ("cwd-docroot blank-uri", ".", "", "./"),
        (
            "double percent-encoded grandparent blocked",
            "/foo/bar/baz",
            "..%252f..%252fbuzz",
            "/foo/bar/baz/..%2f..%2fbuzz",
        ),
        (
            "double fully percent-encoded grandparent blocked",
            "/foo/bar/baz",
            "%252e%252e%252f%252e%252e%252fbuzz",
            "/foo/bar/baz/%2e%2e%2f%2e%2e%2fbuzz",
        ),
        (
            "triply percent-encoded grandparent blocked",
            "/foo/bar/baz",
            "..%25252f..%25252fbuzz",
            "/foo/bar/baz/..%252f..%252fbuzz",
        ),
        (
            "encoded space preserved",
            "/foo/bar/baz",
            "/my%20file.txt",
            "/foo/bar/baz/my file.txt",
        ),
        (
            "encoded utf8 preserved",
            "/foo/bar/baz",
            "/caf%C3%A9.txt",
            "/foo/bar/baz/café.txt",
        ),
        (
            "encoded newline preserved",
            "/foo/bar/baz",
            "/a%0ab.txt",
            "/foo/bar/baz/a\nb.txt",
        ),
        (
            "encoded DEL preserved",
            "/foo/bar/baz",
            "/a%7fb.txt",
            "/foo/bar/baz/a\x7fb.txt",
        ),
    ];
    for (name, docroot, uri, expected) in cases {
        check(name, docroot, uri, Some(expected));
    }
}

/// A `..` that stays inside the root goes up one segment, as CoHTTP's
/// resolution against `/` does.
#[test]
fn test_resolve_local_file_dot_dot_inside_the_root() {
    let cases = [
        (
            "parent inside",
            "/foo/bar/baz",
            "/images/../buzz",
            "/foo/bar/baz/buzz",
        ),
        (
            "two levels",
            "/foo/bar/baz",
            "/a/b/../../c",
            "/foo/bar/baz/c",
        ),
        (
            "full URL parent inside",
            "/foo/bar/baz",
            "https://example.com/images/../buzz",
            "/foo/bar/baz/buzz",
        ),
        ("encoded", "/foo/bar/baz", "/a/%2e%2e/b", "/foo/bar/baz/b"),
    ];
    for (name, docroot, uri, expected) in cases {
        check(name, docroot, uri, Some(expected));
    }
}

/// Mirrors test_path.ml's "parent blocked" and "grandparent blocked"
/// cases, and its NUL cases ("encoded NUL preserved", "encoded control
/// does not collapse onto plain name"): CoHTTP stays under the root by
/// dropping the `..` (or keeps the NUL); paf-compat refuses the path.
#[test]
fn test_resolve_local_file_refused() {
    let cases = [
        (
            "full URL parent blocked",
            "/foo/bar/baz",
            "https://example.com/../buzz",
        ),
        (
            "full URL grandparent blocked",
            "/foo/bar/baz",
            "https://example.com/../../buzz",
        ),
        (
            "trailing-slash-docroot full URL parent blocked",
            "/foo/bar/baz/",
            "https://example.com/../buzz",
        ),
        (
            "trailing-slash-docroot full URL grandparent blocked",
            "/foo/bar/baz/",
            "https://example.com/../../buzz",
        ),
        ("filepath parent blocked", "/foo/bar/baz", "../buzz"),
        ("filepath grandparent blocked", "/foo/bar/baz", "../../buzz"),
        (
            "trailing-slash-docroot filepath parent blocked",
            "/foo/bar/baz/",
            "../buzz",
        ),
        (
            "trailing-slash-docroot filepath grandparent blocked",
            "/foo/bar/baz/",
            "../../buzz",
        ),
        ("root-docroot grandparent blocked", "/", "../../buzz"),
        (
            "percent-encoded slash grandparent blocked",
            "/foo/bar/baz",
            "..%2f..%2fbuzz",
        ),
        (
            "fully percent-encoded grandparent blocked",
            "/foo/bar/baz",
            "%2e%2e%2f%2e%2e%2fbuzz",
        ),
        ("encoded NUL preserved", "/foo/bar/baz", "/secret%00.txt"),
        (
            "encoded control does not collapse onto plain name",
            "/foo/bar/baz",
            "/sol%001.html",
        ),
        (
            "encoded backslash traversal",
            "/foo/bar/baz",
            "/..%5c..%5cwindows",
        ),
    ];
    for (name, docroot, uri) in cases {
        check(name, docroot, uri, None);
    }
}
