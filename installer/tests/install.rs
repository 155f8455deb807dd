//! The DaemonSet's install step, run as its container runs it, against a temporary "host"
//! CNI bin directory: while it replaces the plugin again and again, a reader that opens
//! the installed path over and over never sees a partial or mixed file.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_usrsp-install");

/// A version of the "plugin": big enough that writing it takes many system calls.
fn version(tag: u8) -> Vec<u8> {
    let mut v = vec![tag; 8 << 20];
    v[0] = b'#';
    v
}

fn run_install(from: &Path, to: &Path) {
    let out = Command::new(BIN)
        .arg("--from")
        .arg(from)
        .arg("--to")
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_concurrent_reader_never_sees_a_partial_plugin() {
    let t = tempfile::tempdir().unwrap();
    let from = t.path().join("image/usrsp");
    let host_bin = t.path().join("host/opt/cni/bin");
    std::fs::create_dir_all(&from).unwrap();
    let (a, b) = (version(b'a'), version(b'b'));
    std::fs::write(from.join("userspace"), &a).unwrap();
    run_install(&from, &host_bin);

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, target) = (stop.clone(), host_bin.join("userspace"));
        let (a, b) = (a.clone(), b.clone());
        std::thread::spawn(move || {
            let (mut reads, mut bad) = (0u32, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let got = std::fs::read(&target).expect("the plugin is always there");
                reads += 1;
                if got != a && got != b {
                    bad.push(got.len());
                }
            }
            (reads, bad)
        })
    };
    let start = Instant::now();
    for i in 0..16 {
        let v = if i % 2 == 0 { &b } else { &a };
        std::fs::write(from.join("userspace"), v).unwrap();
        run_install(&from, &host_bin);
    }
    // Give the reader time for some reads even on a fast machine.
    while start.elapsed() < Duration::from_millis(200) {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::SeqCst);
    let (reads, bad) = reader.join().unwrap();
    assert!(reads > 0);
    assert!(
        bad.is_empty(),
        "{} partial reads of {reads}: first sizes {:?}",
        bad.len(),
        &bad[..bad.len().min(8)]
    );
    assert_eq!(std::fs::read(host_bin.join("userspace")).unwrap(), a);
    let names: Vec<_> = std::fs::read_dir(&host_bin)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["userspace"], "temporary files left");
}

#[test]
fn with_sleep_it_installs_then_waits_until_sigterm() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("userspace"), b"plugin").unwrap();
    let to = t.path().join("bin");
    let mut child = Command::new(BIN)
        .arg("--from")
        .arg(t.path())
        .arg("--to")
        .arg(&to)
        .arg("--sleep")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !to.join("userspace").exists() {
        assert!(Instant::now() < deadline, "not installed");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited instead of waiting"
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
