//! `mutate`'s mutations: arithmetic on integer and real columns (each element of a set),
//! `insert` and `delete` on sets and maps, checked as ovsdb-server checks them.

use ovsdb::schema::{AtomicType, BaseType, ColumnType};
use ovsdb::{Atom, Datum, Mutation, Mutator, OvsdbError};
use serde_json::Value;

use super::Txn;
use crate::db::Row;

/// A mutation ready to apply.
pub(super) struct Mut {
    column: String,
    mutator: Mutator,
    arg: Datum,
    column_type: ColumnType,
}

fn type_mismatch(m: &Mutation<Value>, ty: &ColumnType) -> OvsdbError {
    OvsdbError::syntax(
        &m.to_json(),
        format!(
            "Type mismatch: \"{}\" operator may not be applied to column {} of type {}.",
            m.mutator.name(),
            m.column,
            ty.english()
        ),
    )
}

/// Reads `muts` for `table`, resolving named UUIDs.
pub(super) fn parse(
    txn: &mut Txn,
    table: &str,
    muts: &[Mutation<Value>],
) -> Result<Vec<Mut>, OvsdbError> {
    let ts = &txn.schema.tables[table];
    let mut out = Vec::with_capacity(muts.len());
    for m in muts {
        let col = ts.column(&m.column).ok_or_else(|| {
            OvsdbError::new(
                "unknown column",
                format!("No column {} in table {table}.", m.column),
            )
            .with_syntax(&m.to_json())
        })?;
        if !col.mutable {
            return Err(OvsdbError::new(
                "constraint violation",
                format!(
                    "Cannot mutate immutable column {} in table {table}.",
                    m.column
                ),
            )
            .with_syntax(&m.to_json()));
        }
        let ty = &col.column_type;
        let arg = if m.mutator.is_arithmetic() {
            let numeric = matches!(ty.key.atomic, AtomicType::Integer | AtomicType::Real);
            let real_mod = m.mutator == Mutator::Mod && ty.key.atomic == AtomicType::Real;
            if ty.is_map() || !numeric || real_mod {
                return Err(type_mismatch(m, ty));
            }
            ColumnType::scalar(BaseType::plain(ty.key.atomic)).parse_datum(&m.value)?
        } else {
            if ty.is_scalar() {
                return Err(type_mismatch(m, ty));
            }
            let arg_type = match m.mutator {
                Mutator::Delete => ty.unbounded(),
                _ => ColumnType {
                    min: 0,
                    ..ty.clone()
                },
            };
            match arg_type.parse_datum(&m.value) {
                Err(_) if ty.is_map() && m.mutator == Mutator::Delete => {
                    // Deleting from a map also takes a set of keys.
                    ColumnType {
                        value: None,
                        ..arg_type
                    }
                    .parse_datum(&m.value)?
                }
                other => other?,
            }
        };
        out.push(Mut {
            column: m.column.clone(),
            mutator: m.mutator,
            arg: txn.resolve(arg),
            column_type: ty.clone(),
        });
    }
    Ok(out)
}

/// Applies every mutation to `row`, in order.
pub(super) fn apply(muts: &[Mut], row: &mut Row) -> Result<(), OvsdbError> {
    for m in muts {
        let old = row
            .get(&m.column)
            .cloned()
            .unwrap_or(Datum::Set(Vec::new()));
        let new = if m.mutator.is_arithmetic() {
            arithmetic(m, old)?
        } else {
            let d = set_op(m, old);
            let ty = &m.column_type;
            if d.len() < ty.min || ty.max.is_some_and(|x| d.len() > x) {
                return Err(OvsdbError::new(
                    "constraint violation",
                    format!(
                        "Attempted to store {} elements in {}.",
                        d.len(),
                        ty.english()
                    ),
                ));
            }
            d
        };
        row.insert(m.column.clone(), new);
    }
    Ok(())
}

fn arithmetic(m: &Mut, old: Datum) -> Result<Datum, OvsdbError> {
    let Datum::Set(atoms) = old else {
        return Ok(old);
    };
    let range = || {
        OvsdbError::new(
            "range error",
            format!(
                "Result of \"{}\" operation is out of range.",
                m.mutator.name()
            ),
        )
    };
    let division = || OvsdbError::new("domain error", "Division by zero.");
    let mut out = Vec::with_capacity(atoms.len());
    for a in atoms {
        let r = match (a, m.arg.scalar()) {
            (Atom::Integer(x), Some(Atom::Integer(y))) => {
                let y = *y;
                if y == 0 && matches!(m.mutator, Mutator::Div | Mutator::Mod) {
                    return Err(division());
                }
                let v = match m.mutator {
                    Mutator::Add => x.checked_add(y),
                    Mutator::Sub => x.checked_sub(y),
                    Mutator::Mul => x.checked_mul(y),
                    Mutator::Div => x.checked_div(y),
                    _ => x.checked_rem(y),
                };
                Atom::Integer(v.ok_or_else(range)?)
            }
            (Atom::Real(x), Some(y)) => {
                let y = y.as_real().unwrap_or(0.0);
                let v = match m.mutator {
                    Mutator::Add => x + y,
                    Mutator::Sub => x - y,
                    Mutator::Mul => x * y,
                    _ if y == 0.0 => return Err(division()),
                    _ => x / y,
                };
                if !v.is_finite() {
                    return Err(range());
                }
                Atom::Real(v)
            }
            (other, _) => other,
        };
        m.column_type.key.check(&r)?;
        out.push(r);
    }
    let d = Datum::Set(out);
    if d.has_duplicates() {
        return Err(OvsdbError::new(
            "constraint violation",
            format!(
                "Result of \"{}\" operation contains duplicates.",
                m.mutator.name()
            ),
        ));
    }
    Ok(d.normalized())
}

fn set_op(m: &Mut, old: Datum) -> Datum {
    let same = |a: &Atom, b: &Atom| a.compare(b).is_eq();
    match (old, &m.arg, m.mutator) {
        (Datum::Set(mut a), Datum::Set(b), Mutator::Insert) => {
            a.extend(b.iter().cloned());
            Datum::Set(a)
        }
        (Datum::Set(a), Datum::Set(b), _) => Datum::Set(
            a.into_iter()
                .filter(|x| !b.iter().any(|y| same(x, y)))
                .collect(),
        ),
        (Datum::Map(mut a), Datum::Map(b), Mutator::Insert) => {
            // Existing keys keep their values.
            for (k, v) in b {
                if !a.iter().any(|(x, _)| same(x, k)) {
                    a.push((k.clone(), v.clone()));
                }
            }
            Datum::Map(a)
        }
        (Datum::Map(a), Datum::Map(b), _) => Datum::Map(
            a.into_iter()
                .filter(|(k, v)| !b.iter().any(|(x, y)| same(k, x) && same(v, y)))
                .collect(),
        ),
        (Datum::Map(a), Datum::Set(keys), _) => Datum::Map(
            a.into_iter()
                .filter(|(k, _)| !keys.iter().any(|x| same(k, x)))
                .collect(),
        ),
        (old, _, _) => old,
    }
    .normalized()
}
