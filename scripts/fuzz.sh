#!/usr/bin/env bash
# Runs every coverage-guided fuzz target of fuzz/ (cargo-fuzz, libFuzzer, nightly
# toolchain) for a bounded time each, from the seed corpus of real messages that
# scripts/fuzz_corpus.py builds out of ../shared/data (built first when absent).
# A crash stops that target, leaves the input in fuzz/artifacts/<target>/ and makes the
# script exit non-zero; the summary line of each target gives its executions.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60
#   TARGET              binance, bybit, okx, hyperliquid, book (default: all)
# Environment: CARGO_TARGET_DIR (where the fuzz build goes).
# Reproduce a crash: cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(binance bybit okx hyperliquid book)
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz
fi
if [[ ! -d fuzz/corpus ]]; then
  python3 scripts/fuzz_corpus.py
fi

cd fuzz
cargo +nightly fuzz build
failed=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  # -max_len: the recordings' REST snapshots and the generated long frames are up to a
  # few hundred KB. -timeout: one input taking 10 s is a hang worth reporting.
  if cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$secs" -max_len=400000 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1; then
    verdict=ok
  else
    verdict=CRASH
    failed=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}')
  echo "fuzz $target: $verdict, $runs executions in ${secs} s, coverage ${cov:-?} edges (log $PWD/$log)"
done
exit "$failed"
