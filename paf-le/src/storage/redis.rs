//! [`RedisStorage`]: values and locks on a Redis server, so that several
//! machines managing the same certificates share one store and take turns.
//!
//! A value is the Redis string `<prefix><key>`; a lock is the string
//! `<prefix>.locks/<name>` holding its holder's token, set with `SET … NX
//! PX`, so that Redis's own expiry ends the lease. Keys never have a
//! segment that starts with a dot, so no value can meet a lock, and `list`
//! skips the locks as the file store skips its `.locks` directory. Releasing
//! and extending a lease compare the token and act in one Lua script:
//! a holder whose lease ran out cannot touch its successor's lock.

use std::{
    collections::BTreeSet,
    fmt,
    future::Future,
    sync::LazyLock,
    time::{Duration, SystemTime},
};

use paf_core::BoxFuture;
use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    Cmd, FromRedisValue, IntoConnectionInfo, RedisError, RedisResult, Script, Value,
};

use super::{check_key, Lease, Storage, StorageError, MAX_LEASE};

/// How often [`RedisStorage::connect`]'s connection tries again to reach
/// a server it lost before the operation waiting for it fails.
const RECONNECT_RETRIES: usize = 2;

/// Where locks live under the prefix: a dot segment, which no key has.
const LOCKS: &str = ".locks/";

/// The pub/sub channel under the prefix on which every `put` announces
/// its key (a dot name, which no key has).
const CHANGES: &str = ".changes";

/// The longest pause between two tries to subscribe again to
/// [`CHANGES`] after the subscription was lost.
const MAX_RESUBSCRIBE_WAIT: Duration = Duration::from_secs(5);

/// How many keys one `SCAN` step looks at: large enough that listing a
/// store of a few thousand certificates takes a handful of round trips.
const SCAN_COUNT: usize = 1000;

/// Deletes the lock `KEYS[1]` if it still holds the token `ARGV[1]`.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
             return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

/// Sets the lease of the lock `KEYS[1]` to `ARGV[2]` ms from now if it
/// still holds the token `ARGV[1]`.
static EXTEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
             return redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
         end \
         return 0",
    )
});

/// A [`Storage`] on a Redis server (the `redis` feature), for processes on
/// several machines that manage the same certificates.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), paf_le::StorageError> {
/// use std::sync::Arc;
/// use paf_le::{RedisStorage, Storage};
///
/// let storage = RedisStorage::connect("redis://10.0.0.5:6379/")
///     .await?
///     .with_prefix("example-org:acme:");
/// let storage: Arc<dyn Storage> = Arc::new(storage);
/// # let _ = storage;
/// # Ok(()) }
/// ```
///
/// # What Redis must be set up for
/// - **Persistence.** Redis answers a write once it is in memory; what a
///   restart keeps is its configuration's business. With `appendonly yes`
///   a restart keeps every acknowledged write (`appendfsync always`) or
///   all but the last second of them on a machine crash (`everysec`).
///   With no persistence (`--save "" --appendonly no`) a restart loses the
///   account and every certificate: paf-le then registers again and orders
///   every certificate anew, which runs into the CA's rate limits when
///   repeated.
/// - **Privacy.** Values hold private keys (see [`Storage`]). This client
///   speaks plain TCP (TLS to Redis is not built in): keep Redis on
///   loopback, a private network or a tunnel, restrict the connection's
///   user to the prefix with an ACL (`~example-org:acme:*`, and
///   `&example-org:acme:*` for the channel every `put` publishes on),
///   and wrap the store in an [`EncryptedStorage`](crate::EncryptedStorage) so that
///   Redis, its replicas and its backups hold only sealed values.
/// - **One primary.** A lock is exact on one Redis server. Replication is
///   asynchronous: after a failover the new primary may not have a lock
///   the old one granted, and a second process may take it. The worst
///   outcome is one certificate ordered twice.
///
/// # Leases and clocks
/// A lease ends by Redis's clock (`PX`), so the machines need not agree
/// on the time. [`Lease::expires`] is the local estimate, taken before
/// the request was sent, so it never ends later than Redis's lease.
/// [`extend`](RedisStorage::extend) lengthens a lease still held.
///
/// # While Redis is away
/// Every operation fails with [`StorageError::Backend`], whose
/// [`source`](std::error::Error::source) is the [`redis::RedisError`]
/// (`is_io_error`, `is_connection_refusal`, `is_timeout` tell why). The
/// [`ConnectionManager`] reconnects in the background. An operation
/// waits for the round of reconnection attempts under way and, the
/// connection refused, for one fresh round: with
/// [`connect`](RedisStorage::connect)'s settings it fails after about a
/// second when the server refuses connections (measured on loopback:
/// 1.1 s), after a few seconds when it does not answer at all. The first
/// operation after Redis is back succeeds (measured: 0.3 ms). Only a
/// refused connection is tried again (the request never reached Redis);
/// a request that timed out or lost its connection may or may not have
/// been carried out, and the caller decides.
///
/// # Changes announced
/// Every [`put`](Storage::put) also publishes its key on the pub/sub
/// channel [`changes_channel`](RedisStorage::changes_channel)
/// (`<prefix>.changes`), in the same transaction as the write, so that
/// other instances learn at once of a certificate renewed elsewhere
/// ([`CertManagerBuilder::redis_notifications`](crate::CertManagerBuilder::redis_notifications)).
/// A value wrapped in an [`EncryptedStorage`](crate::EncryptedStorage)
/// is announced the same way: only its key is published.
#[derive(Clone)]
pub struct RedisStorage {
    connection: ConnectionManager,
    /// For pub/sub connections of its own: `None` for a store made with
    /// [`new`](RedisStorage::new).
    client: Option<redis::Client>,
    prefix: String,
    /// The server, for `Debug`: host and port, never the password.
    server: Option<String>,
}

impl fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStorage")
            .field("server", &self.server)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStorage {
    /// The prefix of [`connect`](RedisStorage::connect) and
    /// [`new`](RedisStorage::new).
    pub const DEFAULT_PREFIX: &'static str = "paf-le:";

    /// Connects to the server `info` names (a `redis://` URL, a
    /// `(host, port)` pair, a [`redis::ConnectionInfo`]) and keys under
    /// [`DEFAULT_PREFIX`](RedisStorage::DEFAULT_PREFIX).
    ///
    /// The redis crate's timeouts are kept (1 s to connect, 500 ms for an
    /// answer), but a lost connection is tried again twice (after about
    /// 100 and 200 ms) instead of six times over some 10 s: the storage is
    /// read while answering challenges and handshakes, which should fail
    /// soon rather than hang while Redis is away.
    /// [`connect_with_config`](RedisStorage::connect_with_config) takes
    /// other settings.
    ///
    /// Fails when the server cannot be reached now, so that a wrong
    /// address shows at start rather than at the first renewal.
    pub async fn connect(info: impl IntoConnectionInfo) -> Result<Self, StorageError> {
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(Duration::from_secs(1));
        Self::connect_with_config(info, config).await
    }

    /// [`connect`](RedisStorage::connect) with the connection manager's
    /// timeouts and reconnection backoff of `config`.
    pub async fn connect_with_config(
        info: impl IntoConnectionInfo,
        config: ConnectionManagerConfig,
    ) -> Result<Self, StorageError> {
        let client = redis::Client::open(info).map_err(|e| {
            failed(
                "connect to",
                "the Redis server (its address is not valid)",
                e,
            )
        })?;
        let server = client.get_connection_info().addr().to_string();
        let connection = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| failed("connect to", format!("the Redis server {server}"), e))?;
        Ok(RedisStorage {
            server: Some(server),
            client: Some(client),
            ..Self::new(connection)
        })
    }

    /// A store on a connection manager of the caller's making (made lazily,
    /// with a TLS connection, with credentials), keyed under
    /// [`DEFAULT_PREFIX`](RedisStorage::DEFAULT_PREFIX).
    pub fn new(connection: ConnectionManager) -> Self {
        RedisStorage {
            connection,
            client: None,
            prefix: Self::DEFAULT_PREFIX.to_string(),
            server: None,
        }
    }

    /// Keeps every value and lock under `prefix`, so that several
    /// stores (sites, environments, other programs) share a database
    /// without meeting. An empty prefix is allowed when the database is
    /// paf-le's alone; otherwise [`list`](Storage::list) also reports the
    /// database's other keys that look like storage keys.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The prefix of every Redis key this store uses.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection manager, for commands of the caller's own.
    pub fn connection(&self) -> &ConnectionManager {
        &self.connection
    }

    /// Lengthens a lease still held to `duration` from now; `None` when
    /// the lease ended and someone else took the lock since, or nobody
    /// holds it any more (the caller no longer holds it and should stop
    /// the work it guards).
    pub async fn extend(
        &self,
        lease: &Lease,
        duration: Duration,
    ) -> Result<Option<Lease>, StorageError> {
        check_key(lease.name())?;
        let duration = lease_duration(duration);
        // Before the request, as in `try_lock`.
        let expires = SystemTime::now() + duration;
        let mut extend = EXTEND.prepare_invoke();
        extend
            .key(self.lock_key(lease.name()))
            .arg(lease.token())
            .arg(millis(duration));
        let updated: i64 = self
            .send(|mut connection| {
                let extend = &extend;
                async move { extend.invoke_async(&mut connection).await }
            })
            .await
            .map_err(|e| failed("extend the lock", lease.name(), e))?;
        Ok((updated == 1).then(|| Lease::from_parts(lease.name(), lease.token(), expires)))
    }

    /// The pub/sub channel on which every [`put`](Storage::put) publishes
    /// its key: `<prefix>.changes`.
    pub fn changes_channel(&self) -> String {
        format!("{}{CHANGES}", self.prefix)
    }

    /// Spawns a task that subscribes to
    /// [`changes_channel`](RedisStorage::changes_channel) on a connection
    /// of its own and calls `on_change` with each key written (by any
    /// instance), or with `None` after the subscription was lost and
    /// taken again (changes may have been missed meanwhile). A lost
    /// subscription is tried again after 100 ms, doubling up to 5 s.
    ///
    /// Fails with [`StorageError::Unsupported`] for a store made with
    /// [`new`](RedisStorage::new), which has no client to open a
    /// connection with. Must be called within a tokio runtime.
    pub(crate) fn watch(
        &self,
        on_change: impl Fn(Option<&str>) + Send + Sync + 'static,
    ) -> Result<tokio::task::JoinHandle<()>, StorageError> {
        let client = self.client.clone().ok_or(StorageError::Unsupported {
            what: "pub/sub on a RedisStorage made without a client (RedisStorage::new)",
        })?;
        let channel = self.changes_channel();
        Ok(tokio::spawn(async move {
            let mut wait = Duration::from_millis(100);
            let mut first = true;
            loop {
                match subscribe(&client, &channel).await {
                    Ok(mut messages) => {
                        wait = Duration::from_millis(100);
                        if !first {
                            on_change(None);
                        }
                        while let Some(message) = std::future::poll_fn(|cx| {
                            futures_core::Stream::poll_next(std::pin::Pin::new(&mut messages), cx)
                        })
                        .await
                        {
                            if let Ok(key) = message.get_payload::<String>() {
                                on_change(Some(&key));
                            }
                        }
                        tracing::debug!(channel, "lost the Redis subscription: subscribing again");
                    }
                    Err(e) => {
                        tracing::debug!(channel, error = %e, ?wait, "cannot subscribe to Redis: trying again");
                    }
                }
                first = false;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RESUBSCRIBE_WAIT);
            }
        }))
    }

    fn value_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn lock_key(&self, name: &str) -> String {
        format!("{}{LOCKS}{name}", self.prefix)
    }

    /// Sends a request on the shared connection, and once more when the
    /// connection was refused.
    ///
    /// A refused connection means the request never left, so a second
    /// try is safe for every request; and it is needed: after an outage
    /// longer than one round of reconnection, the manager still holds
    /// that round's failure and hands it to the first request even though
    /// Redis is back, while starting a fresh round that the second try
    /// waits for. A timeout is not tried again: the request may have been
    /// carried out.
    async fn send<T, F>(&self, request: impl Fn(ConnectionManager) -> F) -> RedisResult<T>
    where
        F: Future<Output = RedisResult<T>>,
    {
        match request(self.connection.clone()).await {
            Err(e) if e.is_connection_refusal() => request(self.connection.clone()).await,
            result => result,
        }
    }

    async fn query<T: FromRedisValue>(&self, command: &Cmd) -> RedisResult<T> {
        self.send(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }
}

impl Storage for RedisStorage {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            self.query(redis::cmd("GET").arg(self.value_key(key)))
                .await
                .map_err(|e| failed("read", key, e))
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            // The write and its announcement in one transaction: nobody
            // hears of a value not yet there.
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("SET")
                .arg(self.value_key(key))
                .arg(value)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.changes_channel())
                .arg(key)
                .ignore();
            self.send(|mut connection| {
                let pipe = &pipe;
                async move { pipe.query_async::<()>(&mut connection).await }
            })
            .await
            .map_err(|e| failed("write", key, e))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            self.query(redis::cmd("DEL").arg(self.value_key(key)))
                .await
                .map_err(|e| failed("delete", key, e))
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        Box::pin(async move {
            // SCAN, not KEYS: it walks the keyspace in steps without
            // blocking the server, at the price of possibly reporting a
            // key twice (hence the set).
            let mut pattern = String::new();
            glob_escape(&self.prefix, &mut pattern);
            glob_escape(prefix, &mut pattern);
            pattern.push('*');
            let mut keys = BTreeSet::new();
            let mut cursor = 0u64;
            loop {
                let (next, batch): (u64, Vec<Vec<u8>>) = self
                    .query(
                        redis::cmd("SCAN")
                            .cursor_arg(cursor)
                            .arg("MATCH")
                            .arg(&pattern)
                            .arg("COUNT")
                            .arg(SCAN_COUNT),
                    )
                    .await
                    .map_err(|e| failed("list the keys under", format!("{prefix:?}"), e))?;
                keys.extend(batch.into_iter().filter_map(|raw| {
                    let key = raw.strip_prefix(self.prefix.as_bytes())?;
                    let key = std::str::from_utf8(key).ok()?;
                    // Locks, and whatever else shares the prefix without
                    // being a storage key, are not values.
                    (key.starts_with(prefix) && check_key(key).is_ok()).then(|| key.to_string())
                }));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            Ok(keys.into_iter().collect())
        })
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        Box::pin(async move {
            check_key(name)?;
            let duration = lease_duration(lease);
            let lease = Lease::new(name, duration)?;
            let reply: Value = self
                .query(
                    redis::cmd("SET")
                        .arg(self.lock_key(name))
                        .arg(lease.token())
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(duration)),
                )
                .await
                .map_err(|e| failed("take the lock", name, e))?;
            match reply {
                Value::Okay => Ok(Some(lease)),
                Value::Nil => Ok(None),
                other => Err(StorageError::Backend {
                    action: "take the lock",
                    key: name.to_string(),
                    source: format!("Redis answered SET NX with {other:?}").into(),
                }),
            }
        })
    }

    fn unlock<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(lease.name())?;
            let mut unlock = UNLOCK.prepare_invoke();
            unlock.key(self.lock_key(lease.name())).arg(lease.token());
            let _deleted: i64 = self
                .send(|mut connection| {
                    let unlock = &unlock;
                    async move { unlock.invoke_async(&mut connection).await }
                })
                .await
                .map_err(|e| failed("release the lock", lease.name(), e))?;
            Ok(())
        })
    }

    fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        duration: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        Box::pin(RedisStorage::extend(self, lease, duration))
    }
}

/// A subscription to `channel` on a new connection.
async fn subscribe(client: &redis::Client, channel: &str) -> RedisResult<redis::aio::PubSubStream> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub.into_on_message())
}

fn failed(action: &'static str, key: impl Into<String>, source: RedisError) -> StorageError {
    StorageError::Backend {
        action,
        key: key.into(),
        source: Box::new(source),
    }
}

/// `PX 0` is an error to Redis, and longer than [`MAX_LEASE`] is cut as
/// the other backends do; whole milliseconds, so that the local estimate
/// of the lease end and Redis's agree.
fn lease_duration(lease: Duration) -> Duration {
    Duration::from_millis(millis(lease.clamp(Duration::from_millis(1), MAX_LEASE)))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Appends `text` to a `SCAN MATCH` pattern as literal text.
fn glob_escape(text: &str, pattern: &mut String) {
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_of_a_prefix_are_matched_literally() {
        let mut pattern = String::new();
        glob_escape(r"a*b?[c]\d", &mut pattern);
        assert_eq!(pattern, r"a\*b\?\[c\]\\d");
    }

    #[test]
    fn leases_are_whole_milliseconds_between_one_and_the_maximum() {
        assert_eq!(lease_duration(Duration::ZERO), Duration::from_millis(1));
        assert_eq!(
            lease_duration(Duration::from_micros(1_500)),
            Duration::from_millis(1)
        );
        assert_eq!(lease_duration(Duration::MAX), MAX_LEASE);
    }
}
