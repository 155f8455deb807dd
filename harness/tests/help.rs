//! `harness` and its subcommands explain themselves; `--version` prints the workspace
//! version.

use std::process::Command;

use rstest::rstest;

fn harness(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[rstest]
#[case(&["--help"], &["up", "down", "status", "run", "list", "demo", "bench", "images", "--version", "Docker engine", "root"])]
#[case(&["up", "--help"], &["SCENARIO", "--backend", "vppDemo_1", "Docker engine"])]
#[case(&["down", "--help"], &["SCENARIO", "crash"])]
#[case(&["status", "--help"], &["harness up"])]
#[case(&["run", "--help"], &["--backend", "--keep", "--json"])]
#[case(&["bench", "--help"], &["--quick", "--json", "--ovs-only"])]
#[case(&["demo", "--help"], &["--plugin-only", "root"])]
fn help_mentions_the_options(#[case] args: &[&str], #[case] mentions: &[&str]) {
    let (ok, text) = harness(args);
    assert!(ok, "{args:?}");
    for m in mentions {
        assert!(text.contains(m), "harness {args:?} lacks {m}:\n{text}");
    }
}

#[test]
fn version_is_the_workspace_version() {
    let (ok, text) = harness(&["--version"]);
    assert!(ok);
    assert_eq!(text, format!("harness {}\n", env!("CARGO_PKG_VERSION")));
}

/// Run outside cargo, where it can neither find nor build a binary it needs, the harness
/// says the exact command, before any step.
#[test]
fn a_missing_binary_names_the_command_to_build_it() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "vpp-memif-ping", "--backend", "netns"])
        .env_remove("CARGO")
        .env("USERSPACE_BIN_DIR", empty.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("build it with `cargo build -p userspace-cni --bin userspace -p mock-vpp --bin mock-vpp"),
        "{err}"
    );
    assert!(!err.contains("scenario vpp-memif-ping on"), "{err}");
}
