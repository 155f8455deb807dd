//! Go-style JSON key matching for the netconf.
//!
//! The original plugin parsed its netconf with Go's `encoding/json`, which matches object
//! keys to struct fields case-insensitively when no exact match exists, lets a later key
//! overwrite an earlier one, merges repeated objects into one struct and treats `null` as
//! "leave unset". Existing netconfs rely on it (`LogLevel`, `Host`, `bridgeid` ...), so the
//! keys this plugin owns are brought to their canonical spelling before typed decoding.
//! Sections owned by others (`ipam`, `prevResult`, `runtimeConfig`, `dns`) are left as is.

use serde_json::{Map, Value};

use super::raw::Raw;

/// A known key, and the shape of its value when that is one of our objects.
pub struct Field {
    pub name: &'static str,
    pub nested: Option<&'static [Field]>,
}

const fn leaf(name: &'static str) -> Field {
    Field { name, nested: None }
}

const fn object(name: &'static str, fields: &'static [Field]) -> Field {
    Field {
        name,
        nested: Some(fields),
    }
}

const MEMIF: &[Field] = &[leaf("role"), leaf("mode"), leaf("socketfile")];
const VHOST: &[Field] = &[leaf("mode"), leaf("group"), leaf("socketfile")];
const BRIDGE: &[Field] = &[leaf("bridgeName"), leaf("bridgeId"), leaf("vlanId")];
const SIDE: &[Field] = &[
    leaf("engine"),
    leaf("iftype"),
    leaf("netType"),
    object("memif", MEMIF),
    object("vhost", VHOST),
    object("bridge", BRIDGE),
    leaf("apiSocket"),
];

/// The netconf's top level.
pub const NETCONF: &[Field] = &[
    leaf("cniVersion"),
    leaf("name"),
    leaf("type"),
    leaf("ipam"),
    leaf("dns"),
    leaf("capabilities"),
    leaf("runtimeConfig"),
    leaf("prevResult"),
    leaf("args"),
    object("host", SIDE),
    object("container", SIDE),
    leaf("sharedDir"),
    leaf("kubeconfig"),
    leaf("kubeletDir"),
    leaf("shortSocketDir"),
    leaf("logFile"),
    leaf("logLevel"),
    leaf("dataDir"),
    leaf("timeoutMs"),
];

/// Rewrites the keys of `obj` that name one of `fields` to their canonical spelling,
/// recursively, with Go's precedence and merge rules. Unknown keys are kept unchanged.
pub fn canonicalize(obj: Map<String, Value>, fields: &[Field]) -> Map<String, Value> {
    canonicalize_raw(
        obj.into_iter().map(|(k, v)| (k, Raw::from(v))).collect(),
        fields,
    )
}

/// [`canonicalize`] for an object as written, repeated keys included: like Go, a key
/// given again (in any case) decodes into what the earlier one set, so objects of ours
/// merge field by field, at every depth; anything else is replaced.
pub fn canonicalize_raw(pairs: Vec<(String, Raw)>, fields: &[Field]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in pairs {
        let field = fields
            .iter()
            .find(|f| f.name == key)
            .or_else(|| fields.iter().find(|f| f.name.eq_ignore_ascii_case(&key)));
        let Some(field) = field else {
            out.insert(key, value.into_value());
            continue;
        };
        if matches!(value, Raw::Other(Value::Null)) {
            continue;
        }
        let value = match (field.nested, value) {
            (Some(nested), Raw::Object(inner)) => {
                let inner = canonicalize_raw(inner, nested);
                match out.remove(field.name) {
                    Some(Value::Object(mut earlier)) => {
                        merge(&mut earlier, inner, nested);
                        Value::Object(earlier)
                    }
                    _ => Value::Object(inner),
                }
            }
            (_, v) => v.into_value(),
        };
        out.insert(field.name.to_string(), value);
    }
    out
}

/// Decodes `later` into `earlier` as Go does into a struct: objects of ours merge, other
/// values replace.
fn merge(earlier: &mut Map<String, Value>, later: Map<String, Value>, fields: &[Field]) {
    for (key, value) in later {
        let nested = fields.iter().find(|f| f.name == key).and_then(|f| f.nested);
        match (nested, earlier.get_mut(&key), value) {
            (Some(n), Some(Value::Object(e)), Value::Object(l)) => merge(e, l, n),
            (_, _, v) => {
                earlier.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> Value {
        Value::Object(canonicalize(v.as_object().unwrap().clone(), NETCONF))
    }

    #[test]
    fn any_case_maps_to_canonical() {
        let v = canon(
            json!({"LogLevel": "debug", "HOST": {"Engine": "vpp", "BRIDGE": {"bridgeid": 4}}}),
        );
        assert_eq!(
            v,
            json!({"logLevel": "debug", "host": {"engine": "vpp", "bridge": {"bridgeId": 4}}})
        );
    }

    #[test]
    fn exact_match_wins_and_later_keys_overwrite() {
        let v = canon(json!({"name": "a", "NAME": "b"}));
        assert_eq!(v["name"], "b");
        let v = canon(json!({"NAME": "b", "name": "a"}));
        assert_eq!(v["name"], "a");
    }

    #[test]
    fn repeated_objects_merge_and_null_is_unset() {
        let v =
            canon(json!({"host": {"engine": "vpp"}, "Host": {"iftype": "memif", "engine": null}}));
        assert_eq!(v["host"], json!({"engine": "vpp", "iftype": "memif"}));
        let v = canon(json!({"sharedDir": null}));
        assert!(v.get("sharedDir").is_none());
    }

    #[test]
    fn a_key_given_twice_merges_like_go() {
        let parse = |text: &str| {
            let super::super::raw::Raw::Object(pairs) =
                super::super::raw::parse(text.as_bytes()).unwrap()
            else {
                panic!("not an object")
            };
            Value::Object(canonicalize_raw(pairs, NETCONF))
        };
        let v = parse(
            r#"{"host":{"engine":"vpp","bridge":{"bridgeId":4}},"host":{"iftype":"memif","bridge":{"vlanId":7}},"name":"a","name":"b"}"#,
        );
        assert_eq!(
            v,
            json!({"host": {"engine": "vpp", "iftype": "memif", "bridge": {"bridgeId": 4, "vlanId": 7}}, "name": "b"})
        );
        // The later value of a field wins, in the merged object too.
        let v = parse(r#"{"host":{"engine":"vpp"},"HOST":{"engine":"ovs-dpdk"}}"#);
        assert_eq!(v["host"]["engine"], "ovs-dpdk");
    }

    #[test]
    fn foreign_sections_are_untouched() {
        let v = canon(json!({"IPAM": {"Type": "host-local"}, "Unknown": 1}));
        assert_eq!(v, json!({"ipam": {"Type": "host-local"}, "Unknown": 1}));
    }
}
