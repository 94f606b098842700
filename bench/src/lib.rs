//! paf-bench: the pieces `bench/compare.sh` runs to put paf side by side
//! with the engines it wraps.
//!
//! - `raw-hyper-server` and `paf-server` answer every request with the same
//!   13-byte body, one on hyper 1.x used directly ([`raw_server`]), one on
//!   paf-hyper's public API ([`paf_server`]), over plain TCP or over TLS
//!   with the same rustls configuration ([`tls`]);
//! - `client-bench` times each paf client against its engine used raw
//!   (hyper-util's pooled client, reqwest, ureq) in one process;
//! - `stream-mem` streams 1 GiB up and 1 GiB down through a paf client and a
//!   paf server and reports the process's peak resident memory ([`memory`]);
//! - `bench-report` turns the measurements into `results.md` and
//!   `results.json`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod memory;
pub mod paf_server;
pub mod raw_server;
pub mod tls;

/// The body every benchmark server answers with: 13 bytes.
pub const HELLO: &[u8] = b"Hello, World!";

/// A multi-threaded tokio runtime with `threads` workers (0: one per core).
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}

/// An error and its causes, on one line: `a: b: c`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The median of some measurements (the mean of the middle two for an even
/// count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chain_lists_the_causes() {
        let outer = Wrapped(std::io::Error::other("inner"));
        assert_eq!(error_chain(&outer), "wrapped: inner");
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
