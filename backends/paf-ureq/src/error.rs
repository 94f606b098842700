//! ureq's errors turned into paf's, once for the exchange and the body.
//!
//! Errors the transport context raised while connecting travel through ureq
//! inside `ureq::Error::Other` and come out unchanged; the rest are sorted
//! into the variants a caller acts on, with ureq's error kept as the source.

use std::{io, time::Duration};

use paf_core::{
    error::{ProtocolKind, TimeoutKind},
    Error,
};

use crate::transport::ClosedBeforeResponse;

/// What the mapping needs to know about the exchange that failed.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The request's URL, for messages.
    pub(crate) url: String,
    /// The TLS server name, when the connection is TLS.
    pub(crate) server_name: Option<String>,
    /// The whole-request timeout (ureq's global one).
    pub(crate) timeout: Option<Duration>,
    /// The response-head timeout (ureq's `timeout_recv_response`).
    pub(crate) response_head_timeout: Option<Duration>,
    /// The body's read-idle limit, which the transport applies.
    pub(crate) body_idle_timeout: Option<Duration>,
}

impl Exchange {
    pub(crate) fn error(&self, err: ureq::Error) -> Error {
        match err {
            ureq::Error::Other(other) => self.other(other),
            ureq::Error::Io(io) => self.io(io),
            // ureq is given the whole-request budget and the response-head
            // one; connect limits come from the context, and the body's idle
            // limit comes out of the transport as paf's own error.
            ureq::Error::Timeout(ureq::Timeout::RecvResponse) => Error::Timeout {
                what: TimeoutKind::ResponseHead,
                after: self.response_head_timeout.unwrap_or_default(),
            },
            ureq::Error::Timeout(_) => Error::Timeout {
                what: TimeoutKind::Request,
                after: self.timeout.unwrap_or_default(),
            },
            ureq::Error::BodyExceedsLimit(limit) => Error::BodyTooLarge { limit },
            ureq::Error::BadUri(reason) => Error::InvalidUrl {
                url: self.url.clone(),
                reason,
            },
            ureq::Error::Tls(reason) => Error::Tls {
                server_name: self.server_name.clone().unwrap_or_default(),
                source: reason.into(),
            },
            ureq::Error::LargeResponseHeader(size, limit) => Error::protocol_of(
                ProtocolKind::HeadTooLarge,
                format!("the response head is larger than {limit} bytes ({size} read)"),
                Some(Box::new(ureq::Error::LargeResponseHeader(size, limit))),
            ),
            ureq::Error::Protocol(e) => {
                Error::protocol_of(ProtocolKind::Malformed, e.to_string(), Some(Box::new(e)))
            }
            ureq::Error::Http(e) => Error::protocol_of(
                ProtocolKind::BadRequest,
                format!("the request cannot be sent: {e}"),
                Some(Box::new(e)),
            ),
            // Status codes, redirects, proxies and TLS requirements are
            // switched off in the agent's configuration; whatever else ureq
            // reports is a failure to speak HTTP with the peer.
            other => Error::protocol(other.to_string(), Some(Box::new(other))),
        }
    }

    fn other(&self, other: Box<dyn std::error::Error + Send + Sync>) -> Error {
        let other = match other.downcast::<Error>() {
            Ok(paf) => return *paf,
            Err(other) => other,
        };
        match other.downcast::<ClosedBeforeResponse>() {
            Ok(closed) => {
                Error::protocol_of(ProtocolKind::ClosedEarly, closed.to_string(), Some(closed))
            }
            Err(other) => Error::protocol(other.to_string(), Some(other)),
        }
    }

    /// I/O errors: a rustls error under a TLS stream is a TLS failure, an
    /// early end is a message cut short, and a paf error carried by the
    /// request body's reader comes out as itself.
    pub(crate) fn io(&self, err: io::Error) -> Error {
        let inner = err.get_ref();
        if inner.is_some_and(|inner| inner.is::<Error>()) {
            return Error::from_io(err);
        }
        if inner.is_some_and(|inner| inner.is::<paf_core::rustls::Error>()) {
            return Error::Tls {
                server_name: self.server_name.clone().unwrap_or_default(),
                source: paf_core::tls::rustls_cause(err),
            };
        }
        if inner.is_some_and(|inner| inner.is::<ureq::Error>()) {
            return self.error(ureq::Error::from(err));
        }
        match err.kind() {
            io::ErrorKind::UnexpectedEof => Error::protocol_of(
                ProtocolKind::ClosedEarly,
                "the connection closed before the message was complete",
                Some(Box::new(err)),
            ),
            _ => Error::Io(err),
        }
    }
}
