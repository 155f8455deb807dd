//! A JSON object as written, with every key in order, repeats included.
//!
//! `serde_json::Value` keeps only the last of a key given twice, but Go's `encoding/json`
//! (which the original plugin's netconfs were written for) decodes each occurrence into
//! the same struct, so `"host":{"engine":"vpp"},"host":{"iftype":"memif"}` means both
//! fields. [`super::keys`] applies Go's rules; this only keeps what it needs to see.
//! Hand-written because serde_json has no mode that reports repeated keys.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value whose objects keep every key in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Object(Vec<(String, Raw)>),
    Other(Value),
}

impl Raw {
    /// The value as `serde_json` would have read it (a repeated key: the last one).
    pub fn into_value(self) -> Value {
        match self {
            Raw::Other(v) => v,
            Raw::Object(pairs) => Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

impl From<Value> for Raw {
    fn from(v: Value) -> Raw {
        match v {
            Value::Object(m) => {
                Raw::Object(m.into_iter().map(|(k, v)| (k, Raw::from(v))).collect())
            }
            other => Raw::Other(other),
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Other(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Other(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Other(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Other(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Other(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Raw>()? {
            items.push(item.into_value());
        }
        Ok(Raw::Other(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Raw>()?;
            pairs.push((key, value));
        }
        Ok(Raw::Object(pairs))
    }
}

/// Parses JSON text keeping repeated keys.
pub fn parse(bytes: &[u8]) -> Result<Raw, String> {
    serde_json::from_slice(bytes).map_err(|e: serde_json::Error| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_keys_are_all_kept_in_order() {
        let raw = parse(br#"{"a":{"x":1},"a":{"y":2},"b":[{"k":1,"k":2}]}"#).unwrap();
        let Raw::Object(pairs) = &raw else {
            panic!("{raw:?}")
        };
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "a", "b"]);
        // Outside our own objects, the last occurrence wins (serde_json's reading).
        assert_eq!(raw.into_value(), json!({"a": {"y": 2}, "b": [{"k": 2}]}));
    }

    #[test]
    fn syntax_errors_read_as_serde_json_reports_them() {
        assert_eq!(
            parse(b"{not json").unwrap_err(),
            serde_json::from_slice::<Value>(b"{not json")
                .unwrap_err()
                .to_string()
        );
    }
}
