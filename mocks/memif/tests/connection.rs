//! Handshake outcomes, disconnects, reconnects and interrupts, with master and slave in one
//! process.

mod common;

use std::os::fd::AsRawFd;
use std::time::Duration;

use common::*;
use memif::{
    poll_readable, Error, Event, MasterConfig, MasterSocket, Mode, RxMode, Slave, SlaveConfig,
};
use rstest::rstest;

fn master_with_secret() -> MasterConfig {
    MasterConfig {
        secret: Some("s3cr3t".into()),
        ..MasterConfig::new(7, "memif0/7")
    }
}

#[rstest]
#[case::wrong_secret(SlaveConfig { secret: Some("wrong".into()), ..SlaveConfig::new(7, "s") }, Some(7), "incorrect secret")]
#[case::no_secret(SlaveConfig::new(7, "s"), Some(7), "secret required")]
#[case::wrong_id(SlaveConfig { secret: Some("s3cr3t".into()), ..SlaveConfig::new(8, "s") }, Some(8), "unmatched interface id")]
#[case::mode_mismatch(SlaveConfig { secret: Some("s3cr3t".into()), mode: Mode::Ip, ..SlaveConfig::new(7, "s") }, Some(7), "mode mismatch")]
fn refused_slaves_get_the_reason(
    #[case] cfg: SlaveConfig,
    #[case] id: Option<u32>,
    #[case] reason: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(master_with_secret()).unwrap();
    let mut slave = Slave::new(addr, cfg).unwrap();
    slave.start().unwrap();
    let (master_events, slave_event) = drive(&mut sock, &mut slave);
    assert_eq!(
        slave_event,
        Event::Disconnected {
            id: slave.config().id,
            reason: reason.into()
        }
    );
    assert_eq!(
        master_events,
        vec![Event::Rejected {
            id,
            reason: reason.into()
        }]
    );
    assert!(!slave.is_busy());
    assert_eq!(slave.last_disconnect_reason(), Some(reason));
    assert!(
        !sock.interface(7).unwrap().is_busy(),
        "interface still free"
    );
}

#[test]
fn blocking_connect_reports_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let _master = EchoMaster::start(&addr, vec![master_with_secret()]);
    let cfg = SlaveConfig {
        secret: Some("nope".into()),
        ..SlaveConfig::new(7, "s")
    };
    let err = Slave::new(addr, cfg)
        .unwrap()
        .connect(Duration::from_secs(5))
        .unwrap_err();
    assert!(
        matches!(&err, Error::PeerDisconnected(r) if r == "incorrect secret"),
        "{err}"
    );
}

#[test]
fn right_secret_connects_and_a_second_slave_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(master_with_secret()).unwrap();
    let cfg = SlaveConfig {
        secret: Some("s3cr3t".into()),
        ..SlaveConfig::new(7, "first")
    };
    let mut first = Slave::new(addr.clone(), cfg.clone()).unwrap();
    first.start().unwrap();
    let (events, e) = drive(&mut sock, &mut first);
    assert_eq!(e, Event::Connected { id: 7 });
    assert_eq!(events, vec![Event::Connected { id: 7 }]);
    let master = sock.interface(7).unwrap();
    assert!(master.is_connected());
    assert_eq!(master.connection().unwrap().peer().if_name, "first");

    let mut second = Slave::new(addr, cfg).unwrap();
    second.start().unwrap();
    let (events, e) = drive(&mut sock, &mut second);
    let reason = "already connected".to_string();
    assert_eq!(
        e,
        Event::Disconnected {
            id: 7,
            reason: reason.clone()
        }
    );
    assert_eq!(
        events,
        vec![Event::Rejected {
            id: Some(7),
            reason
        }]
    );
    assert!(first.is_connected(), "first connection untouched");
}

#[test]
fn one_socket_serves_several_ids() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    for id in [1, 2] {
        sock.add_interface(MasterConfig::new(id, format!("memif0/{id}")))
            .unwrap();
    }
    assert!(matches!(
        sock.add_interface(MasterConfig::new(2, "again")),
        Err(Error::DuplicateId(2))
    ));
    let mut slaves: Vec<Slave> = [1, 2]
        .iter()
        .map(|&id| Slave::new(addr.clone(), SlaveConfig::new(id, "s")).unwrap())
        .collect();
    for s in &mut slaves {
        s.start().unwrap();
        assert_eq!(
            drive(&mut sock, s).1,
            Event::Connected { id: s.config().id }
        );
    }
    for (i, s) in slaves.iter_mut().enumerate() {
        s.send(&frame(64, i as u32)).unwrap();
    }
    for (i, id) in [1u32, 2].into_iter().enumerate() {
        let m = sock.interface_mut(id).unwrap();
        assert_eq!(m.recv().unwrap(), Some(frame(64, i as u32)), "id {id}");
        m.send(&frame(70, id)).unwrap();
    }
    for (s, id) in slaves.iter_mut().zip([1u32, 2]) {
        assert_eq!(recv_wait(s), frame(70, id));
    }
}

#[test]
fn master_disconnect_reaches_the_slave_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(MasterConfig::new(0, "m")).unwrap();
    let mut slave = Slave::new(addr, SlaveConfig::new(0, "s")).unwrap();
    slave.start().unwrap();
    drive(&mut sock, &mut slave);
    assert!(sock.interface_mut(0).unwrap().disconnect("admin down"));
    let (_, e) = drive(&mut sock, &mut slave);
    assert_eq!(
        e,
        Event::Disconnected {
            id: 0,
            reason: "admin down".into()
        }
    );
    assert!(matches!(slave.send(&[0; 60]), Err(Error::NotConnected)));

    // The interface takes a new slave afterwards.
    slave.start().unwrap();
    assert_eq!(drive(&mut sock, &mut slave).1, Event::Connected { id: 0 });
}

#[test]
fn removing_an_interface_disconnects_its_slave() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(MasterConfig::new(4, "m")).unwrap();
    let mut slave = Slave::new(addr, SlaveConfig::new(4, "s")).unwrap();
    slave.start().unwrap();
    drive(&mut sock, &mut slave);
    assert!(sock.remove_interface(4).is_some());
    let (_, e) = drive(&mut sock, &mut slave);
    assert_eq!(
        e,
        Event::Disconnected {
            id: 4,
            reason: "interface deleted".into()
        }
    );
}

#[test]
fn slave_follows_a_restarting_master() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let master = EchoMaster::start(&addr, vec![MasterConfig::new(0, "m")]);
    let mut slave = Slave::new(addr.clone(), SlaveConfig::new(0, "s")).unwrap();
    slave.connect(Duration::from_secs(5)).unwrap();
    slave.send(&frame(100, 1)).unwrap();
    assert_eq!(recv_wait(&mut slave), frame(100, 1));

    // Master goes away without DISCONNECT (as DPDK does): the slave sees EOF.
    master.stop();
    let events = slave.wait(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        events,
        vec![Event::Disconnected {
            id: 0,
            reason: "connection closed".into()
        }]
    );
    assert!(!slave.is_busy());
    assert!(
        slave.connect(Duration::from_millis(100)).is_err(),
        "nobody listens"
    );

    // A new master comes up a little later; the retry helper finds it.
    let restart_addr = addr.clone();
    let later = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        EchoMaster::start(&restart_addr, vec![MasterConfig::new(0, "m")])
    });
    slave
        .connect_with_retry(Duration::from_millis(50), Duration::from_secs(5))
        .unwrap();
    let _master = later.join().unwrap();
    slave.send(&frame(200, 2)).unwrap();
    assert_eq!(recv_wait(&mut slave), frame(200, 2));
}

#[test]
fn master_survives_slave_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(MasterConfig::new(0, "m")).unwrap();
    for round in 0..5u32 {
        let mut slave = Slave::new(addr.clone(), SlaveConfig::new(0, "s")).unwrap();
        slave.start().unwrap();
        assert_eq!(drive(&mut sock, &mut slave).1, Event::Connected { id: 0 });
        slave.send(&frame(80, round)).unwrap();
        assert_eq!(
            sock.interface_mut(0).unwrap().recv().unwrap(),
            Some(frame(80, round))
        );
        drop(slave); // vanish without DISCONNECT
        let events = sock.wait(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            events,
            vec![Event::Disconnected {
                id: 0,
                reason: "connection closed".into()
            }]
        );
        assert!(!sock.interface(0).unwrap().is_busy());
    }
}

fn readable(fd: i32) -> bool {
    poll_readable(&[fd], Some(Duration::from_millis(50))).unwrap()[0]
}

#[rstest]
#[case::interrupt(RxMode::Interrupt, true)]
#[case::polling(RxMode::Polling, false)]
fn interrupt_eventfd_fires_only_in_interrupt_mode(#[case] mode: RxMode, #[case] fires: bool) {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(MasterConfig {
        rx_mode: mode,
        ..MasterConfig::new(0, "m")
    })
    .unwrap();
    let cfg = SlaveConfig {
        rx_mode: mode,
        ..SlaveConfig::new(0, "s")
    };
    let mut slave = Slave::new(addr, cfg).unwrap();
    slave.start().unwrap();
    drive(&mut sock, &mut slave);

    // slave -> master: the master's S2M eventfd.
    let master_fd = {
        let conn = sock.interface(0).unwrap().connection().unwrap();
        conn.rx_interrupt_fd(0).unwrap().as_raw_fd()
    };
    assert!(!readable(master_fd));
    slave.send(&frame(60, 0)).unwrap();
    assert_eq!(readable(master_fd), fires);
    let master = sock.interface_mut(0).unwrap();
    assert_eq!(master.recv().unwrap(), Some(frame(60, 0)));
    assert_eq!(master.recv().unwrap(), None);
    assert!(
        !readable(master_fd),
        "recv on an empty ring resets the eventfd"
    );

    // master -> slave: the slave's M2S eventfd.
    let slave_fd = slave
        .connection()
        .unwrap()
        .rx_interrupt_fd(0)
        .unwrap()
        .as_raw_fd();
    master.send(&frame(61, 1)).unwrap();
    assert_eq!(readable(slave_fd), fires);
    assert_eq!(slave.recv().unwrap(), Some(frame(61, 1)));

    // Switching modes at run time takes effect on the next frame.
    let other = if fires {
        RxMode::Polling
    } else {
        RxMode::Interrupt
    };
    master.set_rx_mode(other);
    assert_eq!(slave.recv().unwrap(), None);
    slave.send(&frame(62, 2)).unwrap();
    assert_eq!(readable(master_fd), !fires);
}

#[test]
fn abstract_socket_names_work_end_to_end() {
    let addr = memif::SocketAddr::parse(&format!("@memif-it-{}", std::process::id()));
    let _master = EchoMaster::start(&addr, vec![MasterConfig::new(0, "m")]);
    let mut slave = Slave::new(addr, SlaveConfig::new(0, "s")).unwrap();
    slave.connect(Duration::from_secs(5)).unwrap();
    slave.send(&frame(1500, 9)).unwrap();
    assert_eq!(recv_wait(&mut slave), frame(1500, 9));
}

/// What an event loop that watches each descriptor once sees: only the descriptors a
/// generation announces, and each interface handled on its own.
#[test]
fn listener_and_interfaces_are_driven_one_descriptor_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    for id in [1, 2] {
        sock.add_interface(MasterConfig::new(id, format!("memif0/{id}")))
            .unwrap();
    }
    let idle = sock.interface(1).unwrap().generation();
    assert_eq!(sock.interface(1).unwrap().control_fd(), None);
    assert_eq!(sock.pending_fds().count(), 0);
    let listener = sock.listener_fd();

    let mut slave = Slave::new(addr, SlaveConfig::new(2, "s")).unwrap();
    let g = slave.generation();
    slave.start().unwrap();
    assert_ne!(
        slave.generation(),
        g,
        "connecting: a control socket to watch"
    );
    assert!(slave.control_fd().is_some());
    assert!(readable(listener));
    let before = sock.pending_generation();
    let (events, attached) = sock.process_listener();
    assert!(events.is_empty() && attached.is_empty());
    assert_ne!(
        sock.pending_generation(),
        before,
        "accepted, waiting for INIT"
    );
    let pending: Vec<i32> = sock.pending_fds().collect();
    assert_eq!(pending.len(), 1);

    // The slave answers HELLO with INIT (and more, lock-step); INIT names interface 2.
    slave.process();
    assert!(readable(pending[0]));
    let before = sock.pending_generation();
    let (events, attached) = sock.process_listener();
    assert!(events.is_empty());
    assert_eq!(attached, vec![2]);
    assert_ne!(sock.pending_generation(), before);
    assert_eq!(sock.pending_fds().count(), 0);
    let m2 = sock.interface(2).unwrap();
    let control = m2.control_fd().expect("handshaking");
    let handshaking = m2.generation();
    assert_eq!(sock.interface(1).unwrap().generation(), idle, "untouched");

    let mut events = Vec::new();
    while !slave.is_connected() {
        slave.process();
        if !slave.is_connected() {
            assert!(readable(control), "the slave's next message waits");
        }
        events.extend(sock.process_interface(2));
    }
    assert_eq!(events, vec![Event::Connected { id: 2 }]);
    let m2 = sock.interface(2).unwrap();
    assert_ne!(m2.generation(), handshaking, "connected");
    assert!(m2.connection().is_some());
    assert!(sock.process_interface(1).is_empty());
    assert!(sock.process_interface(9).is_empty(), "no such interface");

    let connected = sock.interface(2).unwrap().generation();
    slave.disconnect("bye");
    let fd = sock.interface(2).unwrap().control_fd().unwrap();
    assert!(readable(fd));
    assert_eq!(
        sock.process_interface(2),
        vec![Event::Disconnected {
            id: 2,
            reason: "bye".into()
        }]
    );
    let m2 = sock.interface(2).unwrap();
    assert_ne!(m2.generation(), connected);
    assert_eq!(m2.control_fd(), None);
    assert_eq!(slave.control_fd(), None);
}

/// A receiver that polls while traffic flows: masked interrupts stop the peer's signals
/// but not the frames, `rx_pending` sees them without a system call, and unmasking brings
/// the signals back; the receive mode itself stays as configured.
#[test]
fn masking_interrupts_for_a_while_keeps_the_mode() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let mut sock = MasterSocket::bind(&addr, "test").unwrap();
    sock.add_interface(MasterConfig::new(0, "m")).unwrap();
    let mut slave = Slave::new(addr, SlaveConfig::new(0, "s")).unwrap();
    slave.start().unwrap();
    drive(&mut sock, &mut slave);
    let conn = sock.interface_mut(0).unwrap().connection_mut().unwrap();
    let fd = conn.rx_interrupt_fd(0).unwrap().as_raw_fd();
    assert!(!conn.rx_pending(0));
    conn.mask_rx_interrupts(true);
    assert_eq!(conn.rx_mode(), RxMode::Interrupt);
    for seed in 0..3 {
        slave.send(&frame(64, seed)).unwrap();
    }
    let conn = sock.interface_mut(0).unwrap().connection_mut().unwrap();
    assert!(!readable(fd), "masked: no signal");
    assert!(conn.rx_pending(0));
    for seed in 0..3 {
        assert_eq!(conn.recv(0).unwrap(), Some(frame(64, seed)));
    }
    assert!(!conn.rx_pending(0));
    conn.mask_rx_interrupts(false);
    slave.send(&frame(64, 9)).unwrap();
    assert!(readable(fd), "unmasked: signalled again");
    let conn = sock.interface_mut(0).unwrap().connection_mut().unwrap();
    assert!(conn.rx_pending(0));
    assert_eq!(conn.recv(0).unwrap(), Some(frame(64, 9)));
    assert_eq!(conn.recv(0).unwrap(), None);
    assert!(!readable(fd), "the empty ring reset the eventfd");
    // The slave side too.
    let master = sock.interface_mut(0).unwrap();
    master.send(&frame(70, 1)).unwrap();
    let sconn = slave.connection().unwrap();
    assert!(sconn.rx_pending(0));
}
