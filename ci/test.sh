#!/usr/bin/env bash
# The whole test suite: installs what it needs, then formatting, lints, every Rust test
# (unit, property, integration against mock-vpp, real host-local, vpp_papi and the
# libcni runtime client).
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# The end-to-end tests exec the real binaries, so build them first.
cargo build --workspace --bins
cargo test --workspace
