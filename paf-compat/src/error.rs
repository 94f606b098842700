//! The one error type of paf-compat.
//!
//! CoHTTP raises OCaml exceptions (`Parsing.Parse_error`, `Invalid_argument`)
//! where this crate returns an [`Error`]; every variant names the input that
//! was refused so the message is useful on its own. What goes wrong in an
//! exchange (connecting, TLS, a timeout, a body over its cap) is paf-core's
//! [`paf_core::Error`], kept whole in [`Error::Http`].

/// What went wrong in a paf-compat conversion or parser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`Header`](crate::Header) name is not a valid HTTP field name, so it
    /// cannot go into an [`http::HeaderMap`].
    #[error("invalid header name {name:?}")]
    InvalidHeaderName {
        /// The name as given.
        name: String,
        /// The cause reported by the `http` crate.
        #[source]
        source: http::header::InvalidHeaderName,
    },

    /// A [`Header`](crate::Header) value cannot go into an
    /// [`http::HeaderMap`] (it holds a control character such as CR or LF).
    #[error("invalid value for header {name:?}")]
    InvalidHeaderValue {
        /// The name of the field whose value was refused.
        name: String,
        /// The cause reported by the `http` crate.
        #[source]
        source: http::header::InvalidHeaderValue,
    },

    /// An [`http::HeaderMap`] value is not visible ASCII/UTF-8 text, and
    /// CoHTTP headers hold strings.
    #[error("value of header {name:?} is not text")]
    HeaderValueNotText {
        /// The name of the field whose value was refused.
        name: String,
    },

    /// An `Accept*` header value does not follow the grammar CoHTTP's
    /// parser accepts (CoHTTP raises `Parsing.Parse_error` or a lexer
    /// failure here).
    #[error("cannot parse {input:?} as an Accept header value at byte {position}: {reason}")]
    AcceptSyntax {
        /// The header value as given.
        input: String,
        /// Byte offset in `input` where parsing stopped.
        position: usize,
        /// What the parser expected.
        reason: &'static str,
    },

    /// A quality value outside `0..=1000` cannot be written (CoHTTP raises
    /// `Invalid_argument`).
    #[error("quality value {q} is outside 0..=1000")]
    QualityOutOfRange {
        /// The quality that was refused.
        q: i32,
    },

    /// A [`Method::Other`](crate::code::Method::Other) is not a valid HTTP
    /// token, so it has no [`http::Method`].
    #[error("invalid method {method:?}")]
    InvalidMethod {
        /// The method as given.
        method: String,
        /// The cause reported by the `http` crate.
        #[source]
        source: http::method::InvalidMethod,
    },

    /// A [`Status::Code`](crate::code::Status::Code) is outside the
    /// `100..=999` range of [`http::StatusCode`].
    #[error("invalid status code {code}")]
    InvalidStatusCode {
        /// The code as given.
        code: u16,
        /// The cause reported by the `http` crate.
        #[source]
        source: http::status::InvalidStatusCode,
    },

    /// A [`Version::Other`](crate::code::Version::Other) names no version
    /// that [`http::Version`] knows.
    #[error("unsupported HTTP version {version:?}")]
    UnsupportedVersion {
        /// The version as given.
        version: String,
    },

    /// A body read as text ([`Body::to_string`](crate::Body::to_string),
    /// `to_string_list`) holds bytes that are not UTF-8: OCaml strings are
    /// bytes, Rust's are text. The bytes read are in `source`
    /// ([`FromUtf8Error::into_bytes`](std::string::FromUtf8Error::into_bytes)),
    /// for a caller that wants them anyway.
    #[error("the body is not UTF-8: the bytes from offset {offset} are not valid UTF-8")]
    BodyNotUtf8 {
        /// How many bytes from the start are valid UTF-8.
        offset: usize,
        /// The conversion's error, holding the bytes.
        #[source]
        source: std::string::FromUtf8Error,
    },

    /// Arguments that cannot go together (OCaml raises `Invalid_argument`):
    /// `Request.make_for_client ~chunked:true ~body_length`, say.
    #[error("invalid argument to {function}: {reason}")]
    InvalidArgument {
        /// The CoHTTP function's name, as paf-compat spells it.
        function: &'static str,
        /// What is wrong with the arguments.
        reason: &'static str,
    },

    /// An HTTP exchange failed: an invalid URL, connecting, TLS, a timeout,
    /// the protocol, a body over its cap (Lwt's exceptions in CoHTTP). The
    /// paf-core error is kept whole; match on it or use its predicates
    /// (`is_timeout`, `is_connect`, `is_body_too_large`…).
    #[error(transparent)]
    Http(#[from] paf_core::Error),

    /// The backend asked for was not compiled in: its Cargo feature of
    /// paf-compat is off.
    #[error("the {backend} backend is not enabled: turn on paf-compat's \"{backend}\" feature")]
    BackendDisabled {
        /// The backend's name, which is also its feature's.
        backend: &'static str,
    },
}

impl Error {
    /// The paf-core error of a failed exchange ([`Error::Http`]).
    pub fn as_http(&self) -> Option<&paf_core::Error> {
        match self {
            Error::Http(e) => Some(e),
            _ => None,
        }
    }

    /// True for [`Error::BackendDisabled`].
    pub fn is_backend_disabled(&self) -> bool {
        matches!(self, Error::BackendDisabled { .. })
    }

    /// True for [`Error::BodyNotUtf8`]: a body read as text is not UTF-8.
    pub fn is_not_utf8(&self) -> bool {
        matches!(self, Error::BodyNotUtf8 { .. })
    }

    /// True when the error comes from parsing text (an `Accept*` value).
    pub fn is_parse(&self) -> bool {
        matches!(self, Error::AcceptSyntax { .. })
    }

    /// True when the error comes from a conversion to or from the `http`
    /// crate's types.
    pub fn is_conversion(&self) -> bool {
        matches!(
            self,
            Error::InvalidHeaderName { .. }
                | Error::InvalidHeaderValue { .. }
                | Error::HeaderValueNotText { .. }
                | Error::InvalidMethod { .. }
                | Error::InvalidStatusCode { .. }
                | Error::UnsupportedVersion { .. }
        )
    }
}
