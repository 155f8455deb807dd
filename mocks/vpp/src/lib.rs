//! mock-vpp: a simulated VPP that serves VPP's real binary API (message names, CRCs,
//! framing, handshake) on its unix socket, from an in-memory model with VPP's own rules
//! and error numbers. Clients written for VPP — the userspace-cni plugin, VPP's official
//! Python client `vpp_papi`, `vppctl` over `cli_inband` — use it unchanged.
//!
//! - [`model`]: interfaces (local0, memif, vhost-user), memif socket files, bridge
//!   domains and their members, addresses, tag rewrites, counters.
//! - [`handlers`]: each API request applied to the model, answered as VPP answers it.
//! - [`cli`]: the CLI commands `vppctl` sends through `cli_inband`.
//! - [`server`]: the socket, one thread per client, requests serialised on the model.
//!
//! - [`dataplane`]: memif interfaces that move packets: L2 bridge domains (learning,
//!   flooding, access-port VLAN tags), an ARP/ICMP endpoint on L3 interfaces, `ping`.
//!
//! Fidelity limits: the messages served are those userspace-cni and its tests use (see
//! [`handlers::served_messages`]); others get no answer, as VPP gives none for an id it
//! does not know. vhost-user servers listen on their socket but move no packets.

pub mod cli;
pub mod dataplane;
pub mod faults;
pub mod handlers;
pub mod model;
pub mod server;
mod sock;

pub use server::{serve, serve_with_faults, Server};

/// What `show version` reports.
pub const VERSION: &str = "v26.10-mock";
