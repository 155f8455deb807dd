//! mock-ovsdb: an OVSDB server (RFC 7047) for the Open_vSwitch database that real OVS
//! clients accept unchanged — `ovs-vsctl` runs against it — and that plays ovs-vswitchd's
//! part for what clients wait for (`ofport`, `error`, `cur_cfg`, vhost-user sockets).
//!
//! It knows nothing of CNI or of the plugin: it serves what an OVSDB server and
//! ovs-vswitchd would, to any client.
//!
//! - [`schema`]: the schemas served (the real Open_vSwitch and `_Server` schemas are
//!   carried in `schema/`).
//! - [`db`], [`cond`], [`transact`]: rows, `where` clauses and the operations, with the
//!   commit checks of ovsdb-server (referential integrity, garbage collection, `maxRows`,
//!   weak references, unique indexes) and its error texts.
//! - [`monitor`]: `monitor`, `monitor_cond` (with conditions), `monitor_cond_since`,
//!   `monitor_cond_change`.
//! - [`server_db`]: the `_Server` database.
//! - [`locks`]: `lock`, `steal`, `unlock` and `assert`.
//! - [`vswitchd`]: the switch daemon's reactions.
//! - [`db_file`]: the OVSDB database file format, to keep data across restarts.
//! - [`state`], [`methods`], [`server`]: shared state, the JSON-RPC methods, the socket.
//! - [`faults`]: misbehaviour on request, for testing clients.
//! - [`real`]: the real OVS, started for the tests that need it or compare against it.
//!
//! Limits: one database besides `_Server`; `monitor_cond_since` always answers "not
//! found" with the all-zero transaction id, as a standalone ovsdb-server does; no
//! clustering, no TCP/SSL remotes.

pub mod cond;
pub mod db;
pub mod db_file;
pub mod faults;
pub mod locks;
pub mod methods;
pub mod monitor;
pub mod real;
pub mod schema;
pub mod server;
pub mod server_db;
mod sha1;
pub mod state;
pub mod transact;
pub mod vswitchd;

pub use server::{serve, serve_with, serve_with_faults, Options, Server};
