//! The blocking client side, for engines that run without an async runtime
//! (ureq). Bodies are plain [`std::io::Read`]ers.

use std::{
    fmt,
    io::{self, Read},
};

use bytes::Bytes;
use http::{Request, Response};

use crate::{Error, Result};

mod engine;
pub use engine::{Engine, EngineClient};

/// A blocking HTTP client backend. As with [`crate::client::Client`], every
/// status code is a response.
pub trait Client: Send + Sync + 'static {
    /// Sends a request and returns the response with its body still to be read.
    fn send(&self, request: Request<Body>) -> Result<Response<Body>>;

    /// The backend's name.
    fn backend(&self) -> &'static str;
}

/// A blocking body: bytes in memory or a reader.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Full(io::Cursor<Bytes>),
    Reader(Box<dyn Read + Send + Sync>, Option<u64>),
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Self {
        Body::full(Bytes::new())
    }

    /// A body of the given bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Body {
            kind: Kind::Full(io::Cursor::new(bytes.into())),
        }
    }

    /// A body read from `reader`; `len` is its exact length when known.
    pub fn from_reader(reader: impl Read + Send + Sync + 'static, len: Option<u64>) -> Self {
        Body {
            kind: Kind::Reader(Box::new(reader), len),
        }
    }

    /// A copy of the body when it is in memory and unread; `None` for
    /// readers, which can be read only once.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Full(c) if c.position() == 0 => Some(Body::full(c.get_ref().clone())),
            _ => None,
        }
    }

    /// The exact length in bytes, when known before reading.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Full(c) => Some(c.get_ref().len() as u64 - c.position()),
            Kind::Reader(_, len) => *len,
        }
    }

    /// True when the body is known to hold no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Reads the whole body, failing with [`Error::BodyTooLarge`] past `limit`.
    pub fn read_to_bytes(mut self, limit: usize) -> Result<Bytes> {
        if self.len().is_some_and(|len| len > limit as u64) {
            return Err(Error::BodyTooLarge {
                limit: limit as u64,
            });
        }
        if let Kind::Full(cursor) = &self.kind {
            if cursor.position() == 0 {
                return Ok(cursor.get_ref().clone());
            }
        }
        let mut buf = Vec::new();
        // One byte past the cap tells "exactly at the cap" from "over it".
        let read = (&mut self)
            .take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(Error::from_io)?;
        if read > limit {
            return Err(Error::BodyTooLarge {
                limit: limit as u64,
            });
        }
        Ok(buf.into())
    }

    /// Reads the whole body as UTF-8, with the same cap.
    pub fn read_to_string(self, limit: usize) -> Result<String> {
        let bytes = self.read_to_bytes(limit)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| Error::Body {
            source: Box::new(e),
        })
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Full(c) => c.read(buf),
            Kind::Reader(r, _) => r.read(buf),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Body")
            .field("len", &self.len())
            .finish()
    }
}

macro_rules! from_full {
    ($($t:ty),*) => {$(
        impl From<$t> for Body {
            fn from(value: $t) -> Self {
                Body::full(value)
            }
        }
    )*};
}
from_full!(Bytes, Vec<u8>, String, &'static str, &'static [u8]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_body_is_capped() {
        let body = Body::from_reader(io::repeat(b'a').take(10), None);
        assert!(body.read_to_bytes(9).unwrap_err().is_body_too_large());
        let body = Body::from_reader(io::repeat(b'a').take(10), None);
        assert_eq!(body.read_to_bytes(10).unwrap().len(), 10);
    }

    #[test]
    fn full_body_reads_and_knows_length() {
        let body = Body::from("héllo");
        assert_eq!(body.len(), Some(6));
        assert_eq!(body.read_to_string(6).unwrap(), "héllo");
        assert!(Body::from("abc")
            .read_to_bytes(2)
            .unwrap_err()
            .is_body_too_large());
    }
}
