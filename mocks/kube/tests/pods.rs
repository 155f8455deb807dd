//! The pod API over HTTPS, as kube clients use it: create, read, optimistic concurrency,
//! the three patch types, the status subresource, delete, and the 401/403 paths.

mod common;

use common::Client;
use mock_kube::{Options, Server};
use serde_json::{json, Value};

const PODS: &str = "/api/v1/namespaces/default/pods";

fn server() -> (Server, Client) {
    let s = Server::spawn(Options::new("127.0.0.1:0".parse().unwrap())).unwrap();
    let c = Client::new(s.addr, &s.ca_pem, s.token("admin"));
    (s, c)
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
}

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn pod_lifecycle() {
    let (_s, c) = server();
    let r = c.post(PODS, &pod("p1"));
    assert_eq!(r.code, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    assert_eq!(created["kind"], "Pod");
    assert_eq!(created["status"]["phase"], "Pending");
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert!(created["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let again = c.post(PODS, &pod("p1"));
    assert_eq!(
        (again.code, again.json()["reason"].clone()),
        (409, json!("AlreadyExists"))
    );

    let got = c.get(&format!("{PODS}/p1")).json();
    assert_eq!(got, created);

    // PUT with the current resourceVersion succeeds; with the old one, 409 Conflict.
    let mut upd = got.clone();
    upd["metadata"]["annotations"] = json!({"a": "1"});
    let r = c.put(&format!("{PODS}/p1"), &upd);
    assert_eq!(r.code, 200);
    let updated = r.json();
    assert!(rv(&updated) > rv(&created));
    assert_eq!(
        updated["metadata"]["generation"], 1,
        "metadata changes keep the generation"
    );
    let r = c.put(&format!("{PODS}/p1"), &upd);
    assert_eq!(r.code, 409);
    let st = r.json();
    assert_eq!(
        (st["kind"].clone(), st["reason"].clone()),
        (json!("Status"), json!("Conflict"))
    );
    assert!(st["message"]
        .as_str()
        .unwrap()
        .contains("the object has been modified"));

    // Patches: merge, strategic, JSON.
    let r = c.patch(
        &format!("{PODS}/p1"),
        "application/merge-patch+json",
        &json!({"metadata": {"annotations": {"b": "2", "a": null}}}),
    );
    assert_eq!(r.json()["metadata"]["annotations"], json!({"b": "2"}));
    let r = c.patch(
        &format!("{PODS}/p1"),
        "application/strategic-merge-patch+json",
        &json!({"metadata": {"annotations": {"c": "3"}}}),
    );
    assert_eq!(
        r.json()["metadata"]["annotations"],
        json!({"b": "2", "c": "3"})
    );
    let r = c.patch(&format!("{PODS}/p1"), "application/json-patch+json",
                    &json!([{"op": "add", "path": "/metadata/annotations/userspace~1mapped-dir", "value": "/d/"}]));
    assert_eq!(
        r.json()["metadata"]["annotations"]["userspace/mapped-dir"],
        "/d/"
    );
    let r = c.patch(
        &format!("{PODS}/p1"),
        "application/json-patch+json",
        &json!([{"op": "remove", "path": "/metadata/labels/nope"}]),
    );
    assert_eq!(
        (r.code, r.json()["reason"].clone()),
        (422, json!("Invalid"))
    );
    let r = c.patch(
        &format!("{PODS}/p1"),
        "application/merge-patch+json",
        &json!({"metadata": {"resourceVersion": "1"}}),
    );
    assert_eq!(
        r.code, 409,
        "a patch carrying a stale resourceVersion conflicts"
    );
    let r = c.patch(&format!("{PODS}/p1"), "text/plain", &json!({}));
    assert_eq!(r.code, 415);

    // Spec is immutable but for images.
    let r = c.patch(
        &format!("{PODS}/p1"),
        "application/merge-patch+json",
        &json!({"spec": {"restartPolicy": "Never"}}),
    );
    assert_eq!(r.code, 422);

    // pods/status: status and annotations change, spec stays.
    let r = c.patch(
        &format!("{PODS}/p1/status"),
        "application/merge-patch+json",
        &json!({"metadata": {"annotations": {"s": "1"}},
                            "spec": {"nodeName": "elsewhere"},
                            "status": {"phase": "Running", "podIP": "10.0.0.5"}}),
    );
    assert_eq!(r.code, 200);
    let p = r.json();
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(p["metadata"]["annotations"]["s"], "1");
    assert!(p["spec"]["nodeName"].is_null());
    // ...and the main resource ignores status.
    let r = c.patch(
        &format!("{PODS}/p1"),
        "application/merge-patch+json",
        &json!({"status": {"phase": "Failed"}}),
    );
    assert_eq!(r.json()["status"]["phase"], "Running");

    let list = c.get(&format!("{PODS}?labelSelector=app%3Dweb")).json();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = c.get(&format!("{PODS}?labelSelector=app%3Ddb")).json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    let r = c.delete(&format!("{PODS}/p1"));
    assert_eq!(r.code, 200);
    assert_eq!(r.json()["kind"], "Pod");
    let r = c.get(&format!("{PODS}/p1"));
    assert_eq!(r.code, 404);
    let st = r.json();
    assert_eq!(st["message"], "pods \"p1\" not found");
    assert_eq!(st["details"], json!({"name": "p1", "kind": "pods"}));
}

#[test]
fn tokens_and_roles() {
    let (s, c) = server();
    assert_eq!(c.post(PODS, &pod("p2")).code, 201);
    let anon = c.with_token(None);
    let r = anon.get(&format!("{PODS}/p2"));
    assert_eq!(
        (r.code, r.json()["reason"].clone()),
        (401, json!("Unauthorized"))
    );
    assert_eq!(c.with_token(Some("wrong")).get("/api").code, 401);
    assert_eq!(anon.get("/version").code, 200, "version is public");

    let nobody = c.with_token(s.token("nobody"));
    let r = nobody.get(&format!("{PODS}/p2"));
    assert_eq!(r.code, 403);
    assert_eq!(
        r.json()["message"],
        "pods \"p2\" is forbidden: User \"nobody\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    assert_eq!(
        nobody.get("/api").code,
        200,
        "discovery is open to authenticated users"
    );

    let plugin = c.with_token(s.token("plugin"));
    assert_eq!(plugin.get(&format!("{PODS}/p2")).code, 200);
    let r = plugin.patch(
        &format!("{PODS}/p2"),
        "application/merge-patch+json",
        &json!({"metadata": {"annotations": {"k": "v"}}}),
    );
    assert_eq!(r.code, 200);
    assert_eq!(plugin.get(PODS).code, 403);
    assert_eq!(plugin.delete(&format!("{PODS}/p2")).code, 403);
    assert_eq!(
        plugin.get("/api/v1/namespaces/default/configmaps").code,
        403
    );

    let multus = c.with_token(s.token("multus"));
    assert_eq!(multus.get(PODS).code, 200);
    let r = multus.patch(
        &format!("{PODS}/p2"),
        "application/merge-patch+json",
        &json!({}),
    );
    assert_eq!(r.code, 403);
    let mut p = multus.get(&format!("{PODS}/p2")).json();
    p["metadata"]["annotations"]["m"] = json!("1");
    assert_eq!(multus.put(&format!("{PODS}/p2/status"), &p).code, 200);
}

#[test]
fn namespaces_and_errors() {
    let (_s, c) = server();
    let ns = c.get("/api/v1/namespaces").json();
    let names: Vec<&str> = ns["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"default") && names.contains(&"kube-system"),
        "{names:?}"
    );
    let r = c.post("/api/v1/namespaces/nope/pods", &pod("p"));
    assert_eq!(
        (r.code, r.json()["message"].clone()),
        (404, json!("namespaces \"nope\" not found"))
    );
    let r = c.post(PODS, &json!({"metadata": {"name": "Bad_Name"}, "spec": {}}));
    assert_eq!(r.code, 422);
    let st = r.json();
    assert_eq!(st["details"]["kind"], "Pod");
    assert_eq!(st["details"]["causes"].as_array().unwrap().len(), 2);
    let r = c.send("POST", PODS, Some("application/json"), b"{not json");
    assert_eq!(r.code, 400);
    assert_eq!(c.get("/api/v1/nothing").code, 404);
    let r = c.post(
        PODS,
        &json!({"metadata": {"generateName": "gen-"},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    );
    assert_eq!(r.code, 201);
    assert!(r.json()["metadata"]["name"]
        .as_str()
        .unwrap()
        .starts_with("gen-"));
}

#[test]
fn files_for_clients() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new("127.0.0.1:0".parse().unwrap());
    o.kubeconfig = Some(dir.path().join("kubeconfig"));
    o.service_account_dir = Some(dir.path().join("sa"));
    o.sans = vec!["mock.example".into()];
    o.insecure_http = Some("127.0.0.1:0".parse().unwrap());
    let s = Server::spawn(o).unwrap();
    let k = std::fs::read_to_string(dir.path().join("kubeconfig")).unwrap();
    assert!(
        k.contains(&format!("server: \"https://127.0.0.1:{}\"", s.addr.port())),
        "{k}"
    );
    assert!(k.contains(s.token("admin").unwrap()));
    let token = std::fs::read_to_string(dir.path().join("sa/token")).unwrap();
    assert_eq!(token, s.token("plugin").unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sa/namespace")).unwrap(),
        "default"
    );
    let ca = std::fs::read_to_string(dir.path().join("sa/ca.crt")).unwrap();
    let mut c = Client::new(s.addr, &ca, Some(&token));
    assert_eq!(c.get(&format!("{PODS}/x")).code, 404);
    c.server_name = "mock.example".into();
    assert_eq!(
        c.get(&format!("{PODS}/x")).code,
        404,
        "--san names are in the certificate"
    );

    // Plain HTTP: no token is admin, a token is its user.
    let plain = |auth: &str| {
        use std::io::{Read, Write};
        let mut t = std::net::TcpStream::connect(s.insecure_addr.unwrap()).unwrap();
        write!(
            t,
            "GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n"
        )
        .unwrap();
        let mut out = String::new();
        t.read_to_string(&mut out).unwrap();
        out.split(' ').nth(1).unwrap().to_string()
    };
    assert_eq!(plain(""), "200");
    assert_eq!(plain(&format!("Authorization: Bearer {token}\r\n")), "403");
}

#[test]
fn finalizers_dry_run_and_delete_collection() {
    let (_s, c) = server();
    let mut p = pod("f1");
    p["metadata"]["finalizers"] = json!(["example.com/hold"]);
    assert_eq!(c.post(PODS, &p).code, 201);
    let r = c.delete(&format!("{PODS}/f1"));
    assert_eq!(r.code, 200);
    assert!(
        r.json()["metadata"]["deletionTimestamp"].is_string(),
        "finalizers hold the deletion"
    );
    let held = c.get(&format!("{PODS}/f1"));
    assert_eq!(held.code, 200);
    let r = c.patch(
        &format!("{PODS}/f1"),
        "application/merge-patch+json",
        &json!({"metadata": {"finalizers": null}}),
    );
    assert_eq!(r.code, 200);
    assert_eq!(
        c.get(&format!("{PODS}/f1")).code,
        404,
        "removing the last finalizer deletes"
    );

    let r = c.post(&format!("{PODS}?dryRun=All"), &pod("dry"));
    assert_eq!(r.code, 201);
    assert_eq!(
        c.get(&format!("{PODS}/dry")).code,
        404,
        "a dry run stores nothing"
    );

    for n in ["d1", "d2", "keep"] {
        let mut p = pod(n);
        if n == "keep" {
            p["metadata"]["labels"] = json!({"app": "db"});
        }
        assert_eq!(c.post(PODS, &p).code, 201);
    }
    let r = c.delete(&format!("{PODS}?labelSelector=app%3Dweb"));
    assert_eq!(r.code, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let left = c.get(PODS).json();
    let names: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["keep"]);
}

#[test]
fn watches_replay_from_a_resource_version() {
    let (_s, c) = server();
    let created = c.post(PODS, &pod("w1")).json();
    let from = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    c.patch(
        &format!("{PODS}/w1"),
        "application/merge-patch+json",
        &json!({"metadata": {"labels": {"x": "1"}}}),
    );
    c.delete(&format!("{PODS}/w1"));
    // timeoutSeconds=1 ends the stream after the replayed events.
    let r = c.get(&format!(
        "{PODS}?watch=true&resourceVersion={from}&timeoutSeconds=1"
    ));
    assert_eq!(r.code, 200);
    let events: Vec<Value> = String::from_utf8(r.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);
    assert_eq!(events[1]["object"]["kind"], "Pod");
    let r = c.get(&format!(
        "{PODS}?watch=true&fieldSelector=metadata.name%3Dnone&timeoutSeconds=1"
    ));
    assert_eq!((r.code, r.body.len()), (200, 0));
}

#[test]
fn selector_watches_see_objects_enter_and_leave() {
    let (_s, c) = server();
    let from = c.post(PODS, &pod("s1")).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    for app in ["db", "web"] {
        c.patch(
            &format!("{PODS}/s1"),
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"app": app}}}),
        );
    }
    let r = c.get(&format!(
        "{PODS}?watch=true&labelSelector=app%3Dweb&resourceVersion={from}&timeoutSeconds=1"
    ));
    let events: Vec<Value> = String::from_utf8(r.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["DELETED", "ADDED"]);
    // Leaving the selection, the object as it was (at the new resourceVersion).
    assert_eq!(events[0]["object"]["metadata"]["labels"]["app"], "web");
    assert_eq!(events[1]["object"]["metadata"]["labels"]["app"], "web");
    assert_ne!(
        events[0]["object"]["metadata"]["resourceVersion"],
        json!(from)
    );
}
