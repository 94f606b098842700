//! Cluster mode (the `redis` feature): three certificate managers in one
//! process, each with its own HTTPS server, sharing one `redis-server`
//! that the test starts on a free port, against a real pebble (nonce
//! rejection on).
//!
//! Instance A answers pebble's HTTP-01 port; the others find A's answers,
//! or A finds theirs, through Redis. Each name is ordered once; a
//! renewal on A is picked up by B through Redis pub/sub and by C through
//! the periodic check of the stored bundle alone; Redis stopped during a
//! renewal loses nothing, and the renewal completes once it is back.
//!
//! Without `redis-server` or pebble on PATH the tests pass with a note
//! (unless `PAF_REQUIRE_PEERS=1` / `CI`).
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{note, recorded, serial, served_chain, start, tls_client_config, Counts, Pebble};
use http::{Request, Response};
use paf_core::Body;
use paf_le::{
    Backoff, CertManager, ChallengeType, ManualClock, NotFound, Origin, RedisStorage, RenewalEvent,
    Storage,
};
use paf_testkit::{redis::APPEND_ONLY, RedisServer};

const PREFIX: &str = "cluster:";

async fn site(_req: Request<Body>) -> Response<Body> {
    Response::new(Body::from("hello from the cluster"))
}

/// One instance: its manager, its HTTPS server, its own Redis connection.
struct Instance {
    name: &'static str,
    manager: CertManager,
    https: paf_hyper::Running,
    addr: SocketAddr,
    storage: RedisStorage,
}

/// How an instance hears of certificates stored by another.
#[derive(Clone, Copy)]
enum Pickup {
    /// Redis pub/sub (the periodic check an hour apart).
    PubSub,
    /// The periodic check of the stored bundle alone.
    Periodic,
}

async fn instance(
    name: &'static str,
    pebble: &Pebble,
    recorder: &common::Recorder,
    redis: &RedisServer,
    clock: Option<ManualClock>,
    pickup: Pickup,
) -> Instance {
    let storage = RedisStorage::connect(redis.url())
        .await
        .unwrap()
        .with_prefix(PREFIX);
    let settings = recorded(pebble, recorder)
        .storage(Arc::new(storage.clone()))
        .challenge_types([ChallengeType::Http01])
        // Short enough that a holder lost with Redis does not hold the
        // others up long; extended while an order runs.
        .poll_timeout(Duration::from_secs(5))
        .lock_lease(Duration::from_secs(15));
    let mut builder = CertManager::builder(settings)
        .check_interval(Duration::from_millis(100))
        .backoff(Backoff::new(
            Duration::from_millis(300),
            Duration::from_secs(1),
        ));
    builder = match pickup {
        Pickup::PubSub => builder
            .redis_notifications(&storage)
            .storage_check_interval(Duration::from_secs(3600)),
        Pickup::Periodic => builder.storage_check_interval(Duration::from_millis(300)),
    };
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    let manager = builder.build().unwrap();
    let https = paf_hyper::Server::builder()
        .tls(manager.server_config().unwrap())
        .build(site)
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = https.local_addr().unwrap();
    Instance {
        name,
        manager,
        https,
        addr,
        storage,
    }
}

/// Pebble, Redis, and instances A (ManualClock, pebble's HTTP-01 port,
/// pub/sub), B (pub/sub) and C (periodic check only).
struct Cluster {
    pebble: Pebble,
    counts: Counts,
    redis: RedisServer,
    clock: ManualClock,
    instances: Vec<Instance>,
    port80: paf_hyper::Running,
    connector: tokio_rustls::TlsConnector,
}

impl Cluster {
    async fn start() -> Option<Cluster> {
        let redis = RedisServer::start(APPEND_ONLY).await?;
        let (pebble, recorder, counts) = start().await?;
        let clock = ManualClock::new(std::time::SystemTime::now());
        let a = instance(
            "A",
            &pebble,
            &recorder,
            &redis,
            Some(clock.clone()),
            Pickup::PubSub,
        )
        .await;
        let b = instance("B", &pebble, &recorder, &redis, None, Pickup::PubSub).await;
        let c = instance("C", &pebble, &recorder, &redis, None, Pickup::Periodic).await;
        // Only A answers on pebble's HTTP-01 port.
        let port80 = paf_hyper::Server::new(a.manager.http_handler(NotFound))
            .bind_tcp(pebble.challenge_addr())
            .await
            .unwrap();
        let root = pebble.root_pem().await;
        let connector = {
            let mut config = (*tls_client_config(&root)).clone();
            // Full handshakes: a resumed session keeps its certificate.
            config.resumption = rustls::client::Resumption::disabled();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        };
        Some(Cluster {
            pebble,
            counts,
            redis,
            clock,
            instances: vec![a, b, c],
            port80,
            connector,
        })
    }

    fn a(&self) -> &Instance {
        &self.instances[0]
    }

    /// The serial each instance serves for `name` (verified against
    /// pebble's root), or the handshake error.
    async fn served(&self, name: &str) -> Vec<Result<Vec<u8>, String>> {
        let mut all = Vec::new();
        for instance in &self.instances {
            all.push(
                served_chain(&self.connector, instance.addr, name)
                    .await
                    .map(|chain| serial(&chain[0]))
                    .map_err(|e| format!("{}: {e}", instance.name)),
            );
        }
        all
    }

    /// Waits until every instance serves `expected` for `name`: the time
    /// each took from `since`.
    async fn all_serve(&self, name: &str, expected: &[u8], since: Instant) -> Vec<Duration> {
        let mut took = vec![None; self.instances.len()];
        let deadline = Instant::now() + common::FLOW_LIMIT;
        while took.iter().any(Option::is_none) {
            for (i, served) in self.served(name).await.into_iter().enumerate() {
                if took[i].is_none() && served.as_deref().ok() == Some(expected) {
                    took[i] = Some(since.elapsed());
                }
            }
            assert!(
                Instant::now() < deadline,
                "not every instance serves the new certificate of {name}: {took:?}\n{}",
                self.pebble.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        took.into_iter().map(Option::unwrap).collect()
    }

    async fn stop(self) {
        for instance in self.instances {
            instance.manager.stop().await;
            instance.https.stop(Duration::from_secs(1)).await;
        }
        self.port80.stop(Duration::from_secs(1)).await;
    }
}

/// The next `Renewed` event of `events` for the certificate of `name`.
async fn renewed(
    events: &mut tokio::sync::broadcast::Receiver<RenewalEvent>,
    name: &str,
) -> RenewalEvent {
    common::within_limit("a renewal", async {
        loop {
            match events.recv().await.unwrap() {
                event @ RenewalEvent::Renewed { .. } if event.names() == [name] => return event,
                other => note(&format!("(event: {other:?})")),
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_order_each_name_once_serve_it_and_pick_up_a_renewal_made_elsewhere() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let [a, b, c] = [0, 1, 2].map(|i| &cluster.instances[i].manager);

    // B is asked for the certificate; pebble's HTTP-01 port is A's, which
    // answers B's challenge from Redis.
    let one = "one.cluster.test";
    let started = Instant::now();
    b.add([one]).unwrap();
    common::within_limit("B's certificate", b.ready(one))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.pebble.logs()));
    note(&format!(
        "B ordered {one} through A's port 80 in {:?}",
        started.elapsed()
    ));
    assert_eq!(cluster.counts.orders(), 1);
    assert!(
        a.challenges().is_empty(),
        "A answered from the storage only"
    );
    a.add([one]).unwrap();
    c.add([one]).unwrap();

    // All three asked at once for another name: one orders (the lock),
    // the others wait and load its certificate.
    let two = "two.cluster.test";
    for manager in [a, b, c] {
        manager.add([two]).unwrap();
    }
    for manager in [a, b, c] {
        for name in [one, two] {
            common::within_limit(name, manager.ready(name))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}\n{}", cluster.pebble.logs()));
        }
    }
    assert_eq!(
        cluster.counts.orders(),
        2,
        "exactly one order per name across the three instances"
    );
    for name in [one, two] {
        let served = cluster.served(name).await;
        let first = served[0].clone().unwrap();
        assert!(
            served.iter().all(|s| s.as_ref() == Ok(&first)),
            "{name}: every instance serves the one certificate: {served:?}"
        );
    }
    assert!(
        cluster
            .a()
            .storage
            .list("challenges/")
            .await
            .unwrap()
            .is_empty(),
        "no challenge answer is left behind"
    );

    // A renewal forced on A (its clock at the renewal point): B hears of
    // it through pub/sub, C at its next periodic check.
    let old = a.certificate(one).unwrap();
    let mut a_events = a.events();
    let mut b_events = b.events();
    let at = old.renew_at(a.settings().renew_fraction());
    // `two` was issued within a second of `one`: it may be due too.
    let two_due = a
        .certificate(two)
        .unwrap()
        .renew_at(a.settings().renew_fraction())
        <= at;
    cluster.clock.set(at);
    let event = renewed(&mut a_events, one).await;
    let renewed_at = Instant::now();
    assert!(
        matches!(
            event,
            RenewalEvent::Renewed {
                origin: Origin::Issued,
                ..
            }
        ),
        "{event:?}"
    );
    let new = serial(a.certificate(one).unwrap().leaf());
    assert_ne!(new, serial(old.leaf()));
    let took = cluster.all_serve(one, &new, renewed_at).await;
    note(&format!(
        "renewal on A served by A, B (pub/sub), C (periodic check, 300 ms) after {took:?}"
    ));
    let event = renewed(&mut b_events, one).await;
    assert!(
        matches!(
            event,
            RenewalEvent::Renewed {
                origin: Origin::Stored,
                ..
            }
        ),
        "B reports the pick-up: {event:?}"
    );
    assert!(
        took[1] < Duration::from_secs(1),
        "pub/sub is immediate: {took:?}"
    );
    if two_due {
        common::within_limit("the renewal of two", async {
            while a.state(two).unwrap().renewals == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
    assert_eq!(
        cluster.counts.orders(),
        3 + usize::from(two_due),
        "a renewal is one order"
    );
    assert_eq!(
        serial(c.certificate(one).unwrap().leaf()),
        new,
        "C's manager reports it too"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_during_a_renewal_loses_nothing_and_the_renewal_completes_once_it_is_back() {
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let name = "outage.cluster.test";
    for instance in &cluster.instances {
        instance.manager.add([name]).unwrap();
    }
    for instance in &cluster.instances {
        common::within_limit(name, instance.manager.ready(name))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", cluster.pebble.logs()));
    }
    assert_eq!(cluster.counts.orders(), 1);
    let a = cluster.a().manager.clone();
    let old = a.certificate(name).unwrap();
    let old_serial = serial(old.leaf());

    // Redis goes away as A's renewal starts.
    let mut events = a.events();
    cluster
        .clock
        .set(old.renew_at(a.settings().renew_fraction()));
    cluster.redis.kill();
    let down_at = Instant::now();
    let failed = common::within_limit("a failed renewal", async {
        loop {
            match events.recv().await.unwrap() {
                event @ RenewalEvent::Failed { .. } => return event,
                RenewalEvent::Renewed { .. } => panic!("renewed without Redis"),
                _ => continue,
            }
        }
    })
    .await;
    note(&format!("with Redis down, A reports: {failed:?}"));
    // Every instance keeps serving what it holds.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for served in cluster.served(name).await {
        assert_eq!(
            served.unwrap(),
            old_serial,
            "served from memory while Redis is down"
        );
    }

    cluster.redis.restart().await;
    let back_at = Instant::now();
    // A's clock stands still: move it past the backoff's wait.
    cluster.clock.advance(Duration::from_secs(2));
    note(&format!("Redis was down for {:?}", back_at - down_at));
    let event = renewed(&mut events, name).await;
    assert!(
        matches!(
            event,
            RenewalEvent::Renewed {
                origin: Origin::Issued,
                ..
            }
        ),
        "{event:?}"
    );
    let new = serial(a.certificate(name).unwrap().leaf());
    assert_ne!(new, old_serial);
    let took = cluster.all_serve(name, &new, back_at).await;
    note(&format!(
        "after Redis came back: renewal served by A, B, C after {took:?}; {} orders in all",
        cluster.counts.orders()
    ));
    // Nothing lost: the stored bundle is the renewed certificate.
    let stored = paf_le::stored_certificate(&{
        // The manager's settings name no host; the stored bundle is read
        // through a configuration for the name.
        common::recorded(&cluster.pebble, &common::Recorder::new(&cluster.pebble))
            .hostname(name)
            .storage(Arc::new(cluster.a().storage.clone()))
            .build()
            .unwrap()
    })
    .await
    .unwrap()
    .expect("the renewed certificate is stored");
    assert_eq!(serial(stored.leaf()), new);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_died_with_the_lock_is_taken_over_when_its_lease_ends() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let name = "takeover.cluster.test";
    // A process that took the certificate's lock and died: it neither
    // extends nor releases its lease.
    let key = common::recorded(&cluster.pebble, &common::Recorder::new(&cluster.pebble))
        .hostname(name)
        .build()
        .unwrap()
        .certificate_storage_key()
        .to_string();
    let lock = key.strip_suffix("/bundle.pem").unwrap();
    let lease = Duration::from_secs(3);
    let dead = cluster.a().storage.try_lock(lock, lease).await.unwrap();
    assert!(dead.is_some());
    let started = Instant::now();
    let b = &cluster.instances[1].manager;
    b.add([name]).unwrap();
    common::within_limit(name, b.ready(name))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.pebble.logs()));
    let took = started.elapsed();
    note(&format!(
        "B took over the lock of a dead holder (lease {lease:?}) and got the certificate after {took:?}"
    ));
    assert!(took >= lease - Duration::from_millis(100), "{took:?}");
    assert_eq!(cluster.counts.orders(), 1);
    cluster.stop().await;
}
