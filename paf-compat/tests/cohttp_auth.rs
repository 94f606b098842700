//! The authorization cases of CoHTTP's tests, ported: `cohttp/test/test_header.ml`
//! ("Auth" suite) and `cohttp/test/test_request.ml` ("Auth" suite).

use paf_compat::auth::Credential;
use paf_compat::Header;

/// Mirrors cohttp/test/test_header.ml "Valid Auth"
#[test]
fn valid_auth() {
    let auth = Credential::Basic("Aladdin".into(), "open sesame".into());
    let h = Header::init().add_authorization(&auth);
    assert_eq!(
        h.get("authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        "valid_auth 1"
    );
    assert_eq!(h.get_authorization(), Some(auth), "valid_auth 2");
}

/// Mirrors cohttp/test/test_request.ml "header has auth"
#[test]
fn header_has_auth() {
    let h = Header::init().add_authorization(&Credential::Basic("qux".into(), "qwerty".into()));
    assert!(h.get_authorization().is_some(), "Test header has auth");
}

/// Mirrors cohttp/test/test_request.ml "from URI": `Request.make` turns the
/// user info of `http://foo:bar%2525@ocaml.org` into `Basic ("foo", "bar%25")`
/// and that credential must survive the `authorization` field.
#[test]
fn auth_uri() {
    let from_uri = Credential::Basic("foo".into(), "bar%25".into());
    let h = Header::init().add_authorization(&from_uri);
    assert_eq!(h.get_authorization(), Some(from_uri), "auth_uri");
}
