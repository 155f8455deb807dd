//! The master (server) role's listening side: one socket serving any number of interfaces told
//! apart by the id in INIT.
//!
//! Everything is driven by [`MasterSocket::process`], which never blocks: it accepts, answers
//! each control message with exactly one reply, and reports [`Event`]s. Callers either poll
//! [`MasterSocket::poll_fds`] themselves or use [`MasterSocket::wait`].

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use crate::connection::send_disconnect;
use crate::control::{ControlSocket, Listener, Received, SocketAddr};
use crate::error::{Error, Result};
use crate::interface::{Event, MasterConfig};
use crate::master::{Master, MAX_REGION, MAX_RING};
use crate::msg::{Hello, Message, VERSION};
use crate::ring::MAX_LOG2_RING_SIZE;
use crate::sys::poll_readable;

/// A listening socket and the master interfaces it serves.
#[derive(Debug)]
pub struct MasterSocket {
    listener: Listener,
    hello: Hello,
    /// Accepted connections that were sent HELLO and have not yet named an interface.
    pending: Vec<ControlSocket>,
    /// Bumped whenever `pending` changes; see [`MasterSocket::pending_generation`].
    pending_generation: u64,
    interfaces: BTreeMap<u32, Master>,
}

impl MasterSocket {
    /// Listens on `addr`; `app_name` goes into every HELLO (VPP sends `VPP <version>`).
    pub fn bind(addr: &SocketAddr, app_name: &str) -> Result<MasterSocket> {
        Ok(MasterSocket {
            listener: Listener::bind(addr)?,
            hello: Hello {
                name: app_name.to_owned(),
                min_version: VERSION,
                max_version: VERSION,
                max_region: MAX_REGION,
                max_m2s_ring: MAX_RING,
                max_s2m_ring: MAX_RING,
                max_log2_ring_size: MAX_LOG2_RING_SIZE,
            },
            pending: Vec::new(),
            pending_generation: 0,
            interfaces: BTreeMap::new(),
        })
    }

    /// The address the socket listens on.
    pub fn addr(&self) -> &SocketAddr {
        self.listener.addr()
    }

    /// Adds a master interface; its id must be new on this socket.
    pub fn add_interface(&mut self, config: MasterConfig) -> Result<()> {
        config.validate()?;
        if self.interfaces.contains_key(&config.id) {
            return Err(Error::DuplicateId(config.id));
        }
        self.interfaces.insert(config.id, Master::new(config));
        Ok(())
    }

    /// Removes an interface, disconnecting its peer first.
    pub fn remove_interface(&mut self, id: u32) -> Option<Master> {
        let mut m = self.interfaces.remove(&id)?;
        m.disconnect("interface deleted");
        Some(m)
    }

    /// The interface with this id.
    pub fn interface(&self, id: u32) -> Option<&Master> {
        self.interfaces.get(&id)
    }

    /// The interface with this id, to move packets or disconnect it.
    pub fn interface_mut(&mut self, id: u32) -> Option<&mut Master> {
        self.interfaces.get_mut(&id)
    }

    /// All interfaces, by ascending id.
    pub fn interfaces_mut(&mut self) -> impl Iterator<Item = &mut Master> {
        self.interfaces.values_mut()
    }

    /// Descriptors whose readability means there is work: the listener, connections still
    /// handshaking, connected control sockets, and receive eventfds of interrupt-mode interfaces.
    pub fn poll_fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.listener.as_raw_fd()];
        fds.extend(self.pending.iter().map(AsRawFd::as_raw_fd));
        for m in self.interfaces.values() {
            m.poll_fds(&mut fds);
        }
        fds
    }

    /// The listening socket: readable when a peer connects.
    pub fn listener_fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }

    /// Accepted connections that have not sent INIT yet: readable when they do (or leave).
    pub fn pending_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.pending.iter().map(AsRawFd::as_raw_fd)
    }

    /// Changes whenever a connection is accepted or leaves the pending list (it sent INIT
    /// or went away), so that an event loop registering [`Self::pending_fds`] once knows
    /// when to re-register them.
    pub fn pending_generation(&self) -> u64 {
        self.pending_generation
    }

    /// Does all control-plane work that is ready, without blocking.
    pub fn process(&mut self) -> Vec<Event> {
        let (mut events, _) = self.process_listener();
        for m in self.interfaces.values_mut() {
            m.process_control(&mut events);
        }
        events
    }

    /// Accepts new connections and reads the INITs that arrived, leaving interfaces that
    /// already have a peer alone. Returns the events and the ids of the interfaces that
    /// took a new peer (their [`Master::control_fd`] changed).
    pub fn process_listener(&mut self) -> (Vec<Event>, Vec<u32>) {
        let mut events = Vec::new();
        let mut attached = Vec::new();
        self.accept_all();
        let pending = std::mem::take(&mut self.pending);
        let waiting = pending.len();
        for sock in pending {
            match sock.recv() {
                Ok(None) => self.pending.push(sock),
                Ok(Some(r)) => {
                    let id = match &r.msg {
                        Message::Init(init) => Some(init.id),
                        _ => None,
                    };
                    match self.dispatch_init(sock, r) {
                        Some(e) => events.push(e),
                        None => attached.extend(id),
                    }
                }
                Err(e) => tracing::debug!(error = %e, "memif peer left before INIT"),
            }
        }
        if self.pending.len() != waiting {
            self.pending_generation += 1;
        }
        (events, attached)
    }

    /// Does the control work of one interface (handshake, DISCONNECT, EOF), without
    /// blocking; nothing when there is no such interface.
    pub fn process_interface(&mut self, id: u32) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(m) = self.interfaces.get_mut(&id) {
            m.process_control(&mut events);
        }
        events
    }

    /// Waits up to `timeout` (forever if `None`) for activity, then [`Self::process`]es it.
    /// Returns early, possibly with no events, when a receive eventfd fires.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<Event>> {
        poll_readable(&self.poll_fds(), timeout)?;
        Ok(self.process())
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok(Some(sock)) => match sock.send(&Message::Hello(self.hello.clone()), None) {
                    Ok(()) => {
                        self.pending.push(sock);
                        self.pending_generation += 1;
                    }
                    Err(e) => tracing::debug!(error = %e, "could not send HELLO"),
                },
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, socket = %self.addr(), "accept failed");
                    return;
                }
            }
        }
    }

    /// The first message decides which interface (if any) the connection belongs to.
    fn dispatch_init(&mut self, sock: ControlSocket, r: Received) -> Option<Event> {
        let reject = |sock: ControlSocket, id: Option<u32>, reason: &str| {
            tracing::info!(?id, reason, "memif connection refused");
            send_disconnect(&sock, reason);
            Some(Event::Rejected {
                id,
                reason: reason.to_owned(),
            })
        };
        let init = match r.msg {
            Message::Init(init) => init,
            other => return reject(sock, None, &format!("unexpected message {}", other.kind())),
        };
        if init.version != VERSION {
            return reject(sock, Some(init.id), "unsupported version");
        }
        let Some(master) = self.interfaces.get_mut(&init.id) else {
            return reject(sock, Some(init.id), "unmatched interface id");
        };
        if master.is_busy() {
            return reject(sock, Some(init.id), "already connected");
        }
        let id = init.id;
        match master.attach(sock, init) {
            Ok(()) => None,
            Err((sock, reason)) => reject(sock, Some(id), &reason),
        }
    }
}
