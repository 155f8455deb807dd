//! Monitors: the initial contents of the monitored tables and columns, then one update
//! per committed change — `update` rows (`old`/`new`, RFC 7047) for `monitor`, `update2`
//! rows (`initial`/`insert`/`modify`/`delete`) for `monitor_cond`.

use std::collections::BTreeMap;

use ovsdb::Datum;
use serde_json::{json, Map, Value};

use crate::db::{default_datum, Row, Tables};
use crate::schema::Schema;

#[derive(Debug, Clone)]
pub struct Monitor {
    pub id: Value,
    /// Table -> monitored columns (`None`: all).
    pub tables: BTreeMap<String, Option<Vec<String>>>,
    /// 1: `monitor`; 2: `monitor_cond`.
    pub version: u8,
}

impl Monitor {
    /// Parses `{table: request | [request, ...]}` with `{"columns": [...]}` requests.
    pub fn parse(
        id: Value,
        requests: &Value,
        version: u8,
        schema: &Schema,
    ) -> Result<Monitor, String> {
        let mut tables = BTreeMap::new();
        for (t, req) in requests
            .as_object()
            .ok_or("monitor requests must be an object")?
        {
            if !schema.tables.contains_key(t) {
                return Err(format!("no table named {t}"));
            }
            let reqs: Vec<&Value> = match req {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut cols: Option<Vec<String>> = Some(Vec::new());
            for r in reqs {
                match r.get("columns").and_then(Value::as_array) {
                    Some(c) => {
                        if let Some(list) = cols.as_mut() {
                            list.extend(c.iter().filter_map(|x| x.as_str().map(str::to_string)));
                        }
                    }
                    None => cols = None,
                }
            }
            tables.insert(t.clone(), cols);
        }
        Ok(Monitor {
            id,
            tables,
            version,
        })
    }

    fn columns<'a>(&'a self, schema: &'a Schema, table: &str) -> Vec<&'a str> {
        match &self.tables[table] {
            Some(cols) => cols.iter().map(String::as_str).collect(),
            None => schema.tables[table]
                .columns
                .keys()
                .map(String::as_str)
                .collect(),
        }
    }

    fn project(
        &self,
        schema: &Schema,
        table: &str,
        row: &Row,
        skip_defaults: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for c in self.columns(schema, table) {
            let Some(d) = row.get(c) else { continue };
            if skip_defaults
                && schema.tables[table]
                    .columns
                    .get(c)
                    .is_some_and(|t| *d == default_datum(t))
            {
                continue;
            }
            out.insert(c.to_string(), d.to_json());
        }
        out
    }

    /// The monitor's reply: everything there is now.
    pub fn initial(&self, schema: &Schema, tables: &Tables) -> Value {
        let mut out = Map::new();
        for t in self.tables.keys() {
            let mut rows = Map::new();
            for (u, row) in tables.get(t).into_iter().flatten() {
                let v = if self.version == 1 {
                    json!({"new": self.project(schema, t, row, false)})
                } else {
                    json!({"initial": self.project(schema, t, row, true)})
                };
                rows.insert(u.clone(), v);
            }
            if !rows.is_empty() {
                out.insert(t.clone(), Value::Object(rows));
            }
        }
        Value::Object(out)
    }

    /// What changed between `old` and `new` for this monitor; `None` when nothing it
    /// watches did.
    pub fn update(&self, schema: &Schema, old: &Tables, new: &Tables) -> Option<Value> {
        let empty = BTreeMap::new();
        let mut out = Map::new();
        for t in self.tables.keys() {
            let (o, n) = (old.get(t).unwrap_or(&empty), new.get(t).unwrap_or(&empty));
            let mut rows = Map::new();
            for (u, nr) in n {
                match o.get(u) {
                    None => {
                        let v = if self.version == 1 {
                            json!({"new": self.project(schema, t, nr, false)})
                        } else {
                            json!({"insert": self.project(schema, t, nr, true)})
                        };
                        rows.insert(u.clone(), v);
                    }
                    Some(or) => {
                        let changed: Vec<&str> = self
                            .columns(schema, t)
                            .into_iter()
                            .filter(|c| or.get(*c) != nr.get(*c))
                            .collect();
                        if changed.is_empty() {
                            continue;
                        }
                        let v = if self.version == 1 {
                            let old_cols: Map<String, Value> = changed
                                .iter()
                                .filter_map(|c| or.get(*c).map(|d| (c.to_string(), d.to_json())))
                                .collect();
                            json!({"old": old_cols, "new": self.project(schema, t, nr, false)})
                        } else {
                            let diff: Map<String, Value> = changed
                                .iter()
                                .filter_map(|c| {
                                    Some((
                                        c.to_string(),
                                        diff(schema, t, c, or.get(*c)?, nr.get(*c)?),
                                    ))
                                })
                                .collect();
                            json!({"modify": diff})
                        };
                        rows.insert(u.clone(), v);
                    }
                }
            }
            for (u, or) in o {
                if !n.contains_key(u) {
                    let v = if self.version == 1 {
                        json!({"old": self.project(schema, t, or, false)})
                    } else {
                        json!({"delete": null})
                    };
                    rows.insert(u.clone(), v);
                }
            }
            if !rows.is_empty() {
                out.insert(t.clone(), Value::Object(rows));
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }
}

/// update2's `modify` value: the new value of a scalar, the symmetric difference of a
/// set, for a map one pair per touched key (the new pair, or the old one if removed).
fn diff(schema: &Schema, table: &str, column: &str, old: &Datum, new: &Datum) -> Value {
    let scalar = schema.tables[table]
        .columns
        .get(column)
        .is_some_and(|t| t.is_scalar());
    if scalar {
        return new.to_json();
    }
    match (old, new) {
        (Datum::Set(a), Datum::Set(b)) => {
            let mut d: Vec<_> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
            d.extend(b.iter().filter(|x| !a.contains(x)).cloned());
            Datum::Set(d).to_json_set()
        }
        (Datum::Map(a), Datum::Map(b)) => {
            let mut d: Vec<_> = a
                .iter()
                .filter(|(k, _)| !b.iter().any(|(x, _)| x == k))
                .cloned()
                .collect();
            d.extend(b.iter().filter(|p| !a.contains(p)).cloned());
            crate::db::normalize(Datum::Map(d)).to_json()
        }
        (_, n) => n.to_json(),
    }
}

/// Sets in diffs keep OVS's notation (a single element bare).
trait SetJson {
    fn to_json_set(&self) -> Value;
}

impl SetJson for Datum {
    fn to_json_set(&self) -> Value {
        crate::db::normalize(self.clone()).to_json()
    }
}
