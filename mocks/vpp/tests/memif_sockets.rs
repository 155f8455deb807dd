//! memif control sockets as VPP keeps them: a master's socket file lives from its first
//! to its last master interface, a path holding something else is refused, a slave
//! connects only while admin-up and learns who its peer is.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::time::Duration;

use common::Vpp;
use vpp_api::messages::*;
use vpp_api::types::{MemifMode, MemifRole};

fn is_socket(path: &std::path::Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn a_master_socket_lives_with_its_masters() {
    let dir = tempfile::tempdir().unwrap();
    let host = Vpp::start(dir.path(), "host");
    let sock = dir.path().join("shared.sock");
    let first = host.memif(&sock, MemifRole::MASTER);
    assert!(is_socket(&sock), "listening once the reply is in");
    let mut c = host.client();
    let socket_id = c.dump(&MemifDump {}).unwrap()[0].socket_id;
    let second = c
        .request(&MemifCreateV2 {
            role: MemifRole::MASTER,
            mode: MemifMode::ETHERNET,
            socket_id,
            id: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(second.retval, 0);
    let shown = host.cli("show memif");
    assert!(shown.contains("yes (2)"), "{shown}");

    host.memif_delete(first);
    assert!(is_socket(&sock), "one master still uses it");
    host.memif_delete(second.sw_if_index);
    assert!(!sock.exists(), "gone with the last master");
    let shown = host.cli("show memif");
    let line = shown.lines().find(|l| l.contains(sock.to_str().unwrap()));
    assert!(line.is_some_and(|l| l.contains(" no ")), "{shown}");
}

#[test]
fn a_master_refuses_a_path_that_is_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let host = Vpp::start(dir.path(), "host");
    let path = dir.path().join("not-a-socket");
    std::fs::write(&path, "data").unwrap();
    let mut c = host.client();
    let s = c
        .request(&MemifSocketFilenameAddDelV2 {
            is_add: true,
            socket_id: u32::MAX,
            socket_filename: path.display().to_string(),
        })
        .unwrap();
    let m = c
        .request(&MemifCreateV2 {
            role: MemifRole::MASTER,
            socket_id: s.socket_id,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(m.retval, mock_vpp::dataplane::VALUE_EXIST);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "data");
    assert!(c.dump(&MemifDump {}).unwrap().is_empty());
}

#[test]
fn a_slave_connects_only_while_admin_up() {
    let dir = tempfile::tempdir().unwrap();
    let host = Vpp::start(dir.path(), "host");
    let pod = Vpp::start(dir.path(), "pod");
    let sock = dir.path().join("memif.sock");
    let master = host.memif(&sock, MemifRole::MASTER);
    let slave = pod.memif_down(&sock, MemifRole::SLAVE);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!pod.link_up(slave), "an admin-down slave stays away");
    assert!(!host.link_up(master));

    pod.admin(slave, true);
    pod.wait_link(slave, true);
    host.wait_link(master, true);
    let shown = pod.cli("show memif");
    assert!(
        shown.contains("flags admin-up slave zero-copy connected"),
        "{shown}"
    );
    assert!(shown.contains("remote-name \"VPP "), "{shown}");
    let remote = format!("remote-interface \"{}\"", host.name(master));
    assert!(shown.contains(&remote), "{shown}");
    let details = pod.client().dump(&MemifDump {}).unwrap();
    assert!(details[0]
        .flags
        .contains(vpp_api::types::IfStatusFlags::LINK_UP));

    // Admin down does not drop a connected slave (as VPP); deleting it does.
    pod.admin(slave, false);
    std::thread::sleep(Duration::from_millis(100));
    assert!(host.link_up(master));
    pod.memif_delete(slave);
    host.wait_link(master, false);
    assert!(host.cli("show memif").contains("remote-name \"\""));
}

/// Sockets and interfaces come and go in any order; slots and sw_if_indexes are reused,
/// and the one pair that talks still finds its peer among many idle masters.
#[test]
fn many_masters_come_and_go_and_one_still_connects() {
    let dir = tempfile::tempdir().unwrap();
    let host = Vpp::start(dir.path(), "host");
    let pod = Vpp::start(dir.path(), "pod");
    let path = |n: usize| dir.path().join(format!("m{n}.sock"));
    let mut masters: Vec<u32> = (0..60)
        .map(|n| host.memif(&path(n), MemifRole::MASTER))
        .collect();
    for n in (0..60).step_by(2) {
        host.memif_delete(masters[n]);
        assert!(!path(n).exists());
    }
    for n in (0..60).step_by(4) {
        masters[n] = host.memif(&path(n), MemifRole::MASTER);
    }
    for n in 0..60 {
        assert_eq!(is_socket(&path(n)), n % 2 == 1 || n % 4 == 0, "{n}");
    }
    let slave = pod.memif(&path(41), MemifRole::SLAVE);
    pod.wait_link(slave, true);
    host.wait_link(masters[41], true);
    let other = pod.memif(&path(8), MemifRole::SLAVE);
    pod.wait_link(other, true);
    host.wait_link(masters[8], true);
    assert!(!host.link_up(masters[9]));
    host.memif_delete(masters[41]);
    pod.wait_link(slave, false);
    assert!(host.link_up(masters[8]));
}
