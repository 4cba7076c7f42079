#!/usr/bin/env bash
# The end-to-end latency benchmark without criterion: the simulator offers a fixed rate
# through the real pipeline; .hgrm files land in bench/results/ named with scenario, rate,
# date and git revision. Extra arguments go to `edgeline bench e2e` (--rate, --duration,
# --scenario, --config).
# Usage: bench/e2e.sh [--rate 1000] [--duration 20]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
exec cargo run --release --quiet -- bench e2e --results bench/results "$@"
