#!/usr/bin/env bash
# User-space instructions per request of the `resp` server with no sockets: the engine, the
# stream state machine and the RESP handler, driven by protocols/benches/resp_turns.rs, counted
# by Valgrind's callgrind. The same work that benches/instructions.sh counts in the real server
# (less the driver's few instructions per system call), in seconds instead of minutes, and
# the same to the instruction from run to run: the quick check of a hot-path change.
#
# Each count is the difference of two runs (TURNS and 2 x TURNS turns), so setting up the
# engine is not in it. A second column counts the same server with the key space of a group of
# engines (resp::SharedDb, a lock per command on keys, uncontended here): what sharing the keys
# costs a request, without the contention that more engines add.
#
# Usage: benches/engine_instructions.sh [REQUEST ...]   (default: ping_inline ping_mbulk set get)
# Needs valgrind; installs it (apt-get, as root) when missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
requests=("$@")
((${#requests[@]})) || requests=(ping_inline ping_mbulk set get)

# shellcheck source=benches/common.sh
source benches/common.sh

install_packages valgrind:valgrind python3:python3

log "building protocols/benches/resp_turns.rs (release)"
binary=$(cargo bench -p pants-protocols --bench resp_turns --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["name"] == "resp_turns":
        print(message["executable"])')
[ -x "$binary" ] || { echo "resp_turns was not built" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints the instructions of one run of TURNS turns (KEYS: empty, or `shared`).
instructions() {
  local request=$1 turns=$2 pipeline=$3 keys=${4:-}
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$binary" count "$request" "$turns" \
    "$pipeline" ${keys:+"$keys"} 2>&1 >/dev/null | awk '/Collected :/ { print $NF }'
}

# Instructions per request of REQUEST at PIPELINE, with the key space KEYS.
per_request() {
  local request=$1 pipeline=$2 keys=${3:-} turns one two
  turns=$((32000 / pipeline))
  one=$(instructions "$request" "$turns" "$pipeline" "$keys")
  two=$(instructions "$request" $((2 * turns)) "$pipeline" "$keys")
  python3 -c "print(($two - $one) / ($turns * $pipeline))"
}

printf '| request | instructions per request | with a group'"'"'s shared key space |\n|---|---|---|\n'
for request in "${requests[@]}"; do
  for pipeline in 16 1; do
    one=$(per_request "$request" "$pipeline")
    shared=$(per_request "$request" "$pipeline" shared)
    python3 -c "print(f'| $request -P $pipeline | {$one:,.0f} | {$shared:,.0f} ({$shared / $one:.3f}×) |')"
  done
done
