//! The ovs-dpdk engine, one suite on two servers: mock-ovsdb, and a real ovsdb-server
//! with the DPDK ovs-vswitchd (Debian openvswitch-switch-dpdk) started by ci/start-ovs.sh.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use engines::ovs::{OvsEngine, OvsRecord};
use engines::{Attachment, BridgeSpec, Engine, HostSide, InterfaceSpec, Network, VhostMode};
use rstest::rstest;

/// Userspace-datapath ovs-vswitchds in one network namespace clash (each makes a tap
/// per bridge): real instances run one at a time.
static REAL_OVS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A database socket to test against, and what stops it.
enum Ovs {
    Mock {
        _server: mock_ovsdb::Server,
    },
    Real {
        _ovs: mock_ovsdb::real::RealOvs,
        _serial: std::sync::MutexGuard<'static, ()>,
    },
}

impl Ovs {
    fn start(kind: &str, dir: &Path) -> (Ovs, PathBuf) {
        match kind {
            "mock" => {
                let sock = dir.join("db.sock");
                let s = mock_ovsdb::serve(&sock, mock_ovsdb::schema::Schema::open_vswitch(), dir)
                    .unwrap();
                (Ovs::Mock { _server: s }, sock)
            }
            _ => {
                let guard = REAL_OVS.lock().unwrap_or_else(|e| e.into_inner());
                let ovs = mock_ovsdb::real::RealOvs::start(dir).unwrap_or_else(|e| panic!("{e}"));
                let sock = ovs.socket();
                (
                    Ovs::Real {
                        _ovs: ovs,
                        _serial: guard,
                    },
                    sock,
                )
            }
        }
    }

    fn vsctl(sock: &Path, args: &[&str]) -> String {
        let out = Command::new("ovs-vsctl")
            .arg(format!("--db=unix:{}", sock.display()))
            .arg("--timeout=20")
            .args(args)
            .output()
            .expect("ovs-vsctl (Debian openvswitch-switch; run ci/install-deps.sh)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// A temporary directory holding a shared directory and an OVS (mock or real).
struct Bed {
    db: PathBuf,
    shared: PathBuf,
    /// Stopped before the directory goes.
    _ovs: Ovs,
    _dir: tempfile::TempDir,
}

impl Bed {
    fn start(kind: &str) -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let (ovs, db) = Ovs::start(kind, &dir.path().join("ovs"));
        Bed {
            db,
            shared,
            _ovs: ovs,
            _dir: dir,
        }
    }
}

fn side(db: &Path, shared: &Path, mode: VhostMode, bridge: &str, vlan: Option<u16>) -> HostSide {
    HostSide {
        api_socket: Some(db.to_path_buf()),
        interface: InterfaceSpec::VhostUser {
            mode,
            socket_path: shared.join("0123456789ab-net1"),
            group: None,
        },
        network: Network::Bridge(BridgeSpec {
            name: bridge.into(),
            vlan,
        }),
    }
}

fn who() -> Attachment {
    Attachment {
        container_id: "0123456789abcdef".into(),
        if_name: "net1".into(),
    }
}

#[rstest]
fn add_check_del(
    #[values("mock", "real")] kind: &str,
    #[values(VhostMode::Server, VhostMode::Client)] mode: VhostMode,
) {
    let bed = Bed::start(kind);
    let (db, shared) = (&bed.db, &bed.shared);
    let engine = OvsEngine::new(Duration::from_secs(20));
    let s = side(db, shared, mode, "br-usr", Some(100));
    let rec = engine.add(&s, &who()).unwrap();
    let data: OvsRecord = serde_json::from_value(rec.data.clone()).unwrap();
    assert_eq!(data.port, "0123456789ab-net1");
    assert!(data.bridge_created);
    if mode == VhostMode::Client {
        // ADD returned once ovs-vswitchd had applied the change: the port has a number.
        let ofport = Ovs::vsctl(db, &["get", "Interface", "0123456789ab-net1", "ofport"]);
        assert!(ofport.parse::<i64>().unwrap() > 0, "ofport {ofport}");
    }
    // DEL removes exactly this port.
    assert_eq!(
        data.port_uuid.as_deref(),
        Some(Ovs::vsctl(db, &["get", "Port", "0123456789ab-net1", "_uuid"]).as_str())
    );
    assert_eq!(
        Ovs::vsctl(db, &["list-ports", "br-usr"]),
        "0123456789ab-net1"
    );
    assert_eq!(
        Ovs::vsctl(db, &["get", "Port", "0123456789ab-net1", "tag"]),
        "100"
    );
    assert_eq!(
        Ovs::vsctl(db, &["get", "Bridge", "br-usr", "datapath_type"]),
        "netdev"
    );
    let ids = Ovs::vsctl(
        db,
        &["get", "Interface", "0123456789ab-net1", "external_ids"],
    );
    assert!(
        ids.contains("container-id=\"0123456789abcdef\"")
            || ids.contains("container-id=0123456789abcdef"),
        "{ids}"
    );
    let kind_col = Ovs::vsctl(db, &["get", "Interface", "0123456789ab-net1", "type"]);
    match mode {
        VhostMode::Server => {
            assert_eq!(kind_col, "dpdkvhostuser");
            assert!(
                shared.join("0123456789ab-net1").exists(),
                "OVS's socket is in the shared dir"
            );
        }
        VhostMode::Client => {
            assert_eq!(kind_col, "dpdkvhostuserclient");
            let opts = Ovs::vsctl(
                db,
                &[
                    "get",
                    "Interface",
                    "0123456789ab-net1",
                    "options:vhost-server-path",
                ],
            );
            assert!(opts.contains("shared/0123456789ab-net1"), "{opts}");
        }
    }
    engine.check(&s, &who(), &rec).unwrap();
    // A second ADD of the same port is refused and changes nothing.
    assert!(engine.add(&s, &who()).is_err());
    assert_eq!(
        Ovs::vsctl(db, &["list-ports", "br-usr"]),
        "0123456789ab-net1"
    );

    engine.del(&s, &who(), Some(&rec)).unwrap();
    engine.del(&s, &who(), Some(&rec)).unwrap();
    assert_eq!(
        Ovs::vsctl(db, &["list-br"]),
        "",
        "the bridge the engine created is gone"
    );
    assert!(!shared.join("0123456789ab-net1").exists());
    assert!(
        engine.check(&s, &who(), &rec).is_err(),
        "CHECK notices the port is gone"
    );
}

/// DEL removes the port its ADD made, not one of the same name that replaced it.
#[rstest]
fn a_port_that_replaced_ours_is_kept(#[values("mock", "real")] kind: &str) {
    let bed = Bed::start(kind);
    let (db, shared) = (&bed.db, &bed.shared);
    let engine = OvsEngine::new(Duration::from_secs(20));
    let s = side(db, shared, VhostMode::Client, "br-usr", None);
    let rec = engine.add(&s, &who()).unwrap();
    Ovs::vsctl(db, &["del-port", "br-usr", "0123456789ab-net1"]);
    Ovs::vsctl(
        db,
        &[
            "add-port",
            "br-usr",
            "0123456789ab-net1",
            "--",
            "set",
            "Interface",
            "0123456789ab-net1",
            "type=dpdkvhostuserclient",
        ],
    );
    engine.del(&s, &who(), Some(&rec)).unwrap();
    assert_eq!(
        Ovs::vsctl(db, &["list-ports", "br-usr"]),
        "0123456789ab-net1",
        "someone else's port stays, and so does the bridge it is on"
    );
    // Without a record (an ADD cut short), DEL goes by name, but removes only a port
    // marked as this attachment's: this one is not.
    engine.del(&s, &who(), None).unwrap();
    assert_eq!(
        Ovs::vsctl(db, &["list-ports", "br-usr"]),
        "0123456789ab-net1"
    );
    // One that is (an ADD cut short before its record was saved) goes.
    Ovs::vsctl(db, &["del-port", "br-usr", "0123456789ab-net1"]);
    engine.begin_add(&s, &who()).unwrap();
    engine.del(&s, &who(), None).unwrap();
    assert_eq!(Ovs::vsctl(db, &["list-br"]), "");
}

/// OVS makes a server's socket in its run directory; when the shared directory is on
/// another filesystem the socket cannot be linked there: ADD says so and undoes itself.
#[test]
fn a_shared_dir_on_another_filesystem_is_explained() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::Builder::new()
        .prefix("ovx")
        .tempdir_in("/tmp")
        .unwrap();
    let other = tempfile::Builder::new()
        .prefix("ovx")
        .tempdir_in("/dev/shm")
        .unwrap();
    assert_ne!(
        std::fs::metadata(dir.path()).unwrap().dev(),
        std::fs::metadata(other.path()).unwrap().dev(),
        "/tmp and /dev/shm are expected to be different filesystems"
    );
    let (_ovs, db) = Ovs::start("mock", &dir.path().join("ovs"));
    let engine = OvsEngine::new(Duration::from_secs(20));
    let s = side(&db, other.path(), VhostMode::Server, "br-usr", None);
    let err = engine.add(&s, &who()).unwrap_err().to_string();
    assert!(
        err.contains("another filesystem") && err.contains("client"),
        "{err}"
    );
    assert_eq!(Ovs::vsctl(&db, &["list-br"]), "", "ADD undid itself");
}

#[rstest]
fn a_users_bridge_is_kept(#[values("mock", "real")] kind: &str) {
    let bed = Bed::start(kind);
    let (db, shared) = (&bed.db, &bed.shared);
    Ovs::vsctl(
        db,
        &[
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
        ],
    );
    let engine = OvsEngine::new(Duration::from_secs(20));
    let s = side(db, shared, VhostMode::Client, "br0", None);
    let rec = engine.add(&s, &who()).unwrap();
    let data: OvsRecord = serde_json::from_value(rec.data.clone()).unwrap();
    assert!(!data.bridge_created);
    engine.del(&s, &who(), Some(&rec)).unwrap();
    assert_eq!(Ovs::vsctl(db, &["list-br"]), "br0");
    assert_eq!(Ovs::vsctl(db, &["list-ports", "br0"]), "");
    engine.status(Some(db)).unwrap();
}

#[test]
fn an_unreachable_database_is_unavailable() {
    let engine = OvsEngine::new(Duration::from_millis(200));
    let err = engine
        .status(Some(Path::new("/nonexistent/db.sock")))
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}

/// `begin_add` returns with the record already final: an ADD its caller abandons before
/// the wait (its other half failed) is removed by DEL with that record, socket included.
#[rstest]
fn an_abandoned_begin_add_is_removed_by_its_record(#[values("mock", "real")] kind: &str) {
    let bed = Bed::start(kind);
    let (db, shared) = (&bed.db, &bed.shared);
    let engine = OvsEngine::new(Duration::from_secs(20));
    let s = side(db, shared, VhostMode::Server, "br-usr", None);
    let record = engine.begin_add(&s, &who()).unwrap().record;
    let data: OvsRecord = serde_json::from_value(record.data.clone()).unwrap();
    assert_eq!(
        data.port_uuid.as_deref(),
        Some(Ovs::vsctl(db, &["get", "Port", "0123456789ab-net1", "_uuid"]).as_str())
    );
    engine.del(&s, &who(), Some(&record)).unwrap();
    assert_eq!(Ovs::vsctl(db, &["list-br"]), "");
    assert!(!shared.join("0123456789ab-net1").exists());
}

/// CHECK right after ADD: with `dpdkvhostuser`, ADD returns once the socket exists, before
/// ovs-vswitchd has given the port a number. CHECK waits for it (bounded) instead of
/// calling the healthy port broken.
#[rstest]
fn check_right_after_add_passes(#[values("mock", "real")] kind: &str) {
    let bed = Bed::start(kind);
    let (db, shared) = (&bed.db, &bed.shared);
    for round in 0..5 {
        let engine = OvsEngine::new(Duration::from_secs(20));
        let s = side(db, shared, VhostMode::Server, "br-usr", None);
        let rec = engine.add(&s, &who()).unwrap();
        let checked = engine.check(&s, &who(), &rec);
        engine.del(&s, &who(), Some(&rec)).unwrap();
        checked.unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
}
