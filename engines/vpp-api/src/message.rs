//! The message trait, the envelope around every body, and the macro that declares
//! message structs field by field in wire order.

use crate::wire::{DecodeError, Reader, Wire, Writer};

/// The leading fields a message carries after its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// `client_index`, then `context` (requests, and sockclnt_create_reply).
    ClientContext,
    /// `context` only (replies and details, and sockclnt_create).
    Context,
}

/// One VPP API message: its name, CRC and body layout.
pub trait Message: Sized {
    /// The message name, e.g. `memif_create`.
    const NAME: &'static str;
    /// The CRC of its definition: VPP refuses a name whose CRC differs.
    const CRC: u32;
    /// Which leading fields it carries.
    const HEADER: Header;
    /// Field names after the leading ones, in wire order (a variable array's count field
    /// is folded into the array).
    const FIELDS: &'static [&'static str];
    /// Encodes the fields after the leading ones.
    fn encode_fields(&self, w: &mut Writer);
    /// Decodes the fields after the leading ones.
    fn decode_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// The key a server advertises this message under: `<name>_<crc>`.
    fn name_crc() -> String {
        format!("{}_{:08x}", Self::NAME, Self::CRC)
    }
}

/// A request answered by exactly one reply.
pub trait Request: Message {
    /// The one reply.
    type Reply: Message;
}

/// A request answered by zero or more details messages (then ended by control_ping).
pub trait Dump: Message {
    /// The details message each item comes in.
    type Details: Message;
}

/// A reply that carries VPP's `retval`.
pub trait Retval {
    /// VPP's `retval` (0 is success; see [`crate::retval`]).
    fn retval(&self) -> i32;
}

/// The leading fields of a message as they travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The message id from the handshake's table.
    pub msg_id: u16,
    /// Zero for messages without one.
    pub client_index: u32,
    /// Matches a reply to its request.
    pub context: u32,
}

/// Encodes a whole body: id, leading fields, then the message's fields.
pub fn encode<M: Message>(env: Envelope, msg: &M) -> Vec<u8> {
    let mut w = Writer::new();
    env.msg_id.encode(&mut w);
    if M::HEADER == Header::ClientContext {
        env.client_index.encode(&mut w);
    }
    env.context.encode(&mut w);
    msg.encode_fields(&mut w);
    w.into_inner()
}

/// Reads the message id of a body without decoding the rest.
pub fn peek_id(body: &[u8]) -> Result<u16, DecodeError> {
    u16::decode(&mut Reader::new(body))
}

/// Decodes a whole body as `M`. Trailing bytes are ignored, as VPP does.
pub fn decode<M: Message>(body: &[u8]) -> Result<(Envelope, M), DecodeError> {
    let mut r = Reader::new(body);
    let msg_id = u16::decode(&mut r)?;
    let client_index = match M::HEADER {
        Header::ClientContext => u32::decode(&mut r)?,
        Header::Context => 0,
    };
    let context = u32::decode(&mut r)?;
    let msg = M::decode_fields(&mut r)?;
    Ok((
        Envelope {
            msg_id,
            client_index,
            context,
        },
        msg,
    ))
}

/// Declares a message struct with its wire name, CRC and fields in wire order.
macro_rules! message {
    (
        $(#[$meta:meta])*
        $name:ident = $wire:literal, $crc:literal, $header:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[doc = concat!("\n\nVPP's `", $wire, "` message.")]
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        // Fields are named as in VPP's `.api.json` (see `api/`), which documents them.
        #[allow(missing_docs)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::message::Message for $name {
            const NAME: &'static str = $wire;
            const CRC: u32 = $crc;
            const HEADER: $crate::message::Header = $crate::message::Header::$header;
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            #[allow(unused_variables)]
            fn encode_fields(&self, w: &mut $crate::wire::Writer) {
                $( $crate::wire::Wire::encode(&self.$field, w); )*
            }

            #[allow(unused_variables)]
            fn decode_fields(
                r: &mut $crate::wire::Reader<'_>,
            ) -> Result<Self, $crate::wire::DecodeError> {
                Ok($name { $( $field: $crate::wire::Wire::decode(r)?, )* })
            }
        }
    };
}

/// Declares a reply whose first field is `retval`.
macro_rules! reply {
    (
        $(#[$meta:meta])*
        $name:ident = $wire:literal, $crc:literal {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        message! {
            $(#[$meta])*
            $name = $wire, $crc, Context { retval: i32, $( $(#[$fmeta])* $field: $ty, )* }
        }
        impl $crate::message::Retval for $name {
            fn retval(&self) -> i32 {
                self.retval
            }
        }
    };
}

/// Ties a request to its reply (`request!`) or a dump to its details (`dump!`).
macro_rules! request {
    ($req:ty => $reply:ty) => {
        impl $crate::message::Request for $req {
            type Reply = $reply;
        }
    };
}

macro_rules! dump {
    ($req:ty => $details:ty) => {
        impl $crate::message::Dump for $req {
            type Details = $details;
        }
    };
}

pub(crate) use {dump, message, reply, request};
