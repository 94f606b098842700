//! paf-le against a real ACME server: pebble validates the HTTP-01
//! challenges by connecting to paf's challenge server, and issues real
//! chains that are verified against pebble's root.
//!
//! Every test starts its own pebble (a fraction of a second), so tests run
//! in parallel without sharing accounts, authorizations or ports.

mod common;

use std::{
    net::TcpStream,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::{fresh_dir, served_chain, tls_client, verify, verify_chain, Pebble, Recorder};
use http::{Method, Request, Response, StatusCode};
use paf_core::{server::Handler, Body};
use paf_le::{
    provision_certificate, provision_with_challenge_server, stored_account_id, stored_certificate,
    AccountKey, CertResolver, Certificate, CertificateKey, ChallengeHandler, ChallengeType, Error,
    ExternalAccount, FileStorage, Renewal, DEFAULT_RENEW_FRACTION,
};

/// No test may hang: each whole flow must end well within this.
const FLOW_LIMIT: Duration = Duration::from_secs(60);

/// Provisions with the one-call helper, within the limit; a failure shows
/// pebble's logs.
async fn issue(pebble: &Pebble, config: &paf_le::Config, what: &str) -> Certificate {
    within_limit(what, provision_with_challenge_server(config))
        .await
        .unwrap_or_else(|e| panic!("{what} failed: {e}\n{}", pebble.logs()))
}

async fn within_limit<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(FLOW_LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {FLOW_LIMIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_for_one_name_verifies_against_pebble_root() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let config = pebble.config(&["one.example.test"]).build().unwrap();

    let cert = issue(&pebble, &config, "provisioning").await;

    let root = pebble.root_pem().await;
    verify(&root, &cert, "one.example.test").expect("the chain verifies for its name");
    assert!(
        verify(&root, &cert, "other.example.test").is_err(),
        "the certificate covers only the name asked for"
    );
    assert!(cert.chain().len() >= 2, "leaf and intermediate");
    cert.certified_key().expect("the key belongs to the leaf");
    assert!(cert.not_before() <= SystemTime::now() && SystemTime::now() < cert.not_after());
    // The one-call helper stopped its challenge server.
    assert!(TcpStream::connect(pebble.challenge_addr()).is_err());
    assert!(config.challenges().is_empty(), "tokens are withdrawn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_for_several_names_covers_each() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let names = ["a.example.test", "b.example.test", "c.example.test"];
    let config = pebble.config(&names).build().unwrap();

    let cert = issue(&pebble, &config, "provisioning").await;

    let root = pebble.root_pem().await;
    for name in names {
        verify(&root, &cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(verify(&root, &cert, "d.example.test").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_copes_with_half_the_nonces_rejected() {
    // instant-acme alone tries each request three times: with half the
    // nonces refused, one request in eight would fail, and nearly every
    // provisioning with it.
    let Some(pebble) = Pebble::start_with_env(&[("PEBBLE_WFE_NONCEREJECT", "50")]) else {
        return;
    };
    let names = ["n1.example.test", "n2.example.test"];
    let config = pebble.config(&names).build().unwrap();
    let cert = issue(&pebble, &config, "provisioning").await;
    let root = pebble.root_pem().await;
    for name in names {
        verify(&root, &cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brought_certificate_key_is_the_one_certified() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    // P-384: not the default type, so the key cannot have been made here.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let config = pebble
        .config(&["own-key.example.test"])
        .certificate_key(CertificateKey::Pem(key.serialize_pem()))
        .build()
        .unwrap();
    let cert = issue(&pebble, &config, "provisioning").await;
    assert_eq!(cert.private_key().secret_der(), key.serialized_der());
    cert.certified_key()
        .expect("the leaf certifies the brought key");
    verify(&pebble.root_pem().await, &cert, "own-key.example.test").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_run_reuses_the_stored_account() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "acme");
    let recorder = Recorder::new(&pebble);
    let new_account = pebble.directory_path("newAccount").await;
    let attempts = || {
        [StatusCode::CREATED, StatusCode::OK, StatusCode::BAD_REQUEST]
            .iter()
            .map(|status| recorder.count(&Method::POST, &new_account, *status))
            .sum::<usize>()
    };
    let created = || recorder.count(&Method::POST, &new_account, StatusCode::CREATED);
    let directory = url::Url::parse(&pebble.directory_url).unwrap();
    let config = paf_le::Config::builder()
        .hostname("reuse.example.test")
        .contact_email("ops@example.test")
        .directory(paf_le::Directory::Url(directory))
        .http_client(Arc::new(recorder.clone()))
        .challenge_addr(pebble.challenge_addr())
        .storage_dir(&storage)
        .poll_timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let first = issue(&pebble, &config, "first run").await;
    let account = stored_account_id(&config)
        .await
        .unwrap()
        .expect("the account is stored");
    assert!(account.starts_with("https://127.0.0.1:"), "{account}");
    assert_eq!(created(), 1, "the first run creates the account");
    let attempts_after_first = attempts();

    let second = issue(&pebble, &config, "second run").await;
    assert_eq!(
        attempts(),
        attempts_after_first,
        "the second run does not even ask for an account"
    );
    assert_eq!(created(), 1);
    assert_eq!(
        stored_account_id(&config).await.unwrap().as_deref(),
        Some(account.as_str())
    );
    assert_ne!(first.leaf(), second.leaf(), "a new certificate each run");
    let stored = stored_certificate(&config)
        .await
        .unwrap()
        .expect("stored certificate");
    assert_eq!(
        stored.leaf(),
        second.leaf(),
        "the latest certificate is stored"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_keys_on_disk_are_mode_0600() {
    use std::os::unix::fs::PermissionsExt;

    let Some(pebble) = Pebble::start() else {
        return;
    };
    let storage = fresh_dir(pebble.dir(), "acme");
    let config = pebble
        .config(&["files.example.test"])
        .storage_dir(&storage)
        .build()
        .unwrap();
    let cert = issue(&pebble, &config, "provisioning").await;

    let files = FileStorage::new(&storage);
    let mode = |path: std::path::PathBuf| {
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let account = files.path(config.account_storage_key()).unwrap();
    let bundle = files.path(config.certificate_storage_key()).unwrap();
    assert_eq!(mode(account), 0o600, "account.json holds the account key");
    assert_eq!(
        mode(bundle.clone()),
        0o600,
        "bundle.pem holds the certificate key"
    );
    assert_eq!(mode(storage.clone()), 0o700);
    let mut dir = bundle.parent();
    while let Some(parent) = dir.filter(|dir| dir.starts_with(&storage)) {
        assert_eq!(mode(parent.to_path_buf()), 0o700, "{}", parent.display());
        dir = parent.parent();
    }
    let on_disk = std::fs::read_to_string(&bundle).unwrap();
    assert!(on_disk.contains(cert.key_pem().trim_end()));
    assert!(on_disk.contains(cert.chain_pem().trim_end()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_finds_the_same_account() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let seed = b"a seed for the test account, 32B".to_vec();
    let mut accounts = Vec::new();
    for run in ["first", "second"] {
        let config = pebble
            .config(&["seed.example.test"])
            .account_key(AccountKey::Seed(seed.clone()))
            .contact_email("seed@example.test")
            .storage_dir(fresh_dir(pebble.dir(), run))
            .build()
            .unwrap();
        issue(&pebble, &config, run).await;
        accounts.push(stored_account_id(&config).await.unwrap().unwrap());
    }
    assert_eq!(
        accounts[0], accounts[1],
        "two stores, one seed: the CA gave back the same account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unvalidatable_challenge_names_the_authorization_and_the_problem() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let config = pebble.config(&["nobody.example.test"]).build().unwrap();

    // No challenge server: pebble's connection to httpPort is refused.
    let started = std::time::Instant::now();
    let err = within_limit("a failing provisioning", provision_certificate(&config))
        .await
        .expect_err("nothing answers the challenge");
    let Error::Authorization {
        identifier,
        url,
        status,
        problem,
    } = &err
    else {
        panic!("not an authorization error: {err:?}\n{}", pebble.logs());
    };
    assert_eq!(identifier, "nobody.example.test");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert_eq!(status, "invalid");
    let problem = problem.as_ref().expect("pebble sends a problem document");
    assert_eq!(
        problem.kind.as_deref(),
        Some("urn:ietf:params:acme:error:connection"),
        "{problem}"
    );
    let detail = problem.detail.as_deref().unwrap_or_default();
    assert!(!detail.is_empty());
    let message = err.to_string();
    assert!(
        message.contains("nobody.example.test")
            && message.contains(url)
            && message.contains(detail),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "no hang: {:?}",
        started.elapsed()
    );
    assert!(config.challenges().is_empty(), "tokens are withdrawn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_slower_than_the_poll_timeout_is_a_timeout_error() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let poll_timeout = Duration::from_secs(1);
    let config = pebble
        .config(&["slow.example.test"])
        .poll_timeout(poll_timeout)
        .build()
        .unwrap();
    // A challenge server that answers, but only after the poll timeout:
    // pebble's validation, and so the order, stays pending meanwhile.
    let challenges = Arc::new(ChallengeHandler::new(config.challenges().clone()));
    let slow = paf_hyper::Server::new(move |request: Request<Body>| {
        let challenges = challenges.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Handler::call(&challenges, request).await
        }
    })
    .bind_tcp(pebble.challenge_addr())
    .await
    .unwrap();

    let started = std::time::Instant::now();
    let err = within_limit("a slow validation", provision_certificate(&config))
        .await
        .expect_err("the CA cannot validate in time");
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == poll_timeout),
        "{err:?}"
    );
    assert!(err.to_string().contains("validate the challenges"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    slow.stop(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_directory_is_reported_with_its_url() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/dir");
    let config = paf_le::Config::builder()
        .hostname("example.test")
        .directory(paf_le::Directory::Url(url.parse().unwrap()))
        .build()
        .unwrap();
    let err = within_limit("an unreachable directory", provision_certificate(&config))
        .await
        .expect_err("nothing listens");
    assert!(err.is_directory_unreachable(), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");

    // A server that answers, but not with a directory.
    let server = paf_hyper::Server::new(|_req: Request<Body>| async {
        paf_core::server::status_response(http::StatusCode::NOT_FOUND)
    })
    .bind_tcp("127.0.0.1:0".parse().unwrap())
    .await
    .unwrap();
    let url = format!("{}/dir", server.url().unwrap());
    let config = paf_le::Config::builder()
        .hostname("example.test")
        .directory(paf_le::Directory::Url(url.parse().unwrap()))
        .build()
        .unwrap();
    let err = provision_certificate(&config).await.expect_err("a 404");
    assert!(err.is_directory_unreachable(), "{err:?}");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("404"), "{cause}");
    server.stop(Duration::from_secs(1)).await;
}

/// The leaf a TLS client trusting only `root_pem` is served at `addr` for
/// `name`, or the handshake error.
async fn served_leaf(
    addr: std::net::SocketAddr,
    name: &str,
    root_pem: &str,
) -> Result<Vec<u8>, std::io::Error> {
    let chain = served_chain(&tls_client(root_pem, &[]), addr, name).await?;
    Ok(chain[0].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_server_swaps_in_the_issued_certificate_without_restart() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let name = "www.example.test";
    let config = pebble.config(&[name]).build().unwrap();
    let root = pebble.root_pem().await;

    let resolver = Arc::new(CertResolver::new(&Certificate::self_signed([name]).unwrap()).unwrap());
    let https = paf_hyper::Server::builder()
        .tls(resolver.server_config().unwrap())
        .build(|_req: Request<Body>| async { Response::new(Body::from("hello over TLS")) })
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = https.local_addr().unwrap();

    let before = served_leaf(addr, name, &root).await;
    assert!(
        before.is_err(),
        "a client trusting pebble refuses the self-signed certificate"
    );

    let cert = issue(&pebble, &config, "provisioning").await;
    resolver.set(&cert).unwrap();

    let after = served_leaf(addr, name, &root)
        .await
        .expect("the same server now serves a certificate pebble's root vouches for");
    assert_eq!(after, cert.leaf().to_vec());
    assert_eq!(https.local_addr(), Some(addr), "same server, same listener");

    // And HTTP over it, with paf's client trusting only pebble's root.
    let ctx = paf_core::Ctx::new()
        .with_client_tls(
            &paf_core::tls::ClientTls::new()
                .webpki_roots(false)
                .add_roots_pem(root.as_bytes())
                .unwrap(),
        )
        .unwrap()
        .route(name, paf_core::ctx::Endpoint::TcpAddr(addr));
    let client = paf_hyper::Client::builder().ctx(ctx).build();
    let response = client.get(&format!("https://{name}/")).await.unwrap();
    assert_eq!(
        response.into_body().to_string(1024).await.unwrap(),
        "hello over TLS"
    );
    https.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_happens_at_two_thirds_of_the_lifetime_by_the_injected_clock() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let name = "renew.example.test";
    let config = pebble.config(&[name]).build().unwrap();
    let first = issue(&pebble, &config, "provisioning").await;

    // Two thirds of the lifetime, computed here from the validity period.
    let lifetime = first
        .not_after()
        .duration_since(first.not_before())
        .unwrap();
    let due = first.not_before()
        + Duration::from_secs((lifetime.as_secs_f64() * 2.0 / 3.0).round() as u64);
    assert_eq!(first.renew_at(DEFAULT_RENEW_FRACTION), due);

    let clock_secs = Arc::new(AtomicU64::new(0));
    let set_clock = |at: SystemTime| {
        clock_secs.store(
            at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            Ordering::SeqCst,
        );
    };
    set_clock(due - Duration::from_secs(1));
    let clock = {
        let secs = clock_secs.clone();
        move || UNIX_EPOCH + Duration::from_secs(secs.load(Ordering::SeqCst))
    };

    let resolver = Arc::new(CertResolver::new(&first).unwrap());
    let renewal = Renewal::new(config.clone(), resolver.clone())
        .clock(clock)
        .check_interval(Duration::from_millis(20))
        .with_challenge_server(true)
        .spawn(first.clone());
    assert_eq!(renewal.state().next_renewal, due);

    // One second before the due time: many checks, no renewal.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(renewal.state().renewals, 0);
    assert_eq!(resolver.current().end_entity_cert().unwrap(), first.leaf());

    // At the due time: renewed, and swapped into the resolver.
    set_clock(due);
    let mut state = renewal.subscribe();
    within_limit(
        "the renewal",
        state.wait_for(|state| state.renewals >= 1 || state.last_error.is_some()),
    )
    .await
    .unwrap();
    let state = renewal.state();
    assert!(
        state.last_error.is_none(),
        "{:?}\n{}",
        state.last_error,
        pebble.logs()
    );
    let served = resolver.current();
    let served_leaf = served.end_entity_cert().unwrap();
    assert_ne!(served_leaf, first.leaf(), "a new certificate is served");
    // The served chain is pebble's: verify it as a client would.
    let root = pebble.root_pem().await;
    verify_chain(&root, &served.cert, name).expect("the renewed chain verifies");
    // Scheduled from the new certificate, which pebble may have issued in
    // the same second as the first one.
    assert!(state.next_renewal >= due);
    assert!(state.not_after >= first.not_after());
    renewal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_requires_external_account_binding_gets_it() {
    // As a CA shows them: a key ID and a base64url HMAC key.
    let (kid, mac_key) = (
        "kid-paf",
        "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
    );
    let Some(pebble) = Pebble::start_with_config(serde_json::json!({
        "externalAccountBindingRequired": true,
        "externalAccountMACKeys": { kid: mac_key },
    })) else {
        return;
    };
    let name = "eab.example.test";

    let unbound = pebble.config(&[name]).build().unwrap();
    let err = within_limit(
        "an unbound account",
        provision_with_challenge_server(&unbound),
    )
    .await
    .expect_err("the CA requires a binding");
    assert!(matches!(err, Error::AccountRefused { .. }), "{err:?}");
    assert_eq!(
        err.problem().and_then(|p| p.kind.as_deref()),
        Some("urn:ietf:params:acme:error:externalAccountRequired")
    );
    assert!(err.is_permanent(), "no retry fixes a missing binding");

    let wrong = pebble
        .config(&[name])
        .external_account(ExternalAccount::new(kid, b"not the key".to_vec()))
        .build()
        .unwrap();
    let err = within_limit("a wrong binding", provision_with_challenge_server(&wrong))
        .await
        .expect_err("the MAC does not verify");
    assert!(matches!(err, Error::AccountRefused { .. }), "{err:?}");
    assert!(err.is_permanent(), "{err}");

    let bound = pebble
        .config(&[name])
        .external_account(ExternalAccount::from_base64url(kid, mac_key).unwrap())
        .build()
        .unwrap();
    let cert = issue(&pebble, &bound, "a bound account").await;
    verify(&pebble.root_pem().await, &cert, name).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_certificate_resolver_answers_tls_alpn_01() {
    let Some(pebble) = Pebble::start() else {
        return;
    };
    let name = "single-alpn.example.test";
    let config = pebble
        .config(&[name])
        .challenge_types([ChallengeType::TlsAlpn01])
        .build()
        .unwrap();
    // A self-signed certificate until the CA's comes; the same resolver
    // answers the CA's acme-tls/1 handshake on pebble's tlsPort.
    let resolver = Arc::new(
        CertResolver::new(&Certificate::self_signed([name]).unwrap())
            .unwrap()
            .answering(config.challenges().clone()),
    );
    let https = paf_hyper::Server::builder()
        .tls(resolver.server_config().unwrap())
        .build(|_req: Request<Body>| async { Response::new(Body::from("hello")) })
        .bind_tcp(pebble.tls_addr())
        .await
        .unwrap();
    let cert = within_limit("provisioning", provision_certificate(&config))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", pebble.logs()));
    resolver.set(&cert).unwrap();
    let root = pebble.root_pem().await;
    let served = served_leaf(pebble.tls_addr(), name, &root).await.unwrap();
    assert_eq!(served, cert.leaf().to_vec());
    assert!(config.challenges().is_empty());
    https.stop(Duration::from_secs(1)).await;
}
