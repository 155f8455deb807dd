//! The real `ovs-vsctl` (Debian openvswitch-common) against mock-ovsdb, without
//! `--no-wait`: the mock must also play ovs-vswitchd's part for it to finish.

mod common;

use std::path::Path;
use std::process::Command;

fn vsctl(db: &Path, args: &[&str]) -> (bool, String) {
    common::require_ovs_vsctl();
    let out = Command::new("ovs-vsctl")
        .arg(format!("--db=unix:{}", db.display()))
        .arg("--timeout=10")
        .args(args)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn ok(db: &Path, args: &[&str]) -> String {
    let (success, text) = vsctl(db, args);
    assert!(success, "ovs-vsctl {args:?}: {text}");
    text
}

#[test]
fn ovs_vsctl_manages_bridges_and_vhost_user_ports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sock");
    let server =
        mock_ovsdb::serve(&db, mock_ovsdb::schema::Schema::open_vswitch(), dir.path()).unwrap();
    ok(
        &db,
        &[
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
        ],
    );
    ok(
        &db,
        &[
            "add-port",
            "br0",
            "p1",
            "--",
            "set",
            "Interface",
            "p1",
            "type=dpdkvhostuser",
        ],
    );
    assert!(
        dir.path().join("p1").exists(),
        "the vhost-user server socket appears in the run dir"
    );
    ok(
        &db,
        &[
            "add-port",
            "br0",
            "c1",
            "tag=100",
            "--",
            "set",
            "Interface",
            "c1",
            "type=dpdkvhostuserclient",
            "options:vhost-server-path=/tmp/c1.sock",
        ],
    );
    assert_eq!(ok(&db, &["list-ports", "br0"]), "c1\np1\n");
    assert_eq!(
        ok(
            &db,
            &["--bare", "--columns=name", "find", "bridge", "name=br0"]
        ),
        "br0\n"
    );
    assert_eq!(ok(&db, &["get", "Port", "c1", "tag"]), "100\n");
    assert_eq!(
        ok(&db, &["get", "Interface", "p1", "ofport", "error"]),
        "1\n[]\n"
    );
    assert!(ok(&db, &["find", "port", "name=p1"]).contains("name                : p1"));
    let show = ok(&db, &["show"]);
    assert!(
        show.contains("Bridge br0") && show.contains("type: dpdkvhostuserclient"),
        "{show}"
    );
    // An interface vswitchd cannot set up (a system device that does not exist):
    // ovs-vsctl reports OVS's error.
    let (_, bad) = vsctl(&db, &["add-port", "br0", "no-such-dev0"]);
    assert!(
        bad.contains("Error detected while setting up 'no-such-dev0'")
            && bad.contains("No such device"),
        "{bad}"
    );
    // Unique names are enforced.
    let (dup, text) = vsctl(&db, &["add-port", "br0", "p1"]);
    assert!(!dup && text.contains("already exists"), "{text}");
    ok(&db, &["--if-exists", "del-port", "br0", "p1"]);
    ok(&db, &["--if-exists", "del-port", "br0", "nosuch"]);
    assert!(
        !dir.path().join("p1").exists(),
        "the socket goes with the interface"
    );
    assert_eq!(ok(&db, &["list-ports", "br0"]), "c1\nno-such-dev0\n");
    ok(&db, &["del-br", "br0"]);
    assert_eq!(ok(&db, &["list-br"]), "");
    // Garbage collection removed the ports and interfaces with the bridge.
    let state = server.state();
    let st = state.lock().unwrap();
    for t in ["Bridge", "Port", "Interface"] {
        assert!(
            st.tables.get(t).is_none_or(|r| r.is_empty()),
            "{t} not empty"
        );
    }
}
