#!/usr/bin/env python3
"""Drives mock-vpp with VPP's official Python client (vpp_papi) through every message the
userspace-cni plugin uses, with VPP's answers and refusals.

usage: papi_check.py API_SOCKET API_JSON_DIR WORK_DIR
Exits non-zero (and says which check) on the first difference.
"""
import glob
import ipaddress
import os
import sys

from vpp_papi import VPPApiClient

ANY = 0xFFFFFFFF
checks = 0


def expect(what, got, want):
    global checks
    checks += 1
    if got != want:
        sys.exit(f"FAIL {what}: got {got!r}, want {want!r}")


def main():
    sock, api_dir, work = sys.argv[1:4]
    files = sorted(glob.glob(os.path.join(api_dir, "*.api.json")))
    vpp = VPPApiClient(apifiles=files, use_socket=True, server_address=sock)
    expect("connect", vpp.connect("papi-check"), 0)
    api = vpp.api

    # memif socket files: server-picked id, VPP's refusals.
    a = os.path.join(work, "a.sock")
    r = api.memif_socket_filename_add_del_v2(is_add=True, socket_id=ANY, socket_filename=a)
    expect("socket add v2 picks an id", (r.retval, r.socket_id), (0, 1))
    r = api.memif_socket_filename_add_del_v2(is_add=True, socket_id=0, socket_filename=a)
    expect("socket id 0 refused", r.retval, -73)
    r = api.memif_socket_filename_add_del(is_add=True, socket_id=2, socket_filename=os.path.join(work, "b.sock"))
    expect("socket add v1", r.retval, 0)
    r = api.memif_socket_filename_add_del(is_add=True, socket_id=2, socket_filename=a)
    expect("socket id reused with another file", r.retval, -116)
    names = {d.socket_id: d.socket_filename for d in api.memif_socket_filename_dump()}
    expect("socket dump", names, {0: "/run/vpp/memif.sock", 1: a, 2: os.path.join(work, "b.sock")})

    # memif interfaces.
    r = api.memif_create_v2(role=0, mode=0, rx_queues=1, tx_queues=1, id=0, socket_id=1,
                            ring_size=1024, buffer_size=2048, hw_addr="02:00:00:00:00:01")
    expect("memif create v2", r.retval, 0)
    master = r.sw_if_index
    r = api.memif_create_v2(role=0, mode=0, id=0, socket_id=1)
    expect("duplicate memif id", r.retval, -68)
    r = api.memif_create(role=1, mode=0, id=0, socket_id=2, rx_queues=1, tx_queues=1)
    expect("memif create v1", r.retval, 0)
    slave = r.sw_if_index
    r = api.memif_create_v2(role=0, socket_id=9)
    expect("memif on unknown socket", r.retval, -73)
    details = {d.sw_if_index: d for d in api.memif_dump()}
    expect("memif dump names", sorted(d.if_name for d in details.values()), ["memif1/0", "memif2/0"])
    expect("memif dump mac", str(details[master].hw_addr), "02:00:00:00:00:01")
    expect("memif dump role", int(details[slave].role), 1)

    # flags and addresses.
    r = api.sw_interface_set_flags(sw_if_index=master, flags=1)
    expect("admin up", r.retval, 0)
    r = api.sw_interface_set_flags(sw_if_index=99, flags=1)
    expect("admin up unknown", r.retval, -2)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=True, prefix="192.168.210.2/24")
    expect("address add", r.retval, 0)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=True, prefix="192.168.210.2/24")
    expect("duplicate address", r.retval, -127)
    r = api.sw_interface_add_del_address(sw_if_index=slave, is_add=False, prefix="10.0.0.1/8")
    expect("absent address delete", r.retval, -60)
    ifs = {d.sw_if_index: d for d in api.sw_interface_dump(sw_if_index=ANY)}
    expect("interface dump", sorted(d.interface_name for d in ifs.values()), ["local0", "memif1/0", "memif2/0"])
    expect("admin up shows", int(ifs[master].flags) & 1, 1)
    expect("device type", ifs[slave].interface_dev_type, "memif")

    # bridge domains.
    r = api.bridge_domain_add_del_v2(bd_id=4, flood=True, uu_flood=True, forward=True, learn=True,
                                     bd_tag="userspace-cni", is_add=True)
    expect("bridge add v2", (r.retval, r.bd_id), (0, 4))
    r = api.bridge_domain_add_del(bd_id=4, is_add=True)
    expect("bridge exists", r.retval, -119)
    r = api.sw_interface_set_l2_bridge(rx_sw_if_index=master, bd_id=4, port_type=0, shg=0, enable=True)
    expect("bridge member", r.retval, 0)
    r = api.l2_interface_vlan_tag_rewrite(sw_if_index=master, vtr_op=1, push_dot1q=1, tag1=100, tag2=0)
    expect("vlan tag rewrite", r.retval, 0)
    bds = api.bridge_domain_dump(bd_id=ANY, sw_if_index=ANY)
    expect("bridge dump", [(b.bd_id, b.bd_tag, [m.sw_if_index for m in b.sw_if_details]) for b in bds],
           [(4, "userspace-cni", [master])])
    r = api.bridge_domain_add_del_v2(bd_id=4, is_add=False)
    expect("bridge in use", r.retval, -120)
    r = api.sw_interface_set_l2_bridge(rx_sw_if_index=master, bd_id=4, enable=False)
    expect("bridge leave", r.retval, 0)
    r = api.bridge_domain_add_del_v2(bd_id=4, is_add=False)
    expect("bridge delete", r.retval, 0)

    # vhost-user.
    v = os.path.join(work, "vhost.sock")
    r = api.create_vhost_user_if_v2(is_server=True, sock_filename=v)
    expect("vhost create v2", r.retval, 0)
    vh = r.sw_if_index
    expect("vhost server listens", os.path.exists(v), True)
    r = api.create_vhost_user_if(is_server=False, sock_filename=v)
    expect("vhost path in use", (r.retval, r.sw_if_index), (-79, vh))
    dump = api.sw_interface_vhost_user_dump(sw_if_index=ANY)
    expect("vhost dump", [(d.sw_if_index, d.sock_filename) for d in dump], [(vh, v)])
    r = api.delete_vhost_user_if(sw_if_index=vh)
    expect("vhost delete", r.retval, 0)

    # teardown, the plugin's way round.
    expect("memif delete", api.memif_delete(sw_if_index=master).retval, 0)
    expect("memif delete again", api.memif_delete(sw_if_index=master).retval, -2)
    expect("memif delete v1", api.memif_delete(sw_if_index=slave).retval, 0)
    for sid in (1, 2):
        r = api.memif_socket_filename_add_del_v2(is_add=False, socket_id=sid, socket_filename="")
        expect(f"socket {sid} delete", r.retval, 0)

    # control and CLI.
    r = api.control_ping()
    expect("control_ping", r.retval, 0)
    r = api.cli_inband(cmd="show interface")
    expect("cli", (r.retval, "local0" in r.reply), (0, True))
    r = api.cli_inband(cmd="bogus command")
    expect("cli refuses", r.retval, -1)
    r = api.show_version()
    expect("show_version", r.program, "vpe")

    vpp.disconnect()
    print(f"vpp_papi: {checks} checks passed against {sock}")


if __name__ == "__main__":
    main()
