//! The data plane: memif interfaces that really move packets. One thread owns every memif
//! socket and connection; frames that arrive go through [`forward`] under the model lock,
//! and what comes out is sent on. The API side tells the thread about interfaces through a
//! command queue and a wake-up eventfd.

mod forward;
pub mod frame;
mod ping;

pub use ping::ping;

use std::collections::{BTreeMap, HashMap};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use memif::eventfd::EventFd;
use memif::{Event, MasterConfig, MasterSocket, Mode, Slave, SlaveConfig, SocketAddr};

use crate::model::Vpp;

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
    /// Acknowledged once the interface exists (a master's socket is listening).
    Add(MemifSpec, SyncSender<()>),
    /// Acknowledged once the interface is gone (a last master's socket file too).
    Remove(u32, SyncSender<()>),
    Send(u32, Vec<u8>),
}

/// An echo reply as `ping` reports it: when it came, its TTL and IP length.
pub(crate) type EchoReply = (Instant, u8, usize);

/// Replies awaited by `ping`, by (id, seq).
#[derive(Default)]
pub struct Pings {
    waiting: Mutex<HashMap<(u16, u16), Sender<EchoReply>>>,
}

impl Pings {
    fn deliver(&self, id: u16, seq: u16, ttl: u8, len: usize) {
        if let Some(tx) = self.waiting.lock().expect("pings").remove(&(id, seq)) {
            let _ = tx.send((Instant::now(), ttl, len));
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
        let model = Arc::downgrade(vpp);
        let pings = dp.pings.clone();
        std::thread::Builder::new()
            .name("dataplane".into())
            .spawn(move || Worker::new(model, rx, wake, pings).run())?;
        Ok(dp)
    }

    fn send_command(&self, c: Command) {
        if self.commands.send(c).is_ok() {
            let _ = self.wake.signal();
        }
    }

    /// Adds a memif and waits until it exists, as VPP's API call does. The caller may
    /// hold the model lock: the data plane never blocks on it while commands wait.
    pub fn add(&self, spec: MemifSpec) {
        let (tx, rx) = sync_channel(1);
        self.send_command(Command::Add(spec, tx));
        let _ = rx.recv_timeout(Duration::from_secs(5));
    }

    pub fn remove(&self, sw_if_index: u32) {
        let (tx, rx) = sync_channel(1);
        self.send_command(Command::Remove(sw_if_index, tx));
        let _ = rx.recv_timeout(Duration::from_secs(5));
    }

    pub fn send(&self, sw_if_index: u32, frame: Vec<u8>) {
        self.send_command(Command::Send(sw_if_index, frame));
    }
}

/// A slave and when to try connecting it again.
struct SlaveState {
    slave: Slave,
    retry_at: Instant,
    backoff: Duration,
}

struct Worker {
    model: Weak<Mutex<Vpp>>,
    commands: Receiver<Command>,
    wake: Arc<EventFd>,
    pings: Arc<Pings>,
    /// One listening socket per socket file, with its interfaces by memif id.
    sockets: BTreeMap<PathBuf, (MasterSocket, BTreeMap<u32, u32>)>,
    slaves: BTreeMap<u32, SlaveState>,
    /// sw_if_index -> (socket, memif id) of masters.
    masters: BTreeMap<u32, (PathBuf, u32)>,
}

fn mode(m: u32) -> Mode {
    match m {
        1 => Mode::Ip,
        2 => Mode::PuntInject,
        _ => Mode::Ethernet,
    }
}

impl Worker {
    fn new(
        model: Weak<Mutex<Vpp>>,
        commands: Receiver<Command>,
        wake: Arc<EventFd>,
        pings: Arc<Pings>,
    ) -> Worker {
        Worker {
            model,
            commands,
            wake,
            pings,
            sockets: BTreeMap::new(),
            slaves: BTreeMap::new(),
            masters: BTreeMap::new(),
        }
    }

    fn run(mut self) {
        loop {
            let Some(model) = self.model.upgrade() else {
                return;
            };
            let _ = self.wake.take();
            let mut outgoing = Vec::new();
            self.commands(&mut outgoing);
            let mut links = Vec::new();
            let mut received = Vec::new();
            self.control(&mut links);
            self.receive(&mut received);
            if !links.is_empty() || !received.is_empty() || !outgoing.is_empty() {
                let mut vpp = self.lock(&model, &mut outgoing);
                for (sw, up) in links {
                    if let Some(i) = vpp.interfaces.get_mut(&sw) {
                        i.link_up = up;
                    }
                }
                let mut out = forward::transmit(&mut vpp, outgoing);
                for (sw, f) in received {
                    out.extend(forward::input(&mut vpp, sw, f, &self.pings));
                }
                drop(vpp);
                for (sw, f) in out {
                    self.transmit(sw, &f);
                }
            }
            drop(model);
            let mut fds = vec![self.wake.as_raw_fd()];
            for (s, _) in self.sockets.values() {
                fds.extend(s.poll_fds());
            }
            let mut timeout = Duration::from_millis(200);
            let now = Instant::now();
            for s in self.slaves.values() {
                fds.extend(s.slave.poll_fds());
                if !s.slave.is_connected() && !s.slave.is_busy() {
                    timeout = timeout.min(s.retry_at.saturating_duration_since(now));
                }
            }
            let _ = memif::poll_readable(&fds, Some(timeout.max(Duration::from_millis(1))));
        }
    }

    fn commands(&mut self, outgoing: &mut Vec<(u32, Vec<u8>)>) {
        while let Ok(c) = self.commands.try_recv() {
            match c {
                Command::Add(spec, done) => {
                    self.add(spec);
                    let _ = done.send(());
                }
                Command::Remove(sw, done) => {
                    self.remove(sw);
                    let _ = done.send(());
                }
                Command::Send(sw, f) => outgoing.push((sw, f)),
            }
        }
    }

    /// Takes the model lock, serving commands while an API thread holds it (that thread
    /// may be waiting for one of them).
    fn lock<'m>(
        &mut self,
        model: &'m Mutex<Vpp>,
        outgoing: &mut Vec<(u32, Vec<u8>)>,
    ) -> MutexGuard<'m, Vpp> {
        loop {
            match model.try_lock() {
                Ok(g) => return g,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    self.commands(outgoing);
                    let fd = [self.wake.as_raw_fd()];
                    let _ = memif::poll_readable(&fd, Some(Duration::from_millis(1)));
                    let _ = self.wake.take();
                }
            }
        }
    }

    fn add(&mut self, spec: MemifSpec) {
        let addr = SocketAddr::Path(spec.socket.clone());
        let secret = (!spec.secret.is_empty()).then(|| spec.secret.clone());
        if spec.master {
            if !self.sockets.contains_key(&spec.socket) {
                match MasterSocket::bind(&addr, &format!("VPP {}", crate::VERSION)) {
                    Ok(s) => {
                        self.sockets
                            .insert(spec.socket.clone(), (s, BTreeMap::new()));
                    }
                    Err(e) => {
                        tracing::warn!("memif socket {}: {e}", spec.socket.display());
                        return;
                    }
                }
            }
            let (sock, ids) = self.sockets.get_mut(&spec.socket).expect("bound");
            let cfg = MasterConfig {
                secret,
                mode: mode(spec.mode),
                ..MasterConfig::new(spec.id, spec.name.clone())
            };
            if let Err(e) = sock.add_interface(cfg) {
                tracing::warn!("{}: {e}", spec.name);
                return;
            }
            ids.insert(spec.id, spec.sw_if_index);
            self.masters
                .insert(spec.sw_if_index, (spec.socket, spec.id));
        } else {
            let cfg = SlaveConfig {
                secret,
                mode: mode(spec.mode),
                app_name: format!("VPP {}", crate::VERSION),
                log2_ring_size: spec.log2_ring_size,
                buffer_size: spec.buffer_size,
                ..SlaveConfig::new(spec.id, spec.name.clone())
            };
            match Slave::new(addr, cfg) {
                Ok(slave) => {
                    self.slaves.insert(
                        spec.sw_if_index,
                        SlaveState {
                            slave,
                            retry_at: Instant::now(),
                            backoff: Duration::from_millis(10),
                        },
                    );
                }
                Err(e) => tracing::warn!("{}: {e}", spec.name),
            }
        }
    }

    fn remove(&mut self, sw: u32) {
        if let Some(mut s) = self.slaves.remove(&sw) {
            s.slave.disconnect("interface deleted");
        }
        if let Some((path, id)) = self.masters.remove(&sw) {
            if let Some((sock, ids)) = self.sockets.get_mut(&path) {
                sock.remove_interface(id);
                ids.remove(&id);
                if ids.is_empty() {
                    self.sockets.remove(&path);
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }

    fn control(&mut self, links: &mut Vec<(u32, bool)>) {
        for (sock, ids) in self.sockets.values_mut() {
            for e in sock.process() {
                match e {
                    Event::Connected { id } => links.extend(ids.get(&id).map(|sw| (*sw, true))),
                    Event::Disconnected { id, reason } => {
                        tracing::info!("memif id {id}: disconnected: {reason}");
                        links.extend(ids.get(&id).map(|sw| (*sw, false)));
                    }
                    Event::Rejected { id, reason } => {
                        tracing::info!("memif peer refused (id {id:?}): {reason}")
                    }
                }
            }
        }
        let now = Instant::now();
        for (sw, s) in self.slaves.iter_mut() {
            for e in s.slave.process() {
                match e {
                    Event::Connected { .. } => {
                        s.backoff = Duration::from_millis(10);
                        links.push((*sw, true));
                    }
                    Event::Disconnected { reason, .. } | Event::Rejected { reason, .. } => {
                        tracing::info!("memif slave {sw}: {reason}");
                        links.push((*sw, false));
                        s.retry_at = now + s.backoff;
                    }
                }
            }
            if !s.slave.is_connected() && !s.slave.is_busy() && now >= s.retry_at {
                // VPP retries every few seconds; start fast so pods connect at once.
                let _ = s.slave.start();
                s.retry_at = now + s.backoff;
                s.backoff = (s.backoff * 2).min(Duration::from_secs(2));
            }
        }
    }

    fn receive(&mut self, received: &mut Vec<(u32, Vec<u8>)>) {
        for (sock, ids) in self.sockets.values_mut() {
            for m in sock.interfaces_mut() {
                let Some(&sw) = ids.get(&m.id()) else {
                    continue;
                };
                if let Some(conn) = m.connection_mut() {
                    for q in 0..conn.num_rx_queues() {
                        while let Ok(Some(f)) = conn.recv(q) {
                            received.push((sw, f));
                        }
                    }
                }
            }
        }
        for (sw, s) in self.slaves.iter_mut() {
            if let Some(conn) = s.slave.connection_mut() {
                for q in 0..conn.num_rx_queues() {
                    while let Ok(Some(f)) = conn.recv(q) {
                        received.push((*sw, f));
                    }
                }
            }
        }
    }

    fn transmit(&mut self, sw: u32, f: &[u8]) {
        let sent = if let Some(s) = self.slaves.get_mut(&sw) {
            s.slave.send(f)
        } else if let Some((path, id)) = self.masters.get(&sw) {
            match self
                .sockets
                .get_mut(path)
                .and_then(|(s, _)| s.interface_mut(*id))
            {
                Some(m) => m.send(f),
                None => return,
            }
        } else {
            return;
        };
        if let Err(e) = sent {
            tracing::debug!("tx on {sw}: {e}");
        }
    }
}
