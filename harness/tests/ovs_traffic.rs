//! Real traffic through real OVS-DPDK: the plugin gives two pods a vhost-user port on one
//! bridge (OVS is the vhost-user server); in each pod DPDK's `net_virtio_user` opens the
//! socket from the shared directory — `dpdk-testpmd` in txonly mode in one pod, rxonly in
//! the other — and the second counts what the first sent through the bridge.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use harness::bins;
use harness::ovs::OvsServer;
use harness::plugin::PluginCall;
use serde_json::json;

fn testpmd(socket: &Path, mode: &str, log: &Path) -> Child {
    let found = Command::new("sh")
        .args(["-c", "command -v dpdk-testpmd"])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "dpdk-testpmd not found: run ci/install-deps.sh (Debian dpdk)"
    );
    Command::new("dpdk-testpmd")
        .args([
            "-l",
            "0-1",
            "--no-huge",
            "-m",
            "128",
            "--no-pci",
            "--no-shconf",
        ])
        .arg(format!("--file-prefix=pod{mode}{}", std::process::id()))
        .arg(format!(
            "--vdev=net_virtio_user0,path={},queues=1",
            socket.display()
        ))
        .args([
            "--",
            "--no-mlockall",
            "--total-num-mbufs=2048",
            "--auto-start",
            "--stats-period=1",
        ])
        .arg(format!("--forward-mode={mode}"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut c: Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    for _ in 0..100 {
        if c.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// The largest `RX-packets:` figure testpmd printed.
fn rx_packets(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| l.split("RX-packets:").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn two_pods_exchange_packets_through_ovs_dpdk() {
    let root = tempfile::Builder::new()
        .prefix("tr")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = OvsServer::real(&root.path().join("o")).unwrap();
    let conf = json!({
        "cniVersion": "1.0.0", "type": "userspace", "name": "ovs-traffic",
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                 "vhost": {"mode": "server"}, "bridge": {"bridgeName": "br-tr"}, "apiSocket": ovs.socket()},
        "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"},
        "sharedDir": root.path().join("s"), "dataDir": root.path().join("d"), "timeoutMs": 20000
    });
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let pods: Vec<PluginCall> = ["aaaaaaaaaaaa0001", "bbbbbbbbbbbb0002"]
        .iter()
        .map(|id| {
            PluginCall::new(
                &plugin,
                &bins::cni_path(&[]),
                id,
                &netns.display().to_string(),
                "net1",
            )
        })
        .collect();
    for p in &pods {
        let out = p.run("ADD", &conf).unwrap();
        assert!(out.success, "ADD: {} {}", out.stdout, out.stderr);
    }
    let socket = |id: &str| {
        root.path()
            .join("s")
            .join(&id[..12])
            .join(format!("{}-net1", &id[..12]))
    };
    let (rx_log, tx_log) = (root.path().join("rx.log"), root.path().join("tx.log"));
    let rx = testpmd(&socket("bbbbbbbbbbbb0002"), "rxonly", &rx_log);
    std::thread::sleep(Duration::from_secs(2));
    let tx = testpmd(&socket("aaaaaaaaaaaa0001"), "txonly", &tx_log);
    std::thread::sleep(Duration::from_secs(5));
    stop(tx);
    std::thread::sleep(Duration::from_millis(500));
    stop(rx);
    let rx_text = std::fs::read_to_string(&rx_log).unwrap_or_default();
    let received = rx_packets(&rx_text);
    eprintln!("the rxonly pod received {received} packets");
    let stats = ovs
        .vsctl(&["get", "Interface", "bbbbbbbbbbbb-net1", "statistics"])
        .unwrap_or_default();
    for p in &pods {
        let out = p.run("DEL", &conf).unwrap();
        assert!(out.success, "DEL: {}", out.stdout);
    }
    assert!(
        received > 0,
        "the rxonly pod received nothing; OVS stats: {stats}\nrx:\n{rx_text}\ntx:\n{}",
        std::fs::read_to_string(&tx_log).unwrap_or_default()
    );
    assert_eq!(ovs.vsctl(&["list-br"]).unwrap(), "");
}
