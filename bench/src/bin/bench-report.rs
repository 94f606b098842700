//! Turns the measurements `bench/compare.sh` collected in a directory into
//! `results.md` (Markdown tables) and `results.json`, with the targets
//! checked: the paf server at least as fast as raw hyper with the same
//! builder on HTTP/1.1 keep-alive, HTTP/2 (h2c and over TLS), HTTPS
//! keep-alive and new TLS connections (issue 16), with an HTTP/1.1 p99 and
//! user-space instructions per request no more than 1.05× raw hyper's; each
//! paf client ≥ 0.95× its raw engine (paf-reqwest ≥ 0.97×); 1 GiB streamed
//! each way with a peak RSS under 64 MiB.
//!
//! The directory holds `wrk.jsonl` (one wrk run a line, from
//! `wrk-report.lua`), `h2load.txt` (h2load's output, each run after a
//! `#run TEST SERVER ROUND` line), `instructions.jsonl` (from
//! `instructions.sh`), `stress-*.json` (paf-stress reports), `clients.json`
//! (client-bench) and `memory.jsonl` (stream-mem, one backend a line). Any
//! of them may be missing: its section is left out.
#![forbid(unsafe_code)]

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::Parser;
use paf_bench::median;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The paf servers, plain and over TLS.
const PAF_SERVERS: [&str; 3] = ["paf", "paf-tls", "paf-tls-full"];
/// Targets of the issues.
const MIN_SERVER_RATIO: f64 = 1.0;
const MAX_P99_RATIO: f64 = 1.05;
const MAX_INSTRUCTIONS_RATIO: f64 = 1.05;
const MIN_CLIENT_RATIO: f64 = 0.95;
/// paf-reqwest's own target (issue 16).
const MIN_REQWEST_RATIO: f64 = 0.97;
/// The paf server without `ConnInfo` in the requests' extensions, counted
/// by `instructions.sh` to price that feature.
const PAF_WITHOUT_CONN_INFO: &str = "paf-no-conn-info";
const MAX_PEAK_RSS_MIB: f64 = 64.0;

/// Writes results.md and results.json from a directory of measurements.
#[derive(Parser)]
struct Args {
    /// The directory the measurements are in.
    dir: PathBuf,
    /// Where to write the Markdown.
    #[arg(long)]
    markdown: PathBuf,
    /// Where to write the JSON.
    #[arg(long)]
    json: PathBuf,
    /// The date of the run.
    #[arg(long)]
    date: String,
    /// The machine, in words (CPU, cores, kernel, load).
    #[arg(long)]
    machine: String,
    /// The code measured (commit), in words.
    #[arg(long, default_value = "unknown")]
    code: String,
    /// How many interleaved rounds each server figure is the median of.
    #[arg(long, default_value_t = 0)]
    rounds: u32,
    /// The load average at the end of the run.
    #[arg(long)]
    load_end: Option<String>,
    /// How long the whole run took, in seconds (0: not said).
    #[arg(long, default_value_t = 0)]
    took_secs: u64,
    /// The keep-alive wrk command, in words.
    #[arg(long, default_value = "wrk -t1 -c64 -d5s")]
    wrk: String,
    /// The h2load command, in words.
    #[arg(long, default_value = "h2load -c16 -m32 -D5s --warm-up-time 1s")]
    h2load: String,
    /// The new-connection wrk command, in words.
    #[arg(long, default_value = "wrk -t1 -c16 -d5s -H 'Connection: close'")]
    wrk_close: String,
}

/// One measured run of a load generator against one server.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Run {
    test: String,
    server: String,
    round: u32,
    /// Requests per second (with `Connection: close`, connections per
    /// second too).
    rps: f64,
    /// wrk's percentiles.
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    /// h2load's mean and standard deviation.
    mean_ms: Option<f64>,
    sd_ms: Option<f64>,
    max_ms: f64,
    /// Failed requests: socket errors, timeouts, answers other than 2xx.
    errors: u64,
    /// The protocol h2load says it spoke (`h2`, `h2c`).
    protocol: Option<String>,
}

/// A line of `wrk-report.lua`.
#[derive(Debug, Deserialize)]
struct WrkLine {
    #[serde(default = "h1")]
    test: String,
    server: String,
    #[serde(default)]
    round: u32,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    non2xx: u64,
}

fn h1() -> String {
    "h1".to_string()
}

impl From<WrkLine> for Run {
    fn from(w: WrkLine) -> Run {
        Run {
            test: w.test,
            server: w.server,
            round: w.round,
            rps: w.rps,
            p50_ms: Some(w.p50_ms),
            p99_ms: Some(w.p99_ms),
            mean_ms: None,
            sd_ms: None,
            max_ms: w.max_ms,
            errors: w.errors + w.non2xx,
            protocol: None,
        }
    }
}

/// A duration as h2load prints it (`17us`, `3.40ms`, `1.2s`), in ms.
fn h2load_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The numbers before each of `labels` in a line like h2load's
/// `requests: 10 total, 10 started, 9 done, ...`.
fn counts(line: &str, labels: &[&str]) -> Option<Vec<u64>> {
    let fields: Vec<&str> = line.split([',', ':']).map(str::trim).collect();
    labels
        .iter()
        .map(|label| {
            fields.iter().find_map(|f| {
                let (n, l) = f.split_once(' ')?;
                (l == *label).then(|| n.parse().ok()).flatten()
            })
        })
        .collect()
}

/// The runs in `h2load.txt`: blocks of h2load's output, each after a
/// `#run TEST SERVER ROUND` line.
fn parse_h2load(text: &str) -> Result<Vec<Run>, BoxError> {
    let mut runs = Vec::new();
    let mut blocks = text.split("#run ").filter(|b| !b.trim().is_empty());
    if text.trim_start().starts_with("#run ") {
        // Nothing before the first header.
    } else if let Some(junk) = blocks.next() {
        return Err(format!("h2load.txt does not start with a #run line: {junk:.60}").into());
    }
    for block in blocks {
        let mut lines = block.lines();
        let header = lines.next().unwrap_or_default();
        let mut words = header.split_whitespace();
        let (Some(test), Some(server), Some(round)) = (words.next(), words.next(), words.next())
        else {
            return Err(format!("a bad #run line in h2load.txt: {header:?}").into());
        };
        let bad = |what: &str| -> BoxError {
            format!("h2load's output for {test} {server} round {round} has no {what}").into()
        };
        let round: u32 = round.parse().map_err(|_| bad("round number"))?;
        let mut rps = None;
        let mut errors = None;
        let mut non2xx = 0;
        let mut times = None;
        let mut protocol = None;
        for line in lines {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("finished in ") {
                rps = rest
                    .split(',')
                    .nth(1)
                    .and_then(|f| f.trim().strip_suffix(" req/s"))
                    .and_then(|n| n.parse::<f64>().ok());
            } else if line.starts_with("requests:") {
                errors =
                    counts(line, &["failed", "errored", "timeout"]).map(|c| c.iter().sum::<u64>());
            } else if line.starts_with("status codes:") {
                non2xx = counts(line, &["3xx", "4xx", "5xx"])
                    .map(|c| c.iter().sum::<u64>())
                    .unwrap_or(0);
            } else if let Some(rest) = line.strip_prefix("time for request:") {
                let fields: Vec<f64> = rest.split_whitespace().filter_map(h2load_ms).collect();
                if fields.len() >= 4 {
                    times = Some((fields[1], fields[2], fields[3]));
                }
            } else if let Some(rest) = line.strip_prefix("Application protocol:") {
                protocol = Some(rest.trim().to_string());
            }
        }
        let (max, mean, sd) = times.ok_or_else(|| bad("\"time for request\" line"))?;
        runs.push(Run {
            test: test.to_string(),
            server: server.to_string(),
            round,
            rps: rps.ok_or_else(|| bad("\"finished in\" line"))?,
            p50_ms: None,
            p99_ms: None,
            mean_ms: Some(mean),
            sd_ms: Some(sd),
            max_ms: max,
            errors: errors.ok_or_else(|| bad("\"requests:\" line"))? + non2xx,
            protocol,
        });
    }
    Ok(runs)
}

/// A line of `instructions.sh`'s JSONL.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct Instructions {
    test: String,
    server: String,
    instructions: f64,
    per: String,
}

/// One load, the servers it ran against and what they are held to.
struct Test {
    id: &'static str,
    title: &'static str,
    /// What the figure counts per second.
    unit: &'static str,
    baseline: &'static str,
    servers: &'static [&'static str],
    /// The `instructions.sh` phase with the same load.
    instructions: &'static str,
    /// The target on paf's ratio to the baseline, if any.
    target: Option<&'static str>,
}

const TESTS: [Test; 7] = [
    Test {
        id: "h1",
        title: "HTTP/1.1 keep-alive",
        unit: "requests/s",
        baseline: "raw-hyper-http1",
        servers: &["raw-hyper-http1", "raw-hyper-auto", "paf", "cohttp"],
        instructions: "h1",
        target: Some(
            "HTTP/1.1 keep-alive: paf ≥ 1.0× raw hyper `http1::Builder` (the builder paf serves HTTP/1.1 with)",
        ),
    },
    Test {
        id: "h2c",
        title: "HTTP/2 with prior knowledge (h2c), plain port",
        unit: "requests/s",
        baseline: "raw-hyper-http2",
        servers: &["raw-hyper-http2", "raw-hyper-auto", "paf"],
        instructions: "h2c",
        target: Some("HTTP/2 (h2c): paf ≥ 1.0× raw hyper `http2::Builder`"),
    },
    Test {
        id: "h2-tls",
        title: "HTTP/2 over TLS (ALPN h2)",
        unit: "requests/s",
        baseline: "raw-tls",
        servers: &["raw-tls", "paf-tls"],
        instructions: "h2-tls",
        target: Some("HTTP/2 over TLS: paf ≥ 1.0× raw tokio-rustls + `http2::Builder`"),
    },
    Test {
        id: "https-h1",
        title: "HTTPS, HTTP/1.1 keep-alive",
        unit: "requests/s",
        baseline: "raw-tls",
        servers: &["raw-tls", "paf-tls"],
        instructions: "https-h1",
        target: Some("HTTPS keep-alive: paf ≥ 1.0× raw tokio-rustls + `http1::Builder`"),
    },
    Test {
        id: "https-close-full",
        title: "New TLS connections, full handshakes (session resumption off on both servers)",
        unit: "connections/s",
        baseline: "raw-tls-full",
        servers: &["raw-tls-full", "paf-tls-full"],
        instructions: "https-conn",
        target: Some("Full TLS handshakes per second: paf ≥ 1.0× raw tokio-rustls + hyper"),
    },
    Test {
        id: "https-close",
        title: "New TLS connections, resumed sessions (rustls's default cache; wrk resumes on every reconnection)",
        unit: "connections/s",
        baseline: "raw-tls",
        servers: &["raw-tls", "paf-tls"],
        instructions: "https-resumed-conn",
        target: Some("Resumed TLS handshakes per second: paf ≥ 1.0× raw tokio-rustls + hyper"),
    },
    Test {
        id: "h1-close",
        title: "New plain TCP connections: one request each",
        unit: "connections/s",
        baseline: "raw-hyper-http1",
        servers: &["raw-hyper-http1", "raw-hyper-auto", "paf"],
        instructions: "h1-conn",
        target: None,
    },
];

fn label(test: &str, server: &str) -> &'static str {
    match (server, test) {
        ("raw-hyper-http1", _) => "raw hyper 1.x (`http1::Builder`)",
        ("raw-hyper-http2", _) => "raw hyper 1.x (`http2::Builder`, h2c only)",
        ("raw-hyper-auto", _) => "raw hyper 1.x (`hyper_util` `auto::Builder`, h1 + h2c)",
        ("paf", _) => "**paf-hyper `Server`**",
        ("cohttp", _) => "CoHTTP 4 (`cohttp-lwt-unix`, Debian)",
        ("raw-tls", "h2-tls") => {
            "raw tokio-rustls `TlsAcceptor` + hyper (`http2::Builder`, by ALPN)"
        }
        ("raw-tls" | "raw-tls-full", _) => {
            "raw tokio-rustls `TlsAcceptor` + hyper (`http1::Builder`, by ALPN)"
        }
        ("paf-tls" | "paf-tls-full", _) => "**paf-hyper `Server` with `.tls(config)`**",
        _ => "other",
    }
}

/// The generator's command line for a test.
fn generator<'a>(test: &str, args: &'a Args) -> &'a str {
    match test {
        "h2c" | "h2-tls" => &args.h2load,
        "https-close" | "https-close-full" | "h1-close" => &args.wrk_close,
        _ => &args.wrk,
    }
}

/// One server's figures under one load.
#[derive(Debug, Serialize)]
struct Row {
    server: String,
    label: &'static str,
    /// Medians of the rounds.
    rps: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    mean_ms: Option<f64>,
    sd_ms: Option<f64>,
    max_ms: f64,
    rps_rounds: Vec<f64>,
    errors: u64,
    protocols: Vec<String>,
    rps_vs_baseline: f64,
    p99_vs_baseline: Option<f64>,
    /// This server's figure over the baseline's in the same round, round by
    /// round: the two ran one after the other, on the same load.
    round_ratios: Vec<f64>,
    /// User-space instructions per request (per connection for the
    /// new-connection loads), from callgrind.
    instructions: Option<f64>,
    instructions_vs_baseline: Option<f64>,
}

#[derive(Debug, Serialize)]
struct TestResult {
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    generator: String,
    baseline: &'static str,
    instructions_per: &'static str,
    rows: Vec<Row>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn lines(path: &Path) -> Result<Vec<Value>, BoxError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| format!("{}: {e}: {l}", path.display()).into())
        })
        .collect()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// The verdict on a server ratio that must be at least `threshold`: by the
/// median, and whether the rounds on their own would have said otherwise.
fn server_verdict(median: f64, rounds: &[f64], threshold: f64) -> String {
    let ok = median >= threshold;
    let straddle = rounds.iter().any(|r| *r >= threshold) && rounds.iter().any(|r| *r < threshold);
    match (ok, straddle) {
        (true, false) => "met".to_string(),
        (true, true) => format!("met on the median; rounds on both sides of {threshold:.1}×"),
        (false, true) => {
            format!("**missed** on the median; rounds on both sides of {threshold:.1}×")
        }
        (false, false) => "**missed**".to_string(),
    }
}

/// A ratio with two decimals, or three when two would round it onto the
/// threshold it is judged against (0.996 is not 1.00). On the failing side
/// of the threshold (below it for an `at_least` target, above it otherwise)
/// the third decimal is rounded away from the threshold, so that a missed
/// target never reads as met.
fn ratio_text(value: f64, threshold: f64, at_least: bool) -> String {
    if (value - threshold).abs() >= 0.005 {
        format!("{value:.2}×")
    } else if at_least && value < threshold {
        format!("{:.3}×", (value * 1000.0).floor() / 1000.0)
    } else if !at_least && value > threshold {
        format!("{:.3}×", (value * 1000.0).ceil() / 1000.0)
    } else {
        format!("{value:.3}×")
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn median_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let values: Option<Vec<f64>> = values.collect();
    values.filter(|v| !v.is_empty()).map(|v| median(&v))
}

/// `a`, or `a–b` for a range.
fn range(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match values.len() {
        0 => "–".to_string(),
        _ if (max - min).abs() < 0.005 => format!("{min:.2}×"),
        _ => format!("{min:.2}–{max:.2}×"),
    }
}

fn thousands(n: f64) -> String {
    if n >= 100_000.0 {
        format!("{:.0}k", n / 1000.0)
    } else if n >= 10_000.0 {
        format!("{:.1}k", n / 1000.0)
    } else {
        format!("{n:.0}")
    }
}

/// The rows of one test, the baseline first.
fn rows(test: &Test, runs: &[Run], instructions: &HashMap<(String, String), f64>) -> Vec<Row> {
    let mut by_server: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.test == test.id) {
        by_server.entry(run.server.as_str()).or_default().push(run);
    }
    let base_runs = by_server.get(test.baseline).cloned().unwrap_or_default();
    let base_rps = median(&base_runs.iter().map(|r| r.rps).collect::<Vec<_>>());
    let base_p99 = median_of(base_runs.iter().map(|r| r.p99_ms));
    // The servers without TLS session resumption are counted as the ones
    // with it: instructions.sh's load for full handshakes (h2load) never
    // resumes a session.
    let instructions_of = |server: &str| {
        let counted = server.strip_suffix("-full").unwrap_or(server);
        instructions.get(&(test.instructions.to_string(), counted.to_string()))
    };
    let base_instructions = instructions_of(test.baseline).copied();
    let mut rows = Vec::new();
    for &server in test.servers {
        let Some(runs) = by_server.get(server) else {
            continue;
        };
        let rps_rounds: Vec<f64> = runs.iter().map(|r| r.rps).collect();
        let rps = median(&rps_rounds);
        let p99 = median_of(runs.iter().map(|r| r.p99_ms));
        let round_ratios = runs
            .iter()
            .filter_map(|r| {
                let base = base_runs.iter().find(|b| b.round == r.round)?;
                Some(ratio(r.rps, base.rps))
            })
            .collect();
        let mut protocols: Vec<String> = runs.iter().filter_map(|r| r.protocol.clone()).collect();
        protocols.sort();
        protocols.dedup();
        let instructions = instructions_of(server).copied();
        rows.push(Row {
            server: server.to_string(),
            label: label(test.id, server),
            rps,
            p50_ms: median_of(runs.iter().map(|r| r.p50_ms)),
            p99_ms: p99,
            mean_ms: median_of(runs.iter().map(|r| r.mean_ms)),
            sd_ms: median_of(runs.iter().map(|r| r.sd_ms)),
            max_ms: median(&runs.iter().map(|r| r.max_ms).collect::<Vec<_>>()),
            rps_rounds,
            errors: runs.iter().map(|r| r.errors).sum(),
            protocols,
            rps_vs_baseline: ratio(rps, base_rps),
            p99_vs_baseline: p99.zip(base_p99).map(|(a, b)| ratio(a, b)),
            round_ratios,
            instructions,
            instructions_vs_baseline: instructions
                .zip(base_instructions)
                .map(|(a, b)| ratio(a, b)),
        });
    }
    rows
}

fn run(args: Args) -> Result<(), BoxError> {
    let mut md = String::new();
    let mut targets = Vec::new();

    let mut runs: Vec<Run> = Vec::new();
    for line in lines(&args.dir.join("wrk.jsonl"))? {
        let line: WrkLine = serde_json::from_value(line)?;
        runs.push(line.into());
    }
    if let Ok(text) = std::fs::read_to_string(args.dir.join("h2load.txt")) {
        runs.extend(parse_h2load(&text)?);
    }
    let instruction_lines: Vec<Instructions> = lines(&args.dir.join("instructions.jsonl"))?
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()?;
    let instructions: HashMap<(String, String), f64> = instruction_lines
        .iter()
        .map(|i| ((i.test.clone(), i.server.clone()), i.instructions))
        .collect();

    let results: Vec<(&Test, TestResult)> = TESTS
        .iter()
        .map(|test| {
            let result = TestResult {
                id: test.id,
                title: test.title,
                unit: test.unit,
                generator: generator(test.id, &args).to_string(),
                baseline: test.baseline,
                instructions_per: if test.unit == "connections/s" {
                    "connection"
                } else {
                    "request"
                },
                rows: rows(test, &runs, &instructions),
            };
            (test, result)
        })
        .filter(|(_, result)| !result.rows.is_empty())
        .collect();

    writeln!(
        md,
        "## Benchmarks: paf against the engines it wraps, and against CoHTTP\n"
    )?;
    let took = if args.took_secs > 0 {
        format!(
            " The whole run took {} min {} s.",
            args.took_secs / 60,
            args.took_secs % 60
        )
    } else {
        String::new()
    };
    let load_end = args
        .load_end
        .as_ref()
        .map(|l| format!(", {l} at the end"))
        .unwrap_or_default();
    writeln!(
        md,
        "Measured {} on {}{load_end}. Code: {}.{took} Generated by `bench/compare.sh` \
         (`bench/results.md`, figures in `bench/results.json`).\n",
        args.date, args.machine, args.code
    )?;
    writeln!(
        md,
        "**Read with care:** everything runs on loopback on this one machine. The load \
         generator (wrk or h2load, one thread) and the server under test share its cores, \
         and other work on the machine competes with both, so single runs are noisy and a \
         figure says as much about the generator's share of the cores as about the server. \
         Each figure is the median of {} interleaved rounds (servers in turn, the order \
         rotated each round); \"per round\" gives paf's ratio to raw in each round, the two \
         runs one right after the other. The callgrind instruction counts (user space, one \
         runtime thread) do not depend on the machine's load: they are the stable figures.\n",
        if args.rounds > 0 {
            args.rounds.to_string()
        } else {
            "the".to_string()
        }
    )?;

    // The summary: paf against the raw server with the same builder.
    let mut summary = String::new();
    let mut instruction_ratios = Vec::new();
    let mut spreads = Vec::new();
    writeln!(
        summary,
        "| load | raw hyper baseline | raw | paf | paf/raw | per round | instructions paf/raw | target ≥ {MIN_SERVER_RATIO:.1}× |"
    )?;
    writeln!(summary, "|---|---|---:|---:|---:|---|---:|---|")?;
    for (test, result) in &results {
        let base = result.rows.iter().find(|r| r.server == test.baseline);
        let paf = result
            .rows
            .iter()
            .find(|r| PAF_SERVERS.contains(&r.server.as_str()));
        let (Some(base), Some(paf)) = (base, paf) else {
            continue;
        };
        let ok = paf.rps_vs_baseline >= MIN_SERVER_RATIO;
        let server_verdict =
            server_verdict(paf.rps_vs_baseline, &paf.round_ratios, MIN_SERVER_RATIO);
        if let Some(r) = paf.instructions_vs_baseline {
            instruction_ratios.push(r);
        }
        spreads.extend(
            paf.round_ratios
                .iter()
                .map(|r| (r - paf.rps_vs_baseline).abs()),
        );
        let mut instr = match (paf.instructions, base.instructions) {
            (Some(p), Some(b)) => {
                format!("{} / {} = {:.2}×", thousands(p), thousands(b), ratio(p, b))
            }
            _ => "–".to_string(),
        };
        let without_conn_info = instructions
            .get(&(
                test.instructions.to_string(),
                PAF_WITHOUT_CONN_INFO.to_string(),
            ))
            .copied();
        if let (Some(lean), Some(b)) = (without_conn_info, base.instructions) {
            let _ = write!(
                instr,
                " (without `ConnInfo`: {} = {:.2}×)",
                thousands(lean),
                ratio(lean, b)
            );
        }
        let unit = if test.unit == "connections/s" {
            " conn/s"
        } else {
            ""
        };
        writeln!(
            summary,
            "| {} | {} | {:.0}{unit} | {:.0}{unit} | {} | {} | {} | {} |",
            test.title,
            base.label,
            base.rps,
            paf.rps,
            ratio_text(paf.rps_vs_baseline, MIN_SERVER_RATIO, true),
            range(&paf.round_ratios),
            instr,
            match test.target {
                Some(_) => server_verdict.as_str(),
                None => "(no target)",
            }
        )?;
        if let Some(target) = test.target {
            targets.push(json!({
                "target": target,
                "value": paf.rps_vs_baseline,
                "at_least": MIN_SERVER_RATIO,
                "round_ratios": paf.round_ratios,
                "instructions_ratio": paf.instructions_vs_baseline,
                "met": ok,
                "verdict": server_verdict,
            }));
        }
        if test.id == "h1" {
            if let Some(p99) = paf.p99_vs_baseline {
                targets.push(json!({
                    "target": format!("HTTP/1.1 keep-alive: paf p99 ≤ {MAX_P99_RATIO}× raw hyper `http1::Builder`"),
                    "value": p99,
                    "at_most": MAX_P99_RATIO,
                    "met": p99 <= MAX_P99_RATIO,
                }));
            }
            if let Some(r) = paf.instructions_vs_baseline {
                targets.push(json!({
                    "target": format!("HTTP/1.1 keep-alive: paf user-space instructions per request ≤ {MAX_INSTRUCTIONS_RATIO}× raw hyper `http1::Builder` (callgrind)"),
                    "value": r,
                    "at_most": MAX_INSTRUCTIONS_RATIO,
                    "met": r <= MAX_INSTRUCTIONS_RATIO,
                }));
            }
        }
    }
    writeln!(md, "### Summary: paf's server against raw hyper\n")?;
    writeln!(md, "{summary}")?;
    if let (Some(least), Some(most)) = (
        instruction_ratios.iter().copied().reduce(f64::min),
        instruction_ratios.iter().copied().reduce(f64::max),
    ) {
        let spread = spreads.iter().copied().fold(0.0, f64::max);
        let more = if least > 1.0 {
            "more user-space instructions than raw hyper on every load"
        } else if most <= 1.0 {
            "no more user-space instructions than raw hyper on any load"
        } else {
            "more user-space instructions than raw hyper on some loads and fewer on others"
        };
        writeln!(
            md,
            "By callgrind's count paf's server runs {more} ({least:.2}× to {most:.2}×, \
             column \"instructions paf/raw\"). In this run a single round's throughput ratio \
             lies up to {spread:.2} away from its median, so a throughput verdict near 1.0× \
             is decided by the machine's noise as much as by the code; the instruction ratios \
             are the figures to follow from commit to commit.\n"
        )?;
    }

    for (test, result) in &results {
        write_test(&mut md, test, result)?;
    }
    if !instruction_lines.is_empty() {
        writeln!(
            md,
            "Instructions: `bench/instructions.sh`, user-space instructions counted by callgrind \
             with the server on one runtime thread, the count of a measured run (after a warm-up) \
             divided by its requests, or by its connections for the new-connection loads; the \
             same kinds of load as above at lower concurrency (paf-stress -c8 for HTTP/1.1, \
             h2load -c8 -m16 for HTTP/2, new connections ten at a time with h2load --h1, \
             which never resumes a TLS session, and one at a time with wrk -c1 for the \
             resumed ones).\n"
        )?;
    }

    // Clients.
    let clients: Vec<Value> = match std::fs::read_to_string(args.dir.join("clients.json")) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => Vec::new(),
    };
    if !clients.is_empty() {
        writeln!(
            md,
            "### Clients: each paf client against its engine used raw, same process, same raw hyper server\n"
        )?;
        writeln!(
            md,
            "| paf client | raw engine | mode | requests | paf req/s | raw req/s | paf/raw | target ≥ {MIN_CLIENT_RATIO}× ({MIN_REQWEST_RATIO}× for reqwest) |"
        )?;
        writeln!(md, "|---|---|---|---:|---:|---:|---:|---|")?;
        for c in &clients {
            let ratio = c["ratio"].as_f64().unwrap_or(0.0);
            let backend = c["backend"].as_str().unwrap_or("?");
            let at_least = if backend == "reqwest" {
                MIN_REQWEST_RATIO
            } else {
                MIN_CLIENT_RATIO
            };
            let ok = ratio >= at_least;
            let mode = format!(
                "{} (c={})",
                c["mode"].as_str().unwrap_or("?"),
                c["concurrency"]
            );
            writeln!(
                md,
                "| paf-{} | {} | {} | {} | {:.0} | {:.0} | {} | {} |",
                c["backend"].as_str().unwrap_or("?"),
                c["raw"].as_str().unwrap_or("?"),
                mode,
                c["requests"],
                c["paf_rps"].as_f64().unwrap_or(0.0),
                c["raw_rps"].as_f64().unwrap_or(0.0),
                ratio_text(ratio, at_least, true),
                verdict(ok)
            )?;
            targets.push(json!({
                "target": format!("paf-{backend} client {mode} ≥ {at_least}× raw"),
                "value": ratio,
                "at_least": at_least,
                "met": ok,
            }));
        }
        writeln!(md)?;
    }

    // The stress tool next to wrk, on the same server.
    let mut stress = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&args.dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("stress-") && n.ends_with(".json"))
        })
        .collect();
    entries.sort();
    for path in entries {
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        stress.push(report);
    }
    if !stress.is_empty() {
        writeln!(
            md,
            "### Load generators on the raw hyper server (`-c 64`, same duration)\n"
        )?;
        writeln!(md, "| generator | requests/s | p50 | p99 | failures |")?;
        writeln!(md, "|---|---:|---:|---:|---:|")?;
        let h1_base = results
            .iter()
            .find(|(t, _)| t.id == "h1")
            .and_then(|(t, r)| r.rows.iter().find(|row| row.server == t.baseline));
        if let Some(base) = h1_base {
            writeln!(
                md,
                "| wrk (C, one thread; median above) | {:.0} | {:.2} ms | {:.2} ms | {} |",
                base.rps,
                base.p50_ms.unwrap_or(0.0),
                base.p99_ms.unwrap_or(0.0),
                base.errors
            )?;
        }
        for r in &stress {
            writeln!(
                md,
                "| `paf-stress --backend {}` | {:.0} | {:.2} ms | {:.2} ms | {} |",
                r["backend"].as_str().unwrap_or("?"),
                r["requests_per_sec"].as_f64().unwrap_or(0.0),
                r["latency_ms"]["p50"].as_f64().unwrap_or(0.0),
                r["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
                r["failures"]
            )?;
        }
        writeln!(md)?;
    }

    // Memory.
    let memory = lines(&args.dir.join("memory.jsonl"))?;
    if !memory.is_empty() {
        let gib = memory[0]["bytes_up"].as_f64().unwrap_or(0.0) / (1u64 << 30) as f64;
        writeln!(
            md,
            "### Memory: {gib:.2} GiB up and {gib:.2} GiB down through a paf client and the paf server, one process\n"
        )?;
        writeln!(
            md,
            "| client backend | streamed | up | down | RSS before | peak RSS | target < {MAX_PEAK_RSS_MIB} MiB |"
        )?;
        writeln!(md, "|---|---:|---:|---:|---:|---:|---|")?;
        for m in &memory {
            let peak = m["peak_rss_mib"].as_f64().unwrap_or(f64::MAX);
            let ok = peak < MAX_PEAK_RSS_MIB;
            let gib_of = |key: &str| m[key].as_f64().unwrap_or(0.0) / (1u64 << 30) as f64;
            writeln!(
                md,
                "| {} | {:.2} GiB ↑ + {:.2} GiB ↓ | {:.0} MiB/s | {:.0} MiB/s | {:.1} MiB | {:.1} MiB | {} |",
                m["backend"].as_str().unwrap_or("?"),
                gib_of("bytes_up"),
                gib_of("bytes_down"),
                m["up_mib_per_sec"].as_f64().unwrap_or(0.0),
                m["down_mib_per_sec"].as_f64().unwrap_or(0.0),
                m["rss_before_mib"].as_f64().unwrap_or(0.0),
                peak,
                verdict(ok)
            )?;
            targets.push(json!({
                "target": format!("{gib:.2} GiB each way through paf-{} at < 64 MiB peak RSS", m["backend"].as_str().unwrap_or("?")),
                "value": peak,
                "below_mib": MAX_PEAK_RSS_MIB,
                "met": ok,
            }));
        }
        writeln!(md)?;
    }

    let missed = targets.iter().filter(|t| t["met"] == false).count();
    if !targets.is_empty() {
        writeln!(md, "### Targets\n")?;
        writeln!(md, "| target | measured | result |")?;
        writeln!(md, "|---|---:|---|")?;
        for t in &targets {
            let value = t["value"].as_f64().unwrap_or(0.0);
            let measured = if let Some(limit) = t["at_least"].as_f64() {
                ratio_text(value, limit, true)
            } else if let Some(limit) = t["at_most"].as_f64() {
                ratio_text(value, limit, false)
            } else {
                format!("{value:.1} MiB")
            };
            let rounds = t["round_ratios"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
                .filter(|r| r.len() > 1)
                .map(|r| format!(" (per round {})", range(&r)))
                .unwrap_or_default();
            let result = t["verdict"]
                .as_str()
                .unwrap_or_else(|| verdict(t["met"] == true));
            writeln!(
                md,
                "| {} | {measured}{rounds} | {result} |",
                t["target"].as_str().unwrap_or("?"),
            )?;
        }
        writeln!(
            md,
            "\n{} of {} met.\n",
            targets.len() - missed,
            targets.len()
        )?;
    }
    write_reproduce(&mut md)?;

    std::fs::write(&args.markdown, md)?;
    let all = json!({
        "date": args.date,
        "machine": args.machine,
        "code": args.code,
        "rounds": args.rounds,
        "took_secs": args.took_secs,
        "load_end": args.load_end,
        "tests": results.iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "runs": runs,
        "instructions": instruction_lines,
        "clients": clients,
        "stress": stress,
        "memory": memory,
        "targets": targets,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&all)?)?;
    Ok(())
}

/// How to run it again.
fn write_reproduce(md: &mut String) -> Result<(), BoxError> {
    writeln!(md, "### How to reproduce\n")?;
    writeln!(
        md,
        "```sh\n\
         bench/compare.sh                 # ROUNDS=3 DURATION=5s by default: about 7 minutes here\n\
         ROUNDS=5 bench/compare.sh        # about 10 minutes here\n\
         bench/instructions.sh            # the callgrind counts alone\n\
         ```\n"
    )?;
    writeln!(
        md,
        "The script installs what is missing with apt-get (`wrk`, `nghttp2-client` for \
         h2load, `valgrind`, `openssl`; `ocaml-nox`, `ocaml-findlib`, \
         `libcohttp-lwt-unix-ocaml-dev` for the CoHTTP row), builds `paf-bench` and \
         `paf-stress` with `--release`, makes one ECDSA P-256 certificate for 127.0.0.1 \
         with openssl and gives it to both TLS servers (the same rustls `ServerConfig`, \
         ring provider, ALPN `h2` and `http/1.1`), runs the servers on 127.0.0.1, then \
         the stress tool, `client-bench`, `bench/instructions.sh` and `stream-mem`, and \
         writes `bench/results.md` and `bench/results.json`. The servers run alone too:\n"
    )?;
    writeln!(
        md,
        "```sh\n\
         target/release/raw-hyper-server --addr 127.0.0.1:8081 [--protocol http1|http2|auto]\n\
         target/release/raw-hyper-server --addr 127.0.0.1:8443 --cert cert.pem --key key.pem  # ALPN picks http1/http2\n\
         target/release/paf-server --addr 127.0.0.1:8082 [--cert cert.pem --key key.pem]\n\
         target/release/client-bench [--url URL] [--backend hyper] [--side paf|raw] [--rounds 5]\n\
         target/release/stream-mem --backend hyper|reqwest|ureq [--size BYTES]\n\
         ```"
    )?;
    Ok(())
}

/// One load's table.
fn write_test(md: &mut String, test: &Test, result: &TestResult) -> Result<(), BoxError> {
    let h2load = result.rows.iter().any(|r| r.mean_ms.is_some());
    let unit = test.unit;
    let per = result.instructions_per;
    writeln!(md, "### {}: `{}`\n", test.title, result.generator)?;
    let latency = if h2load {
        "mean | sd | max"
    } else {
        "p50 | p99 | max"
    };
    writeln!(
        md,
        "| server | {unit} | {latency} | vs raw | per round | rounds ({unit}) | instructions per {per} | vs raw | errors |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")?;
    for row in &result.rows {
        let (a, b) = if h2load {
            (row.mean_ms, row.sd_ms)
        } else {
            (row.p50_ms, row.p99_ms)
        };
        let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2} ms"));
        let rounds: Vec<String> = row.rps_rounds.iter().map(|r| format!("{r:.0}")).collect();
        let per_round = if row.server == test.baseline {
            "–".to_string()
        } else {
            range(&row.round_ratios)
        };
        writeln!(
            md,
            "| {} | {:.0} | {} | {} | {} | {:.2}× | {} | {} | {} | {} | {} |",
            row.label,
            row.rps,
            ms(a),
            ms(b),
            ms(Some(row.max_ms)),
            row.rps_vs_baseline,
            per_round,
            rounds.join(", "),
            row.instructions
                .map_or("–".to_string(), |i| format!("{i:.0}")),
            row.instructions_vs_baseline
                .map_or("–".to_string(), |i| format!("{i:.2}×")),
            row.errors
        )?;
    }
    let protocols: Vec<String> = result
        .rows
        .iter()
        .filter(|r| !r.protocols.is_empty())
        .map(|r| format!("{} {}", r.server, r.protocols.join("/")))
        .collect();
    if !protocols.is_empty() {
        writeln!(
            md,
            "\nProtocol h2load spoke (its \"Application protocol\"): {}.",
            protocols.join(", ")
        )?;
    }
    if test.id == "h1" {
        let paf = result.rows.iter().find(|r| r.server == "paf");
        if let Some(p99) = paf.and_then(|p| p.p99_vs_baseline) {
            writeln!(
                md,
                "\npaf's p99 is {p99:.2}× raw `http1::Builder`'s (target ≤ {MAX_P99_RATIO}×: {}).",
                verdict(p99 <= MAX_P99_RATIO)
            )?;
        }
    }
    writeln!(md)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H2LOAD: &str = "#run h2c paf 2
starting benchmark...
spawning thread #0: 16 total client(s). Timing-based test with 1s of warm-up time and 3s of main duration for measurements.
Application protocol: h2c

finished in 4.00s, 142790.33 req/s, 5.18MB/s
requests: 428371 total, 428371 started, 428371 done, 428370 succeeded, 1 failed, 0 errored, 0 timeout
status codes: 428368 2xx, 0 3xx, 2 4xx, 0 5xx
traffic: 15.53MB (16279202) total, 3.83MB (4014625) headers (space savings 88.13%), 7.11MB (7452315) data
                     min         max         mean         sd        +/- sd
time for request:       14us     21.31ms      3.40ms      1.92ms    74.98%
time for connect:        0us         0us         0us         0us     0.00%
#run h2-tls raw-tls 1
Application protocol: h2
finished in 1.00s, 1000.50 req/s, 5.18MB/s
requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 1000 2xx, 0 3xx, 0 4xx, 0 5xx
time for request:      900us      1.20s     812us       50us    74.98%
";

    #[test]
    fn h2load_output_is_parsed() {
        let runs = parse_h2load(H2LOAD).unwrap_or_default();
        assert_eq!(runs.len(), 2);
        let first = &runs[0];
        assert_eq!((first.test.as_str(), first.server.as_str()), ("h2c", "paf"));
        assert_eq!(first.round, 2);
        assert_eq!(first.rps, 142790.33);
        assert_eq!(first.errors, 3);
        assert_eq!(first.protocol.as_deref(), Some("h2c"));
        assert_eq!(
            (first.max_ms, first.mean_ms, first.sd_ms),
            (21.31, Some(3.40), Some(1.92))
        );
        let second = &runs[1];
        assert_eq!(second.max_ms, 1200.0);
        assert_eq!(second.mean_ms, Some(0.812));
        assert_eq!(second.errors, 0);
    }

    #[test]
    fn h2load_output_without_figures_is_an_error() {
        assert!(parse_h2load("#run h2c paf 1\nfinished in 1s, 5 req/s\n").is_err());
        assert!(parse_h2load("garbage\n#run h2c paf 1\n").is_err());
        assert_eq!(parse_h2load("").unwrap_or_default(), Vec::new());
    }

    #[test]
    fn ratios_near_the_threshold_get_a_third_decimal() {
        assert_eq!(ratio_text(0.9996, 1.0, true), "0.999×");
        assert_eq!(ratio_text(1.0004, 1.0, true), "1.000×");
        assert_eq!(ratio_text(0.996, 1.0, true), "0.996×");
        assert_eq!(ratio_text(0.93, 1.0, true), "0.93×");
        assert_eq!(ratio_text(0.9496, 0.95, true), "0.949×");
        assert_eq!(ratio_text(1.1001, 1.1, false), "1.101×");
        assert_eq!(ratio_text(1.0999, 1.1, false), "1.100×");
    }

    #[test]
    fn per_round_ratios_pair_the_rounds() {
        let run = |server: &str, round, rps| Run {
            test: "h2c".into(),
            server: server.into(),
            round,
            rps,
            p50_ms: None,
            p99_ms: None,
            mean_ms: Some(1.0),
            sd_ms: Some(0.1),
            max_ms: 2.0,
            errors: 0,
            protocol: Some("h2c".into()),
        };
        let runs = vec![
            run("raw-hyper-http2", 1, 100.0),
            run("paf", 1, 90.0),
            run("raw-hyper-http2", 2, 200.0),
            run("paf", 2, 220.0),
            run("raw-hyper-http2", 3, 150.0),
            run("paf", 3, 150.0),
        ];
        let instructions = HashMap::from([
            (("h2c".to_string(), "paf".to_string()), 30.0),
            (("h2c".to_string(), "raw-hyper-http2".to_string()), 20.0),
        ]);
        let rows = rows(&TESTS[1], &runs, &instructions);
        assert_eq!(rows.len(), 2);
        let paf = &rows[1];
        assert_eq!(paf.rps, 150.0);
        assert_eq!(paf.rps_vs_baseline, 1.0);
        assert_eq!(paf.round_ratios, vec![0.9, 1.1, 1.0]);
        assert_eq!(paf.instructions_vs_baseline, Some(1.5));
        assert_eq!(range(&paf.round_ratios), "0.90–1.10×");
    }
}
