//! Opt-in decoding of compressed response bodies (`Content-Encoding`), one
//! implementation for every engine.
//!
//! paf decodes nothing unless asked, as CoHTTP does: the engines' own
//! decompression stays off and a client asks for it with a set of
//! [`Codings`]. Then, for each request, [`prepare`] adds an
//! `Accept-Encoding` naming those codings and the returned [`Plan`]
//! decodes the response: the body becomes the decoded stream, and
//! `Content-Encoding`, `Content-Length` and the digests of the encoded bytes
//! (`Content-MD5`, `Digest`, `Content-Digest`, `Repr-Digest`) are removed.
//! The original `Content-Encoding` stays readable in the response's
//! [`Decoded`] extension.
//!
//! | coding | token | feature of paf-core |
//! |---|---|---|
//! | [`Coding::Gzip`] | `gzip` (and `x-gzip`) | `gzip` |
//! | [`Coding::Deflate`] | `deflate`: zlib-wrapped (RFC 9110) or, as browsers accept, raw | `deflate` |
//! | [`Coding::Brotli`] | `br` | `brotli` |
//! | [`Coding::Zstd`] | `zstd` | `zstd` |
//!
//! A coding whose feature is off is neither asked for nor decoded: such a
//! response comes back as it was sent, `Content-Encoding` kept, never an
//! error. So does one with a coding paf does not know (`compress`), or one
//! not asked for.
//!
//! # Rules
//! - **The caller's own `Accept-Encoding` wins**: a request that carries one
//!   negotiates for itself and gets the body as sent ([`prepare`] neither
//!   adds the header nor decodes), as Go's `net/http` does. reqwest and
//!   tower-http decode whatever was asked. Requests with `Range` and `HEAD`
//!   requests are left alone too (a range of an encoded body cannot be
//!   decoded by itself).
//! - **Left alone**: responses to `HEAD`, `1xx`, `204`, `206` and `304`, and
//!   bodies known to be empty. A streamed body that turns out empty decodes
//!   to an empty body.
//! - **Stacked codings** (`Content-Encoding: gzip, br`, applied in that
//!   order) are decoded right to left when every one is asked for; at most
//!   [`MAX_STACKED`] of them.
//! - **Streaming**: each chunk read decodes at most 32 KiB, however large the
//!   body: memory stays flat for a body of any size.
//! - **Caps apply to decoded bytes**: [`Body::to_bytes`] and
//!   [`blocking::Body::read_to_bytes`] count what the decoder gives, so a
//!   small body that inflates past the cap (a decompression bomb) fails with
//!   [`Error::BodyTooLarge`].
//! - **Errors are typed**: a corrupt body, one that ends before its coding
//!   says it is complete (a gzip stream without its trailer), or one with
//!   bytes after the end fails the read with [`Error::Body`] whose source is
//!   a [`DecodeError`] ([`DecodeError::find`]); nothing is silently cut.
//!   Through [`std::io::Read`] it is an [`std::io::Error`] carrying that
//!   [`Error`] ([`Error::from_io`] gets it back).
//!
//! ```
//! use http::{header, Request, Response};
//! use paf_core::{decompress::{self, Coding, Codings}, Body};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Every coding this build of paf-core has (the `gzip`, `deflate`,
//! // `brotli`, `zstd` features).
//! let codings = Codings::all();
//!
//! let mut request = Request::get("http://example.com/").body(Body::empty())?;
//! let plan = decompress::prepare(&mut request, codings);
//! assert_eq!(
//!     request.headers().get(header::ACCEPT_ENCODING),
//!     decompress::accept_encoding(codings).as_ref(),
//! );
//!
//! // What a server sends back: "hello" through `gzip -n`.
//! const HELLO_GZ: &[u8] = &[
//!     0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 7, 0,
//!     0x86, 0xa6, 0x10, 0x36, 5, 0, 0, 0,
//! ];
//! let response = Response::builder()
//!     .header(header::CONTENT_ENCODING, "gzip")
//!     .header(header::CONTENT_LENGTH, HELLO_GZ.len())
//!     .body(Body::from(HELLO_GZ))?;
//! let response = plan.decode(response);
//!
//! if codings.contains(Coding::Gzip) {
//!     assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
//!     assert!(response.extensions().get::<decompress::Decoded>().is_some());
//!     assert_eq!(response.into_body().to_string(1024).await?, "hello");
//! } else {
//!     // Without the `gzip` feature the body is left as it came.
//!     assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
//! }
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
//! ```

use std::{fmt, io};

use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};

use crate::{blocking, Body, Error};

/// The most codings decoded in a stack (`Content-Encoding: gzip, br`…), as
/// curl allows; a response with more is left as it came.
pub const MAX_STACKED: usize = 5;

/// One content coding paf can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Coding {
    /// `gzip` (and its old name `x-gzip`): RFC 1952.
    Gzip,
    /// `deflate`: a zlib stream (RFC 1950) as RFC 9110 says, or a raw
    /// deflate stream (RFC 1951) as some servers send and browsers accept;
    /// told apart by the zlib header.
    Deflate,
    /// `br`: Brotli, RFC 7932.
    Brotli,
    /// `zstd`: Zstandard, RFC 8878.
    Zstd,
}

impl Coding {
    const EVERY: [Coding; 4] = [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd];

    /// The token in `Content-Encoding` and `Accept-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The coding a `Content-Encoding` token names, in any case; `x-gzip`
    /// is gzip. `None` for others (`identity` included).
    pub fn from_token(token: &str) -> Option<Coding> {
        let token = token.trim();
        Coding::EVERY
            .into_iter()
            .find(|c| token.eq_ignore_ascii_case(c.token()))
            .or_else(|| token.eq_ignore_ascii_case("x-gzip").then_some(Coding::Gzip))
    }

    /// True when this build of paf-core decodes the coding (its feature is
    /// on).
    pub fn is_available(self) -> bool {
        match self {
            Coding::Gzip => cfg!(feature = "gzip"),
            Coding::Deflate => cfg!(feature = "deflate"),
            Coding::Brotli => cfg!(feature = "brotli"),
            Coding::Zstd => cfg!(feature = "zstd"),
        }
    }

    fn bit(self) -> u8 {
        match self {
            Coding::Gzip => 1,
            Coding::Deflate => 2,
            Coding::Brotli => 4,
            Coding::Zstd => 8,
        }
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// The codings a client asks for and decodes: a small set. Holds only
/// codings this build has ([`Coding::is_available`]).
///
/// ```
/// use paf_core::decompress::{Coding, Codings};
/// assert!(Codings::none().is_empty());
/// let gzip = Codings::none().with(Coding::Gzip);
/// assert_eq!(gzip.contains(Coding::Gzip), cfg!(feature = "gzip"));
/// assert!(!Codings::all().without(Coding::Gzip).contains(Coding::Gzip));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Codings(u8);

impl Codings {
    /// No coding: nothing is asked for or decoded (paf's default).
    pub const fn none() -> Self {
        Codings(0)
    }

    /// Every coding this build of paf-core decodes.
    pub fn all() -> Self {
        Coding::EVERY
            .into_iter()
            .fold(Codings::none(), |set, c| set.with(c))
    }

    /// The set with `coding` added; unchanged when this build cannot decode
    /// it (its feature is off).
    pub fn with(self, coding: Coding) -> Self {
        if coding.is_available() {
            Codings(self.0 | coding.bit())
        } else {
            self
        }
    }

    /// The set without `coding`.
    pub fn without(self, coding: Coding) -> Self {
        Codings(self.0 & !coding.bit())
    }

    /// True when the set holds `coding`.
    pub fn contains(self, coding: Coding) -> bool {
        self.0 & coding.bit() != 0
    }

    /// True for the empty set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The codings in the set, in the order `Accept-Encoding` lists them.
    pub fn iter(self) -> impl Iterator<Item = Coding> {
        Coding::EVERY.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Coding> for Codings {
    fn from_iter<I: IntoIterator<Item = Coding>>(iter: I) -> Self {
        iter.into_iter().fold(Codings::none(), Codings::with)
    }
}

impl fmt::Debug for Codings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for Codings {
    /// The `Accept-Encoding` text: `gzip, deflate, br, zstd` for all.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, coding) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(coding.token())?;
        }
        Ok(())
    }
}

/// The `Accept-Encoding` value that asks for `codings` (`gzip, deflate, br,
/// zstd` for all of them); `None` for none, when no header is to be sent.
pub fn accept_encoding(codings: Codings) -> Option<HeaderValue> {
    if codings.is_empty() {
        return None;
    }
    HeaderValue::from_str(&codings.to_string()).ok()
}

/// Gets a request ready for decompression: adds `Accept-Encoding` for
/// `codings` and returns the [`Plan`] that decodes its response.
///
/// Nothing is added and the plan decodes nothing when `codings` is empty,
/// when the request already has an `Accept-Encoding` (the caller negotiates
/// and decodes for itself) or a `Range`, and for `HEAD`.
///
/// A client calls it once for each request it sends (each redirect hop
/// too), on the request as the caller made it, where it goes out: called
/// again on a request it already prepared, it would take its own header
/// for the caller's and decode nothing.
pub fn prepare<B>(request: &mut Request<B>, codings: Codings) -> Plan {
    let headers = request.headers();
    if codings.is_empty()
        || request.method() == Method::HEAD
        || headers.contains_key(header::ACCEPT_ENCODING)
        || headers.contains_key(header::RANGE)
    {
        return Plan::default();
    }
    let Some(value) = accept_encoding(codings) else {
        return Plan::default();
    };
    request.headers_mut().insert(header::ACCEPT_ENCODING, value);
    Plan { codings }
}

/// What to decode in the response to one request, from [`prepare`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use = "the plan decodes the response: pass it the response"]
pub struct Plan {
    codings: Codings,
}

impl Plan {
    /// The codings the response may be decoded from (none when the request
    /// is left alone).
    pub fn codings(&self) -> Codings {
        self.codings
    }

    /// The response with its body decoded, as [`decode_response`] does.
    pub fn decode(self, response: Response<Body>) -> Response<Body> {
        // Nothing asked for (the default): the response as it is, not even
        // taken apart.
        if self.codings.is_empty() {
            return response;
        }
        decode_response(response, self.codings)
    }

    /// The blocking twin of [`Plan::decode`].
    pub fn decode_blocking(self, response: Response<blocking::Body>) -> Response<blocking::Body> {
        if self.codings.is_empty() {
            return response;
        }
        decode_blocking_response(response, self.codings)
    }
}

/// Put in the extensions of a response whose body was decoded: what its
/// `Content-Encoding` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    content_encoding: HeaderValue,
}

impl Decoded {
    /// The removed `Content-Encoding` (its values joined with `, ` when it
    /// came in several lines).
    pub fn content_encoding(&self) -> &HeaderValue {
        &self.content_encoding
    }
}

/// Decodes a response whose `Content-Encoding` names codings all in
/// `codings`: the body becomes the decoded stream, and `Content-Encoding`,
/// `Content-Length`, `Content-MD5`, `Digest`, `Content-Digest` and
/// `Repr-Digest` are removed. Other responses come back unchanged: see
/// [the rules](self#rules). The body is decoded as it is read, not here.
///
/// It does not know the request: the caller leaves responses to `HEAD`
/// alone (or uses [`prepare`]'s [`Plan`], which does).
pub fn decode_response(response: Response<Body>, codings: Codings) -> Response<Body> {
    decode_with(response, codings, Body::is_empty, codec::decode_body)
}

/// The blocking twin of [`decode_response`], for
/// [`blocking::Body`]: the decoded body is a reader of unknown length.
pub fn decode_blocking_response(
    response: Response<blocking::Body>,
    codings: Codings,
) -> Response<blocking::Body> {
    decode_with(
        response,
        codings,
        blocking::Body::is_empty,
        codec::decode_reader,
    )
}

/// What [`decode_response`] and [`decode_blocking_response`] do, for a
/// body type that `decode` wraps in the decoder of one coding.
fn decode_with<B>(
    response: Response<B>,
    codings: Codings,
    is_empty: impl Fn(&B) -> bool,
    decode: impl Fn(B, Coding) -> B,
) -> Response<B> {
    let (mut parts, body) = response.into_parts();
    let Some(chain) = chain(parts.status, &parts.headers, is_empty(&body), codings) else {
        return Response::from_parts(parts, body);
    };
    let body = chain
        .codings()
        .iter()
        .rev()
        .fold(body, |body, coding| decode(body, *coding));
    finish_head(&mut parts.headers, &mut parts.extensions, chain.text);
    Response::from_parts(parts, body)
}

/// The codings of a response to decode, in the order they were applied.
struct Chain {
    codings: [Coding; MAX_STACKED],
    len: usize,
    text: HeaderValue,
}

impl Chain {
    fn codings(&self) -> &[Coding] {
        &self.codings[..self.len]
    }
}

/// What to decode, or `None` to leave the response alone.
fn chain(status: StatusCode, headers: &HeaderMap, empty: bool, codings: Codings) -> Option<Chain> {
    if codings.is_empty()
        || empty
        || status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
        )
    {
        return None;
    }
    let mut chain = Chain {
        codings: [Coding::Gzip; MAX_STACKED],
        len: 0,
        text: HeaderValue::from_static(""),
    };
    let mut text = String::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value.to_str().ok()?;
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(value.trim());
        for token in value.split(',').map(str::trim) {
            if token.is_empty() || token.eq_ignore_ascii_case("identity") {
                continue;
            }
            let coding = Coding::from_token(token).filter(|c| codings.contains(*c))?;
            *chain.codings.get_mut(chain.len)? = coding;
            chain.len += 1;
        }
    }
    if chain.len == 0 {
        return None;
    }
    chain.text = HeaderValue::from_str(&text).ok()?;
    Some(chain)
}

/// The head of a decoded response: no more length, coding or digest of the
/// encoded bytes; the coding kept in [`Decoded`].
fn finish_head(headers: &mut HeaderMap, extensions: &mut http::Extensions, text: HeaderValue) {
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    for name in ["content-md5", "digest", "content-digest", "repr-digest"] {
        headers.remove(HeaderName::from_static(name));
    }
    extensions.insert(Decoded {
        content_encoding: text,
    });
}

/// Why a body could not be decoded: the source of the [`Error::Body`] a
/// read fails with.
#[derive(Debug)]
pub struct DecodeError {
    coding: Coding,
    kind: DecodeErrorKind,
    source: Option<io::Error>,
}

/// What was wrong with an encoded body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The bytes are not valid for the coding (bad header, bad data, a
    /// checksum that does not match).
    Corrupt,
    /// The body ended before the coding's end of stream (a gzip stream
    /// without its trailer, a cut brotli stream).
    Truncated,
    /// Bytes came after the end of the coding's stream.
    TrailingData,
}

impl DecodeError {
    /// The coding that failed.
    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// What was wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// True when the body ended early.
    pub fn is_truncated(&self) -> bool {
        self.kind == DecodeErrorKind::Truncated
    }

    /// The decoding error inside a paf error, if it is one: for a body read
    /// that failed with [`Error::Body`].
    pub fn find(err: &Error) -> Option<&DecodeError> {
        match err {
            Error::Body { source } => source.downcast_ref::<DecodeError>(),
            _ => None,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let coding = self.coding;
        match self.kind {
            DecodeErrorKind::Corrupt => write!(f, "corrupt {coding} body"),
            DecodeErrorKind::Truncated => {
                write!(f, "{coding} body ends before its end of stream (truncated)")
            }
            DecodeErrorKind::TrailingData => {
                write!(f, "data after the end of the {coding} stream")
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Without any codec feature nothing is ever decoded: [`chain`] finds no
/// coding in an empty set of available ones.
#[cfg(not(any(
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
)))]
mod codec {
    use super::Coding;
    use crate::{blocking, Body};

    pub(super) fn decode_body(body: Body, _: Coding) -> Body {
        body
    }

    pub(super) fn decode_reader(body: blocking::Body, _: Coding) -> blocking::Body {
        body
    }
}

/// The decoders: one push decoder ([`Core`]) per coding, driven by the
/// async body ([`DecodeBody`]) and by the blocking reader
/// ([`DecodeReader`]) alike, so both decode the same way.
#[cfg(any(
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
))]
mod codec {
    use std::{
        io::{self, Read},
        pin::Pin,
        task::{ready, Context, Poll},
    };

    use bytes::{Buf, Bytes, BytesMut};
    use compression_codecs::{
        core::util::{PartialBuffer, WriteBuffer},
        DecodeV2,
    };
    use http::HeaderMap;
    use http_body::{Frame, SizeHint};

    use super::{Coding, DecodeError, DecodeErrorKind};
    use crate::{blocking, Body, Error};

    /// The most decoded bytes one read gives: what bounds memory.
    const OUT_CHUNK: usize = 32 * 1024;
    /// A fresh output buffer is taken when less than this is left.
    const OUT_MIN: usize = 4 * 1024;
    /// How much of a blocking body is read at a time.
    const IN_CHUNK: usize = 16 * 1024;

    type Codec = Box<dyn DecodeV2 + Send + Sync>;

    pub(super) fn decode_body(body: Body, coding: Coding) -> Body {
        Body::wrap(DecodeBody {
            inner: body,
            core: Core::new(coding),
            input: Bytes::new(),
            out: BytesMut::new(),
            trailers: None,
            eof: false,
            done: false,
        })
    }

    pub(super) fn decode_reader(body: blocking::Body, coding: Coding) -> blocking::Body {
        let reader = DecodeReader {
            inner: body,
            core: Core::new(coding),
            buf: vec![0; IN_CHUNK].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            done: false,
        };
        blocking::Body::from_reader(reader, None)
    }

    fn new_codec(coding: Coding, zlib: bool) -> Codec {
        match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Box::new(compression_codecs::GzipDecoder::new()),
            #[cfg(feature = "deflate")]
            Coding::Deflate if zlib => Box::new(compression_codecs::ZlibDecoder::new()),
            #[cfg(feature = "deflate")]
            Coding::Deflate => Box::new(compression_codecs::DeflateDecoder::new()),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Box::new(compression_codecs::BrotliDecoder::new()),
            #[cfg(feature = "zstd")]
            Coding::Zstd => Box::new(compression_codecs::ZstdDecoder::new()),
            // Never reached: `Codings` holds only codings that are built.
            #[cfg(not(all(
                feature = "gzip",
                feature = "deflate",
                feature = "brotli",
                feature = "zstd"
            )))]
            _ => {
                let _ = zlib;
                Box::new(Unavailable)
            }
        }
    }

    /// The decoder of a coding that is not built (never made: see
    /// [`new_codec`]); it fails every call.
    #[cfg(not(all(
        feature = "gzip",
        feature = "deflate",
        feature = "brotli",
        feature = "zstd"
    )))]
    struct Unavailable;

    #[cfg(not(all(
        feature = "gzip",
        feature = "deflate",
        feature = "brotli",
        feature = "zstd"
    )))]
    impl DecodeV2 for Unavailable {
        fn reinit(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::Unsupported.into())
        }
        fn decode(
            &mut self,
            _: &mut PartialBuffer<&[u8]>,
            _: &mut WriteBuffer<'_>,
        ) -> io::Result<bool> {
            Err(io::ErrorKind::Unsupported.into())
        }
        fn flush(&mut self, _: &mut WriteBuffer<'_>) -> io::Result<bool> {
            Err(io::ErrorKind::Unsupported.into())
        }
        fn finish(&mut self, _: &mut WriteBuffer<'_>) -> io::Result<bool> {
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    impl DecodeError {
        fn new(coding: Coding, kind: DecodeErrorKind, source: Option<io::Error>) -> Self {
            DecodeError {
                coding,
                kind,
                source,
            }
        }

        /// As the paf error a body read fails with.
        fn into_error(self) -> Error {
            Error::Body {
                source: Box::new(self),
            }
        }

        /// As the I/O error a [`std::io::Read`] fails with: it carries the paf
        /// error, which [`Error::from_io`] gets back.
        fn into_io(self) -> io::Error {
            let kind = match self.kind {
                DecodeErrorKind::Truncated => io::ErrorKind::UnexpectedEof,
                _ => io::ErrorKind::InvalidData,
            };
            io::Error::new(kind, self.into_error())
        }
    }

    /// A zlib header (RFC 1950): deflate method, a window of at most 32 KiB,
    /// and the check bits.
    fn is_zlib_header(cmf: u8, flg: u8) -> bool {
        cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum State {
        /// No byte seen yet (for deflate: fewer than the two that tell zlib
        /// from raw deflate).
        Start,
        Decoding,
        /// The codec saw the end of its stream; its last bytes are flushed.
        Flushing,
        /// Between two gzip members or zstd frames.
        Next,
        Done,
    }

    /// A push decoder for one coding: bytes in, decoded bytes out, with the
    /// end of the input checked against the end of the coding's stream.
    pub(super) struct Core {
        coding: Coding,
        codec: Codec,
        state: State,
        /// The first bytes of a deflate body, kept to pick the decoder and
        /// then fed to it.
        head: [u8; 2],
        head_len: usize,
        head_fed: usize,
        /// The last call filled the output: the codec may hold more.
        pending: bool,
        /// What failed: every later call fails the same way.
        failed: Option<DecodeErrorKind>,
    }

    impl Core {
        fn new(coding: Coding) -> Self {
            Core {
                coding,
                codec: new_codec(coding, true),
                state: State::Start,
                head: [0; 2],
                head_len: 0,
                head_fed: 0,
                pending: false,
                failed: None,
            }
        }

        /// Decodes what it can of `input` into `output`; returns when the
        /// input is used up or the output is full.
        fn decode(
            &mut self,
            input: &mut PartialBuffer<&[u8]>,
            output: &mut WriteBuffer<'_>,
        ) -> Result<(), DecodeError> {
            self.check()?;
            let result = self.run(input, output);
            self.failed = result.as_ref().err().map(DecodeError::kind);
            result
        }

        /// At the end of the input: gives out the last bytes. `Ok(true)` once
        /// all were given and the stream was complete; `Ok(false)` when the
        /// output filled first (call again).
        fn finish(&mut self, output: &mut WriteBuffer<'_>) -> Result<bool, DecodeError> {
            self.check()?;
            let result = self.run_finish(output);
            self.failed = result.as_ref().err().map(DecodeError::kind);
            result
        }

        /// A decoder that failed stays failed: a reader that goes on never
        /// sees a clean end.
        fn check(&self) -> Result<(), DecodeError> {
            match self.failed {
                Some(kind) => Err(self.error(kind, None)),
                None => Ok(()),
            }
        }

        /// Gzip members and zstd frames may follow one another.
        fn multiple_members(&self) -> bool {
            matches!(self.coding, Coding::Gzip | Coding::Zstd)
        }

        fn error(&self, kind: DecodeErrorKind, source: Option<io::Error>) -> DecodeError {
            DecodeError::new(self.coding, kind, source)
        }

        fn corrupt(&self, source: io::Error) -> DecodeError {
            self.error(DecodeErrorKind::Corrupt, Some(source))
        }

        /// True when a call without new input may still give bytes.
        fn pending(&self) -> bool {
            self.pending || self.head_fed < self.head_len
        }

        fn run(
            &mut self,
            input: &mut PartialBuffer<&[u8]>,
            output: &mut WriteBuffer<'_>,
        ) -> Result<(), DecodeError> {
            loop {
                if output.has_no_spare_space() {
                    self.pending = true;
                    return Ok(());
                }
                match self.state {
                    State::Start => {
                        if input.unwritten().is_empty() {
                            return Ok(());
                        }
                        if self.coding == Coding::Deflate {
                            let n = (self.head.len() - self.head_len).min(input.unwritten().len());
                            self.head[self.head_len..self.head_len + n]
                                .copy_from_slice(&input.unwritten()[..n]);
                            input.advance(n);
                            self.head_len += n;
                            if self.head_len < self.head.len() {
                                return Ok(());
                            }
                            if !is_zlib_header(self.head[0], self.head[1]) {
                                self.codec = new_codec(Coding::Deflate, false);
                            }
                        }
                        self.state = State::Decoding;
                    }
                    State::Decoding => {
                        let from_head = self.head_fed < self.head_len;
                        let before_out = output.written_len();
                        if !from_head && input.unwritten().is_empty() {
                            if !self.pending {
                                return Ok(());
                            }
                            // Give out what the codec holds.
                            self.pending = false;
                            match self.codec.decode(&mut PartialBuffer::new(&[][..]), output) {
                                Ok(true) => self.state = State::Flushing,
                                Ok(false) if output.written_len() == before_out => return Ok(()),
                                Ok(false) => {}
                                // Without input, zlib says "needs input" as
                                // an error (a buffer error), after giving
                                // what it held. A real fault shows again
                                // with the next input or at the end.
                                Err(_) => {
                                    self.pending = output.has_no_spare_space();
                                    return Ok(());
                                }
                            }
                            continue;
                        }
                        let (result, used) = if from_head {
                            let mut head =
                                PartialBuffer::new(&self.head[self.head_fed..self.head_len]);
                            let result = self.codec.decode(&mut head, output);
                            self.head_fed += head.written_len();
                            (result, head.written_len())
                        } else {
                            let before_in = input.written_len();
                            let result = self.codec.decode(input, output);
                            (result, input.written_len() - before_in)
                        };
                        match result {
                            Ok(true) => self.state = State::Flushing,
                            Ok(false) => {
                                if used == 0
                                    && output.written_len() == before_out
                                    && !output.has_no_spare_space()
                                {
                                    return Err(self.corrupt(io::Error::other(
                                        "the decoder takes no more input",
                                    )));
                                }
                            }
                            Err(e) => return Err(self.corrupt(e)),
                        }
                    }
                    State::Flushing => {
                        let before = output.written_len();
                        match self.codec.finish(output) {
                            Ok(true) if self.multiple_members() => {
                                self.codec.reinit().map_err(|e| self.corrupt(e))?;
                                self.state = State::Next;
                            }
                            Ok(true) => self.state = State::Done,
                            Ok(false) => {
                                if output.written_len() == before && !output.has_no_spare_space() {
                                    return Err(self.error(DecodeErrorKind::Truncated, None));
                                }
                            }
                            Err(e) => return Err(self.corrupt(e)),
                        }
                    }
                    State::Next => {
                        if input.unwritten().is_empty() {
                            return Ok(());
                        }
                        self.state = State::Decoding;
                    }
                    State::Done => {
                        if input.unwritten().is_empty() {
                            return Ok(());
                        }
                        return Err(self.error(DecodeErrorKind::TrailingData, None));
                    }
                }
            }
        }

        fn run_finish(&mut self, output: &mut WriteBuffer<'_>) -> Result<bool, DecodeError> {
            loop {
                self.run(&mut PartialBuffer::new(&[][..]), output)?;
                if output.has_no_spare_space() {
                    return Ok(false);
                }
                match self.state {
                    // An empty body is an empty body, whatever its coding.
                    State::Start if self.head_len == 0 => {
                        self.state = State::Done;
                        return Ok(true);
                    }
                    State::Decoding => {
                        let before = output.written_len();
                        match self.codec.finish(output) {
                            Ok(true) => {
                                self.state = State::Done;
                                return Ok(true);
                            }
                            Ok(false) if output.written_len() > before => continue,
                            Ok(false) => {
                                return Err(self.error(DecodeErrorKind::Truncated, None));
                            }
                            Err(e) => return Err(self.error(DecodeErrorKind::Truncated, Some(e))),
                        }
                    }
                    State::Next | State::Done => {
                        self.state = State::Done;
                        return Ok(true);
                    }
                    // A deflate body of one byte; `Flushing` is left by
                    // `decode` unless the output is full.
                    State::Start | State::Flushing => {
                        return Err(self.error(DecodeErrorKind::Truncated, None));
                    }
                }
            }
        }
    }

    /// An async body decoded as it is read.
    struct DecodeBody {
        inner: Body,
        core: Core,
        /// The rest of the last frame read.
        input: Bytes,
        /// Room for decoded bytes; each frame given out is split off it.
        out: BytesMut,
        trailers: Option<HeaderMap>,
        /// The inner body has ended.
        eof: bool,
        /// The decoded body has ended (or failed).
        done: bool,
    }

    impl http_body::Body for DecodeBody {
        type Data = Bytes;
        type Error = Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
            let this = self.get_mut();
            loop {
                if this.done {
                    return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
                }
                if !this.input.is_empty() || this.eof || this.core.pending() {
                    if this.out.len() < OUT_MIN {
                        this.out = BytesMut::zeroed(OUT_CHUNK);
                    }
                    let mut output = WriteBuffer::new_initialized(&mut this.out[..]);
                    let mut input = PartialBuffer::new(&this.input[..]);
                    let result = if this.eof && this.input.is_empty() {
                        this.core.finish(&mut output).map(|done| this.done = done)
                    } else {
                        this.core.decode(&mut input, &mut output)
                    };
                    let (used, written) = (input.written_len(), output.written_len());
                    this.input.advance(used);
                    if let Err(e) = result {
                        return Poll::Ready(Some(Err(e.into_error())));
                    }
                    if written > 0 {
                        let data = this.out.split_to(written).freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    if !this.input.is_empty() || this.eof {
                        continue;
                    }
                }
                match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => this.input = data,
                        Err(frame) => {
                            // Trailers come last: the input is over.
                            this.trailers = frame.into_trailers().ok();
                            this.eof = true;
                        }
                    },
                    // The inner body says what comes after its error.
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    None => this.eof = true,
                }
            }
        }

        fn is_end_stream(&self) -> bool {
            self.done && self.trailers.is_none()
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::default()
        }
    }

    /// A blocking body decoded as it is read.
    struct DecodeReader {
        inner: blocking::Body,
        core: Core,
        buf: Box<[u8]>,
        /// `buf[pos..len]` is read and not yet decoded.
        pos: usize,
        len: usize,
        eof: bool,
        done: bool,
    }

    impl Read for DecodeReader {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if out.is_empty() || self.done {
                return Ok(0);
            }
            loop {
                if self.pos < self.len || self.eof || self.core.pending() {
                    let mut output = WriteBuffer::new_initialized(out);
                    let result = if self.eof && self.pos == self.len {
                        self.core.finish(&mut output).map(|done| self.done = done)
                    } else {
                        let mut input = PartialBuffer::new(&self.buf[self.pos..self.len]);
                        let result = self.core.decode(&mut input, &mut output);
                        self.pos += input.written_len();
                        result
                    };
                    if let Err(e) = result {
                        return Err(e.into_io());
                    }
                    let written = output.written_len();
                    if written > 0 || self.done {
                        return Ok(written);
                    }
                    if self.pos < self.len || self.eof {
                        continue;
                    }
                }
                match self.inner.read(&mut self.buf) {
                    Ok(0) => self.eof = true,
                    Ok(n) => (self.pos, self.len) = (0, n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // A read that timed out may be tried again.
                    Err(e) => return Err(e),
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn zlib_headers_are_told_from_raw_deflate() {
            // zlib's own headers for every level.
            for flg in [0x01, 0x5e, 0x9c, 0xda] {
                assert!(is_zlib_header(0x78, flg));
            }
            // Raw deflate: a final fixed block, a stored block.
            assert!(!is_zlib_header(0xf3, 0x48));
            assert!(!is_zlib_header(0x01, 0x05));
            // Window over 32 KiB, or a bad check.
            assert!(!is_zlib_header(0x88, 0x98));
            assert!(!is_zlib_header(0x78, 0x9d));
        }

        #[cfg(feature = "gzip")]
        #[test]
        fn core_gives_bytes_through_a_one_byte_output() {
            // "hello" through `gzip -n`.
            const HELLO_GZ: &[u8] = &[
                0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 7, 0, 0x86, 0xa6,
                0x10, 0x36, 5, 0, 0, 0,
            ];
            let mut core = Core::new(Coding::Gzip);
            let mut decoded = Vec::new();
            let mut byte = [0u8; 1];
            // Input a byte at a time, output a byte at a time.
            for b in HELLO_GZ.chunks(1) {
                let mut input = PartialBuffer::new(b);
                while !input.unwritten().is_empty() || core.pending() {
                    let mut output = WriteBuffer::new_initialized(&mut byte);
                    core.decode(&mut input, &mut output).expect("decodes");
                    decoded.extend_from_slice(output.written());
                    if output.written_len() == 0 && input.unwritten().is_empty() {
                        break;
                    }
                }
            }
            loop {
                let mut output = WriteBuffer::new_initialized(&mut byte);
                let done = core.finish(&mut output).expect("complete");
                decoded.extend_from_slice(output.written());
                if done {
                    break;
                }
            }
            assert_eq!(decoded, b"hello");
        }

        #[test]
        fn empty_input_is_an_empty_body_but_one_deflate_byte_is_cut() {
            let mut byte = [0u8; 16];
            for coding in super::super::Codings::all().iter() {
                let mut core = Core::new(coding);
                let mut output = WriteBuffer::new_initialized(&mut byte);
                assert!(core.finish(&mut output).expect("empty is fine"));
                assert_eq!(output.written_len(), 0);
            }
            #[cfg(feature = "deflate")]
            {
                let mut core = Core::new(Coding::Deflate);
                let mut output = WriteBuffer::new_initialized(&mut byte);
                core.decode(&mut PartialBuffer::new(&[0x78u8][..]), &mut output)
                    .expect("one byte is not yet wrong");
                let err = core.finish(&mut output).expect_err("one byte is cut");
                assert!(err.is_truncated());
            }
        }
    }
}
