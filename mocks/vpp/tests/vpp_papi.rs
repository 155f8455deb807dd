//! Wire compatibility with VPP's official Python client: `vpp_papi` (PyPI `vpp-papi`)
//! loads the carried `.api.json` files and drives the mock-vpp binary through every
//! message the plugin uses (tests/papi_check.py).

use std::path::Path;
use std::process::Command;

#[test]
fn vpp_papi_drives_mock_vpp() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import vpp_papi"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "vpp_papi is not installed: run ci/install-deps.sh (pip install vpp-papi)\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let mut mock = Command::new(env!("CARGO_BIN_EXE_mock-vpp"))
        .arg("--api-socket")
        .arg(&socket)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "mock-vpp did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(here.join("tests/papi_check.py"))
        .arg(&socket)
        .arg(here.join("../../engines/vpp-api/api"))
        .arg(dir.path())
        .output()
        .unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(mock.id() as i32, libc::SIGTERM) };
    let status = mock.wait().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "papi_check failed:\n{text}");
    assert!(text.contains("checks passed"), "{text}");
    assert!(status.success(), "mock-vpp exited with {status}");
    assert!(!socket.exists(), "mock-vpp removes its socket on SIGTERM");
}
