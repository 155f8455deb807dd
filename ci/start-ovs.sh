#!/usr/bin/env bash
# start-ovs.sh [--db-only] [--netns NAME] DIR   start, print DIR/db.sock
# start-ovs.sh --stop DIR                        stop what was started in DIR
#
# Runs Debian's real ovsdb-server and ovs-vswitchd (the DPDK build when installed) with
# everything in DIR: database, sockets, pidfiles, logs, and the vhost-user sockets of
# dpdkvhostuser ports. The userspace (netdev) datapath needs no kernel module; DPDK runs
# on ordinary memory (no hugepages). No system daemon or system directory is touched.
#   --db-only      ovsdb-server alone (then `ovs-vsctl` needs --no-wait)
#   --netns NAME   run ovs-vswitchd in network namespace NAME (made if missing, removed by
#                  --stop): userspace datapaths in one namespace clash (each makes a tap
#                  `ovs-netdev`), so instances that run at the same time need their own
# Starting a running DIR again only prints the socket. Packages: openvswitch-switch,
# openvswitch-switch-dpdk (ci/install-deps.sh). Keep DIR short: unix socket paths are
# limited to 107 bytes. Environment: OVS_DPDK_MEM (MB, default 128); OVS_PMD_MAXSLEEP
# (microseconds a PMD thread may sleep when idle, default 10000 so that an idle OVS leaves
# the CPUs to others; 0 is OVS's own default: PMD threads poll without sleeping, and
# ovs-vswitchd applies port changes sooner).
set -euo pipefail

me=start-ovs.sh
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
DPDK_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk

die() { echo "$me: $*" >&2; exit 1; }

# alive NAME: the pid of DIR's daemon NAME, if its pidfile names a live process of ours.
alive() {
    local pid
    pid=$(cat "$dir/$1.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "--pidfile=$dir/$1.pid" || return 1
    echo "$pid"
}

# halt NAME: ask the daemon to exit, then insist.
halt() {
    local pid n
    pid=$(alive "$1") || { rm -f "$dir/$1.pid"; return 0; }
    ovs-appctl -t "$dir/$1.ctl" --timeout=5 exit ${2:-} >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for n in $(seq 50); do
        alive "$1" >/dev/null || break
        [ "$n" = 30 ] && kill -KILL "$pid" 2>/dev/null
        sleep 0.1
    done
    rm -f "$dir/$1.pid"
}

stop_all() {
    halt ovs-vswitchd --cleanup
    halt ovsdb-server
    rm -f "$dir/db.sock"
    if [ -s "$dir/netns" ]; then
        ip netns del "$(cat "$dir/netns")" 2>/dev/null || true
        rm -f "$dir/netns"
    fi
}

# failed WHAT LOG: report, show the log's end, stop what runs, give up.
failed() {
    echo "$me: $1 failed; end of $2:" >&2
    tail -n 15 "$2" 2>/dev/null | sed 's/^/    /' >&2
    stop_all
    exit 1
}

db_only=no netns="" action=start dir=""
while [ $# -gt 0 ]; do
    case $1 in
        --stop) action=stop ;;
        --db-only) db_only=yes ;;
        --netns) netns=${2:?--netns needs a name}; shift ;;
        -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$dir" ] || die "one DIR only"; dir=$1 ;;
    esac
    shift
done
[ -n "$dir" ] || die "usage: $me [--db-only] [--netns NAME] DIR | --stop DIR"
for b in ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl; do
    command -v "$b" >/dev/null || die "$b not found: apt-get install -y openvswitch-switch (ci/install-deps.sh)"
done

if [ "$action" = stop ]; then
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd -P)
    stop_all
    exit 0
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
export OVS_RUNDIR=$dir OVS_LOGDIR=$dir OVS_DBDIR=$dir OVS_SYSCONFDIR=$dir
# ci/leak-check.sh recognises daemons started here by this mark.
touch "$dir/.started-by-start-ovs"
vsctl() { ovs-vsctl --db="unix:$dir/db.sock" --timeout=30 "$@"; }

if ! alive ovsdb-server >/dev/null; then
    [ -s "$dir/conf.db" ] || ovsdb-tool create "$dir/conf.db" "$SCHEMA" || die "ovsdb-tool create failed"
    rm -f "$dir/db.sock"
    ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
        --pidfile="$dir/ovsdb-server.pid" --unixctl="$dir/ovsdb-server.ctl" \
        --log-file="$dir/ovsdb-server.log" -vconsole:off --detach --no-chdir \
        >>"$dir/ovsdb-server.console" 2>&1 ||
        failed ovsdb-server "$dir/ovsdb-server.log"
    # What the init scripts (ovs-ctl) record about the installation.
    vsctl --no-wait init -- set Open_vSwitch . \
        "ovs_version=$(ovs-vsctl --version | sed -n '1s/.* //p')" \
        "db_version=$(ovsdb-tool schema-version "$SCHEMA")" ||
        failed "ovs-vsctl init" "$dir/ovsdb-server.log"
fi

if [ "$db_only" = no ] && ! alive ovs-vswitchd >/dev/null; then
    if [ -x "$DPDK_VSWITCHD" ]; then
        vswitchd=$DPDK_VSWITCHD
        # --legacy-mem: without it OVS adds --in-memory, which --no-huge refuses.
        vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
            "other_config:dpdk-extra=\"--no-huge -m ${OVS_DPDK_MEM:-128} --legacy-mem --no-shconf --no-pci\"" \
            "other_config:pmd-maxsleep=${OVS_PMD_MAXSLEEP:-10000}"
    else
        vswitchd=$(command -v ovs-vswitchd || echo /usr/lib/openvswitch-switch/ovs-vswitchd)
        [ -x "$vswitchd" ] || die "ovs-vswitchd not found: apt-get install -y openvswitch-switch"
    fi
    in_ns=()
    if [ -n "$netns" ]; then
        if ! ip netns list | grep -q "^$netns\b"; then
            ip netns add "$netns" || die "cannot create network namespace $netns"
            echo "$netns" >"$dir/netns"
        fi
        in_ns=(ip netns exec "$netns")
    fi
    "${in_ns[@]}" "$vswitchd" "unix:$dir/db.sock" \
        --pidfile="$dir/ovs-vswitchd.pid" --unixctl="$dir/ovs-vswitchd.ctl" \
        --log-file="$dir/ovs-vswitchd.log" -vconsole:off --detach --no-chdir \
        >>"$dir/ovs-vswitchd.console" 2>&1 ||
        failed ovs-vswitchd "$dir/ovs-vswitchd.log"
    # Without --no-wait this returns once ovs-vswitchd has applied the database.
    vsctl init || failed "waiting for ovs-vswitchd" "$dir/ovs-vswitchd.log"
fi
echo "$dir/db.sock"
