//! The load itself: `-c` clients, each sending one request at a time until
//! the run's count is used up or its time is over, each request timed on its
//! own until the last byte of its response body has been read.
//!
//! In a closed loop (the default) a client sends its next request as soon as
//! its last one is done, and a request is timed from the moment it is handed
//! to the paf client. At a constant rate (`--rate N`) request `k` is due at
//! `start + k / N` whichever client sends it: a free client waits for the
//! next due request and sends it on time; when every client was busy (a
//! stalled server), the next free client sends the overdue request at once
//! and it is timed from when it was due, so the wait counts, as wrk2 counts
//! it. (A request a client waited for is timed from its real send, a few
//! microseconds to a timer tick after it was due: that delay is the tool's
//! timer, not the server.)
//!
//! hyper and reqwest clients are tasks on a multi-threaded tokio runtime and
//! share one paf client (so one connection pool, as a program would); ureq
//! clients are plain threads sharing one blocking paf client.
//!
//! An [`Interrupt`] (Ctrl-C in the binary) ends a run early: nothing more is
//! sent, requests in flight are abandoned (the async ones dropped, the
//! blocking ones left to finish on their own, unheard), and the run returns
//! the report of what was done.

use std::{
    io::Read,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc, Arc,
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
use tokio::sync::watch;

use crate::{
    args::{Args, Backend, FailOn, Stop},
    progress::{Counters, Progress},
    report::{Report, RunInfo},
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

/// Stops a run early, from anywhere (the binary triggers it on Ctrl-C).
/// Once triggered no request is sent any more, requests in flight are
/// abandoned, and [`run_with_interrupt`] returns the report of the requests
/// finished by then. Clones trigger the same run.
#[derive(Debug, Clone)]
pub struct Interrupt {
    at: Arc<watch::Sender<Option<Instant>>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::new()
    }
}

impl Interrupt {
    /// One that nothing has triggered yet.
    pub fn new() -> Self {
        Interrupt {
            at: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Stops the run (the first call counts; later ones change nothing).
    pub fn trigger(&self) {
        let now = Instant::now();
        self.at.send_if_modified(|at| {
            let first = at.is_none();
            if first {
                *at = Some(now);
            }
            first
        });
    }

    /// When it was triggered, if it was.
    pub fn triggered_at(&self) -> Option<Instant> {
        *self.at.borrow()
    }

    /// True once triggered.
    pub fn is_triggered(&self) -> bool {
        self.triggered_at().is_some()
    }

    /// Resolves once triggered.
    async fn triggered(&self) {
        let mut at = self.at.subscribe();
        // The sender lives in `self`, so it cannot be dropped while waiting.
        let _ = at.wait_for(Option::is_some).await;
    }

    /// Sleeps until `deadline` in short steps; false when triggered meanwhile
    /// (for blocking clients, which cannot select on [`Interrupt::triggered`]).
    fn sleep_until(&self, deadline: Instant) -> bool {
        /// How long a blocking client may take to notice the interrupt.
        const STEP: Duration = Duration::from_millis(10);
        loop {
            if self.is_triggered() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(STEP));
        }
    }
}

/// When a run stops claiming requests.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// After this many.
    Count(u64),
    /// At this moment.
    Until(Instant),
}

/// A constant rate's schedule: request `k` is due at `start + k / per_sec`.
#[derive(Debug, Clone, Copy)]
struct Pace {
    start: Instant,
    per_sec: f64,
}

impl Pace {
    /// When request `k` is due; `None` past what an `Instant` can hold.
    fn due(&self, k: u64) -> Option<Instant> {
        let offset = Duration::try_from_secs_f64(k as f64 / self.per_sec).ok()?;
        self.start.checked_add(offset)
    }

    /// How many requests are due strictly before `horizon`.
    fn due_before(&self, horizon: Instant) -> u64 {
        let secs = horizon.saturating_duration_since(self.start).as_secs_f64();
        // The estimate from the float, then exact by `due` itself, so that
        // this agrees with the schedule the clients follow.
        let mut n = (secs * self.per_sec).ceil().min(u64::MAX as f64) as u64;
        while n > 0 && self.due(n - 1).is_none_or(|at| at >= horizon) {
            n -= 1;
        }
        while self.due(n).is_some_and(|at| at < horizon) {
            n += 1;
        }
        n
    }
}

/// What a client is to do next.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Send a request now, timed from now (closed loop).
    Now,
    /// Send a request due at this moment (constant rate).
    Due(Instant),
}

/// Hands out the run's requests to the clients.
#[derive(Debug)]
struct Plan {
    limit: Limit,
    pace: Option<Pace>,
    /// Requests handed out so far (the index of the next one).
    next: AtomicU64,
    /// Requests really sent (a client may be interrupted while it waits).
    sent: AtomicU64,
    /// Set when the run cannot go on (a client could not be started).
    halted: AtomicBool,
}

impl Plan {
    /// The next request for the calling client, or `None` when the run is
    /// over.
    fn claim(&self) -> Option<Slot> {
        if self.halted.load(Ordering::Relaxed) {
            return None;
        }
        if let Limit::Until(deadline) = self.limit {
            if Instant::now() >= deadline {
                return None;
            }
        }
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        if let Limit::Count(total) = self.limit {
            if k >= total {
                return None;
            }
        }
        let Some(pace) = self.pace else {
            return Some(Slot::Now);
        };
        let due = pace.due(k)?;
        match self.limit {
            Limit::Until(deadline) if due >= deadline => None,
            _ => Some(Slot::Due(due)),
        }
    }

    /// Constant rate: requests due before the run stopped (at `stopped`, or
    /// its deadline if earlier) that no client sent.
    fn unsent(&self, stopped: Instant) -> u64 {
        let Some(pace) = self.pace else {
            return 0;
        };
        let due = match self.limit {
            Limit::Count(total) => pace.due_before(stopped).min(total),
            Limit::Until(deadline) => pace.due_before(stopped.min(deadline)),
        };
        due.saturating_sub(self.sent.load(Ordering::Relaxed))
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
    interrupt: Interrupt,
}

impl Shared {
    /// The moment the request for `slot` is timed from, once it may be sent
    /// (after waiting for it to be due); `None` when interrupted meanwhile.
    async fn wait_for(&self, slot: Slot) -> Option<Instant> {
        let start = match slot {
            Slot::Now => Instant::now(),
            Slot::Due(due) if due > Instant::now() => {
                tokio::select! {
                    () = tokio::time::sleep_until(due.into()) => Instant::now(),
                    () = self.interrupt.triggered() => return None,
                }
            }
            // Overdue: every client was busy when it was due, and that wait
            // is part of its latency.
            Slot::Due(due) => due,
        };
        self.sending();
        Some(start)
    }

    /// [`Shared::wait_for`] for blocking clients.
    fn wait_for_blocking(&self, slot: Slot) -> Option<Instant> {
        let start = match slot {
            Slot::Now => Instant::now(),
            Slot::Due(due) if due > Instant::now() => {
                if !self.interrupt.sleep_until(due) {
                    return None;
                }
                Instant::now()
            }
            Slot::Due(due) => due,
        };
        self.sending();
        Some(start)
    }

    fn sending(&self) {
        self.plan.sent.fetch_add(1, Ordering::Relaxed);
        self.shards.sending();
    }

    /// The next request, unless the run is over or interrupted.
    fn claim(&self) -> Option<Slot> {
        if self.interrupt.is_triggered() {
            return None;
        }
        self.plan.claim()
    }

    fn record(&self, client: usize, outcome: &Outcome, start: Instant) {
        let latency = start.elapsed();
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
    run_with_interrupt(args, &Interrupt::new())
}

/// [`run`], which `interrupt` may stop early: the report then has
/// `interrupted` set and holds the requests finished by then.
pub fn run_with_interrupt(args: &Args, interrupt: &Interrupt) -> Result<Report, Error> {
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
    let limit = match stop {
        Stop::Count(total) => Limit::Count(total),
        // The options keep durations far below an `Instant`'s limit; at
        // worst the run has no deadline.
        Stop::Duration(d) => started
            .checked_add(d)
            .map_or(Limit::Count(u64::MAX), Limit::Until),
    };
    let shared = Arc::new(Shared {
        template,
        plan: Plan {
            limit,
            pace: args.rate.map(|per_sec| Pace {
                start: started,
                per_sec,
            }),
            next: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            halted: AtomicBool::new(false),
        },
        // A couple of shards per thread that records: few enough to merge
        // at once, enough that a lock is rarely contended.
        shards: Shards::new(clients.min(2 * threads.max(1)).max(1)),
        counters,
        fail_on: args.fail_on.clone(),
        interrupt: interrupt.clone(),
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
    let stopped = Instant::now();
    progress.finish();
    result?;

    // Blocking clients abandoned by an interrupt may still be sending: the
    // snapshot is what was done when the run stopped.
    let snapshot = shared.shards.snapshot();
    let interrupted = interrupt.triggered_at();
    let info = RunInfo {
        elapsed: stopped - started,
        interrupted: interrupted.is_some(),
        abandoned: if interrupted.is_some() {
            snapshot.in_flight
        } else {
            0
        },
        unsent: shared
            .plan
            .unsent(interrupted.map_or(stopped, |at| at.min(stopped))),
    };
    Ok(Report::new(args, &snapshot.stats, &info))
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
                    let work = async {
                        while let Some(slot) = shared.claim() {
                            let Some(start) = shared.wait_for(slot).await else {
                                break;
                            };
                            let outcome = exchange(&*client, shared.template.request()).await;
                            shared.record(id, &outcome, start);
                        }
                    };
                    // An interrupt drops the request in flight.
                    tokio::select! {
                        () = work => {}
                        () = shared.interrupt.triggered() => {}
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
    if shared.interrupt.is_triggered() {
        // Connections closing, a resolver thread: nothing to wait for.
        runtime.shutdown_background();
    }
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

/// Blocking clients are threads of their own, not scoped to the run: after
/// an interrupt the run returns without waiting for the requests they are
/// blocked in (each thread ends once its request does).
fn run_blocking(
    client: paf_ureq::Client,
    shared: &Arc<Shared>,
    clients: usize,
) -> Result<(), Error> {
    /// How often the run looks for an interrupt while clients work.
    const POLL: Duration = Duration::from_millis(10);
    let client = Arc::new(client);
    // Every thread holds a sender and drops it when it ends, normally or in
    // a panic: the channel disconnects when the last one is done.
    let (alive, all_done) = mpsc::channel::<()>();
    let mut threads = Vec::with_capacity(clients);
    for id in 0..clients {
        let (my_client, mine, my_alive) = (client.clone(), shared.clone(), alive.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("paf-stress-{id}"))
            .spawn(move || {
                let _alive = my_alive;
                let mut buf = vec![0u8; 16 * 1024];
                while let Some(slot) = mine.claim() {
                    let Some(start) = mine.wait_for_blocking(slot) else {
                        break;
                    };
                    let outcome = exchange_blocking(&my_client, mine.template.request(), &mut buf);
                    mine.record(id, &outcome, start);
                }
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(e) => {
                // Stop the clients already started; their figures are moot.
                shared.plan.halted.store(true, Ordering::Relaxed);
                drop(alive);
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(Error::Start(e));
            }
        }
    }
    drop(alive);
    loop {
        match all_done.recv_timeout(POLL) {
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            _ if shared.interrupt.is_triggered() => return Ok(()),
            _ => {}
        }
    }
    for thread in threads {
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(limit: Limit, per_sec: Option<f64>, start: Instant) -> Plan {
        Plan {
            limit,
            pace: per_sec.map(|per_sec| Pace { start, per_sec }),
            next: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            halted: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_constant_rate_schedules_requests_evenly_from_the_start() {
        let start = Instant::now();
        let plan = plan(Limit::Count(4), Some(100.0), start);
        let due: Vec<Duration> = std::iter::from_fn(|| plan.claim())
            .map(|slot| match slot {
                Slot::Due(at) => at - start,
                Slot::Now => Duration::MAX,
            })
            .collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(due.len(), 4);
        for (got, want) in due.iter().zip([ms(0), ms(10), ms(20), ms(30)]) {
            assert!(got.abs_diff(want) < Duration::from_micros(1), "{due:?}");
        }
    }

    #[test]
    fn a_timed_rate_run_counts_what_was_due_and_not_sent() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1);
        let plan = plan(Limit::Until(deadline), Some(10.0), start);
        let pace = plan.pace.unwrap();
        assert_eq!(pace.due_before(start), 0);
        assert_eq!(pace.due_before(start + Duration::from_millis(1)), 1);
        assert_eq!(pace.due_before(deadline), 10, "0.0 s to 0.9 s");
        // Three sent, the run stopped (or reached its deadline) at 2 s.
        plan.sent.store(3, Ordering::Relaxed);
        assert_eq!(plan.unsent(start + Duration::from_secs(2)), 7);
        assert_eq!(plan.unsent(start + Duration::from_millis(250)), 0);
        // No request due past the deadline is handed out.
        let plan = plan_until_past(deadline, start);
        assert!(plan.claim().is_none());
    }

    fn plan_until_past(deadline: Instant, start: Instant) -> Plan {
        let plan = plan(Limit::Until(deadline), Some(10.0), start);
        plan.next.store(10, Ordering::Relaxed);
        plan
    }

    #[test]
    fn a_closed_loop_has_nothing_unsent_and_an_interrupt_stops_claims() {
        let start = Instant::now();
        let plan = plan(Limit::Count(2), None, start);
        assert!(matches!(plan.claim(), Some(Slot::Now)));
        assert_eq!(plan.unsent(start + Duration::from_secs(9)), 0);

        let interrupt = Interrupt::new();
        assert!(!interrupt.is_triggered());
        assert!(interrupt.sleep_until(Instant::now() + Duration::from_millis(1)));
        interrupt.clone().trigger();
        let first = interrupt.triggered_at();
        interrupt.trigger();
        assert!(first.is_some() && interrupt.triggered_at() == first);
        assert!(!interrupt.sleep_until(Instant::now() + Duration::from_secs(60)));
    }
}
