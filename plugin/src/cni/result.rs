//! CNI results in one internal shape, read from and written to any spec version.
//!
//! Inside the plugin a result is always the 1.1 shape. Delegated plugins (IPAM) may answer
//! in an older version, and the caller gets the version its netconf named.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::version::Version;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox: String,
    /// CNI 1.1: the socket through which a userspace interface is reached.
    #[serde(
        rename = "socketPath",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub socket_path: String,
    /// CNI 1.1.
    #[serde(rename = "pciID", default, skip_serializing_if = "String::is_empty")]
    pub pci_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// CIDR notation, e.g. `192.168.210.2/24`.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

impl IpConfig {
    pub fn is_v6(&self) -> bool {
        self.address.contains(':')
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub dst: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advmss: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Dns {
    pub fn is_empty(&self) -> bool {
        *self == Dns::default()
    }
}

/// A CNI result, version-independent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniResult {
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub dns: Dns,
}

/// The pre-0.3 `ip4`/`ip6` sections.
#[derive(Debug, Default, Deserialize)]
struct LegacyIp {
    ip: String,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    routes: Vec<Route>,
}

impl CniResult {
    /// Reads a result of any supported version (its `cniVersion` decides the shape; a
    /// missing one means 0.1.0, as libcni has it).
    pub fn from_json(value: &Value) -> Result<CniResult, String> {
        let version = match value.get("cniVersion") {
            None => Version::V0_1_0,
            Some(Value::String(s)) => {
                Version::parse(s).ok_or_else(|| format!("unknown result cniVersion {s:?}"))?
            }
            Some(other) => return Err(format!("result cniVersion {other} is not a string")),
        };
        if version < Version::V0_3_0 {
            return Self::from_legacy(value);
        }
        // 0.3.x/0.4.0 ips carry a "version" field; it follows from the address.
        let mut v = value.clone();
        if let Some(ips) = v.get_mut("ips").and_then(Value::as_array_mut) {
            for ip in ips.iter_mut().filter_map(Value::as_object_mut) {
                ip.remove("version");
            }
        }
        for key in ["interfaces", "ips", "routes", "dns"] {
            if v.get(key).is_some_and(Value::is_null) {
                v.as_object_mut().map(|o| o.remove(key));
            }
        }
        serde_json::from_value(v).map_err(|e| format!("malformed result: {e}"))
    }

    fn from_legacy(value: &Value) -> Result<CniResult, String> {
        let mut out = CniResult::default();
        for key in ["ip4", "ip6"] {
            if let Some(section) = value.get(key).filter(|v| !v.is_null()) {
                let legacy: LegacyIp = serde_json::from_value(section.clone())
                    .map_err(|e| format!("malformed result {key}: {e}"))?;
                out.ips.push(IpConfig {
                    address: legacy.ip,
                    gateway: legacy.gateway,
                    interface: None,
                });
                out.routes.extend(legacy.routes);
            }
        }
        if let Some(dns) = value.get("dns").filter(|v| !v.is_null()) {
            out.dns = serde_json::from_value(dns.clone())
                .map_err(|e| format!("malformed result dns: {e}"))?;
        }
        Ok(out)
    }

    /// Writes the result in the shape of spec `version`.
    pub fn to_json(&self, version: Version) -> Value {
        if version < Version::V0_3_0 {
            return self.to_legacy(version);
        }
        let mut out = Map::new();
        out.insert("cniVersion".into(), json!(version.to_string()));
        let pre_1_1 = version < Version::V1_1_0;
        if !self.interfaces.is_empty() {
            let list = self.interfaces.iter().map(|i| {
                let mut i = i.clone();
                if pre_1_1 {
                    i.socket_path.clear();
                    i.pci_id.clear();
                }
                serde_json::to_value(i).expect("interface serializes")
            });
            out.insert("interfaces".into(), Value::Array(list.collect()));
        }
        if !self.ips.is_empty() {
            let list = self.ips.iter().map(|ip| {
                let mut v = serde_json::to_value(ip).expect("ip serializes");
                if version < Version::V1_0_0 {
                    let family = if ip.is_v6() { "6" } else { "4" };
                    let obj = v.as_object_mut().expect("object");
                    let mut with_version = Map::new();
                    with_version.insert("version".into(), json!(family));
                    with_version.extend(std::mem::take(obj));
                    *obj = with_version;
                }
                v
            });
            out.insert("ips".into(), Value::Array(list.collect()));
        }
        if !self.routes.is_empty() {
            let list = self.routes.iter().map(|r| {
                let r = if pre_1_1 {
                    Route {
                        dst: r.dst.clone(),
                        gw: r.gw.clone(),
                        ..Route::default()
                    }
                } else {
                    r.clone()
                };
                serde_json::to_value(r).expect("route serializes")
            });
            out.insert("routes".into(), Value::Array(list.collect()));
        }
        out.insert(
            "dns".into(),
            serde_json::to_value(&self.dns).expect("dns serializes"),
        );
        Value::Object(out)
    }

    fn to_legacy(&self, version: Version) -> Value {
        let mut out = Map::new();
        out.insert("cniVersion".into(), json!(version.to_string()));
        for (key, v6) in [("ip4", false), ("ip6", true)] {
            if let Some(ip) = self.ips.iter().find(|ip| ip.is_v6() == v6) {
                let routes: Vec<Value> = self
                    .routes
                    .iter()
                    .filter(|r| r.dst.contains(':') == v6)
                    .map(|r| json!({"dst": r.dst, "gw": r.gw}))
                    .map(strip_nulls)
                    .collect();
                let mut section = json!({"ip": ip.address, "gateway": ip.gateway});
                if !routes.is_empty() {
                    section["routes"] = Value::Array(routes);
                }
                out.insert(key.into(), strip_nulls(section));
            }
        }
        out.insert(
            "dns".into(),
            serde_json::to_value(&self.dns).expect("dns serializes"),
        );
        Value::Object(out)
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|_, x| !x.is_null());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn sample() -> CniResult {
        CniResult {
            interfaces: vec![Interface {
                name: "net1".into(),
                mac: "02:00:00:00:00:01".into(),
                sandbox: "/var/run/netns/a".into(),
                socket_path: "/run/x/memif.sock".into(),
                ..Interface::default()
            }],
            ips: vec![
                IpConfig {
                    address: "192.168.210.2/24".into(),
                    gateway: Some("192.168.210.1".into()),
                    interface: Some(0),
                },
                IpConfig {
                    address: "fd00::2/64".into(),
                    gateway: None,
                    interface: Some(0),
                },
            ],
            routes: vec![Route {
                dst: "0.0.0.0/0".into(),
                gw: Some("192.168.210.1".into()),
                priority: Some(5),
                ..Route::default()
            }],
            dns: Dns {
                nameservers: vec!["10.0.0.1".into()],
                ..Dns::default()
            },
        }
    }

    #[rstest]
    #[case(Version::V0_3_0)]
    #[case(Version::V0_3_1)]
    #[case(Version::V0_4_0)]
    #[case(Version::V1_0_0)]
    #[case(Version::V1_1_0)]
    fn versions_read_back(#[case] v: Version) {
        let json = sample().to_json(v);
        assert_eq!(json["cniVersion"], v.to_string());
        let back = CniResult::from_json(&json).unwrap();
        let mut want = sample();
        if v < Version::V1_1_0 {
            want.interfaces[0].socket_path.clear();
            want.routes[0].priority = None;
        }
        assert_eq!(back, want);
    }

    #[test]
    fn old_versions_carry_ip_version() {
        let json = sample().to_json(Version::V0_3_1);
        assert_eq!(json["ips"][0]["version"], "4");
        assert_eq!(json["ips"][1]["version"], "6");
        assert!(sample().to_json(Version::V1_0_0)["ips"][0]
            .get("version")
            .is_none());
        assert!(json["interfaces"][0].get("socketPath").is_none());
        assert_eq!(
            sample().to_json(Version::V1_1_0)["interfaces"][0]["socketPath"],
            "/run/x/memif.sock"
        );
    }

    #[test]
    fn legacy_shape() {
        let json = sample().to_json(Version::V0_2_0);
        assert_eq!(json["ip4"]["ip"], "192.168.210.2/24");
        assert_eq!(json["ip4"]["gateway"], "192.168.210.1");
        assert_eq!(json["ip4"]["routes"][0]["dst"], "0.0.0.0/0");
        assert_eq!(json["ip6"]["ip"], "fd00::2/64");
        let back = CniResult::from_json(&json).unwrap();
        assert_eq!(back.ips.len(), 2);
        assert_eq!(back.routes.len(), 1);
    }

    #[test]
    fn host_local_output_parses() {
        let text = r#"{"cniVersion":"0.3.1","ips":[{"version":"4","address":"192.168.210.2/24","gateway":"192.168.210.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}"#;
        let r = CniResult::from_json(&serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(r.ips[0].address, "192.168.210.2/24");
        assert_eq!(r.routes[0].gw, None);
        assert!(r.dns.is_empty());
    }

    #[test]
    fn rejects_garbage() {
        assert!(CniResult::from_json(&json!({"cniVersion": 1})).is_err());
        assert!(CniResult::from_json(&json!({"cniVersion": "1.0.0", "ips": 3})).is_err());
        assert!(CniResult::from_json(&json!({"cniVersion": "9.x"})).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_at_latest(a in 0u8..=255, b in 0u8..=255, plen in 0u8..=32, gw in any::<bool>(), n in 0usize..3) {
            let r = CniResult {
                interfaces: (0..n).map(|i| Interface { name: format!("if{i}"), ..Interface::default() }).collect(),
                ips: vec![IpConfig {
                    address: format!("10.{a}.{b}.1/{plen}"),
                    gateway: gw.then(|| format!("10.{a}.{b}.254")),
                    interface: (n > 0).then_some(0),
                }],
                routes: vec![],
                dns: Dns::default(),
            };
            prop_assert_eq!(CniResult::from_json(&r.to_json(Version::LATEST)).unwrap(), r);
        }
    }
}
