#!/usr/bin/env bash
# Soak: run `edgeline run` against the built-in simulator (all four venues, with a fault
# plan that keeps dropping, stalling, garbling and cutting connections) for a long time and
# sample the process's resident set (VmRSS from /proc/PID/status) every few seconds, to see
# whether memory is bounded. Writes `rss.csv` (elapsed seconds, RSS in KiB), the run's
# stdout/stderr and the configuration used into the output folder.
#
# Usage: scripts/soak.sh [MINUTES] [OUTPUT_DIR] [BINARY]
#   MINUTES     run length (default 25)
#   OUTPUT_DIR  folder for the run's files (default soak-out)
#   BINARY      edgeline binary (default: target/debug/edgeline, built if absent)
# Environment: SOAK_SAMPLE_SECS (default 10), SOAK_FAULTS=0 for the plain default run,
#   SOAK_NICE (default 10; the run is niced so it shares the machine politely).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-25}
out=${2:-soak-out}
bin=${3:-${CARGO_TARGET_DIR:-target}/debug/edgeline}
sample=${SOAK_SAMPLE_SECS:-10}
niceness=${SOAK_NICE:-10}

if [[ ! -x $bin ]]; then
  cargo build --bin edgeline
fi
mkdir -p "$out"
config="$out/soak.toml"
secs=$((minutes * 60))

# The instruments of examples/all-venues.toml (its `duration_secs` line dropped: the run
# length comes from --duration).
grep -v '^duration_secs' examples/all-venues.toml >"$config"
if [[ ${SOAK_FAULTS:-1} != 0 ]]; then
  cat >>"$config" <<'TOML'

[simulator]
# Each fault hits up to `connections` connections in turn, so it recurs all run long.
[[simulator.faults]]
venue = "binance"
kind = "perp"
action = "close"
after_frames = 20000
connections = 100000

[[simulator.faults]]
venue = "bybit"
kind = "spot"
action = "garbage"
after_frames = 5000
connections = 100000

[[simulator.faults]]
venue = "okx"
kind = "perp"
action = "truncate"
after_frames = 5000
connections = 100000

[[simulator.faults]]
venue = "hyperliquid"
kind = "perp"
action = "stall"
after_frames = 3000
connections = 100000

[[simulator.faults]]
venue = "binance"
kind = "spot"
action = "skip_sequence"
after_frames = 10000
connections = 100000
TOML
fi

csv="$out/rss.csv"
echo "elapsed_s,rss_kib" >"$csv"
nice -n "$niceness" "$bin" run --config "$config" --duration "$secs" --output "$out/run" \
  >"$out/stdout.txt" 2>"$out/stderr.txt" &
pid=$!
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [[ -n $rss ]] && echo "$(( $(date +%s) - start )),$rss" >>"$csv"
  sleep "$sample"
done
rc=0
wait "$pid" || rc=$?
echo "exit status $rc" >"$out/rc.txt"
echo "soak: $minutes min, exit $rc; RSS samples in $csv"
awk -F, 'NR > 1 { if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; last = $2 }
  END { printf "RSS KiB: min %d, max %d, last %d\n", min, max, last }' "$csv"
