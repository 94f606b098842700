//! The cases of the `http` library's tests, ported: `http/test/test_request.ml`
//! (`requires_content_length`, `content_length`) and
//! `http/test/test_response.ml` (`requires_content_length`,
//! `content_length`), which CoHTTP's `Request` and `Response` answer too;
//! and the rules of `Request.make_for_client`, `supports_chunked_trailers`
//! and `add_te_trailers` (`cohttp/src/request.ml`, `http/src/http.ml`),
//! which CoHTTP has no test for.
#![allow(clippy::unwrap_used)]

use paf_compat::code::{Method, Status};
use paf_compat::transfer::Encoding;
use paf_compat::{Error, Header, Request, Response};

/// OCaml's `Request.make ~meth ?headers "p"`: a request for the resource
/// `p`.
fn request(meth: Method, headers: Option<Header>) -> Request {
    let builder = Request::builder("p".parse().unwrap()).meth(meth);
    match headers {
        Some(h) => builder.headers(h),
        None => builder,
    }
    .build()
}

fn without_body() -> [Method; 7] {
    [
        Method::Get,
        Method::Head,
        Method::Delete,
        Method::Options,
        Method::Trace,
        Method::Connect,
        Method::Other("h".into()),
    ]
}

/// Mirrors http/test/test_request.ml "requires_content_length": "Valid
/// meth" and "Invalid meth".
#[test]
fn request_requires_content_length_for_post_put_patch_only() {
    for meth in [Method::Post, Method::Put, Method::Patch] {
        assert!(
            request(meth.clone(), None).requires_content_length(),
            "{meth}"
        );
    }
    for meth in without_body() {
        assert!(
            !request(meth.clone(), None).requires_content_length(),
            "{meth}"
        );
    }
}

/// Mirrors http/test/test_request.ml "content_length": "Some
/// content_length", "None : Invalid content_length integer", "None :
/// Method".
#[test]
fn request_content_length() {
    let some = [
        (Method::Post, "0", 0),
        (Method::Put, "233", 233),
        (Method::Patch, "012345", 12345),
    ];
    for (meth, len, expected) in some {
        let headers = Header::of_list([("Content-Length", len)]);
        assert_eq!(
            request(meth, Some(headers)).content_length(),
            Some(expected),
            "{len}"
        );
    }
    for (meth, len) in [
        (Method::Post, "-1"),
        (Method::Put, "-233"),
        (Method::Patch, "abc"),
    ] {
        let headers = Header::of_list([("Content-Length", len)]);
        assert_eq!(request(meth, Some(headers)).content_length(), None, "{len}");
    }
    for meth in without_body() {
        assert_eq!(request(meth.clone(), None).content_length(), None, "{meth}");
        // A length the method does not need is not read.
        let headers = Header::of_list([("Content-Length", "5")]);
        assert_eq!(
            request(meth.clone(), Some(headers)).content_length(),
            None,
            "{meth}"
        );
    }
}

/// What OCaml's `int_of_string` reads and a `Content-Length` cannot hold.
#[test]
fn content_length_is_digits_only() {
    for len in ["+5", "0x10", "1_0", " 5", "", "99999999999999999999999"] {
        let headers = Header::of_list([("Content-Length", len)]);
        assert_eq!(
            request(Method::Post, Some(headers)).content_length(),
            None,
            "{len:?}"
        );
    }
}

/// Mirrors http/test/test_response.ml "requires_content_length":
/// "`No_content", "`Continue", "`OK", "Transport-Encoding: chunked".
#[test]
fn response_requires_content_length() {
    let status = |status| {
        Response::builder()
            .status(status)
            .encoding(Encoding::Fixed(0))
            .build()
    };
    assert!(!status(Status::NoContent).requires_content_length(None));
    assert!(!status(Status::Continue).requires_content_length(None));
    assert!(status(Status::Ok).requires_content_length(None));
    let chunked = Response::builder()
        .headers(Header::init().add("Transfer-Encoding", "chunked"))
        .build();
    assert!(!chunked.requires_content_length(None));
}

/// The `?request_meth` rule: a 2xx answering `CONNECT` has no length;
/// another status or method does.
#[test]
fn response_to_connect_requires_no_content_length() {
    let ok = Response::builder().encoding(Encoding::Fixed(0)).build();
    assert!(!ok.requires_content_length(Some(&Method::Connect)));
    assert!(ok.requires_content_length(Some(&Method::Get)));
    let refused = Response::builder()
        .status(Status::Forbidden)
        .encoding(Encoding::Fixed(0))
        .build();
    assert!(refused.requires_content_length(Some(&Method::Connect)));
}

/// Mirrors http/test/test_response.ml "content_length": "OK" and
/// "`No_content".
#[test]
fn response_content_length() {
    // `Http.Response.make` adds no framing: no encoding declared here.
    let ok = Response::builder()
        .status(Status::Ok)
        .headers(Header::init().add("Content-Length", "20"))
        .build();
    assert_eq!(ok.content_length(), Some(20));
    let no_content = Response::builder().status(Status::NoContent).build();
    assert_eq!(no_content.content_length(), None);
}

fn upload() -> http::Uri {
    "http://example.org/upload".parse().unwrap()
}

/// `Request.make_for_client`: `?chunked` and `?body_length` give the
/// encoding, as `cohttp/src/request.ml` matches them.
#[test]
fn make_for_client_declares_the_framing_its_arguments_give() {
    let build = |chunked: Option<bool>, length: Option<u64>| {
        let mut b = Request::make_for_client(Method::Post, upload());
        if let Some(c) = chunked {
            b = b.chunked(c);
        }
        if let Some(n) = length {
            b = b.body_length(n);
        }
        b.build()
    };
    let cases = [
        (Some(true), None, Encoding::Chunked),
        (None, Some(6), Encoding::Fixed(6)),
        (Some(false), Some(6), Encoding::Fixed(6)),
        (Some(false), None, Encoding::Unknown),
        (None, None, Encoding::Unknown),
    ];
    for (chunked, length, expected) in cases {
        let req = build(chunked, length).unwrap();
        assert_eq!(req.encoding(), expected, "{chunked:?} {length:?}");
        assert_eq!(req.meth(), &Method::Post);
        assert_eq!(req.resource(), "/upload");
        assert_eq!(req.headers().get("host"), Some("example.org"));
    }
    let err = build(Some(true), Some(6)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidArgument {
                function: "Request::make_for_client",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("chunked"), "{err}");
}

#[test]
fn make_for_client_keeps_given_headers_and_their_framing() {
    let req = Request::make_for_client(Method::Put, upload())
        .headers(Header::init_with("content-length", "3").add("x-a", "1"))
        .chunked(true)
        .absolute_form(true)
        .build()
        .unwrap();
    // Headers that declare a framing keep theirs, as with `Request.make`.
    assert_eq!(req.encoding(), Encoding::Fixed(3));
    assert_eq!(req.headers().get("x-a"), Some("1"));
    assert_eq!(req.resource(), "http://example.org/upload");
}

#[test]
fn add_te_trailers_makes_supports_chunked_trailers_true() {
    let req = Request::make(upload());
    assert!(!req.supports_chunked_trailers());
    let req = req.add_te_trailers();
    assert!(req.supports_chunked_trailers());
    assert_eq!(req.headers().get_multi("te"), vec!["trailers"]);
    assert_eq!(req.headers().get("connection"), Some("TE"));
    // CoHTTP compares the value whole.
    let listed = Request::builder(upload())
        .headers(Header::init_with("TE", "trailers, deflate"))
        .build();
    assert!(!listed.supports_chunked_trailers());
    let second = Request::builder(upload())
        .headers(Header::init_with("TE", "deflate").add("te", "trailers"))
        .build();
    assert!(second.supports_chunked_trailers());
}
