//! The binaries explain themselves: `--help` names the main options, `--version` prints
//! the workspace version.

use std::process::Command;

use rstest::rstest;

#[rstest]
#[case(env!("CARGO_BIN_EXE_mock-vpp"), "mock-vpp", &["--api-socket", "--cli-socket", "--fault", "--log-level"])]
#[case(env!("CARGO_BIN_EXE_vppctl"), "vppctl", &["-s", "VPP_CLI_SOCKET", "/run/vpp/cli.sock", "show interface"])]
fn help_and_version(#[case] bin: &str, #[case] name: &str, #[case] options: &[&str]) {
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for o in options {
        assert!(text.contains(o), "{name} --help lacks {o}:\n{text}");
    }
    let version = Command::new(bin).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("{name} {}\n", env!("CARGO_PKG_VERSION"))
    );
}
