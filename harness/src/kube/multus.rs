//! What Multus does around a delegate, as data: the pod's network selection, the delegate
//! netconf it builds from a NetworkAttachmentDefinition, the CNI_ARGS, interface names,
//! the device-info path, and the `k8s.v1.cni.cncf.io/network-status` annotation it writes
//! from the results. No process or API access here (see [`super::kubelet`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{Error, Result};

pub const NETWORKS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/networks";
pub const NETWORK_STATUS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/network-status";

/// One element of the pod's `k8s.v1.cni.cncf.io/networks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub namespace: String,
    pub name: String,
    /// The interface the pod asked for (`@ifname` or `"interface"`).
    pub interface: Option<String>,
}

fn dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Parses the annotation: the JSON list form, or the comma-separated
/// `[namespace/]name[@ifname]` form; `pod_ns` fills a missing namespace.
pub fn parse_networks(text: &str, pod_ns: &str) -> Result<Vec<Selection>> {
    let bad = |m: String| Error::Check(format!("{NETWORKS_ANNOTATION}: {m}"));
    if text.contains(['[', '{', '"']) {
        #[derive(Deserialize)]
        struct Element {
            name: String,
            #[serde(default)]
            namespace: String,
            #[serde(default)]
            interface: String,
        }
        let list: Vec<Element> =
            serde_json::from_str(text).map_err(|e| bad(format!("JSON form: {e}")))?;
        return Ok(list
            .into_iter()
            .map(|e| Selection {
                namespace: if e.namespace.is_empty() {
                    pod_ns.to_string()
                } else {
                    e.namespace
                },
                name: e.name,
                interface: (!e.interface.is_empty()).then_some(e.interface),
            })
            .collect());
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            let (ns, rest) = match item.split('/').collect::<Vec<_>>()[..] {
                [name] => (None, name),
                [ns, name] => (Some(ns.trim()), name),
                _ => return Err(bad(format!("{item:?}: more than one '/'"))),
            };
            let (name, ifname) = match rest.split('@').collect::<Vec<_>>()[..] {
                [name] => (name.trim(), None),
                [name, ifname] => (name.trim(), Some(ifname.trim())),
                _ => return Err(bad(format!("{item:?}: more than one '@'"))),
            };
            for part in [ns, Some(name), ifname].into_iter().flatten() {
                if !dns_label(part) {
                    return Err(bad(format!("{part:?} is not a DNS label")));
                }
            }
            Ok(Selection {
                namespace: ns.unwrap_or(pod_ns).to_string(),
                name: name.to_string(),
                interface: ifname.map(str::to_string),
            })
        })
        .collect()
}

/// The interface name of the `index`-th additional network (1-based: net1, net2, ...).
pub fn ifname(sel: &Selection, index: usize) -> String {
    sel.interface
        .clone()
        .unwrap_or_else(|| format!("net{index}"))
}

/// `IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;K8S_POD_UID=..`
pub fn cni_args(namespace: &str, name: &str, sandbox: &str, uid: &str) -> String {
    format!(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={name};\
         K8S_POD_INFRA_CONTAINER_ID={sandbox};K8S_POD_UID={uid}"
    )
}

/// The device-info file name Multus passes: `<ns>/<nad>-<sandbox>_<ifname>`, every `/`
/// turned into `-`.
pub fn device_info_name(sel: &Selection, sandbox: &str, ifname: &str) -> String {
    format!("{}/{}-{sandbox}_{ifname}", sel.namespace, sel.name).replace('/', "-")
}

/// The delegate's stdin from a NAD's `spec.config`: `name` injected when missing,
/// `runtimeConfig.CNIDeviceInfoFile` when the config declares that capability and a path
/// is given, re-encoded as Go does (compact, keys sorted, `<>&` escaped).
pub fn delegate_config(
    spec_config: &str,
    nad_name: &str,
    device_info: Option<&str>,
) -> Result<(Vec<u8>, bool)> {
    let mut conf: Value = serde_json::from_str(spec_config)
        .map_err(|e| Error::Check(format!("NAD {nad_name}: spec.config: {e}")))?;
    let obj = conf
        .as_object_mut()
        .ok_or_else(|| Error::Check(format!("NAD {nad_name}: spec.config is not an object")))?;
    if obj
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        obj.insert("name".into(), json!(nad_name));
    }
    let wants = obj
        .get("capabilities")
        .and_then(|c| c.get("CNIDeviceInfoFile"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut passed = false;
    if let (true, Some(path)) = (wants, device_info) {
        let rc = obj.entry("runtimeConfig").or_insert_with(|| json!({}));
        if let Some(rc) = rc.as_object_mut() {
            rc.insert("CNIDeviceInfoFile".into(), json!(path));
            passed = true;
        }
    }
    Ok((go_json(&sorted(conf), false).into_bytes(), passed))
}

/// `v` with every object's keys in byte order (Go marshals maps that way).
pub fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// JSON as Go's encoder writes it: HTML-sensitive characters and the two JavaScript line
/// separators escaped; `pretty` as `MarshalIndent(v, "", "    ")`.
pub fn go_json<T: Serialize>(v: &T, pretty: bool) -> String {
    let text = if pretty {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        v.serialize(&mut ser).expect("serializable");
        String::from_utf8(buf).expect("utf-8")
    } else {
        serde_json::to_string(v).expect("serializable")
    };
    // These characters can only occur inside strings in valid JSON.
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The NAD client's `DeviceInfo` (field order and names as its Go type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdpa: Option<Value>,
    #[serde(
        rename = "vhost-user",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vhost_user: Option<VhostDevice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memif: Option<MemifDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VhostDevice {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemifDevice {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
}

impl DeviceInfo {
    /// The socket path it names, if any.
    pub fn path(&self) -> Option<&str> {
        self.memif
            .as_ref()
            .map(|m| m.path.as_str())
            .or(self.vhost_user.as_ref().map(|v| v.path.as_str()))
            .filter(|p| !p.is_empty())
    }
}

/// One `network-status` entry (the NAD client's `NetworkStatus`, in its field order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkStatus {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mtu: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
    #[serde(default = "empty_object")]
    pub dns: Value,
    #[serde(
        rename = "device-info",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub device_info: Option<DeviceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn empty_object() -> Value {
    json!({})
}

fn strip_prefix_len(addr: &str) -> String {
    addr.split('/').next().unwrap_or(addr).to_string()
}

/// The entries for one delegate's result (CNI 0.3+ or 1.x shape), as the NAD client's
/// `CreateNetworkStatuses` builds them: one per interface with a sandbox, IPs by
/// `ips[].interface` (unindexed ones to the last entry); no sandboxed interface, no entry.
pub fn statuses_from_result(
    result: &Value,
    network: &str,
    device_info: Option<&DeviceInfo>,
) -> Vec<NetworkStatus> {
    let empty = Vec::new();
    let ifaces = result["interfaces"].as_array().unwrap_or(&empty);
    let ips = result["ips"].as_array().unwrap_or(&empty);
    let gateway: Vec<String> = result["routes"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter(|r| matches!(r["dst"].as_str(), Some("0.0.0.0/0" | "::/0" | "") | None))
        .filter_map(|r| r["gw"].as_str().map(str::to_string))
        .collect();
    let mut dns = result.get("dns").cloned().unwrap_or_else(empty_object);
    if !dns.is_object() {
        dns = empty_object();
    }
    let mut out: Vec<(usize, NetworkStatus)> = ifaces
        .iter()
        .enumerate()
        .filter(|(_, i)| i["sandbox"].as_str().is_some_and(|s| !s.is_empty()))
        .map(|(idx, i)| {
            (
                idx,
                NetworkStatus {
                    name: network.to_string(),
                    interface: i["name"].as_str().unwrap_or("").to_string(),
                    ips: Vec::new(),
                    mac: i["mac"].as_str().unwrap_or("").to_string(),
                    mtu: i["mtu"].as_u64().unwrap_or(0),
                    default: false,
                    dns: dns.clone(),
                    device_info: device_info.cloned(),
                    gateway: gateway.clone(),
                },
            )
        })
        .collect();
    if out.is_empty() {
        return Vec::new();
    }
    let single = out.len() == 1;
    for ip in ips {
        let Some(addr) = ip["address"].as_str() else {
            continue;
        };
        let target = if single {
            Some(0)
        } else {
            ip["interface"]
                .as_u64()
                .and_then(|i| out.iter().position(|(idx, _)| *idx as u64 == i))
                .or(Some(out.len() - 1))
        };
        if let Some(t) = target {
            out[t].1.ips.push(strip_prefix_len(addr));
        }
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// The annotation value: each entry indented by 4 spaces, joined by `,` inside `[` `]`.
pub fn network_status_annotation(entries: &[NetworkStatus]) -> String {
    let parts: Vec<String> = entries.iter().map(|e| go_json(e, true)).collect();
    format!("[{}]", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn sel(ns: &str, name: &str, ifname: Option<&str>) -> Selection {
        Selection {
            namespace: ns.into(),
            name: name.into(),
            interface: ifname.map(Into::into),
        }
    }

    #[rstest]
    #[case("memif-net", vec![sel("default", "memif-net", None)])]
    #[case(" a, other/b@eth9 ", vec![sel("default", "a", None), sel("other", "b", Some("eth9"))])]
    #[case(r#"[{"name":"a"},{"name":"b","namespace":"x","interface":"vhu0"}]"#,
           vec![sel("default", "a", None), sel("x", "b", Some("vhu0"))])]
    fn selections(#[case] text: &str, #[case] want: Vec<Selection>) {
        assert_eq!(parse_networks(text, "default").unwrap(), want);
    }

    #[rstest]
    #[case("a/b/c")]
    #[case("a@b@c")]
    #[case("Upper")]
    #[case("-lead")]
    #[case("[{]")]
    fn bad_selections(#[case] text: &str) {
        assert!(parse_networks(text, "default").is_err());
    }

    #[test]
    fn interface_names_count_from_one() {
        assert_eq!(ifname(&sel("d", "a", None), 1), "net1");
        assert_eq!(ifname(&sel("d", "a", Some("x")), 2), "x");
        assert_eq!(ifname(&sel("d", "a", None), 3), "net3");
    }

    #[test]
    fn device_info_name_has_no_slash() {
        assert_eq!(
            device_info_name(&sel("default", "memif-net", None), "abc", "net1"),
            "default-memif-net-abc_net1"
        );
    }

    #[test]
    fn delegate_gets_name_and_device_info_file_only_with_the_capability() {
        let with = r#"{"type":"userspace","capabilities":{"CNIDeviceInfoFile":true},"z":"<&>","cniVersion":"1.0.0"}"#;
        let (bytes, passed) = delegate_config(with, "nad", Some("/d/f")).unwrap();
        assert!(passed);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"capabilities":{"CNIDeviceInfoFile":true},"cniVersion":"1.0.0","name":"nad","runtimeConfig":{"CNIDeviceInfoFile":"/d/f"},"type":"userspace","z":"\u003c\u0026\u003e"}"#
        );
        let without = r#"{"name":"own","type":"userspace"}"#;
        let (bytes, passed) = delegate_config(without, "nad", Some("/d/f")).unwrap();
        assert!(!passed);
        assert_eq!(String::from_utf8(bytes).unwrap(), without);
    }

    #[test]
    fn status_annotation_has_the_exact_layout() {
        let result = json!({
            "cniVersion": "1.0.0",
            "interfaces": [{"name": "net1", "sandbox": "/proc/1/ns/net", "mac": "02:fe:00:00:00:01"}],
            "ips": [{"address": "192.168.1.4/24", "interface": 0}],
            "routes": [{"dst": "0.0.0.0/0"}]
        });
        let di = DeviceInfo {
            kind: "memif".into(),
            version: "1.1.0".into(),
            pci: None,
            vdpa: None,
            vhost_user: None,
            memif: Some(MemifDevice {
                role: "slave".into(),
                path: "/var/lib/cni/usrspcni/memif-0123456789ab-net1.sock".into(),
                mode: "ethernet".into(),
            }),
        };
        let entries = statuses_from_result(&result, "default/memif-net", Some(&di));
        let text = network_status_annotation(&entries);
        let want = r#"[{
    "name": "default/memif-net",
    "interface": "net1",
    "ips": [
        "192.168.1.4"
    ],
    "mac": "02:fe:00:00:00:01",
    "dns": {},
    "device-info": {
        "type": "memif",
        "version": "1.1.0",
        "memif": {
            "role": "slave",
            "path": "/var/lib/cni/usrspcni/memif-0123456789ab-net1.sock",
            "mode": "ethernet"
        }
    }
}]"#;
        assert_eq!(text, want);
        let back: Vec<NetworkStatus> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entries);
    }

    #[test]
    fn no_sandboxed_interface_no_entry_and_ips_by_index() {
        let host_only =
            json!({"interfaces": [{"name": "vhu"}], "ips": [{"address": "10.0.0.1/24"}]});
        assert!(statuses_from_result(&host_only, "n", None).is_empty());
        let two = json!({
            "interfaces": [{"name": "a", "sandbox": "/x"}, {"name": "host"}, {"name": "b", "sandbox": "/x"}],
            "ips": [{"address": "10.0.0.1/24", "interface": 2}, {"address": "10.0.0.2/24"}],
            "routes": [{"dst": "0.0.0.0/0", "gw": "10.0.0.254"}, {"dst": "10.1.0.0/16", "gw": "10.0.0.253"}]
        });
        let s = statuses_from_result(&two, "n", None);
        assert_eq!(s.len(), 2);
        assert!(s[0].ips.is_empty());
        assert_eq!(s[1].ips, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(s[1].gateway, ["10.0.0.254"]);
        assert_eq!(s[0].dns, json!({}));
    }
}
