//! `transact`: the operations of RFC 7047 §5.2 run on a working copy of the tables, then
//! committed only if the whole transaction is valid — referential integrity, garbage
//! collection of unreferenced non-root rows, set sizes and unique indexes, as
//! ovsdb-server checks them.

use std::collections::{BTreeSet, HashMap};

use ovsdb::{Atom, Datum};
use serde_json::{json, Value};

use crate::db::{
    check_size, datum_for, default_row, new_uuid, normalize, op_error, row_json, OpError, Row,
    Tables,
};
use crate::schema::{ColumnType, Schema};

/// The outcome: one result per op (plus a commit error, if any), and the new tables when
/// the transaction committed.
pub struct Outcome {
    pub results: Vec<Value>,
    pub committed: Option<Tables>,
}

fn err_json(e: &OpError) -> Value {
    json!({"error": e.error, "details": e.details})
}

/// Replaces `["named-uuid", n]` by the uuid the transaction's inserts give `n`.
fn resolve(v: &mut Value, named: &HashMap<String, String>) {
    match v {
        Value::Array(a) => {
            if a.len() == 2 && a[0] == "named-uuid" {
                if let Some(u) = a[1].as_str().and_then(|n| named.get(n)) {
                    *v = json!(["uuid", u]);
                    return;
                }
            }
            a.iter_mut().for_each(|x| resolve(x, named));
        }
        Value::Object(o) => o.values_mut().for_each(|x| resolve(x, named)),
        _ => {}
    }
}

pub fn transact(schema: &Schema, current: &Tables, ops: &[Value]) -> Outcome {
    let mut named = HashMap::new();
    for op in ops {
        if op["op"] == "insert" {
            if let Some(n) = op["uuid-name"].as_str() {
                let u = op["uuid"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(new_uuid);
                named.insert(n.to_string(), u);
            }
        }
    }
    let mut tables = current.clone();
    let mut results = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let mut op = op.clone();
        resolve(&mut op, &named);
        match run_op(schema, &mut tables, &op, &named) {
            Ok(r) => results.push(r),
            Err(e) => {
                results.push(err_json(&e));
                results.extend(std::iter::repeat_n(Value::Null, ops.len() - i - 1));
                return Outcome {
                    results,
                    committed: None,
                };
            }
        }
    }
    match commit_checks(schema, &mut tables) {
        Ok(()) => Outcome {
            results,
            committed: Some(tables),
        },
        Err(e) => {
            results.push(err_json(&e));
            Outcome {
                results,
                committed: None,
            }
        }
    }
}

fn table<'s>(
    schema: &'s Schema,
    op: &Value,
) -> Result<(&'s str, &'s crate::schema::TableSchema), OpError> {
    let name = op["table"].as_str().unwrap_or_default();
    schema
        .tables
        .get_key_value(name)
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| op_error("syntax error", format!("No table named {name}.")))
}

fn column<'s>(
    t: &'s crate::schema::TableSchema,
    table: &str,
    c: &str,
) -> Result<&'s ColumnType, OpError> {
    t.columns
        .get(c)
        .ok_or_else(|| op_error("unknown column", format!("No column {c} in table {table}.")))
}

fn run_op(
    schema: &Schema,
    tables: &mut Tables,
    op: &Value,
    named: &HashMap<String, String>,
) -> Result<Value, OpError> {
    match op["op"].as_str().unwrap_or_default() {
        "comment" | "commit" | "assert" => Ok(json!({})),
        "abort" => Err(op_error("aborted", "aborted by request")),
        "insert" => {
            let (name, t) = table(schema, op)?;
            let mut row = default_row(schema, name);
            for (c, v) in op["row"].as_object().into_iter().flatten() {
                row.insert(c.clone(), datum_for(column(t, name, c)?, v, c)?);
            }
            let uuid = match op["uuid-name"].as_str() {
                Some(n) => named[n].clone(),
                None => op["uuid"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(new_uuid),
            };
            tables
                .entry(name.to_string())
                .or_default()
                .insert(uuid.clone(), row);
            Ok(json!({"uuid": ["uuid", uuid]}))
        }
        "select" => {
            let (name, t) = table(schema, op)?;
            let rows = matching(t, name, tables, &op["where"])?;
            let columns: Option<Vec<String>> = op["columns"].as_array().map(|c| {
                c.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            });
            let out: Vec<Value> = rows
                .iter()
                .map(|u| row_json(u, &tables[name][u], columns.as_deref()))
                .collect();
            Ok(json!({"rows": out}))
        }
        "update" => {
            let (name, t) = table(schema, op)?;
            let mut changes = Vec::new();
            for (c, v) in op["row"].as_object().into_iter().flatten() {
                changes.push((c.clone(), datum_for(column(t, name, c)?, v, c)?));
            }
            let rows = matching(t, name, tables, &op["where"])?;
            for u in &rows {
                let row = tables
                    .get_mut(name)
                    .and_then(|r| r.get_mut(u))
                    .expect("matched");
                for (c, d) in &changes {
                    row.insert(c.clone(), d.clone());
                }
            }
            Ok(json!({"count": rows.len()}))
        }
        "mutate" => {
            let (name, t) = table(schema, op)?;
            let rows = matching(t, name, tables, &op["where"])?;
            for m in op["mutations"].as_array().into_iter().flatten() {
                let (c, mutator, v) = (
                    m[0].as_str().unwrap_or_default(),
                    m[1].as_str().unwrap_or_default(),
                    &m[2],
                );
                let ct = column(t, name, c)?;
                for u in &rows {
                    let row = tables
                        .get_mut(name)
                        .and_then(|r| r.get_mut(u))
                        .expect("matched");
                    let new = mutate(
                        ct,
                        row.get(c).cloned().unwrap_or(Datum::Set(vec![])),
                        mutator,
                        v,
                        c,
                    )?;
                    row.insert(c.to_string(), new);
                }
            }
            Ok(json!({"count": rows.len()}))
        }
        "delete" => {
            let (name, t) = table(schema, op)?;
            let rows = matching(t, name, tables, &op["where"])?;
            for u in &rows {
                tables.get_mut(name).map(|r| r.remove(u));
            }
            Ok(json!({"count": rows.len()}))
        }
        "wait" => {
            let (name, t) = table(schema, op)?;
            let rows = matching(t, name, tables, &op["where"])?;
            let columns: Vec<String> = op["columns"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let mut have: Vec<String> = rows
                .iter()
                .map(|u| row_json(u, &tables[name][u], Some(&columns)).to_string())
                .collect();
            let mut want = Vec::new();
            for r in op["rows"].as_array().into_iter().flatten() {
                let mut row = Row::new();
                for (c, v) in r.as_object().into_iter().flatten() {
                    row.insert(c.clone(), datum_for(column(t, name, c)?, v, c)?);
                }
                want.push(row_json("", &row, Some(&columns)).to_string());
            }
            have.sort();
            want.sort();
            let equal = have == want;
            let until_eq = op["until"].as_str() != Some("!=");
            if equal == until_eq {
                Ok(json!({}))
            } else {
                Err(op_error("timed out", "\"where\" clause test failed"))
            }
        }
        other => Err(op_error(
            "syntax error",
            format!("unknown operation {other:?}"),
        )),
    }
}

/// The uuids of `table`'s rows matching every condition of `conds`.
fn matching(
    t: &crate::schema::TableSchema,
    name: &str,
    tables: &Tables,
    conds: &Value,
) -> Result<Vec<String>, OpError> {
    let empty = Default::default();
    let rows = tables.get(name).unwrap_or(&empty);
    let conds = conds.as_array().cloned().unwrap_or_default();
    let mut parsed = Vec::new();
    for c in &conds {
        let col = c[0].as_str().unwrap_or_default().to_string();
        let func = c[1].as_str().unwrap_or_default().to_string();
        let value = if col == "_uuid" {
            Datum::from_json(&c[2])
                .ok_or_else(|| op_error("syntax error", format!("bad uuid {}", c[2])))?
        } else {
            let ct = column(t, name, &col)?;
            let relaxed = ColumnType {
                min: 0,
                max: None,
                ..ct.clone()
            };
            datum_for(&relaxed, &c[2], &col)?
        };
        parsed.push((col, func, normalize(value)));
    }
    let mut out = Vec::new();
    for (u, row) in rows {
        let ok = parsed.iter().all(|(col, func, v)| {
            let have = if col == "_uuid" {
                Datum::atom(Atom::Uuid(u.clone()))
            } else {
                row.get(col).cloned().unwrap_or(Datum::Set(vec![]))
            };
            compare(&have, func, v)
        });
        if ok {
            out.push(u.clone());
        }
    }
    Ok(out)
}

fn elements(d: &Datum) -> Vec<String> {
    match d {
        Datum::Set(s) => s.iter().map(|a| a.to_json().to_string()).collect(),
        Datum::Map(m) => m
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_json(), v.to_json()))
            .collect(),
    }
}

fn compare(have: &Datum, func: &str, v: &Datum) -> bool {
    match func {
        "==" => have == v,
        "!=" => have != v,
        "includes" => {
            let h: BTreeSet<String> = elements(have).into_iter().collect();
            elements(v).iter().all(|e| h.contains(e))
        }
        "excludes" => {
            let h: BTreeSet<String> = elements(have).into_iter().collect();
            elements(v).iter().all(|e| !h.contains(e))
        }
        "<" | "<=" | ">" | ">=" => match (
            have.scalar().and_then(Atom::as_integer),
            v.scalar().and_then(Atom::as_integer),
        ) {
            (Some(a), Some(b)) => match func {
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                _ => a >= b,
            },
            _ => false,
        },
        _ => false,
    }
}

fn mutate(
    ct: &ColumnType,
    old: Datum,
    mutator: &str,
    v: &Value,
    column: &str,
) -> Result<Datum, OpError> {
    let arith = |a: i64, b: i64| -> Option<i64> {
        match mutator {
            "+=" => a.checked_add(b),
            "-=" => a.checked_sub(b),
            "*=" => a.checked_mul(b),
            "/=" => a.checked_div(b),
            "%=" => a.checked_rem(b),
            _ => None,
        }
    };
    if matches!(mutator, "+=" | "-=" | "*=" | "/=" | "%=") {
        let b = v.as_i64().ok_or_else(|| {
            op_error(
                "syntax error",
                format!("{column}: {mutator} needs an integer"),
            )
        })?;
        let Datum::Set(atoms) = old else {
            return Err(op_error(
                "constraint violation",
                format!("{column}: arithmetic on a map"),
            ));
        };
        let out: Option<Vec<Atom>> = atoms
            .iter()
            .map(|a| a.as_integer().and_then(|x| arith(x, b)).map(Atom::Integer))
            .collect();
        return out
            .map(|v| normalize(Datum::Set(v)))
            .ok_or_else(|| op_error("domain error", format!("{column}: {mutator} {b} failed")));
    }
    let relaxed = ColumnType {
        min: 0,
        max: None,
        ..ct.clone()
    };
    let arg = if ct.is_map() && mutator == "delete" {
        // A set of keys or a map of pairs.
        match ovsdb::Datum::from_json(v) {
            Some(Datum::Set(keys)) => Datum::Set(keys),
            _ => datum_for(&relaxed, v, column)?,
        }
    } else {
        datum_for(&relaxed, v, column)?
    };
    let out = match (old, arg, mutator) {
        (Datum::Set(mut a), Datum::Set(b), "insert") => {
            a.extend(b);
            Datum::Set(a)
        }
        (Datum::Set(a), Datum::Set(b), "delete") => {
            Datum::Set(a.into_iter().filter(|x| !b.contains(x)).collect())
        }
        (Datum::Map(mut a), Datum::Map(b), "insert") => {
            for (k, val) in b {
                if !a.iter().any(|(x, _)| *x == k) {
                    a.push((k, val));
                }
            }
            Datum::Map(a)
        }
        (Datum::Map(a), Datum::Map(b), "delete") => {
            Datum::Map(a.into_iter().filter(|p| !b.contains(p)).collect())
        }
        (Datum::Map(a), Datum::Set(keys), "delete") => {
            Datum::Map(a.into_iter().filter(|(k, _)| !keys.contains(k)).collect())
        }
        _ => {
            return Err(op_error(
                "syntax error",
                format!("{column}: bad mutation {mutator}"),
            ))
        }
    };
    Ok(normalize(out))
}

/// Strong references from every row, as (table, uuid).
fn strong_refs(schema: &Schema, tables: &Tables) -> BTreeSet<(String, String)> {
    let mut refs = BTreeSet::new();
    for (tname, rows) in tables {
        let t = &schema.tables[tname];
        for row in rows.values() {
            for (c, d) in row {
                let Some(ct) = t.columns.get(c) else { continue };
                let mut add = |b: &crate::schema::BaseType, a: &Atom| {
                    if let (Some(rt), true, Some(u)) = (&b.ref_table, b.ref_strong, a.as_uuid()) {
                        refs.insert((rt.clone(), u.to_string()));
                    }
                };
                match d {
                    Datum::Set(s) => s.iter().for_each(|a| add(&ct.key, a)),
                    Datum::Map(m) => m.iter().for_each(|(k, v)| {
                        add(&ct.key, k);
                        if let Some(vt) = &ct.value {
                            add(vt, v);
                        }
                    }),
                }
            }
        }
    }
    refs
}

fn commit_checks(schema: &Schema, tables: &mut Tables) -> Result<(), OpError> {
    // Garbage collection: non-root rows nothing strongly refers to.
    loop {
        let refs = strong_refs(schema, tables);
        let mut removed = false;
        for (tname, rows) in tables.iter_mut() {
            if schema.tables[tname].is_root {
                continue;
            }
            let before = rows.len();
            rows.retain(|u, _| refs.contains(&(tname.clone(), u.clone())));
            removed |= rows.len() != before;
        }
        if !removed {
            break;
        }
    }
    // Weak references to rows that are gone disappear.
    let exists: BTreeSet<(String, String)> = tables
        .iter()
        .flat_map(|(t, rows)| rows.keys().map(move |u| (t.clone(), u.clone())))
        .collect();
    for (tname, rows) in tables.iter_mut() {
        let t = &schema.tables[tname];
        for (u, row) in rows.iter_mut() {
            for (c, d) in row.iter_mut() {
                let Some(ct) = t.columns.get(c) else { continue };
                let dangling = |b: &crate::schema::BaseType, a: &Atom| matches!((&b.ref_table, a.as_uuid()), (Some(rt), Some(x)) if !exists.contains(&(rt.clone(), x.to_string())));
                let strong_dangling =
                    |b: &crate::schema::BaseType, a: &Atom| b.ref_strong && dangling(b, a);
                let bad = match &*d {
                    Datum::Set(s) => s.iter().find(|a| strong_dangling(&ct.key, a)).cloned(),
                    Datum::Map(m) => m
                        .iter()
                        .find(|(k, v)| {
                            strong_dangling(&ct.key, k)
                                || ct.value.as_ref().is_some_and(|vt| strong_dangling(vt, v))
                        })
                        .map(|(k, _)| k.clone()),
                };
                if let Some(a) = bad {
                    let target = ct
                        .key
                        .ref_table
                        .clone()
                        .or_else(|| ct.value.as_ref().and_then(|v| v.ref_table.clone()))
                        .unwrap_or_default();
                    return Err(op_error(
                        "referential integrity violation",
                        format!("Table {tname} column {c} row {u} references nonexistent row {} in table {target}.", a.to_json()),
                    ));
                }
                match d {
                    Datum::Set(s) => s.retain(|a| !dangling(&ct.key, a)),
                    Datum::Map(m) => m.retain(|(k, v)| {
                        !dangling(&ct.key, k)
                            && !ct.value.as_ref().is_some_and(|vt| dangling(vt, v))
                    }),
                }
            }
        }
    }
    for (tname, rows) in tables.iter() {
        let t = &schema.tables[tname];
        for row in rows.values() {
            for (c, d) in row {
                if let Some(ct) = t.columns.get(c) {
                    check_size(ct, d, tname, c)?;
                }
            }
        }
        for index in &t.indexes {
            let mut seen = BTreeSet::new();
            for row in rows.values() {
                let key: Vec<String> = index
                    .iter()
                    .map(|c| {
                        row.get(c)
                            .map(|d| d.to_json().to_string())
                            .unwrap_or_default()
                    })
                    .collect();
                if !seen.insert(key.clone()) {
                    return Err(op_error(
                        "constraint violation",
                        format!(
                            "Transaction causes multiple rows in \"{tname}\" table to have identical values ({}) for index on column \"{}\".",
                            key.join(","),
                            index.join("\", \"")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}
