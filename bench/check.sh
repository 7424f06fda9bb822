#!/usr/bin/env bash
# Benchmark 2: `alertgate check` on a generated snapshot of SERIES series
# (default 100k) x SAMPLES samples a minute apart (default 5) with the 50
# rules of bench/gen.py. Target: under 1 s wall and 200 MB peak RSS.
#
# The target is absolute, so there is no peer by default. promtool has no
# "evaluate rules on a snapshot" command; the nearest is `promtool test rules`
# on the same series, values and rules over the same minutes (PEER=1), but
# its unit-test engine stops every query at 10,000 samples and hides the
# error, so at 100k series it skips most of the work and is no fair figure.
#
#   bash bench/check.sh            # RUNS=5 SERIES=100000 SAMPLES=5 PEER=0
source "$(dirname "$0")/common.sh"
SERIES="${SERIES:-100000}"
SAMPLES="${SAMPLES:-5}"
NAME="check-${SERIES}x${SAMPLES}"
DIR="$DATA/$NAME"
if [ ! -f "$DIR/snapshot.om" ]; then
  python3 "$BENCH_DIR/gen.py" check --series "$SERIES" --samples "$SAMPLES" --out "$DIR"
fi
AT="$(cat "$DIR/at.txt")"

header
# Exit 1 means "something fires", which the data is made to do.
measure --name "alertgate check, $SERIES series x $SAMPLES samples, 50 rules" --ok 0,1 --cwd "$DIR" -- \
  "$ALERTGATE" check --rules rules.yml --snapshot snapshot.om --at "$AT" --format json

if [ "${PEER:-0}" = 1 ]; then
  UDIR="$DATA/unit-${SERIES}x$((SAMPLES - 1))m"
  if [ ! -f "$UDIR/test.yml" ]; then
    python3 "$BENCH_DIR/gen.py" unittest --series "$SERIES" --minutes "$((SAMPLES - 1))" --out "$UDIR"
  fi
  measure --name "promtool test rules, same data ($SERIES series, $((SAMPLES - 1))m)" --cwd "$UDIR" -- \
    "$PEERS/promtool" test rules test.yml
fi
