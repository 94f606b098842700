#!/usr/bin/env bash
# Builds every fuzz target, without running any: what CI checks.
#
# With a nightly toolchain and cargo-fuzz installed, the targets are built
# as `cargo fuzz run` builds them (libFuzzer, AddressSanitizer, coverage
# instrumentation). Otherwise they are built with the stable toolchain and
# no instrumentation, which still proves that they compile and link.
set -euo pipefail
cd "$(dirname "$0")"

if cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/check.sh: cargo +nightly fuzz build"
    cargo +nightly fuzz build
else
    echo "fuzz/check.sh: no nightly toolchain or no cargo-fuzz; plain cargo build --release"
    cargo build --release --bins
fi
