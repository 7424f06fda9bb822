#!/usr/bin/env bash
# Benchmark 4: idle resident memory of `alertgate run`, Prometheus and
# Alertmanager, each started with a minimal config on 127.0.0.1, left alone
# for SETTLE seconds (default 60), then VmRSS/VmHWM read from /proc.
# Prometheus and alertgate load the 50 rules of bench/gen.py (evaluated every
# 1m) and scrape nothing, so their figure is "rule evaluator at rest";
# alertgate also routes (Alertmanager's minimal config: one receiver without
# integrations) and keeps its state directory. Target: alertgate < 20 MB.
#
#   bash bench/idle.sh             # SETTLE=60
source "$(dirname "$0")/common.sh"
SETTLE="${SETTLE:-60}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Four distinct free ports at once (held together, so never the same twice).
read -r GP PP AP CP < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
python3 "$BENCH_DIR/gen.py" unittest --series 100 --minutes 1 --out "$WORK/rules" 2>/dev/null

cat > "$WORK/prometheus.yml" <<YAML
global: {evaluation_interval: 1m}
rule_files: [$WORK/rules/rules.yml]
YAML
cat > "$WORK/alertmanager.yml" <<YAML
route: {receiver: default}
receivers: [{name: default}]
YAML

cat > "$WORK/alertgate.yml" <<YAML
rule_files: [$WORK/rules/rules.yml]
evaluation_interval: 1m
state_dir: $WORK/ag-data
route: {receiver: default}
receivers: [{name: default}]
YAML

ALERTGATE_LOG=warn "$ALERTGATE" run --config "$WORK/alertgate.yml" --web.listen-address "127.0.0.1:$GP" \
  >"$WORK/alertgate.log" 2>&1 &
PIDS+=($!); AG=$!
"$PEERS/prometheus" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PP" --log.level=warn >"$WORK/prom.log" 2>&1 &
PIDS+=($!); PROM=$!
# Debian's Alertmanager reads /usr/share/prometheus/alertmanager/default.tmpl;
# when the package is only unpacked into .peers/, overlay it in a private
# mount namespace instead of touching /usr/share.
AM_WRAP=()
TMPL=/usr/share/prometheus/alertmanager/default.tmpl
if [ ! -f "$TMPL" ] && [ -f "$ROOT/.peers/root$TMPL" ]; then
  AM_WRAP=(unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=/usr/share:$0" /usr/share && exec "$@"'
           "$ROOT/.peers/root/usr/share")
fi
"${AM_WRAP[@]}" "$PEERS/alertmanager" --config.file="$WORK/alertmanager.yml" --storage.path="$WORK/am-data" \
  --web.listen-address="127.0.0.1:$AP" --cluster.listen-address="127.0.0.1:$CP" \
  --log.level=warn >"$WORK/am.log" 2>&1 &
PIDS+=($!); AM=$!

sleep "$SETTLE"
rss() { awk -v k="$2:" '$1==k {printf "%.1f", $2/1024}' "/proc/$1/status"; }
echo "| process | VmRSS after ${SETTLE}s | VmHWM (peak) | threads | load avg |"
echo "|---|---|---|---|---|"
for p in "alertgate-run $AG" "prometheus $PROM" "alertmanager $AM"; do
  set -- $p
  if [ -d "/proc/$2" ]; then
    echo "| $1 | $(rss "$2" VmRSS) MiB | $(rss "$2" VmHWM) MiB | $(awk '$1=="Threads:"{print $2}' "/proc/$2/status") | $(cut -d' ' -f1-3 /proc/loadavg) |"
    BENCH_DIR="$BENCH_DIR" python3 - "$1" "$2" "$SETTLE" <<'PY' >> "${BENCH_RESULTS:-$DATA/results.jsonl}"
import datetime, json, os, sys
sys.path.insert(0, os.environ["BENCH_DIR"])
from measure import machine
name, pid, settle = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
mib = lambda k: int(st[k].split()[0]) / 1024
print(json.dumps({
    "name": f"idle {name}", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": machine(), "loadavg": open("/proc/loadavg").read().split()[:3],
    "command": f"SETTLE={settle} bash bench/idle.sh", "settle_s": settle,
    "vmrss_mib": mib("VmRSS"), "vmhwm_mib": mib("VmHWM"), "threads": int(st["Threads"])}))
PY
  else
    echo "| $1 | exited early, see log | | | |"; cat "$WORK"/*.log >&2
  fi
done
