//! hyper's errors turned into paf's, once for the client and the server.

use std::io;

use paf_core::{error::find_cause, Error};

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
    Error::protocol(err.to_string(), Some(Box::new(err)))
}
