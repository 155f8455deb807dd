//! Results of `transact` operations (RFC 7047 §5.2): one per operation, `null` for the
//! operations after a failed one, and possibly one more error for a failed commit.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::datum::{Atom, Datum};
use crate::error::OvsdbError;

#[derive(Debug, Clone, PartialEq)]
/// The result of one operation of a `transact`.
pub enum OpResult {
    /// `insert`: the new row's UUID.
    Inserted(String),
    /// `select`: the rows, with the requested columns.
    Rows(Vec<BTreeMap<String, Datum>>),
    /// `update`, `mutate`, `delete`: how many rows matched.
    Count(u64),
    /// `wait`, `commit`, `comment`, `assert`.
    Empty,
    /// The operation failed.
    Error(OvsdbError),
    /// Not run because an earlier operation failed (`null`).
    NotRun,
}

impl OpResult {
    /// Its JSON object.
    pub fn to_json(&self) -> Value {
        match self {
            OpResult::Inserted(u) => json!({"uuid": ["uuid", u]}),
            OpResult::Rows(rows) => {
                let rows: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        Value::Object(r.iter().map(|(c, d)| (c.clone(), d.to_json())).collect())
                    })
                    .collect();
                json!({ "rows": rows })
            }
            OpResult::Count(n) => json!({ "count": n }),
            OpResult::Empty => json!({}),
            OpResult::Error(e) => e.to_json(),
            OpResult::NotRun => Value::Null,
        }
    }

    /// Reads its JSON object.
    pub fn from_json(v: &Value) -> Option<OpResult> {
        let o: &Map<String, Value> = match v {
            Value::Null => return Some(OpResult::NotRun),
            Value::Object(o) => o,
            _ => return None,
        };
        if o.contains_key("error") {
            return OvsdbError::from_json(v).map(OpResult::Error);
        }
        if let Some(u) = o.get("uuid") {
            return match Atom::from_json(u)? {
                Atom::Uuid(u) => Some(OpResult::Inserted(u)),
                _ => None,
            };
        }
        if let Some(rows) = o.get("rows") {
            return rows
                .as_array()?
                .iter()
                .map(|r| {
                    r.as_object()?
                        .iter()
                        .map(|(c, d)| Some((c.clone(), Datum::from_json(d)?)))
                        .collect::<Option<BTreeMap<_, _>>>()
                })
                .collect::<Option<Vec<_>>>()
                .map(OpResult::Rows);
        }
        if let Some(n) = o.get("count") {
            return n.as_u64().map(OpResult::Count);
        }
        o.is_empty().then_some(OpResult::Empty)
    }

    /// The error, if it failed.
    pub fn error(&self) -> Option<&OvsdbError> {
        match self {
            OpResult::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The UUID `insert` gave.
    pub fn uuid(&self) -> Option<&str> {
        match self {
            OpResult::Inserted(u) => Some(u),
            _ => None,
        }
    }

    /// The rows `select` read (none for other operations).
    pub fn rows(&self) -> &[BTreeMap<String, Datum>] {
        match self {
            OpResult::Rows(r) => r,
            _ => &[],
        }
    }

    /// How many rows matched.
    pub fn count(&self) -> Option<u64> {
        match self {
            OpResult::Count(n) => Some(*n),
            _ => None,
        }
    }
}
