//! Who the pod is: the `K8S_POD_*` keys of `CNI_ARGS`, read with libcni's rules
//! (`LoadArgs`): every pair is `KEY=VALUE` with exactly one `=`, a repeated key's last
//! value wins, order does not matter, and a key this plugin does not know is an error
//! unless `IgnoreUnknown` is `1` or `true` (any case). Multus can also carry them in the
//! netconf's `args.cni` (from a network selection's `cni-args`); those only fill keys
//! `CNI_ARGS` left empty.

use serde_json::Value;

/// The pod named by the runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodArgs {
    pub namespace: String,
    pub name: String,
    pub infra_container_id: String,
    pub uid: String,
}

/// Keys libcni's Kubernetes arguments and the original plugin define.
const KNOWN: &[&str] = &[
    "IgnoreUnknown",
    "K8S_POD_NAMESPACE",
    "K8S_POD_NAME",
    "K8S_POD_INFRA_CONTAINER_ID",
    "K8S_POD_UID",
    "IP",
];

impl PodArgs {
    /// Reads the pairs of `CNI_ARGS` (as split by the environment: key, then everything
    /// after the first `=`). `strict` applies libcni's unknown-key rule (ADD); DEL and GC
    /// read leniently, since they must be able to finish.
    pub fn from_pairs(pairs: &[(String, String)], strict: bool) -> Result<PodArgs, String> {
        let mut out = PodArgs::default();
        let mut ignore_unknown = false;
        let mut unknown = Vec::new();
        for (key, value) in pairs {
            if value.contains('=') {
                if strict {
                    return Err(format!("ARGS: invalid pair {:?}", format!("{key}={value}")));
                }
                continue;
            }
            match key.as_str() {
                "K8S_POD_NAMESPACE" => out.namespace = value.clone(),
                "K8S_POD_NAME" => out.name = value.clone(),
                "K8S_POD_INFRA_CONTAINER_ID" => out.infra_container_id = value.clone(),
                "K8S_POD_UID" => out.uid = value.clone(),
                "IgnoreUnknown" => {
                    ignore_unknown = value == "1" || value.eq_ignore_ascii_case("true")
                }
                k if KNOWN.contains(&k) => {}
                _ => unknown.push(format!("{key}={value}")),
            }
        }
        if strict && !ignore_unknown && !unknown.is_empty() {
            let quoted: Vec<String> = unknown.iter().map(|u| format!("{u:?}")).collect();
            return Err(format!("ARGS: unknown args [{}]", quoted.join(" ")));
        }
        Ok(out)
    }

    /// Fills empty keys from the netconf's `args.cni` object (Multus `cni-args`).
    pub fn fill_from_netconf(&mut self, args: Option<&Value>) {
        let Some(cni) = args.and_then(|a| a.get("cni")).and_then(Value::as_object) else {
            return;
        };
        let get = |k: &str| cni.get(k).and_then(Value::as_str).unwrap_or_default();
        for (slot, key) in [
            (&mut self.namespace, "K8S_POD_NAMESPACE"),
            (&mut self.name, "K8S_POD_NAME"),
            (&mut self.infra_container_id, "K8S_POD_INFRA_CONTAINER_ID"),
            (&mut self.uid, "K8S_POD_UID"),
        ] {
            if slot.is_empty() {
                *slot = get(key).to_string();
            }
        }
    }

    /// Whether the runtime named a pod (both namespace and name).
    pub fn names_pod(&self) -> bool {
        !self.namespace.is_empty() && !self.name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.split(';')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn multus_thin_mode_args_with_repeats_in_any_order() {
        let a = PodArgs::from_pairs(
            &pairs(
                "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=abc;\
                 K8S_POD_UID=u1;K8S_POD_UID=u2;IgnoreUnknown=1;FOO=bar",
            ),
            true,
        )
        .unwrap();
        assert_eq!(
            a,
            PodArgs {
                namespace: "ns".into(),
                name: "p".into(),
                infra_container_id: "abc".into(),
                uid: "u2".into()
            }
        );
        assert!(a.names_pod());
    }

    #[rstest]
    #[case(
        "K8S_POD_NAME=p;FOO=bar;BAZ=1",
        "ARGS: unknown args [\"FOO=bar\" \"BAZ=1\"]"
    )]
    #[case("IgnoreUnknown=0;FOO=bar", "ARGS: unknown args [\"FOO=bar\"]")]
    #[case("K8S_POD_NAME=a=b", "ARGS: invalid pair \"K8S_POD_NAME=a=b\"")]
    fn strict_errors(#[case] text: &str, #[case] msg: &str) {
        assert_eq!(PodArgs::from_pairs(&pairs(text), true).unwrap_err(), msg);
    }

    #[test]
    fn lenient_reading_skips_what_strict_rejects() {
        let a =
            PodArgs::from_pairs(&pairs("FOO=bar;K8S_POD_NAME=x=y;K8S_POD_UID=u"), false).unwrap();
        assert_eq!(a.uid, "u");
        assert_eq!(a.name, "");
    }

    #[test]
    fn netconf_args_fill_only_gaps() {
        let mut a = PodArgs::from_pairs(&pairs("K8S_POD_NAME=p"), true).unwrap();
        a.fill_from_netconf(Some(
            &json!({"cni": {"K8S_POD_NAME": "other", "K8S_POD_NAMESPACE": "ns"}}),
        ));
        assert_eq!((a.namespace.as_str(), a.name.as_str()), ("ns", "p"));
    }
}
