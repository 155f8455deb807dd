//! OVSDB values (RFC 7047 §5.1): atoms, and data — sets and maps of atoms — in their JSON
//! notation: `["uuid",U]`, `["named-uuid",N]`, `["set",[..]]`, `["map",[[k,v],..]]`, and a
//! set of exactly one atom written as the bare atom.
//!
//! Parsing here is untyped: the notation alone decides what a value is. A column's type
//! (see [`crate::schema`]) then checks it and converts integers written for real columns.

use std::cmp::Ordering;

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, PartialOrd)]
/// One value of an atomic type.
pub enum Atom {
    /// An integer.
    Integer(i64),
    /// A real.
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
    /// A row's UUID, lower-case `8-4-4-4-12` hex.
    Uuid(String),
    /// A row inserted by the same transaction, by its `uuid-name`.
    NamedUuid(String),
}

/// Whether `s` is a UUID as OVSDB writes them (`8-4-4-4-12` hex digits).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `s` may be a `uuid-name`: an identifier (letter or `_`, then letters, digits, `_`).
pub fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Atom {
    /// Its JSON notation.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u]),
            Atom::NamedUuid(n) => json!(["named-uuid", n]),
        }
    }

    /// Reads its JSON notation.
    pub fn from_json(v: &Value) -> Option<Atom> {
        Some(match v {
            Value::Bool(b) => Atom::Boolean(*b),
            Value::String(s) => Atom::String(s.clone()),
            Value::Number(n) if n.is_i64() => Atom::Integer(n.as_i64()?),
            Value::Number(n) if n.is_u64() => return None,
            Value::Number(n) => Atom::Real(n.as_f64()?),
            Value::Array(a) if a.len() == 2 => match (a[0].as_str()?, a[1].as_str()?) {
                ("uuid", u) => Atom::Uuid(u.to_string()),
                ("named-uuid", n) => Atom::NamedUuid(n.to_string()),
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The UUID, if it is one.
    pub fn as_uuid(&self) -> Option<&str> {
        match self {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }

    /// The integer, if it is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The real (integers too), if it is one.
    pub fn as_real(&self) -> Option<f64> {
        match self {
            Atom::Real(r) => Some(*r),
            Atom::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
            Atom::NamedUuid(_) => 5,
        }
    }

    /// OVSDB's order: numbers by value, `false < true`, strings bytewise, UUIDs by their
    /// hex text (the same as by value). Atoms of different kinds order by kind.
    pub fn compare(&self, other: &Atom) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b))
            | (Atom::Uuid(a), Atom::Uuid(b))
            | (Atom::NamedUuid(a), Atom::NamedUuid(b)) => a.as_bytes().cmp(b.as_bytes()),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    /// The atom as OVSDB prints it in messages: strings bare when they read as a word.
    pub fn to_display(&self) -> String {
        match self {
            Atom::String(s) if needs_quotes(s) => json!(s).to_string(),
            Atom::String(s) | Atom::Uuid(s) | Atom::NamedUuid(s) => s.clone(),
            Atom::Integer(i) => i.to_string(),
            Atom::Real(r) => r.to_string(),
            Atom::Boolean(b) => b.to_string(),
        }
    }
}

fn needs_quotes(s: &str) -> bool {
    let first_ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    !first_ok
        || s == "true"
        || s == "false"
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A column's value: a set (a scalar is a set of one) or a map.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// A set (an atom alone is a set of one).
    Set(Vec<Atom>),
    /// A map.
    Map(Vec<(Atom, Atom)>),
}

impl Datum {
    /// A set of one.
    pub fn atom(a: Atom) -> Datum {
        Datum::Set(vec![a])
    }

    /// The empty set.
    pub fn empty_set() -> Datum {
        Datum::Set(Vec::new())
    }

    /// A string.
    pub fn string(s: &str) -> Datum {
        Datum::atom(Atom::String(s.to_string()))
    }

    /// An integer.
    pub fn integer(i: i64) -> Datum {
        Datum::atom(Atom::Integer(i))
    }

    /// A UUID.
    pub fn uuid(u: &str) -> Datum {
        Datum::atom(Atom::Uuid(u.to_string()))
    }

    /// A map of strings to strings.
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Datum {
        Datum::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Atom::String(k.into()), Atom::String(v.into())))
                .collect(),
        )
    }

    /// OVS's notation: a set of one is the bare atom, other sets `["set",[..]]`.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(v) if v.len() == 1 => v[0].to_json(),
            Datum::Set(v) => json!(["set", v.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            Datum::Map(m) => json!([
                "map",
                m.iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// Reads its JSON notation.
    pub fn from_json(v: &Value) -> Option<Datum> {
        if let Some([tag, body]) = v.as_array().map(Vec::as_slice) {
            match tag.as_str() {
                Some("set") => {
                    return body
                        .as_array()?
                        .iter()
                        .map(Atom::from_json)
                        .collect::<Option<Vec<_>>>()
                        .map(Datum::Set)
                }
                Some("map") => {
                    return body
                        .as_array()?
                        .iter()
                        .map(|pair| match pair.as_array().map(Vec::as_slice) {
                            Some([k, v]) => Some((Atom::from_json(k)?, Atom::from_json(v)?)),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                        .map(Datum::Map)
                }
                _ => {}
            }
        }
        Atom::from_json(v).map(Datum::atom)
    }

    /// The single atom of a scalar.
    pub fn scalar(&self) -> Option<&Atom> {
        match self {
            Datum::Set(v) if v.len() == 1 => v.first(),
            _ => None,
        }
    }

    /// How many elements.
    pub fn len(&self) -> usize {
        match self {
            Datum::Set(s) => s.len(),
            Datum::Map(m) => m.len(),
        }
    }

    /// Whether it has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of a string key of a map.
    pub fn map_get(&self, key: &str) -> Option<&Atom> {
        match self {
            Datum::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether a set holds `a` (for a map: whether `a` is one of its keys).
    pub fn contains(&self, a: &Atom) -> bool {
        match self {
            Datum::Set(s) => s.iter().any(|x| x.compare(a).is_eq()),
            Datum::Map(m) => m.iter().any(|(k, _)| k.compare(a).is_eq()),
        }
    }

    /// Sorted in OVSDB's order (maps by key), duplicates removed: the form in which two
    /// data are equal exactly when they are the same value.
    pub fn normalized(self) -> Datum {
        match self {
            Datum::Set(mut v) => {
                v.sort_by(Atom::compare);
                v.dedup_by(|a, b| a.compare(b).is_eq());
                Datum::Set(v)
            }
            Datum::Map(mut m) => {
                m.sort_by(|a, b| a.0.compare(&b.0));
                m.dedup_by(|a, b| a.0.compare(&b.0).is_eq());
                Datum::Map(m)
            }
        }
    }

    /// Whether sorting would find two equal atoms (two equal keys for a map).
    pub fn has_duplicates(&self) -> bool {
        let mut keys: Vec<&Atom> = match self {
            Datum::Set(s) => s.iter().collect(),
            Datum::Map(m) => m.iter().map(|(k, _)| k).collect(),
        };
        keys.sort_by(|a, b| a.compare(b));
        keys.windows(2).any(|w| w[0].compare(w[1]).is_eq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn atom() -> impl Strategy<Value = Atom> {
        prop_oneof![
            any::<i64>().prop_map(Atom::Integer),
            any::<bool>().prop_map(Atom::Boolean),
            "[a-z0-9:/._ \"\\\\-]{0,12}".prop_map(Atom::String),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Atom::Uuid),
            "row[0-9a-f_]{8}".prop_map(Atom::NamedUuid),
            // Exactly representable with few digits: serde_json (without its float_roundtrip
            // feature) may misread the last bit of 17-digit reals.
            (-1i64 << 40..1i64 << 40).prop_map(|i| Atom::Real(i as f64 / 8.0)),
        ]
    }

    proptest! {
        #[test]
        fn atom_round_trip(a in atom()) {
            prop_assert_eq!(Atom::from_json(&a.to_json()), Some(a));
        }

        #[test]
        fn datum_round_trip(set in proptest::collection::vec(atom(), 0..5),
                            map in proptest::collection::vec((atom(), atom()), 0..4),
                            as_map: bool) {
            let d = if as_map { Datum::Map(map) } else { Datum::Set(set) };
            let text = serde_json::to_string(&d.to_json()).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(Datum::from_json(&back), Some(d));
        }

        #[test]
        fn normalized_is_sorted_unique_and_idempotent(set in proptest::collection::vec(atom(), 0..8)) {
            let n = Datum::Set(set.clone()).normalized();
            prop_assert!(!n.has_duplicates());
            prop_assert_eq!(n.clone().normalized(), n.clone());
            for a in &set {
                prop_assert!(n.contains(a));
            }
        }
    }

    #[test]
    fn notation() {
        assert_eq!(Datum::integer(1).to_json(), json!(1));
        assert_eq!(Datum::empty_set().to_json(), json!(["set", []]));
        assert_eq!(Datum::uuid("u").to_json(), json!(["uuid", "u"]));
        assert_eq!(
            Datum::Set(vec![Atom::Integer(1), Atom::Integer(2)]).to_json(),
            json!(["set", [1, 2]])
        );
        let m = Datum::from_json(&json!(["map", [["vhost-server-path", "/x"]]])).unwrap();
        assert_eq!(
            m.map_get("vhost-server-path"),
            Some(&Atom::String("/x".into()))
        );
        assert_eq!(Datum::from_json(&json!(["set", [[1]]])), None);
        assert_eq!(Datum::from_json(&json!({"a": 1})), None);
        assert_eq!(Datum::from_json(&json!(null)), None);
    }

    #[test]
    fn uuids_and_ids() {
        assert!(is_uuid("6f8c5e4a-6a43-4a0e-9a8e-3d1e2b1c0a01"));
        assert!(!is_uuid("6f8c5e4a-6a43-4a0e-9a8e-3d1e2b1c0a0"));
        assert!(!is_uuid("zzz"));
        assert!(is_id("row_1") && is_id("_x"));
        assert!(!is_id("1a") && !is_id("") && !is_id("a-b"));
    }

    #[test]
    fn display_quotes_only_what_needs_it() {
        assert_eq!(
            Atom::String("dot1q-tunnel".into()).to_display(),
            "dot1q-tunnel"
        );
        assert_eq!(Atom::String("a b".into()).to_display(), "\"a b\"");
        assert_eq!(Atom::String("".into()).to_display(), "\"\"");
        assert_eq!(Atom::String("true".into()).to_display(), "\"true\"");
    }
}
