//! Streams `--size` bytes (1 GiB by default) up to a paf server and the same
//! down from it, through one paf client, in one process, and reports the
//! peak resident memory of the whole process (client and server together)
//! from `/proc/self/status`. Nothing is held in memory on either side: the
//! upload is produced chunk by chunk and the server counts what it reads,
//! the download is produced chunk by chunk by the server and counted by the
//! client. A flat peak shows that backpressure works end to end.
//!
//! Prints one JSON object.
#![forbid(unsafe_code)]

use std::{io::Read, process::ExitCode, time::Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures_util::stream;
use http::{Method, Request, Response, StatusCode};
use paf_bench::memory;
use paf_core::Body;
use serde::Serialize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The size of every chunk sent either way.
const CHUNK: usize = 64 * 1024;
/// One chunk's bytes, shared by every chunk: producing the stream allocates
/// nothing per chunk.
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// Peak memory while streaming through paf.
#[derive(Parser)]
struct Args {
    /// The client backend.
    #[arg(long, value_enum, default_value_t = Backend::Hyper)]
    backend: Backend,
    /// Bytes each way.
    #[arg(long, default_value_t = 1 << 30)]
    size: u64,
    /// Runtime worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Hyper,
    Reqwest,
    Ureq,
}

#[derive(Debug, Serialize)]
struct Figures {
    backend: Backend,
    bytes_up: u64,
    bytes_down: u64,
    up_mib_per_sec: f64,
    down_mib_per_sec: f64,
    rss_before_mib: f64,
    peak_rss_mib: f64,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(figures) => match serde_json::to_string(&figures) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("stream-mem: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("stream-mem: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `size` bytes in `CHUNK`-sized pieces, produced as they are asked for.
fn chunks(size: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    stream::unfold(size, |left| async move {
        if left == 0 {
            return None;
        }
        let n = left.min(CHUNK as u64) as usize;
        Some((Ok(Bytes::from_static(&ZEROS[..n])), left - n as u64))
    })
}

/// The server: `POST /up` counts the body it reads and answers the count;
/// `GET /down/N` answers N bytes.
async fn handle(request: Request<Body>) -> Response<Body> {
    let path = request.uri().path().to_string();
    if request.method() == Method::POST && path == "/up" {
        let mut body = request.into_body();
        let mut n = 0u64;
        while let Some(chunk) = body.chunk().await {
            match chunk {
                Ok(chunk) => n += chunk.len() as u64,
                Err(_) => return status(StatusCode::BAD_REQUEST),
            }
        }
        return Response::new(Body::from(n.to_string()));
    }
    match path.strip_prefix("/down/").map(str::parse::<u64>) {
        Some(Ok(size)) => Response::new(Body::from_stream_sized(chunks(size), size)),
        _ => status(StatusCode::NOT_FOUND),
    }
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn run(args: Args) -> Result<Figures, BoxError> {
    let runtime = paf_bench::runtime(args.threads)?;
    let running =
        runtime.block_on(paf_hyper::Server::new(handle).bind_tcp("127.0.0.1:0".parse()?))?;
    let url = running.url().ok_or("the server has no URL")?;
    let base = url.trim_end_matches('/');
    let rss_before = memory::rss_kib().unwrap_or(0);
    let size = args.size;

    let up_url = format!("{base}/up");
    let down_url = format!("{base}/down/{size}");
    let (up, up_secs, down, down_secs) = match args.backend {
        Backend::Hyper => runtime.block_on(stream_async(
            paf_hyper::Client::new(),
            &up_url,
            &down_url,
            size,
        ))?,
        Backend::Reqwest => runtime.block_on(stream_async(
            paf_reqwest::Client::new(),
            &up_url,
            &down_url,
            size,
        ))?,
        // The blocking client runs on this thread while the server runs on
        // the runtime's workers.
        Backend::Ureq => stream_blocking(&paf_ureq::Client::new(), &up_url, &down_url, size)?,
    };
    if up != size || down != size {
        return Err(format!("streamed {up} bytes up and {down} down, not {size}").into());
    }
    let peak = memory::peak_rss_kib().ok_or("no /proc/self/status to read the peak from")?;
    let per_sec = |secs: f64| size as f64 / (1024.0 * 1024.0) / secs.max(1e-9);
    Ok(Figures {
        backend: args.backend,
        bytes_up: up,
        bytes_down: down,
        up_mib_per_sec: per_sec(up_secs),
        down_mib_per_sec: per_sec(down_secs),
        rss_before_mib: mib(rss_before),
        peak_rss_mib: mib(peak),
    })
}

async fn stream_async<C: paf_core::client::Client>(
    client: C,
    up_url: &str,
    down_url: &str,
    size: u64,
) -> Result<(u64, f64, u64, f64), BoxError> {
    let start = Instant::now();
    let request = Request::post(up_url).body(Body::from_stream_sized(chunks(size), size))?;
    let response = client.send(request).await?;
    let up: u64 = response.into_body().to_string(64).await?.parse()?;
    let up_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let response = client
        .send(Request::get(down_url).body(Body::empty())?)
        .await?;
    let mut body = response.into_body();
    let mut down = 0u64;
    while let Some(chunk) = body.chunk().await {
        down += chunk?.len() as u64;
    }
    Ok((up, up_secs, down, start.elapsed().as_secs_f64()))
}

/// A reader of `left` zeros.
struct Zeros {
    left: u64,
}

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.left.min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        self.left -= n as u64;
        Ok(n)
    }
}

fn stream_blocking(
    client: &paf_ureq::Client,
    up_url: &str,
    down_url: &str,
    size: u64,
) -> Result<(u64, f64, u64, f64), BoxError> {
    let start = Instant::now();
    let zeros = Zeros { left: size };
    let body = paf_core::blocking::Body::from_reader(zeros, Some(size));
    let response = client.request(Request::post(up_url).body(body)?)?;
    let up: u64 = response.into_body().read_to_string(64)?.parse()?;
    let up_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let response = client.get(down_url)?;
    let mut body = response.into_body();
    let mut buf = vec![0u8; CHUNK];
    let mut down = 0u64;
    loop {
        match body.read(&mut buf)? {
            0 => break,
            n => down += n as u64,
        }
    }
    Ok((up, up_secs, down, start.elapsed().as_secs_f64()))
}
