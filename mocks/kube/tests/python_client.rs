//! The official Python client (PyPI `kubernetes`) drives the mock-kube binary through
//! tests/python_client.py: pods created, read, patched, replaced (409 when stale),
//! listed with selectors, watched, deleted; 403 for restricted tokens; in-cluster
//! configuration from the service-account directory; a custom resource.

mod common;

use std::process::Command;

use common::bed::Bed;

#[test]
fn python_client_accepts_mock_kube() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import kubernetes"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the kubernetes Python client is not installed: run ci/install-deps.sh\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let sa = tempfile::tempdir().unwrap();
    let bed = Bed::start(&["--service-account-dir", sa.path().to_str().unwrap()]);
    let kubeconfig = std::fs::read_to_string(bed.kubeconfig()).unwrap();
    let port = kubeconfig
        .split("https://127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("server URL in the kubeconfig");
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python_client.py"
        ))
        .arg(bed.kubeconfig())
        .arg(sa.path())
        .args(["127.0.0.1", port])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "python_client.py failed:\n{text}");
    assert!(text.contains("checks passed"), "{text}");
}
