//! One pod through the API: read it, and change its annotations by GET + PUT of the
//! whole object carrying the `resourceVersion` read, again from a fresh GET on 409
//! Conflict. PUT (verb `update`) rather than PATCH because the identity most plugins run
//! with, Multus's own kubeconfig, may get and update pods but not patch them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::client::Client;
use super::types::Pod;
use super::KubeError;

/// The volume whose directory holds the pod's sockets.
pub const SHARED_DIR_VOLUME: &str = "shared-dir";

/// A pod by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

impl PodRef {
    fn path(&self) -> String {
        format!(
            "/api/v1/namespaces/{}/pods/{}",
            escape(&self.namespace),
            escape(&self.name)
        )
    }
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Percent-escapes what is not a DNS-name character (names are checked by the server;
/// this only keeps a bad one from changing the request).
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn explain(e: KubeError, pod: &PodRef, verb: &str) -> KubeError {
    match e {
        KubeError::Api {
            code: 403, message, ..
        } => KubeError::Forbidden {
            pod: pod.to_string(),
            verb: verb.into(),
            message,
        },
        KubeError::Api { code: 404, .. } => KubeError::PodNotFound(pod.to_string()),
        other => other,
    }
}

pub fn get(client: &mut Client, pod: &PodRef) -> Result<Pod, KubeError> {
    client
        .get_json(&pod.path())
        .map_err(|e| explain(e, pod, "get"))
}

/// Applies `change` to the pod's annotations and writes the pod back, until the write
/// does not conflict or `budget` is spent. `change` returns whether it changed anything
/// (nothing changed: nothing written). `first` is a pod read earlier, used for the first
/// try (a stale one costs a 409 and a fresh GET).
pub fn update_annotations(
    client: &mut Client,
    pod: &PodRef,
    first: Option<Pod>,
    budget: Duration,
    mut change: impl FnMut(&mut Map<String, Value>) -> Result<bool, KubeError>,
) -> Result<Pod, KubeError> {
    let deadline = Instant::now() + budget;
    let mut current = first;
    let mut conflicts = 0u32;
    loop {
        let from_first = current.is_some();
        let mut p = match current.take() {
            Some(p) => p,
            None => get(client, pod)?,
        };
        let mut annotations = p.metadata.annotations.take().unwrap_or_default();
        let changed = change(&mut annotations)?;
        p.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
        if !changed && from_first {
            // "Nothing to do" judged on a pod read earlier may be stale: ask the server.
            continue;
        }
        if !changed {
            return Ok(p);
        }
        match client.put_json::<Pod, Pod>(&pod.path(), &p) {
            Ok(written) => return Ok(written),
            Err(KubeError::Api { code: 409, .. }) if Instant::now() < deadline => {
                conflicts += 1;
                tracing::debug!("{pod}: update conflict {conflicts}; reading the pod again");
                // A short pause that grows, so that writers racing on one pod spread out.
                std::thread::sleep(Duration::from_millis((conflicts as u64 * 3).min(50)));
            }
            Err(e) => return Err(explain(e, pod, "update")),
        }
    }
}

/// The directory of the pod's `shared-dir` volume on the host: a hostPath exactly as
/// written; an emptyDir where kubelet (rooted at `kubelet_dir`) keeps it. Other volume
/// kinds name no host directory.
pub fn shared_dir(pod: &Pod, kubelet_dir: &Path) -> Option<PathBuf> {
    let v = pod
        .spec
        .volumes
        .iter()
        .find(|v| v.name == SHARED_DIR_VOLUME)?;
    if let Some(h) = &v.host_path {
        return (!h.path.is_empty()).then(|| PathBuf::from(&h.path));
    }
    if v.empty_dir.is_some() && !pod.metadata.uid.is_empty() {
        return Some(
            kubelet_dir
                .join("pods")
                .join(&pod.metadata.uid)
                .join("volumes/kubernetes.io~empty-dir")
                .join(SHARED_DIR_VOLUME),
        );
    }
    tracing::warn!("volume {SHARED_DIR_VOLUME} is neither hostPath nor emptyDir; ignored");
    None
}

/// Where the pod's containers mount `shared-dir` (the last container that does wins, as
/// in the original plugin).
pub fn mapped_dir(pod: &Pod) -> Option<String> {
    pod.spec
        .containers
        .iter()
        .filter_map(|c| {
            c.volume_mounts
                .iter()
                .find(|m| m.name == SHARED_DIR_VOLUME)
                .map(|m| m.mount_path.clone())
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn shared_and_mapped_dirs() {
        let p = pod(json!({"metadata": {"uid": "u-1"}, "spec": {
            "volumes": [{"name": "shared-dir", "emptyDir": {}}],
            "containers": [{"name": "a", "volumeMounts": [{"name": "shared-dir", "mountPath": "/a"}]},
                           {"name": "b", "volumeMounts": [{"name": "shared-dir", "mountPath": "/b/"}]}]}}));
        assert_eq!(
            shared_dir(&p, Path::new("/var/lib/kubelet")).unwrap(),
            Path::new("/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~empty-dir/shared-dir")
        );
        assert_eq!(mapped_dir(&p).unwrap(), "/b/");
        let h = pod(
            json!({"spec": {"volumes": [{"name": "shared-dir", "hostPath": {"path": "/var/run/vpp/x/"}}]}}),
        );
        assert_eq!(
            shared_dir(&h, Path::new("/k")).unwrap(),
            Path::new("/var/run/vpp/x/")
        );
        assert_eq!(mapped_dir(&h), None);
        let other =
            pod(json!({"spec": {"volumes": [{"name": "shared-dir", "configMap": {"name": "c"}}]}}));
        assert_eq!(shared_dir(&other, Path::new("/k")), None);
    }

    #[test]
    fn names_are_escaped_in_paths() {
        let r = PodRef {
            namespace: "ns".into(),
            name: "a/../b".into(),
        };
        assert_eq!(r.path(), "/api/v1/namespaces/ns/pods/a%2F..%2Fb");
    }
}
