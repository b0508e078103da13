#!/usr/bin/env bash
# Messaging benchmarks over loopback (reports/messaging.md): a real apogee-namesrv and
# apogee-broker in a temporary directory, driven by apogee-load produce (100 B messages, sync
# sends, N in flight), several repetitions per configuration, one table of medians at the end.
#
#   scripts/bench-messaging.sh [BUILD_DIR]        default build/release
#
# Environment:
#   REPS=3          repetitions per configuration (the median is reported)
#   DURATION=5      seconds per repetition
#   CONFIGS="..."   configurations to run, space separated, from:
#                   async-256 sync-1 sync-16 sync-64 (default: all four)
#   SIZE=100        message body bytes
#   KEEP=1          keep the temporary directory (daemon logs, raw JSON) for a post-mortem
#   TMPDIR          where the temporary directory goes (its file system is what SYNC_FLUSH
#                   syncs: keep it on the disk you mean to measure)
# The last two columns are CPU microseconds (user + system) per message of the client and of the
# broker: on a shared machine they move less than throughput does.
# Each configuration gets a fresh broker store and one warm-up run (not counted) that creates
# the topic and warms the connections. Raw JSON lines go to <tmp>/results.jsonl.
set -euo pipefail

BUILD_DIR=${1:-build/release}
REPS=${REPS:-3}
DURATION=${DURATION:-5}
CONFIGS=${CONFIGS:-"async-256 sync-1 sync-16 sync-64"}
SIZE=${SIZE:-100}
cd "$(dirname "$0")/.."
BIN="$BUILD_DIR/core"
for exe in apogee-namesrv apogee-broker apogee-load; do
  [[ -x "$BIN/$exe" ]] || { echo "missing $BIN/$exe (build first)" >&2; exit 1; }
done
for tool in jq bc python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/apogee-bench-XXXXXX")
NS_PID=""
BROKER_PID=""
cleanup() {
  [[ -n "$BROKER_PID" ]] && kill -TERM "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  [[ -n "$NS_PID" ]] && kill -TERM "$NS_PID" 2>/dev/null && wait "$NS_PID" 2>/dev/null
  if [[ -n "${KEEP:-}" ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for FILE TEXT PID: until FILE contains TEXT, failing if PID exits or 15 s pass.
wait_for() {
  for _ in $(seq 1500); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "process $3 exited; log:" >&2; cat "$1" >&2; exit 1; }
    sleep 0.01
  done
  echo "timed out waiting for '$2' in $1" >&2
  exit 1
}

NS_PORT=$(free_port)
echo "listenPort=$NS_PORT" >"$WORK/namesrv.conf"
"$BIN/apogee-namesrv" -c "$WORK/namesrv.conf" >"$WORK/namesrv.out" 2>"$WORK/namesrv.err" &
NS_PID=$!
wait_for "$WORK/namesrv.err" "listening on" "$NS_PID"
NAMESRV="127.0.0.1:$NS_PORT"

start_broker() {  # start_broker FLUSH_TYPE NAME
  local port
  port=$(free_port)
  cat >"$WORK/$2.conf" <<EOF
brokerName=bench-broker
listenPort=$port
namesrvAddr=$NAMESRV
storePathRootDir=$WORK/$2-store
flushDiskType=$1
EOF
  "$BIN/apogee-broker" -c "$WORK/$2.conf" >"$WORK/$2.out" 2>"$WORK/$2.err" &
  BROKER_PID=$!
  wait_for "$WORK/$2.err" "apogee-broker bench-broker serving at" "$BROKER_PID"
  # The broker registers right after it serves; give the first registration a moment.
  sleep 0.5
}

stop_broker() {
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID" || { echo "broker exited with $?" >&2; exit 1; }
  BROKER_PID=""
}

# CPU seconds (user + system) the process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# run_load INFLIGHT TOPIC SECONDS -> one JSON line: apogee-load's report plus the CPU seconds the
# client and the broker spent during the run (client_cpu_s, broker_cpu_s).
run_load() {
  local before after
  before=$(cpu_seconds "$BROKER_PID")
  /usr/bin/time -o "$WORK/load.time" -f "%U %S" \
    "$BIN/apogee-load" produce --namesrv "$NAMESRV" --topic "$2" --size "$SIZE" \
    --inflight "$1" --duration "$3" --progress 0 --json >"$WORK/load.json" 2>>"$WORK/load.err"
  after=$(cpu_seconds "$BROKER_PID")
  jq -c --argjson c "$(awk '{print $1 + $2}' "$WORK/load.time")" \
    --argjson b "$(echo "$after - $before" | bc)" \
    '. + {client_cpu_s: $c, broker_cpu_s: $b}' "$WORK/load.json"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -a ROWS
for config in $CONFIGS; do
  flush=${config%%-*}
  inflight=${config##*-}
  case $flush in
    async) flush_type=ASYNC_FLUSH ;;
    sync) flush_type=SYNC_FLUSH ;;
    *) echo "unknown configuration $config" >&2; exit 1 ;;
  esac
  start_broker "$flush_type" "broker-$config"
  topic="Bench_${config//-/_}"
  run_load "$inflight" "$topic" 1 >/dev/null  # warm-up: creates the topic
  : >"$WORK/$config.jsonl"
  for rep in $(seq "$REPS"); do
    line=$(run_load "$inflight" "$topic" "$DURATION")
    echo "$line" >>"$WORK/$config.jsonl"
    echo "{\"config\":\"$config\",\"rep\":$rep,\"result\":$line}" >>"$WORK/results.jsonl"
    printf '%-10s rep %d: %s\n' "$config" "$rep" \
      "$(jq -r '"\(.throughput_msgs_per_s|floor) msg/s p50 \(.p50_ms) ms p99 \(.p99_ms) ms failed \(.failed) cpu client \(.client_cpu_s) s broker \(.broker_cpu_s) s"' <<<"$line")" >&2
  done
  tput=$(jq '.throughput_msgs_per_s' "$WORK/$config.jsonl" | median)
  p50=$(jq '.p50_ms' "$WORK/$config.jsonl" | median)
  p99=$(jq '.p99_ms' "$WORK/$config.jsonl" | median)
  failed=$(jq '.failed' "$WORK/$config.jsonl" | awk '{s+=$1} END {print s}')
  # CPU microseconds per acknowledged message, client and broker.
  client_us=$(jq '1e6 * .client_cpu_s / .sent' "$WORK/$config.jsonl" | median)
  broker_us=$(jq '1e6 * .broker_cpu_s / .sent' "$WORK/$config.jsonl" | median)
  ROWS+=("$(printf '| %-11s | %-8s | %8s | %12.0f | %8.3f | %8.3f | %6s | %9.1f | %9.1f |' \
    "$flush_type" "$inflight" "$SIZE B" "$tput" "$p50" "$p99" "$failed" "$client_us" "$broker_us")")
  stop_broker
done

echo
echo "Medians of $REPS runs of ${DURATION} s each (apogee-load produce, sync sends, closed loop)"
echo "| flush       | inflight |     size | msg/s        | p50 ms   | p99 ms   | failed | client us | broker us |"
echo "|-------------|----------|----------|--------------|----------|----------|--------|-----------|-----------|"
printf '%s\n' "${ROWS[@]}"
