//! Control messages as plain data, with explicit encoding to and from the fixed 128-byte wire
//! form.
//!
//! Every memif control message is exactly [`MESSAGE_SIZE`] bytes: a `u16` type followed by a
//! packed, host-endian payload and zero padding. Offsets are written out by hand (no `repr(C)`
//! casts) because several fields are unaligned and the layout must not depend on the compiler.

use crate::error::{Error, Result};
use crate::ring::Direction;

/// Size of every control message on the wire.
pub const MESSAGE_SIZE: usize = 128;
/// Protocol version 2.0, the only one in use: `(major << 8) | minor`.
pub const VERSION: u16 = 0x0200;
/// Length of the name fields (application and interface names), including the NUL.
pub const NAME_LEN: usize = 32;
/// Length of the secret field in INIT, including the NUL.
pub const SECRET_LEN: usize = 24;
/// Length of the reason string in DISCONNECT, including the NUL.
pub const REASON_LEN: usize = 96;

const TYPE_ACK: u16 = 1;
const TYPE_HELLO: u16 = 2;
const TYPE_INIT: u16 = 3;
const TYPE_ADD_REGION: u16 = 4;
const TYPE_ADD_RING: u16 = 5;
const TYPE_CONNECT: u16 = 6;
const TYPE_CONNECTED: u16 = 7;
const TYPE_DISCONNECT: u16 = 8;

/// ADD_RING flag bit: the ring carries slave-to-master traffic.
const ADD_RING_FLAG_S2M: u16 = 1;

/// What the frames in the buffers are; the mode only restricts their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Whole Ethernet frames without FCS.
    #[default]
    Ethernet,
    /// Bare IPv4/IPv6 packets, no L2 header.
    Ip,
    /// Punt/inject (defined by the protocol, refused by VPP and DPDK).
    PuntInject,
}

impl Mode {
    /// The INIT `mode` byte.
    pub fn wire(self) -> u8 {
        match self {
            Mode::Ethernet => 0,
            Mode::Ip => 1,
            Mode::PuntInject => 2,
        }
    }

    /// Decodes an INIT `mode` byte; `None` for values the protocol does not define.
    pub fn from_wire(value: u8) -> Option<Mode> {
        match value {
            0 => Some(Mode::Ethernet),
            1 => Some(Mode::Ip),
            2 => Some(Mode::PuntInject),
            _ => None,
        }
    }
}

/// HELLO: the master's limits, sent right after `accept`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hello {
    pub name: String,
    pub min_version: u16,
    pub max_version: u16,
    pub max_region: u16,
    pub max_m2s_ring: u16,
    pub max_s2m_ring: u16,
    pub max_log2_ring_size: u8,
}

/// INIT: the slave names the interface it wants and proves it may have it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Init {
    pub version: u16,
    pub id: u32,
    /// Raw mode byte, kept raw so that a master can refuse values it does not know.
    pub mode: u8,
    pub secret: String,
    pub name: String,
}

/// ADD_REGION: announces shared-memory region `index`; its fd rides along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddRegion {
    pub index: u16,
    pub size: u64,
}

/// ADD_RING: where a ring lives; its interrupt eventfd rides along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddRing {
    pub direction: Direction,
    pub index: u16,
    pub region: u16,
    pub offset: u32,
    pub log2_ring_size: u8,
    pub private_hdr_size: u16,
}

/// DISCONNECT: why the sender is tearing the connection down.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    pub code: u32,
    pub reason: String,
}

/// One control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Ack,
    Hello(Hello),
    Init(Init),
    AddRegion(AddRegion),
    AddRing(AddRing),
    /// Slave's interface name, informational.
    Connect {
        if_name: String,
    },
    /// Master's interface name, informational.
    Connected {
        if_name: String,
    },
    Disconnect(Disconnect),
}

impl Message {
    /// Short name for logs and error texts.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Ack => "ACK",
            Message::Hello(_) => "HELLO",
            Message::Init(_) => "INIT",
            Message::AddRegion(_) => "ADD_REGION",
            Message::AddRing(_) => "ADD_RING",
            Message::Connect { .. } => "CONNECT",
            Message::Connected { .. } => "CONNECTED",
            Message::Disconnect(_) => "DISCONNECT",
        }
    }

    /// Encodes into the wire form; strings longer than their field are truncated.
    pub fn encode(&self) -> [u8; MESSAGE_SIZE] {
        let mut b = [0u8; MESSAGE_SIZE];
        match self {
            Message::Ack => put_u16(&mut b, 0, TYPE_ACK),
            Message::Hello(h) => {
                put_u16(&mut b, 0, TYPE_HELLO);
                put_str(&mut b, 2, NAME_LEN, &h.name);
                put_u16(&mut b, 34, h.min_version);
                put_u16(&mut b, 36, h.max_version);
                put_u16(&mut b, 38, h.max_region);
                put_u16(&mut b, 40, h.max_m2s_ring);
                put_u16(&mut b, 42, h.max_s2m_ring);
                b[44] = h.max_log2_ring_size;
            }
            Message::Init(i) => {
                put_u16(&mut b, 0, TYPE_INIT);
                put_u16(&mut b, 2, i.version);
                put_u32(&mut b, 4, i.id);
                b[8] = i.mode;
                put_str(&mut b, 9, SECRET_LEN, &i.secret);
                put_str(&mut b, 33, NAME_LEN, &i.name);
            }
            Message::AddRegion(r) => {
                put_u16(&mut b, 0, TYPE_ADD_REGION);
                put_u16(&mut b, 2, r.index);
                b[4..12].copy_from_slice(&r.size.to_ne_bytes());
            }
            Message::AddRing(r) => {
                put_u16(&mut b, 0, TYPE_ADD_RING);
                let flags = match r.direction {
                    Direction::S2M => ADD_RING_FLAG_S2M,
                    Direction::M2S => 0,
                };
                put_u16(&mut b, 2, flags);
                put_u16(&mut b, 4, r.index);
                put_u16(&mut b, 6, r.region);
                put_u32(&mut b, 8, r.offset);
                b[12] = r.log2_ring_size;
                put_u16(&mut b, 13, r.private_hdr_size);
            }
            Message::Connect { if_name } => {
                put_u16(&mut b, 0, TYPE_CONNECT);
                put_str(&mut b, 2, NAME_LEN, if_name);
            }
            Message::Connected { if_name } => {
                put_u16(&mut b, 0, TYPE_CONNECTED);
                put_str(&mut b, 2, NAME_LEN, if_name);
            }
            Message::Disconnect(d) => {
                put_u16(&mut b, 0, TYPE_DISCONNECT);
                put_u32(&mut b, 2, d.code);
                put_str(&mut b, 6, REASON_LEN, &d.reason);
            }
        }
        b
    }

    /// Decodes a received message. Any length other than [`MESSAGE_SIZE`] is an error; string
    /// fields end at the first NUL and invalid UTF-8 is replaced, never rejected.
    pub fn decode(b: &[u8]) -> Result<Message> {
        if b.len() != MESSAGE_SIZE {
            return Err(Error::MessageSize(b.len()));
        }
        let msg = match get_u16(b, 0) {
            TYPE_ACK => Message::Ack,
            TYPE_HELLO => Message::Hello(Hello {
                name: get_str(b, 2, NAME_LEN)?,
                min_version: get_u16(b, 34),
                max_version: get_u16(b, 36),
                max_region: get_u16(b, 38),
                max_m2s_ring: get_u16(b, 40),
                max_s2m_ring: get_u16(b, 42),
                max_log2_ring_size: b[44],
            }),
            TYPE_INIT => Message::Init(Init {
                version: get_u16(b, 2),
                id: get_u32(b, 4),
                mode: b[8],
                secret: get_str(b, 9, SECRET_LEN)?,
                name: get_str(b, 33, NAME_LEN)?,
            }),
            TYPE_ADD_REGION => {
                let mut size = [0u8; 8];
                size.copy_from_slice(&b[4..12]);
                Message::AddRegion(AddRegion {
                    index: get_u16(b, 2),
                    size: u64::from_ne_bytes(size),
                })
            }
            TYPE_ADD_RING => Message::AddRing(AddRing {
                direction: if get_u16(b, 2) & ADD_RING_FLAG_S2M != 0 {
                    Direction::S2M
                } else {
                    Direction::M2S
                },
                index: get_u16(b, 4),
                region: get_u16(b, 6),
                offset: get_u32(b, 8),
                log2_ring_size: b[12],
                private_hdr_size: get_u16(b, 13),
            }),
            TYPE_CONNECT => Message::Connect {
                if_name: get_str(b, 2, NAME_LEN)?,
            },
            TYPE_CONNECTED => Message::Connected {
                if_name: get_str(b, 2, NAME_LEN)?,
            },
            TYPE_DISCONNECT => Message::Disconnect(Disconnect {
                code: get_u32(b, 2),
                reason: get_str(b, 6, REASON_LEN)?,
            }),
            other => return Err(Error::UnknownMessageType(other)),
        };
        Ok(msg)
    }
}

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Copies at most `len - 1` bytes so the field always keeps a terminating NUL, as C senders do;
/// cuts at a character boundary so the receiver never sees half a UTF-8 sequence.
fn put_str(b: &mut [u8], off: usize, len: usize, s: &str) {
    let bytes = s.as_bytes();
    let mut n = bytes.len().min(len - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    b[off..off + n].copy_from_slice(&bytes[..n]);
}

/// A NUL-padded text field. Text that is not UTF-8 is refused rather than replaced: a
/// lossy decode would let two different secrets compare equal.
fn get_str(b: &[u8], off: usize, len: usize) -> Result<String> {
    let field = &b[off..off + len];
    let end = field.iter().position(|&c| c == 0).unwrap_or(len);
    String::from_utf8(field[..end].to_vec())
        .map_err(|_| Error::Protocol(format!("text field at byte {off} is not UTF-8")))
}

#[cfg(test)]
#[path = "msg_tests.rs"]
mod tests;
