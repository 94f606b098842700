use std::{collections::VecDeque, sync::Mutex, time::UNIX_EPOCH};

use super::*;
use crate::error::Problem;

/// Answers each renewal with the next scripted outcome.
struct Scripted {
    outcomes: Mutex<VecDeque<Result<Obtained, Error>>>,
}

impl Scripted {
    fn new(outcomes: impl IntoIterator<Item = Result<Obtained, Error>>) -> Self {
        Scripted {
            outcomes: Mutex::new(outcomes.into_iter().collect()),
        }
    }
}

impl Issue for Scripted {
    fn obtain<'a>(
        &'a self,
        _now: SystemTime,
        _fraction: f64,
        _replacing: Option<&'a Certificate>,
    ) -> BoxFuture<'a, Result<Obtained, Error>> {
        let next = self.outcomes.lock().unwrap().pop_front();
        Box::pin(async move {
            next.unwrap_or(Err(Error::Unsupported {
                what: "more renewals than the test scripted".into(),
            }))
        })
    }
}

fn transient() -> Error {
    Error::Timeout {
        what: "waiting for the CA to issue the certificate",
        after: Duration::from_secs(90),
    }
}

fn problem(kind: &str, retry_after: Option<Duration>) -> Box<Problem> {
    Box::new(Problem {
        kind: Some(format!("urn:ietf:params:acme:error:{kind}")),
        detail: Some("scripted".into()),
        status: Some(400),
        subproblems: Vec::new(),
        retry_after,
    })
}

fn config() -> Config {
    Config::builder()
        .hostname("renew.example.org")
        .build()
        .unwrap()
}

/// The next event, within a few seconds.
async fn next_event(events: &mut broadcast::Receiver<RenewalEvent>) -> RenewalEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
        .expect("the task is running")
}

#[tokio::test]
async fn a_renewal_that_fails_three_times_then_succeeds_backs_off_growing_jittered_delays() {
    let old = Certificate::self_signed(["renew.example.org"]).unwrap();
    let new = Certificate::self_signed(["renew.example.org"]).unwrap();
    let resolver = Arc::new(CertResolver::new(&old).unwrap());
    let clock = ManualClock::new(UNIX_EPOCH);
    let due = old.renew_at(DEFAULT_RENEW_FRACTION);
    clock.set(due - Duration::from_secs(1));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let renewal = Renewal::new(config(), resolver.clone())
        .clock(clock.clone())
        .check_interval(Duration::from_millis(10))
        .issuer(Scripted::new([
            Err(transient()),
            Err(transient()),
            Err(transient()),
            Ok(Obtained {
                certificate: new.clone(),
                origin: Origin::Issued,
            }),
        ]))
        .on_event({
            let seen = seen.clone();
            move |event| seen.lock().unwrap().push(event.clone())
        })
        .spawn(old.clone());
    let mut events = renewal.events();
    clock.set(due);

    let mut delays = Vec::new();
    for failure in 1..=3u32 {
        let RenewalEvent::Failed {
            error,
            failures,
            permanent,
            retry_in,
            retry_at,
            ..
        } = next_event(&mut events).await
        else {
            panic!("failure {failure} expected");
        };
        assert!(error.is_timeout(), "{error}");
        assert_eq!(failures, failure);
        assert!(!permanent);
        // One minute, doubling; each between 80% and 100% of that.
        let nominal = Duration::from_secs(60 << (failure - 1));
        assert!(
            retry_in <= nominal && retry_in >= nominal.mul_f64(0.8),
            "failure {failure}: {retry_in:?} not within 80–100% of {nominal:?}"
        );
        let state = renewal.state();
        assert_eq!((state.failures, state.renewals), (failure, 0));
        assert_eq!(state.next_renewal, retry_at);
        assert_eq!(
            resolver.current().end_entity_cert().unwrap(),
            old.leaf(),
            "the old certificate is served meanwhile"
        );
        delays.push(retry_in);
        // Not a second early: nothing happens before the retry is due.
        clock.set(retry_at - Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(events.is_empty(), "no retry before its time");
        clock.set(retry_at);
    }
    assert!(
        delays.windows(2).all(|pair| pair[0] < pair[1]),
        "{delays:?}"
    );

    let RenewalEvent::Renewed {
        origin, not_after, ..
    } = next_event(&mut events).await
    else {
        panic!("a renewal expected");
    };
    assert_eq!(origin, Origin::Issued);
    assert_eq!(not_after, new.not_after());
    assert_eq!(resolver.current().end_entity_cert().unwrap(), new.leaf());
    let state = renewal.state();
    assert_eq!((state.failures, state.renewals), (0, 1));
    assert!(state.last_error.is_none());
    renewal.stop().await;
    // The callback saw the same four events.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(matches!(seen[3], RenewalEvent::Renewed { .. }));
}

#[tokio::test]
async fn permanent_failures_retry_after_a_day_and_retry_after_is_honoured() {
    let old = Certificate::self_signed(["renew.example.org"]).unwrap();
    let resolver = Arc::new(CertResolver::new(&old).unwrap());
    let clock = ManualClock::new(UNIX_EPOCH);
    let due = old.renew_at(DEFAULT_RENEW_FRACTION);
    clock.set(due - Duration::from_secs(1));
    let asked = Duration::from_secs(3 * 3600);
    let renewal = Renewal::new(config(), resolver.clone())
        .clock(clock.clone())
        .check_interval(Duration::from_millis(10))
        .issuer(Scripted::new([
            Err(Error::OrderRefused {
                identifiers: vec!["renew.example.org".into()],
                problem: problem("rejectedIdentifier", None),
            }),
            Err(Error::Acme {
                step: "placing the order",
                problem: Some(problem("rateLimited", Some(asked))),
                source: "scripted".into(),
            }),
        ]))
        .spawn(old.clone());
    let mut events = renewal.events();
    clock.set(due);

    let RenewalEvent::Failed {
        permanent,
        retry_in,
        retry_at,
        ..
    } = next_event(&mut events).await
    else {
        panic!("a failure expected");
    };
    assert!(permanent, "a rejected identifier will not pass by itself");
    let day = Duration::from_secs(86_400);
    assert!(
        retry_in <= day && retry_in >= day.mul_f64(0.8),
        "{retry_in:?}"
    );

    clock.set(retry_at);
    let RenewalEvent::Failed {
        error,
        permanent,
        retry_in,
        failures,
        ..
    } = next_event(&mut events).await
    else {
        panic!("a failure expected");
    };
    assert!(!permanent);
    assert_eq!(failures, 2);
    assert_eq!(error.retry_after(), Some(asked));
    assert_eq!(
        retry_in, asked,
        "the CA's Retry-After, over a 2-minute backoff"
    );
    assert_eq!(resolver.current().end_entity_cert().unwrap(), old.leaf());
    renewal.stop().await;
}

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
        .backoff(Backoff::new(
            Duration::from_secs(600),
            Duration::from_secs(3600),
        ))
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
    let wait = state.next_renewal.duration_since(now).unwrap();
    assert!(
        wait <= Duration::from_secs(600) && wait >= Duration::from_secs(480),
        "{wait:?}"
    );
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
