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
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use paf_core::BoxFuture;
use tokio::{
    sync::{broadcast, watch, Notify},
    task::JoinHandle,
};
use tracing::{debug, error, info, warn};

use crate::{
    ari,
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

/// What a renewal task did: each outcome, as it happens.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RenewalEvent {
    /// A task that started without a certificate put its first one in
    /// service: the stored one (valid, and renewed next if due) or a new
    /// one. Only [`CertManager`](crate::CertManager) tasks start so.
    #[non_exhaustive]
    Loaded {
        /// The names of the certificate.
        names: Arc<[String]>,
        /// [`Origin::Stored`] or [`Origin::Issued`].
        origin: Origin,
        /// Its serial number in hexadecimal
        /// ([`Certificate::serial_hex`]).
        serial: Option<String>,
        /// The end of its validity.
        not_after: SystemTime,
        /// When it is due for renewal, by the task's clock.
        next_renewal: SystemTime,
    },
    /// A certificate was put in the resolver.
    #[non_exhaustive]
    Renewed {
        /// The names of the certificate.
        names: Arc<[String]>,
        /// [`Origin::Issued`], or [`Origin::Stored`] when another process
        /// sharing the storage had renewed it already.
        origin: Origin,
        /// The new certificate's serial number in hexadecimal
        /// ([`Certificate::serial_hex`]).
        serial: Option<String>,
        /// The end of the new certificate's validity.
        not_after: SystemTime,
        /// When it is due for renewal, by the task's clock.
        next_renewal: SystemTime,
    },
    /// A renewal (or a first order) failed; a served certificate stays.
    #[non_exhaustive]
    Failed {
        /// The names of the certificate.
        names: Arc<[String]>,
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

impl RenewalEvent {
    /// The names of the certificate the event is about.
    pub fn names(&self) -> &[String] {
        match self {
            RenewalEvent::Loaded { names, .. }
            | RenewalEvent::Renewed { names, .. }
            | RenewalEvent::Failed { names, .. } => names,
        }
    }
}

pub(crate) type EventCallback = Arc<dyn Fn(&RenewalEvent) + Send + Sync>;

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
    schedule: Schedule,
    challenge_server: bool,
    issuer: Option<Arc<dyn Issue>>,
}

impl std::fmt::Debug for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewal")
            .field("schedule", &self.schedule)
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
            schedule: Schedule::new(config.renew_fraction),
            config,
            resolver,
            challenge_server: false,
            issuer: None,
        }
    }

    /// Renews when this fraction (0 to 1) of the lifetime has passed; see
    /// [`Certificate::renew_at`].
    pub fn renew_after(mut self, fraction: f64) -> Self {
        self.schedule.fraction = fraction;
        self
    }

    /// The time source (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.schedule.clock = Arc::new(clock);
        self
    }

    /// The longest the task sleeps before looking at the clock again
    /// (default one hour).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.schedule.check_interval = interval;
        self
    }

    /// The waits after failed renewals (default [`Backoff::default`]: one
    /// minute doubling up to one day).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.schedule.backoff = backoff;
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
        self.schedule.on_event = Some(Arc::new(callback));
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
        let names: Arc<[String]> = self.config.hostnames().into();
        let issuer = self.issuer.unwrap_or_else(|| {
            Arc::new(FromConfig {
                config: self.config.clone(),
                challenge_server: self.challenge_server,
            })
        });
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Task {
            schedule: self.schedule,
            issuer,
            install: self.resolver,
            names,
            refresh: Arc::new(Notify::new()),
        }
        .spawn(Some(current), events)
    }
}

/// When and how a task renews: the settings [`Renewal`] and
/// [`CertManager`](crate::CertManager) share.
#[derive(Clone)]
pub(crate) struct Schedule {
    pub(crate) fraction: f64,
    /// How often the stored certificate is looked at for one renewed by
    /// another instance sharing the storage (`None`: never, unless told).
    pub(crate) storage_check: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) check_interval: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) on_event: Option<EventCallback>,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedule")
            .field("fraction", &self.fraction)
            .field("check_interval", &self.check_interval)
            .field("storage_check", &self.storage_check)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Schedule {
    pub(crate) fn new(fraction: f64) -> Self {
        Schedule {
            fraction,
            storage_check: None,
            clock: Arc::new(SystemClock),
            check_interval: DEFAULT_CHECK_INTERVAL,
            backoff: Backoff::default(),
            on_event: None,
        }
    }
}

/// Where a task puts each certificate it gets.
pub(crate) trait Install: Send + Sync + 'static {
    /// Serves `cert` from now on; fails, keeping what is served, when it
    /// cannot be used.
    fn install(&self, cert: &Certificate) -> Result<(), Error>;
}

impl Install for CertResolver {
    fn install(&self, cert: &Certificate) -> Result<(), Error> {
        self.set(cert)
    }
}

/// When a certificate is due for renewal, and when to ask again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Due {
    pub(crate) at: SystemTime,
    /// When the answer may change (the CA's ARI `Retry-After`): `None`
    /// when it cannot.
    pub(crate) recheck_at: Option<SystemTime>,
}

/// Gets certificates for a task: [`obtain`](crate::obtain) with the
/// task's clock, or a test's stand-in.
pub(crate) trait Issue: Send + Sync + 'static {
    /// A certificate to serve from now on: a stored one that is not due
    /// (and is not `replacing`), else a new one.
    fn obtain<'a>(
        &'a self,
        now: SystemTime,
        fraction: f64,
        replacing: Option<&'a Certificate>,
    ) -> BoxFuture<'a, Result<Obtained, Error>>;

    /// A stored certificate that can be served at `now` (valid, the right
    /// names), due for renewal or not: what a task that starts without a
    /// certificate serves while it renews.
    fn stored(&self, _now: SystemTime) -> BoxFuture<'_, Result<Option<Certificate>, Error>> {
        Box::pin(async { Ok(None) })
    }

    /// When `cert` is due for renewal, asked at `now`: `fraction` of its
    /// lifetime.
    fn due<'a>(
        &'a self,
        cert: &'a Certificate,
        fraction: f64,
        _now: SystemTime,
    ) -> BoxFuture<'a, Due> {
        Box::pin(std::future::ready(Due {
            at: cert.renew_at(fraction),
            recheck_at: None,
        }))
    }
}

pub(crate) struct FromConfig {
    pub(crate) config: Config,
    pub(crate) challenge_server: bool,
}

impl Issue for FromConfig {
    fn obtain<'a>(
        &'a self,
        now: SystemTime,
        fraction: f64,
        replacing: Option<&'a Certificate>,
    ) -> BoxFuture<'a, Result<Obtained, Error>> {
        Box::pin(obtain::run(
            &self.config,
            Want::Usable {
                now,
                fraction,
                replacing,
            },
            self.challenge_server,
        ))
    }

    fn stored(&self, now: SystemTime) -> BoxFuture<'_, Result<Option<Certificate>, Error>> {
        Box::pin(obtain::servable_stored(&self.config, now))
    }

    fn due<'a>(
        &'a self,
        cert: &'a Certificate,
        fraction: f64,
        now: SystemTime,
    ) -> BoxFuture<'a, Due> {
        Box::pin(ari::due(&self.config, cert, fraction, now))
    }
}

/// One certificate's renewal loop.
pub(crate) struct Task {
    pub(crate) schedule: Schedule,
    pub(crate) issuer: Arc<dyn Issue>,
    pub(crate) install: Arc<dyn Install>,
    pub(crate) names: Arc<[String]>,
    /// Wakes the task to look at the stored certificate now (another
    /// instance announced that it stored one).
    pub(crate) refresh: Arc<Notify>,
}

impl Task {
    /// Starts the loop, `current` being what is served now (`None`: no
    /// certificate yet, the stored one or a new one comes first), its
    /// events sent to `events`. Must be called within a tokio runtime.
    pub(crate) fn spawn(
        self,
        current: Option<Certificate>,
        events: broadcast::Sender<RenewalEvent>,
    ) -> RenewalHandle {
        let now = self.schedule.clock.now();
        let (state_tx, state) = watch::channel(RenewalState {
            renewals: 0,
            failures: 0,
            serving: current.is_some(),
            not_after: current.as_ref().map_or(UNIX_EPOCH, Certificate::not_after),
            next_renewal: current
                .as_ref()
                .map_or(now, |cert| cert.renew_at(self.schedule.fraction)),
            last_error: None,
        });
        let stop = Arc::new(Stop::default());
        let task = tokio::spawn(self.run(current, state_tx, events.clone(), stop.clone()));
        RenewalHandle {
            state,
            events,
            stop,
            task,
        }
    }

    fn publish(&self, events: &broadcast::Sender<RenewalEvent>, event: RenewalEvent) {
        if let Some(callback) = &self.schedule.on_event {
            callback(&event);
        }
        // No subscriber is not an error.
        let _ = events.send(event);
    }

    async fn run(
        self,
        mut current: Option<Certificate>,
        state: watch::Sender<RenewalState>,
        events: broadcast::Sender<RenewalEvent>,
        stop: Arc<Stop>,
    ) {
        let names = &self.names;
        let fraction = self.schedule.fraction;
        let clock = &self.schedule.clock;
        let mut due = Due {
            at: clock.now(),
            recheck_at: None,
        };
        if current.is_none() {
            // A valid stored certificate is served at once, due or not:
            // a renewal that fails must not leave the names without one.
            let stored = tokio::select! {
                stored = self.issuer.stored(clock.now()) => stored,
                () = stop.notify.notified() => return,
            };
            match stored {
                Ok(Some(cert)) => match self.install.install(&cert) {
                    Ok(()) => current = Some(cert),
                    Err(e) => warn!(?names, error = %e, "the stored certificate cannot be served"),
                },
                Ok(None) => {}
                Err(e) => warn!(?names, error = %e, "cannot read the stored certificate"),
            }
            if let Some(cert) = &current {
                due = tokio::select! {
                    due = self.issuer.due(cert, fraction, clock.now()) => due,
                    () = stop.notify.notified() => return,
                };
                info!(?names, not_after = ?cert.not_after(), next_renewal = ?due.at,
                      "serving the stored certificate");
                state.send_modify(|state| {
                    state.serving = true;
                    state.not_after = cert.not_after();
                    state.next_renewal = due.at;
                });
                self.publish(
                    &events,
                    RenewalEvent::Loaded {
                        names: names.clone(),
                        origin: Origin::Stored,
                        serial: cert.serial_hex(),
                        not_after: cert.not_after(),
                        next_renewal: due.at,
                    },
                );
            }
        } else if let Some(cert) = &current {
            due = tokio::select! {
                due = self.issuer.due(cert, fraction, clock.now()) => due,
                () = stop.notify.notified() => return,
            };
            state.send_modify(|state| state.next_renewal = due.at);
        }
        let mut failures = 0u32;
        let storage_check = self.schedule.storage_check;
        let mut next_check = storage_check.map(|every| tokio::time::Instant::now() + every);
        let mut check_now = false;
        loop {
            if stop.requested() {
                return;
            }
            if next_check.is_some_and(|at| tokio::time::Instant::now() >= at) {
                check_now = true;
            }
            if check_now {
                check_now = false;
                next_check = storage_check.map(|every| tokio::time::Instant::now() + every);
                let found = tokio::select! {
                    found = self.renewed_elsewhere(current.as_ref()) => found,
                    () = stop.notify.notified() => return,
                };
                let found = found.unwrap_or_else(|()| {
                    // The storage is away (a notification may have come
                    // as it returned): look again soon.
                    let soon = self.schedule.backoff.first();
                    let soon = storage_check.map_or(soon, |every| every.min(soon));
                    next_check = Some(tokio::time::Instant::now() + soon);
                    None
                });
                if let Some(cert) = found {
                    let first = current.is_none();
                    match self.install.install(&cert) {
                        Ok(()) => {
                            let obtained = Obtained {
                                certificate: cert,
                                origin: Origin::Stored,
                            };
                            let Some(next) = self
                                .swapped_in(&obtained, first, clock.now(), &state, &events, &stop)
                                .await
                            else {
                                return;
                            };
                            due = next;
                            failures = 0;
                            current = Some(obtained.certificate);
                            continue;
                        }
                        Err(e) => {
                            warn!(?names, error = %e, "the certificate stored by another instance cannot be served")
                        }
                    }
                }
            }
            let now = clock.now();
            if let (Some(recheck_at), Some(cert), 0) = (due.recheck_at, &current, failures) {
                if now >= recheck_at {
                    // The CA may have moved the renewal window (ARI).
                    due = tokio::select! {
                        due = self.issuer.due(cert, fraction, clock.now()) => due,
                        () = stop.notify.notified() => return,
                    };
                    state.send_modify(|state| state.next_renewal = due.at);
                    continue;
                }
            }
            if now < due.at {
                let mut wait = due
                    .at
                    .duration_since(now)
                    .unwrap_or(Duration::ZERO)
                    .min(self.schedule.check_interval);
                if let Some(recheck_at) = due.recheck_at {
                    wait = wait.min(recheck_at.duration_since(now).unwrap_or(Duration::ZERO));
                }
                if let Some(at) = next_check {
                    wait = wait.min(at.saturating_duration_since(tokio::time::Instant::now()));
                }
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = self.refresh.notified() => {
                        check_now = true;
                        continue;
                    }
                    () = stop.notify.notified() => return,
                }
            }
            let first = current.is_none();
            info!(
                ?names,
                attempt = failures + 1,
                first,
                "renewing the certificate"
            );
            let outcome = tokio::select! {
                outcome = self.attempt(now, current.as_ref()) => outcome,
                () = stop.notify.notified() => return,
            };
            match outcome {
                Ok(obtained) => {
                    failures = 0;
                    let Some(next) = self
                        .swapped_in(&obtained, first, now, &state, &events, &stop)
                        .await
                    else {
                        return;
                    };
                    due = next;
                    current = Some(obtained.certificate);
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let permanent = err.is_permanent();
                    let retry_in =
                        self.schedule
                            .backoff
                            .delay(failures, permanent, err.retry_after());
                    due = Due {
                        at: now + retry_in,
                        recheck_at: None,
                    };
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
                        state.next_renewal = due.at;
                        state.last_error = Some(error.clone());
                    });
                    self.publish(
                        &events,
                        RenewalEvent::Failed {
                            names: names.clone(),
                            error,
                            failures,
                            permanent,
                            retry_in,
                            retry_at: due.at,
                        },
                    );
                }
            }
        }
    }

    /// A stored certificate other than `current` and ending no sooner
    /// (another instance renewed it), servable now; `None` when there is
    /// none, `Err` when the storage cannot be read (logged).
    async fn renewed_elsewhere(
        &self,
        current: Option<&Certificate>,
    ) -> Result<Option<Certificate>, ()> {
        let stored = match self.issuer.stored(self.schedule.clock.now()).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Ok(None),
            Err(e) => {
                debug!(names = ?self.names, error = %e, "cannot look at the stored certificate");
                return Err(());
            }
        };
        // Another certificate than the served one, ending no sooner (two
        // issued within a second end at the same second): the storage is
        // what the instances agree on.
        let newer = current.is_none_or(|current| {
            current.leaf() != stored.leaf() && stored.not_after() >= current.not_after()
        });
        Ok(newer.then_some(stored))
    }

    /// Records that `obtained` is served from now on: its next renewal,
    /// the state, the event. `None` when the task was stopped meanwhile.
    async fn swapped_in(
        &self,
        obtained: &Obtained,
        first: bool,
        now: SystemTime,
        state: &watch::Sender<RenewalState>,
        events: &broadcast::Sender<RenewalEvent>,
        stop: &Stop,
    ) -> Option<Due> {
        let names = &self.names;
        let cert = &obtained.certificate;
        let next = tokio::select! {
            due = self.issuer.due(cert, self.schedule.fraction, self.schedule.clock.now()) => due,
            () = stop.notify.notified() => return None,
        };
        // A certificate due at once (a CA issuing for less than the check
        // interval, a clock far ahead) must not make the task order in a
        // loop.
        let due = Due {
            at: next.at.max(now + self.schedule.backoff.first()),
            recheck_at: next.recheck_at,
        };
        info!(?names, origin = ?obtained.origin, not_after = ?cert.not_after(),
              next_renewal = ?due.at, "certificate renewed and swapped in");
        state.send_modify(|state| {
            if !first {
                state.renewals += 1;
            }
            state.failures = 0;
            state.serving = true;
            state.not_after = cert.not_after();
            state.next_renewal = due.at;
            state.last_error = None;
        });
        let (names, origin, serial, not_after, next_renewal) = (
            names.clone(),
            obtained.origin,
            cert.serial_hex(),
            cert.not_after(),
            due.at,
        );
        self.publish(
            events,
            if first {
                RenewalEvent::Loaded {
                    names,
                    origin,
                    serial,
                    not_after,
                    next_renewal,
                }
            } else {
                RenewalEvent::Renewed {
                    names,
                    origin,
                    serial,
                    not_after,
                    next_renewal,
                }
            },
        );
        Some(due)
    }

    async fn attempt(
        &self,
        now: SystemTime,
        current: Option<&Certificate>,
    ) -> Result<Obtained, Error> {
        let obtained = self
            .issuer
            .obtain(now, self.schedule.fraction, current)
            .await?;
        self.install.install(&obtained.certificate)?;
        Ok(obtained)
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
    /// How many certificates it got and swapped in (a first certificate
    /// of a task that started without one does not count).
    pub renewals: u64,
    /// Failed renewals in a row (0 after a success).
    pub failures: u32,
    /// Whether a certificate is served: false only for a task that started
    /// without one and has not got one yet.
    pub serving: bool,
    /// The end of the served certificate's validity (the Unix epoch when
    /// none is served).
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

    /// Asks the task to stop without waiting for it: it ends at its next
    /// wait, or abandons the renewal in progress.
    pub(crate) fn request_stop(&self) {
        self.stop.request();
    }

    /// Stops the task (a renewal in progress is abandoned: its challenge
    /// answers are withdrawn, its challenge server stopped, its lock
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
