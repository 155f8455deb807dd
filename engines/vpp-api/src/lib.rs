//! VPP's binary API over its unix socket, with no knowledge of CNI.
//!
//! - [`wire`]: packed big-endian field encoding ([`wire::FixedString`], variable strings,
//!   [`wire::Prefix`], [`wire::Counted`] arrays).
//! - [`message`]: the [`Message`] trait, request/reply/dump relations and the envelope
//!   (`_vl_msg_id`, `client_index`, `context`).
//! - [`messages`]: one plain struct per message, with VPP's names and CRCs; checked
//!   against the `.api.json` definitions in `api/` by the tests.
//! - [`frame`]: the 16-byte frame header of the socket transport.
//! - [`table`]: the handshake's `name_crc` ↔ id table.
//! - [`client`]: a small blocking client (handshake, requests, dumps ended by control_ping).
//! - [`retval`]: VPP's error numbers.
//!
//! The same types serve a server (mock-vpp): decode with [`message::decode`] after
//! looking the id up in its own [`table::MessageTable`], answer with [`message::encode`].

#![warn(missing_docs)]

pub mod client;
pub mod frame;
pub mod message;
pub mod messages;
pub mod retval;
pub mod table;
pub mod types;
pub mod wire;

pub use client::{Client, Error};
pub use message::{Dump, Envelope, Header, Message, Request, Retval};
pub use table::MessageTable;
