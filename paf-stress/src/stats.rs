//! What a run records: one latency per request in an HDR histogram, the
//! status codes, the bytes of the bodies, and errors grouped by paf's error
//! kinds. Clients record into a few shards so that they rarely wait for one
//! another; the shards are merged once the run is over.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard, PoisonError,
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use http::{StatusCode, Version};
use paf_core::{error::TimeoutKind, Error};

use crate::args::FailOn;

/// The largest latency the histogram tells apart (longer ones are counted as
/// this): one hour, in nanoseconds.
const MAX_LATENCY_NS: u64 = 3_600 * 1_000_000_000;

/// What one request came to: a response read to the end of its body, or an
/// error.
pub type Outcome = Result<Exchange, Error>;

/// A response that was read to its end.
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    /// Its status.
    pub status: StatusCode,
    /// The HTTP version it came in.
    pub version: Version,
    /// The bytes of its body.
    pub body_bytes: u64,
}

/// The figures of some requests (one shard, or the whole run once merged).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latencies in nanoseconds of the requests that got a response.
    pub latency: Histogram<u64>,
    /// Responses by status code.
    pub status: BTreeMap<u16, u64>,
    /// Responses by HTTP version.
    pub versions: BTreeMap<&'static str, u64>,
    /// Responses whose status the user calls a failure (`--fail-on`).
    pub failed_statuses: u64,
    /// Requests that got no response, by [`error_kind`].
    pub errors: BTreeMap<&'static str, ErrorGroup>,
    /// Bytes of the response bodies.
    pub body_bytes: u64,
}

/// The errors of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorGroup {
    /// How many requests failed so.
    pub count: u64,
    /// The message of the first one, with its causes.
    pub example: String,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
                .expect("the bounds are constants that hdrhistogram accepts"),
            status: BTreeMap::new(),
            versions: BTreeMap::new(),
            failed_statuses: 0,
            errors: BTreeMap::new(),
            body_bytes: 0,
        }
    }
}

impl Stats {
    /// Records one request.
    pub fn record(&mut self, outcome: &Outcome, latency: Duration, fail_on: &FailOn) {
        match outcome {
            Ok(exchange) => {
                let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                self.latency.saturating_record(nanos.max(1));
                let code = exchange.status.as_u16();
                *self.status.entry(code).or_default() += 1;
                *self
                    .versions
                    .entry(version_name(exchange.version))
                    .or_default() += 1;
                if fail_on.matches(code) {
                    self.failed_statuses += 1;
                }
                self.body_bytes += exchange.body_bytes;
            }
            Err(error) => {
                let group = self
                    .errors
                    .entry(error_kind(error))
                    .or_insert_with(|| ErrorGroup {
                        count: 0,
                        example: with_causes(error),
                    });
                group.count += 1;
            }
        }
    }

    /// Adds another shard's figures to these.
    pub fn merge(&mut self, other: &Stats) {
        self.latency
            .add(&other.latency)
            .expect("every shard's histogram has the same bounds");
        for (code, n) in &other.status {
            *self.status.entry(*code).or_default() += n;
        }
        for (version, n) in &other.versions {
            *self.versions.entry(version).or_default() += n;
        }
        self.failed_statuses += other.failed_statuses;
        for (kind, group) in &other.errors {
            self.errors
                .entry(kind)
                .and_modify(|mine| mine.count += group.count)
                .or_insert_with(|| group.clone());
        }
        self.body_bytes += other.body_bytes;
    }

    /// Requests that got a response.
    pub fn responses(&self) -> u64 {
        self.status.values().sum()
    }

    /// Requests that got no response.
    pub fn error_count(&self) -> u64 {
        self.errors.values().map(|g| g.count).sum()
    }
}

/// Stats in a few shards behind locks: client `i` records into shard
/// `i % shards`, so with one shard per runtime thread (or so) a lock is
/// almost never contended, and memory does not grow with the concurrency.
///
/// The shards also count the requests in flight (sent, not yet recorded),
/// so that a run stopped early can tell how many it abandoned: a request
/// leaves the count under its shard's lock, and [`Shards::snapshot`] holds
/// every lock, so each request is either in the figures or in flight, never
/// both or neither.
#[derive(Debug)]
pub struct Shards {
    shards: Vec<Mutex<Stats>>,
    in_flight: AtomicU64,
}

/// The figures of every shard at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every request recorded so far.
    pub stats: Stats,
    /// Requests sent and not recorded yet.
    pub in_flight: u64,
}

impl Shards {
    /// `n` empty shards (at least one).
    pub fn new(n: usize) -> Self {
        Shards {
            shards: (0..n.max(1)).map(|_| Mutex::default()).collect(),
            in_flight: AtomicU64::new(0),
        }
    }

    /// A request is about to be sent: it is in flight until
    /// [`Shards::record`]ed.
    pub fn sending(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one request of client `client` (one that was
    /// [`Shards::sending`]).
    pub fn record(&self, client: usize, outcome: &Outcome, latency: Duration, fail_on: &FailOn) {
        let mut shard = lock(&self.shards[client % self.shards.len()]);
        shard.record(outcome, latency, fail_on);
        // Under the lock: see the type's documentation. Saturating, so that
        // a record without `sending` cannot wrap the count.
        let _ = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    /// The figures of every shard, merged, and the requests in flight, as of
    /// one moment. Clients may go on recording afterwards.
    pub fn snapshot(&self) -> Snapshot {
        let guards: Vec<MutexGuard<'_, Stats>> = self.shards.iter().map(lock).collect();
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        let mut stats = Stats::default();
        for shard in &guards {
            stats.merge(shard);
        }
        Snapshot { stats, in_flight }
    }
}

/// A panicking client leaves whole figures behind: a shard's lock is only
/// held while counting.
fn lock(shard: &Mutex<Stats>) -> MutexGuard<'_, Stats> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The name of an HTTP version as a report shows it.
pub fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "other",
    }
}

/// The group an error is counted in: paf's error variant, and for timeouts
/// what timed out.
pub fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::InvalidUrl { .. } => "invalid_url",
        Error::Connect { .. } => "connect",
        Error::Tls { .. } => "tls",
        Error::Timeout {
            what: TimeoutKind::Connect,
            ..
        } => "timeout_connect",
        Error::Timeout {
            what: TimeoutKind::Body,
            ..
        } => "timeout_body",
        Error::Timeout { .. } => "timeout",
        Error::Protocol { .. } => "protocol",
        Error::BodyTooLarge { .. } => "body_too_large",
        Error::TooManyRedirects { .. } => "too_many_redirects",
        Error::Unsupported { .. } => "unsupported",
        Error::NoTransport { .. } => "no_transport",
        Error::Body { .. } => "body",
        Error::Io(_) => "io",
        _ => "other",
    }
}

/// An error's message followed by its causes', as `a: b: c`.
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        // Engines often repeat their cause in their own message.
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(status: u16, bytes: u64) -> Outcome {
        Ok(Exchange {
            status: StatusCode::from_u16(status).unwrap(),
            version: Version::HTTP_11,
            body_bytes: bytes,
        })
    }

    #[test]
    fn shards_merge_to_the_same_totals() {
        let fail_on: FailOn = "5xx".parse().unwrap();
        let shards = Shards::new(3);
        for i in 0..30 {
            let status = if i % 10 == 0 { 503 } else { 200 };
            shards.record(
                i,
                &ok(status, 13),
                Duration::from_micros(100 + i as u64),
                &fail_on,
            );
        }
        let refused = Err(Error::Connect {
            endpoint: "tcp://127.0.0.1:1".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        });
        shards.record(4, &refused, Duration::ZERO, &fail_on);
        shards.record(5, &refused, Duration::ZERO, &fail_on);
        let stats = shards.snapshot().stats;
        assert_eq!(stats.latency.len(), 30, "errors have no latency");
        assert_eq!(stats.status[&200], 27);
        assert_eq!(stats.status[&503], 3);
        assert_eq!(stats.failed_statuses, 3);
        assert_eq!(stats.responses(), 30);
        assert_eq!(stats.body_bytes, 30 * 13);
        assert_eq!(stats.errors["connect"].count, 2);
        assert!(stats.errors["connect"]
            .example
            .starts_with("cannot connect to tcp://127.0.0.1:1: "));
        assert_eq!(stats.versions["HTTP/1.1"], 30);
    }

    #[test]
    fn requests_in_flight_are_those_sent_and_not_recorded() {
        let fail_on = FailOn::none();
        let shards = Shards::new(2);
        for _ in 0..5 {
            shards.sending();
        }
        shards.record(0, &ok(200, 1), Duration::from_millis(1), &fail_on);
        shards.record(1, &ok(200, 1), Duration::from_millis(1), &fail_on);
        let snapshot = shards.snapshot();
        assert_eq!(snapshot.in_flight, 3);
        assert_eq!(snapshot.stats.responses(), 2);
        // Recording goes on after a snapshot; the count never wraps.
        for _ in 0..5 {
            shards.record(0, &ok(200, 1), Duration::from_millis(1), &fail_on);
        }
        let snapshot = shards.snapshot();
        assert_eq!((snapshot.in_flight, snapshot.stats.responses()), (0, 7));
    }

    #[test]
    fn timeouts_are_grouped_by_what_timed_out() {
        let connect = Error::Timeout {
            what: TimeoutKind::Connect,
            after: Duration::from_secs(1),
        };
        let request = Error::Timeout {
            what: TimeoutKind::Request,
            after: Duration::from_secs(1),
        };
        assert_eq!(error_kind(&connect), "timeout_connect");
        assert_eq!(error_kind(&request), "timeout");
    }
}
