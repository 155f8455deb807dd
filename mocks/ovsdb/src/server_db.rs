//! The `_Server` database every ovsdb-server has: one `Database` row per database it
//! serves, whose `schema` column is how clients such as ovs-vsctl learn the schema.

use ovsdb::{Atom, Datum};

use crate::db::{default_row, new_uuid, Tables};
use crate::schema::Schema;

/// The transaction id a standalone server reports (`monitor_cond_since`, `update3`).
pub const ZERO_TXN: &str = "00000000-0000-0000-0000-000000000000";

/// `_Server`'s tables for a server of `databases`.
pub fn tables(server: &Schema, databases: &[&Schema]) -> Tables {
    let mut rows = Tables::new();
    for db in databases {
        let mut row = default_row(server, "Database");
        row.insert("name".into(), Datum::string(&db.name));
        row.insert("model".into(), Datum::string("standalone"));
        row.insert("connected".into(), Datum::atom(Atom::Boolean(true)));
        row.insert("leader".into(), Datum::atom(Atom::Boolean(true)));
        row.insert("schema".into(), Datum::string(&db.to_text()));
        rows.entry("Database".into())
            .or_default()
            .insert(new_uuid(), row);
    }
    rows
}
