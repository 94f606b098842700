//! The shared stores: `RedisStorage` against a real `redis-server` (the
//! `redis` feature), and `EncryptedStorage` over `MemoryStorage` and over
//! Redis.
//!
//! Each Redis test starts its own `redis-server` on a free loopback port,
//! in a temporary directory, and kills it at the end. Without
//! `redis-server` on PATH (Debian: `apt-get install -y redis-server`) a
//! Redis test passes with a note, unless `PAF_REQUIRE_PEERS=1` (as
//! `.ci/run` sets), where it fails.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "redis")]
mod common;

use paf_le::{DecryptionError, EncryptedStorage, MemoryStorage, Storage, StorageError};

const KEY: [u8; 32] = [0x42; 32];
const OTHER_KEY: [u8; 32] = [0x43; 32];

/// The decryption failure behind `result`, which must be one.
fn decryption_error<T: std::fmt::Debug>(result: Result<T, StorageError>) -> DecryptionError {
    let error = result.expect_err("the value must be refused");
    assert!(
        matches!(
            error,
            StorageError::Backend {
                action: "decrypt",
                ..
            }
        ),
        "{error:?}"
    );
    *DecryptionError::of(&error).unwrap_or_else(|| panic!("not a decryption error: {error:?}"))
}

/// What `EncryptedStorage` promises, over the storage `raw` (whose clones
/// share its values): values round trip and are sealed underneath, and a
/// value altered, moved to another key, written in clear or opened with
/// another key is refused with a typed error.
async fn sealing_holds_over<S: Storage + Clone>(raw: S) {
    let storage = EncryptedStorage::new(raw.clone(), &KEY);
    let key = "certificates/ca/a.example/bundle.pem";
    let secret = b"-----BEGIN PRIVATE KEY-----\nsecret\n".to_vec();

    assert_eq!(storage.get(key).await.unwrap(), None);
    storage.put(key, secret.clone()).await.unwrap();
    assert_eq!(storage.get(key).await.unwrap(), Some(secret.clone()));
    let sealed = raw.get(key).await.unwrap().unwrap();
    assert_eq!(
        sealed.len(),
        secret.len() + 5 + 12 + 16,
        "header, nonce, tag"
    );
    assert!(
        !sealed.windows(6).any(|w| w == b"secret"),
        "the storage underneath holds the value in clear"
    );
    // A fresh nonce per write: the same value never seals the same way.
    storage.put(key, secret.clone()).await.unwrap();
    assert_ne!(raw.get(key).await.unwrap().unwrap(), sealed);
    // Empty values and every byte value round trip.
    let bytes: Vec<u8> = (0..=255).collect();
    storage.put("a/every-byte", bytes.clone()).await.unwrap();
    storage.put("a/empty", Vec::new()).await.unwrap();
    assert_eq!(storage.get("a/every-byte").await.unwrap(), Some(bytes));
    assert_eq!(storage.get("a/empty").await.unwrap(), Some(Vec::new()));

    // Altered: one bit of the ciphertext, the format byte, a cut.
    let mut altered = sealed.clone();
    *altered.last_mut().unwrap() ^= 1;
    raw.put(key, altered).await.unwrap();
    assert_eq!(
        decryption_error(storage.get(key).await),
        DecryptionError::NotAuthentic
    );
    let mut version = sealed.clone();
    version[4] = 2;
    raw.put(key, version).await.unwrap();
    assert_eq!(
        decryption_error(storage.get(key).await),
        DecryptionError::UnknownVersion(2)
    );
    raw.put(key, sealed[..20].to_vec()).await.unwrap();
    assert_eq!(
        decryption_error(storage.get(key).await),
        DecryptionError::Truncated
    );
    // Written in clear, as before the wrapper was put in place.
    raw.put(key, secret.clone()).await.unwrap();
    assert_eq!(
        decryption_error(storage.get(key).await),
        DecryptionError::NotSealed
    );

    // Moved: a good value of one key copied to another.
    raw.put(key, sealed.clone()).await.unwrap();
    assert_eq!(storage.get(key).await.unwrap(), Some(secret.clone()));
    let other = "certificates/ca/b.example/bundle.pem";
    raw.put(other, sealed.clone()).await.unwrap();
    assert_eq!(
        decryption_error(storage.get(other).await),
        DecryptionError::NotAuthentic
    );

    // Another key: nothing opens.
    let wrong = EncryptedStorage::new(raw.clone(), &OTHER_KEY);
    assert_eq!(
        decryption_error(wrong.get(key).await),
        DecryptionError::NotAuthentic
    );

    // Listing, deleting and locks pass through.
    assert_eq!(
        storage.list("certificates/").await.unwrap(),
        [key, other],
        "{storage:?}"
    );
    storage.delete(other).await.unwrap();
    assert_eq!(raw.get(other).await.unwrap(), None);
    let lease = storage
        .try_lock(
            "certificates/ca/a.example",
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
        .expect("a free lock");
    assert!(raw
        .try_lock(
            "certificates/ca/a.example",
            std::time::Duration::from_secs(60)
        )
        .await
        .unwrap()
        .is_none());
    storage.unlock(&lease).await.unwrap();
}

#[tokio::test]
async fn sealed_values_over_memory_round_trip_and_refuse_altered_moved_or_foreign_ones() {
    sealing_holds_over(MemoryStorage::new()).await;
}

#[cfg(feature = "redis")]
mod redis_server {
    //! `RedisStorage` against a `redis-server` of the test's own.

    use std::{
        net::TcpListener,
        sync::Arc,
        time::{Duration, Instant},
    };

    use paf_le::{Lease, RedisStorage, Storage, StorageError};
    use paf_testkit::{
        redis::{APPEND_ONLY, NO_PERSISTENCE},
        RedisServer,
    };

    use super::common::{note, redis_server::storage_on};
    use super::sealing_holds_over;

    /// The lock `name` for a minute, if free.
    async fn take(storage: &RedisStorage, name: &str) -> Option<Lease> {
        storage
            .try_lock(name, Duration::from_secs(60))
            .await
            .expect("try_lock")
    }

    /// A raw command on the store's connection, for what the trait does
    /// not show (key names, time to live).
    async fn raw<T: redis::FromRedisValue>(storage: &RedisStorage, cmd: &redis::Cmd) -> T {
        cmd.query_async(&mut storage.connection().clone())
            .await
            .expect("a raw Redis command")
    }

    #[tokio::test]
    async fn values_round_trip_are_replaced_deleted_and_listed_sorted_within_their_prefix() {
        let Some(server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        let storage = storage_on(&server, "site-a:").await;
        let neighbour = storage_on(&server, "site-b:").await;

        assert_eq!(storage.get("accounts/ca/account.json").await.unwrap(), None);
        assert!(storage.list("").await.unwrap().is_empty());
        for key in [
            "certificates/ca/b.example/bundle.pem",
            "certificates/ca/a.example/bundle.pem",
            "accounts/ca/account.json",
            "certificatesx",
        ] {
            storage.put(key, key.as_bytes().to_vec()).await.unwrap();
        }
        neighbour
            .put("certificates/ca/c.example/bundle.pem", b"b".to_vec())
            .await
            .unwrap();
        storage
            .put("accounts/ca/account.json", b"replaced".to_vec())
            .await
            .unwrap();
        assert_eq!(
            storage
                .get("accounts/ca/account.json")
                .await
                .unwrap()
                .as_deref(),
            Some(b"replaced".as_slice())
        );
        // Binary, empty and large values come back byte for byte.
        let every_byte: Vec<u8> = (0..=255).cycle().take(1 << 20).collect();
        storage
            .put("blobs/large", every_byte.clone())
            .await
            .unwrap();
        storage.put("blobs/empty", Vec::new()).await.unwrap();
        assert_eq!(storage.get("blobs/large").await.unwrap(), Some(every_byte));
        assert_eq!(storage.get("blobs/empty").await.unwrap(), Some(Vec::new()));
        storage.delete("blobs/large").await.unwrap();
        storage.delete("blobs/empty").await.unwrap();

        assert_eq!(
            storage.list("certificates/").await.unwrap(),
            [
                "certificates/ca/a.example/bundle.pem",
                "certificates/ca/b.example/bundle.pem"
            ]
        );
        assert_eq!(
            storage.list("certificates").await.unwrap(),
            [
                "certificates/ca/a.example/bundle.pem",
                "certificates/ca/b.example/bundle.pem",
                "certificatesx"
            ]
        );
        assert_eq!(
            storage.list("certificates/ca/a").await.unwrap(),
            ["certificates/ca/a.example/bundle.pem"]
        );
        assert_eq!(storage.list("").await.unwrap().len(), 4);
        assert_eq!(
            neighbour.list("").await.unwrap(),
            ["certificates/ca/c.example/bundle.pem"]
        );
        assert_eq!(
            neighbour.get("accounts/ca/account.json").await.unwrap(),
            None
        );
        // The Redis keys are the prefix and the key, as documented.
        let name: Option<Vec<u8>> = raw(
            &storage,
            redis::cmd("GET").arg("site-a:accounts/ca/account.json"),
        )
        .await;
        assert_eq!(name.as_deref(), Some(b"replaced".as_slice()));

        // Locks and keys under the prefix that are not storage keys are
        // not listed; a glob character in a prefix is a plain character.
        let lease = take(&storage, "certificates/ca/a.example").await;
        assert!(lease.is_some());
        let () = raw(&storage, redis::cmd("SET").arg("site-a:not a key").arg("x")).await;
        assert_eq!(storage.list("").await.unwrap().len(), 4);
        assert!(storage.list("certificates/?").await.unwrap().is_empty());
        let globbed = storage_on(&server, "site-*:").await;
        assert!(globbed.list("").await.unwrap().is_empty());

        storage
            .delete("certificates/ca/a.example/bundle.pem")
            .await
            .unwrap();
        storage.delete("never/stored").await.unwrap();
        assert_eq!(
            storage.list("certificates/").await.unwrap(),
            ["certificates/ca/b.example/bundle.pem"]
        );
        for key in ["", "../outside", "a//b", "a/", ".locks/x", "a b", "ü"] {
            let error = storage.put(key, b"x".to_vec()).await.unwrap_err();
            assert!(
                matches!(error, StorageError::InvalidKey { .. }),
                "{key:?}: {error}"
            );
            assert!(storage.get(key).await.is_err(), "{key:?}");
            assert!(storage.try_lock(key, Duration::from_secs(1)).await.is_err());
        }
    }

    #[tokio::test]
    async fn a_held_lock_is_refused_to_others_and_released_only_by_its_holder() {
        let Some(server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        let storage = storage_on(&server, "paf:").await;
        let other_process = storage_on(&server, "paf:").await;
        let held = take(&storage, "certificates/ca/a")
            .await
            .expect("a free lock is taken");
        assert_eq!(held.name(), "certificates/ca/a");
        assert!(take(&other_process, "certificates/ca/a").await.is_none());
        // Another name is another lock; a lock is not a value.
        assert!(take(&other_process, "certificates/ca/b").await.is_some());
        assert!(storage.list("").await.unwrap().is_empty());
        assert_eq!(
            storage.get("certificates/ca/a").await.unwrap(),
            None,
            "{storage:?}"
        );
        // Someone with the name but not the token cannot release it.
        let forged = Lease::from_parts("certificates/ca/a", "not-the-token", held.expires());
        other_process.unlock(&forged).await.unwrap();
        assert!(take(&other_process, "certificates/ca/a").await.is_none());
        storage.unlock(&held).await.unwrap();
        let again = take(&other_process, "certificates/ca/a")
            .await
            .expect("a released lock is free");
        assert_ne!(again.token(), held.token());

        // What a lock costs: take and release, one after the other.
        let rounds = 1000;
        let started = Instant::now();
        for _ in 0..rounds {
            let lease = take(&storage, "bench/lock").await.expect("free");
            storage.unlock(&lease).await.unwrap();
        }
        let round_trip = started.elapsed() / rounds;
        note(&format!(
            "redis lock: try_lock + unlock on loopback, mean of {rounds}: {round_trip:?}"
        ));
        assert!(round_trip < Duration::from_millis(50), "{round_trip:?}");
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_its_stale_holder_cannot_release_or_extend_it() {
        let Some(server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        let stale_holder = storage_on(&server, "paf:").await;
        let newcomer = storage_on(&server, "paf:").await;
        let short = stale_holder
            .try_lock("accounts/ca", Duration::from_millis(100))
            .await
            .unwrap()
            .expect("free");
        assert!(take(&newcomer, "accounts/ca").await.is_none());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(short.is_expired_at(std::time::SystemTime::now()));
        let taken = take(&newcomer, "accounts/ca")
            .await
            .expect("an expired lease is taken over");
        // The first holder, late, releases and extends: the new holder
        // keeps the lock.
        stale_holder.unlock(&short).await.unwrap();
        assert_eq!(
            stale_holder
                .extend(&short, Duration::from_secs(60))
                .await
                .unwrap(),
            None
        );
        assert!(take(&stale_holder, "accounts/ca").await.is_none());
        newcomer.unlock(&taken).await.unwrap();
        assert!(take(&stale_holder, "accounts/ca").await.is_some());
    }

    #[tokio::test]
    async fn extend_keeps_a_held_lease_past_its_first_end() {
        let Some(server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        let holder = storage_on(&server, "paf:").await;
        let other = storage_on(&server, "paf:").await;
        let lease = holder
            .try_lock("certificates/ca/a", Duration::from_millis(300))
            .await
            .unwrap()
            .expect("free");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let extended = holder
            .extend(&lease, Duration::from_secs(5))
            .await
            .unwrap()
            .expect("a held lease is extended");
        assert_eq!(extended.token(), lease.token());
        assert!(extended.expires() >= lease.expires() + Duration::from_secs(4));
        let ttl_ms: i64 = raw(
            &holder,
            redis::cmd("PTTL").arg("paf:.locks/certificates/ca/a"),
        )
        .await;
        assert!((4_000..=5_000).contains(&ttl_ms), "{ttl_ms} ms");
        // Past the first lease's end, the lock is still held.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(take(&other, "certificates/ca/a").await.is_none());
        // The extended lease releases it; a released lease cannot be
        // extended.
        holder.unlock(&extended).await.unwrap();
        assert_eq!(
            holder.extend(&lease, Duration::from_secs(5)).await.unwrap(),
            None
        );
        assert!(take(&other, "certificates/ca/a").await.is_some());
    }

    /// Twelve takers at once, each with its own connection as processes
    /// on several machines would have: a free lock, then an expired one,
    /// goes to exactly one of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_of_twelve_concurrent_takers_gets_a_free_or_expired_lock() {
        let Some(server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        let mut takers = Vec::new();
        for _ in 0..12 {
            takers.push(Arc::new(storage_on(&server, "paf:").await));
        }
        for round in 0..20 {
            let name = format!("certificates/ca/n{round}");
            // Odd rounds: a lock whose lease has just ended.
            if round % 2 == 1 {
                let stale = takers[0]
                    .try_lock(&name, Duration::from_millis(1))
                    .await
                    .unwrap();
                assert!(stale.is_some());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let barrier = Arc::new(tokio::sync::Barrier::new(takers.len()));
            let tries: Vec<_> = takers
                .iter()
                .map(|storage| {
                    let (storage, name, barrier) = (storage.clone(), name.clone(), barrier.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        storage.try_lock(&name, Duration::from_secs(60)).await
                    })
                })
                .collect();
            let mut winners = 0;
            for taker in tries {
                if taker.await.unwrap().unwrap().is_some() {
                    winners += 1;
                }
            }
            assert_eq!(winners, 1, "round {round}");
        }
    }

    /// Each operation on a store whose server is gone, with how long it
    /// took to fail.
    async fn all_fail_while_down(storage: &RedisStorage, lease: &Lease) -> Vec<Duration> {
        let mut took = Vec::new();
        macro_rules! down {
            ($what:literal, $op:expr) => {{
                let started = Instant::now();
                let error = $op
                    .await
                    .expect_err(concat!($what, " succeeded with redis down"));
                took.push(started.elapsed());
                let StorageError::Backend { ref source, .. } = error else {
                    panic!("{}: not a backend error: {error:?}", $what);
                };
                let cause = source
                    .downcast_ref::<redis::RedisError>()
                    .unwrap_or_else(|| panic!("{}: the cause is not Redis's: {error:?}", $what));
                assert!(
                    cause.is_io_error() || cause.is_connection_refusal() || cause.is_timeout(),
                    "{}: {cause:?}",
                    $what
                );
            }};
        }
        down!("get", storage.get("accounts/ca/account.json"));
        down!("put", storage.put("accounts/ca/other.json", b"x".to_vec()));
        down!("delete", storage.delete("accounts/ca/other.json"));
        down!("list", storage.list(""));
        down!(
            "try_lock",
            storage.try_lock("other", Duration::from_secs(1))
        );
        down!("unlock", storage.unlock(lease));
        down!("extend", storage.extend(lease, Duration::from_secs(1)));
        took
    }

    #[tokio::test]
    async fn while_redis_is_down_operations_fail_typed_and_an_append_only_restart_keeps_values_and_locks(
    ) {
        let Some(mut server) = RedisServer::start(APPEND_ONLY).await else {
            return;
        };
        let storage = storage_on(&server, "paf:").await;
        storage
            .put("accounts/ca/account.json", b"account".to_vec())
            .await
            .unwrap();
        let lease = storage
            .try_lock("certificates/ca/a", Duration::from_secs(600))
            .await
            .unwrap()
            .expect("free");

        server.kill();
        let took = all_fail_while_down(&storage, &lease).await;
        note(&format!(
            "redis down: get, put, delete, list, try_lock, unlock, extend failed after {took:?}"
        ));
        assert!(took.iter().all(|t| *t < Duration::from_secs(5)), "{took:?}");

        // Down for longer than the connection's round of reconnection
        // attempts, which then has failed for good.
        tokio::time::sleep(Duration::from_secs(2)).await;
        server.restart().await;
        let started = Instant::now();
        let first = storage.get("accounts/ca/account.json").await;
        note(&format!(
            "redis restarted: the first operation took {:?}",
            started.elapsed()
        ));
        assert_eq!(
            first
                .expect("the first operation after the restart succeeds")
                .as_deref(),
            Some(b"account".as_slice()),
            "a value acknowledged before the crash is in the append-only file"
        );
        assert!(
            take(&storage, "certificates/ca/a").await.is_none(),
            "the lock taken before the crash is still held"
        );
        // The scripts are gone from the restarted server's cache: release
        // loads them again.
        storage.unlock(&lease).await.unwrap();
        assert!(take(&storage, "certificates/ca/a").await.is_some());
    }

    #[tokio::test]
    async fn a_restart_without_persistence_loses_the_values_and_the_store_reconnects() {
        let Some(mut server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        let storage = storage_on(&server, "paf:").await;
        storage
            .put("accounts/ca/account.json", b"account".to_vec())
            .await
            .unwrap();
        server.kill();
        assert!(storage.get("accounts/ca/account.json").await.is_err());
        // Back at once, while the connection is still reconnecting.
        server.restart().await;
        // What RedisStorage's documentation warns of: `--save ""
        // --appendonly no` keeps nothing across a restart.
        assert_eq!(storage.get("accounts/ca/account.json").await.unwrap(), None);
        storage
            .put("accounts/ca/account.json", b"again".to_vec())
            .await
            .unwrap();
        assert_eq!(
            storage
                .get("accounts/ca/account.json")
                .await
                .unwrap()
                .as_deref(),
            Some(b"again".as_slice())
        );
    }

    #[tokio::test]
    async fn connecting_to_a_server_that_is_not_there_is_a_backend_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let started = Instant::now();
        let error = RedisStorage::connect(format!("redis://127.0.0.1:{port}/"))
            .await
            .expect_err("nobody listens");
        note(&format!(
            "redis: connect to a closed port failed after {:?}",
            started.elapsed()
        ));
        assert!(
            matches!(
                error,
                StorageError::Backend {
                    action: "connect to",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains(&port.to_string()), "{error}");
        let error = RedisStorage::connect("http://not-redis/")
            .await
            .expect_err("not a Redis URL");
        assert!(matches!(error, StorageError::Backend { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn sealed_values_over_redis_round_trip_and_refuse_altered_moved_or_foreign_ones() {
        let Some(server) = RedisServer::start(NO_PERSISTENCE).await else {
            return;
        };
        sealing_holds_over(storage_on(&server, "sealed:").await).await;
    }
}
