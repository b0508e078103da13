#!/usr/bin/env bash
# Set up, build and run the whole test suite: once in the release build, and once more under
# AddressSanitizer + UndefinedBehaviorSanitizer (the fiber runtime announces every stack switch
# to ASan, so the sanitized run covers code on fiber stacks too). Then a bounded simulator sweep
# of every scenario (SWEEP_SEEDS seeds each, 50 by default), whose summary, JUnit XML and repro
# files stay in run-reports/sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs="$(nproc)"
for preset in release asan; do
  echo "=== $preset: build"
  ./scripts/build.sh "$preset"
  echo "=== $preset: test"
  ctest --preset "$preset" -j "$jobs"
done

echo "=== sweep: ${SWEEP_SEEDS:-50} seeds of every scenario"
rm -rf run-reports/sweep
./build/release/sim/apogee-sim sweep --seeds "${SWEEP_SEEDS:-50}" --jobs "$jobs" \
  --out run-reports/sweep --no-progress
