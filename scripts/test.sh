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
# are committed (testdata/r/); R is needed only to regenerate them.
DEB_PACKAGES=()
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "==> installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step() { echo; echo "==> $*"; "$@"; }

step cargo fmt --all --check
step cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo test --workspace --locked
RUSTDOCFLAGS="-D warnings" step cargo doc --workspace --no-deps --locked
echo
echo "==> all checks passed"
