//! Values read through a column's type: JSON checked against the atomic type, the set or
//! map shape, the number of elements and the constraints, with the errors ovsdb-server
//! reports (`"syntax error"`, `"constraint violation"`, `"ovsdb error"`).

use serde_json::Value;

use crate::datum::{is_uuid, Atom, Datum};
use crate::error::OvsdbError;
use crate::schema::{AtomicType, BaseType, ColumnType};

/// How OVSDB prints an unlimited `max`.
const UNLIMITED: u64 = u32::MAX as u64;

impl BaseType {
    /// Parses one atom of this type (integers are accepted for reals). Constraints are
    /// checked too, except that named UUIDs are left for the caller to resolve.
    pub fn parse_atom(&self, v: &Value) -> Result<Atom, OvsdbError> {
        let expected = || OvsdbError::syntax(v, format!("expected {}", self.atomic.name()));
        let atom = match (self.atomic, v) {
            (AtomicType::Integer, Value::Number(n)) => {
                Atom::Integer(n.as_i64().ok_or_else(expected)?)
            }
            (AtomicType::Real, Value::Number(n)) => Atom::Real(n.as_f64().ok_or_else(expected)?),
            (AtomicType::Boolean, Value::Bool(b)) => Atom::Boolean(*b),
            (AtomicType::String, Value::String(s)) => Atom::String(s.clone()),
            (AtomicType::Uuid, Value::Array(a)) if a.len() == 2 => {
                match (a[0].as_str(), a[1].as_str()) {
                    (Some("uuid"), Some(u)) if is_uuid(u) => Atom::Uuid(u.to_ascii_lowercase()),
                    (Some("uuid"), Some(u)) => {
                        return Err(OvsdbError::syntax(
                            v,
                            format!("\"{u}\" is not a valid UUID"),
                        ))
                    }
                    (Some("named-uuid"), Some(n)) => return Ok(Atom::NamedUuid(n.to_string())),
                    _ => return Err(expected()),
                }
            }
            _ => return Err(expected()),
        };
        self.check(&atom)?;
        Ok(atom)
    }

    /// Checks `enum`, ranges and lengths.
    pub fn check(&self, a: &Atom) -> Result<(), OvsdbError> {
        let violation = |d: String| Err(OvsdbError::new("constraint violation", d));
        if let Some(allowed) = &self.enumeration {
            if !allowed.iter().any(|x| x.compare(a).is_eq()) {
                let list: Vec<String> = allowed.iter().map(Atom::to_display).collect();
                return violation(format!(
                    "{} is not one of the allowed values ([{}])",
                    a.to_display(),
                    list.join(", ")
                ));
            }
        }
        match a {
            Atom::Integer(i) => match (self.min_integer, self.max_integer) {
                (Some(lo), Some(hi)) if *i < lo || *i > hi => violation(format!(
                    "{i} is not in the valid range {lo} to {hi} (inclusive)"
                )),
                (Some(lo), None) if *i < lo => {
                    violation(format!("{i} is less than minimum allowed value {lo}"))
                }
                (None, Some(hi)) if *i > hi => {
                    violation(format!("{i} is greater than maximum allowed value {hi}"))
                }
                _ => Ok(()),
            },
            Atom::Real(r) => match (self.min_real, self.max_real) {
                (Some(lo), Some(hi)) if *r < lo || *r > hi => violation(format!(
                    "{r} is not in the valid range {lo} to {hi} (inclusive)"
                )),
                (Some(lo), None) if *r < lo => {
                    violation(format!("{r} is less than minimum allowed value {lo}"))
                }
                (None, Some(hi)) if *r > hi => {
                    violation(format!("{r} is greater than maximum allowed value {hi}"))
                }
                _ => Ok(()),
            },
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                match (self.min_length, self.max_length) {
                    (Some(lo), _) if n < lo => violation(format!(
                        "\"{s}\" length {n} is less than minimum allowed length {lo}"
                    )),
                    (_, Some(hi)) if n > hi => violation(format!(
                        "\"{s}\" length {n} is greater than maximum allowed length {hi}"
                    )),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// The value a column of this type holds when nothing set it.
    pub fn default_atom(&self) -> Atom {
        match self.atomic {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid("00000000-0000-0000-0000-000000000000".into()),
        }
    }
}

impl ColumnType {
    /// Parses a value of this type: shape, element count, duplicates, constraints.
    pub fn parse_datum(&self, v: &Value) -> Result<Datum, OvsdbError> {
        let tagged = |tag: &str| -> Option<&Vec<Value>> {
            match v.as_array().map(Vec::as_slice) {
                Some([t, Value::Array(body)]) if t == tag => Some(body),
                _ => None,
            }
        };
        let d = if let Some(vt) = &self.value {
            let pairs = tagged("map")
                .ok_or_else(|| OvsdbError::syntax(v, "expected [\"map\", <array>]"))?;
            let mut m = Vec::with_capacity(pairs.len());
            for p in pairs {
                match p.as_array().map(Vec::as_slice) {
                    Some([k, val]) => m.push((self.key.parse_atom(k)?, vt.parse_atom(val)?)),
                    _ => return Err(OvsdbError::syntax(p, "expected <key, value> pair")),
                }
            }
            Datum::Map(m)
        } else if let Some(elems) = tagged("set") {
            Datum::Set(
                elems
                    .iter()
                    .map(|e| self.key.parse_atom(e))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            Datum::atom(self.key.parse_atom(v)?)
        };
        self.check_size(&d).map_err(|e| e.with_syntax(v))?;
        if d.has_duplicates() {
            let what = if self.is_map() {
                "map contains duplicate key"
            } else {
                "set contains duplicate"
            };
            return Err(OvsdbError::new("ovsdb error", what));
        }
        Ok(d.normalized())
    }

    /// Checks the element count against `min` and `max`.
    pub fn check_size(&self, d: &Datum) -> Result<(), OvsdbError> {
        let n = d.len();
        if n < self.min || self.max.is_some_and(|m| n > m) {
            let kind = if self.is_map() { "map" } else { "set" };
            let max = self.max.map_or(UNLIMITED, |m| m as u64);
            return Err(OvsdbError::new(
                "syntax error",
                format!(
                    "{kind} must have {} to {max} members but {n} are present",
                    self.min
                ),
            ));
        }
        Ok(())
    }

    /// The value of a column nothing set: empty for optional columns and maps, else the
    /// type's zero (0, 0.0, false, "", the all-zero UUID).
    pub fn default_datum(&self) -> Datum {
        if self.is_map() {
            Datum::Map(Vec::new())
        } else if self.min == 0 {
            Datum::Set(Vec::new())
        } else {
            Datum::atom(self.key.default_atom())
        }
    }

    /// The type in words, as OVSDB messages name it ("set of up to 4096 integers").
    pub fn english(&self) -> String {
        let key = self.key.atomic.name();
        if self.is_scalar() {
            return key.to_string();
        }
        let mut s = String::from(if self.is_map() { "map" } else { "set" });
        match (self.min, self.max) {
            (0, None) => s.push_str(" of"),
            (n, None) => s.push_str(&format!(" of {n} or more")),
            (0, Some(m)) => s.push_str(&format!(" of up to {m}")),
            (n, Some(m)) => s.push_str(&format!(" of {n} to {m}")),
        }
        match &self.value {
            None => s.push_str(&format!(" {key}s")),
            Some(v) => s.push_str(&format!(" ({key}, {}) pairs", v.atomic.name())),
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn t(v: Value) -> ColumnType {
        ColumnType::from_json(&v).unwrap()
    }

    #[rstest]
    #[case::string(json!("string"), json!("x"), Ok(json!("x")))]
    #[case::wrong_atom(json!("string"), json!(5), Err("expected string"))]
    #[case::real_from_integer(json!("real"), json!(2), Ok(json!(2.0)))]
    #[case::fraction_for_integer(json!("integer"), json!(1.5), Err("expected integer"))]
    #[case::range(json!({"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}, "min": 0}), json!(5000), Err("5000 is not in the valid range 0 to 4095 (inclusive)"))]
    #[case::enumeration(json!({"key": {"type": "string", "enum": ["set", ["trunk", "access"]]}}), json!("sideways"), Err("sideways is not one of the allowed values ([access, trunk])"))]
    #[case::too_few(json!({"key": "uuid", "min": 1, "max": "unlimited"}), json!(["set", []]), Err("set must have 1 to 4294967295 members but 0 are present"))]
    #[case::too_many(json!({"key": "integer", "min": 0, "max": 1}), json!(["set", [1, 2]]), Err("set must have 0 to 1 members but 2 are present"))]
    #[case::duplicate(json!({"key": "integer", "min": 0, "max": 9}), json!(["set", [1, 1]]), Err("set contains duplicate"))]
    #[case::sorted(json!({"key": "integer", "min": 0, "max": 9}), json!(["set", [3, 1]]), Ok(json!(["set", [1, 3]])))]
    #[case::map_needs_tag(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}), json!(["set", []]), Err("expected [\"map\", <array>]"))]
    #[case::map_duplicate(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}), json!(["map", [["a", "1"], ["a", "2"]]]), Err("map contains duplicate key"))]
    #[case::bad_uuid(json!("uuid"), json!(["uuid", "zzz"]), Err("\"zzz\" is not a valid UUID"))]
    #[case::named_uuid(json!("uuid"), json!(["named-uuid", "row1"]), Ok(json!(["named-uuid", "row1"])))]
    #[case::length(json!({"key": {"type": "string", "maxLength": 2}}), json!("abc"), Err("\"abc\" length 3 is greater than maximum allowed length 2"))]
    fn parse_datum(#[case] ty: Value, #[case] v: Value, #[case] want: Result<Value, &str>) {
        let got = t(ty).parse_datum(&v);
        match want {
            Ok(w) => assert_eq!(got.unwrap().to_json(), w),
            Err(d) => assert_eq!(got.unwrap_err().details.as_deref(), Some(d)),
        }
    }

    #[rstest]
    #[case(json!("integer"), "integer")]
    #[case(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}), "map of (string, string) pairs")]
    #[case(json!({"key": "integer", "min": 0, "max": 4096}), "set of up to 4096 integers")]
    #[case(json!({"key": "uuid", "min": 1, "max": "unlimited"}), "set of 1 or more uuids")]
    #[case(json!({"key": "uuid", "min": 1, "max": 2}), "set of 1 to 2 uuids")]
    fn english(#[case] ty: Value, #[case] want: &str) {
        assert_eq!(t(ty).english(), want);
    }

    #[test]
    fn defaults() {
        assert_eq!(t(json!("integer")).default_datum(), Datum::integer(0));
        assert_eq!(
            t(json!({"key": "integer", "min": 0})).default_datum(),
            Datum::empty_set()
        );
        assert_eq!(
            t(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}))
                .default_datum(),
            Datum::Map(vec![])
        );
    }
}
