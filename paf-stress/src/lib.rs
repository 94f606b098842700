//! paf-stress: load an HTTP server with many paf clients, time every request
//! and report the latency distribution; exit non-zero when any request
//! failed, so that a load run is also a test.
//!
//! ```text
//! paf-stress -c 64 -n 100000 http://127.0.0.1:8080/
//! paf-stress -c 16 -z 10s --backend ureq --json out.json --plot latency.svg http://127.0.0.1:8080/
//! paf-stress --http2 --cacert ca.pem -m POST -H 'content-type: application/json' -D body.json https://localhost:8443/api
//! paf-stress --unix /run/app.sock http://app/health
//! ```
//!
//! # How it measures
//! `-c` clients each send one request at a time until `-n` requests have been
//! sent or `-z` has passed (requests in flight then are waited for, bounded by
//! `--timeout`). Each request is timed on its own, from the moment it is
//! handed to the paf client until the last byte of its response body has been
//! read; latencies go into an HDR histogram (3 significant digits, up to an
//! hour), never into a list of samples, so memory stays flat on long runs.
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
//! The text summary (requests/s, bytes/s, the histogram, p50/p90/p99/p99.9/
//! max, status codes, errors) goes to standard output; `--json FILE` writes
//! the same [`Report`] as JSON and `--plot FILE.svg` draws its histogram. A
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

pub use args::{Args, Backend, FailOn, Stop};
pub use report::Report;
pub use run::{run, Error};
