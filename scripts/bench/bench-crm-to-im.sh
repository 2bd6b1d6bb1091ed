#!/usr/bin/env bash
# CRM → IM benchmark: signed BottleCRM webhooks at RATE changes/s for SECONDS against
# `liaison serve` (release), with a local HTTP sink standing in for the Matrix homeserver.
# Last line: crm_to_im p50_ms=X p99_ms=Y changes_per_s=Z lost=N
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${RATE:-500}
SECONDS_=${SECONDS_:-30}
PORT=${PORT:-18490}
SINK_PORT=${SINK_PORT:-18491}
SECRET=whsec_bench_0123456789
WORK=$(mktemp -d /tmp/liaison-bench-crm.XXXXXX)
swift build -c release --product liaison >&2
BIN=$(swift build -c release --show-bin-path)/liaison
cat > "$WORK/liaison.yaml" <<YAML
server: {listen: 127.0.0.1:$PORT}
store: {directory: $WORK/data}
log: {level: warning, format: json}
matrix:
  homeserver: http://127.0.0.1:$SINK_PORT
  as_token: bench-as-token
  hs_token: bench-hs-token
  bot_user: "@liaison_bot:localhost"
  employees: {users: ["@agent:localhost"]}
bottlecrm: {base_url: "http://127.0.0.1:9", token: unused, webhook_secret: $SECRET}
notify: {room: "!bench:localhost"}
delivery: {concurrency: 16}
YAML
"$BIN" serve --config "$WORK/liaison.yaml" 2> "$WORK/liaison.log" &
LIAISON=$!
trap 'kill $LIAISON 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
python3 scripts/bench/crm_to_im.py "$PORT" "$SINK_PORT" "$SECRET" "$RATE" "$SECONDS_"
