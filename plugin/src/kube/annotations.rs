//! The pod annotations the plugin owns, and how one attachment's entry is put in and
//! taken out.
//!
//! `userspace/configuration-data` is a JSON array with one entry per attachment, in the
//! original plugin's ConfigurationData shape (`containerId`, `ifName`, `name`, `config`,
//! `ipResult`, extra fields allowed). An entry is keyed by container id and interface
//! name: ADD replaces its own entry, DEL removes it; entries of others are kept as they
//! are. The array is written compact (no spaces, no newlines), which also suits consumers
//! that strip spaces from downward-API lines. `userspace/mapped-dir` is where the pod
//! mounts its shared directory.

use serde_json::{Map, Value};

pub const CONFIGURATION_DATA: &str = "userspace/configuration-data";
pub const MAPPED_DIR: &str = "userspace/mapped-dir";
/// The spelling of old examples (never read by the original plugin's code).
pub const MAPPED_DIR_CAMEL: &str = "userspace/mappedDir";
/// The mapped directory when the pod names none.
pub const DEFAULT_MAPPED_DIR: &str = "/var/lib/cni/usrspcni";

fn same_attachment(entry: &Value, container_id: &str, if_name: &str) -> bool {
    entry.get("containerId").and_then(Value::as_str) == Some(container_id)
        && entry.get("ifName").and_then(Value::as_str) == Some(if_name)
}

fn entries(annotations: &Map<String, Value>) -> Result<Vec<Value>, String> {
    match annotations.get(CONFIGURATION_DATA) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Vec::new()),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Array(a)) => Ok(a),
            _ => Err(format!(
                "annotation {CONFIGURATION_DATA} is not a JSON array; not overwriting it"
            )),
        },
        Some(_) => Err(format!("annotation {CONFIGURATION_DATA} is not a string")),
    }
}

/// Path comparison after cleaning (`/a//b/` equals `/a/b`), as the original compared.
fn clean(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Puts `entry` in place of this attachment's entry (appends when there is none) and
/// sets the mapped directory. Returns whether anything changed.
pub fn put_entry(
    annotations: &mut Map<String, Value>,
    entry: Value,
    mapped_dir: &str,
) -> Result<bool, String> {
    let container_id = entry["containerId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let if_name = entry["ifName"].as_str().unwrap_or_default().to_string();
    if let Some(old) = annotations.get(MAPPED_DIR).and_then(Value::as_str) {
        if clean(old) != clean(mapped_dir) {
            return Err(format!(
                "SetPodAnnotationMappedDir: Input \"{mapped_dir}\" does not match existing \"{old}\""
            ));
        }
    }
    let mut list = entries(annotations)?;
    let before = list.clone();
    list.retain(|e| !same_attachment(e, &container_id, &if_name));
    list.push(entry);
    let mut changed = list != before;
    annotations.insert(
        CONFIGURATION_DATA.into(),
        Value::String(serde_json::to_string(&list).expect("JSON serializes")),
    );
    if annotations.get(MAPPED_DIR).is_none() {
        annotations.insert(MAPPED_DIR.into(), Value::String(mapped_dir.into()));
        changed = true;
    }
    Ok(changed)
}

/// Removes this attachment's entry; the annotation and the mapped directory go with the
/// last entry. Returns whether anything changed. Never fails: an unreadable array is
/// left for whoever wrote it.
pub fn take_entry(annotations: &mut Map<String, Value>, container_id: &str, if_name: &str) -> bool {
    let Ok(mut list) = entries(annotations) else {
        return false;
    };
    let before = list.len();
    list.retain(|e| !same_attachment(e, container_id, if_name));
    if list.len() == before {
        return false;
    }
    if list.is_empty() {
        annotations.remove(CONFIGURATION_DATA);
        annotations.remove(MAPPED_DIR);
    } else {
        annotations.insert(
            CONFIGURATION_DATA.into(),
            Value::String(serde_json::to_string(&list).expect("JSON serializes")),
        );
    }
    true
}

/// The configuration-data entries of a pod's annotations, as a consumer reads them.
pub fn read_entries(annotations: &Map<String, Value>) -> Result<Vec<Value>, String> {
    entries(annotations)
}

/// Adds `version` ("4"/"6") to each `ipResult.ips[]`: consumers written for CNI 0.3/0.4
/// results (app-netutil) only take IPs that carry it.
pub fn with_ip_versions(mut ip_result: Value) -> Value {
    if let Some(ips) = ip_result.get_mut("ips").and_then(Value::as_array_mut) {
        for ip in ips {
            let v6 = ip
                .get("address")
                .and_then(Value::as_str)
                .is_some_and(|a| a.contains(':'));
            if let Some(o) = ip.as_object_mut() {
                o.entry("version")
                    .or_insert_with(|| Value::String(if v6 { "6" } else { "4" }.into()));
            }
        }
    }
    ip_result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn entry(cid: &str, ifn: &str, tag: u32) -> Value {
        json!({"containerId": cid, "ifName": ifn, "name": "n", "config": {"tag": tag}, "ipResult": {}})
    }

    #[test]
    fn a_repeated_add_replaces_and_del_removes_with_mapped_dir_last() {
        let mut a = Map::new();
        a.insert("other".into(), json!("x"));
        assert!(put_entry(&mut a, entry("c1", "net1", 1), "/m").unwrap());
        assert!(put_entry(&mut a, entry("c1", "net2", 1), "/m/").unwrap());
        assert!(put_entry(&mut a, entry("c1", "net1", 2), "/m").unwrap());
        let list = read_entries(&a).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1]["config"]["tag"], 2, "replaced entry moves last");
        assert!(
            !put_entry(&mut a, entry("c1", "net1", 2), "/m").unwrap(),
            "no change"
        );
        assert!(take_entry(&mut a, "c1", "net2"));
        assert!(!take_entry(&mut a, "c1", "net2"));
        assert_eq!(a[MAPPED_DIR], "/m");
        assert!(take_entry(&mut a, "c1", "net1"));
        assert!(a.get(CONFIGURATION_DATA).is_none() && a.get(MAPPED_DIR).is_none());
        assert_eq!(a["other"], "x");
    }

    #[test]
    fn a_different_mapped_dir_and_a_foreign_value_are_errors() {
        let mut a = Map::new();
        a.insert(MAPPED_DIR.into(), json!("/other"));
        let e = put_entry(&mut a, entry("c", "i", 0), "/m").unwrap_err();
        assert_eq!(
            e,
            "SetPodAnnotationMappedDir: Input \"/m\" does not match existing \"/other\""
        );
        let mut a = Map::new();
        a.insert(CONFIGURATION_DATA.into(), json!("{\"not\": \"array\"}"));
        assert!(put_entry(&mut a, entry("c", "i", 0), "/m").is_err());
        assert!(!take_entry(&mut a, "c", "i"));
    }

    #[test]
    fn the_originals_spliced_array_is_read() {
        let mut a = Map::new();
        let spliced = "[{\n    \"containerId\": \"c\",\n    \"ifName\": \"net1\"\n},{\n    \"containerId\": \"c\",\n    \"ifName\": \"net1\"\n}]";
        a.insert(CONFIGURATION_DATA.into(), json!(spliced));
        assert!(take_entry(&mut a, "c", "net1"), "both duplicates go");
        assert!(a.get(CONFIGURATION_DATA).is_none());
    }

    #[test]
    fn ip_versions_are_added() {
        let r =
            with_ip_versions(json!({"ips": [{"address": "10.0.0.2/24"}, {"address": "fd::2/64"}]}));
        assert_eq!(
            (
                r["ips"][0]["version"].as_str(),
                r["ips"][1]["version"].as_str()
            ),
            (Some("4"), Some("6"))
        );
    }

    proptest! {
        /// Any sequence of puts and takes leaves exactly one entry per attachment put and
        /// not taken since.
        #[test]
        fn one_entry_per_live_attachment(ops in proptest::collection::vec((any::<bool>(), 0u8..3, 0u8..2), 1..30)) {
            let mut a = Map::new();
            let mut live = std::collections::BTreeSet::new();
            for (put, c, i) in ops {
                let (cid, ifn) = (format!("c{c}"), format!("net{i}"));
                if put {
                    put_entry(&mut a, entry(&cid, &ifn, 0), "/m").unwrap();
                    live.insert((cid, ifn));
                } else {
                    take_entry(&mut a, &cid, &ifn);
                    live.remove(&(cid, ifn));
                }
            }
            let got: std::collections::BTreeSet<_> = read_entries(&a).unwrap().iter()
                .map(|e| (e["containerId"].as_str().unwrap().to_string(), e["ifName"].as_str().unwrap().to_string()))
                .collect();
            prop_assert_eq!(read_entries(&a).unwrap().len(), got.len());
            prop_assert_eq!(got, live.clone());
            prop_assert_eq!(a.contains_key(MAPPED_DIR), !live.is_empty());
        }
    }
}
