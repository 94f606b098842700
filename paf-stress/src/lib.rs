//! paf-stress: load an HTTP server with many paf clients, time every request
//! and report the latency distribution; exit non-zero when any request
//! failed, so that a load run is also a test.
//!
//! ```text
//! paf-stress -c 64 -n 100000 http://127.0.0.1:8080/
//! paf-stress -c 16 -z 10s --backend ureq --json out.json --plot latency.svg http://127.0.0.1:8080/
//! paf-stress -c 64 -q 500 -z 1m30s http://127.0.0.1:8080/
//! paf-stress --http2 --cacert ca.pem -m POST -H 'content-type: application/json' -D body.json https://localhost:8443/api
//! paf-stress --unix /run/app.sock http://app/health
//! ```
//!
//! # How it measures
//! `-c` clients each send one request at a time until `-n` requests have been
//! sent or `-z` has passed (requests in flight then are waited for, bounded by
//! `--timeout`). Each request is timed on its own until the last byte of its
//! response body has been read; latencies go into an HDR histogram (3
//! significant digits, up to an hour), never into a list of samples, so
//! memory stays flat on long runs.
//!
//! By default the run is a *closed loop*: a client sends its next request as
//! soon as its last one is done, and each request is timed from the moment
//! it is handed to the paf client. When the server stalls, the clients stall
//! with it and send nothing meanwhile, so only the few requests in flight see
//! the stall: the percentiles hide it. With `-q/--rate N` the run is a
//! *constant rate*: requests are due on a fixed schedule, `N` per second in
//! all, whatever the server does, and each is timed from when it was due. A
//! request that waited because every client was busy counts that wait, as it
//! would for the users a real server would have kept waiting (the correction
//! for coordinated omission wrk2 makes). `-c` must be large enough for the
//! rate; requests that were due before a `-z` run ended but that no client
//! was free to send are reported as `unsent`.
//!
//! Ctrl-C stops a run early: nothing more is sent, requests in flight are
//! abandoned (counted as `abandoned`, not as requests), and the summary, the
//! JSON and the plot of what was done are written as usual (a second Ctrl-C
//! quits at once). [`run_with_interrupt`] does the same for a program.
//!
//! The clients use paf's public API only, so the figures are what a program
//! on paf gets: with `--backend hyper` or `reqwest` they are tasks on a
//! multi-threaded tokio runtime sharing one client and its connection pool;
//! with `--backend ureq` they are threads sharing one blocking client.
//!
//! # What counts as a failure
//! A request fails when it gets no response (its error is counted under
//! paf's error kind: `connect`, `tls`, `timeout`, `protocol`, …) or when its
//! status is one `--fail-on` names (`5xx` unless told otherwise). The counts
//! always add up: `successes + failures == requests`, and the status codes
//! sum to the responses.
//!
//! # Output
//! The text summary (the mode, requests/s, bytes/s, the histogram,
//! p50/p90/p99/p99.9/max, status codes, errors) goes to standard output;
//! `--json FILE` writes the same [`Report`] as JSON and `--plot FILE.svg`
//! draws its histogram, with labelled axes. When no request got a response
//! there is no latency: `n/a` in the text, `null` in the JSON. A
//! progress bar is drawn on standard error while the run lasts, when that is
//! a terminal.
//!
//! The library runs the same thing as the binary:
//!
//! ```no_run
//! use clap::Parser;
//! let args = paf_stress::Args::parse_from(["paf-stress", "-n", "1000", "http://127.0.0.1:8080/"]);
//! let report = paf_stress::run(&args)?;
//! println!("{report}");
//! assert!(!report.failed());
//! if let Some(latency) = report.latency_ms {
//!     println!("p99: {:.3} ms", latency.p99);
//! }
//! # Ok::<(), paf_stress::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod args;
pub mod plot;
pub mod progress;
pub mod report;
pub mod run;
pub mod stats;

pub use args::{Args, Backend, FailOn, Mode, Stop};
pub use report::Report;
pub use run::{run, run_with_interrupt, Error, Interrupt};
