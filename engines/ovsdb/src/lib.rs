//! OVSDB (RFC 7047) over JSON-RPC 1.0, with no knowledge of CNI or OVS's schema.
//!
//! - [`stream`]: a reader that splits concatenated JSON values (OVSDB sends no delimiter).
//! - [`rpc`]: requests, replies and notifications as OVS writes and accepts them.
//! - [`datum`]: atoms, sets, maps and their JSON notation (`["set",..]`, `["uuid",..]`).
//! - [`ops`]: builders for `transact` operations and conditions.
//! - [`client`]: a small blocking client (`list_dbs`, `get_schema`, `transact`, `echo`).
//!
//! Why not the crates.io `ovsdb` crate: it is built around code generated from a schema
//! at build time and an async runtime, while the plugin needs a handful of operations on
//! a few columns, a blocking call per CNI command and a tiny, fast binary; and the mock
//! server needs the opposite side of the protocol (the crate has no server). The wire
//! format is small — JSON values in a stream, three message shapes, a dozen operations —
//! so both sides share this codec instead.

pub mod client;
pub mod datum;
pub mod ops;
pub mod rpc;
pub mod stream;

pub use client::{Client, Error};
pub use datum::{Atom, Datum};
