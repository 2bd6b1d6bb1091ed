#!/usr/bin/env bash
# Start/stop every peer used by the integration tests: Matrix Synapse, BottleCRM and Tryton.
#   usage: all.sh start|stop|status      (settings: see synapse.sh, bottlecrm.sh and tryton.sh)
set -euo pipefail
D="$(dirname "$(readlink -f "$0")")"
case "${1:-}" in
  start)  "$D/bottlecrm.sh" check && "$D/synapse.sh" start && "$D/bottlecrm.sh" start && "$D/tryton.sh" start ;;
  stop)   rc=0; "$D/tryton.sh" stop || rc=1; "$D/bottlecrm.sh" stop || rc=1; "$D/synapse.sh" stop || rc=1; exit $rc ;;
  status) rc=0; "$D/synapse.sh" status || rc=1; "$D/bottlecrm.sh" status || rc=1; "$D/tryton.sh" status || rc=1; exit $rc ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
