#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need
# when it is missing, then runs unit, integration and conformance tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Peers the integration tests compare against (Prometheus, promtool,
# Alertmanager, amtool, VictoriaMetrics) from Debian sid into .peers/.
bash scripts/fetch-peers.sh

# SMTP server for the email tests.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore aiosmtpd
fi

# Headless Chromium renders the service's status page (tests/service_page.rs).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# systemd-analyze checks the unit files in examples/systemd/ (Debian package
# systemd; installing it in a container starts nothing).
if ! command -v systemd-analyze >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd
fi

# Quality gates: rustfmt and clippy (components of the Rust toolchain).
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

export PATH="$PWD/.peers/bin:$PATH"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo build --locked --bins
cargo test --locked --lib --test integration
# Prometheus's own PromQL test scripts against the embedded engine; fails on
# a regression against tests/conformance/baseline.txt.
cargo test --locked --test conformance
