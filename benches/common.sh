# What the benchmark scripts share; sourced by them, not run.

log() { echo "== $*" >&2; }

# Makes sure every command of "COMMAND:PACKAGE ..." is there: installs the Debian packages of
# the missing ones (as root), or says what to install and exits.
install_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The cargo target directory of the workspace at $1.
target_dir_of() {
  (cd "$1" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
}

# Builds in release what a benchmark runs: the workspace's examples (the arguments before
# `--`: `--examples`, or `--example NAME`) and benches/reference (those after it, such as
# `--bin canary`; all of it when none). Sets ws_target and ref_target (the workspace's target
# directory, the reference's or $REF_TARGET_DIR), and examples and ref (where the binaries
# are). Needs $root, the workspace.
build_servers() {
  local ws_args=()
  while (($#)) && [ "$1" != -- ]; do
    ws_args+=("$1")
    shift
  done
  (($#)) && shift
  ws_target=$(target_dir_of "$root")
  ref_target=${REF_TARGET_DIR:-$(target_dir_of "$root/benches/reference")}
  log "building ${ws_args[*]} (release, $ws_target)"
  cargo build --release "${ws_args[@]}" --target-dir "$ws_target" >&2
  log "building benches/reference (release, $ref_target)"
  (cd "$root/benches/reference" && cargo build --release "$@" --target-dir "$ref_target" >&2)
  examples=$ws_target/release/examples
  ref=$ref_target/release
}

# The nanoseconds every thread of process $1 has spent on a CPU.
cpu_ns() {
  local sum=0 ns rest file
  for file in /proc/"$1"/task/*/schedstat; do
    read -r ns rest <"$file" || continue
    sum=$((sum + ns))
  done
  echo "$sum"
}

# The resident memory of process $1, in KiB.
rss_kb() {
  awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status
}

# How many descriptors process $1 holds.
fd_count() {
  local fds=(/proc/"$1"/fd/*)
  echo "${#fds[@]}"
}
