#!/usr/bin/env bash
# Tryton 8.2 (PyPI trytond + party + sale_opportunity + sale_complaint, pinned by constraints/tryton.txt)
# as a local CRM test peer.
#
#   usage: tryton.sh start|stop|status
#
#   HTTP        http://127.0.0.1:${TRYTON_PORT:-8001}   (127.0.0.1 only)
#               JSON-RPC POST /crm/rpc/   REST /crm/rest/model/<model>   (see TRYTON_NOTES.md)
#   SQLite database "crm": a FRESH copy of a template database (built once with trytond-admin) on every start
#   user admin / admin (admin@example.com); company 1 (party "Liaison Test Company", currency USD)
#   Writes RUN/restkey.txt (REST key: "Authorization: Bearer <key>"), RUN/env.sh
#          (TRYTON_URL TRYTON_DB TRYTON_REST_KEY TRYTON_PID TRYTON_COMPANY).
#
# State: ${PEERS_HOME:-/tmp/liaison-peers}/venv/tryton (venv), .../run/tryton (RUN: trytond.conf, db/, logs,
# trytond.pid, restkey.txt, env.sh).
set -euo pipefail
PEER_NAME=tryton
. "$(dirname "$(readlink -f "$0")")/lib.sh"

PORT="${TRYTON_PORT:-8001}"
DB=crm
WAIT="${PEERS_WAIT_SECONDS:-60}"
VENV="$PEERS_HOME/venv/tryton"
RUN="$PEERS_HOME/run/tryton"
CONSTRAINTS="$PEERS_DIR/constraints/tryton.txt"
PIDFILE="$RUN/trytond.pid"
PAT_PROC="bin/trytond -c $RUN/trytond.conf"
BASE="http://127.0.0.1:$PORT"
MODULES="party sale_opportunity sale_complaint"

install() {
  local v pkgs="" m
  for m in trytond trytond_party trytond_sale_opportunity trytond_sale_complaint; do
    v="$(pinned "$m" "$CONSTRAINTS")"; [ -n "$v" ] || die "$m is not pinned in $CONSTRAINTS"
    pkgs="$pkgs $m==$v"
  done
  # marker = what was installed; a half-finished or differently pinned venv is rebuilt
  local want; want="${pkgs# } $(md5sum <"$CONSTRAINTS" | cut -c1-12)"
  if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "$want" ]; then return 0; fi
  command -v python3 >/dev/null || die "python3 not found on PATH"
  log "installing$pkgs into $VENV (python $(python3 -c 'import sys;print(sys.version.split()[0])'))"
  rm -rf "$VENV"; mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  timeout 900 "$VENV/bin/pip" install -q --disable-pip-version-check -c "$CONSTRAINTS" $pkgs \
    >"$PEERS_HOME/tryton-pip.log" 2>&1 || die_log "pip install trytond failed" "$PEERS_HOME/tryton-pip.log"
  echo "$want" >"$VENV/.installed"
}

stop() {
  stop_pidfile "$PIDFILE" "$PAT_PROC" 20
}

configure() {
  mkdir -p "$RUN/db"
  cat >"$RUN/trytond.conf" <<EOF
[database]
uri = sqlite://
path = $RUN/db

[web]
listen = 127.0.0.1:$PORT
EOF
  echo admin >"$RUN/passfile"
}

# template database: built once (~30 s), renamed only when complete, rebuilt when the venv changes
template() {
  [ -f "$RUN/db/template.sqlite" ] && [ "$(cat "$RUN/db/template.stamp" 2>/dev/null)" = "$(cat "$VENV/.installed")" ] && return 0
  log "building the template database (first start only, ~30 s)"
  rm -f "$RUN"/db/template.sqlite* "$RUN"/db/tplbuild.sqlite* "$RUN/db/template.stamp"
  touch "$RUN/db/tplbuild.sqlite"   # the SQLite backend only opens existing files
  (cd "$RUN" && TRYTONPASSFILE="$RUN/passfile" timeout 600 "$VENV/bin/trytond-admin" -c "$RUN/trytond.conf" \
      -d tplbuild --all --email admin@example.com >"$RUN/admin.log" 2>&1 &&
    TRYTONPASSFILE="$RUN/passfile" timeout 600 "$VENV/bin/trytond-admin" -c "$RUN/trytond.conf" \
      -d tplbuild -u $MODULES --activate-dependencies >>"$RUN/admin.log" 2>&1) \
    || die_log "trytond-admin failed" "$RUN/admin.log"
  # fold the WAL into the main file so that the template is a single self-contained file
  "$VENV/bin/python" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' \
    "$RUN/db/tplbuild.sqlite"
  rm -f "$RUN"/db/tplbuild.sqlite-wal "$RUN"/db/tplbuild.sqlite-shm
  mv "$RUN/db/tplbuild.sqlite" "$RUN/db/template.sqlite"
  cp "$VENV/.installed" "$RUN/db/template.stamp"
}

# wait_rpc SECONDS PID : poll common.server.version until it answers; fail early if the process died
wait_rpc() {
  local t="$1" pid="$2" i=0
  until curl -sf -o /dev/null --max-time 2 -X POST "$BASE/rpc/" -H 'Content-Type: application/json' \
      -d '{"id":0,"method":"common.server.version","params":[]}'; do
    pid_alive "$pid" "$PAT_PROC" || die_log "trytond $pid exited before $BASE answered" "$RUN/trytond.log"
    i=$((i + 1)); [ "$i" -le $((t * 4)) ] || die_log "$BASE/rpc/ did not answer within ${t}s" "$RUN/trytond.log"
    sleep 0.25
  done
}

# login as admin over JSON-RPC, create the REST key and the company; prints the key
bootstrap() {
  BASE="$BASE" DB="$DB" WAIT="$WAIT" "$VENV/bin/python" - <<'PY'
import base64, json, os, urllib.request
url = f"{os.environ['BASE']}/{os.environ['DB']}/rpc/"
timeout = float(os.environ["WAIT"])
headers = {"Content-Type": "application/json"}
def rpc(method, *params):
    req = urllib.request.Request(url, json.dumps({"id": 1, "method": method, "params": list(params)}).encode(), headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        res = json.load(r)
    if res.get("error"):
        raise SystemExit(f"{method}: {res['error']}")
    return res["result"]
uid, session = rpc("common.db.login", "admin", {"password": "admin"}, "en")[:2]
headers["Authorization"] = "Session " + base64.b64encode(f"admin:{uid}:{session}".encode()).decode()
rpc("model.res.user.application.create", [{"user": uid, "application": "rest"}], {})
key = rpc("model.res.user.application.search_read", [["application", "=", "rest"]], 0, 1, None, ["key", "state"], {})[0]
assert key["state"] == "validated", key
cur, = rpc("model.currency.currency.create", [{"name": "US Dollar", "code": "USD", "symbol": "$"}], {})
party, = rpc("model.party.party.create", [{"name": "Liaison Test Company"}], {})
company, = rpc("model.company.company.create", [{"party": party, "currency": cur}], {})
rpc("model.res.user.write", [uid], {"companies": [["add", [company]]], "company": company}, {})
assert company == 1, company
print(key["key"])
PY
}

start() {
  local t0; t0="$(now_s)"
  mkdir_open "$PEERS_HOME"; mkdir -p "$RUN"
  apt_ensure curl curl
  case "$PORT" in ''|*[!0-9]*) die "TRYTON_PORT must be a port number, got '$PORT'" ;; esac
  [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "TRYTON_PORT out of range: $PORT"
  install
  stop
  wait_port_free "$PORT" 10 || die "port $PORT is in use by another process (not ours); set TRYTON_PORT"
  configure
  template
  # fresh database every start; trytond runs SQLite in WAL mode: a stale -wal would replay old data
  rm -f "$RUN/db/$DB.sqlite" "$RUN/db/$DB.sqlite-wal" "$RUN/db/$DB.sqlite-shm" "$RUN/restkey.txt" "$RUN/env.sh" "$RUN/trytond.log"
  cp "$RUN/db/template.sqlite" "$RUN/db/$DB.sqlite"
  log "starting trytond on $BASE"
  cd "$RUN"   # a simple command in the background, so $! is the server's own PID
  trap 'rc=$?; if [ $rc != 0 ]; then log "start failed, stopping what was started"; stop; fi' EXIT
  nohup "$VENV/bin/python" "$VENV/bin/trytond" -c "$RUN/trytond.conf" -d "$DB" </dev/null >"$RUN/trytond.log" 2>&1 &
  local pid=$!; echo "$pid" >"$PIDFILE"
  wait_rpc "$WAIT" "$pid"
  bootstrap >"$RUN/restkey.txt" 2>"$RUN/bootstrap.err" || die_log "bootstrap (login, REST key, company) failed" "$RUN/bootstrap.err"
  grep -qE '^[A-Za-z0-9_-]+$' "$RUN/restkey.txt" || die "unexpected REST key: $(cat "$RUN/restkey.txt")"
  cat >"$RUN/env.sh" <<EOF
export TRYTON_URL=$BASE TRYTON_DB=$DB TRYTON_PID=$pid TRYTON_COMPANY=1
export TRYTON_REST_KEY=$(cat "$RUN/restkey.txt")
EOF
  echo "tryton up: $BASE db=$DB pid=$pid rest=$BASE/$DB/rest key=$RUN/restkey.txt in $(elapsed "$t0")s"
}

status() {
  if pid_alive "$(cat "$PIDFILE" 2>/dev/null || true)" "$PAT_PROC"; then echo "tryton running pid=$(cat "$PIDFILE") $BASE db=$DB"
  else echo "tryton stopped"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop; echo "tryton stopped" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
