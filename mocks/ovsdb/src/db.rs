//! Rows and tables as the server keeps them. Every datum is normalised (sorted, no
//! duplicates) so that comparing two values is comparing them; each row also holds its
//! `_version`, a UUID that changes whenever the row does.

use std::collections::BTreeMap;

use ovsdb::schema::TableSchema;
use ovsdb::{Atom, Datum};
use serde_json::{json, Map, Value};

use crate::schema::Schema;

/// Column name to value, `_version` included (`_uuid` is the key in [`Table`]).
pub type Row = BTreeMap<String, Datum>;
/// Row UUID to row.
pub type Table = BTreeMap<String, Row>;
/// Table name to rows.
pub type Tables = BTreeMap<String, Table>;

/// A new row of `table` with every column at its default.
pub fn default_row(schema: &Schema, table: &str) -> Row {
    let mut row: Row = schema.tables[table]
        .columns
        .iter()
        .map(|(c, s)| (c.clone(), s.column_type.default_datum()))
        .collect();
    row.insert("_version".into(), Datum::uuid(&new_uuid()));
    row
}

/// A column's value in a row (`_uuid` from the row's key).
pub fn get(uuid: &str, row: &Row, column: &str) -> Datum {
    if column == "_uuid" {
        return Datum::uuid(uuid);
    }
    row.get(column).cloned().unwrap_or(Datum::Set(Vec::new()))
}

/// A row as JSON, limited to `columns` (`None`: every column, `_uuid` and `_version`
/// included).
pub fn row_json(t: &TableSchema, uuid: &str, row: &Row, columns: Option<&[String]>) -> Value {
    let mut out = Map::new();
    match columns {
        Some(cols) => {
            for c in cols {
                out.insert(c.clone(), get(uuid, row, c).to_json());
            }
        }
        None => {
            out.insert("_uuid".into(), json!(["uuid", uuid]));
            for (c, d) in row {
                if c == "_version" || t.columns.contains_key(c) {
                    out.insert(c.clone(), d.to_json());
                }
            }
        }
    }
    Value::Object(out)
}

/// A change as update2 and database files write it: the new value of a scalar; for a
/// set the elements added or removed; for a map one pair per touched key (the new pair,
/// or the old one if the key is gone).
pub fn diff(t: &TableSchema, column: &str, old: &Datum, new: &Datum) -> Value {
    if t.column(column).is_some_and(|s| s.column_type.is_scalar()) {
        return new.to_json();
    }
    match (old, new) {
        (Datum::Set(a), Datum::Set(b)) => {
            let mut d: Vec<_> = a.iter().filter(|x| !new.contains(x)).cloned().collect();
            d.extend(b.iter().filter(|x| !old.contains(x)).cloned());
            Datum::Set(d).normalized().to_json()
        }
        (Datum::Map(a), Datum::Map(b)) => {
            let mut d: Vec<_> = a
                .iter()
                .filter(|(k, _)| !new.contains(k))
                .cloned()
                .collect();
            d.extend(b.iter().filter(|p| !a.contains(p)).cloned());
            Datum::Map(d).normalized().to_json()
        }
        (_, n) => n.to_json(),
    }
}

/// Applies a [`diff`] to `old`.
pub fn apply_diff(scalar: bool, old: &Datum, diff: Datum) -> Datum {
    if scalar {
        return diff;
    }
    match (old.clone(), diff) {
        (Datum::Set(mut a), Datum::Set(d)) => {
            for x in d {
                match a.iter().position(|y| y.compare(&x).is_eq()) {
                    Some(i) => {
                        a.remove(i);
                    }
                    None => a.push(x),
                }
            }
            Datum::Set(a).normalized()
        }
        (Datum::Map(mut a), Datum::Map(d)) => {
            for (k, v) in d {
                match a.iter().position(|(x, _)| x.compare(&k).is_eq()) {
                    Some(i) if a[i].1.compare(&v).is_eq() => {
                        a.remove(i);
                    }
                    Some(i) => a[i].1 = v,
                    None => a.push((k, v)),
                }
            }
            Datum::Map(a).normalized()
        }
        (Datum::Map(_), Datum::Set(s)) if s.is_empty() => old.clone(),
        (_, d) => d,
    }
}

/// A datum as OVSDB prints it in messages: a scalar bare, a set `[a, b]`, a map
/// `{k=v, ...}`.
pub fn display(d: &Datum) -> String {
    match d {
        Datum::Set(s) if s.len() == 1 => s[0].to_display(),
        Datum::Set(s) => {
            let items: Vec<String> = s.iter().map(Atom::to_display).collect();
            format!("[{}]", items.join(", "))
        }
        Datum::Map(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}={}", k.to_display(), v.to_display()))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// "a", "a and b", "a, b, and c".
pub fn english_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_valid_and_distinct() {
        let a = new_uuid();
        assert!(ovsdb::datum::is_uuid(&a));
        assert_ne!(a, new_uuid());
    }

    #[test]
    fn printing() {
        assert_eq!(english_list(&["a".into(), "b".into()]), "a and b");
        assert_eq!(
            english_list(&["a".into(), "b".into(), "c".into()]),
            "a, b, and c"
        );
        assert_eq!(
            display(&Datum::Set(vec![Atom::Integer(1), Atom::Integer(2)])),
            "[1, 2]"
        );
        assert_eq!(display(&Datum::string_map([("k", "a b")])), "{k=\"a b\"}");
    }
}
