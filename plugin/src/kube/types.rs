//! Kubernetes API wire types: the parts of a Pod the plugin reads, and metav1.Status.
//!
//! Plain serde data. Every struct keeps the fields it does not name in `rest`, so a pod
//! read, changed and written back (GET + PUT) loses nothing another writer put there.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Kept in the server's order; `None` when the pod has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<Value>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostPathSource {
    #[serde(default)]
    pub path: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mount_path: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// metav1.Status, the body of every API error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub code: u16,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn word() -> impl Strategy<Value = String> {
        "[a-z0-9/._-]{1,10}"
    }

    fn extra() -> impl Strategy<Value = Map<String, Value>> {
        proptest::collection::btree_map("x[a-z]{1,6}", "[a-z]{0,6}", 0..3)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
    }

    prop_compose! {
        fn volume()(name in word(), host in proptest::option::of(word()), rest in extra()) -> Volume {
            Volume {
                name,
                empty_dir: host.is_none().then(|| json!({})),
                host_path: host.map(|path| HostPathSource { path, rest: Map::new() }),
                rest,
            }
        }
    }

    prop_compose! {
        fn pod()(name in word(), uid in word(), rv in "[0-9]{1,6}",
                 annotations in proptest::option::of(proptest::collection::btree_map(word(), word(), 0..4)),
                 volumes in proptest::collection::vec(volume(), 0..3),
                 mounts in proptest::collection::vec((word(), word()), 0..3),
                 rest in extra(), meta_rest in extra()) -> Pod {
            Pod {
                metadata: ObjectMeta {
                    name, namespace: "default".into(), uid, resource_version: rv,
                    annotations: annotations.map(|a| a.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
                    rest: meta_rest,
                },
                spec: PodSpec {
                    volumes,
                    containers: vec![Container {
                        name: "c".into(),
                        volume_mounts: mounts.into_iter().map(|(name, mount_path)| VolumeMount { name, mount_path, rest: Map::new() }).collect(),
                        rest: Map::new(),
                    }],
                    rest: Map::new(),
                },
                rest,
            }
        }
    }

    proptest! {
        #[test]
        fn pods_round_trip(p in pod()) {
            let text = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(serde_json::from_str::<Pod>(&text).unwrap(), p);
        }

        #[test]
        fn statuses_round_trip(message in "[ -~]{0,20}", reason in word(), code in 0u16..600, rest in extra()) {
            let s = Status { status: "Failure".into(), message, reason, code, rest };
            let text = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), s);
        }
    }

    #[test]
    fn unknown_fields_survive_a_read_and_write() {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "uid": "u", "resourceVersion": "7", "labels": {"a": "b"}},
            "spec": {"nodeName": "n", "volumes": [{"name": "shared-dir", "hostPath": {"path": "/x/", "type": "DirectoryOrCreate"}}],
                     "containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "shared-dir", "mountPath": "/m", "readOnly": true}]}]},
            "status": {"phase": "Pending"}
        });
        let p: Pod = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(p.spec.volumes[0].host_path.as_ref().unwrap().path, "/x/");
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
    }
}
