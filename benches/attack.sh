#!/usr/bin/env bash
# The examples under attack (issue 20): what a canary client waits, what descriptors and memory
# a server holds, while hostile clients flood it, and what memory it keeps once they left.
#
# Each scenario starts a fresh example server (mio driver) and, before the attack, a canary
# (benches/reference `canary`): one connection that makes one round trip every 100 ms and
# reports its worst wait. Then `flood` (benches/reference) attacks from --conns connections that
# never read what the server sends; the script samples the server's VmRSS and open descriptors
# (/proc/PID/fd) every 0.1 s, and once the canary is done, closes the attackers and reads VmRSS
# again after 2 s.
#
#   resp-get   resp: 1,000 connections pipelining `GET` of a 1 MiB value, never reading (20.1)
#   echo       echo: 1,000 connections writing without pause, never reading (20.1, 20.5)
#   http-get   http: 1 connection pipelining 10,000 `GET` of a 1 MiB file, never reading: the
#              files the server holds open, its descriptors less the baseline's (20.2)
#   resp-held  resp: 40 connections, each holding an unfinished 55 MB command (20.4)
#   chat       chat: 100 connections sending 1 KiB lines without pause, never reading (20.5)
#
# The default runs take about 2 minutes on this 2-core machine. Nothing is pinned to a CPU: the
# canary's wait is the point, and the clients' own work is part of the load. The table is
# printed (Markdown) and written, with the raw numbers, to $out (printed at the end); the
# targets column is the issue's.
#
# Usage: benches/attack.sh [--quick] [--conns N] [--held N] [--only SCENARIO,...] [--seconds S]
#   --quick      200 flooding connections, 10 held commands, 5 s canaries (about 1 minute)
#   --conns N    flooding connections of resp-get, echo and chat (default 1000, chat 100)
#   --held N     connections of resp-held (default 40)
#   --only LIST  run only these scenarios (comma-separated names from the list above)
#   --seconds S  how long each canary runs, the attack starting right after its first round
#                trip (default 10)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

conns=1000
chat_conns=100
held=40
seconds=10
only=resp-get,echo,http-get,resp-held,chat
while (($#)); do
  case "$1" in
    --quick) conns=200; chat_conns=50; held=10; seconds=5 ;;
    --conns) conns=${2:?--conns needs a count}; chat_conns=$conns; shift ;;
    --held) held=${2:?--held needs a count}; shift ;;
    --only) only=${2:?--only needs a list}; shift ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift ;;
    *) echo "usage: $0 [--quick] [--conns N] [--held N] [--only SCENARIO,...] [--seconds S]" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=benches/common.sh
source benches/common.sh

install_packages python3:python3
build_servers --examples -- --bin canary --bin flood

out=$ws_target/attack-bench
mkdir -p "$out"
results=$out/results.tsv
: >"$results"
work=$(mktemp -d)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

server_pid=
canary_pid=
flood_pid=
flood_in=
cleanup() {
  local p
  for p in "$flood_pid" "$canary_pid" "$server_pid"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "$flood_pid" "$canary_pid" "$server_pid"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_line FILE PATTERN SECONDS: waits until a line of FILE matches PATTERN (grep -E).
wait_line() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no line matching '$2' in $1 within $3 s:" >&2
  cat "$1" >&2 || true
  exit 1
}

# start_server NAME ARGS...: starts example NAME on a free port; sets server_pid and port.
start_server() {
  local name=$1 logfile=$out/$1.log
  shift
  rm -f "$logfile" # a stale log would name a stale port before the server truncates it
  "$examples/$name" --listen 127.0.0.1:0 "$@" >"$logfile" 2>&1 &
  server_pid=$!
  wait_line "$logfile" '^listening on ' 20
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$logfile")
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# resp_set KEY BYTES: stores a value of BYTES bytes at KEY on the resp server.
resp_set() {
  python3 - "$port" "$1" "$2" <<'PY'
import socket, sys
port, key, size = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, b"v" * size))
assert s.recv(16) == b"+OK\r\n"
PY
}

# attack SCENARIO PROTOCOL CLIENTS UNTIL_WRITTEN FLOOD_ARGS...: runs the canary (unless
# PROTOCOL is -) and the flood against the running server, and appends the scenario's row to
# $results. With UNTIL_WRITTEN 1, the attack lasts until the flood wrote all of it, as well.
attack() {
  local scenario=$1 protocol=$2 clients=$3 until_written=$4
  shift 4
  local canary_out=$work/$scenario.canary flood_out=$work/$scenario.flood fifo=$work/$scenario.in
  : >"$canary_out"
  : >"$flood_out"
  if [ "$protocol" != - ]; then
    "$ref/canary" --addr "127.0.0.1:$port" --protocol "$protocol" --seconds "$seconds" \
      >"$canary_out" 2>&1 &
    canary_pid=$!
    wait_line "$canary_out" '^ready' 20
  fi
  sleep 0.5
  local fds0 rss0
  fds0=$(fd_count "$server_pid")
  rss0=$(rss_kb "$server_pid")
  mkfifo "$fifo"
  "$ref/flood" --addr "127.0.0.1:$port" "$@" <"$fifo" >"$flood_out" 2>&1 &
  flood_pid=$!
  exec {flood_in}>"$fifo"
  local started=$SECONDS peak_rss=$rss0 peak_fds=$fds0 rss fds
  # Samples until the canary is done (or, without one, for the canary's time); a flood that
  # ends (an error) ends the sampling too.
  while true; do
    rss=$(rss_kb "$server_pid")
    fds=$(fd_count "$server_pid")
    ((rss > peak_rss)) && peak_rss=$rss
    ((fds > peak_fds)) && peak_fds=$fds
    if [ -n "$canary_pid" ]; then
      kill -0 "$canary_pid" 2>/dev/null || break
    elif ((SECONDS - started >= seconds)); then
      break
    fi
    kill -0 "$flood_pid" 2>/dev/null || break
    sleep 0.1
  done
  # A finite attack is measured whole: its peak comes once every byte of it is in.
  if [ "$until_written" = 1 ]; then
    wait_line "$flood_out" '^written' 300
    rss=$(rss_kb "$server_pid")
    ((rss > peak_rss)) && peak_rss=$rss
  fi
  local canary="- - -"
  if [ -n "$canary_pid" ]; then
    if ! wait "$canary_pid"; then
      echo "the canary of $scenario failed:" >&2
      cat "$canary_out" >&2
      exit 1
    fi
    canary_pid=
    # "round trips N worst W ms median M ms p99 P ms"
    canary=$(awk '/^round trips/ { print $3, $5, $8 }' "$canary_out")
  fi
  if ! grep -q '^connected' "$flood_out"; then
    echo "the flood of $scenario failed:" >&2
    cat "$flood_out" >&2
    kill -0 "$server_pid" 2>/dev/null || echo "the server (pid $server_pid) is gone" >&2
    exit 1
  fi
  exec {flood_in}>&-
  wait_line "$flood_out" '^closed' 60
  wait "$flood_pid" || true
  flood_pid=
  sleep 2
  local rss_after
  rss_after=$(rss_kb "$server_pid")
  local n worst median
  read -r n worst median <<<"$canary"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$clients" "$n" "$worst" "$median" \
    "$((peak_fds - fds0))" "$rss0" "$peak_rss" "$rss_after" >>"$results"
  log "$scenario: canary $(tail -1 "$canary_out"); descriptors +$((peak_fds - fds0)); RSS $rss0 -> $peak_rss -> $rss_after KiB"
}

runs() { [[ ",$only," == *",$1,"* ]]; }

if runs resp-get; then
  log "resp-get: $conns connections pipelining GET of a 1 MiB value, never reading"
  start_server resp
  resp_set big $((1024 * 1024))
  attack resp-get resp "$conns" 0 --mode resp-get --conns "$conns" --target big
  stop_server
fi

if runs echo; then
  log "echo: $conns connections writing without pause, never reading"
  start_server echo
  attack echo echo "$conns" 0 --mode echo --conns "$conns"
  stop_server
fi

if runs http-get; then
  log "http-get: 1 connection pipelining 10,000 GET of a 1 MiB file, never reading"
  mkdir -p "$work/root"
  head -c $((1024 * 1024)) /dev/zero >"$work/root/big"
  start_server http --root "$work/root"
  attack http-get http 1 0 --mode http-get --conns 1 --target /big
  stop_server
fi

if runs resp-held; then
  log "resp-held: $held connections each holding an unfinished 55 MB command"
  start_server resp
  attack resp-held resp "$held" 1 --mode resp-held --conns "$held"
  stop_server
fi

if runs chat; then
  log "chat: $chat_conns connections sending 1 KiB lines without pause, never reading"
  start_server chat
  attack chat - "$chat_conns" 0 --mode chat --conns "$chat_conns"
  stop_server
fi

python3 - "$results" "$out/table.md" <<'PY'
import sys
results, table_path = sys.argv[1], sys.argv[2]
what = {
    "resp-get": ("resp: pipelined GET of 1 MiB, never reading", "canary ≤ 100 ms"),
    "echo": ("echo: writing, never reading", "canary ≤ 100 ms; RSS after ≈ before"),
    "http-get": ("http: 10,000 pipelined GET of a 1 MiB file, never reading",
                 "files held bounded; canary ≤ 100 ms"),
    "resp-held": ("resp: an unfinished 55 MB command each", "RSS within the engine's budget"),
    "chat": ("chat: 1 KiB lines, never reading", "RSS after ≈ before"),
}
mib = lambda kib: f"{int(kib) / 1024:.0f} MiB"
lines = [
    "| scenario | clients | canary worst | canary median | descriptors beyond one a client "
    "| RSS before | RSS peak "
    "| RSS 2 s after the clients left | target (issue 20) |",
    "|---|---|---|---|---|---|---|---|---|",
]
for line in open(results):
    scenario, clients, n, worst, median, fds, rss0, peak, after = line.rstrip("\n").split("\t")
    label, target = what[scenario]
    ms = lambda v, digits: "–" if v == "-" else f"{float(v):.{digits}f} ms"
    lines.append(f"| {label} | {clients} | {ms(worst, 0)} | {ms(median, 1)} | {int(fds) - int(clients)} | {mib(rss0)} "
                 f"| {mib(peak)} | {mib(after)} | {target} |")
table = "\n".join(lines)
open(table_path, "w").write(table + "\n")
print(table)
PY
log "raw numbers: $results; table: $out/table.md"
