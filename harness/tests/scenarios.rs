//! The shipped scenarios, run end to end on both backends: the original vppDemo (two pods
//! pinging through the host VPP's bridge domain 4) on network namespaces and on real Docker
//! containers, and the churn scenario.

use harness::runner::{run, Options};
use harness::scenario::{scenarios_dir, Scenario};

fn scenario(name: &str) -> Scenario {
    Scenario::all(&scenarios_dir())
        .unwrap()
        .remove(name)
        .expect("shipped scenario")
}

fn passes(name: &str, backend: &str) {
    let opts = Options {
        backend: Some(backend.into()),
        keep: false,
    };
    let report = run(&scenario(name), &opts).unwrap();
    let failed: Vec<_> = report.steps.iter().filter(|s| !s.ok).collect();
    assert!(report.passed, "{name} on {backend}: {failed:#?}");
    assert!(report
        .steps
        .iter()
        .any(|s| s.step == "backend left nothing" && s.ok));
}

#[test]
fn vpp_memif_ping_on_netns() {
    passes("vpp-memif-ping", "netns");
}

#[test]
fn churn_on_netns() {
    passes("churn", "netns");
}

#[test]
fn scale_on_netns() {
    passes("scale", "netns");
}

/// Needs a Docker engine (no registry: the pod image is built from this workspace).
#[test]
fn vpp_memif_ping_on_docker() {
    passes("vpp-memif-ping", "docker");
}
