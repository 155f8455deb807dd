//! The data model's JSON conversions: operations, results and schemas survive a round
//! trip through their wire text, and malformed operations get ovsdb-server's errors.

use std::collections::BTreeMap;

use ovsdb::schema::{AtomicType, BaseType, ColumnSchema, ColumnType, RefType, TableSchema};
use ovsdb::{
    Atom, Condition, DatabaseSchema, Datum, Function, Mutation, Mutator, OpResult, Operation,
    OvsdbError, Row, Until,
};
use proptest::prelude::*;
use rstest::rstest;
use serde_json::{json, Value};

fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        any::<i64>().prop_map(Atom::Integer),
        any::<bool>().prop_map(Atom::Boolean),
        "[a-z0-9:/._ -]{0,10}".prop_map(Atom::String),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Atom::Uuid),
        "row[0-9a-f_]{6}".prop_map(Atom::NamedUuid),
        (-1i64 << 40..1i64 << 40).prop_map(|i| Atom::Real(i as f64 / 8.0)),
    ]
}

fn datum() -> impl Strategy<Value = Datum> {
    prop_oneof![
        proptest::collection::vec(atom(), 0..4).prop_map(Datum::Set),
        proptest::collection::vec((atom(), atom()), 0..3).prop_map(Datum::Map),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,8}"
}

fn row() -> impl Strategy<Value = Row> {
    proptest::collection::btree_map(name(), datum(), 0..4)
}

fn conditions() -> impl Strategy<Value = Vec<Condition>> {
    let f = proptest::sample::select(Function::ALL.to_vec());
    proptest::collection::vec(
        (name(), f, datum()).prop_map(|(c, f, d)| Condition::new(&c, f, d)),
        0..3,
    )
}

fn columns() -> impl Strategy<Value = Option<Vec<String>>> {
    proptest::option::of(proptest::collection::vec(name(), 0..3))
}

fn operation() -> impl Strategy<Value = Operation> {
    let m = proptest::sample::select(Mutator::ALL.to_vec());
    let mutations = proptest::collection::vec(
        (name(), m, datum()).prop_map(|(c, m, d)| Mutation::new(&c, m, d)),
        0..3,
    );
    prop_oneof![
        (name(), row(), proptest::option::of("row[0-9a-f_]{6}")).prop_map(
            |(table, row, uuid_name)| Operation::Insert {
                table,
                row,
                uuid_name,
                uuid: None
            }
        ),
        (name(), conditions(), columns()).prop_map(|(table, conditions, columns)| {
            Operation::Select {
                table,
                conditions,
                columns,
            }
        }),
        (name(), conditions(), row()).prop_map(|(table, conditions, row)| Operation::Update {
            table,
            conditions,
            row
        }),
        (name(), conditions(), mutations).prop_map(|(table, conditions, mutations)| {
            Operation::Mutate {
                table,
                conditions,
                mutations,
            }
        }),
        (name(), conditions())
            .prop_map(|(table, conditions)| Operation::Delete { table, conditions }),
        (
            name(),
            conditions(),
            columns(),
            any::<bool>(),
            proptest::collection::vec(row(), 0..2),
            proptest::option::of(0u64..10_000)
        )
            .prop_map(
                |(table, conditions, columns, eq, rows, timeout)| Operation::Wait {
                    table,
                    conditions,
                    columns,
                    until: if eq { Until::Equal } else { Until::NotEqual },
                    rows,
                    timeout,
                }
            ),
        any::<bool>().prop_map(|durable| Operation::Commit { durable }),
        Just(Operation::Abort),
        "[ -~]{0,20}".prop_map(|comment| Operation::Comment { comment }),
        name().prop_map(|lock| Operation::Assert { lock }),
    ]
}

fn op_result() -> impl Strategy<Value = OpResult> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(OpResult::Inserted),
        proptest::collection::vec(proptest::collection::btree_map(name(), datum(), 0..3), 0..3)
            .prop_map(OpResult::Rows),
        any::<u64>().prop_map(OpResult::Count),
        Just(OpResult::Empty),
        Just(OpResult::NotRun),
        ("[a-z ]{1,10}", proptest::option::of("[ -~]{0,20}")).prop_map(|(e, d)| OpResult::Error(
            OvsdbError {
                error: e,
                details: d,
                syntax: None
            }
        )),
    ]
}

fn through_text(v: &Value) -> Value {
    serde_json::from_str(&v.to_string()).unwrap()
}

proptest! {
    #[test]
    fn operations_round_trip(op in operation()) {
        let back = Operation::<Datum>::from_json(&through_text(&op.to_json()));
        prop_assert_eq!(back, Ok(op));
    }

    #[test]
    fn results_round_trip(r in op_result()) {
        prop_assert_eq!(OpResult::from_json(&through_text(&r.to_json())), Some(r));
    }

    #[test]
    fn schemas_round_trip(s in schema()) {
        let back = DatabaseSchema::from_json(through_text(&s.to_json())).unwrap();
        prop_assert_eq!(back.tables, s.tables);
        prop_assert_eq!(back.name, s.name);
    }
}

fn base_type() -> impl Strategy<Value = BaseType> {
    prop_oneof![
        (
            proptest::option::of(-5i64..0),
            proptest::option::of(0i64..5)
        )
            .prop_map(|(lo, hi)| {
                BaseType {
                    min_integer: lo,
                    max_integer: hi,
                    ..BaseType::plain(AtomicType::Integer)
                }
            }),
        proptest::option::of(proptest::collection::vec("[a-z]{1,5}", 1..4)).prop_map(|e| {
            BaseType {
                enumeration: e.map(|e| {
                    match Datum::Set(e.into_iter().map(Atom::String).collect()).normalized() {
                        Datum::Set(a) => a,
                        Datum::Map(_) => unreachable!(),
                    }
                }),
                ..BaseType::plain(AtomicType::String)
            }
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(r, weak)| BaseType {
            ref_table: r.then(|| "T0".to_string()),
            ref_type: if r && weak {
                RefType::Weak
            } else {
                RefType::Strong
            },
            ..BaseType::plain(AtomicType::Uuid)
        }),
        Just(BaseType::plain(AtomicType::Real)),
        Just(BaseType::plain(AtomicType::Boolean)),
    ]
}

fn column_type() -> impl Strategy<Value = ColumnType> {
    (
        base_type(),
        proptest::option::of(base_type()),
        0usize..2,
        proptest::option::of(1usize..5),
    )
        .prop_map(|(key, value, min, max)| ColumnType {
            key,
            value,
            min,
            max,
        })
}

fn schema() -> impl Strategy<Value = DatabaseSchema> {
    let table = (
        proptest::collection::btree_map(
            "[a-z][a-z0-9_]{0,6}",
            (column_type(), any::<bool>()),
            1..4,
        ),
        any::<bool>(),
        proptest::option::of(1u64..3),
    )
        .prop_map(|(cols, is_root, max_rows)| TableSchema {
            indexes: vec![vec![cols.keys().next().unwrap().clone()]],
            columns: cols
                .into_iter()
                .map(|(c, (t, m))| {
                    (
                        c,
                        ColumnSchema {
                            column_type: t,
                            ephemeral: false,
                            mutable: m,
                        },
                    )
                })
                .collect(),
            is_root,
            max_rows,
        });
    proptest::collection::vec(table, 1..3).prop_map(|ts| {
        let mut tables: BTreeMap<String, TableSchema> = ts
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("T{i}"), t))
            .collect();
        tables.get_mut("T0").unwrap().is_root = true;
        DatabaseSchema {
            name: "Db".into(),
            version: "1.0.0".into(),
            cksum: None,
            tables,
            json: Value::Null,
        }
    })
}

#[rstest]
#[case::not_an_object(json!(5), "Parsing ovsdb operation 1 of 1 failed: Object expected.")]
#[case::no_op(json!({"table": "T"}), "Parsing ovsdb operation 1 of 1 failed: Required 'op' member is missing.")]
#[case::op_type(json!({"op": 5}), "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'op'.")]
#[case::unknown_op(json!({"op": "frob", "table": "Bridge", "where": []}), "Parsing ovsdb operation 1 of 1 failed: No operation \"frob\"")]
#[case::no_table(json!({"op": "select", "where": []}), "Parsing ovsdb operation 1 of 1 failed: Required 'table' member is missing.")]
#[case::unknown_table(json!({"op": "select", "table": "NoTable", "where": []}), "Parsing ovsdb operation 1 of 1 failed: No table named NoTable.")]
#[case::no_where(json!({"op": "select", "table": "Bridge"}), "Parsing ovsdb operation 1 of 1 failed: Required 'where' member is missing.")]
#[case::extra(json!({"op": "select", "table": "Bridge", "where": [], "bogus": 1}), "Parsing ovsdb operation 1 of 1 failed: Member 'bogus' is present but not allowed here.")]
#[case::bad_uuid_name(json!({"op": "insert", "table": "Bridge", "row": {}, "uuid-name": "1a"}), "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'uuid-name'.")]
#[case::commit(json!({"op": "commit"}), "Parsing ovsdb operation 1 of 1 failed: Required 'durable' member is missing.")]
#[case::until(json!({"op": "wait", "table": "Bridge", "where": [], "until": "<", "rows": []}), "\"until\" must be \"==\" or \"!=\"")]
#[case::timeout(json!({"op": "wait", "table": "Bridge", "where": [], "until": "==", "rows": [], "timeout": -1}), "timeout must be nonnegative")]
#[case::condition(json!({"op": "select", "table": "Bridge", "where": [["tag", "=="]]}), "Parse error in condition.")]
fn malformed_operations(#[case] op: Value, #[case] details: &str) {
    let e = Operation::<Value>::parse(&op, &|t| t == "Bridge")
        .unwrap_err()
        .into_ovsdb_error(&op, 0, 1);
    assert_eq!(e.details.as_deref(), Some(details));
}

#[test]
fn structural_errors_cite_the_operation_with_sorted_members() {
    let op = json!({"where": [], "op": "select", "table": "NoTable"});
    let e = Operation::<Value>::parse(&op, &|_| false)
        .unwrap_err()
        .into_ovsdb_error(&op, 1, 3);
    assert_eq!(e.error, "syntax error");
    assert_eq!(
        e.syntax.as_deref(),
        Some(r#"{"op":"select","table":"NoTable","where":[]}"#)
    );
    assert!(e
        .details
        .unwrap()
        .starts_with("Parsing ovsdb operation 2 of 3 failed"));
}
