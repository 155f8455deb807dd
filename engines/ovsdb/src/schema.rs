//! Database schemas (RFC 7047 §3.2, `.ovsschema` files): tables, columns and their types
//! with constraints (`enum`, integer/real ranges, string lengths, `refTable`/`refType`,
//! `min`/`max`), `isRoot`, `maxRows` and unique `indexes`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::datum::{Atom, Datum};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The atomic types of OVSDB.
pub enum AtomicType {
    /// `integer`
    Integer,
    /// `real`
    Real,
    /// `boolean`
    Boolean,
    /// `string`
    String,
    /// `uuid`
    Uuid,
}

impl AtomicType {
    /// Its name in a schema.
    pub fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }

    /// The type of a schema name.
    pub fn from_name(s: &str) -> Option<AtomicType> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }
}

/// Whether a reference keeps its target alive (strong) or disappears with it (weak).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    /// The row is kept while referenced.
    Strong,
    /// The reference goes when the row does.
    Weak,
}

/// The type of a set element, map key or map value.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    /// The atomic type.
    pub atomic: AtomicType,
    /// The only allowed values (normalised).
    pub enumeration: Option<Vec<Atom>>,
    /// Smallest integer allowed.
    pub min_integer: Option<i64>,
    /// Largest integer allowed.
    pub max_integer: Option<i64>,
    /// Smallest real allowed.
    pub min_real: Option<f64>,
    /// Largest real allowed.
    pub max_real: Option<f64>,
    /// Shortest string allowed.
    pub min_length: Option<u64>,
    /// Longest string allowed.
    pub max_length: Option<u64>,
    /// For uuids: the table the referenced row lives in.
    pub ref_table: Option<String>,
    /// For a reference, strong or weak.
    pub ref_type: RefType,
}

impl BaseType {
    /// The type without constraints.
    pub const fn plain(atomic: AtomicType) -> BaseType {
        BaseType {
            atomic,
            enumeration: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    /// Whether it constrains its values beyond the atomic type.
    pub fn has_constraints(&self) -> bool {
        *self != BaseType::plain(self.atomic)
    }

    /// Whether it is a strong reference.
    pub fn is_strong_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Strong
    }

    /// Reads a schema's base type.
    pub fn from_json(v: &Value) -> Result<BaseType, Error> {
        let bad = |what: &str| Error::Schema(format!("{what} in base type {v}"));
        if let Some(s) = v.as_str() {
            return AtomicType::from_name(s)
                .map(BaseType::plain)
                .ok_or_else(|| bad("unknown atomic type"));
        }
        let o = v.as_object().ok_or_else(|| bad("not a string or object"))?;
        let atomic = o
            .get("type")
            .and_then(Value::as_str)
            .and_then(AtomicType::from_name)
            .ok_or_else(|| bad("missing or unknown \"type\""))?;
        let mut b = BaseType::plain(atomic);
        for (k, x) in o {
            match k.as_str() {
                "type" => {}
                "enum" => {
                    b.enumeration = Some(match Datum::from_json(x).map(Datum::normalized) {
                        Some(Datum::Set(atoms)) => atoms,
                        _ => return Err(bad("bad \"enum\"")),
                    })
                }
                "minInteger" => b.min_integer = Some(x.as_i64().ok_or_else(|| bad(k))?),
                "maxInteger" => b.max_integer = Some(x.as_i64().ok_or_else(|| bad(k))?),
                "minReal" => b.min_real = Some(x.as_f64().ok_or_else(|| bad(k))?),
                "maxReal" => b.max_real = Some(x.as_f64().ok_or_else(|| bad(k))?),
                "minLength" => b.min_length = Some(x.as_u64().ok_or_else(|| bad(k))?),
                "maxLength" => b.max_length = Some(x.as_u64().ok_or_else(|| bad(k))?),
                "refTable" => b.ref_table = Some(x.as_str().ok_or_else(|| bad(k))?.to_string()),
                "refType" => {
                    b.ref_type = match x.as_str() {
                        Some("strong") => RefType::Strong,
                        Some("weak") => RefType::Weak,
                        _ => return Err(bad("bad \"refType\"")),
                    }
                }
                _ => return Err(bad(&format!("unknown member {k:?}"))),
            }
        }
        Ok(b)
    }

    /// Its schema JSON.
    pub fn to_json(&self) -> Value {
        if !self.has_constraints() {
            return json!(self.atomic.name());
        }
        let mut o = Map::new();
        o.insert("type".into(), json!(self.atomic.name()));
        if let Some(e) = &self.enumeration {
            o.insert("enum".into(), Datum::Set(e.clone()).to_json());
        }
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        };
        put("minInteger", self.min_integer.map(Value::from));
        put("maxInteger", self.max_integer.map(Value::from));
        put("minReal", self.min_real.map(Value::from));
        put("maxReal", self.max_real.map(Value::from));
        put("minLength", self.min_length.map(Value::from));
        put("maxLength", self.max_length.map(Value::from));
        put("refTable", self.ref_table.clone().map(Value::from));
        if self.ref_table.is_some() && self.ref_type == RefType::Weak {
            put("refType", Some(json!("weak")));
        }
        Value::Object(o)
    }
}

/// A column's type: a set of `min..=max` keys, or a map when `value` is present.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    /// The key type (the element type of a set).
    pub key: BaseType,
    /// The value type, for a map.
    pub value: Option<BaseType>,
    /// Fewest elements.
    pub min: usize,
    /// `None`: unlimited.
    pub max: Option<usize>,
}

impl ColumnType {
    /// Exactly one `key`.
    pub const fn scalar(key: BaseType) -> ColumnType {
        ColumnType {
            key,
            value: None,
            min: 1,
            max: Some(1),
        }
    }

    /// Whether it is a map.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// Whether it is exactly one atom.
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }

    /// Whether it is zero or one atom.
    pub fn is_optional_scalar(&self) -> bool {
        self.value.is_none() && self.min == 0 && self.max == Some(1)
    }

    /// The same type without size limits (for mutation and condition arguments).
    pub fn unbounded(&self) -> ColumnType {
        ColumnType {
            min: 0,
            max: None,
            ..self.clone()
        }
    }

    /// Reads a schema's column type.
    pub fn from_json(v: &Value) -> Result<ColumnType, Error> {
        if v.is_string() {
            return Ok(ColumnType::scalar(BaseType::from_json(v)?));
        }
        let bad = |what: &str| Error::Schema(format!("{what} in column type {v}"));
        let o = v.as_object().ok_or_else(|| bad("not a string or object"))?;
        let mut t = ColumnType::scalar(BaseType::from_json(
            o.get("key").ok_or_else(|| bad("no \"key\""))?,
        )?);
        for (k, x) in o {
            match k.as_str() {
                "key" => {}
                "value" => t.value = Some(BaseType::from_json(x)?),
                "min" => t.min = x.as_u64().filter(|m| *m <= 1).ok_or_else(|| bad(k))? as usize,
                "max" => {
                    t.max = match x {
                        Value::String(s) if s == "unlimited" => None,
                        _ => Some(x.as_u64().filter(|m| *m >= 1).ok_or_else(|| bad(k))? as usize),
                    }
                }
                _ => return Err(bad(&format!("unknown member {k:?}"))),
            }
        }
        Ok(t)
    }

    /// Its schema JSON.
    pub fn to_json(&self) -> Value {
        if self.is_scalar() && !self.key.has_constraints() {
            return self.key.to_json();
        }
        let mut o = Map::new();
        o.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            o.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            o.insert("min".into(), json!(self.min));
        }
        match self.max {
            None => {
                o.insert("max".into(), json!("unlimited"));
            }
            Some(1) => {}
            Some(m) => {
                o.insert("max".into(), json!(m));
            }
        }
        Value::Object(o)
    }
}

#[derive(Debug, Clone, PartialEq)]
/// One column of a table schema.
pub struct ColumnSchema {
    /// Its type.
    pub column_type: ColumnType,
    /// Not kept across restarts of the server.
    pub ephemeral: bool,
    /// False: set at insert only (`update`/`mutate` refuse it).
    pub mutable: bool,
}

/// The `_uuid` and `_version` columns every table has.
pub static IMPLICIT_COLUMN: ColumnSchema = ColumnSchema {
    column_type: ColumnType::scalar(BaseType::plain(AtomicType::Uuid)),
    ephemeral: false,
    mutable: false,
};

#[derive(Debug, Clone, PartialEq)]
/// One table of a database schema.
pub struct TableSchema {
    /// Its columns.
    pub columns: BTreeMap<String, ColumnSchema>,
    /// At most this many rows.
    pub max_rows: Option<u64>,
    /// Root rows live on their own; others only while a strong reference points at them.
    pub is_root: bool,
    /// Sets of columns whose values no two rows may share.
    pub indexes: Vec<Vec<String>>,
}

impl TableSchema {
    /// A column by name, including `_uuid` and `_version`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        match name {
            "_uuid" | "_version" => Some(&IMPLICIT_COLUMN),
            _ => self.columns.get(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
/// A database schema (`.ovsschema`).
pub struct DatabaseSchema {
    /// The database name.
    pub name: String,
    /// The schema version.
    pub version: String,
    /// The checksum, when given.
    pub cksum: Option<String>,
    /// The tables.
    pub tables: BTreeMap<String, TableSchema>,
    /// The document as read, which `get_schema` returns unchanged.
    pub json: Value,
}

fn table_from_json(name: &str, v: &Value) -> Result<TableSchema, Error> {
    let bad = |what: String| Error::Schema(format!("table {name}: {what}"));
    let o = v.as_object().ok_or_else(|| bad("not an object".into()))?;
    let mut t = TableSchema {
        columns: BTreeMap::new(),
        max_rows: None,
        is_root: false,
        indexes: Vec::new(),
    };
    for (k, x) in o {
        match k.as_str() {
            "columns" => {
                let cols = x.as_object().ok_or_else(|| bad("bad columns".into()))?;
                for (c, def) in cols {
                    if c.starts_with('_') {
                        return Err(bad(format!("column name {c} is reserved")));
                    }
                    let column_type = ColumnType::from_json(&def["type"])
                        .map_err(|e| bad(format!("column {c}: {e}")))?;
                    t.columns.insert(
                        c.clone(),
                        ColumnSchema {
                            column_type,
                            ephemeral: def["ephemeral"].as_bool().unwrap_or(false),
                            mutable: def["mutable"].as_bool().unwrap_or(true),
                        },
                    );
                }
            }
            "maxRows" => t.max_rows = Some(x.as_u64().ok_or_else(|| bad("bad maxRows".into()))?),
            "isRoot" => t.is_root = x.as_bool().ok_or_else(|| bad("bad isRoot".into()))?,
            "indexes" => {
                for ix in x.as_array().ok_or_else(|| bad("bad indexes".into()))? {
                    let cols: Option<Vec<String>> = ix
                        .as_array()
                        .map(|a| a.iter().map(|c| c.as_str().map(str::to_string)).collect())
                        .unwrap_or(None);
                    let cols = cols
                        .filter(|c| !c.is_empty())
                        .ok_or_else(|| bad(format!("bad index {ix}")))?;
                    if let Some(c) = cols
                        .iter()
                        .find(|c| t.column(c).is_none() && !cols_known(o, c))
                    {
                        return Err(bad(format!("index names unknown column {c}")));
                    }
                    t.indexes.push(cols);
                }
            }
            _ => return Err(bad(format!("unknown member {k:?}"))),
        }
    }
    Ok(t)
}

/// Index members may come before "columns" in the object.
fn cols_known(table: &Map<String, Value>, c: &str) -> bool {
    table["columns"].get(c).is_some() || c == "_uuid" || c == "_version"
}

impl DatabaseSchema {
    /// Reads a `.ovsschema` document.
    pub fn from_json(json: Value) -> Result<DatabaseSchema, Error> {
        let name = json["name"]
            .as_str()
            .ok_or_else(|| Error::Schema("schema has no name".into()))?
            .to_string();
        let mut tables = BTreeMap::new();
        let ts = json["tables"]
            .as_object()
            .ok_or_else(|| Error::Schema("schema has no tables".into()))?;
        for (t, def) in ts {
            tables.insert(t.clone(), table_from_json(t, def)?);
        }
        // Schemas from before garbage collection have no root set: every table is root.
        if !tables.values().any(|t| t.is_root) {
            tables.values_mut().for_each(|t| t.is_root = true);
        }
        for (t, def) in &tables {
            for (c, col) in &def.columns {
                let refs = [Some(&col.column_type.key), col.column_type.value.as_ref()];
                for rt in refs
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.ref_table.as_ref())
                {
                    if !tables.contains_key(rt) {
                        return Err(Error::Schema(format!(
                            "table {t} column {c} refers to undefined table {rt}"
                        )));
                    }
                }
            }
        }
        Ok(DatabaseSchema {
            version: json["version"].as_str().unwrap_or_default().to_string(),
            cksum: json["cksum"].as_str().map(str::to_string),
            name,
            tables,
            json,
        })
    }

    /// The schema written out from its parts (the original document is kept in `json`).
    pub fn to_json(&self) -> Value {
        let all_root = self.tables.values().all(|t| t.is_root);
        let tables: Map<String, Value> = self
            .tables
            .iter()
            .map(|(n, t)| {
                let cols: Map<String, Value> = t
                    .columns
                    .iter()
                    .map(|(c, s)| {
                        let mut o = json!({"type": s.column_type.to_json()});
                        if s.ephemeral {
                            o["ephemeral"] = json!(true);
                        }
                        if !s.mutable {
                            o["mutable"] = json!(false);
                        }
                        (c.clone(), o)
                    })
                    .collect();
                let mut o = json!({"columns": cols});
                if let Some(m) = t.max_rows {
                    o["maxRows"] = json!(m);
                }
                if t.is_root && !all_root {
                    o["isRoot"] = json!(true);
                }
                if !t.indexes.is_empty() {
                    o["indexes"] = json!(t.indexes);
                }
                (n.clone(), o)
            })
            .collect();
        let mut o = json!({"name": self.name, "version": self.version, "tables": tables});
        if let Some(c) = &self.cksum {
            o["cksum"] = json!(c);
        }
        o
    }

    /// The table `name`.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }
}
