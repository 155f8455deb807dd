//! Every shipped scenario on both backends: network namespaces and real Docker containers
//! (a Docker engine must answer; nothing is pulled, the pod image is built locally).

use harness::runner::{run, Options};
use harness::scenario::{scenarios_dir, Scenario};
use rstest::rstest;

/// Scenarios on the real OVS-DPDK (`*-real`, `k8s-ovs-vhostuser`) run one at a time (two userspace datapaths in one
/// network namespace clash).
static REAL_OVS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[rstest]
fn scenario_passes(
    #[values(
        "vpp-memif-ping",
        "vpp-vhostuser-ping",
        "churn",
        "scale",
        "ovs-vhostuser",
        "ovs-vhostuser-real",
        "mixed-engines",
        "k8s-vpp-memif-ping",
        "k8s-ovs-vhostuser",
        "k8s-churn"
    )]
    name: &str,
    #[values("netns", "docker")] backend: &str,
) {
    let _serial = (name.ends_with("-real") || name == "k8s-ovs-vhostuser")
        .then(|| REAL_OVS.lock().unwrap_or_else(|e| e.into_inner()));
    let scenario = Scenario::all(&scenarios_dir())
        .unwrap()
        .remove(name)
        .expect("shipped scenario");
    let opts = Options {
        backend: Some(backend.into()),
        keep: false,
    };
    let report = run(&scenario, &opts).unwrap();
    let failed: Vec<_> = report.steps.iter().filter(|s| !s.ok).collect();
    assert!(report.passed, "{name} on {backend}: {failed:#?}");
    assert!(report
        .steps
        .iter()
        .any(|s| s.step == "backend left nothing" && s.ok));
}

#[test]
fn every_shipped_scenario_is_covered() {
    let names: Vec<String> = Scenario::all(&scenarios_dir())
        .unwrap()
        .into_keys()
        .collect();
    let covered = [
        "vpp-memif-ping",
        "vpp-vhostuser-ping",
        "churn",
        "scale",
        "ovs-vhostuser",
        "ovs-vhostuser-real",
        "mixed-engines",
        "k8s-vpp-memif-ping",
        "k8s-ovs-vhostuser",
        "k8s-churn",
    ];
    for n in &names {
        assert!(
            covered.contains(&n.as_str()),
            "scenario {n} is not run by the tests"
        );
    }
}
