//! A blocking client: one connection, one request at a time, every call bounded by a
//! deadline. That is all a CNI plugin needs, and it keeps start-up and memory small.

use std::io::{self, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::frame::{read_frame, write_frame};
use crate::message::{self, Dump, Envelope, Message, Request};
use crate::messages::{
    ControlPing, ControlPingReply, SockclntCreate, SockclntCreateReply, SockclntDelete,
    SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID,
};
use crate::table::MessageTable;
use crate::wire::{DecodeError, FixedString};

/// Largest frame a client accepts (the handshake reply of a full VPP is a few hundred KiB).
const MAX_FRAME: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
/// What can go wrong talking to VPP.
pub enum Error {
    #[error("cannot connect to {path}: {source}")]
    /// The API socket could not be connected.
    Connect {
        /// The socket path.
        path: PathBuf,
        #[source]
        /// Why.
        source: io::Error,
    },
    #[error("no answer from VPP within {0:?}")]
    /// No reply within the client's bound.
    Timeout(Duration),
    #[error("VPP closed the connection")]
    /// VPP closed the connection.
    Closed,
    #[error("I/O error on the VPP API socket: {0}")]
    /// Reading or writing the socket failed.
    Io(#[from] io::Error),
    #[error("cannot decode {what}: {source}")]
    /// A message from VPP could not be decoded.
    Decode {
        /// Which message.
        what: String,
        #[source]
        /// Why.
        source: DecodeError,
    },
    /// The server does not have this message with this CRC (absent or another version).
    #[error("VPP does not offer {0}")]
    Unsupported(String),
    #[error("VPP refused the handshake (response {0})")]
    /// VPP answered the handshake with this non-zero response.
    Handshake(i32),
}

/// A live API session with a VPP (or anything that speaks its socket API).
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    table: MessageTable,
    client_index: u32,
    next_context: u32,
    timeout: Duration,
    /// When set, no call waits past it (the caller's whole operation is bounded).
    deadline: Option<Instant>,
}

impl Client {
    /// Connects to `path` and performs the handshake; every later call is bounded by
    /// `timeout`.
    pub fn connect(path: &Path, name: &str, timeout: Duration) -> Result<Client, Error> {
        let stream = UnixStream::connect(path).map_err(|source| Error::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = stream.try_clone()?;
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            table: MessageTable::new(),
            client_index: 0,
            next_context: 0,
            timeout,
            deadline: None,
        };
        let context = client.context();
        let hello = SockclntCreate {
            name: FixedString::new(name),
        };
        let env = Envelope {
            msg_id: SOCKCLNT_CREATE_ID,
            client_index: 0,
            context,
        };
        client.send_body(&message::encode(env, &hello))?;
        let deadline = Instant::now() + timeout;
        let (_, reply): (_, SockclntCreateReply) =
            client.receive(SOCKCLNT_CREATE_REPLY_ID, context, deadline)?;
        if reply.response != 0 {
            return Err(Error::Handshake(reply.response));
        }
        for entry in reply.message_table.items {
            client.table.insert(entry.name.as_str(), entry.index);
        }
        client.client_index = reply.index;
        Ok(client)
    }

    /// Bounds every later call by `deadline` as well as by the per-call timeout.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// When the call starting now must be answered.
    fn call_deadline(&self) -> Instant {
        let own = Instant::now() + self.timeout;
        self.deadline.map_or(own, |d| d.min(own))
    }

    /// Whether the server offers `M` with exactly this crate's definition.
    pub fn has<M: Message>(&self) -> bool {
        self.table.id_of::<M>().is_some()
    }

    /// The server's message table.
    pub fn table(&self) -> &MessageTable {
        &self.table
    }

    /// The client_index the server handed out in the handshake.
    pub fn client_index(&self) -> u32 {
        self.client_index
    }

    /// Sends `msg` and waits for its reply.
    pub fn request<M: Request>(&mut self, msg: &M) -> Result<M::Reply, Error> {
        let deadline = self.call_deadline();
        let context = self.send(msg)?;
        let reply_id = self.id_of::<M::Reply>()?;
        Ok(self.receive(reply_id, context, deadline)?.1)
    }

    /// Sends a dump, then a control_ping with the same context, and collects the details
    /// that arrive before the ping's reply.
    pub fn dump<M: Dump>(&mut self, msg: &M) -> Result<Vec<M::Details>, Error> {
        let deadline = self.call_deadline();
        let context = self.send(msg)?;
        self.send_with_context(&ControlPing {}, context)?;
        let details_id = self.id_of::<M::Details>()?;
        let ping_reply_id = self.id_of::<ControlPingReply>()?;
        let mut out = Vec::new();
        loop {
            let body = self.next_body(deadline)?;
            let id = message::peek_id(&body).map_err(decode_err::<M::Details>)?;
            if id == details_id {
                let (env, d) =
                    message::decode::<M::Details>(&body).map_err(decode_err::<M::Details>)?;
                if env.context == context {
                    out.push(d);
                }
            } else if id == ping_reply_id {
                let (env, _) = message::decode::<ControlPingReply>(&body)
                    .map_err(decode_err::<ControlPingReply>)?;
                if env.context == context {
                    return Ok(out);
                }
            }
        }
    }

    /// Says goodbye politely; errors are irrelevant at this point.
    pub fn disconnect(mut self) {
        let msg = SockclntDelete {
            index: self.client_index,
        };
        let _ = self.send(&msg);
    }

    fn id_of<M: Message>(&self) -> Result<u16, Error> {
        self.table
            .id_of::<M>()
            .ok_or_else(|| Error::Unsupported(M::name_crc()))
    }

    fn context(&mut self) -> u32 {
        // Context 0 reads as an unsolicited event to some clients: never use it.
        self.next_context = self.next_context.wrapping_add(1).max(1);
        self.next_context
    }

    fn send<M: Message>(&mut self, msg: &M) -> Result<u32, Error> {
        let context = self.context();
        self.send_with_context(msg, context)?;
        Ok(context)
    }

    fn send_with_context<M: Message>(&mut self, msg: &M, context: u32) -> Result<(), Error> {
        let env = Envelope {
            msg_id: self.id_of::<M>()?,
            client_index: self.client_index,
            context,
        };
        self.send_body(&message::encode(env, msg))
    }

    fn send_body(&mut self, body: &[u8]) -> Result<(), Error> {
        self.writer.set_write_timeout(Some(self.timeout))?;
        write_frame(&mut self.writer, body).map_err(|e| self.io_err(e))
    }

    /// Waits for message `id` with `context`, skipping anything else (late answers to
    /// earlier requests, events).
    fn receive<M: Message>(
        &mut self,
        id: u16,
        context: u32,
        deadline: Instant,
    ) -> Result<(Envelope, M), Error> {
        loop {
            let body = self.next_body(deadline)?;
            if message::peek_id(&body).map_err(decode_err::<M>)? != id {
                continue;
            }
            let (env, msg) = message::decode::<M>(&body).map_err(decode_err::<M>)?;
            if env.context == context {
                return Ok((env, msg));
            }
        }
    }

    fn next_body(&mut self, deadline: Instant) -> Result<Vec<u8>, Error> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(self.timeout));
        }
        self.reader.get_ref().set_read_timeout(Some(left))?;
        match read_frame(&mut self.reader, MAX_FRAME) {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(Error::Closed),
            Err(e) => Err(self.io_err(e)),
        }
    }

    fn io_err(&self, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(self.timeout),
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset => Error::Closed,
            _ => Error::Io(e),
        }
    }
}

fn decode_err<M: Message>(source: DecodeError) -> Error {
    Error::Decode {
        what: M::NAME.to_string(),
        source,
    }
}
