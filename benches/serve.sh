#!/usr/bin/env bash
# `kanary serve` on this machine: POST /judge throughput, POST /canary -> complete latency
# against a local Prometheus, idle RSS, start-up time. Builds release, starts everything it
# needs on 127.0.0.1 (free ports), measures, and stops what it started (by PID) on exit.
# Results: benches/SERVE_RESULTS.md.
#
#   benches/serve.sh                     everything
#   benches/serve.sh judge|canary|rss|startup   one part
#
# Knobs (environment): CONNECTIONS ("1 4 16 64": the /judge sweep), DURATION (10 s per
# step), RUNS (50 canary runs), POLL_MS (5), STARTS (10 start-ups), WRK (1: also measure
# /judge with wrk when installed). Needs Debian's prometheus (promtool) for `canary`;
# installs it (and wrk) when missing and apt-get is there.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("${@:-judge canary rss startup}")
# shellcheck disable=SC2206
parts=(${parts[*]})
CONNECTIONS=${CONNECTIONS:-1 4 16 64}
DURATION=${DURATION:-10}
RUNS=${RUNS:-50}
POLL_MS=${POLL_MS:-5}
STARTS=${STARTS:-10}
WRK=${WRK:-1}
# No inherited KANARY_* setting (a token, a database) may change what is measured.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(KANARY_[A-Z_]*\)=.*/\1/p')

want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
install() {
  command -v apt-get >/dev/null || return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if want canary && ! command -v promtool >/dev/null; then install prometheus; fi
if want judge && [ "$WRK" = 1 ] && ! command -v wrk >/dev/null; then install wrk || true; fi

echo "# building (release)" >&2
cargo build --release --quiet -p kanary --bin kanary --example load_judge --example canary_latency
target=${CARGO_TARGET_DIR:-target}/release
kanary=$target/kanary

work=$(mktemp -d)
pids=()
# stop PID: SIGTERM, then SIGKILL if it has not exited within 30 s (a hung kanary serve
# does not see SIGTERM: its signal handling runs on the blocked runtime workers).
alive() { [ -r "/proc/$1/status" ] && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  local i
  for i in $(seq 300); do alive "$1" || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_kanary NAME ARGS...: starts `kanary serve --port 0 ARGS` (with the KENV
# assignments in its environment), waits for its "listening on" line; sets KPID and KURL.
KENV=()
start_kanary() {
  local name=$1; shift
  env "${KENV[@]}" "$kanary" serve --bind 127.0.0.1 --port 0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  KPID=$!
  pids+=("$KPID")
  local i
  for i in $(seq 400); do
    if grep -q '^listening on ' "$work/$name.out" 2>/dev/null; then
      KURL=$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)
      return 0
    fi
    kill -0 "$KPID" 2>/dev/null || { cat "$work/$name.err" >&2; echo "kanary serve exited" >&2; exit 1; }
    sleep 0.025
  done
  echo "kanary serve did not print its address" >&2; exit 1
}
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
hwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load average before: $(cut -d" " -f1-3 /proc/loadavg) (other processes share the cores)"
echo "kanary: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $("$kanary" --version 2>/dev/null || true)"

if want judge; then
  echo
  echo "## POST /judge: 20 metrics x 60 points a side, closed loop, ${DURATION}s per step (+2 s warm-up)"
  start_kanary judge --database-url memory:
  for c in $CONNECTIONS; do
    echo "load_judge $("$target/examples/load_judge" --url "$KURL" --connections "$c" --duration "$DURATION")"
  done
  if [ "$WRK" = 1 ] && command -v wrk >/dev/null; then
    "$target/examples/load_judge" --print-body >"$work/body.json"
    cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
EOF
    echo "wrk -t2 -c16 -d${DURATION}s (2 s warm-up run first, not shown):"
    BODY_FILE=$work/body.json wrk -t2 -c16 -d2s -s "$work/post.lua" "$KURL/judge" >/dev/null
    BODY_FILE=$work/body.json wrk -t2 -c16 -d"${DURATION}s" --latency -s "$work/post.lua" "$KURL/judge" \
      | grep -E 'Requests/sec|Non-2xx|Socket errors|^ +(50|99)%|requests in'
  fi
  echo "server RSS after the load: $(rss_kb "$KPID") kB (peak $(hwm_kb "$KPID") kB)"
  stop "$KPID"
fi

if want canary; then
  echo
  echo "## POST /canary/{id} -> complete: 20 metrics, 1 h at 60 s, local Prometheus, polled every ${POLL_MS} ms"
  mkdir -p "$work/prom"
  promtool tsdb create-blocks-from openmetrics testdata/e2e/metrics.om "$work/prom/data" >/dev/null
  printf 'global: {}\nscrape_configs: []\n' >"$work/prom/prometheus.yml"
  pport=$(free_port)
  prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/data" \
    --storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$pport" \
    >"$work/prom/log" 2>&1 &
  ppid=$!
  pids+=("$ppid")
  for i in $(seq 200); do
    curl -fsS "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1 && break
    kill -0 "$ppid" 2>/dev/null || { cat "$work/prom/log" >&2; exit 1; }
    sleep 0.05
  done
  echo "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') on 127.0.0.1:$pport"
  # KANARY_LOG=off: src/main.rs holds the stderr lock (`std::io::stderr().lock()`) for the
  # whole of `kanary serve`, so the first log event on a runtime worker thread (the
  # executor's "completed") blocks that thread for good; after as many runs as there are
  # workers (2 here) the server stops answering. With logging off no event is written.
  # Set SERVE_LOG=1 to run with the default logging (and see the hang).
  [ "${SERVE_LOG:-0}" = 1 ] || KENV=(KANARY_LOG=off)
  for db in memory: "sqlite://$work/canary.db"; do
    start_kanary canary --database-url "$db" --prometheus-url "http://127.0.0.1:$pport"
    echo "store $db"
    "$target/examples/canary_latency" --url "$KURL" --runs "$RUNS" --poll-ms "$POLL_MS" \
      >"$work/canary.txt"
    tail -1 "$work/canary.txt"
    stop "$KPID"
  done
  KENV=()
  stop "$ppid"
fi

if want rss; then
  echo
  echo "## idle RSS (VmRSS 1 s after the listening line)"
  for db in memory: "sqlite://$work/rss.db"; do
    start_kanary rss --database-url "$db"
    sleep 1
    echo "store ${db%%//*} VmRSS $(rss_kb "$KPID") kB (peak $(hwm_kb "$KPID") kB), threads $(ls "/proc/$KPID/task" | wc -l)"
    stop "$KPID"
  done
fi

if want startup; then
  echo
  echo "## start-up: exec -> 'listening on' line, median of $STARTS"
  python3 - "$kanary" "$work" "$STARTS" <<'EOF'
import os, signal, statistics, subprocess, sys, time
kanary, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once(db):
    t0 = time.perf_counter()
    p = subprocess.Popen([kanary, "serve", "--bind", "127.0.0.1", "--port", "0",
                          "--database-url", db],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    t = (time.perf_counter() - t0) * 1000
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)
    assert line.startswith(b"listening on "), line
    return t
for label, db in [("memory", lambda i: "memory:"),
                  ("sqlite (new file)", lambda i: f"sqlite://{work}/start-{i}.db"),
                  ("sqlite (existing file)", lambda i: f"sqlite://{work}/start-0.db")]:
    ts = sorted(once(db(i)) for i in range(n))
    print(f"store {label}: median {statistics.median(ts):.1f} ms, min {ts[0]:.1f}, max {ts[-1]:.1f} (n={n})")
EOF
fi
