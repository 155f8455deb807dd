#!/usr/bin/env bash
# Installs what the test suite needs; safe to run again (installs only what is missing).
#   - containernetworking-plugins: the real host-local IPAM plugin in /usr/lib/cni
#   - golang-go, golang-github-appc-cni-dev: build the libcni runtime client used by the
#     end-to-end tests
#   - iproute2: network namespaces for the end-to-end tests
#   - dpdk, dpdk-dev: dpdk-testpmd (net_memif), an independent memif peer for interop tests
#   - openvswitch-switch, openvswitch-switch-dpdk: real ovsdb-server, ovs-vswitchd (DPDK build,
#     for vhost-user ports) and ovs-vsctl, for the OVS engine and mock-ovsdb tests
#   - vpp-papi (PyPI): VPP's official Python client, proves mock-vpp wire-compatible
#   - kubernetes (PyPI): the official Kubernetes Python client, and kubectl (Debian
#     kubernetes-client, only when no kubectl is on the machine): prove mock-kube
#   - cargo-fuzz (crates.io): runs the fuzz targets in harness/fuzz
#   - the x86_64-unknown-linux-musl standard library (rustup): the statically linked
#     binaries (the pod image's, and the plugin as the bench execs it)
#   - musl-tools: musl-gcc, which compiles ring (the plugin's TLS crypto) for that target
#     (.cargo/config.toml names it)
set -euo pipefail

apt_packages=(containernetworking-plugins golang-go golang-github-appc-cni-dev iproute2 dpdk dpdk-dev openvswitch-switch openvswitch-switch-dpdk musl-tools)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "ci/install-deps.sh: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import vpp_papi' 2>/dev/null; then
    echo "ci/install-deps.sh: pip install vpp-papi" >&2
    "$PYTHON" -m pip install -q vpp-papi
fi

if ! "$PYTHON" -c 'import kubernetes' 2>/dev/null; then
    echo "ci/install-deps.sh: pip install kubernetes" >&2
    "$PYTHON" -m pip install -q kubernetes
fi

if ! command -v kubectl >/dev/null 2>&1; then
    echo "ci/install-deps.sh: installing kubernetes-client (kubectl)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi

# cargo-fuzz (crates.io): the coverage-guided fuzz targets in harness/fuzz (ci/fuzz.sh).
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "ci/install-deps.sh: cargo install cargo-fuzz" >&2
    cargo install -q --locked cargo-fuzz
fi

# The musl target: static binaries for the pod image and the bench (harness/src/images.rs).
musl=x86_64-unknown-linux-musl
if ! rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
    echo "ci/install-deps.sh: rustup target add $musl" >&2
    rustup target add "$musl"
fi
