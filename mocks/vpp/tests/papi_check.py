#!/usr/bin/env python3
"""Drives mock-vpp with VPP's official Python client (vpp_papi) through every message the
userspace-cni plugin uses, expecting the answers, state and refusals real VPP gives.

usage: papi_check.py API_SOCKET API_JSON_DIR WORK_DIR
Exits non-zero (and says which check) on the first difference.
"""
import glob
import os
import sys

from vpp_papi import VPPApiClient

ANY = 0xFFFFFFFF
# VPP picks "any free id" from vppinfra's random_u32 sequence, seeded with 0.
FIRST_PICK = 1013904223
checks = 0


def expect(what, got, want):
    global checks
    checks += 1
    if got != want:
        sys.exit(f"FAIL {what}: got {got!r}, want {want!r}")


def memif_sockets(api, work):
    a = os.path.join(work, "a.sock")
    b = os.path.join(work, "b.sock")
    r = api.memif_socket_filename_add_del_v2(is_add=True, socket_id=ANY, socket_filename=a)
    expect("socket add v2 picks an id", (r.retval, r.socket_id), (0, FIRST_PICK))
    r = api.memif_socket_filename_add_del_v2(is_add=True, socket_id=0, socket_filename=a)
    expect("socket id 0 refused", (r.retval, r.socket_id), (-73, 0))
    r = api.memif_socket_filename_add_del(is_add=True, socket_id=2, socket_filename=b)
    expect("socket add v1", r.retval, 0)
    r = api.memif_socket_filename_add_del(is_add=True, socket_id=2, socket_filename=b)
    expect("same socket file again", r.retval, 0)
    r = api.memif_socket_filename_add_del(is_add=True, socket_id=2, socket_filename=a)
    expect("socket id reused with another file", r.retval, -116)
    r = api.memif_socket_filename_add_del(is_add=True, socket_id=ANY, socket_filename=a)
    expect("v1 cannot ask for a pick", r.retval, -73)
    names = {d.socket_id: d.socket_filename for d in api.memif_socket_filename_dump()}
    expect("socket dump", names, {0: "/run/vpp/memif.sock", FIRST_PICK: a, 2: b})
    return FIRST_PICK


def memifs(api, picked):
    r = api.memif_create_v2(role=0, mode=0, rx_queues=1, tx_queues=1, id=0, socket_id=picked,
                            ring_size=1024, buffer_size=2048, hw_addr="02:00:00:00:00:01")
    expect("memif create v2", (r.retval, r.sw_if_index), (0, 1))
    master = r.sw_if_index
    r = api.memif_create_v2(role=0, mode=0, id=0, socket_id=picked)
    expect("duplicate memif id", (r.retval, r.sw_if_index), (-68, 0))
    r = api.memif_create_v2(role=1, mode=0, id=1, socket_id=picked)
    expect("slave on a master's socket", r.retval, -68)
    r = api.memif_create_v2(role=0, mode=0, id=1, socket_id=picked, ring_size=1000)
    expect("ring size not a power of two", r.retval, -73)
    r = api.memif_create(role=1, mode=0, id=0, socket_id=2, rx_queues=1, tx_queues=1)
    expect("memif create v1", (r.retval, r.sw_if_index), (0, 2))
    slave = r.sw_if_index
    r = api.memif_create_v2(role=0, socket_id=9)
    expect("memif on unknown socket", r.retval, -73)
    details = {d.sw_if_index: d for d in api.memif_dump()}
    expect("memif dump names", sorted(d.if_name for d in details.values()),
           [f"memif{picked}/0", "memif2/0"])
    expect("memif dump mac", str(details[master].hw_addr), "02:00:00:00:00:01")
    expect("memif dump role", int(details[slave].role), 1)
    expect("memif dump zero-copy (slaves only)",
           (details[master].zero_copy, details[slave].zero_copy), (False, True))
    expect("memif sizes before any peer", (details[slave].ring_size, details[slave].buffer_size),
           (1, 0))
    return master, slave


def interfaces(api, master, slave):
    r = api.sw_interface_set_flags(sw_if_index=master, flags=1)
    expect("admin up", r.retval, 0)
    r = api.sw_interface_set_flags(sw_if_index=99, flags=1)
    expect("admin up unknown", r.retval, -2)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=True, prefix="192.168.210.2/24")
    expect("address add", r.retval, 0)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=True, prefix="192.168.210.2/24")
    expect("duplicate IPv4 address", r.retval, -105)
    r = api.sw_interface_add_del_address(sw_if_index=master, is_add=True, prefix="192.168.210.3/24")
    expect("overlapping subnet", r.retval, -105)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=True, prefix="fd00::2/64")
    expect("IPv6 address add", r.retval, 0)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=True, prefix="fd00::2/64")
    expect("duplicate IPv6 address", r.retval, -127)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=False, prefix="10.0.0.1/8")
    expect("absent address delete", r.retval, -60)
    r = api.sw_interface_add_del_address(sw_if_index=0, is_add=True, prefix="10.0.0.1/8")
    expect("address on local0", r.retval, -126)
    addrs = [str(a.prefix) for a in api.ip_address_dump(sw_if_index=slave, is_ipv6=False)]
    expect("ip_address_dump", addrs, ["192.168.210.2/24"])
    ifs = {d.sw_if_index: d for d in api.sw_interface_dump(sw_if_index=ANY)}
    expect("interface dump", sorted(d.interface_name for d in ifs.values()),
           sorted(["local0", f"memif{FIRST_PICK}/0", "memif2/0"]))
    expect("admin up shows", int(ifs[master].flags), 1)
    expect("device type", ifs[slave].interface_dev_type, "memif")
    expect("mtu", (ifs[slave].link_mtu, list(ifs[slave].mtu)), (9000, [9000, 0, 0, 0]))
    named = api.sw_interface_dump(name_filter_valid=True, name_filter="MEMIF2")
    expect("name filter", [d.sw_if_index for d in named], [slave])


def bridges(api, master):
    r = api.bridge_domain_add_del_v2(bd_id=4, flood=True, uu_flood=True, forward=True, learn=True,
                                     bd_tag="userspace-cni", is_add=True)
    expect("bridge add v2", (r.retval, r.bd_id), (0, 4))
    r = api.bridge_domain_add_del(bd_id=4, is_add=True)
    expect("bridge exists", r.retval, -119)
    r = api.bridge_domain_add_del_v2(bd_id=ANY, is_add=True)
    expect("bridge id picked", (r.retval, r.bd_id), (0, FIRST_PICK & 0xFFFFFF))
    picked = r.bd_id
    r = api.bridge_domain_add_del_v2(bd_id=0, is_add=False)
    expect("bridge 0 cannot go", r.retval, -121)
    r = api.sw_interface_set_l2_bridge(rx_sw_if_index=master, bd_id=4, port_type=0, shg=0, enable=True)
    expect("bridge member", r.retval, 0)
    r = api.sw_interface_set_l2_bridge(rx_sw_if_index=master, bd_id=4, port_type=7, enable=True)
    expect("bad port type", r.retval, -7)
    r = api.l2_interface_vlan_tag_rewrite(sw_if_index=master, vtr_op=1, push_dot1q=1, tag1=100, tag2=0)
    expect("vlan tag rewrite", r.retval, 0)
    r = api.l2_interface_vlan_tag_rewrite(sw_if_index=master, vtr_op=3, push_dot1q=0, tag1=0, tag2=0)
    expect("pop needs a tag", r.retval, -72)
    bds = api.bridge_domain_dump(bd_id=ANY, sw_if_index=ANY)
    expect("bridge dump", [(b.bd_id, b.bd_tag, [m.sw_if_index for m in b.sw_if_details]) for b in bds],
           [(4, "userspace-cni", [master]), (picked, "", [])])
    vtr = [d for d in api.sw_interface_dump(sw_if_index=master)][0]
    expect("tag rewrite in details", (vtr.vtr_op, vtr.vtr_push_dot1q, vtr.vtr_tag1), (1, 1, 100))
    r = api.bridge_domain_add_del_v2(bd_id=4, is_add=False)
    expect("bridge in use", r.retval, -120)
    r = api.sw_interface_set_l2_bridge(rx_sw_if_index=master, bd_id=4, enable=False)
    expect("bridge leave", r.retval, 0)
    for bd in (4, picked):
        r = api.bridge_domain_add_del_v2(bd_id=bd, is_add=False)
        expect(f"bridge {bd} delete", r.retval, 0)
    r = api.bridge_domain_add_del_v2(bd_id=4, is_add=False)
    expect("bridge delete unknown", r.retval, -6)


def vhost_user(api, work):
    v = os.path.join(work, "vhost.sock")
    r = api.create_vhost_user_if_v2(is_server=True, sock_filename=v, tag="pod")
    expect("vhost create v2", r.retval, 0)
    vh = r.sw_if_index
    expect("vhost server listens", os.path.exists(v), True)
    r = api.create_vhost_user_if(is_server=False, sock_filename=v)
    expect("vhost path in use", (r.retval, r.sw_if_index), (-79, vh))
    dump = api.sw_interface_vhost_user_dump(sw_if_index=ANY)
    expect("vhost dump", [(d.sw_if_index, d.interface_name, d.sock_filename) for d in dump],
           [(vh, "VirtualEthernet0/0/0", v)])
    r = api.delete_vhost_user_if(sw_if_index=vh)
    expect("vhost delete", r.retval, 0)
    expect("vhost socket removed", os.path.exists(v), False)
    r = api.delete_vhost_user_if(sw_if_index=vh)
    expect("vhost delete again", r.retval, -2)


def teardown(api, master, slave, picked):
    expect("memif delete", api.memif_delete(sw_if_index=master).retval, 0)
    expect("memif delete again", api.memif_delete(sw_if_index=master).retval, -2)
    expect("memif delete v1", api.memif_delete(sw_if_index=slave).retval, 0)
    for sid in (picked, 2):
        r = api.memif_socket_filename_add_del_v2(is_add=False, socket_id=sid, socket_filename="")
        expect(f"socket {sid} delete", r.retval, 0)
    r = api.memif_socket_filename_add_del_v2(is_add=False, socket_id=2, socket_filename="")
    expect("socket delete unknown", r.retval, -73)


def control(api):
    r = api.control_ping()
    expect("control_ping", (r.retval, r.vpe_pid > 0), (0, True))
    r = api.cli_inband(cmd="show interface")
    expect("cli", (r.retval, "local0" in r.reply), (0, True))
    r = api.cli_inband(cmd="bogus command")
    expect("cli refuses", (r.retval, r.reply), (-1, "unknown input `bogus command'\n"))
    r = api.show_version()
    expect("show_version", r.program, "vpe")


def main():
    sock, api_dir, work = sys.argv[1:4]
    files = sorted(glob.glob(os.path.join(api_dir, "*.api.json")))
    vpp = VPPApiClient(apifiles=files, use_socket=True, server_address=sock)
    expect("connect", vpp.connect("papi-check"), 0)
    api = vpp.api
    picked = memif_sockets(api, work)
    master, slave = memifs(api, picked)
    interfaces(api, master, slave)
    bridges(api, master)
    vhost_user(api, work)
    teardown(api, master, slave, picked)
    control(api)
    vpp.disconnect()
    print(f"vpp_papi: {checks} checks passed against {sock}")


if __name__ == "__main__":
    main()
