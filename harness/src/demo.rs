//! The plugin's ADD/CHECK/DEL demo on mock-vpp: two pods (`vppDemo_1`, `vppDemo_2`) get
//! a memif in bridge domain 4 from the reference netconf, then everything is removed and
//! the leak check shows nothing left.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use crate::mock_vpp::MockVpp;
use crate::netns::Netns;
use crate::plugin::PluginCall;
use crate::vpp_state::{self, VppState};
use crate::{bins, Error, Result};

/// The reference netconf shipped in `scenarios/vpp-memif/netconf.json`.
pub const REFERENCE_NETCONF: &str = include_str!("../../scenarios/vpp-memif/netconf.json");

/// Directories one demo run uses, all under one temporary root.
pub struct DemoDirs {
    pub api_socket: PathBuf,
    pub shared: PathBuf,
    pub data: PathBuf,
    pub ipam: PathBuf,
}

impl DemoDirs {
    pub fn under(root: &Path) -> DemoDirs {
        DemoDirs {
            api_socket: root.join("run/vpp/api.sock"),
            shared: root.join("shared"),
            data: root.join("data"),
            ipam: root.join("ipam"),
        }
    }
}

/// The reference netconf pointed at the demo's directories and mock-vpp.
pub fn netconf(dirs: &DemoDirs, cni_version: &str, ipam: bool) -> Value {
    let mut conf: Value = serde_json::from_str(REFERENCE_NETCONF).expect("reference netconf");
    conf["cniVersion"] = json!(cni_version);
    conf["host"]["apiSocket"] = json!(dirs.api_socket);
    conf["sharedDir"] = json!(dirs.shared);
    conf["dataDir"] = json!(dirs.data);
    if ipam {
        conf["ipam"]["dataDir"] = json!(dirs.ipam);
    } else {
        conf.as_object_mut().unwrap().remove("ipam");
    }
    conf
}

struct Reporter {
    start: Instant,
    failures: usize,
}

impl Reporter {
    fn step<T>(&mut self, what: &str, f: impl FnOnce() -> Result<T>) -> Option<T> {
        let t = Instant::now();
        let r = f();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        match r {
            Ok(v) => {
                eprintln!("  \u{2714} {what:<52} {ms:>8.1} ms");
                Some(v)
            }
            Err(e) => {
                eprintln!("  \u{2718} {what:<52} {ms:>8.1} ms\n      {e}");
                self.failures += 1;
                None
            }
        }
    }
}

fn expect_ok(out: crate::plugin::Outcome, what: &str) -> Result<Value> {
    if out.success {
        Ok(out.json())
    } else {
        Err(Error::Check(format!(
            "{what}: {} {}",
            out.stdout,
            out.stderr.trim()
        )))
    }
}

fn show(api: &Path, cmd: &str) {
    match vpp_state::cli(api, cmd) {
        Ok(text) => {
            println!("vpp# {cmd}");
            for line in text.lines() {
                println!("  {line}");
            }
        }
        Err(e) => println!("vpp# {cmd}\n  ({e})"),
    }
}

/// Runs the demo; returns an error when any step failed.
pub fn run() -> Result<()> {
    if !crate::up::is_root() {
        return Err(Error::Check(
            "the demo's pods are network namespaces (`ip netns add`): run it as root".into(),
        ));
    }
    // Built up front, so that no timed step below pays for compiling.
    bins::prepare(&[
        ("userspace-cni", "userspace"),
        ("mock-vpp", "mock-vpp"),
        ("mock-vpp", "vppctl"),
        ("userspace-cni", "usrsp-app"),
    ])?;
    let root = tempfile::Builder::new().prefix("usrsp-demo").tempdir()?;
    let dirs = DemoDirs::under(root.path());
    std::fs::create_dir_all(dirs.api_socket.parent().unwrap())?;
    let plugin = bins::binary("userspace-cni", "userspace")?;
    let ipam = Path::new("/usr/lib/cni/host-local").exists();
    let conf = netconf(&dirs, "1.0.0", ipam);
    let mut rep = Reporter {
        start: Instant::now(),
        failures: 0,
    };
    eprintln!("userspace-cni demo: two pods on mock-vpp, memif in bridge domain 4");
    if !ipam {
        eprintln!("  (host-local not found in /usr/lib/cni: running without IPAM)");
    }
    let mock = rep
        .step("start mock-vpp", || MockVpp::start(&dirs.api_socket))
        .ok_or_else(|| Error::Check("mock-vpp did not start".into()))?;

    let pods = ["vppDemo_1", "vppDemo_2"];
    let namespaces: Vec<Option<Netns>> = pods
        .iter()
        .map(|p| Netns::create(&format!("usrsp-{}-{p}", std::process::id())).ok())
        .collect();
    let calls: Vec<PluginCall> = pods
        .iter()
        .zip(&namespaces)
        .map(|(pod, ns)| {
            let netns = ns
                .as_ref()
                .map(|n| n.path().display().to_string())
                .unwrap_or_else(|| "/proc/self/ns/net".into());
            // Distinct in the first 12 characters, which name the pod's sockets.
            let id = format!(
                "{:0<64}",
                format!("d{}{:08x}", &pod[8..], std::process::id())
            );
            PluginCall::new(&plugin, &bins::cni_path(&[]), &id, &netns, "net1")
        })
        .collect();

    for (pod, call) in pods.iter().zip(&calls) {
        if let Some(result) = rep.step(&format!("ADD {pod}"), || {
            expect_ok(call.run("ADD", &conf)?, "ADD")
        }) {
            let ips: Vec<&str> = result["ips"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|ip| ip["address"].as_str())
                .collect();
            println!("{pod}: interface net1, ips {ips:?}");
        }
    }
    rep.step("bridge domain 4 has both memifs, admin up", || {
        let s = VppState::read(mock.socket())?;
        let bd = s
            .bridge(4)
            .ok_or_else(|| Error::Check("no bridge domain 4".into()))?;
        let up = s.memifs.iter().filter(|m| m.admin_up).count();
        if bd.members.len() == 2 && up == 2 {
            Ok(())
        } else {
            Err(Error::Check(format!("state: {s:?}")))
        }
    });
    for cmd in [
        "show interface",
        "show bridge-domain 4 detail",
        "show memif",
    ] {
        show(mock.socket(), cmd);
    }
    for (pod, call) in pods.iter().zip(&calls) {
        let mut with_prev = conf.clone();
        with_prev["prevResult"] =
            json!({"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": call.netns}]});
        rep.step(&format!("CHECK {pod}"), || {
            expect_ok(call.run("CHECK", &with_prev)?, "CHECK").map(|_| ())
        });
    }
    for (pod, call) in pods.iter().zip(&calls) {
        rep.step(&format!("DEL {pod}"), || {
            expect_ok(call.run("DEL", &conf)?, "DEL").map(|_| ())
        });
    }
    rep.step("nothing left on mock-vpp", || {
        let s = VppState::read(mock.socket())?;
        if s.is_pristine() {
            Ok(())
        } else {
            Err(Error::Check(format!("left: {s:?}")))
        }
    });
    rep.step("nothing left in shared, data and IPAM dirs", || {
        let left = leftovers(&[&dirs.shared, &dirs.data, &dirs.ipam]);
        if left.is_empty() {
            Ok(())
        } else {
            Err(Error::Check(format!("left: {left:?}")))
        }
    });
    drop(mock);
    drop(namespaces);
    let total = rep.start.elapsed().as_secs_f64();
    if rep.failures == 0 {
        eprintln!("demo passed in {total:.2} s");
        Ok(())
    } else {
        Err(Error::Check(format!("{} step(s) failed", rep.failures)))
    }
}

/// Files under `dirs` other than lock files and host-local's per-network lock.
pub fn leftovers(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if !(name == ".lock" || name == "lock" || name.starts_with("last_reserved_ip")) {
                out.push(p);
            }
        }
    }
    out
}
