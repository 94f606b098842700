//! Renewal: a task that gets a new certificate once a set fraction of the
//! current one's lifetime has passed, and swaps it into the server.
//!
//! The time source is a [`Clock`], so tests (and programs with their own
//! notion of time) decide what "now" is. The task looks at the clock at
//! least every check interval, however far the renewal is, so a clock that
//! jumps is noticed within one interval.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use tokio::{
    sync::{watch, Notify},
    task::JoinHandle,
};
use tracing::{info, warn};

use crate::{
    certificate::Certificate,
    config::Config,
    error::Error,
    provision::{provision_certificate, provision_with_challenge_server},
    resolver::CertResolver,
};

/// The default renewal point: two thirds of the lifetime (60 days into
/// Let's Encrypt's 90, as Let's Encrypt recommends).
pub const DEFAULT_RENEW_FRACTION: f64 = 2.0 / 3.0;
const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(3600);
const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(3600);

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

/// Configures the renewal task; [`spawn`](Renewal::spawn) starts it.
///
/// ```no_run
/// # async fn demo(config: paf_le::Config, resolver: std::sync::Arc<paf_le::CertResolver>,
/// #               cert: paf_le::Certificate) {
/// let renewal = paf_le::Renewal::new(config, resolver).spawn(cert);
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
    retry_interval: Duration,
    challenge_server: bool,
}

impl std::fmt::Debug for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewal")
            .field("fraction", &self.fraction)
            .field("check_interval", &self.check_interval)
            .field("retry_interval", &self.retry_interval)
            .field("challenge_server", &self.challenge_server)
            .finish_non_exhaustive()
    }
}

impl Renewal {
    /// Renews with `config` and puts each new certificate in `resolver`.
    /// Defaults: renew at [`DEFAULT_RENEW_FRACTION`] of the lifetime, look
    /// at the clock at least hourly, retry a failed renewal an hour later,
    /// challenges answered by the program's own server (see
    /// [`with_challenge_server`](Renewal::with_challenge_server)).
    pub fn new(config: Config, resolver: Arc<CertResolver>) -> Self {
        Renewal {
            config,
            resolver,
            fraction: DEFAULT_RENEW_FRACTION,
            clock: Arc::new(SystemClock),
            check_interval: DEFAULT_CHECK_INTERVAL,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            challenge_server: false,
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

    /// How long after a failed renewal the next try is, by the clock
    /// (default one hour).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// With `true`, each renewal binds its own challenge server on
    /// [`Config::challenge_addr`] for its duration
    /// ([`provision_with_challenge_server`]); with `false` (the default) the
    /// program's HTTP server must serve [`Config::challenges`] through a
    /// [`ChallengeHandler`](crate::ChallengeHandler).
    pub fn with_challenge_server(mut self, on: bool) -> Self {
        self.challenge_server = on;
        self
    }

    /// Starts the task, `current` being the certificate the resolver
    /// serves now (renewed at once if it is already due). Must be called
    /// within a tokio runtime.
    pub fn spawn(self, current: Certificate) -> RenewalHandle {
        let next_renewal = current.renew_at(self.fraction);
        let (state_tx, state) = watch::channel(RenewalState {
            renewals: 0,
            not_after: current.not_after(),
            next_renewal,
            last_error: None,
        });
        let stop = Arc::new(Stop::default());
        let task = tokio::spawn(self.run(current, state_tx, stop.clone()));
        RenewalHandle { state, stop, task }
    }

    async fn run(self, current: Certificate, state: watch::Sender<RenewalState>, stop: Arc<Stop>) {
        let mut due = current.renew_at(self.fraction);
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
            info!(names = ?self.config.hostnames(), "renewing the certificate");
            let outcome = tokio::select! {
                outcome = self.renew() => outcome,
                () = stop.notify.notified() => return,
            };
            match outcome {
                Ok(cert) => {
                    due = cert.renew_at(self.fraction);
                    info!(not_after = ?cert.not_after(), "certificate renewed and swapped in");
                    state.send_modify(|state| {
                        state.renewals += 1;
                        state.not_after = cert.not_after();
                        state.next_renewal = due;
                        state.last_error = None;
                    });
                }
                Err(err) => {
                    due = now + self.retry_interval;
                    warn!(error = %err, retry_at = ?due, "renewal failed");
                    state.send_modify(|state| {
                        state.next_renewal = due;
                        state.last_error = Some(Arc::new(err));
                    });
                }
            }
        }
    }

    async fn renew(&self) -> Result<Certificate, Error> {
        let cert = if self.challenge_server {
            provision_with_challenge_server(&self.config).await?
        } else {
            provision_certificate(&self.config).await?
        };
        self.resolver.set(&cert)?;
        Ok(cert)
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

    /// Stops the task (a renewal in progress is abandoned: its challenge
    /// tokens are withdrawn and its challenge server stopped) and waits
    /// for it to end.
    pub async fn stop(self) {
        self.stop.request();
        if let Err(e) = self.task.await {
            warn!(error = %e, "the renewal task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failed_renewal_is_reported_and_retried_later_by_the_clock() {
        // Nothing listens on port 1 of the loopback: the directory is
        // unreachable at once.
        let config = Config::builder()
            .hostname("renew.example.org")
            .directory(crate::Directory::Url(
                "https://127.0.0.1:1/dir".parse().unwrap(),
            ))
            .build()
            .unwrap();
        let cert = Certificate::self_signed(["renew.example.org"]).unwrap();
        let resolver = Arc::new(CertResolver::new(&cert).unwrap());
        let now = cert.renew_at(DEFAULT_RENEW_FRACTION) + Duration::from_secs(5);
        let renewal = Renewal::new(config, resolver.clone())
            .clock(move || now)
            .check_interval(Duration::from_secs(3600))
            .retry_interval(Duration::from_secs(600))
            .spawn(cert.clone());

        let mut state = renewal.subscribe();
        let state = state
            .wait_for(|state| state.last_error.is_some())
            .await
            .unwrap()
            .clone();
        let err = state.last_error.as_deref().unwrap();
        assert!(err.is_directory_unreachable(), "{err}");
        assert_eq!(state.renewals, 0);
        assert_eq!(state.next_renewal, now + Duration::from_secs(600));
        assert_eq!(
            resolver.current().end_entity_cert().unwrap(),
            cert.leaf(),
            "the served certificate stays"
        );

        // The task now sleeps (an hour at most); stopping it is immediate.
        tokio::time::timeout(Duration::from_secs(5), renewal.stop())
            .await
            .expect("stop ends the task");
    }
}
