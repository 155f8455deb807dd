//! The same transactions against mock-ovsdb (without its ovs-vswitchd) and against the
//! real ovsdb-server (Debian 3.1.0, started by ci/start-ovs.sh --db-only): results,
//! error names and error texts must be identical, UUIDs aside.

mod common;

use std::path::Path;
use std::time::Duration;

use ovsdb::Client;
use serde_json::{json, Value};

const DB: &str = "Open_vSwitch";
const U1: &str = "11111111-1111-4111-8111-111111111111";
const U9: &str = "99999999-9999-4999-8999-999999999999";

/// Ops that create bridge `name` (with its internal port and interface) the way
/// ovs-vsctl does, forward reference included.
fn bridge(name: &str, uuid: Option<&str>) -> Vec<Value> {
    let mut b = json!({"op": "insert", "table": "Bridge", "uuid-name": "nb",
                       "row": {"name": name, "ports": ["named-uuid", "np"], "datapath_type": "netdev"}});
    if let Some(u) = uuid {
        b["uuid"] = json!(u);
    }
    vec![
        json!({"op": "insert", "table": "Port", "uuid-name": "np",
               "row": {"name": name, "interfaces": ["named-uuid", "ni"]}}),
        b,
        json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
               "mutations": [["bridges", "insert", ["set", [["named-uuid", "nb"]]]]]}),
        json!({"op": "insert", "table": "Interface", "uuid-name": "ni", "row": {"name": name, "type": "internal"}}),
    ]
}

fn sel(table: &str, conds: Value, cols: Value) -> Value {
    json!({"op": "select", "table": table, "where": conds, "columns": cols})
}

fn insert(table: &str, row: Value) -> Value {
    json!({"op": "insert", "table": table, "row": row})
}

fn mutate(table: &str, conds: Value, muts: Value) -> Value {
    json!({"op": "mutate", "table": table, "where": conds, "mutations": muts})
}

/// A port `name` on bridge br0 with `row` merged into it.
fn port(name: &str, extra: Value) -> Vec<Value> {
    let mut row = json!({"name": name, "interfaces": ["named-uuid", "pi"]});
    for (k, v) in extra.as_object().unwrap() {
        row[k] = v.clone();
    }
    vec![
        json!({"op": "insert", "table": "Interface", "uuid-name": "pi", "row": {"name": name}}),
        json!({"op": "insert", "table": "Port", "uuid-name": "pp", "row": row}),
        mutate(
            "Bridge",
            json!([["name", "==", "br0"]]),
            json!([["ports", "insert", ["named-uuid", "pp"]]]),
        ),
    ]
}

/// (name, transactions); each transaction is the list of its operations, a `transact`
/// params array when it starts with a string, or `{"params": ..}`.
fn cases() -> Vec<(&'static str, Vec<Value>)> {
    let br0 = Value::Array(bridge("br0", None));
    let tag = |n: i64| json!(["tag", "==", n]);
    vec![
        (
            "no table",
            vec![json!([sel("NoTable", json!([]), json!([]))])],
        ),
        (
            "no table member",
            vec![json!([{"op": "select", "where": []}])],
        ),
        (
            "no where",
            vec![json!([{"op": "select", "table": "Bridge"}])],
        ),
        (
            "extra member",
            vec![json!([{"op": "delete", "table": "Port", "where": [], "extra": 1}])],
        ),
        (
            "unknown op",
            vec![json!([{"op": "frob", "table": "Bridge", "where": []}])],
        ),
        ("op not a string", vec![json!([{"op": 5}])]),
        ("op not an object", vec![json!([5])]),
        (
            "second op fails",
            vec![
                json!([{"op": "comment", "comment": "x"}, {"op": "select", "table": "Nope", "where": []}, {"op": "abort"}]),
            ],
        ),
        (
            "unknown column",
            vec![json!([insert("Bridge", json!({"nocol": 5}))])],
        ),
        (
            "wrong atom",
            vec![json!([insert("Bridge", json!({"name": 5}))])],
        ),
        (
            "object for integer",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "tag": {"a": 1}})
            )])],
        ),
        (
            "range",
            vec![json!([insert("Port", json!({"name": "x", "tag": 5000}))])],
        ),
        (
            "enum",
            vec![json!([insert(
                "Port",
                json!({"name": "x", "vlan_mode": "sideways"})
            )])],
        ),
        (
            "too few",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "interfaces": ["set", []]})
            )])],
        ),
        (
            "too many",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "tag": ["set", [1, 2]]})
            )])],
        ),
        (
            "set for map",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "other_config": ["set", []]})
            )])],
        ),
        (
            "map duplicate",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "other_config": ["map", [["a", "1"], ["a", "2"]]]})
            )])],
        ),
        (
            "set duplicate",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "trunks": ["set", [1, 1]]})
            )])],
        ),
        (
            "bad uuid",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "interfaces": ["uuid", "zzz"]})
            )])],
        ),
        (
            "bad uuid-name",
            vec![
                json!([{"op": "insert", "table": "Port", "row": {"name": "y"}, "uuid-name": "1a"}]),
            ],
        ),
        (
            "default uuid dangles",
            vec![json!([insert("Port", json!({"name": "y"}))])],
        ),
        (
            "undefined named uuid",
            vec![json!([insert(
                "Port",
                json!({"name": "y", "interfaces": ["named-uuid", "nope"]})
            )])],
        ),
        (
            "duplicate uuid-name",
            vec![json!([
            {"op": "insert", "table": "Interface", "row": {"name": "a"}, "uuid-name": "a"},
            {"op": "insert", "table": "Interface", "row": {"name": "b"}, "uuid-name": "a"}])],
        ),
        (
            "bridge and select",
            vec![
                br0.clone(),
                json!([
                    sel("Bridge", json!([]), json!(["name", "datapath_type"])),
                    sel(
                        "Port",
                        json!([["name", "==", "br0"]]),
                        json!(["name", "tag", "trunks"])
                    ),
                    sel("Interface", json!([]), json!(["name", "type", "ofport"]))
                ]),
            ],
        ),
        (
            "orphan collected",
            vec![
                json!([insert("Bridge", json!({"name": "orphan"}))]),
                json!([sel("Bridge", json!([]), json!(["name"]))]),
            ],
        ),
        (
            "remove from root collects",
            vec![
                br0.clone(),
                json!([{"op": "update", "table": "Open_vSwitch", "where": [], "row": {"bridges": ["set", []]}}]),
                json!([
                    sel("Bridge", json!([]), json!(["name"])),
                    sel("Port", json!([]), json!(["name"])),
                    sel("Interface", json!([]), json!(["name"]))
                ]),
            ],
        ),
        (
            "dangling strong ref",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["bridges", "insert", ["set", [["uuid", U1]]]]])
            )])],
        ),
        (
            "delete referenced",
            vec![
                br0.clone(),
                json!([{"op": "delete", "table": "Bridge", "where": []}]),
            ],
        ),
        (
            "index within txn",
            vec![json!([
            {"op": "insert", "table": "Bridge", "uuid": U1, "row": {"name": "b"}},
            {"op": "insert", "table": "Bridge", "uuid": U9, "row": {"name": "b"}},
            mutate("Open_vSwitch", json!([]), json!([["bridges", "insert", ["set", [["uuid", U1], ["uuid", U9]]]]]))])],
        ),
        (
            "index against existing",
            vec![
                Value::Array(bridge("br0", Some(U1))),
                json!([{"op": "insert", "table": "Bridge", "uuid": U9, "uuid-name": "x", "row": {"name": "br0"}},
                   mutate("Open_vSwitch", json!([]), json!([["bridges", "insert", ["named-uuid", "x"]]]))]),
            ],
        ),
        ("max rows", vec![json!([insert("Open_vSwitch", json!({}))])]),
        (
            "update immutable",
            vec![
                br0.clone(),
                json!([{"op": "update", "table": "Bridge", "where": [], "row": {"name": "x"}}]),
            ],
        ),
        (
            "update _version",
            vec![
                json!([{"op": "update", "table": "Bridge", "where": [], "row": {"_version": ["uuid", U1]}}]),
            ],
        ),
        (
            "update counts",
            vec![
                br0.clone(),
                json!([{"op": "update", "table": "Port", "where": [], "row": {"tag": 7}},
            sel("Port", json!([]), json!(["tag"]))]),
            ],
        ),
        (
            "arithmetic",
            vec![json!([
                mutate(
                    "Open_vSwitch",
                    json!([]),
                    json!([
                        ["next_cfg", "+=", 10],
                        ["next_cfg", "-=", 3],
                        ["next_cfg", "*=", 4],
                        ["next_cfg", "/=", 3],
                        ["next_cfg", "%=", 5]
                    ])
                ),
                sel("Open_vSwitch", json!([]), json!(["next_cfg"]))
            ])],
        ),
        (
            "division by zero",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["next_cfg", "/=", 0]])
            )])],
        ),
        (
            "overflow",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["next_cfg", "+=", i64::MAX], ["next_cfg", "+=", 1]])
            )])],
        ),
        (
            "insert into scalar",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["next_cfg", "insert", 1]])
            )])],
        ),
        (
            "arithmetic on map",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["external_ids", "+=", 1]])
            )])],
        ),
        (
            "mutate immutable",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["_uuid", "+=", 1]])
            )])],
        ),
        (
            "mutate unknown column",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["nocol", "+=", 1]])
            )])],
        ),
        (
            "unknown mutator",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["next_cfg", "frob", 1]])
            )])],
        ),
        (
            "bad mutation",
            vec![json!([mutate(
                "Open_vSwitch",
                json!([]),
                json!([["next_cfg", "+="]])
            )])],
        ),
        (
            "map mutations",
            vec![json!([
                mutate(
                    "Open_vSwitch",
                    json!([]),
                    json!([[
                        "external_ids",
                        "insert",
                        ["map", [["a", "1"], ["b", "2"], ["k", "v"]]]
                    ]])
                ),
                mutate(
                    "Open_vSwitch",
                    json!([]),
                    json!([["external_ids", "insert", ["map", [["a", "9"]]]]])
                ),
                mutate(
                    "Open_vSwitch",
                    json!([]),
                    json!([["external_ids", "delete", ["set", ["k"]]]])
                ),
                mutate(
                    "Open_vSwitch",
                    json!([]),
                    json!([["external_ids", "delete", ["map", [["b", "3"]]]]])
                ),
                sel("Open_vSwitch", json!([]), json!(["external_ids"]))
            ])],
        ),
        (
            "set arithmetic",
            vec![
                br0.clone(),
                json!(port("p1", json!({"trunks": ["set", [1, 2]]}))),
                json!([
                    mutate(
                        "Port",
                        json!([["name", "==", "p1"]]),
                        json!([["trunks", "+=", 1]])
                    ),
                    sel("Port", json!([["name", "==", "p1"]]), json!(["trunks"]))
                ]),
                json!([mutate(
                    "Port",
                    json!([["name", "==", "p1"]]),
                    json!([["trunks", "*=", 0]])
                )]),
                json!([mutate(
                    "Port",
                    json!([["name", "==", "p1"]]),
                    json!([["trunks", "+=", 5000]])
                )]),
            ],
        ),
        (
            "too many after insert",
            vec![
                br0.clone(),
                json!([
                    mutate("Port", json!([]), json!([["tag", "insert", ["set", [1]]]])),
                    mutate("Port", json!([]), json!([["tag", "insert", ["set", [2]]]]))
                ]),
            ],
        ),
        (
            "empty after delete",
            vec![
                br0.clone(),
                json!([{"op": "select", "table": "Interface", "where": [], "columns": ["_uuid"]}]),
            ],
        ),
        (
            "select columns",
            vec![
                json!([sel("Open_vSwitch", json!([]), json!(["nocol"]))]),
                json!([sel(
                    "Open_vSwitch",
                    json!([]),
                    json!(["next_cfg", "next_cfg"])
                )]),
                json!([sel("Open_vSwitch", json!([]), json!([]))]),
            ],
        ),
        (
            "ordering on string",
            vec![json!([sel(
                "Bridge",
                json!([["name", "<", "x"]]),
                json!([])
            )])],
        ),
        (
            "unknown function",
            vec![json!([sel("Port", json!([["tag", "foo", 5]]), json!([]))])],
        ),
        (
            "bad condition",
            vec![json!([sel("Port", json!([["tag", "=="]]), json!([]))])],
        ),
        (
            "condition value",
            vec![
                json!([sel("Port", json!([tag(5000)]), json!([]))]),
                json!([sel("Port", json!([["name", "==", 1]]), json!([]))]),
                json!([sel(
                    "Port",
                    json!([["interfaces", "==", ["set", []]]]),
                    json!([])
                )]),
            ],
        ),
        (
            "conditions",
            vec![
                br0.clone(),
                json!(port(
                    "p1",
                    json!({"tag": 5, "trunks": ["set", [1, 2, 3]], "external_ids": ["map", [["a", "1"], ["b", "2"]]]})
                )),
                json!(port("p2", json!({"trunks": ["set", [4]]}))),
                json!([
                    sel("Port", json!([["tag", "<", 6]]), json!(["name"])),
                    sel("Port", json!([["tag", "!=", 5]]), json!(["name"])),
                    sel("Port", json!([["tag", "excludes", 5]]), json!(["name"])),
                    sel(
                        "Port",
                        json!([["trunks", "includes", ["set", [1, 3]]]]),
                        json!(["name"])
                    ),
                    sel(
                        "Port",
                        json!([["trunks", "excludes", ["set", [1, 4]]]]),
                        json!(["name"])
                    ),
                    sel(
                        "Port",
                        json!([["external_ids", "includes", ["map", [["a", "1"]]]]]),
                        json!(["name"])
                    ),
                    sel(
                        "Port",
                        json!([["external_ids", "includes", ["map", [["a", "2"]]]]]),
                        json!(["name"])
                    ),
                    sel("Port", json!([true]), json!(["name"])),
                    sel("Port", json!([false]), json!(["name"])),
                    sel(
                        "Port",
                        json!([["trunks", "==", ["set", [4]]], ["name", "!=", "p1"]]),
                        json!(["name", "trunks"])
                    )
                ]),
            ],
        ),
        (
            "wait",
            vec![
                json!([{"op": "wait", "table": "Open_vSwitch", "where": [], "columns": ["next_cfg"], "until": "==", "rows": [{"next_cfg": 0}], "timeout": 0},
            {"op": "wait", "table": "Open_vSwitch", "where": [], "columns": ["next_cfg"], "until": "!=", "rows": [{"next_cfg": 1}], "timeout": 0}]),
                json!([{"op": "wait", "table": "Open_vSwitch", "where": [], "columns": ["next_cfg"], "until": "==", "rows": [{"next_cfg": 1}], "timeout": 0}, {"op": "comment", "comment": "x"}]),
                json!([{"op": "wait", "table": "Open_vSwitch", "where": [], "until": "==", "rows": [], "timeout": 0}]),
                json!([{"op": "wait", "table": "Port", "where": [], "until": "==", "rows": []}]),
            ],
        ),
        (
            "wait errors",
            vec![
                json!([{"op": "wait", "table": "Port", "where": [], "until": "<", "rows": []}]),
                json!([{"op": "wait", "table": "Port", "where": [], "until": "==", "rows": [], "timeout": -1}]),
                json!([{"op": "wait", "table": "Port", "where": [], "until": "==", "rows": [{"nocol": 1}], "timeout": 0}]),
            ],
        ),
        (
            "misc ops",
            vec![
                json!([{"op": "commit"}]),
                json!([{"op": "commit", "durable": true}, {"op": "comment", "comment": "c"}]),
                json!([{"op": "comment"}]),
                json!([{"op": "comment", "comment": 5}]),
                json!([{"op": "assert", "lock": "foo"}]),
                json!([{"op": "assert"}]),
                json!([{"op": "abort"}, {"op": "comment", "comment": "x"}]),
                json!([]),
            ],
        ),
        (
            "whole request",
            vec![
                json!({"params": []}),
                json!({"params": [5]}),
                json!(["Nope", {"op": "abort"}]),
            ],
        ),
        (
            "_Server",
            vec![
                json!([
                    "_Server",
                    sel(
                        "Database",
                        json!([]),
                        json!(["name", "model", "connected", "leader"])
                    )
                ]),
                json!([
                    "_Server",
                    insert("Database", json!({"name": "x", "model": "standalone"}))
                ]),
                json!(["_Server", {"op": "delete", "table": "Database", "where": []}]),
            ],
        ),
    ]
}

fn reset(c: &mut Client) {
    let ops = vec![
        json!({"op": "delete", "table": "Flow_Sample_Collector_Set", "where": []}),
        json!({"op": "delete", "table": "QoS", "where": []}),
        json!({"op": "delete", "table": "Queue", "where": []}),
        json!({"op": "update", "table": "Open_vSwitch", "where": [],
               "row": {"bridges": ["set", []], "next_cfg": 0, "external_ids": ["map", []]}}),
    ];
    c.transact(DB, ops).unwrap();
}

/// Sorted rows, UUIDs hidden.
fn normalize(v: Value) -> Value {
    fn walk(v: Value) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, x)| {
                        let mut x = walk(x);
                        if k == "rows" {
                            if let Value::Array(a) = &mut x {
                                a.sort_by_key(|r| r.to_string());
                            }
                        }
                        (k, x)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(walk).collect()),
            other => other,
        }
    }
    let text = common::hide_uuids(&walk(v).to_string());
    serde_json::from_str(&text).unwrap()
}

fn run_all(sock: &Path) -> Vec<Vec<Value>> {
    let mut c = Client::connect(sock, Duration::from_secs(10)).unwrap();
    cases()
        .into_iter()
        .map(|(_, txns)| {
            reset(&mut c);
            txns.into_iter()
                .map(|t| {
                    let params = match (&t, t.get(0)) {
                        (Value::Object(o), _) => o["params"].clone(),
                        (_, Some(Value::String(_))) => t,
                        _ => {
                            let mut p = vec![json!(DB)];
                            p.extend(t.as_array().unwrap().iter().cloned());
                            Value::Array(p)
                        }
                    };
                    let answer = match c.call("transact", params) {
                        Ok(r) => json!({"result": r}),
                        Err(ovsdb::Error::Rpc(e)) => json!({"error": e}),
                        Err(e) => panic!("transact: {e}"),
                    };
                    normalize(answer)
                })
                .collect()
        })
        .collect()
}

#[test]
fn mock_answers_like_ovsdb_server() {
    let real_dir = common::short_dir();
    let real = common::RealOvs::start(real_dir.path(), true);
    let from_real = run_all(&real.socket());
    drop(real);
    let mock_dir = common::short_dir();
    let mock = common::mock_db_only(mock_dir.path());
    let from_mock = run_all(mock.path());
    let mut differences = Vec::new();
    for ((name, txns), (m, r)) in cases().iter().zip(from_mock.iter().zip(&from_real)) {
        for (i, (a, b)) in m.iter().zip(r).enumerate() {
            if a != b {
                differences.push(format!(
                    "{name} #{i}: {}\n  mock: {a}\n  real: {b}",
                    txns[i]
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
