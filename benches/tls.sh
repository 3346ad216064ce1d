#!/usr/bin/env bash
# The TLS benchmark (issue 15): pants' TLS beside plaintext and beside tokio-rustls, in one run.
#
#   1. Echo throughput: `echo_load --tls` (1 and 50 connections, 64 KiB chunks, 3 s after 0.5 s
#      of warmup) against `tls_echo` on the mio driver (`pants_tls_echo`) and on the smol
#      driver (`pants_smol_tls_echo`) and our `tokio_tls_echo` (tokio + tokio-rustls) and
#      `smol_tls_echo` (smol + futures-rustls, the hand-written yardstick of the smol driver),
#      with plaintext `echo_load` against `echo` (`pants_echo`) and `tokio_echo` beside: MB/s,
#      and the server's CPU time per MB echoed.
#   2. Requests: `redis-benchmark --tls -t ping_mbulk,set,get -c 50`, `-P 1` and `-P 16`,
#      against `resp --tls` (`pants_tls_resp`, `pants_smol_tls_resp`) and our `tokio_tls_resp`
#      and `smol_tls_resp`, with plaintext `resp` (`pants_resp`) and `tokio_resp` beside: the
#      server's CPU time per request (50 handshakes a run included), requests per second beside.
#   3. Idle memory: `idle_conns --tls` opens 2,000 connections, each after a handshake, to a
#      fresh `tls_echo` and `tokio_tls_echo`, then one echo request on each and 3 s of
#      idleness: resident memory per connection. `rustls_floor` beside: what rustls itself
#      holds per idle server session (the floor under any rustls server).
#
# Every server and client runs on CPU 0 (`taskset -c 0`), as in benches/servers.sh; servers
# are compared by their own CPU time (/proc/PID/task/*/schedstat), runs interleaved. Every
# server uses one certificate (ECDSA P-256, made here with openssl) and rustls 0.23 with ring,
# so the handshakes and cipher suites measured are the same. The table of ratios ends the run,
# with the target: pants within 1.1x of tokio-rustls' CPU per MB and per request. Written, with
# the raw numbers, to $out (printed at the end). Beside it, pants on smol against the
# hand-written smol servers (no target: what the smol runtime itself costs, as in servers.sh).
#
# Builds in release: the workspace's examples and benches/reference (target dirs as in
# servers.sh). Installs redis-tools, openssl (apt-get, as root) when missing. Traffic stays on
# 127.0.0.0/8; every step is bounded in time.
#
# Usage: benches/tls.sh [--repeat N] [--quick] [--skip-echo] [--skip-resp] [--skip-memory]
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

repeat=3
quick=0
do_echo=1
do_resp=1
do_memory=1
while (($#)); do
  case "$1" in
    --repeat) repeat=${2:?--repeat needs a count}; shift ;;
    --quick) quick=1 ;;
    --skip-echo) do_echo=0 ;;
    --skip-resp) do_resp=0 ;;
    --skip-memory) do_memory=0 ;;
    *) echo "usage: $0 [--repeat N] [--quick] [--skip-echo] [--skip-resp] [--skip-memory]" >&2; exit 2 ;;
  esac
  shift
done

requests_p1=100000
requests_p16=500000
idle_conns=2000
echo_seconds=3
if [ "$quick" = 1 ]; then
  requests_p1=10000
  requests_p16=50000
  idle_conns=200
  echo_seconds=1
fi
cpu=0

# shellcheck source=benches/common.sh
source benches/common.sh

install_packages redis-benchmark:redis-tools openssl:openssl taskset:util-linux python3:python3
build_servers --examples --

out=$ws_target/tls-bench
mkdir -p "$out"
results=$out/results.tsv
: >"$results"

# One certificate for every server: self-signed, for localhost and 127.0.0.1, not a CA
# (rustls refuses a CA certificate as a server's own).
cert=$out/cert.pem
key=$out/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -addext "basicConstraints=critical,CA:FALSE" -keyout "$key" -out "$cert" 2>/dev/null
tls_flags=(--cert "$cert" --key "$key")

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- Servers ------------------------------------------------------------------------------

declare -A pid port
started=()

cleanup() {
  local name
  for name in "${started[@]}"; do kill "${pid[$name]}" 2>/dev/null || true; done
  for name in "${started[@]}"; do wait "${pid[$name]}" 2>/dev/null || true; done
}
trap cleanup EXIT

# The command line of server NAME (without --listen).
command_of() {
  case "$1" in
    pants_tls_echo) echo "$examples/tls_echo ${tls_flags[*]}" ;;
    pants_smol_tls_echo) echo "$examples/tls_echo --driver smol ${tls_flags[*]}" ;;
    pants_echo) echo "$examples/echo" ;;
    pants_tls_resp) echo "$examples/resp --tls ${tls_flags[*]}" ;;
    pants_smol_tls_resp) echo "$examples/resp --driver smol --tls ${tls_flags[*]}" ;;
    pants_resp) echo "$examples/resp" ;;
    tokio_tls_echo | tokio_tls_resp | smol_tls_echo | smol_tls_resp)
      echo "$ref/$1 ${tls_flags[*]}" ;;
    *) echo "$ref/$1" ;;
  esac
}

# start NAME: starts server NAME on CPU $cpu, port 0, and waits for its `listening on` line.
start() {
  local name=$1 logfile=$out/$1.log i
  rm -f "$logfile"
  # shellcheck disable=SC2046 # the command line is split on purpose (no spaces in the paths)
  taskset -c "$cpu" $(command_of "$name") --listen 127.0.0.1:0 >"$logfile" 2>&1 &
  pid[$name]=$!
  started+=("$name")
  for ((i = 0; i < 100; i++)); do
    port[$name]=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$logfile" 2>/dev/null || true)
    [ -n "${port[$name]}" ] && return 0
    kill -0 "${pid[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start; its log ($logfile):" >&2
  cat "$logfile" >&2 || true
  exit 1
}

stop() {
  local name=$1 kept=() other
  kill "${pid[$name]}" 2>/dev/null || true
  wait "${pid[$name]}" 2>/dev/null || true
  for other in "${started[@]}"; do [ "$other" = "$name" ] || kept+=("$other"); done
  started=("${kept[@]}")
}

is_tls() { [[ $1 == *tls* ]]; }

# ---- 1. Echo ------------------------------------------------------------------------------

echo_servers=(pants_tls_echo pants_smol_tls_echo tokio_tls_echo smol_tls_echo pants_echo tokio_echo)

if [ "$do_echo" = 1 ]; then
  for name in "${echo_servers[@]}"; do start "$name"; done
  log "echo: ${echo_servers[*]} on CPU $cpu; echo_load on CPU $cpu"
  for conns in 1 50; do
    for ((r = 1; r <= repeat; r++)); do
      for name in "${echo_servers[@]}"; do
        client_tls=()
        if is_tls "$name"; then client_tls=(--tls "$cert"); fi
        before=$(cpu_ns "${pid[$name]}")
        line=$(timeout 60 taskset -c "$cpu" "$ref/echo_load" --addr "127.0.0.1:${port[$name]}" \
          --conns "$conns" --chunk 65536 --seconds "$echo_seconds" "${client_tls[@]}")
        after=$(cpu_ns "${pid[$name]}")
        # "echoed BYTES bytes in SECONDS s: RATE MB/s"
        read -r _ bytes _ _ seconds _ rate _ <<<"$line"
        printf 'echo\t%s\t%s\t%s\t%s\t%s\n' "$conns" "$name" "$((after - before))" "$bytes" \
          "$seconds" >>"$results"
        echo "$name, $conns connections: $line" >&2
      done
    done
  done
  for name in "${echo_servers[@]}"; do stop "$name"; done
fi

# ---- 2. Requests --------------------------------------------------------------------------

resp_servers=(pants_tls_resp pants_smol_tls_resp tokio_tls_resp smol_tls_resp pants_resp tokio_resp)

if [ "$do_resp" = 1 ]; then
  for name in "${resp_servers[@]}"; do start "$name"; done
  log "RESP: ${resp_servers[*]} on CPU $cpu; redis-benchmark on CPU $cpu"
  for pipeline in 1 16; do
    if [ "$pipeline" = 1 ]; then n=$requests_p1; else n=$requests_p16; fi
    for test in ping_mbulk set get; do
      for ((r = 1; r <= repeat; r++)); do
        for name in "${resp_servers[@]}"; do
          client_tls=()
          if is_tls "$name"; then client_tls=(--tls --cacert "$cert" --sni localhost); fi
          before=$(cpu_ns "${pid[$name]}")
          csv=$(timeout 300 taskset -c "$cpu" redis-benchmark -h 127.0.0.1 -p "${port[$name]}" \
            "${client_tls[@]}" -t "$test" -c 50 -n "$n" -P "$pipeline" --csv \
            2>>"$out/redis-benchmark.log")
          after=$(cpu_ns "${pid[$name]}")
          rps=$(printf '%s\n' "$csv" | awk -F'"' 'NR == 2 { print $4 }')
          if [ -z "$rps" ]; then
            echo "redis-benchmark printed no result for $name $test -P $pipeline: $csv" >&2
            exit 1
          fi
          printf 'resp\t%s -P %s\t%s\t%s\t%s\t%s\n' "$test" "$pipeline" "$name" \
            "$((after - before))" "$n" "$rps" >>"$results"
          awk -v s="$name" -v t="$test" -v p="$pipeline" -v ns="$((after - before))" -v n="$n" \
            -v rps="$rps" 'BEGIN { printf "%-20s %-10s -P %-2s %8.3f us/request %10.0f requests/s\n",
              s, t, p, ns / n / 1000, rps }' >&2
        done
      done
    done
  done
  for name in "${resp_servers[@]}"; do stop "$name"; done
fi

# ---- 3. Idle memory -----------------------------------------------------------------------

if [ "$do_memory" = 1 ]; then
  floor=$("$ref/rustls_floor" "${tls_flags[@]}" --conns 1000)
  echo "$floor" >&2
  # "rustls: HEAP heap + INLINE inline = TOTAL bytes per idle server session"
  read -r _ _ _ _ _ _ _ total _ <<<"$floor"
  printf 'floor\t-\trustls\t%s\t-\t-\n' "$total" >>"$results"
  log "idle memory: $idle_conns TLS connections to each server"
  for name in pants_tls_echo tokio_tls_echo; do
    start "$name"
    server=${pid[$name]}
    sleep 0.5
    rss0=$(rss_kb "$server")
    coproc idle { exec "$ref/idle_conns" --addr "127.0.0.1:${port[$name]}" --conns "$idle_conns" \
      --sources 10 --request echo --tls "$cert" 2>>"$out/idle_conns.log"; }
    client=$idle_PID
    exec {to_client}>&"${idle[1]}" {from_client}<&"${idle[0]}"
    if ! read -r -t 300 said <&"$from_client" || [[ "$said" != connected* ]]; then
      echo "idle_conns did not connect to $name (see $out/idle_conns.log)" >&2
      exit 1
    fi
    echo go >&"$to_client"
    if ! read -r -t 300 said <&"$from_client" || [[ "$said" != answered* ]]; then
      echo "idle_conns got no answers from $name (see $out/idle_conns.log)" >&2
      exit 1
    fi
    sleep 3
    rss1=$(rss_kb "$server")
    echo done >&"$to_client"
    exec {to_client}>&- {from_client}<&-
    wait "$client" || true
    printf 'memory\t-\t%s\t%s\t%s\t-\n' "$name" "$idle_conns" "$((rss1 - rss0))" >>"$results"
    printf '%-15s RSS %6d KiB; +%6d KiB with %d idle TLS connections\n' \
      "$name" "$rss0" "$((rss1 - rss0))" "$idle_conns" >&2
    stop "$name"
  done
fi

# ---- The table ----------------------------------------------------------------------------

python3 - "$results" "$out/table.md" <<'PY'
import statistics, sys
from collections import defaultdict

results, table_path = sys.argv[1], sys.argv[2]
echo = defaultdict(list)  # (conns, server) -> [(cpu_ns, bytes, seconds)]
resp = defaultdict(list)  # (cell, server) -> [(cpu_ns, n, rps)]
memory, floor = {}, None
for line in open(results):
    kind, what, server, a, b, c = line.rstrip("\n").split("\t")
    if kind == "echo":
        echo[(int(what), server)].append((int(a), int(b), float(c)))
    elif kind == "resp":
        resp[(what, server)].append((int(a), int(b), float(c)))
    elif kind == "memory":
        memory[server] = int(b) * 1024 / int(a)
    else:
        floor = int(a)

rows = []
def verdict(ratio, bound):
    return ("met" if ratio <= bound else "MISSED") + f" ({ratio:.2f}×)"

def ratio(cost, ours, theirs):
    """Ours over theirs, when both ran."""
    return "–" if ours not in cost or theirs not in cost else f"{cost[ours] / cost[theirs]:.2f}×"

def own_cost(cost, tls, plain, ref_tls, ref_plain):
    """TLS's own cost, pants against tokio-rustls: (TLS − plaintext) over (TLS − plaintext)."""
    if any(s not in cost for s in (tls, plain, ref_tls, ref_plain)):
        return "–"
    ours, theirs = cost[tls] - cost[plain], cost[ref_tls] - cost[ref_plain]
    return f"{ours / theirs:.2f}×" if theirs > 0 else "–"

for conns in (1, 50):
    runs = {s: echo.get((conns, s)) for s in ("pants_tls_echo", "pants_smol_tls_echo",
            "tokio_tls_echo", "smol_tls_echo", "pants_echo", "tokio_echo")}
    if not runs["pants_tls_echo"] or not runs["tokio_tls_echo"]:
        continue
    cpu = {s: statistics.median(ns / 1000 / (b / 1e6) for ns, b, _ in r) for s, r in runs.items() if r}
    rate = {s: statistics.median(b / sec / 1e6 for _, b, sec in r) for s, r in runs.items() if r}
    cell = lambda s: "–" if s not in cpu else f"{cpu[s]:.0f} µs/MB ({rate[s]:.0f} MB/s)"
    rows.append((f"echo {conns} × 64 KiB", cell("pants_tls_echo"), cell("pants_smol_tls_echo"),
                 cell("tokio_tls_echo"), cell("smol_tls_echo"), cell("pants_echo"),
                 cell("tokio_echo"),
                 verdict(cpu["pants_tls_echo"] / cpu["tokio_tls_echo"], 1.10),
                 "–" if "pants_smol_tls_echo" not in cpu else
                 verdict(cpu["pants_smol_tls_echo"] / cpu["tokio_tls_echo"], 1.10),
                 ratio(cpu, "pants_smol_tls_echo", "smol_tls_echo"),
                 own_cost(cpu, "pants_tls_echo", "pants_echo", "tokio_tls_echo", "tokio_echo")))

for cell_name in sorted({c for c, _ in resp}, key=lambda c: (int(c.split()[-1]), c)):
    runs = {s: resp.get((cell_name, s)) for s in ("pants_tls_resp", "pants_smol_tls_resp",
            "tokio_tls_resp", "smol_tls_resp", "pants_resp", "tokio_resp")}
    if not runs["pants_tls_resp"] or not runs["tokio_tls_resp"]:
        continue
    us = {s: statistics.median(ns / n / 1000 for ns, n, _ in r) for s, r in runs.items() if r}
    rps = {s: statistics.median(x for _, _, x in r) for s, r in runs.items() if r}
    cell = lambda s: "–" if s not in us else f"{us[s]:.3f} µs ({rps[s] / 1000:.0f}k/s)"
    rows.append((cell_name, cell("pants_tls_resp"), cell("pants_smol_tls_resp"),
                 cell("tokio_tls_resp"), cell("smol_tls_resp"), cell("pants_resp"),
                 cell("tokio_resp"),
                 verdict(us["pants_tls_resp"] / us["tokio_tls_resp"], 1.10),
                 "–" if "pants_smol_tls_resp" not in us else
                 verdict(us["pants_smol_tls_resp"] / us["tokio_tls_resp"], 1.10),
                 ratio(us, "pants_smol_tls_resp", "smol_tls_resp"),
                 own_cost(us, "pants_tls_resp", "pants_resp", "tokio_tls_resp", "tokio_resp")))

header = ("measurement (server CPU)", "pants TLS (mio)", "pants TLS (smol)", "tokio-rustls",
          "smol-rustls (hand-written)", "pants plaintext (mio)", "tokio plaintext",
          "mio / tokio-rustls (≤ 1.10×)", "smol / tokio-rustls (≤ 1.10×)",
          "smol / smol-rustls", "TLS's own cost, mio / tokio (TLS − plaintext)")
lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
lines += ["| " + " | ".join(r) + " |" for r in rows]
if memory:
    lines += ["", "| idle TLS connection | resident memory per connection | target |",
              "|---|---|---|"]
    for server, per in memory.items():
        target = "–"
        if server.startswith("pants") and floor:
            # The floor is rustls' own; pants' part on top of it: at most 2 KiB.
            target = ("met" if per <= floor + 2048 else "MISSED") + f" (≤ floor + 2 KiB: {per - floor:+.0f} B)"
        lines.append(f"| {server} | {per:.0f} B | {target} |")
    if floor:
        lines.append(f"| rustls' own session (the floor) | {floor} B | – |")
table = "\n".join(lines)
open(table_path, "w").write(table + "\n")
print(table)
PY
log "raw numbers: $results; table: $out/table.md"
