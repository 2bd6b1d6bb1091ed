#!/usr/bin/env bash
# Installs what Liaison needs on a fresh Debian 12 machine (run as root; idempotent).
#   install-deps.sh build   libraries to build and run Liaison
#   install-deps.sh test    + tools the test suite and the peers need (PostgreSQL, curl, python venv)
#   install-deps.sh bench   + wrk and nginx for the benchmarks
set -euo pipefail
want=(pkg-config libsqlite3-dev libmicrohttpd-dev libssl-dev libyaml-dev libphonenumber-dev libjemalloc-dev libcurl4 curl ca-certificates)
case "${1:-build}" in
  build) ;;
  # pango: BottleCRM imports WeasyPrint at start-up, which loads it (and fails without it)
  test) want+=(postgresql python3-venv sqlite3 libpango-1.0-0 libpangoft2-1.0-0) ;;
  bench) want+=(wrk nginx-light sqlite3) ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
missing=()
for package in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
