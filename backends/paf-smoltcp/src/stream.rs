//! A TCP connection on the stack as a tokio stream. Reads and writes copy
//! between the caller's buffer and the socket's; smoltcp's wakers wake
//! the caller when there is more to read or room to write, and the stack's
//! driver is woken when there is something to send or the window opened.

use std::{
    fmt, io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};

use smoltcp::{iface::SocketHandle, socket::tcp};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stack::Handle;

/// A TCP connection on a [`Stack`](crate::Stack): tokio's `AsyncRead` and
/// `AsyncWrite`, as [`tokio::net::TcpStream`] has them.
///
/// It behaves as TCP does: [`shutdown`](tokio::io::AsyncWriteExt::shutdown)
/// sends a FIN once what was written has gone (the peer reads to its end,
/// and may go on writing); dropping the stream closes it the same way, and
/// the stack finishes the close on its own; [`abort`](TcpStream::abort)
/// resets it. Reads after the peer's FIN return 0; after a reset they fail
/// with [`io::ErrorKind::ConnectionReset`]. Nagle's algorithm is off.
pub struct TcpStream {
    stack: Handle,
    socket: SocketHandle,
    local: SocketAddr,
    peer: SocketAddr,
    /// The peer's FIN was read: every later read is the end, even once the
    /// socket has been recycled.
    read_done: bool,
    /// Shut down for writing by us.
    write_done: bool,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl TcpStream {
    pub(crate) fn new(
        stack: Handle,
        socket: SocketHandle,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        TcpStream {
            stack,
            socket,
            local,
            peer,
            read_done: false,
            write_done: false,
        }
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Resets the connection: a RST goes to the peer, whose reads and
    /// writes fail with [`io::ErrorKind::ConnectionReset`]; what was
    /// written and not yet sent is dropped.
    pub fn abort(self) {
        let mut state = self.stack.lock();
        if !state.is_down() {
            state.tcp(self.socket).abort();
        }
        drop(state);
        self.stack.wake_driver();
        // Drop takes the socket from here: it is already closed.
    }

    /// Waits for the handshake of a connection being opened.
    pub(crate) fn poll_connected(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.stack.lock();
        state.check_up()?;
        let socket = state.tcp(self.socket);
        match socket.state() {
            tcp::State::SynSent | tcp::State::SynReceived => {
                socket.register_send_waker(cx.waker());
                Poll::Pending
            }
            tcp::State::Closed | tcp::State::Listen => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("{} refused the connection", self.peer),
            ))),
            // Established, or already closing with the peer's data in.
            _ => Poll::Ready(Ok(())),
        }
    }

    fn reset_error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("the connection with {} was reset", self.peer),
        )
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read_done || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut state = this.stack.lock();
        state.check_up()?;
        let socket = state.tcp(this.socket);
        let queued = socket.recv_queue();
        let capacity = socket.recv_capacity();
        match socket.recv_slice(buf.initialize_unfilled()) {
            Ok(0) => {
                socket.register_recv_waker(cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                buf.advance(n);
                drop(state);
                // The window the peer was last told of may have been small;
                // the driver advertises the room this read made. A read
                // from a buffer less than half full made little difference
                // to a window that was already wide, unless it emptied it.
                if queued * 2 >= capacity || queued == n {
                    this.stack.wake_driver();
                }
                Poll::Ready(Ok(()))
            }
            Err(tcp::RecvError::Finished) => {
                this.read_done = true;
                Poll::Ready(Ok(()))
            }
            Err(tcp::RecvError::InvalidState) => Poll::Ready(Err(this.reset_error())),
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.write_done {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the stream was shut down for writing",
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut state = this.stack.lock();
        state.check_up()?;
        let socket = state.tcp(this.socket);
        match socket.send_slice(buf) {
            Ok(0) => {
                socket.register_send_waker(cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                drop(state);
                this.stack.wake_driver();
                Poll::Ready(Ok(n))
            }
            Err(tcp::SendError::InvalidState) => Poll::Ready(Err(this.reset_error())),
        }
    }

    /// Written bytes are in the socket's buffer, which the stack sends on
    /// its own: as with a kernel socket, there is nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.write_done {
            this.write_done = true;
            let mut state = this.stack.lock();
            if !state.is_down() {
                state.tcp(this.socket).close();
            }
            drop(state);
            this.stack.wake_driver();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.stack.lock().close_orphan(self.socket);
        self.stack.wake_driver();
    }
}
