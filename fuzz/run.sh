#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each, one after the other, and fails if any
# target crashes (the crashing input is left in fuzz/artifacts/<target>/).
#
#   fuzz/run.sh 300                          # stable Rust, no sanitizer
#   FUZZ_SANITIZER=address fuzz/run.sh 300   # AddressSanitizer (RUSTC_BOOTSTRAP=1 is set here)
#   FUZZ_TARGETS="stream" fuzz/run.sh 60     # some targets only
#
# The targets (`cargo fuzz list`): framer, stream, engine, resp, http, chat, echo, kv, tls. CI runs
# `fuzz/run.sh 30` after the tests (.ci/run).
#
# Each target starts from its seeds (fuzz/corpus/<target>/) and its regressions
# (fuzz/regressions/<target>/) and keeps what it finds in fuzz/target/corpus/<target>/
# (ignored by git), so that repeated runs go on where the last one stopped without growing the
# committed corpus. Installs cargo-fuzz when it is missing.
set -euo pipefail

if [[ $# -ne 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS" >&2
    exit 2
fi
seconds=$1
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

sanitizer=${FUZZ_SANITIZER:-none}
if [[ $sanitizer != none ]]; then
    # Sanitizers need -Zsanitizer: allowed on stable Rust with RUSTC_BOOTSTRAP.
    export RUSTC_BOOTSTRAP=1
fi

targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
cargo fuzz build --sanitizer "$sanitizer"

failed=()
for target in $targets; do
    work=target/corpus/$target
    mkdir -p "$work" "corpus/$target" "regressions/$target"
    echo "=== $target: ${seconds}s, sanitizer $sanitizer" >&2
    if ! cargo fuzz run --sanitizer "$sanitizer" "$target" "$work" "corpus/$target" \
        "regressions/$target" -- -max_total_time="$seconds" -timeout=30 \
        -print_final_stats=1; then
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/; see fuzz/README.md)" >&2
    exit 1
fi
echo "no crash in:" $targets >&2
