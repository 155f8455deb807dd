//! `ci/leak-check.sh` judges only what its own test run started (marked by
//! `USRSP_TEST_RUN` in the environment), and prints a one-line verdict either way.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use harness::bins;

fn leak_check(run: &str) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/leak-check.sh");
    let out = Command::new(script)
        .env("USRSP_TEST_RUN", run)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A mock-vpp started with `run` as its run mark.
fn mock_vpp(dir: &Path, run: &str) -> Child {
    let bin = bins::binary("mock-vpp", "mock-vpp").unwrap();
    Command::new(bin)
        .arg("--api-socket")
        .arg(dir.join(format!("{run}.sock")))
        .env("USRSP_TEST_RUN", run)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn only_this_runs_processes_are_judged() {
    let dir = tempfile::tempdir().unwrap();
    let ours = format!("leak-test-ours-{}", std::process::id());
    let theirs = format!("leak-test-theirs-{}", std::process::id());
    let mut foreign = mock_vpp(dir.path(), &theirs);
    let (ok, text) = leak_check(&ours);
    let foreign_pid = foreign.id().to_string();
    let names = |text: &str, pid: &str| text.split(|c: char| !c.is_ascii_digit()).any(|w| w == pid);
    assert!(
        !names(&text, &foreign_pid),
        "someone else's mock-vpp is not this run's: {text}"
    );
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    // (Other tests of this run may have left directories meanwhile; the verdict may then
    // be a failure, but never about the foreign process.)
    let _ = ok;
    let mut own = mock_vpp(dir.path(), &ours);
    let (ok, text) = leak_check(&ours);
    assert!(!ok, "this run's mock-vpp is a leak: {text}");
    assert!(
        text.contains(&format!("process mock-vpp ({})", own.id())),
        "{text}"
    );
    assert!(!names(&text, &foreign_pid), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    for c in [&mut own, &mut foreign] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
