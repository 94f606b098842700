//! [`LockGuard`]: waiting for a [`Storage`] lock, and giving it back.

use std::{sync::Arc, time::Duration};

use tracing::debug;

use super::{Lease, Storage, StorageError};

/// The first pause between two tries for a held lock; it doubles up to
/// the maximum, so a waiter notices a release within a second or so
/// without polling a shared backend hard.
const FIRST_WAIT: Duration = Duration::from_millis(50);
const MAX_WAIT: Duration = Duration::from_secs(1);

/// A lock held through a [`Storage`], released by
/// [`release`](LockGuard::release) or, failing that, when dropped (in the
/// background, within a tokio runtime) or when its lease ends.
#[derive(Debug)]
pub struct LockGuard {
    storage: Arc<dyn Storage>,
    lease: Option<Lease>,
}

impl LockGuard {
    /// Takes the lock `name` for `lease`, waiting while someone else
    /// holds it. The wait is bounded by the holder's lease, after which
    /// the lock is taken over.
    pub async fn acquire(
        storage: Arc<dyn Storage>,
        name: &str,
        lease: Duration,
    ) -> Result<LockGuard, StorageError> {
        let mut wait = FIRST_WAIT;
        loop {
            if let Some(lease) = storage.try_lock(name, lease).await? {
                return Ok(LockGuard {
                    storage,
                    lease: Some(lease),
                });
            }
            debug!(lock = name, ?wait, "the lock is held: waiting");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }

    /// The lease held.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// Gives the lock back now.
    pub async fn release(mut self) -> Result<(), StorageError> {
        match self.lease.take() {
            Some(lease) => self.storage.unlock(&lease).await,
            None => Ok(()),
        }
    }

    /// [`release`](LockGuard::release), a failure only logged: the lock
    /// then ends with its lease, which is all a caller could do about it.
    pub(crate) async fn release_or_log(self) {
        let name = self.lease.as_ref().map(|lease| lease.name().to_string());
        if let Err(e) = self.release().await {
            tracing::warn!(lock = ?name, error = %e, "cannot release the lock; it ends with its lease");
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Dropped without `release` (an error path, a cancelled task):
        // give it back in the background rather than make the others
        // wait for the lease to end.
        let Some(lease) = self.lease.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let storage = self.storage.clone();
        runtime.spawn(async move {
            if let Err(e) = storage.unlock(&lease).await {
                tracing::warn!(lock = lease.name(), error = %e, "cannot release the lock; it ends with its lease");
            }
        });
    }
}
