#!/usr/bin/env bash
# The framing benchmark, in one run: pants' Framer beside tokio-util's LinesCodec and
# AnyDelimiterCodec and a bare memmem count of "\r\n" (the ceiling), over `\r\n` lines fed whole
# and in 64 KiB chunks.
#
#   1. wall clock (criterion, core/benches/framing.rs, 64 MiB): GB/s and ratios;
#   2. instruction counts (gungraun under Valgrind's callgrind, core/benches/framing_instructions.rs,
#      4 MiB): instructions per input byte and ratios, repeatable on a noisy machine.
#
# Installs what it needs: valgrind (apt-get, as root) and gungraun-runner at exactly the version
# of the gungraun library in Cargo.lock (`cargo install --locked`, a few minutes, once).
#
# Usage: benches/framing.sh [--skip-instructions] [--skip-wall-clock]
# Targets (issue): the framer at least 2x LinesCodec and at least 50% of the memmem ceiling.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=benches/common.sh
source benches/common.sh

wall_clock=1
instructions=1
for arg in "$@"; do
  case "$arg" in
    --skip-instructions) instructions=0 ;;
    --skip-wall-clock) wall_clock=0 ;;
    *) echo "usage: $0 [--skip-instructions] [--skip-wall-clock]" >&2; exit 2 ;;
  esac
done

target_dir=$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') \
  || target_dir="$root/target"
out="$target_dir/framing-bench"
mkdir -p "$out"

install_tools() {
  install_packages valgrind:valgrind
  local version
  version=$(awk '/^name = "gungraun"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  if [ -z "$version" ]; then
    echo "gungraun is not in Cargo.lock" >&2
    exit 1
  fi
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  local have=""
  if command -v gungraun-runner >/dev/null 2>&1; then
    have=$(gungraun-runner --version 2>/dev/null | awk '{ print $2 }')
  fi
  if [ "$have" != "$version" ]; then
    echo "== installing gungraun-runner $version (found: ${have:-none})" >&2
    cargo install --locked gungraun-runner --version "$version"
  fi
}

if [ "$instructions" = 1 ]; then
  install_tools
fi

# Results older than this marker are not from this run.
marker="$out/started"
touch "$marker"

if [ "$wall_clock" = 1 ]; then
  echo "== wall clock: cargo bench -p pants-core --bench framing" >&2
  cargo bench -p pants-core --bench framing 2>&1 | tee "$out/framing.log" >&2
fi
if [ "$instructions" = 1 ]; then
  echo "== instructions: cargo bench -p pants-core --bench framing_instructions" >&2
  cargo bench -p pants-core --bench framing_instructions -- --output-format=json \
    >"$out/instructions.jsonl" 2> >(tee "$out/instructions.log" >&2)
fi

python3 - "$target_dir" "$marker" "$wall_clock" "$instructions" <<'PY'
import json, os, re, sys

target_dir, marker, wall_clock, instructions = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
since = os.path.getmtime(marker)
codecs = [("framer", "Framer"), ("lines_codec", "LinesCodec"), ("any_delimiter", "AnyDelimiterCodec")]
ceiling = "memmem_count"
verdicts = []

def row(label, value, unit, lines, memmem, higher_is_better):
    # Ratios read the same way in both tables: above 1x (or 100%) is better than the reference.
    if higher_is_better:
        vs_lines, vs_memmem = value / lines, value / memmem
    else:
        vs_lines, vs_memmem = lines / value, memmem / value
    return f"{label:<36}{value:>10.3f} {unit:<10}{vs_lines:>8.2f}x{vs_memmem:>11.0%}", vs_lines, vs_memmem

def table(title, unit, values, higher_is_better, note):
    print(f"\n{title}")
    print(f"{'variant':<36}{'value':>10} {'':<10}{'vs Lines':>9}{'vs memmem':>11}")
    for feed, feed_label in [("whole", "whole buffer"), ("chunked", "64 KiB chunks")]:
        lines, memmem = values[f"lines_codec_{feed}"], values[ceiling]
        for name, label in codecs:
            text, vs_lines, vs_memmem = row(f"{label}, {feed_label}", values[f"{name}_{feed}"], unit,
                                            lines, memmem, higher_is_better)
            print(text)
            if name == "framer":
                verdicts.append((f"{title.split(' (')[0]}, {feed_label}", vs_lines, vs_memmem))
    print(row("memmem count of \\r\\n (ceiling)", values[ceiling], unit, values["lines_codec_whole"],
              values[ceiling], higher_is_better)[0])
    print(note)

if wall_clock:
    base = os.path.join(target_dir, "criterion", "framing")
    gbps = {}
    for bench in sorted(os.listdir(base)):
        estimates = os.path.join(base, bench, "new", "estimates.json")
        meta = os.path.join(base, bench, "new", "benchmark.json")
        if not os.path.exists(estimates) or os.path.getmtime(estimates) < since:
            continue
        nanos = json.load(open(estimates))["median"]["point_estimate"]
        throughput = json.load(open(meta))["throughput"]
        size = throughput.get("BytesDecimal") or throughput.get("Bytes")
        gbps[bench] = size / nanos  # bytes per nanosecond = GB/s
    table("Wall clock (criterion, 64 MiB, median)", "GB/s", gbps, True,
          "GB/s = 10^9 bytes/s of input. 'vs Lines': throughput / LinesCodec's (same feeding);\n"
          "'vs memmem': throughput / the memmem count's.")

if instructions:
    source = open(os.path.join("core", "benches", "framing_instructions.rs")).read()
    expr = re.search(r"const BENCH_LEN: usize = ([0-9_ *]+);", source).group(1)
    size = 1
    for factor in expr.replace("_", "").split("*"):
        size *= int(factor)
    per_byte = {}
    with open(os.path.join(target_dir, "framing-bench", "instructions.jsonl")) as lines:
        for line in lines:
            summary = json.loads(line)
            total = summary["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]["new"]
            per_byte[summary["function_name"]] = total / size
    table(f"Instructions (callgrind, {size // 1024 // 1024} MiB)", "instr/byte", per_byte, False,
          "'vs Lines': LinesCodec's instructions / the variant's (above 1x: fewer);\n"
          "'vs memmem': the memmem count's instructions / the variant's.")

if verdicts:
    print("\nTargets for the Framer: >= 2x LinesCodec and >= 50% of the memmem ceiling")
    for what, vs_lines, vs_memmem in verdicts:
        ok = lambda met: "met" if met else "MISSED"
        print(f"  {what:<36} {vs_lines:5.2f}x LinesCodec: {ok(vs_lines >= 2):<7}"
              f"{vs_memmem:5.0%} of memmem: {ok(vs_memmem >= 0.5)}")
PY
