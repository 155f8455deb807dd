//! The checks ovsdb-server runs before a transaction commits, in its order: strong
//! references (to nonexistent rows, or to rows being deleted), garbage collection of
//! unreferenced non-root rows, `maxRows`, removal of dangling weak references, unique
//! indexes; then changed rows get a new `_version`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use ovsdb::schema::{BaseType, RefType};
use ovsdb::{Atom, Datum, OvsdbError};

use super::Txn;
use crate::db::{display, english_list, new_uuid, Row, Tables};
use crate::schema::Schema;

const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// Each reference in `row`'s columns whose base type `want` accepts: (column, target
/// table, atom).
fn refs<'r>(
    schema: &'r Schema,
    table: &str,
    row: &'r Row,
    want: fn(&BaseType) -> bool,
) -> Vec<(&'r str, &'r str, &'r Atom)> {
    let ts = &schema.tables[table];
    let mut out = Vec::new();
    for (c, d) in row {
        let Some(ty) = ts.columns.get(c).map(|s| &s.column_type) else {
            continue;
        };
        let mut add = |b: &'r BaseType, a: &'r Atom| {
            if let (true, Some(target)) = (want(b), b.ref_table.as_deref()) {
                out.push((c.as_str(), target, a));
            }
        };
        match d {
            Datum::Set(s) => s.iter().for_each(|a| add(&ty.key, a)),
            Datum::Map(m) => m.iter().for_each(|(k, v)| {
                add(&ty.key, k);
                if let Some(vt) = &ty.value {
                    add(vt, v);
                }
            }),
        }
    }
    out
}

fn exists(tables: &Tables, table: &str, uuid: &str) -> bool {
    tables.get(table).is_some_and(|t| t.contains_key(uuid))
}

/// Strong reference counts in `tables`, self-references aside.
fn ref_counts(schema: &Schema, tables: &Tables) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for (t, rows) in tables {
        for (u, row) in rows {
            for (_, target, a) in refs(schema, t, row, BaseType::is_strong_ref) {
                if let Some(x) = a.as_uuid().filter(|x| *x != u) {
                    *counts
                        .entry((target.to_string(), x.to_string()))
                        .or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

/// Rows whose columns differ between `old` and `new` (inserted and deleted rows too).
fn changed(old: &Tables, new: &Tables) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let empty = BTreeMap::new();
    for t in old.keys().chain(new.keys()) {
        let (o, n) = (old.get(t).unwrap_or(&empty), new.get(t).unwrap_or(&empty));
        for u in o.keys().chain(n.keys()) {
            if o.get(u) != n.get(u) {
                out.insert((t.clone(), u.clone()));
            }
        }
    }
    out
}

pub(super) fn check(txn: &mut Txn) -> Result<(), OvsdbError> {
    let schema = txn.schema;
    if changed(txn.old, &txn.tables).is_empty() {
        txn.tables = txn.old.clone();
        return Ok(());
    }
    // Strong references must point at rows that exist.
    for (t, rows) in &txn.tables {
        for (u, row) in rows {
            for (c, target, a) in refs(schema, t, row, BaseType::is_strong_ref) {
                let x = a.as_uuid().unwrap_or_default();
                if x != u && !exists(&txn.tables, target, x) && !exists(txn.old, target, x) {
                    return Err(OvsdbError::new(
                        "referential integrity violation",
                        format!("Table {t} column {c} row {u} references nonexistent row {x} in table {target}."),
                    ));
                }
            }
        }
    }
    let counts = ref_counts(schema, &txn.tables);
    for ((t, u), n) in &counts {
        if !exists(&txn.tables, t, u) {
            return Err(OvsdbError::new(
                "referential integrity violation",
                format!("cannot delete {t} row {u} because of {n} remaining reference(s)"),
            ));
        }
    }
    collect_garbage(schema, &mut txn.tables);
    let touched = changed(txn.old, &txn.tables);
    for (t, rows) in &txn.tables {
        let max = schema.tables[t].max_rows;
        if let Some(m) = max.filter(|m| rows.len() as u64 > *m) {
            if touched.iter().any(|(x, _)| x == t) {
                return Err(OvsdbError::new(
                    "constraint violation",
                    format!("transaction causes \"{t}\" table to contain {} rows, greater than the schema-defined limit of {m} row(s)", rows.len()),
                ));
            }
        }
    }
    drop_weak_refs(txn)?;
    check_indexes(txn)?;
    for (t, u) in changed(txn.old, &txn.tables) {
        if let Some(row) = txn.tables.get_mut(&t).and_then(|r| r.get_mut(&u)) {
            if txn.old.get(&t).is_some_and(|o| o.contains_key(&u)) {
                row.insert("_version".into(), Datum::uuid(&new_uuid()));
            }
        }
    }
    Ok(())
}

/// Deletes non-root rows that no strong reference keeps, until none is left.
fn collect_garbage(schema: &Schema, tables: &mut Tables) {
    loop {
        let counts = ref_counts(schema, tables);
        let mut removed = false;
        for (t, rows) in tables.iter_mut() {
            if schema.tables[t].is_root {
                continue;
            }
            let before = rows.len();
            rows.retain(|u, _| counts.contains_key(&(t.clone(), u.clone())));
            removed |= rows.len() != before;
        }
        if !removed {
            return;
        }
    }
}

/// Removes weak references to rows that do not exist; a column left below its minimum
/// size fails the transaction.
fn drop_weak_refs(txn: &mut Txn) -> Result<(), OvsdbError> {
    let schema = txn.schema;
    let live: BTreeSet<(String, String)> = txn
        .tables
        .iter()
        .flat_map(|(t, rows)| rows.keys().map(move |u| (t.clone(), u.clone())))
        .collect();
    let weak = |b: &BaseType| b.ref_table.is_some() && b.ref_type == RefType::Weak;
    let dangling = |b: &BaseType, a: &Atom| {
        weak(b)
            && !live.contains(&(
                b.ref_table.clone().unwrap_or_default(),
                a.as_uuid().unwrap_or_default().to_string(),
            ))
    };
    for (t, rows) in txn.tables.iter_mut() {
        let ts = &schema.tables[t];
        for (u, row) in rows.iter_mut() {
            for (c, d) in row.iter_mut() {
                let Some(ty) = ts.columns.get(c).map(|s| &s.column_type) else {
                    continue;
                };
                if !weak(&ty.key) && !ty.value.as_ref().is_some_and(weak) {
                    continue;
                }
                let before = d.len();
                let mut zero = false;
                let mut note_zero = |a: &Atom| zero |= a.as_uuid() == Some(ZERO_UUID);
                match d {
                    Datum::Set(s) => s.retain(|a| {
                        let gone = dangling(&ty.key, a);
                        if gone {
                            note_zero(a);
                        }
                        !gone
                    }),
                    Datum::Map(m) => m.retain(|(k, v)| {
                        let gone = dangling(&ty.key, k)
                            || ty.value.as_ref().is_some_and(|vt| dangling(vt, v));
                        if gone {
                            note_zero(if dangling(&ty.key, k) { k } else { v });
                        }
                        !gone
                    }),
                }
                if d.len() < before && d.len() < ty.min {
                    let inserted = !txn.old.get(t).is_some_and(|o| o.contains_key(u));
                    let details = if zero && inserted {
                        format!("Weak reference column \"{c}\" in \"{t}\" row {u} (inserted within this transaction) contained all-zeros UUID (probably as the default value for this column) but deleting this value caused a constraint volation because this column is not allowed to be empty.")
                    } else {
                        format!(
                            "Deletion of {} weak reference(s) to deleted (or never-existing) rows from column \"{c}\" in \"{t}\" row {u} {}caused this column to become empty, but constraints on this column disallow an empty column.",
                            before - d.len(),
                            if inserted { "(inserted within this transaction) " } else { "" }
                        )
                    };
                    return Err(OvsdbError::new("constraint violation", details));
                }
            }
        }
    }
    Ok(())
}

/// No two rows may share the values of an index's columns.
fn check_indexes(txn: &Txn) -> Result<(), OvsdbError> {
    let touched = changed(txn.old, &txn.tables);
    for (t, rows) in &txn.tables {
        for index in &txn.schema.tables[t].indexes {
            let mut seen: BTreeMap<Vec<String>, &String> = BTreeMap::new();
            // Rows of this transaction first, so that a clash always involves one.
            let mut order: Vec<&String> = rows.keys().collect();
            order.sort_by_key(|u| !touched.contains(&(t.clone(), (*u).clone())));
            for u in order {
                let key: Vec<String> = index
                    .iter()
                    .map(|c| crate::db::get(u, &rows[u], c).to_json().to_string())
                    .collect();
                if let Some(other) = seen.insert(key, u) {
                    let mine = touched.contains(&(t.clone(), u.clone()))
                        || touched.contains(&(t.clone(), other.clone()));
                    if mine {
                        return Err(duplicate(txn, t, index, other, u));
                    }
                }
            }
        }
    }
    Ok(())
}

/// OVSDB's order of data: by size, then element by element.
fn compare_datum(a: &Datum, b: &Datum) -> Ordering {
    let atoms = |d: &Datum| -> Vec<Atom> {
        match d {
            Datum::Set(s) => s.clone(),
            Datum::Map(m) => m.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
        }
    };
    a.len().cmp(&b.len()).then_with(|| {
        let (x, y) = (atoms(a), atoms(b));
        x.iter()
            .zip(&y)
            .map(|(p, q)| p.compare(q))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

fn duplicate(txn: &Txn, table: &str, index: &[String], a: &str, b: &str) -> OvsdbError {
    // ovsdb-server names first the row that sorts last over all columns (it walks them in
    // hash order; name order, then the UUID, matches what it reports for these tables).
    let rows = &txn.tables[table];
    let order = txn.schema.tables[table]
        .columns
        .keys()
        .map(|c| compare_datum(&rows[a][c], &rows[b][c]))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.cmp(b));
    let (first, second) = if order.is_gt() { (a, b) } else { (b, a) };
    let values = |row: &Row, u: &str| -> String {
        let v: Vec<String> = index
            .iter()
            .map(|c| display(&crate::db::get(u, row, c)))
            .collect();
        english_list(&v)
    };
    let cols: Vec<String> = index.iter().map(|c| format!("\"{c}\"")).collect();
    let on = if index.len() == 1 {
        "column"
    } else {
        "columns"
    };
    let describe = |title: &str, u: &str| {
        let new = &txn.tables[table][u];
        let how = match txn.old.get(table).and_then(|o| o.get(u)) {
            None => "was inserted by this transaction.".to_string(),
            Some(old) if old == new => {
                "existed in the database before this transaction and was not modified by the transaction.".to_string()
            }
            Some(old) if values(old, u) == values(new, u) => "existed in the database before this transaction, which modified some of the row's columns but not any columns in this index.".to_string(),
            Some(old) => format!("had the following index values before the transaction: {}.", values(old, u)),
        };
        format!("{title} row, with UUID {u}, {how}")
    };
    OvsdbError::new(
        "constraint violation",
        format!(
            "Transaction causes multiple rows in \"{table}\" table to have identical values ({}) for index on {on} {}.  {}  {}",
            values(&txn.tables[table][first], first),
            english_list(&cols),
            describe("First", first),
            describe("Second", second)
        ),
    )
}
