//! The data plane: memif interfaces that really move packets. One thread (`worker`) owns
//! every memif socket and connection; frames that arrive go through `forward` under the
//! model lock, and what comes out is sent on. The API side tells the thread about
//! interfaces through a command queue and a wake-up eventfd.

mod epoll;
mod forward;
pub mod frame;
mod ping;
pub mod show;
pub mod vhost;
mod worker;

pub use ping::ping;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memif::eventfd::EventFd;

use crate::model::Vpp;

/// A cheap hasher for the l2fib's keys (a bridge id and a MAC, a few words): each word is
/// folded in with a rotate, an xor and a multiply, which leaves the entropy in the high bits
/// the hash table looks at. Looked up for every frame, unlike the default SipHash.
#[derive(Debug, Default, Clone, Copy)]
pub struct MacHasher(u64);

impl MacHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for MacHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`MacHasher`]s.
pub type MacHash = std::hash::BuildHasherDefault<MacHasher>;

/// VPP's retval when a master's socket path holds something that is not a socket.
pub const VALUE_EXIST: i32 = -81;
/// VPP's retval when a master's socket cannot listen.
pub const SYSCALL_ERROR_4: i32 = -14;

/// A memif interface as the data plane needs it.
#[derive(Debug, Clone)]
pub struct MemifSpec {
    pub sw_if_index: u32,
    pub socket: PathBuf,
    pub id: u32,
    pub master: bool,
    pub mode: u32,
    pub secret: String,
    pub name: String,
    pub log2_ring_size: u8,
    pub buffer_size: u32,
}

enum Command {
    /// Answered once the interface exists (a master's socket is listening), or with
    /// VPP's retval when it cannot.
    Add(MemifSpec, SyncSender<Result<(), i32>>),
    /// Answered once the interface is gone (a last master's socket file too).
    Remove(u32, SyncSender<()>),
    /// Admin state: a slave connects only while admin-up.
    Admin(u32, bool),
    Send(u32, Vec<u8>),
    /// A vhost-user or virtio-user port (see [`vhost`]) to send to.
    VhostAttach(u32, Arc<vhost::Shared>),
    /// Frames a vhost-user or virtio-user port received.
    VhostInput(u32, Vec<Vec<u8>>),
    /// Its link went up or down.
    VhostLink(u32, bool),
}

/// An echo reply as `ping` reports it: when it came, its TTL and IP length.
pub(crate) type EchoReply = (Instant, u8, usize);

/// Who waits for what, and where to tell them.
type Waiters<K, V> = Mutex<HashMap<K, Sender<V>>>;

/// What `ping` waits for: echo replies by (id, seq), ARP answers by (interface, address).
#[derive(Default)]
pub struct Pings {
    waiting: Waiters<(u16, u16), EchoReply>,
    resolving: Waiters<(u32, Ipv4Addr), [u8; 6]>,
}

impl Pings {
    fn deliver(&self, id: u16, seq: u16, ttl: u8, len: usize) {
        if let Some(tx) = self.waiting.lock().expect("pings").remove(&(id, seq)) {
            let _ = tx.send((Instant::now(), ttl, len));
        }
    }

    fn resolved(&self, sw: u32, ip: Ipv4Addr, mac: [u8; 6]) {
        if let Some(tx) = self.resolving.lock().expect("pings").remove(&(sw, ip)) {
            let _ = tx.send(mac);
        }
    }
}

/// The API side's handle on the data-plane thread.
#[derive(Clone)]
pub struct DataPlane {
    commands: Sender<Command>,
    wake: Arc<EventFd>,
    pub(crate) pings: Arc<Pings>,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataPlane")
    }
}

/// How long an API call waits for the data plane to act on a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

impl DataPlane {
    /// Starts the thread; it ends when the model is gone.
    pub fn start(vpp: &Arc<Mutex<Vpp>>) -> std::io::Result<DataPlane> {
        let (tx, rx) = channel();
        let wake = Arc::new(EventFd::new().map_err(std::io::Error::other)?);
        let dp = DataPlane {
            commands: tx,
            wake: wake.clone(),
            pings: Arc::new(Pings::default()),
        };
        let worker = worker::Worker::new(Arc::downgrade(vpp), rx, wake, dp.pings.clone())?;
        std::thread::Builder::new()
            .name("dataplane".into())
            .spawn(move || worker.run())?;
        Ok(dp)
    }

    fn send_command(&self, c: Command) {
        if self.commands.send(c).is_ok() {
            let _ = self.wake.signal();
        }
    }

    /// Adds a memif and waits until it exists, as VPP's API call does; `Err` is VPP's
    /// retval. The caller may hold the model lock: the data plane never blocks on it
    /// while commands wait.
    pub fn add(&self, spec: MemifSpec) -> Result<(), i32> {
        let (tx, rx) = sync_channel(1);
        self.send_command(Command::Add(spec, tx));
        rx.recv_timeout(COMMAND_TIMEOUT).unwrap_or_else(|e| {
            tracing::warn!("data plane did not answer memif create: {e}");
            Err(SYSCALL_ERROR_4)
        })
    }

    /// Removes a memif (any other interface: nothing to do) and waits until it is gone.
    pub fn remove(&self, sw_if_index: u32) {
        let (tx, rx) = sync_channel(1);
        self.send_command(Command::Remove(sw_if_index, tx));
        let _ = rx.recv_timeout(COMMAND_TIMEOUT);
    }

    pub fn set_admin(&self, sw_if_index: u32, up: bool) {
        self.send_command(Command::Admin(sw_if_index, up));
    }

    pub(crate) fn vhost_attach(&self, sw: u32, shared: Arc<vhost::Shared>) {
        self.send_command(Command::VhostAttach(sw, shared));
    }

    pub(crate) fn vhost_input(&self, sw: u32, frames: Vec<Vec<u8>>) {
        self.send_command(Command::VhostInput(sw, frames));
    }

    pub(crate) fn vhost_link(&self, sw: u32, up: bool) {
        self.send_command(Command::VhostLink(sw, up));
    }

    /// Sends a frame out of an interface (counted, and dropped when it is down).
    pub fn send(&self, sw_if_index: u32, frame: Vec<u8>) {
        self.send_command(Command::Send(sw_if_index, frame));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::hash::BuildHasher;

    use super::MacHash;

    #[test]
    fn mac_hashes_spread_over_the_high_bits() {
        let h = MacHash::default();
        let keys: Vec<(u32, [u8; 6])> = (0..4096u32)
            .map(|n| (4 + n % 3, [2, 0, 0, 0, (n >> 8) as u8, n as u8]))
            .collect();
        let full: HashSet<u64> = keys.iter().map(|k| h.hash_one(k)).collect();
        assert_eq!(
            full.len(),
            keys.len(),
            "no collisions among near-identical keys"
        );
        let tags: HashSet<u64> = keys.iter().map(|k| h.hash_one(k) >> 57).collect();
        assert!(tags.len() > 100, "top 7 bits vary: {}", tags.len());
        let mut fib: HashMap<(u32, [u8; 6]), usize, MacHash> = HashMap::default();
        for (n, k) in keys.iter().enumerate() {
            fib.insert(*k, n);
        }
        assert!(keys.iter().enumerate().all(|(n, k)| fib[k] == n));
    }
}
