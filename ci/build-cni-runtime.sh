#!/bin/sh
# build-cni-runtime.sh OUTDIR: builds ci/cni-runtime (our libcni runtime client) into
# OUTDIR/cni-runtime, offline, against Debian's libcni source. Rebuilds only when a source
# file is newer than the binary; safe to run from several processes at once.
#   apt-get install -y golang-go golang-github-appc-cni-dev   (ci/install-deps.sh does it)
set -eu

OUT=${1:?usage: build-cni-runtime.sh OUTDIR}
SRC=$(cd "$(dirname "$0")/cni-runtime" && pwd)
GOCODE=${GOCODE:-/usr/share/gocode}
mkdir -p "$OUT"
BIN="$(cd "$OUT" && pwd)/cni-runtime"

if [ -x "$BIN" ] && [ -z "$(find "$SRC" -name '*.go' -newer "$BIN" 2>/dev/null)" ]; then
    echo "$BIN"
    exit 0
fi
command -v go >/dev/null 2>&1 ||
    { echo "build-cni-runtime.sh: 'go' not found: apt-get install -y golang-go (or run ci/install-deps.sh)" >&2; exit 1; }
[ -d "$GOCODE/src/github.com/containernetworking/cni/libcni" ] ||
    { echo "build-cni-runtime.sh: libcni source missing under $GOCODE: apt-get install -y golang-github-appc-cni-dev" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cni-runtime.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$WORK/src/cni-runtime"
cp "$SRC"/*.go "$WORK/src/cni-runtime/"
if [ -z "${GOCACHE:-}" ]; then
    GOCACHE="${XDG_CACHE_HOME:-${HOME:-$WORK}/.cache}/go-build"
    export GOCACHE
fi
cd "$WORK/src/cni-runtime"
GO111MODULE=off GOPATH="$WORK:$GOCODE" GOFLAGS='' GOPROXY=off CGO_ENABLED=0 \
    go build -trimpath -ldflags='-s -w' -o "$WORK/cni-runtime" .
mv -f "$WORK/cni-runtime" "$BIN"
echo "$BIN"
