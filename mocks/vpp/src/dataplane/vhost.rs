//! vhost-user ports that carry frames: each interface made by `create_vhost_user_if` runs
//! its end of the protocol (the `vhost-user-net` crate: rust-vmm's vhost, virtio-queue
//! and vm-memory) on a thread of its own, which
//! - listens (server) or connects and retries until a front end listens (client),
//! - answers the front end's requests, and tells the data plane when the link goes up
//!   (both rings running in mapped memory) or down (it left, or misbehaved),
//! - takes the frames the front end transmits, on its kicks, and hands them to the data
//!   plane as if they had arrived on a memif.
//!
//! The data plane sends to the port by writing the front end's receive ring directly
//! (the device is shared under its own lock; nothing here takes the model lock, so an
//! API call holding it can always stop a port).
//!
//! The same thread runs the other end for a pod's virtio-user interface: the front end
//! ([`vhost_user_net::Frontend`]) on memory it owns, client or server.

use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vhost_user_net::{Device, Frontend, Port, Served, TX};

use super::DataPlane;

/// How long the thread sleeps between looks at its stop flag.
const TICK: Duration = Duration::from_millis(100);
/// A client's first retry; doubled up to [`RETRY_MAX`] (VPP retries every few seconds).
const RETRY_FIRST: Duration = Duration::from_millis(10);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// Frames taken from the transmit ring per look.
const BURST: usize = 256;
/// Ring size of a virtio-user front end (as DPDK's default).
pub const FRONTEND_QUEUE: u16 = 256;

/// What the thread serves.
pub enum Role {
    /// A vhost-user interface: the back end, listening (the model's socket) or
    /// connecting.
    Backend {
        listener: Option<OwnedFd>,
        path: PathBuf,
    },
    /// A virtio-user interface: the front end, connecting or listening.
    Frontend { server: bool, path: PathBuf },
}

/// What the rest of mock-vpp sees of a port: its device (for `show vhost-user` and for
/// sending), and a handle that stops the thread when dropped.
pub struct VhostPort {
    pub shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    done: Receiver<()>,
}

/// The state both the thread and the data plane look at.
#[derive(Default)]
pub struct Shared {
    /// A back end's device (its rings and counters).
    pub device: Mutex<Option<Arc<Mutex<Device>>>>,
    /// A front end's device, when one is running.
    pub frontend: Mutex<Option<Frontend>>,
    /// Faults of the peer over all its connections.
    pub errors: std::sync::atomic::AtomicU64,
    pub connected: AtomicBool,
}

impl std::fmt::Debug for VhostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VhostPort")
    }
}

impl Drop for VhostPort {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The thread never waits on the model: it ends within a tick.
        let _ = self.done.recv_timeout(TICK * 20);
    }
}

impl VhostPort {
    /// Starts the thread for interface `sw`.
    pub fn spawn(sw: u32, role: Role, dp: DataPlane) -> std::io::Result<VhostPort> {
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, done) = sync_channel(1);
        let (s, st) = (shared.clone(), stop.clone());
        dp.vhost_attach(sw, shared.clone());
        std::thread::Builder::new()
            .name(format!("vhost-{sw}"))
            .spawn(move || {
                match role {
                    Role::Backend { listener, path } => backend(sw, listener, path, &s, &st, &dp),
                    Role::Frontend { server, path } => frontend(sw, server, path, &s, &st, &dp),
                }
                dp.vhost_link(sw, false);
                let _ = tx.send(());
            })?;
        Ok(VhostPort { shared, stop, done })
    }
}

/// Readiness of up to two descriptors within `wait`.
fn poll2(a: RawFd, b: Option<RawFd>, wait: Duration) -> (bool, bool) {
    let mut fds = [
        libc::pollfd {
            fd: a,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: two pollfds on the stack, their count passed; fd -1 is ignored by poll.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, wait.as_millis() as libc::c_int) };
    if n <= 0 {
        return (false, false);
    }
    (fds[0].revents != 0, fds[1].revents != 0)
}

fn backend(
    sw: u32,
    listener: Option<OwnedFd>,
    path: PathBuf,
    shared: &Shared,
    stop: &AtomicBool,
    dp: &DataPlane,
) {
    let mut port = match listener {
        // SAFETY: the model's listening socket, handed over to this thread alone.
        Some(fd) => Port::from_listener(unsafe {
            vhost::vhost_user::Listener::from_raw_fd(fd.into_raw_fd())
        }),
        None => Port::client(&path),
    };
    *shared.device.lock().expect("shared") = Some(port.device().clone());
    let mut up = false;
    let mut retry = (Instant::now(), RETRY_FIRST);
    let mut frames = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if !port.connected() {
            if port.is_server() {
                let fd = port.poll_fd().expect("a server listens");
                if poll2(fd, None, TICK).0 {
                    let _ = port.accept();
                }
            } else if Instant::now() >= retry.0 {
                match port.connect() {
                    Ok(true) => retry.1 = RETRY_FIRST,
                    _ => {
                        retry = (Instant::now() + retry.1, (retry.1 * 2).min(RETRY_MAX));
                    }
                }
            } else {
                std::thread::sleep(retry.0.saturating_duration_since(Instant::now()).min(TICK));
            }
            shared.connected.store(port.connected(), Ordering::SeqCst);
            continue;
        }
        let conn = port.poll_fd().expect("connected");
        let kick = port.device().lock().expect("device").kick_fd(TX);
        let (msg, kicked) = poll2(conn, kick, TICK);
        if msg {
            match port.serve() {
                Served::Ok => {}
                Served::Gone => tracing::info!("vhost-user {sw}: front end left"),
                Served::Refused(why) => tracing::warn!("vhost-user {sw}: {why}"),
            }
        }
        let ready = port.device().lock().expect("device").ready();
        if ready != up {
            up = ready;
            dp.vhost_link(sw, up);
        }
        shared.connected.store(port.connected(), Ordering::SeqCst);
        if ready && (kicked || msg) {
            drain(sw, &port, dp, &mut frames);
        }
    }
}

/// Hands what the front end transmitted to the data plane.
fn drain(sw: u32, port: &Port, dp: &DataPlane, frames: &mut Vec<Vec<u8>>) {
    let d = port.device();
    loop {
        let n = {
            let mut dev = d.lock().expect("device");
            dev.clear_kick(TX);
            dev.recv_burst(frames, BURST).unwrap_or(0)
        };
        if n == 0 {
            return;
        }
        dp.vhost_input(sw, std::mem::take(frames));
    }
}

fn frontend(
    sw: u32,
    server: bool,
    path: PathBuf,
    shared: &Shared,
    stop: &AtomicBool,
    dp: &DataPlane,
) {
    let listener = if server {
        match vhost::vhost_user::Listener::new(&path, true) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!("virtio-user {sw}: listen {}: {e}", path.display());
                return;
            }
        }
    } else {
        None
    };
    let mut retry = RETRY_FIRST;
    let mut frames = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let started = match &listener {
            Some(l) => {
                if !poll2(l.as_raw_fd(), None, TICK).0 {
                    continue;
                }
                Frontend::accept(l, FRONTEND_QUEUE)
            }
            None => Frontend::connect(&path, FRONTEND_QUEUE),
        };
        let fe = match started {
            Ok(fe) => fe,
            Err(e) => {
                tracing::debug!("virtio-user {sw}: {e}");
                std::thread::sleep(retry.min(TICK));
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        retry = RETRY_FIRST;
        let (sock, call) = (fe.socket_fd(), fe.rx_call_fd());
        *shared.frontend.lock().expect("shared") = Some(fe);
        shared.connected.store(true, Ordering::SeqCst);
        dp.vhost_link(sw, true);
        while !stop.load(Ordering::SeqCst) {
            let (gone, _) = poll2(sock, Some(call), TICK);
            if gone {
                // The back end never sends requests: readable means it left.
                break;
            }
            let mut guard = shared.frontend.lock().expect("shared");
            let Some(fe) = guard.as_mut() else { break };
            if let Err(e) = fe.recv(&mut frames, BURST) {
                tracing::warn!("virtio-user {sw}: {e}");
                shared.errors.fetch_add(1, Ordering::SeqCst);
                break;
            }
            drop(guard);
            if !frames.is_empty() {
                dp.vhost_input(sw, std::mem::take(&mut frames));
            }
        }
        *shared.frontend.lock().expect("shared") = None;
        shared.connected.store(false, Ordering::SeqCst);
        dp.vhost_link(sw, false);
    }
}

/// Sends frames out of a vhost-user or virtio-user port; how many went (the peer's
/// ring may be full, or the port down).
pub(super) fn send<'a>(shared: &Shared, frames: impl IntoIterator<Item = &'a [u8]>) -> usize {
    let device = shared.device.lock().expect("shared").clone();
    if let Some(d) = device {
        return d.lock().expect("device").send_burst(frames).unwrap_or(0);
    }
    match shared.frontend.lock().expect("shared").as_mut() {
        Some(fe) => fe.send_burst(frames).unwrap_or(0),
        None => 0,
    }
}
