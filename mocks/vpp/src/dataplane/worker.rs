//! The data-plane thread: memif master sockets and slaves, driven by poll(2) on their
//! descriptors and a wake-up eventfd for commands from the API side.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use memif::eventfd::EventFd;
use memif::{Event, MasterConfig, MasterSocket, Mode, PeerInfo, Slave, SlaveConfig, SocketAddr};

use super::{forward, Command, MemifSpec, Pings, SYSCALL_ERROR_4, VALUE_EXIST};
use crate::model::{Device, Vpp};

/// First retry of a slave whose master is not there yet; doubled up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(10);
/// VPP's memif process retries every 3 s; a little faster here.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often learned MACs are checked against their bridge's mac_age.
const AGE_SCAN: Duration = Duration::from_secs(1);
/// Longest sleep with nothing to do.
const IDLE: Duration = Duration::from_millis(200);

/// (egress sw_if_index, frame)
type Frames = Vec<(u32, Vec<u8>)>;
/// Link changes: the peer when up.
type Links = Vec<(u32, Option<PeerInfo>)>;

/// A slave and when to try connecting it again.
struct SlaveState {
    slave: Slave,
    admin_up: bool,
    retry_at: Instant,
    backoff: Duration,
}

pub(super) struct Worker {
    model: Weak<Mutex<Vpp>>,
    commands: Receiver<Command>,
    wake: Arc<EventFd>,
    pings: Arc<Pings>,
    /// One listening socket per socket file, with its interfaces: memif id -> sw_if_index.
    sockets: BTreeMap<PathBuf, (MasterSocket, BTreeMap<u32, u32>)>,
    slaves: BTreeMap<u32, SlaveState>,
    /// sw_if_index -> (socket, memif id) of masters.
    masters: BTreeMap<u32, (PathBuf, u32)>,
    last_age_scan: Instant,
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

impl Worker {
    pub(super) fn new(
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
            last_age_scan: Instant::now(),
        }
    }

    pub(super) fn run(mut self) {
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
            let age = self.last_age_scan.elapsed() >= AGE_SCAN;
            if age || !links.is_empty() || !received.is_empty() || !outgoing.is_empty() {
                let mut vpp = self.lock(&model, &mut outgoing);
                if age {
                    forward::age(&mut vpp, Instant::now());
                    self.last_age_scan = Instant::now();
                }
                for (sw, peer) in links {
                    link(&mut vpp, sw, peer);
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
            self.sleep();
        }
    }

    /// Waits for a frame, a control message, a command or the next slave retry.
    fn sleep(&self) {
        let mut fds = vec![self.wake.as_raw_fd()];
        for (s, _) in self.sockets.values() {
            fds.extend(s.poll_fds());
        }
        let now = Instant::now();
        let mut timeout = IDLE.min(AGE_SCAN.saturating_sub(self.last_age_scan.elapsed()));
        for s in self.slaves.values() {
            fds.extend(s.slave.poll_fds());
            if s.admin_up && !s.slave.is_busy() {
                timeout = timeout.min(s.retry_at.saturating_duration_since(now));
            }
        }
        let _ = memif::poll_readable(&fds, Some(timeout.max(Duration::from_millis(1))));
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
                    if let Some(s) = self.slaves.get_mut(&sw) {
                        s.admin_up = up;
                        s.retry_at = Instant::now();
                        s.backoff = RETRY_FIRST;
                    }
                }
                Command::Send(sw, f) => outgoing.push((sw, f)),
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
            self.slaves.insert(spec.sw_if_index, state);
            return Ok(());
        }
        if !self.sockets.contains_key(&spec.socket) {
            // As VPP: a stale socket file is replaced, anything else is refused.
            if let Ok(m) = std::fs::symlink_metadata(&spec.socket) {
                if !m.file_type().is_socket() {
                    return Err(VALUE_EXIST);
                }
            }
            let sock = MasterSocket::bind(&addr, &app_name()).map_err(|e| {
                tracing::warn!("memif socket {}: {e}", spec.socket.display());
                SYSCALL_ERROR_4
            })?;
            self.sockets
                .insert(spec.socket.clone(), (sock, BTreeMap::new()));
        }
        let (sock, ids) = self.sockets.get_mut(&spec.socket).expect("bound");
        let cfg = MasterConfig {
            secret,
            mode: mode(spec.mode),
            ..MasterConfig::new(spec.id, spec.name.clone())
        };
        let added = sock.add_interface(cfg);
        if let Err(e) = added {
            tracing::warn!("{}: {e}", spec.name);
            if ids.is_empty() {
                self.close_socket(&spec.socket);
            }
            return Err(vpp_api::retval::INVALID_ARGUMENT);
        }
        ids.insert(spec.id, spec.sw_if_index);
        self.masters
            .insert(spec.sw_if_index, (spec.socket, spec.id));
        Ok(())
    }

    fn close_socket(&mut self, path: &PathBuf) {
        if self.sockets.remove(path).is_some() {
            let _ = std::fs::remove_file(path);
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
                    self.close_socket(&path);
                }
            }
        }
    }

    fn control(&mut self, links: &mut Links) {
        for (sock, ids) in self.sockets.values_mut() {
            for e in sock.process() {
                match e {
                    Event::Connected { id } => {
                        let peer = sock
                            .interface(id)
                            .and_then(|m| m.connection())
                            .map(|c| c.peer().clone())
                            .unwrap_or_default();
                        links.extend(ids.get(&id).map(|sw| (*sw, Some(peer))));
                    }
                    Event::Disconnected { id, reason } => {
                        tracing::info!("memif id {id}: disconnected: {reason}");
                        links.extend(ids.get(&id).map(|sw| (*sw, None)));
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
                        s.backoff = RETRY_FIRST;
                        let peer = s.slave.connection().map(|c| c.peer().clone());
                        links.push((*sw, Some(peer.unwrap_or_default())));
                    }
                    Event::Disconnected { reason, .. } | Event::Rejected { reason, .. } => {
                        tracing::info!("memif slave {sw}: {reason}");
                        links.push((*sw, None));
                        s.retry_at = now + s.backoff;
                    }
                }
            }
            if s.admin_up && !s.slave.is_busy() && now >= s.retry_at {
                // Fast at first so that pods connect at once, then every RETRY_MAX.
                let _ = s.slave.start();
                s.retry_at = now + s.backoff;
                s.backoff = (s.backoff * 2).min(RETRY_MAX);
            }
        }
    }

    fn receive(&mut self, received: &mut Frames) {
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
