//! The master's checks, driven by a hand-written slave that can misbehave.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use rstest::rstest;

use super::*;
use crate::control::SocketAddr;
use crate::msg::{AddRegion, AddRing, VERSION};
use crate::ring::{ring_block_size, CopyLayout};
use crate::MasterSocket;

const LOG2: u8 = 2;

/// A slave made of raw parts: its socket, one region with two initialised rings, two eventfds.
struct RawSlave {
    sock: ControlSocket,
    region: Arc<Vec<Region>>,
    kicks: [EventFd; 2],
    _dir: tempfile::TempDir,
}

fn layout() -> CopyLayout {
    CopyLayout {
        n_s2m: 1,
        n_m2s: 1,
        log2: LOG2,
        buffer_size: 64,
    }
}

fn setup(secret: Option<&str>) -> (MasterSocket, RawSlave) {
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::Path(dir.path().join("m.sock"));
    let mut master = MasterSocket::bind(&addr, "unit").unwrap();
    master
        .add_interface(MasterConfig {
            secret: secret.map(str::to_owned),
            ..MasterConfig::new(0, "memif0/0")
        })
        .unwrap();
    let sock = ControlSocket::connect(&addr).unwrap();
    assert!(master.process().is_empty());
    let hello = sock.recv_timeout(Some(Duration::from_secs(1))).unwrap();
    let Message::Hello(h) = hello.msg else {
        panic!("expected HELLO, got {:?}", hello.msg)
    };
    assert_eq!((h.min_version, h.max_version), (VERSION, VERSION));
    assert_eq!(h.name, "unit");
    let l = layout();
    let region = Region::create("r", l.region_size() as usize).unwrap();
    let regions = Arc::new(vec![region]);
    for dir in [Direction::S2M, Direction::M2S] {
        Ring::new(regions.clone(), 0, l.ring_offset(dir, 0), LOG2)
            .unwrap()
            .init();
    }
    let raw = RawSlave {
        sock,
        region: regions,
        kicks: [EventFd::new().unwrap(), EventFd::new().unwrap()],
        _dir: dir,
    };
    (master, raw)
}

fn init() -> Message {
    Message::Init(Init {
        version: VERSION,
        id: 0,
        mode: 0,
        secret: String::new(),
        name: "raw".into(),
    })
}

fn add_region(index: u16, size: u64) -> Message {
    Message::AddRegion(AddRegion { index, size })
}

fn add_ring(direction: Direction, index: u16, offset: u32) -> Message {
    Message::AddRing(AddRing {
        direction,
        index,
        region: 0,
        offset,
        log2_ring_size: LOG2,
        private_hdr_size: 0,
    })
}

/// Which fd a scripted message carries.
#[derive(Clone, Copy)]
enum Fd {
    None,
    Region,
    Kick(usize),
}

impl RawSlave {
    fn fd(&self, which: Fd) -> Option<BorrowedFd<'_>> {
        match which {
            Fd::None => None,
            Fd::Region => Some(self.region[0].as_fd()),
            Fd::Kick(i) => Some(self.kicks[i].as_fd()),
        }
    }

    /// Sends the whole script at once (like a burst-sending peer), then lets the master
    /// process it and collects every reply.
    fn run(
        &self,
        master: &mut MasterSocket,
        script: &[(Message, Fd)],
    ) -> (Vec<Message>, Vec<Event>) {
        for (msg, fd) in script {
            self.sock.send(msg, self.fd(*fd)).unwrap();
        }
        let events = master.process();
        let mut replies = Vec::new();
        loop {
            match self.sock.recv() {
                Ok(Some(r)) => replies.push(r.msg),
                Ok(None) | Err(Error::PeerClosed) => break,
                Err(e) => panic!("{e} after {replies:?}"),
            }
        }
        (replies, events)
    }
}

fn good_script() -> Vec<(Message, Fd)> {
    let l = layout();
    vec![
        (init(), Fd::None),
        (add_region(0, l.region_size()), Fd::Region),
        (add_ring(Direction::S2M, 0, 0), Fd::Kick(0)),
        (
            add_ring(Direction::M2S, 0, l.ring_offset(Direction::M2S, 0) as u32),
            Fd::Kick(1),
        ),
        (
            Message::Connect {
                if_name: "raw0".into(),
            },
            Fd::None,
        ),
    ]
}

#[test]
fn burst_handshake_gets_one_reply_per_message() {
    let (mut master, raw) = setup(None);
    let (replies, events) = raw.run(&mut master, &good_script());
    let mut want = vec![Message::Ack; 4];
    want.push(Message::Connected {
        if_name: "memif0/0".into(),
    });
    assert_eq!(replies, want);
    assert_eq!(events, vec![Event::Connected { id: 0 }]);
    let m = master.interface(0).unwrap();
    let peer = m.connection().unwrap().peer();
    assert_eq!(
        (peer.app_name.as_str(), peer.if_name.as_str()),
        ("raw", "raw0")
    );
}

fn disconnect(reason: &str) -> Message {
    Message::Disconnect(crate::msg::Disconnect {
        code: 0,
        reason: reason.into(),
    })
}

/// Replaces message `index` of the good script.
fn patched(index: usize, msg: Message, fd: Fd) -> Vec<(Message, Fd)> {
    let mut s = good_script();
    s[index] = (msg, fd);
    s
}

#[rstest]
#[case::region_without_fd(patched(1, add_region(0, 4096), Fd::None), "missing memory region fd")]
#[case::region_out_of_order(patched(1, add_region(1, 4096), Fd::Region), "unexpected region index")]
#[case::ring_without_fd(
    patched(2, add_ring(Direction::S2M, 0, 0), Fd::None),
    "missing ring interrupt fd"
)]
#[case::ring_out_of_order(
    patched(2, add_ring(Direction::S2M, 1, 0), Fd::Kick(0)),
    "unexpected ring index"
)]
#[case::private_header(
    patched(2, Message::AddRing(AddRing { private_hdr_size: 8, ..match add_ring(Direction::S2M, 0, 0) { Message::AddRing(r) => r, _ => unreachable!() } }), Fd::Kick(0)),
    "private headers not supported"
)]
#[case::ring_in_buffers_without_cookie(
    patched(3, add_ring(Direction::M2S, 0, 512), Fd::Kick(1)),
    "wrong cookie"
)]
#[case::ring_past_region_end(patched(3, add_ring(Direction::M2S, 0, 1 << 20), Fd::Kick(1)), "ring at 1048576 does not fit region 0")]
#[case::region_larger_than_file(patched(1, add_region(0, 1 << 30), Fd::Region), "region 0: region of 1073741824 bytes announced but the file has 896")]
#[case::no_m2s_ring(
    patched(3, Message::Ack, Fd::None),
    "at least one ring per direction required"
)]
#[case::late_init(patched(4, init(), Fd::None), "unexpected message INIT")]
fn bad_setups_are_disconnected_with_a_reason(
    #[case] script: Vec<(Message, Fd)>,
    #[case] reason: &str,
) {
    let (mut master, raw) = setup(None);
    let (replies, events) = raw.run(&mut master, &script);
    assert_eq!(
        replies.last(),
        Some(&disconnect(reason)),
        "replies {replies:?}"
    );
    assert_eq!(
        events,
        vec![Event::Disconnected {
            id: 0,
            reason: reason.into()
        }]
    );
    assert!(!master.interface(0).unwrap().is_busy());
}

#[rstest]
#[case::not_init(Message::Connect { if_name: String::new() }, None, "unexpected message CONNECT")]
#[case::old_version(Message::Init(Init { version: 0x0100, ..match init() { Message::Init(i) => i, _ => unreachable!() } }), Some(0), "unsupported version")]
#[case::unknown_mode(Message::Init(Init { mode: 9, ..match init() { Message::Init(i) => i, _ => unreachable!() } }), Some(0), "mode mismatch")]
fn bad_first_messages_are_rejected(
    #[case] first: Message,
    #[case] id: Option<u32>,
    #[case] reason: &str,
) {
    let (mut master, raw) = setup(None);
    let (replies, events) = raw.run(&mut master, &[(first, Fd::None)]);
    assert_eq!(replies, vec![disconnect(reason)]);
    assert_eq!(
        events,
        vec![Event::Rejected {
            id,
            reason: reason.into()
        }]
    );
}

#[test]
fn secret_is_compared_exactly() {
    let (mut master, raw) = setup(Some("abc"));
    let prefix = Message::Init(Init {
        secret: "abcd".into(),
        ..match init() {
            Message::Init(i) => i,
            _ => unreachable!(),
        }
    });
    let (replies, _) = raw.run(&mut master, &[(prefix, Fd::None)]);
    assert_eq!(replies, vec![disconnect("incorrect secret")]);
}

#[test]
fn peer_disconnect_during_setup_is_reported_with_its_reason() {
    let (mut master, raw) = setup(None);
    let mut script = good_script();
    script.truncate(2);
    script.push((disconnect("changed my mind"), Fd::None));
    let (_, events) = raw.run(&mut master, &script);
    assert_eq!(
        events,
        vec![Event::Disconnected {
            id: 0,
            reason: "changed my mind".into()
        }]
    );
}

#[test]
fn corrupt_ring_counters_end_the_connection() {
    let (mut master, raw) = setup(None);
    raw.run(&mut master, &good_script());
    // The slave publishes an impossible head on the S2M ring.
    let ring = Ring::new(raw.region.clone(), 0, 0, LOG2).unwrap();
    ring.head()
        .store(1000, std::sync::atomic::Ordering::Release);
    let m = master.interface_mut(0).unwrap();
    assert!(matches!(m.recv(), Err(Error::Protocol(_))));
    assert!(matches!(m.recv(), Err(Error::NotConnected)));
    let events = master.wait(Some(Duration::from_secs(1))).unwrap();
    assert!(
        matches!(&events[..], [Event::Disconnected { id: 0, reason }] if reason.contains("exceed ring size")),
        "{events:?}"
    );
    let got = raw.sock.recv().unwrap().unwrap().msg;
    assert!(matches!(got, Message::Disconnect(_)), "{got:?}");
    assert_eq!(ring_block_size(LOG2), 128 + 64);
}
