//! The original (Go) plugin's records, left on a node upgraded in place:
//! `<dataDir>/local-<id12>-<ifname>.json` (the original's data directory is this plugin's
//! default), holding `{"swIfIndex","memifSocketId"}` for VPP and
//! `{"vhostname","vhostmac","ifmac"}` for OVS-DPDK. DEL and GC use one to remove exactly
//! what the original made, then delete it; one that cannot be read is kept, and said so
//! in the original's words. Read as Go read them: keys in any case, missing ones zero.

use std::path::{Path, PathBuf};

use engines::{Attachment, OriginalRecord};
use serde::Deserialize;
use serde_json::Value;

use super::fs;
use crate::cni::env::short_id;
use crate::netconf::keys::{canonicalize, Field};

const PREFIX: &str = "local-";
const SUFFIX: &str = ".json";

/// Why a record cannot be used: `read` or `parse`, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub verb: &'static str,
    pub reason: String,
}

/// The record of `who`'s attachment.
pub fn path(data_dir: &Path, who: &Attachment) -> PathBuf {
    data_dir.join(format!(
        "{PREFIX}{}-{}{SUFFIX}",
        short_id(&who.container_id),
        who.if_name
    ))
}

/// Whether a file name in the data directory is one of the original's records.
pub fn is_original_name(name: &str) -> bool {
    name.starts_with(PREFIX) && name.ends_with(SUFFIX)
}

/// Every record in `data_dir`: the attachment its name gives (the container id cut to
/// its first 12 characters, as the original kept it) and its path.
pub fn list(data_dir: &Path) -> Vec<(Attachment, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let inner = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
            // <id12>-<ifname>: the id has no '-' of its own in the original's layout.
            let (id12, if_name) = inner.split_at_checked(12)?;
            let if_name = if_name.strip_prefix('-').filter(|i| !i.is_empty())?;
            let who = Attachment {
                container_id: id12.to_string(),
                if_name: if_name.to_string(),
            };
            Some((who, e.path()))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The record's bytes; `None` when there is none.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, Unreadable> {
    fs::read_no_follow(path).map_err(|e| Unreadable {
        verb: "read",
        reason: e.to_string(),
    })
}

/// The engine's word in the original's messages.
pub fn kind(engine: &str) -> &'static str {
    if engine == "ovs-dpdk" {
        "OVS"
    } else {
        "VPP"
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Vpp {
    sw_if_index: u32,
    memif_socket_id: u32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Ovs {
    vhostname: String,
}

const VPP_FIELDS: &[Field] = &[
    Field {
        name: "swIfIndex",
        nested: None,
    },
    Field {
        name: "memifSocketId",
        nested: None,
    },
];
const OVS_FIELDS: &[Field] = &[
    Field {
        name: "vhostname",
        nested: None,
    },
    Field {
        name: "vhostmac",
        nested: None,
    },
    Field {
        name: "ifmac",
        nested: None,
    },
];

/// Decodes a record for the host engine `engine` (`vpp`, `ovs-dpdk`).
pub fn parse(bytes: &[u8], engine: &str) -> Result<OriginalRecord, Unreadable> {
    let bad = |reason: String| Unreadable {
        verb: "parse",
        reason,
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(bad("not a JSON object".into()));
    };
    let fields = if engine == "ovs-dpdk" {
        OVS_FIELDS
    } else {
        VPP_FIELDS
    };
    let obj = Value::Object(canonicalize(obj, fields));
    if engine == "ovs-dpdk" {
        let o: Ovs = serde_json::from_value(obj).map_err(|e| bad(e.to_string()))?;
        Ok(OriginalRecord::Ovs { port: o.vhostname })
    } else {
        let v: Vpp = serde_json::from_value(obj).map_err(|e| bad(e.to_string()))?;
        Ok(OriginalRecord::Vpp {
            sw_if_index: v.sw_if_index,
            memif_socket_id: v.memif_socket_id,
        })
    }
}

/// Whether a record is of `engine`'s kind (it names at least one of its fields), so that
/// GC leaves other engines' networks' records alone.
pub fn is_of(bytes: &[u8], engine: &str) -> bool {
    let fields = if engine == "ovs-dpdk" {
        OVS_FIELDS
    } else {
        VPP_FIELDS
    };
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            v.as_object().map(|o| {
                o.keys()
                    .any(|k| fields.iter().any(|f| f.name.eq_ignore_ascii_case(k)))
            })
        })
        .unwrap_or(false)
}

/// Deletes a record once what it names is gone.
pub fn remove(path: &Path) -> std::io::Result<()> {
    fs::remove_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::vpp(br#"{"swIfIndex":3,"memifSocketId":1}"#.as_slice(), "vpp", OriginalRecord::Vpp { sw_if_index: 3, memif_socket_id: 1 })]
    #[case::vpp_any_case(br#"{"SwIfIndex":5}"#.as_slice(), "vpp", OriginalRecord::Vpp { sw_if_index: 5, memif_socket_id: 0 })]
    #[case::ovs(br#"{"vhostname":"0123456789ab-net1","vhostmac":"","ifmac":"02:00:00:00:00:01"}"#.as_slice(), "ovs-dpdk", OriginalRecord::Ovs { port: "0123456789ab-net1".into() })]
    fn records_read_as_go_read_them(
        #[case] bytes: &[u8],
        #[case] engine: &str,
        #[case] want: OriginalRecord,
    ) {
        assert_eq!(parse(bytes, engine).unwrap(), want);
        assert!(is_of(bytes, engine));
    }

    #[rstest]
    #[case(b"".as_slice(), "vpp")]
    #[case(br#"{"swIfIndex":"7"}"#.as_slice(), "vpp")]
    #[case(br#"{"vhostname":4}"#.as_slice(), "ovs-dpdk")]
    #[case(b"[1]".as_slice(), "vpp")]
    fn corrupt_records_are_refused(#[case] bytes: &[u8], #[case] engine: &str) {
        assert_eq!(parse(bytes, engine).unwrap_err().verb, "parse");
    }

    #[test]
    fn names_give_the_attachment() {
        let t = tempfile::tempdir().unwrap();
        for name in [
            "local-0123456789ab-net1.json",
            "local-0123456789ab-.json",
            "0123456789abcdef-net1.json",
            "local-short.json",
        ] {
            std::fs::write(t.path().join(name), b"{}").unwrap();
        }
        let who = Attachment {
            container_id: "0123456789abcdef".into(),
            if_name: "net1".into(),
        };
        let found = list(t.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0.container_id, "0123456789ab");
        assert_eq!(found[0].0.if_name, "net1");
        assert_eq!(found[0].1, path(t.path(), &who));
        assert!(is_original_name("local-0123456789ab-net1.json"));
        assert!(!is_original_name("0123456789abcdef-net1.json"));
    }
}
