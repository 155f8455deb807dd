//! `--fault` rules (fail with a status, Retry-After, stall, drop, exit) and `--state`
//! persistence across a restart.

mod common;

use std::time::Duration;

use common::bed::Bed;
use common::Client;
use mock_kube::{Options, Server};
use serde_json::json;

const PODS: &str = "/api/v1/namespaces/default/pods";

fn server(faults: &[&str]) -> (Server, Client) {
    let mut o = Options::new("127.0.0.1:0".parse().unwrap());
    o.faults = faults.iter().map(|f| f.parse().unwrap()).collect();
    let s = Server::spawn(o).unwrap();
    let c = Client::new(s.addr, &s.ca_pem, s.token("admin"));
    let pod = json!({"metadata": {"name": "p1"},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}});
    assert_eq!(c.post(PODS, &pod).code, 201);
    (s, c)
}

fn sigterm(child: &std::process::Child) {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

#[test]
fn fail_answers_the_status_once_and_changes_nothing() {
    let (_s, c) = server(&["fail:patch/pods:1:409", "fail:get/pods:2:429/1"]);
    let body = json!({"metadata": {"annotations": {"a": "1"}}});
    let r = c.patch(&format!("{PODS}/p1"), "application/merge-patch+json", &body);
    assert_eq!(
        (r.code, r.json()["reason"].clone()),
        (409, json!("Conflict"))
    );
    assert_eq!(
        c.get(&format!("{PODS}/p1")).json()["metadata"]["annotations"],
        json!(null)
    );
    let r = c.get(&format!("{PODS}/p1"));
    assert_eq!(r.code, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["details"]["retryAfterSeconds"], 1);
    let r = c.patch(&format!("{PODS}/p1"), "application/merge-patch+json", &body);
    assert_eq!(r.code, 200);
    assert_eq!(r.json()["metadata"]["annotations"]["a"], "1");
}

#[test]
fn stall_and_drop_act_on_that_connection_only() {
    let (_s, c) = server(&["stall:get/pods:1", "drop:get/pods:2"]);
    let raw = c.raw(
        "GET",
        &format!("{PODS}/p1"),
        None,
        b"",
        "application/json",
        Duration::from_secs(2),
    );
    assert!(raw.is_empty(), "a stalled request gets no answer");
    let raw = c.raw(
        "GET",
        &format!("{PODS}/p1"),
        None,
        b"",
        "application/json",
        Duration::from_secs(30),
    );
    assert!(
        raw.is_empty(),
        "a dropped connection closes without an answer"
    );
    assert_eq!(c.get(&format!("{PODS}/p1")).code, 200);
}

#[test]
fn kubectl_retries_after_429_with_retry_after() {
    let bed = Bed::start(&["--fault", "fail:get/pods:1:429/1"]);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  containers: [{name: c, image: i}]\n";
    let f = bed.write("pod.yaml", pod);
    let out = bed.kubectl(&["apply", "-f", f.to_str().unwrap(), "-v=6"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("429 Too Many Requests"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pod/p1 created\n");
}

#[test]
fn exit_ends_the_process() {
    let mut bed = Bed::start(&["--fault", "exit:list/configmaps"]);
    let _ = bed.kubectl(&["get", "configmaps"]);
    let status = bed.child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
}

#[test]
fn state_survives_a_restart_with_the_same_credentials() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("state.json");
    let args = ["--state", file.to_str().unwrap()];
    let mut bed = Bed::start(&args);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  containers: [{name: c, image: i}]\n";
    let f = bed.write("pod.yaml", pod);
    bed.ok(&["apply", "-f", f.to_str().unwrap()]);
    let uid = bed.ok(&["get", "pod", "p1", "-o", "jsonpath={.metadata.uid}"]);
    sigterm(&bed.child);
    assert!(
        bed.child.wait().unwrap().success(),
        "SIGTERM ends mock-kube cleanly"
    );
    let old = std::fs::read_to_string(bed.kubeconfig()).unwrap();
    drop(bed);

    let bed = Bed::start(&args);
    // The old kubeconfig (CA, tokens) still works, only the port differs.
    let port = |k: &str| {
        k.split("127.0.0.1:")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let new = std::fs::read_to_string(bed.kubeconfig()).unwrap();
    std::fs::write(bed.kubeconfig(), old.replace(&port(&old), &port(&new))).unwrap();
    assert_eq!(
        bed.ok(&["get", "pod", "p1", "-o", "jsonpath={.metadata.uid}"]),
        uid
    );
    let rv = |b: &Bed, n: &str| -> u64 {
        b.ok(&[
            "get",
            "pod",
            n,
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .unwrap()
    };
    let before = rv(&bed, "p1");
    let f = bed.write("pod.yaml", &pod.replace("p1", "p2"));
    bed.ok(&["apply", "-f", f.to_str().unwrap()]);
    assert!(
        rv(&bed, "p2") > before,
        "resourceVersions continue after a restart"
    );
}
