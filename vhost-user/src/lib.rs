//! vhost-user for virtio-net ports: the back end a vswitch serves ([`backend::Port`],
//! [`Device`]) and the virtio-user front end a pod's data plane drives ([`Frontend`]),
//! knowing nothing of CNI.
//!
//! # Built on rust-vmm
//!
//! rust-vmm's crates are made for this and are used where they fit:
//! - `vhost` (features `vhost-user-backend`, `vhost-user-frontend`) carries the
//!   protocol: message framing, file descriptors over `SCM_RIGHTS`, validation, the
//!   back end's request dispatch (`BackendReqHandler` calling [`Device`] through
//!   `VhostUserBackendReqHandlerMut`) and the front end's requests (`vhost_user::Frontend`,
//!   client or server socket).
//! - `vm-memory` maps the memory table and bounds-checks every ring and buffer access;
//! - `virtio-queue` runs the device side of each split ring (available chains, used
//!   entries, notification decisions).
//!
//! Written here: the virtio-net data path over those (headers, mergeable receive
//! buffers), and the driver side of a split ring ([`driver`]), which `virtio-queue` does
//! not provide (its `mock` module only prepares rings for tests). `vhost-user-backend`,
//! rust-vmm's daemon framework, is not used: it owns one epoll thread per queue set and
//! the socket loop, while a vswitch's data plane wants to wait on the protocol socket
//! and the kicks of all its ports itself; [`backend::Port`] hands out the descriptors
//! for that instead.

pub mod backend;
mod datapath;
mod device;
pub mod driver;
mod error;
mod frontend;
mod memory;

pub use backend::{Port, Served};
pub use device::{Device, QueueInfo, RX, TX};
pub use error::{Error, Result};
pub use frontend::{Frontend, BUF_SIZE};
pub use memory::Span;

/// The device conforms to virtio 1.0 (12-byte net header, little-endian rings).
pub const VIRTIO_F_VERSION_1: u32 = virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
/// The driver's receive buffers may be merged for one frame.
pub const VIRTIO_NET_F_MRG_RXBUF: u32 = virtio_bindings::virtio_net::VIRTIO_NET_F_MRG_RXBUF;

/// What the back end offers: virtio 1.0, mergeable receive buffers, protocol features.
pub const OFFERED_FEATURES: u64 = 1 << VIRTIO_F_VERSION_1
    | 1 << VIRTIO_NET_F_MRG_RXBUF
    | vhost::vhost_user::VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();

/// Largest ring a front end may ask for (virtio's limit).
pub const QUEUE_MAX: u16 = 32768;

/// Largest frame carried (a 64 KiB jumbo; VPP's vhost-user limit is similar).
pub const MAX_FRAME: usize = 65535;

/// The virtio-net header in front of every frame: 12 bytes with virtio 1.0 or mergeable
/// buffers, else the legacy 10.
pub fn net_header_len(features: u64) -> usize {
    if features & (1 << VIRTIO_F_VERSION_1 | 1 << VIRTIO_NET_F_MRG_RXBUF) != 0 {
        12
    } else {
        10
    }
}

/// Counters of one side of a port: rx is what it received, tx what it sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Frames not sent: the peer's buffers were full or too small.
    pub tx_dropped: u64,
    /// Faults of the peer (bad memory table, ring or descriptor, protocol error).
    pub errors: u64,
}
