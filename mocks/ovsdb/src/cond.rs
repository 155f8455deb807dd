//! `where` clauses (of `transact` operations and of `monitor_cond` requests): read
//! through the column's type, then evaluated on rows the way ovsdb-server does (an empty
//! optional scalar matches only `!=` and `excludes`).

use ovsdb::schema::{AtomicType, ColumnType, TableSchema};
use ovsdb::{Atom, Condition, Datum, Function, OvsdbError};
use serde_json::Value;

use crate::db::{self, Row, Table};

/// A condition ready to evaluate.
#[derive(Debug, Clone)]
pub struct Clause {
    column: String,
    function: Function,
    arg: Datum,
    column_type: ColumnType,
}

/// Reads `conds` for `table` (schema `ts`); `resolve` replaces named UUIDs.
pub fn parse(
    ts: &TableSchema,
    table: &str,
    conds: &[Condition<Value>],
    resolve: &mut dyn FnMut(Datum) -> Datum,
) -> Result<Vec<Clause>, OvsdbError> {
    let mut out = Vec::with_capacity(conds.len());
    for c in conds {
        if matches!(c.function, Function::True | Function::False) {
            out.push(Clause {
                column: String::new(),
                function: c.function,
                arg: Datum::empty_set(),
                column_type: ColumnType::scalar(ovsdb::schema::BaseType::plain(
                    AtomicType::Boolean,
                )),
            });
            continue;
        }
        let col = ts.column(&c.column).ok_or_else(|| {
            OvsdbError::new(
                "unknown column",
                format!("No column {} in table {table}.", c.column),
            )
            .with_syntax(&c.to_json())
        })?;
        let ty = &col.column_type;
        let arg_type = match c.function {
            f if f.is_ordering() => {
                let numeric = matches!(ty.key.atomic, AtomicType::Integer | AtomicType::Real);
                if !(ty.is_scalar() || ty.is_optional_scalar()) || !numeric {
                    return Err(OvsdbError::syntax(
                        &c.to_json(),
                        format!(
                            "Type mismatch: \"{}\" operator may not be applied to column {} of type {}.",
                            f.name(),
                            c.column,
                            ty.english()
                        ),
                    ));
                }
                ty.clone()
            }
            Function::Excludes if !ty.is_scalar() => ty.unbounded(),
            Function::Includes if !ty.is_scalar() => ColumnType {
                min: 0,
                ..ty.clone()
            },
            _ => ty.clone(),
        };
        let arg = arg_type.parse_datum(&c.value)?;
        out.push(Clause {
            column: c.column.clone(),
            function: c.function,
            arg: resolve(arg),
            column_type: ty.clone(),
        });
    }
    Ok(out)
}

/// Whether `row` satisfies every clause.
pub fn matches(clauses: &[Clause], uuid: &str, row: &Row) -> bool {
    clauses
        .iter()
        .all(|c| c.holds(&db::get(uuid, row, &c.column)))
}

/// The UUIDs of the rows of `table` satisfying every clause, in UUID order.
pub fn select(clauses: &[Clause], table: Option<&Table>) -> Vec<String> {
    table
        .into_iter()
        .flatten()
        .filter(|(u, r)| matches(clauses, u, r))
        .map(|(u, _)| u.clone())
        .collect()
}

impl Clause {
    fn holds(&self, field: &Datum) -> bool {
        match self.function {
            Function::True => return true,
            Function::False => return false,
            _ => {}
        }
        let ty = &self.column_type;
        let one = ty.is_scalar() || ty.is_optional_scalar();
        match (one, field.scalar(), self.arg.scalar()) {
            (true, None, _) => matches!(self.function, Function::Ne | Function::Excludes),
            (true, Some(a), Some(b)) => {
                let cmp = a.compare(b);
                match self.function {
                    Function::Lt => cmp.is_lt(),
                    Function::Le => cmp.is_le(),
                    Function::Eq | Function::Includes => cmp.is_eq(),
                    Function::Ne | Function::Excludes => cmp.is_ne(),
                    Function::Ge => cmp.is_ge(),
                    Function::Gt => cmp.is_gt(),
                    Function::True | Function::False => unreachable!("literals hold or not"),
                }
            }
            _ => match self.function {
                Function::Eq => *field == self.arg,
                Function::Ne => *field != self.arg,
                Function::Includes => pairs(&self.arg).iter().all(|p| pairs(field).contains(p)),
                Function::Excludes => pairs(&self.arg).iter().all(|p| !pairs(field).contains(p)),
                // Ordering on an empty argument of an optional scalar.
                _ => false,
            },
        }
    }
}

/// Elements as comparable text: atoms of a set, key/value pairs of a map.
fn pairs(d: &Datum) -> Vec<String> {
    let text = |a: &Atom| a.to_json().to_string();
    match d {
        Datum::Set(s) => s.iter().map(text).collect(),
        Datum::Map(m) => m
            .iter()
            .map(|(k, v)| format!("{}={}", text(k), text(v)))
            .collect(),
    }
}
