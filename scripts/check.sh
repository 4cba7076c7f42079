#!/usr/bin/env bash
# The project's checks, in the order CI runs them; runnable by hand from the repo root.
# Usage: scripts/check.sh        (formatting, lints, then the README's test command)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test (the README's test command)"
cargo test
