#!/usr/bin/env bash
# Quick check that the running peers answer: BottleCRM (contact -> interaction -> list) and
# Synapse (room -> message -> application-service push into http_sink.py).
#   usage: smoke.sh [crm|synapse|all]      (default all; peers must be started first)
set -euo pipefail
PEER_NAME=smoke
. "$(dirname "$(readlink -f "$0")")/lib.sh"
J='Content-Type: application/json'
STAMP="$(date +%s%N)"
SINK=""
trap '[ -z "$SINK" ] || { kill "$SINK" 2>/dev/null; wait "$SINK" 2>/dev/null; } || true' EXIT

crm() {
  local R="$PEERS_HOME/run/crm" B="http://127.0.0.1:${CRM_PORT:-8000}" C I
  local H="Authorization: Bearer $(cat "$R/pat.txt")"
  C="$(curl -sf --max-time 30 -X POST "$B/api/contacts/" -H "$H" -H "$J" \
      -d "{\"first_name\":\"Smoke\",\"last_name\":\"Test\",\"email\":\"smoke-$STAMP@example.com\",\"phone\":\"+14155550100\",\"source_ref\":\"smoke:$STAMP\"}" \
      | json_get id)" || die "crm: creating a contact failed"
  I="$(curl -sf --max-time 30 -X POST "$B/api/interactions/" -H "$H" -H "$J" \
      -d "{\"kind\":\"sms\",\"direction\":\"inbound\",\"subject\":\"smoke\",\"body\":\"hello [liaison:smoke-$STAMP]\",\"contact\":\"$C\"}" \
      | json_get id)" || die "crm: creating an interaction failed"
  curl -sf --max-time 30 "$B/api/contacts/?email=smoke-$STAMP@example.com" -H "$H" | json_get count | grep -qx 1 \
    || die "crm: contact not found by email"
  curl -sf --max-time 30 "$B/api/interactions/?contact=$C" -H "$H" | grep -q "liaison:smoke-$STAMP" \
    || die "crm: interaction not listed"
  echo "crm smoke ok: contact=$C interaction=$I"
}

synapse() {
  local R="$PEERS_HOME/run/synapse" B="http://127.0.0.1:${SYNAPSE_PORT:-8008}/_matrix/client/v3"
  local AT="Authorization: Bearer $(cat "$R/agent.token")" BT="Authorization: Bearer $(cat "$R/alice.token")"
  local AS_URL="${LIAISON_AS_URL:-http://127.0.0.1:9009}" SINK_LOG="$R/smoke-as.jsonl" ROOM RE i
  local SINK_PORT="${AS_URL##*:}"; SINK_PORT="${SINK_PORT%%/*}"
  rm -f "$SINK_LOG"
  port_open "$SINK_PORT" && die "synapse: port $SINK_PORT (the AS url) is busy; stop the receiver first"
  python3 "$PEERS_DIR/http_sink.py" "$SINK_PORT" "$SINK_LOG" & SINK=$!
  for i in $(seq 50); do port_open "$SINK_PORT" && break; sleep 0.1; done
  ROOM="$(curl -sf --max-time 30 -X POST "$B/createRoom" -H "$AT" -H "$J" \
      -d '{"preset":"private_chat","invite":["@alice:localhost"],"is_direct":true}' | json_get room_id)" || die "synapse: createRoom failed"
  RE="$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$ROOM")"
  curl -sf --max-time 30 -X POST "$B/rooms/$RE/join" -H "$BT" -H "$J" -d '{}' >/dev/null || die "synapse: join failed"
  curl -sf --max-time 30 -X PUT "$B/rooms/$RE/send/m.room.message/smoke$STAMP" -H "$BT" -H "$J" \
      -d "{\"msgtype\":\"m.text\",\"body\":\"smoke $STAMP\"}" >/dev/null || die "synapse: send failed"
  for i in $(seq 100); do grep -q "smoke $STAMP" "$SINK_LOG" 2>/dev/null && break; sleep 0.1; done
  grep -q "smoke $STAMP" "$SINK_LOG" || die "synapse: message not pushed to the application service within 10s"
  echo "synapse smoke ok: room=$ROOM, AS received $(wc -l <"$SINK_LOG") transaction(s)"
}

case "${1:-all}" in
  crm) crm ;;
  synapse) synapse ;;
  all) synapse; crm ;;
  *) echo "usage: $0 [crm|synapse|all]" >&2; exit 2 ;;
esac
