//! Enums, flags and small structs shared by several messages.
//!
//! Enums are newtypes over their wire integer rather than Rust enums, so that a body
//! with a value this crate does not know still decodes (the server decides what to do
//! with it, as VPP does).

use crate::wire::{DecodeError, FixedString, Reader, Wire, Writer};

macro_rules! wire_newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty) { $($(#[$cm:meta])* $konst:ident = $val:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $name(pub $inner);
        impl $name {
            $( $(#[$cm])* #[doc = concat!("VPP's `", stringify!($konst), "`.")] pub const $konst: $name = $name($val); )*
        }
        impl Wire for $name {
            fn encode(&self, w: &mut Writer) {
                self.0.encode(w)
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name(<$inner>::decode(r)?))
            }
        }
    };
}

wire_newtype!(
    /// `if_status_flags`.
    IfStatusFlags(u32) { ADMIN_UP = 1, LINK_UP = 2 }
);

impl IfStatusFlags {
    /// Whether every flag of `other` is set.
    pub fn contains(self, other: IfStatusFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

wire_newtype!(
    /// `if_type`.
    IfType(u32) { HARDWARE = 0, SUB = 1, P2P = 2, PIPE = 3 }
);
wire_newtype!(
    /// `link_duplex`.
    LinkDuplex(u32) { UNKNOWN = 0, HALF = 1, FULL = 2 }
);
wire_newtype!(
    /// `sub_if_flags`.
    SubIfFlags(u32) {}
);
wire_newtype!(
    /// `memif_role`.
    MemifRole(u32) { MASTER = 0, SLAVE = 1 }
);
wire_newtype!(
    /// `memif_mode`.
    MemifMode(u32) { ETHERNET = 0, IP = 1, PUNT_INJECT = 2 }
);
wire_newtype!(
    /// `l2_port_type`.
    L2PortType(u32) { NORMAL = 0, BVI = 1, UU_FWD = 2 }
);
wire_newtype!(
    /// `virtio_net_features_first_32`.
    VirtioFeaturesFirst32(u32) {}
);
wire_newtype!(
    /// `virtio_net_features_last_32`.
    VirtioFeaturesLast32(u32) {}
);

/// `message_table_entry`: one line of the handshake's message table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageTableEntry {
    /// The message id.
    pub index: u16,
    /// `<name>_<crc>`.
    pub name: FixedString<64>,
}

impl Wire for MessageTableEntry {
    fn encode(&self, w: &mut Writer) {
        self.index.encode(w);
        self.name.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MessageTableEntry {
            index: u16::decode(r)?,
            name: FixedString::decode(r)?,
        })
    }
}

/// `bridge_domain_sw_if`: one member in bridge_domain_details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BridgeDomainSwIf {
    /// Echoed from the request.
    pub context: u32,
    /// The member interface.
    pub sw_if_index: u32,
    /// Its split-horizon group.
    pub shg: u8,
}

impl Wire for BridgeDomainSwIf {
    fn encode(&self, w: &mut Writer) {
        self.context.encode(w);
        self.sw_if_index.encode(w);
        self.shg.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BridgeDomainSwIf {
            context: u32::decode(r)?,
            sw_if_index: u32::decode(r)?,
            shg: u8::decode(r)?,
        })
    }
}
