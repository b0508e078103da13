#!/usr/bin/env bash
# Set up, build and run the whole test suite: once in the release build, and once more under
# AddressSanitizer + UndefinedBehaviorSanitizer (the fiber runtime announces every stack switch
# to ASan, so the sanitized run covers code on fiber stacks too).
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
