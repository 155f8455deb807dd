//! The data-plane thread: memif master sockets and slaves, driven by one epoll set that
//! their descriptors join and leave as peers come and go, a wake-up eventfd for commands
//! from the API side, and a heap of slave retry times. A wake-up costs what is ready:
//! interfaces without traffic or control messages are not looked at.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use memif::eventfd::EventFd;
use memif::{
    Burst, Connection, Event, MasterConfig, MasterSocket, Mode, PeerInfo, Slave, SlaveConfig,
    SocketAddr,
};

use super::epoll::{Epoll, Registered};
use super::forward::{self, Egress, Payload};
use super::vhost::Shared as VhostShared;
use super::{Command, MemifSpec, Pings, SYSCALL_ERROR_4, VALUE_EXIST};
use crate::model::{Device, Vpp};

#[path = "traffic.rs"]
mod traffic;

/// First retry of a slave whose master is not there yet; doubled up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(10);
/// VPP's memif process retries every 3 s; a little faster here.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often learned MACs are checked against their bridge's mac_age.
const AGE_SCAN: Duration = Duration::from_secs(1);
/// Longest sleep with nothing to do (the thread also checks that the model still exists).
const IDLE: Duration = Duration::from_millis(200);
/// How long a port that received frames is polled after its last frame before the thread
/// goes back to sleeping on its interrupts (so an idle data plane costs no CPU).
const SPIN: Duration = Duration::from_micros(200);
/// Events taken per epoll_wait; more stay ready for the next one.
const EVENTS: usize = 64;
/// Frames taken from one receive queue per look; more wait for the next round.
const BURST: usize = 256;

/// (egress sw_if_index, frame)
type Frames = Vec<(u32, Vec<u8>)>;
/// Link changes: the peer when up.
type Links = Vec<(u32, Option<PeerInfo>)>;

/// What an epoll event is about: the kind in the top byte, then a queue, then an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Wake,
    /// A master socket's listener or one of its connections still waiting for INIT.
    Listener(usize),
    /// A port's control socket.
    Control(u32),
    /// A port's receive queue interrupt.
    Rx(u32),
}

impl Token {
    fn encode(self) -> u64 {
        match self {
            Token::Wake => 0,
            Token::Listener(slot) => 1 << 56 | slot as u64,
            Token::Control(sw) => 2 << 56 | u64::from(sw),
            Token::Rx(sw) => 3 << 56 | u64::from(sw),
        }
    }

    fn decode(t: u64) -> Token {
        let low = t & ((1 << 56) - 1);
        match t >> 56 {
            1 => Token::Listener(low as usize),
            2 => Token::Control(low as u32),
            3 => Token::Rx(low as u32),
            _ => Token::Wake,
        }
    }
}

/// A slave and when to try connecting it again.
struct SlaveState {
    slave: Slave,
    admin_up: bool,
    retry_at: Instant,
    backoff: Duration,
}

enum Link {
    /// A master interface: its socket's slot and its memif id there.
    Master {
        socket: usize,
        id: u32,
    },
    Slave(Box<SlaveState>),
}

/// One memif interface of the data plane, by sw_if_index.
struct Port {
    link: Link,
    registered: Registered,
    /// In the list of ports to receive from.
    ready: bool,
    /// Polled (interrupts masked) since it received frames; when it last did.
    hot: Option<Instant>,
}

/// A listening socket file with its master interfaces: memif id -> sw_if_index.
struct Socket {
    sock: MasterSocket,
    path: PathBuf,
    ids: BTreeMap<u32, u32>,
    registered: Registered,
}

pub(super) struct Worker {
    model: Weak<Mutex<Vpp>>,
    commands: Receiver<Command>,
    wake: Arc<EventFd>,
    pings: Arc<Pings>,
    epoll: Arc<Epoll>,
    /// The wake-up eventfd's registration.
    _wake_registered: Registered,
    /// Master sockets by slot; `by_path` finds a socket file's slot.
    sockets: Vec<Option<Socket>>,
    by_path: HashMap<PathBuf, usize>,
    /// Ports by sw_if_index.
    ports: Vec<Option<Port>>,
    /// Ports with receive work, each once.
    ready: Vec<u32>,
    /// Ports polled while traffic flows, each once.
    hot: Vec<u32>,
    /// This round's received frames: (ingress sw_if_index, frames).
    inbound: Vec<(u32, Burst)>,
    /// Emptied bursts, kept for their memory.
    spare: Vec<Burst>,
    /// Frames counted as sent that found the egress ring full: (sw_if_index, frames,
    /// bytes), moved from the tx counters to drops under the next model lock.
    unsent: Vec<(u32, u64, u64)>,
    /// When a slave is due for a connection attempt (stale entries are skipped).
    retries: BinaryHeap<Reverse<(Instant, u32)>>,
    last_age_scan: Instant,
    /// vhost-user and virtio-user ports by sw_if_index (their threads receive; frames
    /// for them are written to their rings from here).
    vhost: HashMap<u32, Arc<VhostShared>>,
    /// Frames they received, for this round.
    vhost_in: Frames,
    /// Their link changes, for this round.
    vhost_links: Vec<(u32, bool)>,
}

fn mode(m: u32) -> Mode {
    match m {
        1 => Mode::Ip,
        2 => Mode::PuntInject,
        _ => Mode::Ethernet,
    }
}

fn app_name() -> String {
    format!("VPP {}", crate::VERSION)
}

/// A port's control socket and receive interrupts, as (descriptor, token).
fn port_fds(
    sw: u32,
    control: Option<RawFd>,
    conn: Option<&Connection>,
) -> impl Iterator<Item = (RawFd, u64)> + '_ {
    let control = control.map(|fd| (fd, Token::Control(sw).encode()));
    let rx = conn.into_iter().flat_map(move |c| {
        (0..c.num_rx_queues())
            .filter_map(move |q| c.rx_interrupt_fd(q).map(|fd| fd.as_raw_fd()))
            .map(move |fd| (fd, Token::Rx(sw).encode()))
    });
    control.into_iter().chain(rx)
}

impl Worker {
    pub(super) fn new(
        model: Weak<Mutex<Vpp>>,
        commands: Receiver<Command>,
        wake: Arc<EventFd>,
        pings: Arc<Pings>,
    ) -> std::io::Result<Worker> {
        let epoll = Epoll::new()?;
        let mut wake_registered = Registered::new(&epoll);
        wake_registered.set(0, [(wake.as_raw_fd(), Token::Wake.encode())]);
        Ok(Worker {
            model,
            commands,
            wake,
            pings,
            epoll,
            _wake_registered: wake_registered,
            sockets: Vec::new(),
            by_path: HashMap::new(),
            ports: Vec::new(),
            ready: Vec::new(),
            hot: Vec::new(),
            inbound: Vec::new(),
            spare: Vec::new(),
            unsent: Vec::new(),
            retries: BinaryHeap::new(),
            last_age_scan: Instant::now(),
            vhost: HashMap::new(),
            vhost_in: Vec::new(),
            vhost_links: Vec::new(),
        })
    }

    pub(super) fn run(mut self) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        loop {
            let n = self.epoll.wait(&mut events, self.timeout());
            let Some(model) = self.model.upgrade() else {
                return;
            };
            let mut links = Vec::new();
            for ev in &events[..n] {
                match Token::decode(ev.u64) {
                    Token::Wake => {
                        let _ = self.wake.take();
                    }
                    Token::Listener(slot) => self.listener(slot, &mut links),
                    Token::Control(sw) => self.control(sw, &mut links),
                    Token::Rx(sw) => self.mark_ready(sw),
                }
            }
            let mut outgoing = Vec::new();
            self.commands(&mut outgoing);
            self.retry_slaves();
            self.receive();
            if self.inbound.is_empty() && !self.hot.is_empty() {
                // Polling with nothing to do: let other threads on this CPU (a peer on the
                // same machine, say) run first.
                std::thread::yield_now();
            }
            let age = self.last_age_scan.elapsed() >= AGE_SCAN;
            let busy = !self.inbound.is_empty()
                || !outgoing.is_empty()
                || !self.unsent.is_empty()
                || !self.vhost_in.is_empty()
                || !self.vhost_links.is_empty();
            if age || !links.is_empty() || busy {
                let mut vpp = self.lock(&model, &mut outgoing);
                if age {
                    forward::age(&mut vpp, Instant::now());
                    self.last_age_scan = Instant::now();
                }
                for (sw, peer) in links {
                    link(&mut vpp, sw, peer);
                }
                for (sw, up) in self.vhost_links.drain(..) {
                    if let Some(i) = vpp.interfaces.get_mut(&sw) {
                        i.link_up = up;
                    }
                }
                for (sw, frames, bytes) in self.unsent.drain(..) {
                    forward::unsent(&mut vpp, sw, frames, bytes);
                }
                let mut out: Egress = forward::transmit(&mut vpp, outgoing)
                    .into_iter()
                    .map(|(sw, f)| (sw, Payload::Made(f)))
                    .collect();
                let now = Instant::now();
                for (sw, f) in self.vhost_in.drain(..) {
                    let made = forward::input_at(&mut vpp, sw, f, &self.pings, now);
                    out.extend(made.into_iter().map(|(p, f)| (p, Payload::Made(f))));
                }
                for (b, (sw, frames)) in self.inbound.iter().enumerate() {
                    forward::input_burst(&mut vpp, *sw, b, frames, &self.pings, now, &mut out);
                }
                drop(vpp);
                self.send_out(out);
            }
        }
    }

    /// Until the next timer: the age scan, the earliest slave retry, at most [`IDLE`];
    /// no wait at all while ports are polled.
    fn timeout(&self) -> Duration {
        if !self.hot.is_empty() {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let mut t = IDLE.min(AGE_SCAN.saturating_sub(self.last_age_scan.elapsed()));
        if let Some(Reverse((at, _))) = self.retries.peek() {
            t = t.min(at.saturating_duration_since(now));
        }
        t
    }

    fn port(&mut self, sw: u32) -> Option<&mut Port> {
        self.ports.get_mut(sw as usize)?.as_mut()
    }

    fn mark_ready(&mut self, sw: u32) {
        if let Some(p) = self.port(sw) {
            if !p.ready {
                p.ready = true;
                self.ready.push(sw);
            }
        }
    }

    /// Registers a port's current descriptors when they changed since the last time.
    fn sync_port(&mut self, sw: u32) {
        let Some(Some(port)) = self.ports.get_mut(sw as usize) else {
            return;
        };
        match &port.link {
            Link::Master { socket, id } => {
                let Some(m) = self.sockets[*socket]
                    .as_ref()
                    .and_then(|s| s.sock.interface(*id))
                else {
                    return;
                };
                if !port.registered.is_current(m.generation()) {
                    let fds = port_fds(sw, m.control_fd(), m.connection());
                    port.registered.set(m.generation(), fds);
                }
            }
            Link::Slave(s) => {
                let g = s.slave.generation();
                if !port.registered.is_current(g) {
                    let fds = port_fds(sw, s.slave.control_fd(), s.slave.connection());
                    port.registered.set(g, fds);
                }
            }
        }
    }

    /// Registers a socket's listener and pending connections when they changed.
    fn sync_socket(&mut self, slot: usize) {
        let Some(Some(s)) = self.sockets.get_mut(slot) else {
            return;
        };
        let g = s.sock.pending_generation();
        if !s.registered.is_current(g) {
            let token = Token::Listener(slot).encode();
            let fds = std::iter::once(s.sock.listener_fd()).chain(s.sock.pending_fds());
            s.registered.set(g, fds.map(|fd| (fd, token)));
        }
    }

    fn commands(&mut self, outgoing: &mut Frames) {
        while let Ok(c) = self.commands.try_recv() {
            match c {
                Command::Add(spec, done) => {
                    let _ = done.send(self.add(spec));
                }
                Command::Remove(sw, done) => {
                    self.remove(sw);
                    let _ = done.send(());
                }
                Command::Admin(sw, up) => {
                    if let Some(Port {
                        link: Link::Slave(s),
                        ..
                    }) = self.port(sw)
                    {
                        s.admin_up = up;
                        s.retry_at = Instant::now();
                        s.backoff = RETRY_FIRST;
                        let at = s.retry_at;
                        self.retries.push(Reverse((at, sw)));
                    }
                }
                Command::Send(sw, f) => outgoing.push((sw, f)),
                Command::VhostAttach(sw, shared) => {
                    self.vhost.insert(sw, shared);
                }
                Command::VhostInput(sw, frames) => {
                    self.vhost_in.extend(frames.into_iter().map(|f| (sw, f)));
                }
                Command::VhostLink(sw, up) => self.vhost_links.push((sw, up)),
            }
        }
    }

    /// Takes the model lock, serving commands while an API thread holds it (that thread
    /// may be waiting for one of them).
    fn lock<'m>(&mut self, model: &'m Mutex<Vpp>, outgoing: &mut Frames) -> MutexGuard<'m, Vpp> {
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

    fn insert_port(&mut self, sw: u32, link: Link) {
        let i = sw as usize;
        if self.ports.len() <= i {
            self.ports.resize_with(i + 1, || None);
        }
        self.ports[i] = Some(Port {
            link,
            registered: Registered::new(&self.epoll),
            ready: false,
            hot: None,
        });
        self.sync_port(sw);
    }

    fn add(&mut self, spec: MemifSpec) -> Result<(), i32> {
        let addr = SocketAddr::Path(spec.socket.clone());
        let secret = (!spec.secret.is_empty()).then(|| spec.secret.clone());
        if !spec.master {
            let cfg = SlaveConfig {
                secret,
                mode: mode(spec.mode),
                app_name: app_name(),
                log2_ring_size: spec.log2_ring_size,
                buffer_size: spec.buffer_size,
                ..SlaveConfig::new(spec.id, spec.name.clone())
            };
            let slave = Slave::new(addr, cfg).map_err(|e| {
                tracing::warn!("{}: {e}", spec.name);
                vpp_api::retval::INVALID_ARGUMENT
            })?;
            let state = SlaveState {
                slave,
                admin_up: false,
                retry_at: Instant::now(),
                backoff: RETRY_FIRST,
            };
            self.insert_port(spec.sw_if_index, Link::Slave(Box::new(state)));
            return Ok(());
        }
        let slot = match self.by_path.get(&spec.socket) {
            Some(slot) => *slot,
            None => self.bind(&spec.socket, &addr)?,
        };
        let socket = self.sockets[slot].as_mut().expect("bound");
        let cfg = MasterConfig {
            secret,
            mode: mode(spec.mode),
            ..MasterConfig::new(spec.id, spec.name.clone())
        };
        if let Err(e) = socket.sock.add_interface(cfg) {
            tracing::warn!("{}: {e}", spec.name);
            if socket.ids.is_empty() {
                self.close_socket(slot);
            }
            return Err(vpp_api::retval::INVALID_ARGUMENT);
        }
        socket.ids.insert(spec.id, spec.sw_if_index);
        let link = Link::Master {
            socket: slot,
            id: spec.id,
        };
        self.insert_port(spec.sw_if_index, link);
        Ok(())
    }

    /// Listens on a socket file; its slot.
    fn bind(&mut self, path: &PathBuf, addr: &SocketAddr) -> Result<usize, i32> {
        // As VPP: a stale socket file is replaced, anything else is refused.
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if !m.file_type().is_socket() {
                return Err(VALUE_EXIST);
            }
        }
        let sock = MasterSocket::bind(addr, &app_name()).map_err(|e| {
            tracing::warn!("memif socket {}: {e}", path.display());
            SYSCALL_ERROR_4
        })?;
        let socket = Socket {
            sock,
            path: path.clone(),
            ids: BTreeMap::new(),
            registered: Registered::new(&self.epoll),
        };
        let slot = match self.sockets.iter().position(Option::is_none) {
            Some(free) => {
                self.sockets[free] = Some(socket);
                free
            }
            None => {
                self.sockets.push(Some(socket));
                self.sockets.len() - 1
            }
        };
        self.by_path.insert(path.clone(), slot);
        self.sync_socket(slot);
        Ok(slot)
    }

    fn close_socket(&mut self, slot: usize) {
        if let Some(s) = self.sockets.get_mut(slot).and_then(Option::take) {
            self.by_path.remove(&s.path);
            drop(s.registered);
            drop(s.sock);
            let _ = std::fs::remove_file(&s.path);
        }
    }

    fn remove(&mut self, sw: u32) {
        self.vhost.remove(&sw);
        let Some(port) = self.ports.get_mut(sw as usize).and_then(Option::take) else {
            return;
        };
        drop(port.registered);
        match port.link {
            Link::Slave(mut s) => {
                s.slave.disconnect("interface deleted");
            }
            Link::Master { socket, id } => {
                if let Some(s) = self.sockets[socket].as_mut() {
                    s.sock.remove_interface(id);
                    s.ids.remove(&id);
                    if s.ids.is_empty() {
                        self.close_socket(socket);
                    }
                }
            }
        }
    }

    /// A socket's listener or a pending connection is readable.
    fn listener(&mut self, slot: usize, links: &mut Links) {
        let Some(Some(s)) = self.sockets.get_mut(slot) else {
            return;
        };
        let (events, attached) = s.sock.process_listener();
        let attached: Vec<u32> = attached
            .iter()
            .filter_map(|id| s.ids.get(id).copied())
            .collect();
        self.master_events(slot, events, links);
        self.sync_socket(slot);
        for sw in attached {
            self.sync_port(sw);
        }
    }

    fn master_events(&mut self, slot: usize, events: Vec<Event>, links: &mut Links) {
        let Some(Some(s)) = self.sockets.get_mut(slot) else {
            return;
        };
        let mut connected = Vec::new();
        for e in events {
            match e {
                Event::Connected { id } => {
                    let peer = s
                        .sock
                        .interface(id)
                        .and_then(|m| m.connection())
                        .map(|c| c.peer().clone())
                        .unwrap_or_default();
                    if let Some(sw) = s.ids.get(&id) {
                        links.push((*sw, Some(peer)));
                        connected.push(*sw);
                    }
                }
                Event::Disconnected { id, reason } => {
                    tracing::info!("memif id {id}: disconnected: {reason}");
                    links.extend(s.ids.get(&id).map(|sw| (*sw, None)));
                }
                Event::Rejected { id, reason } => {
                    tracing::info!("memif peer refused (id {id:?}): {reason}")
                }
            }
        }
        // Whatever the peer sent before its interrupts were watched.
        for sw in connected {
            self.mark_ready(sw);
        }
    }

    /// A port's control socket is readable.
    fn control(&mut self, sw: u32, links: &mut Links) {
        let Some(port) = self.ports.get_mut(sw as usize).and_then(Option::as_mut) else {
            return;
        };
        match &mut port.link {
            Link::Master { socket, id } => {
                let (slot, id) = (*socket, *id);
                let Some(s) = self.sockets[slot].as_mut() else {
                    return;
                };
                let events = s.sock.process_interface(id);
                self.master_events(slot, events, links);
            }
            Link::Slave(s) => {
                let now = Instant::now();
                let mut connected = false;
                for e in s.slave.process() {
                    match e {
                        Event::Connected { .. } => {
                            s.backoff = RETRY_FIRST;
                            let peer = s.slave.connection().map(|c| c.peer().clone());
                            links.push((sw, Some(peer.unwrap_or_default())));
                            connected = true;
                        }
                        Event::Disconnected { reason, .. } | Event::Rejected { reason, .. } => {
                            tracing::info!("memif slave {sw}: {reason}");
                            links.push((sw, None));
                            s.retry_at = now + s.backoff;
                            self.retries.push(Reverse((s.retry_at, sw)));
                        }
                    }
                }
                if connected {
                    self.mark_ready(sw);
                }
            }
        }
        self.sync_port(sw);
    }

    /// Starts the slaves whose retry time has come.
    fn retry_slaves(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, sw))) = self.retries.peek().copied() {
            if at > now {
                return;
            }
            self.retries.pop();
            let Some(Port {
                link: Link::Slave(s),
                ..
            }) = self.ports.get_mut(sw as usize).and_then(Option::as_mut)
            else {
                continue;
            };
            if s.admin_up && !s.slave.is_busy() && now >= s.retry_at {
                // Fast at first so that pods connect at once, then every RETRY_MAX.
                let _ = s.slave.start();
                s.retry_at = now + s.backoff;
                s.backoff = (s.backoff * 2).min(RETRY_MAX);
                self.retries.push(Reverse((s.retry_at, sw)));
                self.sync_port(sw);
            }
        }
    }

    fn connection(&mut self, sw: u32) -> Option<&mut Connection> {
        let port = self.ports.get_mut(sw as usize)?.as_mut()?;
        match &mut port.link {
            Link::Slave(s) => s.slave.connection_mut(),
            Link::Master { socket, id } => self.sockets[*socket]
                .as_mut()?
                .sock
                .interface_mut(*id)?
                .connection_mut(),
        }
    }
}

/// A memif's link went up (with its peer) or down.
fn link(vpp: &mut Vpp, sw: u32, peer: Option<PeerInfo>) {
    let Some(i) = vpp.interfaces.get_mut(&sw) else {
        return;
    };
    i.link_up = peer.is_some();
    if let Device::Memif(m) = &mut i.device {
        let peer = peer.unwrap_or_default();
        m.remote_name = peer.app_name;
        m.remote_interface = peer.if_name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for t in [
            Token::Wake,
            Token::Listener(0),
            Token::Listener(123_456),
            Token::Control(u32::MAX),
            Token::Rx(7),
        ] {
            assert_eq!(Token::decode(t.encode()), t);
        }
    }
}
