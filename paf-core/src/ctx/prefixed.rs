//! A stream whose first bytes were already read elsewhere: a proxy's bytes
//! after its `200`, a server's sniffed protocol preface.

use std::io::{self, Read, Write};

use bytes::Bytes;

/// A stream that yields `prefix` (bytes already read from it, say to
/// sniff what protocol it speaks) before its own; writes go straight to it.
/// Blocking (`Read + Write`) or async (tokio's traits), as the stream is.
///
/// ```
/// use std::io::Read;
/// use paf_core::{bytes::Bytes, ctx::Prefixed};
///
/// let mut stream = Prefixed::new(Bytes::from_static(b"GET "), &b"/ HTTP/1.1"[..]);
/// let mut line = String::new();
/// stream.read_to_string(&mut line)?;
/// assert_eq!(line, "GET / HTTP/1.1");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    /// `inner`, with `prefix` read first.
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Prefixed { prefix, inner }
    }

    /// The stream itself.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream, and what of the prefix was not read yet.
    pub fn into_parts(self) -> (Bytes, S) {
        (self.prefix, self.inner)
    }

    /// Up to `room` bytes of the prefix, taken: `None` once it is all read.
    fn take_prefix(&mut self, room: usize) -> Option<Bytes> {
        if self.prefix.is_empty() || room == 0 {
            return None;
        }
        let n = room.min(self.prefix.len());
        Some(self.prefix.split_to(n))
    }
}

impl<S: Read> Read for Prefixed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.take_prefix(buf.len()) {
            Some(early) => {
                buf[..early.len()].copy_from_slice(&early);
                Ok(early.len())
            }
            None => self.inner.read(buf),
        }
    }
}

impl<S: Write> Write for Prefixed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<S: super::BlockingIo> super::BlockingIo for Prefixed<S> {
    fn set_timeouts(
        &mut self,
        read: Option<std::time::Duration>,
        write: Option<std::time::Duration>,
    ) -> io::Result<()> {
        self.inner.set_timeouts(read, write)
    }
}

#[cfg(feature = "tokio")]
mod async_io {
    use std::{
        io,
        pin::Pin,
        task::{Context, Poll},
    };

    use bytes::Buf;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    use super::Prefixed;

    impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            if this.prefix.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            Poll::Ready(Ok(()))
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
        }
        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_flush(cx)
        }
        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
        }
    }
}
