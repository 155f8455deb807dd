//! `meta.k8s.io/v1` Table answers (what `kubectl get` prints): the columns of the real
//! server's printers for pods, namespaces, configmaps and daemonsets, `NAME`/`AGE` for
//! the others (as for custom resources without printer columns). Rows carry the object's
//! metadata as `PartialObjectMetadata`.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::meta::{meta_str, parse_timestamp};
use crate::resources::Resource;

/// kubectl's `HumanDuration`: `45s`, `3m20s`, `5h`, `12d`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(obj: &Value) -> String {
    match parse_timestamp(meta_str(obj, "creationTimestamp")) {
        Some(t) => human_duration((OffsetDateTime::now_utc() - t).whole_seconds()),
        None => "<unknown>".into(),
    }
}

fn col(name: &str, ty: &str, format: &str, priority: u32, description: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description,
           "priority": priority})
}

fn none_or(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

fn columns(res: &Resource) -> Vec<Value> {
    let name = col(
        "Name",
        "string",
        "name",
        0,
        "Name must be unique within a namespace.",
    );
    let age = col("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created.");
    match (res.group, res.plural) {
        ("", "pods") => vec![
            name,
            col("Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."),
            col("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
            col("Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            age,
            col("IP", "string", "", 1, "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
            col("Node", "string", "", 1, "NodeName is a request to schedule this pod onto a specific node."),
            col("Nominated Node", "string", "", 1, "nominatedNodeName is set only when this pod preempts other pods on the node."),
            col("Readiness Gates", "string", "", 1, "If specified, all readiness gates will be evaluated for pod readiness."),
        ],
        ("", "namespaces") => vec![
            name,
            col("Status", "string", "", 0, "The status of the namespace"),
            age,
        ],
        ("", "configmaps") => vec![
            name,
            col("Data", "string", "", 0, "Data contains the configuration data."),
            age,
        ],
        ("apps", "daemonsets") => vec![
            name,
            col("Desired", "integer", "", 0, "The total number of nodes that should be running the daemon pod."),
            col("Current", "integer", "", 0, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
            col("Ready", "integer", "", 0, "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition."),
            col("Up-to-date", "integer", "", 0, "The total number of nodes that are running updated daemon pod"),
            col("Available", "integer", "", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
            col("Node Selector", "string", "", 0, "NodeSelector is a selector which must be true for the pod to fit on a node."),
            age,
            col("Containers", "string", "", 1, "Names of each container in the template."),
            col("Images", "string", "", 1, "Images referenced by each container in the template."),
            col("Selector", "string", "", 1, "A label query over pods that are managed by the daemon set."),
        ],
        _ => vec![name, age],
    }
}

fn pod_cells(p: &Value) -> Vec<Value> {
    let total = p["spec"]["containers"].as_array().map_or(0, Vec::len);
    let statuses: Vec<&Value> = p["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let ready = statuses
        .iter()
        .filter(|s| s["ready"] == json!(true))
        .count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    let mut status = p["status"]["reason"]
        .as_str()
        .or_else(|| p["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_string();
    if !p["metadata"]["deletionTimestamp"].is_null() {
        status = "Terminating".into();
    }
    let gates = p["spec"]["readinessGates"].as_array().map_or(0, Vec::len);
    vec![
        json!(meta_str(p, "name")),
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts),
        json!(age(p)),
        none_or(&p["status"]["podIP"]),
        none_or(&p["spec"]["nodeName"]),
        none_or(&p["status"]["nominatedNodeName"]),
        if gates == 0 {
            json!("<none>")
        } else {
            json!(format!("0/{gates}"))
        },
    ]
}

fn join_names(list: &Value, field: &str) -> Value {
    let v: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c[field].as_str())
        .collect();
    json!(v.join(","))
}

fn cells(res: &Resource, o: &Value) -> Vec<Value> {
    let name = json!(meta_str(o, "name"));
    match (res.group, res.plural) {
        ("", "pods") => pod_cells(o),
        ("", "namespaces") => vec![
            name,
            json!(o["status"]["phase"].as_str().unwrap_or("")),
            json!(age(o)),
        ],
        ("", "configmaps") => {
            let n = o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(n), json!(age(o))]
        }
        ("apps", "daemonsets") => {
            let s = &o["status"];
            let n = |k: &str| json!(s[k].as_i64().unwrap_or(0));
            let sel: Vec<String> = o["spec"]["template"]["spec"]["nodeSelector"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            let labels: Vec<String> = o["spec"]["selector"]["matchLabels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            let cs = &o["spec"]["template"]["spec"]["containers"];
            vec![
                name,
                n("desiredNumberScheduled"),
                n("currentNumberScheduled"),
                n("numberReady"),
                n("updatedNumberScheduled"),
                n("numberAvailable"),
                if sel.is_empty() {
                    json!("<none>")
                } else {
                    json!(sel.join(","))
                },
                json!(age(o)),
                join_names(cs, "name"),
                join_names(cs, "image"),
                json!(labels.join(",")),
            ]
        }
        _ => vec![name, json!(age(o))],
    }
}

/// One row's object: the metadata, as `PartialObjectMetadata`.
fn partial(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
           "metadata": o["metadata"].clone()})
}

/// A Table of `items` (with the column definitions when `with_columns`: watches send them
/// only in their first event).
pub fn render(res: &Resource, items: &[Value], rv: u64, with_columns: bool) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| json!({"cells": cells(res, o), "object": partial(o)}))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": if with_columns { json!(columns(res)) } else { json!([]) },
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(5, "5s")]
    #[case(119, "119s")]
    #[case(200, "3m20s")]
    #[case(600, "10m")]
    #[case(3 * 3600 + 60, "3h1m")]
    #[case(10 * 3600, "10h")]
    #[case(3 * 86400 + 3600, "3d1h")]
    #[case(30 * 86400, "30d")]
    fn durations(#[case] secs: i64, #[case] want: &str) {
        assert_eq!(human_duration(secs), want);
    }

    #[test]
    fn pod_rows_have_the_real_columns() {
        let pods = Resource::find("", "v1", "pods").unwrap();
        let p = json!({"metadata": {"name": "p1", "creationTimestamp": crate::meta::now()},
                       "spec": {"containers": [{"name": "c"}]},
                       "status": {"phase": "Pending"}});
        let t = render(pods, &[p], 7, true);
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 9);
        let mut cells = t["rows"][0]["cells"].clone();
        assert!(
            cells[4].as_str().unwrap().ends_with('s'),
            "age {}",
            cells[4]
        );
        cells[4] = json!("age");
        assert_eq!(
            cells,
            json!(["p1", "0/1", "Pending", 0, "age", "<none>", "<none>", "<none>", "<none>"])
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }
}
