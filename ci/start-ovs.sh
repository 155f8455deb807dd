#!/bin/sh
# start-ovs.sh DIR | --stop DIR
# Runs Debian's real ovsdb-server and ovs-vswitchd rooted in DIR (userspace datapath:
# no kernel module, no hugepages, no system daemons touched) and prints DIR/db.sock.
# Needs openvswitch-switch and openvswitch-switch-dpdk (ci/install-deps.sh installs them).
# Starting again is a no-op.
set -eu

stop() {
    D=$1
    for d in ovs-vswitchd ovsdb-server; do
        if [ -f "$D/$d.pid" ]; then
            pid=$(cat "$D/$d.pid")
            kill "$pid" 2>/dev/null || true
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
            rm -f "$D/$d.pid"
        fi
    done
}

if [ "${1:-}" = "--stop" ]; then
    stop "${2:?usage: start-ovs.sh --stop DIR}"
    exit 0
fi
D=${1:?usage: start-ovs.sh DIR}
mkdir -p "$D"
D=$(cd "$D" && pwd)
for b in ovsdb-server ovsdb-tool ovs-vswitchd ovs-vsctl; do
    command -v "$b" >/dev/null 2>&1 ||
        { echo "start-ovs.sh: $b not found: apt-get install -y openvswitch-switch (or run ci/install-deps.sh)" >&2; exit 1; }
done
export OVS_RUNDIR="$D" OVS_LOGDIR="$D" OVS_DBDIR="$D" OVS_SYSCONFDIR="$D"
if [ -f "$D/ovsdb-server.pid" ] && kill -0 "$(cat "$D/ovsdb-server.pid")" 2>/dev/null; then
    echo "$D/db.sock"
    exit 0
fi
# Marks the daemons as started by this script (ci/leak-check.sh looks for it).
touch "$D/.started-by-start-ovs"
[ -f "$D/conf.db" ] || ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$D/conf.db" --remote=punix:"$D/db.sock" \
    --pidfile="$D/ovsdb-server.pid" --unixctl="$D/ovsdb-server.ctl" \
    --log-file="$D/ovsdb-server.log" -vconsole:off --detach --no-chdir
ovs-vsctl --db=unix:"$D/db.sock" --no-wait init
# The DPDK build (openvswitch-switch-dpdk) is what has vhost-user ports; without
# hugepages it runs on ordinary memory.
VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
if [ -x "$VSWITCHD" ]; then
    ovs-vsctl --db=unix:"$D/db.sock" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
        "other_config:dpdk-extra=\"--no-huge -m ${OVS_DPDK_MEM:-128} --legacy-mem --no-shconf --no-pci --file-prefix=ovs$$\"" \
        other_config:pmd-maxsleep=10000
else
    VSWITCHD=ovs-vswitchd
fi
"$VSWITCHD" unix:"$D/db.sock" --pidfile="$D/ovs-vswitchd.pid" --unixctl="$D/ovs-vswitchd.ctl" \
    --log-file="$D/ovs-vswitchd.log" -vconsole:off --detach --no-chdir ||
    { tail -20 "$D/ovs-vswitchd.log" >&2; stop "$D"; exit 1; }
# Returns once ovs-vswitchd has applied the database.
ovs-vsctl --db=unix:"$D/db.sock" --timeout=30 init
echo "$D/db.sock"
