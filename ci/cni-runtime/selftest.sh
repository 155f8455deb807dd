#!/usr/bin/env bash
# End-to-end checks of cni-runtime: builds it, then drives Debian's real plugins
# (/usr/lib/cni: bridge, ptp, host-local, tuning) in network namespaces, and a recording
# fake plugin for what those predate (CNI 1.1: GC, STATUS, cniVersion 1.1.0).
# The real-plugin checks need root (ip netns); without it they are skipped, loudly.
# Exits non-zero when any check fails.   Usage: ci/cni-runtime/selftest.sh [OUTDIR]
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/cni-runtime-selftest.XXXXXX")
OUT=${1:-$T/bin}
PLUGINS=${CNI_PLUGINS_DIR:-/usr/lib/cni}
ID=$$
NETNS_A=cnirt${ID}a
NETNS_B=cnirt${ID}b
BRIDGE=cnirtbr${ID}

cleanup() {
    if [ "$(id -u)" -eq 0 ]; then
        ip netns del "$NETNS_A" 2>/dev/null
        ip netns del "$NETNS_B" 2>/dev/null
        ip link del "$BRIDGE" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

checks=0
failures=0
pass() { checks=$((checks + 1)); echo "ok   $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $1"; }
# check DESC CMD...: one check, passing when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# eq GOT WANT: equality, saying what differed.
eq() {
    [ "$1" = "$2" ] && return 0
    echo "     got:  $1" >&2
    echo "     want: $2" >&2
    return 1
}
# jget FILE EXPR: EXPR (Python, d = the JSON document in FILE), printed as JSON.
jget() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2]), sort_keys=True))' "$1" "$2" 2>/dev/null || echo "<no JSON value>"
}
has() { grep -q -- "$2" "$1" || { echo "     '$2' not in $1:" >&2; sed 's/^/       /' "$1" >&2; return 1; }; }
lacks() { ! grep -q -- "$2" "$1" || { echo "     '$2' found in $1" >&2; return 1; }; }

# crt VERB CONF CACHE ARGS...: runs cni-runtime; stdout in $T/out, stderr in $T/err, status in $rc.
crt() {
    local verb=$1 conf=$2 cache=$3
    shift 3
    "$BIN" "$verb" --conf "$conf" --cache-dir "$cache" --cni-path "$CNI_PATH_DIRS" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}
status_is() {
    [ "$rc" -eq "$1" ] && return 0
    echo "     exit $rc, want $1; stdout: $(cat "$T/out"); stderr: $(tail -3 "$T/err")" >&2
    return 1
}
ours() { status_is 2 && has "$T/out" '"details":"raised by cni-runtime, not by a plugin"'; }

# --- build -------------------------------------------------------------------------------
BIN=$(sh "$HERE/../build-cni-runtime.sh" "$OUT") || { echo "FAIL build"; exit 1; }
check "build prints the binary" test -x "$BIN"
before=$(stat -c %Y.%s "$BIN")
start=$(date +%s%N)
check "up-to-date build prints the same path" eq "$(sh "$HERE/../build-cni-runtime.sh" "$OUT")" "$BIN"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "up-to-date build does not rebuild (${elapsed_ms} ms)" eq "$(stat -c %Y.%s "$BIN")" "$before"
# A private copy of the sources, to see a rebuild and the missing-dependency messages.
mkdir -p "$T/ci/cni-runtime" "$T/nogo"
cp "$HERE/../build-cni-runtime.sh" "$T/ci/"
cp "$HERE"/*.go "$T/ci/cni-runtime/"
sh "$T/ci/build-cni-runtime.sh" "$T/copy" >/dev/null
sleep 1
touch "$T/ci/cni-runtime/main.go"
sh "$T/ci/build-cni-runtime.sh" "$T/copy" >/dev/null
check "a source newer than the binary rebuilds it" test "$T/copy/cni-runtime" -nt "$T/ci/cni-runtime/main.go"
ln -s "$(command -v dirname)" "$(command -v mkdir)" "$T/nogo/"
PATH=$T/nogo /bin/sh "$T/ci/build-cni-runtime.sh" "$T/nogo-out" >/dev/null 2>"$T/err"
check "without go the build names golang-go" has "$T/err" 'apt-get install -y golang-go'
GOCODE=$T/nowhere sh "$T/ci/build-cni-runtime.sh" "$T/nolibcni-out" >/dev/null 2>"$T/err"
check "without libcni the build names golang-github-appc-cni-dev" has "$T/err" 'golang-github-appc-cni-dev'
if command -v gofmt >/dev/null; then
    check "gofmt -l is clean" eq "$(gofmt -l "$HERE")" ""
fi

# --- fake plugin: CNI 1.1, version translation, errors (no root needed) -------------------
FAKE=$T/fake
LOG=$T/log
mkdir -p "$FAKE" "$LOG"
cat >"$FAKE/fake-a" <<'EOF'
#!/bin/sh
# Records each call (CNI_* environment, stdin) in $FAKE_LOG, answers as a CNI 1.1 plugin.
name=$(basename "$0")
seq=$(ls "$FAKE_LOG" | grep -c '\.stdin$')
call=$FAKE_LOG/$(printf %03d "$seq")-$name-$CNI_COMMAND
env | grep '^CNI_' | sort >"$call.env"
cat >"$call.stdin"
echo "$name: $CNI_COMMAND says hello on stderr" >&2
case ",${FAKE_FAIL:-}," in
*",$name:$CNI_COMMAND,"* | *",$CNI_COMMAND,"*)
    printf '{\n  "cniVersion": "1.1.0",\n  "code": 11,\n  "msg": "%s refuses %s",\n  "details": "try later"\n}\n' "$name" "$CNI_COMMAND"
    exit 1 ;;
esac
[ "${FAKE_GARBAGE:-}" = "$CNI_COMMAND" ] && { echo "this is not JSON"; exit 3; }
[ -n "${FAKE_SLEEP:-}" ] && exec sleep "$FAKE_SLEEP"
case $CNI_COMMAND in
ADD) printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"10.1.2.3/24","interface":0}],"custom":1}\n' \
    "${FAKE_VERSION:-1.1.0}" "$CNI_IFNAME" "$CNI_NETNS" ;;
VERSION) echo '{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}' ;;
esac
exit 0
EOF
chmod +x "$FAKE/fake-a"
cp "$FAKE/fake-a" "$FAKE/fake-b"
export FAKE_LOG=$LOG
CNI_PATH_DIRS=$T/nowhere:$FAKE

# calls: the recorded calls, in order, as NAME-COMMAND.
calls() { (cd "$LOG" && ls | sed -n 's/^[0-9]*-\(.*\)\.stdin$/\1/p' | tr '\n' ' '); }
# call N SUFFIX: the file of the Nth recorded call (0-based).
call() { ls "$LOG"/"$(printf %03d "$1")"-*."$2"; }
reset_log() { rm -f "$LOG"/*; }

mklist() { # mklist FILE VERSION: a conflist of fake-a then fake-b
    cat >"$1" <<EOF
{"cniVersion":"$2","name":"fakenet","plugins":[
  {"type":"fake-a","capabilities":{"portMappings":true},"nested":{"k":[1,"two",{"x":null}]}},
  {"type":"fake-b","cniVersion":"0.1.0"}]}
EOF
}
mklist "$T/v11.conflist" 1.1.0
mklist "$T/v10.conflist" 1.0.0
C11=$T/cache11
att=(--netns somens --container-id c1 --ifname net1)

reset_log
crt add "$T/v11.conflist" "$C11" "${att[@]}" --args 'K8S_POD_NAME=p1;X=y' \
    --capability-args '{"portMappings":[{"hostPort":80,"containerPort":8080,"protocol":"tcp"}],"bandwidth":{}}'
check "1.1.0 add succeeds" status_is 0
check "1.1.0 add prints the result at 1.1.0" eq "$(jget "$T/out" 'd["cniVersion"]')" '"1.1.0"'
check "1.1.0 add result is the last plugin's" eq "$(jget "$T/out" 'd["ips"][0]["address"]')" '"10.1.2.3/24"'
check "1.1.0 add runs the plugins in order" eq "$(calls)" "fake-a-ADD fake-b-ADD "
a_in=$(call 0 stdin) b_in=$(call 1 stdin) a_env=$(call 0 env) b_env=$(call 1 env)
check "first plugin sees cniVersion 1.1.0" eq "$(jget "$a_in" 'd["cniVersion"]')" '"1.1.0"'
check "first plugin gets the list name" eq "$(jget "$a_in" 'd["name"]')" '"fakenet"'
check "first plugin's own keys are passed on" eq "$(jget "$a_in" 'd["nested"]')" '{"k": [1, "two", {"x": null}]}'
check "first plugin has no prevResult" eq "$(jget "$a_in" '"prevResult" in d')" "false"
check "capability args reach runtimeConfig, filtered by capabilities" \
    eq "$(jget "$a_in" 'sorted(d["runtimeConfig"])')" '["portMappings"]'
check "second plugin's own cniVersion is overridden" eq "$(jget "$b_in" 'd["cniVersion"]')" '"1.1.0"'
check "second plugin's prevResult is at 1.1.0" eq "$(jget "$b_in" 'd["prevResult"]["cniVersion"]')" '"1.1.0"'
check "second plugin's prevResult is the first's result" eq "$(jget "$b_in" 'd["prevResult"]["interfaces"][0]["name"]')" '"net1"'
check "ADD env: command" has "$a_env" '^CNI_COMMAND=ADD$'
check "ADD env: container id" has "$a_env" '^CNI_CONTAINERID=c1$'
check "ADD env: a bare netns name is under /var/run/netns" has "$a_env" '^CNI_NETNS=/var/run/netns/somens$'
check "ADD env: ifname" has "$a_env" '^CNI_IFNAME=net1$'
check "ADD env: CNI_ARGS" has "$a_env" '^CNI_ARGS=K8S_POD_NAME=p1;X=y$'
check "ADD env: CNI_PATH" has "$a_env" "^CNI_PATH=$CNI_PATH_DIRS\$"
check "plugin stderr passes through" has "$T/err" 'fake-a: ADD says hello on stderr'
check "the result is cached under the cache dir" test -f "$C11/results/fakenet-c1-net1"

reset_log
crt check "$T/v11.conflist" "$C11" "${att[@]}"
check "1.1.0 check succeeds" status_is 0
check "1.1.0 check runs the plugins in order" eq "$(calls)" "fake-a-CHECK fake-b-CHECK "
check "CHECK prevResult is the cached result at 1.1.0" eq "$(jget "$(call 0 stdin)" 'd["prevResult"]["cniVersion"]')" '"1.1.0"'
check "CHECK sends this call's CNI_ARGS (none here)" has "$(call 0 env)" '^CNI_ARGS=$'

reset_log
crt add "$T/v11.conflist" "$C11" --netns /proc/1/ns/net --container-id c2 --ifname net1 --verbose
check "verbose add succeeds, stdout is only the result" eq "$(jget "$T/out" 'd["cniVersion"]')" '"1.1.0"'
check "verbose logs the env" has "$T/err" 'CNI_COMMAND=ADD'
check "verbose logs stdin" has "$T/err" 'stdin: {'
check "verbose logs stdout" has "$T/err" 'stdout: {"cniVersion":"1.1.0"'
check "a netns path is kept as it is" has "$(call 0 env)" '^CNI_NETNS=/proc/1/ns/net$'

reset_log
crt status "$T/v11.conflist" "$C11"
check "status succeeds" status_is 0
check "status asks each plugin in order" eq "$(calls)" "fake-a-STATUS fake-b-STATUS "
check "STATUS stdin has the list name" eq "$(jget "$(call 1 stdin)" 'd["name"]')" '"fakenet"'
check "STATUS stdin is at 1.1.0" eq "$(jget "$(call 1 stdin)" 'd["cniVersion"]')" '"1.1.0"'
check "STATUS stdin is the plugin's config" eq "$(jget "$(call 1 stdin)" 'd["type"]')" '"fake-b"'
check "STATUS env: no attachment, CNI_PATH set" \
    eq "$(tr '\n' ' ' <"$(call 0 env)")" "CNI_ARGS= CNI_COMMAND=STATUS CNI_CONTAINERID= CNI_IFNAME= CNI_NETNS= CNI_PATH=$CNI_PATH_DIRS "

reset_log
FAKE_FAIL=fake-a:STATUS crt status "$T/v11.conflist" "$C11"
check "status failing in a plugin exits 1" status_is 1
check "status stops at the first failure" eq "$(calls)" "fake-a-STATUS "
check "the plugin's error is printed verbatim" \
    eq "$(cat "$T/out")" "$(printf '{\n  "cniVersion": "1.1.0",\n  "code": 11,\n  "msg": "fake-a refuses STATUS",\n  "details": "try later"\n}')"

reset_log
crt status "$T/v10.conflist" "$C11"
check "status below 1.1.0 succeeds" status_is 0
check "status below 1.1.0 sends nothing" eq "$(calls)" ""
check "status below 1.1.0 says so" has "$T/err" 'predates STATUS'

reset_log
crt gc "$T/v11.conflist" "$C11" --valid c1/net1 --valid other/eth9
check "gc succeeds" status_is 0
check "gc DELs the stale attachment (reverse order), then GCs each plugin" \
    eq "$(calls)" "fake-b-DEL fake-a-DEL fake-a-GC fake-b-GC "
check "stale DEL is for the attachment not valid" has "$(call 0 env)" '^CNI_CONTAINERID=c2$'
check "stale DEL has no netns (the cache has none)" has "$(call 0 env)" '^CNI_NETNS=$'
check "stale DEL gets the cached result as prevResult" eq "$(jget "$(call 0 stdin)" 'd["prevResult"]["cniVersion"]')" '"1.1.0"'
check "GC stdin lists the valid attachments" \
    eq "$(jget "$(call 2 stdin)" 'd["cni.dev/valid-attachments"]')" \
    '[{"containerID": "c1", "ifname": "net1"}, {"containerID": "other", "ifname": "eth9"}]'
check "GC stdin has name and cniVersion" eq "$(jget "$(call 3 stdin)" '[d["name"], d["cniVersion"], d["type"]]')" '["fakenet", "1.1.0", "fake-b"]'
check "GC env: command, CNI_PATH, nothing else" \
    eq "$(tr '\n' ' ' <"$(call 2 env)")" "CNI_ARGS= CNI_COMMAND=GC CNI_CONTAINERID= CNI_IFNAME= CNI_NETNS= CNI_PATH=$CNI_PATH_DIRS "
check "gc removed the stale cache entry" test ! -e "$C11/results/fakenet-c2-net1"
check "gc kept the valid cache entry" test -e "$C11/results/fakenet-c1-net1"

reset_log
FAKE_FAIL=fake-a:GC crt gc "$T/v11.conflist" "$C11" --valid c1/net1
check "gc with a failing plugin exits 1" status_is 1
check "gc carries on past a failing plugin" eq "$(calls)" "fake-a-GC fake-b-GC "

reset_log
crt gc "$T/v11.conflist" "$C11"
check "gc with nothing valid DELs everything" eq "$(calls)" "fake-b-DEL fake-a-DEL fake-a-GC fake-b-GC "
check "GC with nothing valid sends an empty list" eq "$(jget "$(call 2 stdin)" 'd["cni.dev/valid-attachments"]')" '[]'
check "stale DEL reuses the cached CNI_ARGS" has "$(call 0 env)" '^CNI_ARGS=K8S_POD_NAME=p1;X=y$'
check "stale DEL reuses the cached capability args" eq "$(jget "$(call 1 stdin)" 'sorted(d["runtimeConfig"])')" '["portMappings"]'

C10=$T/cache10
FAKE_VERSION=1.0.0 crt add "$T/v10.conflist" "$C10" "${att[@]}"
reset_log
crt gc "$T/v10.conflist" "$C10"
check "gc below 1.1.0 DELs stale attachments and sends no GC" eq "$(calls)" "fake-b-DEL fake-a-DEL "
check "gc below 1.1.0 says so" has "$T/err" 'predates GC'

reset_log
crt del "$T/v11.conflist" "$C11" "${att[@]}"
check "del of an attachment gone already succeeds" status_is 0
check "del runs the plugins in reverse order" eq "$(calls)" "fake-b-DEL fake-a-DEL "

reset_log
FAKE_VERSION=1.0.0 crt add "$T/v11.conflist" "$C11" "${att[@]}"
check "a 1.0.0 answer to a 1.1.0 config is accepted" status_is 0
check "... and printed as 1.0.0, not relabelled" eq "$(jget "$T/out" 'd["cniVersion"]')" '"1.0.0"'
crt del "$T/v11.conflist" "$C11" "${att[@]}"

cat >"$T/single.conf" <<'EOF'
{"cniVersion":"1.0.0","name":"single","type":"fake-a"}
EOF
reset_log
FAKE_VERSION=1.0.0 crt add "$T/single.conf" "$T/cache-single" "${att[@]}"
check "a single .conf runs as a one-plugin list" eq "$(calls)" "fake-a-ADD "
check "a .conf result at 1.0.0" eq "$(jget "$T/out" 'd["cniVersion"]')" '"1.0.0"'
check ".conf stdin is at 1.0.0" eq "$(jget "$(call 0 stdin)" 'd["cniVersion"]')" '"1.0.0"'

crt version "$T/v11.conflist" "$C11"
check "version succeeds" status_is 0
check "version lists each plugin's versions" \
    eq "$(jget "$T/out" '[(p["type"], p["supportedVersions"][-1]) for p in d]')" '[["fake-a", "1.1.0"], ["fake-b", "1.1.0"]]'

# errors: a plugin's (exit 1) and ours (exit 2)
FAKE_FAIL=fake-b:ADD crt add "$T/v11.conflist" "$C11" "${att[@]}"
check "a plugin's ADD failure exits 1" status_is 1
check "... with the plugin's error" eq "$(jget "$T/out" '[d["code"], d["msg"]]')" '[11, "fake-b refuses ADD"]'
check "... and no cache entry" test ! -e "$C11/results/fakenet-c1-net1"
FAKE_GARBAGE=ADD crt add "$T/v11.conflist" "$C11" "${att[@]}"
check "a plugin failing without a CNI error exits 1" status_is 1
check "... with a code 0 error naming its stdout" has "$T/out" 'this is not JSON'
crt add "$T/v11.conflist" "$C11" --netns x --ifname eth0
check "a missing container id is refused by libcni (exit 2)" ours
check "... with libcni's code 3" eq "$(jget "$T/out" 'd["code"]')" "3"
crt add "$T/v11.conflist" "$C11" --netns x --container-id c1 --ifname 'bad/name'
check "an invalid ifname is refused by libcni (code 4)" eq "$rc:$(jget "$T/out" 'd["code"]')" "2:4"
sed 's/fake-b/missing-plugin/' "$T/v11.conflist" >"$T/missing.conflist"
crt add "$T/missing.conflist" "$C11" "${att[@]}"
check "a plugin not found is refused (exit 2)" ours
check "... naming it" has "$T/out" 'missing-plugin'
crt add "$T/does-not-exist.conf" "$C11" "${att[@]}"
check "an unreadable config is refused (exit 2, code 5)" eq "$rc:$(jget "$T/out" 'd["code"]')" "2:5"
echo '[1,2]' >"$T/array.conf"
crt add "$T/array.conf" "$C11" "${att[@]}"
check "a config that is not an object is refused" ours
echo '{"cniVersion":"1.0.0","name":"x","plugins":[]}' >"$T/empty.conflist"
crt add "$T/empty.conflist" "$C11" "${att[@]}"
check "a list without plugins is refused" ours
crt add "$T/v11.conflist" "$C11" "${att[@]}" --no-such-flag
check "an unknown flag is refused" ours
crt gc "$T/v11.conflist" "$C11" --valid nonsense
check "a --valid that is not ID/IFNAME is refused" ours
crt add "$T/v11.conflist" "$C11" "${att[@]}" --capability-args '[1]'
check "capability args that are not an object are refused" ours
start=$(date +%s)
FAKE_SLEEP=20 crt status "$T/v11.conflist" "$C11" --timeout 1s
check "a plugin outliving --timeout is stopped and refused (exit 2)" ours
check "... saying so" has "$T/out" 'deadline exceeded'
check "... in time" test $(($(date +%s) - start)) -lt 10
crt frobnicate "$T/v11.conflist" "$C11"
check "an unknown command is refused" ours
"$BIN" >"$T/out" 2>"$T/err"
rc=$?
check "no command at all is refused" ours

# --- real plugins in network namespaces (root) --------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP real-plugin checks: ip netns needs root"
elif [ ! -x "$PLUGINS/bridge" ]; then
    fail "real plugins missing in $PLUGINS: apt-get install -y containernetworking-plugins"
else
    CNI_PATH_DIRS=$PLUGINS
    ip netns add "$NETNS_A"
    ip netns add "$NETNS_B"
    IPAM=$T/ipam
    CACHE=$T/cache
    in_ns() { ip netns exec "$1" "${@:2}"; }
    addr_of() { in_ns "$1" ip -4 -o addr show dev "$2" 2>/dev/null | awk '{print $4}'; }
    no_link() { ! in_ns "$1" ip link show "$2" >/dev/null 2>&1; }

    cat >"$T/bridge.conf" <<EOF
{"cniVersion":"1.0.0","name":"brnet","type":"bridge","bridge":"$BRIDGE","isGateway":true,
 "ipam":{"type":"host-local","subnet":"10.251.91.0/24","dataDir":"$IPAM"}}
EOF
    ra=(--netns "$NETNS_A" --container-id ctr-a --ifname eth0)
    crt add "$T/bridge.conf" "$CACHE" "${ra[@]}"
    check "bridge 1.0.0: add succeeds" status_is 0
    ip_a=$(jget "$T/out" 'd["ips"][0]["address"]' | tr -d '"')
    check "bridge 1.0.0: result at 1.0.0" eq "$(jget "$T/out" 'd["cniVersion"]')" '"1.0.0"'
    check "bridge 1.0.0: the address is on eth0 in the netns" eq "$(addr_of "$NETNS_A" eth0)" "$ip_a"
    check "bridge 1.0.0: host-local reserved it" test -f "$IPAM/brnet/${ip_a%/*}"
    crt check "$T/bridge.conf" "$CACHE" "${ra[@]}"
    check "bridge 1.0.0: check succeeds" status_is 0
    in_ns "$NETNS_A" ip addr flush dev eth0
    crt check "$T/bridge.conf" "$CACHE" "${ra[@]}"
    check "bridge 1.0.0: check after addr flush fails in the plugin (exit 1)" status_is 1
    check "... with the plugin's error" has "$T/out" "Failed to match addr"
    check "... not one of ours" lacks "$T/out" "raised by cni-runtime"
    crt del "$T/bridge.conf" "$CACHE" "${ra[@]}"
    check "bridge 1.0.0: del succeeds" status_is 0
    check "bridge 1.0.0: eth0 is gone" no_link "$NETNS_A" eth0
    check "bridge 1.0.0: the reservation is gone" test ! -e "$IPAM/brnet/${ip_a%/*}"
    check "bridge 1.0.0: the cache entry is gone" test ! -e "$CACHE/results/brnet-ctr-a-eth0"
    crt del "$T/bridge.conf" "$CACHE" "${ra[@]}"
    check "bridge 1.0.0: a second del succeeds" status_is 0

    mkptp() { # mkptp FILE VERSION
        cat >"$1" <<EOF
{"cniVersion":"$2","name":"ptpnet$2","plugins":[
  {"type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.251.92.0/24","dataDir":"$IPAM"}},
  {"type":"tuning","mtu":1400}]}
EOF
    }
    mkptp "$T/ptp04.conflist" 0.4.0
    rb=(--netns "$NETNS_B" --container-id ctr-b --ifname net0)
    crt add "$T/ptp04.conflist" "$CACHE" "${rb[@]}" --verbose
    check "ptp+tuning 0.4.0: add succeeds" status_is 0
    check "ptp+tuning 0.4.0: result at 0.4.0" eq "$(jget "$T/out" 'd["cniVersion"]')" '"0.4.0"'
    ip_b=$(jget "$T/out" 'd["ips"][0]["address"]' | tr -d '"')
    check "ptp+tuning 0.4.0: the address is on net0" eq "$(addr_of "$NETNS_B" net0)" "$ip_b"
    check "ptp+tuning 0.4.0: tuning applied its mtu" has <(in_ns "$NETNS_B" ip link show net0) 'mtu 1400'
    check "ptp+tuning 0.4.0: tuning got ptp's result as prevResult" has "$T/err" '"prevResult":{"cniVersion":"0.4.0"'
    crt check "$T/ptp04.conflist" "$CACHE" "${rb[@]}"
    check "ptp+tuning 0.4.0: check succeeds" status_is 0
    crt del "$T/ptp04.conflist" "$CACHE" "${rb[@]}"
    check "ptp+tuning 0.4.0: del succeeds" status_is 0
    check "ptp+tuning 0.4.0: net0 is gone" no_link "$NETNS_B" net0
    check "ptp+tuning 0.4.0: the reservation is gone" test ! -e "$IPAM/ptpnet0.4.0/${ip_b%/*}"
    crt del "$T/ptp04.conflist" "$CACHE" "${rb[@]}"
    check "ptp+tuning 0.4.0: a second del succeeds" status_is 0

    mkptp "$T/ptp031.conflist" 0.3.1
    crt add "$T/ptp031.conflist" "$CACHE" "${rb[@]}"
    check "ptp+tuning 0.3.1: add succeeds" status_is 0
    check "ptp+tuning 0.3.1: result at 0.3.1" eq "$(jget "$T/out" 'd["cniVersion"]')" '"0.3.1"'
    crt check "$T/ptp031.conflist" "$CACHE" "${rb[@]}"
    check "ptp+tuning 0.3.1: check is refused by libcni (exit 2)" ours
    check "... because 0.3.1 has no CHECK" has "$T/out" 'does not support the CHECK command'
    crt del "$T/ptp031.conflist" "$CACHE" "${rb[@]}"
    check "ptp+tuning 0.3.1: del succeeds" status_is 0
    check "ptp+tuning 0.3.1: net0 is gone" no_link "$NETNS_B" net0

    mkptp "$T/ptp11.conflist" 1.1.0
    crt add "$T/ptp11.conflist" "$CACHE" "${rb[@]}"
    check "ptp 1.1.0: a plugin predating 1.1.0 refuses it (exit 1)" status_is 1
    check "... with its own incompatible-version error (code 1)" eq "$(jget "$T/out" 'd["code"]')" "1"
    crt version "$T/ptp04.conflist" "$CACHE"
    check "version of real plugins" eq "$(jget "$T/out" '[(p["type"], "1.0.0" in p["supportedVersions"]) for p in d]')" \
        '[["ptp", true], ["tuning", true]]'
fi

echo "$((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
