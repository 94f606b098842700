//! Getting a certificate to serve: the stored one while it is good, else
//! a new one, ordered once however many tasks or processes ask at the
//! same time.
//!
//! As certmagic does, the storage is looked at first without a lock (the
//! common case at start: a good certificate is there); otherwise the
//! certificate's lock is taken, the storage looked at again (whoever held
//! the lock may just have stored one), and only then is an order placed.
//! The order runs within the lock's lease and is abandoned past it, so no
//! other holder can be let in while it still runs.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use tracing::{debug, info, warn};

use crate::{
    bundle,
    certificate::Certificate,
    config::{Config, Name},
    error::{Error, Result},
    provision,
    storage::{Lease, LockGuard, Storage, StorageError},
    x509::{self, AltName},
};

/// A certificate to serve and where it came from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Obtained {
    /// The chain and its key.
    pub certificate: Certificate,
    /// Whether it was in the storage or newly issued.
    pub origin: Origin,
}

/// Where an [`Obtained`] certificate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The storage held a certificate for the configured names that is
    /// valid and not yet due for renewal; nothing was ordered.
    Stored,
    /// The CA issued it just now (and it is stored).
    Issued,
}

/// The certificate to serve for the configuration: the stored one when it
/// covers every configured name and is not due for renewal
/// ([`ConfigBuilder::renew_after`](crate::ConfigBuilder::renew_after)),
/// else a new one from the CA, stored before this returns.
///
/// Concurrent calls on one storage (tasks of a process, or processes
/// sharing a [`FileStorage`](crate::FileStorage) directory) order once:
/// the others wait for the certificate's lock and then find the new
/// certificate stored. A damaged bundle (half written, a key that does
/// not fit) is reported in the log and replaced by a new order.
///
/// The HTTP-01 answers are published in [`Config::challenges`]: serve
/// them from the program's port 80 with a
/// [`ChallengeHandler`](crate::ChallengeHandler), or use
/// [`obtain_with_challenge_server`]. Errors are those of
/// [`provision_certificate`](crate::provision_certificate).
pub async fn obtain(config: &Config) -> Result<Obtained> {
    run(config, Want::usable_now(config), false).await
}

/// [`obtain`] with a challenge server of its own on
/// [`Config::challenge_addr`], bound only when an order is placed (after
/// the lock is taken, so that processes sharing a storage do not contend
/// for the port), and stopped afterwards.
pub async fn obtain_with_challenge_server(config: &Config) -> Result<Obtained> {
    run(config, Want::usable_now(config), true).await
}

/// The certificate stored for the configuration, whatever its validity.
///
/// Fails with [`Error::Corrupt`] when the stored bundle is damaged (cut
/// short, a key that does not belong to its certificate), and with
/// [`Error::Storage`] when the storage cannot be read.
pub async fn stored_certificate(config: &Config) -> Result<Option<Certificate>> {
    let key = config.certificate_storage_key();
    match config.storage.get(key).await? {
        None => Ok(None),
        Some(bytes) => bundle::decode(&bytes)
            .map(Some)
            .map_err(|kind| Error::corrupt(key, kind)),
    }
}

/// What the caller will take.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Want<'a> {
    /// A stored certificate that, at `now`, is not past `fraction` of its
    /// lifetime and is not `replacing` (the one being renewed, which the
    /// CA may want replaced early: ARI); else a new one, which replaces it.
    Usable {
        now: SystemTime,
        fraction: f64,
        replacing: Option<&'a Certificate>,
    },
    /// A new certificate, whatever is stored.
    New,
}

impl Want<'_> {
    fn usable_now(config: &Config) -> Want<'static> {
        Want::Usable {
            now: SystemTime::now(),
            fraction: config.renew_fraction,
            replacing: None,
        }
    }

    fn replacing(&self) -> Option<&Certificate> {
        match self {
            Want::Usable { replacing, .. } => *replacing,
            Want::New => None,
        }
    }
}

pub(crate) async fn run(
    config: &Config,
    want: Want<'_>,
    challenge_server: bool,
) -> Result<Obtained> {
    if let Some(stored) = usable_stored(config, want).await? {
        return Ok(stored);
    }
    let lease = config.lock_lease;
    let guard = LockGuard::acquire(
        config.storage.clone(),
        &config.layout.certificate_lock,
        lease,
    )
    .await?;
    let held = guard
        .lease()
        .map(|taken| Held::new(config.storage.clone(), taken.clone(), lease));
    let outcome = async {
        // Whoever held the lock may have just stored what is wanted.
        if let Some(stored) = usable_stored(config, want).await? {
            return Ok(stored);
        }
        let order = provision::order_and_store(config, want.replacing(), held.as_ref());
        let limit = work_limit(lease);
        let order = async {
            if challenge_server {
                tokio::time::timeout(limit, provision::serving_challenges(config, order)).await
            } else {
                tokio::time::timeout(limit, order).await
            }
        };
        // The lease is extended while the order runs; losing it abandons
        // the order.
        let ordered = match &held {
            Some(held) => tokio::select! {
                ordered = order => ordered,
                lost = held.keep() => return Err(lost),
            },
            None => order.await,
        };
        let certificate = ordered.map_err(|_| Error::Timeout {
            what: "ordering within the lease of the certificate's lock",
            after: limit,
        })??;
        Ok(Obtained {
            certificate,
            origin: Origin::Issued,
        })
    }
    .await;
    guard.release_or_log().await;
    outcome
}

/// The certificate's lock while an order runs under it: extended every
/// third of the lease while the storage supports it
/// ([`Storage::extend`]), and checked once more before the certificate is
/// written (fencing).
pub(crate) struct Held {
    storage: Arc<dyn Storage>,
    lease: Mutex<Lease>,
    duration: Duration,
}

impl Held {
    fn new(storage: Arc<dyn Storage>, lease: Lease, duration: Duration) -> Self {
        Held {
            storage,
            lease: Mutex::new(lease),
            duration,
        }
    }

    fn lease(&self) -> Lease {
        crate::sync::lock(&self.lease).clone()
    }

    fn lost(&self) -> Error {
        Error::LockLost {
            lock: self.lease().name().to_string(),
        }
    }

    /// Extends the lease now: `Ok(true)` when it is still held.
    async fn extend(&self) -> Result<bool, StorageError> {
        let lease = self.lease();
        match self.storage.extend(&lease, self.duration).await? {
            Some(extended) => {
                *crate::sync::lock(&self.lease) = extended;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Extends the lease every third of it, for ever; returns only when
    /// the lock is lost. A backend without `extend` is left alone (the
    /// order then ends within the first lease); a failed extension is
    /// tried again at the next third, the lease still running.
    async fn keep(&self) -> Error {
        let every = (self.duration / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(every).await;
            match self.extend().await {
                Ok(true) => debug!(lock = self.lease().name(), "lease extended"),
                Ok(false) => {
                    warn!(
                        lock = self.lease().name(),
                        "lost the lock while ordering: abandoning the order"
                    );
                    return self.lost();
                }
                Err(StorageError::Unsupported { .. }) => std::future::pending::<()>().await,
                Err(e) => warn!(lock = self.lease().name(), error = %e,
                                "cannot extend the lease; trying again"),
            }
        }
    }

    /// The fencing check before the certificate is written: the lock is
    /// still this holder's (asked of the storage when it can extend
    /// leases, else by the lease's end); [`Error::LockLost`] otherwise.
    pub(crate) async fn check(&self) -> Result<()> {
        match self.extend().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.lost()),
            Err(StorageError::Unsupported { .. }) => {
                if self.lease().is_expired_at(SystemTime::now()) {
                    Err(self.lost())
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// How long work under a lock of `lease` may take: the lease less a
/// margin for releasing it, and for clocks a little apart.
fn work_limit(lease: Duration) -> Duration {
    lease.saturating_sub((lease / 10).min(Duration::from_secs(30)))
}

/// The stored certificate, `None` when there is none or it is damaged
/// (which is logged: a new order replaces it).
async fn stored_or_none(config: &Config) -> Result<Option<Certificate>> {
    match stored_certificate(config).await {
        Err(err @ Error::Corrupt { .. }) => {
            warn!(error = %err, "ordering a new certificate instead");
            Ok(None)
        }
        stored => stored,
    }
}

/// A stored certificate for the configuration that can be served at
/// `now`: not damaged, covering every name, not expired; due for renewal
/// or not. What a certificate manager serves at start while it renews.
pub(crate) async fn servable_stored(
    config: &Config,
    now: SystemTime,
) -> Result<Option<Certificate>> {
    let Some(certificate) = stored_or_none(config).await? else {
        return Ok(None);
    };
    let servable = covers(&certificate, &config.names)
        && certificate.not_before() <= now
        && now < certificate.not_after();
    Ok(servable.then_some(certificate))
}

async fn usable_stored(config: &Config, want: Want<'_>) -> Result<Option<Obtained>> {
    let Want::Usable {
        now,
        fraction,
        replacing,
    } = want
    else {
        return Ok(None);
    };
    let Some(certificate) = stored_or_none(config).await? else {
        return Ok(None);
    };
    let key = config.certificate_storage_key();
    if !covers(&certificate, &config.names) {
        info!(
            key,
            "the stored certificate does not cover every configured name"
        );
        return Ok(None);
    }
    if replacing.is_some_and(|old| old.leaf() == certificate.leaf()) {
        info!(key, "the stored certificate is the one being renewed");
        return Ok(None);
    }
    let due = certificate.renew_at(fraction);
    if now >= due {
        info!(key, ?due, "the stored certificate is due for renewal");
        return Ok(None);
    }
    info!(key, not_after = ?certificate.not_after(), "serving the stored certificate");
    Ok(Some(Obtained {
        certificate,
        origin: Origin::Stored,
    }))
}

/// Whether the leaf's subjectAltName lists every name.
fn covers(certificate: &Certificate, names: &[Name]) -> bool {
    let Some(alt_names) = x509::alt_names(certificate.leaf()) else {
        return false;
    };
    names.iter().all(|name| {
        alt_names.iter().any(|alt| match (name, alt) {
            (Name::Dns(name), AltName::Dns(alt)) => name == alt,
            (Name::Ip(ip), AltName::Ip(alt)) => ip == alt,
            _ => false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_needs_every_configured_name() {
        let cert = Certificate::self_signed(["a.example.org", "b.example.org"]).unwrap();
        let config = |names: &[&str]| {
            Config::builder()
                .hostnames(names.iter().copied())
                .build()
                .unwrap()
        };
        assert!(covers(&cert, &config(&["a.example.org"]).names));
        assert!(covers(
            &cert,
            &config(&["B.example.org", "a.example.org"]).names
        ));
        assert!(!covers(
            &cert,
            &config(&["a.example.org", "c.example.org"]).names
        ));
    }

    #[test]
    fn work_under_a_lock_ends_before_its_lease() {
        assert_eq!(
            work_limit(Duration::from_secs(600)),
            Duration::from_secs(570)
        );
        assert_eq!(work_limit(Duration::from_secs(60)), Duration::from_secs(54));
    }

    #[tokio::test]
    async fn a_holder_keeps_its_lease_and_the_fence_stops_one_that_lost_it() {
        use crate::storage::MemoryStorage;
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let short = Duration::from_millis(150);
        let lease = storage.try_lock("l", short).await.unwrap().unwrap();
        let held = Held::new(storage.clone(), lease, short);
        // Kept past its first end while the work runs.
        let kept = tokio::time::timeout(Duration::from_millis(500), held.keep()).await;
        assert!(kept.is_err(), "the lease was kept: {kept:?}");
        assert!(storage.try_lock("l", short).await.unwrap().is_none());
        held.check().await.unwrap();

        // Not kept: it ends, someone else takes the lock, and the fencing
        // check refuses to let the old holder write.
        tokio::time::sleep(short * 2).await;
        let next = storage.try_lock("l", short).await.unwrap();
        assert!(next.is_some());
        let err = held.check().await.unwrap_err();
        assert!(
            matches!(&err, Error::LockLost { lock } if lock == "l"),
            "{err}"
        );
        assert!(matches!(held.keep().await, Error::LockLost { .. }));
    }

    /// A backend without `extend`.
    #[derive(Debug)]
    struct NoExtend(crate::storage::MemoryStorage);

    impl Storage for NoExtend {
        fn get<'a>(
            &'a self,
            key: &'a str,
        ) -> paf_core::BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
            self.0.get(key)
        }
        fn put<'a>(
            &'a self,
            key: &'a str,
            value: Vec<u8>,
        ) -> paf_core::BoxFuture<'a, Result<(), StorageError>> {
            self.0.put(key, value)
        }
        fn delete<'a>(&'a self, key: &'a str) -> paf_core::BoxFuture<'a, Result<(), StorageError>> {
            self.0.delete(key)
        }
        fn list<'a>(
            &'a self,
            prefix: &'a str,
        ) -> paf_core::BoxFuture<'a, Result<Vec<String>, StorageError>> {
            self.0.list(prefix)
        }
        fn try_lock<'a>(
            &'a self,
            name: &'a str,
            lease: Duration,
        ) -> paf_core::BoxFuture<'a, Result<Option<Lease>, StorageError>> {
            self.0.try_lock(name, lease)
        }
        fn unlock<'a>(
            &'a self,
            lease: &'a Lease,
        ) -> paf_core::BoxFuture<'a, Result<(), StorageError>> {
            self.0.unlock(lease)
        }
    }

    #[tokio::test]
    async fn without_extend_the_fence_goes_by_the_end_of_the_lease() {
        let storage: Arc<dyn Storage> = Arc::new(NoExtend(crate::storage::MemoryStorage::new()));
        let lease = storage
            .try_lock("l", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            storage.extend(&lease, Duration::from_secs(1)).await,
            Err(StorageError::Unsupported { .. })
        ));
        let held = Held::new(storage, lease, Duration::from_millis(100));
        held.check().await.unwrap();
        // `keep` leaves such a backend alone (it never reports a loss).
        assert!(
            tokio::time::timeout(Duration::from_millis(300), held.keep())
                .await
                .is_err()
        );
        let err = held.check().await.unwrap_err();
        assert!(matches!(err, Error::LockLost { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_stored_good_certificate_is_served_and_a_damaged_one_is_an_error() {
        let config = Config::builder().hostname("a.example.org").build().unwrap();
        assert!(stored_certificate(&config).await.unwrap().is_none());
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        let key = config.certificate_storage_key().to_string();
        config
            .storage()
            .put(&key, bundle::encode(&cert))
            .await
            .unwrap();

        let before_due = Want::Usable {
            now: cert.not_before(),
            fraction: 2.0 / 3.0,
            replacing: None,
        };
        let obtained = run(&config, before_due, false).await.unwrap();
        assert_eq!(obtained.origin, Origin::Stored);
        assert_eq!(obtained.certificate.leaf(), cert.leaf());

        let other = Certificate::self_signed(["a.example.org"]).unwrap();
        let torn = format!("{}{}", cert.chain_pem(), other.key_pem());
        config.storage().put(&key, torn.into_bytes()).await.unwrap();
        let err = stored_certificate(&config).await.unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { kind: crate::Corruption::KeyMismatch, key: k } if *k == key),
            "{err}"
        );
    }
}
