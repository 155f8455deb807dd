//! RFC 7047 semantics of mock-ovsdb through our own client.

use std::time::Duration;

use ovsdb::ops::{self, by_name};
use ovsdb::{Client, Error};
use rstest::rstest;
use serde_json::{json, Value};

fn server() -> (tempfile::TempDir, mock_ovsdb::Server, Client) {
    let dir = tempfile::tempdir().unwrap();
    let s = mock_ovsdb::serve(
        &dir.path().join("db.sock"),
        mock_ovsdb::schema::Schema::open_vswitch(),
        dir.path(),
    )
    .unwrap();
    let c = Client::connect(s.path(), Duration::from_secs(5)).unwrap();
    (dir, s, c)
}

fn row(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn bridge_ops(name: &str) -> Vec<Value> {
    vec![
        ops::insert(
            "Interface",
            row(json!({"name": name, "type": "internal"})),
            Some("i"),
        ),
        ops::insert(
            "Port",
            row(json!({"name": name, "interfaces": ["named-uuid", "i"]})),
            Some("p"),
        ),
        ops::insert(
            "Bridge",
            row(json!({"name": name, "ports": ["named-uuid", "p"]})),
            Some("b"),
        ),
        ops::mutate(
            "Open_vSwitch",
            vec![],
            vec![json!(["bridges", "insert", ["set", [["named-uuid", "b"]]]])],
        ),
    ]
}

#[test]
fn list_dbs_schema_and_echo() {
    let (_d, _s, mut c) = server();
    assert_eq!(c.list_dbs().unwrap(), vec!["Open_vSwitch", "_Server"]);
    assert_eq!(c.get_schema("Open_vSwitch").unwrap().version, "8.3.1");
    assert_eq!(c.get_schema("_Server").unwrap().version, "1.2.0");
    c.echo().unwrap();
}

#[test]
fn insert_select_and_garbage_collection() {
    let (_d, _s, mut c) = server();
    c.transact("Open_vSwitch", bridge_ops("br0")).unwrap();
    let r = c
        .transact(
            "Open_vSwitch",
            vec![ops::select(
                "Bridge",
                by_name("name", "br0"),
                &["name", "ports"],
            )],
        )
        .unwrap();
    assert_eq!(r[0]["rows"][0]["name"], "br0");
    // Dropping the bridge from the root collects bridge, port and interface.
    c.transact(
        "Open_vSwitch",
        vec![ops::update(
            "Open_vSwitch",
            vec![],
            row(json!({"bridges": ["set", []]})),
        )],
    )
    .unwrap();
    for t in ["Bridge", "Port", "Interface"] {
        let r = c
            .transact("Open_vSwitch", vec![ops::select(t, vec![], &["name"])])
            .unwrap();
        assert_eq!(r[0]["rows"], json!([]), "{t}");
    }
    // An orphan insert is collected at commit too.
    let r = c
        .transact(
            "Open_vSwitch",
            vec![ops::insert("Bridge", row(json!({"name": "orphan"})), None)],
        )
        .unwrap();
    assert!(r[0]["uuid"].is_array());
    let r = c
        .transact(
            "Open_vSwitch",
            vec![ops::select("Bridge", vec![], &["name"])],
        )
        .unwrap();
    assert_eq!(r[0]["rows"], json!([]));
}

#[rstest]
#[case::unknown_table(vec![ops::select("NoTable", vec![], &[])], "syntax error")]
#[case::unknown_column(vec![ops::insert("Bridge", row(json!({"nocol": 1})), None)], "unknown column")]
#[case::bad_enum(vec![ops::insert("Port", row(json!({"name": "x", "vlan_mode": "sideways"})), None)], "constraint violation")]
#[case::tag_range(vec![ops::insert("Port", row(json!({"name": "x", "tag": 5000})), None)], "constraint violation")]
#[case::dangling_ref(vec![ops::mutate("Open_vSwitch", vec![], vec![json!(["bridges", "insert", ["set", [["uuid", "00000000-0000-4000-8000-000000000001"]]]])])], "referential integrity violation")]
#[case::failed_wait(vec![ops::wait("Open_vSwitch", vec![], &["bridges"], "!=", vec![json!({"bridges": ["set", []]})])], "timed out")]
#[case::abort(vec![json!({"op": "abort"})], "aborted")]
fn refusals(#[case] ops_list: Vec<Value>, #[case] error: &str) {
    let (_d, _s, mut c) = server();
    match c.transact("Open_vSwitch", ops_list) {
        Err(Error::Operation { error: e, .. }) => assert_eq!(e, error),
        other => panic!("expected {error}, got {other:?}"),
    }
}

#[test]
fn unique_names_and_nothing_committed_on_error() {
    let (_d, _s, mut c) = server();
    c.transact("Open_vSwitch", bridge_ops("br0")).unwrap();
    let err = c.transact("Open_vSwitch", bridge_ops("br0")).unwrap_err();
    assert!(
        matches!(&err, Error::Operation { error, .. } if error == "constraint violation"),
        "{err}"
    );
    let r = c
        .transact(
            "Open_vSwitch",
            vec![ops::select("Bridge", vec![], &["name"])],
        )
        .unwrap();
    assert_eq!(r[0]["rows"].as_array().unwrap().len(), 1);
}

#[test]
fn mutations_and_vswitchd() {
    let (dir, _s, mut c) = server();
    c.transact("Open_vSwitch", bridge_ops("br0")).unwrap();
    let mut add = vec![
        ops::insert(
            "Interface",
            row(json!({"name": "v1", "type": "dpdkvhostuser"})),
            Some("i"),
        ),
        ops::insert(
            "Port",
            row(json!({"name": "v1", "interfaces": ["named-uuid", "i"]})),
            Some("p"),
        ),
        ops::mutate(
            "Bridge",
            by_name("name", "br0"),
            vec![json!(["ports", "insert", ["set", [["named-uuid", "p"]]]])],
        ),
        ops::mutate("Open_vSwitch", vec![], vec![json!(["next_cfg", "+=", 1])]),
    ];
    add.push(ops::mutate(
        "Interface",
        vec![ovsdb::ops::cond("_uuid", "==", json!(["named-uuid", "i"]))],
        vec![json!([
            "external_ids",
            "insert",
            ["map", [["owner", "test"]]]
        ])],
    ));
    let r = c.transact("Open_vSwitch", add).unwrap();
    assert_eq!(r[2]["count"], 1);
    assert_eq!(r[4]["count"], 1);
    let r = c
        .transact(
            "Open_vSwitch",
            vec![
                ops::select(
                    "Interface",
                    by_name("name", "v1"),
                    &["ofport", "error", "external_ids"],
                ),
                ops::select("Open_vSwitch", vec![], &["cur_cfg", "next_cfg"]),
            ],
        )
        .unwrap();
    assert_eq!(r[0]["rows"][0]["ofport"], 1);
    assert_eq!(
        r[0]["rows"][0]["external_ids"],
        json!(["map", [["owner", "test"]]])
    );
    assert_eq!(r[1]["rows"][0]["cur_cfg"], r[1]["rows"][0]["next_cfg"]);
    assert!(dir.path().join("v1").exists());
}

/// Garbage or an endless message from one client ends only that client's connection.
#[test]
fn malformed_input_ends_only_that_connection() {
    use std::io::{Read, Write};
    let (_d, s, mut c) = server();
    let mut bad = std::os::unix::net::UnixStream::connect(s.path()).unwrap();
    bad.write_all(b"{]").unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        bad.read(&mut buf).unwrap_or(0),
        0,
        "the server closes a garbled stream"
    );
    let mut huge = std::os::unix::net::UnixStream::connect(s.path()).unwrap();
    let chunk = vec![b'['; 1 << 20];
    let mut sent = 0;
    while sent < 20 << 20 {
        match huge.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    c.echo().unwrap();
    assert_eq!(c.list_dbs().unwrap(), vec!["Open_vSwitch", "_Server"]);
}
