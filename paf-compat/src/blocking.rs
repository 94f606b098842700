//! CoHTTP's client functions without an async runtime, on ureq (feature
//! `ureq`): the same names as the async `client` module, answering at once.
//!
//! ```no_run
//! use paf_compat::blocking::Client;
//!
//! # fn main() -> Result<(), paf_compat::Error> {
//! let client = Client::new();
//! let (res, body) = client.get("http://127.0.0.1:8080/").send()?;
//! println!("{} {}", res.status(), body.to_string()?);
//! # Ok(()) }
//! ```
//!
//! CoHTTP has no blocking client (`Cohttp_lwt_unix.Client` needs Lwt); this
//! is its API with `send()` where the async client is awaited. ureq speaks
//! HTTP/1.1 only. The body is a [`blocking::Body`](Body), which has the
//! in-memory forms of [`crate::Body`] and a reader for a stream.

use std::io::{self, Read};
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use paf_core::client::FromSettings;

use crate::body::{body_forms, utf8, CoreBody, Kind, DEFAULT_LIMIT};
use crate::call::{call_options, callv_requests, callv_type, client_functions, Outgoing};
use crate::code::Method;
use crate::request::IntoUri;
use crate::transfer::Encoding;
use crate::{form, Error, Request, Response};

impl CoreBody for paf_core::blocking::Body {
    fn empty() -> Self {
        paf_core::blocking::Body::empty()
    }

    fn full(bytes: Bytes) -> Self {
        paf_core::blocking::Body::full(bytes)
    }

    fn chunks(chunks: Vec<Bytes>) -> Self {
        // A reader has no chunks: the strings are one run of bytes of
        // unknown length, which is what makes ureq send them chunked.
        paf_core::blocking::Body::from_reader(io::Cursor::new(chunks.concat()), None)
    }

    fn known_len(&self) -> Option<u64> {
        self.len()
    }

    fn with_len(self, len: Option<u64>) -> Self {
        paf_core::blocking::Body::from_reader(self, len)
    }
}

/// A message body for the blocking client: empty, a string, a list of
/// strings, or a reader (what a response brings). The names are
/// [`crate::Body`]'s; `map` and `to_string_list`, which work on a stream's
/// chunks, have no counterpart for a reader.
pub struct Body {
    kind: Kind<paf_core::blocking::Body>,
}

body_forms!(paf_core::blocking::Body, "blocking::Body");

impl Body {
    /// A body read from `reader` (CoHTTP's `Body.of_stream`); `len` is its
    /// exact length when known.
    pub fn of_reader(reader: impl Read + Send + Sync + 'static, len: Option<u64>) -> Body {
        Body::from(paf_core::blocking::Body::from_reader(reader, len))
    }

    /// CoHTTP's `Body.length`: a reader of unknown length is read into
    /// memory for it (at most `limit` bytes).
    pub fn length(self, limit: usize) -> Result<(u64, Body), Error> {
        if let Some(len) = self.len() {
            return Ok((len, self));
        }
        let bytes = self.to_bytes_with_limit(limit)?;
        Ok((bytes.len() as u64, Body::of_bytes(bytes)))
    }

    /// CoHTTP's `Body.is_empty`. A reader of unknown length is read up to
    /// its first bytes, which stay in the body.
    pub fn is_empty(&mut self) -> Result<bool, Error> {
        let Kind::Stream(reader) = &mut self.kind else {
            return Ok(self.len() == Some(0));
        };
        if let Some(len) = reader.len() {
            return Ok(len == 0);
        }
        let mut first = vec![0; 8 * 1024];
        let n = loop {
            match reader.read(&mut first) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(paf_core::Error::from_io(e).into()),
            }
        };
        if n == 0 {
            self.kind = Kind::Empty;
            return Ok(true);
        }
        first.truncate(n);
        let rest = std::mem::take(reader);
        self.kind = Kind::Stream(paf_core::blocking::Body::from_reader(
            io::Cursor::new(first).chain(rest),
            None,
        ));
        Ok(false)
    }

    /// CoHTTP's `Body.to_string`, under [`DEFAULT_LIMIT`].
    pub fn to_string(self) -> Result<String, Error> {
        self.to_string_with_limit(DEFAULT_LIMIT)
    }

    /// [`Body::to_string`] with another cap.
    pub fn to_string_with_limit(self, limit: usize) -> Result<String, Error> {
        utf8(self.to_bytes_with_limit(limit)?.into())
    }

    /// The whole body as bytes, at most `limit` of them.
    pub fn to_bytes_with_limit(self, limit: usize) -> Result<Bytes, Error> {
        match self.kind.in_memory(limit) {
            Ok(chunks) => Ok(chunks?.concat().into()),
            Err(reader) => Ok(reader.read_to_bytes(limit)?),
        }
    }

    /// CoHTTP's `Body.to_form` (see [`crate::Body::to_form`]).
    pub fn to_form(self) -> Result<Vec<(String, Vec<String>)>, Error> {
        let bytes = self.to_bytes_with_limit(DEFAULT_LIMIT)?;
        Ok(form::decode(&String::from_utf8_lossy(&bytes)))
    }

    /// CoHTTP's `Body.drain_body`: reads a reader to its end.
    pub fn drain(self) -> Result<(), Error> {
        if let Kind::Stream(mut reader) = self.kind {
            io::copy(&mut reader, &mut io::sink()).map_err(paf_core::Error::from_io)?;
        }
        Ok(())
    }
}

/// A blocking HTTP client with CoHTTP's functions, on ureq. Cheap to
/// clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    /// The backend, built with the settings (redirects included).
    engine: Arc<dyn paf_core::blocking::Client>,
    body_limit: usize,
    /// The context of calls that bring none (see `map_context`).
    ctx: Option<paf_core::Ctx>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Client")
            .field("backend", &self.engine.backend())
            .field("body_limit", &self.body_limit)
            .field("ctx", &self.ctx)
            .finish()
    }
}

/// Configures a blocking [`Client`], with the settings of the async one
/// (see [`settings::ClientBuilder`](crate::settings::ClientBuilder)).
pub type ClientBuilder = crate::settings::ClientBuilder<Blocking>;

/// What marks the blocking client's builder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Blocking;

impl crate::settings::ClientBuilder<Blocking> {
    /// The client.
    pub fn build(self) -> Client {
        Client {
            engine: Arc::new(paf_ureq::Client::from_settings(self.settings)),
            body_limit: self.body_limit,
            ctx: self.ctx,
        }
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client with the default settings.
    pub fn new() -> Client {
        ClientBuilder::default().build()
    }

    /// A builder to change the settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    client_functions!(dyn paf_core::blocking::Client);

    fn send(
        &self,
        request: http::Request<paf_core::blocking::Body>,
    ) -> Result<(Response, Body), Error> {
        let response = self.engine.send(request)?;
        let (parts, body) = response.into_parts();
        Ok((Response::of_http(&parts), Body::from(body)))
    }
}

/// One blocking call being prepared; [`send`](Call::send) sends it.
#[must_use = "a call is sent only by `send`"]
pub struct Call<T = (Response, Body)> {
    client: Client,
    out: Outgoing<Body>,
    answer: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Call").field(&self.out).finish()
    }
}

impl<T> Call<T> {
    call_options!(Body);

    fn exchange(self) -> Result<(Response, Body), Error> {
        let Call {
            client, mut out, ..
        } = self;
        let body = out.body.take().unwrap_or_default();
        let (encoding, body) = match out.chunked {
            Some(true) => (Some(Encoding::Chunked), body),
            Some(false) => {
                let (len, body) = body.length(client.body_limit)?;
                (Some(Encoding::Fixed(len)), body)
            }
            None => (None, body),
        };
        let request = out.into_http(encoding, body.into_core())?;
        client.send(request)
    }
}

impl Call<(Response, Body)> {
    /// Sends the request.
    pub fn send(self) -> Result<(Response, Body), Error> {
        self.exchange()
    }
}

impl Call<Response> {
    /// Sends the request.
    pub fn send(self) -> Result<Response, Error> {
        Ok(self.exchange()?.0)
    }
}

callv_type!(
    "blocking::Callv",
    "A blocking `callv` batch being prepared; [`send`](Callv::send) sends it.",
    "a batch is sent only by `send`"
);

impl Callv {
    /// Sends the batch: the responses in order, each body read whole.
    pub fn send(self) -> Result<Vec<(Response, Body)>, Error> {
        let requests = callv_requests(self.uri, self.requests, self.ctx)?;
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            let (response, body) = self.client.send(request)?;
            let body = body.to_bytes_with_limit(self.client.body_limit)?;
            answers.push((response, Body::of_bytes(body)));
        }
        Ok(answers)
    }
}
