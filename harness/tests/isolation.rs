//! No attachment touches another's, and DEL always finishes: the `userspace` binary on
//! mock-vpp (and mock-ovsdb) with attachments whose ids, ifnames and socket files collide,
//! with netconfs ADD refuses, an IPAM plugin that is killed or refuses its config, and
//! files torn by a kill. After each step the other attachment's vswitch objects, files
//! and IPs are exactly as they were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::bins;
use harness::demo::{leftovers, netconf, DemoDirs};
use harness::mock_vpp::MockVpp;
use harness::plugin::{Outcome, PluginCall};
use harness::testbed;
use harness::vpp_state::VppState;
use serde_json::{json, Value};

/// A host with mock-vpp, the reference netconf (host-local IPAM) and room for stand-in
/// IPAM plugins.
struct Bed {
    bed: testbed::Bed,
    conf: Value,
}

impl std::ops::Deref for Bed {
    type Target = testbed::Bed;

    fn deref(&self) -> &testbed::Bed {
        &self.bed
    }
}

impl Bed {
    fn new() -> Bed {
        let bed = testbed::Bed::new().unwrap();
        let mut conf = bed.conf("1.0.0");
        conf["timeoutMs"] = json!(5000);
        Bed { bed, conf }
    }

    fn run(&self, command: &str, id: &str, ifname: &str, conf: &Value) -> Outcome {
        self.call(id, ifname).run(command, conf).unwrap()
    }

    /// Everything on the host: the vswitch's objects, and every file (with its bytes)
    /// under the shared, data and IPAM directories, but the lock and host-local's
    /// last-reserved marker.
    fn snapshot(&self) -> (VppState, BTreeMap<PathBuf, Vec<u8>>) {
        let vpp = VppState::read(self.mock.socket()).unwrap();
        let files = leftovers(&[&self.dirs.shared, &self.dirs.data, &self.dirs.ipam])
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap_or_default();
                (p, bytes)
            })
            .collect();
        (vpp, files)
    }

    /// Runs the plugin and kills it (SIGKILL) once `ready` exists (or after 10 s);
    /// false when it had ended by itself before that.
    fn run_killed_when(&self, command: &str, id: &str, conf: &Value, ready: &Path) -> bool {
        testbed::run_killed(
            &self.call(id, "net1"),
            command,
            conf,
            testbed::exists(ready),
        )
    }
}

const A: &str = "0123456789abAAAA";
/// Shares its first 12 characters with [`A`]: the same pod directory and default socket.
const B: &str = "0123456789abBBBB";

/// 1. Two container ids sharing their first 12 characters: the second ADD is refused
///    before anything is touched, and neither its undo nor the runtime's DEL after it
///    removes any of the first's memif, socket, bridge, configuration data or address.
#[test]
fn a_refused_colliding_add_and_its_del_leave_the_other_alone() {
    let bed = Bed::new();
    assert!(bed.run("ADD", A, "net1", &bed.conf).success);
    let before = bed.snapshot();
    let out = bed.run("ADD", B, "net1", &bed.conf);
    assert!(!out.success);
    assert_eq!(out.code(), Some(7), "{}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("already used by"), "{msg}");
    assert_eq!(
        bed.snapshot(),
        before,
        "the refused ADD changed the other's"
    );
    let out = bed.run("DEL", B, "net1", &bed.conf);
    assert!(out.success, "{}", out.stdout);
    assert_eq!(bed.snapshot(), before, "the DEL changed the other's");
    assert!(bed.run("DEL", A, "net1", &bed.conf).success);
    bed.assert_clean("after both DELs");
}

/// 1. A fixed `memif.socketfile` and one pod with two interfaces: the same socket path.
#[test]
fn a_fixed_socket_file_for_two_interfaces_is_refused_for_the_second() {
    let bed = Bed::new();
    let mut conf = bed.conf.clone();
    conf["host"]["memif"]["socketfile"] = json!("fixed.sock");
    assert!(bed.run("ADD", A, "net1", &conf).success);
    let before = bed.snapshot();
    let out = bed.run("ADD", A, "net2", &conf);
    assert_eq!(out.code(), Some(7), "{}", out.stdout);
    assert!(bed.run("DEL", A, "net2", &conf).success);
    assert_eq!(bed.snapshot(), before);
    assert!(bed.run("DEL", A, "net1", &conf).success);
    bed.assert_clean("after both DELs");
}

/// 1. The vswitch refuses what is another's even when the plugin's own records cannot
///    tell (another data directory): VPP serves an interface on that socket already.
#[test]
fn a_socket_in_use_on_vpp_is_refused_whatever_the_data_directory() {
    let bed = Bed::new();
    assert!(bed.run("ADD", A, "net1", &bed.conf).success);
    let before = bed.snapshot();
    let mut other = bed.conf.clone();
    other["dataDir"] = json!(bed.root.path().join("data2"));
    other.as_object_mut().unwrap().remove("ipam");
    let out = bed.run("ADD", B, "net1", &other);
    assert!(!out.success);
    assert_eq!(out.code(), Some(7), "{}", out.stdout);
    assert!(bed.run("DEL", B, "net1", &other).success);
    assert_eq!(bed.snapshot(), before);
    assert!(bed.run("DEL", A, "net1", &bed.conf).success);
    bed.assert_clean("after both DELs");
}

/// An ovs-dpdk netconf (bridge `br-i`) on `db` with everything under `root`.
fn ovs_conf(db: &Path, root: &Path, host: Value) -> Value {
    let mut conf = json!({
        "cniVersion": "1.0.0", "type": "userspace", "name": "ovs-iso",
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                 "bridge": {"bridgeName": "br-i"}, "apiSocket": db},
        "sharedDir": root.join("s"), "dataDir": root.join("d"), "timeoutMs": 5000
    });
    if let Value::Object(extra) = host {
        conf["host"].as_object_mut().unwrap().extend(extra);
    }
    conf
}

/// 1. A fixed `vhost.socketfile` and two pods on OVS: the same port name. The second ADD
///    is refused, and its DEL keeps the first's port, bridge and socket.
#[test]
fn a_fixed_vhost_socket_file_on_ovs_keeps_the_first_pods_port() {
    use harness::ovs::OvsServer;
    let root = tempfile::Builder::new()
        .prefix("oi")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = OvsServer::mock(&root.path().join("o")).unwrap();
    let conf = ovs_conf(
        ovs.socket(),
        root.path(),
        json!({"vhost": {"socketfile": "fixed", "mode": "server"}}),
    );
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let call = |id: &str| {
        PluginCall::new(
            &plugin,
            &bins::cni_path(&[]),
            id,
            &netns.display().to_string(),
            "net1",
        )
    };
    let a = "aaaaaaaaaaaa0001";
    let b = "bbbbbbbbbbbb0002";
    let out = call(a).run("ADD", &conf).unwrap();
    assert!(out.success, "{}", out.stdout);
    let a_socket = root.path().join("s/aaaaaaaaaaaa/fixed");
    assert!(a_socket.exists());
    let out = call(b).run("ADD", &conf).unwrap();
    assert_eq!(out.code(), Some(7), "{}", out.stdout);
    let out = call(b).run("DEL", &conf).unwrap();
    assert!(out.success, "{}", out.stdout);
    assert_eq!(ovs.vsctl(&["list-ports", "br-i"]).unwrap(), "fixed");
    assert!(a_socket.exists(), "the first pod's socket is kept");
    assert!(call(a).run("DEL", &conf).unwrap().success);
    assert_eq!(ovs.vsctl(&["list-br"]).unwrap(), "");
    let left = leftovers(&[&root.path().join("s"), &root.path().join("d")]);
    assert!(left.is_empty(), "left: {left:?}");
}

/// 2. (`a-b`, `c`) and (`a`, `b-c`): one record name in earlier versions (the second ADD
///    overwrote the first's record, hiding it from GC). Each now has its own: GC of one
///    removes exactly that one.
#[test]
fn ids_and_ifnames_that_join_alike_are_two_attachments() {
    let bed = Bed::new();
    assert!(bed.run("ADD", "a-b", "c", &bed.conf).success);
    let out = bed.run("ADD", "a", "b-c", &bed.conf);
    assert!(out.success, "{}", out.stdout);
    let both = VppState::read(bed.mock.socket()).unwrap();
    assert_eq!(both.memifs.len(), 2);
    let mut gc = bed.conf.clone();
    gc["cniVersion"] = json!("1.1.0");
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "a", "ifname": "b-c"}]);
    assert!(bed.run("GC", "", "", &gc).success);
    let one = VppState::read(bed.mock.socket()).unwrap();
    assert_eq!(one.memifs.len(), 1, "GC removed the one the runtime forgot");
    assert!(bed.root.path().join("shared/a").exists());
    assert!(!bed.root.path().join("shared/a-b").exists());
    gc["cni.dev/valid-attachments"] = json!([]);
    assert!(bed.run("GC", "", "", &gc).success);
    bed.assert_clean("after GC of both");
}

/// 2. The same on OVS, where port names are host-wide: two ports, each DEL removes its own.
#[test]
fn ids_and_ifnames_that_join_alike_get_two_ovs_ports() {
    use harness::ovs::OvsServer;
    let root = tempfile::Builder::new()
        .prefix("oi")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = OvsServer::mock(&root.path().join("o")).unwrap();
    let conf = ovs_conf(
        ovs.socket(),
        root.path(),
        json!({"vhost": {"mode": "client"}}),
    );
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let call = |id: &str, ifname: &str| {
        PluginCall::new(
            &plugin,
            &bins::cni_path(&[]),
            id,
            &netns.display().to_string(),
            ifname,
        )
    };
    for (id, ifname) in [("a-b", "c"), ("a", "b-c")] {
        let out = call(id, ifname).run("ADD", &conf).unwrap();
        assert!(out.success, "{}", out.stdout);
    }
    let ports = ovs.vsctl(&["list-ports", "br-i"]).unwrap();
    assert_eq!(ports.lines().count(), 2, "{ports}");
    assert!(call("a-b", "c").run("DEL", &conf).unwrap().success);
    assert_eq!(ovs.vsctl(&["list-ports", "br-i"]).unwrap(), "a@b-c");
    assert!(call("a", "b-c").run("DEL", &conf).unwrap().success);
    assert_eq!(ovs.vsctl(&["list-br"]).unwrap(), "");
}

/// 5. Netconfs ADD refuses (before any change): the runtime's DEL after it succeeds, since
///    there is no record and nothing on the host.
#[rstest::rstest]
#[case::timeout_as_text(json!({"timeoutMs": "500"}))]
#[case::zero_timeout(json!({"timeoutMs": 0}))]
#[case::ipam_not_in_cni_path(json!({"ipam": {"type": "no-such-ipam"}}))]
#[case::unknown_version(json!({"cniVersion": "0.9.0"}))]
#[case::bad_data_dir(json!({"dataDir": "relative/dir"}))]
fn del_after_a_refused_add_succeeds(#[case] patch: Value) {
    let bed = Bed::new();
    let mut conf = bed.conf.clone();
    for (k, v) in patch.as_object().unwrap() {
        if k == "ipam" {
            conf["ipam"]["type"] = v["type"].clone();
        } else {
            conf[k] = v.clone();
        }
    }
    let out = bed.run("ADD", A, "net1", &conf);
    assert!(!out.success, "ADD refuses it: {}", out.stdout);
    let out = bed.run("DEL", A, "net1", &conf);
    assert!(out.success, "DEL: {} {}", out.stdout, out.stderr);
    bed.assert_clean("after DEL");
}

/// 4. An IPAM section the IPAM plugin refuses (host-local: `invalid CIDR address`): ADD
///    fails and leaves no record and no pod directory; DEL and GC succeed.
#[rstest::rstest]
#[case::prefix_too_long("10.99.0.0/33")]
#[case::octet_too_big("300.1.2.0/24")]
fn an_ipam_config_the_ipam_refuses_does_not_wedge_del(#[case] subnet: &str) {
    let bed = Bed::new();
    let mut conf = bed.conf.clone();
    conf["ipam"]["subnet"] = json!(subnet);
    let out = bed.run("ADD", A, "net1", &conf);
    assert!(!out.success);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("invalid CIDR"), "{msg}");
    bed.assert_clean("after the refused ADD");
    let out = bed.run("DEL", A, "net1", &conf);
    assert!(out.success, "DEL: {}", out.stdout);
    let mut gc = conf.clone();
    gc["cniVersion"] = json!("1.1.0");
    gc["cni.dev/valid-attachments"] = json!([]);
    let out = bed.run("GC", "", "", &gc);
    assert!(out.success, "GC: {}", out.stdout);
    bed.assert_clean("after DEL and GC");
}

/// A pid no process has (one that has just exited).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn gc_conf(conf: &Value, valid: Value) -> Value {
    let mut gc = conf.clone();
    gc["cniVersion"] = json!("1.1.0");
    gc["cni.dev/valid-attachments"] = valid;
    gc
}

/// 7. A torn or empty record: GC removes what it stands for (by discovery, as DEL does)
///    and the record, and leaves an attachment the runtime still knows alone.
#[rstest::rstest]
#[case::empty(0)]
#[case::cut_in_the_network_name(60)]
#[case::cut_after_the_network(120)]
fn gc_removes_what_a_torn_record_stands_for(#[case] keep: usize) {
    let bed = Bed::new();
    let c = "cccccccccccccccc";
    assert!(bed.run("ADD", A, "net1", &bed.conf).success);
    assert!(bed.run("ADD", c, "net1", &bed.conf).success);
    // (Found by listing: earlier versions named it `<id>-<ifname>.json`.)
    let record = std::fs::read_dir(&bed.dirs.data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(A) && p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let bytes = std::fs::read(&record).unwrap();
    std::fs::write(&record, &bytes[..keep.min(bytes.len())]).unwrap();
    let gc = gc_conf(&bed.conf, json!([{"containerID": c, "ifname": "net1"}]));
    let out = bed.run("GC", "", "", &gc);
    assert!(out.success, "GC: {}", out.stdout);
    let s = VppState::read(bed.mock.socket()).unwrap();
    assert_eq!(
        s.memifs.len(),
        1,
        "only the known attachment is left: {s:?}"
    );
    assert!(!record.exists());
    assert!(!bed.dirs.shared.join("0123456789ab").exists());
    assert!(bed.run("DEL", c, "net1", &bed.conf).success);
    bed.assert_clean("after GC and DEL");
}

/// 7. Temporary files of writes killed midway (records, configuration data): DEL removes
///    its attachment's, GC every one whose writer is gone.
#[test]
fn temporary_files_of_killed_writes_are_swept() {
    let bed = Bed::new();
    assert!(bed.run("ADD", A, "net1", &bed.conf).success);
    let dead = dead_pid();
    let pod = bed.dirs.shared.join("0123456789ab");
    std::fs::write(
        pod.join(format!(".configData-0123456789ab-net1.json.tmp.{dead}")),
        b"{",
    )
    .unwrap();
    std::fs::write(
        bed.dirs.data.join(format!(".{A}@net1.json.tmp.{dead}")),
        b"{",
    )
    .unwrap();
    assert!(bed.run("DEL", A, "net1", &bed.conf).success);
    bed.assert_clean("after DEL");
    std::fs::write(bed.dirs.data.join(format!(".x@net1.json.tmp.{dead}")), b"").unwrap();
    let out = bed.run("GC", "", "", &gc_conf(&bed.conf, json!([])));
    assert!(out.success, "GC: {}", out.stdout);
    bed.assert_clean("after GC");
}

/// 3. The plugin killed (as a runtime's timeout does) while its IPAM child allocates: the
///    child dies with it, so no allocation lands after the runtime's DEL. The stand-in
///    IPAM plugin takes a second to allocate (writes `alloc-<id>`), and DEL releases
///    (removes it).
#[test]
fn an_ipam_child_dies_with_the_plugin() {
    let bed = Bed::new();
    let state = bed.root.path().join("ipam-state");
    std::fs::create_dir_all(&state).unwrap();
    let dir = state.display();
    bed.ipam_script(
        "slow-ipam",
        &format!(
            r#"case "$CNI_COMMAND" in
ADD) touch "{dir}/started"; sleep 1; echo "$CNI_CONTAINERID" > "{dir}/alloc-$CNI_CONTAINERID"
     echo '{{"cniVersion":"1.0.0","ips":[{{"address":"10.9.0.2/24"}}]}}';;
DEL) rm -f "{dir}/alloc-$CNI_CONTAINERID";;
VERSION) echo '{{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}}';;
esac"#
        ),
    );
    let mut conf = bed.conf.clone();
    conf["ipam"] = json!({"type": "slow-ipam"});
    assert!(
        bed.run_killed_when("ADD", A, &conf, &state.join("started")),
        "ADD ended before its IPAM plugin started"
    );
    let out = bed.run("DEL", A, "net1", &conf);
    assert!(out.success, "DEL: {}", out.stdout);
    // Longer than the stand-in takes to allocate.
    std::thread::sleep(Duration::from_millis(1500));
    let alloc = state.join(format!("alloc-{A}"));
    assert!(!alloc.exists(), "an orphaned IPAM ADD allocated after DEL");
    bed.assert_clean("after DEL");
}

/// 6. `timeoutMs` bounds the whole operation, undo included: an ADD stalled by the vswitch
///    holds the host-wide lock no longer than that, so another pod's ADD, which waits for
///    the lock up to 4x its `timeoutMs`, gets it and succeeds (it failed with code 11 when
///    each request had its own `timeoutMs`, and undo came on top).
#[test]
fn a_stalled_add_holds_the_lock_no_longer_than_its_timeout() {
    let root = tempfile::Builder::new()
        .prefix("usrsp-iso")
        .tempdir_in("/tmp")
        .unwrap();
    let dirs = DemoDirs::under(root.path());
    std::fs::create_dir_all(dirs.api_socket.parent().unwrap()).unwrap();
    // The first admin up (the first pod's, its last step) gets no answer; the second is
    // served.
    let mock = MockVpp::start_with(
        &dirs.api_socket,
        &["--fault", "stall:sw_interface_set_flags:1"],
    )
    .unwrap();
    let mut conf = netconf(&dirs, "1.0.0", false);
    conf["timeoutMs"] = json!(500);
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let call = |id: &str| {
        PluginCall::new(
            &plugin,
            &bins::cni_path(&[]),
            id,
            &netns.display().to_string(),
            "net1",
        )
    };
    let stalled = {
        let (call, conf) = (call(A), conf.clone());
        std::thread::spawn(move || call.run("ADD", &conf).unwrap())
    };
    // Until the first ADD waits on the stalled request (its memif exists by then).
    for _ in 0..500 {
        if !VppState::read(mock.socket()).unwrap().memifs.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let other = call("cccccccccccccccc").run("ADD", &conf).unwrap();
    let stalled = stalled.join().unwrap();
    assert_eq!(stalled.code(), Some(11), "{}", stalled.stdout);
    assert!(other.success, "the other pod's ADD: {}", other.stdout);
    assert!(call("cccccccccccccccc").run("DEL", &conf).unwrap().success);
    assert!(call(A).run("DEL", &conf).unwrap().success);
    let s = VppState::read(mock.socket()).unwrap();
    assert!(s.is_pristine(), "{s:?}");
}

/// Runs the plugin with `stdin` exactly as given.
fn run_raw(bed: &Bed, command: &str, id: &str, stdin: &[u8]) -> (bool, String) {
    use std::io::Write;
    let call = bed.call(id, "net1");
    let mut child = Command::new(&call.plugin)
        .env_clear()
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", &call.netns)
        .env("CNI_IFNAME", "net1")
        .env("CNI_PATH", &call.cni_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// 8. Keys repeated in other cases (`name`/`NAME`/`name`, the same inside `ipam`): the
///    IPAM plugin's DEL, from DEL and from GC, gets exactly the bytes its ADD got.
#[test]
fn the_ipam_release_sees_the_bytes_the_allocation_saw() {
    let bed = Bed::new();
    let state = bed.root.path().join("ipam-state");
    std::fs::create_dir_all(&state).unwrap();
    let dir = state.display();
    bed.ipam_script(
        "log-ipam",
        &format!(
            r#"case "$CNI_COMMAND" in
ADD) cat > "{dir}/add-$CNI_CONTAINERID"
     echo '{{"cniVersion":"1.0.0","ips":[{{"address":"10.9.0.2/24"}}]}}';;
DEL) cat > "{dir}/del-$CNI_CONTAINERID";;
VERSION) echo '{{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}}';;
esac"#
        ),
    );
    let mut conf = bed.conf.clone();
    conf["ipam"] = json!({"type": "log-ipam"});
    let text = serde_json::to_string(&conf).unwrap();
    // `name` given three times in two cases, and `ipam` keys likewise.
    let text = text.replacen("{", r#"{"name":"a","NAME":"b","#, 1);
    let text = text.replacen(
        r#""ipam":{"#,
        r#""ipam":{"range":"x","RANGE":"y","range":"z","#,
        1,
    );
    let c = "cccccccccccccccc";
    for id in [A, c] {
        let (ok, out) = run_raw(&bed, "ADD", id, text.as_bytes());
        assert!(ok, "ADD: {out}");
    }
    // DEL with a differently spelled netconf: the record's own bytes are what count.
    let (ok, out) = run_raw(
        &bed,
        "DEL",
        A,
        serde_json::to_string(&conf).unwrap().as_bytes(),
    );
    assert!(ok, "DEL: {out}");
    // GC with the network's netconf as the runtime has it (the same repeated keys).
    let gc = text.replacen(
        r#""cniVersion":"1.0.0""#,
        r#""cniVersion":"1.1.0","cni.dev/valid-attachments":[]"#,
        1,
    );
    let (ok, out) = run_raw(&bed, "GC", c, gc.as_bytes());
    assert!(ok, "GC: {out}");
    let seen: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    for id in [A, c] {
        let add = std::fs::read(state.join(format!("add-{id}")))
            .unwrap_or_else(|e| panic!("{id}: {e} {seen:?}"));
        let del = std::fs::read(state.join(format!("del-{id}")))
            .unwrap_or_else(|e| panic!("{id}: {e} {seen:?}"));
        assert_eq!(
            String::from_utf8_lossy(&del),
            String::from_utf8_lossy(&add),
            "{id}: the release got other bytes than the allocation"
        );
    }
    bed.assert_clean("after DEL and GC");
}

/// 10. An interface name outside ASCII: what reaches VPP (the memif socket file name) is
///     ASCII, so VPP's own clients can still dump the host; DEL removes it all.
#[test]
fn a_non_ascii_interface_name_reaches_vpp_as_ascii() {
    let bed = Bed::new();
    let out = bed.run("ADD", A, "n\u{e9}t1", &bed.conf);
    assert!(out.success, "{}", out.stdout);
    let s = VppState::read(bed.mock.socket()).unwrap();
    assert_eq!(s.memifs.len(), 1);
    for (_, file) in &s.memif_sockets {
        assert!(file.is_ascii(), "VPP holds a non-ASCII name: {file:?}");
    }
    assert!(bed.run("DEL", A, "n\u{e9}t1", &bed.conf).success);
    bed.assert_clean("after DEL");
}

/// 6. An IPAM plugin that never answers: it too is bounded by `timeoutMs` (stopped, code
///    11), and the DEL after it removes everything.
#[test]
fn a_hung_ipam_plugin_is_bounded_by_the_timeout() {
    let bed = Bed::new();
    bed.ipam_script(
        "hung-ipam",
        r#"case "$CNI_COMMAND" in
ADD) exec sleep 8;;
VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}';;
esac"#,
    );
    let mut conf = bed.conf.clone();
    conf["ipam"] = json!({"type": "hung-ipam"});
    conf["timeoutMs"] = json!(600);
    let out = bed.run("ADD", A, "net1", &conf);
    assert_eq!(out.code(), Some(11), "{}", out.stdout);
    assert!(bed.run("DEL", A, "net1", &conf).success);
    bed.assert_clean("after DEL");
}

/// DEL reports every step that failed, not only the first: with the vswitch unreachable
/// and the IPAM plugin refusing the release, both are named (the vswitch's code first);
/// what DEL needs is kept, and a DEL once both are back finishes.
#[test]
fn del_reports_every_failed_step() {
    let bed = Bed::new();
    let state = bed.root.path().join("ipam-state");
    std::fs::create_dir_all(&state).unwrap();
    let refuse = state.join("refuse");
    bed.ipam_script(
        "refusing-ipam",
        &format!(
            r#"case "$CNI_COMMAND" in
ADD) echo '{{"cniVersion":"1.0.0","ips":[{{"address":"10.9.0.2/24"}}]}}';;
DEL) if [ -e "{}" ]; then echo '{{"cniVersion":"1.0.0","code":999,"msg":"release refused"}}'; exit 1; fi;;
VERSION) echo '{{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}}';;
esac"#,
            refuse.display()
        ),
    );
    let mut conf = bed.conf.clone();
    conf["ipam"] = json!({"type": "refusing-ipam"});
    let out = bed.run("ADD", A, "net1", &conf);
    assert!(out.success, "ADD: {}", out.stdout);
    std::fs::write(&refuse, b"").unwrap();
    // The vswitch unreachable: its socket file moved away (it keeps serving there).
    let away = bed.root.path().join("away.sock");
    std::fs::rename(&bed.dirs.api_socket, &away).unwrap();
    let out = bed.run("DEL", A, "net1", &conf);
    assert!(!out.success, "DEL: {}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains("release refused"),
        "IPAM failure not reported: {msg}"
    );
    assert!(
        msg.contains("api.sock"),
        "vswitch failure not reported: {msg}"
    );
    assert_eq!(out.code(), Some(11), "{}", out.stdout);
    std::fs::remove_file(&refuse).unwrap();
    std::fs::rename(&away, &bed.dirs.api_socket).unwrap();
    let out = bed.run("DEL", A, "net1", &conf);
    assert!(out.success, "DEL: {}", out.stdout);
    bed.assert_clean("after DEL");
}
