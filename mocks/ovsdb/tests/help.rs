//! `mock-ovsdb --help` names its main options; `--version` prints the workspace version.

use std::process::Command;

#[test]
fn help_and_version() {
    let bin = env!("CARGO_BIN_EXE_mock-ovsdb");
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for o in [
        "--socket",
        "--schema",
        "--db-file",
        "--run-dir",
        "--no-vswitchd",
        "--fault",
    ] {
        assert!(text.contains(o), "--help lacks {o}:\n{text}");
    }
    let version = Command::new(bin).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("mock-ovsdb {}\n", env!("CARGO_PKG_VERSION"))
    );
}
