#!/usr/bin/env bash
# Fetches the peer releases the tests compare against (Prometheus/promtool 3.5,
# Alertmanager/amtool 0.33, VictoriaMetrics 1.145) from Debian sid with
# `apt-get download` through a private sources list, and unpacks them with
# `dpkg -x` into .peers/ (git-ignored). Nothing is installed system-wide.
# Idempotent: does nothing when every binary is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="$root/.peers"
bin="$peers/bin"
want=(prometheus promtool alertmanager amtool victoria-metrics)
missing=0
for b in "${want[@]}"; do [[ -x "$bin/$b" ]] || missing=1; done
if [[ $missing == 0 ]]; then
  exit 0
fi

apt_dir="$peers/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$peers/debs" "$peers/root" "$bin"

# Same mirror URI as the machine's own sources, suite sid.
uri=""
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [[ -z $uri && -f /etc/apt/sources.list ]]; then
  uri=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
uri=${uri:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $uri sid main" > "$apt_dir/sources.list"

apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache::Archives=$apt_dir/archives"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Architecture=amd64"
)
mkdir -p "$apt_dir/cache"
echo "fetch-peers: updating the private sid package list" >&2
apt-get "${apt_opts[@]}" update -qq >&2

cd "$peers/debs"
for pkg in prometheus promtool prometheus-alertmanager victoria-metrics; do
  if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
    echo "fetch-peers: downloading $pkg" >&2
    apt-get "${apt_opts[@]}" download "$pkg" 2>&1 | grep -v "^W: Download is performed unsandboxed" >&2 || true
  fi
done
for deb in *.deb; do
  dpkg -x "$deb" "$peers/root"
done
# Debian names the Alertmanager binary prometheus-alertmanager.
link() { [[ -x "$peers/root/usr/bin/$1" ]] && ln -sf "$peers/root/usr/bin/$1" "$bin/$2"; return 0; }
for b in prometheus promtool amtool victoria-metrics vmalert; do link "$b" "$b"; done
link prometheus-alertmanager alertmanager
for b in "${want[@]}"; do
  [[ -x "$bin/$b" ]] || { echo "fetch-peers: $b missing after unpack" >&2; exit 1; }
done
"$bin/promtool" --version 2>&1 | head -1 >&2
"$bin/amtool" --version 2>&1 | head -1 >&2
