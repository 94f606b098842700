//! CoHTTP's `Code`: request methods, response statuses and protocol versions.
//!
//! The OCaml polymorphic variants become Rust enums with the same names in
//! CamelCase (`` `GET `` is [`Method::Get`], `` `Not_found `` is
//! [`Status::NotFound`], `` `HTTP_1_1 `` is [`Version::Http1_1`]); the
//! module's functions keep their OCaml names. Each type converts to and from
//! its counterpart in the `http` crate.

use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// An HTTP version, as CoHTTP's `Code.version`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`.
    Http1_0,
    /// `HTTP/1.1`.
    Http1_1,
    /// Any other version string, kept as given.
    Other(String),
}

/// A request method, as CoHTTP's `Code.meth`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `HEAD`.
    Head,
    /// `DELETE`.
    Delete,
    /// `PATCH`.
    Patch,
    /// `PUT`.
    Put,
    /// `OPTIONS`.
    Options,
    /// `TRACE`.
    Trace,
    /// `CONNECT`.
    Connect,
    /// Any other method, kept as given (method names are case-sensitive, so
    /// `"get"` is `Other("get")`).
    Other(String),
}

/// The class of a standard status, as CoHTTP's `informational_status`,
/// `success_status`, … sub-types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Informational,
    Success,
    Redirection,
    ClientError,
    ServerError,
}

// One table gives the variants, their codes, CoHTTP's reason phrases and
// their classes, so the four mappings cannot drift apart.
macro_rules! statuses {
    ($( $class:ident { $( $variant:ident = $code:literal, $reason:literal; )* } )*) => {
        /// A response status, as CoHTTP's `Code.status_code`: every status
        /// CoHTTP names, plus [`Status::Code`] for any other number.
        ///
        /// [`status_of_code`] maps a number to its named variant when there is
        /// one; `Status::Code(200)` is still a valid value, and CoHTTP writes
        /// it differently (`"200 Status 200"`, see [`string_of_status`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Status {
            $( $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                $variant,
            )* )*
            /// A status CoHTTP has no name for.
            Code(u16),
        }

        impl Status {
            /// The number, and the class when CoHTTP names the status.
            fn code_and_class(self) -> (u16, Option<Class>) {
                match self {
                    $( $( Status::$variant => ($code, Some(Class::$class)), )* )*
                    Status::Code(code) => (code, None),
                }
            }

            fn of_standard_code(code: u16) -> Option<Status> {
                match code {
                    $( $( $code => Some(Status::$variant), )* )*
                    _ => None,
                }
            }
        }

        /// CoHTTP's `Code.reason_phrase_of_code`: the phrase CoHTTP writes for
        /// a code, or the number itself when it has none. CoHTTP's phrases
        /// carry notes such as `"(WebDAV) (RFC 4918)"`; they are kept as is.
        pub fn reason_phrase_of_code(code: u16) -> String {
            match code {
                $( $( $code => $reason.to_owned(), )* )*
                other => other.to_string(),
            }
        }
    };
}

statuses! {
    Informational {
        Continue = 100, "Continue";
        SwitchingProtocols = 101, "Switching Protocols";
        Processing = 102, "Processing (WebDAV) (RFC 2518)";
        Checkpoint = 103, "Checkpoint";
    }
    Success {
        Ok = 200, "OK";
        Created = 201, "Created";
        Accepted = 202, "Accepted";
        NonAuthoritativeInformation = 203, "Non-Authoritative Information (since HTTP/1.1)";
        NoContent = 204, "No Content";
        ResetContent = 205, "Reset Content";
        PartialContent = 206, "Partial Content";
        MultiStatus = 207, "Multi-Status (WebDAV) (RFC 4918)";
        AlreadyReported = 208, "Already Reported (WebDAV) (RFC 5842)";
        ImUsed = 226, "IM Used (RFC 3229)";
    }
    Redirection {
        MultipleChoices = 300, "Multiple Choices";
        MovedPermanently = 301, "Moved Permanently";
        Found = 302, "Found";
        SeeOther = 303, "See Other";
        NotModified = 304, "Not Modified";
        UseProxy = 305, "Use Proxy (since HTTP/1.1)";
        SwitchProxy = 306, "Switch Proxy";
        TemporaryRedirect = 307, "Temporary Redirect (since HTTP/1.1)";
        PermanentRedirect = 308, "Permanent Redirect";
    }
    ClientError {
        BadRequest = 400, "Bad Request";
        Unauthorized = 401, "Unauthorized";
        PaymentRequired = 402, "Payment Required";
        Forbidden = 403, "Forbidden";
        NotFound = 404, "Not Found";
        MethodNotAllowed = 405, "Method Not Allowed";
        NotAcceptable = 406, "Not Acceptable";
        ProxyAuthenticationRequired = 407, "Proxy Authentication Required";
        RequestTimeout = 408, "Request Timeout";
        Conflict = 409, "Conflict";
        Gone = 410, "Gone";
        LengthRequired = 411, "Length Required";
        PreconditionFailed = 412, "Precondition Failed";
        RequestEntityTooLarge = 413, "Request Entity Too Large";
        RequestUriTooLong = 414, "Request-URI Too Long";
        UnsupportedMediaType = 415, "Unsupported Media Type";
        RequestedRangeNotSatisfiable = 416, "Requested Range Not Satisfiable";
        ExpectationFailed = 417, "Expectation Failed";
        ImATeapot = 418, "I'm a teapot (RFC 2324)";
        EnhanceYourCalm = 420, "Enhance Your Calm";
        UnprocessableEntity = 422, "Unprocessable Entity (WebDAV) (RFC 4918)";
        Locked = 423, "Locked (WebDAV) (RFC 4918)";
        FailedDependency = 424, "Failed Dependency (WebDAV) (RFC 4918)";
        UpgradeRequired = 426, "Upgrade Required (RFC 2817)";
        PreconditionRequired = 428, "Precondition Required";
        TooManyRequests = 429, "Too Many Requests";
        RequestHeaderFieldsTooLarge = 431, "Request Header Fields Too Large";
        NoResponse = 444, "No Response";
        RetryWith = 449, "Retry With";
        BlockedByWindowsParentalControls = 450, "Blocked by Windows Parental Controls";
        WrongExchangeServer = 451, "Wrong Exchange server";
        ClientClosedRequest = 499, "Client Closed Request";
    }
    ServerError {
        InternalServerError = 500, "Internal Server Error";
        NotImplemented = 501, "Not Implemented";
        BadGateway = 502, "Bad Gateway";
        ServiceUnavailable = 503, "Service Unavailable";
        GatewayTimeout = 504, "Gateway Timeout";
        HttpVersionNotSupported = 505, "HTTP Version Not Supported";
        VariantAlsoNegotiates = 506, "Variant Also Negotiates (RFC 2295)";
        InsufficientStorage = 507, "Insufficient Storage (WebDAV) (RFC 4918)";
        LoopDetected = 508, "Loop Detected (WebDAV) (RFC 5842)";
        BandwidthLimitExceeded = 509, "Bandwidth Limit Exceeded (Apache bw/limited extension)";
        NotExtended = 510, "Not Extended (RFC 2774)";
        NetworkAuthenticationRequired = 511, "Network Authentication Required";
        NetworkReadTimeoutError = 598, "Network read timeout error";
        NetworkConnectTimeoutError = 599, "Network connect timeout error";
    }
}

/// CoHTTP's `Code.string_of_version`.
pub fn string_of_version(version: &Version) -> &str {
    match version {
        Version::Http1_0 => "HTTP/1.0",
        Version::Http1_1 => "HTTP/1.1",
        Version::Other(s) => s,
    }
}

/// CoHTTP's `Code.version_of_string`: exactly `"HTTP/1.0"` or `"HTTP/1.1"`,
/// anything else is kept in [`Version::Other`].
pub fn version_of_string(s: &str) -> Version {
    match s {
        "HTTP/1.0" => Version::Http1_0,
        "HTTP/1.1" => Version::Http1_1,
        other => Version::Other(other.to_owned()),
    }
}

/// CoHTTP's `Code.compare_version`: compares the string forms.
pub fn compare_version(a: &Version, b: &Version) -> Ordering {
    string_of_version(a).cmp(string_of_version(b))
}

/// CoHTTP's `Code.string_of_method`.
pub fn string_of_method(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Head => "HEAD",
        Method::Delete => "DELETE",
        Method::Patch => "PATCH",
        Method::Put => "PUT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Connect => "CONNECT",
        Method::Other(s) => s,
    }
}

/// CoHTTP's `Code.method_of_string`: case-sensitive, unknown names are kept in
/// [`Method::Other`].
pub fn method_of_string(s: &str) -> Method {
    match s {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "HEAD" => Method::Head,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "PUT" => Method::Put,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "CONNECT" => Method::Connect,
        other => Method::Other(other.to_owned()),
    }
}

/// CoHTTP's `Code.compare_method`: compares the string forms.
pub fn compare_method(a: &Method, b: &Method) -> Ordering {
    string_of_method(a).cmp(string_of_method(b))
}

/// CoHTTP's `Code.status_of_code`: the named status for a code CoHTTP
/// knows, [`Status::Code`] otherwise.
pub fn status_of_code(code: u16) -> Status {
    Status::of_standard_code(code).unwrap_or(Status::Code(code))
}

/// CoHTTP's `Code.code_of_status`.
pub fn code_of_status(status: &Status) -> u16 {
    status.code_and_class().0
}

/// CoHTTP's `Code.string_of_status`: `"404 Not Found"` for a named status,
/// but `"N Status N"` for [`Status::Code`]`(N)`, even when `N` has a name.
pub fn string_of_status(status: &Status) -> String {
    match status {
        Status::Code(code) => format!("{code} Status {code}"),
        named => {
            let code = code_of_status(named);
            format!("{code} {}", reason_phrase_of_code(code))
        }
    }
}

fn class_of_code(code: u16) -> Option<Class> {
    status_of_code(code).code_and_class().1
}

/// CoHTTP's `Code.is_informational`. Like CoHTTP, only the codes it names
/// count: `is_informational(199)` is false.
pub fn is_informational(code: u16) -> bool {
    class_of_code(code) == Some(Class::Informational)
}

/// CoHTTP's `Code.is_success` (named codes only: `is_success(299)` is false).
pub fn is_success(code: u16) -> bool {
    class_of_code(code) == Some(Class::Success)
}

/// CoHTTP's `Code.is_redirection` (named codes only).
pub fn is_redirection(code: u16) -> bool {
    class_of_code(code) == Some(Class::Redirection)
}

/// CoHTTP's `Code.is_client_error` (named codes only: 419 is not one).
pub fn is_client_error(code: u16) -> bool {
    class_of_code(code) == Some(Class::ClientError)
}

/// CoHTTP's `Code.is_server_error` (named codes only).
pub fn is_server_error(code: u16) -> bool {
    class_of_code(code) == Some(Class::ServerError)
}

/// CoHTTP's `Code.is_error`: a client or a server error.
pub fn is_error(code: u16) -> bool {
    is_client_error(code) || is_server_error(code)
}

impl Status {
    /// [`code_of_status`] as a method.
    pub fn code(&self) -> u16 {
        code_of_status(self)
    }

    /// `Http.Status.body_allowed`: RFC 7230 §3.3 forbids a body in a 1xx,
    /// 204 or 304 response.
    pub fn body_allowed(&self) -> bool {
        match self.code() {
            204 | 304 => false,
            code => !(100..200).contains(&code),
        }
    }
}

impl Method {
    /// `Http.Method.body_allowed`: per RFC 7231, `GET`, `HEAD`, `CONNECT` and
    /// `TRACE` requests carry no body; every other method may.
    pub fn body_allowed(&self) -> bool {
        !matches!(
            self,
            Method::Get | Method::Head | Method::Connect | Method::Trace
        )
    }
}

impl fmt::Display for Version {
    /// Writes [`string_of_version`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(string_of_version(self))
    }
}

impl fmt::Display for Method {
    /// Writes [`string_of_method`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(string_of_method(self))
    }
}

impl fmt::Display for Status {
    /// Writes [`string_of_status`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&string_of_status(self))
    }
}

impl FromStr for Version {
    type Err = Infallible;

    /// [`version_of_string`]: never fails.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(version_of_string(s))
    }
}

impl FromStr for Method {
    type Err = Infallible;

    /// [`method_of_string`]: never fails.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(method_of_string(s))
    }
}

impl From<u16> for Status {
    /// [`status_of_code`].
    fn from(code: u16) -> Self {
        status_of_code(code)
    }
}

impl From<Status> for u16 {
    /// [`code_of_status`].
    fn from(status: Status) -> Self {
        code_of_status(&status)
    }
}

impl From<&http::Method> for Method {
    fn from(method: &http::Method) -> Self {
        method_of_string(method.as_str())
    }
}

impl From<http::Method> for Method {
    fn from(method: http::Method) -> Self {
        Method::from(&method)
    }
}

impl TryFrom<&Method> for http::Method {
    type Error = Error;

    /// Fails with [`Error::InvalidMethod`] when a [`Method::Other`] is not an
    /// HTTP token.
    fn try_from(method: &Method) -> Result<Self, Error> {
        let name = string_of_method(method);
        http::Method::from_bytes(name.as_bytes()).map_err(|source| Error::InvalidMethod {
            method: name.to_owned(),
            source,
        })
    }
}

impl TryFrom<Method> for http::Method {
    type Error = Error;

    /// As for `&Method`.
    fn try_from(method: Method) -> Result<Self, Error> {
        http::Method::try_from(&method)
    }
}

impl From<http::StatusCode> for Status {
    fn from(status: http::StatusCode) -> Self {
        status_of_code(status.as_u16())
    }
}

impl TryFrom<Status> for http::StatusCode {
    type Error = Error;

    /// Fails with [`Error::InvalidStatusCode`] for a [`Status::Code`] outside
    /// `100..=999`.
    fn try_from(status: Status) -> Result<Self, Error> {
        let code = code_of_status(&status);
        http::StatusCode::from_u16(code).map_err(|source| Error::InvalidStatusCode { code, source })
    }
}

impl From<http::Version> for Version {
    /// HTTP/1.0 and HTTP/1.1 map to their variants; the others become
    /// [`Version::Other`] holding `"HTTP/0.9"`, `"HTTP/2.0"` or `"HTTP/3.0"`.
    fn from(version: http::Version) -> Self {
        match version {
            http::Version::HTTP_10 => Version::Http1_0,
            http::Version::HTTP_11 => Version::Http1_1,
            other => Version::Other(format!("{other:?}")),
        }
    }
}

impl TryFrom<&Version> for http::Version {
    type Error = Error;

    /// Accepts the two named versions and the `Other` strings `HTTP/0.9`,
    /// `HTTP/2`, `HTTP/2.0`, `HTTP/3` and `HTTP/3.0`; anything else is
    /// [`Error::UnsupportedVersion`].
    fn try_from(version: &Version) -> Result<Self, Error> {
        match version {
            Version::Http1_0 => Ok(http::Version::HTTP_10),
            Version::Http1_1 => Ok(http::Version::HTTP_11),
            Version::Other(s) => match s.as_str() {
                "HTTP/0.9" => Ok(http::Version::HTTP_09),
                "HTTP/1.0" => Ok(http::Version::HTTP_10),
                "HTTP/1.1" => Ok(http::Version::HTTP_11),
                "HTTP/2" | "HTTP/2.0" => Ok(http::Version::HTTP_2),
                "HTTP/3" | "HTTP/3.0" => Ok(http::Version::HTTP_3),
                _ => Err(Error::UnsupportedVersion { version: s.clone() }),
            },
        }
    }
}

impl TryFrom<Version> for http::Version {
    type Error = Error;

    /// As for `&Version`.
    fn try_from(version: Version) -> Result<Self, Error> {
        http::Version::try_from(&version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_maps_back_to_itself() {
        for code in 0..=1000u16 {
            let status = status_of_code(code);
            assert_eq!(code_of_status(&status), code);
            if let Status::Code(_) = status {
                assert_eq!(reason_phrase_of_code(code), code.to_string());
            }
        }
    }

    #[test]
    fn http_version_round_trip() {
        for v in [
            http::Version::HTTP_09,
            http::Version::HTTP_10,
            http::Version::HTTP_11,
            http::Version::HTTP_2,
            http::Version::HTTP_3,
        ] {
            let ours = Version::from(v);
            assert_eq!(http::Version::try_from(&ours).ok(), Some(v));
        }
    }

    #[test]
    fn http_conversions_refuse_what_http_cannot_hold() {
        assert!(matches!(
            http::Method::try_from(&Method::Other("BAD METHOD".into())),
            Err(Error::InvalidMethod { .. })
        ));
        assert_eq!(
            http::Method::try_from(Method::Other("PURGE".into())).ok(),
            http::Method::from_bytes(b"PURGE").ok()
        );
        assert!(matches!(
            http::StatusCode::try_from(Status::Code(1000)),
            Err(Error::InvalidStatusCode { code: 1000, .. })
        ));
        assert_eq!(
            Status::from(http::StatusCode::IM_A_TEAPOT),
            Status::ImATeapot
        );
        assert!(matches!(
            http::Version::try_from(Version::Other("SPDY/3".into())),
            Err(Error::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn classes_cover_named_codes_only() {
        assert!(is_success(200) && !is_success(299));
        assert!(is_error(404) && is_error(503) && !is_error(419));
        assert!(is_informational(101) && is_redirection(308));
        assert_eq!(string_of_status(&Status::Code(200)), "200 Status 200");
        assert_eq!(
            compare_method(&Method::Get, &Method::Post),
            std::cmp::Ordering::Less
        );
    }
}
