//! The figures of a finished run, in the three forms the tool writes: text
//! for the terminal ([`Report`]'s `Display`), JSON ([`Report::to_json`]) and
//! the SVG plot ([`crate::plot`]). All three are made from this one value, so
//! they always agree.
//!
//! The counts add up by construction:
//! `successes + failures == requests`, `failures == failed_statuses + errors`,
//! and the status codes sum to `responses == requests - errors`. Requests a
//! run stopped early abandoned in flight are in none of these (they are
//! `abandoned`).
//!
//! Latency figures exist only when some request got a response: with none,
//! `latency_ms` is `null` in the JSON and `n/a` in the text, never zeros
//! that would read as a very fast server.

use std::{collections::BTreeMap, fmt, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    args::{Args, Backend, FailOn, Mode},
    stats::Stats,
};

/// How many bars the latency histogram has at most.
pub const HISTOGRAM_BARS: usize = 20;

/// The results of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The URL that was loaded.
    pub url: String,
    /// The request method.
    pub method: String,
    /// The backend that sent the requests.
    pub backend: Backend,
    /// The protocol asked for: `auto`, `HTTP/1.1` or `HTTP/2`.
    pub protocol: &'static str,
    /// Clients sending at the same time.
    pub concurrency: u32,
    /// How requests were paced: a closed loop, or a constant rate (then
    /// latencies count from each request's scheduled send time).
    pub mode: Mode,
    /// Constant rate only (`null` in a closed loop): requests due before the
    /// run ended that were never sent, because every client was busy. Not
    /// in `requests`; raise `-c` when it is not 0.
    pub unsent: Option<u64>,
    /// True when the run was stopped early (Ctrl-C): the figures are those
    /// of the requests finished by then.
    pub interrupted: bool,
    /// Requests in flight when the run was interrupted: neither counted in
    /// `requests` nor timed.
    pub abandoned: u64,
    /// Requests sent.
    pub requests: u64,
    /// Requests that got a response whose status is not a failure.
    pub successes: u64,
    /// Requests that got no response, or a status named by `--fail-on`.
    pub failures: u64,
    /// Requests that got a response (read to the end of its body).
    pub responses: u64,
    /// Responses whose status is named by `--fail-on`.
    pub failed_statuses: u64,
    /// The `--fail-on` rule.
    pub fail_on: FailOn,
    /// From the first request sent to the last response read, in seconds.
    pub elapsed_secs: f64,
    /// `requests / elapsed_secs`.
    pub requests_per_sec: f64,
    /// Bytes of the response bodies.
    pub bytes: u64,
    /// `bytes / elapsed_secs`.
    pub bytes_per_sec: f64,
    /// Latency of the requests that got a response (whatever their status),
    /// to the end of the body, in milliseconds: from sending in a closed
    /// loop, from the scheduled send time at a constant rate. `None` (JSON
    /// `null`) when no request got a response.
    pub latency_ms: Option<Latency>,
    /// The latency histogram: log-spaced buckets from the fastest to the
    /// slowest response.
    pub histogram: Vec<Bucket>,
    /// Responses by status code.
    pub status_codes: BTreeMap<u16, u64>,
    /// Responses by HTTP version.
    pub versions: BTreeMap<&'static str, u64>,
    /// Requests that got no response, by paf error kind.
    pub errors: BTreeMap<&'static str, ErrorSummary>,
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// The fastest.
    pub min: f64,
    /// The mean.
    pub mean: f64,
    /// The standard deviation.
    pub stdev: f64,
    /// The median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// The slowest.
    pub max: f64,
}

/// One bar of the histogram: responses whose latency is in `[from_ms, to_ms)`
/// (the last bar includes its upper edge).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    /// Lower edge, milliseconds.
    pub from_ms: f64,
    /// Upper edge, milliseconds.
    pub to_ms: f64,
    /// Responses in it.
    pub count: u64,
}

/// The errors of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorSummary {
    /// How many requests failed so.
    pub count: u64,
    /// The first one's message, with its causes.
    pub example: String,
}

/// How a run went, besides what its requests recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// From the start of the run until it stopped.
    pub elapsed: Duration,
    /// The run was stopped early.
    pub interrupted: bool,
    /// Requests in flight when it was stopped early.
    pub abandoned: u64,
    /// Constant rate: requests due before the end that were never sent.
    pub unsent: u64,
}

fn ms(nanos: f64) -> f64 {
    nanos / 1e6
}

impl Report {
    /// Sums up a run's figures.
    pub fn new(args: &Args, stats: &Stats, run: &RunInfo) -> Report {
        let mode = args.mode();
        let elapsed = run.elapsed;
        let responses = stats.responses();
        let errors = stats.error_count();
        let requests = responses + errors;
        let failures = errors + stats.failed_statuses;
        let secs = elapsed.as_secs_f64();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        Report {
            url: args.url.clone(),
            method: args.method.to_string(),
            backend: args.backend,
            protocol: args.protocol(),
            concurrency: args.concurrency,
            mode,
            unsent: match mode {
                Mode::ClosedLoop => None,
                Mode::ConstantRate { .. } => Some(run.unsent),
            },
            interrupted: run.interrupted,
            abandoned: run.abandoned,
            requests,
            successes: requests - failures,
            failures,
            responses,
            failed_statuses: stats.failed_statuses,
            fail_on: args.fail_on.clone(),
            elapsed_secs: secs,
            requests_per_sec: per_sec(requests),
            bytes: stats.body_bytes,
            bytes_per_sec: per_sec(stats.body_bytes),
            latency_ms: latency(&stats.latency),
            histogram: buckets(&stats.latency, HISTOGRAM_BARS),
            status_codes: stats.status.clone(),
            versions: stats.versions.clone(),
            errors: stats
                .errors
                .iter()
                .map(|(kind, group)| {
                    (
                        *kind,
                        ErrorSummary {
                            count: group.count,
                            example: group.example.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// True when any request failed: the tool then exits non-zero.
    pub fn failed(&self) -> bool {
        self.failures > 0
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report holds only maps with string keys")
    }
}

/// The figures of a histogram; `None` when it is empty (no response).
pub fn latency(h: &Histogram<u64>) -> Option<Latency> {
    if h.is_empty() {
        return None;
    }
    let at = |q: f64| ms(h.value_at_quantile(q) as f64);
    Some(Latency {
        min: ms(h.min() as f64),
        mean: ms(h.mean()),
        stdev: ms(h.stdev()),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p99_9: at(0.999),
        max: ms(h.max() as f64),
    })
}

/// Splits the recorded latencies into at most `bars` buckets whose edges grow
/// geometrically from the fastest to the slowest response: on a loopback run
/// most responses take a fraction of a millisecond and a few take tens, and
/// linear buckets would put nearly everything in the first bar.
pub fn buckets(h: &Histogram<u64>, bars: usize) -> Vec<Bucket> {
    if h.is_empty() || bars == 0 {
        return Vec::new();
    }
    let low = h.min().max(1) as f64;
    let high = h.max().max(1) as f64;
    // All responses in one HDR bucket: one bar says it all.
    let bars = if h.equivalent(h.min(), h.max()) {
        1
    } else {
        bars
    };
    let step = (high / low).powf(1.0 / bars as f64);
    let edges: Vec<f64> = (0..=bars)
        .map(|i| {
            if i == bars {
                high
            } else {
                low * step.powi(i as i32)
            }
        })
        .collect();
    let mut counts = vec![0u64; bars];
    for value in h.iter_recorded() {
        // `value_iterated_to` is the highest value the HDR bucket stands for,
        // clamped to what was really seen.
        let v = (value.value_iterated_to() as f64).clamp(low, high);
        let i = edges[1..].partition_point(|&edge| edge <= v).min(bars - 1);
        counts[i] += value.count_at_value();
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Bucket {
            from_ms: ms(edges[i]),
            to_ms: ms(edges[i + 1]),
            count,
        })
        .collect()
}

/// Bytes with a binary unit: `512 B`, `1.50 KiB`, `3.20 GiB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[0])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// The width of the longest histogram bar, in characters.
const BAR_WIDTH: f64 = 40.0;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Summary: {} {} ({} backend, {}, {} clients)",
            self.method, self.url, self.backend, self.protocol, self.concurrency
        )?;
        match self.mode {
            Mode::ClosedLoop => writeln!(
                f,
                "  Mode:        closed loop (each client sends when its last response is in)"
            )?,
            Mode::ConstantRate { .. } => writeln!(
                f,
                "  Mode:        {} (latency from each request's scheduled send time)",
                self.mode
            )?,
        }
        if self.interrupted {
            writeln!(
                f,
                "  Interrupted: stopped early; {} request(s) in flight abandoned, not counted",
                self.abandoned
            )?;
        }
        writeln!(
            f,
            "  Requests:    {} ({} succeeded, {} failed)",
            self.requests, self.successes, self.failures
        )?;
        if let Some(unsent) = self.unsent.filter(|&n| n > 0) {
            writeln!(
                f,
                "  Behind:      {unsent} request(s) due before the end never sent: \
                 every client was busy (raise -c)"
            )?;
        }
        writeln!(f, "  Elapsed:     {:.3} s", self.elapsed_secs)?;
        writeln!(f, "  Requests/s:  {:.1}", self.requests_per_sec)?;
        writeln!(
            f,
            "  Bytes/s:     {}/s ({} bytes of response bodies)",
            human_bytes(self.bytes_per_sec),
            self.bytes
        )?;

        if !self.histogram.is_empty() {
            writeln!(f)?;
            writeln!(f, "Latency histogram (ms, log buckets):")?;
            let top = self
                .histogram
                .iter()
                .map(|b| b.count)
                .max()
                .unwrap_or(1)
                .max(1);
            let count_width = top.to_string().len();
            for bucket in &self.histogram {
                let len = (bucket.count as f64 / top as f64 * BAR_WIDTH).round() as usize;
                // A bucket with any response shows at least a sliver.
                let bar = if bucket.count > 0 && len == 0 {
                    "▏".to_string()
                } else {
                    "■".repeat(len)
                };
                writeln!(
                    f,
                    "  {:>9.3} .. {:>9.3} [{:>count_width$}] |{bar}",
                    bucket.from_ms, bucket.to_ms, bucket.count
                )?;
            }
        }

        writeln!(f)?;
        match &self.latency_ms {
            None => writeln!(f, "Latency (ms): n/a (no response)")?,
            Some(l) => {
                match self.mode {
                    Mode::ClosedLoop => writeln!(f, "Latency (ms):")?,
                    Mode::ConstantRate { .. } => {
                        writeln!(f, "Latency (ms, from the scheduled send time):")?;
                    }
                }
                writeln!(
                    f,
                    "  min {:.3}  mean {:.3}  stdev {:.3}",
                    l.min, l.mean, l.stdev
                )?;
                for (name, value) in [
                    ("p50", l.p50),
                    ("p90", l.p90),
                    ("p99", l.p99),
                    ("p99.9", l.p99_9),
                    ("max", l.max),
                ] {
                    writeln!(f, "  {name:<6}{value:>10.3}")?;
                }
            }
        }

        writeln!(f)?;
        writeln!(f, "Status codes:")?;
        if self.status_codes.is_empty() {
            writeln!(f, "  (no response)")?;
        }
        for (code, count) in &self.status_codes {
            let mark = if self.fail_on.matches(*code) {
                "  (failure: --fail-on)"
            } else {
                ""
            };
            writeln!(f, "  {code}: {count}{mark}")?;
        }
        if !self.versions.is_empty() {
            let versions: Vec<String> = self
                .versions
                .iter()
                .map(|(v, n)| format!("{v}: {n}"))
                .collect();
            writeln!(f, "Versions: {}", versions.join(", "))?;
        }

        if !self.errors.is_empty() {
            writeln!(f)?;
            writeln!(f, "Errors:")?;
            for (kind, group) in &self.errors {
                writeln!(f, "  {kind}: {} (first: {})", group.count, group.example)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values_us: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for v in values_us {
            h.record(v * 1000).unwrap();
        }
        h
    }

    #[test]
    fn buckets_hold_every_response_once() {
        let values: Vec<u64> = (1..=1000).map(|i| 50 + (i * i) % 5000).collect();
        let h = histogram(&values);
        let b = buckets(&h, 20);
        assert_eq!(b.len(), 20);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 1000);
        for pair in b.windows(2) {
            assert!(
                (pair[0].to_ms - pair[1].from_ms).abs() < 1e-9,
                "edges touch"
            );
            assert!(pair[0].to_ms / pair[0].from_ms > 1.0);
        }
        assert!(b[0].from_ms <= 0.051);
        assert!(b[19].to_ms >= 5.0);
    }

    #[test]
    fn one_distinct_latency_is_one_bucket() {
        let b = buckets(&histogram(&[200, 200, 200]), 20);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].count, 3);
        assert!(buckets(&histogram(&[]), 20).is_empty());
    }

    #[test]
    fn no_response_means_no_latency_not_zero() {
        use clap::Parser;
        let args = Args::parse_from(["paf-stress", "http://x/"]);
        let mut stats = Stats::default();
        let refused = Err(paf_core::Error::Connect {
            endpoint: "tcp://127.0.0.1:1".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        });
        stats.record(&refused, Duration::ZERO, &args.fail_on);
        let report = Report::new(&args, &stats, &RunInfo::default());
        assert_eq!(report.latency_ms, None);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert!(json["latency_ms"].is_null(), "{json}");
        let text = report.to_string();
        assert!(text.contains("Latency (ms): n/a (no response)"), "{text}");
        assert!(!text.contains("p99"), "{text}");
        assert!(text.contains("Mode:        closed loop"), "{text}");
        assert!(json["unsent"].is_null() && json["mode"]["kind"] == "closed_loop");
    }

    #[test]
    fn rate_runs_say_so_and_count_what_they_could_not_send() {
        use clap::Parser;
        let args = Args::parse_from(["paf-stress", "-q", "500", "http://x/"]);
        let run = RunInfo {
            elapsed: Duration::from_secs(1),
            interrupted: true,
            abandoned: 3,
            unsent: 7,
        };
        let report = Report::new(&args, &Stats::default(), &run);
        let text = report.to_string();
        assert!(
            text.contains("Mode:        constant rate 500 req/s"),
            "{text}"
        );
        assert!(
            text.contains("7 request(s) due before the end never sent"),
            "{text}"
        );
        assert!(text.contains("3 request(s) in flight abandoned"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["mode"]["kind"], "constant_rate");
        assert_eq!(json["mode"]["per_sec"], 500.0);
        assert_eq!(
            (json["unsent"].as_u64(), json["abandoned"].as_u64()),
            (Some(7), Some(3))
        );
        assert_eq!(json["interrupted"], true);
    }

    #[test]
    fn bytes_get_binary_units() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.50 KiB");
        assert_eq!(human_bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.00 GiB");
    }
}
