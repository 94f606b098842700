//! The certificate manager: certificates for many names, each obtained,
//! served and renewed on its own, behind one rustls certificate resolver.
//!
//! After certmagic: a name → certificate map that the HTTPS server reads
//! at every handshake (SNI picks the certificate), one renewal task per
//! certificate (the landed loop: stored certificate first, jittered
//! backoff, events), and the challenge answers (HTTP-01 handler,
//! TLS-ALPN-01 certificates on the HTTPS port itself, DNS-01 provider).
//! Everything kept goes through the configuration's [`Storage`](crate::Storage),
//! so that instances sharing it order once and answer each other's
//! challenges.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use paf_core::server::Handler;
use rustls::{
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    ServerConfig,
};
use tokio::sync::{broadcast, Notify};
use tracing::{debug, info};

use crate::{
    backoff::Backoff,
    certificate::Certificate,
    challenge::{offers_only_acme_tls, ChallengeHandler, Challenges},
    config::{Config, ConfigBuilder},
    error::{Error, Result},
    renew::{
        Clock, FromConfig, Install, RenewalEvent, RenewalHandle, RenewalState, Schedule, Task,
    },
    resolver,
    sync::{lock, read, write},
};

/// Events kept for a subscriber that reads slowly (see
/// [`CertManager::events`]).
const EVENT_BUFFER: usize = 256;

/// How often each certificate's task looks at the stored certificate
/// for one renewed by another instance, by default.
const DEFAULT_STORAGE_CHECK: Duration = Duration::from_secs(300);

/// Certificates for many names, obtained, served by SNI and renewed while
/// the server runs: the rustls certificate resolver of an HTTPS server.
///
/// Each [`add`](CertManager::add) is one certificate (one name, or several
/// names on one certificate, a wildcard among them with DNS-01). Its task
/// serves the stored certificate at once when it is valid, orders one
/// otherwise (or when the stored one is due), and renews it from then on
/// ([`RenewalEvent`]s tell what happens). A name without a certificate
/// yet, or an unknown name, gets no certificate: the handshake fails with
/// an alert, and never shows another name's certificate. A failed renewal
/// keeps the served certificate.
///
/// The same resolver answers TLS-ALPN-01: a handshake offering only
/// `acme-tls/1` for a name with a challenge in progress gets the
/// challenge's certificate. [`server_config`](CertManager::server_config)
/// makes the HTTPS configuration; [`http_handler`](CertManager::http_handler)
/// answers HTTP-01 on port 80 in front of the site.
///
/// ```no_run
/// use paf_core::{http::{Request, Response}, Body};
/// use paf_le::{CertManager, ChallengeType, Config, Directory};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = CertManager::new(
///     Config::builder()
///         .directory(Directory::LetsEncrypt)
///         .contact_email("ops@example.org")
///         .storage_dir("/var/lib/example/acme")
///         .challenge_types([ChallengeType::TlsAlpn01, ChallengeType::Http01]),
/// )?;
/// let site = |_req: Request<Body>| async { Response::new(Body::from("hello")) };
/// let https = paf_hyper::Server::builder()
///     .tls(manager.server_config()?)
///     .build(site)
///     .bind_tcp("0.0.0.0:443".parse()?)
///     .await?;
/// let http = paf_hyper::Server::new(manager.http_handler(site))
///     .bind_tcp("0.0.0.0:80".parse()?)
///     .await?;
/// manager.add(["example.org", "www.example.org"])?;
/// manager.add(["api.example.org"])?;
/// manager.ready("example.org").await?;
/// # let _ = (https, http); Ok(()) }
/// ```
#[derive(Clone)]
pub struct CertManager {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Config,
    schedule: Schedule,
    events: broadcast::Sender<RenewalEvent>,
    /// Every managed name (`example.org`, `*.example.org`) → its
    /// certificate.
    table: RwLock<HashMap<String, Arc<Managed>>>,
    /// The task listening for changes announced by other instances
    /// (Redis pub/sub), if any.
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// One certificate: its names, what is served, its renewal task.
struct Managed {
    names: Vec<String>,
    /// Where its bundle is stored.
    storage_key: String,
    /// Wakes its task to look at the stored certificate.
    refresh: Arc<Notify>,
    served: RwLock<Option<Served>>,
    task: Mutex<Option<RenewalHandle>>,
}

#[derive(Clone)]
struct Served {
    certified: Arc<CertifiedKey>,
    certificate: Certificate,
}

impl Install for Managed {
    fn install(&self, cert: &Certificate) -> Result<()> {
        let certified = cert.certified_key()?;
        *write(&self.served) = Some(Served {
            certified,
            certificate: cert.clone(),
        });
        Ok(())
    }
}

impl Managed {
    fn certified(&self) -> Option<Arc<CertifiedKey>> {
        read(&self.served).as_ref().map(|s| s.certified.clone())
    }

    fn request_stop(&self) {
        if let Some(task) = lock(&self.task).as_ref() {
            task.request_stop();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone (the server's configuration included):
        // nothing can be served any more, so renewing is pointless.
        for managed in read(&self.table).values() {
            managed.request_stop();
        }
        if let Some(watcher) = lock(&self.watcher).take() {
            watcher.abort();
        }
    }
}

impl fmt::Debug for CertManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertManager")
            .field("names", &self.names())
            .field("directory", &self.inner.settings.directory().url())
            .field("schedule", &self.inner.schedule)
            .finish_non_exhaustive()
    }
}

/// Configures a [`CertManager`]: the ACME settings (a [`ConfigBuilder`]
/// without names) and the renewal schedule.
pub struct CertManagerBuilder {
    settings: ConfigBuilder,
    schedule: Schedule,
    #[cfg(feature = "redis")]
    notifications: Option<crate::storage::RedisStorage>,
}

impl fmt::Debug for CertManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertManagerBuilder")
            .field("settings", &self.settings)
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl CertManagerBuilder {
    /// The time source of renewals (default the system's clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.schedule.clock = Arc::new(clock);
        self
    }

    /// The longest a task sleeps before looking at the clock again
    /// (default one hour).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.schedule.check_interval = interval;
        self
    }

    /// The waits after failed orders and renewals (default
    /// [`Backoff::default`]: one minute doubling up to one day).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.schedule.backoff = backoff;
        self
    }

    /// How often each certificate's task reads its stored bundle to pick
    /// up a certificate that another instance sharing the storage renewed
    /// (default five minutes). It works with any [`Storage`](crate::Storage)
    /// (a [`FileStorage`](crate::FileStorage) on a shared volume
    /// included); with Redis, `redis_notifications` (the `redis`
    /// feature) makes the pick-up immediate and this the fallback. A newer valid
    /// certificate found is served at once and reported as
    /// [`RenewalEvent::Renewed`] with [`Origin::Stored`](crate::Origin::Stored).
    pub fn storage_check_interval(mut self, interval: Duration) -> Self {
        self.schedule.storage_check = Some(interval);
        self
    }

    /// Listens on `storage`'s pub/sub channel
    /// ([`RedisStorage::changes_channel`](crate::RedisStorage::changes_channel))
    /// for certificates stored by other instances, and serves them at
    /// once (the `redis` feature). Give the [`RedisStorage`](crate::RedisStorage)
    /// under the configuration's storage (the same store, or the one an
    /// [`EncryptedStorage`](crate::EncryptedStorage) wraps). A lost
    /// subscription is taken again, and every certificate is then looked
    /// at; the periodic check
    /// ([`storage_check_interval`](CertManagerBuilder::storage_check_interval))
    /// stays as the fallback. [`build`](CertManagerBuilder::build) must
    /// then be called within a tokio runtime, and the store must have
    /// been made with [`RedisStorage::connect`](crate::RedisStorage::connect).
    #[cfg(feature = "redis")]
    pub fn redis_notifications(mut self, storage: &crate::storage::RedisStorage) -> Self {
        self.notifications = Some(storage.clone());
        self
    }

    /// Calls `callback` with every [`RenewalEvent`] of every certificate,
    /// on its task, as it happens; keep it short.
    pub fn on_event(mut self, callback: impl Fn(&RenewalEvent) + Send + Sync + 'static) -> Self {
        self.schedule.on_event = Some(Arc::new(callback));
        self
    }

    /// Checks the settings and makes the manager, managing no name yet.
    ///
    /// Fails as [`ConfigBuilder::build`] does, and with [`Error::Config`]
    /// when the settings name hosts: give those to [`CertManager::add`],
    /// one certificate each call.
    pub fn build(self) -> Result<CertManager> {
        let settings = self.settings.build_settings()?;
        if !settings.names.is_empty() {
            return Err(Error::config(format!(
                "the manager's settings name {}: add names with CertManager::add instead",
                settings.hostnames().join(", ")
            )));
        }
        let mut schedule = self.schedule;
        schedule.fraction = settings.renew_fraction;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let manager = CertManager {
            inner: Arc::new(Inner {
                settings,
                schedule,
                events,
                table: RwLock::new(HashMap::new()),
                watcher: Mutex::new(None),
            }),
        };
        #[cfg(feature = "redis")]
        if let Some(storage) = &self.notifications {
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(Error::Unsupported {
                    what: "CertManagerBuilder::redis_notifications outside a tokio runtime".into(),
                });
            }
            let inner = Arc::downgrade(&manager.inner);
            let watcher = storage.watch(move |key| {
                if let Some(inner) = inner.upgrade() {
                    CertManager { inner }.stored_changed(key);
                }
            })?;
            *lock(&manager.inner.watcher) = Some(watcher);
        }
        Ok(manager)
    }
}

impl CertManager {
    /// A builder with `settings` (the CA, account, storage, challenge
    /// types…; no names) and the default schedule.
    pub fn builder(settings: ConfigBuilder) -> CertManagerBuilder {
        let mut schedule = Schedule::new(crate::DEFAULT_RENEW_FRACTION);
        schedule.storage_check = Some(DEFAULT_STORAGE_CHECK);
        CertManagerBuilder {
            settings,
            schedule,
            #[cfg(feature = "redis")]
            notifications: None,
        }
    }

    /// A manager with `settings` and the default schedule; see
    /// [`CertManagerBuilder::build`].
    pub fn new(settings: ConfigBuilder) -> Result<CertManager> {
        Self::builder(settings).build()
    }

    /// Manages one certificate for `names` from now on: a task serves the
    /// stored certificate when it is valid, orders one otherwise, and
    /// renews it. Returns at once; [`ready`](CertManager::ready) waits
    /// for the certificate. Must be called within a tokio runtime, with
    /// the servers answering the challenges running (the HTTPS server
    /// with [`server_config`](CertManager::server_config) for
    /// TLS-ALPN-01, [`http_handler`](CertManager::http_handler) on port 80
    /// for HTTP-01).
    ///
    /// Fails with [`Error::Config`] for no name, a name the configuration
    /// refuses (see [`ConfigBuilder::hostname`]), or a name already
    /// managed; with [`Error::Unsupported`] outside a tokio runtime.
    pub fn add<I, S>(&self, names: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let config = self.inner.settings.for_names(names)?;
        let names = config.hostnames();
        if names.is_empty() {
            return Err(Error::config("no name to manage a certificate for"));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Unsupported {
                what: "CertManager::add outside a tokio runtime: its renewal task needs one".into(),
            });
        }
        let mut table = write(&self.inner.table);
        if let Some(taken) = names.iter().find(|name| table.contains_key(*name)) {
            return Err(Error::config(format!(
                "{taken} is managed already (remove its certificate first)"
            )));
        }
        let refresh = Arc::new(Notify::new());
        let managed = Arc::new(Managed {
            names: names.clone(),
            storage_key: config.certificate_storage_key().to_string(),
            refresh: refresh.clone(),
            served: RwLock::new(None),
            task: Mutex::new(None),
        });
        let task = Task {
            schedule: self.inner.schedule.clone(),
            issuer: Arc::new(FromConfig {
                config,
                challenge_server: false,
            }),
            install: managed.clone(),
            names: names.clone().into(),
            refresh,
        }
        .spawn(None, self.inner.events.clone());
        *lock(&managed.task) = Some(task);
        for name in &names {
            table.insert(name.clone(), managed.clone());
        }
        info!(?names, "managing a certificate");
        Ok(())
    }

    /// Waits until a certificate is served for `name`, or until its task
    /// failed to get one: the error of that attempt (the task keeps
    /// trying, with backoff, and the names stay managed).
    ///
    /// Fails at once with [`Error::Config`] when `name` is not managed.
    pub async fn ready(&self, name: &str) -> Result<(), Arc<Error>> {
        let mut state = {
            let managed = self
                .find(name)
                .ok_or_else(|| Arc::new(Error::config(format!("{name} is not managed"))))?;
            let task = lock(&managed.task);
            match task.as_ref() {
                Some(task) => task.subscribe(),
                None => return Err(Arc::new(Error::config(format!("{name} is not managed")))),
            }
        };
        let seen = state
            .wait_for(|state| state.serving || state.failures > 0)
            .await
            .map(|state| state.clone());
        match seen {
            Ok(state) if state.serving => Ok(()),
            Ok(state) => Err(state
                .last_error
                .unwrap_or_else(|| Arc::new(Error::config(format!("the task of {name} failed"))))),
            Err(_) => Err(Arc::new(Error::config(format!(
                "{name} was removed while waiting"
            )))),
        }
    }

    /// Stops managing the certificate that lists `name` (all its names):
    /// from now on their handshakes fail, and its task is stopped (an
    /// order in progress is abandoned). What is stored stays. False when
    /// `name` was not managed.
    pub async fn remove(&self, name: &str) -> bool {
        let managed = {
            let mut table = write(&self.inner.table);
            let Some(managed) = table.get(&name.to_ascii_lowercase()).cloned() else {
                return false;
            };
            for name in &managed.names {
                table.remove(name);
            }
            managed
        };
        *write(&managed.served) = None;
        let task = lock(&managed.task).take();
        if let Some(task) = task {
            task.stop().await;
        }
        info!(names = ?managed.names, "no longer managing a certificate");
        true
    }

    /// Stops every task and forgets every name.
    pub async fn stop(&self) {
        let all: Vec<Arc<Managed>> = {
            let mut table = write(&self.inner.table);
            let mut all: Vec<Arc<Managed>> = Vec::new();
            for (_, managed) in table.drain() {
                if !all.iter().any(|known| Arc::ptr_eq(known, &managed)) {
                    all.push(managed);
                }
            }
            all
        };
        if let Some(watcher) = lock(&self.inner.watcher).take() {
            watcher.abort();
        }
        for managed in all {
            let task = lock(&managed.task).take();
            if let Some(task) = task {
                task.stop().await;
            }
        }
    }

    /// Has every certificate's task read its stored bundle now, and serve
    /// it if another instance stored a newer one: for a program that
    /// learns of changes in its own way (a file watcher on a shared
    /// volume, a message); see also
    /// [`CertManagerBuilder::storage_check_interval`].
    pub fn check_storage(&self) {
        self.stored_changed(None);
    }

    /// The value at `key` changed (`None`: any may have).
    fn stored_changed(&self, key: Option<&str>) {
        for managed in read(&self.inner.table).values() {
            if key.is_none_or(|key| key == managed.storage_key) {
                // `notify_one` keeps a permit for a task that is busy.
                managed.refresh.notify_one();
            }
        }
    }

    /// Every managed name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.inner.table).keys().cloned().collect();
        names.sort();
        names
    }

    /// The certificate served for `name` (a host name as a client sends
    /// it: a managed wildcard covers one label), if there is one yet.
    pub fn certificate(&self, name: &str) -> Option<Certificate> {
        let managed = self.find(name)?;
        let served = read(&managed.served);
        served.as_ref().map(|s| s.certificate.clone())
    }

    /// The renewal state of the certificate of `name`.
    pub fn state(&self, name: &str) -> Option<RenewalState> {
        let managed = self.find(name)?;
        let task = lock(&managed.task);
        task.as_ref().map(RenewalHandle::state)
    }

    /// A receiver of every certificate's [`RenewalEvent`]s from now on
    /// (each names its certificate). A receiver more than 256 events
    /// behind loses the oldest.
    pub fn events(&self) -> broadcast::Receiver<RenewalEvent> {
        self.inner.events.subscribe()
    }

    /// The settings every certificate is ordered with.
    pub fn settings(&self) -> &Config {
        &self.inner.settings
    }

    /// The live challenge answers (backed by the storage).
    pub fn challenges(&self) -> &Challenges {
        self.inner.settings.challenges()
    }

    /// A handler for port 80 answering HTTP-01 (from this process or, for
    /// another instance's orders, the storage) and passing every other
    /// request to `site`.
    pub fn http_handler<H: Handler>(&self, site: H) -> ChallengeHandler<H> {
        ChallengeHandler::wrap(self.challenges().clone(), site)
    }

    /// The HTTPS server's configuration: certificates from this manager,
    /// ring, TLS 1.2 and 1.3, ALPN `h2`, `http/1.1` and `acme-tls/1` (last,
    /// so that browsers never get it; without it the CA's TLS-ALPN-01
    /// handshake would fail), for [`paf_hyper::ServerBuilder::tls`].
    pub fn server_config(&self) -> Result<Arc<ServerConfig>> {
        resolver::server_config(Arc::new(self.clone()), true)
    }

    /// The certificate of `name`: its own, else the wildcard one label up.
    fn find(&self, name: &str) -> Option<Arc<Managed>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let table = read(&self.inner.table);
        if let Some(managed) = table.get(&name) {
            return Some(managed.clone());
        }
        let (_, parent) = name.split_once('.')?;
        table.get(&format!("*.{parent}")).cloned()
    }
}

impl ResolvesServerCert for CertManager {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = client_hello.server_name()?.to_ascii_lowercase();
        if offers_only_acme_tls(&client_hello) {
            // A CA validating TLS-ALPN-01: the challenge's certificate or
            // none, never the site's (RFC 8737 §3). Only managed names may
            // cost a look into the storage.
            let managed = read(&self.inner.table).contains_key(&name);
            return self.challenges().tls_alpn_answer(&name, managed);
        }
        let served = self.find(&name)?.certified();
        if served.is_none() {
            debug!(
                name,
                "no certificate yet for this name: the handshake fails"
            );
        }
        served
    }
}

#[cfg(test)]
mod tests;
