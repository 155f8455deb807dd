//! The memif shared-memory packet interface protocol (version 2.0), both roles.
//!
//! A memif connection has a *master* (listens on a unix socket, maps memory it is given) and a
//! *slave* (connects, creates all shared memory and eventfds). Packets travel through rings in
//! that memory: S2M (slave to master) and M2S (master to slave). This crate speaks the wire
//! protocol of VPP's memif plugin, libmemif and DPDK `net_memif`, and knows nothing about who
//! uses it.
//!
//! Layers, bottom up:
//! * [`msg`]: the 128-byte control messages;
//! * [`control`]: the `SOCK_SEQPACKET` channel with fd passing;
//! * [`region`], [`ring`]: shared memory and the ring layout;
//! * [`MasterSocket`]/[`Master`] and [`Slave`]: the connection state machines, and
//!   [`Connection`] to move packets once connected.
//!
//! Nothing blocks unless asked to: `process()` handles whatever control traffic is ready,
//! `poll_fds()` lists the descriptors to wait on, and `wait()`, [`Slave::connect`] and
//! [`Connection::recv_timeout`] are the blocking conveniences.
//!
//! ```
//! use memif::{MasterConfig, MasterSocket, Slave, SlaveConfig, SocketAddr};
//!
//! # let dir = tempfile::tempdir()?;
//! // The switch: one listening socket, a master interface with id 0 on it.
//! let addr = SocketAddr::Path(dir.path().join("memif.sock"));
//! let mut socket = MasterSocket::bind(&addr, "VPP 24.02")?;
//! socket.add_interface(MasterConfig::new(0, "memif0/0"))?;
//!
//! // An application: here in the same thread, so both sides are driven by hand.
//! let mut slave = Slave::new(addr, SlaveConfig::new(0, "app0"))?;
//! slave.start()?;
//! while !slave.is_connected() {
//!     socket.process(); // accept, HELLO, ACKs, CONNECTED
//!     slave.process(); // INIT, ADD_REGION, ADD_RING, CONNECT
//! }
//!
//! let frame = [0xabu8; 60];
//! slave.send(&frame)?;
//! let master = socket.interface_mut(0).unwrap();
//! assert_eq!(master.recv()?.as_deref(), Some(&frame[..]));
//! master.send(&frame)?;
//! assert_eq!(slave.recv()?.as_deref(), Some(&frame[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A switch's main loop, with each connection's frames handed to some `forward` function:
//!
//! ```no_run
//! # fn forward(_: u32, _: Vec<u8>) {}
//! # fn main() -> memif::Result<()> {
//! # let mut socket = memif::MasterSocket::bind(&memif::SocketAddr::parse("@x"), "x")?;
//! use std::time::Duration;
//! loop {
//!     for event in socket.wait(Some(Duration::from_millis(10)))? {
//!         println!("{event:?}"); // Connected / Disconnected { reason } / Rejected
//!     }
//!     for master in socket.interfaces_mut() {
//!         let id = master.id();
//!         if let Some(conn) = master.connection_mut() {
//!             for queue in 0..conn.num_rx_queues() {
//!                 while let Some(frame) = conn.recv(queue)? {
//!                     forward(id, frame);
//!                 }
//!             }
//!         }
//!     }
//! }
//! # }
//! ```

mod addr;
mod burst;
mod connection;
pub mod control;
mod error;
pub mod eventfd;
mod interface;
mod lifecycle;
mod master;
mod master_socket;
pub mod msg;
mod queue;
pub mod region;
pub mod ring;
mod slave;
mod slave_setup;
mod sys;

pub use burst::{Burst, Frame, HEAD};
pub use connection::Connection;
pub use control::SocketAddr;
pub use interface::{Event, MasterConfig, PeerInfo, RxMode, SlaveConfig, Stats};
pub use master::Master;
pub use master_socket::MasterSocket;
pub use msg::Mode;
pub use slave::Slave;

pub use error::{Error, Result};
pub use queue::{QueueStats, MAX_PACKET_SIZE};
pub use sys::poll_readable;
