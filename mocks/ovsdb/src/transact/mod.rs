//! `transact` (RFC 7047 §4.1.3): the operations run in order on a working copy of the
//! tables; the first failure ends the transaction (its slot holds the error, later slots
//! `null`); otherwise the commit checks run — referential integrity, garbage collection,
//! `maxRows`, weak references, unique indexes — and only then does the copy replace the
//! database. Errors carry ovsdb-server's names and texts.

mod commit;
mod mutate;
mod ops;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use ovsdb::{Atom, Datum, OpResult, Operation, OvsdbError};
use serde_json::Value;

use crate::db::{new_uuid, Tables};
use crate::schema::Schema;

/// What a transaction came to.
pub struct Outcome {
    /// One result per operation, plus one for a commit error.
    pub results: Vec<Value>,
    /// The new tables, when it committed.
    pub committed: Option<Tables>,
    /// Set instead of `results` when a `wait` must be retried after the next commit (or
    /// when `deadline` passes).
    pub blocked: Option<Blocked>,
    /// The text of its `comment` operations.
    pub comments: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Blocked {
    /// `None`: a `wait` without `timeout` waits for ever.
    pub deadline: Option<Instant>,
}

/// What the session adds to a transaction.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Locks this connection holds (for `assert`).
    pub locks: BTreeSet<String>,
    /// When the transaction was first tried: `wait` timeouts count from there. `None`:
    /// a `wait` that fails does not block (it times out at once).
    pub first_try: Option<Instant>,
    /// The name of a database that may not be changed (`_Server`).
    pub read_only: Option<String>,
}

/// A `uuid-name` and the UUID it stands for.
struct Symbol {
    uuid: String,
    /// An `insert` has used it.
    created: bool,
}

/// A transaction being run.
struct Txn<'a> {
    schema: &'a Schema,
    old: &'a Tables,
    tables: Tables,
    symbols: HashMap<String, Symbol>,
    ctx: &'a Context,
    comments: Vec<String>,
}

/// How an operation ended other than with a result.
enum Stop {
    Failed(OvsdbError),
    Blocked(Blocked),
}

impl From<OvsdbError> for Stop {
    fn from(e: OvsdbError) -> Stop {
        Stop::Failed(e)
    }
}

impl Txn<'_> {
    /// The UUID a named UUID stands for, made up on first use (an `insert` may come later).
    fn symbol(&mut self, name: &str) -> String {
        self.symbols
            .entry(name.to_string())
            .or_insert_with(|| Symbol {
                uuid: new_uuid(),
                created: false,
            })
            .uuid
            .clone()
    }

    /// Replaces named UUIDs by the UUIDs they stand for.
    fn resolve(&mut self, d: Datum) -> Datum {
        let mut fix = |a: Atom| match a {
            Atom::NamedUuid(n) => Atom::Uuid(self.symbol(&n)),
            other => other,
        };
        match d {
            Datum::Set(s) => Datum::Set(s.into_iter().map(&mut fix).collect()),
            Datum::Map(m) => Datum::Map(m.into_iter().map(|(k, v)| (fix(k), fix(v))).collect()),
        }
        .normalized()
    }
}

/// Runs `ops` (the `transact` params after the database name) against `current`. A
/// `wait` that fails times out at once, and `assert` finds no lock held.
pub fn transact(schema: &Schema, current: &Tables, ops: &[Value]) -> Outcome {
    run(schema, current, ops, &Context::default())
}

/// Like [`transact`], for a session: its locks, and whether a `wait` may block.
pub fn run(schema: &Schema, current: &Tables, ops: &[Value], ctx: &Context) -> Outcome {
    let mut txn = Txn {
        schema,
        old: current,
        tables: current.clone(),
        symbols: HashMap::new(),
        ctx,
        comments: Vec::new(),
    };
    let mut results = Vec::with_capacity(ops.len() + 1);
    for (i, json) in ops.iter().enumerate() {
        let parsed = Operation::<Value>::parse(json, &|t| schema.tables.contains_key(t))
            .map_err(|e| Stop::Failed(e.into_ovsdb_error(json, i, ops.len())));
        match parsed.and_then(|op| ops::execute(&mut txn, op, json)) {
            Ok(r) => results.push(r.to_json()),
            Err(Stop::Blocked(b)) => {
                return Outcome {
                    results: Vec::new(),
                    committed: None,
                    blocked: Some(b),
                    comments: txn.comments,
                }
            }
            Err(Stop::Failed(e)) => {
                results.push(OpResult::Error(e).to_json());
                results.extend(std::iter::repeat_n(Value::Null, ops.len() - i - 1));
                return Outcome {
                    results,
                    committed: None,
                    blocked: None,
                    comments: txn.comments,
                };
            }
        }
    }
    match commit::check(&mut txn) {
        Ok(()) => Outcome {
            results,
            committed: Some(txn.tables),
            blocked: None,
            comments: txn.comments,
        },
        Err(e) => {
            results.push(e.to_json());
            Outcome {
                results,
                committed: None,
                blocked: None,
                comments: txn.comments,
            }
        }
    }
}
