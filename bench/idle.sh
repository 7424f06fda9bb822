#!/usr/bin/env bash
# Benchmark 4 (peers only for now): idle resident memory of Prometheus and
# Alertmanager, each started with a minimal config on 127.0.0.1, left alone
# for SETTLE seconds (default 60), then VmRSS/VmHWM read from /proc. Prometheus
# loads the 50 rules of bench/gen.py and scrapes nothing, so its figure is
# "rule evaluator at rest". `alertgate run` is added once it exists.
#
#   bash bench/idle.sh             # SETTLE=60
source "$(dirname "$0")/common.sh"
SETTLE="${SETTLE:-60}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
python3 "$BENCH_DIR/gen.py" unittest --series 100 --minutes 1 --out "$WORK/rules" 2>/dev/null

cat > "$WORK/prometheus.yml" <<YAML
global: {evaluation_interval: 1m}
rule_files: [$WORK/rules/rules.yml]
YAML
cat > "$WORK/alertmanager.yml" <<YAML
route: {receiver: default}
receivers: [{name: default}]
YAML

PP="$(free_port)"
"$PEERS/prometheus" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PP" --log.level=warn >"$WORK/prom.log" 2>&1 &
PIDS+=($!); PROM=$!
AP="$(free_port)"; CP="$(free_port)"
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
echo "| process | VmRSS after ${SETTLE}s | VmHWM (peak) |"
echo "|---|---|---|"
for p in "prometheus $PROM" "alertmanager $AM"; do
  set -- $p
  if [ -d "/proc/$2" ]; then
    echo "| $1 | $(rss "$2" VmRSS) MiB | $(rss "$2" VmHWM) MiB |"
  else
    echo "| $1 | exited early, see log | |"; cat "$WORK"/*.log >&2
  fi
done
"$ALERTGATE" --help | grep -qE '^\s+run\s' || echo "| alertgate run | not implemented yet | |"
