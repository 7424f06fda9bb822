# Sourced by the bench/*.sh scripts: tools, the release binary, the peers.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
DATA="$BENCH_DIR/data"
RUNS="${RUNS:-5}"
mkdir -p "$DATA"

# GNU time for peak memory (`time -v`); the shell keyword has no -v.
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq time >/dev/null
  fi
fi

# The release binary (the profile users get); ALERTGATE=path skips the build.
if [ -z "${ALERTGATE:-}" ]; then
  (cd "$ROOT" && cargo build --release --locked --bin alertgate >&2)
  ALERTGATE="$ROOT/target/release/alertgate"
fi

# Peers, fetched by scripts/fetch-peers.sh as in the README's set-up.
PEERS="${PEERS:-$ROOT/.peers/bin}"
if [ ! -x "$PEERS/promtool" ]; then
  (cd "$ROOT" && bash scripts/fetch-peers.sh >&2)
fi

measure() { python3 "$BENCH_DIR/measure.py" --runs "$RUNS" "$@"; }

header() {
  echo "| benchmark | wall median (min–max) | user CPU median | peak RSS median (min–max) | runs | result |"
  echo "|---|---|---|---|---|---|"
}
