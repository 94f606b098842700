//! Unix socket files: not clobbering what is not ours, cleaning up
//! what is.

use std::{
    io,
    os::unix::fs::{FileTypeExt, MetadataExt},
    path::{Path, PathBuf},
};

use paf_core::server::PeerAddr;
use tokio::net::{UnixListener, UnixStream};
use tracing::debug;

/// Removes a socket file left by a server that is gone; refuses to touch
/// anything else.
pub(super) async fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        ));
    }
    match UnixStream::connect(path).await {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "a server is listening on this socket",
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            debug!(path = %path.display(), "removing a stale socket file");
            std::fs::remove_file(path)
        }
        Err(e) => Err(e),
    }
}

/// A Unix listener and its socket file, removed when dropped (after the
/// listener is closed, as fields drop in order).
pub(super) struct Listener {
    listener: UnixListener,
    _file: SocketFile,
}

impl Listener {
    pub(super) fn new(listener: UnixListener, path: &Path) -> Self {
        let identity = std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        Listener {
            listener,
            _file: SocketFile {
                path: path.to_path_buf(),
                identity,
            },
        }
    }
}

impl paf_core::server::Listener for Listener {
    type Io = UnixStream;

    async fn accept(&mut self) -> io::Result<(UnixStream, PeerAddr)> {
        paf_core::server::Listener::accept(&mut self.listener).await
    }
}

struct SocketFile {
    path: PathBuf,
    /// Device and inode of the socket we bound: if another server has
    /// since bound the same path, its file is left alone.
    identity: Option<(u64, u64)>,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let current = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if current.is_some() && current == self.identity {
            if let Err(e) = std::fs::remove_file(&self.path) {
                debug!(path = %self.path.display(), error = %e, "cannot remove the socket file");
            }
        }
    }
}
