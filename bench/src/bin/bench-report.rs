//! Turns the measurements `bench/compare.sh` collected in a directory into
//! `results.md` (Markdown tables) and `results.json`, with the targets of
//! the benchmark issue checked: paf server ≥ 0.95× raw hyper's requests/s
//! with p99 ≤ 1.1×, each paf client ≥ 0.95× its raw engine, 1 GiB streamed
//! each way with a peak RSS under 64 MiB.
//!
//! The directory holds `wrk.jsonl` (one wrk run a line, from
//! `wrk-report.lua`), `stress-*.json` (paf-stress reports), `clients.json`
//! (client-bench) and `memory.jsonl` (stream-mem, one backend a line).
#![forbid(unsafe_code)]

use std::{collections::BTreeMap, fmt::Write as _, path::PathBuf, process::ExitCode};

use clap::Parser;
use paf_bench::median;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The server that the paf server is held against.
const BASELINE: &str = "raw-hyper-http1";
const PAF_SERVER: &str = "paf";
/// Targets of the issue.
const MIN_RPS_RATIO: f64 = 0.95;
const MAX_P99_RATIO: f64 = 1.1;
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
    /// wrk's duration and connections, in words.
    #[arg(long, default_value = "wrk -t1 -c64 -d5s")]
    wrk: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct WrkRun {
    server: String,
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    non2xx: u64,
}

#[derive(Debug, Serialize)]
struct ServerRow {
    server: String,
    label: &'static str,
    rps: f64,
    p99_ms: f64,
    p50_ms: f64,
    rps_rounds: Vec<f64>,
    p99_rounds: Vec<f64>,
    errors: u64,
    rps_vs_baseline: f64,
    p99_vs_baseline: f64,
}

fn label(server: &str) -> &'static str {
    match server {
        "raw-hyper-http1" => "raw hyper 1.x (`http1::Builder`)",
        "raw-hyper-auto" => "raw hyper 1.x (`hyper_util` `auto::Builder`, h1 + h2)",
        "paf" => "**paf-hyper `Server`**",
        "cohttp" => "CoHTTP 4 (`cohttp-lwt-unix`, Debian)",
        _ => "other",
    }
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

fn lines(path: &std::path::Path) -> Result<Vec<Value>, BoxError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(BoxError::from))
        .collect()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let mut md = String::new();
    let mut targets = Vec::new();
    writeln!(md, "## Benchmarks ({})\n", args.date)?;
    writeln!(md, "Machine: {}.\n", args.machine)?;
    writeln!(md, "Code: {}.\n", args.code)?;
    writeln!(
        md,
        "Everything runs on loopback on this one machine: the load generator and the server \
         share its two cores, and other work on the machine competes with both, so single \
         runs are noisy. Each server figure is the median of the rounds (listed), servers \
         interleaved round by round.\n"
    )?;

    // Servers.
    let runs: Vec<WrkRun> = lines(&args.dir.join("wrk.jsonl"))?
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()?;
    let mut by_server: BTreeMap<&str, Vec<&WrkRun>> = BTreeMap::new();
    for run in &runs {
        by_server.entry(run.server.as_str()).or_default().push(run);
    }
    let summary = |runs: &[&WrkRun]| {
        let rps: Vec<f64> = runs.iter().map(|r| r.rps).collect();
        let p99: Vec<f64> = runs.iter().map(|r| r.p99_ms).collect();
        let p50: Vec<f64> = runs.iter().map(|r| r.p50_ms).collect();
        let errors = runs.iter().map(|r| r.errors + r.non2xx).sum::<u64>();
        (rps, p99, p50, errors)
    };
    let (base_rps, base_p99) = by_server
        .get(BASELINE)
        .map(|runs| {
            let (rps, p99, _, _) = summary(runs);
            (median(&rps), median(&p99))
        })
        .unwrap_or((0.0, 0.0));
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let order = ["raw-hyper-http1", "raw-hyper-auto", "paf", "cohttp"];
    let mut servers = Vec::new();
    for name in order {
        let Some(runs) = by_server.get(name) else {
            continue;
        };
        let (rps_rounds, p99_rounds, p50_rounds, errors) = summary(runs);
        let (rps, p99) = (median(&rps_rounds), median(&p99_rounds));
        servers.push(ServerRow {
            server: name.to_string(),
            label: label(name),
            rps,
            p99_ms: p99,
            p50_ms: median(&p50_rounds),
            rps_vs_baseline: ratio(rps, base_rps),
            p99_vs_baseline: ratio(p99, base_p99),
            rps_rounds,
            p99_rounds,
            errors,
        });
    }
    writeln!(md, "### Server: `{}`, keep-alive, 13-byte body\n", args.wrk)?;
    writeln!(
        md,
        "| server | requests/s | p50 | p99 | req/s vs raw `http1` | p99 vs raw `http1` | rounds (req/s) | errors |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---|---:|")?;
    for s in &servers {
        let rounds: Vec<String> = s.rps_rounds.iter().map(|r| format!("{r:.0}")).collect();
        writeln!(
            md,
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2}× | {:.2}× | {} | {} |",
            s.label,
            s.rps,
            s.p50_ms,
            s.p99_ms,
            s.rps_vs_baseline,
            s.p99_vs_baseline,
            rounds.join(", "),
            s.errors
        )?;
    }
    if let Some(paf) = servers.iter().find(|s| s.server == PAF_SERVER) {
        let rps_ok = paf.rps_vs_baseline >= MIN_RPS_RATIO;
        let p99_ok = paf.p99_vs_baseline <= MAX_P99_RATIO;
        writeln!(
            md,
            "\nTarget: paf server ≥ {MIN_RPS_RATIO}× raw hyper's requests/s: {} ({:.2}×); \
             p99 ≤ {MAX_P99_RATIO}×: {} ({:.2}×).",
            verdict(rps_ok),
            paf.rps_vs_baseline,
            verdict(p99_ok),
            paf.p99_vs_baseline
        )?;
        targets.push(json!({"target": "server requests/s >= 0.95x raw hyper", "value": paf.rps_vs_baseline, "met": rps_ok}));
        targets.push(json!({"target": "server p99 <= 1.1x raw hyper", "value": paf.p99_vs_baseline, "met": p99_ok}));
    }

    // Clients.
    let clients: Vec<Value> = match std::fs::read_to_string(args.dir.join("clients.json")) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => Vec::new(),
    };
    if !clients.is_empty() {
        writeln!(
            md,
            "\n### Clients: each paf client against its engine used raw, same process, same raw hyper server\n"
        )?;
        writeln!(
            md,
            "| paf client | raw engine | mode | requests | paf req/s | raw req/s | paf/raw | target ≥ {MIN_RPS_RATIO}× |"
        )?;
        writeln!(md, "|---|---|---|---:|---:|---:|---:|---|")?;
        for c in &clients {
            let ratio = c["ratio"].as_f64().unwrap_or(0.0);
            let ok = ratio >= MIN_RPS_RATIO;
            let mode = format!(
                "{} (c={})",
                c["mode"].as_str().unwrap_or("?"),
                c["concurrency"]
            );
            writeln!(
                md,
                "| paf-{} | {} | {} | {} | {:.0} | {:.0} | {:.2}× | {} |",
                c["backend"].as_str().unwrap_or("?"),
                c["raw"].as_str().unwrap_or("?"),
                mode,
                c["requests"],
                c["paf_rps"].as_f64().unwrap_or(0.0),
                c["raw_rps"].as_f64().unwrap_or(0.0),
                ratio,
                verdict(ok)
            )?;
            targets.push(json!({
                "target": format!("paf-{} client {} >= 0.95x raw", c["backend"].as_str().unwrap_or("?"), mode),
                "value": ratio,
                "met": ok,
            }));
        }
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
            "\n### Load generators on the raw hyper server (`-c 64`, same duration)\n"
        )?;
        writeln!(md, "| generator | requests/s | p50 | p99 | failures |")?;
        writeln!(md, "|---|---:|---:|---:|---:|")?;
        if let Some(base) = servers.iter().find(|s| s.server == BASELINE) {
            writeln!(
                md,
                "| wrk (C, one thread; median above) | {:.0} | {:.2} ms | {:.2} ms | {} |",
                base.rps, base.p50_ms, base.p99_ms, base.errors
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
    }

    // Memory.
    let memory = lines(&args.dir.join("memory.jsonl"))?;
    if !memory.is_empty() {
        let gib = memory[0]["bytes_up"].as_f64().unwrap_or(0.0) / (1u64 << 30) as f64;
        writeln!(
            md,
            "\n### Memory: {gib:.2} GiB up and {gib:.2} GiB down through a paf client and the paf server, one process\n"
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
                "met": ok,
            }));
        }
    }

    let missed = targets.iter().filter(|t| t["met"] == false).count();
    writeln!(
        md,
        "\nTargets: {} of {} met.",
        targets.len() - missed,
        targets.len()
    )?;

    std::fs::write(&args.markdown, md)?;
    let all = json!({
        "date": args.date,
        "machine": args.machine,
        "code": args.code,
        "wrk": args.wrk,
        "servers": servers,
        "server_runs": runs,
        "clients": clients,
        "stress": stress,
        "memory": memory,
        "targets": targets,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&all)?)?;
    Ok(())
}
