//! Bodies between paf and ureq: the request body ureq reads from, and the
//! response body paf's caller reads from, both streamed.

use std::io::{self, Read};

use paf_core::{blocking, Error};
use sync_wrapper::SyncWrapper;

use crate::{error::Exchange, transport::BodyIdle};

/// A request body as ureq reads it. With a stated length it must deliver
/// exactly that many bytes (ureq frames the message with `Content-Length`
/// and would wait for ever for missing bytes); the reader's own failures are
/// [`Error::Body`], told apart from the connection's.
pub(crate) struct RequestBody {
    body: blocking::Body,
    len: Option<u64>,
    read: u64,
}

impl RequestBody {
    /// `len`: the length the message states (`Content-Length`), if any.
    pub(crate) fn new(body: blocking::Body, len: Option<u64>) -> Self {
        RequestBody { body, len, read: 0 }
    }
}

impl Read for RequestBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = match self.len {
            Some(len) => {
                let left = len - self.read;
                usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()))
            }
            None => buf.len(),
        };
        if want == 0 {
            return Ok(0);
        }
        let n = loop {
            match self.body.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(body_error(e)),
            }
        };
        self.read += n as u64;
        if let (0, Some(len)) = (n, self.len) {
            return Err(Error::Body {
                source: format!(
                    "the request body ended after {} of its {len} bytes",
                    self.read
                )
                .into(),
            }
            .into());
        }
        Ok(n)
    }
}

/// A failing body reader: a paf error it carries is kept, anything else is
/// the stream's own failure.
fn body_error(err: io::Error) -> io::Error {
    let paf = if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        Error::from_io(err)
    } else {
        Error::Body {
            source: Box::new(err),
        }
    };
    paf.into()
}

/// A response body as paf's caller reads it: ureq's reader, with its errors
/// mapped to paf's (they reach the caller inside `io::Error`, where
/// [`Error::from_io`] and [`blocking::Body::read_to_bytes`] find them).
pub(crate) struct ResponseBody {
    // `blocking::Body` wants `Sync`; the reader is only used through `&mut`.
    reader: SyncWrapper<ureq::BodyReader<'static>>,
    /// Bytes still to come, when the length is known.
    left: Option<u64>,
    exchange: Exchange,
}

impl ResponseBody {
    pub(crate) fn new(
        reader: ureq::BodyReader<'static>,
        len: Option<u64>,
        exchange: Exchange,
    ) -> Self {
        ResponseBody {
            reader: SyncWrapper::new(reader),
            left: len,
            exchange,
        }
    }
}

impl Read for ResponseBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // ureq reads from the connection inside this call, on this thread:
        // the transport bounds those reads by the idle limit.
        let _idle = BodyIdle::enter(self.exchange.body_idle_timeout);
        let reader = self.reader.get_mut();
        let n = reader.read(buf).map_err(|e| self.exchange.io(e))?;
        if let Some(left) = &mut self.left {
            *left = left.saturating_sub(n as u64);
            if *left == 0 && n > 0 {
                // ureq hands the connection back to its pool when it is asked
                // for more past the end; a caller who read exactly the length
                // may never ask.
                let _ = reader.read(&mut [0; 1]);
            }
        }
        Ok(n)
    }
}
