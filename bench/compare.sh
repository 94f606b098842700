#!/usr/bin/env bash
# paf side by side with the engines it wraps, and with OCaml's CoHTTP, on
# loopback. Writes bench/results.md and bench/results.json, and an example of
# the stress tool's output (bench/stress-example.{txt,json,svg}).
#
#   bench/compare.sh                      # about 5 minutes after the build
#   ROUNDS=5 DURATION=10s bench/compare.sh
#
# What it measures:
#   1. servers: wrk -t1 -c64 against raw hyper 1.x (http1 and auto builders),
#      the paf-hyper server and a cohttp-lwt-unix server, all answering a
#      13-byte body, interleaved for ROUNDS rounds (medians reported);
#   2. the stress tool (each backend) against the raw hyper server, next to
#      wrk's figure for it;
#   3. clients: each paf client against its engine used raw (client-bench);
#   4. memory: peak RSS while 1 GiB goes up and 1 GiB down (stream-mem).
#
# Needs: cargo, and apt-get (as root or through sudo) for what is missing:
# wrk; ocaml-nox, ocaml-findlib, libcohttp-lwt-unix-ocaml-dev (CoHTTP row,
# skipped with a note if they cannot be installed).
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
STREAM_BYTES=${STREAM_BYTES:-1073741824}
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*" >&2; }

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME PORT COMMAND...: starts a server and waits until it accepts.
start() {
    local name=$1 port=$2
    shift 2
    if port_open "$port"; then
        echo "port $port is taken: set another for $name in bench/compare.sh" >&2
        exit 1
    fi
    "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 200); do
        port_open "$port" && return 0
        sleep 0.05
    done
    echo "$name did not start; its log:" >&2
    cat "$WORK/$name.log" >&2
    exit 1
}

say "tools"
command -v wrk >/dev/null || apt_install wrk
COHTTP=1
if ! ocamlfind query cohttp-lwt-unix >/dev/null 2>&1; then
    apt_install ocaml-nox ocaml-findlib libcohttp-lwt-unix-ocaml-dev || COHTTP=0
fi

say "build (release)"
cargo build --release -p paf-bench -p paf-stress
if [ "$COHTTP" = 1 ]; then
    cp bench/cohttp_server.ml "$WORK/"
    (cd "$WORK" && ocamlfind ocamlopt -thread -package cohttp-lwt-unix -linkpkg \
        cohttp_server.ml -o cohttp-server) || COHTTP=0
fi

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
MACHINE="$(nproc) cores ($CPU), $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r), $(rustc -V | cut -d' ' -f1-2), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CODE="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- paf-core backends 2>/dev/null || CODE="$CODE with uncommitted changes in paf-core/backends"

say "servers"
declare -A PORT=([raw-hyper-http1]=18181 [raw-hyper-auto]=18182 [paf]=18183 [cohttp]=18184)
SERVERS=(raw-hyper-http1 raw-hyper-auto paf)
start raw-hyper-http1 "${PORT[raw-hyper-http1]}" "$BIN/raw-hyper-server" --protocol http1 --addr "127.0.0.1:${PORT[raw-hyper-http1]}"
start raw-hyper-auto "${PORT[raw-hyper-auto]}" "$BIN/raw-hyper-server" --protocol auto --addr "127.0.0.1:${PORT[raw-hyper-auto]}"
start paf "${PORT[paf]}" "$BIN/paf-server" --addr "127.0.0.1:${PORT[paf]}"
if [ "$COHTTP" = 1 ]; then
    start cohttp "${PORT[cohttp]}" "$WORK/cohttp-server" "${PORT[cohttp]}"
    SERVERS+=(cohttp)
fi

for round in $(seq "$ROUNDS"); do
    for server in "${SERVERS[@]}"; do
        url="http://127.0.0.1:${PORT[$server]}/"
        # A short warm-up opens the connections and fills the allocator.
        wrk -t1 -c"$CONNECTIONS" -d1s "$url" >/dev/null
        WRK_LABEL=$server wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s bench/wrk-report.lua "$url" |
            sed -n 's/^WRK //p' | tee -a "$WORK/wrk.jsonl" >&2
    done
done

say "the stress tool on the raw hyper server"
RAW_URL="http://127.0.0.1:${PORT[raw-hyper-http1]}/"
for backend in hyper reqwest ureq; do
    "$BIN/paf-stress" --no-progress -c "$CONNECTIONS" -z "$DURATION" --backend "$backend" \
        --json "$WORK/stress-$backend.json" "$RAW_URL" | grep -E 'Requests/s|p99 ' >&2
done

say "the stress tool's own output, paf client on the paf server"
"$BIN/paf-stress" --no-progress -c "$CONNECTIONS" -n 100000 \
    --json bench/stress-example.json --plot bench/stress-example.svg \
    "http://127.0.0.1:${PORT[paf]}/" | tee bench/stress-example.txt >&2

say "clients: paf against raw, same process"
"$BIN/client-bench" --url "$RAW_URL" --rounds "$ROUNDS" --json "$WORK/clients.json" >&2

# The servers are done; the memory runs have the machine to themselves.
for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
done
PIDS=()

say "memory: 1 GiB up and 1 GiB down"
for backend in hyper reqwest ureq; do
    "$BIN/stream-mem" --backend "$backend" --size "$STREAM_BYTES" | tee -a "$WORK/memory.jsonl" >&2
done

"$BIN/bench-report" "$WORK" --markdown bench/results.md --json bench/results.json \
    --date "$DATE" --machine "$MACHINE" --code "$CODE" --wrk "wrk -t1 -c$CONNECTIONS -d$DURATION"
[ "$COHTTP" = 1 ] || echo "Note: the CoHTTP row is missing: its packages could not be installed." >>bench/results.md
say "written: bench/results.md, bench/results.json"
cat bench/results.md
