//! What each open connection is doing, and the shedding that makes room
//! for a new one at the connection limit: connections that are idle
//! (keep-alive with no request, or a head still coming) or stalled (every
//! request in progress waiting for a body byte) are closed, oldest first,
//! so a flood of clients that send nothing cannot lock out new ones.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};
use tracing::Span;

/// Marks "not waiting for a body byte" in [`Activity::wait_since`].
const NOT_WAITING: u64 = u64::MAX;

/// How busy a connection is: the requests in progress on it, and when the
/// last one ended. A request only touches two atomics and reads the clock;
/// the idle watch sleeps once per idle period rather than being woken and
/// re-armed at the end of every request. It also carries what each request
/// needs of its connection: its span.
pub(super) struct Activity {
    /// The connection's tracing span, parent of its requests' spans.
    pub(super) span: Span,
    in_flight: AtomicUsize,
    /// When the connection started; `last_end` counts from here.
    base: Instant,
    /// Milliseconds from `base` to the end of the last request.
    last_end: AtomicU64,
    /// Request bodies whose read is waiting for a byte.
    body_waits: AtomicUsize,
    /// Milliseconds from `base` to when `body_waits` last left zero.
    wait_since: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new(Span::none())
    }
}

impl Activity {
    pub(super) fn new(span: Span) -> Self {
        Activity {
            span,
            in_flight: AtomicUsize::new(0),
            base: Instant::now(),
            last_end: AtomicU64::new(0),
            body_waits: AtomicUsize::new(0),
            wait_since: AtomicU64::new(NOT_WAITING),
        }
    }

    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Counts the idle period from now, as if a request had just ended.
    pub(super) fn touch(&self) {
        self.last_end.fetch_max(self.elapsed_ms(), Ordering::AcqRel);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// A request body's read starts waiting for a byte.
    pub(super) fn body_wait_begins(&self) {
        if self.body_waits.fetch_add(1, Ordering::AcqRel) == 0 {
            self.wait_since.store(self.elapsed_ms(), Ordering::Release);
        }
    }

    /// A waiting read got a byte, failed or was dropped.
    pub(super) fn body_wait_ends(&self) {
        if self.body_waits.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wait_since.store(NOT_WAITING, Ordering::Release);
        }
    }

    /// Idle, or every request in progress has waited `stalled_after` for a
    /// body byte.
    fn sheddable(&self, stalled_after: Duration) -> bool {
        let in_flight = self.in_flight.load(Ordering::Acquire);
        if in_flight == 0 {
            return true;
        }
        let since = self.wait_since.load(Ordering::Acquire);
        let stalled_ms = u64::try_from(stalled_after.as_millis()).unwrap_or(u64::MAX);
        self.body_waits.load(Ordering::Acquire) >= in_flight
            && since != NOT_WAITING
            && self.elapsed_ms().saturating_sub(since) >= stalled_ms
    }

    /// Resolves once no request has been in progress for `limit`.
    pub(super) async fn idle_for(&self, limit: Duration) {
        loop {
            if self.in_flight.load(Ordering::Acquire) > 0 {
                // Busy: look again a whole period later; the deadline is
                // counted from the end of the last request in any case.
                tokio::time::sleep(limit).await;
                continue;
            }
            let ended = Duration::from_millis(self.last_end.load(Ordering::Acquire));
            let deadline = self.base + ended + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// One request in progress; its end is when this is dropped.
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // Stored before the count drops, so that whoever sees no request in
        // progress also sees when the last one ended.
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections of a server, by age.
#[derive(Default)]
pub(super) struct Registry {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Entry>>,
}

struct Entry {
    activity: Arc<Activity>,
    shed: Arc<Notify>,
    asked: bool,
}

/// A connection's place in the [`Registry`], given up when dropped.
pub(super) struct Registered {
    registry: Arc<Registry>,
    /// The connection's number, unique in its server.
    pub(super) id: u64,
    /// Notified when the connection is to close to make room.
    pub(super) shed: Arc<Notify>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Entry>> {
        // Only a map of handles is behind the lock: still consistent after
        // a panic elsewhere.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn register(self: &Arc<Self>, activity: Arc<Activity>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let shed = Arc::new(Notify::new());
        self.lock().insert(
            id,
            Entry {
                activity,
                shed: shed.clone(),
                asked: false,
            },
        );
        Registered {
            registry: self.clone(),
            id,
            shed,
        }
    }

    /// Asks the oldest connection that is idle, or stalled for
    /// `stalled_after`, to close. Whether there was one.
    pub(super) fn shed_oldest(&self, stalled_after: Duration) -> bool {
        let mut open = self.lock();
        let found = open
            .values_mut()
            .find(|entry| !entry.asked && entry.activity.sheddable(stalled_after));
        match found {
            Some(entry) => {
                entry.asked = true;
                // A stored permit: the connection sees it even if it is not
                // waiting on the notification right now.
                entry.shed.notify_one();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_oldest_idle_or_stalled_connection_is_shed_first() {
        let registry = Arc::new(Registry::default());
        let busy = Arc::new(Activity::default());
        let stalled = Arc::new(Activity::default());
        let idle = Arc::new(Activity::default());
        let _busy_request = busy.begin();
        let _stalled_request = stalled.begin();
        stalled.body_wait_begins();
        let first = registry.register(busy.clone());
        let second = registry.register(stalled.clone());
        let third = registry.register(idle.clone());

        // The stalled read has not waited long enough yet: the idle one goes.
        assert!(registry.shed_oldest(Duration::from_secs(3600)));
        assert!(third.shed.notified().now_or_never_ok());
        assert!(!second.shed.notified().now_or_never_ok());

        assert!(registry.shed_oldest(Duration::ZERO));
        assert!(second.shed.notified().now_or_never_ok());
        // Nothing else may go: the busy connection is reading no body.
        assert!(!registry.shed_oldest(Duration::ZERO));
        assert!(!first.shed.notified().now_or_never_ok());

        stalled.body_wait_ends();
        drop(third);
        assert_eq!(registry.lock().len(), 2);
    }

    trait NowOrNever {
        fn now_or_never_ok(self) -> bool;
    }

    impl<F: std::future::Future> NowOrNever for F {
        fn now_or_never_ok(self) -> bool {
            use futures_util::FutureExt;
            self.now_or_never().is_some()
        }
    }
}
