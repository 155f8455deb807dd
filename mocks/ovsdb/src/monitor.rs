//! Monitors: the monitored tables' current rows, then one update per commit that touches
//! them — `update` rows (`old`/`new`) for `monitor`, `update2` rows
//! (`initial`/`insert`/`modify`/`delete`) for `monitor_cond` and `update3` for
//! `monitor_cond_since`. `monitor_cond` requests may carry `where` clauses (rows that
//! start or stop matching arrive as inserts and deletes) and `select` flags.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Condition, OvsdbError};
use serde_json::{json, Map, Value};

use crate::cond::{self, Clause};
use crate::db::{self, Row, Table, Tables};
use crate::schema::Schema;

/// The protocol a monitor was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `monitor`, `update` notifications.
    V1,
    /// `monitor_cond`, `update2`.
    V2,
    /// `monitor_cond_since`, `update3`.
    V3,
}

/// Which kinds of change a table's monitor reports.
#[derive(Debug, Clone, Copy)]
struct Select {
    initial: bool,
    insert: bool,
    delete: bool,
    modify: bool,
}

#[derive(Debug, Clone)]
struct TableMonitor {
    columns: Vec<String>,
    /// `None`: every row.
    rows: Option<Vec<Clause>>,
    select: Select,
}

#[derive(Debug, Clone)]
pub struct Monitor {
    pub id: Value,
    pub db: String,
    pub version: Version,
    tables: BTreeMap<String, TableMonitor>,
}

fn syntax(json: &Value, details: impl Into<String>) -> OvsdbError {
    OvsdbError::syntax(json, details)
}

/// Reads the `where` of a monitor request (`None`: every row).
fn parse_where(schema: &Schema, table: &str, w: &Value) -> Result<Option<Vec<Clause>>, OvsdbError> {
    let items = w
        .as_array()
        .ok_or_else(|| syntax(w, "\"where\" must be an array"))?;
    let conds = items
        .iter()
        .map(Condition::<Value>::from_json)
        .collect::<Result<Vec<_>, _>>()?;
    let clauses = cond::parse(&schema.tables[table], table, &conds, &mut |d| d)?;
    Ok((!clauses.is_empty()).then_some(clauses))
}

impl Monitor {
    /// Reads `{table: request | [request, ...]}`; a request has optional `columns`,
    /// `where` (not for [`Version::V1`]) and `select`.
    pub fn parse(
        id: Value,
        db: &str,
        requests: &Value,
        version: Version,
        schema: &Schema,
    ) -> Result<Monitor, OvsdbError> {
        let reqs = requests
            .as_object()
            .ok_or_else(|| syntax(requests, "monitor-requests must be an object"))?;
        let mut tables = BTreeMap::new();
        for (t, req) in reqs {
            let ts = schema
                .tables
                .get(t)
                .ok_or_else(|| OvsdbError::new("syntax error", format!("no table named {t}")))?;
            let list: Vec<&Value> = match req {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut tm = TableMonitor {
                columns: Vec::new(),
                rows: None,
                select: Select {
                    initial: false,
                    insert: false,
                    delete: false,
                    modify: false,
                },
            };
            for r in list {
                let allowed: &[&str] = if version == Version::V1 {
                    &["columns", "select"]
                } else {
                    &["columns", "where", "select"]
                };
                let obj = r.as_object().ok_or_else(|| {
                    syntax(r, format!("Parsing table {t} failed: Object expected."))
                })?;
                if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
                    return Err(syntax(r, format!("Parsing table {t} failed: Member '{k}' is present but not allowed here.")));
                }
                let cols: Vec<String> = match r.get("columns") {
                    None => ts
                        .columns
                        .keys()
                        .cloned()
                        .chain(["_version".to_string()])
                        .collect(),
                    Some(Value::Array(cols)) => cols
                        .iter()
                        .map(|c| {
                            c.as_str()
                                .filter(|n| ts.column(n).is_some())
                                .map(str::to_string)
                                .ok_or_else(|| {
                                    syntax(
                                        &Value::Array(cols.clone()),
                                        format!(
                                            "{} is not a valid column name",
                                            c.as_str().unwrap_or("?")
                                        ),
                                    )
                                })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(other) => return Err(syntax(other, "array of column names expected")),
                };
                for c in cols {
                    if tm.columns.contains(&c) {
                        let json = r.get("columns").cloned().unwrap_or(Value::Null);
                        return Err(syntax(
                            &json,
                            format!("column {c} mentioned more than once"),
                        ));
                    }
                    tm.columns.push(c);
                }
                if let Some(w) = r.get("where") {
                    tm.rows = parse_where(schema, t, w)?;
                }
                let flag = |k: &str| {
                    r.get("select")
                        .and_then(|s| s.get(k))
                        .and_then(Value::as_bool)
                        .unwrap_or(true)
                };
                tm.select.initial |= flag("initial");
                tm.select.insert |= flag("insert");
                tm.select.delete |= flag("delete");
                tm.select.modify |= flag("modify");
            }
            tables.insert(t.clone(), tm);
        }
        Ok(Monitor {
            id,
            db: db.to_string(),
            version,
            tables,
        })
    }

    /// Replaces the `where` of the tables named in `requests` (`monitor_cond_change`).
    pub fn change(&mut self, requests: &Value, schema: &Schema) -> Result<(), OvsdbError> {
        let reqs = requests
            .as_object()
            .ok_or_else(|| syntax(requests, "monitor-requests must be an object"))?;
        for (t, req) in reqs {
            let tm = self
                .tables
                .get_mut(t)
                .ok_or_else(|| OvsdbError::new("syntax error", format!("no table named {t}")))?;
            let list: Vec<&Value> = match req {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for r in list {
                if let Some(w) = r.get("where") {
                    tm.rows = parse_where(schema, t, w)?;
                }
            }
        }
        Ok(())
    }

    fn visible(tm: &TableMonitor, uuid: &str, row: &Row) -> bool {
        tm.rows.as_ref().is_none_or(|c| cond::matches(c, uuid, row))
    }

    /// The monitored columns of a row; `skip_defaults` leaves out columns at their default
    /// (update2's `initial` and `insert`).
    fn project(
        &self,
        schema: &Schema,
        table: &str,
        tm: &TableMonitor,
        uuid: &str,
        row: &Row,
        skip_defaults: bool,
    ) -> Value {
        let ts = &schema.tables[table];
        let mut out = Map::new();
        for c in &tm.columns {
            let d = db::get(uuid, row, c);
            let default = ts
                .columns
                .get(c)
                .is_some_and(|s| s.column_type.default_datum() == d);
            if !(skip_defaults && default) {
                out.insert(c.clone(), d.to_json());
            }
        }
        Value::Object(out)
    }

    fn row_insert(
        &self,
        schema: &Schema,
        t: &str,
        tm: &TableMonitor,
        u: &str,
        r: &Row,
        initial: bool,
    ) -> Value {
        match (self.version, initial) {
            (Version::V1, _) => json!({"new": self.project(schema, t, tm, u, r, false)}),
            (_, true) => json!({"initial": self.project(schema, t, tm, u, r, true)}),
            (_, false) => json!({"insert": self.project(schema, t, tm, u, r, true)}),
        }
    }

    /// The reply to the monitor request: every visible row (unless `select` says not).
    pub fn initial(&self, schema: &Schema, tables: &Tables) -> Value {
        let mut out = Map::new();
        for (t, tm) in self.tables.iter().filter(|(_, tm)| tm.select.initial) {
            let rows: Map<String, Value> = tables
                .get(t)
                .into_iter()
                .flatten()
                .filter(|(u, r)| Monitor::visible(tm, u, r))
                .map(|(u, r)| (u.clone(), self.row_insert(schema, t, tm, u, r, true)))
                .collect();
            if !rows.is_empty() {
                out.insert(t.clone(), Value::Object(rows));
            }
        }
        Value::Object(out)
    }

    /// What changed between `old` and `new` for this monitor; `None` when nothing it
    /// watches did.
    pub fn update(&self, schema: &Schema, old: &Tables, new: &Tables) -> Option<Value> {
        let empty = Table::new();
        let mut out = Map::new();
        for (t, tm) in &self.tables {
            let (o, n) = (old.get(t).unwrap_or(&empty), new.get(t).unwrap_or(&empty));
            let uuids: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            let mut rows = Map::new();
            for u in uuids {
                let before = o.get(u).filter(|r| Monitor::visible(tm, u, r));
                let after = n.get(u).filter(|r| Monitor::visible(tm, u, r));
                let v = match (before, after) {
                    (None, Some(r)) if tm.select.insert => {
                        self.row_insert(schema, t, tm, u, r, false)
                    }
                    (Some(r), None) if tm.select.delete => match self.version {
                        Version::V1 => json!({"old": self.project(schema, t, tm, u, r, false)}),
                        _ => json!({"delete": null}),
                    },
                    (Some(a), Some(b)) if tm.select.modify => {
                        let changed: Vec<&String> = tm
                            .columns
                            .iter()
                            .filter(|c| db::get(u, a, c) != db::get(u, b, c))
                            .collect();
                        if changed.is_empty() {
                            continue;
                        }
                        match self.version {
                            Version::V1 => {
                                let old_cols: Map<String, Value> = changed
                                    .iter()
                                    .map(|c| ((*c).clone(), db::get(u, a, c).to_json()))
                                    .collect();
                                json!({"old": old_cols, "new": self.project(schema, t, tm, u, b, false)})
                            }
                            _ => {
                                let diffs: Map<String, Value> = changed
                                    .iter()
                                    .map(|c| {
                                        (
                                            (*c).clone(),
                                            db::diff(
                                                &schema.tables[t],
                                                c,
                                                &db::get(u, a, c),
                                                &db::get(u, b, c),
                                            ),
                                        )
                                    })
                                    .collect();
                                json!({"modify": diffs})
                            }
                        }
                    }
                    _ => continue,
                };
                rows.insert(u.clone(), v);
            }
            if !rows.is_empty() {
                out.insert(t.clone(), Value::Object(rows));
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// After `monitor_cond_change`: rows that stopped matching are deleted, rows that
    /// started matching inserted.
    pub fn refilter(&self, previous: &Monitor, schema: &Schema, tables: &Tables) -> Option<Value> {
        let mut out = Map::new();
        for (t, tm) in &self.tables {
            let Some(old_tm) = previous.tables.get(t) else {
                continue;
            };
            let mut rows = Map::new();
            for (u, r) in tables.get(t).into_iter().flatten() {
                match (Monitor::visible(old_tm, u, r), Monitor::visible(tm, u, r)) {
                    (false, true) => {
                        rows.insert(u.clone(), self.row_insert(schema, t, tm, u, r, false));
                    }
                    (true, false) => {
                        let v = match self.version {
                            Version::V1 => json!({"old": self.project(schema, t, tm, u, r, false)}),
                            _ => json!({"delete": null}),
                        };
                        rows.insert(u.clone(), v);
                    }
                    _ => {}
                }
            }
            if !rows.is_empty() {
                out.insert(t.clone(), Value::Object(rows));
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// The notification carrying `update`.
    pub fn notification(&self, update: Value) -> (&'static str, Value) {
        match self.version {
            Version::V1 => ("update", json!([self.id, update])),
            Version::V2 => ("update2", json!([self.id, update])),
            Version::V3 => (
                "update3",
                json!([self.id, crate::server_db::ZERO_TXN, update]),
            ),
        }
    }
}
