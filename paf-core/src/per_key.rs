//! A bounded map of values kept per connection key: what a backend whose
//! engine fixes its settings when it is built (a reqwest client, a ureq
//! agent, each with its connection pool) keeps one of per key.

use std::{
    collections::HashMap,
    fmt,
    hash::Hash,
    sync::{Mutex, PoisonError},
};

/// Values by key, at most `capacity` of them; past it the one used least
/// recently is dropped (and with it, say, an engine's idle connections).
/// Contexts built anew for every request (a fresh TLS configuration each
/// time) must not grow a backend without bound.
///
/// ```
/// use paf_core::per_key::PerKey;
///
/// let engines: PerKey<&str, u32> = PerKey::new(2);
/// let built = engines.get_or_try_insert_with("a", || Ok::<_, ()>(1));
/// assert_eq!(built, Ok(1));
/// engines.get_or_try_insert_with("b", || Ok::<_, ()>(2)).unwrap();
/// // "a" is used again, so "b" is the least recently used when "c" comes.
/// engines.get_or_try_insert_with("a", || Err::<u32, ()>(())).unwrap();
/// engines.get_or_try_insert_with("c", || Ok::<_, ()>(3)).unwrap();
/// assert!(engines.contains(&"a") && !engines.contains(&"b"));
/// ```
pub struct PerKey<K, V> {
    capacity: usize,
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Counts lookups: an entry's last one tells how recently it was used.
    clock: u64,
}

struct Entry<V> {
    value: V,
    last_used: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> PerKey<K, V> {
    /// An empty map keeping at most `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        PerKey {
            capacity: capacity.max(1),
            state: Mutex::new(State {
                entries: HashMap::new(),
                clock: 0,
            }),
        }
    }

    /// The value kept for `key`, or the one `make` builds, which is kept
    /// (dropping the least recently used value at capacity). `make` runs
    /// under the map's lock: it should only build, not wait on the network.
    pub fn get_or_try_insert_with<E>(
        &self,
        key: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.clock += 1;
        let now = state.clock;
        if let Some(entry) = state.entries.get_mut(&key) {
            entry.last_used = now;
            return Ok(entry.value.clone());
        }
        let value = make()?;
        if state.entries.len() >= self.capacity {
            let oldest = state
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                state.entries.remove(&oldest);
            }
        }
        state.entries.insert(
            key,
            Entry {
                value: value.clone(),
                last_used: now,
            },
        );
        Ok(value)
    }

    /// Whether a value is kept for `key`.
    pub fn contains(&self, key: &K) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.entries.contains_key(key)
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K, V> fmt::Debug for PerKey<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.state.lock().map_or(0, |state| state.entries.len());
        f.debug_struct("PerKey")
            .field("capacity", &self.capacity)
            .field("len", &len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_value_goes_at_capacity() {
        let map = PerKey::new(3);
        for key in 0..3 {
            map.get_or_try_insert_with(key, || Ok::<_, ()>(key * 10))
                .unwrap();
        }
        // 0 and 2 are used again: 1 is the least recently used.
        map.get_or_try_insert_with(0, || Err(())).unwrap();
        map.get_or_try_insert_with(2, || Err(())).unwrap();
        map.get_or_try_insert_with(3, || Ok::<_, ()>(30)).unwrap();
        assert_eq!(map.len(), 3);
        assert!(!map.contains(&1));
        assert!(map.contains(&0) && map.contains(&2) && map.contains(&3));
    }

    #[test]
    fn a_failed_build_keeps_nothing() {
        let map: PerKey<u8, u8> = PerKey::new(2);
        assert_eq!(map.get_or_try_insert_with(1, || Err("no")), Err("no"));
        assert!(map.is_empty());
    }
}
