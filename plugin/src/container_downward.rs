//! The container side in Kubernetes mode: the attachments come from the pod's
//! annotations as kubelet projects them (downward API, default
//! `/etc/podinfo/annotations`), sockets mapped through `userspace/mapped-dir`.
//!
//! kubelet updates the file some time after the pod starts (the plugin annotates the pod
//! during ADD), so [`wait_for_entries`] polls it, re-opening it by path each time (the
//! file is swapped by a symlink rename).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::AppError;
use crate::kube::annotations::{CONFIGURATION_DATA, MAPPED_DIR, MAPPED_DIR_CAMEL};
use crate::kube::downward;
use crate::store::config_data::ContainerConfigData;

/// Where a pod usually mounts its downward-API annotations.
pub const DEFAULT_ANNOTATIONS_FILE: &str = "/etc/podinfo/annotations";

/// The mapped directory and the attachments (only `if_name`'s when given) of an
/// annotations file. `shared_dir` stands in when the pod has no mapped directory.
pub fn entries(
    file: &Path,
    shared_dir: &Path,
    if_name: Option<&str>,
) -> Result<(PathBuf, Vec<ContainerConfigData>), AppError> {
    let text = std::fs::read_to_string(file).map_err(|source| AppError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let annotations = downward::parse(&text).map_err(|reason| AppError::Malformed {
        path: file.to_path_buf(),
        reason,
    })?;
    let raw = annotations
        .get(CONFIGURATION_DATA)
        .and_then(Value::as_str)
        .ok_or(AppError::AnnotationMissing {
            path: file.to_path_buf(),
            key: CONFIGURATION_DATA,
        })?;
    let malformed = |reason: String| AppError::AnnotationMalformed {
        path: file.to_path_buf(),
        key: CONFIGURATION_DATA,
        reason,
    };
    let list: Vec<ContainerConfigData> =
        serde_json::from_str(raw).map_err(|e| malformed(e.to_string()))?;
    let dir = [MAPPED_DIR, MAPPED_DIR_CAMEL]
        .iter()
        .find_map(|k| annotations.get(*k).and_then(Value::as_str))
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir.to_path_buf());
    let list: Vec<_> = list
        .into_iter()
        .filter(|d| if_name.is_none_or(|i| d.if_name == i))
        .collect();
    if let (Some(i), true) = (if_name, list.is_empty()) {
        return Err(AppError::NoEntry {
            path: file.to_path_buf(),
            if_name: i.to_string(),
        });
    }
    Ok((dir, list))
}

/// Waits up to `wait` for the file to hold the attachments (`if_name`'s, or any),
/// checking every `every`; then answers as [`entries`] does.
pub fn wait_for_entries(
    file: &Path,
    shared_dir: &Path,
    if_name: Option<&str>,
    wait: Duration,
    every: Duration,
) -> Result<(PathBuf, Vec<ContainerConfigData>), AppError> {
    let deadline = Instant::now() + wait;
    loop {
        let got = entries(file, shared_dir, if_name);
        let retry = match &got {
            Ok((_, list)) => list.is_empty(),
            Err(
                AppError::Io { .. } | AppError::AnnotationMissing { .. } | AppError::NoEntry { .. },
            ) => true,
            Err(_) => false,
        };
        if !retry || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::downward::render;
    use serde_json::{json, Map};

    fn entry(ifn: &str, socket: &str) -> Value {
        json!({"containerId": "0123456789abcdef", "ifName": ifn, "name": "memif-network",
               "config": {"engine": "vpp", "iftype": "memif", "netType": "interface",
                          "memif": {"role": "slave", "mode": "ethernet", "socketfile": socket},
                          "vhost": {}, "bridge": {}},
               "ipResult": {"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.2/24", "version": "4"}], "dns": {}}})
    }

    fn file(dir: &Path, annotations: &[(&str, String)]) -> PathBuf {
        let map: Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        let f = dir.join("annotations");
        std::fs::write(&f, render(&map)).unwrap();
        f
    }

    #[test]
    fn kubelet_file_with_several_entries() {
        let t = tempfile::tempdir().unwrap();
        let data = json!([entry("net1", "memif-a.sock"), entry("net2", "memif-b.sock")]);
        let f = file(
            t.path(),
            &[
                (
                    "k8s.v1.cni.cncf.io/network-status",
                    "[{\n    \"name\": \"x y\"\n}]".into(),
                ),
                (
                    CONFIGURATION_DATA,
                    serde_json::to_string_pretty(&data).unwrap(),
                ),
                (MAPPED_DIR, "/var/lib/cni/usrspcni".into()),
            ],
        );
        let (dir, list) = entries(&f, Path::new("/unused"), None).unwrap();
        assert_eq!(dir, Path::new("/var/lib/cni/usrspcni"));
        assert_eq!(list.len(), 2);
        let (_, one) = entries(&f, Path::new("/unused"), Some("net2")).unwrap();
        assert_eq!(one[0].config.memif.socketfile, "memif-b.sock");
        let e = entries(&f, Path::new("/unused"), Some("net9")).unwrap_err();
        assert!(matches!(e, AppError::NoEntry { .. }), "{e}");
    }

    #[test]
    fn missing_key_and_bad_json_are_clear() {
        let t = tempfile::tempdir().unwrap();
        let f = file(t.path(), &[(MAPPED_DIR_CAMEL, "/m/".into())]);
        let e = entries(&f, Path::new("/s"), None).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("ERROR: \"userspace/configuration-data\" missing from pod annotation"),
            "{e}"
        );
        let f = file(
            t.path(),
            &[(CONFIGURATION_DATA, "[{\"containerId\": ".into())],
        );
        let e = entries(&f, Path::new("/s"), None).unwrap_err();
        assert!(e.to_string().contains("Invalid formatted JSON data"), "{e}");
    }

    #[test]
    fn waiting_sees_the_entries_kubelet_adds_later() {
        let t = tempfile::tempdir().unwrap();
        let f = file(t.path(), &[("other", "x".into())]);
        let dir = t.path().to_path_buf();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            file(
                &dir,
                &[(
                    CONFIGURATION_DATA,
                    json!([entry("net1", "s.sock")]).to_string(),
                )],
            );
        });
        let (_, list) = wait_for_entries(
            &f,
            t.path(),
            Some("net1"),
            Duration::from_secs(20),
            Duration::from_millis(20),
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(list.len(), 1);
    }
}
