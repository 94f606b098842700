//! paf on a TCP/IP stack that is not the kernel's: two smoltcp stacks in
//! this process, joined by an in-memory link; a paf server on one, a paf
//! client fetching from it through the other.
//!
//! ```text
//! cargo run -p paf-examples --example userspace_stack --features smoltcp
//!
//! # Throughput, in-memory stack against loopback TCP (256 MiB per run,
//! # socket buffers and so windows of 1 MiB unless --buffer KIB says):
//! cargo run --release -p paf-examples --example userspace_stack --features smoltcp -- --bench 256
//!
//! # The server on a TAP device instead (Linux, root), reached by curl:
//! ip tuntap add dev tap0 mode tap && ip addr add 10.77.0.1/24 dev tap0 && ip link set tap0 up
//! cargo run -p paf-examples --example userspace_stack --features smoltcp-tap -- \
//!     --tap tap0 --addr 10.77.0.2/24 --gateway 10.77.0.1 --port 80
//! curl http://10.77.0.2/
//! ```

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use http::{Request, Response, StatusCode};
use paf_core::{bytes::Bytes, server::ConnInfo, Body, Ctx};
use paf_hyper::{Client, Server};
use paf_smoltcp::{Config, MemoryDevice, Stack};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

type Error = Box<dyn std::error::Error>;

/// `/`: hello and who asked; `/bytes/N`: N zero bytes, streamed.
async fn hello(req: Request<Body>) -> Response<Body> {
    let path = req.uri().path();
    if let Some(len) = path.strip_prefix("/bytes/") {
        return match len.parse::<u64>() {
            Ok(len) => Response::new(zeros(len)),
            Err(_) => paf_core::server::status_response(StatusCode::BAD_REQUEST),
        };
    }
    let peer = ConnInfo::of(&req)
        .map(|c| c.peer.to_string())
        .unwrap_or_default();
    Response::new(Body::from(format!("hello {peer}, from a smoltcp stack\n")))
}

const CHUNK: usize = 64 * 1024;
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// A body of `len` zero bytes in 64 KiB chunks.
fn zeros(len: u64) -> Body {
    let chunks = (0..len).step_by(CHUNK).map(move |offset| {
        let n = (len - offset).min(CHUNK as u64) as usize;
        Ok::<_, std::convert::Infallible>(Bytes::from_static(&ZEROS[..n]))
    });
    Body::from_stream_sized(futures_util::stream::iter(chunks), len)
}

/// Socket buffers of the demo and the benchmark, and so their windows: the
/// link is fast, and a window is what one connection has in flight.
const BUFFER_KIB: usize = 1024;

/// Two stacks on an in-memory link: 10.0.0.1 and 10.0.0.2, with socket
/// buffers of `buffer_kib` KiB.
fn stacks(buffer_kib: usize) -> Result<(Stack, Stack), Error> {
    let (a, b) = MemoryDevice::pair();
    let config = |ip| Config::new(ip, 24).buffer_size(buffer_kib.saturating_mul(1024));
    let server = Stack::new(a, config(Ipv4Addr::new(10, 0, 0, 1)))?;
    let client = Stack::new(b, config(Ipv4Addr::new(10, 0, 0, 2)))?;
    Ok((server, client))
}

async fn demo() -> Result<(), Error> {
    let (server_stack, client_stack) = stacks(BUFFER_KIB)?;
    let running = Server::new(hello).serve(server_stack.listen(80)?);
    let url = running.url().unwrap_or_default();
    println!("server on the first stack at {url}");

    // The client's context reaches 10.0.0.1:80 through the second stack.
    let addr = running.local_addr().ok_or("the server has no address")?;
    let ctx = Ctx::new()
        .with_transport("smoltcp", client_stack.clone())
        .with_user_endpoint("smoltcp", addr);
    let client = Client::builder().ctx(ctx).build();
    let response = client.get(&format!("{url}/")).await?;
    print!(
        "{} -> {}",
        response.status(),
        response.into_body().to_string(1 << 20).await?
    );

    running.stop(Duration::from_secs(1)).await;
    Ok(())
}

// ---------------------------------------------------------------- bench --

/// Writes `len` bytes into `writer` while `reader` reads them; the MB/s.
async fn raw_copy<W, R>(mut writer: W, mut reader: R, len: u64) -> Result<f64, Error>
where
    W: AsyncWrite + Unpin + Send + 'static,
    R: AsyncRead + Unpin + Send + 'static,
{
    let started = Instant::now();
    let write = tokio::spawn(async move {
        let mut left = len;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            writer.write_all(&ZEROS[..n]).await?;
            left -= n as u64;
        }
        writer.shutdown().await
    });
    let mut buf = vec![0; CHUNK];
    let mut read = 0u64;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        read += n as u64;
    }
    write.await??;
    if read != len {
        return Err(format!("{read} bytes arrived of {len}").into());
    }
    Ok(mb_per_s(len, started.elapsed()))
}

/// Downloads `len` bytes with a paf client over `ctx`; the MB/s.
async fn http_download(ctx: Ctx, url: &str, len: u64) -> Result<f64, Error> {
    let client = Client::builder().ctx(ctx).build();
    let started = Instant::now();
    let mut body = client.get(&format!("{url}/bytes/{len}")).await?.into_body();
    let mut read = 0u64;
    while let Some(chunk) = body.chunk().await {
        read += chunk?.len() as u64;
    }
    if read != len {
        return Err(format!("{read} bytes arrived of {len}").into());
    }
    Ok(mb_per_s(len, started.elapsed()))
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / took.as_secs_f64() / 1e6
}

/// Runs of each measure: the best one is kept, to see past a moment of
/// contention.
const RUNS: usize = 3;

async fn bench(mib: u64, buffer_kib: usize) -> Result<(), Error> {
    let len = mib << 20;
    println!(
        "moving {mib} MiB, best of {RUNS} runs, {buffer_kib} KiB smoltcp buffers \
         (build with --release for figures that mean something)"
    );

    // Raw TCP: one stream, writer and reader in this process.
    let (server_stack, client_stack) = stacks(buffer_kib)?;
    let mut smol_listener = server_stack.listen(9)?;
    let kernel_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let kernel_addr = kernel_listener.local_addr()?;
    let (mut smol_raw, mut kernel_raw) = (0f64, 0f64);
    for _ in 0..RUNS {
        let (connected, accepted) = tokio::join!(
            client_stack.connect(smol_listener.local_addr()),
            smol_listener.accept()
        );
        smol_raw = smol_raw.max(raw_copy(connected?, accepted?.0, len).await?);
        let (connected, accepted) = tokio::join!(
            tokio::net::TcpStream::connect(kernel_addr),
            kernel_listener.accept()
        );
        kernel_raw = kernel_raw.max(raw_copy(connected?, accepted?.0, len).await?);
    }

    // HTTP/1.1: a paf server, a paf client downloading.
    let smol_server = Server::new(hello).serve(server_stack.listen(80)?);
    let smol_ctx = Ctx::new()
        .with_transport("smoltcp", client_stack.clone())
        .with_user_endpoint("smoltcp", SocketAddr::from(([10, 0, 0, 1], 80)));
    let kernel_server = Server::new(hello)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await?;
    let kernel_url = kernel_server.url().unwrap_or_default();
    let (mut smol_http, mut kernel_http) = (0f64, 0f64);
    for _ in 0..RUNS {
        let smol = http_download(smol_ctx.clone(), "http://10.0.0.1", len).await?;
        smol_http = smol_http.max(smol);
        let kernel = http_download(Ctx::new(), &kernel_url, len).await?;
        kernel_http = kernel_http.max(kernel);
    }
    smol_server.stop(Duration::from_secs(1)).await;
    kernel_server.stop(Duration::from_secs(1)).await;

    println!("                 smoltcp (memory)   kernel (loopback)   ratio");
    for (what, smol, kernel) in [
        ("raw TCP", smol_raw, kernel_raw),
        ("HTTP/1.1", smol_http, kernel_http),
    ] {
        println!(
            "{what:<16} {smol:>10.0} MB/s  {kernel:>12.0} MB/s   {:>6.2}",
            smol / kernel
        );
    }
    Ok(())
}

// ------------------------------------------------------------------ tap --

#[cfg(feature = "smoltcp-tap")]
async fn serve_tap(args: &Args) -> Result<(), Error> {
    let tap = args.tap.as_deref().ok_or("--tap NAME")?;
    let mut config = Config::new(args.addr.0, args.addr.1);
    if let Some(gateway) = args.gateway {
        config = config.gateway(gateway);
    }
    let stack = Stack::tap(tap, config)?;
    let running = Server::new(hello).serve(stack.listen(args.port)?);
    println!(
        "serving {}/ on TAP device {tap} (Ctrl-C to stop)",
        running.url().unwrap_or_default()
    );
    tokio::signal::ctrl_c().await?;
    running.stop(Duration::from_secs(5)).await;
    Ok(())
}

#[cfg(not(feature = "smoltcp-tap"))]
async fn serve_tap(_args: &Args) -> Result<(), Error> {
    Err("--tap needs the TAP device support: build with --features smoltcp-tap".into())
}

// ----------------------------------------------------------------- args --

struct Args {
    tap: Option<String>,
    addr: (Ipv4Addr, u8),
    gateway: Option<Ipv4Addr>,
    port: u16,
    bench: Option<u64>,
    buffer_kib: usize,
}

/// What the arguments may be.
const USAGE: &str = "expected --bench MIB [--buffer KIB], or --tap NAME \
                     [--addr IP/PREFIX] [--gateway IP] [--port N]";

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        tap: None,
        addr: (Ipv4Addr::new(10, 77, 0, 2), 24),
        gateway: None,
        port: 80,
        bench: None,
        buffer_kib: BUFFER_KIB,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--tap" => args.tap = Some(value()?),
            "--addr" => {
                let value = value()?;
                let (ip, prefix) = value.split_once('/').unwrap_or((&value, "24"));
                args.addr = (
                    ip.parse().map_err(|e| format!("--addr {value}: {e}"))?,
                    prefix.parse().map_err(|e| format!("--addr {value}: {e}"))?,
                );
            }
            "--gateway" => args.gateway = Some(value()?.parse()?),
            "--port" => args.port = value()?.parse()?,
            "--bench" => args.bench = Some(value()?.parse()?),
            "--buffer" => args.buffer_kib = value()?.parse()?,
            other => return Err(format!("unknown argument {other:?}; {USAGE}").into()),
        }
    }
    Ok(args)
}

async fn run() -> Result<(), Error> {
    let args = parse_args()?;
    if let Some(mib) = args.bench {
        return bench(mib, args.buffer_kib).await;
    }
    if args.tap.is_some() {
        return serve_tap(&args).await;
    }
    demo().await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
