//! Each paf client against its engine used raw, in one process, on the same
//! server: sequential keep-alive GETs (one client, one request at a time)
//! and concurrent ones (64 at a time over one shared client). Every request
//! reads its 13-byte body to the end. Rounds alternate which side goes
//! first and the median of the rounds is reported, because this machine is
//! noisy and the client shares its cores with the server.
//!
//! Prints a Markdown table; `--json FILE` writes the figures.
#![forbid(unsafe_code)]

use std::{
    future::Future,
    io::Read,
    process::ExitCode,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use bytes::Bytes;
use clap::Parser;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client as LegacyClient, rt::TokioExecutor};
use paf_bench::{median, raw_server};
use serde::Serialize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// paf clients against raw engines.
#[derive(Parser)]
struct Args {
    /// The server to load; without it, a raw hyper server is started in
    /// this process on a runtime of its own.
    #[arg(long)]
    url: Option<String>,
    /// Requests of the sequential run.
    #[arg(long, default_value_t = 10_000)]
    sequential: u64,
    /// Requests of the concurrent run.
    #[arg(long, default_value_t = 40_000)]
    concurrent: u64,
    /// Clients of the concurrent run.
    #[arg(long, default_value_t = 64)]
    concurrency: u64,
    /// Rounds of each measurement (median reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Only these backends (hyper, reqwest, ureq); all when not given.
    #[arg(long)]
    backend: Vec<String>,
    /// Client runtime worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Run only one side (for profiling one client at a time).
    #[arg(long, value_enum, default_value_t = Side::Both)]
    side: Side,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// Which clients run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Side {
    Both,
    Paf,
    Raw,
}

/// One side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Paf,
    Raw,
}

impl Side {
    fn runs(self, which: Which) -> bool {
        match self {
            Side::Both => true,
            Side::Paf => which == Which::Paf,
            Side::Raw => which == Which::Raw,
        }
    }
}

/// One comparison: a paf client and its raw engine, one way of loading.
#[derive(Debug, Serialize)]
struct Row {
    backend: &'static str,
    raw: &'static str,
    mode: &'static str,
    requests: u64,
    concurrency: u64,
    paf_rps: f64,
    raw_rps: f64,
    ratio: f64,
    paf_rounds: Vec<f64>,
    raw_rounds: Vec<f64>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    // The raw reqwest client builds its TLS configuration from the process
    // default provider even for http:// URLs; paf's clients build theirs
    // with an explicit one and do not care.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let runtime = paf_bench::runtime(args.threads)?;
    // An in-process server gets its own single-threaded runtime, so that the
    // clients' runtime measures the clients only.
    let server_runtime = paf_bench::runtime(1)?;
    let url = match &args.url {
        Some(url) => url.clone(),
        None => server_runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/", listener.local_addr()?);
            tokio::spawn(raw_server::serve(
                listener,
                raw_server::Protocol::Http1,
                None,
            ));
            Ok::<_, std::io::Error>(url)
        })?,
    };
    let uri: Uri = url.parse()?;
    let wanted = |name: &str| args.backend.is_empty() || args.backend.iter().any(|b| b == name);
    let idle = usize::try_from(args.concurrency)?;

    let mut rows = Vec::new();

    if wanted("hyper") {
        let paf = paf_hyper::Client::builder()
            .pool_max_idle_per_endpoint(idle)
            .build();
        let raw: LegacyClient<_, Empty<Bytes>> = LegacyClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(idle)
            .build_http();
        let paf_get = {
            let uri = uri.clone();
            move || paf_async(paf.clone(), uri.clone())
        };
        let raw_get = {
            let uri = uri.clone();
            move || {
                let (client, uri) = (raw.clone(), uri.clone());
                async move {
                    let response = client.get(uri).await?;
                    Ok(response.into_body().collect().await?.to_bytes().len())
                }
            }
        };
        rows.extend(compare_async(
            &args,
            &runtime,
            "hyper",
            "hyper-util legacy Client",
            paf_get,
            raw_get,
        )?);
    }

    if wanted("reqwest") {
        let paf = paf_reqwest::Client::builder()
            .pool_max_idle_per_endpoint(idle)
            .build();
        let raw = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(idle)
            .build()?;
        // The raw side reuses a parsed URL, as a reqwest program would.
        let url = reqwest::Url::parse(&url)?;
        let paf_get = {
            let uri = uri.clone();
            move || paf_async(paf.clone(), uri.clone())
        };
        let raw_get = move || {
            let request = raw.get(url.clone());
            async move {
                let mut response = request.send().await?;
                let mut n = 0;
                while let Some(chunk) = response.chunk().await? {
                    n += chunk.len();
                }
                Ok(n)
            }
        };
        rows.extend(compare_async(
            &args,
            &runtime,
            "reqwest",
            "reqwest::Client",
            paf_get,
            raw_get,
        )?);
    }

    if wanted("ureq") {
        let paf = paf_ureq::Client::builder()
            .pool_max_idle_per_endpoint(idle)
            .build();
        let raw: ureq::Agent = ureq::Agent::config_builder()
            .max_idle_connections(idle)
            .max_idle_connections_per_host(idle)
            .build()
            .into();
        let paf_get = || -> Result<usize, BoxError> {
            let request = Request::get(uri.clone()).body(paf_core::blocking::Body::empty())?;
            let response = paf.request(request)?;
            Ok(drain(response.into_body())?)
        };
        let raw_get = || -> Result<usize, BoxError> {
            let response = raw.get(&url).call()?;
            Ok(drain(response.into_body().into_reader())?)
        };
        rows.extend(compare(
            &args,
            "ureq",
            "ureq::Agent",
            |which, n, c| match which {
                Which::Paf => load_blocking(n, c, &paf_get),
                Which::Raw => load_blocking(n, c, &raw_get),
            },
        )?);
    }

    println!("| client | mode | requests | paf req/s | raw req/s | paf/raw |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| paf-{} vs {} | {} (c={}) | {} | {:.0} | {:.0} | {:.2} |",
            r.backend, r.raw, r.mode, r.concurrency, r.requests, r.paf_rps, r.raw_rps, r.ratio
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}

/// For each way of loading (sequential, concurrent): warms both sides up,
/// then runs `args.rounds` rounds of each, alternating which side goes
/// first, and sums them up in a row. `measure(side, requests, concurrency)`
/// times one run and returns its requests per second.
fn compare(
    args: &Args,
    backend: &'static str,
    raw: &'static str,
    mut measure: impl FnMut(Which, u64, u64) -> Result<f64, BoxError>,
) -> Result<Vec<Row>, BoxError> {
    let modes = [
        ("sequential", args.sequential, 1),
        ("concurrent", args.concurrent, args.concurrency),
    ];
    let mut rows = Vec::new();
    for (mode, requests, concurrency) in modes {
        let warm_up = (requests / 10).max(concurrency);
        for which in [Which::Paf, Which::Raw] {
            if args.side.runs(which) {
                measure(which, warm_up, concurrency)?;
            }
        }
        let (mut paf_rounds, mut raw_rounds) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            let order = if round % 2 == 0 {
                [Which::Paf, Which::Raw]
            } else {
                [Which::Raw, Which::Paf]
            };
            for which in order.into_iter().filter(|w| args.side.runs(*w)) {
                let rate = measure(which, requests, concurrency)?;
                match which {
                    Which::Paf => paf_rounds.push(rate),
                    Which::Raw => raw_rounds.push(rate),
                }
            }
        }
        let (paf_rps, raw_rps) = (median(&paf_rounds), median(&raw_rounds));
        rows.push(Row {
            backend,
            raw,
            mode,
            requests,
            concurrency,
            paf_rps,
            raw_rps,
            ratio: if raw_rps > 0.0 {
                paf_rps / raw_rps
            } else {
                0.0
            },
            paf_rounds,
            raw_rounds,
        });
    }
    Ok(rows)
}

/// [`compare`] for async clients, run on `runtime`.
fn compare_async<P, PF, R, RF>(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    backend: &'static str,
    raw_name: &'static str,
    paf: P,
    raw: R,
) -> Result<Vec<Row>, BoxError>
where
    P: Fn() -> PF + Clone + Send + Sync + 'static,
    PF: Future<Output = Result<usize, BoxError>> + Send + 'static,
    R: Fn() -> RF + Clone + Send + Sync + 'static,
    RF: Future<Output = Result<usize, BoxError>> + Send + 'static,
{
    compare(args, backend, raw_name, |which, n, c| {
        runtime.block_on(async {
            match which {
                Which::Paf => load_async(n, c, paf.clone()).await,
                Which::Raw => load_async(n, c, raw.clone()).await,
            }
        })
    })
}

/// A GET through a paf async client, body read to the end.
async fn paf_async<C: paf_core::client::Client>(client: C, uri: Uri) -> Result<usize, BoxError> {
    let request = Request::get(uri).body(paf_core::Body::empty())?;
    let response = client.send(request).await?;
    let mut body = response.into_body();
    let mut n = 0;
    while let Some(chunk) = body.chunk().await {
        n += chunk?.len();
    }
    Ok(n)
}

fn drain(mut reader: impl Read) -> std::io::Result<usize> {
    let mut buf = [0u8; 4096];
    let mut n = 0;
    loop {
        match reader.read(&mut buf)? {
            0 => return Ok(n),
            read => n += read,
        }
    }
}

/// `requests` GETs from `concurrency` tasks; requests per second.
async fn load_async<F, Fut>(requests: u64, concurrency: u64, get: F) -> Result<f64, BoxError>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, BoxError>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (get, next) = (get.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    check_body(get().await?)?;
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(requests as f64 / start.elapsed().as_secs_f64())
}

/// `requests` GETs from `concurrency` threads; requests per second.
fn load_blocking<F>(requests: u64, concurrency: u64, get: &F) -> Result<f64, BoxError>
where
    F: Fn() -> Result<usize, BoxError> + Sync,
{
    let next = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..concurrency)
            .map(|_| {
                scope.spawn(|| {
                    while next.fetch_add(1, Ordering::Relaxed) < requests {
                        check_body(get()?)?;
                    }
                    Ok::<_, BoxError>(())
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .map_err(|_| BoxError::from("a client thread panicked"))??;
        }
        Ok::<_, BoxError>(())
    })?;
    Ok(requests as f64 / start.elapsed().as_secs_f64())
}

fn check_body(len: usize) -> Result<(), BoxError> {
    if len == paf_bench::HELLO.len() {
        Ok(())
    } else {
        Err(format!("a body of {len} bytes, not {}", paf_bench::HELLO.len()).into())
    }
}
