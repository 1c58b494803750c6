#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need, then
# fmt, clippy (-D warnings), tests, docs (-D warnings).
#
#   ./scripts/test.sh
#
# Runs on a fresh Debian machine with a Rust toolchain (as root, or with sudo for apt).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need. The judge's tests need none: the R reference values
# are committed (testdata/r/); R is needed only to regenerate them. `prometheus` (with
# `promtool`) runs the Prometheus source's tests against a real server on 127.0.0.1;
# `postgresql` runs the store's tests against a real PostgreSQL on 127.0.0.1 (the tests
# start their own cluster in a temporary directory).
DEB_PACKAGES=(prometheus postgresql chromium)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  # Installed means "install ok installed" (a removed package can leave its config behind,
  # and `dpkg -s` would still succeed).
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=()
  [ "$(id -u)" -ne 0 ] && SUDO=(sudo)
  echo "==> installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  # `env` so that the variable survives sudo, which resets the environment. Debian's
  # policy-rc.d keeps the packaged service from starting: the tests start their own.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step() { echo; echo "==> $*"; "$@"; }

step cargo fmt --all --check
step cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo test --workspace --locked
RUSTDOCFLAGS="-D warnings" step cargo doc --workspace --no-deps --locked
echo
echo "==> all checks passed"
