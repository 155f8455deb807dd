//! The plugin and the container side explain themselves: `--help` names the main
//! options, `--version` prints the workspace version, and `userspace` run by hand (no
//! CNI variable) says what it is, as the CNI reference plugins do — while a runtime's
//! `CNI_COMMAND=VERSION` still gets the CNI answer.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use rstest::rstest;

const USERSPACE: &str = env!("CARGO_BIN_EXE_userspace");
const USRSP_APP: &str = env!("CARGO_BIN_EXE_usrsp-app");

fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nothing on stdin: an answer must not wait for a netconf.
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[rstest]
#[case(USERSPACE, "userspace", &["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH", "--version", "0.3.0"])]
#[case(USRSP_APP, "usrsp-app", &["--shared-dir", "--ifname", "--api-socket", "--list", "--keep-data"])]
fn help_and_version(#[case] bin: &str, #[case] name: &str, #[case] options: &[&str]) {
    let help = run(bin, &["--help"], &[]);
    assert!(help.status.success());
    let help = text(&help.stdout);
    for o in options {
        assert!(help.contains(o), "{name} --help lacks {o}:\n{help}");
    }
    let version = run(bin, &["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        text(&version.stdout),
        format!("{name} {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn run_by_hand_it_says_what_it_is() {
    let out = run(USERSPACE, &[], &[]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let about = text(&out.stderr);
    assert!(
        about.starts_with(&format!(
            "CNI userspace plugin v{}\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{about}"
    );
}

#[test]
fn cni_version_still_answers_as_cni() {
    let mut child = Command::new(USERSPACE)
        .arg("--help")
        .env_clear()
        .env("CNI_COMMAND", "VERSION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"cniVersion":"1.0.0"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cniVersion"], "1.1.0");
    assert!(v["supportedVersions"].is_array());
}
