//! mock-vpp through VPP's binary API, as any client sees it: VPP's answers and error
//! numbers for every message the plugin uses.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rstest::rstest;
use vpp_api::messages::*;
use vpp_api::retval::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::{FixedString, MacAddress, Prefix};
use vpp_api::{Client, Message};

struct Mock {
    _dir: tempfile::TempDir,
    server: mock_vpp::Server,
}

impl Mock {
    fn new() -> Mock {
        let dir = tempfile::tempdir().unwrap();
        let server = mock_vpp::serve(&dir.path().join("api.sock")).unwrap();
        Mock { _dir: dir, server }
    }

    fn client(&self) -> Client {
        Client::connect(self.server.path(), "test", Duration::from_secs(5)).unwrap()
    }

    fn sock(&self, name: &str) -> String {
        self._dir.path().join(name).display().to_string()
    }
}

fn add_socket(c: &mut Client, id: u32, file: &str) -> MemifSocketFilenameAddDelV2Reply {
    c.request(&MemifSocketFilenameAddDelV2 {
        is_add: true,
        socket_id: id,
        socket_filename: file.into(),
    })
    .unwrap()
}

fn memif(c: &mut Client, socket_id: u32, id: u32, role: MemifRole) -> MemifCreateV2Reply {
    c.request(&MemifCreateV2 {
        role,
        mode: MemifMode::ETHERNET,
        id,
        socket_id,
        ..Default::default()
    })
    .unwrap()
}

fn bridge(c: &mut Client, bd_id: u32, is_add: bool) -> BridgeDomainAddDelV2Reply {
    c.request(&BridgeDomainAddDelV2 {
        bd_id,
        flood: true,
        forward: true,
        learn: true,
        uu_flood: true,
        bd_tag: FixedString::new("t"),
        is_add,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn handshake_lists_every_message_served() {
    let m = Mock::new();
    let c = m.client();
    for name in mock_vpp::handlers::served_messages() {
        assert!(c.table().id(&name).is_some(), "{name} missing");
    }
    assert_eq!(c.table().id(&SockclntCreate::name_crc()), Some(15));
    assert_eq!(c.table().id(&ControlPing::name_crc()), Some(23));
}

#[test]
fn memif_socket_rules() {
    let m = Mock::new();
    let mut c = m.client();
    let a = m.sock("a.sock");
    let r = add_socket(&mut c, u32::MAX, &a);
    assert_eq!((r.retval, r.socket_id), (0, 1));
    assert_eq!(
        add_socket(&mut c, 1, &a).retval,
        0,
        "same file again is accepted"
    );
    assert_eq!(
        add_socket(&mut c, 1, &m.sock("b.sock")).retval,
        ENTRY_ALREADY_EXISTS
    );
    assert_eq!(add_socket(&mut c, 0, &a).retval, INVALID_ARGUMENT);
    assert_eq!(add_socket(&mut c, 2, "").retval, INVALID_ARGUMENT);
    let v1 = c
        .request(&MemifSocketFilenameAddDel {
            is_add: true,
            socket_id: u32::MAX,
            socket_filename: FixedString::new(&a),
        })
        .unwrap();
    assert_eq!(v1.retval, INVALID_ARGUMENT, "v1 cannot ask for a picked id");
    let sw = memif(&mut c, 1, 0, MemifRole::MASTER).sw_if_index;
    assert!(
        std::path::Path::new(&a).exists(),
        "a master listens on its socket"
    );
    let del = |c: &mut Client, id| {
        c.request(&MemifSocketFilenameAddDelV2 {
            is_add: false,
            socket_id: id,
            socket_filename: String::new(),
        })
        .unwrap()
        .retval
    };
    assert_eq!(del(&mut c, 1), UNEXPECTED_INTF_STATE);
    assert_eq!(
        c.request(&MemifDelete { sw_if_index: sw }).unwrap().retval,
        0
    );
    assert!(
        !std::path::Path::new(&a).exists(),
        "the last master stops listening"
    );
    assert_eq!(del(&mut c, 1), 0);
    assert_eq!(del(&mut c, 1), INVALID_ARGUMENT);
    let sockets = c.dump(&MemifSocketFilenameDump {}).unwrap();
    assert_eq!(sockets.len(), 1);
    assert_eq!(sockets[0].socket_filename.as_str(), "/run/vpp/memif.sock");
}

#[rstest]
#[case::unknown_socket(7, 0, MemifRole::MASTER, INVALID_ARGUMENT)]
#[case::duplicate_id(1, 0, MemifRole::MASTER, SUBIF_ALREADY_EXISTS)]
#[case::role_mix(1, 1, MemifRole::SLAVE, SUBIF_ALREADY_EXISTS)]
#[case::second_id(1, 1, MemifRole::MASTER, 0)]
fn memif_create_rules(
    #[case] socket_id: u32,
    #[case] id: u32,
    #[case] role: MemifRole,
    #[case] want: i32,
) {
    let m = Mock::new();
    let mut c = m.client();
    add_socket(&mut c, 1, &m.sock("a.sock"));
    assert_eq!(memif(&mut c, 1, 0, MemifRole::MASTER).retval, 0);
    assert_eq!(memif(&mut c, socket_id, id, role).retval, want);
}

#[test]
fn memif_details_and_interface_dump() {
    let m = Mock::new();
    let mut c = m.client();
    add_socket(&mut c, 3, &m.sock("a.sock"));
    let mac: MacAddress = "02:00:00:aa:bb:cc".parse().unwrap();
    let r = c
        .request(&MemifCreateV2 {
            role: MemifRole::SLAVE,
            mode: MemifMode::ETHERNET,
            id: 5,
            socket_id: 3,
            ring_size: 0,
            hw_addr: mac,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    let bad_ring = c
        .request(&MemifCreateV2 {
            socket_id: 3,
            id: 6,
            role: MemifRole::SLAVE,
            ring_size: 1000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(bad_ring.retval, INVALID_ARGUMENT);
    let d = c.dump(&MemifDump {}).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].if_name.as_str(), "memif3/5");
    assert_eq!((d[0].ring_size, d[0].buffer_size), (1024, 2048));
    assert_eq!(d[0].hw_addr, mac);
    let all = c
        .dump(&SwInterfaceDump {
            sw_if_index: u32::MAX,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].interface_name.as_str(), "local0");
    assert_eq!(all[1].interface_dev_type.as_str(), "memif");
    let named = c
        .dump(&SwInterfaceDump {
            sw_if_index: 0,
            name_filter_valid: true,
            name_filter: "MEMIF3".into(),
        })
        .unwrap();
    assert_eq!(named.len(), 1);
    let one = c
        .dump(&SwInterfaceDump {
            sw_if_index: 42,
            ..Default::default()
        })
        .unwrap();
    assert!(one.is_empty());
    assert_eq!(
        c.request(&MemifDelete { sw_if_index: 0 }).unwrap().retval,
        INVALID_SW_IF_INDEX
    );
}

#[test]
fn bridge_domain_rules() {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(bridge(&mut c, 4, true).retval, 0);
    assert_eq!(bridge(&mut c, 4, true).retval, BD_ALREADY_EXISTS);
    assert_eq!(bridge(&mut c, 16_777_216, true).retval, BD_ID_EXCEED_MAX);
    let picked = bridge(&mut c, u32::MAX, true);
    assert_eq!((picked.retval, picked.bd_id), (0, 1));
    assert_eq!(bridge(&mut c, 9, false).retval, NO_SUCH_ENTRY);
    assert_eq!(bridge(&mut c, 0, false).retval, BD_NOT_MODIFIABLE);

    add_socket(&mut c, 1, &m.sock("a.sock"));
    let sw = memif(&mut c, 1, 0, MemifRole::MASTER).sw_if_index;
    let join = |c: &mut Client, bd_id, enable| {
        c.request(&SwInterfaceSetL2Bridge {
            rx_sw_if_index: sw,
            bd_id,
            port_type: L2PortType::NORMAL,
            shg: 0,
            enable,
        })
        .unwrap()
        .retval
    };
    assert_eq!(join(&mut c, 4, true), 0);
    assert_eq!(bridge(&mut c, 4, false).retval, BD_IN_USE);
    // Joining another bridge moves the port; a missing bridge is created.
    assert_eq!(join(&mut c, 7, true), 0);
    let all = c
        .dump(&BridgeDomainDump {
            bd_id: u32::MAX,
            sw_if_index: u32::MAX,
        })
        .unwrap();
    let members: Vec<(u32, usize)> = all
        .iter()
        .map(|b| (b.bd_id, b.sw_if_details.items.len()))
        .collect();
    assert_eq!(members, vec![(1, 0), (4, 0), (7, 1)]);
    assert_eq!(all[1].bd_tag.as_str(), "t");
    let vtr = c
        .request(&L2InterfaceVlanTagRewrite {
            sw_if_index: sw,
            vtr_op: vtr_op::PUSH_1,
            push_dot1q: 1,
            tag1: 100,
            tag2: 0,
        })
        .unwrap();
    assert_eq!(vtr.retval, 0);
    // Deleting the interface takes it out of its bridge.
    assert_eq!(
        c.request(&MemifDelete { sw_if_index: sw }).unwrap().retval,
        0
    );
    assert_eq!(bridge(&mut c, 7, false).retval, 0);
    let none = c
        .dump(&BridgeDomainDump {
            bd_id: 0,
            sw_if_index: u32::MAX,
        })
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn addresses_and_flags() {
    let m = Mock::new();
    let mut c = m.client();
    add_socket(&mut c, 1, &m.sock("a.sock"));
    add_socket(&mut c, 2, &m.sock("b.sock"));
    let a = memif(&mut c, 1, 0, MemifRole::SLAVE).sw_if_index;
    let b = memif(&mut c, 2, 0, MemifRole::SLAVE).sw_if_index;
    let addr = |c: &mut Client, sw, ip: &str, is_add| {
        c.request(&SwInterfaceAddDelAddress {
            sw_if_index: sw,
            is_add,
            del_all: false,
            prefix: Prefix::new(ip.parse().unwrap(), 24),
        })
        .unwrap()
        .retval
    };
    assert_eq!(addr(&mut c, a, "10.0.0.1", true), 0);
    assert_eq!(addr(&mut c, a, "10.0.0.1", true), DUPLICATE_IF_ADDRESS);
    assert_eq!(addr(&mut c, b, "10.0.0.2", true), ADDRESS_IN_USE);
    assert_eq!(
        addr(&mut c, a, "10.9.0.1", false),
        ADDRESS_NOT_FOUND_FOR_INTERFACE
    );
    assert_eq!(addr(&mut c, 0, "10.1.0.1", true), UNSUPPORTED);
    assert_eq!(addr(&mut c, 99, "10.1.0.1", true), INVALID_SW_IF_INDEX);
    let ips = c
        .dump(&IpAddressDump {
            sw_if_index: a,
            is_ipv6: false,
        })
        .unwrap();
    assert_eq!(ips.len(), 1);
    assert_eq!(ips[0].prefix.to_string(), "10.0.0.1/24");
    let up = |c: &mut Client, sw| {
        c.request(&SwInterfaceSetFlags {
            sw_if_index: sw,
            flags: IfStatusFlags::ADMIN_UP,
        })
        .unwrap()
        .retval
    };
    assert_eq!(up(&mut c, a), 0);
    assert_eq!(up(&mut c, 77), INVALID_SW_IF_INDEX);
    let d = c
        .dump(&SwInterfaceDump {
            sw_if_index: a,
            ..Default::default()
        })
        .unwrap();
    assert!(d[0].flags.contains(IfStatusFlags::ADMIN_UP));
    assert!(
        !d[0].flags.contains(IfStatusFlags::LINK_UP),
        "no peer, no link"
    );
}

#[test]
fn vhost_user_rules() {
    let m = Mock::new();
    let mut c = m.client();
    let path = m.sock("vhost.sock");
    let create = |c: &mut Client, is_server| {
        c.request(&CreateVhostUserIfV2 {
            is_server,
            sock_filename: FixedString::new(&path),
            ..Default::default()
        })
        .unwrap()
    };
    let r = create(&mut c, true);
    assert_eq!(r.retval, 0);
    assert!(std::path::Path::new(&path).exists(), "a server listens");
    let again = create(&mut c, false);
    assert_eq!(
        (again.retval, again.sw_if_index),
        (IF_ALREADY_EXISTS, r.sw_if_index)
    );
    let d = c
        .dump(&SwInterfaceVhostUserDump {
            sw_if_index: u32::MAX,
        })
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].interface_name.as_str(), "VirtualEthernet0/0/0");
    assert_eq!(
        c.request(&MemifDelete {
            sw_if_index: r.sw_if_index
        })
        .unwrap()
        .retval,
        INVALID_SW_IF_INDEX,
        "not a memif"
    );
    assert_eq!(
        c.request(&DeleteVhostUserIf {
            sw_if_index: r.sw_if_index
        })
        .unwrap()
        .retval,
        0
    );
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn cli_and_ping() {
    let m = Mock::new();
    let mut c = m.client();
    let v = c
        .request(&CliInband {
            cmd: "show version".into(),
        })
        .unwrap();
    assert_eq!(v.retval, 0);
    assert!(v.reply.starts_with("vpp v"), "{}", v.reply);
    let bad = c
        .request(&CliInband {
            cmd: "no such thing".into(),
        })
        .unwrap();
    assert_eq!(bad.retval, -1);
    let ping = c.request(&ControlPing {}).unwrap();
    assert_eq!(ping.vpe_pid, std::process::id());
    assert_eq!(ping.client_index, c.client_index());
}

#[test]
fn concurrent_clients_get_distinct_interfaces() {
    let m = Mock::new();
    let handles: Vec<_> = (1..=16u32)
        .map(|n| {
            let path = m.server.path().to_path_buf();
            let file = m.sock(&format!("s{n}.sock"));
            std::thread::spawn(move || {
                let mut c = Client::connect(&path, "t", Duration::from_secs(5)).unwrap();
                let id = add_socket(&mut c, u32::MAX, &file).socket_id;
                let r = memif(&mut c, id, 0, MemifRole::MASTER);
                assert_eq!(r.retval, 0);
                r.sw_if_index
            })
        })
        .collect();
    let mut sws: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    sws.sort();
    sws.dedup();
    assert_eq!(sws.len(), 16);
}

/// Raw frames: a request carrying another client's index gets no answer, and a
/// malformed frame ends only that connection.
#[test]
fn foreign_client_index_and_garbage() {
    let m = Mock::new();
    let mut raw = UnixStream::connect(m.server.path()).unwrap();
    raw.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let hello = vpp_api::message::encode(
        vpp_api::Envelope {
            msg_id: 15,
            client_index: 0,
            context: 7,
        },
        &SockclntCreate {
            name: FixedString::new("raw"),
        },
    );
    vpp_api::frame::write_frame(&mut raw, &hello).unwrap();
    let reply = vpp_api::frame::read_frame(&mut raw, 1 << 20)
        .unwrap()
        .unwrap();
    let (_, created) = vpp_api::message::decode::<SockclntCreateReply>(&reply).unwrap();
    let ping = vpp_api::message::encode(
        vpp_api::Envelope {
            msg_id: 23,
            client_index: created.index ^ 1,
            context: 9,
        },
        &ControlPing {},
    );
    vpp_api::frame::write_frame(&mut raw, &ping).unwrap();
    let mut buf = [0u8; 64];
    let got = raw.read(&mut buf);
    assert!(
        got.is_err(),
        "no answer for a foreign client_index: {got:?}"
    );

    // A frame announcing 2 GiB: the server drops this connection...
    let mut bad = UnixStream::connect(m.server.path()).unwrap();
    bad.write_all(&[0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(bad.read(&mut buf).unwrap_or(0), 0);
    // ...and keeps serving the others.
    let mut c = m.client();
    assert_eq!(c.request(&ControlPing {}).unwrap().retval, 0);
}
