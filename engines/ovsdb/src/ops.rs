//! Builders for `transact` operations (RFC 7047 §5.2) and their conditions.

use serde_json::{json, Map, Value};

/// `[column, function, value]`.
pub fn cond(column: &str, function: &str, value: Value) -> Value {
    json!([column, function, value])
}

/// The row with this uuid.
pub fn by_uuid(uuid: &str) -> Vec<Value> {
    vec![cond("_uuid", "==", json!(["uuid", uuid]))]
}

/// Rows whose string column equals `value`.
pub fn by_name(column: &str, value: &str) -> Vec<Value> {
    vec![cond(column, "==", json!(value))]
}

/// An `insert` of `row` (named `uuid_name` for later operations).
pub fn insert(table: &str, row: Map<String, Value>, uuid_name: Option<&str>) -> Value {
    let mut op = json!({"op": "insert", "table": table, "row": row});
    if let Some(n) = uuid_name {
        op["uuid-name"] = json!(n);
    }
    op
}

/// A `select` of `columns` from the rows matching `conditions`.
pub fn select(table: &str, conditions: Vec<Value>, columns: &[&str]) -> Value {
    json!({"op": "select", "table": table, "where": conditions, "columns": columns})
}

/// An `update` of the rows matching `conditions` to `row`.
pub fn update(table: &str, conditions: Vec<Value>, row: Map<String, Value>) -> Value {
    json!({"op": "update", "table": table, "where": conditions, "row": row})
}

/// `mutations` are `[column, mutator, value]` triples.
pub fn mutate(table: &str, conditions: Vec<Value>, mutations: Vec<Value>) -> Value {
    json!({"op": "mutate", "table": table, "where": conditions, "mutations": mutations})
}

/// A `delete` of the rows matching `conditions`.
pub fn delete(table: &str, conditions: Vec<Value>) -> Value {
    json!({"op": "delete", "table": table, "where": conditions})
}

/// Aborts the transaction unless the selected rows' `columns` compare `until` (`==` or
/// `!=`) to `rows`.
pub fn wait(
    table: &str,
    conditions: Vec<Value>,
    columns: &[&str],
    until: &str,
    rows: Vec<Value>,
) -> Value {
    json!({"op": "wait", "table": table, "where": conditions, "columns": columns,
           "until": until, "rows": rows, "timeout": 0})
}

/// A `comment`.
pub fn comment(text: &str) -> Value {
    json!({"op": "comment", "comment": text})
}

/// `["set",[...]]` of uuids.
pub fn uuid_set<'a>(uuids: impl IntoIterator<Item = &'a str>) -> Value {
    json!([
        "set",
        uuids
            .into_iter()
            .map(|u| json!(["uuid", u]))
            .collect::<Vec<_>>()
    ])
}

/// `["map",[[k,v],...]]` of strings.
pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    json!([
        "map",
        pairs
            .into_iter()
            .map(|(k, v)| json!([k, v]))
            .collect::<Vec<_>>()
    ])
}
