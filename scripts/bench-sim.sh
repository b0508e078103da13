#!/usr/bin/env bash
# Simulator speed (reports/simulation.md, issue 5): how fast apogee-sim runs one scenario.
#
#   scripts/bench-sim.sh [BUILD_DIR]        default build/release
#
# Three measurements, one after another (never two at once, so they do not share the cores):
#   1. RUNS seeds run one at a time, each under /usr/bin/time: the run's own JSON (simulated
#      time, in-process wall time, events) plus the process's wall time, user CPU and peak RSS.
#      Medians: simulated-to-wall ratio (by the run's own wall time, and by the whole process),
#      simulated-to-CPU ratio, events per wall second, peak RSS.
#   2. A sweep of SWEEP_SEEDS seeds with --jobs JOBS: seeds per second over the whole sweep
#      (process start, checking and report writing included; failures are not shrunk, so the
#      figure counts the seeds' own runs only).
#   3. A replay: a repro file (sim/repro.h's format) written by hand from the first run's seed
#      and trace hash, replayed REPLAYS times; the median wall time of `apogee-sim replay`.
#
# Environment:
#   SCENARIO=reference   the scenario
#   RUNS=5               seeds 1..RUNS for (1)
#   SWEEP_SEEDS=40       seeds for (2), numbered from 1001 so they differ from (1)
#   JOBS=2               sweep parallelism
#   REPLAYS=3            replays for (3)
#   KEEP=1               keep the temporary directory (raw JSON, sweep reports)
# The outcome of each run is printed: the benchmark measures runs that fail as well, but a
# benchmark of runs that all fail early would be meaningless, so read the outcomes.
set -euo pipefail

BUILD_DIR=${1:-build/release}
SCENARIO=${SCENARIO:-reference}
RUNS=${RUNS:-5}
SWEEP_SEEDS=${SWEEP_SEEDS:-40}
JOBS=${JOBS:-2}
REPLAYS=${REPLAYS:-3}
cd "$(dirname "$0")/.."
SIM="$BUILD_DIR/sim/apogee-sim"
[[ -x "$SIM" ]] || { echo "missing $SIM (build first)" >&2; exit 1; }
for tool in jq python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/apogee-bench-sim-XXXXXX")
cleanup() { if [[ -n "${KEEP:-}" ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

echo "scenario $SCENARIO, binary $SIM, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. single runs ---
echo
echo "== $RUNS runs, one at a time"
printf '%6s %-9s %9s %9s %8s %7s %11s %8s %9s\n' seed outcome sim_ms wall_ms user_s rss_MiB \
  events ev/s sim/wall
: >"$WORK/runs.jsonl"
for seed in $(seq 1 "$RUNS"); do
  rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time-$seed" \
    "$SIM" run --scenario "$SCENARIO" --seed "$seed" --json >"$WORK/run-$seed.json" || rc=$?
  if ! jq -e . "$WORK/run-$seed.json" >/dev/null 2>&1; then
    echo "seed $seed: exit $rc without a JSON report" >&2
    exit 1
  fi
  # The last line: a failing run's exit status comes first ("Command exited with ...").
  read -r elapsed user sys rss_kib < <(tail -1 "$WORK/time-$seed")
  jq -c --argjson elapsed "$elapsed" --argjson user "$user" --argjson sys "$sys" \
    --argjson rss "$rss_kib" \
    '{seed, outcome, trace_hash, sim_time_ms, wall_time_ms, events, fiber_resumes, timer_events,
      sends: (.counters.sends // null), elapsed_s: $elapsed, user_s: $user, sys_s: $sys,
      rss_kib: $rss}' "$WORK/run-$seed.json" >>"$WORK/runs.jsonl"
  jq -r '[.seed, .outcome, .sim_time_ms, .wall_time_ms, .user_s, (.rss_kib / 1024),
          .events, (.events / .wall_time_ms * 1000), (.sim_time_ms / .wall_time_ms)] |
         @tsv' <(tail -1 "$WORK/runs.jsonl") |
    awk -F'\t' '{printf "%6d %-9s %9.0f %9.1f %8.2f %7.1f %11d %8.0f %8.0fx\n",
                 $1, $2, $3, $4, $5, $6, $7, $8, $9}'
done

python3 - "$WORK/runs.jsonl" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
med = lambda xs: statistics.median(xs)
sim_s = [r["sim_time_ms"] / 1000 for r in runs]
print()
print("medians over %d runs:" % len(runs))
print("  simulated time      %8.1f s" % med(sim_s))
print("  wall (in process)   %8.3f s   sim/wall %6.0fx" % (
    med(r["wall_time_ms"] / 1000 for r in runs),
    med(r["sim_time_ms"] / r["wall_time_ms"] for r in runs)))
print("  wall (process)      %8.3f s   sim/wall %6.0fx" % (
    med(r["elapsed_s"] for r in runs),
    med(r["sim_time_ms"] / 1000 / max(r["elapsed_s"], 0.01) for r in runs)))
print("  user+sys CPU        %8.3f s   sim/CPU  %6.0fx" % (
    med(r["user_s"] + r["sys_s"] for r in runs),
    med(r["sim_time_ms"] / 1000 / max(r["user_s"] + r["sys_s"], 0.01) for r in runs)))
print("  events              %8d     per wall second %.0f" % (
    med(r["events"] for r in runs), med(r["events"] / r["wall_time_ms"] * 1000 for r in runs)))
if all(r["sends"] is not None for r in runs):
    print("  sends               %8d     (%.0f per simulated second of the whole run)" % (
        med(r["sends"] for r in runs), med(r["sends"] / (r["sim_time_ms"] / 1000) for r in runs)))
print("  peak RSS            %8.1f MiB (largest %.1f MiB)" % (
    med(r["rss_kib"] / 1024 for r in runs), max(r["rss_kib"] / 1024 for r in runs)))
EOF

# --- 2. a sweep ---
echo
echo "== sweep of $SWEEP_SEEDS seeds, --jobs $JOBS"
first=1001
last=$((first + SWEEP_SEEDS - 1))
start=$(date +%s.%N)
rc=0
/usr/bin/time -f '%M' -o "$WORK/time-sweep" \
  "$SIM" sweep --scenario "$SCENARIO" --seeds "$first..$last" --jobs "$JOBS" \
  --out "$WORK/sweep" --no-progress --no-shrink >"$WORK/sweep.out" 2>&1 || rc=$?
end=$(date +%s.%N)
tail -1 "$WORK/sweep.out"
echo "  build $(jq -r .build_id "$WORK/sweep/summary.json" 2>/dev/null), outcomes" \
  "$(jq -c .outcomes "$WORK/sweep/summary.json" 2>/dev/null)"
python3 - "$start" "$end" "$SWEEP_SEEDS" "$JOBS" "$rc" <<'EOF'
import sys
start, end, n, jobs, rc = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = end - start
print("  %d seeds in %.1f s: %.2f seeds/s with --jobs %s (exit %s); 10,000 seeds would take %.1f min"
      % (n, s, n / s, jobs, rc, 10000 / (n / s) / 60))
EOF

# --- 3. a replay ---
echo
echo "== replay of seed 1, $REPLAYS times"
build_id=$(jq -r '.build_id' "$WORK/sweep/summary.json" 2>/dev/null || echo unknown)
jq -c --arg build "$build_id" \
  '{format: "apogee-repro/1", scenario, seed, build_id: $build, outcome, trace_hash,
    sim_time_ms, violations, test_hooks: [], fault_plan: []}' \
  "$WORK/run-1.json" >"$WORK/seed-1.repro.json"
: >"$WORK/replays"
for _ in $(seq 1 "$REPLAYS"); do
  rc=0
  /usr/bin/time -f '%e %M' -o "$WORK/time-replay" \
    "$SIM" replay "$WORK/seed-1.repro.json" >"$WORK/replay.out" 2>&1 || rc=$?
  grep -q 'matches' "$WORK/replay.out" || { echo "replay did not match:" >&2; cat "$WORK/replay.out" >&2; }
  tail -1 "$WORK/time-replay" >>"$WORK/replays"
done
python3 - "$WORK/replays" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
print("  median %.3f s wall per replay (trace hash checked), peak RSS %.1f MiB"
      % (statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows) / 1024))
EOF
