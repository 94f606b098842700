//! CoHTTP's `Cohttp_lwt.Body`: a message body that is empty, a string, a
//! list of strings, or a stream read as it arrives.
//!
//! The three in-memory forms behave as CoHTTP's; a stream is a
//! [`paf_core::Body`], which is what the client hands back and the server
//! hands to the callback. Reading a stream into memory always has a cap
//! ([`DEFAULT_LIMIT`] unless told), where CoHTTP has none. The same forms
//! back `blocking::Body` (feature `ureq`), whose stream is a
//! [`paf_core::blocking::Body`].

use std::fmt;

use bytes::{Bytes, BytesMut};
use futures_util::{stream, StreamExt};

use crate::transfer::Encoding;
use crate::{form, Error};

/// The cap of [`Body::to_string`] and the other readers without a `limit`
/// argument: 16 MiB.
pub const DEFAULT_LIMIT: usize = 16 << 20;

/// The forms a body takes, shared by the async and the blocking [`Body`]s;
/// `S` is the stream of each.
pub(crate) enum Kind<S> {
    /// CoHTTP's `` `Empty ``.
    Empty,
    /// CoHTTP's `` `String ``.
    String(Bytes),
    /// CoHTTP's `` `Strings ``: sent chunked, one chunk per string.
    Strings(Vec<Bytes>),
    /// CoHTTP's `` `Stream ``.
    Stream(S),
}

/// What paf-compat needs of a paf-core body, async or blocking: its
/// known length, and a way to announce another framing.
pub(crate) trait CoreBody: Sized {
    fn empty() -> Self;
    fn full(bytes: Bytes) -> Self;
    /// Chunks sent one after the other, of unknown length (chunked).
    fn chunks(chunks: Vec<Bytes>) -> Self;
    fn known_len(&self) -> Option<u64>;
    /// The same bytes, announced with this length (`None`: unknown, so the
    /// engine sends them chunked over HTTP/1.1).
    fn with_len(self, len: Option<u64>) -> Self;
}

impl CoreBody for paf_core::Body {
    fn empty() -> Self {
        paf_core::Body::empty()
    }

    fn full(bytes: Bytes) -> Self {
        paf_core::Body::full(bytes)
    }

    fn chunks(chunks: Vec<Bytes>) -> Self {
        paf_core::Body::from_stream(stream::iter(
            chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
        ))
    }

    fn known_len(&self) -> Option<u64> {
        self.len()
    }

    fn with_len(self, len: Option<u64>) -> Self {
        match len {
            Some(len) => paf_core::Body::from_stream_sized(self.into_data_stream(), len),
            None => paf_core::Body::from_stream(self.into_data_stream()),
        }
    }
}

impl<S: CoreBody> Kind<S> {
    pub(crate) fn of_core(body: S) -> Self {
        if body.known_len() == Some(0) {
            Kind::Empty
        } else {
            Kind::Stream(body)
        }
    }

    pub(crate) fn into_core(self) -> S {
        match self {
            Kind::Empty => S::empty(),
            Kind::String(bytes) => S::full(bytes),
            Kind::Strings(chunks) => S::chunks(chunks),
            Kind::Stream(body) => body,
        }
    }

    /// The length when known without reading: CoHTTP's `Body.length` for
    /// the in-memory forms.
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            Kind::Empty => Some(0),
            Kind::String(bytes) => Some(bytes.len() as u64),
            Kind::Strings(chunks) => Some(chunks.iter().map(|c| c.len() as u64).sum()),
            Kind::Stream(body) => body.known_len(),
        }
    }

    /// CoHTTP's `Body.transfer_encoding`. A list of strings is chunked, as
    /// in CoHTTP; a stream is chunked unless its length is known (a file,
    /// a response with `Content-Length`), which CoHTTP's streams never are.
    pub(crate) fn transfer_encoding(&self) -> Encoding {
        match self {
            Kind::Strings(_) => Encoding::Chunked,
            Kind::Stream(body) => body.known_len().map_or(Encoding::Chunked, Encoding::Fixed),
            in_memory => Encoding::Fixed(in_memory.len().unwrap_or_default()),
        }
    }

    /// The bytes of an in-memory body under `limit`, or the stream back for
    /// the caller to read its own way (async or blocking).
    pub(crate) fn in_memory(self, limit: usize) -> Result<Result<Vec<Bytes>, Error>, S> {
        let chunks = match self {
            Kind::Stream(body) => return Err(body),
            Kind::Empty => Vec::new(),
            Kind::String(bytes) => vec![bytes],
            Kind::Strings(chunks) => chunks,
        };
        let total: usize = chunks.iter().map(Bytes::len).sum();
        Ok(if total > limit {
            Err(too_large(limit))
        } else {
            Ok(chunks)
        })
    }

    /// CoHTTP's `Body.map` on the in-memory forms; a stream is handed to
    /// `on_stream`.
    pub(crate) fn map_with<F>(self, mut f: F, on_stream: impl FnOnce(S, F) -> S) -> Self
    where
        F: FnMut(Bytes) -> Bytes,
    {
        match self {
            Kind::Empty => Kind::Empty,
            Kind::String(bytes) => Kind::String(f(bytes)),
            Kind::Strings(chunks) => Kind::Strings(chunks.into_iter().map(f).collect()),
            Kind::Stream(body) => Kind::Stream(on_stream(body, f)),
        }
    }

    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = match self {
            Kind::Empty => "empty",
            Kind::String(_) => "string",
            Kind::Strings(_) => "strings",
            Kind::Stream(_) => "stream",
        };
        f.debug_struct(name)
            .field("form", &form)
            .field("len", &self.len())
            .finish()
    }
}

/// Sets `body`'s announced length to the framing `encoding` declares, and
/// takes the framing field out of `headers`, so that every engine frames
/// the message from the body alone: `Chunked` makes the length unknown
/// (chunked over HTTP/1.1), `Fixed(n)` announces `n` for a stream of unknown
/// length. A body whose length is known and differs from `Fixed(n)` keeps
/// its own: a wrong `Content-Length` would break the connection.
pub(crate) fn frame<B: CoreBody>(headers: &mut http::HeaderMap, encoding: Encoding, body: B) -> B {
    match encoding {
        Encoding::Chunked => {
            headers.remove(http::header::TRANSFER_ENCODING);
            match body.known_len() {
                Some(_) => body.with_len(None),
                None => body,
            }
        }
        Encoding::Fixed(n) => {
            headers.remove(http::header::CONTENT_LENGTH);
            match body.known_len() {
                None => body.with_len(Some(n)),
                Some(_) => body,
            }
        }
        Encoding::Unknown => body,
    }
}

pub(crate) fn too_large(limit: usize) -> Error {
    Error::Http(paf_core::Error::BodyTooLarge {
        limit: limit as u64,
    })
}

/// Bytes as text; bytes that are not UTF-8 are [`Error::BodyNotUtf8`],
/// which says so (not a failed stream) and keeps them.
pub(crate) fn utf8(bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|source| Error::BodyNotUtf8 {
        offset: source.utf8_error().valid_up_to(),
        source,
    })
}

fn concat(chunks: Vec<Bytes>) -> Bytes {
    match <[Bytes; 1]>::try_from(chunks) {
        Ok([one]) => one,
        Err(chunks) => {
            let mut buf = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
            for chunk in chunks {
                buf.extend_from_slice(&chunk);
            }
            buf.freeze()
        }
    }
}

/// The in-memory forms' side of a `Body` holding a `kind: Kind<$core>`:
/// CoHTTP's constructors, `len`, `transfer_encoding`, and the conversions,
/// the same for the async and the blocking body.
macro_rules! body_forms {
    ($core:ty, $name:literal) => {
        impl Body {
            /// CoHTTP's `Body.empty`.
            pub fn empty() -> Body {
                Body { kind: Kind::Empty }
            }

            /// CoHTTP's `Body.of_string`.
            pub fn of_string(s: impl Into<String>) -> Body {
                Body::of_bytes(s.into())
            }

            /// [`Body::of_string`] for bytes that need not be text (OCaml
            /// strings are bytes).
            pub fn of_bytes(bytes: impl Into<bytes::Bytes>) -> Body {
                Body {
                    kind: Kind::String(bytes.into()),
                }
            }

            /// CoHTTP's `Body.of_string_list`: sent chunked, a chunk per
            /// string.
            pub fn of_string_list<S: Into<String>>(strings: impl IntoIterator<Item = S>) -> Body {
                let strings = strings.into_iter().map(|s| bytes::Bytes::from(s.into()));
                Body {
                    kind: Kind::Strings(strings.collect()),
                }
            }

            /// CoHTTP's `Body.of_form`: `application/x-www-form-urlencoded`
            /// text of keys with their values, a key's values joined by
            /// commas as CoHTTP does (`[("a", ["1", "2"])]` is `a=1,2`).
            pub fn of_form<K, I, V>(params: impl IntoIterator<Item = (K, I)>) -> Body
            where
                K: AsRef<str>,
                I: IntoIterator<Item = V>,
                V: AsRef<str>,
            {
                Body::of_string($crate::form::encode(params))
            }

            /// The length when it is known without reading: always for the
            /// in-memory forms, for a stream when its length was announced.
            // `is_empty` is CoHTTP's, which may have to read: it cannot be `&self`.
            #[allow(clippy::len_without_is_empty)]
            pub fn len(&self) -> Option<u64> {
                self.kind.len()
            }

            /// CoHTTP's `Body.transfer_encoding`: `Fixed` for the empty body
            /// and a string, `Chunked` for a list of strings, and for a
            /// stream `Fixed` when its length is known, else `Chunked`.
            pub fn transfer_encoding(&self) -> $crate::transfer::Encoding {
                self.kind.transfer_encoding()
            }

            #[doc = concat!("The body as a [`", stringify!($core), "`].")]
            pub fn into_core(self) -> $core {
                self.kind.into_core()
            }
        }

        impl Default for Body {
            fn default() -> Self {
                Body::empty()
            }
        }

        impl std::fmt::Debug for Body {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.kind.debug($name, f)
            }
        }

        impl From<$core> for Body {
            fn from(body: $core) -> Self {
                Body {
                    kind: Kind::of_core(body),
                }
            }
        }

        impl From<Body> for $core {
            fn from(body: Body) -> Self {
                body.into_core()
            }
        }

        $crate::body::body_forms!(@bytes bytes::Bytes, Vec<u8>, String, &'static str, &'static [u8]);
    };
    (@bytes $($t:ty),*) => {$(
        impl From<$t> for Body {
            /// [`Body::of_bytes`].
            fn from(value: $t) -> Self {
                Body::of_bytes(value)
            }
        }
    )*};
}
pub(crate) use body_forms;

/// A message body, as CoHTTP's `Cohttp_lwt.Body.t`.
///
/// ```
/// # async fn demo() -> Result<(), paf_compat::Error> {
/// use paf_compat::Body;
///
/// let body = Body::of_string_list(["hello", " ", "world"]);
/// assert_eq!(body.len(), Some(11));
/// // CoHTTP sends a list of strings chunked.
/// assert_eq!(body.transfer_encoding(), paf_compat::transfer::Encoding::Chunked);
/// let upper = body.map(|chunk| chunk.to_ascii_uppercase().into());
/// assert_eq!(upper.to_string().await?, "HELLO WORLD");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Body {
    kind: Kind<paf_core::Body>,
}

impl Body {
    /// CoHTTP's `Body.of_stream`: a [`paf_core::Body`] (same as
    /// `Body::from`).
    pub fn of_stream(body: paf_core::Body) -> Body {
        Body::from(body)
    }

    /// CoHTTP's `Body.length`: the length and the body to use from now on.
    /// A stream of unknown length is read into memory for it (at most
    /// `limit` bytes, else [`paf_core::Error::BodyTooLarge`]).
    pub async fn length(self, limit: usize) -> Result<(u64, Body), Error> {
        if let Some(len) = self.len() {
            return Ok((len, self));
        }
        let bytes = self.to_bytes_with_limit(limit).await?;
        Ok((bytes.len() as u64, Body::of_bytes(bytes)))
    }

    /// CoHTTP's `Body.is_empty`: whether the body holds no byte. For a
    /// stream of unknown length this reads up to the first non-empty chunk,
    /// which stays in the body.
    pub async fn is_empty(&mut self) -> Result<bool, Error> {
        let Kind::Stream(body) = &mut self.kind else {
            return Ok(self.len() == Some(0));
        };
        if let Some(len) = body.len() {
            return Ok(len == 0);
        }
        let mut body = std::mem::take(body);
        loop {
            match body.chunk().await {
                None => {
                    self.kind = Kind::Empty;
                    return Ok(true);
                }
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    let rest = stream::once(async { Ok(chunk) }).chain(body.into_data_stream());
                    self.kind = Kind::Stream(paf_core::Body::from_stream(rest));
                    return Ok(false);
                }
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// CoHTTP's `Body.map`: `f` applied to each chunk (to the string, to
    /// each string of a list, to each chunk of a stream as it is read). A
    /// mapped stream's length is no longer known.
    pub fn map<F>(self, f: F) -> Body
    where
        F: FnMut(Bytes) -> Bytes + Send + 'static,
    {
        let kind = self.kind.map_with(f, |body, mut f| {
            paf_core::Body::from_stream(body.into_data_stream().map(move |chunk| chunk.map(&mut f)))
        });
        Body { kind }
    }

    /// CoHTTP's `Body.to_string`, with the [`DEFAULT_LIMIT`] cap. Bytes
    /// that are not UTF-8 are [`Error::BodyNotUtf8`], which keeps them (or
    /// read them with [`Body::to_bytes_with_limit`]).
    pub async fn to_string(self) -> Result<String, Error> {
        self.to_string_with_limit(DEFAULT_LIMIT).await
    }

    /// [`Body::to_string`] with another cap: more than `limit` bytes is
    /// [`paf_core::Error::BodyTooLarge`].
    pub async fn to_string_with_limit(self, limit: usize) -> Result<String, Error> {
        utf8(self.to_bytes_with_limit(limit).await?.into())
    }

    /// The whole body as bytes, at most `limit` of them.
    pub async fn to_bytes_with_limit(self, limit: usize) -> Result<Bytes, Error> {
        match self.kind.in_memory(limit) {
            Ok(chunks) => Ok(concat(chunks?)),
            Err(body) => Ok(body.to_bytes(limit).await?),
        }
    }

    /// CoHTTP's `Body.to_string_list`: the chunks as they are (the string,
    /// the list, or a stream's chunks as they arrived), at most
    /// [`DEFAULT_LIMIT`] bytes in all. A chunk that is not UTF-8 on its own
    /// is an error: a stream may split a character between chunks.
    pub async fn to_string_list(self) -> Result<Vec<String>, Error> {
        let limit = DEFAULT_LIMIT;
        let chunks = match self.kind.in_memory(limit) {
            Ok(chunks) => chunks?,
            Err(mut body) => {
                let (mut chunks, mut total) = (Vec::new(), 0usize);
                while let Some(chunk) = body.chunk().await {
                    let chunk = chunk?;
                    total = total.saturating_add(chunk.len());
                    if total > limit {
                        return Err(too_large(limit));
                    }
                    chunks.push(chunk);
                }
                chunks
            }
        };
        chunks.into_iter().map(|c| utf8(c.into())).collect()
    }

    /// CoHTTP's `Body.to_form`: the body read (under [`DEFAULT_LIMIT`]) as
    /// `application/x-www-form-urlencoded`, each key with its values (split
    /// on commas, as CoHTTP does; see [`Body::of_form`]).
    pub async fn to_form(self) -> Result<Vec<(String, Vec<String>)>, Error> {
        let bytes = self.to_bytes_with_limit(DEFAULT_LIMIT).await?;
        Ok(form::decode(&String::from_utf8_lossy(&bytes)))
    }

    /// cohttp-lwt's `Body.write_body fn body`: `f` called with each chunk
    /// in turn, each call awaited before the next (the string, each string
    /// of a list, each chunk of a stream as it arrives; nothing for the
    /// empty body). The first error stops it: `f`'s own, or the stream's
    /// converted into `f`'s error type.
    ///
    /// ```
    /// # async fn demo() -> Result<(), paf_compat::Error> {
    /// use paf_compat::Body;
    ///
    /// let mut written = Vec::new();
    /// Body::of_string_list(["foo", "bar"])
    ///     .write_body(|chunk| {
    ///         written.push(chunk);
    ///         async { Ok::<_, paf_compat::Error>(()) }
    ///     })
    ///     .await?;
    /// assert_eq!(written, ["foo", "bar"]);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn write_body<F, Fut, E>(self, mut f: F) -> Result<(), E>
    where
        F: FnMut(Bytes) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: From<Error>,
    {
        match self.kind {
            Kind::Empty => Ok(()),
            Kind::String(bytes) => f(bytes).await,
            Kind::Strings(chunks) => {
                for chunk in chunks {
                    f(chunk).await?;
                }
                Ok(())
            }
            Kind::Stream(mut body) => {
                while let Some(chunk) = body.chunk().await {
                    f(chunk.map_err(Error::from)?).await?;
                }
                Ok(())
            }
        }
    }

    /// CoHTTP's `Body.drain_body`: reads a stream to its end and drops the
    /// bytes (a client's connection goes back to the pool only then).
    pub async fn drain(self) -> Result<(), Error> {
        if let Kind::Stream(mut body) = self.kind {
            while let Some(chunk) = body.chunk().await {
                chunk?;
            }
        }
        Ok(())
    }
}

body_forms!(paf_core::Body, "Body");

/// cohttp-lwt's `Body.create_stream fn arg`: a stream of the chunks that
/// `f(arg)` answers one call after the other, until
/// [`Chunk::Done`](crate::transfer::Chunk::Done) (which adds nothing) or a
/// [`Chunk::FinalChunk`](crate::transfer::Chunk::FinalChunk) (whose data is
/// the last, and after which `f` is not called again). Give it to
/// [`Body::of_stream`], as CoHTTP's result goes to `Body.of_stream`.
///
/// OCaml passes the same `arg` (a reader, a channel) to every call; here
/// `f` gets a clone of it each time, so give a handle that shares its
/// state (an `Arc<Mutex<…>>` around a reader). An `Err` from `f` ends the stream
/// with that error, as an exception raised by OCaml's `fn` fails the
/// stream; the stream's reader gets it as a [`paf_core::Error`]
/// (`Io` for an I/O error, else `Body`, the error kept as its source).
///
/// ```
/// # async fn demo() -> Result<(), paf_compat::Error> {
/// use std::sync::{Arc, Mutex};
/// use paf_compat::{body, transfer::Chunk, Body};
///
/// // A reader handing out three chunks, the third one final.
/// let parts = Arc::new(Mutex::new(vec!["c", "b", "a"]));
/// let next = |parts: Arc<Mutex<Vec<&'static str>>>| async move {
///     let mut parts = parts.lock().map_err(|_| "poisoned")?;
///     let part = parts.pop().unwrap_or_default().as_bytes().to_vec();
///     Ok::<_, &str>(if parts.is_empty() { Chunk::FinalChunk(part) } else { Chunk::Chunk(part) })
/// };
/// let body = Body::of_stream(body::create_stream(next, parts));
/// assert_eq!(body.to_string_list().await?, ["a", "b", "c"]);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub fn create_stream<A, F, Fut, E>(mut f: F, arg: A) -> paf_core::Body
where
    A: Clone + Send + 'static,
    F: FnMut(A) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<crate::transfer::Chunk, E>> + Send + 'static,
    E: Into<paf_core::BoxError> + Send + 'static,
{
    use crate::transfer::Chunk;
    // The state is whether the final chunk was given: no call after it.
    let chunks = stream::unfold(false, move |finished| {
        let next = (!finished).then(|| f(arg.clone()));
        async move {
            match next?.await {
                Ok(Chunk::Done) => None,
                Ok(Chunk::Chunk(data)) => Some((Ok(Bytes::from(data)), false)),
                Ok(Chunk::FinalChunk(data)) => Some((Ok(Bytes::from(data)), true)),
                // Nothing is read after an error.
                Err(e) => Some((Err(e), true)),
            }
        }
    });
    paf_core::Body::from_stream(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(chunks: &[&'static str]) -> Body {
        let chunks: Vec<_> = chunks.iter().map(|c| Ok::<_, Error>(*c)).collect();
        Body::of_stream(paf_core::Body::from_stream(stream::iter(chunks)))
    }

    #[tokio::test]
    async fn is_empty_skips_empty_chunks_and_keeps_the_first_data() {
        let mut body = stream_of(&["", "", "data", "more"]);
        assert!(!body.is_empty().await.unwrap());
        assert_eq!(body.to_string().await.unwrap(), "datamore");
        let mut body = stream_of(&["", ""]);
        assert!(body.is_empty().await.unwrap());
        assert!(Body::of_string_list(["", ""]).is_empty().await.unwrap());
        assert!(!Body::of_string("x").is_empty().await.unwrap());
    }

    #[tokio::test]
    async fn length_reads_a_stream_of_unknown_length_once() {
        let (len, body) = stream_of(&["ab", "cd"]).length(100).await.unwrap();
        assert_eq!(len, 4);
        assert_eq!(body.transfer_encoding(), Encoding::Fixed(4));
        assert_eq!(body.to_string().await.unwrap(), "abcd");
        let err = stream_of(&["ab", "cd"]).length(3).await.unwrap_err();
        assert!(matches!(err, Error::Http(e) if e.is_body_too_large()));
    }

    #[tokio::test]
    async fn transfer_encoding_follows_cohttp_per_form() {
        assert_eq!(Body::empty().transfer_encoding(), Encoding::Fixed(0));
        assert_eq!(
            Body::of_string("abc").transfer_encoding(),
            Encoding::Fixed(3)
        );
        assert_eq!(
            Body::of_string_list(["a"]).transfer_encoding(),
            Encoding::Chunked
        );
        assert_eq!(stream_of(&["a"]).transfer_encoding(), Encoding::Chunked);
    }

    #[tokio::test]
    async fn map_applies_to_each_chunk_of_a_stream() {
        let body = stream_of(&["ab", "c"]).map(|c| Bytes::from(format!("[{}]", c.len())));
        assert_eq!(
            body.to_string_list().await.unwrap(),
            vec!["[2]".to_string(), "[1]".to_string()]
        );
    }

    #[tokio::test]
    async fn in_memory_bodies_obey_the_cap_too() {
        let err = Body::of_string_list(["abc", "def"])
            .to_string_with_limit(5)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Http(e) if e.is_body_too_large()));
    }

    #[test]
    fn chunked_framing_drops_the_known_length_and_the_header() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        let body = frame(&mut headers, Encoding::Chunked, paf_core::Body::from("abc"));
        assert_eq!(body.len(), None);
        assert!(headers.is_empty());
        let body = frame(&mut headers, Encoding::Fixed(3), body);
        assert_eq!(body.len(), Some(3));
    }
}
