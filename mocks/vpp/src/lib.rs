//! mock-vpp: a simulated VPP that serves VPP's real binary API (message names, CRCs,
//! framing, handshake) on its unix socket, from an in-memory model with VPP's own rules
//! and error numbers. Clients written for VPP — the userspace-cni plugin, VPP's official
//! Python client `vpp_papi`, `vppctl` over `cli_inband` — use it unchanged.
//!
//! - [`model`]: interfaces (local0, memif, vhost-user), memif socket files, bridge
//!   domains and their members, addresses, tag rewrites, counters; every operation
//!   answers what VPP's handler would, error numbers included.
//! - [`handlers`]: each API request applied to the model, answered as VPP answers it;
//!   [`api_table`]: the message table of the handshake.
//! - [`cli`]: the CLI commands `vppctl` sends through `cli_inband`, in VPP's layout.
//! - [`cli_socket`]: VPP's CLI socket (`cli-listen`), the one VPP's `vppctl` uses, a
//!   telnet-style session ([`telnet`]) running the same commands.
//! - [`server`]: the socket, one thread per client, requests serialised on the model.
//! - [`dataplane`]: memif interfaces that move packets (a master listens on its socket
//!   file while it has master interfaces; a slave connects while admin-up, retrying until
//!   its master appears): L2 bridge domains (learning, mac_age, flooding, split horizon,
//!   access-port VLAN tags), an ARP/ICMP endpoint on L3 interfaces, the CLI's `ping`,
//!   `show l2fib` and `show ip neighbors`.
//!
//! Fidelity, checked against VPP's source at the commit `vpp-api`'s SPEC names and with
//! `vpp_papi` itself (tests/papi_check.py):
//! - the wire: framing, names and CRCs, the handshake (client indexes are socket handles,
//!   `slot | 0x8000_0000`, slot 0 being the listener), answers sent to the client the
//!   request's `client_index` names and dropped when none has it (the request is still
//!   carried out, as in VPP), `sockclnt_delete`, `control_ping` closing dumps;
//! - the numbering: sw_if_index and vhost-user instances come from pools that reuse the
//!   last freed slot first; "pick an id" (memif socket ~0, bridge domain ~0) follows
//!   VPP's `random_u32` walk, so a fresh mock picks what a fresh VPP picks;
//! - the rules and error numbers of each handler (see the `model` functions), e.g. IPv4
//!   overlaps are −105 but IPv6 ones −127, bridge ports need not be Ethernet, tag
//!   rewrites need no bridge, memif sizes read 1/0 in memif_details until a peer came.
//!
//! Limits: only the messages userspace-cni and its tests use are served (see
//! [`api_table::served_messages`]); others get no answer, as VPP gives none for an id it
//! does not know. vhost-user servers listen on their socket but serve no frontend, so
//! their link stays down. There are no sub-interfaces or FIB tables, and IPv6
//! link-local addresses are kept like any other; relative memif socket names go under the API socket's directory (VPP: its
//! run directory, /run/vpp) and the `unix:` / `abstract:` name prefixes are not known.

pub mod api_table;
pub mod cli;
pub mod cli_socket;
mod clients;
pub mod dataplane;
mod dump;
pub mod faults;
pub mod handlers;
pub mod model;
pub mod server;
mod sock;
pub mod telnet;

pub use server::{serve, serve_with_faults, Server};

/// What `show version` reports.
pub const VERSION: &str = "26.10-mock";
