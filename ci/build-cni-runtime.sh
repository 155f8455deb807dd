#!/bin/sh
# build-cni-runtime.sh OUTDIR: builds ci/cni-runtime, the libcni runtime client, into
# OUTDIR/cni-runtime (static) and prints its path. Offline: GOPATH mode against Debian's
# libcni source, nothing is downloaded. Rebuilds only when a source file is newer than
# the binary; several callers may run it at once (the binary is replaced atomically).
#   needs: apt-get install -y golang-go golang-github-appc-cni-dev  (ci/install-deps.sh)
set -eu

OUT=${1:?usage: build-cni-runtime.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/cni-runtime
GOCODE=${GOCODE:-/usr/share/gocode}
mkdir -p "$OUT"
BIN="$(cd "$OUT" && pwd)/cni-runtime"

# Up to date: one find over a handful of files (the sources and this script), no Go.
if [ -x "$BIN" ] && [ -z "$(find "$SRC" "$HERE/build-cni-runtime.sh" \( -name '*.go' -o -name build-cni-runtime.sh \) -newer "$BIN")" ]; then
    echo "$BIN"
    exit 0
fi

die() {
    echo "build-cni-runtime.sh: $*" >&2
    exit 1
}
command -v go >/dev/null 2>&1 ||
    die "'go' not found: apt-get install -y golang-go (or run ci/install-deps.sh)"
[ -d "$GOCODE/src/github.com/containernetworking/cni/libcni" ] ||
    die "libcni source not found under $GOCODE: apt-get install -y golang-github-appc-cni-dev (or run ci/install-deps.sh)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cni-runtime-build.XXXXXX")
trap 'rm -rf "$WORK" "$BIN.tmp.$$"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$WORK/src/cni-runtime"
cp "$SRC"/*.go "$WORK/src/cni-runtime/"

# Go needs a writable build cache; without HOME it has no default.
if [ -z "${GOCACHE:-}" ]; then
    if [ -n "${XDG_CACHE_HOME:-}" ]; then
        GOCACHE=$XDG_CACHE_HOME/go-build
    elif [ -n "${HOME:-}" ] && [ -w "$HOME" ]; then
        GOCACHE=$HOME/.cache/go-build
    else
        GOCACHE=${TMPDIR:-/tmp}/cni-runtime-gocache-$(id -u)
    fi
fi
export GOCACHE

cd "$WORK/src/cni-runtime"
GO111MODULE=off GOPATH="$WORK:$GOCODE" GOFLAGS= GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -trimpath -ldflags='-s -w' -o "$WORK/cni-runtime" . ||
    die "go build failed (sources in $SRC)"
# Same filesystem as the target, so the final rename is atomic.
cp "$WORK/cni-runtime" "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
echo "$BIN"
