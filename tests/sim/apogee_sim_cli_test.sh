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

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "apogee-sim CLI: all checks passed"
