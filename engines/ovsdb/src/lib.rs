//! OVSDB (RFC 7047) over JSON-RPC 1.0, with no knowledge of CNI or of any one schema.
//!
//! - [`stream`]: splits a byte stream into JSON values (OVSDB sends no delimiter).
//! - [`rpc`]: requests, replies and notifications, shaped as OVS writes and accepts them.
//! - [`datum`]: atoms, sets, maps and their JSON notation (`["set",..]`, `["uuid",..]`).
//! - [`schema`], [`typed`]: `.ovsschema` documents — tables, column types with their
//!   constraints, roots, indexes — and values read through a column's type.
//! - [`operation`], [`clause`], [`result`]: `transact` operations, conditions, mutations
//!   and results as data, with explicit JSON conversions both ways.
//! - [`ops`]: short builders of operations as JSON, for callers that keep JSON rows.
//! - [`client`]: a small blocking client (`list_dbs`, `get_schema`, `transact`, monitors).
//! - [`error`]: this crate's [`Error`], and [`OvsdbError`], the error object on the wire.
//!
//! Why not the crates.io `ovsdb` crate (0.0.x, "heavily WIP" by its own README): it is a
//! client only, built on tokio, whose typed interface comes from Rust models that its
//! `ovsdb-build` generates from one schema at build time. Here the plugin needs one
//! blocking call per CNI command on a handful of columns, in a small binary with no
//! async runtime, and mock-ovsdb needs the server side — values checked at run time
//! against whatever schema it is given, with ovsdb-server's own error texts — which that
//! crate does not have. The wire format is small (JSON values in a stream, three message
//! shapes, ten operations), so both sides share this codec instead.

#![warn(missing_docs)]

pub mod clause;
pub mod client;
pub mod datum;
pub mod error;
pub mod operation;
pub mod ops;
pub mod result;
pub mod rpc;
pub mod schema;
pub mod stream;
pub mod typed;

pub use clause::{Condition, Function, Mutation, Mutator};
pub use client::Client;
pub use datum::{Atom, Datum};
pub use error::{Error, OvsdbError};
pub use operation::{OpParseError, Operation, Row, Until};
pub use result::OpResult;
pub use schema::DatabaseSchema;
