#!/usr/bin/env bash
# Matrix Synapse (PyPI matrix-synapse, pinned by constraints/synapse.txt) as a local IM test peer.
#
#   usage: synapse.sh start|stop|status
#
#   client API  http://127.0.0.1:${SYNAPSE_PORT:-8008}   (127.0.0.1 only, no federation listener)
#   server name localhost, SQLite, a FRESH database on every start
#   application service "liaison" -> ${LIAISON_AS_URL:-http://127.0.0.1:9009}
#       as_token ${LIAISON_AS_TOKEN:-as_token_liaison_test_0123456789}
#       hs_token ${LIAISON_HS_TOKEN:-hs_token_liaison_test_0123456789}
#       sender @liaison_bot:localhost, users @liaison_.*:localhost (exclusive), rooms "!.*" (non-exclusive)
#   users @agent:localhost (agentpass, admin), @alice:localhost (alicepass)
#
# State: ${PEERS_HOME:-/tmp/liaison-peers}/venv/synapse (venv), .../run/synapse (RUN: config, db, logs,
# synapse.pid, agent.token, alice.token, env.sh).
set -euo pipefail
PEER_NAME=synapse
. "$(dirname "$(readlink -f "$0")")/lib.sh"

PORT="${SYNAPSE_PORT:-8008}"
AS_URL="${LIAISON_AS_URL:-http://127.0.0.1:9009}"
AS_TOKEN="${LIAISON_AS_TOKEN:-as_token_liaison_test_0123456789}"
HS_TOKEN="${LIAISON_HS_TOKEN:-hs_token_liaison_test_0123456789}"
WAIT="${PEERS_WAIT_SECONDS:-60}"
VENV="$PEERS_HOME/venv/synapse"
RUN="$PEERS_HOME/run/synapse"
CONSTRAINTS="$PEERS_DIR/constraints/synapse.txt"
PIDFILE="$RUN/synapse.pid"
PAT_PROC="synapse.app.homeserver"
BASE="http://127.0.0.1:$PORT"

install() {
  local version; version="$(pinned matrix-synapse "$CONSTRAINTS")"
  [ -n "$version" ] || die "matrix-synapse is not pinned in $CONSTRAINTS"
  # marker = what was installed; a half-finished or differently pinned venv is rebuilt
  local want; want="matrix-synapse==$version $(md5sum <"$CONSTRAINTS" | cut -c1-12)"
  if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "$want" ]; then return 0; fi
  command -v python3 >/dev/null || die "python3 not found on PATH"
  log "installing matrix-synapse==$version into $VENV (python $(python3 -c 'import sys;print(sys.version.split()[0])'))"
  rm -rf "$VENV"; mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  timeout 900 "$VENV/bin/pip" install -q --disable-pip-version-check -c "$CONSTRAINTS" "matrix-synapse==$version" \
    >"$PEERS_HOME/synapse-pip.log" 2>&1 || die_log "pip install matrix-synapse failed" "$PEERS_HOME/synapse-pip.log"
  echo "$want" >"$VENV/.installed"
}

stop() {
  stop_pidfile "$PIDFILE" "$PAT_PROC" 20
}

configure() {
  # keep the generated secrets and signing key across starts; everything else is rewritten each start
  if [ ! -f "$RUN/base/homeserver.yaml" ]; then
    rm -rf "$RUN/base"; mkdir -p "$RUN/base"
    (cd "$RUN/base" && timeout 120 "$VENV/bin/python" -m synapse.app.homeserver --server-name localhost \
        --config-path "$RUN/base/homeserver.yaml" --data-directory "$RUN" --generate-config --report-stats=no \
        >"$RUN/base/generate.log" 2>&1) || die_log "generate-config failed" "$RUN/base/generate.log"
  fi
  cat >"$RUN/appservice-liaison.yaml" <<EOF
id: liaison
url: "$AS_URL"
as_token: "$AS_TOKEN"
hs_token: "$HS_TOKEN"
sender_localpart: liaison_bot
rate_limited: false
namespaces:
  users:
    - exclusive: true
      regex: "@liaison_.*:localhost"
  rooms:
    - exclusive: false
      regex: "!.*"
EOF
  # log config: file only, INFO, no rotation surprises
  cat >"$RUN/log.config" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $RUN/homeserver.log
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF
  RUN="$RUN" PORT="$PORT" "$VENV/bin/python" - <<'PY'
import os, yaml
run, port = os.environ["RUN"], int(os.environ["PORT"])
c = yaml.safe_load(open(f"{run}/base/homeserver.yaml"))
def lim(): return {"per_second": 1000, "burst_count": 1000}   # fresh dicts: no YAML anchors
c.update({
    "server_name": "localhost",
    "pid_file": f"{run}/homeserver.pid",
    "listeners": [{"port": port, "tls": False, "type": "http", "x_forwarded": False,
                   "bind_addresses": ["127.0.0.1"],
                   "resources": [{"names": ["client"], "compress": False}]}],
    "database": {"name": "sqlite3", "args": {"database": f"{run}/homeserver.db"}},
    "log_config": f"{run}/log.config",
    "media_store_path": f"{run}/media_store",
    "report_stats": False,
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "federation_domain_whitelist": [],
    "url_preview_enabled": False,
    "presence": {"enabled": False},
    "app_service_config_files": [f"{run}/appservice-liaison.yaml"],
    "rc_message": lim(),
    "rc_registration": lim(),
    "rc_login": {"address": lim(), "account": lim(), "failed_attempts": lim()},
    "rc_joins": {"local": lim(), "remote": lim()},
    "rc_invites": {"per_room": lim(), "per_user": lim(), "per_issuer": lim()},
    "rc_admin_redaction": lim(),
    "rc_room_creation": lim(),
})
yaml.safe_dump(c, open(f"{run}/homeserver.yaml", "w"), default_flow_style=False, sort_keys=False)
PY
}

start() {
  local t0; t0="$(now_s)"
  mkdir_open "$PEERS_HOME"; mkdir -p "$RUN"
  apt_ensure curl curl
  install
  stop
  wait_port_free "$PORT" 10 || die "port $PORT is in use by another process (not ours); set SYNAPSE_PORT"
  # fresh database every start
  rm -rf "$RUN"/homeserver.db* "$RUN/media_store" "$RUN"/*.token "$RUN/homeserver.log" "$RUN/homeserver.pid"
  configure
  log "starting synapse on $BASE"
  cd "$RUN"   # a simple command in the background, so $! is the server's own PID
  trap 'rc=$?; if [ $rc != 0 ]; then log "start failed, stopping what was started"; stop; fi' EXIT
  nohup "$VENV/bin/python" -m synapse.app.homeserver -c "$RUN/homeserver.yaml" </dev/null >"$RUN/stdout.log" 2>&1 &
  local pid=$!; echo "$pid" >"$PIDFILE"
  wait_http "$BASE/_matrix/client/versions" "$WAIT" "$pid" "$PAT_PROC" "$RUN/homeserver.log"
  local u pass flag
  for u in agent alice; do
    pass="${u}pass"; flag=--no-admin; [ "$u" = agent ] && flag=--admin
    timeout "$WAIT" "$VENV/bin/register_new_matrix_user" -c "$RUN/homeserver.yaml" -u "$u" -p "$pass" $flag "$BASE" \
      >"$RUN/register-$u.log" 2>&1 || die_log "registering $u failed" "$RUN/register-$u.log"
    curl -sf --max-time "$WAIT" -X POST "$BASE/_matrix/client/v3/login" -H 'Content-Type: application/json' \
      -d "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$u\"},\"password\":\"$pass\"}" \
      | json_get access_token >"$RUN/$u.token" || die_log "login as $u failed" "$RUN/homeserver.log"
  done
  cat >"$RUN/env.sh" <<EOF
export SYNAPSE_URL=$BASE SYNAPSE_PID=$pid
export SYNAPSE_AGENT_TOKEN=$(cat "$RUN/agent.token") SYNAPSE_ALICE_TOKEN=$(cat "$RUN/alice.token")
export LIAISON_AS_URL=$AS_URL LIAISON_AS_TOKEN=$AS_TOKEN LIAISON_HS_TOKEN=$HS_TOKEN
EOF
  echo "synapse up: $BASE pid=$pid as=liaison->$AS_URL users=@agent,@alice tokens=$RUN/{agent,alice}.token in $(elapsed "$t0")s"
}

status() {
  if pid_alive "$(cat "$PIDFILE" 2>/dev/null || true)" "$PAT_PROC"; then echo "synapse running pid=$(cat "$PIDFILE") $BASE"
  else echo "synapse stopped"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop; echo "synapse stopped" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
