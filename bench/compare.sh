#!/usr/bin/env bash
# paf side by side with the engines it wraps, and with OCaml's CoHTTP, on
# loopback. Writes bench/results.md and bench/results.json, and an example of
# the stress tool's output (bench/stress-example.{txt,json,svg}).
#
#   bench/compare.sh                      # about 7 minutes after the build
#   ROUNDS=5 bench/compare.sh             # about 10 minutes
#   DURATION=10s bench/compare.sh         # longer runs: about 12 minutes
#   KEEP=1 bench/compare.sh               # keeps the raw measurements
#
# What it measures:
#   1. servers, interleaved for ROUNDS rounds (medians reported, the order
#      of the servers rotated from round to round), every one answering a
#      13-byte body:
#      - HTTP/1.1 keep-alive, wrk -t1 -c64: raw hyper 1.x (http1 and auto
#        builders), the paf-hyper server and a cohttp-lwt-unix server;
#      - HTTP/2 with prior knowledge (h2c), h2load -c16 -m32: raw hyper's
#        http2::Builder, hyper-util's auto::Builder, the paf server (which
#        tells h2c from HTTP/1.1 by the first bytes on its plain port);
#      - over TLS (TLS 1.3, an ECDSA P-256 certificate made here, the same
#        rustls ServerConfig on the ring provider for both servers): raw
#        tokio-rustls + hyper (http1/http2 builder by ALPN) against the paf
#        server with .tls(config): h2 by ALPN (h2load), HTTP/1.1 keep-alive
#        (wrk), and new connections per second (wrk -c16 with
#        `Connection: close`: a TCP connection and a TLS handshake for every
#        request), once with rustls's default session resumption (which wrk
#        uses on every reconnection) and once with resumption off on both
#        servers (a full handshake every time);
#      - new plain TCP connections per second the same way (raw http1,
#        raw auto, paf);
#   2. user-space instructions per request and per connection of the same
#      servers, counted by callgrind (bench/instructions.sh);
#   3. the stress tool (each backend) against the raw hyper server, next to
#      wrk's figure for it;
#   4. clients: each paf client against its engine used raw (client-bench);
#   5. memory: peak RSS while 1 GiB goes up and 1 GiB down (stream-mem).
#
# The load generators run on the same machine as the servers and share its
# cores with them; the report says so.
#
# Needs: cargo, and apt-get (as root or through sudo) for what is missing:
# wrk, nghttp2-client (h2load), valgrind, openssl; ocaml-nox, ocaml-findlib,
# libcohttp-lwt-unix-ocaml-dev (CoHTTP row, skipped with a note if they
# cannot be installed).
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
# h2load: connections and concurrent streams on each.
H2_CLIENTS=${H2_CLIENTS:-16}
H2_STREAMS=${H2_STREAMS:-32}
# wrk connections for the new-connection rate (Connection: close).
CLOSE_CONNECTIONS=${CLOSE_CONNECTIONS:-16}
STREAM_BYTES=${STREAM_BYTES:-1073741824}
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PIDS=()
STARTED=$SECONDS

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "the measurements are kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
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
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v openssl >/dev/null || missing+=(openssl)
[ "${#missing[@]}" = 0 ] || apt_install "${missing[@]}"
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

# One certificate for both TLS servers: an ECDSA P-256 key, for localhost
# and 127.0.0.1, made fresh for each run.
CERT=$WORK/cert.pem KEY=$WORK/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$KEY" -out "$CERT" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -addext basicConstraints=critical,CA:FALSE 2>/dev/null
TLS=(--cert "$CERT" --key "$KEY")

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
MACHINE="$(nproc) cores ($CPU), $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r), $(rustc -V | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(h2load --version | cut -d' ' -f2), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CODE="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- paf-core backends 2>/dev/null || CODE="$CODE with uncommitted changes in paf-core/backends"

say "servers"
declare -A PORT=([raw-hyper-http1]=18181 [raw-hyper-auto]=18182 [paf]=18183 [cohttp]=18184
    [raw-hyper-http2]=18185 [raw-tls]=18186 [paf-tls]=18187 [raw-tls-full]=18188 [paf-tls-full]=18189)
declare -A SCHEME=([raw-tls]=https [paf-tls]=https [raw-tls-full]=https [paf-tls-full]=https)
start raw-hyper-http1 "${PORT[raw-hyper-http1]}" "$BIN/raw-hyper-server" --protocol http1 --addr "127.0.0.1:${PORT[raw-hyper-http1]}"
start raw-hyper-auto "${PORT[raw-hyper-auto]}" "$BIN/raw-hyper-server" --protocol auto --addr "127.0.0.1:${PORT[raw-hyper-auto]}"
start raw-hyper-http2 "${PORT[raw-hyper-http2]}" "$BIN/raw-hyper-server" --protocol http2 --addr "127.0.0.1:${PORT[raw-hyper-http2]}"
start paf "${PORT[paf]}" "$BIN/paf-server" --addr "127.0.0.1:${PORT[paf]}"
start raw-tls "${PORT[raw-tls]}" "$BIN/raw-hyper-server" --protocol alpn --addr "127.0.0.1:${PORT[raw-tls]}" "${TLS[@]}"
start paf-tls "${PORT[paf-tls]}" "$BIN/paf-server" --addr "127.0.0.1:${PORT[paf-tls]}" "${TLS[@]}"
# The same without session resumption: every new connection a full handshake.
start raw-tls-full "${PORT[raw-tls-full]}" "$BIN/raw-hyper-server" --protocol alpn --addr "127.0.0.1:${PORT[raw-tls-full]}" "${TLS[@]}" --no-tls-resumption
start paf-tls-full "${PORT[paf-tls-full]}" "$BIN/paf-server" --addr "127.0.0.1:${PORT[paf-tls-full]}" "${TLS[@]}" --no-tls-resumption
H1_SERVERS=(raw-hyper-http1 raw-hyper-auto paf)
if [ "$COHTTP" = 1 ]; then
    start cohttp "${PORT[cohttp]}" "$WORK/cohttp-server" "${PORT[cohttp]}"
    H1_SERVERS+=(cohttp)
fi

url_of() { echo "${SCHEME[$1]:-http}://127.0.0.1:${PORT[$1]}/"; }

# rotated ROUND NAME...: the names, starting at a different one each round,
# so that no server always runs first or right after the same one.
rotated() {
    local round=$1
    shift
    local names=("$@") n=$# i
    for ((i = 0; i < n; i++)); do
        echo "${names[$(((i + round) % n))]}"
    done
}

# wrk_run TEST SERVER ROUND [WRK OPTIONS...]: a 1-second warm-up, then one
# measured run, its figures appended to wrk.jsonl.
wrk_run() {
    local test=$1 server=$2 round=$3
    shift 3
    local url
    url=$(url_of "$server")
    wrk -t1 -d1s "$@" "$url" >/dev/null
    WRK_TEST=$test WRK_LABEL=$server WRK_ROUND=$round \
        wrk -t1 -d"$DURATION" -s bench/wrk-report.lua "$@" "$url" |
        sed -n 's/^WRK //p' | tee -a "$WORK/wrk.jsonl" >&2
}

# h2_run TEST SERVER ROUND: h2load for DURATION after a 1-second warm-up,
# its output appended to h2load.txt under a "#run" line.
h2_run() {
    local test=$1 server=$2 round=$3 out
    out=$(h2load -c "$H2_CLIENTS" -m "$H2_STREAMS" -D "$DURATION" --warm-up-time 1s "$(url_of "$server")")
    printf '#run %s %s %s\n%s\n' "$test" "$server" "$round" "$out" >>"$WORK/h2load.txt"
    printf '%s %s round %s: %s\n' "$test" "$server" "$round" \
        "$(grep -E '^finished in' <<<"$out" | cut -d, -f2 | sed 's/^ *//')" >&2
}

for round in $(seq "$ROUNDS"); do
    say "round $round of $ROUNDS"
    for server in $(rotated "$round" "${H1_SERVERS[@]}"); do
        wrk_run h1 "$server" "$round" -c"$CONNECTIONS"
    done
    for server in $(rotated "$round" raw-hyper-http2 raw-hyper-auto paf); do
        h2_run h2c "$server" "$round"
    done
    for server in $(rotated "$round" raw-tls paf-tls); do
        h2_run h2-tls "$server" "$round"
    done
    for server in $(rotated "$round" raw-tls paf-tls); do
        wrk_run https-h1 "$server" "$round" -c"$CONNECTIONS"
    done
    for server in $(rotated "$round" raw-tls paf-tls); do
        wrk_run https-close "$server" "$round" -c"$CLOSE_CONNECTIONS" -H 'Connection: close'
    done
    for server in $(rotated "$round" raw-tls-full paf-tls-full); do
        wrk_run https-close-full "$server" "$round" -c"$CLOSE_CONNECTIONS" -H 'Connection: close'
    done
    for server in $(rotated "$round" raw-hyper-http1 raw-hyper-auto paf); do
        wrk_run h1-close "$server" "$round" -c"$CLOSE_CONNECTIONS" -H 'Connection: close'
    done
done

say "the stress tool on the raw hyper server"
RAW_URL=$(url_of raw-hyper-http1)
for backend in hyper reqwest ureq; do
    "$BIN/paf-stress" --no-progress -c "$CONNECTIONS" -z "$DURATION" --backend "$backend" \
        --json "$WORK/stress-$backend.json" "$RAW_URL" | grep -E 'Requests/s|p99 ' >&2
done

say "the stress tool's own output, paf client on the paf server"
"$BIN/paf-stress" --no-progress -c "$CONNECTIONS" -n 100000 \
    --json bench/stress-example.json --plot bench/stress-example.svg \
    "$(url_of paf)" | tee bench/stress-example.txt >&2

say "clients: paf against raw, same process"
"$BIN/client-bench" --url "$RAW_URL" --rounds "$ROUNDS" --json "$WORK/clients.json" >&2

# The servers are done; what follows has the machine to itself.
for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
done
PIDS=()

say "instructions per request and per connection (callgrind)"
CERT=$CERT KEY=$KEY JSONL="$WORK/instructions.jsonl" bench/instructions.sh >&2

say "memory: 1 GiB up and 1 GiB down"
for backend in hyper reqwest ureq; do
    "$BIN/stream-mem" --backend "$backend" --size "$STREAM_BYTES" | tee -a "$WORK/memory.jsonl" >&2
done

TOOK=$((SECONDS - STARTED))
"$BIN/bench-report" "$WORK" --markdown bench/results.md --json bench/results.json \
    --date "$DATE" --machine "$MACHINE" --code "$CODE" --rounds "$ROUNDS" \
    --took-secs "$TOOK" --load-end "$(cut -d' ' -f1-3 /proc/loadavg)" --wrk "wrk -t1 -c$CONNECTIONS -d$DURATION" \
    --h2load "h2load -c$H2_CLIENTS -m$H2_STREAMS -D$DURATION --warm-up-time 1s" \
    --wrk-close "wrk -t1 -c$CLOSE_CONNECTIONS -d$DURATION -H 'Connection: close'"
[ "$COHTTP" = 1 ] || echo "Note: the CoHTTP row is missing: its packages could not be installed." >>bench/results.md
say "written: bench/results.md, bench/results.json ($((SECONDS - STARTED)) s)"
cat bench/results.md
