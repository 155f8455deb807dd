#!/usr/bin/env bash
# The whole test suite: installs what it needs, then formatting, lints, every Rust test
# (unit, property, integration against mock-vpp, mock-ovsdb, real OVS-DPDK, dpdk-testpmd,
# real host-local, vpp_papi, the libcni runtime client, Docker and netns scenarios), and a
# short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh

# What this run starts carries this mark (the leak check judges only that), and what
# exists before it is not this run's.
export USRSP_TEST_RUN="ci-$$-$(date +%s%N)"
baseline=$(mktemp)
trap 'rm -f "$baseline"' EXIT
ci/leak-check.sh --baseline "$baseline"

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# The end-to-end tests exec the real binaries, so build them first.
cargo build --workspace --bins
cargo test --workspace
ci/fuzz.sh 10
ci/leak-check.sh --since "$baseline"
