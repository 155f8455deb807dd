//! mock-ovsdb: an OVSDB server (RFC 7047) for the Open_vSwitch database that real OVS
//! clients accept — `ovs-vsctl` runs against it unchanged — and that plays
//! ovs-vswitchd's part for what clients wait for (ofport, error, cur_cfg, vhost-user
//! sockets).
//!
//! - [`schema`]: the `.ovsschema` rules enforced (the real schema is carried in
//!   `schema/`).
//! - [`db`], [`transact`]: values, rows and the operations, with referential integrity,
//!   garbage collection, set sizes and unique indexes checked at commit.
//! - [`monitor`]: `monitor` (update) and `monitor_cond` (update2).
//! - [`vswitchd`]: the switch daemon's reactions.
//! - [`server`]: the socket, one thread per client.
//!
//! Limits: no `_Server` database (clients fall back to `get_schema` + `monitor_cond`, as
//! ovs-vsctl does), no `monitor_cond_since`, no conditions in monitor requests, `wait`
//! evaluates once (timeouts are not waited out), data lives in memory only.

pub mod db;
pub mod faults;
pub mod monitor;
pub mod schema;
pub mod server;
pub mod transact;
pub mod vswitchd;

pub use server::{serve, serve_with_faults, Server};
