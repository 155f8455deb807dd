//! The slave (client) role: connects to a master's socket, creates the shared memory (one
//! copy-mode region holding rings and buffers, as VPP and DPDK do) and the ring eventfds, and
//! walks the lock-step handshake INIT → ADD_REGION → ADD_RING… → CONNECT.
//!
//! Reconnecting is the slave's job in memif: when the connection ends the [`Slave`] returns to
//! idle, and its owner calls [`Slave::start`] / [`Slave::connect`] again (VPP retries every
//! ~3 s). [`Slave::connect_with_retry`] does that in a loop.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::connection::{send_disconnect, Connection, Role};
use crate::control::{ControlSocket, SocketAddr};
use crate::error::{Error, Result};
use crate::eventfd::EventFd;
use crate::interface::{Event, PeerInfo, SlaveConfig};
use crate::lifecycle::{connection_methods, Lifecycle, State};
use crate::msg::{AddRegion, AddRing, Hello, Init, Message, VERSION};
use crate::queue::{Queue, SlaveBuffers};
use crate::ring::{CopyLayout, Direction, Ring};
use crate::slave_setup::{create_memory, send_next, Attach, Ended, Setup};
use crate::sys::poll_readable;

/// A slave interface, connected or not.
#[derive(Debug)]
pub struct Slave {
    addr: SocketAddr,
    config: SlaveConfig,
    life: Lifecycle<Setup>,
}

impl Slave {
    /// A disconnected slave for the master at `addr`.
    pub fn new(addr: SocketAddr, config: SlaveConfig) -> Result<Slave> {
        config.validate()?;
        Ok(Slave {
            addr,
            config,
            life: Lifecycle::new(),
        })
    }

    connection_methods!();

    /// The master's socket.
    pub fn addr(&self) -> &SocketAddr {
        &self.addr
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &SlaveConfig {
        &self.config
    }

    /// Opens the control socket; the handshake then advances in [`Slave::process`]. Fails at
    /// once when nobody listens. Does nothing when already busy.
    pub fn start(&mut self) -> Result<()> {
        if self.is_busy() {
            return Ok(());
        }
        let sock = ControlSocket::connect(&self.addr)?;
        tracing::debug!(socket = %self.addr, id = self.config.id, "memif slave connecting");
        self.life.set(State::Handshake(Box::new(Setup {
            sock,
            peer: PeerInfo::default(),
            memory: None,
            outgoing: VecDeque::new(),
            connect_sent: false,
        })));
        Ok(())
    }

    /// Blocking connect: [`Slave::start`], then process until CONNECTED. A refusal comes back as
    /// [`Error::PeerDisconnected`] with the master's reason. Needs the master to run elsewhere
    /// (another thread or process); in a single-threaded loop use `start` + `process`.
    pub fn connect(&mut self, timeout: Duration) -> Result<()> {
        self.start()?;
        let deadline = Instant::now() + timeout;
        while !self.is_connected() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                self.disconnect("connect timed out");
                return Err(Error::Timeout);
            };
            for event in self.wait(Some(left))? {
                if let Event::Disconnected { reason, .. } = event {
                    return Err(Error::PeerDisconnected(reason));
                }
            }
        }
        Ok(())
    }

    /// Calls [`Slave::connect`] every `interval` until it succeeds or `total` has passed;
    /// returns the last error on give-up. This is how a slave follows a restarting master.
    pub fn connect_with_retry(&mut self, interval: Duration, total: Duration) -> Result<()> {
        let deadline = Instant::now() + total;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let err = match self.connect(left.max(Duration::from_millis(1))) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() + interval >= deadline {
                return Err(err);
            }
            tracing::debug!(error = %err, "memif slave retrying");
            std::thread::sleep(interval);
        }
    }

    /// Descriptors whose readability means [`Slave::process`] (or a receive) has work.
    pub fn poll_fds(&self) -> Vec<RawFd> {
        let mut fds = Vec::new();
        self.life.poll_fds(&mut fds);
        fds
    }

    /// Waits up to `timeout` for activity, then processes it.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<Event>> {
        let fds = self.poll_fds();
        if fds.is_empty() {
            return Err(Error::NotConnected);
        }
        poll_readable(&fds, timeout)?;
        Ok(self.process())
    }

    /// Handles every control message that is ready, without blocking.
    pub fn process(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        match self.life.take() {
            State::Idle => {}
            State::Connected(mut conn) => match conn.read_control() {
                None => self.life.put_back(State::Connected(conn)),
                Some(reason) => events.push(self.ended(reason)),
            },
            State::Handshake(mut setup) => loop {
                let received = match setup.sock.recv() {
                    Ok(None) => {
                        self.life.put_back(State::Handshake(setup));
                        break;
                    }
                    Ok(Some(r)) => r.msg,
                    Err(Error::PeerClosed) => {
                        events.push(self.ended("connection closed".into()));
                        break;
                    }
                    Err(e) => {
                        events.push(self.fail(&setup.sock, e.into_reason()));
                        break;
                    }
                };
                match self.step(&mut setup, received) {
                    Ok(false) => continue,
                    Ok(true) => match self.finish(*setup) {
                        Ok(conn) => {
                            tracing::info!(id = self.config.id, peer = ?conn.peer(), "memif slave connected");
                            self.life.set(State::Connected(conn));
                            events.push(Event::Connected { id: self.config.id });
                        }
                        Err((sock, reason)) => events.push(self.fail(&sock, reason)),
                    },
                    Err(Ended::Peer(reason)) => events.push(self.ended(reason)),
                    Err(Ended::Local(reason)) => events.push(self.fail(&setup.sock, reason)),
                }
                break;
            },
        }
        events
    }

    /// One handshake message; true once CONNECTED arrived.
    fn step(&self, setup: &mut Setup, msg: Message) -> Result<bool, Ended> {
        match msg {
            Message::Hello(h) if setup.memory.is_none() => {
                self.on_hello(setup, h).map_err(Ended::Local)?;
                send_next(setup).map_err(Ended::Local)?;
                Ok(false)
            }
            Message::Ack if !setup.outgoing.is_empty() => {
                send_next(setup).map_err(Ended::Local)?;
                Ok(false)
            }
            Message::Connected { if_name } if setup.connect_sent => {
                setup.peer.if_name = if_name;
                Ok(true)
            }
            Message::Disconnect(d) => Err(Ended::Peer(d.reason)),
            other => Err(Ended::Local(format!("unexpected message {}", other.kind()))),
        }
    }

    /// HELLO: check the version, settle the run parameters, create memory, queue the setup.
    fn on_hello(&self, setup: &mut Setup, h: Hello) -> Result<(), String> {
        if h.min_version > VERSION || h.max_version < VERSION {
            return Err("incompatible protocol version".into());
        }
        setup.peer.app_name = h.name;
        let cfg = &self.config;
        let layout = CopyLayout {
            n_s2m: cfg.num_s2m_rings.min(h.max_s2m_ring.saturating_add(1)),
            n_m2s: cfg.num_m2s_rings.min(h.max_m2s_ring.saturating_add(1)),
            log2: cfg.log2_ring_size.min(h.max_log2_ring_size),
            buffer_size: cfg.buffer_size,
        };
        let memory = create_memory(layout, cfg.rx_mode).map_err(Error::into_reason)?;
        let q = &mut setup.outgoing;
        q.push_back((
            Message::Init(Init {
                version: VERSION,
                id: cfg.id,
                mode: cfg.mode.wire(),
                secret: cfg.secret.clone().unwrap_or_default(),
                name: cfg.app_name.clone(),
            }),
            Attach::Nothing,
        ));
        let size = memory.regions[0].len() as u64;
        q.push_back((
            Message::AddRegion(AddRegion { index: 0, size }),
            Attach::Region,
        ));
        for (direction, count) in [
            (Direction::S2M, layout.n_s2m),
            (Direction::M2S, layout.n_m2s),
        ] {
            for index in 0..count {
                let ring = Message::AddRing(AddRing {
                    direction,
                    index,
                    region: 0,
                    offset: layout.ring_offset(direction, index) as u32,
                    log2_ring_size: layout.log2,
                    private_hdr_size: 0,
                });
                q.push_back((ring, Attach::Ring(direction, index as usize)));
            }
        }
        q.push_back((
            Message::Connect {
                if_name: cfg.if_name.clone(),
            },
            Attach::Nothing,
        ));
        setup.memory = Some(memory);
        Ok(())
    }

    /// CONNECTED: hand the rings to a connection and offer the M2S buffers.
    fn finish(&self, setup: Setup) -> Result<Connection, (ControlSocket, String)> {
        let memory = setup.memory.expect("memory exists after HELLO");
        let queues = |rings: Vec<(Ring, EventFd)>, direction| {
            (rings.into_iter().enumerate())
                .map(|(i, (ring, kick))| {
                    let buffers = SlaveBuffers {
                        layout: memory.layout,
                        direction,
                        index: i as u16,
                    };
                    Queue::new(ring, kick, Some(buffers))
                })
                .collect::<Vec<_>>()
        };
        let tx = queues(memory.s2m, Direction::S2M);
        let rx = queues(memory.m2s, Direction::M2S);
        let mut conn = Connection::new(
            setup.sock,
            Role::Slave,
            tx,
            rx,
            self.config.rx_mode,
            setup.peer,
        );
        match conn.offer_buffers() {
            Ok(()) => Ok(conn),
            Err(e) => Err((conn.into_socket(), e.into_reason())),
        }
    }

    /// A local failure: tell the master why, then tear down.
    fn fail(&mut self, sock: &ControlSocket, reason: String) -> Event {
        send_disconnect(sock, &reason);
        self.ended(reason)
    }

    fn ended(&mut self, reason: String) -> Event {
        tracing::info!(id = self.config.id, %reason, "memif slave connection ended");
        self.life.ended(&reason);
        Event::Disconnected {
            id: self.config.id,
            reason,
        }
    }

    /// Sends DISCONNECT with `reason` and tears down (unmaps, closes fds). Returns false when
    /// there was nothing to disconnect.
    pub fn disconnect(&mut self, reason: &str) -> bool {
        self.life.disconnect(reason)
    }
}

#[cfg(test)]
#[path = "slave_tests.rs"]
mod tests;
