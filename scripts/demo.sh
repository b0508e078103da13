#!/usr/bin/env bash
# The main job: set up, build, and run the simulator on the built-in demo scenario.
# SEED picks the seed (default 1); extra arguments go to apogee-sim (for example --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh release
exec ./build/release/sim/apogee-sim run --scenario demo --seed "${SEED:-1}" "$@"
