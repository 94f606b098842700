//! The command line: what to load, how hard, through which backend, and what
//! counts as a failure. Parsed with clap's derive API; every value is checked
//! here so that a run never starts on a typo.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use clap::{Parser, ValueEnum};
use http::{HeaderName, HeaderValue, Method};

/// Load an HTTP server with many paf clients, time every request and report
/// the latency distribution. Exits with 1 when any request failed.
#[derive(Debug, Clone, Parser)]
#[command(name = "paf-stress", version, about, long_about = None)]
pub struct Args {
    /// The URL to request (`http://` or `https://`).
    pub url: String,

    /// How many clients send requests at the same time.
    #[arg(short = 'c', long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// How many requests to send in all [default: 200 when -z is not given].
    #[arg(short = 'n', long = "requests", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Send requests for this long (`500ms`, `10s`, `2m`); requests in flight
    /// when it ends are waited for.
    #[arg(short = 'z', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

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

/// Parses `250ms`, `10s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like `500ms`, `10s` or `2m`"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?} (ms, s, m, h)")),
    };
    if !(seconds > 0.0 && seconds.is_finite() && seconds < 1e9) {
        return Err(format!("{text:?} must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
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
}
