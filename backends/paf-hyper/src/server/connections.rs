//! What each open connection is doing, and the shedding that makes room
//! for a new one at the connection limit: connections that are idle
//! (keep-alive with no request, or a head still coming) or stalled (every
//! request in progress waiting for a body byte) are closed, oldest first,
//! so a flood of clients that send nothing cannot lock out new ones.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};
use tracing::Span;

/// Marks "not waiting for a body byte" in [`Activity::wait_since`].
const NOT_WAITING: u64 = u64::MAX;

/// How busy a connection is: the requests begun and ended on it. A request
/// only adds to two counters and reads a flag; it does not read the clock.
/// The idle watch ([`Activity::idle_for`]) reads the counters now and then
/// instead: it naps until the idle deadline while nothing happens (the first
/// request to begin wakes it), and looks again every
/// [`IDLE_PROBES`]th of the idle limit while requests come and go, so that
/// it knows when the last one ended to within that much. It also carries
/// what each request needs of its connection: its span.
pub(super) struct Activity {
    /// The connection's tracing span, parent of its requests' spans.
    pub(super) span: Span,
    began: AtomicU64,
    ended: AtomicU64,
    /// The idle watch is napping until its deadline: a request that begins
    /// must wake it.
    napping: AtomicBool,
    wake: Notify,
    /// When the connection started; `wait_since` counts from here.
    base: Instant,
    /// Request bodies whose read is waiting for a byte.
    body_waits: AtomicUsize,
    /// Milliseconds from `base` to when `body_waits` last left zero.
    wait_since: AtomicU64,
}

/// How finely the idle watch places the end of the last request: a
/// connection is closed between the idle limit and an eighth more after it.
pub(super) const IDLE_PROBES: u32 = 8;

/// What the idle watch knows of a connection's quiet: no request was in
/// progress after `since`, as of its last look, which saw the counters at
/// `seen`.
pub(super) struct Quiet {
    since: Instant,
    seen: u64,
}

impl Quiet {
    /// Quiet from now on, whatever came before (a GOAWAY just sent: the peer
    /// gets a whole idle period to answer it).
    pub(super) fn restart(&mut self) {
        self.since = Instant::now();
    }
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
            began: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            napping: AtomicBool::new(false),
            wake: Notify::new(),
            base: Instant::now(),
            body_waits: AtomicUsize::new(0),
            wait_since: AtomicU64::new(NOT_WAITING),
        }
    }

    /// A request is in progress from now.
    #[inline]
    pub(super) fn request_began(&self) {
        self.began.fetch_add(1, Ordering::SeqCst);
        // Paired with the watch's store of `napping` then load of `began`:
        // either it sees this request, or this sees it napping.
        if self.napping.load(Ordering::SeqCst) && self.napping.swap(false, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    /// A request is no longer in progress.
    #[inline]
    pub(super) fn request_ended(&self) {
        self.ended.fetch_add(1, Ordering::AcqRel);
    }

    /// The requests in progress, and a figure that changes whenever a
    /// request begins or ends.
    fn counts(&self) -> (u64, u64) {
        // `ended` first: a request is counted as begun before it ends, so
        // the difference is never negative.
        let ended = self.ended.load(Ordering::Acquire);
        let began = self.began.load(Ordering::SeqCst);
        (began.saturating_sub(ended), began.wrapping_add(ended))
    }

    /// The connection as its idle watch first sees it: quiet since it
    /// started.
    pub(super) fn quiet(&self) -> Quiet {
        Quiet {
            since: self.base,
            seen: self.counts().1,
        }
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
        let (in_flight, _) = self.counts();
        if in_flight == 0 {
            return true;
        }
        let since = self.wait_since.load(Ordering::Acquire);
        let stalled_ms = u64::try_from(stalled_after.as_millis()).unwrap_or(u64::MAX);
        u64::try_from(self.body_waits.load(Ordering::Acquire)).unwrap_or(u64::MAX) >= in_flight
            && since != NOT_WAITING
            && self.elapsed_ms().saturating_sub(since) >= stalled_ms
    }

    /// Resolves once no request has been in progress for `limit` (and at
    /// most `limit / IDLE_PROBES` more), `quiet` keeping what was seen
    /// across calls.
    pub(super) async fn idle_for(&self, limit: Duration, quiet: &mut Quiet) {
        // At least a millisecond: a zero limit must not spin while busy.
        let probe = (limit / IDLE_PROBES).max(Duration::from_millis(1));
        loop {
            let (in_flight, seen) = self.counts();
            let now = Instant::now();
            if in_flight > 0 || seen != quiet.seen {
                // Requests came or went since the last look: the last one
                // ended (if it did) before now. Look again shortly.
                quiet.seen = seen;
                quiet.since = now;
                tokio::time::sleep(probe).await;
                continue;
            }
            let Some(deadline) = quiet.since.checked_add(limit) else {
                // No limit a clock can reach: never idle.
                return std::future::pending().await;
            };
            if now >= deadline {
                return;
            }
            self.napping.store(true, Ordering::SeqCst);
            if self.counts().1 != seen {
                // A request began before it could see the nap.
                self.napping.store(false, Ordering::SeqCst);
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.wake.notified() => {}
            }
            self.napping.store(false, Ordering::SeqCst);
        }
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
        busy.request_began();
        stalled.request_began();
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

    /// Requests come and go for a while, then stop: the idle watch fires
    /// no sooner than the limit after the last one ended, and no later than
    /// an eighth of it more, whether it was napping or probing meanwhile.
    #[tokio::test(start_paused = true)]
    async fn idle_is_counted_from_the_last_request_to_within_an_eighth() {
        let activity = Activity::default();
        let limit = Duration::from_secs(8);
        let mut quiet = activity.quiet();
        let start = Instant::now();
        let requests = async {
            // A first request after a nap, then a busy stretch.
            tokio::time::sleep(Duration::from_secs(5)).await;
            for _ in 0..20 {
                activity.request_began();
                tokio::time::sleep(Duration::from_millis(300)).await;
                activity.request_ended();
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            Instant::now() - Duration::from_millis(700)
        };
        let idle = async {
            activity.idle_for(limit, &mut quiet).await;
            Instant::now()
        };
        let (last_end, idle_at) = tokio::join!(requests, idle);
        assert!(last_end > start + Duration::from_secs(20));
        assert!(idle_at >= last_end + limit, "{:?}", idle_at - last_end);
        assert!(
            idle_at <= last_end + limit + limit / IDLE_PROBES,
            "{:?}",
            idle_at - last_end
        );

        // One short request while the watch naps: it is woken, and counts
        // from that request's end, not from its nap's.
        let once = Activity::default();
        let mut quiet = once.quiet();
        let request = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            once.request_began();
            tokio::time::sleep(Duration::from_millis(300)).await;
            once.request_ended();
            Instant::now()
        };
        let idle = async {
            once.idle_for(limit, &mut quiet).await;
            Instant::now()
        };
        let (ended, idle_at) = tokio::join!(request, idle);
        assert!(idle_at >= ended + limit, "{:?}", idle_at - ended);
        assert!(
            idle_at <= ended + limit + limit / IDLE_PROBES,
            "{:?}",
            idle_at - ended
        );

        // A connection nobody uses is idle exactly the limit after its start.
        let unused = Activity::default();
        let mut quiet = unused.quiet();
        let start = Instant::now();
        unused.idle_for(limit, &mut quiet).await;
        assert_eq!(Instant::now() - start, limit);
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
