# Sourced by the ingest benchmarks (bench-ingest.sh, refcounts.sh): a liaison with one
# generic webhook source, "bench", on a fresh store.
#
# start_bench_liaison BIN WORK PORT SECRET writes $WORK/liaison.yaml and $WORK/bench.lua
# (2,000 distinct signed bodies, rotated by the wrk script: wrk's Lua cannot sign), starts
# `BIN serve` with its pid in LIAISON, and returns once it answers /healthz.
start_bench_liaison() {
  local bin=$1 work=$2 port=$3 secret=$4
  cat > "$work/liaison.yaml" <<YAML
server: {listen: 127.0.0.1:$port, threads: 2}
store: {directory: $work/data}
log: {level: warning, format: json}
archive: {mode: on_close, idle_timeout_seconds: 86400}
bottlecrm: {base_url: "http://127.0.0.1:9", token: unused}
generic_webhooks:
  bench: {secret: $secret}
YAML
  python3 scripts/bench/signed_bodies.py "$work/bench.lua" "$secret"
  "$bin" serve --config "$work/liaison.yaml" 2> "$work/liaison.log" &
  LIAISON=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
}

# stored_events PORT: the events the liaison on PORT has committed to its log, from /metrics.
stored_events() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '$1 == "liaison_events_stored_total" {n += $2} END {printf "%d\n", n}'
}
