//! A running server: where it listens, and the handle that stops it.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tracing::warn;

/// Where a [`Running`] server listens.
#[derive(Debug)]
pub(super) enum Listening {
    Tcp(SocketAddr),
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(PathBuf),
    /// A listener of the user's with no IP address to report.
    Other,
}

/// A server accepting connections in a spawned task, returned by
/// [`Server::bind_tcp`](super::Server::bind_tcp), [`Server::bind_unix`](super::Server::bind_unix)
/// and [`Server::serve`](super::Server::serve).
///
/// Dropping it does not stop the server: take a [`StopHandle`] first, or
/// call [`stop`](Running::stop).
#[derive(Debug)]
pub struct Running {
    pub(super) listening: Listening,
    pub(super) tls: bool,
    pub(super) stop: StopHandle,
    pub(super) task: JoinHandle<()>,
}

impl Running {
    /// The TCP address listened on (with the port chosen when 0 was asked),
    /// `None` for a Unix socket or a listener that has no IP address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.listening {
            Listening::Tcp(addr) => Some(*addr),
            Listening::Unix(_) | Listening::Other => None,
        }
    }

    /// The path of the Unix socket listened on, `None` for TCP.
    pub fn unix_path(&self) -> Option<&Path> {
        match &self.listening {
            Listening::Unix(path) => Some(path),
            Listening::Tcp(_) | Listening::Other => None,
        }
    }

    /// The base URL of a TCP server: `http://127.0.0.1:8080`,
    /// `https://[::1]:8443`. An unspecified address (`0.0.0.0`, `::`) is
    /// given as the loopback address of its family, which reaches it.
    /// `None` for a Unix socket.
    pub fn url(&self) -> Option<String> {
        let addr = self.local_addr()?;
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.tls { "https" } else { "http" };
        Some(format!("{scheme}://{}", SocketAddr::new(ip, addr.port())))
    }

    /// A handle that stops this server from anywhere (a signal handler,
    /// another task).
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops the server (see [`StopHandle::stop`]) and returns once every
    /// connection has ended: at the latest when `grace` is over, when the
    /// connections still open are aborted.
    pub async fn stop(self, grace: Duration) {
        self.stop.stop(grace);
        self.wait().await;
    }

    /// Waits until the server was stopped through a [`StopHandle`] and every
    /// connection has ended.
    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            warn!(error = %e, "the accept loop failed");
        }
    }
}

/// The value a stop sets: when connections still open get aborted.
pub(super) type StopSignal = watch::Receiver<Option<Instant>>;

/// Stops a [`Running`] server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle {
    pub(super) tx: watch::Sender<Option<Instant>>,
}

impl StopHandle {
    /// Stops the server: the listener is closed at once (new connections are
    /// refused), idle connections are closed, HTTP/2 clients get a GOAWAY,
    /// and requests in flight may finish within `grace`; then whatever is
    /// still open is aborted. Returns at once; [`Running::stop`] and
    /// [`Running::wait`] wait for the end.
    ///
    /// Calling it again can shorten the grace period, never lengthen it
    /// (a second Ctrl-C can mean "now").
    pub fn stop(&self, grace: Duration) {
        let now = Instant::now();
        // A grace too large for the clock means "no hurry": a year will do.
        let deadline = now
            .checked_add(grace)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        self.tx.send_if_modified(|current| match current {
            Some(earlier) if *earlier <= deadline => false,
            _ => {
                *current = Some(deadline);
                true
            }
        });
    }

    /// Whether [`stop`](StopHandle::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.tx.borrow().is_some()
    }
}

/// Resolves once a stop was asked for. When every [`StopHandle`] is gone
/// nobody can stop the server any more: it never resolves.
pub(super) async fn stopped(stop: &mut StopSignal) {
    let unstoppable = stop.wait_for(Option::is_some).await.is_err();
    if unstoppable {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_stop_only_shortens_the_grace() {
        let (tx, rx) = watch::channel(None);
        let handle = StopHandle { tx };
        assert!(!handle.is_stopped());
        handle.stop(Duration::from_secs(10));
        let first = rx.borrow().unwrap();
        handle.stop(Duration::from_secs(100));
        assert_eq!(*rx.borrow(), Some(first));
        handle.stop(Duration::ZERO);
        assert!(rx.borrow().unwrap() < first);
        handle.stop(Duration::MAX);
        assert!(handle.is_stopped());
    }
}
