//! Runnable examples of paf: see the `examples/` programs.
