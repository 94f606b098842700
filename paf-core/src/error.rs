//! The one error type of paf-core, shared by every backend.
//!
//! Variants are what a caller can act on (retry a timeout, fix a URL, trust a
//! CA); the underlying cause is kept in [`std::error::Error::source`]. Each
//! message names the thing that failed: the URL, the endpoint, the server name.

use std::{fmt, io, time::Duration};

/// A boxed error from a layer below paf (an engine, a user's stream).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with paf's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The first cause of type `T` in an error's chain, `err` itself included.
///
/// An [`io::Error`] answers `source()` with the *inner* error's source,
/// hiding the error it wraps; the walk looks inside it explicitly, so a
/// `rustls::Error` or a `hyper::Error` carried in an `io::Error` is found.
///
/// ```
/// use std::io;
/// use paf_core::error::find_cause;
///
/// let inner = io::Error::new(io::ErrorKind::TimedOut, "slow peer");
/// let outer = paf_core::Error::Io(inner);
/// let found = find_cause::<io::Error>(&outer).map(io::Error::kind);
/// assert_eq!(found, Some(io::ErrorKind::TimedOut));
/// ```
pub fn find_cause<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cause = Some(err);
    while let Some(c) = cause {
        if let Some(found) = c.downcast_ref::<T>() {
            return Some(found);
        }
        cause = match c.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    None
}

/// What went wrong while making an HTTP exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be used for a request (no host, unknown scheme, bad syntax).
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// The transport could not connect to the endpoint (refused, unreachable,
    /// name not resolved, user transport failed).
    #[error("cannot connect to {endpoint}")]
    Connect {
        /// The endpoint that was tried, as text (`tcp://host:port`, `unix:/path`, …).
        endpoint: String,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// The TLS handshake failed or the peer's certificate was refused.
    #[error("TLS with {server_name} failed")]
    Tls {
        /// The server name used for SNI and verification.
        server_name: String,
        /// The cause (usually a [`rustls::Error`]).
        #[source]
        source: BoxError,
    },

    /// An operation did not finish in time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out.
        what: TimeoutKind,
        /// The limit that was passed.
        after: Duration,
    },

    /// The peer broke the HTTP protocol (bad status line, bad framing, a
    /// connection closed before the message was complete).
    #[error("HTTP protocol error: {message}")]
    Protocol {
        /// Which kind of failure, to act on.
        kind: ProtocolKind,
        /// What was wrong, in the engine's words.
        message: String,
        /// The engine's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// A body was longer than the cap the caller set.
    #[error("body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The cap in bytes.
        limit: u64,
    },

    /// More redirects in a row than the policy allows.
    #[error("more than {limit} redirects; the next would go to {url}")]
    TooManyRedirects {
        /// The policy's limit.
        limit: usize,
        /// Where the next redirect pointed.
        url: String,
    },

    /// The chosen backend cannot do what the request or its context asks.
    #[error("the {backend} backend does not support {feature}")]
    Unsupported {
        /// The backend's name (`hyper`, `reqwest`, `ureq`).
        backend: &'static str,
        /// What it cannot do (e.g. `user transport "mem"`).
        feature: String,
    },

    /// The transport context holds nothing that reaches the target.
    #[error("no transport reaches {target}: {reason}")]
    NoTransport {
        /// The target (URL or host) that was to be reached.
        target: String,
        /// What the context lacked.
        reason: NoTransportReason,
    },

    /// Producing or consuming a body failed (a user's stream returned an error).
    #[error("body stream failed")]
    Body {
        /// The stream's error.
        #[source]
        source: BoxError,
    },

    /// Reading or writing a file or a socket failed.
    #[error("I/O error")]
    Io(#[from] io::Error),
}

/// The operation a [`Error::Timeout`] refers to. Each client limit of
/// [`crate::client::Builder`] gives its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the connection (transport and TLS handshake):
    /// [`crate::client::Builder::connect_timeout`].
    Connect,
    /// The whole exchange, from connecting to the end of the response body:
    /// [`crate::client::Builder::timeout`].
    Request,
    /// Reading the body as a whole. paf's own limits never give it (a
    /// stalled body is [`TimeoutKind::BodyIdle`]); it is kept for code that
    /// reports a total body limit of its own.
    Body,
    /// Waiting for the response head, from the request's last byte to the
    /// end of the response's headers:
    /// [`crate::client::Builder::response_head_timeout`].
    ResponseHead,
    /// Waiting for the next bytes of the response body, with none arriving:
    /// [`crate::client::Builder::body_idle_timeout`].
    BodyIdle,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connecting",
            TimeoutKind::Request => "the request",
            TimeoutKind::Body => "reading the body",
            TimeoutKind::ResponseHead => "waiting for the response head",
            TimeoutKind::BodyIdle => "waiting for more of the response body",
        })
    }
}

/// The kinds of [`Error::Protocol`]: what a caller can tell apart whatever
/// the engine that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolKind {
    /// The connection closed (or was reset) before the message was
    /// complete.
    ClosedEarly,
    /// The peer sent what is not HTTP: a bad status line, header or
    /// framing.
    Malformed,
    /// The response head was larger than the engine accepts.
    HeadTooLarge,
    /// The request cannot be written as HTTP (a header the version
    /// forbids, say).
    BadRequest,
    /// The engine could not be set up for the request.
    Engine,
    /// Anything else the engine reported.
    Other,
}

impl fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolKind::ClosedEarly => "the connection closed before the message was complete",
            ProtocolKind::Malformed => "the peer's message is malformed",
            ProtocolKind::HeadTooLarge => "the response head is too large",
            ProtocolKind::BadRequest => "the request cannot be written",
            ProtocolKind::Engine => "the engine cannot be set up",
            ProtocolKind::Other => "the engine failed",
        })
    }
}

/// Why the context reaches nothing ([`Error::NoTransport`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoTransportReason {
    /// The context has no URL and no explicit endpoint.
    NoTarget,
    /// The context has no URL (so no port) and no explicit endpoint.
    NoPort,
    /// TLS needs a server name: the context has no URL and none was set.
    NoServerName,
    /// No transport is registered under the endpoint's transport name.
    NotRegistered {
        /// The name the endpoint asks for.
        name: String,
        /// Whether a blocking transport was looked for.
        blocking: bool,
        /// The names that are registered.
        registered: Vec<String>,
    },
    /// The endpoint's value is not of the type its transport takes.
    WrongEndpointType {
        /// The transport's name.
        transport: String,
        /// Whether it is a blocking transport.
        blocking: bool,
        /// The type it takes.
        expected: &'static str,
    },
}

impl fmt::Display for NoTransportReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |blocking: &bool| {
            if *blocking {
                "blocking transport"
            } else {
                "transport"
            }
        };
        match self {
            NoTransportReason::NoTarget => {
                f.write_str("the context has no host and no explicit endpoint")
            }
            NoTransportReason::NoPort => {
                f.write_str("no port: the context has no URL and no explicit endpoint")
            }
            NoTransportReason::NoServerName => {
                f.write_str("TLS needs a server name: set a URL or Ctx::with_server_name")
            }
            NoTransportReason::NotRegistered {
                name,
                blocking,
                registered,
            } => write!(
                f,
                "no {} is registered as {name:?} (registered: {registered:?})",
                kind(blocking)
            ),
            NoTransportReason::WrongEndpointType {
                transport,
                blocking,
                expected,
            } => write!(
                f,
                "{} {transport:?} takes endpoints of type {expected}",
                kind(blocking)
            ),
        }
    }
}

impl Error {
    /// A protocol error of kind [`ProtocolKind::Other`] with a message and
    /// an optional cause.
    pub fn protocol(message: impl Into<String>, source: Option<BoxError>) -> Self {
        Error::protocol_of(ProtocolKind::Other, message, source)
    }

    /// A protocol error of this kind.
    pub fn protocol_of(
        kind: ProtocolKind,
        message: impl Into<String>,
        source: Option<BoxError>,
    ) -> Self {
        Error::Protocol {
            kind,
            message: message.into(),
            source,
        }
    }

    /// The kind of a protocol error, `None` for the other variants.
    pub fn protocol_kind(&self) -> Option<ProtocolKind> {
        match self {
            Error::Protocol { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Turns any boxed error into a paf error: a paf [`Error`] is kept as it
    /// is, an [`io::Error`] becomes [`Error::Io`] (or the paf error it wraps),
    /// anything else becomes [`Error::Body`].
    pub fn from_boxed(err: BoxError) -> Self {
        let err = match err.downcast::<Error>() {
            Ok(e) => return *e,
            Err(e) => e,
        };
        match err.downcast::<io::Error>() {
            Ok(io) => Error::from_io(*io),
            Err(other) => Error::Body { source: other },
        }
    }

    /// Unwraps a paf error carried inside an [`io::Error`] (as happens when a
    /// paf body is read through an `AsyncRead` adapter); other I/O errors
    /// become [`Error::Io`].
    pub fn from_io(err: io::Error) -> Self {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = err.into_inner() {
                if let Ok(paf) = inner.downcast::<Error>() {
                    return *paf;
                }
            }
            return Error::protocol("I/O error lost its cause", None);
        }
        Error::Io(err)
    }

    /// True for [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// True for [`Error::Connect`] and connect timeouts: nothing was sent.
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. }
                | Error::Timeout {
                    what: TimeoutKind::Connect,
                    ..
                }
        )
    }

    /// True for [`Error::Tls`].
    pub fn is_tls(&self) -> bool {
        matches!(self, Error::Tls { .. })
    }

    /// True for [`Error::BodyTooLarge`].
    pub fn is_body_too_large(&self) -> bool {
        matches!(self, Error::BodyTooLarge { .. })
    }

    /// True for [`Error::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }

    /// True for [`Error::Protocol`].
    pub fn is_protocol(&self) -> bool {
        matches!(self, Error::Protocol { .. })
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::Io(io) => io,
            other => {
                let kind = match &other {
                    Error::Timeout { .. } => io::ErrorKind::TimedOut,
                    Error::Connect { .. } => io::ErrorKind::ConnectionRefused,
                    _ => io::ErrorKind::Other,
                };
                io::Error::new(kind, other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn source_is_kept_for_connect_errors() {
        let err = Error::Connect {
            endpoint: "tcp://127.0.0.1:1".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert!(err.is_connect());
        assert_eq!(err.to_string(), "cannot connect to tcp://127.0.0.1:1");
        let source = err.source().expect("connect errors keep their cause");
        assert_eq!(
            source.downcast_ref::<io::Error>().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
    }

    #[test]
    fn paf_error_survives_a_round_trip_through_io_error() {
        let io: io::Error = Error::BodyTooLarge { limit: 10 }.into();
        let back = Error::from_io(io);
        assert!(matches!(back, Error::BodyTooLarge { limit: 10 }));
    }

    #[test]
    fn boxed_errors_are_classified() {
        let boxed: BoxError = Box::new(Error::Timeout {
            what: TimeoutKind::Body,
            after: Duration::from_secs(1),
        });
        assert!(Error::from_boxed(boxed).is_timeout());
        let boxed: BoxError = Box::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(
            matches!(Error::from_boxed(boxed), Error::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
        );
        let boxed: BoxError = "user stream broke".into();
        assert!(matches!(Error::from_boxed(boxed), Error::Body { .. }));
    }

    #[test]
    fn timeout_message_names_the_operation() {
        let err = Error::Timeout {
            what: TimeoutKind::Connect,
            after: Duration::from_millis(250),
        };
        assert_eq!(err.to_string(), "connecting timed out after 250ms");
        assert!(err.is_connect() && err.is_timeout());
    }
}
