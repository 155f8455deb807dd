//! The plugin executed directly (as a runtime would) against a running mock-vpp and the
//! real host-local IPAM: variants of the reference netconf, rollback, concurrency, CHECK.

use std::path::Path;
use std::sync::Arc;

use harness::demo::netconf;
use harness::plugin::{Outcome, PluginCall};
use harness::testbed;
use serde_json::{json, Value};

/// The harness's test bed, calling the plugin for `net1`; requires the real host-local.
struct Bed(testbed::Bed);

impl std::ops::Deref for Bed {
    type Target = testbed::Bed;

    fn deref(&self) -> &testbed::Bed {
        &self.0
    }
}

impl Bed {
    fn new() -> Bed {
        assert!(
            Path::new("/usr/lib/cni/host-local").exists(),
            "host-local missing: run ci/install-deps.sh (Debian containernetworking-plugins)"
        );
        Bed(testbed::Bed::new().unwrap())
    }

    fn call(&self, id: &str) -> PluginCall {
        self.0.call(id, "net1")
    }

    fn assert_clean(&self) {
        self.0.assert_clean("after DEL");
    }
}

fn ok(out: Outcome, what: &str) -> Value {
    assert!(out.success, "{what} failed: {}\n{}", out.stdout, out.stderr);
    out.json()
}

fn id(n: usize) -> String {
    format!("{n:012x}{}", "f".repeat(52))
}

#[test]
fn bridge_name_four_works_like_bridge_id_four() {
    let bed = Bed::new();
    let mut conf = bed.conf("0.3.1");
    conf["host"]["bridge"] = json!({"bridgeName": "4"});
    let call = bed.call(&id(1));
    let result = ok(call.run("ADD", &conf).unwrap(), "ADD");
    assert_eq!(result["cniVersion"], "0.3.1");
    assert_eq!(result["ips"][0]["version"], "4");
    assert!(result["ips"][0]["address"]
        .as_str()
        .unwrap()
        .starts_with("192.168.210."));
    let s = bed.state();
    let bd = s.bridge(4).expect("bridge domain 4");
    assert_eq!(bd.members.len(), 1);
    assert_eq!(bd.tag, "userspace-cni");
    ok(call.run("DEL", &conf).unwrap(), "DEL");
    ok(call.run("DEL", &conf).unwrap(), "second DEL");
    bed.assert_clean();
}

#[test]
fn a_failed_ipam_rolls_the_host_side_back() {
    let bed = Bed::new();
    let mut conf = bed.conf("1.0.0");
    // A range of exactly one address: the second pod cannot get one.
    conf["ipam"]["rangeStart"] = json!("192.168.210.10");
    conf["ipam"]["rangeEnd"] = json!("192.168.210.10");
    let first = bed.call(&id(1));
    ok(first.run("ADD", &conf).unwrap(), "first ADD");
    let before = bed.state();
    let second = bed.call(&id(2));
    let out = second.run("ADD", &conf).unwrap();
    assert!(!out.success, "second ADD should fail: {}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(msg.starts_with("IPAM: "), "error names the step: {msg}");
    assert_eq!(
        bed.state(),
        before,
        "the failed ADD left something on the vswitch"
    );
    let shared2 = bed.dirs.shared.join(&id(2)[..12]);
    assert!(
        !shared2.exists(),
        "the failed ADD left {}",
        shared2.display()
    );
    ok(first.run("DEL", &conf).unwrap(), "DEL");
    bed.assert_clean();
}

#[test]
fn interface_net_type_and_vlan_and_vhost_user() {
    let bed = Bed::new();
    let mut standalone = bed.conf("1.0.0");
    standalone["host"]["netType"] = json!("interface");
    let mut tagged = bed.conf("1.0.0");
    tagged["host"]["bridge"] = json!({"bridgeId": 7, "vlanId": 100});
    let mut vhost = bed.conf("1.0.0");
    vhost["host"]["iftype"] = json!("vhostuser");
    vhost["host"].as_object_mut().unwrap().remove("memif");
    vhost["container"] = json!({"engine": "vpp"});

    let a = bed.call(&id(1));
    ok(a.run("ADD", &standalone).unwrap(), "ADD interface");
    let s = bed.state();
    assert_eq!(s.memifs.len(), 1);
    assert!(s.bridges.is_empty());
    assert!(s.memifs[0].admin_up);

    let b = bed.call(&id(2));
    ok(b.run("ADD", &tagged).unwrap(), "ADD vlan");
    assert_eq!(bed.state().bridge(7).map(|b| b.members.len()), Some(1));

    let c = bed.call(&id(3));
    ok(c.run("ADD", &vhost).unwrap(), "ADD vhost-user");
    assert_eq!(bed.state().bridge(4).map(|b| b.members.len()), Some(1));
    let data = std::fs::read_to_string(
        bed.dirs
            .shared
            .join(&id(3)[..12])
            .join(format!("configData-{}-net1.json", &id(3)[..12])),
    )
    .unwrap();
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["config"]["iftype"], "vhostuser");
    assert_eq!(data["config"]["vhost"]["mode"], "client");

    ok(a.run("DEL", &standalone).unwrap(), "DEL interface");
    ok(b.run("DEL", &tagged).unwrap(), "DEL vlan");
    ok(c.run("DEL", &vhost).unwrap(), "DEL vhost-user");
    bed.assert_clean();
}

#[test]
fn parallel_adds_and_dels_on_one_bridge() {
    const PODS: usize = 16;
    let bed = Arc::new(Bed::new());
    let conf = Arc::new(bed.conf("1.0.0"));
    let run_all = |command: &'static str| {
        let handles: Vec<_> = (0..PODS)
            .map(|n| {
                let (bed, conf) = (bed.clone(), conf.clone());
                std::thread::spawn(move || bed.call(&id(n + 100)).run(command, &conf).unwrap())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .map(|out| ok(out, command))
            .collect::<Vec<_>>()
    };
    let results = run_all("ADD");
    let mut ips: Vec<String> = results
        .iter()
        .map(|r| r["ips"][0]["address"].as_str().unwrap().to_string())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), PODS, "every pod got its own address");
    let s = bed.state();
    assert_eq!(s.bridges.len(), 1);
    assert_eq!(s.bridge(4).unwrap().members.len(), PODS);
    assert_eq!(s.memifs.len(), PODS);
    run_all("DEL");
    bed.assert_clean();
}

#[test]
fn check_notices_an_interface_removed_behind_its_back() {
    use vpp_api::messages::MemifDelete;
    let bed = Bed::new();
    let conf = bed.conf("1.0.0");
    let call = bed.call(&id(1));
    let result = ok(call.run("ADD", &conf).unwrap(), "ADD");
    let mut with_prev = conf.clone();
    with_prev["prevResult"] = result;
    ok(call.run("CHECK", &with_prev).unwrap(), "CHECK");

    let sw = bed.state().memifs[0].sw_if_index;
    let mut c =
        vpp_api::Client::connect(bed.mock.socket(), "test", std::time::Duration::from_secs(5))
            .unwrap();
    let reply = c.request(&MemifDelete { sw_if_index: sw }).unwrap();
    assert_eq!(reply.retval, 0);
    c.disconnect();

    let out = call.run("CHECK", &with_prev).unwrap();
    assert!(!out.success);
    assert_eq!(out.code(), Some(101), "{}", out.stdout);
    ok(call.run("DEL", &conf).unwrap(), "DEL");
    bed.assert_clean();
}

#[test]
fn re_adding_the_same_attachment_replaces_it() {
    let bed = Bed::new();
    let conf = bed.conf("1.0.0");
    let call = bed.call(&id(1));
    ok(call.run("ADD", &conf).unwrap(), "ADD");
    ok(call.run("ADD", &conf).unwrap(), "ADD again");
    let s = bed.state();
    assert_eq!(s.memifs.len(), 1);
    assert_eq!(s.bridge(4).unwrap().members.len(), 1);
    ok(call.run("DEL", &conf).unwrap(), "DEL");
    bed.assert_clean();
}

/// A record torn by a power loss (the plugin does not fsync) is taken as missing: DEL
/// still removes everything (found by discovery), and so does a repeated ADD before
/// building anew.
#[rstest::rstest]
#[case::del("DEL")]
#[case::add_again("ADD")]
fn a_torn_record_does_not_wedge_the_attachment(#[case] next: &str) {
    let bed = Bed::new();
    let conf = bed.conf("1.0.0");
    let call = bed.call(&id(7));
    ok(call.run("ADD", &conf).unwrap(), "ADD");
    let records: Vec<_> = std::fs::read_dir(&bed.dirs.data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    std::fs::write(&records[0], b"").unwrap();
    ok(call.run(next, &conf).unwrap(), next);
    if next == "ADD" {
        let s = bed.state();
        assert_eq!(s.memifs.len(), 1, "the old interface was replaced: {s:?}");
        ok(call.run("DEL", &conf).unwrap(), "DEL");
    }
    bed.assert_clean();
}

/// The pod's shared directory and configuration data are readable by the pod's
/// application whatever user it runs as (0755 / 0644, the configuration data as the
/// original wrote it), or by the vhost `group` only when one is asked for (0750 / 0640);
/// the plugin's own records stay private (0700).
#[test]
fn file_modes_and_the_vhost_group() {
    use std::os::unix::fs::MetadataExt;
    let bed = Bed::new();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    let conf = bed.conf("1.0.0");
    let call = bed.call(&id(1));
    ok(call.run("ADD", &conf).unwrap(), "ADD");
    let dir = bed.dirs.shared.join(&id(1)[..12]);
    assert_eq!(mode(&dir), 0o755);
    assert_eq!(
        mode(&dir.join(format!("configData-{}-net1.json", &id(1)[..12]))),
        0o644
    );
    assert_eq!(mode(&bed.dirs.data), 0o700);
    ok(call.run("DEL", &conf).unwrap(), "DEL");

    let mut grouped = bed.conf("1.0.0");
    grouped["host"]["iftype"] = json!("vhostuser");
    grouped["host"].as_object_mut().unwrap().remove("memif");
    grouped["host"]["vhost"] = json!({"group": "root"});
    grouped["container"] = json!({"engine": "vpp"});
    let call = bed.call(&id(2));
    ok(call.run("ADD", &grouped).unwrap(), "ADD with a group");
    let dir = bed.dirs.shared.join(&id(2)[..12]);
    assert_eq!(mode(&dir), 0o750);
    let data = dir.join(format!("configData-{}-net1.json", &id(2)[..12]));
    assert_eq!(mode(&data), 0o640);
    assert_eq!(std::fs::metadata(&data).unwrap().gid(), 0);
    ok(call.run("DEL", &grouped).unwrap(), "DEL");

    let mut unknown = grouped.clone();
    unknown["host"]["vhost"] = json!({"group": "no-such-group"});
    let out = bed.call(&id(3)).run("ADD", &unknown).unwrap();
    assert_eq!(out.code(), Some(7), "{}", out.stdout);
    assert_eq!(out.json()["msg"], "group: unknown group no-such-group");
    bed.assert_clean();
}

/// DEL removes the directories its ADD made and nothing else: the pod's own directory,
/// and the shared directories' base too when that ADD made it, once no other pod uses it.
#[rstest::rstest]
#[case::base_there_before(true, false)]
#[case::base_made_by_the_add(false, false)]
#[case::base_made_by_another_pods_add(false, true)]
fn del_removes_the_directories_its_add_made(#[case] base_exists: bool, #[case] other_pod: bool) {
    let bed = Bed::new();
    let conf = netconf(&bed.dirs, "1.0.0", false);
    let base = &bed.dirs.shared;
    if base_exists {
        std::fs::create_dir(base).unwrap();
    }
    let other = bed.call(&id(2));
    if other_pod {
        ok(other.run("ADD", &conf).unwrap(), "ADD of the other pod");
    }
    let call = bed.call(&id(1));
    ok(call.run("ADD", &conf).unwrap(), "ADD");
    let own = base.join(&id(1)[..12]);
    assert!(own.is_dir());
    ok(call.run("DEL", &conf).unwrap(), "DEL");
    assert!(!own.exists(), "the pod's directory is gone");
    assert_eq!(base.exists(), base_exists || other_pod, "the base");
    if other_pod {
        assert!(base.join(&id(2)[..12]).is_dir(), "the other pod's is kept");
        ok(other.run("DEL", &conf).unwrap(), "DEL of the other pod");
        assert!(
            !base.exists(),
            "the base goes with the pod whose ADD made it"
        );
    }
    bed.assert_clean();
}
