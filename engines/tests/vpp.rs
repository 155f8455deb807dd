//! The vpp engine against mock-vpp (in-process, one per test): ADD, CHECK, DEL, a DEL that
//! finds what a crashed ADD left, collisions, and failed ADDs that undo themselves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use engines::vpp::{VppEngine, VppRecord};
use engines::{
    Attachment, BridgeSpec, Engine, HostSide, InterfaceSpec, MemifMode, MemifRole, Network,
    VhostMode,
};
use mock_vpp::faults::{Fault, Faults};
use rstest::rstest;

/// A temporary directory holding mock-vpp's API socket and a shared directory.
struct Bed {
    server: mock_vpp::Server,
    shared: PathBuf,
    _dir: tempfile::TempDir,
}

/// What ADD may change on the vswitch: interfaces, memif socket registrations, bridge
/// domains (ids only).
type Objects = (Vec<u32>, Vec<u32>, Vec<u32>);

impl Bed {
    fn start(faults: &[&str]) -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let rules: Vec<Fault> = faults.iter().map(|f| f.parse().unwrap()).collect();
        let server =
            mock_vpp::serve_with_faults(&dir.path().join("api.sock"), Faults::new(rules)).unwrap();
        Bed {
            server,
            shared,
            _dir: dir,
        }
    }

    fn api(&self) -> &Path {
        self.server.path()
    }

    fn objects(&self) -> Objects {
        let vpp = self.server.vpp();
        let v = vpp.lock().unwrap();
        (
            v.interfaces.keys().copied().collect(),
            v.memif_sockets.keys().copied().collect(),
            v.bridges.keys().copied().collect(),
        )
    }

    fn side(&self, interface: &str, bridge: Option<&str>) -> HostSide {
        let socket_path = self
            .shared
            .join(format!("{interface}-0123456789ab-net1.sock"));
        HostSide {
            api_socket: Some(self.api().to_path_buf()),
            interface: match interface {
                "master" | "slave" => InterfaceSpec::Memif {
                    role: if interface == "master" {
                        MemifRole::Master
                    } else {
                        MemifRole::Slave
                    },
                    mode: MemifMode::Ethernet,
                    socket_path,
                },
                _ => InterfaceSpec::VhostUser {
                    mode: VhostMode::Server,
                    socket_path,
                    group: None,
                },
            },
            network: match bridge {
                Some(b) => Network::Bridge(BridgeSpec {
                    name: b.into(),
                    vlan: None,
                }),
                None => Network::Interface,
            },
        }
    }
}

fn who(container_id: &str) -> Attachment {
    Attachment {
        container_id: container_id.into(),
        if_name: "net1".into(),
    }
}

fn engine() -> VppEngine {
    VppEngine::new(Duration::from_secs(10))
}

#[rstest]
fn add_check_del(
    #[values("master", "slave", "vhost")] interface: &str,
    #[values(Some("4"), None)] bridge: Option<&str>,
) {
    let bed = Bed::start(&[]);
    let before = bed.objects();
    let side = bed.side(interface, bridge);
    let rec = engine().add(&side, &who("0123456789abcdef")).unwrap();
    let data: VppRecord = serde_json::from_value(rec.data.clone()).unwrap();
    let (ifs, _, bds) = bed.objects();
    assert!(ifs.contains(&data.sw_if_index), "{ifs:?}");
    {
        let vpp = bed.server.vpp();
        let v = vpp.lock().unwrap();
        let i = &v.interfaces[&data.sw_if_index];
        assert!(i.admin_up, "ADD brings the interface up");
        assert_eq!(
            i.bridge.map(|(bd, _)| bd),
            bridge.map(|b| b.parse().unwrap())
        );
    }
    if bridge.is_some() {
        assert!(bds.contains(&4));
        assert_eq!(data.bridge_domain, Some(4));
    }
    engine()
        .check(&side, &who("0123456789abcdef"), &rec)
        .unwrap();
    engine()
        .del(&side, &who("0123456789abcdef"), Some(&rec))
        .unwrap();
    assert_eq!(bed.objects(), before, "DEL removes all ADD made");
    // CHECK after DEL sees the interface gone; a second DEL has nothing to do.
    assert!(engine()
        .check(&side, &who("0123456789abcdef"), &rec)
        .is_err());
    engine()
        .del(&side, &who("0123456789abcdef"), Some(&rec))
        .unwrap();
    assert_eq!(bed.objects(), before);
}

/// A DEL without the ADD's record (ADD crashed before saving it) finds the interface by
/// its socket path and this attachment's MAC.
#[rstest]
fn del_without_record_finds_leftovers(#[values("master", "slave", "vhost")] interface: &str) {
    let bed = Bed::start(&[]);
    let before = bed.objects();
    let side = bed.side(interface, Some("7"));
    engine().add(&side, &who("0123456789abcdef")).unwrap();
    assert_ne!(bed.objects(), before);
    engine().del(&side, &who("0123456789abcdef"), None).unwrap();
    assert_eq!(bed.objects(), before);
}

/// A second ADD on a socket already in use is refused and changes nothing; DEL of the
/// refused attachment leaves the first one's interface alone. (A memif slave is left out:
/// VPP registers the same file name again for a second slave socket, and the engine
/// accepts it.)
#[rstest]
fn collision_is_refused_and_changes_nothing(#[values("master", "vhost")] interface: &str) {
    let bed = Bed::start(&[]);
    let side = bed.side(interface, Some("4"));
    let first = engine().add(&side, &who("0123456789abcdef")).unwrap();
    let after_first = bed.objects();
    assert!(engine().add(&side, &who("0123456789abXXXX")).is_err());
    assert_eq!(bed.objects(), after_first);
    engine().del(&side, &who("0123456789abXXXX"), None).unwrap();
    assert_eq!(
        bed.objects(),
        after_first,
        "another attachment's DEL took ours"
    );
    engine()
        .check(&side, &who("0123456789abcdef"), &first)
        .unwrap();
}

/// An ADD that fails at any step undoes what it did: the vswitch is as before and the
/// socket file is gone.
#[rstest]
fn failed_add_is_undone(
    #[values("master", "vhost")] interface: &str,
    #[values(
        "fail:memif_socket_filename_add_del_v2",
        "fail:memif_create_v2",
        "fail:create_vhost_user_if_v2",
        "fail:bridge_domain_add_del_v2",
        "fail:sw_interface_set_l2_bridge",
        "fail:sw_interface_set_flags"
    )]
    fault: &str,
) {
    let bed = Bed::start(&[fault]);
    let before = bed.objects();
    let side = bed.side(interface, Some("4"));
    let result = engine().add(&side, &who("0123456789abcdef"));
    let message = fault.trim_start_matches("fail:");
    let used = match interface {
        "vhost" => !message.starts_with("memif"),
        _ => message != "create_vhost_user_if_v2",
    };
    if used && result.is_ok() {
        panic!("ADD succeeded although {message} failed");
    }
    if result.is_err() {
        assert_eq!(
            bed.objects(),
            before,
            "{message}: the failed ADD left objects"
        );
        let socket = bed
            .shared
            .join(format!("{interface}-0123456789ab-net1.sock"));
        assert!(!socket.exists(), "{message}: socket file left");
    }
}

/// VPP gone: a clear error, nothing hangs.
#[test]
fn no_vpp_is_an_error() {
    let bed = Bed::start(&[]);
    let mut side = bed.side("master", None);
    side.api_socket = Some(bed.shared.join("nothing.sock"));
    assert!(engine().add(&side, &who("0123456789abcdef")).is_err());
}
