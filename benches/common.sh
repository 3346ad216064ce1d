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
