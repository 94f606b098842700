//! A listening port. smoltcp's listening socket becomes the connection it
//! accepts, so a port keeps a backlog of listening sockets: the driver
//! moves those that completed a handshake to a ready queue and opens new
//! ones, and `accept` takes from the queue.

use std::{
    fmt, io,
    net::SocketAddr,
    task::{Context, Poll},
};

use paf_core::server::PeerAddr;
use smoltcp::socket::tcp;

use crate::{
    stack::{to_socket_addr, Handle},
    stream::TcpStream,
};

/// A TCP port listened on by a [`Stack`](crate::Stack), made by
/// [`Stack::listen`](crate::Stack::listen).
///
/// It is a [`paf_core::server::Listener`]: `paf_hyper::Server::serve`
/// serves it with the server's limits, TLS and graceful stop. Dropping it
/// closes the port: connections not yet accepted are reset, and new ones
/// are refused.
pub struct TcpListener {
    stack: Handle,
    local: SocketAddr,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TcpListener {
    pub(crate) fn new(stack: Handle, local: SocketAddr) -> Self {
        TcpListener { stack, local }
    }

    /// The address listened on: the stack's address and the port.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits for the next connection and says who it is from.
    ///
    /// A connection reset between its handshake and `accept` is
    /// [`io::ErrorKind::ConnectionAborted`] (take the next one); a stack
    /// whose device failed is [`io::ErrorKind::NotConnected`].
    pub async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// [`accept`](TcpListener::accept) as a poll function: `Pending` after
    /// arranging for `cx` to be woken when a connection is ready.
    pub fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let port = self.local.port();
        let mut guard = self.stack.lock();
        let state = &mut *guard;
        state.check_up()?;
        let Some(backlog) = state.listeners.get_mut(&port) else {
            return Poll::Ready(Err(io::Error::other("the listener's port was closed")));
        };
        let Some(socket) = backlog.ready.pop_front() else {
            backlog.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        // A slot of the backlog is free again.
        state.refill(port, &self.stack.config);
        let tcp = state.tcp(socket);
        let (Some(local), Some(peer)) = (tcp.local_endpoint(), tcp.remote_endpoint()) else {
            // Reset after its handshake: it has no peer any more.
            state.close_orphan(socket);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "a connection was reset before it was accepted",
            )));
        };
        let (local, peer) = (to_socket_addr(local), to_socket_addr(peer));
        drop(guard);
        Poll::Ready(Ok((
            TcpStream::new(self.stack.clone(), socket, local, peer),
            peer,
        )))
    }
}

impl paf_core::server::Listener for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(TcpStream, PeerAddr)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        Ok((stream, PeerAddr::Tcp(peer)))
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        Some(self.local)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let mut state = self.stack.lock();
        if let Some(backlog) = state.listeners.remove(&self.local.port()) {
            for socket in backlog.waiting {
                if state.tcp(socket).state() == tcp::State::Listen {
                    state.sockets.remove(socket);
                } else {
                    state.abort_orphan(socket);
                }
            }
            for socket in backlog.ready {
                state.abort_orphan(socket);
            }
        }
        drop(state);
        self.stack.wake_driver();
    }
}
