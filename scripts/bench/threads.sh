#!/usr/bin/env bash
# Where an ingested webhook's CPU goes, thread by thread: `liaison serve` (release) under
# the ingest benchmark's load (wrk -t2 -c64, the same signed bodies) for 12 s, measured
# over an 8 s window after 2 s of warm-up from /proc (user and system CPU, context
# switches) and divided by the events stored in that window; wrk's own threads and the
# machine's idle CPU alongside. With several binaries they take turns, ROUNDS times, so
# that the machine's drift falls on each alike (an A/B of two builds). Lines like:
#   liaison round=1 events_per_s=58676 idle=11%
#     MHD-worker        user  6.12 us  sys  5.55 us  switches 0.20  per event
# Usage: scripts/bench/threads.sh [BINARY ...]   (default: the release build; ROUNDS=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-18485}
ROUNDS=${ROUNDS:-1}
SECRET=bench-secret-0123456789abcdef
command -v wrk >/dev/null || apt-get install -y -q wrk >&2
if [ $# -eq 0 ]; then
  swift build -c release --product liaison >&2
  set -- "$(swift build -c release --show-bin-path)/liaison"
fi

. scripts/bench/bench-liaison.sh
LIAISON=
WORK=
cleanup() {
  [ -n "$LIAISON" ] && kill "$LIAISON" 2>/dev/null && wait "$LIAISON" 2>/dev/null || true
  [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT

# One line per thread of the server and of wrk: name, tid, user and system ticks, switches.
snapshot() {
  local pid task
  for pid in "$LIAISON" $(pgrep -x wrk); do
    for task in /proc/"$pid"/task/*; do
      printf '%s %s %s %s\n' "$(tr ' ' _ < "$task/comm")" "${task##*/}" \
        "$(awk '{print $14, $15}' "$task/stat")" \
        "$(awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n}' "$task/status")"
    done 2>/dev/null || true
  done
}
idle() { awk '/^cpu / {print $5 + $6}' /proc/stat; }

for round in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    WORK=$(mktemp -d /tmp/liaison-threads.XXXXXX)
    start_bench_liaison "$bin" "$WORK" "$PORT" "$SECRET"
    wrk -t2 -c64 -d12s -s "$WORK/bench.lua" "http://127.0.0.1:$PORT" > "$WORK/wrk.txt" &
    WRK=$!
    sleep 2
    events0=$(stored_events "$PORT"); idle0=$(idle); snapshot > "$WORK/before"
    sleep 8
    events1=$(stored_events "$PORT"); idle1=$(idle); snapshot > "$WORK/after"
    wait "$WRK"
    kill "$LIAISON"; wait "$LIAISON" 2>/dev/null || true
    LIAISON=
    python3 - "$WORK" "$bin" "$round" $((events1 - events0)) $((idle1 - idle0)) "$(getconf CLK_TCK)" "$(nproc)" <<'PY'
import collections, sys
work, binary, round_, events, idle, hz, cpus = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:])
def read(path):
    return {f[1]: (f[0], int(f[2]), int(f[3]), int(f[4])) for f in (line.split() for line in open(path)) if len(f) == 5}
before, after = read(f"{work}/before"), read(f"{work}/after")
per = collections.defaultdict(lambda: [0, 0, 0])
for tid, (name, user, system, switches) in after.items():
    if tid in before:
        _, user0, system0, switches0 = before[tid]
        if user + system > user0 + system0:
            total = per[name]
            total[0] += user - user0; total[1] += system - system0; total[2] += switches - switches0
us = 1e6 / hz / events
print(f"{binary.split('/')[-1]} round={round_} events_per_s={events / 8:.0f} idle={100 * idle / (8 * hz * cpus):.0f}%")
for name, (user, system, switches) in sorted(per.items(), key=lambda item: -(item[1][0] + item[1][1])):
    print(f"  {name:16s} user {user * us:5.2f} us  sys {system * us:5.2f} us  switches {switches / events:4.2f}  per event")
PY
    rm -rf "$WORK"; WORK=
  done
done
