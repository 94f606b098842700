#!/usr/bin/env bash
# User-space instructions per request of each server, counted by callgrind:
# the stable figure on a machine whose clocks are shared and noisy.
#
#   bench/instructions.sh            # REQUESTS=10000 WARMUP=2000
#
# Each server runs under `valgrind --tool=callgrind` on one runtime thread;
# paf-stress sends WARMUP keep-alive requests, callgrind's counters are
# dumped (start-up and connection set-up end up in that first dump), then
# REQUESTS more requests and a second dump: its total divided by REQUESTS
# is the cost of one request. The same load, the same 13-byte handler and
# the same runtime for every server; the script prints a Markdown table with
# each server's count and its ratio to raw hyper's `http1::Builder`.
#
# Needs: valgrind (Debian package), and the release builds of paf-bench and
# paf-stress (built here).
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-10000}
WARMUP=${WARMUP:-2000}
CLIENTS=${CLIENTS:-8}
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PID=""

cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build --release --quiet -p paf-bench -p paf-stress

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# count NAME PORT COMMAND...: prints the instructions per request.
count() {
    local name=$1 port=$2
    shift 2
    local out="$WORK/$name.callgrind"
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" --dump-instr=no \
        "$@" >"$WORK/$name.log" 2>&1 &
    PID=$!
    for _ in $(seq 600); do
        port_open "$port" && break
        sleep 0.1
    done
    port_open "$port" || { echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
    local url="http://127.0.0.1:$port/"
    "$BIN/paf-stress" --no-progress -c "$CLIENTS" -n "$WARMUP" "$url" >/dev/null
    callgrind_control --dump=warmup "$PID" >/dev/null
    "$BIN/paf-stress" --no-progress -c "$CLIENTS" -n "$REQUESTS" "$url" >/dev/null
    callgrind_control --dump=measured "$PID" >/dev/null
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
    local measured
    measured=$(grep -l "^desc: Trigger: dump measured" "$out".* | head -n 1)
    local total
    total=$(awk '/^summary:/ {print $2}' "$measured")
    echo $((total / REQUESTS))
}

raw_http1=$(count raw-http1 18301 "$BIN/raw-hyper-server" --addr 127.0.0.1:18301 --threads 1)
raw_auto=$(count raw-auto 18302 "$BIN/raw-hyper-server" --addr 127.0.0.1:18302 --threads 1 --protocol auto)
paf=$(count paf 18303 "$BIN/paf-server" --addr 127.0.0.1:18303 --threads 1)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| server | instructions per request | × raw hyper http1 |"
echo "|---|---:|---:|"
echo "| raw hyper \`http1::Builder\` | $raw_http1 | 1.00 |"
echo "| raw hyper-util \`auto::Builder\` | $raw_auto | $(ratio "$raw_auto" "$raw_http1") |"
echo "| paf-hyper server | $paf | $(ratio "$paf" "$raw_http1") |"
echo
echo "(callgrind, one runtime thread, $REQUESTS keep-alive requests from $CLIENTS clients after $WARMUP)"
