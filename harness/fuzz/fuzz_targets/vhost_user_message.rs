//! Any bytes (and a few descriptors) as vhost-user requests to the back end: it answers,
//! refuses or drops the connection, never panics, and never maps what it cannot read.
//! The first byte picks the descriptors sent with the bytes: bits 0-1 how many, bit 2
//! eventfds instead of memfds, bits 3-7 the memfds' size in pages.
#![no_main]

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use libfuzzer_sys::fuzz_target;
use vhost_user_net::{Port, Served};
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

fn descriptor(spec: u8) -> OwnedFd {
    // SAFETY: plain system calls creating new descriptors, checked before use.
    let fd = unsafe {
        if spec & 4 != 0 {
            libc::eventfd(0, libc::EFD_NONBLOCK)
        } else {
            let fd = libc::memfd_create(c"fuzz".as_ptr(), 0);
            if fd >= 0 {
                libc::ftruncate(fd, i64::from(spec >> 3) * 4096);
            }
            fd
        }
    };
    assert!(fd >= 0, "descriptor");
    // SAFETY: a fresh descriptor owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fuzz_target!(|data: &[u8]| {
    let Some((&spec, bytes)) = data.split_first() else {
        return;
    };
    let (mut a, b) = UnixStream::pair().expect("socketpair");
    // Inputs are short (libFuzzer's max_len): they fit the socket buffer.
    a.set_nonblocking(true).expect("nonblocking");
    let fds: Vec<OwnedFd> = (0..spec & 3).map(|_| descriptor(spec)).collect();
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let split = bytes.len().min(12);
    if a.send_with_fds(&[&bytes[..split]][..], &raw).is_err() {
        return;
    }
    let _ = a.write_all(&bytes[split..]);
    // All said: a message cut short ends in end-of-file, not a wait.
    drop(a);
    let mut port = Port::from_stream(b);
    for _ in 0..4096 {
        if port.serve() != Served::Ok {
            break;
        }
    }
    let d = port.device().lock().expect("device");
    let _ = d.ready();
});
