#!/usr/bin/env bash
# Mutation campaign: which realistic broker bugs do the simulator's sweeps catch?
#
# Copies the committed tree (HEAD, `git archive`) into a work directory, builds apogee-sim once
# (Release, Ninja: the release preset's flags), sweeps the unmutated build once (the baseline must
# pass, or a catch means nothing), then for each mutant (mutants/NN-name.patch, see
# mutants/README.md): applies it, rebuilds apogee-sim only, sweeps, records whether a run failed
# (caught) and which scenario, seed, outcome and violation came first, and reverts it.
#
# Writes a Markdown table to reports/mutants.md (with the command, date and build id); whatever
# follows the line "<!-- notes -->" in the existing report (the hand-written analysis of the
# survivors) is kept. Exits 0 when every mutant was caught, 1 when one survived, did not apply
# or did not build, or when the baseline failed; 64 on a usage error.
#
# Usage: scripts/mutants.sh [options]
#   --seeds N | FIRST..LAST  seeds of each scenario (default 50: the CI budget of scripts/test.sh)
#   --scenario A,B           scenarios, in this order (default: every one, in `apogee-sim list` order)
#   --mutants 01,07,...      mutants by number or name (default: every mutants/*.patch)
#   --jobs N                 parallel runs (default: nproc)
#   --full                   sweep every scenario for every mutant (default: stop at the first
#                            scenario that catches it; later scenarios are not run)
#   --no-baseline            skip the sweep of the unmutated build
#   --timeout S              per-run timeout of the sweep (default: the sweep's)
#   --out FILE               the report (default: reports/mutants.md)
#   --work DIR               work directory, outside any git repository (default: a new one
#                            under /tmp, removed at the end unless --keep)
#   --keep                   keep the work directory (sources, build, sweep outputs)
#   --reuse-build            with --work: keep the build an earlier campaign left there (every
#                            file a mutant patches is touched, so none stays built mutated)
#
# "Runs to catch" counts runs in sweep order (scenarios in the order given, seeds ascending
# within each) up to and including the first failing one: the budget a sweep needs to catch it.
set -euo pipefail

# usage [CODE]: the header above, then exit CODE (64: a usage error).
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit "${1:-64}"
}

seeds=50
scenarios_arg=""
mutants_arg=""
jobs="$(nproc)"
full=0
baseline=1
timeout_arg=()
out=""
work=""
keep=0
reuse=0
command_line="scripts/mutants.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="${2:?--seeds needs a value}"; shift 2 ;;
    --scenario | --scenarios) scenarios_arg="${2:?--scenario needs names}"; shift 2 ;;
    --mutants) mutants_arg="${2:?--mutants needs a list}"; shift 2 ;;
    --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
    --full) full=1; shift ;;
    --no-baseline) baseline=0; shift ;;
    --timeout) timeout_arg=(--timeout "${2:?--timeout needs seconds}"); shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --work) work="${2:?--work needs a directory}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --reuse-build) reuse=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "mutants.sh: unknown option $1" >&2; usage ;;
  esac
done

repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
cd "$repo"
out="${out:-$repo/reports/mutants.md}"
case "$out" in /*) ;; *) out="$repo/$out" ;; esac
commit="$(git rev-parse HEAD)"
build_id="$(git describe --always --abbrev=12 HEAD)"
if [[ "$seeds" == *..* ]]; then
  seed_first="${seeds%..*}"
  seed_count=$((${seeds#*..} - seed_first + 1))
else
  seed_first=1
  seed_count="$seeds"
fi

# The mutants: every patch of mutants/ in this checkout (so a new one can be tried before it is
# committed), or those named.
mapfile -t all_mutants < <(find "$repo/mutants" -maxdepth 1 -name '*.patch' | sort)
mutants=()
if [ -z "$mutants_arg" ]; then
  mutants=("${all_mutants[@]}")
else
  IFS=',' read -r -a wanted <<<"$mutants_arg"
  for w in "${wanted[@]}"; do
    match=""
    for m in "${all_mutants[@]}"; do
      b="$(basename "$m" .patch)"
      if [ "$b" = "$w" ] || [[ "$b" == "$w"-* ]]; then match="$m"; fi
    done
    if [ -z "$match" ]; then
      echo "mutants.sh: no mutant $w in mutants/" >&2
      exit 64
    fi
    mutants+=("$match")
  done
fi
[ ${#mutants[@]} -gt 0 ] || { echo "mutants.sh: no mutants" >&2; exit 64; }
mutants_dirty=""
if [ -n "$(git status --porcelain -- mutants)" ]; then
  mutants_dirty=" (mutants/ has uncommitted changes)"
fi

# The committed tree, built once.
made_work=0
if [ -z "$work" ]; then
  work="$(mktemp -d /tmp/apogee-mutants.XXXXXX)"
  made_work=1
fi
mkdir -p "$work"
# $src is a plain copy, patched with `git apply` outside any repository: inside one, git apply
# would take paths relative to that repository instead.
if git -C "$work" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "mutants.sh: the work directory $work is inside a git repository; pick another" >&2
  exit 64
fi
cleanup() { if [ "$keep" = 0 ] && [ "$made_work" = 1 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
src="$work/src"
build="$work/build"
runs="$work/runs"
# Always a fresh build: `git archive` gives files their commit time, so a build left by an earlier
# campaign (its last mutant applied) would look newer than the restored sources.
rm -rf "$src" "$runs"
[ "$reuse" = 1 ] || rm -rf "$build"
mkdir -p "$src" "$runs"
git archive HEAD | tar -x -C "$src"
if [ "$reuse" = 1 ]; then
  grep -h '^+++ b/' "${all_mutants[@]}" | sed 's|^+++ b/||' | sort -u | while read -r f; do
    if [ -f "$src/$f" ]; then touch "$src/$f"; fi
  done
fi
echo "=== mutants: building apogee-sim at $build_id in $work"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$work/configure.log"
build_sim() { cmake --build "$build" --target apogee-sim -j "$jobs" >"$1" 2>&1; }
build_sim "$work/build-base.log" || {
  echo "mutants.sh: the unmutated tree does not build; see $work/build-base.log" >&2
  exit 1
}
sim="$build/sim/apogee-sim"

if [ -n "$scenarios_arg" ]; then
  IFS=',' read -r -a scenarios <<<"$scenarios_arg"
else
  mapfile -t scenarios < <("$sim" list | awk '{print $1}')
fi
budget_runs=$((seed_count * ${#scenarios[@]}))

# sweep NAME SCENARIO[,SCENARIO...]: runs one sweep into $runs/NAME; its failure lines
# ("SCENARIO seed N: OUTCOME: VIOLATION") go to $runs/NAME/failures.txt, sorted by seed.
sweep() {
  local dir="$runs/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$sim" sweep --scenario "$2" --seeds "$seed_first..$((seed_first + seed_count - 1))" \
    --jobs "$jobs" --out "$dir/out" --no-progress --no-reports "${timeout_arg[@]}" \
    2>"$dir/stderr" || true
  grep -E '^[^ ]+ seed [0-9]+: [a-z]+' "$dir/stderr" | tr -d '\r' | sort -t' ' -k3,3n \
    >"$dir/failures.txt" || true
}

# md TEXT: TEXT made safe for a Markdown table cell, at most 200 characters.
md() {
  local s="${1//|/\\|}"
  s="${s//$'\n'/ }"
  [ ${#s} -gt 200 ] && s="${s:0:197}..."
  printf '%s' "$s"
}

rows=()
failed_overall=0
baseline_line="not run (--no-baseline)"
if [ "$baseline" = 1 ]; then
  echo "=== mutants: baseline sweep ($budget_runs runs)"
  all="$(IFS=,; echo "${scenarios[*]}")"
  sweep baseline "$all"
  n="$(wc -l <"$runs/baseline/failures.txt")"
  if [ "$n" -eq 0 ]; then
    baseline_line="passed: $budget_runs runs, none failed"
  else
    baseline_line="**FAILED**: $n of $budget_runs runs failed, first: $(md "$(head -1 "$runs/baseline/failures.txt")")"
    failed_overall=1
    echo "mutants.sh: the baseline sweep failed; catches below are not to be trusted" >&2
  fi
fi

for patch in "${mutants[@]}"; do
  name="$(basename "$patch" .patch)"
  started=$SECONDS
  echo "=== mutants: $name"
  if ! (cd "$src" && git apply --check "$patch") >"$runs/$name.apply.log" 2>&1; then
    echo "  does not apply: $(head -1 "$runs/$name.apply.log")"
    rows+=("| $name | **does not apply** | | | | | $(md "$(head -1 "$runs/$name.apply.log")") | |")
    failed_overall=1
    continue
  fi
  (cd "$src" && git apply "$patch")
  if ! build_sim "$runs/$name.build.log"; then
    echo "  does not build: see $runs/$name.build.log"
    rows+=("| $name | **does not build** | | | | | $(md "$(grep -m1 -E 'error' "$runs/$name.build.log" || true)") | |")
    failed_overall=1
    (cd "$src" && git apply -R "$patch")
    continue
  fi
  verdict="survived"
  first=""
  first_scenario=""
  runs_to_catch=""
  ran=0
  failing=0
  catchers=()
  if [ "$full" = 1 ]; then
    all="$(IFS=,; echo "${scenarios[*]}")"
    sweep "$name" "$all"
    ran=$budget_runs
  fi
  before=0
  for s in "${scenarios[@]}"; do
    if [ "$full" = 1 ]; then
      f="$(grep -E "^$s seed " "$runs/$name/failures.txt" || true)"
    else
      sweep "$name/$s" "$s"
      ran=$((ran + seed_count))
      f="$(cat "$runs/$name/$s/failures.txt")"
    fi
    if [ -n "$f" ]; then
      k="$(printf '%s\n' "$f" | wc -l)"
      failing=$((failing + k))
      catchers+=("$s $k/$seed_count")
      if [ -z "$first" ]; then
        first="$(printf '%s\n' "$f" | head -1)"
        first_scenario="$s"
        seed="$(printf '%s' "$first" | awk '{print $3}' | tr -d ':')"
        runs_to_catch=$((before + seed - seed_first + 1))
        verdict="caught"
      fi
      [ "$full" = 1 ] || break
    fi
    before=$((before + seed_count))
  done
  (cd "$src" && git apply -R "$patch")
  secs=$((SECONDS - started))
  if [ "$verdict" = caught ]; then
    seed="$(printf '%s' "$first" | awk '{print $3}' | tr -d ':')"
    outcome="$(printf '%s' "$first" | awk '{print $4}' | tr -d ':')"
    violation="$(printf '%s' "$first" | cut -d: -f3- | sed 's/^ //')"
    echo "  caught by $first_scenario seed $seed ($outcome) after $runs_to_catch runs: $violation"
    rows+=("| $name | caught | $first_scenario | $seed | $outcome | $runs_to_catch | $(md "$violation") | $(md "$(IFS=';'; echo "${catchers[*]}") ($ran runs, ${secs} s)") |")
  else
    echo "  SURVIVED $ran runs"
    rows+=("| $name | **survived** | | | | | | none of $ran runs (${secs} s) |")
    failed_overall=1
  fi
done

# The report: the generated part, then the kept notes.
notes=""
if [ -f "$out" ] && grep -q '^<!-- notes -->' "$out"; then
  notes="$(sed -n '/^<!-- notes -->/,$p' "$out")"
fi
mkdir -p "$(dirname "$out")"
{
  echo "# Mutation campaign: which broker bugs the sweeps catch"
  echo
  echo "Generated by \`scripts/mutants.sh\`; the mutants and what each models are in"
  echo "[mutants/README.md](../mutants/README.md)."
  echo
  echo "- command: \`$command_line\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- build id: $build_id (commit $commit)$mutants_dirty"
  echo "- build: Release, Ninja (the release preset), apogee-sim only"
  echo "- budget: seeds $seed_first..$((seed_first + seed_count - 1)) of each of ${#scenarios[@]} scenarios ($budget_runs runs), --jobs $jobs, $(nproc) cores"
  echo "- mode: $([ "$full" = 1 ] && echo "full (every scenario swept for every mutant)" || echo "first catch (scenarios in order; stop at the first that fails a run)")"
  echo "- scenarios, in order: $(IFS=' '; echo "${scenarios[*]}")"
  echo "- baseline (unmutated): $baseline_line"
  echo
  echo "| mutant | verdict | first caught by | seed | outcome | runs to catch | violation | failing runs per scenario |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  if [ -n "$notes" ]; then
    printf '%s\n' "$notes"
  else
    echo "<!-- notes -->"
    echo "## Notes"
    echo
    echo "(Hand-written analysis goes here; scripts/mutants.sh keeps everything from the line"
    echo "\`<!-- notes -->\` on.)"
  fi
} >"$out"
echo "=== mutants: report in $out"
exit "$failed_overall"
