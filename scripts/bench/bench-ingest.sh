#!/usr/bin/env bash
# Ingest benchmark: signed generic webhooks at 64 connections against `liaison serve`
# (release build, durable SQLite log), and the same load against nginx answering a
# static 200 on loopback, in the same run: the two take turns, ROUNDS (5) rounds of
# DURATION/ROUNDS seconds each (15 s in all per server), so that the machine's drift
# falls on both alike. A liaison round lasts until the pipeline has caught up with what
# the round acknowledged: its rate is its requests over the load's duration plus that
# catch-up. Last line:
#   ingest events_per_s=N p99_ms=X nginx_req_per_s=M ratio=N/M
# Before it, on stderr: each round's pair of rates, and how far the pipeline (which yields
# the CPU to ingest) was behind at the end of each liaison round and how long it took to
# catch up. WARMUP (3) seconds of load on each server come first, not measured.
# FLOOR=1 also runs scripts/bench/http_floor.c, libmicrohttpd set up as liaison sets it up
# but doing no work of its own: through a group committer appending each body to a WAL
# SQLite file with an fsync per commit (the durable floor, a third turn in every round),
# then, after the rounds, answering at once and through a hand-off thread. It prints
# before the last line:
#   floor mhd_at_once_req_per_s=A mhd_handoff_req_per_s=H durable_req_per_s=D (and their ratios)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-3}
SLICE=$(( DURATION / ROUNDS ))
[ "$SLICE" -ge 1 ] || { echo "DURATION must be at least ROUNDS seconds" >&2; exit 2; }
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18480}
NGINX_PORT=${NGINX_PORT:-18481}
FLOOR_PORT=${FLOOR_PORT:-18482}
WORK=$(mktemp -d /tmp/liaison-bench.XXXXXX)
SECRET=bench-secret-0123456789abcdef

command -v wrk >/dev/null && command -v nginx >/dev/null || apt-get install -y -q wrk nginx-light >&2
swift build -c release --product liaison >&2
BIN=$(swift build -c release --show-bin-path)/liaison

. scripts/bench/bench-liaison.sh
LIAISON=
FLOOR_PID=
cleanup() {
  kill "$LIAISON" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  [ -n "$FLOOR_PID" ] && kill "$FLOOR_PID" 2>/dev/null || true
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT
start_bench_liaison "$BIN" "$WORK" "$PORT" "$SECRET"

cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-body;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200 '{"status":"stored"}'; }
  }
}
NGINX
nginx -c "$WORK/nginx.conf"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/" >/dev/null && break; sleep 0.1; done

# start_floor MODE: scripts/bench/http_floor.c in MODE on FLOOR_PORT (durable: into
# $WORK/floor.db), its pid in FLOOR_PID, once it answers.
start_floor() {
  # shellcheck disable=SC2046
  "$WORK/http_floor" "$1" "$FLOOR_PORT" 2 $([ "$1" = durable ] && echo "$WORK/floor.db") &
  FLOOR_PID=$!
  for _ in $(seq 50); do curl -sf -d '{}' "http://127.0.0.1:$FLOOR_PORT/" >/dev/null && break; sleep 0.1; done
  curl -sf -d '{}' "http://127.0.0.1:$FLOOR_PORT/" >/dev/null || { echo "http_floor $1 did not start" >&2; exit 1; }
}
stop_floor() {
  kill "$FLOOR_PID"; wait "$FLOOR_PID" 2>/dev/null || true
  FLOOR_PID=
}
if [ "${FLOOR:-0}" = 1 ]; then
  cc -O2 -o "$WORK/http_floor" scripts/bench/http_floor.c -lmicrohttpd -lpthread -lsqlite3
  start_floor durable
fi

# The pipeline runs below normal priority and may be behind when a round's load stops (at
# most about LogBacklog's limit): how far, and how long it takes to catch up. Behind:
# stored minus applied (or found unusable), from one scrape. nginx's round starts only once
# it has caught up, so that nginx never shares the CPU with liaison's leftovers.
behind() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "liaison_events_stored_total" {n += $2}
    $1 == "liaison_pipeline_events_total" || $1 == "liaison_pipeline_unusable_total" {n -= $2} END {printf "%d\n", n}'
}
# Returns once the pipeline has applied everything stored (or after a minute).
wait_for_pipeline() {
  for _ in $(seq 3000); do [ "$(behind)" -gt 0 ] || return 0; sleep 0.02; done
}
# Warm-up, not measured: WARMUP seconds (3) of the same load on each server. A fresh store's
# first seconds grow its files (the WAL until the first checkpoint, the log with each one),
# which a hub that has run for a while no longer does. Its answers count in the check below.
if [ "$WARMUP" -gt 0 ]; then
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" --latency -s "$WORK/bench.lua" "http://127.0.0.1:$PORT" \
    > "$WORK/warmup-liaison.txt"
  wait_for_pipeline
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/bench.lua" "http://127.0.0.1:$NGINX_PORT" > /dev/null
fi
# The machine's speed drifts by ±10 % within a minute, and by more within seconds on some
# hosts: liaison and nginx take turns, ROUNDS times DURATION/ROUNDS seconds each, so that
# both see the same drift. Rounds of 3 s spread less than rounds of 5 s or of 1 s (each of
# which reconnects and counts its catch-up): docs/BENCHMARKS.md, session 17.
for round in $(seq "$ROUNDS"); do
  wrk -t2 -c"$CONNECTIONS" -d"${SLICE}s" --latency -s "$WORK/bench.lua" "http://127.0.0.1:$PORT" \
    > "$WORK/wrk-liaison-$round.txt"
  BEHIND=$(behind); CATCHUP_START=$(date +%s.%N)
  CAUGHT_UP=0
  if [ "$BEHIND" -gt 0 ]; then
    wait_for_pipeline
    CAUGHT_UP=$(python3 -c "print(round($(date +%s.%N) - $CATCHUP_START, 3))")
  fi
  echo "$CAUGHT_UP" > "$WORK/catchup-liaison-$round.txt"
  echo "round $round pipeline behind_at_end=$BEHIND caught_up_s=$CAUGHT_UP" >&2
  wrk -t2 -c"$CONNECTIONS" -d"${SLICE}s" --latency -s "$WORK/bench.lua" "http://127.0.0.1:$NGINX_PORT" \
    > "$WORK/wrk-nginx-$round.txt"
  if [ -n "$FLOOR_PID" ]; then
    wrk -t2 -c"$CONNECTIONS" -d"${SLICE}s" --latency -s "$WORK/bench.lua" "http://127.0.0.1:$FLOOR_PORT" \
      > "$WORK/wrk-floor-durable-$round.txt"
  fi
done
[ -n "$FLOOR_PID" ] && stop_floor
cat "$WORK"/wrk-liaison-*.txt "$WORK"/wrk-nginx-*.txt >&2
echo "ingest_holds=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "liaison_ingest_holds_total" {print $2}')" >&2
kill -TERM $LIAISON; wait $LIAISON || true
NGINX_PID=$(cat "$WORK/nginx.pid")
kill "$NGINX_PID"
# The port is reused below: wait until nginx has let it go.
for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
rm -f "$WORK/nginx.pid"

if [ "${FLOOR:-0}" = 1 ]; then
  for mode in at-once handoff; do
    start_floor "$mode"
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/bench.lua" "http://127.0.0.1:$FLOOR_PORT" \
      > "$WORK/wrk-floor-$mode.txt"
    stop_floor
  done
fi

python3 - "$WORK" "$BIN" <<'PY'
import glob, os, re, sqlite3, sys
work = sys.argv[1]
def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    # A liaison round lasts until the pipeline has applied what it acknowledged: the time
    # it took to catch up after the load stopped counts, so that no round leaves its work
    # to the pause before the next one.
    catchup = path.replace("wrk-", "catchup-")
    if catchup != path and os.path.exists(catchup):
        m = re.search(r"requests in ([\d.]+)(us|ms|s|m),", text)
        elapsed = float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(2)]
        rps = total / (elapsed + float(open(catchup).read()))
    return rps, p99, total, int(non2xx.group(1)) if non2xx else 0
def rounds(server):
    return [parse(path) for path in sorted(glob.glob(f"{work}/wrk-{server}-*.txt"))]
liaison, nginx_rounds = rounds("liaison"), rounds("nginx")
# Rounds are of equal length: the mean of their rates is the rate over all of them. The
# p99 reported is the worst round's.
rps = sum(r[0] for r in liaison) / len(liaison)
p99 = max(r[1] for r in liaison)
total, bad = sum(r[2] for r in liaison), sum(r[3] for r in liaison)
nginx = sum(r[0] for r in nginx_rounds) / len(nginx_rounds)
print("rounds " + " ".join(f"{a[0]:.0f}/{b[0]:.0f}={a[0] / b[0]:.2f}" for a, b in zip(liaison, nginx_rounds)),
      file=sys.stderr)
floor = {mode: parse(f"{work}/wrk-floor-{mode}.txt") for mode in ("at-once", "handoff")
         if os.path.exists(f"{work}/wrk-floor-{mode}.txt")}
if floor:
    # The durable floor took its turn in every round, after nginx.
    durable_rounds = rounds("floor-durable")
    print("floor rounds " + " ".join(f"{a[0]:.0f}/{b[0]:.0f}={a[0] / b[0]:.2f}"
                                     for a, b in zip(durable_rounds, nginx_rounds)), file=sys.stderr)
    durable = sum(r[0] for r in durable_rounds) / len(durable_rounds)
    durable_total = sum(r[2] for r in durable_rounds)
    durable_bad = sum(r[3] for r in durable_rounds)
    kept = sqlite3.connect(f"{work}/floor.db").execute("select count(*) from inbound").fetchone()[0]
    if kept < durable_total - durable_bad:
        sys.exit(f"http_floor durable lost events: {durable_total - durable_bad} answered, {kept} kept")
    print(f"floor mhd_at_once_req_per_s={floor['at-once'][0]:.0f} ratio={floor['at-once'][0] / nginx:.2f} "
          f"mhd_handoff_req_per_s={floor['handoff'][0]:.0f} ratio={floor['handoff'][0] / nginx:.2f} "
          f"durable_req_per_s={durable:.0f} ratio={durable / nginx:.2f}")
stored = sqlite3.connect(f"{work}/data/events.db").execute("select count(*) from inbound").fetchone()[0]
# wrk counts requests answered; every 2xx must be in the log (some in flight at the end may add a few more),
# the warm-up's too.
acked = total - bad
if os.path.exists(f"{work}/warmup-liaison.txt"):
    _, _, warm_total, warm_bad = parse(f"{work}/warmup-liaison.txt")
    acked += warm_total - warm_bad
    bad += warm_bad
print(f"acked={acked} stored={stored} non2xx={bad}", file=sys.stderr)
if stored < acked:
    sys.exit(f"LOST EVENTS: {acked} acknowledged, {stored} in the log")
print(f"ingest events_per_s={rps:.0f} p99_ms={p99:.2f} nginx_req_per_s={nginx:.0f} ratio={rps / nginx:.2f}")
PY
