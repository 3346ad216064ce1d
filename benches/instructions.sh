#!/usr/bin/env bash
# User-space instructions per request of pants' `resp` example and of the raw `mio_resp`
# reference server, counted by Valgrind's callgrind: the evidence behind the CPU rows of
# benches/servers.sh, and repeatable on a noisy machine (instructions, not time).
#
# For each test (ping_inline, ping_mbulk, set, get) and each server it runs:
#   -P 16: redis-benchmark -c 50 -n 50000 -P 16
#   -P 1:  redis-benchmark -c 1  -n 5000  -P 1   (one client: at -P 1 with 50 clients the
#          number of requests a turn serves, and so the count, depends on timing)
# with server and client pinned to CPU 0, the counters zeroed after a warm-up of 2,000
# requests, and prints instructions per request and the ratio pants / mio_resp.
#
# Usage: benches/instructions.sh [TEST ...]     (default: all four)
# Needs valgrind and redis-benchmark; installs them (apt-get, as root) when missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tests=("$@")
((${#tests[@]})) || tests=(ping_inline ping_mbulk set get)

# shellcheck source=benches/common.sh
source benches/common.sh

install_packages valgrind:valgrind callgrind_control:valgrind redis-benchmark:redis-tools \
  taskset:util-linux python3:python3

build_servers --example resp --

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=7400

# Prints the instructions per request of BINARY for one redis-benchmark run.
count() {
  local binary=$1 test=$2 pipeline=$3 clients=$4 requests=$5
  port=$((port + 1))
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$work/out.%p" \
    "$binary" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 150); do
    grep -q '^listening on' "$work/server.log" && break
    sleep 0.2
  done
  grep -q '^listening on' "$work/server.log" || { cat "$work/server.log" >&2; exit 1; }
  timeout 300 redis-benchmark -p "$port" -t "$test" -c 50 -n 2000 -P "$pipeline" -q >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  timeout 600 taskset -c 0 redis-benchmark -p "$port" -t "$test" -c "$clients" -n "$requests" \
    -P "$pipeline" -q >/dev/null
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  local file
  file=$(ls -t "$work"/out."$pid".* | head -1)
  local total
  total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  rm -f "$work"/out."$pid"*
  echo $((total / requests))
}

printf '| request | pants | mio_resp | pants / mio_resp |\n|---|---|---|---|\n'
for test in "${tests[@]}"; do
  for spec in "16 50 50000" "1 1 5000"; do
    read -r pipeline clients requests <<<"$spec"
    log "$test -P $pipeline"
    pants=$(count "$ws_target/release/examples/resp" "$test" "$pipeline" "$clients" "$requests")
    mio=$(count "$ref_target/release/mio_resp" "$test" "$pipeline" "$clients" "$requests")
    ratio=$(python3 -c "print(f'{$pants / $mio:.2f}x')")
    printf '| %s -P %s | %s | %s | %s |\n' "$test" "$pipeline" "$pants" "$mio" "$ratio"
  done
done
