#!/usr/bin/env bash
# After the whole suite: nothing any test made may still exist on this machine — network
# namespaces, Docker containers of the harness, mock or OVS processes, pod directories.
set -uo pipefail
left=()
while read -r ns _; do
    [[ $ns == usrsp-* ]] && left+=("netns $ns")
done < <(ip netns list 2>/dev/null)
if command -v docker >/dev/null 2>&1; then
    while read -r c; do
        [ -n "$c" ] && left+=("container $c")
    done < <(docker ps -aq --filter label=userspace-cni.harness.run 2>/dev/null)
fi
for p in mock-vpp mock-ovsdb mock-kube dpdk-testpmd; do
    pids=$(pgrep -x "$p" 2>/dev/null | tr '\n' ' ')
    [ -n "$pids" ] && left+=("process $p ($pids)")
done
# OVS daemons that ci/start-ovs.sh started (it marks their directory); a system OVS, or one
# someone else runs, is not the tests'.
for pid in $(pgrep -f 'ovsdb-server|ovs-vswitchd' 2>/dev/null); do
    pidfile=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | sed -n 's/^--pidfile=//p')
    if [ -n "$pidfile" ] && [ -e "$(dirname "$pidfile")/.started-by-start-ovs" ]; then
        left+=("process $(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-80)")
    fi
done
for d in /tmp/usrsp-run* /tmp/usrsp-demo* /tmp/usrsp-pod* /tmp/usrsp-bench*; do
    [ -e "$d" ] && left+=("directory $d")
done
if ((${#left[@]})); then
    printf 'ci/leak-check.sh: left behind: %s\n' "${left[@]}" >&2
    exit 1
fi
echo "ci/leak-check.sh: nothing left behind"
