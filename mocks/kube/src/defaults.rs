//! Kind-specific rules of the real server's registry strategies and admission, for the
//! served kinds: the defaults every stored object gets (pods as the real server returns
//! them: restartPolicy, dnsPolicy, container terminationMessagePath, the default
//! tolerations, ...), the status a new object starts with, validation (422 Invalid with
//! field causes) and which pod fields an update may change.

use serde_json::{json, Map, Value};

use crate::meta::{invalid_label, invalid_subdomain, meta_str};
use crate::resources::Resource;
use crate::status::ApiError;

fn set_default(m: &mut Map<String, Value>, key: &str, v: Value) {
    if !m.contains_key(key) || m[key].is_null() {
        m.insert(key.into(), v);
    }
}

fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let tag = if image.contains('@') {
        None
    } else {
        last.split_once(':').map(|(_, t)| t)
    };
    match tag {
        None if !image.contains('@') => "Always",
        Some("latest") => "Always",
        _ => "IfNotPresent",
    }
}

fn container_defaults(c: &mut Value) {
    let Some(c) = c.as_object_mut() else { return };
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    set_default(c, "imagePullPolicy", json!(pull_policy(&image)));
    set_default(c, "resources", json!({}));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
}

/// Defaults of a pod spec (also a DaemonSet's template), with what the admission plugins
/// of a default cluster add (service account, priority, toleration seconds).
pub fn pod_spec_defaults(spec: &mut Value, admission: bool) {
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = s.get_mut(key) {
            cs.iter_mut().for_each(container_defaults);
        }
    }
    set_default(s, "restartPolicy", json!("Always"));
    set_default(s, "terminationGracePeriodSeconds", json!(30));
    set_default(s, "dnsPolicy", json!("ClusterFirst"));
    set_default(s, "securityContext", json!({}));
    set_default(s, "schedulerName", json!("default-scheduler"));
    if !admission {
        return;
    }
    if let Some(sa) = s.get("serviceAccount").cloned() {
        set_default(s, "serviceAccountName", sa);
    }
    set_default(s, "serviceAccountName", json!("default"));
    let sa = s["serviceAccountName"].clone();
    set_default(s, "serviceAccount", sa);
    set_default(s, "enableServiceLinks", json!(true));
    set_default(s, "preemptionPolicy", json!("PreemptLowerPriority"));
    set_default(s, "priority", json!(0));
    let tol = s.entry("tolerations").or_insert_with(|| json!([]));
    if let Value::Array(list) = tol {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            if !list.iter().any(|t| t["key"] == key) {
                list.push(
                    json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                                  "tolerationSeconds": 300}),
                );
            }
        }
    }
}

fn qos_class(spec: &Value) -> &'static str {
    let cs: Vec<&Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let has = |c: &&Value, k: &str| c["resources"][k].as_object().is_some_and(|m| !m.is_empty());
    if cs.iter().all(|c| !has(c, "requests") && !has(c, "limits")) {
        "BestEffort"
    } else if cs.iter().all(|c| {
        has(c, "limits")
            && (c["resources"]["requests"].is_null()
                || c["resources"]["requests"] == c["resources"]["limits"])
    }) {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Fills the defaults of a stored object of kind `res`.
pub fn apply(res: &Resource, obj: &mut Value) {
    match (res.group, res.plural) {
        ("", "pods") => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec_defaults(spec, true);
            }
        }
        ("apps", "daemonsets") => {
            let spec = &mut obj["spec"];
            if let Some(s) = spec.as_object_mut() {
                set_default(s, "revisionHistoryLimit", json!(10));
                set_default(
                    s,
                    "updateStrategy",
                    json!({"type": "RollingUpdate",
                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                );
            }
            if let Some(ps) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
                pod_spec_defaults(ps, false);
            }
        }
        ("", "namespaces") => {
            let name = meta_str(obj, "name").to_string();
            let m = crate::meta::metadata_mut(obj);
            let labels = m.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            if !obj["spec"].is_object() {
                obj["spec"] = json!({});
            }
            set_default(
                obj["spec"].as_object_mut().expect("object"),
                "finalizers",
                json!(["kubernetes"]),
            );
        }
        _ => {}
    }
}

/// What the ServiceAccount admission plugin adds to a new pod: the projected
/// `kube-api-access-*` volume (token, cluster CA, namespace) mounted in every container,
/// unless `automountServiceAccountToken` is false.
pub fn admit(res: &Resource, obj: &mut Value) {
    if !(res.group.is_empty() && res.plural == "pods") {
        return;
    }
    let spec = &mut obj["spec"];
    if spec["automountServiceAccountToken"] == json!(false) {
        return;
    }
    const MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    let mounted = |c: &Value| {
        c["volumeMounts"]
            .as_array()
            .is_some_and(|m| m.iter().any(|v| v["mountPath"] == MOUNT))
    };
    if spec["containers"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(mounted))
    {
        return;
    }
    let name = format!("kube-api-access-{}", crate::meta::random_suffix());
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(key) {
            for c in cs.iter_mut().filter(|c| c.is_object()) {
                let m = c
                    .as_object_mut()
                    .expect("object")
                    .entry("volumeMounts")
                    .or_insert_with(|| json!([]));
                if let Value::Array(m) = m {
                    m.push(json!({"name": name, "readOnly": true, "mountPath": MOUNT}));
                }
            }
        }
    }
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    let vols = s.entry("volumes").or_insert_with(|| json!([]));
    if let Value::Array(v) = vols {
        v.push(json!({"name": name, "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ], "defaultMode": 420}}));
    }
}

/// The status a new object starts with (None: the kind has no status or keeps the
/// client's).
pub fn initial_status(res: &Resource, obj: &Value) -> Option<Value> {
    match (res.group, res.plural) {
        ("", "pods") => Some(json!({"phase": "Pending", "qosClass": qos_class(&obj["spec"])})),
        ("", "namespaces") => Some(json!({"phase": "Active"})),
        ("apps", "daemonsets") => Some(json!({
            "currentNumberScheduled": 0, "numberMisscheduled": 0,
            "desiredNumberScheduled": 0, "numberReady": 0
        })),
        _ => None,
    }
}

/// Validation of a stored object: 422 with every cause found.
pub fn validate(res: &Resource, obj: &Value) -> Result<(), ApiError> {
    let name = meta_str(obj, "name");
    let mut causes: Vec<(String, String)> = Vec::new();
    let bad_name = if res.plural == "namespaces" {
        invalid_label(name)
    } else {
        invalid_subdomain(name)
    };
    if name.is_empty() {
        causes.push((
            "metadata.name".into(),
            "Required value: name or generateName is required".into(),
        ));
    } else if let Some(m) = bad_name {
        causes.push(("metadata.name".into(), m));
    }
    if res.group.is_empty() && res.plural == "pods" {
        validate_pod_spec(&obj["spec"], "spec", &mut causes);
    }
    if res.group == "apps" && res.plural == "daemonsets" {
        if !obj["spec"]["selector"].is_object() {
            causes.push(("spec.selector".into(), "Required value".into()));
        }
        validate_pod_spec(
            &obj["spec"]["template"]["spec"],
            "spec.template.spec",
            &mut causes,
        );
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(res, name, &causes))
    }
}

fn validate_pod_spec(spec: &Value, at: &str, causes: &mut Vec<(String, String)>) {
    match spec["containers"].as_array() {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                if c["name"].as_str().unwrap_or("").is_empty() {
                    causes.push((
                        format!("{at}.containers[{i}].name"),
                        "Required value".into(),
                    ));
                }
                if c["image"].as_str().unwrap_or("").is_empty() {
                    causes.push((
                        format!("{at}.containers[{i}].image"),
                        "Required value".into(),
                    ));
                }
            }
        }
        _ => causes.push((format!("{at}.containers"), "Required value".into())),
    }
}

/// A pod's spec is immutable but for container images, `activeDeadlineSeconds`, added
/// tolerations and removed scheduling gates (pod validation `ValidatePodUpdate`).
pub fn validate_pod_update(res: &Resource, old: &Value, new: &Value) -> Result<(), ApiError> {
    let mask = |spec: &Value| {
        let mut s = spec.clone();
        for key in ["containers", "initContainers"] {
            if let Some(Value::Array(cs)) = s.get_mut(key) {
                for c in cs.iter_mut() {
                    c["image"] = Value::Null;
                }
            }
        }
        if let Some(m) = s.as_object_mut() {
            for key in ["activeDeadlineSeconds", "tolerations", "schedulingGates"] {
                m.remove(key);
            }
        }
        s
    };
    if mask(&old["spec"]) == mask(&new["spec"]) {
        return Ok(());
    }
    let msg = "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,\
               `spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,\
               `spec.tolerations` (only additions to existing tolerations),\
               `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was \
               previously negative)";
    Err(ApiError::invalid(
        res,
        meta_str(new, "name"),
        &[("spec".into(), msg.into())],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::RESOURCES;

    #[test]
    fn pods_get_the_real_servers_defaults() {
        let pods = &RESOURCES[1];
        let mut p = json!({"metadata": {"name": "p1"},
                           "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        apply(pods, &mut p);
        let c = &p["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(p["spec"]["restartPolicy"], "Always");
        assert_eq!(p["spec"]["serviceAccountName"], "default");
        assert_eq!(p["spec"]["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(initial_status(pods, &p).unwrap()["qosClass"], "BestEffort");
        assert_eq!(pull_policy("reg:5000/x:1.2"), "IfNotPresent");
        assert_eq!(pull_policy("reg:5000/x"), "Always");
        validate(pods, &p).unwrap();
        let mut q = p.clone();
        q["spec"]["containers"][0]["image"] = json!("other");
        validate_pod_update(pods, &p, &q).unwrap();
        q["spec"]["restartPolicy"] = json!("Never");
        assert_eq!(validate_pod_update(pods, &p, &q).unwrap_err().code, 422);
    }

    #[test]
    fn invalid_pods_name_their_fields() {
        let e = validate(
            &RESOURCES[1],
            &json!({"metadata": {"name": "P"}, "spec": {}}),
        )
        .unwrap_err();
        assert_eq!(e.reason, "Invalid");
        let causes = e.details.unwrap()["causes"].as_array().unwrap().len();
        assert_eq!(causes, 2);
        assert!(e
            .message
            .starts_with("Pod \"P\" is invalid: [metadata.name: Invalid value"));
    }
}
