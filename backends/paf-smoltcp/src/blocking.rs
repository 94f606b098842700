//! Streams for blocking code (ureq): the calling thread parks until the
//! socket's waker unparks it. The stack's driver goes on in its own
//! runtime, so the caller needs none.

use std::{
    io::{self, Read, Write},
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Wake, Waker},
    thread::{self, Thread},
    time::{Duration, Instant},
};

use paf_core::ctx::BlockingIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stream::TcpStream;

/// Unparks a waiting thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls until ready, parking the thread in between; `None` once
/// `deadline` has passed.
pub(crate) fn wait<T>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> Option<T> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return Some(value);
        }
        // A wake-up between the poll and the park is kept as the thread's
        // token: park returns at once. Spurious returns poll again.
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                thread::park_timeout(left);
            }
        }
    }
}

/// A [`TcpStream`] for blocking code: `std::io::Read` and `Write`, each
/// call waiting at most its timeout (none by default), and a
/// [`BlockingIo`] for paf's blocking clients.
#[derive(Debug)]
pub struct BlockingTcpStream {
    stream: TcpStream,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl BlockingTcpStream {
    pub(crate) fn new(stream: TcpStream) -> Self {
        BlockingTcpStream {
            stream,
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// Bounds each read (`None`: wait for ever); a read that times out
    /// fails with [`io::ErrorKind::TimedOut`] and takes nothing.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Bounds each write, as [`set_read_timeout`](Self::set_read_timeout)
    /// bounds reads.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// Sends a FIN once what was written has gone; the peer reads to its
    /// end.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        let stream = Pin::new(&mut self.stream);
        let mut cx = Context::from_waker(Waker::noop());
        match stream.poll_shutdown(&mut cx) {
            Poll::Ready(result) => result,
            Poll::Pending => Ok(()),
        }
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.stream.peer_addr()
    }

    /// The async stream inside.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }
}

fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + t)
}

fn timed_out(what: &str, after: Option<Duration>) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} timed out after {:?}", after.unwrap_or_default()),
    )
}

impl Read for BlockingTcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let stream = &mut self.stream;
        let read = wait(deadline(self.read_timeout), |cx| {
            let mut buf = ReadBuf::new(&mut *buf);
            match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        });
        read.unwrap_or_else(|| Err(timed_out("reading", self.read_timeout)))
    }
}

impl Write for BlockingTcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let stream = &mut self.stream;
        let written = wait(deadline(self.write_timeout), |cx| {
            Pin::new(&mut *stream).poll_write(cx, buf)
        });
        written.unwrap_or_else(|| Err(timed_out("writing", self.write_timeout)))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlockingIo for BlockingTcpStream {
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.read_timeout = read;
        self.write_timeout = write;
        Ok(())
    }
}
