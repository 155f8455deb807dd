//! OVSDB's standalone database file, as ovsdb-server and ovsdb-tool write it: records
//! `OVSDB JSON <length> <sha1>\n<json>\n` (length and SHA-1 of the JSON text and its
//! newline); the first holds the schema, each later one a transaction
//! (`{"_date": ms, "_is_diff": true, "_comment": .., table: {uuid: row-diff | null}}`).
//! A file made by `ovsdb-tool create` can be served, and one written here read by
//! ovsdb-server.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ovsdb::error::sorted_json;
use serde_json::{json, Map, Value};

use crate::db::{apply_diff, default_row, diff, new_uuid, Tables};
use crate::schema::Schema;
use crate::sha1::sha1_hex;

pub struct DbFile {
    path: PathBuf,
    file: File,
}

fn bad(path: &Path, what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

/// One record's bytes.
fn record(json: &Value) -> Vec<u8> {
    let mut text = sorted_json(json);
    text.push('\n');
    let mut out = format!("OVSDB JSON {} {}\n", text.len(), sha1_hex(text.as_bytes())).into_bytes();
    out.extend_from_slice(text.as_bytes());
    out
}

/// Splits a file into its records' JSON.
fn records(path: &Path, data: &[u8]) -> std::io::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let nl = data[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| bad(path, "truncated header"))?
            + pos;
        let header = std::str::from_utf8(&data[pos..nl]).map_err(|e| bad(path, e))?;
        let parts: Vec<&str> = header.split(' ').collect();
        let (len, sum) = match parts.as_slice() {
            ["OVSDB", "JSON", len, sum] => (len.parse::<usize>().map_err(|e| bad(path, e))?, *sum),
            _ => return Err(bad(path, format!("not an OVSDB record header: {header:?}"))),
        };
        let body = data
            .get(nl + 1..nl + 1 + len)
            .ok_or_else(|| bad(path, "truncated record"))?;
        if sha1_hex(body) != sum {
            return Err(bad(path, format!("record at offset {pos} has a bad SHA-1")));
        }
        out.push(serde_json::from_slice(body).map_err(|e| bad(path, e))?);
        pos = nl + 1 + len;
    }
    Ok(out)
}

/// Applies one transaction record.
fn apply(schema: &Schema, tables: &mut Tables, txn: &Value, path: &Path) -> std::io::Result<()> {
    let is_diff = txn["_is_diff"] == json!(true);
    for (t, rows) in txn
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with('_'))
    {
        let ts = schema
            .tables
            .get(t)
            .ok_or_else(|| bad(path, format!("no table {t} in the schema")))?;
        for (u, change) in rows
            .as_object()
            .ok_or_else(|| bad(path, "rows must be an object"))?
        {
            let table = tables.entry(t.clone()).or_default();
            if change.is_null() {
                table.remove(u);
                continue;
            }
            let inserted = !table.contains_key(u);
            let row = table
                .entry(u.clone())
                .or_insert_with(|| default_row(schema, t));
            for (c, v) in change
                .as_object()
                .ok_or_else(|| bad(path, "row must be an object"))?
            {
                let Some(col) = ts.columns.get(c) else {
                    continue;
                };
                let ty = &col.column_type;
                let d = ty
                    .unbounded()
                    .parse_datum(v)
                    .map_err(|e| bad(path, format!("{t}.{c}: {e}")))?;
                let old = row.get(c).cloned().unwrap_or_else(|| ty.default_datum());
                let new = if is_diff && !inserted {
                    apply_diff(ty.is_scalar(), &old, d)
                } else {
                    d
                };
                row.insert(c.clone(), new);
            }
            row.insert("_version".into(), ovsdb::Datum::uuid(&new_uuid()));
        }
    }
    Ok(())
}

/// The record of the change from `old` to `new`.
fn txn_record(
    schema: &Schema,
    old: &Tables,
    new: &Tables,
    comment: Option<String>,
) -> Option<Value> {
    let empty = Default::default();
    let mut rec = Map::new();
    for (t, ts) in &schema.tables {
        let (o, n) = (old.get(t).unwrap_or(&empty), new.get(t).unwrap_or(&empty));
        let mut rows = Map::new();
        for u in o.keys().chain(n.keys().filter(|u| !o.contains_key(*u))) {
            let change = match (o.get(u), n.get(u)) {
                (Some(_), None) => Value::Null,
                (before, Some(after)) if before != Some(after) => {
                    let base = before.cloned().unwrap_or_else(|| default_row(schema, t));
                    let cols: Map<String, Value> = ts
                        .columns
                        .keys()
                        .filter_map(|c| {
                            let (a, b) = (base.get(c)?, after.get(c)?);
                            // New rows carry their values, changed rows the differences.
                            let value = if before.is_some() {
                                diff(ts, c, a, b)
                            } else {
                                b.to_json()
                            };
                            (a != b).then_some((c.clone(), value))
                        })
                        .collect();
                    Value::Object(cols)
                }
                _ => continue,
            };
            rows.insert(u.clone(), change);
        }
        if !rows.is_empty() {
            rec.insert(t.clone(), Value::Object(rows));
        }
    }
    if rec.is_empty() {
        return None;
    }
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    rec.insert("_date".into(), json!(date));
    rec.insert("_is_diff".into(), json!(true));
    if let Some(c) = comment {
        rec.insert("_comment".into(), json!(c));
    }
    Some(Value::Object(rec))
}

impl DbFile {
    /// Opens `path`, reading the schema and contents it holds, or creates it for `schema`.
    pub fn open(path: &Path, schema: Schema) -> std::io::Result<(DbFile, Schema, Tables)> {
        let mut data = Vec::new();
        if let Ok(mut f) = File::open(path) {
            f.read_to_end(&mut data)?;
        }
        let mut tables = Tables::new();
        let schema = if data.is_empty() {
            File::create(path)?.write_all(&record(&schema.to_json()))?;
            schema
        } else {
            let recs = records(path, &data)?;
            let s = Schema::parse(recs[0].clone()).map_err(|e| bad(path, e))?;
            for txn in &recs[1..] {
                apply(&s, &mut tables, txn, path)?;
            }
            s
        };
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((
            DbFile {
                path: path.to_path_buf(),
                file,
            },
            schema,
            tables,
        ))
    }

    /// Appends the transaction that turned `old` into `new`.
    pub fn append(
        &mut self,
        schema: &Schema,
        old: &Tables,
        new: &Tables,
        comment: Option<String>,
    ) -> std::io::Result<()> {
        match txn_record(schema, old, new, comment) {
            Some(rec) => self.file.write_all(&record(&rec)),
            None => Ok(()),
        }
    }

    /// Rewrites the file as the schema and one transaction holding `tables`.
    pub fn compact(&mut self, schema: &Schema, tables: &Tables) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&record(&schema.to_json()))?;
            if let Some(rec) = txn_record(
                schema,
                &Tables::new(),
                tables,
                Some("compacting database online".into()),
            ) {
                f.write_all(&record(&rec))?;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}
