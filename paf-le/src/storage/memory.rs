//! [`MemoryStorage`]: a [`Storage`] in the process's memory.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use paf_core::BoxFuture;

use super::{check_key, Lease, Storage, StorageError};

/// A [`Storage`] that lives as long as the process: for tests, and for a
/// single process that does not keep its certificates across restarts.
/// A [`Config`](crate::Config) without storage uses one, shared by its
/// clones, so that tasks of one process still take turns.
///
/// Cheap to clone; clones share the values and locks.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    values: BTreeMap<String, Vec<u8>>,
    locks: HashMap<String, Lease>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // Every operation is one map call, so a panic elsewhere cannot leave
    // the maps half-updated: a poisoned lock is still good.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for MemoryStorage {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            Ok(self.inner().values.get(key).cloned())
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            self.inner().values.insert(key.to_string(), value);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            self.inner().values.remove(key);
            Ok(())
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        Box::pin(async move {
            Ok(self
                .inner()
                .values
                .range(prefix.to_string()..)
                .map(|(key, _)| key)
                .take_while(|key| key.starts_with(prefix))
                .cloned()
                .collect())
        })
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        Box::pin(async move {
            check_key(name)?;
            let mut inner = self.inner();
            let now = SystemTime::now();
            if let Some(held) = inner.locks.get(name) {
                if !held.is_expired_at(now) {
                    return Ok(None);
                }
            }
            let lease = Lease::new(name, lease)?;
            inner.locks.insert(name.to_string(), lease.clone());
            Ok(Some(lease))
        })
    }

    fn unlock<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let mut inner = self.inner();
            if inner
                .locks
                .get(lease.name())
                .is_some_and(|held| held.token() == lease.token())
            {
                inner.locks.remove(lease.name());
            }
            Ok(())
        })
    }

    fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        duration: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        Box::pin(async move {
            let mut inner = self.inner();
            let now = SystemTime::now();
            let Some(held) = inner.locks.get_mut(lease.name()) else {
                return Ok(None);
            };
            if held.token() != lease.token() || held.is_expired_at(now) {
                return Ok(None);
            }
            let expires = now
                .checked_add(duration.min(super::MAX_LEASE))
                .unwrap_or(now + super::MAX_LEASE);
            *held = Lease::from_parts(lease.name(), lease.token(), expires);
            Ok(Some(held.clone()))
        })
    }
}
