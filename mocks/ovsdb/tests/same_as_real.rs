//! The same ovs-vsctl session against mock-ovsdb and against the real ovsdb-server +
//! ovs-vswitchd (DPDK build, started by ci/start-ovs.sh): the printed results must match
//! (UUIDs aside).

use std::path::Path;
use std::process::Command;

fn vsctl(db: &Path, args: &[&str]) -> String {
    let out = Command::new("ovs-vsctl")
        .arg(format!("--db=unix:{}", db.display()))
        .arg("--timeout=20")
        .args(args)
        .output()
        .expect("ovs-vsctl: run ci/install-deps.sh (Debian openvswitch-switch)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // UUIDs differ between servers; everything else must not.
    let mut norm = String::new();
    for word in text.split_inclusive(|c: char| !c.is_ascii_hexdigit() && c != '-') {
        let w = word.trim_end_matches(|c: char| !c.is_ascii_hexdigit() && c != '-');
        if w.len() == 36 && w.matches('-').count() == 4 {
            norm.push_str("<uuid>");
            norm.push_str(&word[w.len()..]);
        } else {
            norm.push_str(word);
        }
    }
    norm
}

fn session(db: &Path, dir: &Path) -> Vec<String> {
    let client_sock = dir.join("vhc0.sock").display().to_string();
    let opt = format!("options:vhost-server-path={client_sock}");
    let steps: Vec<Vec<&str>> = vec![
        vec![
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
        ],
        vec![
            "add-port",
            "br0",
            "vhu0",
            "--",
            "set",
            "Interface",
            "vhu0",
            "type=dpdkvhostuser",
        ],
        vec![
            "add-port",
            "br0",
            "vhc0",
            "tag=100",
            "--",
            "set",
            "Interface",
            "vhc0",
            "type=dpdkvhostuserclient",
            &opt,
        ],
        vec!["list-br"],
        vec!["list-ports", "br0"],
        vec!["show"],
        vec![
            "--columns=name,type,options,error,ofport",
            "list",
            "Interface",
        ],
        vec!["--bare", "--columns=name", "find", "bridge", "name=br0"],
        vec!["get", "Port", "vhc0", "tag"],
        vec!["--if-exists", "del-port", "br0", "vhu0"],
        vec!["list-ports", "br0"],
        vec!["del-br", "br0"],
        vec!["list-br"],
    ];
    steps
        .iter()
        .map(|args| {
            let out = vsctl(db, args);
            // `show` and `list` order rows by uuid: compare them as sorted lines.
            if args.contains(&"show") || args.contains(&"list") {
                let mut lines: Vec<&str> = out.lines().collect();
                lines.sort();
                format!("{args:?}\n{}", lines.join("\n"))
            } else {
                format!("{args:?}\n{out}")
            }
        })
        .collect()
}

#[test]
fn ovs_vsctl_prints_the_same_against_mock_and_real() {
    let mock_dir = tempfile::Builder::new()
        .prefix("ovs")
        .tempdir_in("/tmp")
        .unwrap();
    let real_dir = tempfile::Builder::new()
        .prefix("ovs")
        .tempdir_in("/tmp")
        .unwrap();
    // Same paths in both runs, so that option values print the same.
    let work = tempfile::Builder::new()
        .prefix("vh")
        .tempdir_in("/tmp")
        .unwrap();
    let mock_db = mock_dir.path().join("db.sock");
    let mock = mock_ovsdb::serve(
        &mock_db,
        mock_ovsdb::schema::Schema::open_vswitch(),
        mock_dir.path(),
    )
    .unwrap();
    let from_mock = session(&mock_db, work.path());
    drop(mock);

    let real = mock_ovsdb::real::RealOvs::start(real_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let from_real = session(&real.socket(), work.path());
    drop(real);

    for (m, r) in from_mock.iter().zip(&from_real) {
        assert_eq!(m, r, "mock and real ovs-vsctl output differ");
    }
}
