//! The body cases of CoHTTP's tests, ported: `cohttp/test/test_body.ml`
//! (in-memory bodies) and `cohttp-lwt-unix/test/test_body.ml` (streams),
//! plus the per-form rules of `cohttp/src/body.ml` and
//! `cohttp-lwt/src/body.ml` (`length`, `transfer_encoding`, `map`,
//! `to_string_list`, `of_form`/`to_form`).
#![allow(clippy::unwrap_used)]

use futures_util::stream;
use paf_compat::transfer::Encoding;
use paf_compat::Body;

fn stream_of(chunks: &[&'static str]) -> Body {
    let chunks: Vec<_> = chunks.iter().map(|c| Ok::<_, std::io::Error>(*c)).collect();
    Body::of_stream(paf_compat::paf_core::Body::from_stream(stream::iter(
        chunks,
    )))
}

/// Mirrors cohttp/test/test_body.ml "Check if body is empty"
#[tokio::test]
async fn test_if_body_empty() {
    let cases = [
        ("empty string", Body::of_string(""), true),
        (
            "empty list of strings",
            Body::of_string_list(Vec::<String>::new()),
            true,
        ),
        (
            "list of strings with empty bytes",
            Body::of_string_list(["", "", ""]),
            true,
        ),
        (
            "non empty list of strings",
            Body::of_string_list(["", "foo", "bar"]),
            false,
        ),
    ];
    for (name, mut body, expected) in cases {
        assert_eq!(body.is_empty().await.unwrap(), expected, "{name}");
    }
}

/// Mirrors cohttp-lwt-unix/test/test_body.ml "Empty stream"
#[tokio::test]
async fn test_empty_body() {
    assert!(stream_of(&[]).is_empty().await.unwrap());
}

/// Mirrors cohttp-lwt-unix/test/test_body.ml "Non empty stream"
#[tokio::test]
async fn test_non_empty_stream() {
    assert!(!stream_of(&["foo", "bar"]).is_empty().await.unwrap());
}

/// Mirrors cohttp-lwt-unix/test/test_body.ml "Stream with leading empty
/// strings": `is_empty` consumes the leading empty chunks only.
#[tokio::test]
async fn test_stream_with_leading_empty_strings() {
    let mut body = stream_of(&["", "", "foo", "", "bar"]);
    assert!(!body.is_empty().await.unwrap());
    assert_eq!(
        body.to_string_list().await.unwrap(),
        vec!["foo", "", "bar"],
        "is_empty should consume leading spaces"
    );
}

/// Mirrors cohttp-lwt-unix/test/test_body.ml "Stream with empty strings"
#[tokio::test]
async fn test_stream_empty_strings() {
    assert!(stream_of(&["", "", ""]).is_empty().await.unwrap());
}

/// cohttp/src/body.ml `length` and `transfer_encoding`: `Empty` is
/// `Fixed 0`, a string its length, a list of strings the sum of theirs
/// but `Chunked`.
#[tokio::test]
async fn length_and_transfer_encoding_by_form() {
    let cases = [
        (Body::empty(), 0, Encoding::Fixed(0)),
        (Body::of_string("hello"), 5, Encoding::Fixed(5)),
        (Body::of_string_list(["ab", "cde"]), 5, Encoding::Chunked),
    ];
    for (body, len, encoding) in cases {
        assert_eq!(body.transfer_encoding(), encoding);
        let (measured, body) = body.length(1024).await.unwrap();
        assert_eq!(measured, len);
        assert_eq!(body.to_string().await.unwrap().len() as u64, len);
    }
}

/// cohttp-lwt/src/body.ml `length` of a stream: the stream is read, and
/// the body to use afterwards is the string read.
#[tokio::test]
async fn length_of_a_stream_reads_it_into_a_string() {
    let body = stream_of(&["ab", "cde"]);
    assert_eq!(body.transfer_encoding(), Encoding::Chunked);
    let (len, body) = body.length(1024).await.unwrap();
    assert_eq!(len, 5);
    assert_eq!(body.transfer_encoding(), Encoding::Fixed(5));
    assert_eq!(body.to_string().await.unwrap(), "abcde");
}

/// cohttp/src/body.ml `to_string_list`: `Empty` is `[]`, a string `[s]`, a
/// list itself.
#[tokio::test]
async fn to_string_list_by_form() {
    assert!(Body::empty().to_string_list().await.unwrap().is_empty());
    assert_eq!(
        Body::of_string("s").to_string_list().await.unwrap(),
        vec!["s"]
    );
    assert_eq!(
        Body::of_string_list(["a", "", "b"])
            .to_string_list()
            .await
            .unwrap(),
        vec!["a", "", "b"]
    );
    assert_eq!(
        stream_of(&["x", "y"]).to_string_list().await.unwrap(),
        vec!["x", "y"]
    );
}

/// cohttp/src/body.ml and cohttp-lwt/src/body.ml `map`: applied to the
/// string, to each string, to each chunk; `Empty` stays empty.
#[tokio::test]
async fn map_by_form() {
    let upper = |c: bytes::Bytes| bytes::Bytes::from(c.to_ascii_uppercase());
    assert_eq!(
        Body::of_string("ab").map(upper).to_string().await.unwrap(),
        "AB"
    );
    assert_eq!(
        Body::of_string_list(["a", "b"])
            .map(upper)
            .to_string_list()
            .await
            .unwrap(),
        vec!["A", "B"]
    );
    assert_eq!(
        stream_of(&["a", "b"])
            .map(upper)
            .to_string_list()
            .await
            .unwrap(),
        vec!["A", "B"]
    );
    let mut mapped = Body::empty().map(|_| bytes::Bytes::from_static(b"never"));
    assert!(mapped.is_empty().await.unwrap());
}

/// cohttp/src/body.ml `of_form`/`to_form` (ocaml-uri's query encoding): a
/// key's values are joined by commas and read back apart.
#[tokio::test]
async fn form_round_trip() {
    let params = vec![
        ("a".to_string(), vec!["1".to_string(), "2".to_string()]),
        ("b c".to_string(), vec!["d&e".to_string()]),
    ];
    let body = Body::of_form(params.clone());
    let form = body.to_form().await.unwrap();
    assert_eq!(form, params);
    assert_eq!(
        Body::of_form([("a", ["1", "2"])])
            .to_string()
            .await
            .unwrap(),
        "a=1,2"
    );
}

/// The cap CoHTTP does not have: reading past it is the typed
/// body-too-large error, for in-memory forms and streams alike.
#[tokio::test]
async fn reading_past_the_cap_is_body_too_large() {
    for body in [Body::of_string("abcdef"), stream_of(&["abc", "def"])] {
        let err = body.to_string_with_limit(5).await.unwrap_err();
        assert!(
            err.as_http().is_some_and(|e| e.is_body_too_large()),
            "{err:?}"
        );
    }
}

/// A body read as text that is not UTF-8 says so, and keeps the bytes.
#[tokio::test]
async fn to_string_of_bytes_that_are_not_utf8_says_not_utf8() {
    for body in [
        Body::of_bytes(&b"ok \xff\xfe"[..]),
        Body::of_stream(paf_compat::paf_core::Body::from(&b"ok \xff\xfe"[..])),
    ] {
        let err = body.to_string().await.unwrap_err();
        assert!(err.is_not_utf8(), "{err:?}");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        let paf_compat::Error::BodyNotUtf8 { offset, source } = err else {
            unreachable!("checked above")
        };
        assert_eq!(offset, 3);
        assert_eq!(source.into_bytes(), b"ok \xff\xfe");
    }
    let err = Body::of_string_list(["fine"])
        .map(|_| bytes::Bytes::from_static(b"\xc3"))
        .to_string_list()
        .await
        .unwrap_err();
    assert!(err.is_not_utf8(), "{err:?}");
}

/// cohttp-lwt's `Body.write_body`: one call per string, chunk or list
/// item, in order, none for the empty body (as `test_parser.ml` writes
/// `Body.of_string "foobar"` through `write_body`).
#[tokio::test]
async fn write_body_calls_the_writer_once_per_chunk_in_order() {
    async fn written(body: Body) -> Vec<String> {
        let mut out = Vec::new();
        body.write_body(|chunk| {
            out.push(String::from_utf8_lossy(&chunk).into_owned());
            async { Ok::<_, paf_compat::Error>(()) }
        })
        .await
        .unwrap();
        out
    }
    assert_eq!(written(Body::of_string("foobar")).await, ["foobar"]);
    assert_eq!(
        written(Body::of_string_list(["a", "b", "c"])).await,
        ["a", "b", "c"]
    );
    assert_eq!(written(stream_of(&["x", "y"])).await, ["x", "y"]);
    assert!(written(Body::empty()).await.is_empty());
}

#[tokio::test]
async fn write_body_stops_at_the_first_error_of_the_writer_or_the_stream() {
    let mut calls = 0;
    let err = Body::of_string_list(["a", "b", "c"])
        .write_body(|chunk| {
            calls += 1;
            async move {
                match &chunk[..] {
                    b"b" => Err(paf_compat::Error::BackendDisabled { backend: "test" }),
                    _ => Ok(()),
                }
            }
        })
        .await
        .unwrap_err();
    assert!(err.is_backend_disabled(), "{err:?}");
    assert_eq!(calls, 2);

    let failing = paf_compat::paf_core::Body::from_stream(stream::iter([
        Ok(bytes::Bytes::from_static(b"first")),
        Err(std::io::Error::other("the peer went away")),
    ]));
    let mut seen = Vec::new();
    let err = Body::of_stream(failing)
        .write_body(|chunk| {
            seen.push(chunk);
            async { Ok::<_, paf_compat::Error>(()) }
        })
        .await
        .unwrap_err();
    assert_eq!(seen, ["first"]);
    assert!(err.as_http().is_some(), "{err:?}");
}

/// cohttp-lwt's `Body.create_stream`: chunks until `Done`, the data of a
/// `Final_chunk` last, and `fn` not called after it.
#[tokio::test]
async fn create_stream_reads_until_done_or_the_final_chunk() {
    use std::sync::{Arc, Mutex};

    use paf_compat::body::create_stream;
    use paf_compat::transfer::Chunk;

    /// A reader that hands out `chunks` in order and counts the calls.
    fn reader(chunks: Vec<Chunk>) -> Arc<Mutex<(Vec<Chunk>, usize)>> {
        let mut chunks = chunks;
        chunks.reverse();
        Arc::new(Mutex::new((chunks, 0)))
    }
    async fn read_body_chunk(
        reader: Arc<Mutex<(Vec<Chunk>, usize)>>,
    ) -> Result<Chunk, std::io::Error> {
        let mut state = reader.lock().unwrap();
        state.1 += 1;
        Ok(state.0.pop().unwrap_or(Chunk::Done))
    }

    let chunk = |s: &str| Chunk::Chunk(s.as_bytes().to_vec());
    let r = reader(vec![chunk("ab"), chunk("cd"), Chunk::Done, chunk("never")]);
    let body = Body::of_stream(create_stream(read_body_chunk, r.clone()));
    assert_eq!(body.to_string_list().await.unwrap(), ["ab", "cd"]);
    assert_eq!(r.lock().unwrap().1, 3);

    let r = reader(vec![
        chunk("ab"),
        Chunk::FinalChunk(b"end".to_vec()),
        chunk("never"),
    ]);
    let body = Body::of_stream(create_stream(read_body_chunk, r.clone()));
    assert_eq!(body.transfer_encoding(), Encoding::Chunked);
    assert_eq!(body.to_string().await.unwrap(), "abend");
    assert_eq!(r.lock().unwrap().1, 2, "no call after the final chunk");

    let failing = |_: ()| async { Err::<Chunk, _>(std::io::Error::other("reader broke")) };
    let err = Body::of_stream(create_stream(failing, ()))
        .to_string()
        .await
        .unwrap_err();
    assert!(err.as_http().is_some(), "{err:?}");
}
