//! The operations themselves, each reading its members through the table's column types.

use std::time::Instant;

use ovsdb::schema::TableSchema;
use ovsdb::{Datum, OpResult, Operation, OvsdbError, Row as OpRow, Until};
use serde_json::{json, Value};

use super::{mutate, Blocked, Stop, Txn};
use crate::cond::{self, Clause};
use crate::db::{self, default_row, new_uuid, Row};

fn table_schema<'s>(txn: &Txn<'s>, table: &str) -> &'s TableSchema {
    &txn.schema.tables[table]
}

/// Reads a row's values (`_uuid` and `_version` are accepted and ignored, as
/// ovsdb-server does on insert).
fn parse_row(txn: &mut Txn, table: &str, row: &OpRow<Value>) -> Result<Row, OvsdbError> {
    let ts = table_schema(txn, table);
    let mut out = Row::new();
    for (c, v) in row {
        let col = ts.column(c).ok_or_else(|| {
            OvsdbError::new("unknown column", format!("No column {c} in table {table}."))
                .with_syntax(&row_json(row))
        })?;
        let d = col.column_type.parse_datum(v)?;
        if !c.starts_with('_') {
            out.insert(c.clone(), txn.resolve(d));
        }
    }
    Ok(out)
}

fn clauses(
    txn: &mut Txn,
    table: &str,
    conds: &[ovsdb::Condition<Value>],
) -> Result<Vec<Clause>, OvsdbError> {
    let ts = table_schema(txn, table);
    cond::parse(ts, table, conds, &mut |d| txn.resolve(d))
}

fn row_json(row: &OpRow<Value>) -> Value {
    Value::Object(row.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Checks a `columns` list; `None` means every column, `_uuid` and `_version` included.
fn columns(ts: &TableSchema, cols: Option<Vec<String>>) -> Result<Vec<String>, OvsdbError> {
    match cols {
        None => {
            let mut all = vec!["_uuid".to_string(), "_version".to_string()];
            all.extend(ts.columns.keys().cloned());
            Ok(all)
        }
        Some(cols) => {
            if let Some(bad) = cols.iter().find(|c| ts.column(c).is_none()) {
                return Err(OvsdbError::syntax(
                    &json!(cols),
                    format!("{bad} is not a valid column name"),
                ));
            }
            let distinct: std::collections::BTreeSet<&String> = cols.iter().collect();
            if distinct.len() != cols.len() {
                return Err(OvsdbError::syntax(
                    &json!(cols),
                    "array of distinct column names expected",
                ));
            }
            Ok(cols)
        }
    }
}

pub(super) fn execute(txn: &mut Txn, op: Operation<Value>, json: &Value) -> Result<OpResult, Stop> {
    if let Some(db) = &txn.ctx.read_only {
        let kind = match op {
            Operation::Insert { .. } => "insert",
            Operation::Update { .. } => "update",
            Operation::Mutate { .. } => "mutate",
            Operation::Delete { .. } => "delete",
            _ => "",
        };
        if !kind.is_empty() {
            let e = OvsdbError::new(
                "not allowed",
                format!("{kind} operation not allowed on table in reserved database {db}"),
            );
            return Err(e.into());
        }
    }
    match op {
        Operation::Insert {
            table,
            row,
            uuid_name,
            uuid,
        } => {
            let uuid = match (uuid, uuid_name) {
                (Some(u), _) if txn.old.get(&table).is_some_and(|t| t.contains_key(&u))
                    || txn.tables.get(&table).is_some_and(|t| t.contains_key(&u)) =>
                {
                    return Err(OvsdbError::syntax(
                        &json!(u),
                        "This UUID would duplicate a UUID already present within the table or deleted within the same transaction.",
                    )
                    .into())
                }
                (u, Some(name)) => {
                    if txn.symbols.get(&name).is_some_and(|s| s.created) {
                        let e = OvsdbError::new(
                            "duplicate uuid-name",
                            "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
                        );
                        return Err(e.with_syntax(&json!(name)).into());
                    }
                    let uuid = u.unwrap_or_else(|| txn.symbol(&name));
                    txn.symbols.insert(name, super::Symbol { uuid: uuid.clone(), created: true });
                    uuid
                }
                (Some(u), None) => u,
                (None, None) => new_uuid(),
            };
            let values = parse_row(txn, &table, &row)?;
            let mut new = default_row(txn.schema, &table);
            new.extend(values);
            txn.tables
                .entry(table)
                .or_default()
                .insert(uuid.clone(), new);
            Ok(OpResult::Inserted(uuid))
        }
        Operation::Select {
            table,
            conditions,
            columns: cols,
        } => {
            let clauses = clauses(txn, &table, &conditions)?;
            let cols = columns(table_schema(txn, &table), cols)?;
            let t = txn.tables.get(&table);
            let rows = cond::select(&clauses, t)
                .iter()
                .map(|u| {
                    let row = &t.expect("selected")[u];
                    cols.iter()
                        .map(|c| (c.clone(), db::get(u, row, c)))
                        .collect()
                })
                .collect();
            Ok(OpResult::Rows(rows))
        }
        Operation::Update {
            table,
            conditions,
            row,
        } => {
            let values = parse_row(txn, &table, &row)?;
            let ts = table_schema(txn, &table);
            if let Some(c) = row
                .keys()
                .find(|c| ts.column(c).is_some_and(|s| !s.mutable))
            {
                let e = OvsdbError::new(
                    "constraint violation",
                    format!("Cannot update immutable column {c} in table {table}."),
                );
                return Err(e.with_syntax(json).into());
            }
            let clauses = clauses(txn, &table, &conditions)?;
            let t = txn.tables.entry(table).or_default();
            let hits = cond::select(&clauses, Some(t));
            for u in &hits {
                t.get_mut(u).expect("selected").extend(values.clone());
            }
            Ok(OpResult::Count(hits.len() as u64))
        }
        Operation::Mutate {
            table,
            conditions,
            mutations,
        } => {
            let muts = mutate::parse(txn, &table, &mutations)?;
            let clauses = clauses(txn, &table, &conditions)?;
            let t = txn.tables.entry(table).or_default();
            let hits = cond::select(&clauses, Some(t));
            for u in &hits {
                mutate::apply(&muts, t.get_mut(u).expect("selected"))?;
            }
            Ok(OpResult::Count(hits.len() as u64))
        }
        Operation::Delete { table, conditions } => {
            let clauses = clauses(txn, &table, &conditions)?;
            let t = txn.tables.entry(table).or_default();
            let hits = cond::select(&clauses, Some(t));
            for u in &hits {
                t.remove(u);
            }
            Ok(OpResult::Count(hits.len() as u64))
        }
        Operation::Wait {
            table,
            conditions,
            columns: cols,
            until,
            rows,
            timeout,
        } => {
            let clauses = clauses(txn, &table, &conditions)?;
            let cols = columns(table_schema(txn, &table), cols)?;
            let mut want = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut expected = default_row(txn.schema, &table);
                expected.extend(parse_row(txn, &table, r)?);
                want.push(project(&cols, "", &expected));
            }
            let t = txn.tables.get(&table);
            let mut have: Vec<String> = cond::select(&clauses, t)
                .iter()
                .map(|u| project(&cols, u, &t.expect("selected")[u]))
                .collect();
            have.sort();
            want.sort();
            if (have == want) == (until == Until::Equal) {
                return Ok(OpResult::Empty);
            }
            wait_failed(txn, timeout)
        }
        Operation::Commit { .. } => Ok(OpResult::Empty),
        Operation::Abort => Err(OvsdbError::new("aborted", "aborted by request").into()),
        Operation::Comment { comment } => {
            txn.comments.push(comment);
            Ok(OpResult::Empty)
        }
        Operation::Assert { lock } => {
            if txn.ctx.locks.contains(&lock) {
                Ok(OpResult::Empty)
            } else {
                Err(OvsdbError::new("not owner", format!("Asserted lock {lock} not held.")).into())
            }
        }
    }
}

/// A row's `cols` as comparable text.
fn project(cols: &[String], uuid: &str, row: &Row) -> String {
    let v: Vec<Value> = cols
        .iter()
        .map(|c| match c.as_str() {
            // The expected rows have no identity of their own.
            "_uuid" | "_version" if uuid.is_empty() => Datum::empty_set().to_json(),
            _ => db::get(uuid, row, c).to_json(),
        })
        .collect();
    Value::Array(v).to_string()
}

fn wait_failed(txn: &Txn, timeout: Option<u64>) -> Result<OpResult, Stop> {
    let failed = || OvsdbError::new("timed out", "\"where\" clause test failed");
    let Some(start) = txn.ctx.first_try else {
        return Err(failed().into());
    };
    match timeout {
        Some(0) => Err(failed().into()),
        None => Err(Stop::Blocked(Blocked { deadline: None })),
        Some(ms) => {
            let deadline = start + std::time::Duration::from_millis(ms);
            let now = Instant::now();
            if now >= deadline {
                let waited = now.duration_since(start).as_millis();
                Err(
                    OvsdbError::new("timed out", format!("\"wait\" timed out after {waited} ms"))
                        .into(),
                )
            } else {
                Err(Stop::Blocked(Blocked {
                    deadline: Some(deadline),
                }))
            }
        }
    }
}
