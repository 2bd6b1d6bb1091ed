#!/usr/bin/env bash
# BottleCRM (PyPI django-crm==1.35.0, pinned by constraints/crm.txt) as a local CRM test peer.
#
#   usage: bottlecrm.sh start|stop|status
#
#   API         http://127.0.0.1:${CRM_PORT:-8000}    (uvicorn, 127.0.0.1 only)
#   PostgreSQL  private cluster on 127.0.0.1:${CRM_PG_PORT:-55432}, role crm (NOSUPERUSER NOBYPASSRLS)
#   Each start: a fresh database cloned from a migrated template, a new user/org/JWT/PAT.
#   Writes RUN/pat.txt (PAT, Bearer for data calls), RUN/jwt.txt (org JWT, 1 h, needed for /api/webhooks/),
#          RUN/org.txt, RUN/env.sh (DJANGO_* for django-admin + CRM_URL/CRM_PAT/CRM_JWT/CRM_ORG).
#
# State under ${PEERS_HOME:-/tmp/liaison-peers}: venv/crm, run/crm (RUN), run/pg (cluster).
set -euo pipefail
PEER_NAME=bottlecrm
. "$(dirname "$(readlink -f "$0")")/lib.sh"

PORT="${CRM_PORT:-8000}"
PG_PORT="${CRM_PG_PORT:-55432}"
WAIT="${PEERS_WAIT_SECONDS:-60}"
VENV="$PEERS_HOME/venv/crm"
RUN="$PEERS_HOME/run/crm"
PG="$PEERS_HOME/run/pg"
CONSTRAINTS="$PEERS_DIR/constraints/crm.txt"
PIDFILE="$RUN/uvicorn.pid"
PAT_PROC="crm.asgi:application"
BASE="http://127.0.0.1:$PORT"
ADMIN_EMAIL="admin@example.com"
# django-crm 1.35 needs Python >= 3.12 (with 3.11 pip quietly picks an old, different
# release). Debian 12 ships 3.11: take CRM_PYTHON, else the first interpreter that runs and
# is >= 3.12, 3.12 first (what the constraints were pinned with): pyenv's, then on PATH.
find_python() {
  if [ -n "${CRM_PYTHON:-}" ]; then echo "$CRM_PYTHON"; return; fi
  local root candidate
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for candidate in $(ls -d "$root"/versions/3.12*/bin/python3 2>/dev/null | sort -rV) python3.12 \
    $(ls -d "$root"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -V) python3.13 python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  echo python3.12  # not found: install() says so
}
PY312="$(find_python)"

pg_bin() {
  local d
  if [ -n "${CRM_PGBIN:-}" ]; then echo "$CRM_PGBIN"; return; fi
  [ -x /usr/lib/postgresql/15/bin/initdb ] && { echo /usr/lib/postgresql/15/bin; return; }
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  echo "${d:-/usr/lib/postgresql/15/bin}"
}

# run a command as the postgres OS user when we are root (postgres refuses to run as root)
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

psql_q() { PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

# What the venv must hold (its .installed marker says what it does).
wanted() { echo "django-crm==1.35.0 packaging $(md5sum <"$CONSTRAINTS" | cut -c1-12)"; }

install() {
  local want; want="$(wanted)"
  if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "$want" ]; then return 0; fi
  "$PY312" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || die "Python >= 3.12 not found (django-crm 1.35 needs it; Debian 12 has 3.11): install one (pyenv, or a python3.12 on PATH) or set CRM_PYTHON"
  log "installing django-crm==1.35.0 into $VENV"
  rm -rf "$VENV"; mkdir -p "$(dirname "$VENV")"
  "$PY312" -m venv "$VENV"
  timeout 900 "$VENV/bin/pip" install -q --disable-pip-version-check -c "$CONSTRAINTS" django-crm==1.35.0 packaging \
    >"$PEERS_HOME/crm-pip.log" 2>&1 || die_log "pip install django-crm failed" "$PEERS_HOME/crm-pip.log"
  echo "$want" >"$VENV/.installed"
}

pg_running() { [ -f "$PG/data/PG_VERSION" ] && as_pg "'$PGBIN/pg_ctl' -D '$PG/data' status" >/dev/null 2>&1; }

pg_start() {
  if [ ! -f "$PG/data/PG_VERSION" ]; then
    log "initdb $PG/data"
    rm -rf "$PG"; mkdir_open "$PG"; [ "$(id -u)" = 0 ] && chown postgres: "$PG"
    as_pg "test -w '$PG'" || die "the postgres user cannot write $PG (is PEERS_HOME=$PEERS_HOME traversable by others?)"
    as_pg "timeout 120 '$PGBIN/initdb' -D '$PG/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" \
      >"$PEERS_HOME/initdb.log" 2>&1 || die_log "initdb failed" "$PEERS_HOME/initdb.log"
  fi
  if ! pg_running; then
    wait_port_free "$PG_PORT" 10 || die "port $PG_PORT is in use by another process; set CRM_PG_PORT"
    as_pg "'$PGBIN/pg_ctl' -D '$PG/data' -l '$PG/pg.log' -o '-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG' -w -t $WAIT start" \
      >/dev/null 2>&1 || die_log "PostgreSQL did not start within ${WAIT}s" "$PG/pg.log"
  fi
  # the cluster may have been started with another port earlier: check we reach it on PG_PORT
  psql_q -c 'select 1' >/dev/null 2>&1 || die_log "PostgreSQL is running but not on 127.0.0.1:$PG_PORT (stop it first)" "$PG/pg.log"
}

pg_stop() {
  [ -f "$PG/data/PG_VERSION" ] || return 0
  if pg_running; then
    as_pg "'$PGBIN/pg_ctl' -D '$PG/data' -m fast -w -t 30 stop" >/dev/null 2>&1 || die_log "PostgreSQL did not stop" "$PG/pg.log"
    log "stopped PostgreSQL ($PG/data)"
  fi
}

write_settings() {
  cat >"$RUN/env.sh" <<EOF
export DJANGO_SETTINGS_MODULE=peer_settings PYTHONPATH=$RUN
export SECRET_KEY=local-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz ENV_TYPE=dev DEBUG=True
export ALLOWED_HOSTS=localhost,127.0.0.1 DBNAME=crm_db DBUSER=crm DBPASSWORD=crm DBHOST=127.0.0.1 DBPORT=$PG_PORT
export FRONTEND_URL=http://127.0.0.1:5181 DOMAIN_NAME=$BASE
export PATH=$VENV/bin:\$PATH
EOF
  cat >"$RUN/peer_settings.py" <<'PY'
from crm.settings import *  # noqa
CELERY_TASK_ALWAYS_EAGER = True          # webhooks/emails run inline: no redis, no celery worker
CELERY_TASK_EAGER_PROPAGATES = False
import webhooks.ssrf as _ssrf            # shipped SSRF guard refuses loopback and ports != 80/443
_ssrf.is_blocked = lambda ip: not ip.is_loopback
_ssrf._allowed_ports = lambda: set(range(1, 65536))
PY
}

# devlogin ARGS... : print the access token
devlogin() {
  local out
  out="$(cd "$RUN" && timeout "$WAIT" "$VENV/bin/django-admin" devlogin "$@" 2>"$RUN/devlogin.err")" \
    || die_log "django-admin devlogin $* failed" "$RUN/devlogin.err"
  awk '/access_token/{print $2}' <<<"$out" | grep . || die "no access_token in devlogin output: $out"
}

stop() {
  PGBIN="$(pg_bin)"
  stop_pidfile "$PIDFILE" "$PAT_PROC" 20
  pg_stop
}

start() {
  local t0; t0="$(now_s)"
  mkdir_open "$PEERS_HOME"; mkdir_open "$PEERS_HOME/run"; mkdir -p "$RUN"
  apt_ensure curl curl
  PGBIN="$(pg_bin)"
  apt_ensure "$PGBIN/initdb" postgresql
  PGBIN="$(pg_bin)"
  install
  # old server first: it holds connections to crm_db and the port
  stop_pidfile "$PIDFILE" "$PAT_PROC" 20
  wait_port_free "$PORT" 10 || die "port $PORT is in use by another process (not ours); set CRM_PORT"
  trap 'rc=$?; if [ $rc != 0 ]; then log "start failed, stopping what was started"; stop; fi' EXIT
  pg_start
  [ "$(psql_q -c "select 1 from pg_roles where rolname='crm'")" = 1 ] ||
    psql_q -c "CREATE ROLE crm LOGIN PASSWORD 'crm' NOSUPERUSER NOBYPASSRLS"
  write_settings
  # shellcheck disable=SC1091
  . "$RUN/env.sh"
  # schema: migrate once into a template (minutes), rename only when complete; clone per start (<1 s)
  # a template migrated by another django-crm install is stale: rebuild it
  if [ "$(cat "$PG/template.stamp" 2>/dev/null)" != "$(cat "$VENV/.installed")" ]; then
    psql_q -c "DROP DATABASE IF EXISTS crm_db WITH (FORCE)" -c "DROP DATABASE IF EXISTS crm_tpl WITH (FORCE)"
  fi
  if [ "$(psql_q -c "select 1 from pg_database where datname='crm_tpl'")" != 1 ]; then
    log "migrating the template database (first start only, takes a few minutes)"
    psql_q -c "DROP DATABASE IF EXISTS crm_tpl_tmp WITH (FORCE)" -c "CREATE DATABASE crm_tpl_tmp OWNER crm"
    (cd "$RUN" && DBNAME=crm_tpl_tmp timeout 1200 "$VENV/bin/django-admin" migrate -v0 >"$RUN/migrate.log" 2>&1) \
      || die_log "migrate failed" "$RUN/migrate.log"
    psql_q -c "ALTER DATABASE crm_tpl_tmp RENAME TO crm_tpl"
    cp "$VENV/.installed" "$PG/template.stamp"
  fi
  psql_q -c "DROP DATABASE IF EXISTS crm_db WITH (FORCE)" -c "CREATE DATABASE crm_db TEMPLATE crm_tpl OWNER crm"
  log "starting uvicorn on $BASE"
  rm -f "$RUN"/pat.txt "$RUN"/jwt.txt "$RUN"/org.txt
  cd "$RUN"   # a simple command in the background, so $! is the server's own PID
  nohup "$VENV/bin/uvicorn" crm.asgi:application --host 127.0.0.1 --port "$PORT" </dev/null >"$RUN/uvicorn.log" 2>&1 &
  local pid=$!; echo "$pid" >"$PIDFILE"
  wait_http "$BASE/healthz/" "$WAIT" "$pid" "$PAT_PROC" "$RUN/uvicorn.log"
  # user -> org -> org JWT -> PAT
  local jwt0 org
  jwt0="$(devlogin "$ADMIN_EMAIL" --create)"
  org="$(curl -sf --max-time "$WAIT" -X POST "$BASE/api/org/" -H "Authorization: Bearer $jwt0" \
        -H 'Content-Type: application/json' -d '{"name":"Liaison Test Org"}' | json_get org.id)" \
    || die_log "creating the org failed" "$RUN/uvicorn.log"
  echo "$org" >"$RUN/org.txt"
  devlogin "$ADMIN_EMAIL" --org "$org" >"$RUN/jwt.txt"
  curl -sf --max-time "$WAIT" -X POST "$BASE/api/profile/tokens/" -H "Authorization: Bearer $(cat "$RUN/jwt.txt")" \
      -H 'Content-Type: application/json' -d '{"name":"liaison"}' | json_get token >"$RUN/pat.txt" \
    || die_log "creating the PAT failed" "$RUN/uvicorn.log"
  cat >>"$RUN/env.sh" <<EOF
export CRM_URL=$BASE CRM_PID=$pid CRM_ORG=$org
export CRM_PAT=$(cat "$RUN/pat.txt")
export CRM_JWT=$(cat "$RUN/jwt.txt")
EOF
  echo "bottlecrm up: $BASE pid=$pid pg=127.0.0.1:$PG_PORT org=$org pat=$RUN/pat.txt jwt=$RUN/jwt.txt in $(elapsed "$t0")s"
}

status() {
  PGBIN="$(pg_bin)"
  local ok=0
  if pid_alive "$(cat "$PIDFILE" 2>/dev/null || true)" "$PAT_PROC"; then echo "bottlecrm running pid=$(cat "$PIDFILE") $BASE"; else echo "bottlecrm stopped"; ok=1; fi
  if pg_running; then echo "postgres running ($PG/data, port $PG_PORT)"; else echo "postgres stopped"; ok=1; fi
  return $ok
}

# The interpreter it needs, checked in a second (all.sh asks before installing anything).
check() {
  [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "$(wanted)" ] && return 0
  "$PY312" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || die "Python >= 3.12 not found (django-crm 1.35 needs it; Debian 12 has 3.11): install one (pyenv, or a python3.12 on PATH) or set CRM_PYTHON"
}

case "${1:-}" in
  start) start ;;
  stop) stop; echo "bottlecrm stopped" ;;
  status) status ;;
  check) check ;;
  *) echo "usage: $0 start|stop|status|check" >&2; exit 2 ;;
esac
