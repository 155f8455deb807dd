//! Property tests: the patch types against a model of what they mean for annotation maps
//! and container lists, and the store's concurrency invariants (resourceVersions never go
//! backwards, a stale update always conflicts) over random operation sequences.

use std::collections::BTreeMap;

use mock_kube::api::Api;
use mock_kube::auth::Tokens;
use mock_kube::faults::Faults;
use mock_kube::patch::{apply, PatchType};
use mock_kube::request::Request;
use mock_kube::store::Store;
use proptest::prelude::*;
use serde_json::{json, Value};

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "userspace/x", "t~1", "k8s.io/c"]).prop_map(String::from)
}

fn annotations() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(key(), "[a-z0-9]{0,3}", 0..4)
}

fn pod_with(ann: &BTreeMap<String, String>) -> Value {
    json!({"metadata": {"name": "p", "annotations": ann},
           "spec": {"containers": [{"name": "c", "image": "i"}]}})
}

/// JSON Pointer escaping (RFC 6901).
fn pointer(k: &str) -> String {
    format!(
        "/metadata/annotations/{}",
        k.replace('~', "~0").replace('/', "~1")
    )
}

#[derive(Debug, Clone)]
enum Op {
    Add(String, String),
    Replace(String, String),
    Remove(String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), "[a-z]{1,3}").prop_map(|(k, v)| Op::Add(k, v)),
        (key(), "[a-z]{1,3}").prop_map(|(k, v)| Op::Replace(k, v)),
        key().prop_map(Op::Remove),
    ]
}

proptest! {
    #[test]
    fn merge_and_strategic_patch_maps_like_the_model(
        start in annotations(),
        patch in prop::collection::btree_map(key(), prop::option::of("[a-z]{1,3}"), 0..4),
    ) {
        let mut model = start.clone();
        for (k, v) in &patch {
            match v {
                Some(v) => { model.insert(k.clone(), v.clone()); }
                None => { model.remove(k); }
            }
        }
        let body = json!({"metadata": {"annotations": patch}}).to_string();
        for ty in [PatchType::Merge, PatchType::Strategic] {
            let out = apply(ty, &pod_with(&start), body.as_bytes()).unwrap();
            prop_assert_eq!(&out["metadata"]["annotations"], &json!(model));
            prop_assert_eq!(&out["spec"], &pod_with(&start)["spec"]);
        }
    }

    #[test]
    fn json_patch_is_all_or_nothing_like_the_model(start in annotations(), ops in prop::collection::vec(op(), 1..5)) {
        let mut model = Some(start.clone());
        let mut body = Vec::new();
        for o in &ops {
            let m = model.as_mut();
            match o {
                Op::Add(k, v) => {
                    m.map(|m| m.insert(k.clone(), v.clone()));
                    body.push(json!({"op": "add", "path": pointer(k), "value": v}));
                }
                Op::Replace(k, v) => {
                    if m.as_ref().is_some_and(|m| m.contains_key(k)) {
                        model.as_mut().map(|m| m.insert(k.clone(), v.clone()));
                    } else {
                        model = None;
                    }
                    body.push(json!({"op": "replace", "path": pointer(k), "value": v}));
                }
                Op::Remove(k) => {
                    if m.as_ref().is_some_and(|m| m.contains_key(k)) {
                        model.as_mut().map(|m| m.remove(k));
                    } else {
                        model = None;
                    }
                    body.push(json!({"op": "remove", "path": pointer(k)}));
                }
            }
        }
        let out = apply(PatchType::Json, &pod_with(&start), Value::Array(body).to_string().as_bytes());
        match model {
            Some(m) => prop_assert_eq!(&out.unwrap()["metadata"]["annotations"], &json!(m)),
            None => prop_assert!(out.is_err()),
        }
    }

    #[test]
    fn strategic_merges_containers_by_name(
        start in prop::collection::btree_map("[a-c]", "[x-z]", 1..3),
        patch in prop::collection::btree_map("[a-d]", "[x-z]", 0..3),
    ) {
        let list = |m: &BTreeMap<String, String>| -> Vec<Value> {
            m.iter().map(|(n, i)| json!({"name": n, "image": i})).collect()
        };
        let doc = json!({"spec": {"containers": list(&start)}});
        let body = json!({"spec": {"containers": list(&patch)}}).to_string();
        let out = apply(PatchType::Strategic, &doc, body.as_bytes()).unwrap();
        // Existing entries keep their place, new names are appended in patch order.
        let mut model = start.clone();
        model.extend(patch.clone());
        let names: Vec<&str> = out["spec"]["containers"].as_array().unwrap().iter()
            .map(|c| c["name"].as_str().unwrap()).collect();
        let mut want: Vec<&str> = start.keys().map(String::as_str).collect();
        want.extend(patch.keys().filter(|k| !start.contains_key(*k)).map(String::as_str));
        prop_assert_eq!(names, want);
        for c in out["spec"]["containers"].as_array().unwrap() {
            prop_assert_eq!(c["image"].as_str().unwrap(), model[c["name"].as_str().unwrap()].as_str());
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Create(u8),
    Update { pod: u8, stale: bool },
    Patch(u8),
    Delete(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3).prop_map(Step::Create),
        (0u8..3, any::<bool>()).prop_map(|(pod, stale)| Step::Update { pod, stale }),
        (0u8..3).prop_map(Step::Patch),
        (0u8..3).prop_map(Step::Delete),
    ]
}

fn call(api: &Api, method: &str, path: &str, ct: Option<&str>, body: &Value) -> (u16, Value) {
    let req = Request {
        method: method.into(),
        path: path.into(),
        authorization: Some(format!("Bearer {}", api.tokens.token("admin").unwrap())),
        content_type: ct.map(String::from),
        body: if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        },
        ..Request::default()
    };
    match api.handle(&req) {
        mock_kube::api::Reply::Json { code, body, .. } => (code, body),
        other => panic!("{other:?}"),
    }
}

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn resource_versions_grow_and_stale_updates_conflict(steps in prop::collection::vec(step(), 1..25)) {
        let api = Api::new(Store::new(None), Tokens::generate(), Faults::default());
        api.bootstrap();
        let base = "/api/v1/namespaces/default/pods";
        let mut last = api.store.resource_version();
        for s in steps {
            let before = api.store.resource_version();
            prop_assert!(before >= last);
            match s {
                Step::Create(n) => {
                    let body = json!({"metadata": {"name": format!("p{n}")},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}});
                    let (code, obj) = call(&api, "POST", base, None, &body);
                    prop_assert!(code == 201 || code == 409, "{code}");
                    if code == 201 { prop_assert!(rv(&obj) > before); }
                }
                Step::Update { pod, stale } => {
                    let path = format!("{base}/p{pod}");
                    let (code, mut obj) = call(&api, "GET", &path, None, &Value::Null);
                    if code == 404 { continue; }
                    let current = rv(&obj);
                    obj["metadata"]["annotations"] = json!({"n": before.to_string()});
                    if stale {
                        let old = if current > 1 { current - 1 } else { current + 1 };
                        obj["metadata"]["resourceVersion"] = json!(old.to_string());
                    }
                    let (code, out) = call(&api, "PUT", &path, None, &obj);
                    if stale {
                        prop_assert_eq!(code, 409);
                        prop_assert_eq!(&out["reason"], "Conflict");
                        prop_assert_eq!(api.store.resource_version(), before, "a conflict changes nothing");
                    } else {
                        prop_assert_eq!(code, 200);
                        prop_assert!(rv(&out) >= current);
                    }
                }
                Step::Patch(n) => {
                    let body = json!({"metadata": {"labels": {"n": before.to_string()}}});
                    let (code, out) = call(&api, "PATCH", &format!("{base}/p{n}"), Some("application/merge-patch+json"), &body);
                    prop_assert!(code == 200 || code == 404, "{code}");
                    if code == 200 { prop_assert!(rv(&out) > before); }
                }
                Step::Delete(n) => {
                    let (code, out) = call(&api, "DELETE", &format!("{base}/p{n}"), None, &Value::Null);
                    prop_assert!(code == 200 || code == 404, "{code}");
                    if code == 200 { prop_assert!(rv(&out) > before); }
                }
            }
            last = api.store.resource_version();
        }
    }
}
