# Shared helpers for the peer scripts in this directory. Sourced, not executed.
# Every wait here is bounded; processes are stopped only by the PID recorded at start.

PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_HOME="${PEERS_HOME:-/tmp/liaison-peers}"

log()  { printf '[%s %s] %s\n' "$PEER_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$PEER_NAME" "$*" >&2; exit 1; }

# die with the tail of a log file
die_log() { local msg="$1" f="$2"; printf '[%s] ERROR: %s\n' "$PEER_NAME" "$msg" >&2
  if [ -f "$f" ]; then printf -- '--- last 40 lines of %s ---\n' "$f" >&2; tail -n 40 "$f" >&2; fi; exit 1; }

# Make sure a directory exists and can be traversed by other users (postgres).
mkdir_open() { mkdir -p "$1"; chmod 755 "$1"; }

# apt_ensure CMD PACKAGE... : install PACKAGEs with apt when CMD (path or name) is missing.
apt_ensure() {
  local cmd="$1"; shift
  if [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1; then return 0; fi
  [ "$(id -u)" = 0 ] || die "'$cmd' is missing; install: $* (need root for apt-get)"
  log "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout 900 apt-get install -y -q "$@" >"$PEERS_HOME/apt.log" 2>&1; then
    timeout 600 apt-get update -q >>"$PEERS_HOME/apt.log" 2>&1 || true
    timeout 900 apt-get install -y -q "$@" >>"$PEERS_HOME/apt.log" 2>&1 || die_log "apt-get install $* failed" "$PEERS_HOME/apt.log"
  fi
}

# port_open PORT : true when something accepts TCP connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port_free PORT SECONDS
wait_port_free() {
  local port="$1" t="$2" i=0
  while port_open "$port"; do
    i=$((i + 1)); [ "$i" -le $((t * 5)) ] || return 1; sleep 0.2
  done
}

# pid_alive PID PATTERN : PID exists and its command line contains PATTERN (guards against PID reuse)
pid_alive() {
  local pid="$1" pat="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pat"
}

# stop_pidfile FILE PATTERN [SECONDS] : TERM the recorded PID, wait for it to exit (KILL after SECONDS)
stop_pidfile() {
  local f="$1" pat="$2" t="${3:-20}" pid i=0
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  if pid_alive "$pid" "$pat"; then
    kill -TERM "$pid" 2>/dev/null || true
    while pid_alive "$pid" "$pat"; do
      i=$((i + 1))
      if [ "$i" -gt $((t * 5)) ]; then log "pid $pid did not exit after ${t}s, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; break; fi
      sleep 0.2
    done
    pid_alive "$pid" "$pat" && die "pid $pid ($pat) would not exit"
    log "stopped pid $pid"
  fi
  rm -f "$f"
}

# wait_http URL SECONDS PID PATTERN LOGFILE : poll URL until 2xx; fail early if the process died
wait_http() {
  local url="$1" t="$2" pid="$3" pat="$4" logf="$5" i=0
  until curl -sf -o /dev/null --max-time 2 "$url"; do
    pid_alive "$pid" "$pat" || die_log "process $pid exited before $url answered" "$logf"
    i=$((i + 1)); [ "$i" -le $((t * 4)) ] || die_log "$url did not answer within ${t}s" "$logf"
    sleep 0.25
  done
}

# json_get KEY.PATH : read JSON on stdin, print the value at a dotted path (fails when absent)
json_get() { python3 -c 'import sys,json
d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

# pinned NAME FILE : the version pinned for NAME in a constraints file
pinned() { grep -i -E "^$1==" "$2" | head -n1 | cut -d= -f3; }

# now_s : seconds since the epoch, with decimals (for timing)
now_s() { date +%s.%N; }
elapsed() { python3 -c "import sys;print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$1" "$(now_s)"; }
