//! hyper's errors turned into paf's, once for the client and the server.
//! (paf-reqwest, whose engine is hyper too, reads the same predicates.)

use std::io;

use paf_core::{
    error::{find_cause, ProtocolKind},
    Error,
};

/// Maps a hyper error to the paf variant a caller can act on: an I/O cause
/// gives [`Error::Io`] of the same kind, a failing user body gives
/// [`Error::Body`], and everything else (bad framing, early close) is
/// [`Error::Protocol`] with hyper's wording. hyper's error stays the source.
pub(crate) fn from_hyper(err: hyper::Error) -> Error {
    if let Some(kind) = find_cause::<io::Error>(&err).map(io::Error::kind) {
        return Error::Io(io::Error::new(kind, err));
    }
    if err.is_user() {
        return Error::Body {
            source: Box::new(err),
        };
    }
    Error::protocol_of(protocol_kind(&err), err.to_string(), Some(Box::new(err)))
}

/// The kind of a hyper error that is not about I/O or a user's body.
pub(crate) fn protocol_kind(err: &hyper::Error) -> ProtocolKind {
    if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        ProtocolKind::ClosedEarly
    } else if err.is_parse_too_large() {
        ProtocolKind::HeadTooLarge
    } else if err.is_parse() || err.is_parse_status() {
        ProtocolKind::Malformed
    } else {
        ProtocolKind::Other
    }
}
