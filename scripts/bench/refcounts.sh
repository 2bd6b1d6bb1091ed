#!/usr/bin/env bash
# Swift runtime calls per ingested webhook, per thread: object allocations, retains and
# releases, counted exactly with uprobes on libswiftCore while wrk sends signed generic
# webhooks at a light load (8 connections, 4 s). Unlike throughput on this shared
# machine, the counts do not drift from run to run, so they show what a change to the
# request path saves before any timing can. Needs root (perf probes). Lines like:
#   MHD-worker      swift_allocObject   12.5 per request
# Usage: scripts/bench/refcounts.sh [BINARY]   (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-18482}
WORK=$(mktemp -d /tmp/liaison-refcounts.XXXXXX)
SECRET=bench-secret-0123456789abcdef
command -v perf >/dev/null && command -v wrk >/dev/null || apt-get install -y -q linux-perf wrk >&2
if [ -n "${1:-}" ]; then BIN=$1; else
  swift build -c release --product liaison >&2
  BIN=$(swift build -c release --show-bin-path)/liaison
fi
RUNTIME=$(ldd "$BIN" | awk '/libswiftCore.so/ {print $3}')
EVENTS=""
for symbol in swift_allocObject swift_retain swift_release; do
  perf probe -q -d "probe_libswiftCore:$symbol" 2>/dev/null || true
  perf probe -q -x "$RUNTIME" "$symbol" >&2
  EVENTS="$EVENTS${EVENTS:+,}probe_libswiftCore:$symbol"
done

. scripts/bench/bench-liaison.sh
LIAISON=
cleanup() {
  [ -n "$LIAISON" ] && kill "$LIAISON" 2>/dev/null && wait "$LIAISON" 2>/dev/null || true
  for symbol in swift_allocObject swift_retain swift_release; do
    perf probe -q -d "probe_libswiftCore:$symbol" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
start_bench_liaison "$BIN" "$WORK" "$PORT" "$SECRET"
wrk -t1 -c8 -d2s -s "$WORK/bench.lua" "http://127.0.0.1:$PORT" >/dev/null  # warm up
before=$(stored_events "$PORT")
perf stat --per-thread -x, -e "$EVENTS" -p "$LIAISON" -o "$WORK/counts.csv" -- \
  wrk -t1 -c8 -d4s -s "$WORK/bench.lua" "http://127.0.0.1:$PORT" >/dev/null
sleep 0.5  # the pipeline applies the last records
requests=$(( $(stored_events "$PORT") - before ))
echo "requests $requests"
# perf names each thread comm-tid; the runtime's own worker threads count nothing here.
awk -F, -v n="$requests" '$4 ~ /probe_lib/ && $2 + 0 > 0 {
    thread = $1; sub(/-[0-9]+$/, "", thread); sub(/.*:/, "", $4)
    total[thread " " $4] += $2
  } END { for (key in total) if (total[key] / n >= 0.05) { split(key, k, " "); printf "%-16s %-18s %6.1f per request\n", k[1], k[2], total[key] / n } }' \
  "$WORK/counts.csv" | sort
