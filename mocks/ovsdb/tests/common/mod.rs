//! Servers to test against: mock-ovsdb in this process, and the real ovsdb-server (with
//! or without ovs-vswitchd) that ci/start-ovs.sh runs in a private directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory with a short path (unix socket paths are limited to 107 bytes).
pub fn short_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ovt")
        .tempdir_in("/tmp")
        .unwrap()
}

pub fn mock(dir: &Path) -> mock_ovsdb::Server {
    mock_ovsdb::serve(
        &dir.join("db.sock"),
        mock_ovsdb::schema::Schema::open_vswitch(),
        dir,
    )
    .unwrap()
}

/// mock-ovsdb without the emulated ovs-vswitchd: a plain database server.
pub fn mock_db_only(dir: &Path) -> mock_ovsdb::Server {
    let opts = mock_ovsdb::Options {
        vswitchd: false,
        ..mock_ovsdb::Options::new(mock_ovsdb::schema::Schema::open_vswitch(), dir)
    };
    mock_ovsdb::serve_with(&dir.join("db.sock"), opts).unwrap()
}

/// The real daemons in a directory; stopped on drop.
pub struct RealOvs(mock_ovsdb::real::RealOvs);

impl RealOvs {
    /// Starts ovsdb-server (and, unless `db_only`, ovs-vswitchd in a network namespace of
    /// its own, so that instances do not clash).
    pub fn start(dir: &Path, db_only: bool) -> RealOvs {
        let ovs = if db_only {
            mock_ovsdb::real::RealOvs::db_only(dir)
        } else {
            mock_ovsdb::real::RealOvs::start(dir)
        };
        RealOvs(ovs.unwrap_or_else(|e| panic!("{e}")))
    }

    pub fn socket(&self) -> PathBuf {
        self.0.socket()
    }
}

/// Fails (never skips) when ovs-vsctl is missing.
pub fn require_ovs_vsctl() {
    let found = Command::new("sh")
        .args(["-c", "command -v ovs-vsctl"])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "ovs-vsctl not found: run ci/install-deps.sh (Debian openvswitch-switch)"
    );
}

/// Runs ovs-vsctl against `db`: (success, stdout, stderr).
pub fn vsctl(db: &Path, args: &[&str]) -> (bool, String, String) {
    require_ovs_vsctl();
    let out = Command::new("ovs-vsctl")
        .arg(format!("--db=unix:{}", db.display()))
        .arg("--timeout=20")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replaces UUIDs in text by `<uuid>`.
pub fn hide_uuids(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if i + 36 <= b.len()
            && text.is_char_boundary(i + 36)
            && ovsdb::datum::is_uuid(&text[i..i + 36])
        {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}
