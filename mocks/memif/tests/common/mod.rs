//! Shared fixtures: a socket in a temp dir, an echoing master in a thread, and a driver for
//! running master and slave in one thread.

#![allow(dead_code)] // each test file uses a different subset

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memif::{Error, Event, MasterConfig, MasterSocket, Slave, SocketAddr};

pub fn socket_in(dir: &tempfile::TempDir) -> SocketAddr {
    SocketAddr::Path(dir.path().join("memif.sock"))
}

/// A frame whose bytes depend on its length and a seed, so mix-ups are visible.
pub fn frame(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) as u8)
        .collect()
}

/// A master in its own thread that sends every received frame back on the same queue index.
pub struct EchoMaster {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<Event>>>,
}

impl EchoMaster {
    pub fn start(addr: &SocketAddr, configs: Vec<MasterConfig>) -> EchoMaster {
        let mut sock = MasterSocket::bind(addr, "echo-master").unwrap();
        for c in configs {
            sock.add_interface(c).unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut events = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                events.extend(sock.wait(Some(Duration::from_millis(5))).unwrap());
                for m in sock.interfaces_mut() {
                    if let Some(c) = m.connection_mut() {
                        echo(c);
                    }
                }
            }
            // What the peer sent before the stop (e.g. its DISCONNECT) is already queued.
            events.extend(sock.process());
            events
        });
        EchoMaster {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the thread, closing the socket and every connection; returns the events seen.
    pub fn stop(mut self) -> Vec<Event> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

impl Drop for EchoMaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn echo(c: &mut memif::Connection) {
    for q in 0..c.num_rx_queues() {
        while let Ok(Some(f)) = c.recv(q) {
            let tx = q % c.num_tx_queues();
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match c.send(tx, &f) {
                    Err(Error::RingFull) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_micros(50))
                    }
                    _ => break,
                }
            }
        }
    }
}

/// Runs both state machines in this thread until the slave reports an event.
pub fn drive(sock: &mut MasterSocket, slave: &mut Slave) -> (Vec<Event>, Event) {
    let mut master_events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        master_events.extend(sock.process());
        if let Some(e) = slave.process().into_iter().next() {
            master_events.extend(sock.process());
            return (master_events, e);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("no slave event within 5 s; master saw {master_events:?}");
}

/// Sends, retrying while the ring is full.
pub fn send_retrying(slave: &mut Slave, f: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match slave.send(f) {
            Err(Error::RingFull) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_micros(50))
            }
            other => return other.unwrap(),
        }
    }
}

/// Waits for one frame on the slave's queue 0.
pub fn recv_wait(slave: &mut Slave) -> Vec<u8> {
    slave
        .connection_mut()
        .expect("connected")
        .recv_timeout(0, Duration::from_secs(5))
        .unwrap()
        .expect("a frame within 5 s")
}
