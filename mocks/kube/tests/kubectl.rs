//! Real kubectl against the mock-kube binary, with default flags: apply, get (JSON, YAML,
//! tables), annotate, the three patch types, delete with its wait, watch, and how errors
//! print.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

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

#[test]
fn apply_get_annotate_patch_delete() {
    let bed = Bed::start(&[]);
    let f = bed.write("pod.yaml", POD);
    let f = f.to_str().unwrap();
    assert_eq!(bed.ok(&["apply", "-f", f]), "pod/p1 created\n");
    assert_eq!(bed.ok(&["apply", "-f", f]), "pod/p1 unchanged\n");
    bed.write("pod.yaml", &POD.replace("app: web", "app: db"));
    assert_eq!(bed.ok(&["apply", "-f", f]), "pod/p1 configured\n");

    let p: Value = serde_json::from_str(&bed.ok(&["get", "pod", "p1", "-o", "json"])).unwrap();
    assert_eq!(p["metadata"]["labels"]["app"], "db");
    assert_eq!(p["status"]["phase"], "Pending");
    assert!(
        p["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    let yaml = bed.ok(&["get", "pod", "p1", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: Pod\n") && yaml.contains("  phase: Pending\n"),
        "{yaml}"
    );
    assert_eq!(bed.ok(&["get", "pod", "p1", "-o", "name"]), "pod/p1\n");

    let table = bed.ok(&["get", "pods"]);
    let lines: Vec<&str> = table.lines().collect();
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(head, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert!(
        lines[1].starts_with("p1 ") && lines[1].contains("0/1") && lines[1].contains("Pending"),
        "{table}"
    );
    let wide = bed.ok(&["get", "pods", "-o", "wide", "-l", "app=db"]);
    assert!(
        wide.lines().next().unwrap().contains("NOMINATED NODE"),
        "{wide}"
    );
    assert_eq!(bed.ok(&["get", "pods", "-l", "app=web"]), "");

    assert_eq!(
        bed.ok(&["annotate", "pod", "p1", "a=1"]),
        "pod/p1 annotated\n"
    );
    let e = bed.fails(&["annotate", "pod", "p1", "a=2"]);
    assert!(e.contains("--overwrite is false"), "{e}");
    bed.ok(&["annotate", "pod", "p1", "a=2", "--overwrite"]);
    assert_eq!(
        bed.ok(&[
            "patch",
            "pod",
            "p1",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"labels":{"x":"y"}}}"#
        ]),
        "pod/p1 patched\n"
    );
    assert_eq!(
        bed.ok(&[
            "patch",
            "pod",
            "p1",
            "-p",
            r#"{"metadata":{"labels":{"x":"y"}}}"#
        ]),
        "pod/p1 patched (no change)\n"
    );
    bed.ok(&[
        "patch",
        "pod",
        "p1",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/labels/x"}]"#,
    ]);
    bed.ok(&[
        "patch",
        "pod",
        "p1",
        "--subresource",
        "status",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"phase":"Running"}}"#,
    ]);
    let p: Value = serde_json::from_str(&bed.ok(&["get", "pod", "p1", "-o", "json"])).unwrap();
    assert_eq!(p["metadata"]["annotations"]["a"], "2");
    assert!(p["metadata"]["labels"]["x"].is_null());
    assert_eq!(p["status"]["phase"], "Running");

    assert_eq!(bed.ok(&["delete", "pod", "p1"]), "pod \"p1\" deleted\n");
    let e = bed.fails(&["get", "pod", "p1"]);
    assert_eq!(
        e.trim(),
        "Error from server (NotFound): pods \"p1\" not found"
    );
}

#[test]
fn errors_print_as_from_a_real_server() {
    let bed = Bed::start(&[]);
    let e = bed.fails(&["get", "pod", "x", "-n", "nons"]);
    assert_eq!(
        e.trim(),
        "Error from server (NotFound): namespaces \"nons\" not found"
    );
    let e = bed.fails(&["--context", "nobody", "get", "pods"]);
    assert_eq!(
        e.trim(),
        "Error from server (Forbidden): pods is forbidden: User \"nobody\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let e = bed.fails(&["--token", "wrong", "get", "pods"]);
    assert!(
        e.contains("error: You must be logged in to the server"),
        "{e}"
    );
    let f = bed.write("bad.yaml", &POD.replace("name: p1", "name: P_1"));
    let e = bed.fails(&["apply", "-f", f.to_str().unwrap()]);
    assert!(
        e.contains("The Pod \"P_1\" is invalid: metadata.name: Invalid value: \"P_1\""),
        "{e}"
    );
}

#[test]
fn watch_shows_each_event() {
    let bed = Bed::start(&[]);
    let f = bed.write("pod.yaml", POD);
    bed.ok(&["apply", "-f", f.to_str().unwrap()]);
    let mut w = bed
        .kubectl_cmd(&["get", "pods", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(w.stdout.take().unwrap()).lines();
    let mut next = || lines.next().expect("watch output").unwrap();
    assert!(next().starts_with("EVENT "));
    assert!(next().starts_with("ADDED "));
    bed.ok(&["annotate", "pod", "p1", "k=v"]);
    assert!(next().starts_with("MODIFIED "));
    bed.ok(&["delete", "pod", "p1"]);
    let l = next();
    assert!(l.starts_with("DELETED ") && l.contains(" p1 "), "{l}");
    let _ = w.kill();
    let _ = w.wait();
}

#[test]
fn apply_daemonset_rbac_and_network_attachment_definition() {
    let bed = Bed::start(&[]);
    let f = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/userspace-cni.yaml");
    let out = bed.ok(&["apply", "-f", f]);
    assert_eq!(
        out,
        "serviceaccount/userspace-cni created\n\
         clusterrole.rbac.authorization.k8s.io/userspace-cni created\n\
         clusterrolebinding.rbac.authorization.k8s.io/userspace-cni created\n\
         configmap/cfg created\n\
         daemonset.apps/userspace-cni created\n\
         networkattachmentdefinition.k8s.cni.cncf.io/userspace-vpp created\n"
    );
    assert!(bed
        .ok(&["apply", "-f", f])
        .lines()
        .all(|l| l.ends_with(" unchanged")));
    let ds: Value = serde_json::from_str(&bed.ok(&[
        "get",
        "ds",
        "-n",
        "kube-system",
        "userspace-cni",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(ds["spec"]["updateStrategy"]["type"], "RollingUpdate");
    assert_eq!(ds["metadata"]["generation"], 1);
    let nads = bed.ok(&["get", "net-attach-def", "-o", "name"]);
    assert_eq!(
        nads,
        "networkattachmentdefinition.k8s.cni.cncf.io/userspace-vpp\n"
    );
    let cms = bed.ok(&[
        "get",
        "cm",
        "-n",
        "kube-system",
        "--field-selector",
        "metadata.name=cfg",
    ]);
    assert!(cms.lines().nth(1).unwrap().starts_with("cfg "), "{cms}");
    // A spec change bumps a DaemonSet's generation.
    bed.ok(&[
        "patch",
        "ds",
        "-n",
        "kube-system",
        "userspace-cni",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"install","image":"x:2"}]}}}}"#,
    ]);
    let ds: Value = serde_json::from_str(&bed.ok(&[
        "get",
        "ds",
        "-n",
        "kube-system",
        "userspace-cni",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(ds["metadata"]["generation"], 2);
    let out = bed.ok(&["delete", "-f", f]);
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(out.lines().all(|l| l.ends_with(" deleted")), "{out}");
}

#[test]
fn auth_can_i_and_whoami_follow_the_role_table() {
    let bed = Bed::start(&[]);
    let can = |args: &[&str]| {
        let o = bed.kubectl(args);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(can(&["auth", "can-i", "delete", "daemonsets"]), "yes");
    assert_eq!(
        can(&[
            "--context",
            "plugin",
            "auth",
            "can-i",
            "patch",
            "pods",
            "--subresource=status"
        ]),
        "yes"
    );
    assert_eq!(
        can(&["--context", "plugin", "auth", "can-i", "list", "pods"]),
        "no"
    );
    assert_eq!(
        can(&["--context", "multus", "auth", "can-i", "patch", "pods"]),
        "no"
    );
    let who = bed.ok(&["--context", "multus", "auth", "whoami"]);
    assert!(who.contains("multus"), "{who}");
}

#[test]
fn create_and_replace_from_manifests() {
    let bed = Bed::start(&[]);
    let ns = bed.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: foo}\n",
    );
    assert_eq!(
        bed.ok(&["create", "-f", ns.to_str().unwrap()]),
        "namespace/foo created\n"
    );
    let pod = bed.write(
        "pod.yaml",
        &POD.replace("name: p1", "name: p1\n  namespace: foo"),
    );
    bed.ok(&["create", "-f", pod.to_str().unwrap()]);
    let stored = bed.write(
        "stored.yaml",
        &bed.ok(&["get", "-n", "foo", "pod", "p1", "-o", "yaml"]),
    );
    bed.ok(&["label", "-n", "foo", "pod", "p1", "x=y"]);
    let e = bed.fails(&["replace", "-f", stored.to_str().unwrap()]);
    assert!(
        e.contains("Error from server (Conflict)") && e.contains("the object has been modified"),
        "{e}"
    );
    assert_eq!(
        bed.ok(&["delete", "ns", "foo"]),
        "namespace \"foo\" deleted\n"
    );
    let e = bed.fails(&["get", "pod", "p1", "-n", "foo"]);
    assert!(e.contains("namespaces \"foo\" not found"), "{e}");
}
