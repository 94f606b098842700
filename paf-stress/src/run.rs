//! The load itself: `-c` clients, each sending one request at a time until
//! the run's count is used up or its time is over, each request timed on its
//! own from the moment it is handed to the client until the last byte of its
//! response body has been read.
//!
//! hyper and reqwest clients are tasks on a multi-threaded tokio runtime and
//! share one paf client (so one connection pool, as a program would); ureq
//! clients are plain threads sharing one blocking paf client.

use std::{
    io::Read,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use paf_core::{
    client::{Builder, FromSettings},
    tls::ALPN_H2,
    Ctx,
};

use crate::{
    args::{Args, Backend, FailOn, Stop},
    progress::{Counters, Progress},
    report::Report,
    stats::{Exchange, Outcome, Shards},
};

/// Why a run could not start (a request that fails during the run is a
/// figure of the report, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be loaded.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A file named on the command line cannot be read.
    #[error("cannot read {what} {}", path.display())]
    Read {
        /// What the file was for.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("cannot use the CA certificates in {}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// paf's reason.
        #[source]
        source: paf_core::Error,
    },
    /// The options ask a backend for what it cannot do.
    #[error("the {backend} backend cannot {what}")]
    Unsupported {
        /// The backend.
        backend: Backend,
        /// What was asked.
        what: &'static str,
    },
    /// The async runtime or a client thread could not be started.
    #[error("cannot start the clients")]
    Start(#[source] std::io::Error),
}

/// What every request of the run is made from.
#[derive(Debug)]
struct Template {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    fn request<B: From<Bytes>>(&self) -> Request<B> {
        let mut request = Request::new(B::from(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Hands out the run's requests to the clients.
#[derive(Debug)]
enum Plan {
    Count { total: u64, next: AtomicU64 },
    Until(Instant),
}

impl Plan {
    /// True when the calling client may send one more request.
    fn claim(&self) -> bool {
        match self {
            Plan::Count { total, next } => next.fetch_add(1, Ordering::Relaxed) < *total,
            Plan::Until(deadline) => Instant::now() < *deadline,
        }
    }
}

/// What the clients share.
#[derive(Debug)]
struct Shared {
    template: Template,
    plan: Plan,
    shards: Shards,
    counters: Arc<Counters>,
    fail_on: FailOn,
}

impl Shared {
    fn record(&self, client: usize, outcome: &Outcome, latency: Duration) {
        self.shards.record(client, outcome, latency, &self.fail_on);
        let failed = match outcome {
            Ok(exchange) => self.fail_on.matches(exchange.status.as_u16()),
            Err(_) => true,
        };
        self.counters.finished(failed);
    }
}

/// Runs the load the arguments describe and sums it up. Blocks until the
/// last request has finished.
pub fn run(args: &Args) -> Result<Report, Error> {
    let template = template(args)?;
    let ctx = context(args, &template.uri)?;
    if args.http2 && args.backend == Backend::Ureq {
        return Err(Error::Unsupported {
            backend: Backend::Ureq,
            what: "speak HTTP/2 (it speaks HTTP/1.1 only)",
        });
    }

    let stop = args.stop();
    let clients = match stop {
        Stop::Count(n) => u64::from(args.concurrency).min(n) as usize,
        Stop::Duration(_) => args.concurrency as usize,
    };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(2, usize::from),
        usize::from,
    );
    let counters = Arc::new(Counters::default());
    let progress = Progress::start(stop, counters.clone(), args.no_progress);
    let started = Instant::now();
    let shared = Arc::new(Shared {
        template,
        plan: match stop {
            Stop::Count(total) => Plan::Count {
                total,
                next: AtomicU64::new(0),
            },
            Stop::Duration(d) => Plan::Until(started + d),
        },
        // A couple of shards per thread that records: few enough to merge
        // at once, enough that a lock is rarely contended.
        shards: Shards::new(clients.min(2 * threads.max(1)).max(1)),
        counters,
        fail_on: args.fail_on.clone(),
    });

    let result = match args.backend {
        Backend::Hyper => {
            let client: paf_hyper::Client = configure(args, ctx);
            run_async(Arc::new(client), &shared, clients, threads)
        }
        Backend::Reqwest => {
            let client: paf_reqwest::Client = configure(args, ctx);
            run_async(Arc::new(client), &shared, clients, threads)
        }
        Backend::Ureq => run_blocking(configure(args, ctx), &shared, clients),
    };
    let elapsed = started.elapsed();
    progress.finish();
    result?;

    let shared = Arc::into_inner(shared).expect("every client has finished with the shared state");
    Ok(Report::new(args, &shared.shards.merged(), elapsed))
}

/// Every backend takes the same settings through paf's shared builder.
fn configure<C: FromSettings>(args: &Args, ctx: Ctx) -> C {
    Builder::<C>::new()
        .ctx(ctx)
        .timeout(args.timeout)
        .http2_prior_knowledge(args.http2)
        .http1_only(args.http1)
        // Every client may hold a connection between two requests: with
        // fewer idle slots than clients, connections would be closed and
        // opened again all the time.
        .pool_max_idle_per_endpoint((args.concurrency as usize).max(32))
        .build()
}

fn template(args: &Args) -> Result<Template, Error> {
    let bad_url = |reason: &str| Error::Url {
        url: args.url.clone(),
        reason: reason.to_string(),
    };
    let uri: Uri = args
        .url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad_url(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(bad_url("the scheme must be http or https")),
        None => return Err(bad_url("give an absolute URL, like http://127.0.0.1:8080/")),
    }
    if uri.host().is_none() {
        return Err(bad_url("the URL has no host"));
    }
    let body = match (&args.data, &args.data_file) {
        (Some(data), _) => Bytes::from(data.clone()),
        (None, Some(path)) => {
            std::fs::read(path)
                .map(Bytes::from)
                .map_err(|source| Error::Read {
                    what: "the body file",
                    path: path.clone(),
                    source,
                })?
        }
        (None, None) => Bytes::new(),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &args.headers {
        headers.append(name.clone(), value.clone());
    }
    Ok(Template {
        method: args.method.clone(),
        uri,
        headers,
        body,
    })
}

fn context(args: &Args, uri: &Uri) -> Result<Ctx, Error> {
    let mut ctx = Ctx::new();
    if let Some(path) = &args.unix {
        ctx = ctx.with_unix_socket(path.clone());
    }
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path).map_err(|source| Error::Read {
            what: "the CA file",
            path: path.clone(),
            source,
        })?;
        ctx = ctx.with_ca_pem(&pem).map_err(|source| Error::CaFile {
            path: path.clone(),
            source,
        })?;
    }
    // Over TLS, HTTP/2 is what ALPN picks: offering `h2` alone makes a
    // server without it fail the handshake rather than fall back quietly.
    if args.http2 && uri.scheme_str() == Some("https") {
        ctx = ctx.with_alpn(vec![ALPN_H2.to_vec()]);
    }
    Ok(ctx)
}

fn run_async(
    client: Arc<dyn paf_core::client::Client>,
    shared: &Arc<Shared>,
    clients: usize,
    threads: usize,
) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(Error::Start)?;
    runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|id| {
                let client = client.clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    while shared.plan.claim() {
                        let start = Instant::now();
                        let outcome = exchange(&*client, shared.template.request()).await;
                        shared.record(id, &outcome, start.elapsed());
                    }
                })
            })
            .collect();
        for task in tasks {
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    });
    Ok(())
}

/// Sends one request and reads its body to the end, counting the bytes and
/// keeping none.
async fn exchange(
    client: &dyn paf_core::client::Client,
    request: Request<paf_core::Body>,
) -> Outcome {
    let response = client.send(request).await?;
    let (status, version) = (response.status(), response.version());
    let mut body = response.into_body();
    let mut body_bytes = 0u64;
    while let Some(chunk) = body.chunk().await {
        body_bytes += chunk?.len() as u64;
    }
    Ok(Exchange {
        status,
        version,
        body_bytes,
    })
}

fn run_blocking(
    client: paf_ureq::Client,
    shared: &Arc<Shared>,
    clients: usize,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        let mut threads = Vec::with_capacity(clients);
        for id in 0..clients {
            let client = &client;
            let thread = std::thread::Builder::new()
                .name(format!("paf-stress-{id}"))
                .spawn_scoped(scope, move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    while shared.plan.claim() {
                        let start = Instant::now();
                        let outcome =
                            exchange_blocking(client, shared.template.request(), &mut buf);
                        shared.record(id, &outcome, start.elapsed());
                    }
                })
                .map_err(Error::Start)?;
            threads.push(thread);
        }
        for thread in threads {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Ok(())
    })
}

fn exchange_blocking(
    client: &paf_ureq::Client,
    request: Request<paf_core::blocking::Body>,
    buf: &mut [u8],
) -> Outcome {
    let response = paf_core::blocking::Client::send(client, request)?;
    let (status, version) = (response.status(), response.version());
    let mut body = response.into_body();
    let mut body_bytes = 0u64;
    loop {
        match body.read(buf) {
            Ok(0) => break,
            Ok(n) => body_bytes += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(paf_core::Error::from_io(e)),
        }
    }
    Ok(Exchange {
        status,
        version,
        body_bytes,
    })
}
