//! The API clients connected now, as VPP's socket server registers them: each accepted
//! connection takes a slot of a pool (slot 0 is the listening socket itself, freed slots
//! are reused last-freed-first) and is known by the index `slot | 0x8000_0000`.
//!
//! VPP answers a request on the connection its `client_index` names, which need not be
//! the one it came on, and sends no answer when no live client has that index.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use vpp_api::frame::write_frame;

use crate::model::ids::Pool;

/// Bit 31 marks a socket client's index (VPP's SOCK_API_REG_HANDLE_BIT).
pub const HANDLE_BIT: u32 = 0x8000_0000;

/// A client connection's sending side.
pub struct Conn {
    stream: UnixStream,
    /// Held while one thread writes its frames, so frames never interleave.
    writing: Mutex<()>,
}

pub type Sender = Arc<Conn>;

#[derive(Default)]
struct Slots {
    pool: Pool,
    live: HashMap<u32, Sender>,
}

/// The registry of live clients, shared by every connection thread.
pub struct Clients {
    slots: Mutex<Slots>,
}

impl Default for Clients {
    fn default() -> Clients {
        Clients {
            slots: Mutex::new(Slots {
                pool: Pool::with_reserved(1),
                live: HashMap::new(),
            }),
        }
    }
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an accepted connection; returns its client index.
    pub fn register(&self, stream: UnixStream) -> u32 {
        let mut s = self.lock();
        let slot = s.pool.get();
        let writing = Mutex::new(());
        s.live.insert(slot, Arc::new(Conn { stream, writing }));
        slot | HANDLE_BIT
    }

    /// Forgets a client (its connection ended or it said sockclnt_delete).
    pub fn unregister(&self, index: u32) {
        let mut s = self.lock();
        if s.live.remove(&(index & !HANDLE_BIT)).is_some() {
            s.pool.put(index & !HANDLE_BIT);
        }
    }

    /// The live client with this index, as VPP's `vl_api_client_index_to_registration`.
    pub fn get(&self, index: u32) -> Option<Sender> {
        if index & HANDLE_BIT == 0 {
            return None;
        }
        self.lock().live.get(&(index & !HANDLE_BIT)).cloned()
    }

    /// Sends frames to the client `index`; false when there is no such client (the
    /// frames are dropped, as VPP drops them).
    pub fn send(&self, index: u32, bodies: &[Vec<u8>]) -> io::Result<bool> {
        let Some(to) = self.get(index) else {
            return Ok(false);
        };
        send(&to, bodies)?;
        Ok(true)
    }

    /// Ends a client's connection (its reader sees end of file and unregisters it),
    /// also while another thread is stuck writing to it.
    pub fn close(&self, index: u32) {
        if let Some(to) = self.get(index) {
            let _ = to.stream.shutdown(Shutdown::Both);
        }
    }
}

/// Writes frames to one connection, together.
pub fn send(to: &Sender, bodies: &[Vec<u8>]) -> io::Result<()> {
    let _turn = to.writing.lock().unwrap_or_else(|e| e.into_inner());
    let mut stream = &to.stream;
    for b in bodies {
        write_frame(&mut stream, b)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_start_after_the_listener_and_reuse_the_last_freed() {
        let clients = Clients::default();
        let conn = || UnixStream::pair().unwrap().0;
        let a = clients.register(conn());
        let b = clients.register(conn());
        assert_eq!((a, b), (0x8000_0001, 0x8000_0002));
        clients.unregister(a);
        assert!(clients.get(a).is_none());
        assert!(clients.get(b).is_some());
        assert_eq!(clients.register(conn()), a);
        assert!(
            clients.get(b & !HANDLE_BIT).is_none(),
            "bit 31 is part of the index"
        );
    }
}
