//! paf-bench: the pieces `bench/compare.sh` runs to put paf side by side
//! with the engines it wraps.
//!
//! - `raw-hyper-server` and `paf-server` answer every request with the same
//!   13-byte body, one on hyper 1.x used directly ([`raw_server`]), one on
//!   paf-hyper's public API ([`paf_server`]);
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
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
