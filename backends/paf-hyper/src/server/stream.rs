//! Byte-stream helpers under hyper: a write timeout for peers that read
//! nothing, and the version sniffing of plain connections.

use std::{
    future::poll_fn,
    io,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use paf_core::{ctx::Io, timer::WaitTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::Instant,
};

use super::builder::finite;

/// What a client speaking HTTP/2 with prior knowledge sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A stream whose writes fail with [`io::ErrorKind::TimedOut`] when one has
/// been blocked for `limit`: the peer reads nothing, and its connection
/// would otherwise hold its buffers for as long as it likes.
pub(super) struct SendTimeout<I> {
    io: I,
    limit: Duration,
    /// Armed while a write is blocked; made at the first block only, so
    /// that connections that never block pay nothing.
    timer: WaitTimer,
}

impl<I> SendTimeout<I> {
    pub(super) fn new(io: I, limit: Duration) -> Self {
        SendTimeout {
            io,
            limit,
            timer: WaitTimer::new(),
        }
    }

    /// Passes a write's outcome through, arming the timer when the write
    /// blocks and failing it once the timer has run out.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.timer.disarm();
            return poll;
        }
        let Some(limit) = finite(self.limit) else {
            return Poll::Pending;
        };
        self.timer.arm(|| Instant::now() + limit);
        if self.timer.poll_expired(cx) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer read nothing for {limit:?}"),
            )));
        }
        Poll::Pending
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for SendTimeout<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SendTimeout<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Proto {
    Http1,
    Http2,
}

/// Reads a plain connection's first bytes, up to the length of the HTTP/2
/// preface, and says which version they start. Done here rather than by
/// hyper-util's auto builder because that one waits for them without a time
/// limit, so a silent client would hold a connection forever.
pub(super) async fn sniff<I: Io>(io: &mut I) -> io::Result<(Proto, Bytes)> {
    let mut buf = [0u8; H2_PREFACE.len()];
    let mut filled = 0;
    while filled < buf.len() {
        let n = poll_fn(|cx| {
            let mut read = ReadBuf::new(&mut buf[filled..]);
            ready!(Pin::new(&mut *io).poll_read(cx, &mut read))?;
            Poll::Ready(Ok::<_, io::Error>(read.filled().len()))
        })
        .await?;
        let end = filled + n;
        if n == 0 || buf[filled..end] != H2_PREFACE[filled..end] {
            return Ok((Proto::Http1, Bytes::copy_from_slice(&buf[..end])));
        }
        filled = end;
    }
    Ok((Proto::Http2, Bytes::copy_from_slice(&buf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paf_core::ctx::Prefixed;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sniffs a stream on which `sent` was written (then closed when
    /// `close`), and reads the whole stream back through [`Prefixed`].
    async fn sniff_sent(sent: &[u8], close: bool) -> (Proto, Vec<u8>) {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(sent).await.unwrap();
        if close {
            drop(client);
        } else {
            client.shutdown().await.unwrap();
        }
        let (proto, seen) = sniff(&mut server).await.unwrap();
        let mut again = Vec::new();
        Prefixed::new(seen, server)
            .read_to_end(&mut again)
            .await
            .unwrap();
        (proto, again)
    }

    #[tokio::test]
    async fn sniff_tells_http2_preface_from_http1_and_loses_no_byte() {
        let http1 = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        let (proto, again) = sniff_sent(http1, false).await;
        assert!(matches!(proto, Proto::Http1));
        assert_eq!(again, http1);

        let mut http2 = H2_PREFACE.to_vec();
        http2.extend_from_slice(b"frames");
        let (proto, again) = sniff_sent(&http2, false).await;
        assert!(matches!(proto, Proto::Http2));
        assert_eq!(again, http2);
    }

    #[tokio::test]
    async fn sniff_stops_at_eof() {
        let (proto, again) = sniff_sent(b"PRI *", true).await;
        assert!(matches!(proto, Proto::Http1));
        assert_eq!(again, b"PRI *");
    }
}
