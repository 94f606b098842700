//! The body-framing cases of CoHTTP's tests, ported, at the header level
//! where CoHTTP goes through `Request.make`/`Response.make`:
//! `cohttp/test/test_request.ml` ("Encoding"), `cohttp/test/test_response.ml`
//! ("Encoding"), `cohttp-lwt-unix/test/test_parser.ml` and
//! `cohttp-lwt-unix/test/test_sanity.ml`.

use paf_compat::transfer::{self, Encoding};
use paf_compat::Header;

/// Mirrors cohttp/test/test_request.ml "from content-length header"
#[test]
fn encoding_content_length_header() {
    let h = Header::of_list([("content-length", "100")]);
    assert_eq!(
        h.get_transfer_encoding(),
        Encoding::Fixed(100),
        "body encoding determined by content-length header"
    );
}

/// Mirrors cohttp/test/test_request.ml "from transfer-encoding header"
#[test]
fn encoding_transfer_encoding_header() {
    let h = Header::of_list([("transfer-encoding", "chunked")]);
    assert_eq!(
        h.get_transfer_encoding(),
        Encoding::Chunked,
        "body encoding determined by transfer-encoding header"
    );
}

/// Mirrors cohttp/test/test_request.ml "with both headers"
#[test]
fn encoding_both_headers() {
    let h = Header::of_list([("transfer-encoding", "chunked"), ("content-length", "100")]);
    assert_eq!(
        h.get_transfer_encoding(),
        Encoding::Chunked,
        "body encoding with content-length and transfer-encoding headers."
    );
}

/// Mirrors cohttp/test/test_request.ml "from both optional argument and
/// headers": `Request.make ~encoding:Chunked` adds the encoding with
/// `Header.add_transfer_encoding`, which keeps an existing content-length.
#[test]
fn encoding_header_opt_argument() {
    let h = Header::of_list([("content-length", "100")]).add_transfer_encoding(Encoding::Chunked);
    assert_eq!(
        h.get_transfer_encoding(),
        Encoding::Fixed(100),
        "body encoding with content-length and transfer-encoding headers."
    );
}

/// Mirrors cohttp/test/test_response.ml "explicit encoding" and "from
/// headers"
#[test]
fn response_encoding_explicit_or_from_headers() {
    let explicit = Header::init().add_transfer_encoding(Encoding::Fixed(5));
    assert_eq!(
        transfer::string_of_encoding(&explicit.get_transfer_encoding()),
        transfer::string_of_encoding(&Encoding::Fixed(5)),
        "explicit encoding is used"
    );
    let from_headers = Header::of_list([("content-length", "42")]);
    assert_eq!(
        from_headers.get_transfer_encoding(),
        Encoding::Fixed(42),
        "encoding taken from supplied headers"
    );
}

/// Mirrors cohttp-lwt-unix/test/test_parser.ml "post_chunked_parse" (the
/// encoding of a request with `Transfer-Encoding: chunked`, printed)
#[test]
fn chunked_request_encoding_prints_chunked() {
    let h = Header::of_list([
        ("Date", "Fri, 31 Dec 1999 23:59:59 GMT"),
        ("Content-Type", "text/plain"),
        ("Transfer-Encoding", "chunked"),
    ]);
    assert_eq!(
        transfer::string_of_encoding(&h.get_transfer_encoding()),
        "chunked"
    );
}

/// Mirrors cohttp-lwt-unix/test/test_sanity.ml (the server's
/// `Header.add_transfer_encoding (Header.init ()) Transfer.Chunked`)
#[test]
fn add_chunked_to_empty_headers() {
    let h = Header::init().add_transfer_encoding(Encoding::Chunked);
    assert_eq!(
        h.to_list(),
        vec![("transfer-encoding".to_owned(), "chunked".to_owned())]
    );
}
