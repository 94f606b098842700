//! Response decompression (`paf_core::decompress`): each coding, stacks,
//! pass-through, broken bodies, caps, streaming, and the blocking twin.
//!
//! The bodies are encoded in the test with the codecs paf decodes with,
//! plus a few fixed ones made by the `gzip`, `zstd` and zlib tools.
//! Without any codec feature only the pass-through tests run.
#![cfg_attr(
    not(any(
        feature = "gzip",
        feature = "deflate",
        feature = "brotli",
        feature = "zstd"
    )),
    allow(dead_code, unused_imports)
)]

use std::io::Read;

use bytes::Bytes;
use futures_util::stream;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use paf_core::{
    blocking,
    decompress::{self, Coding, Codings, DecodeError, DecodeErrorKind, Decoded},
    Body, Error,
};

const TEXT: &[u8] = b"Hello from paf, decoded by paf.\n";

/// `TEXT` through `gzip -9 -n`.
const TEXT_GZIP: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x57,
    0x48, 0x2b, 0xca, 0xcf, 0x55, 0x28, 0x48, 0x4c, 0xd3, 0x51, 0x48, 0x49, 0x4d, 0xce, 0x4f, 0x49,
    0x4d, 0x51, 0x48, 0xaa, 0x04, 0xf1, 0xf5, 0xb8, 0x00, 0x05, 0xcc, 0xe1, 0x72, 0x20, 0x00, 0x00,
    0x00,
];
/// `TEXT` through zlib's `compress(…, 9)`.
const TEXT_ZLIB: &[u8] = &[
    0x78, 0xda, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0x2b, 0xca, 0xcf, 0x55, 0x28, 0x48, 0x4c,
    0xd3, 0x51, 0x48, 0x49, 0x4d, 0xce, 0x4f, 0x49, 0x4d, 0x51, 0x48, 0xaa, 0x04, 0xf1, 0xf5, 0xb8,
    0x00, 0xb9, 0x74, 0x0a, 0xbe,
];
/// `TEXT` through zlib's raw deflate (window bits -15).
const TEXT_RAW_DEFLATE: &[u8] = &[
    0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0x2b, 0xca, 0xcf, 0x55, 0x28, 0x48, 0x4c, 0xd3, 0x51,
    0x48, 0x49, 0x4d, 0xce, 0x4f, 0x49, 0x4d, 0x51, 0x48, 0xaa, 0x04, 0xf1, 0xf5, 0xb8, 0x00,
];
/// `TEXT` through `zstd -19`.
const TEXT_ZSTD: &[u8] = &[
    0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x20, 0x01, 0x01, 0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x66,
    0x72, 0x6f, 0x6d, 0x20, 0x70, 0x61, 0x66, 0x2c, 0x20, 0x64, 0x65, 0x63, 0x6f, 0x64, 0x65, 0x64,
    0x20, 0x62, 0x79, 0x20, 0x70, 0x61, 0x66, 0x2e, 0x0a, 0x0d, 0xe1, 0xb9, 0xc3,
];

const LIMIT: usize = 64 << 20;

/// Encoders from the codec crate paf decodes with.
#[cfg(any(
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
))]
mod enc {
    use compression_codecs::{
        core::{
            util::{PartialBuffer, WriteBuffer},
            Level,
        },
        EncodeV2,
    };

    use paf_core::decompress::Coding;

    /// How deflate is framed.
    #[derive(Clone, Copy)]
    pub(crate) enum Flavour {
        Zlib,
        #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
        Raw,
    }

    pub(crate) fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
        encode_as(coding, Flavour::Zlib, data)
    }

    pub(crate) fn encode_as(coding: Coding, flavour: Flavour, data: &[u8]) -> Vec<u8> {
        encode_repeated(coding, flavour, data, 1)
    }

    /// `data` repeated `times` times, encoded without holding it all.
    pub(crate) fn encode_repeated(
        coding: Coding,
        flavour: Flavour,
        data: &[u8],
        times: usize,
    ) -> Vec<u8> {
        let _ = (Level::Fastest, flavour);
        let mut encoder: Box<dyn EncodeV2> = match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Box::new(compression_codecs::GzipEncoder::new(Level::Fastest.into())),
            #[cfg(feature = "deflate")]
            Coding::Deflate => match flavour {
                Flavour::Zlib => {
                    Box::new(compression_codecs::ZlibEncoder::new(Level::Fastest.into()))
                }
                Flavour::Raw => Box::new(compression_codecs::DeflateEncoder::new(
                    Level::Fastest.into(),
                )),
            },
            #[cfg(feature = "brotli")]
            Coding::Brotli => Box::new(compression_codecs::BrotliEncoder::new(
                compression_codecs::brotli::params::EncoderParams::default()
                    .quality(Level::Fastest),
            )),
            #[cfg(feature = "zstd")]
            Coding::Zstd => Box::new(compression_codecs::ZstdEncoder::new(1)),
            other => panic!("{other} is not built"),
        };
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..times {
            let mut input = PartialBuffer::new(data);
            while !input.unwritten().is_empty() {
                let mut output = WriteBuffer::new_initialized(&mut buf);
                encoder.encode(&mut input, &mut output).expect("encodes");
                out.extend_from_slice(output.written());
            }
        }
        loop {
            let mut output = WriteBuffer::new_initialized(&mut buf);
            let done = encoder.finish(&mut output).expect("finishes");
            out.extend_from_slice(output.written());
            if done {
                return out;
            }
        }
    }
}

fn encoded_response(encoding: &str, body: Body) -> Response<Body> {
    let len = body.len();
    let mut builder = Response::builder().header(header::CONTENT_ENCODING, encoding);
    if let Some(len) = len {
        builder = builder.header(header::CONTENT_LENGTH, len);
    }
    builder.body(body).expect("response")
}

fn blocking_response(encoding: &str, bytes: Vec<u8>) -> Response<blocking::Body> {
    Response::builder()
        .header(header::CONTENT_ENCODING, encoding)
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(blocking::Body::from(bytes))
        .expect("response")
}

/// A body streamed in frames of `size` bytes.
fn chunked(bytes: &[u8], size: usize) -> Body {
    let frames: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(stream::iter(frames))
}

/// A reader that gives at most `size` bytes a read.
struct Trickle<R>(R, usize);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

async fn decoded(encoding: &str, body: Body) -> Result<Bytes, Error> {
    let response = decompress::decode_response(encoded_response(encoding, body), Codings::all());
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    response.into_body().to_bytes(LIMIT).await
}

fn decoded_blocking(encoding: &str, bytes: Vec<u8>) -> Result<Bytes, Error> {
    let response =
        decompress::decode_blocking_response(blocking_response(encoding, bytes), Codings::all());
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    response.into_body().read_to_bytes(LIMIT)
}

/// The error of a read that must fail (without printing a body that did not).
#[track_caller]
fn failed(result: Result<Bytes, Error>, what: &str) -> Error {
    match result {
        Ok(bytes) => panic!("{what}: decoded {} bytes instead of failing", bytes.len()),
        Err(e) => e,
    }
}

fn decode_error(err: &Error) -> &DecodeError {
    DecodeError::find(err).unwrap_or_else(|| panic!("not a decoding error: {err:?}"))
}

/// Some text that compresses, of `len` bytes.
fn sample(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"paf decodes what it asked for; "[i % 31] ^ (i / 4096) as u8)
        .collect()
}

#[test]
fn accept_encoding_names_the_built_codings() {
    assert_eq!(decompress::accept_encoding(Codings::none()), None);
    let expected: Vec<&str> = [
        (Coding::Gzip, cfg!(feature = "gzip")),
        (Coding::Deflate, cfg!(feature = "deflate")),
        (Coding::Brotli, cfg!(feature = "brotli")),
        (Coding::Zstd, cfg!(feature = "zstd")),
    ]
    .into_iter()
    .filter(|(_, built)| *built)
    .map(|(c, _)| c.token())
    .collect();
    let value = decompress::accept_encoding(Codings::all());
    assert_eq!(
        value.as_ref().map(|v| v.to_str().expect("ascii")),
        (!expected.is_empty())
            .then(|| expected.join(", "))
            .as_deref()
    );
    if cfg!(all(
        feature = "gzip",
        feature = "deflate",
        feature = "brotli",
        feature = "zstd"
    )) {
        assert_eq!(
            value.expect("all built"),
            HeaderValue::from_static("gzip, deflate, br, zstd")
        );
    }
    assert_eq!(Coding::from_token(" X-GZIP "), Some(Coding::Gzip));
    assert_eq!(Coding::from_token("BR"), Some(Coding::Brotli));
    assert_eq!(Coding::from_token("identity"), None);
    assert_eq!(Coding::from_token("compress"), None);
}

#[test]
fn prepare_leaves_the_callers_own_negotiation_alone() {
    let codings = Codings::all();
    let get = || Request::get("http://a/").body(()).expect("request");

    let mut request = get();
    let plan = decompress::prepare(&mut request, codings);
    assert_eq!(plan.codings(), codings);
    assert_eq!(
        request.headers().get(header::ACCEPT_ENCODING),
        decompress::accept_encoding(codings).as_ref()
    );

    // The caller's own Accept-Encoding: kept, and nothing decoded.
    let mut request = get();
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    let plan = decompress::prepare(&mut request, codings);
    assert!(plan.codings().is_empty());
    assert_eq!(request.headers()[header::ACCEPT_ENCODING], "gzip");

    // Ranges and HEAD: no header, nothing decoded.
    let mut request = get();
    request
        .headers_mut()
        .insert(header::RANGE, HeaderValue::from_static("bytes=0-9"));
    assert!(decompress::prepare(&mut request, codings)
        .codings()
        .is_empty());
    assert!(request.headers().get(header::ACCEPT_ENCODING).is_none());
    let mut request = get();
    *request.method_mut() = Method::HEAD;
    assert!(decompress::prepare(&mut request, codings)
        .codings()
        .is_empty());
    assert!(request.headers().get(header::ACCEPT_ENCODING).is_none());

    // Off (the default): nothing added.
    let mut request = get();
    assert!(decompress::prepare(&mut request, Codings::none())
        .codings()
        .is_empty());
    assert!(request.headers().is_empty());
}

#[tokio::test]
async fn unknown_or_unasked_codings_pass_through_untouched() {
    for encoding in ["compress", "gzip, compress", "identity", "exi"] {
        let response = decompress::decode_response(
            encoded_response(encoding, Body::from(TEXT_GZIP)),
            Codings::all(),
        );
        assert_eq!(response.headers()[header::CONTENT_ENCODING], encoding);
        assert_eq!(
            response.headers()[header::CONTENT_LENGTH],
            TEXT_GZIP.len().to_string().as_str()
        );
        assert!(response.extensions().get::<Decoded>().is_none());
        assert_eq!(
            response.into_body().to_bytes(LIMIT).await.expect("raw"),
            TEXT_GZIP
        );
    }
    // Not asked for: the body is as sent.
    let response = decompress::decode_response(
        encoded_response("gzip", Body::from(TEXT_GZIP)),
        Codings::all().without(Coding::Gzip),
    );
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(
        response.into_body().to_bytes(LIMIT).await.expect("raw"),
        TEXT_GZIP
    );
    // More codings than paf stacks.
    let many = "gzip, gzip, gzip, gzip, gzip, gzip";
    let response = decompress::decode_response(
        encoded_response(many, Body::from(TEXT_GZIP)),
        Codings::all(),
    );
    assert_eq!(response.headers()[header::CONTENT_ENCODING], many);
}

#[tokio::test]
async fn head_204_304_and_empty_bodies_are_left_alone() {
    for status in [
        StatusCode::NO_CONTENT,
        StatusCode::NOT_MODIFIED,
        StatusCode::PARTIAL_CONTENT,
    ] {
        let mut sent = encoded_response("gzip", Body::from(TEXT_GZIP));
        *sent.status_mut() = status;
        let got = decompress::decode_response(sent, Codings::all());
        assert_eq!(got.headers()[header::CONTENT_ENCODING], "gzip");
        let mut sent = blocking_response("gzip", TEXT_GZIP.to_vec());
        *sent.status_mut() = status;
        let got = decompress::decode_blocking_response(sent, Codings::all());
        assert_eq!(got.headers()[header::CONTENT_ENCODING], "gzip");
    }
    // A response to HEAD: headers of the body a GET would get, no body.
    let mut request = Request::head("http://a/").body(()).expect("request");
    let plan = decompress::prepare(&mut request, Codings::all());
    let head = Response::builder()
        .header(header::CONTENT_ENCODING, "gzip")
        .header(header::CONTENT_LENGTH, "1234")
        .body(Body::from_stream(stream::empty::<Result<Bytes, Error>>()))
        .expect("response");
    let head = plan.decode(head);
    assert_eq!(head.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(head.headers()[header::CONTENT_LENGTH], "1234");
    // Known empty: left alone.
    let empty =
        decompress::decode_response(encoded_response("gzip", Body::empty()), Codings::all());
    assert_eq!(empty.headers()[header::CONTENT_ENCODING], "gzip");
    let empty =
        decompress::decode_blocking_response(blocking_response("gzip", Vec::new()), Codings::all());
    assert_eq!(empty.headers()[header::CONTENT_ENCODING], "gzip");
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn a_stream_that_turns_out_empty_decodes_to_nothing() {
    let body = Body::from_stream(stream::empty::<Result<Bytes, Error>>());
    assert_eq!(decoded("gzip", body).await.expect("empty"), "");
    let response = Response::builder()
        .header(header::CONTENT_ENCODING, "gzip")
        .body(blocking::Body::from_reader(std::io::empty(), None))
        .expect("response");
    let response = decompress::decode_blocking_response(response, Codings::all());
    assert_eq!(response.into_body().read_to_bytes(10).expect("empty"), "");
}

#[cfg(any(
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
))]
#[tokio::test]
async fn each_coding_round_trips_async_and_blocking() {
    let data = sample(300_000);
    for coding in Codings::all().iter() {
        let encoded = enc::encode(coding, &data);
        assert!(encoded.len() < data.len() / 4, "{coding} compresses");
        let token = coding.token();
        // In one piece, in 7-byte frames, in 64 KiB frames.
        for size in [encoded.len(), 7, 65536] {
            let got = decoded(token, chunked(&encoded, size))
                .await
                .unwrap_or_else(|e| panic!("{coding} in {size}-byte frames: {e:?}"));
            assert!(got == data, "{coding} in {size}-byte frames");
        }
        let got = decoded(token, Body::from(encoded.clone()))
            .await
            .expect("full body");
        assert!(got == data, "{coding} from a full body");
        let got = decoded_blocking(token, encoded.clone()).expect("blocking");
        assert!(got == data, "{coding} blocking");
        // A reader that gives 7 bytes at a time, read 3 bytes at a time.
        let mut decoded_body = decompress::decode_blocking_response(
            Response::builder()
                .header(header::CONTENT_ENCODING, token)
                .body(blocking::Body::from_reader(
                    Trickle(std::io::Cursor::new(encoded), 7),
                    None,
                ))
                .expect("response"),
            Codings::all(),
        )
        .into_body();
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = decoded_body.read(&mut buf).expect("reads");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got == data, "{coding} blocking in small reads");
    }
}

#[tokio::test]
async fn bodies_from_other_encoders_decode() {
    let fixtures: [(Coding, &str, &[u8]); 5] = [
        (Coding::Gzip, "gzip", TEXT_GZIP),
        (Coding::Gzip, "x-gzip", TEXT_GZIP),
        (Coding::Deflate, "deflate", TEXT_ZLIB),
        (Coding::Deflate, "Deflate", TEXT_RAW_DEFLATE),
        (Coding::Zstd, "zstd", TEXT_ZSTD),
    ];
    for (coding, token, bytes) in fixtures {
        if !coding.is_available() {
            continue;
        }
        for size in [1, 7, bytes.len()] {
            let got = decoded(token, chunked(bytes, size)).await.expect(token);
            assert_eq!(got, TEXT, "{token} in {size}-byte frames");
        }
        assert_eq!(decoded_blocking(token, bytes.to_vec()).expect(token), TEXT);
    }
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn raw_deflate_is_accepted_as_browsers_do() {
    let data = sample(100_000);
    let raw = enc::encode_as(Coding::Deflate, enc::Flavour::Raw, &data);
    for size in [1, 7, raw.len()] {
        assert!(decoded("deflate", chunked(&raw, size)).await.expect("raw") == data);
    }
    assert!(decoded_blocking("deflate", raw).expect("raw") == data);
}

#[cfg(all(feature = "gzip", feature = "brotli"))]
#[tokio::test]
async fn stacked_codings_decode_right_to_left() {
    let data = sample(50_000);
    // gzip applied first, then br: "gzip, br".
    let stacked = enc::encode(Coding::Brotli, &enc::encode(Coding::Gzip, &data));
    let response = decompress::decode_response(
        encoded_response("gzip, br", chunked(&stacked, 7)),
        Codings::all(),
    );
    assert_eq!(
        response
            .extensions()
            .get::<Decoded>()
            .expect("decoded")
            .content_encoding(),
        "gzip, br"
    );
    assert!(response.into_body().to_bytes(LIMIT).await.expect("stacked") == data);
    assert!(decoded_blocking("gzip, br", stacked.clone()).expect("stacked") == data);

    // The same as two header lines, with identity in between.
    let response = Response::builder()
        .header(header::CONTENT_ENCODING, "gzip")
        .header(header::CONTENT_ENCODING, "identity, br")
        .body(Body::from(stacked.clone()))
        .expect("response");
    let response = decompress::decode_response(response, Codings::all());
    assert!(
        response
            .into_body()
            .to_bytes(LIMIT)
            .await
            .expect("two lines")
            == data
    );

    // One coding not asked for: the whole stack is left as sent.
    let response = decompress::decode_response(
        encoded_response("gzip, br", Body::from(stacked.clone())),
        Codings::all().without(Coding::Gzip),
    );
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip, br");
    assert!(response.into_body().to_bytes(LIMIT).await.expect("raw") == stacked);
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn gzip_members_and_headers() {
    let data = sample(10_000);
    // Two members, one after the other: one body.
    let mut two = enc::encode(Coding::Gzip, &data[..4000]);
    two.extend(enc::encode(Coding::Gzip, &data[4000..]));
    assert!(decoded("gzip", chunked(&two, 7)).await.expect("members") == data);
    assert!(decoded_blocking("gzip", two).expect("members") == data);

    // The head is rewritten and the coding kept in `Decoded`.
    let sent = Response::builder()
        .header(header::CONTENT_ENCODING, "gzip")
        .header(header::CONTENT_LENGTH, TEXT_GZIP.len())
        .header("content-md5", "x")
        .header("content-digest", "sha-256=:x:")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::ETAG, "\"v1\"")
        .body(Body::from(TEXT_GZIP))
        .expect("response");
    let got = decompress::decode_response(sent, Codings::all());
    for gone in [
        "content-encoding",
        "content-length",
        "content-md5",
        "content-digest",
    ] {
        assert!(got.headers().get(gone).is_none(), "{gone} removed");
    }
    assert_eq!(got.headers()[header::CONTENT_TYPE], "text/plain");
    assert_eq!(got.headers()[header::ETAG], "\"v1\"");
    assert_eq!(
        got.extensions()
            .get::<Decoded>()
            .expect("decoded")
            .content_encoding(),
        "gzip"
    );
    assert_eq!(got.body().len(), None, "the decoded length is unknown");
    assert_eq!(got.into_body().to_bytes(100).await.expect("text"), TEXT);
}

#[cfg(any(
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
))]
#[tokio::test]
async fn corrupt_and_truncated_bodies_fail_typed() {
    let data = sample(40_000);
    for coding in Codings::all().iter() {
        let token = coding.token();
        let encoded = enc::encode(coding, &data);
        let what = |case: &str| format!("{coding}: {case}");

        // Cut short, at several places (the end of stream, the middle).
        for cut in [1, 4, encoded.len() / 2] {
            let short = &encoded[..encoded.len() - cut];
            let err = failed(decoded(token, chunked(short, 7)).await, &what("cut"));
            let decode = decode_error(&err);
            assert_eq!(decode.coding(), coding);
            // A cut mid-block may read as bad data first; the end of the
            // body always shows.
            assert!(
                decode.is_truncated() || decode.kind() == DecodeErrorKind::Corrupt,
                "{coding} cut by {cut}: {decode}"
            );
            let err = failed(decoded_blocking(token, short.to_vec()), &what("cut"));
            assert!(matches!(err, Error::Body { .. }), "{coding}: {err:?}");
            assert_eq!(decode_error(&err).coding(), coding);
        }
        // The last byte missing: truncated.
        let short = encoded[..encoded.len() - 1].to_vec();
        let err = failed(
            decoded(token, Body::from(short.clone())).await,
            &what("cut"),
        );
        assert!(decode_error(&err).is_truncated(), "{coding}: {err:?}");
        let err = failed(decoded_blocking(token, short), &what("cut"));
        assert!(decode_error(&err).is_truncated(), "{coding}: {err:?}");

        // Not the coding at all.
        let plain = &b"<html>plainly not compressed</html>"[..];
        let err = failed(decoded(token, Body::from(plain)).await, &what("plain"));
        assert_eq!(decode_error(&err).coding(), coding, "{err:?}");
        let err = failed(decoded_blocking(token, plain.to_vec()), &what("plain"));
        assert_eq!(decode_error(&err).coding(), coding, "{err:?}");

        // Bytes after the end of the stream.
        let mut trailing = encoded.clone();
        trailing.extend_from_slice(b"junk after the end");
        let err = failed(
            decoded(token, chunked(&trailing, 7)).await,
            &what("trailing"),
        );
        assert_eq!(decode_error(&err).coding(), coding);
        let err = failed(decoded_blocking(token, trailing), &what("trailing"));
        assert_eq!(decode_error(&err).coding(), coding);
    }
}

/// Bytes changed in the middle: caught by the checksums of gzip and zlib.
/// (Brotli has none, and zstd's is optional: a change there may decode to
/// other bytes, as the codings allow.)
#[cfg(any(feature = "gzip", feature = "deflate"))]
#[tokio::test]
async fn changed_bytes_fail_the_checksum() {
    let data = sample(40_000);
    for coding in [Coding::Gzip, Coding::Deflate] {
        if !coding.is_available() {
            continue;
        }
        let mut corrupt = enc::encode(coding, &data);
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0x01;
        let err = failed(
            decoded(coding.token(), chunked(&corrupt, 7)).await,
            "changed",
        );
        let decode = decode_error(&err);
        assert_eq!(
            decode.kind(),
            DecodeErrorKind::Corrupt,
            "{coding}: {decode}"
        );
        let err = failed(decoded_blocking(coding.token(), corrupt), "changed");
        assert_eq!(decode_error(&err).kind(), DecodeErrorKind::Corrupt);
    }
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn a_gzip_body_without_its_trailer_is_truncated() {
    let cut = &TEXT_GZIP[..TEXT_GZIP.len() - 8];
    for size in [1, 7, cut.len()] {
        let err = failed(decoded("gzip", chunked(cut, size)).await, "no trailer");
        let decode = decode_error(&err);
        assert!(decode.is_truncated(), "{decode}");
        assert_eq!(
            decode.to_string(),
            "gzip body ends before its end of stream (truncated)"
        );
    }
    // Through `Read`: an io::Error of kind UnexpectedEof carrying the paf error.
    let mut body = decompress::decode_blocking_response(
        blocking_response("gzip", cut.to_vec()),
        Codings::all(),
    )
    .into_body();
    let mut sink = Vec::new();
    let io = body.read_to_end(&mut sink).expect_err("no trailer");
    assert_eq!(io.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(decode_error(&Error::from_io(io)).is_truncated());
    // Reading on never shows a clean end.
    let again = body.read(&mut [0u8; 64]).expect_err("still failed");
    assert!(decode_error(&Error::from_io(again)).is_truncated());
    let mut body = decompress::decode_response(
        encoded_response("gzip", Body::from(cut.to_vec())),
        Codings::all(),
    )
    .into_body();
    while let Some(chunk) = body.chunk().await {
        if chunk.is_err() {
            break;
        }
    }
    let again = body.chunk().await.expect("not a clean end");
    assert!(decode_error(&again.expect_err("still failed")).is_truncated());
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn errors_of_the_inner_body_pass_through() {
    let encoded = enc::encode(Coding::Gzip, &sample(10_000));
    let frames = vec![
        Ok(Bytes::copy_from_slice(&encoded[..100])),
        Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
    ];
    let err = failed(
        decoded("gzip", Body::from_stream(stream::iter(frames))).await,
        "reset",
    );
    assert!(
        matches!(&err, Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{err:?}"
    );
}

#[cfg(any(
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
))]
#[tokio::test]
async fn the_cap_counts_decoded_bytes() {
    // 10 MiB of zeros: a few KiB encoded, over a 1 MiB cap decoded.
    let zeros = vec![0u8; 10 << 20];
    for coding in Codings::all().iter() {
        let encoded = enc::encode(coding, &zeros);
        assert!(
            encoded.len() < 64 << 10,
            "{coding}: {} bytes",
            encoded.len()
        );
        let response = decompress::decode_response(
            encoded_response(coding.token(), chunked(&encoded, 7)),
            Codings::all(),
        );
        let err = response
            .into_body()
            .to_bytes(1 << 20)
            .await
            .expect_err("over the cap");
        assert!(err.is_body_too_large(), "{coding}: {err:?}");
        let response = decompress::decode_blocking_response(
            blocking_response(coding.token(), encoded),
            Codings::all(),
        );
        let err = response
            .into_body()
            .read_to_bytes(1 << 20)
            .expect_err("over the cap");
        assert!(err.is_body_too_large(), "{coding} blocking: {err:?}");
    }
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn a_large_body_streams_in_bounded_chunks() {
    // 1 GiB of zeros (about 1 MiB of gzip), decoded a chunk at a time: no
    // chunk is over 32 KiB, so memory stays flat whatever the size.
    const SIZE: usize = 1 << 30;
    let mib = vec![0u8; 1 << 20];
    let encoded = enc::encode_repeated(Coding::Gzip, enc::Flavour::Zlib, &mib, SIZE >> 20);
    let encoded = Bytes::from(encoded);
    let frames: Vec<Result<Bytes, Error>> = (0..encoded.len())
        .step_by(16 << 10)
        .map(|at| Ok(encoded.slice(at..(at + (16 << 10)).min(encoded.len()))))
        .collect();
    let mut body = decompress::decode_response(
        encoded_response("gzip", Body::from_stream(stream::iter(frames))),
        Codings::all(),
    )
    .into_body();
    let (mut total, mut largest) = (0usize, 0usize);
    while let Some(chunk) = body.chunk().await {
        let chunk = chunk.expect("decodes");
        assert_eq!(chunk.first(), Some(&0));
        total += chunk.len();
        largest = largest.max(chunk.len());
    }
    assert_eq!(total, SIZE);
    assert!(largest <= 32 << 10, "largest chunk {largest}");
}

#[cfg(feature = "gzip")]
#[test]
fn plan_decodes_blocking_responses() {
    let mut request = Request::get("http://a/")
        .body(blocking::Body::empty())
        .expect("request");
    let plan = decompress::prepare(&mut request, Codings::none().with(Coding::Gzip));
    assert_eq!(request.headers()[header::ACCEPT_ENCODING], "gzip");
    let response = plan.decode_blocking(blocking_response("gzip", TEXT_GZIP.to_vec()));
    assert_eq!(
        response.into_body().read_to_string(100).expect("text"),
        "Hello from paf, decoded by paf.\n"
    );
}
