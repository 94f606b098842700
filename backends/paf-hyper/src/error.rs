//! hyper's errors turned into paf's, once for the client and the server.

use paf_core::Error;

/// Maps a hyper error to the paf variant a caller can act on: an I/O cause
/// stays [`Error::Io`], a paf error raised inside a body passes through, and
/// everything else (bad framing, early close) is [`Error::Protocol`] with
/// hyper's wording.
pub(crate) fn from_hyper(err: hyper::Error) -> Error {
    let message = err.to_string();
    match err.into_cause() {
        Some(cause) => match Error::from_boxed(cause) {
            Error::Body { source } => Error::protocol(message, Some(source)),
            other => other,
        },
        None => Error::protocol(message, None),
    }
}
