#!/usr/bin/env bash
# Runs every cargo-fuzz target (harness/fuzz) for a short while from its seed corpus
# (copied, so the repository's corpus stays as committed). A crash fails the run and leaves
# the input in harness/fuzz/artifacts/TARGET/; add it to the seed corpus and a test.
#   ci/fuzz.sh [SECONDS]        (default 20 per target)
# Needs cargo-fuzz (ci/install-deps.sh installs it). The stable toolchain runs it with
# RUSTC_BOOTSTRAP=1 (libFuzzer and the sanitizer flags are nightly features).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-20}
command -v cargo-fuzz >/dev/null 2>&1 ||
    { echo "ci/fuzz.sh: cargo-fuzz not found: run ci/install-deps.sh" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in netconf vpp_message ovsdb_server memif_control kube_api; do
    mkdir -p "$work/$target"
    cp harness/fuzz/corpus/"$target"/* "$work/$target/"
    echo "fuzzing $target for ${SECONDS_PER_TARGET}s" >&2
    cargo fuzz run --fuzz-dir harness/fuzz "$target" "$work/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" 2>&1 | tail -4
done
