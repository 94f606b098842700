//! CoHTTP's `Response`: the head of a response (status, version, headers)
//! and what CoHTTP derives from it.
//!
//! The clients hand one back with the body; a server callback returns one,
//! usually made by the `respond_*` functions of the `server` module.

use crate::code::{self, Method, Status, Version};
use crate::request::{content_length, header_of_map, keep_alive};
use crate::transfer::{self, Encoding, HasBody};
use crate::Header;

/// A response head, as CoHTTP's `Response.t` (`Http.Response.t`).
///
/// ```
/// use paf_compat::{code::Status, transfer::Encoding, Response};
///
/// // CoHTTP's `Response.make ()`: 200, and chunked unless told otherwise.
/// let res = Response::make();
/// assert_eq!(res.status(), Status::Ok);
/// assert_eq!(res.encoding(), Encoding::Chunked);
///
/// let res = Response::builder().status(Status::NoContent).build();
/// assert_eq!(res.headers().get("transfer-encoding"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: Status,
    version: Version,
    headers: Header,
}

/// CoHTTP's `Response.make` optional arguments: set what you need, then
/// [`build`](ResponseBuilder::build).
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: Status,
    version: Version,
    headers: Header,
    encoding: Encoding,
}

impl ResponseBuilder {
    /// `?status` (default `200 OK`).
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// `?version` (default HTTP/1.1). The server speaks the version its
    /// connection negotiated whatever this says.
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// `?headers` (default none).
    pub fn headers(mut self, headers: Header) -> Self {
        self.headers = headers;
        self
    }

    /// `?encoding` (default `Unknown`).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The response, as CoHTTP's `Response.make` builds it: for a status
    /// that allows a body, the framing of
    /// [`encoding`](ResponseBuilder::encoding) is declared in the headers
    /// (unless they declare one), and with `Unknown` the response is
    /// chunked unless the headers say otherwise.
    pub fn build(self) -> Response {
        let headers = if !self.status.body_allowed() {
            self.headers
        } else {
            match self.encoding {
                Encoding::Unknown => match self.headers.get_transfer_encoding() {
                    Encoding::Unknown => self.headers.add_transfer_encoding(Encoding::Chunked),
                    _ => self.headers,
                },
                encoding => self.headers.add_transfer_encoding(encoding),
            }
        };
        Response {
            status: self.status,
            version: self.version,
            headers,
        }
    }
}

impl Default for ResponseBuilder {
    fn default() -> Self {
        ResponseBuilder {
            status: Status::Ok,
            version: Version::Http1_1,
            headers: Header::init(),
            encoding: Encoding::Unknown,
        }
    }
}

impl Response {
    /// CoHTTP's `Response.make ()`: 200, HTTP/1.1, chunked.
    pub fn make() -> Response {
        Response::builder().build()
    }

    /// CoHTTP's `Response.make` with optional arguments.
    pub fn builder() -> ResponseBuilder {
        ResponseBuilder::default()
    }

    /// CoHTTP's `Response.status`.
    pub fn status(&self) -> Status {
        self.status
    }

    /// CoHTTP's `Response.version`. HTTP/2 responses say
    /// `Version::Other("HTTP/2.0")`.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// CoHTTP's `Response.headers`. Received over HTTP/1.1 they are as the
    /// peer sent them, names lowercased and each name's values together.
    pub fn headers(&self) -> &Header {
        &self.headers
    }

    /// CoHTTP's `Response.encoding`: the framing the headers declare.
    pub fn encoding(&self) -> Encoding {
        self.headers.get_transfer_encoding()
    }

    /// CoHTTP's `Response.has_body`: `No` for statuses without a body
    /// (1xx, 204, 304), else what the framing says.
    pub fn has_body(&self) -> HasBody {
        if self.status.body_allowed() {
            transfer::has_body(&self.encoding())
        } else {
            HasBody::No
        }
    }

    /// CoHTTP's `Response.is_keep_alive`: `Connection: keep-alive` keeps,
    /// any other value closes, no field keeps on HTTP/1.1 only; HTTP/2
    /// always keeps (CoHTTP has no HTTP/2).
    pub fn is_keep_alive(&self) -> bool {
        keep_alive(&self.headers, &self.version)
    }

    /// CoHTTP's `Http.Response.requires_content_length ?request_meth`:
    /// whether the response must say how long its body is. Not for `204`
    /// and `1xx`, nor for a `2xx` answering a `CONNECT` (`request_meth`),
    /// nor when it has a `Transfer-Encoding`; for every other status yes
    /// (RFC 9112 §6.3; a `304` or the answer to a `HEAD` may have one or
    /// not).
    ///
    /// ```
    /// use paf_compat::{code::{Method, Status}, Response};
    ///
    /// let ok = Response::builder().encoding(paf_compat::transfer::Encoding::Fixed(2)).build();
    /// assert!(ok.requires_content_length(None));
    /// assert!(!ok.requires_content_length(Some(&Method::Connect)));
    /// // `Response::make` declares chunked framing.
    /// assert!(!Response::make().requires_content_length(None));
    /// ```
    pub fn requires_content_length(&self, request_meth: Option<&Method>) -> bool {
        match code::code_of_status(&self.status) {
            204 | 100..=199 => false,
            200..=299 if request_meth == Some(&Method::Connect) => false,
            _ => !self.headers.mem("transfer-encoding"),
        }
    }

    /// CoHTTP's `Http.Response.content_length`: the last `Content-Length`
    /// when [`requires_content_length`](Response::requires_content_length)
    /// (without a request method) holds and the value is a length (digits
    /// only; see [`Request::content_length`](crate::Request::content_length)).
    pub fn content_length(&self) -> Option<u64> {
        content_length(self.requires_content_length(None), &self.headers)
    }

    /// The same response with other headers (OCaml's `{ res with headers }`).
    pub fn with_headers(mut self, headers: Header) -> Response {
        self.headers = headers;
        self
    }

    /// The same response with another status (OCaml's `{ res with status }`;
    /// the headers stay as they are).
    pub fn with_status(mut self, status: Status) -> Response {
        self.status = status;
        self
    }

    /// What a client received, as CoHTTP sees it.
    pub(crate) fn of_http(parts: &http::response::Parts) -> Response {
        Response {
            status: Status::from(parts.status),
            version: parts.version.into(),
            headers: header_of_map(&parts.headers),
        }
    }

    /// The response for an engine, its body framed as the headers declare:
    /// the framing field goes and the body announces the length (see
    /// `frame`). Fails for a status outside `100..=999` or a header the
    /// `http` crate refuses.
    #[cfg(feature = "hyper")]
    pub(crate) fn into_http<B: crate::body::CoreBody>(
        self,
        body: B,
    ) -> Result<http::Response<B>, crate::Error> {
        let encoding = self.encoding();
        let mut headers = self.headers.to_header_map()?;
        let body = crate::body::frame(&mut headers, encoding, body);
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::try_from(self.status)?;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_declares_the_given_encoding_unless_headers_have_one() {
        let res = Response::builder().encoding(Encoding::Fixed(5)).build();
        assert_eq!(res.headers().get("content-length"), Some("5"));
        let res = Response::builder()
            .headers(Header::init_with("content-length", "7"))
            .build();
        assert_eq!(res.encoding(), Encoding::Fixed(7));
        assert_eq!(res.headers().get("transfer-encoding"), None);
    }

    #[test]
    fn http2_responses_are_keep_alive() {
        let res = Response::builder()
            .version(Version::Other("HTTP/2.0".into()))
            .build();
        assert!(res.is_keep_alive());
        let res = Response::builder().version(Version::Http1_0).build();
        assert!(!res.is_keep_alive());
    }

    #[test]
    fn not_modified_has_no_body_whatever_its_headers_say() {
        let res = Response::builder()
            .status(Status::NotModified)
            .headers(Header::init_with("content-length", "10"))
            .build();
        assert_eq!(res.has_body(), HasBody::No);
    }
}
