//! Master and slave in one process, exchanging frames through real shared memory.

mod common;

use std::time::Duration;

use common::*;
use memif::{MasterConfig, RxMode, Slave, SlaveConfig};
use rstest::rstest;

#[rstest]
#[case::interrupt_default_buffers(RxMode::Interrupt, 10, 2048)]
#[case::polling_small_ring(RxMode::Polling, 4, 2048)]
#[case::tiny_buffers_chain_everything(RxMode::Interrupt, 6, 256)]
fn frames_of_every_size_come_back(
    #[case] rx_mode: RxMode,
    #[case] log2: u8,
    #[case] buffer_size: u32,
) {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let master = EchoMaster::start(
        &addr,
        vec![MasterConfig {
            rx_mode,
            ..MasterConfig::new(3, "memif0/3")
        }],
    );
    let cfg = SlaveConfig {
        log2_ring_size: log2,
        buffer_size,
        rx_mode,
        ..SlaveConfig::new(3, "slave0")
    };
    let mut slave = Slave::new(addr, cfg).unwrap();
    slave.connect(Duration::from_secs(5)).unwrap();
    let conn = slave.connection().unwrap();
    assert_eq!(conn.peer().app_name, "echo-master");
    assert_eq!(conn.peer().if_name, "memif0/3");
    assert_eq!(conn.log2_ring_size(), log2);

    let mut sent = 0u64;
    for len in (60..=9000).step_by(97).chain([9000]) {
        let f = frame(len, len as u32);
        send_retrying(&mut slave, &f);
        assert_eq!(recv_wait(&mut slave), f, "frame of {len} bytes");
        sent += 1;
    }
    let stats = slave.stats().unwrap();
    assert_eq!(stats.tx[0].packets, sent);
    assert_eq!(stats.rx[0].packets, sent);
    assert_eq!(stats.rx[0].errors, 0);
    slave.disconnect("done");
    let events = master.stop();
    assert!(
        events.contains(&memif::Event::Disconnected {
            id: 3,
            reason: "done".into()
        }),
        "{events:?}"
    );
}

#[test]
fn bursts_wrap_the_ring_many_times() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let _master = EchoMaster::start(&addr, vec![MasterConfig::new(0, "memif0/0")]);
    let cfg = SlaveConfig {
        log2_ring_size: 4,
        ..SlaveConfig::new(0, "slave0")
    };
    let mut slave = Slave::new(addr, cfg).unwrap();
    slave.connect(Duration::from_secs(5)).unwrap();
    let mut seq = 0u32;
    for _round in 0..200 {
        let burst: Vec<Vec<u8>> = (0..12)
            .map(|i| {
                seq += 1;
                frame(60 + i * 40, seq)
            })
            .collect();
        for f in &burst {
            send_retrying(&mut slave, f);
        }
        for f in &burst {
            assert_eq!(&recv_wait(&mut slave), f);
        }
    }
    assert_eq!(slave.stats().unwrap().rx[0].packets, 2400);
}

#[test]
fn every_queue_carries_its_own_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let addr = socket_in(&dir);
    let _master = EchoMaster::start(&addr, vec![MasterConfig::new(0, "memif0/0")]);
    let cfg = SlaveConfig {
        num_s2m_rings: 3,
        num_m2s_rings: 3,
        ..SlaveConfig::new(0, "slave0")
    };
    let mut slave = Slave::new(addr, cfg).unwrap();
    slave.connect(Duration::from_secs(5)).unwrap();
    let conn = slave.connection_mut().unwrap();
    assert_eq!((conn.num_tx_queues(), conn.num_rx_queues()), (3, 3));
    for q in 0..3 {
        let f = frame(100 + q, q as u32);
        conn.send(q, &f).unwrap();
        let back = conn.recv_timeout(q, Duration::from_secs(5)).unwrap();
        assert_eq!(back, Some(f), "queue {q}");
        for other in (0..3).filter(|&o| o != q) {
            assert_eq!(conn.recv(other).unwrap(), None);
        }
    }
}
