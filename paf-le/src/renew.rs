//! Renewal: a task that gets a new certificate once a set fraction of the
//! current one's lifetime has passed, and swaps it into the server; and
//! that never gets stuck.
//!
//! A failed renewal keeps the served certificate and is tried again after
//! a [`Backoff`]: one minute, doubling up to a day, jittered, never sooner
//! than the CA's `Retry-After`; a failure that trying again cannot fix
//! waits the whole day (the configuration may be fixed meanwhile). Every
//! outcome is logged through `tracing` and published as a
//! [`RenewalEvent`] to a callback and to subscribers, and the latest state
//! is kept in a watch channel.
//!
//! The time source is a [`Clock`], so tests (and programs with their own
//! notion of time) decide what "now" is. The task looks at the clock at
//! least every check interval, however far the renewal is, so a clock that
//! jumps is noticed within one interval. Each renewal goes through
//! [`obtain`](crate::obtain)'s lock: of several processes sharing a
//! storage, one orders and the others pick its certificate up.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use paf_core::BoxFuture;
use tokio::{
    sync::{broadcast, watch, Notify},
    task::JoinHandle,
};
use tracing::{error, info, warn};

use crate::{
    backoff::Backoff,
    certificate::Certificate,
    config::Config,
    error::Error,
    obtain::{self, Obtained, Origin, Want},
    resolver::CertResolver,
};

/// The default renewal point: two thirds of the lifetime (60 days into
/// Let's Encrypt's 90, as Let's Encrypt recommends).
pub const DEFAULT_RENEW_FRACTION: f64 = 2.0 / 3.0;
const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(3600);
/// Events kept for a subscriber that reads slowly; older ones are dropped
/// for it (it then sees `Lagged`), the state watch still has the latest.
const EVENT_BUFFER: usize = 64;

/// Tells the current time.
///
/// Any `Fn() -> SystemTime` is a clock:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// fn takes(_: impl paf_le::Clock) {}
/// takes(|| SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is set or moved: for tests of a
/// program's renewal. Clones share the time.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use paf_le::{Clock, ManualClock};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
/// let given_to_the_renewal = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(given_to_the_renewal.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<std::sync::Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: SystemTime) -> Self {
        ManualClock {
            now: Arc::new(std::sync::Mutex::new(now)),
        }
    }

    /// Shows `now` from now on.
    pub fn set(&self, now: SystemTime) {
        *self.lock() = now;
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    // Setting a time cannot be left half done: a poisoned lock is good.
    fn lock(&self) -> std::sync::MutexGuard<'_, SystemTime> {
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.lock()
    }
}

/// What the renewal task did: each outcome, as it happens.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RenewalEvent {
    /// A certificate was put in the resolver.
    #[non_exhaustive]
    Renewed {
        /// [`Origin::Issued`], or [`Origin::Stored`] when another process
        /// sharing the storage had renewed it already.
        origin: Origin,
        /// The end of the new certificate's validity.
        not_after: SystemTime,
        /// When it is due for renewal, by the task's clock.
        next_renewal: SystemTime,
    },
    /// A renewal failed; the served certificate stays.
    #[non_exhaustive]
    Failed {
        /// Why.
        error: Arc<Error>,
        /// Failures in a row, this one included.
        failures: u32,
        /// Whether trying again unchanged cannot help
        /// ([`Error::is_permanent`]): the retry is then at the long end of
        /// the backoff.
        permanent: bool,
        /// The wait before the next try.
        retry_in: Duration,
        /// The next try, by the task's clock.
        retry_at: SystemTime,
    },
}

type EventCallback = Arc<dyn Fn(&RenewalEvent) + Send + Sync>;

/// Configures the renewal task; [`spawn`](Renewal::spawn) starts it.
///
/// ```no_run
/// # async fn demo(config: paf_le::Config, resolver: std::sync::Arc<paf_le::CertResolver>,
/// #               cert: paf_le::Certificate) {
/// use paf_le::RenewalEvent;
/// let renewal = paf_le::Renewal::new(config, resolver)
///     .on_event(|event| {
///         if let RenewalEvent::Failed { error, retry_in, .. } = event {
///             eprintln!("renewal failed ({error}), next try in {retry_in:?}");
///         }
///     })
///     .spawn(cert);
/// // … serve …
/// renewal.stop().await;
/// # }
/// ```
pub struct Renewal {
    config: Config,
    resolver: Arc<CertResolver>,
    fraction: f64,
    clock: Arc<dyn Clock>,
    check_interval: Duration,
    backoff: Backoff,
    challenge_server: bool,
    on_event: Option<EventCallback>,
    issuer: Option<Arc<dyn Issue>>,
}

impl std::fmt::Debug for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewal")
            .field("fraction", &self.fraction)
            .field("check_interval", &self.check_interval)
            .field("backoff", &self.backoff)
            .field("challenge_server", &self.challenge_server)
            .finish_non_exhaustive()
    }
}

impl Renewal {
    /// Renews with `config` and puts each new certificate in `resolver`.
    /// Defaults: renew at the configuration's
    /// [`renew_fraction`](Config::renew_fraction), look at the clock at
    /// least hourly, retry failures after [`Backoff::default`], challenges
    /// answered by the program's own server (see
    /// [`with_challenge_server`](Renewal::with_challenge_server)).
    pub fn new(config: Config, resolver: Arc<CertResolver>) -> Self {
        Renewal {
            fraction: config.renew_fraction,
            config,
            resolver,
            clock: Arc::new(SystemClock),
            check_interval: DEFAULT_CHECK_INTERVAL,
            backoff: Backoff::default(),
            challenge_server: false,
            on_event: None,
            issuer: None,
        }
    }

    /// Renews when this fraction (0 to 1) of the lifetime has passed; see
    /// [`Certificate::renew_at`].
    pub fn renew_after(mut self, fraction: f64) -> Self {
        self.fraction = fraction;
        self
    }

    /// The time source (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The longest the task sleeps before looking at the clock again
    /// (default one hour).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// The waits after failed renewals (default [`Backoff::default`]: one
    /// minute doubling up to one day).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// With `true`, each renewal binds its own challenge server on
    /// [`Config::challenge_addr`] for its duration (as
    /// [`obtain_with_challenge_server`](crate::obtain_with_challenge_server));
    /// with `false` (the default) the program's HTTP server must serve
    /// [`Config::challenges`] through a
    /// [`ChallengeHandler`](crate::ChallengeHandler).
    pub fn with_challenge_server(mut self, on: bool) -> Self {
        self.challenge_server = on;
        self
    }

    /// Calls `callback` with every [`RenewalEvent`], on the task, as it
    /// happens; keep it short. [`RenewalHandle::events`] is the async
    /// alternative.
    pub fn on_event(mut self, callback: impl Fn(&RenewalEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    #[cfg(test)]
    fn issuer(mut self, issuer: impl Issue) -> Self {
        self.issuer = Some(Arc::new(issuer));
        self
    }

    /// Starts the task, `current` being the certificate the resolver
    /// serves now (renewed at once if it is already due). Must be called
    /// within a tokio runtime.
    pub fn spawn(self, current: Certificate) -> RenewalHandle {
        let next_renewal = current.renew_at(self.fraction);
        let (state_tx, state) = watch::channel(RenewalState {
            renewals: 0,
            failures: 0,
            not_after: current.not_after(),
            next_renewal,
            last_error: None,
        });
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let stop = Arc::new(Stop::default());
        let task = tokio::spawn(self.run(current, state_tx, events.clone(), stop.clone()));
        RenewalHandle {
            state,
            events,
            stop,
            task,
        }
    }

    async fn run(
        self,
        current: Certificate,
        state: watch::Sender<RenewalState>,
        events: broadcast::Sender<RenewalEvent>,
        stop: Arc<Stop>,
    ) {
        let issuer: Arc<dyn Issue> = match &self.issuer {
            Some(issuer) => issuer.clone(),
            None => Arc::new(FromConfig {
                config: self.config.clone(),
                challenge_server: self.challenge_server,
            }),
        };
        let names = self.config.hostnames();
        let publish = |event: RenewalEvent| {
            if let Some(callback) = &self.on_event {
                callback(&event);
            }
            // No subscriber is not an error.
            let _ = events.send(event);
        };
        let mut due = current.renew_at(self.fraction);
        let mut failures = 0u32;
        loop {
            if stop.requested() {
                return;
            }
            let now = self.clock.now();
            if now < due {
                let wait = due
                    .duration_since(now)
                    .unwrap_or(Duration::ZERO)
                    .min(self.check_interval);
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = stop.notify.notified() => return,
                }
            }
            info!(?names, attempt = failures + 1, "renewing the certificate");
            let outcome = tokio::select! {
                outcome = self.attempt(&*issuer, now) => outcome,
                () = stop.notify.notified() => return,
            };
            match outcome {
                Ok(obtained) => {
                    failures = 0;
                    let cert = &obtained.certificate;
                    // A certificate due at once (a CA issuing for less than
                    // the check interval, a clock far ahead) must not make
                    // the task order in a loop.
                    due = cert.renew_at(self.fraction).max(now + self.backoff.first());
                    info!(?names, origin = ?obtained.origin, not_after = ?cert.not_after(),
                          next_renewal = ?due, "certificate renewed and swapped in");
                    state.send_modify(|state| {
                        state.renewals += 1;
                        state.failures = 0;
                        state.not_after = cert.not_after();
                        state.next_renewal = due;
                        state.last_error = None;
                    });
                    publish(RenewalEvent::Renewed {
                        origin: obtained.origin,
                        not_after: cert.not_after(),
                        next_renewal: due,
                    });
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let permanent = err.is_permanent();
                    let retry_in = self.backoff.delay(failures, permanent, err.retry_after());
                    due = now + retry_in;
                    if permanent {
                        error!(?names, error = %err, failures, ?retry_in,
                               "renewal failed, and will until the cause is fixed; the current certificate stays");
                    } else {
                        warn!(?names, error = %err, failures, ?retry_in,
                              "renewal failed; the current certificate stays");
                    }
                    let error = Arc::new(err);
                    state.send_modify(|state| {
                        state.failures = failures;
                        state.next_renewal = due;
                        state.last_error = Some(error.clone());
                    });
                    publish(RenewalEvent::Failed {
                        error,
                        failures,
                        permanent,
                        retry_in,
                        retry_at: due,
                    });
                }
            }
        }
    }

    async fn attempt(&self, issuer: &dyn Issue, now: SystemTime) -> Result<Obtained, Error> {
        let obtained = issuer.obtain(now, self.fraction).await?;
        self.resolver.set(&obtained.certificate)?;
        Ok(obtained)
    }
}

/// Gets the renewed certificate: [`obtain`](crate::obtain) with the
/// task's clock, or a test's stand-in.
pub(crate) trait Issue: Send + Sync + 'static {
    fn obtain(&self, now: SystemTime, fraction: f64) -> BoxFuture<'_, Result<Obtained, Error>>;
}

struct FromConfig {
    config: Config,
    challenge_server: bool,
}

impl Issue for FromConfig {
    fn obtain(&self, now: SystemTime, fraction: f64) -> BoxFuture<'_, Result<Obtained, Error>> {
        Box::pin(obtain::run(
            &self.config,
            Want::Usable { now, fraction },
            self.challenge_server,
        ))
    }
}

#[derive(Default)]
struct Stop {
    requested: AtomicBool,
    notify: Notify,
}

impl Stop {
    fn requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    fn request(&self) {
        self.requested.store(true, Ordering::Release);
        // `notify_one` keeps a permit when the task is not waiting yet, so
        // a stop asked during a renewal is seen at its next wait.
        self.notify.notify_one();
    }
}

/// What the renewal task has done so far.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewalState {
    /// How many certificates it got and swapped in.
    pub renewals: u64,
    /// Failed renewals in a row (0 after a success).
    pub failures: u32,
    /// The end of the served certificate's validity.
    pub not_after: SystemTime,
    /// When the next renewal (or retry) is due, by the task's clock.
    pub next_renewal: SystemTime,
    /// The error of the last renewal, when it failed.
    pub last_error: Option<Arc<Error>>,
}

/// The running renewal task. Dropping it leaves the task running; call
/// [`stop`](RenewalHandle::stop) to end it.
#[derive(Debug)]
pub struct RenewalHandle {
    state: watch::Receiver<RenewalState>,
    events: broadcast::Sender<RenewalEvent>,
    stop: Arc<Stop>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("requested", &self.requested())
            .finish()
    }
}

impl RenewalHandle {
    /// The task's state now.
    pub fn state(&self) -> RenewalState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every change of the state (a renewal, a
    /// failure).
    pub fn subscribe(&self) -> watch::Receiver<RenewalState> {
        self.state.clone()
    }

    /// A receiver of the events from now on, each once, in order. A
    /// receiver more than 64 events behind loses the oldest (its `recv`
    /// answers `Lagged`).
    pub fn events(&self) -> broadcast::Receiver<RenewalEvent> {
        self.events.subscribe()
    }

    /// Stops the task (a renewal in progress is abandoned: its challenge
    /// tokens are withdrawn, its challenge server stopped, its lock
    /// released) and waits for it to end.
    pub async fn stop(self) {
        self.stop.request();
        if let Err(e) = self.task.await {
            warn!(error = %e, "the renewal task failed");
        }
    }
}

#[cfg(test)]
mod tests;
