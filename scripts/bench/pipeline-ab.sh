#!/usr/bin/env bash
# The pipeline's cost a record, several builds taking turns: `liaison bench pipeline` on
# each BINARY in turn, ROUNDS (7) times, on the path the ingest benchmark exercises (the
# same 2,000 messages over and over: --distinct 2000) and on new messages, then the
# minimum and median of each binary's runs. This host's speed drifts within seconds, so a
# single run says little; the minimum is the steadiest figure, the median the fairest.
#   scripts/bench/pipeline-ab.sh [BINARY ...]   (default: the release build)
# Lines like:
#   repeated  liaison-a  min 5.13  median 6.08  us/record  (5.13 5.51 5.80 6.08 6.08 6.17 6.88)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-7}
RECORDS=${RECORDS:-100000}
if [ $# -eq 0 ]; then
  swift build -c release --product liaison >&2
  set -- "$(swift build -c release --show-bin-path)/liaison"
fi
OUT=$(mktemp /tmp/liaison-pipeline-ab.XXXXXX)
trap 'rm -f "$OUT"' EXIT
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    for path in repeated new; do
      distinct=$([ "$path" = repeated ] && echo 2000 || echo "$RECORDS")
      figure=$("$bin" bench pipeline --records "$RECORDS" --distinct "$distinct" | sed -n 's/.*us_per_record=\([0-9.]*\).*/\1/p')
      echo "$path $bin $figure" >> "$OUT"
    done
  done
done
python3 - "$OUT" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    path, binary, figure = line.split()
    runs[(path, binary)].append(float(figure))
for (path, binary), figures in runs.items():
    print(f"{path:9s} {binary.split('/')[-1]:12s} min {min(figures):.2f}  median {statistics.median(figures):.2f}  us/record  "
          f"({' '.join(f'{f:.2f}' for f in sorted(figures))})")
PY
