//! The plugin under faults injected into mock-vpp (`--fault`): every vswitch request of
//! ADD refused, a reply that never comes, a connection dropped or the vswitch crashing
//! mid-ADD, and the plugin itself killed at each point of ADD and DEL. Afterwards the host
//! holds nothing: no vswitch objects, no files, no IPAM allocation.

use std::path::Path;
use std::time::Duration;

use harness::bins;
use harness::demo::leftovers;
use harness::plugin::{Outcome, PluginCall};
use harness::testbed;
use harness::vpp_state::VppState;
use rstest::rstest;
use serde_json::{json, Value};

/// The harness's test bed with this file's netconf and attachment.
struct Bed {
    bed: testbed::Bed,
    conf: Value,
    call: PluginCall,
}

impl std::ops::Deref for Bed {
    type Target = testbed::Bed;

    fn deref(&self) -> &testbed::Bed {
        &self.bed
    }
}

impl Bed {
    fn new(faults: &[&str], timeout_ms: u64) -> Bed {
        let bed = testbed::Bed::with_faults(faults).unwrap();
        let mut conf = bed.conf("1.0.0");
        conf["timeoutMs"] = json!(timeout_ms);
        let call = bed.call("0123456789abcdef", "net1");
        Bed { bed, conf, call }
    }

    fn run(&self, command: &str) -> Outcome {
        self.call.run(command, &self.conf).unwrap()
    }

    /// Runs the plugin and kills it (SIGKILL) after `after`; false when it had ended by
    /// itself before that.
    fn run_killed(&self, command: &str, after: Duration) -> bool {
        let start = std::time::Instant::now();
        testbed::run_killed(&self.call, command, &self.conf, || start.elapsed() >= after)
    }
}

/// Each vswitch request of ADD, refused by the vswitch: ADD fails naming the step, and
/// undoes everything before it.
#[rstest]
#[case::socket_file("memif_socket_filename_add_del_v2", "socket file")]
#[case::interface("memif_create_v2", "interface create")]
#[case::bridge("bridge_domain_add_del_v2", "bridge create")]
#[case::membership("sw_interface_set_l2_bridge", "bridge membership")]
#[case::admin_up("sw_interface_set_flags", "interface up")]
fn a_refused_step_is_undone(#[case] message: &str, #[case] step: &str) {
    let fault = format!("fail:{message}:1:-73");
    let bed = Bed::new(&[&fault], 5000);
    let out = bed.run("ADD");
    assert!(!out.success, "ADD should fail");
    assert_eq!(out.code(), Some(100), "{}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains(step) && msg.contains("Invalid argument"),
        "the error names the step: {msg}"
    );
    bed.assert_clean(message);
    // The same ADD works once the vswitch behaves, and DEL cleans it.
    assert!(bed.run("ADD").success);
    assert!(bed.run("DEL").success);
    bed.assert_clean("after DEL");
}

/// A reply that never comes, a dropped connection, a vswitch crash: ADD fails with
/// "try again later" within its timeout, and leaves nothing it could remove.
#[rstest]
#[case::stalled_reply("stall:bridge_domain_add_del_v2")]
#[case::dropped_connection("drop:sw_interface_set_l2_bridge")]
fn the_vswitch_misbehaving_mid_add(#[case] fault: &str) {
    let bed = Bed::new(&[fault], 400);
    let started = std::time::Instant::now();
    let out = bed.run("ADD");
    assert!(!out.success);
    assert_eq!(out.code(), Some(11), "{}", out.stdout);
    assert!(started.elapsed() < Duration::from_secs(10));
    bed.assert_clean(fault);
}

#[test]
fn the_vswitch_crashing_mid_add_leaves_a_record_that_del_finishes() {
    let bed = Bed::new(&["exit:sw_interface_set_l2_bridge"], 400);
    let out = bed.run("ADD");
    assert_eq!(out.code(), Some(11), "{}", out.stdout);
    // The vswitch is gone (its state with it); the plugin kept what DEL needs.
    let Bed { bed, conf, call } = bed;
    let bed = Bed {
        bed: bed.restart_vpp().unwrap(),
        conf,
        call,
    };
    assert!(bed.run("DEL").success);
    bed.assert_clean("DEL after the crash");
}

/// Requests ADD makes on an empty host: memif socket, memif, bridge (created, or found to
/// exist), membership, admin up.
const ADD_REQUESTS: u32 = 5;
/// Requests DEL makes with ADD's record: the socket table (dump and control_ping), the
/// interface (dump and control_ping), memif delete, socket delete, the bridge (dump and
/// control_ping), bridge delete.
const DEL_REQUESTS: u32 = 9;

/// Kills the plugin (SIGKILL) while it waits on its `nth` vswitch request of `at`, then
/// checks that the next DEL removes everything.
fn kill_at(nth: u32, at: &str) {
    assert!(
        nth <= if at == "ADD" {
            ADD_REQUESTS
        } else {
            DEL_REQUESTS
        }
    );
    let at_request = if at == "ADD" { nth } else { ADD_REQUESTS + nth };
    let fault = format!("stall:*:{at_request}");
    let bed = Bed::new(&[&fault], 3000);
    if at == "DEL" {
        let added = bed.run("ADD");
        assert!(
            added.success,
            "ADD made more than {ADD_REQUESTS} requests: {}",
            added.stdout
        );
    }
    let killed = bed.run_killed(at, Duration::from_millis(800));
    assert!(
        killed,
        "{at} made fewer than {nth} requests: update ADD_REQUESTS/DEL_REQUESTS"
    );
    let out = bed.run("DEL");
    assert!(
        out.success,
        "DEL after a kill at request {nth} of {at}: {}",
        out.stdout
    );
    bed.assert_clean(&format!("killed at request {nth} of {at}"));
}

/// The plugin killed at each vswitch request of ADD: the next DEL removes everything.
#[rstest]
fn killed_during_add(#[values(1, 2, 3, 4, 5)] nth: u32) {
    kill_at(nth, "ADD");
}

/// The plugin killed at each vswitch request of DEL: the next DEL finishes the job.
#[rstest]
fn killed_during_del(#[values(1, 2, 3, 4, 5, 6, 7, 8, 9)] nth: u32) {
    kill_at(nth, "DEL");
}

/// 64 ADDs at once on one bridge, then 64 DELs: all succeed, the bridge is made once and
/// removed by the last DEL, no record is lost or mixed.
#[test]
fn sixty_four_in_parallel() {
    let bed = std::sync::Arc::new(Bed::new(&[], 30_000));
    let ids: Vec<String> = (0..64).map(|n| format!("{n:012x}cafe")).collect();
    let each = |command: &'static str| {
        let hs: Vec<_> = ids
            .iter()
            .map(|id| {
                let (bed, id) = (bed.clone(), id.clone());
                std::thread::spawn(move || {
                    let mut call = bed.call.clone();
                    call.container_id = id;
                    call.run(command, &bed.conf).unwrap()
                })
            })
            .collect();
        for h in hs {
            let out = h.join().unwrap();
            assert!(out.success, "{command}: {} {}", out.stdout, out.stderr);
        }
    };
    each("ADD");
    let s = VppState::read(bed.mock.socket()).unwrap();
    assert_eq!(s.bridges.len(), 1);
    assert_eq!(s.bridge(4).unwrap().members.len(), 64);
    let records = std::fs::read_dir(&bed.dirs.data).unwrap().count();
    assert_eq!(records, 64 + 1, "one record per attachment, plus the lock");
    each("DEL");
    bed.assert_clean("64 parallel");
}

/// A symlink planted where the plugin writes (the configuration data) is replaced, never
/// followed.
#[test]
fn planted_symlinks_are_not_followed() {
    let bed = Bed::new(&[], 5000);
    let victim = bed.root.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let dir = bed.dirs.shared.join("0123456789ab");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("configData-0123456789ab-net1.json")).unwrap();
    assert!(bed.run("ADD").success);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(bed.run("DEL").success);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let _ = std::fs::remove_dir(&dir);
    let _ = Path::new("");
}

/// The plugin's own files cannot be written: ADD fails naming the step (I/O, code 5),
/// and everything before it — vswitch objects, the IPAM allocation — is undone.
#[rstest]
#[case::shared_directory("shared directory")]
#[case::configuration_data("configuration data")]
fn a_file_that_cannot_be_written(#[case] step: &str) {
    let bed = Bed::new(&[], 5000);
    let dir = bed.dirs.shared.join("0123456789ab");
    if step == "shared directory" {
        // Something that is not a directory where the pod's directory goes.
        std::fs::create_dir_all(&bed.dirs.shared).unwrap();
        std::fs::write(&dir, b"in the way").unwrap();
    } else {
        // A directory where the configuration data file goes.
        std::fs::create_dir_all(dir.join("configData-0123456789ab-net1.json/x")).unwrap();
    }
    let out = bed.run("ADD");
    assert_eq!(out.code(), Some(5), "{}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    // The shared directory's in the original's words (Go's MkdirAll on a file).
    let want = match step {
        "shared directory" => format!("mkdir {}: not a directory (", dir.display()),
        _ => step.to_string(),
    };
    assert!(msg.starts_with(&want), "the error names the step: {msg}");
    let s = VppState::read(bed.mock.socket()).unwrap();
    assert!(s.is_pristine(), "left on the vswitch: {s:?}");
    let left = leftovers(&[&bed.dirs.data, &bed.dirs.ipam]);
    assert!(left.is_empty(), "left: {left:?}");
}

/// ADD of an ovs-dpdk attachment (bridge `br-f`, `host` keys added) on `ovs`, with
/// everything under `root`.
fn ovs_add(ovs: &harness::ovs::OvsServer, root: &Path, host: Value, timeout_ms: u64) -> Outcome {
    let mut conf = json!({
        "cniVersion": "1.0.0", "type": "userspace", "name": "ovs-faults",
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                 "bridge": {"bridgeName": "br-f"}, "apiSocket": ovs.socket()},
        "sharedDir": root.join("s"), "dataDir": root.join("d"), "timeoutMs": timeout_ms
    });
    if let Value::Object(extra) = host {
        conf["host"].as_object_mut().unwrap().extend(extra);
    }
    let netns = root.join("netns");
    std::fs::write(&netns, b"").unwrap();
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let call = PluginCall::new(
        &plugin,
        &bins::cni_path(&[]),
        "0123456789abcdef",
        &netns.display().to_string(),
        "net1",
    );
    call.run("ADD", &conf).unwrap()
}

/// What a failed ADD of [`ovs_add`] must leave: no bridge, no interface, no file.
fn assert_ovs_add_left_nothing(ovs: &harness::ovs::OvsServer, root: &Path) {
    assert_eq!(
        ovs.vsctl(&["list-br"]).unwrap(),
        "",
        "the bridge ADD created is gone"
    );
    assert_eq!(
        ovs.vsctl(&["--columns=name", "list", "Interface"]).unwrap(),
        ""
    );
    let left = leftovers(&[&root.join("s"), &root.join("d")]);
    assert!(left.is_empty(), "left: {left:?}");
}

/// The same for an ovs-dpdk host on mock-ovsdb: the transaction that adds the port
/// refused, or OVSDB stalling or dropping the connection there: ADD fails and the bridge
/// it had just created is gone again. With no bridge yet, ADD's transactions are: the port
/// (no bridge to join: nothing is added), the bridge, the port again.
#[rstest]
#[case::refused("fail:transact:3:constraint violation", 100)]
#[case::stalled("stall:transact:3", 11)]
#[case::dropped("drop:transact:3", 11)]
fn ovsdb_misbehaving_mid_add(#[case] fault: &str, #[case] code: u64) {
    use harness::ovs::OvsServer;
    let root = tempfile::Builder::new()
        .prefix("of")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = OvsServer::mock_with(&root.path().join("o"), &["--fault", fault]).unwrap();
    let out = ovs_add(&ovs, root.path(), json!({}), 500);
    assert_eq!(out.code(), Some(code), "{}", out.stdout);
    assert_ovs_add_left_nothing(&ovs, root.path());
}

/// ovs-dpdk: the transaction commits but ovs-vswitchd cannot build the port (here: a
/// directory is in the way of its vhost-user socket). ADD has already saved its record and
/// written the configuration data while it waited: it fails with OVS's reason and removes
/// all of it, the port and the bridge it made too.
#[test]
fn ovs_failing_to_build_the_port_after_the_commit_leaves_nothing() {
    use harness::ovs::OvsServer;
    let root = tempfile::Builder::new()
        .prefix("of")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = OvsServer::mock(&root.path().join("o")).unwrap();
    let in_the_way = ovs.socket().with_file_name("0123456789ab-net1");
    std::fs::create_dir(&in_the_way).unwrap();
    let out = ovs_add(
        &ovs,
        root.path(),
        json!({"vhost": {"mode": "server"}}),
        5000,
    );
    assert!(!out.success);
    assert_eq!(out.code(), Some(100), "the vswitch refused: {}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("could not open network device"), "{msg}");
    assert_ovs_add_left_nothing(&ovs, root.path());
    assert!(in_the_way.is_dir(), "someone else's directory is kept");
}
