//! The slave's side of the handshake: the memory it creates on HELLO and the queue of setup
//! messages it sends one per ACK.

use crate::control::ControlSocket;
use crate::error::{Error, Result};
use crate::eventfd::EventFd;
use crate::interface::{PeerInfo, RxMode};
use crate::msg::Message;
use crate::region::Region;
use crate::ring::{CopyLayout, Direction, Ring};
use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) sock: ControlSocket,
    pub(crate) peer: PeerInfo,
    /// Memory and eventfds, created when HELLO arrives.
    pub(crate) memory: Option<Memory>,
    /// Messages still to send, one per ACK received.
    pub(crate) outgoing: VecDeque<(Message, Attach)>,
    pub(crate) connect_sent: bool,
}

/// Which descriptor rides along with a queued message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attach {
    Nothing,
    Region,
    Ring(Direction, usize),
}

#[derive(Debug)]
pub(crate) struct Memory {
    pub(crate) layout: CopyLayout,
    pub(crate) regions: Arc<Vec<Region>>,
    pub(crate) s2m: Vec<(Ring, EventFd)>,
    pub(crate) m2s: Vec<(Ring, EventFd)>,
}

/// How a handshake ended early.
pub(crate) enum Ended {
    /// The master sent DISCONNECT.
    Peer(String),
    /// This end refuses to go on; the reason is sent to the master.
    Local(String),
}

/// Sends the next queued setup message with its descriptor.
pub(crate) fn send_next(setup: &mut Setup) -> Result<(), String> {
    let (msg, attach) = setup.outgoing.pop_front().expect("caller checked");
    let memory = setup.memory.as_ref().expect("memory exists after HELLO");
    let fd: Option<BorrowedFd<'_>> = match attach {
        Attach::Nothing => None,
        Attach::Region => Some(memory.regions[0].as_fd()),
        Attach::Ring(Direction::S2M, i) => Some(memory.s2m[i].1.as_fd()),
        Attach::Ring(Direction::M2S, i) => Some(memory.m2s[i].1.as_fd()),
    };
    setup.connect_sent = matches!(msg, Message::Connect { .. });
    setup.sock.send(&msg, fd).map_err(Error::into_reason)
}

/// One region with every ring initialised (cookie, zero counters) and one eventfd per ring.
pub(crate) fn create_memory(layout: CopyLayout, rx_mode: RxMode) -> Result<Memory> {
    let region = Region::create("memif_region_0", layout.region_size() as usize)?;
    let regions = Arc::new(vec![region]);
    let make = |direction, count: u16| -> Result<Vec<(Ring, EventFd)>> {
        (0..count)
            .map(|index| {
                let offset = layout.ring_offset(direction, index);
                let ring = Ring::new(regions.clone(), 0, offset, layout.log2)?;
                ring.init();
                Ok((ring, EventFd::new()?))
            })
            .collect()
    };
    let s2m = make(Direction::S2M, layout.n_s2m)?;
    let m2s = make(Direction::M2S, layout.n_m2s)?;
    if rx_mode == RxMode::Polling {
        for (ring, _) in &m2s {
            ring.flags().store(
                crate::ring::RING_FLAG_MASK_INT,
                std::sync::atomic::Ordering::Release,
            );
        }
    }
    Ok(Memory {
        layout,
        regions,
        s2m,
        m2s,
    })
}

impl crate::lifecycle::Handshake for Setup {
    fn socket(&self) -> &ControlSocket {
        &self.sock
    }
}
