#!/usr/bin/env bash
# Benchmark 1: `alertgate test` vs `promtool test rules` on one generated
# unit-test file (50 rules, MINUTES of data at 1m, default 60) with 2k and
# 20k series. Target: alertgate at least 5x faster, at most half the peak RSS.
# `alertgate test` is skipped (with a note) while it is not implemented.
#
#   bash bench/unittest.sh         # RUNS=5 SIZES="2000 20000" MINUTES=60
source "$(dirname "$0")/common.sh"
MINUTES="${MINUTES:-60}"

# How `alertgate test` is called on a file (override if its CLI differs).
read -r -a TEST_ARGS <<< "${TEST_ARGS:-test}"

header
for n in ${SIZES:-2000 20000}; do
  DIR="$DATA/unit-${n}x${MINUTES}m"
  if [ ! -f "$DIR/test.yml" ]; then
    python3 "$BENCH_DIR/gen.py" unittest --series "$n" --minutes "$MINUTES" --out "$DIR"
  fi
  measure --name "promtool test rules, $n series x ${MINUTES}m" --cwd "$DIR" -- \
    "$PEERS/promtool" test rules test.yml
  if ! (cd "$DIR" && "$ALERTGATE" "${TEST_ARGS[@]}" test.yml 2>&1 >/dev/null | grep -qi "not implemented"); then
    # Exit 1: rules failed, e.g. at the 10,000-sample limit of unit tests that
    # promtool shares but does not report (see bench/README.md).
    measure --name "alertgate test, $n series x ${MINUTES}m" --ok 0,1 --cwd "$DIR" -- \
      "$ALERTGATE" "${TEST_ARGS[@]}" test.yml
  else
    echo "| alertgate test, $n series x ${MINUTES}m | not implemented yet | | | | |"
  fi
done
