//! `harness bench`: the plugin's ADD and DEL as a runtime execs them, timed and measured
//! (wall time per exec, the plugin's peak RSS), on an empty host and with hundreds or a
//! thousand attachments already there, alone and in parallel. Figures only: targets are
//! read off the printed table, never asserted by timing tests.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::demo::{netconf, DemoDirs};
use crate::mock_vpp::MockVpp;
use crate::{bins, Error, Result};

/// One measured exec.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

/// A row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub case: String,
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_rss_kib: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// Runs the plugin once, returning its stdout and what it cost.
fn exec(
    plugin: &Path,
    command: &str,
    id: &str,
    netns: &str,
    cni_path: &str,
    stdin: &[u8],
) -> Result<(String, Sample, bool)> {
    let start = Instant::now();
    let mut child = Command::new(plugin)
        .env_clear()
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", netns)
        .env("CNI_IFNAME", "net1")
        .env("CNI_PATH", cni_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Spawn("userspace".into(), e))?;
    child.stdin.take().expect("stdin").write_all(stdin)?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)?;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: nix has no wait4 (the child's own rusage); this waits for our own child
    // with out-pointers valid for the call; the Child is not waited on again (it is
    // dropped without wait). `rusage` is plain integers, so zeroed is a valid value.
    let (rc, usage) = unsafe {
        let rc = libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr());
        (rc, usage.assume_init())
    };
    let wall = start.elapsed();
    if rc < 0 {
        return Err(Error::Io(std::io::Error::last_os_error()));
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((
        out,
        Sample {
            wall,
            max_rss_kib: usage.ru_maxrss,
        },
        ok,
    ))
}

fn row(case: &str, samples: &[Sample]) -> Row {
    let mut ms: Vec<f64> = samples
        .iter()
        .map(|s| s.wall.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    Row {
        case: case.into(),
        n: samples.len(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_rss_kib: samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0),
    }
}

struct Bed {
    _root: tempfile::TempDir,
    dirs: DemoDirs,
    mock: MockVpp,
    plugin: PathBuf,
    netns: String,
    cni_path: String,
}

impl Bed {
    fn new(plugin: &Path) -> Result<Bed> {
        let root = tempfile::Builder::new().prefix("usrsp-bench").tempdir()?;
        let dirs = DemoDirs::under(root.path());
        std::fs::create_dir_all(dirs.api_socket.parent().expect("dir"))?;
        // As on a node, where the shared directories' base (VPP's or OVS's run directory
        // by default) is there before any pod: each ADD makes and each DEL removes only the
        // pod's own directory.
        std::fs::create_dir_all(&dirs.shared)?;
        let mock = MockVpp::start(&dirs.api_socket)?;
        let netns = root.path().join("netns");
        std::fs::write(&netns, b"")?;
        Ok(Bed {
            plugin: plugin.to_path_buf(),
            netns: netns.display().to_string(),
            cni_path: bins::cni_path(&[]),
            _root: root,
            dirs,
            mock,
        })
    }

    fn conf(&self, ipam: bool, bridge: u32) -> Vec<u8> {
        let mut c = netconf(&self.dirs, "1.0.0", ipam);
        c["host"]["bridge"] = json!({ "bridgeId": bridge });
        if ipam {
            // Room for every attachment the bench makes.
            c["ipam"]["subnet"] = json!("10.128.0.0/14");
        }
        serde_json::to_vec(&c).expect("json")
    }

    fn run(&self, command: &str, id: &str, conf: &[u8]) -> Result<Sample> {
        let (out, sample, ok) = exec(&self.plugin, command, id, &self.netns, &self.cni_path, conf)?;
        if !ok {
            return Err(Error::Check(format!("{command} {id}: {out}")));
        }
        Ok(sample)
    }

    /// `n` ADD+DEL pairs of fresh attachments; (ADD samples, DEL samples).
    fn pairs(&self, tag: &str, n: usize, conf: &[u8]) -> Result<(Vec<Sample>, Vec<Sample>)> {
        let (mut adds, mut dels) = (Vec::new(), Vec::new());
        for i in 0..n {
            let id = format!("b{tag}{i:08x}");
            adds.push(self.run("ADD", &id, conf)?);
            dels.push(self.run("DEL", &id, conf)?);
        }
        Ok((adds, dels))
    }
}

/// Runs the whole bench; `quick` for a short smoke run, `ovs_only` for the OVS rows alone.
pub fn run(quick: bool, ovs_only: bool) -> Result<BenchReport> {
    let n = if quick { 20 } else { 200 };
    let scale: &[usize] = if quick { &[0, 100] } else { &[0, 100, 1000] };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let has_host_local = Path::new("/usr/lib/cni/host-local").exists();
    // The plugin as it is installed: statically linked.
    let plugin = crate::images::static_binaries()?.join("userspace");
    notes.push(format!("plugin: {}", plugin.display()));
    // First, before the other rows create and remove thousands of files: a filesystem
    // without a journal (this machine's) skips inodes freed in the last minutes when it
    // makes a new file, so every file ADD makes would cost more for a while, on the
    // plugin's side of the comparison only.
    ovs_rows(&plugin, n.min(100), &mut rows, &mut notes);
    if ovs_only {
        return Ok(BenchReport { rows, notes });
    }

    for ipam in [false, true] {
        if ipam && !has_host_local {
            notes.push(
                "host-local not installed: IPAM rows skipped (run ci/install-deps.sh)".into(),
            );
            continue;
        }
        let bed = Bed::new(&plugin)?;
        let label = if ipam { "host-local" } else { "no IPAM" };
        let conf = bed.conf(ipam, 4);
        bed.pairs("w", 5, &conf)?; // warm caches
        let (adds, dels) = bed.pairs("e", n, &conf)?;
        rows.push(row(&format!("mock-vpp ADD, {label}"), &adds));
        rows.push(row(&format!("mock-vpp DEL, {label}"), &dels));
    }
    // What static linking saves: the same with the default (dynamically linked) build.
    let dynamic = Bed::new(&bins::binary("userspace-cni", "userspace")?)?;
    let conf = dynamic.conf(false, 4);
    dynamic.pairs("w", 5, &conf)?;
    let (adds, dels) = dynamic.pairs("d", n, &conf)?;
    rows.push(row(
        "mock-vpp ADD, no IPAM, glibc dynamically linked build",
        &adds,
    ));
    rows.push(row(
        "mock-vpp DEL, no IPAM, glibc dynamically linked build",
        &dels,
    ));
    drop(dynamic);

    let bed = Bed::new(&plugin)?;
    let parallel = if quick { 8 } else { 32 };
    let conf = std::sync::Arc::new(bed.conf(false, 4));
    let bed = std::sync::Arc::new(bed);
    let start = Instant::now();
    let handles: Vec<_> = (0..parallel)
        .map(|i| {
            let (bed, conf) = (bed.clone(), conf.clone());
            std::thread::spawn(move || bed.run("ADD", &format!("p{i:08x}"), &conf))
        })
        .collect();
    let mut samples = Vec::new();
    for h in handles {
        samples.push(
            h.join()
                .map_err(|_| Error::Check("bench thread".into()))??,
        );
    }
    let secs = start.elapsed().as_secs_f64();
    rows.push(row(&format!("{parallel} parallel ADDs (each)"), &samples));
    notes.push(format!(
        "{parallel} parallel ADDs: {:.0} pods/s",
        parallel as f64 / secs
    ));
    drop(bed);

    // Scale: one mock-vpp per (shape, number of attachments already there), filled first,
    // then measured in turns (one ADD+DEL on each in every round) so that whatever else
    // the machine does in the meantime weighs on every bed alike.
    let mut beds = Vec::new();
    for (many_bridges, shape) in [(false, "one bridge"), (true, "one bridge each")] {
        for &existing in scale {
            let bed = Bed::new(&plugin)?;
            for k in 0..existing {
                let bridge = if many_bridges { 100 + k as u32 } else { 4 };
                bed.run("ADD", &format!("s{k:08x}"), &bed.conf(false, bridge))?;
            }
            let conf = bed.conf(false, 4);
            bed.pairs("w", 5, &conf)?;
            let case = format!("ADD, {existing} attachments on the host ({shape})");
            beds.push((case, bed, conf, Vec::new()));
        }
    }
    for i in 0..n {
        for (_, bed, conf, adds) in &mut beds {
            let id = format!("x{i:08x}");
            adds.push(bed.run("ADD", &id, conf)?);
            bed.run("DEL", &id, conf)?;
        }
    }
    for (case, bed, _, adds) in &beds {
        rows.push(row(case, adds));
        if !quick && case.ends_with("1000 attachments on the host (one bridge)") {
            notes.push(format!(
                "mock-vpp RSS with 1000 interfaces: {} KiB",
                rss_kib(bed.mock.pid())
            ));
        }
    }
    drop(beds);
    Ok(BenchReport { rows, notes })
}

/// How long ovs-vswitchd is left alone, untimed, after a port's socket file is gone.
/// (With PMD threads that sleep when idle, the teardown of a removed vhost-user port goes on
/// for 50-200 ms after its socket file is gone.)
const SETTLE: Duration = Duration::from_millis(150);

/// The ovs-dpdk engine on mock-ovsdb, and on a real OVS-DPDK side by side with the
/// original plugin's `ovs-vsctl` sequence (interleaved, same server, same run).
fn ovs_rows(plugin: &Path, n: usize, rows: &mut Vec<Row>, notes: &mut Vec<String>) {
    use crate::ovs::OvsServer;
    let run = |ovs: &OvsServer,
               tag: &str,
               rows: &mut Vec<Row>,
               compare: bool,
               notes: &mut Vec<String>|
     -> Result<()> {
        let root = tempfile::Builder::new().prefix("bo").tempdir_in("/tmp")?;
        let netns = root.path().join("netns");
        std::fs::write(&netns, b"")?;
        // The shared directories' base is there before any pod (see `Bed::new`).
        std::fs::create_dir(root.path().join("s"))?;
        let conf = serde_json::to_vec(&json!({
            "cniVersion": "1.0.0", "type": "userspace", "name": "bench-ovs",
            "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                     "vhost": {"mode": "server"}, "bridge": {"bridgeName": "br-bench"}, "apiSocket": ovs.socket()},
            "container": {"engine": "ovs-dpdk", "iftype": "vhostuser"},
            "sharedDir": root.path().join("s"), "dataDir": root.path().join("d"), "timeoutMs": 20000
        }))
        .expect("json");
        let cni_path = bins::cni_path(&[]);
        // Keep the bridge for the whole run, as on a node with pods.
        ovs.vsctl(&[
            "add-br",
            "br-bench",
            "--",
            "set",
            "bridge",
            "br-bench",
            "datapath_type=netdev",
        ])?;
        // On a real OVS, each timed sequence starts with ovs-vswitchd idle. A removed
        // vhost-user port is torn down after ovs-vswitchd reports the change applied
        // (`cur_cfg`), and that work would land on whatever runs next; so wait, untimed,
        // for an ovs-vsctl change to be applied, for the port's socket file to be gone, and
        // a little more.
        let settle = |port: &str| {
            if compare {
                let _ = ovs.vsctl(&["set", "Open_vSwitch", ".", "external_ids:bench=settle"]);
                let socket = ovs.socket().with_file_name(port);
                let deadline = Instant::now() + Duration::from_secs(2);
                while socket.exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(SETTLE);
            }
        };
        let (mut adds, mut dels, mut ours, mut theirs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let short: String = tag
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(4)
                .collect();
            let id = format!("o{short}{i:07x}abcd");
            let netns = netns.display().to_string();
            let call = |command: &str| -> Result<Sample> {
                let (out, sample, ok) = exec(plugin, command, &id, &netns, &cni_path, &conf)?;
                if ok {
                    Ok(sample)
                } else {
                    Err(Error::Check(format!("{command}: {out}")))
                }
            };
            let port = port_of(&id);
            let start = Instant::now();
            let a = call("ADD")?;
            let d = call("DEL")?;
            ours.push(Sample {
                wall: start.elapsed(),
                max_rss_kib: a.max_rss_kib.max(d.max_rss_kib),
            });
            adds.push(a);
            dels.push(d);
            settle(&port);
            if compare {
                theirs.push(original_sequence(ovs, &port)?);
                settle(&port);
            }
        }
        rows.push(row(&format!("{tag} ADD, no IPAM"), &adds));
        rows.push(row(&format!("{tag} DEL, no IPAM"), &dels));
        if Path::new("/usr/lib/cni/host-local").exists() {
            let mut with_ipam: Value = serde_json::from_slice(&conf).expect("json");
            with_ipam["ipam"] = json!({
                "type": "host-local", "subnet": "10.128.0.0/14",
                "dataDir": root.path().join("ipam"),
            });
            let with_ipam = serde_json::to_vec(&with_ipam).expect("json");
            let netns = netns.display().to_string();
            let (mut adds, mut dels) = (Vec::new(), Vec::new());
            for i in 0..n {
                let id = format!("h{i:011x}abcd");
                for (command, into) in [("ADD", &mut adds), ("DEL", &mut dels)] {
                    let (out, sample, ok) =
                        exec(plugin, command, &id, &netns, &cni_path, &with_ipam)?;
                    if !ok {
                        return Err(Error::Check(format!("{command}: {out}")));
                    }
                    into.push(sample);
                }
                settle(&port_of(&id));
            }
            rows.push(row(&format!("{tag} ADD, host-local"), &adds));
            rows.push(row(&format!("{tag} DEL, host-local"), &dels));
        }
        if compare {
            let (a, b) = (
                row(&format!("{tag} ADD+DEL, userspace-cni"), &ours),
                row(
                    &format!("{tag} ADD+DEL, original ovs-vsctl sequence"),
                    &theirs,
                ),
            );
            notes.push(format!("{tag}: the original's ovs-vsctl sequence takes {:.1}x as long as userspace-cni's ADD+DEL (p50 {:.2} ms vs {:.2} ms)", b.p50_ms / a.p50_ms, b.p50_ms, a.p50_ms));
            rows.push(a);
            rows.push(b);
        }
        ovs.vsctl(&["del-br", "br-bench"])?;
        Ok(())
    };
    let dir = tempfile::Builder::new().prefix("bm").tempdir_in("/tmp");
    match dir
        .map_err(Error::from)
        .and_then(|d| OvsServer::mock(&d.path().join("o")).map(|o| (d, o)))
    {
        Ok((_d, ovs)) => {
            if let Err(e) = run(&ovs, "mock-ovsdb", rows, false, notes) {
                notes.push(format!("mock-ovsdb rows failed: {e}"));
            }
        }
        Err(e) => notes.push(format!("mock-ovsdb not started: {e}")),
    }
    let dir = tempfile::Builder::new().prefix("br").tempdir_in("/tmp");
    match dir
        .map_err(Error::from)
        .and_then(|d| OvsServer::real(&d.path().join("o")).map(|o| (d, o)))
    {
        Ok((_d, ovs)) => {
            if let Err(e) = run(&ovs, "real OVS-DPDK", rows, true, notes) {
                notes.push(format!("real OVS rows failed: {e}"));
            }
        }
        Err(e) => notes.push(format!(
            "real OVS not available (run ci/install-deps.sh): {e}"
        )),
    }
}

/// The vhost-user port (and socket) name the plugin gives container `id`'s `net1`.
fn port_of(id: &str) -> String {
    format!("{}-net1", &id[..12])
}

/// The original plugin's ADD and DEL as ovs-vsctl runs (five processes per pod).
fn original_sequence(ovs: &crate::ovs::OvsServer, port: &str) -> Result<Sample> {
    let start = Instant::now();
    ovs.vsctl(&[
        "--bare",
        "--columns=name",
        "find",
        "bridge",
        "name=br-bench",
    ])?;
    ovs.vsctl(&[
        "add-port",
        "br-bench",
        port,
        "--",
        "set",
        "Interface",
        port,
        "type=dpdkvhostuser",
    ])?;
    ovs.vsctl(&[
        "--bare",
        "--columns=mac",
        "find",
        "port",
        &format!("name={port}"),
    ])?;
    ovs.vsctl(&["--if-exists", "del-port", "br-bench", port])?;
    ovs.vsctl(&["list-ports", "br-bench"])?;
    Ok(Sample {
        wall: start.elapsed(),
        max_rss_kib: 0,
    })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub fn print(report: &BenchReport) {
    println!(
        "{:<58} {:>5} {:>9} {:>9} {:>10}",
        "case", "n", "p50 ms", "p99 ms", "peak RSS"
    );
    for r in &report.rows {
        println!(
            "{:<58} {:>5} {:>9.2} {:>9.2} {:>7} KiB",
            r.case, r.n, r.p50_ms, r.p99_ms, r.max_rss_kib
        );
    }
    // Each scale row against the empty host of the same shape ("(one bridge)", ...).
    let shape = |case: &str| case.rsplit_once('(').map(|(_, s)| s.to_string());
    for r in report
        .rows
        .iter()
        .filter(|r| r.case.starts_with("ADD, ") && !r.case.starts_with("ADD, 0 "))
    {
        let base = report
            .rows
            .iter()
            .find(|b| b.case.starts_with("ADD, 0 attachments") && shape(&b.case) == shape(&r.case));
        if let Some(b) = base {
            println!(
                "  ratio {:<52} {:.2}x the empty host",
                r.case,
                r.p50_ms / b.p50_ms
            );
        }
    }
    for n in &report.notes {
        println!("  {n}");
    }
}

/// The report as JSON.
pub fn to_json(report: &BenchReport) -> Value {
    serde_json::to_value(report).expect("report serializes")
}
