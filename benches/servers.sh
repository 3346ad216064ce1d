#!/usr/bin/env bash
# The server benchmark of both drivers, in one run, against reference servers:
#
#   1. RESP: `redis-benchmark -t ping_inline,ping_mbulk,set,get -c 50`, with `-P 1 -n 200000`
#      and with `-P 16 -n 1000000`, against pants' `resp` example on the mio driver
#      (`pants_resp`) and on the smol driver (`pants_smol_resp`, `--driver smol`),
#      `redis-server` (`--save '' --appendonly no`), and our `tokio_resp`, `smol_resp` (async-net,
#      a task per connection) and raw `mio_resp` (benches/reference). Each server and the client run on CPU 0 (`taskset -c 0`): on a
#      2-core VM, split placement swings by 2x between runs. Servers are compared by their own
#      CPU time per request (every thread's first field of /proc/PID/task/*/schedstat, before
#      and after each redis-benchmark run), with requests per second beside it. All servers run
#      at once and the runs are interleaved, so background load hits all of them alike.
#   2. Echo: `echo_load` (10 connections, 64 KiB chunks, 3 s after 0.5 s of warmup, also on
#      CPU 0) against pants' `echo` example on both drivers, `tokio_echo`, `smol_echo` and
#      `mio_echo`: MB/s, and the
#      server's CPU time per MB echoed (steadier than MB/s on a loaded machine).
#   3. Idle memory: `idle_conns` opens 10,000 connections (source addresses 127.0.0.2-11) to a
#      fresh server that has answered one request on one connection; its resident memory
#      (VmRSS) before, once all are accepted, and after one request on each and 3 s of
#      idleness, per connection. For pants' resp and echo, the reference servers and
#      redis-server.
#
# One table of ratios against the raw mio servers ends the run, with the targets (single
# thread): CPU per request within 5% of mio_resp at -P 1 and 15% at -P 16, and below
# redis-server's, on every row; echo throughput at least 95% of mio_echo; at most 256 bytes per
# idle connection. A second table does the same for the smol driver against the hand-written
# smol servers (issue 14): CPU per request at most smol_resp's (goal: within 1.25x of pants on
# mio); echo throughput at least 95% of smol_echo; at most 1 KiB per idle connection. Both are
# also written, with the raw numbers, to $out (printed at the end).
# A second table gives the kernel (system) part of each RESP row's CPU per request, from the
# servers' /proc/PID/stat: where pants and raw mio pay the same kernel work, it reads ~1.00×.
#   4. Groups of engines (issue 18): `resp --threads 2` on each driver (`pants_resp_t2`,
#      `pants_smol_resp_t2`) runs in part 1 beside `--threads 1`, all of its threads on CPU 0
#      with the client: what a group adds per request (target: at most 1.05× the CPU per
#      request of one engine; on one core a group cannot go faster, only cost more). Then how
#      the connections of 50 and of 2 redis-benchmark clients split between the two engines
#      (5 fresh servers each; the readiness probe's connection and the one redis-benchmark opens
#      first are counted); one client alone (`-c 1`) against 1 and 2 engines, where no work is
#      split, so what remains is what being a group costs; and one placed run:
#      redis-benchmark pinned to CPU 0, the server (1 engine, then 2) free to use both CPUs,
#      with each process's CPU time: on 2 cores the client saturates a core first, so this row
#      shows placement, not scaling (BENCHMARKS.md says what a scaling test needs).
#
# Builds in release: the workspace's examples (target dir: the workspace's, or
# $CARGO_TARGET_DIR) and benches/reference ($REF_TARGET_DIR, else its own target dir or
# $CARGO_TARGET_DIR). Installs redis-server and redis-tools (apt-get, as root) when missing.
# Raises the open-file limit (as root) for the 10,000 connections. Traffic stays on 127.0.0.0/8;
# every step is bounded in time.
#
# Usage: benches/servers.sh [--repeat N] [--quick] [--skip-resp] [--skip-echo] [--skip-memory]
#                           [--skip-group]
#   --repeat N   run each redis-benchmark cell and each echo run N times, interleaved across
#                the servers, and keep the medians (default 3)
#   --quick      a tenth of the requests, 1,000 idle connections, 1 s of echo (a smoke test)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

repeat=3
quick=0
do_resp=1
do_echo=1
do_memory=1
do_group=1
while (($#)); do
  case "$1" in
    --repeat) repeat=${2:?--repeat needs a count}; shift ;;
    --quick) quick=1 ;;
    --skip-resp) do_resp=0 ;;
    --skip-echo) do_echo=0 ;;
    --skip-memory) do_memory=0 ;;
    --skip-group) do_group=0 ;;
    *) echo "usage: $0 [--repeat N] [--quick] [--skip-resp] [--skip-echo] [--skip-memory] [--skip-group]" >&2; exit 2 ;;
  esac
  shift
done

requests_p1=200000
requests_p16=1000000
idle_conns=10000
echo_seconds=3
split_requests=20000
placed_requests=1000000
single_requests=100000
if [ "$quick" = 1 ]; then
  requests_p1=20000
  requests_p16=100000
  idle_conns=1000
  echo_seconds=1
  split_requests=2000
  placed_requests=100000
  single_requests=10000
fi
tests=(ping_inline ping_mbulk set get)
cpu=0

# shellcheck source=benches/common.sh
source benches/common.sh

install_packages redis-server:redis-server redis-benchmark:redis-tools redis-cli:redis-tools \
  taskset:util-linux python3:python3
build_servers --examples --

out=$ws_target/servers-bench
mkdir -p "$out"
results=$out/results.tsv
: >"$results"

# 10,000 connections need that many descriptors, in the client and in the server (inherited).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < idle_conns + 1024)); then
  echo "the open-file limit $(ulimit -n) is too low for $idle_conns connections (run as root)" >&2
  exit 1
fi

# ---- Servers ------------------------------------------------------------------------------

declare -A pid port
started=()

cleanup() {
  local name
  for name in "${started[@]}"; do
    kill "${pid[$name]}" 2>/dev/null || true
  done
  for name in "${started[@]}"; do
    wait "${pid[$name]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME [CPUS]: starts server NAME on CPU 0 (or on CPUS, as taskset takes them; `any`:
# unpinned) and waits until it answers.
start() {
  local name=$1 logfile=$out/$1.log cpus=${2:-$cpu}
  local pin=(taskset -c "$cpus")
  [ "$cpus" = any ] && pin=()
  rm -f "$logfile" # a stale log would name a stale port
  case "$name" in
    redis)
      port[$name]=$(free_port)
      taskset -c "$cpu" redis-server --bind 127.0.0.1 --port "${port[$name]}" --save '' \
        --appendonly no --protected-mode no --daemonize no --maxclients 60000 \
        --dir "$out" --logfile "$logfile" &
      pid[$name]=$!
      started+=("$name")
      ;;
    *)
      local binary driver=()
      case "$name" in
        pants_resp) binary=$examples/resp ;;
        pants_echo) binary=$examples/echo ;;
        pants_smol_resp) binary=$examples/resp driver=(--driver smol) ;;
        pants_smol_echo) binary=$examples/echo driver=(--driver smol) ;;
        pants_resp_t2) binary=$examples/resp driver=(--threads 2) ;;
        pants_smol_resp_t2) binary=$examples/resp driver=(--driver smol --threads 2) ;;
        pants_echo_t2) binary=$examples/echo driver=(--threads 2) ;;
        *) binary=$ref/$name ;;
      esac
      "${pin[@]}" "$binary" "${driver[@]}" --listen 127.0.0.1:0 >"$logfile" 2>&1 &
      pid[$name]=$!
      started+=("$name")
      local i
      for ((i = 0; i < 100; i++)); do
        port[$name]=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$logfile" 2>/dev/null || true)
        [ -n "${port[$name]}" ] && break
        sleep 0.1
      done
      ;;
  esac
  local i
  for ((i = 0; i < 100; i++)); do
    if [ -n "${port[$name]:-}" ] && ready "$name"; then
      return 0
    fi
    kill -0 "${pid[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  local status=running
  if ! kill -0 "${pid[$name]}" 2>/dev/null; then
    status=0
    wait "${pid[$name]}" || status=$?
    status="exited with status $status"
  fi
  echo "$name did not start (port ${port[$name]:-?}, $status); its log ($logfile):" >&2
  cat "$logfile" >&2 || true
  exit 1
}

ready() {
  case "$1" in
    *echo | *echo_t2) timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/${port[$1]}" 2>/dev/null ;;
    *) [ "$(timeout 2 redis-cli -p "${port[$1]}" ping 2>/dev/null)" = PONG ] ;;
  esac
}

stop() {
  local name=$1
  kill "${pid[$name]}" 2>/dev/null || true
  wait "${pid[$name]}" 2>/dev/null || true
  local kept=()
  local other
  for other in "${started[@]}"; do
    [ "$other" = "$name" ] || kept+=("$other")
  done
  started=("${kept[@]}")
}

# The kernel (system) time process $1 has spent, in clock ticks (field 15 of its stat; the
# fields after the command name, which ends with ") ", start at field 3).
sys_ticks() {
  sed 's/.*) //' /proc/"$1"/stat | awk '{ print $13 }'
}

# The context switches (voluntary and not) of every thread of process $1.
ctx_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ { sum += $2 } END { print sum + 0 }'
}

# A smoke check that a RESP server answers as Redis does.
check_resp() {
  local p=${port[$1]} got
  got=$(timeout 5 redis-cli -p "$p" set bench:check v1 && timeout 5 redis-cli -p "$p" get bench:check)
  if [ "$got" != $'OK\nv1' ]; then
    echo "$1 answered SET/GET wrongly: $got" >&2
    exit 1
  fi
}

# ---- 1. RESP ------------------------------------------------------------------------------

resp_servers=(mio_resp pants_resp pants_smol_resp smol_resp tokio_resp redis)
if [ "$do_group" = 1 ]; then
  resp_servers+=(pants_resp_t2 pants_smol_resp_t2)
fi

if [ "$do_resp" = 1 ]; then
  for name in "${resp_servers[@]}"; do
    start "$name"
    check_resp "$name"
  done
  log "RESP: ${resp_servers[*]} on CPU $cpu; redis-benchmark on CPU $cpu, $repeat run(s) a cell"
  for pipeline in 1 16; do
    if [ "$pipeline" = 1 ]; then n=$requests_p1; else n=$requests_p16; fi
    for test in "${tests[@]}"; do
      for ((r = 1; r <= repeat; r++)); do
        for name in "${resp_servers[@]}"; do
          before=$(cpu_ns "${pid[$name]}")
          sys_before=$(sys_ticks "${pid[$name]}")
          ctx_before=$(ctx_switches "${pid[$name]}")
          csv=$(timeout 300 taskset -c "$cpu" redis-benchmark -h 127.0.0.1 -p "${port[$name]}" \
            -t "$test" -c 50 -n "$n" -P "$pipeline" --csv 2>>"$out/redis-benchmark.log")
          after=$(cpu_ns "${pid[$name]}")
          sys_after=$(sys_ticks "${pid[$name]}")
          ctx_after=$(ctx_switches "${pid[$name]}")
          rps=$(printf '%s\n' "$csv" | awk -F'"' 'NR == 2 { print $4 }')
          if [ -z "$rps" ]; then
            echo "redis-benchmark printed no result for $name $test -P $pipeline: $csv" >&2
            exit 1
          fi
          printf 'resp\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$pipeline" "$name" \
            "$((after - before))" "$n" "$rps" "$((sys_after - sys_before))" \
            "$((ctx_after - ctx_before))" >>"$results"
          awk -v s="$name" -v t="$test" -v p="$pipeline" -v ns="$((after - before))" -v n="$n" \
            -v rps="$rps" 'BEGIN { printf "%-15s %-11s -P %-2s %8.3f us/request %10.0f requests/s\n",
              s, t, p, ns / n / 1000, rps }' >&2
        done
      done
    done
  done
  for name in "${resp_servers[@]}"; do stop "$name"; done
fi

# ---- 2. Echo ------------------------------------------------------------------------------

echo_servers=(mio_echo pants_echo pants_smol_echo smol_echo tokio_echo)
if [ "$do_group" = 1 ]; then
  echo_servers+=(pants_echo_t2)
fi

if [ "$do_echo" = 1 ]; then
  for name in "${echo_servers[@]}"; do start "$name"; done
  log "echo: ${echo_servers[*]} on CPU $cpu; echo_load on CPU $cpu"
  for ((r = 1; r <= repeat; r++)); do
    for name in "${echo_servers[@]}"; do
      before=$(cpu_ns "${pid[$name]}")
      line=$(timeout 60 taskset -c "$cpu" "$ref/echo_load" --addr "127.0.0.1:${port[$name]}" \
        --conns 10 --chunk 65536 --seconds "$echo_seconds")
      after=$(cpu_ns "${pid[$name]}")
      # "echoed BYTES bytes in SECONDS s: RATE MB/s"
      read -r _ bytes _ _ seconds _ rate _ <<<"$line"
      printf 'echo\t-\t-\t%s\t%s\t%s\t%s\n' "$name" "$((after - before))" "$bytes" "$seconds" \
        >>"$results"
      echo "$name: $line" >&2
    done
  done
  for name in "${echo_servers[@]}"; do stop "$name"; done
fi

# ---- 3. Idle memory -----------------------------------------------------------------------

memory_servers=(mio_echo pants_echo pants_smol_echo smol_echo tokio_echo mio_resp pants_resp
  pants_smol_resp smol_resp tokio_resp redis)

# Waits until server $1 holds $2 more descriptors than $3 (every connection accepted).
wait_accepted() {
  local i
  for ((i = 0; i < 600; i++)); do
    (($(fd_count "$1") >= $3 + $2)) && return 0
    sleep 0.1
  done
  echo "the server accepted only $(($(fd_count "$1") - $3)) of $2 connections" >&2
  return 1
}

# One request ($2: ping or echo) on one connection to 127.0.0.1:$1, answer awaited (5 s at most).
warm_up() {
  local fd line
  exec {fd}<>"/dev/tcp/127.0.0.1/$1"
  case "$2" in
    ping) printf 'PING\r\n' >&"$fd" ;;
    *) printf 'hello\n' >&"$fd" ;;
  esac
  if ! read -r -t 5 line <&"$fd"; then
    echo "no answer to the warm-up request on port $1" >&2
    exit 1
  fi
  exec {fd}>&-
}

if [ "$do_memory" = 1 ]; then
  log "idle memory: $idle_conns connections from 127.0.0.2-11 to each server"
  for name in "${memory_servers[@]}"; do
    start "$name"
    case "$name" in *echo) request=echo ;; *) request=ping ;; esac
    server=${pid[$name]}
    sleep 0.5
    # One request on one connection first, so that what a server allocates once, at its first
    # request (pants' 64 KiB read buffer and reply chunk, for one), is in the baseline and not
    # counted per connection.
    warm_up "${port[$name]}" "$request"
    sleep 0.5
    fds=$(fd_count "$server")
    rss0=$(rss_kb "$server")
    coproc idle { exec "$ref/idle_conns" --addr "127.0.0.1:${port[$name]}" --conns "$idle_conns" \
      --sources 10 --request "$request" 2>>"$out/idle_conns.log"; }
    client=$idle_PID
    exec {to_client}>&"${idle[1]}" {from_client}<&"${idle[0]}"
    if ! read -r -t 300 said <&"$from_client" || [[ "$said" != connected* ]]; then
      echo "idle_conns did not connect to $name (see $out/idle_conns.log)" >&2
      exit 1
    fi
    wait_accepted "$server" "$idle_conns" "$fds"
    sleep 1
    rss1=$(rss_kb "$server")
    echo go >&"$to_client"
    if ! read -r -t 300 said <&"$from_client" || [[ "$said" != answered* ]]; then
      echo "idle_conns got no answers from $name (see $out/idle_conns.log)" >&2
      exit 1
    fi
    sleep 3
    rss2=$(rss_kb "$server")
    echo done >&"$to_client"
    exec {to_client}>&- {from_client}<&-
    wait "$client" || true
    printf 'memory\t-\t-\t%s\t%s\t%s\t%s\n' "$name" "$idle_conns" "$((rss1 - rss0))" \
      "$((rss2 - rss0))" >>"$results"
    printf '%-15s RSS %6d KiB; +%6d KiB with %d connections, +%6d KiB after a request each\n' \
      "$name" "$rss0" "$((rss1 - rss0))" "$idle_conns" "$((rss2 - rss0))" >&2
    stop "$name"
  done
fi

# ---- 4. Groups of engines ----------------------------------------------------------------

# The line a server on a group prints at exit: each engine's accepted connections ("27 23").
accepted_split() {
  sed -n 's/^accepted connections by engine: //p' "$out/$1.log"
}

if [ "$do_group" = 1 ]; then
  log "groups: how 50 and 2 redis-benchmark clients split between the 2 engines of pants_resp_t2"
  for clients in 50 2; do
    for ((r = 1; r <= 5; r++)); do
      start pants_resp_t2
      timeout 300 taskset -c "$cpu" redis-benchmark -h 127.0.0.1 -p "${port[pants_resp_t2]}" \
        -t ping_inline -c "$clients" -n "$split_requests" -q >/dev/null 2>>"$out/redis-benchmark.log"
      stop pants_resp_t2
      split=$(accepted_split pants_resp_t2)
      [ -n "$split" ] || { echo "pants_resp_t2 printed no split; its log:" >&2; cat "$out/pants_resp_t2.log" >&2; exit 1; }
      printf 'split\t-\t%s\tpants_resp_t2\t%s\t-\t-\n' "$clients" "$split" >>"$results"
      echo "$clients clients: connections accepted by engine: $split" >&2
    done
  done

  log "groups: one client (-c 1), 1 engine against 2, all on CPU $cpu: a group's cost, no work split"
  start pants_resp
  start pants_resp_t2
  for ((r = 1; r <= repeat; r++)); do
    for name in pants_resp pants_resp_t2; do
      before=$(cpu_ns "${pid[$name]}")
      ctx_before=$(ctx_switches "${pid[$name]}")
      timeout 300 taskset -c "$cpu" redis-benchmark -h 127.0.0.1 -p "${port[$name]}" \
        -t ping_inline -c 1 -n "$single_requests" -q >/dev/null 2>>"$out/redis-benchmark.log"
      after=$(cpu_ns "${pid[$name]}")
      ctx_after=$(ctx_switches "${pid[$name]}")
      printf 'single\tping_inline\t1\t%s\t%s\t%s\t%s\n' "$name" "$((after - before))" \
        "$single_requests" "$((ctx_after - ctx_before))" >>"$results"
      awk -v s="$name" -v ns="$((after - before))" -v n="$single_requests" \
        'BEGIN { printf "%-15s one client, ping_inline: %8.3f us/request\n", s, ns / n / 1000 }' >&2
    done
  done
  stop pants_resp
  stop pants_resp_t2

  log "groups: placed run, redis-benchmark on CPU $cpu, the server's threads on any CPU"
  TIMEFORMAT='%U %S'
  for ((r = 1; r <= repeat; r++)); do
    for name in pants_resp pants_resp_t2; do
      start "$name" any
      before=$(cpu_ns "${pid[$name]}")
      { time csv=$(timeout 300 taskset -c "$cpu" redis-benchmark -h 127.0.0.1 -p "${port[$name]}" \
        -t get -c 50 -n "$placed_requests" -P 16 --csv 2>>"$out/redis-benchmark.log"); } 2>"$out/client-time"
      after=$(cpu_ns "${pid[$name]}")
      read -r client_user client_sys <"$out/client-time"
      rps=$(printf '%s\n' "$csv" | awk -F'"' 'NR == 2 { print $4 }')
      stop "$name"
      printf 'placed\tget\t16\t%s\t%s\t%s\t%s\t%s\n' "$name" "$((after - before))" \
        "$placed_requests" "$rps" "$client_user $client_sys" >>"$results"
      awk -v s="$name" -v ns="$((after - before))" -v rps="$rps" -v cu="$client_user" -v cs="$client_sys" \
        'BEGIN { printf "%-15s placed get -P 16: %10.0f requests/s, server CPU %.2f s, client CPU %.2f s\n",
          s, rps, ns / 1e9, cu + cs }' >&2
    done
  done
fi

# ---- The table ----------------------------------------------------------------------------

python3 - "$results" "$out/table.md" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
from collections import defaultdict

results, table_path, ticks_per_s = sys.argv[1], sys.argv[2], int(sys.argv[3])
resp = defaultdict(list)   # (test, pipeline, server) -> [(cpu_ns, n, rps)]
kernel = defaultdict(list) # (test, pipeline, server) -> [kernel µs per request]
switches = defaultdict(list) # (test, pipeline, server) -> [context switches per request]
echo = defaultdict(list)   # server -> [(cpu_ns, bytes, seconds)]
memory = {}                # server -> (conns, kib_connected, kib_after_request)
splits = defaultdict(list) # clients -> ["27 23", ...]
placed = defaultdict(list) # server -> [(server cpu_ns, n, rps, client cpu s)]
single = defaultdict(list) # server -> [(cpu_ns, n, context switches)], one client
for line in open(results):
    kind, test, pipeline, server, a, b, c, *rest = line.rstrip("\n").split("\t")
    if kind == "split":
        splits[int(pipeline)].append(a)
        continue
    if kind == "single":
        single[server].append((int(a), int(b), int(c)))
        continue
    if kind == "placed":
        placed[server].append((int(a), int(b), float(c), sum(map(float, rest[0].split()))))
        continue
    if kind == "resp":
        resp[(test, int(pipeline), server)].append((int(a), int(b), float(c)))
        if rest:
            kernel[(test, int(pipeline), server)].append(int(rest[0]) / ticks_per_s * 1e6 / int(b))
        if len(rest) > 1:
            switches[(test, int(pipeline), server)].append(int(rest[1]) / int(b))
    elif kind == "echo":
        echo[server].append((int(a), int(b), float(c)))
    else:
        memory[server] = (int(a), int(b), int(c))

rows = []
def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"

def row(what, unit, pants, mio, tokio, redis, target, met):
    rows.append((what, unit, pants, mio, tokio, redis, target, met))

for pipeline in (1, 16):
    for test in ("ping_inline", "ping_mbulk", "set", "get"):
        per = {}
        for server in ("pants_resp", "mio_resp", "tokio_resp", "redis"):
            runs = resp.get((test, pipeline, server))
            if not runs:
                per[server] = None
                continue
            us = statistics.median(ns / n / 1000 for ns, n, _ in runs)
            rps = statistics.median(r for _, _, r in runs)
            per[server] = (us, rps)
        if not per["pants_resp"]:
            continue
        fmt = lambda s: None if not per[s] else f"{per[s][0]:.3f} µs ({per[s][1] / 1000:.0f}k/s)"
        pants, mio, redis = per["pants_resp"][0], per["mio_resp"][0], per["redis"] and per["redis"][0]
        bound = 1.05 if pipeline == 1 else 1.15
        ok = pants / mio <= bound and (redis is None or pants < redis)
        target = f"≤ {bound:.2f}× mio, < redis"
        row(f"{test} -P {pipeline}", "CPU/request (rps)", fmt("pants_resp"), fmt("mio_resp"),
            fmt("tokio_resp"), fmt("redis"), target, ("met" if ok else "MISSED")
            + f" ({pants / mio:.2f}×, {ratio(pants, redis)}× redis)")

# Echo MB/s and server CPU per MB, and idle memory per connection, by server.
rate = {s: statistics.median(b / sec / 1e6 for _, b, sec in runs) for s, runs in echo.items()}
cpu = {s: statistics.median(ns / 1000 / (b / 1e6) for ns, b, _ in runs) for s, runs in echo.items()}
mb_s = lambda s: None if s not in rate else f"{rate[s]:.0f} MB/s"
us_mb = lambda s: None if s not in cpu else f"{cpu[s]:.0f} µs"
per_conn = {label: {s: v[index] * 1024 / v[0] for s, v in memory.items()}
            for label, index in (("connected", 1), ("after one request", 2))}
conn_bytes = lambda per: lambda s: None if s not in per else f"{per[s]:.0f} B"

if echo.get("pants_echo") and echo.get("mio_echo"):
    f, g = mb_s, us_mb
    r = rate["pants_echo"] / rate["mio_echo"]
    row("echo 10 × 64 KiB", "throughput", f("pants_echo"), f("mio_echo"), f("tokio_echo"), None,
        "≥ 0.95× mio", ("met" if r >= 0.95 else "MISSED") + f" ({r:.2f}×)")
    c = cpu["pants_echo"] / cpu["mio_echo"]
    row("echo 10 × 64 KiB", "server CPU per MB", g("pants_echo"), g("mio_echo"), g("tokio_echo"),
        None, "(info)", f"{c:.2f}×")

smol_rows = []  # the smol driver's rows, for the second table
for label, per in per_conn.items():
    f = conn_bytes(per)
    for kind in ("resp", "echo"):
        # The smol driver against the hand-written smol server: at most 1 KiB.
        ours = per.get(f"pants_smol_{kind}")
        if ours is not None:
            smol_rows.append((f"idle {kind}, {label}", f"RSS per conn ({memory[f'pants_smol_{kind}'][0]})",
                              f(f"pants_smol_{kind}"), f(f"smol_{kind}"), f(f"pants_{kind}"), "≤ 1 KiB",
                              ("met" if ours <= 1024 else "MISSED")
                              + f" ({ratio(ours, per.get(f'smol_{kind}'))}× smol)"))
        pants = per.get(f"pants_{kind}")
        if pants is None:
            continue
        ok = pants <= 256
        n = memory[f"pants_{kind}"][0]
        row(f"idle {kind}, {label}", f"RSS per conn ({n})", f(f"pants_{kind}"), f(f"mio_{kind}"),
            f(f"tokio_{kind}"), f("redis") if kind == "resp" else None, "≤ 256 B",
            ("met" if ok else "MISSED") + f" ({ratio(pants, per.get(f'mio_{kind}'))}× mio)")

header = ("measurement", "unit", "pants (mio driver)", "raw mio", "tokio", "redis-server",
          "target", "result (pants / mio)")
lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
for r in rows:
    lines.append("| " + " | ".join("–" if v is None else v for v in r) + " |")
table = "\n".join(lines)

# The smol driver against the hand-written smol servers, with pants on mio beside.
for pipeline in (1, 16):
    for test in ("ping_inline", "ping_mbulk", "set", "get"):
        per = {}
        for server in ("pants_smol_resp", "smol_resp", "pants_resp"):
            runs = resp.get((test, pipeline, server))
            per[server] = runs and (statistics.median(ns / n / 1000 for ns, n, _ in runs),
                                    statistics.median(r for _, _, r in runs))
        if not per["pants_smol_resp"] or not per["smol_resp"]:
            continue
        fmt = lambda s: None if not per[s] else f"{per[s][0]:.3f} µs ({per[s][1] / 1000:.0f}k/s)"
        ours, ref, mio = per["pants_smol_resp"][0], per["smol_resp"][0], per["pants_resp"] and per["pants_resp"][0]
        ok = ours <= ref
        smol_rows.append((f"{test} -P {pipeline}", "CPU/request (rps)", fmt("pants_smol_resp"),
                          fmt("smol_resp"), fmt("pants_resp"), "≤ smol (goal ≤ 1.25× pants on mio)",
                          ("met" if ok else "MISSED") + f" ({ours / ref:.2f}× smol, {ratio(ours, mio)}× pants on mio)"))
if echo.get("pants_smol_echo") and echo.get("smol_echo"):
    r = rate["pants_smol_echo"] / rate["smol_echo"]
    smol_rows.append(("echo 10 × 64 KiB", "throughput", mb_s("pants_smol_echo"), mb_s("smol_echo"),
                      mb_s("pants_echo"), "≥ 0.95× smol", ("met" if r >= 0.95 else "MISSED") + f" ({r:.2f}×)"))
    smol_rows.append(("echo 10 × 64 KiB", "server CPU per MB", us_mb("pants_smol_echo"),
                      us_mb("smol_echo"), us_mb("pants_echo"), "(info)",
                      f"{cpu['pants_smol_echo'] / cpu['smol_echo']:.2f}×"))
if smol_rows:
    header = ("measurement", "unit", "pants (smol driver)", "hand-written smol", "pants (mio driver)",
              "target", "result")
    lines = ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in smol_rows:
        lines.append("| " + " | ".join("–" if v is None else v for v in r) + " |")
    table += "\n" + "\n".join(lines)

# The kernel's part of the RESP rows' CPU: where pants and raw mio make the same system
# calls, these should match (clock ticks: about 1% resolution at -P 1, 2% at -P 16).
lines = ["", "| request | kernel time per request: pants | raw mio | redis-server | pants / mio |",
         "|---|---|---|---|---|"]
for pipeline in (1, 16):
    for test in ("ping_inline", "ping_mbulk", "set", "get"):
        k = {s: statistics.median(v) for s, v in ((s, kernel.get((test, pipeline, s))) for s in
             ("pants_resp", "mio_resp", "redis")) if v}
        if "pants_resp" not in k or "mio_resp" not in k:
            continue
        f = lambda s: f"{k[s]:.3f} µs" if s in k else "–"
        lines.append(f"| {test} -P {pipeline} | {f('pants_resp')} | {f('mio_resp')} | {f('redis')} "
                     f"| {ratio(k['pants_resp'], k['mio_resp'])}× |")
if len(lines) > 3:
    table += "\n" + "\n".join(lines)

# Groups of engines (issue 18): CPU per request of --threads 2 against --threads 1, every
# thread and the client on one CPU; the connections' split; the placed run.
lines = ["", "| group of 2 engines (all on CPU 0) | CPU/request, 1 engine | 2 engines | 2 / 1 | target "
         "| kernel µs/request, 1 / 2 engines | context switches per 100 requests, 1 / 2 engines |",
         "|---|---|---|---|---|---|---|"]
median_of = lambda table, key: statistics.median(table[key]) if table.get(key) else None
pair = lambda a, b, f: "–" if a is None or b is None else f"{f(a)} / {f(b)}"
for one, two, driver in (("pants_resp", "pants_resp_t2", "mio"), ("pants_smol_resp", "pants_smol_resp_t2", "smol")):
    for pipeline in (1, 16):
        for test in ("ping_inline", "ping_mbulk", "set", "get"):
            a, b = resp.get((test, pipeline, one)), resp.get((test, pipeline, two))
            if not a or not b:
                continue
            ua = statistics.median(ns / n / 1000 for ns, n, _ in a)
            ub = statistics.median(ns / n / 1000 for ns, n, _ in b)
            met = "met" if ub / ua <= 1.05 else "MISSED"
            ka, kb = median_of(kernel, (test, pipeline, one)), median_of(kernel, (test, pipeline, two))
            sa, sb = median_of(switches, (test, pipeline, one)), median_of(switches, (test, pipeline, two))
            lines.append(f"| {driver} {test} -P {pipeline} | {ua:.3f} µs | {ub:.3f} µs | {ub / ua:.3f}× "
                         f"| ≤ 1.05×: {met} | {pair(ka, kb, lambda k: f'{k:.3f}')} "
                         f"| {pair(sa, sb, lambda x: f'{100 * x:.1f}')} |")
if single.get("pants_resp") and single.get("pants_resp_t2"):
    ua, ub = (statistics.median(ns / n / 1000 for ns, n, _ in single[s]) for s in ("pants_resp", "pants_resp_t2"))
    sa, sb = (statistics.median(x / n for _, n, x in single[s]) for s in ("pants_resp", "pants_resp_t2"))
    met = "met" if ub / ua <= 1.05 else "MISSED"
    lines.append(f"| mio ping_inline, one client (-c 1): nothing split | {ua:.3f} µs | {ub:.3f} µs | {ub / ua:.3f}× "
                 f"| ≤ 1.05×: {met} | | {100 * sa:.1f} / {100 * sb:.1f} |")
if echo.get("pants_echo") and echo.get("pants_echo_t2"):
    r = cpu["pants_echo_t2"] / cpu["pants_echo"]
    lines.append(f"| mio echo 10 × 64 KiB, CPU per MB | {cpu['pants_echo']:.0f} µs | {cpu['pants_echo_t2']:.0f} µs "
                 f"| {r:.3f}× | (info) | | |")
for clients, runs in sorted(splits.items(), reverse=True):
    lines.append(f"| connections by engine, {clients} clients (+2: the probe, redis-benchmark's first), 5 servers | "
                 + ", ".join(s.replace(" ", "/") for s in runs) + " | | | (info) | | |")
for server, runs in placed.items():
    rps = statistics.median(r for _, _, r, _ in runs)
    server_s = statistics.median(ns / 1e9 for ns, _, _, _ in runs)
    client_s = statistics.median(c for _, _, _, c in runs)
    lines.append(f"| placed: {server}, get -P 16, client on CPU 0, server anywhere | {rps / 1000:.0f}k/s | "
                 f"server CPU {server_s:.2f} s | client CPU {client_s:.2f} s | (placement, not scaling) | | |")
if len(lines) > 3:
    table += "\n" + "\n".join(lines)
open(table_path, "w").write(table + "\n")
print(table)
PY
log "raw numbers: $results; table: $out/table.md"
