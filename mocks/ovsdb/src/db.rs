//! Rows and values as the server keeps them: every datum normalised (sets sorted and
//! deduplicated, maps sorted by key) so that comparing two values is comparing them.

use std::collections::BTreeMap;

use ovsdb::{Atom, Datum};
use serde_json::Value;

use crate::schema::{BaseType, ColumnType, Schema};

pub type Row = BTreeMap<String, Datum>;
pub type Tables = BTreeMap<String, BTreeMap<String, Row>>;

/// An error as RFC 7047 names it, with details.
#[derive(Debug, Clone, PartialEq)]
pub struct OpError {
    pub error: &'static str,
    pub details: String,
}

pub fn op_error(error: &'static str, details: impl Into<String>) -> OpError {
    OpError {
        error,
        details: details.into(),
    }
}

fn atom_key(a: &Atom) -> String {
    a.to_json().to_string()
}

/// Sorts and deduplicates.
pub fn normalize(d: Datum) -> Datum {
    match d {
        Datum::Set(mut v) => {
            v.sort_by_key(atom_key);
            v.dedup_by(|a, b| atom_key(a) == atom_key(b));
            Datum::Set(v)
        }
        Datum::Map(mut m) => {
            m.sort_by_key(|(k, _)| atom_key(k));
            m.dedup_by(|a, b| atom_key(&a.0) == atom_key(&b.0));
            Datum::Map(m)
        }
    }
}

/// The value a column has when a row does not set it.
pub fn default_datum(t: &ColumnType) -> Datum {
    if t.is_map() {
        return Datum::Map(Vec::new());
    }
    if t.min == 0 {
        return Datum::Set(Vec::new());
    }
    Datum::atom(match t.key.atomic.as_str() {
        "integer" => Atom::Integer(0),
        "real" => Atom::Real(0.0),
        "boolean" => Atom::Boolean(false),
        "uuid" => Atom::Uuid("00000000-0000-0000-0000-000000000000".into()),
        _ => Atom::String(String::new()),
    })
}

fn check_atom(a: &Atom, b: &BaseType, column: &str) -> Result<(), OpError> {
    let ok = matches!(
        (a, b.atomic.as_str()),
        (Atom::Integer(_), "integer")
            | (Atom::Integer(_), "real")
            | (Atom::Real(_), "real")
            | (Atom::Boolean(_), "boolean")
            | (Atom::String(_), "string")
            | (Atom::Uuid(_), "uuid")
            | (Atom::NamedUuid(_), "uuid")
    );
    if !ok {
        return Err(op_error(
            "syntax error",
            format!("{column}: expected {} but got {}", b.atomic, a.to_json()),
        ));
    }
    if let Some(allowed) = &b.enumeration {
        if !allowed.contains(a) {
            return Err(op_error(
                "constraint violation",
                format!(
                    "{} is not one of the allowed values for {column}",
                    a.to_json()
                ),
            ));
        }
    }
    if let Atom::Integer(i) = a {
        if b.min_integer.is_some_and(|m| *i < m) || b.max_integer.is_some_and(|m| *i > m) {
            return Err(op_error(
                "constraint violation",
                format!("{i} is out of range for {column}"),
            ));
        }
    }
    Ok(())
}

/// Parses a JSON value for a column, checking its type and constraints.
pub fn datum_for(t: &ColumnType, v: &Value, column: &str) -> Result<Datum, OpError> {
    let d = Datum::from_json(v).ok_or_else(|| {
        op_error(
            "syntax error",
            format!("{column}: {v} is not an OVSDB value"),
        )
    })?;
    let d = match (d, t.is_map()) {
        (Datum::Map(m), true) => {
            let value_type = t.value.as_ref().expect("map");
            for (k, val) in &m {
                check_atom(k, &t.key, column)?;
                check_atom(val, value_type, column)?;
            }
            Datum::Map(m)
        }
        (Datum::Set(s), false) => {
            for a in &s {
                check_atom(a, &t.key, column)?;
            }
            Datum::Set(s)
        }
        // An empty set is also how an empty map may be written.
        (Datum::Set(s), true) if s.is_empty() => Datum::Map(Vec::new()),
        _ => {
            return Err(op_error(
                "syntax error",
                format!("{column}: {v} has the wrong shape"),
            ))
        }
    };
    Ok(normalize(d))
}

/// Checks the number of elements against min/max (at commit, once named uuids resolved).
pub fn check_size(t: &ColumnType, d: &Datum, table: &str, column: &str) -> Result<(), OpError> {
    let n = match d {
        Datum::Set(s) => s.len(),
        Datum::Map(m) => m.len(),
    };
    if n < t.min || t.max.is_some_and(|m| n > m) {
        return Err(op_error(
            "constraint violation",
            format!(
                "{table} column {column} has {n} values, outside [{}, {}]",
                t.min,
                t.max.map_or("unlimited".into(), |m| m.to_string())
            ),
        ));
    }
    Ok(())
}

/// A row in JSON, limited to `columns` when given (with `_uuid` and `_version` otherwise).
pub fn row_json(uuid: &str, row: &Row, columns: Option<&[String]>) -> Value {
    let mut out = serde_json::Map::new();
    match columns {
        Some(cols) => {
            for c in cols {
                if c == "_uuid" {
                    out.insert(c.clone(), serde_json::json!(["uuid", uuid]));
                } else if let Some(d) = row.get(c) {
                    out.insert(c.clone(), d.to_json());
                }
            }
        }
        None => {
            out.insert("_uuid".into(), serde_json::json!(["uuid", uuid]));
            for (c, d) in row {
                out.insert(c.clone(), d.to_json());
            }
        }
    }
    Value::Object(out)
}

/// A new row of `table` with every column at its default.
pub fn default_row(schema: &Schema, table: &str) -> Row {
    schema.tables[table]
        .columns
        .iter()
        .map(|(c, t)| (c.clone(), default_datum(t)))
        .collect()
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32);
    let next = || {
        // splitmix64
        let mut z = STATE
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(seed);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
