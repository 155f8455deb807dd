//! Conditions (`where` clauses, RFC 7047 §5.1 `<condition>`) and mutations
//! (`<mutation>`), generic over how their value is held: a [`Datum`] for clients, the raw
//! JSON for a server that reads it through the column's type.

use serde_json::{json, Value};

use crate::datum::Datum;
use crate::error::OvsdbError;

/// What a clause's value can be kept as.
pub trait ClauseValue: Sized + Clone + std::fmt::Debug + PartialEq {
    /// Reads it from its JSON notation.
    fn from_json(v: &Value) -> Result<Self, OvsdbError>;
    /// Its JSON notation.
    fn to_json(&self) -> Value;
}

impl ClauseValue for Datum {
    fn from_json(v: &Value) -> Result<Datum, OvsdbError> {
        Datum::from_json(v).ok_or_else(|| OvsdbError::syntax(v, "expected an OVSDB value"))
    }

    fn to_json(&self) -> Value {
        Datum::to_json(self)
    }
}

impl ClauseValue for Value {
    fn from_json(v: &Value) -> Result<Value, OvsdbError> {
        Ok(v.clone())
    }

    fn to_json(&self) -> Value {
        self.clone()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// A condition's comparison (RFC 7047 5.1).
pub enum Function {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `includes`
    Includes,
    /// `excludes`
    Excludes,
    /// The literal clause `true` (written without column or value).
    True,
    /// The literal clause `false`.
    False,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 8] = [
        Function::Lt,
        Function::Le,
        Function::Eq,
        Function::Ne,
        Function::Ge,
        Function::Gt,
        Function::Includes,
        Function::Excludes,
    ];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
            Function::True => "true",
            Function::False => "false",
        }
    }

    /// The functions written `[column, name, value]` (not the literals).
    pub fn from_name(s: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Only for integer and real columns.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            Function::Lt | Function::Le | Function::Ge | Function::Gt
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// A mutation's operator (RFC 7047 5.1).
pub enum Mutator {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
    /// `insert`
    Insert,
    /// `delete`
    Delete,
}

impl Mutator {
    /// Every mutator.
    pub const ALL: [Mutator; 7] = [
        Mutator::Add,
        Mutator::Sub,
        Mutator::Mul,
        Mutator::Div,
        Mutator::Mod,
        Mutator::Insert,
        Mutator::Delete,
    ];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }

    /// The mutator of a wire name.
    pub fn from_name(s: &str) -> Option<Mutator> {
        Mutator::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether it is arithmetic (not `insert`/`delete`).
    pub fn is_arithmetic(self) -> bool {
        !matches!(self, Mutator::Insert | Mutator::Delete)
    }
}

/// `[column, function, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition<V = Datum> {
    /// The column compared.
    pub column: String,
    /// How.
    pub function: Function,
    /// With what.
    pub value: V,
}

impl<V: ClauseValue> Condition<V> {
    /// `column function value`.
    pub fn new(column: &str, function: Function, value: V) -> Condition<V> {
        Condition {
            column: column.to_string(),
            function,
            value,
        }
    }

    /// `[column, function, value]`.
    pub fn to_json(&self) -> Value {
        match self.function {
            Function::True => json!(true),
            Function::False => json!(false),
            f => json!([self.column, f.name(), self.value.to_json()]),
        }
    }

    /// Reads `[column, function, value]`.
    pub fn from_json(v: &Value) -> Result<Condition<V>, OvsdbError> {
        if let Value::Bool(b) = v {
            let function = if *b { Function::True } else { Function::False };
            return Ok(Condition {
                column: String::new(),
                function,
                value: V::from_json(&json!(["set", []]))?,
            });
        }
        let (column, function, value) = triple(v, "Parse error in condition.")?;
        let function = Function::from_name(function).ok_or_else(|| {
            OvsdbError::new("unknown function", format!("No function named {function}."))
        })?;
        Ok(Condition {
            column: column.to_string(),
            function,
            value: V::from_json(value)?,
        })
    }
}

impl Condition<Datum> {
    /// `_uuid == ["uuid", uuid]`: the row with this UUID.
    pub fn uuid_is(uuid: &str) -> Condition {
        Condition::new("_uuid", Function::Eq, Datum::uuid(uuid))
    }

    /// `column == "value"`.
    pub fn string_is(column: &str, value: &str) -> Condition {
        Condition::new(column, Function::Eq, Datum::string(value))
    }
}

/// `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation<V = Datum> {
    /// The column changed.
    pub column: String,
    /// How.
    pub mutator: Mutator,
    /// By what.
    pub value: V,
}

impl<V: ClauseValue> Mutation<V> {
    /// `column mutator value`.
    pub fn new(column: &str, mutator: Mutator, value: V) -> Mutation<V> {
        Mutation {
            column: column.to_string(),
            mutator,
            value,
        }
    }

    /// `[column, mutator, value]`.
    pub fn to_json(&self) -> Value {
        json!([self.column, self.mutator.name(), self.value.to_json()])
    }

    /// Reads `[column, mutator, value]`.
    pub fn from_json(v: &Value) -> Result<Mutation<V>, OvsdbError> {
        let (column, mutator, value) = triple(v, "Parse error in mutation.")?;
        let mutator = Mutator::from_name(mutator).ok_or_else(|| {
            OvsdbError::new("unknown mutator", format!("No mutator named {mutator}."))
        })?;
        Ok(Mutation {
            column: column.to_string(),
            mutator,
            value: V::from_json(value)?,
        })
    }
}

fn triple<'a>(v: &'a Value, what: &str) -> Result<(&'a str, &'a str, &'a Value), OvsdbError> {
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(c), Value::String(f), value]) => Ok((c, f, value)),
        _ => Err(OvsdbError::syntax(v, what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(json!(["tag", "=="]), "syntax error", "Parse error in condition.")]
    #[case(json!(["tag", "foo", 5]), "unknown function", "No function named foo.")]
    #[case(json!([1, "==", 5]), "syntax error", "Parse error in condition.")]
    #[case(json!(null), "syntax error", "Parse error in condition.")]
    fn bad_conditions(#[case] v: Value, #[case] error: &str, #[case] details: &str) {
        let e = Condition::<Datum>::from_json(&v).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.details.as_deref()),
            (error, Some(details))
        );
    }

    #[rstest]
    #[case(json!(["tag", "+="]), "syntax error", "Parse error in mutation.")]
    #[case(json!(["tag", "frob", 1]), "unknown mutator", "No mutator named frob.")]
    fn bad_mutations(#[case] v: Value, #[case] error: &str, #[case] details: &str) {
        let e = Mutation::<Datum>::from_json(&v).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.details.as_deref()),
            (error, Some(details))
        );
    }

    #[test]
    fn names_round_trip() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        for m in Mutator::ALL {
            assert_eq!(Mutator::from_name(m.name()), Some(m));
        }
        assert_eq!(
            Condition::uuid_is("u").to_json(),
            json!(["_uuid", "==", ["uuid", "u"]])
        );
        for b in [true, false] {
            let c = Condition::<Datum>::from_json(&json!(b)).unwrap();
            assert_eq!(c.to_json(), json!(b));
        }
    }
}
