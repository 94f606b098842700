//! The command line: what to load, how hard, through which backend, and what
//! counts as a failure. Parsed with clap's derive API; every value is checked
//! here so that a run never starts on a typo.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use clap::{Parser, ValueEnum};
use http::{HeaderName, HeaderValue, Method};

/// Load an HTTP server with many paf clients, time every request and report
/// the latency distribution. Exits with 1 when any request failed. Ctrl-C
/// stops the run and reports what was done (twice: quits at once).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "paf-stress",
    version,
    about,
    long_about = None,
    after_help = "Ctrl-C stops the run early and reports what was done (text, --json, --plot); \
                  a second Ctrl-C quits at once."
)]
pub struct Args {
    /// The URL to request (`http://` or `https://`).
    pub url: String,

    /// How many clients send requests at the same time.
    #[arg(short = 'c', long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// How many requests to send in all [default: 200 when -z is not given].
    #[arg(short = 'n', long = "requests", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Send requests for this long (`500ms`, `10s`, `2m`, `1m30s`); requests
    /// in flight when it ends are waited for.
    #[arg(short = 'z', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Constant rate: N requests per second in all, each timed from its
    /// scheduled send time [default: closed loop].
    ///
    /// Requests are due on a fixed schedule, N per second across the
    /// clients, whatever the server does. Each is timed from when it was
    /// due, so a request that waited because every client was stuck behind
    /// a slow response counts that wait (corrected for coordinated omission,
    /// as wrk2 does). Without it the run is a closed loop: each client sends
    /// its next request when its last one is done, and a stalled server slows
    /// the load down and hides the stall from the percentiles. `-c` must be
    /// large enough to keep up: requests due before a `-z` run ends that no
    /// client was free to send are reported as unsent.
    #[arg(short = 'q', long = "rate", value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// The request method.
    #[arg(short = 'm', long, default_value = "GET", value_parser = parse_method)]
    pub method: Method,

    /// A request header, `Name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// The request body, as given.
    #[arg(short = 'd', long = "data", conflicts_with = "data_file")]
    pub data: Option<String>,

    /// The request body, read from this file once before the run.
    #[arg(short = 'D', long = "data-file", value_name = "FILE")]
    pub data_file: Option<PathBuf>,

    /// The paf backend that sends the requests (ureq runs one blocking
    /// thread per client).
    #[arg(long, value_enum, default_value_t = Backend::Hyper)]
    pub backend: Backend,

    /// Speak HTTP/2 only: prior knowledge on `http://`, `h2` by ALPN on
    /// `https://`.
    #[arg(long, conflicts_with = "http1")]
    pub http2: bool,

    /// Speak HTTP/1.1 only (`http/1.1` alone in ALPN).
    #[arg(long)]
    pub http1: bool,

    /// Connect to this Unix socket instead of the URL's host.
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,

    /// Trust the CA certificates in this PEM file for `https://`.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Give up on a request after this long (connect, send, whole body).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Response statuses that count as failures: classes (`4xx`, `5xx`),
    /// codes (`404`), comma-separated, or `none`.
    #[arg(long, default_value = "5xx")]
    pub fail_on: FailOn,

    /// Write the results as JSON to this file (`-`: standard output, and the
    /// text summary goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Draw the latency histogram as an SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// Show no progress bar (it is never shown when standard error is not a
    /// terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Threads of the async runtime [default: one per core].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// The default request count when neither `-n` nor `-z` is given.
pub const DEFAULT_REQUESTS: u64 = 200;

/// The highest `--rate`, in requests per second.
pub const MAX_RATE: f64 = 10_000_000.0;

/// The longest duration the options take (about 31 years): any longer and
/// the deadline would not fit in an [`std::time::Instant`].
pub const MAX_DURATION: Duration = Duration::from_secs(1_000_000_000);

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mode {
    /// Each client sends its next request as soon as its last one is done;
    /// a request is timed from when it was sent.
    ClosedLoop,
    /// Requests are sent on a fixed schedule, this many per second across
    /// the clients; a request is timed from its scheduled send time.
    ConstantRate {
        /// Requests per second, in all.
        per_sec: f64,
    },
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::ClosedLoop => f.write_str("closed loop"),
            Mode::ConstantRate { per_sec } => write!(f, "constant rate {per_sec} req/s"),
        }
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many requests.
    Count(u64),
    /// Once this long has passed (requests in flight then still finish).
    Duration(Duration),
}

impl Args {
    /// When the run stops: `-z`, else `-n`, else [`DEFAULT_REQUESTS`].
    pub fn stop(&self) -> Stop {
        match (self.duration, self.requests) {
            (Some(d), _) => Stop::Duration(d),
            (None, n) => Stop::Count(n.unwrap_or(DEFAULT_REQUESTS)),
        }
    }

    /// How requests are paced: `--rate`, else a closed loop.
    pub fn mode(&self) -> Mode {
        match self.rate {
            Some(per_sec) => Mode::ConstantRate { per_sec },
            None => Mode::ClosedLoop,
        }
    }

    /// The protocol asked for, as the report names it.
    pub fn protocol(&self) -> &'static str {
        match (self.http1, self.http2) {
            (true, _) => "HTTP/1.1",
            (_, true) => "HTTP/2",
            _ => "auto",
        }
    }
}

/// The paf backend that sends the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `paf-hyper`: async, HTTP/1.1 and HTTP/2.
    Hyper,
    /// `paf-reqwest`: async, HTTP/1.1 and HTTP/2.
    Reqwest,
    /// `paf-ureq`: blocking, HTTP/1.1 only; one thread per client.
    Ureq,
}

impl Backend {
    /// The backend's name, as paf calls it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Hyper => "hyper",
            Backend::Reqwest => "reqwest",
            Backend::Ureq => "ureq",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which response statuses count as failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailOn {
    rules: Vec<StatusRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusRule {
    /// Every status whose first digit is this (`5` for `5xx`).
    Class(u16),
    /// This status exactly.
    Code(u16),
}

impl FailOn {
    /// No status is a failure: only requests without a response fail.
    pub fn none() -> Self {
        FailOn { rules: Vec::new() }
    }

    /// True when `status` is one the user called a failure.
    pub fn matches(&self, status: u16) -> bool {
        self.rules.iter().any(|rule| match *rule {
            StatusRule::Class(class) => status / 100 == class,
            StatusRule::Code(code) => status == code,
        })
    }
}

impl FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(FailOn::none());
        }
        let rules = s
            .split(',')
            .map(|part| {
                let part = part.trim().to_ascii_lowercase();
                let bad = || format!("{part:?} is not a status (`404`), a class (`5xx`) or `none`");
                if let Some(class) = part.strip_suffix("xx") {
                    match class.parse::<u16>() {
                        Ok(c @ 1..=5) if class.len() == 1 => Ok(StatusRule::Class(c)),
                        _ => Err(bad()),
                    }
                } else {
                    match part.parse::<u16>() {
                        Ok(code @ 100..=999) => Ok(StatusRule::Code(code)),
                        _ => Err(bad()),
                    }
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FailOn { rules })
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str("none");
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match rule {
                StatusRule::Class(c) => write!(f, "{c}xx")?,
                StatusRule::Code(c) => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

impl serde::Serialize for FailOn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses a duration as [`humantime`] does (`250ms`, `10s`, `2m`, `1h`,
/// `1m30s`, `1.5s`); a bare number is seconds. It must be positive and at
/// most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bare_number = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let parsed = if bare_number {
        humantime::parse_duration(&format!("{text}s"))
    } else {
        humantime::parse_duration(text)
    };
    let duration = parsed
        .map_err(|e| format!("{text:?} is not a duration like `500ms`, `10s` or `1m30s` ({e})"))?;
    if duration.is_zero() {
        return Err(format!("{text:?} must be a positive duration"));
    }
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is too long (at most 31 years)"));
    }
    Ok(duration)
}

/// Parses `--rate`: requests per second, a positive number up to
/// [`MAX_RATE`] (fractions allowed: `0.5` is one request every two seconds).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of requests per second"))?;
    if !(rate > 0.0 && rate <= MAX_RATE) {
        return Err(format!(
            "{text:?}: the rate must be above 0 and at most {MAX_RATE} requests per second"
        ));
    }
    Ok(rate)
}

fn parse_method(text: &str) -> Result<Method, String> {
    Method::from_bytes(text.as_bytes()).map_err(|_| format!("{text:?} is not an HTTP method"))
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not a header like `Name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of {name} has characters a header cannot carry"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_bare_seconds() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn durations_combine_units_as_humantime_does() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 2m 3s"), Ok(Duration::from_secs(3723)));
        assert_eq!(parse_duration(" 1.5 "), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("750us"), Ok(Duration::from_micros(750)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration(".").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("0ms 0s").is_err());
        // Past what an `Instant` deadline can hold: refused, not a panic later.
        assert!(parse_duration("100000y").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        let args = Args::try_parse_from(["paf-stress", "http://x/", "-z", "1m30s"]).unwrap();
        assert_eq!(args.stop(), Stop::Duration(Duration::from_secs(90)));
    }

    #[test]
    fn rate_is_a_positive_number_and_sets_the_mode() {
        assert_eq!(parse_rate("500"), Ok(500.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0", "-3", "NaN", "inf", "1e9", "fast", ""] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        let args = Args::try_parse_from(["paf-stress", "http://x/"]).unwrap();
        assert_eq!(args.mode(), Mode::ClosedLoop);
        assert_eq!(args.mode().to_string(), "closed loop");
        let args = Args::try_parse_from(["paf-stress", "-q", "500", "http://x/"]).unwrap();
        assert_eq!(args.mode(), Mode::ConstantRate { per_sec: 500.0 });
        assert_eq!(args.mode().to_string(), "constant rate 500 req/s");
        let args = Args::try_parse_from(["paf-stress", "--rate", "2.5", "http://x/"]).unwrap();
        assert_eq!(args.mode().to_string(), "constant rate 2.5 req/s");
    }

    #[test]
    fn fail_on_matches_classes_and_codes() {
        let rule: FailOn = "5xx, 404".parse().unwrap();
        assert!(rule.matches(500) && rule.matches(503) && rule.matches(404));
        assert!(!rule.matches(200) && !rule.matches(403));
        assert_eq!(rule.to_string(), "5xx,404");
        assert!(!"none".parse::<FailOn>().unwrap().matches(500));
        assert!("6xx".parse::<FailOn>().is_err());
        assert!("5x".parse::<FailOn>().is_err());
        assert!("42".parse::<FailOn>().is_err());
    }

    #[test]
    fn headers_split_at_the_first_colon() {
        let (name, value) = parse_header("X-Trace: a:b").unwrap();
        assert_eq!(name, "x-trace");
        assert_eq!(value, "a:b");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn count_and_duration_exclude_each_other() {
        let parsed = Args::try_parse_from(["paf-stress", "http://x/", "-n", "5", "-z", "1s"]);
        assert!(parsed.is_err());
        let args = Args::try_parse_from(["paf-stress", "http://x/"]).unwrap();
        assert_eq!(args.stop(), Stop::Count(DEFAULT_REQUESTS));
        let args = Args::try_parse_from(["paf-stress", "http://x/", "-z", "3s"]).unwrap();
        assert_eq!(args.stop(), Stop::Duration(Duration::from_secs(3)));
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn help_documents_the_rate_mode_and_ctrl_c() {
        use clap::CommandFactory;
        let short = Args::command().render_help().to_string();
        assert!(short.contains("-q, --rate <N>"), "{short}");
        assert!(short.contains("Ctrl-C stops the run early"), "{short}");
        let long = Args::command().render_long_help().to_string();
        assert!(long.contains("coordinated omission"), "{long}");
        assert!(long.contains("closed loop"), "{long}");
    }
}
