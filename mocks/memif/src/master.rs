//! One master (server) interface: takes one slave at a time, checks what it announces, and maps
//! the memory it hands over. Driven by its [`crate::MasterSocket`].

use std::os::fd::{OwnedFd, RawFd};
use std::sync::Arc;

use crate::connection::{send_disconnect, Connection, Role};
use crate::control::{ControlSocket, Received};
use crate::error::{Error, Result};
use crate::eventfd::EventFd;
use crate::interface::{Event, MasterConfig, PeerInfo};
use crate::lifecycle::{connection_methods, Handshake, Lifecycle, State};
use crate::msg::{Init, Message};
use crate::queue::Queue;
use crate::region::Region;
use crate::ring::{Direction, Ring, COOKIE, MAX_LOG2_RING_SIZE};

/// Highest region index and ring index a slave may use (the limits libmemif and DPDK announce).
pub(crate) const MAX_REGION: u16 = 255;
pub(crate) const MAX_RING: u16 = 255;

/// One master interface. It lives inside its [`crate::MasterSocket`].
#[derive(Debug)]
pub struct Master {
    config: MasterConfig,
    life: Lifecycle<Setup>,
}

/// What the slave has announced so far.
#[derive(Debug)]
struct Setup {
    sock: ControlSocket,
    peer: PeerInfo,
    regions: Vec<(OwnedFd, u64)>,
    s2m: Vec<RingOffer>,
    m2s: Vec<RingOffer>,
}

impl Handshake for Setup {
    fn socket(&self) -> &ControlSocket {
        &self.sock
    }
}

#[derive(Debug)]
struct RingOffer {
    region: u16,
    offset: u32,
    log2: u8,
    interrupt: EventFd,
}

/// Outcome of one handshake message.
enum Step {
    More,
    Connect(String),
}

impl Master {
    pub(crate) fn new(config: MasterConfig) -> Master {
        Master {
            config,
            life: Lifecycle::new(),
        }
    }

    connection_methods!();

    /// The id slaves ask for in INIT.
    pub fn id(&self) -> u32 {
        self.config.id
    }

    /// The configuration it was added with.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// Sends DISCONNECT with `reason` and drops the connection (memory is unmapped). Returns
    /// false when there was nothing to disconnect.
    pub fn disconnect(&mut self, reason: &str) -> bool {
        let was = self.life.disconnect(reason);
        if was {
            tracing::info!(id = self.config.id, reason, "memif master disconnected");
        }
        was
    }

    pub(crate) fn poll_fds(&self, out: &mut Vec<RawFd>) {
        self.life.poll_fds(out);
    }

    /// Checks the parts of INIT that belong to this interface; on success answers ACK.
    pub(crate) fn attach(
        &mut self,
        sock: ControlSocket,
        init: Init,
    ) -> Result<(), (ControlSocket, String)> {
        if init.mode != self.config.mode.wire() {
            return Err((sock, "mode mismatch".into()));
        }
        if let Some(secret) = &self.config.secret {
            if init.secret.is_empty() {
                return Err((sock, "secret required".into()));
            }
            if &init.secret != secret {
                return Err((sock, "incorrect secret".into()));
            }
        }
        if let Err(e) = sock.send(&Message::Ack, None) {
            return Err((sock, e.into_reason()));
        }
        tracing::debug!(id = self.config.id, peer = %init.name, "memif slave attached");
        self.life.set(State::Handshake(Box::new(Setup {
            sock,
            peer: PeerInfo {
                app_name: init.name,
                if_name: String::new(),
            },
            regions: Vec::new(),
            s2m: Vec::new(),
            m2s: Vec::new(),
        })));
        Ok(())
    }

    pub(crate) fn process_control(&mut self, events: &mut Vec<Event>) {
        match self.life.take() {
            State::Idle => {}
            State::Connected(mut conn) => match conn.read_control() {
                None => self.life.put_back(State::Connected(conn)),
                Some(reason) => events.push(self.ended(reason)),
            },
            State::Handshake(mut setup) => loop {
                let step = match setup.sock.recv() {
                    Ok(None) => {
                        self.life.put_back(State::Handshake(setup));
                        return;
                    }
                    Ok(Some(Received {
                        msg: Message::Disconnect(d),
                        ..
                    })) => return events.push(self.ended(d.reason)),
                    Ok(Some(r)) => handle_setup(&mut setup, r),
                    Err(Error::PeerClosed) => {
                        return events.push(self.ended("connection closed".into()))
                    }
                    Err(e) => Err(e.into_reason()),
                };
                let result = match step {
                    Ok(Step::More) => continue,
                    Ok(Step::Connect(if_name)) => self.finish(*setup, if_name),
                    Err(reason) => Err((setup.sock, reason)),
                };
                match result {
                    Ok(conn) => {
                        tracing::info!(id = self.config.id, peer = ?conn.peer(), "memif master connected");
                        self.life.set(State::Connected(conn));
                        events.push(Event::Connected { id: self.config.id });
                    }
                    Err((sock, reason)) => {
                        send_disconnect(&sock, &reason);
                        events.push(self.ended(reason));
                    }
                }
                return;
            },
        }
    }

    /// CONNECT: map every region, check every ring, answer CONNECTED.
    fn finish(
        &mut self,
        setup: Setup,
        if_name: String,
    ) -> Result<Connection, (ControlSocket, String)> {
        let Setup {
            sock,
            mut peer,
            regions,
            s2m,
            m2s,
        } = setup;
        let queues = (|| -> Result<(Vec<Queue>, Vec<Queue>), String> {
            if s2m.is_empty() || m2s.is_empty() {
                return Err("at least one ring per direction required".into());
            }
            let mut mapped = Vec::new();
            for (i, (fd, size)) in regions.into_iter().enumerate() {
                mapped.push(
                    Region::map(fd, size)
                        .map_err(|e| format!("region {i}: {}", e.into_reason()))?,
                );
            }
            let mapped = Arc::new(mapped);
            let open = |offers: Vec<RingOffer>| -> Result<Vec<Queue>, String> {
                let mut out = Vec::new();
                for o in offers {
                    let ring = Ring::new(mapped.clone(), o.region, o.offset as u64, o.log2)
                        .map_err(Error::into_reason)?;
                    if ring.cookie() != COOKIE {
                        return Err("wrong cookie".into());
                    }
                    out.push(Queue::new(ring, o.interrupt, None));
                }
                Ok(out)
            };
            Ok((open(s2m)?, open(m2s)?))
        })();
        let (rx, tx) = match queues {
            Ok(q) => q,
            Err(reason) => return Err((sock, reason)),
        };
        let connected = Message::Connected {
            if_name: self.config.if_name.clone(),
        };
        if let Err(e) = sock.send(&connected, None) {
            return Err((sock, e.into_reason()));
        }
        peer.if_name = if_name;
        Ok(Connection::new(
            sock,
            Role::Master,
            tx,
            rx,
            self.config.rx_mode,
            peer,
        ))
    }

    fn ended(&mut self, reason: String) -> Event {
        tracing::info!(id = self.config.id, %reason, "memif master connection ended");
        self.life.ended(&reason);
        Event::Disconnected {
            id: self.config.id,
            reason,
        }
    }
}

/// One ADD_REGION / ADD_RING / CONNECT during the handshake; the error is the DISCONNECT reason.
fn handle_setup(setup: &mut Setup, r: Received) -> Result<Step, String> {
    match r.msg {
        Message::AddRegion(ar) => {
            let fd = r.fd.ok_or("missing memory region fd")?;
            if ar.index as usize != setup.regions.len() {
                return Err("unexpected region index".into());
            }
            if ar.index > MAX_REGION {
                return Err("too many regions".into());
            }
            setup.regions.push((fd, ar.size));
        }
        Message::AddRing(ar) => {
            let fd = r.fd.ok_or("missing ring interrupt fd")?;
            if ar.private_hdr_size != 0 {
                return Err("private headers not supported".into());
            }
            let list = match ar.direction {
                Direction::S2M => &mut setup.s2m,
                Direction::M2S => &mut setup.m2s,
            };
            if ar.index as usize != list.len() {
                return Err("unexpected ring index".into());
            }
            if ar.index > MAX_RING {
                return Err("too many rings".into());
            }
            if ar.log2_ring_size > MAX_LOG2_RING_SIZE {
                return Err("ring size too large".into());
            }
            list.push(RingOffer {
                region: ar.region,
                offset: ar.offset,
                log2: ar.log2_ring_size,
                interrupt: EventFd::from_fd(fd).map_err(Error::into_reason)?,
            });
        }
        Message::Connect { if_name } => return Ok(Step::Connect(if_name)),
        Message::Ack => return Ok(Step::More),
        other => return Err(format!("unexpected message {}", other.kind())),
    }
    setup
        .sock
        .send(&Message::Ack, None)
        .map_err(Error::into_reason)?;
    Ok(Step::More)
}

#[cfg(test)]
#[path = "master_tests.rs"]
mod tests;
