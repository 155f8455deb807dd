//! OVSDB values: atoms, and data (sets and maps of atoms), in RFC 7047 JSON notation.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(String),
    Uuid(String),
    NamedUuid(String),
}

impl Atom {
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

    pub fn from_json(v: &Value) -> Option<Atom> {
        Some(match v {
            Value::Bool(b) => Atom::Boolean(*b),
            Value::String(s) => Atom::String(s.clone()),
            Value::Number(n) if n.is_i64() => Atom::Integer(n.as_i64()?),
            Value::Number(n) => Atom::Real(n.as_f64()?),
            Value::Array(a) if a.len() == 2 => match (a[0].as_str()?, a[1].as_str()?) {
                ("uuid", u) => Atom::Uuid(u.to_string()),
                ("named-uuid", n) => Atom::NamedUuid(n.to_string()),
                _ => return None,
            },
            _ => return None,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_uuid(&self) -> Option<&str> {
        match self {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

/// A column's value: a set (a scalar is a set of one) or a map.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Set(Vec<Atom>),
    Map(Vec<(Atom, Atom)>),
}

impl Datum {
    pub fn atom(a: Atom) -> Datum {
        Datum::Set(vec![a])
    }

    pub fn empty_set() -> Datum {
        Datum::Set(Vec::new())
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

    pub fn from_json(v: &Value) -> Option<Datum> {
        if let Some(a) = v.as_array() {
            if a.len() == 2 {
                match a[0].as_str() {
                    Some("set") => {
                        return a[1]
                            .as_array()?
                            .iter()
                            .map(Atom::from_json)
                            .collect::<Option<Vec<_>>>()
                            .map(Datum::Set)
                    }
                    Some("map") => {
                        return a[1]
                            .as_array()?
                            .iter()
                            .map(|pair| {
                                let p = pair.as_array()?;
                                (p.len() == 2).then_some(())?;
                                Some((Atom::from_json(&p[0])?, Atom::from_json(&p[1])?))
                            })
                            .collect::<Option<Vec<_>>>()
                            .map(Datum::Map)
                    }
                    _ => {}
                }
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

    pub fn map_get(&self, key: &str) -> Option<&Atom> {
        match self {
            Datum::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn atom() -> impl Strategy<Value = Atom> {
        prop_oneof![
            any::<i64>().prop_map(Atom::Integer),
            any::<bool>().prop_map(Atom::Boolean),
            "[a-z0-9:/._-]{0,12}".prop_map(Atom::String),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Atom::Uuid),
            "row[0-9a-f_]{8}".prop_map(Atom::NamedUuid),
            (-1.0e9f64..1.0e9)
                .prop_filter("not integral", |f| f.fract() != 0.0)
                .prop_map(Atom::Real),
        ]
    }

    proptest! {
        #[test]
        fn datum_round_trip(set in proptest::collection::vec(atom(), 0..5), map in proptest::collection::vec((atom(), atom()), 0..4), as_map: bool) {
            let d = if as_map { Datum::Map(map) } else { Datum::Set(set) };
            prop_assert_eq!(Datum::from_json(&d.to_json()), Some(d));
        }
    }

    #[test]
    fn notation() {
        assert_eq!(Datum::atom(Atom::Integer(1)).to_json(), json!(1));
        assert_eq!(Datum::empty_set().to_json(), json!(["set", []]));
        assert_eq!(
            Datum::atom(Atom::Uuid("u".into())).to_json(),
            json!(["uuid", "u"])
        );
        let m = Datum::from_json(&json!(["map", [["vhost-server-path", "/x"]]])).unwrap();
        assert_eq!(
            m.map_get("vhost-server-path"),
            Some(&Atom::String("/x".into()))
        );
    }
}
