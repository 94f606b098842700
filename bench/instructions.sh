#!/usr/bin/env bash
# User-space instructions per request (and per new connection) of each
# server, counted by callgrind: the stable figure on a machine whose clocks
# are shared and noisy.
#
#   bench/instructions.sh            # REQUESTS=10000 WARMUP=2000 CONNS=200
#   JSONL=out.jsonl bench/instructions.sh   # also one JSON object a line
#
# Each server runs under `valgrind --tool=callgrind` on one runtime thread
# and goes through one or more phases. A phase sends WARMUP requests, dumps
# callgrind's counters (start-up, connection set-up and the phases before
# end up in that dump), then sends REQUESTS more and dumps again: that
# second dump's total divided by REQUESTS is the cost of one request. The
# same load, the same 13-byte handler and the same runtime for every server.
#
# Phases (the load generator in brackets):
#   h1          HTTP/1.1 keep-alive, CLIENTS connections      [paf-stress]
#   h2c         HTTP/2 prior knowledge, CLIENTS connections × 16 streams [h2load]
#   https-h1    HTTP/1.1 keep-alive over TLS                  [paf-stress --http1]
#   h2-tls      HTTP/2 over TLS (ALPN h2)                     [h2load]
#   h1-conn     a new connection per request: CONNS connections of one
#               request each, 10 at a time; the figure is per connection
#               (TCP accept, one request, close)             [h2load --h1]
#   https-conn  the same over TLS: per connection, including a full TLS 1.3
#               handshake (ECDSA P-256 certificate)           [h2load --h1]
#   https-resumed-conn  the same with the TLS session resumed (wrk resumes it
#               on every reconnection): one connection at a time for
#               RESUMED_SECONDS; per connection               [wrk -c1]
#
# The TLS phases use CERT and KEY (PEM) when set, else a certificate made
# here with openssl; both TLS servers get the same files.
#
# Prints a Markdown table; with JSONL=FILE also appends one line a figure:
#   {"test":"h1","server":"paf","instructions":14100,"per":"request"}
#
# Needs: valgrind, h2load, wrk (Debian packages valgrind, nghttp2-client, wrk),
# openssl, and the release builds of paf-bench and paf-stress (built here).
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-10000}
WARMUP=${WARMUP:-2000}
CLIENTS=${CLIENTS:-8}
CONNS=${CONNS:-200}
RESUMED_SECONDS=${RESUMED_SECONDS:-3}
JSONL=${JSONL:-}
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PID=""

cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in valgrind callgrind_control h2load wrk openssl; do
    command -v "$tool" >/dev/null || {
        echo "$tool is needed (apt-get install valgrind nghttp2-client wrk openssl)" >&2
        exit 1
    }
done
cargo build --release --quiet -p paf-bench -p paf-stress

if [ -z "${CERT:-}" ] || [ -z "${KEY:-}" ]; then
    CERT=$WORK/cert.pem KEY=$WORK/key.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$KEY" -out "$CERT" -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -addext basicConstraints=critical,CA:FALSE 2>/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# load PHASE URL N: sends N requests of PHASE to URL (N connections for the
# -conn phases, N seconds for https-resumed-conn), failing on any error, and
# prints how many requests (connections) it made.
load() {
    local phase=$1 url=$2 n=$3
    case $phase in
        h1) "$BIN/paf-stress" --no-progress -c "$CLIENTS" -n "$n" "$url" >/dev/null ;;
        https-h1)
            "$BIN/paf-stress" --no-progress --http1 --cacert "$CERT" -c "$CLIENTS" -n "$n" "$url" >/dev/null ;;
        h2c | h2-tls) h2_check "$n" h2load -c "$CLIENTS" -m 16 -n "$n" "$url" ;;
        h1-conn | https-conn)
            local batch=10 left=$n
            while [ "$left" -gt 0 ]; do
                local k=$((left < batch ? left : batch))
                h2_check "$k" h2load --h1 -c "$k" -n "$k" "$url"
                left=$((left - k))
            done ;;
        https-resumed-conn)
            # h2load never resumes a TLS session; wrk does on every
            # reconnection. One connection at a time, so that at most one
            # is cut short when wrk stops.
            local out
            out=$(wrk -t1 -c1 -d"${n}s" -H 'Connection: close' "$url")
            grep -q 'Socket errors\|Non-2xx' <<<"$out" && { echo "$out" >&2; return 1; }
            awk '/requests in/ {print $1}' <<<"$out"
            return ;;
    esac
    echo "$n"
}

# h2_check N COMMAND...: runs h2load and fails unless all N requests succeeded.
h2_check() {
    local n=$1
    shift
    local out
    out=$("$@" 2>&1) || { echo "$out" >&2; return 1; }
    grep -q "requests: $n total, $n started, $n done, $n succeeded" <<<"$out" ||
        { echo "$*: not every request succeeded:" >&2; echo "$out" >&2; return 1; }
}

# count NAME SCHEME PORT "PHASES" COMMAND...: runs the server under
# callgrind, each phase in turn, and prints "PHASE COUNT" lines.
count() {
    local name=$1 scheme=$2 port=$3 phases=$4
    shift 4
    local out="$WORK/$name.callgrind"
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" --dump-instr=no \
        "$@" >"$WORK/$name.log" 2>&1 &
    PID=$!
    for _ in $(seq 600); do
        port_open "$port" && break
        sleep 0.1
    done
    port_open "$port" || { echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
    local url="$scheme://127.0.0.1:$port/"
    local phase n warmup
    local -A done_units
    for phase in $phases; do
        n=$REQUESTS warmup=$WARMUP
        case $phase in
            https-resumed-conn) n=$RESUMED_SECONDS warmup=1 ;;
            *-conn) n=$CONNS warmup=$((CONNS / 10)) ;;
        esac
        load "$phase" "$url" "$warmup" >/dev/null
        callgrind_control --dump="warmup-$phase" "$PID" >/dev/null 2>&1
        done_units[$phase]=$(load "$phase" "$url" "$n")
        callgrind_control --dump="measured-$phase" "$PID" >/dev/null 2>&1
    done
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
    for phase in $phases; do
        n=${done_units[$phase]}
        local measured total
        measured=$(grep -l "^desc: Trigger: dump measured-$phase\$" "$out".* | head -n 1)
        total=$(awk '/^summary:/ {print $2}' "$measured")
        echo "$phase $((total / n))"
    done
}

declare -A FIG
# record NAME < "PHASE COUNT" lines
record() {
    local phase figure
    while read -r phase figure; do
        FIG[$phase/$1]=$figure
        if [ -n "$JSONL" ]; then
            local per=request
            case $phase in *-conn) per=connection ;; esac
            printf '{"test":"%s","server":"%s","instructions":%s,"per":"%s"}\n' \
                "$phase" "$1" "$figure" "$per" >>"$JSONL"
        fi
    done
}

TLS=(--cert "$CERT" --key "$KEY")
# measure NAME SCHEME PORT "PHASES" COMMAND...
measure() {
    count "$@" >"$WORK/$1.figures"
    record "$1" <"$WORK/$1.figures"
}
measure raw-hyper-http1 http 18301 "h1 h1-conn" \
    "$BIN/raw-hyper-server" --addr 127.0.0.1:18301 --threads 1 --protocol http1
measure raw-hyper-auto http 18302 "h1 h2c h1-conn" \
    "$BIN/raw-hyper-server" --addr 127.0.0.1:18302 --threads 1 --protocol auto
measure raw-hyper-http2 http 18303 "h2c" \
    "$BIN/raw-hyper-server" --addr 127.0.0.1:18303 --threads 1 --protocol http2
measure paf http 18304 "h1 h2c h1-conn" \
    "$BIN/paf-server" --addr 127.0.0.1:18304 --threads 1
# The same paf server without ConnInfo in the requests' extensions: the
# price of that one feature.
measure paf-no-conn-info http 18307 "h1 h2c" \
    "$BIN/paf-server" --addr 127.0.0.1:18307 --threads 1 --no-conn-info
measure raw-tls https 18305 "https-h1 h2-tls https-conn https-resumed-conn" \
    "$BIN/raw-hyper-server" --addr 127.0.0.1:18305 --threads 1 --protocol alpn "${TLS[@]}"
measure paf-tls https 18306 "https-h1 h2-tls https-conn https-resumed-conn" \
    "$BIN/paf-server" --addr 127.0.0.1:18306 --threads 1 "${TLS[@]}"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# row TEST LABEL BASELINE SERVER...
row() {
    local test=$1 label=$2 base=$3
    shift 3
    local server
    for server in "$@"; do
        local figure=${FIG[$test/$server]:-}
        [ -n "$figure" ] || continue
        echo "| $label | $server | $figure | $(ratio "$figure" "${FIG[$test/$base]}") |"
    done
}
echo "| load | server | instructions | × raw (first row of the load) |"
echo "|---|---|---:|---:|"
row h1 "HTTP/1.1 keep-alive, per request" raw-hyper-http1 raw-hyper-http1 raw-hyper-auto paf paf-no-conn-info
row h2c "h2c, per request" raw-hyper-http2 raw-hyper-http2 raw-hyper-auto paf paf-no-conn-info
row https-h1 "HTTPS HTTP/1.1 keep-alive, per request" raw-tls raw-tls paf-tls
row h2-tls "h2 over TLS, per request" raw-tls raw-tls paf-tls
row h1-conn "new connection, one request, per connection" raw-hyper-http1 raw-hyper-http1 raw-hyper-auto paf
row https-conn "new TLS connection, full handshake, one request, per connection" raw-tls raw-tls paf-tls
row https-resumed-conn "new TLS connection, resumed session, one request, per connection" raw-tls raw-tls paf-tls
echo
echo "(callgrind, one runtime thread; $REQUESTS requests from $CLIENTS clients after $WARMUP, $CONNS connections for the per-connection rows, $RESUMED_SECONDS s of one connection at a time for the resumed ones)"
