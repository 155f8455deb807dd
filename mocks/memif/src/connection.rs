//! A live (CONNECTED) memif connection, the same for both roles once the handshake is done:
//! the control socket, the receive and transmit queues, and the interrupt mode.
//!
//! A [`Connection`] is borrowed from its [`crate::Master`] or [`crate::Slave`]; it moves packets
//! and never blocks unless asked to ([`Connection::recv_timeout`]). When the peer corrupts a
//! ring, the connection sends DISCONNECT, stops moving packets, and its owner reports the
//! disconnect on its next `process`.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use crate::burst::{Burst, Frame};
use crate::control::ControlSocket;
use crate::error::{Error, Result};
use crate::interface::{PeerInfo, RxMode, Stats};
use crate::msg::{Disconnect, Message};
use crate::queue::Queue;
use crate::sys::poll_readable;

/// Which end of the connection this is; decides which queue operation moves packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Master,
    Slave,
}

/// How long a polling-mode blocking receive sleeps between looks at the ring.
const POLL_INTERVAL: Duration = Duration::from_micros(200);

/// The packet-moving side of a connected interface. Queue indices count from 0 per direction.
#[derive(Debug)]
pub struct Connection {
    sock: ControlSocket,
    role: Role,
    /// Master: M2S rings; slave: S2M rings.
    tx: Vec<Queue>,
    /// Master: S2M rings; slave: M2S rings.
    rx: Vec<Queue>,
    rx_mode: RxMode,
    peer: PeerInfo,
    /// Set when this end gave up on the connection (DISCONNECT already sent).
    broken: Option<String>,
}

impl Connection {
    pub(crate) fn new(
        sock: ControlSocket,
        role: Role,
        tx: Vec<Queue>,
        rx: Vec<Queue>,
        rx_mode: RxMode,
        peer: PeerInfo,
    ) -> Connection {
        let mut c = Connection {
            sock,
            role,
            tx,
            rx,
            rx_mode,
            peer,
            broken: None,
        };
        c.set_rx_mode(rx_mode);
        c
    }

    /// Gives the control socket back (the queues and memory are dropped).
    pub(crate) fn into_socket(self) -> ControlSocket {
        self.sock
    }

    /// Slave only: offers every free M2S slot to the master (done after CONNECTED, when the
    /// master no longer resets ring counters, and again on every receive).
    pub(crate) fn offer_buffers(&mut self) -> Result<()> {
        debug_assert_eq!(self.role, Role::Slave);
        for q in &mut self.rx {
            q.slave_refill()?;
        }
        Ok(())
    }

    /// Number of transmit queues (master: M2S rings, slave: S2M rings).
    pub fn num_tx_queues(&self) -> usize {
        self.tx.len()
    }

    /// Number of receive queues (master: S2M rings, slave: M2S rings).
    pub fn num_rx_queues(&self) -> usize {
        self.rx.len()
    }

    /// log2 of the ring size in use (all rings share it for the slaves we know).
    pub fn log2_ring_size(&self) -> u8 {
        self.rx[0].ring().log2()
    }

    /// Who the peer said it is.
    pub fn peer(&self) -> &PeerInfo {
        &self.peer
    }

    /// Sends one frame on transmit queue `queue`. [`Error::RingFull`] means "retry later"; a
    /// frame longer than a buffer is chained over several slots.
    pub fn send(&mut self, queue: usize, frame: &[u8]) -> Result<()> {
        self.check_alive()?;
        let master = self.role == Role::Master;
        let q = self.tx.get_mut(queue).ok_or(Error::NoSuchQueue(queue))?;
        let result = q.send(master, frame);
        self.note(result)
    }

    /// Sends frames in order on transmit queue `queue` until its ring is full, with one ring
    /// update and at most one interrupt for all of them; how many were sent (the rest did not
    /// fit). Frames that can never be sent (empty, longer than the ring holds) are skipped
    /// and counted as errors in [`Stats`]. A frame that another connection's burst left in
    /// its ring ([`Connection::recv_burst_in_place`]) is copied straight from that ring's
    /// buffer into this one's.
    pub fn send_burst<'f, F: Into<Frame<'f>>>(
        &mut self,
        queue: usize,
        frames: impl IntoIterator<Item = F>,
    ) -> Result<usize> {
        self.check_alive()?;
        let master = self.role == Role::Master;
        let q = self.tx.get_mut(queue).ok_or(Error::NoSuchQueue(queue))?;
        let result = q.send_burst(master, frames);
        self.note(result)
    }

    /// Takes one frame from receive queue `queue`, `None` when the ring is empty. Frames with
    /// invalid descriptors are dropped and counted in [`Stats`].
    pub fn recv(&mut self, queue: usize) -> Result<Option<Vec<u8>>> {
        self.check_alive()?;
        let result = self.recv_inner(queue);
        self.note(result)
    }

    /// Appends up to `max` frames from receive queue `queue` to `out`, handing their slots
    /// back to the peer with one ring update; how many were appended (0: the ring is empty).
    /// As [`Connection::recv`], an empty ring resets the interrupt in interrupt mode.
    pub fn recv_burst(&mut self, queue: usize, out: &mut Burst, max: usize) -> Result<usize> {
        self.check_alive()?;
        let result = self.recv_burst_inner(queue, out, max, false);
        self.note(result)
    }

    /// As [`Connection::recv_burst`], but a frame that fits one buffer (the usual case) is
    /// not copied: `out` records where it is in the peer's buffer, and its slot stays
    /// taken until [`Connection::release`] (call it once the frames were sent or copied,
    /// before the peer runs out of slots). Frames chained over several buffers are copied
    /// into `out` as by `recv_burst`. A later `recv_burst` on the queue also hands back the
    /// slots held here.
    pub fn recv_burst_in_place(
        &mut self,
        queue: usize,
        out: &mut Burst,
        max: usize,
    ) -> Result<usize> {
        self.check_alive()?;
        let result = self.recv_burst_inner(queue, out, max, true);
        self.note(result)
    }

    /// Hands the slots of every frame taken from receive queue `queue` back to the peer,
    /// those held in place included; their bytes in a [`Burst`] may change after this.
    pub fn release(&mut self, queue: usize) -> Result<()> {
        self.check_alive()?;
        let master = self.role == Role::Master;
        let q = self.rx.get_mut(queue).ok_or(Error::NoSuchQueue(queue))?;
        let result = q.release(master);
        self.note(result)
    }

    fn check_alive(&self) -> Result<()> {
        match self.broken {
            Some(_) => Err(Error::NotConnected),
            None => Ok(()),
        }
    }

    /// A protocol error on a ring ends the connection: tell the peer and wake the owner's poll.
    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(Error::Protocol(reason)) = &result {
            tracing::warn!(%reason, "memif ring corrupted by peer, disconnecting");
            self.say_goodbye(reason);
            // SAFETY: shutdown on our own socket; makes it readable (EOF) so pollers notice.
            unsafe { libc::shutdown(self.sock.as_raw_fd(), libc::SHUT_RDWR) };
            self.broken = Some(reason.clone());
        }
        result
    }

    fn recv_inner(&mut self, queue: usize) -> Result<Option<Vec<u8>>> {
        let mut one = Burst::default();
        self.recv_burst_inner(queue, &mut one, 1, false)?;
        Ok(one.into_only())
    }

    fn recv_burst_inner(
        &mut self,
        queue: usize,
        out: &mut Burst,
        max: usize,
        in_place: bool,
    ) -> Result<usize> {
        let master = self.role == Role::Master;
        let q = self.rx.get_mut(queue).ok_or(Error::NoSuchQueue(queue))?;
        let n = q.recv_burst(master, out, max, in_place)?;
        if n > 0 {
            return Ok(n);
        }
        // Ring empty: reset the interrupt so a poller sleeps until the next kick, then look
        // once more in case the kick landed between the first look and the reset.
        if self.rx_mode == RxMode::Interrupt && q.interrupt().take()? > 0 {
            return q.recv_burst(master, out, max, in_place);
        }
        Ok(0)
    }

    /// Waits up to `timeout` for a frame on `queue`: on the eventfd in interrupt mode, by
    /// sleeping briefly between looks in polling mode. Control messages are not read meanwhile.
    pub fn recv_timeout(&mut self, queue: usize, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(p) = self.recv(queue)? {
                return Ok(Some(p));
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            match self.rx_mode {
                RxMode::Interrupt => {
                    let fd = self.rx[queue].interrupt().as_raw_fd();
                    poll_readable(&[fd], Some(left))?;
                }
                RxMode::Polling => std::thread::sleep(left.min(POLL_INTERVAL)),
            }
        }
    }

    /// Sets MASK_INT on this end's receive rings (polling) or clears it (interrupt, the peer
    /// then signals [`Connection::rx_interrupt_fd`]).
    pub fn set_rx_mode(&mut self, mode: RxMode) {
        self.rx_mode = mode;
        for q in &self.rx {
            q.mask_interrupts(mode == RxMode::Polling);
        }
    }

    /// Asks the peer not to signal (`true`) or to signal again (`false`) after filling this
    /// end's receive rings, without changing [`Connection::rx_mode`]: for a receiver that
    /// polls while traffic flows and sleeps on the eventfds when it stops. After unmasking,
    /// look at the rings once more: a frame published just before may not have been signalled.
    pub fn mask_rx_interrupts(&self, masked: bool) {
        for q in &self.rx {
            q.mask_interrupts(masked);
        }
    }

    /// Whether receive queue `queue` holds published slots not yet taken (no system call).
    pub fn rx_pending(&self, queue: usize) -> bool {
        self.broken.is_none()
            && self.rx.get(queue).is_some_and(|q| match self.role {
                Role::Master => q.master_pending(),
                Role::Slave => q.slave_pending(),
            })
    }

    /// The current receive mode.
    pub fn rx_mode(&self) -> RxMode {
        self.rx_mode
    }

    /// The eventfd the peer signals after filling receive queue `queue`; poll it for
    /// readability in interrupt mode ([`Connection::recv`] resets it).
    pub fn rx_interrupt_fd(&self, queue: usize) -> Option<BorrowedFd<'_>> {
        self.rx.get(queue).map(|q| q.interrupt_fd())
    }

    /// The control socket.
    pub(crate) fn control_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The fds worth polling: the control socket, plus the receive eventfds in interrupt mode.
    pub(crate) fn poll_fds(&self, out: &mut Vec<RawFd>) {
        out.push(self.sock.as_raw_fd());
        if self.rx_mode == RxMode::Interrupt {
            out.extend(self.rx.iter().map(|q| q.interrupt().as_raw_fd()));
        }
    }

    /// Per-queue counters since the connection came up.
    pub fn stats(&self) -> Stats {
        Stats {
            rx: self.rx.iter().map(Queue::stats).collect(),
            tx: self.tx.iter().map(Queue::stats).collect(),
        }
    }

    /// Reads whatever arrived on the control socket. Returns the reason when the connection
    /// is over (DISCONNECT, EOF, or a message that has no business arriving now).
    pub(crate) fn read_control(&mut self) -> Option<String> {
        if let Some(reason) = &self.broken {
            return Some(reason.clone());
        }
        loop {
            match self.sock.recv() {
                Ok(None) => return None,
                Ok(Some(r)) => match r.msg {
                    Message::Disconnect(d) => return Some(d.reason),
                    Message::Ack => continue,
                    other => {
                        let reason = format!("unexpected message {}", other.kind());
                        self.say_goodbye(&reason);
                        return Some(reason);
                    }
                },
                Err(Error::PeerClosed) => return Some("connection closed".into()),
                Err(e) => {
                    let reason = e.into_reason();
                    self.say_goodbye(&reason);
                    return Some(reason);
                }
            }
        }
    }

    /// Best-effort DISCONNECT; the socket is closed right after anyway.
    pub(crate) fn say_goodbye(&self, reason: &str) {
        send_disconnect(&self.sock, reason);
    }
}

/// Sends DISCONNECT with `reason`, logging (not failing) if the peer is already gone. Then
/// discards whatever the peer sent that was not read yet: closing a unix socket with unread
/// data resets the connection, and the peer would see ECONNRESET instead of the reason.
pub(crate) fn send_disconnect(sock: &ControlSocket, reason: &str) {
    let msg = Message::Disconnect(Disconnect {
        code: 0,
        reason: reason.to_owned(),
    });
    if let Err(e) = sock.send(&msg, None) {
        tracing::debug!(error = %e, "could not send DISCONNECT");
    }
    while let Ok(Some(_)) | Err(Error::MessageSize(_) | Error::UnknownMessageType(_)) = sock.recv()
    {
    }
}
