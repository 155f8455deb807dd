//! The parts of an `.ovsschema` the server enforces: column types (atomic type, refs,
//! enums, integer ranges, set sizes), root tables and unique indexes.

use std::collections::BTreeMap;

use ovsdb::Atom;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct BaseType {
    /// integer, real, boolean, string, uuid
    pub atomic: String,
    pub ref_table: Option<String>,
    /// strong (default) or weak
    pub ref_strong: bool,
    pub enumeration: Option<Vec<Atom>>,
    pub min_integer: Option<i64>,
    pub max_integer: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ColumnType {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: usize,
    /// `None` = unlimited.
    pub max: Option<usize>,
}

impl ColumnType {
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }
}

#[derive(Debug, Clone)]
pub struct TableSchema {
    pub columns: BTreeMap<String, ColumnType>,
    pub is_root: bool,
    pub indexes: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub name: String,
    pub version: String,
    pub tables: BTreeMap<String, TableSchema>,
    /// The schema document as loaded, served by `get_schema`.
    pub json: Value,
}

fn base(v: &Value) -> Result<BaseType, String> {
    if let Some(s) = v.as_str() {
        return Ok(BaseType {
            atomic: s.to_string(),
            ref_table: None,
            ref_strong: true,
            enumeration: None,
            min_integer: None,
            max_integer: None,
        });
    }
    let atomic = v["type"]
        .as_str()
        .ok_or("base type without \"type\"")?
        .to_string();
    let enumeration = match &v["enum"] {
        Value::Null => None,
        e => Some(match ovsdb::Datum::from_json(e).ok_or("bad enum")? {
            ovsdb::Datum::Set(atoms) => atoms,
            ovsdb::Datum::Map(_) => return Err("enum is a map".into()),
        }),
    };
    Ok(BaseType {
        atomic,
        ref_table: v["refTable"].as_str().map(str::to_string),
        ref_strong: v["refType"].as_str() != Some("weak"),
        enumeration,
        min_integer: v["minInteger"].as_i64(),
        max_integer: v["maxInteger"].as_i64(),
    })
}

fn column_type(v: &Value) -> Result<ColumnType, String> {
    if v.is_string() {
        return Ok(ColumnType {
            key: base(v)?,
            value: None,
            min: 1,
            max: Some(1),
        });
    }
    Ok(ColumnType {
        key: base(&v["key"])?,
        value: match &v["value"] {
            Value::Null => None,
            val => Some(base(val)?),
        },
        min: v["min"].as_u64().unwrap_or(1) as usize,
        max: match &v["max"] {
            Value::String(s) if s == "unlimited" => None,
            Value::Null => Some(1),
            m => Some(m.as_u64().ok_or("bad max")? as usize),
        },
    })
}

impl Schema {
    pub fn parse(json: Value) -> Result<Schema, String> {
        let mut tables = BTreeMap::new();
        let ts = json["tables"].as_object().ok_or("schema has no tables")?;
        for (name, t) in ts {
            let mut columns = BTreeMap::new();
            for (c, def) in t["columns"].as_object().ok_or("table has no columns")? {
                columns.insert(
                    c.clone(),
                    column_type(&def["type"]).map_err(|e| format!("{name}.{c}: {e}"))?,
                );
            }
            let indexes = t["indexes"]
                .as_array()
                .map(|ix| {
                    ix.iter()
                        .filter_map(|cols| {
                            cols.as_array().map(|c| {
                                c.iter()
                                    .filter_map(|x| x.as_str().map(str::to_string))
                                    .collect()
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            tables.insert(
                name.clone(),
                TableSchema {
                    columns,
                    is_root: t["isRoot"].as_bool().unwrap_or(false),
                    indexes,
                },
            );
        }
        Ok(Schema {
            name: json["name"]
                .as_str()
                .ok_or("schema has no name")?
                .to_string(),
            version: json["version"].as_str().unwrap_or_default().to_string(),
            tables,
            json,
        })
    }

    /// The Open_vSwitch schema carried in this repository.
    pub fn open_vswitch() -> Schema {
        let text = include_str!("../schema/vswitch.ovsschema");
        Schema::parse(serde_json::from_str(text).expect("carried schema is JSON"))
            .expect("carried schema parses")
    }
}
