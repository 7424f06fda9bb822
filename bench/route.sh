#!/usr/bin/env bash
# Benchmark 3: routing and delivery. ALERTS alerts (default 10,000) posted to
# /api/v2/alerts in batches of BATCH (default 100) and delivered to a local
# webhook, Alertmanager vs `alertgate run` on the same routing config
# (bench/route.py writes it: group_by [alertname, instance] over 100
# alertnames x 10 instances, so 10k alerts make 1,000 notifications of 10;
# group_wait 1s). Each run starts the tool fresh on 127.0.0.1 with an empty
# data directory; the time is from the first POST until the receiver has
# seen every distinct alert. The tool's CPU time over the run and its peak
# RSS (VmHWM) come from /proc. A run where an alert does not arrive fails
# the script. Target: alertgate at least 3x Alertmanager's throughput.
# Alertmanager runs without clustering (--cluster.listen-address=), as a
# single instance: with it, notifications wait for the gossip to settle
# (about 9 s after start here), which is start-up, not throughput.
#
#   bash bench/route.sh            # RUNS=5 ALERTS=10000 BATCH=100 TOOLS="alertmanager alertgate"
source "$(dirname "$0")/common.sh"
ALERTS="${ALERTS:-10000}"
BATCH="${BATCH:-100}"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WP="$(free_port)"
python3 "$BENCH_DIR/route.py" config --webhook-port "$WP" --out "$WORK/alertmanager.yml"
# alertgate reads Alertmanager's routing keys at the top level of its own
# file; the state directory holds its outbox like Alertmanager's storage.path.
{ cat "$WORK/alertmanager.yml"; echo "state_dir: $WORK/ag-data"; } > "$WORK/alertgate.yml"

AM_WRAP=()
TMPL=/usr/share/prometheus/alertmanager/default.tmpl
if [ ! -f "$TMPL" ] && [ -f "$ROOT/.peers/root$TMPL" ]; then
  # See bench/idle.sh: Debian's Alertmanager needs its default template.
  AM_WRAP=(unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=/usr/share:$0" /usr/share && exec "$@"'
           "$ROOT/.peers/root/usr/share")
fi

start_tool() { # tool port
  rm -rf "$WORK/am-data" "$WORK/ag-data"
  case "$1" in
    alertmanager)
      "${AM_WRAP[@]}" "$PEERS/alertmanager" --config.file="$WORK/alertmanager.yml" \
        --storage.path="$WORK/am-data" --web.listen-address="127.0.0.1:$2" \
        --cluster.listen-address= --log.level=warn >"$WORK/tool.log" 2>&1 & ;;
    alertgate)
      ALERTGATE_LOG=warn "$ALERTGATE" run --config "$WORK/alertgate.yml" \
        --web.listen-address "127.0.0.1:$2" >"$WORK/tool.log" 2>&1 & ;;
  esac
  PID=$!
  for _ in $(seq 200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$2/-/healthy" 2>/dev/null; then return 0; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/tool.log" >&2
  echo "route.sh: $1 did not come up" >&2
  exit 1
}

stop_tool() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}

echo "| tool | time to deliver all (min–max) | of which after group_wait (min–max) | alerts/s after group_wait | tool CPU user + sys | tool peak RSS (min–max) | notifications | runs | load avg |"
echo "|---|---|---|---|---|---|---|---|---|"
for tool in ${TOOLS:-alertmanager alertgate}; do
  : > "$WORK/runs.jsonl"
  for r in $(seq "$RUNS"); do
    port="$(free_port)"
    start_tool "$tool" "$port"
    if ! python3 "$BENCH_DIR/route.py" drive --target "http://127.0.0.1:$port" \
        --webhook-port "$WP" --alerts "$ALERTS" --batch "$BATCH" --pid "$PID" \
        > "$WORK/run.json"; then
      cat "$WORK/run.json" "$WORK/tool.log" >&2
      echo "route.sh: $tool run $r: not every alert was delivered" >&2
      exit 1
    fi
    cat "$WORK/run.json" >> "$WORK/runs.jsonl"
    [ -n "${VERBOSE:-}" ] && cat "$WORK/run.json" >&2
    stop_tool
  done
  case "$tool" in
    alertmanager) ver="Alertmanager $("$PEERS/alertmanager" --version 2>&1 | awk 'NR==1{print $3}')" ;;
    alertgate) ver="alertgate run ($("$ALERTGATE" --version | head -1))" ;;
  esac
  python3 "$BENCH_DIR/route.py" summarize --name "$ver, $ALERTS alerts in batches of $BATCH" \
    --command "ALERTS=$ALERTS BATCH=$BATCH RUNS=$RUNS bash bench/route.sh" "$WORK/runs.jsonl"
done
