#!/usr/bin/env bash
# After the whole suite: nothing this test run made may still exist — network namespaces,
# Docker containers of the harness, mock or OVS processes, pod directories. Other people's
# (a mock-vpp someone runs by hand, another checkout's test run) are not judged.
#
#   ci/leak-check.sh --baseline FILE   before the run: note what already exists
#   ci/leak-check.sh [--since FILE]    after it: judge what this run left; one line either way
#
# Processes are this run's when their environment carries USRSP_TEST_RUN with this run's
# value (ci/test.sh exports it; every test's child inherits it). Namespaces, containers
# and directories carry no such mark: those in the baseline FILE are not judged.
set -uo pipefail

mode=check
file=
case "${1:-}" in
--baseline) mode=baseline file=${2:?--baseline FILE} ;;
--since) file=${2:?--since FILE} ;;
"") ;;
*) echo "usage: $0 [--baseline FILE | --since FILE]" >&2; exit 2 ;;
esac

# Everything of the kinds the tests make that exists now, one per line.
things() {
    while read -r ns _; do
        [[ $ns == usrsp-* ]] && echo "netns $ns"
    done < <(ip netns list 2>/dev/null)
    if command -v docker >/dev/null 2>&1; then
        docker ps -aq --filter label=userspace-cni.harness.run 2>/dev/null | sed 's/^/container /'
    fi
    for d in /tmp/usrsp-run* /tmp/usrsp-demo* /tmp/usrsp-pod* /tmp/usrsp-bench* /tmp/usrsp-iso*; do
        [ -e "$d" ] && echo "directory $d"
    done
}

# Whether process PID was started by this run.
ours() {
    [ -n "${USRSP_TEST_RUN:-}" ] || return 0
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qxF "USRSP_TEST_RUN=$USRSP_TEST_RUN"
}

if [ "$mode" = baseline ]; then
    things >"$file"
    exit 0
fi

left=()
while read -r t; do
    [ -n "$t" ] || continue
    if [ -n "$file" ] && [ -e "$file" ] && grep -qxF -- "$t" "$file"; then
        continue
    fi
    left+=("$t")
done < <(things)
for p in mock-vpp mock-ovsdb mock-kube dpdk-testpmd ovsdb-server ovs-vswitchd; do
    for pid in $(pgrep -x "$p" 2>/dev/null); do
        ours "$pid" || continue
        # An OVS not started by ci/start-ovs.sh (a system OVS) is not the tests'.
        if [[ $p == ovs* ]]; then
            pidfile=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/^--pidfile=//p')
            [ -n "$pidfile" ] && [ -e "$(dirname "$pidfile")/.started-by-start-ovs" ] || continue
        fi
        left+=("process $p ($pid)")
    done
done
if ((${#left[@]})); then
    (IFS=';'; echo "ci/leak-check.sh: FAIL: this run left behind:${left[*]/#/ }")
    exit 1
fi
echo "ci/leak-check.sh: ok: nothing this run made is left"
