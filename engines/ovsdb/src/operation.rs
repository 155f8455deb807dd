//! `transact` operations (RFC 7047 §5.2): insert, select, update, mutate, delete, wait,
//! commit, abort, comment, assert — built by clients, read by servers with the errors
//! ovsdb-server gives for a malformed operation.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::clause::{ClauseValue, Condition, Mutation};
use crate::datum::{is_id, is_uuid, Datum};
use crate::error::OvsdbError;

/// Column name to value.
pub type Row<V = Datum> = BTreeMap<String, V>;

/// `wait`'s comparison of the selected rows with the expected ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Until the rows are equal.
    Equal,
    /// Until they differ.
    NotEqual,
}

#[derive(Debug, Clone, PartialEq)]
/// One operation of a `transact` (RFC 7047 5.2).
pub enum Operation<V = Datum> {
    /// Adds a row.
    Insert {
        /// The table.
        table: String,
        /// Its columns.
        row: Row<V>,
        /// Lets later operations (and earlier ones) refer to the new row.
        uuid_name: Option<String>,
        /// The UUID the row must get (an OVS extension).
        uuid: Option<String>,
    },
    /// Reads rows.
    Select {
        /// The table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition<V>>,
        /// `None`: every column.
        columns: Option<Vec<String>>,
    },
    /// Changes rows.
    Update {
        /// The table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition<V>>,
        /// The new values.
        row: Row<V>,
    },
    /// Changes columns of rows in place.
    Mutate {
        /// The table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition<V>>,
        /// The changes.
        mutations: Vec<Mutation<V>>,
    },
    /// Removes rows.
    Delete {
        /// The table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition<V>>,
    },
    /// Waits until rows are (or are not) as given.
    Wait {
        /// The table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition<V>>,
        /// The columns compared (all when `None`).
        columns: Option<Vec<String>>,
        /// Equal or not equal.
        until: Until,
        /// The rows expected.
        rows: Vec<Row<V>>,
        /// Milliseconds to wait for the condition; `None`: forever.
        timeout: Option<u64>,
    },
    /// Commits (durably when asked).
    Commit {
        /// Whether to wait for the disk.
        durable: bool,
    },
    /// Aborts the transaction.
    Abort,
    /// Adds a comment to the log.
    Comment {
        /// The comment.
        comment: String,
    },
    /// Fails unless this connection holds the named lock.
    Assert {
        /// The lock's name.
        lock: String,
    },
}

/// Why an operation could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum OpParseError {
    /// The operation object itself is malformed (a member missing, of the wrong type, or
    /// not allowed; no such op or table).
    Structure(String),
    /// A condition, mutation or other member's content is wrong.
    Content(OvsdbError),
}

impl OpParseError {
    /// The error ovsdb-server reports for operation `index` (from 0) of `count`.
    pub fn into_ovsdb_error(self, op: &Value, index: usize, count: usize) -> OvsdbError {
        match self {
            OpParseError::Content(e) => e,
            OpParseError::Structure(d) => {
                let e = OvsdbError::new(
                    "syntax error",
                    format!(
                        "Parsing ovsdb operation {} of {count} failed: {d}",
                        index + 1
                    ),
                );
                if op.is_object() {
                    e.with_syntax(op)
                } else {
                    e
                }
            }
        }
    }
}

/// Reads an operation's members in order, remembering which were used.
struct Members<'a> {
    obj: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

type Parsed<T> = Result<T, OpParseError>;

fn structure<T>(d: String) -> Parsed<T> {
    Err(OpParseError::Structure(d))
}

impl<'a> Members<'a> {
    fn get(&mut self, name: &'static str, required: bool) -> Parsed<Option<&'a Value>> {
        self.used.push(name);
        match self.obj.get(name) {
            None if required => structure(format!("Required '{name}' member is missing.")),
            v => Ok(v),
        }
    }

    fn typed<T>(
        &mut self,
        name: &'static str,
        required: bool,
        f: impl Fn(&'a Value) -> Option<T>,
    ) -> Parsed<Option<T>> {
        match self.get(name, required)? {
            None => Ok(None),
            Some(v) => match f(v) {
                Some(t) => Ok(Some(t)),
                None => structure(format!("Type mismatch for member '{name}'.")),
            },
        }
    }

    fn string(&mut self, name: &'static str) -> Parsed<String> {
        Ok(self
            .typed(name, true, |v| v.as_str().map(str::to_string))?
            .unwrap_or_default())
    }

    fn array(&mut self, name: &'static str, required: bool) -> Parsed<Option<&'a Vec<Value>>> {
        self.typed(name, required, Value::as_array)
    }

    fn object(&mut self, name: &'static str) -> Parsed<&'a Map<String, Value>> {
        Ok(self.typed(name, true, Value::as_object)?.expect("required"))
    }

    fn columns(&mut self) -> Parsed<Option<Vec<String>>> {
        self.typed("columns", false, |v| {
            v.as_array()?
                .iter()
                .map(|c| c.as_str().map(str::to_string))
                .collect()
        })
    }

    fn finish(self) -> Parsed<()> {
        match self.obj.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(k) => structure(format!("Member '{k}' is present but not allowed here.")),
            None => Ok(()),
        }
    }
}

fn row<V: ClauseValue>(o: &Map<String, Value>) -> Parsed<Row<V>> {
    o.iter()
        .map(|(k, v)| Ok((k.clone(), V::from_json(v).map_err(OpParseError::Content)?)))
        .collect()
}

fn conditions<V: ClauseValue>(a: &[Value]) -> Parsed<Vec<Condition<V>>> {
    a.iter()
        .map(|c| Condition::from_json(c).map_err(OpParseError::Content))
        .collect()
}

impl<V: ClauseValue> Operation<V> {
    /// Reads an operation; `table_exists` says which table names the database has.
    pub fn parse(v: &Value, table_exists: &dyn Fn(&str) -> bool) -> Parsed<Operation<V>> {
        let Some(obj) = v.as_object() else {
            return structure("Object expected.".into());
        };
        let mut m = Members {
            obj,
            used: Vec::new(),
        };
        let op = m.string("op")?;
        let mut table = || -> Parsed<String> {
            let t = m.string("table")?;
            if table_exists(&t) {
                Ok(t)
            } else {
                structure(format!("No table named {t}."))
            }
        };
        let parsed = match op.as_str() {
            "insert" => {
                let table = table()?;
                let uuid_name = m.typed("uuid-name", false, |v| v.as_str().filter(|s| is_id(s)))?;
                let uuid = m.typed("uuid", false, |v| v.as_str().filter(|s| is_uuid(s)))?;
                let row = row(m.object("row")?)?;
                Operation::Insert {
                    table,
                    row,
                    uuid_name: uuid_name.map(str::to_string),
                    uuid: uuid.map(str::to_ascii_lowercase),
                }
            }
            "select" => {
                let table = table()?;
                let w = m.array("where", true)?.expect("required");
                let columns = m.columns()?;
                Operation::Select {
                    table,
                    conditions: conditions(w)?,
                    columns,
                }
            }
            "update" => {
                let table = table()?;
                let w = m.array("where", true)?.expect("required");
                let r = m.object("row")?;
                Operation::Update {
                    table,
                    conditions: conditions(w)?,
                    row: row(r)?,
                }
            }
            "mutate" => {
                let table = table()?;
                let w = m.array("where", true)?.expect("required");
                let ms = m.array("mutations", true)?.expect("required");
                let mutations = ms
                    .iter()
                    .map(|x| Mutation::from_json(x).map_err(OpParseError::Content))
                    .collect::<Parsed<_>>()?;
                Operation::Mutate {
                    table,
                    conditions: conditions(w)?,
                    mutations,
                }
            }
            "delete" => {
                let table = table()?;
                let w = m.array("where", true)?.expect("required");
                Operation::Delete {
                    table,
                    conditions: conditions(w)?,
                }
            }
            "wait" => {
                let table = table()?;
                let timeout = m.typed("timeout", false, |v| v.as_i64())?;
                let w = m.array("where", true)?.expect("required");
                let columns = m.columns()?;
                let until_json = m
                    .typed("until", true, |v| v.as_str().map(|_| v))?
                    .expect("required");
                let rows = m.array("rows", true)?.expect("required");
                let until = match until_json.as_str() {
                    Some("==") => Until::Equal,
                    Some("!=") => Until::NotEqual,
                    _ => {
                        return Err(OpParseError::Content(OvsdbError::syntax(
                            until_json,
                            "\"until\" must be \"==\" or \"!=\"",
                        )))
                    }
                };
                let timeout = match timeout {
                    Some(t) if t < 0 => {
                        return Err(OpParseError::Content(OvsdbError::syntax(
                            &json!(t),
                            "timeout must be nonnegative",
                        )))
                    }
                    t => t.map(|t| t as u64),
                };
                let rows = rows
                    .iter()
                    .map(|r| match r.as_object() {
                        Some(o) => row(o),
                        None => Err(OpParseError::Content(OvsdbError::syntax(
                            r,
                            "Object expected.",
                        ))),
                    })
                    .collect::<Parsed<_>>()?;
                Operation::Wait {
                    table,
                    conditions: conditions(w)?,
                    columns,
                    until,
                    rows,
                    timeout,
                }
            }
            "commit" => Operation::Commit {
                durable: m.typed("durable", true, Value::as_bool)?.expect("required"),
            },
            "abort" => Operation::Abort,
            "comment" => Operation::Comment {
                comment: m.string("comment")?,
            },
            "assert" => Operation::Assert {
                lock: m.string("lock")?,
            },
            other => return structure(format!("No operation \"{other}\"")),
        };
        m.finish()?;
        Ok(parsed)
    }

    /// Reads an operation naming any table.
    pub fn from_json(v: &Value) -> Parsed<Operation<V>> {
        Operation::parse(v, &|_| true)
    }

    /// Its JSON object.
    pub fn to_json(&self) -> Value {
        let row_json = |r: &Row<V>| -> Value {
            Value::Object(r.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
        };
        let conds = |c: &[Condition<V>]| -> Value { c.iter().map(Condition::to_json).collect() };
        match self {
            Operation::Insert {
                table,
                row,
                uuid_name,
                uuid,
            } => {
                let mut o = json!({"op": "insert", "table": table, "row": row_json(row)});
                if let Some(n) = uuid_name {
                    o["uuid-name"] = json!(n);
                }
                if let Some(u) = uuid {
                    o["uuid"] = json!(u);
                }
                o
            }
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                let mut o = json!({"op": "select", "table": table, "where": conds(conditions)});
                if let Some(c) = columns {
                    o["columns"] = json!(c);
                }
                o
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => json!({"op": "update",
                "table": table, "where": conds(conditions), "row": row_json(row)}),
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => json!({"op": "mutate",
                "table": table, "where": conds(conditions),
                "mutations": mutations.iter().map(Mutation::to_json).collect::<Vec<_>>()}),
            Operation::Delete { table, conditions } => {
                json!({"op": "delete", "table": table, "where": conds(conditions)})
            }
            Operation::Wait {
                table,
                conditions,
                columns,
                until,
                rows,
                timeout,
            } => {
                let until = if *until == Until::Equal { "==" } else { "!=" };
                let mut o = json!({"op": "wait", "table": table, "where": conds(conditions),
                    "until": until, "rows": rows.iter().map(row_json).collect::<Vec<_>>()});
                if let Some(c) = columns {
                    o["columns"] = json!(c);
                }
                if let Some(t) = timeout {
                    o["timeout"] = json!(t);
                }
                o
            }
            Operation::Commit { durable } => json!({"op": "commit", "durable": durable}),
            Operation::Abort => json!({"op": "abort"}),
            Operation::Comment { comment } => json!({"op": "comment", "comment": comment}),
            Operation::Assert { lock } => json!({"op": "assert", "lock": lock}),
        }
    }

    /// The table the operation works on, if any.
    pub fn table(&self) -> Option<&str> {
        match self {
            Operation::Insert { table, .. }
            | Operation::Select { table, .. }
            | Operation::Update { table, .. }
            | Operation::Mutate { table, .. }
            | Operation::Delete { table, .. }
            | Operation::Wait { table, .. } => Some(table),
            _ => None,
        }
    }
}
