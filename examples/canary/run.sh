#!/bin/sh
# Full canary cycle over the sample KPIs of tenant "acme": three GO days
# (10 % -> 25 % -> 50 % -> 100 %), a repeated rollout (changed=false) and a
# BACKOUT day. Runs in a temporary copy, so this directory stays clean.
# Usage: examples/canary/run.sh [path/to/alertgate]
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-alertgate}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/canary.yml" "$here/data" "$work/"
cd "$work"
for day in 2025-03-04 2025-03-05 2025-03-06 2025-03-07; do
  echo "\$ alertgate canary decide --tenant acme --date $day --now ${day}T06:30:00Z"
  "$bin" canary decide --tenant acme --date "$day" --now "${day}T06:30:00Z"
  echo "(exit $?)"
  echo "\$ alertgate canary rollout --tenant acme --now ${day}T06:35:00Z"
  "$bin" canary rollout --tenant acme --now "${day}T06:35:00Z"
  echo "(exit $?)"
  if [ "$day" = 2025-03-05 ]; then
    echo "\$ alertgate canary rollout --tenant acme --now ${day}T06:36:00Z   # repeat"
    "$bin" canary rollout --tenant acme --now "${day}T06:36:00Z"
    echo "(exit $?)"
  fi
done
echo "\$ alertgate canary status --tenant acme"
"$bin" canary status --tenant acme --now 2025-03-07T07:00:00Z
