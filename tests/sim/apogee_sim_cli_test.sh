#!/usr/bin/env bash
# Tests of the apogee-sim command as CI uses it: the JSON fields, one exit code per outcome,
# replays that print the same trace hash, and usage errors. Usage: apogee_sim_cli_test.sh BINARY
set -u
sim="$1"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# `list` names the demo scenario.
"$sim" list | grep -q '^demo ' || fail "list does not show the demo scenario"

# `run --json` prints one object with the promised fields and exits 0 on a pass.
out=$("$sim" run --scenario demo --seed 5 --json); rc=$?
[ "$rc" -eq 0 ] || fail "demo seed 5 exited $rc"
for field in scenario seed outcome trace_hash sim_time_ms wall_time_ms events; do
  echo "$out" | grep -q "\"$field\":" || fail "JSON lacks $field: $out"
done
echo "$out" | grep -q '"outcome":"pass"' || fail "outcome is not pass: $out"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "JSON is not one line"

# The same seed replays to the same trace hash; another seed gives another.
hash() { "$sim" run --scenario demo --seed "$1" --json | sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/'; }
h1=$(hash 5); h2=$(hash 5); h3=$(hash 6)
[ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "seed 5 replayed to $h2, first run $h1"
[ "$h1" != "$h3" ] || fail "seeds 5 and 6 gave the same trace hash $h1"

# Text output ends with the replay command.
"$sim" run --scenario demo --seed 5 | grep -q 'replay: apogee-sim run --scenario demo --seed 5' \
  || fail "text output lacks the replay command"

# The determinism checker passes a clean run and exits 4 on injected nondeterminism.
"$sim" run --scenario demo --seed 3 --check-determinism > /dev/null; rc=$?
[ "$rc" -eq 0 ] || fail "--check-determinism on a clean run exited $rc"
out=$("$sim" run --scenario demo --seed 3 --check-determinism --inject-nondeterminism --json); rc=$?
[ "$rc" -eq 4 ] || fail "injected nondeterminism exited $rc, want 4"
echo "$out" | grep -q '"outcome":"nondeterminism"' || fail "outcome is not nondeterminism: $out"
echo "$out" | grep -q 'first divergence at step' || fail "no diverging step named: $out"

# A failed assertion in the code under test is outcome crash, exit 2, with the report.
out=$("$sim" run --scenario demo --seed 3 --inject-crash --json 2> /dev/null); rc=$?
[ "$rc" -eq 2 ] || fail "injected crash exited $rc, want 2"
echo "$out" | grep -q '"outcome":"crash"' || fail "outcome is not crash: $out"
echo "$out" | grep -q 'crash injected by --inject-crash' || fail "crash report lacks the message: $out"
echo "$out" | grep -q 'seed=3' || fail "crash report lacks the seed: $out"
for field in trace_hash sim_time_ms wall_time_ms events; do
  echo "$out" | grep -q "\"$field\":" || fail "crash JSON lacks $field: $out"
done
echo "$out" | grep -q '"sim_time_ms":1000.000' || fail "crash not reported at 1 s: $out"

# Usage errors exit 64 and say why.
"$sim" run --scenario no-such-scenario --seed 1 2> /tmp/apogee-cli-err.$$; rc=$?
[ "$rc" -eq 64 ] || fail "unknown scenario exited $rc, want 64"
grep -q "no scenario 'no-such-scenario'" /tmp/apogee-cli-err.$$ || fail "unknown scenario not named"
"$sim" run --scenario demo 2> /dev/null; [ $? -eq 64 ] || fail "missing --seed not a usage error"
"$sim" run --scenario demo --seed 12x 2> /dev/null; [ $? -eq 64 ] || fail "bad seed not a usage error"
"$sim" frobnicate 2> /dev/null; [ $? -eq 64 ] || fail "unknown command not a usage error"
rm -f /tmp/apogee-cli-err.$$

# --- sweep: parallel runs, summary, JUnit, repro files, sharding ---
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$sim" sweep --scenario demo --seeds 4..7 --jobs 2 --out "$work/ok" --no-progress 2> /dev/null; rc=$?
[ "$rc" -eq 0 ] || fail "a passing sweep exited $rc"
grep -q '"runs":4' "$work/ok/summary.json" || fail "summary does not count 4 runs: $(cat "$work/ok/summary.json")"
grep -q '"failed":0' "$work/ok/summary.json" || fail "summary counts failures on a passing sweep"
[ "$(grep -c '<testcase ' "$work/ok/junit.xml")" -eq 4 ] || fail "JUnit lacks one case per seed"
grep -q 'name="seed-7"' "$work/ok/junit.xml" || fail "JUnit lacks seed 7"
[ -z "$(ls "$work/ok/failures")" ] || fail "a passing sweep wrote repro files"

# Each failing run gets a repro file, a JUnit failure, and the sweep exits with its outcome.
"$sim" sweep --scenario demo --seeds 2 --jobs 2 --out "$work/bad" --inject-crash --no-progress \
  2> /dev/null; rc=$?
[ "$rc" -eq 2 ] || fail "a crashing sweep exited $rc, want 2"
[ "$(grep -c '<failure ' "$work/bad/junit.xml")" -eq 2 ] || fail "JUnit lacks the 2 failures"
[ -f "$work/bad/failures/demo-seed-2.repro.json" ] || fail "no repro file for seed 2"
# Replaying it reproduces the crash with the recorded trace hash.
want=$(sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/' "$work/bad/failures/demo-seed-2.repro.json")
out=$("$sim" replay "$work/bad/failures/demo-seed-2.repro.json" 2> /dev/null); rc=$?
[ "$rc" -eq 2 ] || fail "replay of a crash exited $rc, want 2"
echo "$out" | grep -q "trace_hash: $want" || fail "replay hash differs from $want: $out"

# Replaying a passing run checks its hash and says so; a wrong hash is nondeterminism (4).
h=$("$sim" run --scenario demo --seed 9 --json | sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/')
printf '{"format":"apogee-repro/1","scenario":"demo","seed":9,"build_id":"x","outcome":"pass","trace_hash":"%s","sim_time_ms":0,"violations":[],"fault_plan":[]}\n' "$h" > "$work/pass.json"
"$sim" replay "$work/pass.json" 2> /dev/null | grep -q "trace hash $h matches" || fail "replay did not confirm $h"
sed "s/$h/0000000000000001/" "$work/pass.json" > "$work/wrong.json"
"$sim" replay "$work/wrong.json" > /dev/null 2>&1; rc=$?
[ "$rc" -eq 4 ] || fail "replay with a wrong hash exited $rc, want 4"
echo '{"format":"nope"}' > "$work/junk.json"
"$sim" replay "$work/junk.json" > /dev/null 2>&1; [ $? -eq 64 ] || fail "a bad repro file is not a usage error"

# Sharding: --shard and the GTEST_* variables split the pairs; the shards cover them once.
"$sim" sweep --scenario demo --seeds 5 --shard 0/2 --out "$work/s0" --no-progress 2> /dev/null
GTEST_SHARD_INDEX=1 GTEST_TOTAL_SHARDS=2 "$sim" sweep --scenario demo --seeds 5 --out "$work/s1" \
  --no-progress 2> /dev/null
seeds() { grep -o 'name="seed-[0-9]*"' "$1/junit.xml" | tr -dc '0-9\n' | sort -n | tr '\n' ' '; }
[ "$(seeds "$work/s0")" = "1 3 5 " ] || fail "shard 0/2 ran seeds $(seeds "$work/s0")"
[ "$(seeds "$work/s1")" = "2 4 " ] || fail "shard 1/2 ran seeds $(seeds "$work/s1")"
"$sim" sweep --shard 2/2 2> /dev/null; [ $? -eq 64 ] || fail "shard 2/2 is not a usage error"

# --- fault plans: given plans, validation, shrinking, HTML reports ---
# A cluster scenario reports the plan it carried out; giving that plan back replays the run.
out=$("$sim" run --scenario longpoll-broker-restart --seed 2 --json); rc=$?
[ "$rc" -eq 0 ] || fail "longpoll-broker-restart seed 2 exited $rc"
plan=$(echo "$out" | sed 's/.*"fault_plan":\(\[.*\]\)}$/\1/')
echo "$plan" | grep -q '"type":"crash"' || fail "no crash in the reported plan: $plan"
h=$(echo "$out" | sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/')
h2=$("$sim" run --scenario longpoll-broker-restart --seed 2 --json --plan-json "$plan" \
  | sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/')
[ "$h" = "$h2" ] || fail "the drawn plan given back ran to $h2, not $h"
echo "$plan" > "$work/plan.json"
h3=$("$sim" run --scenario longpoll-broker-restart --seed 2 --json --plan "$work/plan.json" \
  | sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/')
[ "$h" = "$h3" ] || fail "--plan FILE ran to $h3, not $h"
# Plans that do not fit are usage errors that say why.
"$sim" run --scenario longpoll-broker-restart --seed 2 \
  --plan-json '[{"at_ms":1000,"duration_ms":500,"type":"crash","a":"no-such-node","crash":"drop"}]' \
  2> "$work/err"; rc=$?
[ "$rc" -eq 64 ] || fail "a plan naming an unknown node exited $rc, want 64"
grep -q "'no-such-node' is not a node" "$work/err" || fail "unknown node not named: $(cat "$work/err")"
"$sim" run --scenario longpoll-broker-restart --seed 2 --plan-json '[{"at_ms":' 2> /dev/null
[ $? -eq 64 ] || fail "a malformed plan is not a usage error"
"$sim" run --scenario demo --seed 2 --plan-json '[]' 2> "$work/err"; rc=$?
[ "$rc" -eq 64 ] && grep -q "takes no fault plan" "$work/err" || fail "demo took a plan (rc $rc)"

# A sweep whose runs fail (the test hook makes every applied crash a violation) writes each
# failure's repro with its plan, shrinks it to the one crash that matters, and writes an HTML
# report of the shrunk run, confirmed by replaying it.
"$sim" sweep --scenario longpoll-broker-restart --seeds 2..2 --jobs 1 --out "$work/shrunk" \
  --inject-violation-on=crash --shrink-runs 30 --no-progress 2> "$work/sweep.err"; rc=$?
[ "$rc" -eq 1 ] || fail "a violating sweep exited $rc, want 1: $(cat "$work/sweep.err")"
f="$work/shrunk/failures/longpoll-broker-restart-seed-2"
grep -q '"fault_plan":\[{' "$f.repro.json" || fail "the repro file lacks the plan"
[ -f "$f.min.repro.json" ] || fail "no shrunk repro file"
min_plan=$(sed 's/.*"fault_plan":\(\[[^]]*\]\).*/\1/' "$f.min.repro.json")
orig_plan=$(sed 's/.*"original_fault_plan":\(\[[^]]*\]\).*/\1/' "$f.min.repro.json")
[ "$(echo "$min_plan" | grep -o '"at_ms"' | wc -l)" -eq 1 ] || fail "shrunk plan: $min_plan"
echo "$min_plan" | grep -q '"type":"crash"' || fail "the shrunk plan is not a crash: $min_plan"
[ "$(echo "$orig_plan" | grep -o '"at_ms"' | wc -l)" -gt 1 ] || fail "original plan: $orig_plan"
grep -q '"violations":\["injected:' "$f.min.repro.json" || fail "shrunk run lost its violation"
grep -q '"shrink":"[0-9]* faults -> 1 in' "$f.min.repro.json" || fail "no shrink summary"
grep -q 'Fault plan (1 faults)' "$f.html" || fail "the HTML report lacks the shrunk plan"
grep -q '<svg' "$f.html" || fail "the HTML report lacks the timeline"
grep -q '"replayed":true' "$work/shrunk/summary.json" || fail "summary does not confirm the replay"
grep -q 'min.repro.json' "$work/shrunk/junit.xml" || fail "JUnit does not name the shrunk repro"
# The shrunk file replays to its own trace hash.
"$sim" replay "$f.min.repro.json" > "$work/replay.out" 2> /dev/null; rc=$?
[ "$rc" -eq 1 ] || fail "replay of the shrunk file exited $rc, want 1"
grep -q "matches the recorded" "$work/replay.out" || fail "shrunk replay: $(tail -1 "$work/replay.out")"
# `apogee-sim shrink FILE` does the same from the command line.
"$sim" shrink "$f.repro.json" --out "$work/cli.min.json" --max-runs 30 > "$work/shrink.out" \
  2> /dev/null; rc=$?
[ "$rc" -eq 1 ] || fail "shrink exited $rc, want 1 (the minimal run's outcome)"
grep -q "replay: apogee-sim replay $work/cli.min.json" "$work/shrink.out" \
  || fail "shrink did not print the replay command: $(cat "$work/shrink.out")"
grep -q '"type":"crash"' "$work/cli.min.json" || fail "shrink wrote no crash"
"$sim" shrink "$work/pass.json" 2> "$work/err"; [ $? -eq 64 ] \
  || fail "shrinking a scenario without plans is not a usage error"
# A crashing run still gets an HTML report, without a timeline.
grep -q 'left no timeline' "$work/bad/failures/demo-seed-2.html" \
  || fail "the crashed run's HTML report is missing or says nothing"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "apogee-sim CLI: all checks passed"
