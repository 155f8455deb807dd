//! The slave's handshake, driven by a hand-written master.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rstest::rstest;

use super::*;
use crate::control::Listener;
use crate::msg::Disconnect;
use crate::region::Region;
use crate::ring::COOKIE;

struct RawMaster {
    sock: ControlSocket,
    _listener: Listener,
    _dir: tempfile::TempDir,
}

fn hello(max_s2m_ring: u16, max_m2s_ring: u16, max_log2: u8) -> Hello {
    Hello {
        name: "raw master".into(),
        min_version: VERSION,
        max_version: VERSION,
        max_region: 255,
        max_m2s_ring,
        max_s2m_ring,
        max_log2_ring_size: max_log2,
    }
}

fn start(cfg: SlaveConfig) -> (Slave, RawMaster) {
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::Path(dir.path().join("s.sock"));
    let listener = Listener::bind(&addr).unwrap();
    let mut slave = Slave::new(addr, cfg).unwrap();
    slave.start().unwrap();
    poll_readable(&[listener.as_raw_fd()], Some(Duration::from_secs(1))).unwrap();
    let sock = listener.accept().unwrap().unwrap();
    (
        slave,
        RawMaster {
            sock,
            _listener: listener,
            _dir: dir,
        },
    )
}

impl RawMaster {
    /// Sends `msg`, lets the slave react, and returns everything it sent back.
    fn exchange(
        &self,
        slave: &mut Slave,
        msg: Message,
    ) -> (Vec<crate::control::Received>, Vec<Event>) {
        self.sock.send(&msg, None).unwrap();
        let events = slave.process();
        let mut got = Vec::new();
        while let Ok(Some(r)) = self.sock.recv() {
            got.push(r);
        }
        (got, events)
    }
}

#[test]
fn handshake_is_lock_step_and_honours_the_hello_limits() {
    let cfg = SlaveConfig {
        num_s2m_rings: 4,
        num_m2s_rings: 4,
        log2_ring_size: 12,
        buffer_size: 1024,
        secret: Some("pw".into()),
        ..SlaveConfig::new(9, "slave-if")
    };
    let (mut slave, raw) = start(cfg);
    let layout = CopyLayout {
        n_s2m: 2,
        n_m2s: 1,
        log2: 8,
        buffer_size: 1024,
    };

    let (got, events) = raw.exchange(&mut slave, Message::Hello(hello(1, 0, 8)));
    assert!(events.is_empty());
    assert_eq!(got.len(), 1, "one message per answer");
    let Message::Init(init) = &got[0].msg else {
        panic!("{:?}", got[0].msg)
    };
    assert_eq!((init.version, init.id, init.mode), (VERSION, 9, 0));
    assert_eq!(init.secret, "pw");

    let (mut got, _) = raw.exchange(&mut slave, Message::Ack);
    let r = got.pop().unwrap();
    assert_eq!(
        r.msg,
        Message::AddRegion(AddRegion {
            index: 0,
            size: layout.region_size()
        })
    );
    let region = Region::map(r.fd.expect("region fd"), layout.region_size()).unwrap();
    let regions = Arc::new(vec![region]);

    let mut rings = Vec::new();
    for (direction, index) in [
        (Direction::S2M, 0),
        (Direction::S2M, 1),
        (Direction::M2S, 0),
    ] {
        let (mut got, _) = raw.exchange(&mut slave, Message::Ack);
        let r = got.pop().unwrap();
        let offset = layout.ring_offset(direction, index);
        let want = AddRing {
            direction,
            index,
            region: 0,
            offset: offset as u32,
            log2_ring_size: 8,
            private_hdr_size: 0,
        };
        assert_eq!(r.msg, Message::AddRing(want));
        assert!(r.fd.is_some(), "eventfd attached");
        let ring = Ring::new(regions.clone(), 0, offset, 8).unwrap();
        assert_eq!(ring.cookie(), COOKIE);
        rings.push(ring);
    }
    let (got, _) = raw.exchange(&mut slave, Message::Ack);
    assert_eq!(
        got[0].msg,
        Message::Connect {
            if_name: "slave-if".into()
        }
    );
    assert_eq!(
        rings[2].head().load(Ordering::Acquire),
        0,
        "no offer before CONNECTED"
    );

    let (got, events) = raw.exchange(
        &mut slave,
        Message::Connected {
            if_name: "raw0".into(),
        },
    );
    assert!(got.is_empty());
    assert_eq!(events, vec![Event::Connected { id: 9 }]);
    let conn = slave.connection().unwrap();
    assert_eq!((conn.num_tx_queues(), conn.num_rx_queues()), (2, 1));
    assert_eq!(conn.peer().app_name, "raw master");
    assert_eq!(conn.peer().if_name, "raw0");
    assert_eq!(
        rings[2].head().load(Ordering::Acquire),
        256,
        "whole M2S ring offered"
    );
    let d = rings[2].desc(255);
    assert_eq!(
        (d.length, d.offset as u64),
        (1024, layout.buffer_offset(Direction::M2S, 0, 255))
    );
}

fn disconnect(reason: &str) -> Message {
    Message::Disconnect(Disconnect {
        code: 0,
        reason: reason.into(),
    })
}

#[rstest]
#[case::too_new(Message::Hello(Hello { min_version: 0x0300, max_version: 0x0300, ..hello(0, 0, 10) }), "incompatible protocol version")]
#[case::too_old(Message::Hello(Hello { min_version: 0x0100, max_version: 0x0100, ..hello(0, 0, 10) }), "incompatible protocol version")]
#[case::not_hello(Message::Ack, "unexpected message ACK")]
#[case::init_to_slave(Message::Init(Init::default()), "unexpected message INIT")]
#[case::early_connected(Message::Connected { if_name: String::new() }, "unexpected message CONNECTED")]
fn bad_master_messages_end_the_handshake(#[case] msg: Message, #[case] reason: &str) {
    let (mut slave, raw) = start(SlaveConfig::new(0, "s"));
    let (got, events) = raw.exchange(&mut slave, msg);
    assert_eq!(got.last().map(|r| &r.msg), Some(&disconnect(reason)));
    assert_eq!(
        events,
        vec![Event::Disconnected {
            id: 0,
            reason: reason.into()
        }]
    );
    assert!(!slave.is_busy());
}

#[test]
fn master_refusal_mid_handshake_is_reported() {
    let (mut slave, raw) = start(SlaveConfig::new(0, "s"));
    raw.exchange(&mut slave, Message::Hello(hello(0, 0, 10)));
    let (got, events) = raw.exchange(&mut slave, disconnect("ID not found"));
    assert!(got.is_empty(), "no reply to a DISCONNECT");
    assert_eq!(
        events,
        vec![Event::Disconnected {
            id: 0,
            reason: "ID not found".into()
        }]
    );
    assert_eq!(slave.last_disconnect_reason(), Some("ID not found"));
}

#[test]
fn start_fails_when_nobody_listens() {
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::Path(dir.path().join("none.sock"));
    let mut slave = Slave::new(addr, SlaveConfig::new(0, "s")).unwrap();
    assert!(matches!(
        slave.start(),
        Err(Error::Io { op: "connect", .. })
    ));
    assert!(!slave.is_busy());
}
