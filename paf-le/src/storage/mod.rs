//! Where paf-le keeps what must outlive the process: ACME accounts,
//! certificate bundles, and the locks that keep two processes sharing a
//! store from ordering the same certificate twice.
//!
//! [`Storage`] is a small key/value interface with leased locks, after
//! certmagic's `Storage`: [`FileStorage`] keeps values in a directory
//! (one machine), [`MemoryStorage`] in the process; a shared backend
//! (Redis, a database) implements the same six methods. Keys are
//! `/`-separated paths of plain segments, such as
//! `accounts/<directory>/account.json` or
//! `certificates/<directory>/<name>/bundle.pem`; the layout is paf-le's
//! business, a backend only stores bytes under names.

mod encrypted;
mod file;
mod lock;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::{
    fmt, io,
    time::{Duration, SystemTime},
};

use paf_core::{BoxError, BoxFuture};

#[cfg(feature = "redis")]
pub use self::redis::RedisStorage;
pub use encrypted::{DecryptionError, EncryptedStorage};
pub use file::FileStorage;
pub use lock::LockGuard;
pub use memory::MemoryStorage;

/// A key/value store with leased locks, shared by every process that
/// manages the same certificates.
///
/// Values are small (a few KiB) and written whole: after `put` returns, a
/// `get` anywhere sees either the old value or the new one, never a mix
/// of both, even across a crash. Values hold private keys, so a backend
/// must keep them from other users (the file store writes mode 0600).
///
/// A lock is a lease: it is held until released or until its lease ends,
/// whichever comes first, so a process that dies holding it delays the
/// others by at most the lease. paf-le never works under a lock longer
/// than the lease it asked for.
///
/// Methods return boxed futures so that the trait can be used as
/// `Arc<dyn Storage>`:
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use paf_le::{MemoryStorage, Storage};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), paf_le::StorageError> {
/// let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
/// storage.put("certificates/a/bundle.pem", b"...".to_vec()).await?;
/// assert_eq!(storage.list("certificates/").await?, ["certificates/a/bundle.pem"]);
///
/// let lease = storage.try_lock("certificates/a", Duration::from_secs(60)).await?;
/// let lease = lease.expect("nobody else holds it");
/// assert!(storage.try_lock("certificates/a", Duration::from_secs(60)).await?.is_none());
/// storage.unlock(&lease).await?;
/// # Ok(()) }
/// ```
pub trait Storage: fmt::Debug + Send + Sync + 'static {
    /// The value at `key`, or `None` when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>>;

    /// Stores `value` at `key`, replacing any value there as one unit.
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Removes the value at `key`; removing a missing key is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Every key that starts with `prefix` (`""` lists all), sorted.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>>;

    /// Takes the lock `name` for `lease` if nobody holds it, or if its
    /// holder's lease has ended; `None` when someone holds it.
    ///
    /// Lock names are keys of their own: they share the key syntax but
    /// not the values' namespace.
    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>>;

    /// Releases a lock taken with [`try_lock`](Storage::try_lock). A lock
    /// whose lease ended and that someone else took since is left alone.
    fn unlock<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Lengthens a lease still held to `duration` from now, and tells
    /// whether it is still held: `None` when the lease ended and someone
    /// else took the lock since, or nobody holds it any more (the caller
    /// should then stop the work the lock guards and write nothing).
    ///
    /// paf-le calls it while it orders, so that a long order keeps its
    /// lock, and once more just before it stores the certificate (a
    /// fencing check: a holder that lost its lock does not overwrite what
    /// the next holder wrote). Optional: the default fails with
    /// [`StorageError::Unsupported`], and paf-le then relies on the lease
    /// it was given ([`Lease::expires`]) alone.
    fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        duration: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        let _ = (lease, duration);
        Box::pin(std::future::ready(Err(StorageError::Unsupported {
            what: "extending a lease",
        })))
    }
}

/// A lock held until [`Storage::unlock`] or until [`expires`](Lease::expires).
///
/// The token tells this holder from the next one, so that a holder whose
/// lease ran out cannot release the lock of whoever took it over.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    name: String,
    token: String,
    expires: SystemTime,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.name)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// A lease of `name` for `duration` from now, with a new random token:
    /// what a backend hands out when the lock was free.
    pub fn new(name: impl Into<String>, duration: Duration) -> Result<Self, StorageError> {
        let now = SystemTime::now();
        Ok(Lease {
            name: name.into(),
            token: random_hex(16)?,
            expires: now.checked_add(duration).unwrap_or(now + MAX_LEASE),
        })
    }

    /// A lease as a backend recorded it.
    pub fn from_parts(
        name: impl Into<String>,
        token: impl Into<String>,
        expires: SystemTime,
    ) -> Self {
        Lease {
            name: name.into(),
            token: token.into(),
            expires,
        }
    }

    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What identifies this holder of the lock.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// When the lease ends, by the wall clock of the machine that took it.
    pub fn expires(&self) -> SystemTime {
        self.expires
    }

    /// Whether the lease has ended at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        now >= self.expires
    }
}

/// The longest lease a backend records; longer asks are cut to this.
const MAX_LEASE: Duration = Duration::from_secs(7 * 86_400);

/// What went wrong in a [`Storage`] backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The key (or lock name) is not one a backend accepts: see
    /// [`check_key`].
    #[error("{key:?} is not a valid storage key: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Reading or writing failed: a file system error, a connection to a
    /// storage server that broke.
    #[error("cannot {action} {location}")]
    Io {
        /// What was being done (`write`, `read`, `create the directory`…).
        action: &'static str,
        /// The file, or the key and server.
        location: String,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// The backend does not offer this (optional) operation.
    #[error("the storage backend does not support {what}")]
    Unsupported {
        /// The operation.
        what: &'static str,
    },

    /// The backend failed in a way of its own (a server's error reply).
    #[error("the storage backend could not {action} {key}")]
    Backend {
        /// What was being done.
        action: &'static str,
        /// The key or lock name.
        key: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl StorageError {
    pub(crate) fn io(action: &'static str, location: impl fmt::Display, source: io::Error) -> Self {
        StorageError::Io {
            action,
            location: location.to_string(),
            source,
        }
    }
}

/// Checks that `key` is a storage key: `/`-separated segments of ASCII
/// letters, digits and `.` `_` `-` `+` `@`, none empty or starting with a
/// dot (which also keeps `.` and `..` out), at most 512 bytes.
///
/// Every backend can then map keys onto its own names safely (the file
/// store onto paths that stay under its root, and keeps dot names for its
/// temporary and lock files).
pub fn check_key(key: &str) -> Result<(), StorageError> {
    let invalid = |reason| StorageError::InvalidKey {
        key: key.to_string(),
        reason,
    };
    if key.is_empty() {
        return Err(invalid("it is empty"));
    }
    if key.len() > 512 {
        return Err(invalid("it is longer than 512 bytes"));
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return Err(invalid("it has an empty segment"));
        }
        if segment.starts_with('.') {
            return Err(invalid("a segment starts with a dot"));
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'@'))
        {
            return Err(invalid(
                "only ASCII letters, digits and . _ - + @ may be used",
            ));
        }
    }
    Ok(())
}

/// `bytes` random bytes from the system's generator, in hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String, StorageError> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| {
            StorageError::io(
                "draw random bytes for",
                "a lease token or temporary file name",
                io::Error::other("the system's random generator failed"),
            )
        })?;
    Ok(hex(&buf))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
