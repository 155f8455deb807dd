//! The life of one interface's connection, the same for both roles: idle, handshaking (with
//! the role's own handshake state), connected. It also keeps a generation that changes
//! whenever the descriptors worth watching may have changed, and why the last connection
//! ended. [`crate::Master`] and [`crate::Slave`] keep one each and differ only in how the
//! handshake goes.

use std::os::fd::{AsRawFd, RawFd};

use crate::connection::{send_disconnect, Connection};
use crate::control::ControlSocket;

/// A role's handshake state: at least the control socket it talks on.
pub(crate) trait Handshake {
    fn socket(&self) -> &ControlSocket;
}

#[derive(Debug)]
pub(crate) enum State<H> {
    Idle,
    Handshake(Box<H>),
    Connected(Connection),
}

#[derive(Debug)]
pub(crate) struct Lifecycle<H> {
    state: State<H>,
    /// Bumped on every change of state.
    generation: u64,
    last_reason: Option<String>,
}

impl<H: Handshake> Lifecycle<H> {
    pub(crate) fn new() -> Lifecycle<H> {
        Lifecycle {
            state: State::Idle,
            generation: 0,
            last_reason: None,
        }
    }

    /// Moves to another state (a new peer, a new connection, or none).
    pub(crate) fn set(&mut self, state: State<H>) {
        self.state = state;
        self.generation += 1;
    }

    /// Takes the state out to work on it, leaving `Idle`; [`Lifecycle::put_back`] returns it
    /// unchanged (same generation), [`Lifecycle::set`] replaces it.
    pub(crate) fn take(&mut self) -> State<H> {
        std::mem::replace(&mut self.state, State::Idle)
    }

    /// Returns a state taken with [`Lifecycle::take`] that did not change.
    pub(crate) fn put_back(&mut self, state: State<H>) {
        self.state = state;
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn control_fd(&self) -> Option<RawFd> {
        match &self.state {
            State::Idle => None,
            State::Handshake(h) => Some(h.socket().as_raw_fd()),
            State::Connected(c) => Some(c.control_fd()),
        }
    }

    /// The control socket, and the receive eventfds of a connection in interrupt mode.
    pub(crate) fn poll_fds(&self, out: &mut Vec<RawFd>) {
        match &self.state {
            State::Idle => {}
            State::Handshake(h) => out.push(h.socket().as_raw_fd()),
            State::Connected(c) => c.poll_fds(out),
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected(_))
    }

    pub(crate) fn is_busy(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    pub(crate) fn connection(&self) -> Option<&Connection> {
        match &self.state {
            State::Connected(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn connection_mut(&mut self) -> Option<&mut Connection> {
        match &mut self.state {
            State::Connected(c) => Some(c),
            _ => None,
        }
    }

    /// The connection is over (the peer left or broke the protocol): back to idle.
    pub(crate) fn ended(&mut self, reason: &str) {
        self.set(State::Idle);
        self.last_reason = Some(reason.to_owned());
    }

    /// Sends DISCONNECT with `reason` and drops the connection or handshake (memory is
    /// unmapped, descriptors closed). False when there was nothing to disconnect.
    pub(crate) fn disconnect(&mut self, reason: &str) -> bool {
        match self.take() {
            State::Idle => return false,
            State::Handshake(h) => send_disconnect(h.socket(), reason),
            State::Connected(conn) => conn.say_goodbye(reason),
        }
        self.ended(reason);
        true
    }

    pub(crate) fn last_reason(&self) -> Option<&str> {
        self.last_reason.as_deref()
    }
}

/// The public methods both roles share, on a type with a `life: Lifecycle<_>` field and a
/// `config` with an `rx_mode` field.
macro_rules! connection_methods {
    () => {
        /// Changes whenever a peer attaches, connects or leaves, that is whenever
        /// `control_fd` and the connection's interrupt eventfds may have become other
        /// descriptors. An event loop that registers them once (epoll) re-registers on a
        /// change.
        pub fn generation(&self) -> u64 {
            self.life.generation()
        }

        /// The control socket while handshaking or connected.
        pub fn control_fd(&self) -> Option<std::os::fd::RawFd> {
            self.life.control_fd()
        }

        /// True once the handshake is done, until the connection ends.
        pub fn is_connected(&self) -> bool {
            self.life.is_connected()
        }

        /// True while handshaking or connected.
        pub fn is_busy(&self) -> bool {
            self.life.is_busy()
        }

        /// The live connection, if any.
        pub fn connection(&self) -> Option<&$crate::Connection> {
            self.life.connection()
        }

        /// The live connection, if any, to move packets on any queue.
        pub fn connection_mut(&mut self) -> Option<&mut $crate::Connection> {
            self.life.connection_mut()
        }

        /// Sends a frame on transmit queue 0.
        pub fn send(&mut self, frame: &[u8]) -> $crate::Result<()> {
            self.connection_mut()
                .ok_or($crate::Error::NotConnected)?
                .send(0, frame)
        }

        /// Takes a frame from receive queue 0, `None` when it is empty.
        pub fn recv(&mut self) -> $crate::Result<Option<Vec<u8>>> {
            self.connection_mut()
                .ok_or($crate::Error::NotConnected)?
                .recv(0)
        }

        /// Counters of the live connection.
        pub fn stats(&self) -> Option<$crate::Stats> {
            self.connection().map($crate::Connection::stats)
        }

        /// Changes the receive mode now and for later connections.
        pub fn set_rx_mode(&mut self, mode: $crate::RxMode) {
            self.config.rx_mode = mode;
            if let Some(c) = self.connection_mut() {
                c.set_rx_mode(mode);
            }
        }

        /// Why the last connection ended (the peer's DISCONNECT reason, or the local one).
        pub fn last_disconnect_reason(&self) -> Option<&str> {
            self.life.last_reason()
        }
    };
}

pub(crate) use connection_methods;
