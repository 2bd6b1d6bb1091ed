#!/usr/bin/env bash
# The whole suite: builds, starts the real peers (Synapse, BottleCRM), runs every test
# (the integration tests drive the real `liaison` binary against them), stops the peers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PEERS_HOME="${PEERS_HOME:-/tmp/liaison-peers}"
swift build --build-tests
trap 'scripts/peers/all.sh stop >/dev/null 2>&1 || true' EXIT
# Where Synapse pushes transactions, and the integration tests' liaison listens: a liaison
# left over from an interrupted run would take them.
if (exec 3<>/dev/tcp/127.0.0.1/9009) 2>/dev/null; then
  echo "port 9009 is in use (a liaison left over from an interrupted run? pkill -f 'liaison serve')" >&2
  exit 1
fi
scripts/peers/all.sh start
export LIAISON_PEERS="$PEERS_HOME/run"
export LIAISON_BINARY="$(swift build --show-bin-path)/liaison"
export LIAISON_REQUIRE_PEERS=1  # a real-peer suite skipped for want of its peers fails the run
# Everything but the integration tests in parallel; those one at a time, since their suites
# share the peers (one pauses BottleCRM for an outage, one registers an org-wide webhook).
swift test --skip-build --skip IntegrationTests
swift test --skip-build --filter IntegrationTests --no-parallel
