//! A front end and a back end joined by a socket pair in one process.

#![allow(dead_code)]

use std::os::fd::RawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use vhost_user_net::{Frontend, Port, Served};

/// Whether `fd` becomes readable within `wait`.
pub fn readable(fd: RawFd, wait: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on the stack, its count passed.
    let n = unsafe { libc::poll(&mut p, 1, wait.as_millis() as i32) };
    n > 0
}

/// Serves `port` until `done` says the other side has finished (or it leaves).
pub fn serve_while(port: &mut Port, mut done: impl FnMut() -> bool) -> Vec<Served> {
    let mut seen = Vec::new();
    while !done() {
        let Some(fd) = port.poll_fd() else { break };
        if readable(fd, Duration::from_millis(5)) {
            let s = port.serve();
            let end = s != Served::Ok;
            seen.push(s);
            if end {
                break;
            }
        }
    }
    seen
}

/// A started front end and the back end port serving it.
pub fn pair(queue_size: u16) -> (Frontend, Port) {
    let (a, b) = UnixStream::pair().unwrap();
    let mut port = Port::from_stream(b);
    let t = std::thread::spawn(move || Frontend::start(a, queue_size));
    serve_while(&mut port, || t.is_finished());
    let fe = t.join().unwrap().expect("front end starts");
    // Whatever the front end sent last (enables) is read before traffic.
    while readable(port.poll_fd().unwrap(), Duration::from_millis(20)) {
        assert_eq!(port.serve(), Served::Ok);
    }
    (fe, port)
}
