//! The certificate manager's foundations against a real pebble: a store
//! shared by several runs or processes, reuse of what is stored, a CA that
//! forgot the account, and renewal that backs off and recovers.
//!
//! Orders and accounts are counted at the wire: a [`Recorder`] client sees
//! every ACME exchange, and a `201 Created` answer to `newOrder` or
//! `newAccount` is one order or account made at pebble (a refused nonce is
//! a `400` and does not count). pebble's nonce rejection stays on.

mod common;

use std::{sync::Arc, time::Duration};

use common::{config, fresh_dir, note, start, verify, within_limit};
use http::Method;
use paf_le::{
    obtain, obtain_with_challenge_server, provision_with_challenge_server, stored_account_id,
    stored_certificate, Backoff, CertResolver, Config, Corruption, Error, FileStorage, ManualClock,
    Origin, Renewal, RenewalEvent,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_obtains_on_one_store_order_once() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "shared");
    // Two configurations, each with its own FileStorage of one directory:
    // two processes sharing a store, each binding its own challenge
    // server on pebble's port when it orders.
    let names = ["both.example.test"];
    let a = config(&pebble, &recorder, &names)
        .storage_dir(&storage)
        .build()
        .unwrap();
    let b = config(&pebble, &recorder, &names)
        .storage_dir(&storage)
        .build()
        .unwrap();

    let (from_a, from_b) = within_limit("two obtains", async {
        tokio::join!(
            obtain_with_challenge_server(&a),
            obtain_with_challenge_server(&b)
        )
    })
    .await;
    let from_a = from_a.unwrap_or_else(|e| panic!("a: {e}\n{}", pebble.logs()));
    let from_b = from_b.unwrap_or_else(|e| panic!("b: {e}\n{}", pebble.logs()));

    assert_eq!(counts.orders(), 1, "one order for both (the old API: 2)");
    assert_eq!(counts.accounts(), 1, "one account for both");
    let mut origins = [from_a.origin, from_b.origin];
    origins.sort_by_key(|origin| *origin == Origin::Issued);
    assert_eq!(origins, [Origin::Stored, Origin::Issued]);
    assert_eq!(from_a.certificate.leaf(), from_b.certificate.leaf());
    verify(&pebble.root_pem().await, &from_a.certificate, names[0]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_serves_the_stored_certificate_without_ordering() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "acme");
    let names = ["again.example.test"];

    let started = std::time::Instant::now();
    let first = within_limit("the first run", async {
        let config = config(&pebble, &recorder, &names)
            .storage_dir(&storage)
            .build()
            .unwrap();
        obtain_with_challenge_server(&config).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()));
    note(&format!(
        "one full order (account, order, HTTP-01, finalize, chain, store): {:?}",
        started.elapsed()
    ));
    assert_eq!(first.origin, Origin::Issued);
    assert_eq!((counts.orders(), counts.accounts()), (1, 1));
    let exchanges_after_first = recorder.total();

    // A new process: a new configuration on the same directory.
    let second_config = config(&pebble, &recorder, &names)
        .storage_dir(&storage)
        .build()
        .unwrap();
    let second = obtain_with_challenge_server(&second_config).await.unwrap();
    assert_eq!(second.origin, Origin::Stored);
    assert_eq!(second.certificate.leaf(), first.certificate.leaf());
    assert_eq!(
        counts.orders(),
        1,
        "no new order (the old example ordered on every run: 2)"
    );
    assert_eq!(
        recorder.total(),
        exchanges_after_first,
        "not one request to the CA"
    );

    // A certificate past its renewal point, or one that lacks a name, is
    // not served: a new one is ordered (with the stored account).
    let due = config(&pebble, &recorder, &names)
        .storage_dir(&storage)
        .renew_after(0.0)
        .build()
        .unwrap();
    let renewed = obtain_with_challenge_server(&due).await.unwrap();
    assert_eq!(renewed.origin, Origin::Issued);
    assert_eq!(counts.orders(), 2);
    let wider = config(
        &pebble,
        &recorder,
        &["again.example.test", "more.example.test"],
    )
    .storage_dir(&storage)
    .build()
    .unwrap();
    let wider = obtain_with_challenge_server(&wider).await.unwrap();
    assert_eq!(wider.origin, Origin::Issued);
    assert_eq!((counts.orders(), counts.accounts()), (3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_bundle_is_a_typed_error_and_is_replaced_by_a_new_order() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "acme");
    let config = config(&pebble, &recorder, &["torn.example.test"])
        .storage_dir(&storage)
        .build()
        .unwrap();
    let first = within_limit("the first run", obtain_with_challenge_server(&config))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()));
    let bundle = FileStorage::new(&storage)
        .path(config.certificate_storage_key())
        .unwrap();
    let other = paf_le::Certificate::self_signed(["torn.example.test"]).unwrap();

    // What the old store could leave after a crash: the chain of one
    // certificate with the key of the next; and a file cut short.
    let damages = [
        (
            format!("{}{}", first.certificate.chain_pem(), other.key_pem()).into_bytes(),
            Corruption::KeyMismatch,
        ),
        (
            std::fs::read(&bundle).unwrap()[..400].to_vec(),
            Corruption::Pem("no END line for a CERTIFICATE section".into()),
        ),
    ];
    for (round, (damaged, kind)) in damages.into_iter().enumerate() {
        std::fs::write(&bundle, damaged).unwrap();
        let err = stored_certificate(&config).await.unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { kind: k, .. } if *k == kind),
            "{err:?}"
        );
        assert!(err.to_string().contains("bundle.pem"), "{err}");

        let obtained = within_limit(
            "the run after the damage",
            obtain_with_challenge_server(&config),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()));
        assert_eq!(obtained.origin, Origin::Issued);
        assert_eq!(counts.orders(), round + 2, "a new order replaces it");
        CertResolver::new(&obtained.certificate).expect("the server can start with it");
        let stored = stored_certificate(&config).await.unwrap().unwrap();
        assert_eq!(stored.leaf(), obtained.certificate.leaf());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_lost_the_account_gets_a_new_one() {
    let Some((mut pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "acme");
    let config = config(&pebble, &recorder, &["lost.example.test"])
        .contact_email("ops@example.test")
        .storage_dir(&storage)
        .build()
        .unwrap();
    within_limit("the first run", provision_with_challenge_server(&config))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()));
    let old_account = stored_account_id(&config).await.unwrap().unwrap();

    // A CA with fresh state on the same address: it knows no account.
    pebble.restart();

    let cert = within_limit(
        "the run after the restart",
        provision_with_challenge_server(&config),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e} (the old code failed here with accountDoesNotExist, on every run)\n{}",
            pebble.logs()
        )
    });
    let new_account = stored_account_id(&config).await.unwrap().unwrap();
    assert_ne!(new_account, old_account, "a fresh account is stored");
    assert_eq!(counts.accounts(), 2);
    verify(&pebble.root_pem().await, &cert, "lost.example.test")
        .expect("issued by the restarted CA");

    // And it is reused from then on.
    within_limit("a third run", provision_with_challenge_server(&config))
        .await
        .unwrap();
    assert_eq!(counts.accounts(), 2);
    assert_eq!(
        stored_account_id(&config).await.unwrap().as_deref(),
        Some(new_account.as_str())
    );
}

async fn next_event(events: &mut tokio::sync::broadcast::Receiver<RenewalEvent>) -> RenewalEvent {
    within_limit("the next renewal event", events.recv())
        .await
        .expect("the renewal task runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_that_fails_three_times_backs_off_then_renews() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let name = "backoff.example.test";
    let config = config(&pebble, &recorder, &[name])
        .storage_dir(fresh_dir(pebble.dir(), "acme"))
        .build()
        .unwrap();
    let first = within_limit("the first order", obtain_with_challenge_server(&config))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()))
        .certificate;

    // The CA fails the next three orders with a 503.
    recorder.fail_next(Method::POST, &counts.new_order, 3, None);
    let due = first.renew_at(config.renew_fraction());
    let clock = ManualClock::new(due - Duration::from_secs(1));
    let resolver = Arc::new(CertResolver::new(&first).unwrap());
    let renewal = Renewal::new(config.clone(), resolver.clone())
        .clock(clock.clone())
        .check_interval(Duration::from_millis(20))
        .with_challenge_server(true)
        .spawn(first.clone());
    let mut events = renewal.events();
    clock.set(due);

    let mut delays = Vec::new();
    for failure in 1..=3u32 {
        let event = next_event(&mut events).await;
        let RenewalEvent::Failed {
            error,
            failures,
            permanent,
            retry_in,
            retry_at,
            ..
        } = event
        else {
            panic!(
                "failure {failure} expected, got {event:?}\n{}",
                pebble.logs()
            );
        };
        assert_eq!(failures, failure);
        assert!(!permanent, "{error}");
        assert!(
            error.to_string().contains("injected by the test"),
            "{error}"
        );
        let nominal = Backoff::default().nominal(failure);
        assert!(
            retry_in <= nominal && retry_in >= nominal.mul_f64(0.8),
            "{retry_in:?} not within 80-100% of {nominal:?}"
        );
        assert_eq!(
            resolver.current().end_entity_cert().unwrap(),
            first.leaf(),
            "the old certificate is served meanwhile"
        );
        delays.push(retry_in);
        clock.set(retry_at);
    }
    note(&format!("renewal retry delays observed: {delays:?}"));
    assert!(
        delays.windows(2).all(|pair| pair[0] < pair[1]),
        "{delays:?}"
    );

    let event = next_event(&mut events).await;
    let RenewalEvent::Renewed { origin, .. } = event else {
        panic!("a renewal expected, got {event:?}\n{}", pebble.logs());
    };
    assert_eq!(origin, Origin::Issued);
    assert_ne!(resolver.current().end_entity_cert().unwrap(), first.leaf());
    assert_eq!(
        recorder.injected(&Method::POST, &counts.new_order),
        3,
        "the three failures"
    );
    assert_eq!(counts.orders(), 2, "the first order and the renewal");
    let state = renewal.state();
    assert_eq!((state.renewals, state.failures), (1, 0));
    renewal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_renewal_tasks_on_one_store_renew_once() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "shared");
    let name = "pair.example.test";
    let configs: Vec<Config> = (0..2)
        .map(|_| {
            config(&pebble, &recorder, &[name])
                .storage_dir(&storage)
                .build()
                .unwrap()
        })
        .collect();
    let first = within_limit("the first order", obtain_with_challenge_server(&configs[0]))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()))
        .certificate;
    // Certificate times are whole seconds: one issued within the same
    // second as the first would be due at the same instant of the frozen
    // test clock, and rightly be renewed again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let due = first.renew_at(configs[0].renew_fraction());
    let clock = ManualClock::new(due - Duration::from_secs(1));
    let mut tasks: Vec<_> = configs
        .iter()
        .map(|config| {
            let resolver = Arc::new(CertResolver::new(&first).unwrap());
            let renewal = Renewal::new(config.clone(), resolver.clone())
                .clock(clock.clone())
                .check_interval(Duration::from_millis(20))
                .with_challenge_server(true)
                .spawn(first.clone());
            let events = renewal.events();
            (renewal, resolver, events)
        })
        .collect();
    clock.set(due);
    let mut origins = Vec::new();
    for (_, _, events) in &mut tasks {
        let event = next_event(events).await;
        let RenewalEvent::Renewed { origin, .. } = event else {
            panic!("a renewal expected, got {event:?}\n{}", pebble.logs());
        };
        origins.push(origin);
    }
    origins.sort_by_key(|origin| *origin == Origin::Issued);
    assert_eq!(
        origins,
        [Origin::Stored, Origin::Issued],
        "one orders, the other picks its certificate up"
    );
    assert_eq!(
        counts.orders(),
        2,
        "the first order and one renewal for both"
    );
    let leaves: Vec<_> = tasks
        .iter()
        .map(|(_, resolver, _)| resolver.current().end_entity_cert().unwrap().to_vec())
        .collect();
    assert_eq!(
        leaves[0], leaves[1],
        "both serve the one renewed certificate"
    );
    assert_ne!(leaves[0], first.leaf().to_vec());
    for (renewal, _, _) in tasks {
        renewal.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_carries_the_cas_retry_after() {
    let Some((pebble, recorder, counts)) = start().await else {
        return;
    };
    recorder.fail_next(Method::POST, &counts.new_order, 1, Some(3600));
    let config = config(&pebble, &recorder, &["later.example.test"])
        .build()
        .unwrap();
    let err = within_limit("a refused order", obtain(&config))
        .await
        .expect_err("the order is refused");
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(!err.is_permanent(), "a 503 passes");
    assert_eq!(
        err.problem().and_then(|p| p.kind.as_deref()),
        Some("urn:ietf:params:acme:error:serverInternal")
    );
    assert_eq!(counts.orders(), 0);
}
