//! mock-vpp's socket as a VPP client sees it: the handshake and its message table, client
//! indexes, concurrent clients, control_ping, the CLI, and what a broken client gets.

mod mock;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use mock::*;
use vpp_api::frame::{read_frame, write_frame};
use vpp_api::message::{decode, encode};
use vpp_api::messages::*;
use vpp_api::types::MemifRole;
use vpp_api::wire::FixedString;
use vpp_api::{Client, Envelope, Message};

/// Every message vpp-api defines, by the `"name", 0xcrc` of its declaration.
fn crate_messages() -> Vec<String> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../engines/vpp-api/src/messages"
    );
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            // `Name = "wire_name", 0x1234abcd, ...` or `... = "wire_name", 0x1234abcd {`
            let Some((_, rest)) = line.split_once("= \"") else {
                continue;
            };
            let Some((name, rest)) = rest.split_once("\", 0x") else {
                continue;
            };
            let crc: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            names.push(format!("{name}_{crc}"));
        }
    }
    assert!(names.len() >= 40, "found only {names:?}");
    names
}

#[test]
fn handshake_lists_every_message_the_crate_defines() {
    let m = Mock::new();
    let c = m.client();
    for name in crate_messages() {
        assert!(c.table().id(&name).is_some(), "{name} missing");
    }
    for name in mock_vpp::api_table::served_messages() {
        let id = c.table().id(&name).unwrap();
        assert!(id >= 29, "{name} has {id}: memclnt keeps 1..=28");
    }
    for (i, name) in MEMCLNT_TABLE.iter().enumerate() {
        assert_eq!(c.table().id(name), Some(i as u16 + 1), "{name}");
    }
}

#[test]
fn client_indexes_are_vpps_socket_handles() {
    let m = Mock::new();
    let first = m.client();
    let second = m.client();
    // Slot 0 is VPP's listening socket; bit 31 marks a socket client.
    assert_eq!(first.client_index(), 0x8000_0001);
    assert_eq!(second.client_index(), 0x8000_0002);
    let index = first.client_index();
    first.disconnect();
    // Once the server has seen the first one go, its slot is the next handed out (the
    // clients made meanwhile keep theirs, so the freed slot is not buried under them).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut meanwhile = Vec::new();
    loop {
        let again = m.client();
        if again.client_index() == index {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "slot never reused");
        meanwhile.push(again);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn control_ping_and_show_version() {
    let m = Mock::new();
    let mut c = m.client();
    let ping = c.request(&ControlPing {}).unwrap();
    assert_eq!((ping.retval, ping.vpe_pid), (0, std::process::id()));
    assert_eq!(ping.client_index, c.client_index());
    let v = c.request(&ShowVersion {}).unwrap();
    assert_eq!(v.program.as_str(), "vpe");
    assert_eq!(v.version.as_str(), mock_vpp::VERSION);
    assert!(
        !v.version.as_str().starts_with('v'),
        "VPP's API version has no v"
    );
}

#[test]
fn cli_inband() {
    let m = Mock::new();
    let mut c = m.client();
    let cli = |c: &mut Client, cmd: &str| {
        let r = c.request(&CliInband { cmd: cmd.into() }).unwrap();
        (r.retval, r.reply)
    };
    let (rv, text) = cli(&mut c, "show version");
    assert_eq!(rv, 0);
    assert!(
        text.starts_with(&format!("vpp v{} ", mock_vpp::VERSION)),
        "{text}"
    );
    let (rv, text) = cli(&mut c, "sh int");
    assert_eq!(rv, 0);
    assert!(text.contains("local0"), "{text}");
    assert_eq!(
        cli(&mut c, "no such thing"),
        (-1, "unknown input `no such thing'\n".into())
    );
}

#[test]
fn concurrent_clients_get_distinct_interfaces() {
    let m = Mock::new();
    let handles: Vec<_> = (1..=16u32)
        .map(|n| {
            let path = m.server.path().to_path_buf();
            let file = m.path(&format!("s{n}.sock"));
            std::thread::spawn(move || {
                let mut c = Client::connect(&path, "t", Duration::from_secs(5)).unwrap();
                let id = add_socket(&mut c, u32::MAX, &file).socket_id;
                let r = memif(&mut c, id, 0, MemifRole::MASTER);
                assert_eq!(r.retval, 0);
                (id, r.sw_if_index)
            })
        })
        .collect();
    let got: Vec<(u32, u32)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut ids: Vec<u32> = got.iter().map(|g| g.0).collect();
    let mut sws: Vec<u32> = got.iter().map(|g| g.1).collect();
    ids.sort();
    ids.dedup();
    sws.sort();
    assert_eq!(ids.len(), 16, "every client got its own socket id");
    assert_eq!(
        sws,
        (1..=16).collect::<Vec<u32>>(),
        "one sw_if_index each, no gaps"
    );
}

/// A raw connection that did the handshake; its client index.
fn raw_client(m: &Mock) -> (UnixStream, u32) {
    let mut raw = UnixStream::connect(m.server.path()).unwrap();
    raw.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let env = Envelope {
        msg_id: 15,
        client_index: 0,
        context: 7,
    };
    let hello = SockclntCreate {
        name: FixedString::new("raw"),
    };
    write_frame(&mut raw, &encode(env, &hello)).unwrap();
    let reply = read_frame(&mut raw, 1 << 20).unwrap().unwrap();
    let (env, created) = decode::<SockclntCreateReply>(&reply).unwrap();
    assert_eq!((env.context, created.response), (7, 0));
    (raw, created.index)
}

fn ping(raw: &mut UnixStream, client_index: u32, context: u32) {
    let env = Envelope {
        msg_id: 23,
        client_index,
        context,
    };
    write_frame(raw, &encode(env, &ControlPing {})).unwrap();
}

fn silent(raw: &mut UnixStream) -> bool {
    let mut buf = [0u8; 64];
    raw.read(&mut buf).is_err()
}

/// VPP answers on the connection the client_index names, and not at all when it names
/// no live client.
#[test]
fn answers_follow_the_client_index() {
    let m = Mock::new();
    let (mut a, a_index) = raw_client(&m);
    let (mut b, b_index) = raw_client(&m);
    ping(&mut a, 0x8000_0777, 9);
    assert!(silent(&mut a), "no answer for a client_index nobody has");
    ping(&mut a, b_index, 10);
    assert!(silent(&mut a), "the answer went elsewhere");
    let got = read_frame(&mut b, 1 << 20).unwrap().unwrap();
    let (env, reply) = decode::<ControlPingReply>(&got).unwrap();
    assert_eq!((env.context, reply.client_index), (10, b_index));
    ping(&mut a, a_index, 11);
    let got = read_frame(&mut a, 1 << 20).unwrap().unwrap();
    assert_eq!(decode::<ControlPingReply>(&got).unwrap().0.context, 11);
}

#[test]
fn sockclnt_delete() {
    let m = Mock::new();
    let (mut raw, index) = raw_client(&m);
    let bye = |raw: &mut UnixStream, named: u32, context: u32| {
        let env = Envelope {
            msg_id: 17,
            client_index: index,
            context,
        };
        write_frame(raw, &encode(env, &SockclntDelete { index: named })).unwrap();
        let got = read_frame(raw, 1 << 20).unwrap().unwrap();
        let (env, reply) = decode::<SockclntDeleteReply>(&got).unwrap();
        assert_eq!(env.context, context);
        reply.response
    };
    assert_eq!(bye(&mut raw, 0x8000_0555, 1), -1, "unknown index");
    ping(&mut raw, index, 2);
    assert!(
        !silent(&mut raw),
        "the connection stays after a refused delete"
    );
    assert_eq!(bye(&mut raw, index, 3), 1);
    let mut buf = [0u8; 16];
    assert_eq!(raw.read(&mut buf).unwrap(), 0, "VPP closes after the reply");
}

/// A malformed frame ends only its own connection.
#[test]
fn garbage_ends_only_its_connection() {
    let m = Mock::new();
    let mut c = m.client();
    // A frame announcing 2 GiB: the server drops this connection...
    let mut bad = UnixStream::connect(m.server.path()).unwrap();
    bad.write_all(&[0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(bad.read(&mut buf).unwrap_or(0), 0);
    // ...and keeps serving the others, old and new.
    assert_eq!(c.request(&ControlPing {}).unwrap().retval, 0);
    assert_eq!(m.client().request(&ControlPing {}).unwrap().retval, 0);
    // An empty frame and an unknown message id get no answer and end nothing.
    let (mut raw, index) = raw_client(&m);
    write_frame(&mut raw, &[]).unwrap();
    write_frame(&mut raw, &[0xff, 0xf0, 0, 0, 0, 0]).unwrap();
    assert!(silent(&mut raw));
    ping(&mut raw, index, 5);
    assert!(!silent(&mut raw));
}

#[test]
fn names_and_crcs_are_vpps() {
    // A spot check against SPEC.md's table: ids are per server, names and CRCs are not.
    assert_eq!(MemifCreateV2::name_crc(), "memif_create_v2_8c7de5f7");
    assert_eq!(
        BridgeDomainAddDelV2::name_crc(),
        "bridge_domain_add_del_v2_600b7170"
    );
    assert_eq!(
        SwInterfaceDetails::name_crc(),
        "sw_interface_details_6c221fc7"
    );
}
