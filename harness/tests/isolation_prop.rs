//! The property behind `isolation.rs`: for any interleaving of ADD, DEL and GC of
//! attachments whose ids, ifnames and socket files collide in every way the plugin has met
//! (container ids sharing their first 12 characters, a fixed socket file for two
//! interfaces, ids and ifnames that join alike), no operation changes another live
//! attachment's vswitch objects (its memif, its socket registration, its bridge
//! membership), files (record, configuration data, socket) or IPs (host-local's
//! allocation); an ADD is refused exactly when it collides with a live attachment; and
//! DEL of everything leaves the host as it was. The real `userspace` binary on mock-vpp,
//! with the real host-local.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness::bins;
use harness::demo::{leftovers, netconf, DemoDirs};
use harness::mock_vpp::MockVpp;
use harness::plugin::PluginCall;
use harness::vpp_state::VppState;
use proptest::prelude::*;
use serde_json::{json, Value};

/// (container id, ifname, fixed socket file).
const ATTACHMENTS: &[(&str, &str, Option<&str>)] = &[
    ("0123456789abAAAA", "net1", None),
    // The same first 12 characters: the same pod directory, socket and data file.
    ("0123456789abBBBB", "net1", None),
    // One pod, two interfaces, one fixed socket file.
    ("0123456789abAAAA", "net2", Some("fixed.sock")),
    ("0123456789abAAAA", "net3", Some("fixed.sock")),
    // One record name in earlier versions.
    ("a-b", "c", None),
    ("a", "b-c", None),
];

/// Which attachments cannot be live together (same socket path or data file).
fn collide(a: usize, b: usize) -> bool {
    a != b && matches!((a.min(b), a.max(b)), (0, 1) | (2, 3))
}

#[derive(Debug, Clone)]
enum Op {
    Add(usize),
    Del(usize),
    /// GC with the attachments in the mask as the runtime's valid ones.
    Gc(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let n = ATTACHMENTS.len();
    prop_oneof![
        4 => (0..n).prop_map(Op::Add),
        3 => (0..n).prop_map(Op::Del),
        1 => any::<u8>().prop_map(Op::Gc),
    ]
}

struct Host {
    _root: tempfile::TempDir,
    dirs: DemoDirs,
    mock: MockVpp,
    base: Value,
    netns: PathBuf,
    plugin: PathBuf,
}

/// What one attachment owns on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Footprint {
    record: Vec<u8>,
    memif: Option<(u32, u32)>,
    socket_registered: bool,
    in_bridge: bool,
    socket_file: bool,
    config_data: Option<Vec<u8>>,
    ips: Vec<String>,
}

impl Host {
    fn new() -> Host {
        let root = tempfile::Builder::new()
            .prefix("usrsp-iso")
            .tempdir_in("/tmp")
            .unwrap();
        let dirs = DemoDirs::under(root.path());
        std::fs::create_dir_all(dirs.api_socket.parent().unwrap()).unwrap();
        let mock = MockVpp::start(&dirs.api_socket).unwrap();
        let mut base = netconf(&dirs, "1.1.0", true);
        base["timeoutMs"] = json!(5000);
        let netns = root.path().join("netns");
        std::fs::write(&netns, b"").unwrap();
        Host {
            plugin: bins::binary("userspace-cni", "userspace").unwrap(),
            _root: root,
            dirs,
            mock,
            base,
            netns,
        }
    }

    fn conf(&self, i: usize) -> Value {
        let mut c = self.base.clone();
        if let Some(file) = ATTACHMENTS[i].2 {
            c["host"]["memif"]["socketfile"] = json!(file);
        }
        c
    }

    fn run(&self, command: &str, i: usize, conf: &Value) -> bool {
        let (id, ifname, _) = ATTACHMENTS[i];
        PluginCall::new(
            &self.plugin,
            &bins::cni_path(&[]),
            id,
            &self.netns.display().to_string(),
            ifname,
        )
        .run(command, conf)
        .unwrap()
        .success
    }

    fn pod_dir(&self, i: usize) -> PathBuf {
        let id = ATTACHMENTS[i].0;
        self.dirs.shared.join(&id[..id.len().min(12)])
    }

    fn footprint(&self, i: usize, vpp: &VppState) -> Footprint {
        let (id, ifname, fixed) = ATTACHMENTS[i];
        // (Earlier versions named it `<id>-<ifname>.json`.)
        let record = std::fs::read(self.dirs.data.join(format!("{id}@{ifname}.json")))
            .or_else(|_| std::fs::read(self.dirs.data.join(format!("{id}-{ifname}.json"))))
            .unwrap_or_default();
        let saved: Value = serde_json::from_slice(&record).unwrap_or(Value::Null);
        let data = &saved["host"]["data"];
        let sw = data["swIfIndex"].as_u64().map(|v| v as u32);
        let socket_id = data["memifSocketId"].as_u64().map(|v| v as u32);
        let pod = self.pod_dir(i);
        let id12 = &id[..id.len().min(12)];
        let socket = pod.join(match fixed {
            Some(f) => f.to_string(),
            None => format!("memif-{id12}-{ifname}.sock"),
        });
        let memif = vpp
            .memifs
            .iter()
            .find(|m| Some(m.sw_if_index) == sw && Some(m.socket_id) == socket_id)
            .map(|m| (m.sw_if_index, m.socket_id));
        let socket_registered = vpp
            .memif_sockets
            .iter()
            .any(|(sid, f)| Some(*sid) == socket_id && Path::new(f) == socket);
        let in_bridge = vpp
            .bridge(4)
            .is_some_and(|b| sw.is_some_and(|sw| b.members.contains(&sw)));
        let config_data = std::fs::read(pod.join(format!("configData-{id12}-{ifname}.json"))).ok();
        let mut ips: Vec<String> = leftovers(&[&self.dirs.ipam])
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .is_ok_and(|t| t.lines().map(str::trim).collect::<Vec<_>>() == [id, ifname])
            })
            .map(|p| p.display().to_string())
            .collect();
        ips.sort();
        Footprint {
            record,
            memif,
            socket_registered,
            in_bridge,
            socket_file: socket.exists(),
            config_data,
            ips,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn no_operation_touches_another_attachment(ops in proptest::collection::vec(op(), 1..14)) {
        let host = Host::new();
        // The live attachments and what each owns.
        let mut live: BTreeMap<usize, Footprint> = BTreeMap::new();
        for (step, op) in ops.iter().enumerate() {
            let (target, removed): (Option<usize>, Vec<usize>) = match *op {
                Op::Add(i) => {
                    let conflict = live.keys().any(|&j| collide(i, j));
                    let ok = host.run("ADD", i, &host.conf(i));
                    prop_assert_eq!(ok, !conflict, "step {}: ADD {} (live: {:?})", step, i, live.keys());
                    live.remove(&i);
                    (Some(i), vec![])
                }
                Op::Del(i) => {
                    prop_assert!(host.run("DEL", i, &host.conf(i)), "step {}: DEL {}", step, i);
                    live.remove(&i);
                    (Some(i), vec![])
                }
                Op::Gc(mask) => {
                    let valid: Vec<Value> = (0..ATTACHMENTS.len())
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| json!({"containerID": ATTACHMENTS[i].0, "ifname": ATTACHMENTS[i].1}))
                        .collect();
                    let mut gc = host.base.clone();
                    gc["cni.dev/valid-attachments"] = json!(valid);
                    prop_assert!(host.run("GC", 0, &gc), "step {}: GC", step);
                    let gone: Vec<usize> = live.keys().copied().filter(|i| mask & (1 << i) == 0).collect();
                    (None, gone)
                }
            };
            for i in &removed {
                live.remove(i);
            }
            let vpp = VppState::read(host.mock.socket()).unwrap();
            for (&j, before) in &live {
                let now = host.footprint(j, &vpp);
                prop_assert_eq!(&now, before, "step {}: {:?} changed live attachment {}", step, op, j);
            }
            if let Some(i) = target {
                if matches!(op, Op::Add(_)) && !live.keys().any(|&j| collide(i, j)) {
                    let fp = host.footprint(i, &vpp);
                    prop_assert!(fp.memif.is_some() && fp.in_bridge && !fp.ips.is_empty(), "step {}: ADD {} made {:?}", step, i, fp);
                    live.insert(i, fp);
                }
            }
        }
        for i in 0..ATTACHMENTS.len() {
            prop_assert!(host.run("DEL", i, &host.conf(i)));
        }
        let vpp = VppState::read(host.mock.socket()).unwrap();
        prop_assert!(vpp.is_pristine(), "{:?}", vpp);
        let left = leftovers(&[&host.dirs.shared, &host.dirs.data, &host.dirs.ipam]);
        prop_assert!(left.is_empty(), "left: {:?}", left);
    }
}
