//! Every message struct against VPP's own definitions in `api/*.api.json`: name, CRC,
//! field names in order, and the encoded size of the fixed part.

use std::collections::HashMap;

use serde_json::Value;
use vpp_api::message::{self, Envelope, Header, Message};
use vpp_api::messages::*;

struct ApiDefs {
    messages: HashMap<String, Vec<Value>>,
    types: HashMap<String, Value>,
}

fn load() -> ApiDefs {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/api");
    let mut defs = ApiDefs {
        messages: HashMap::new(),
        types: HashMap::new(),
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".api.json") {
            continue;
        }
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for m in json["messages"].as_array().unwrap() {
            let m = m.as_array().unwrap();
            defs.messages
                .insert(m[0].as_str().unwrap().to_string(), m.clone());
        }
        for kind in ["types", "enums", "enumflags", "unions"] {
            for t in json[kind].as_array().into_iter().flatten() {
                let name = t[0].as_str().unwrap().to_string();
                defs.types
                    .insert(name, serde_json::json!({"kind": kind, "def": t}));
            }
        }
        if let Some(aliases) = json["aliases"].as_object() {
            for (name, a) in aliases {
                defs.types
                    .insert(name.clone(), serde_json::json!({"kind": "alias", "def": a}));
            }
        }
    }
    defs
}

impl ApiDefs {
    /// Wire size of one value of `ty` (variable parts counted as empty).
    fn size_of(&self, ty: &str) -> usize {
        match ty {
            "u8" | "i8" | "bool" => 1,
            "u16" | "i16" => 2,
            "u32" | "i32" => 4,
            "u64" | "i64" | "f64" => 8,
            _ => {
                let name = ty.trim_start_matches("vl_api_").trim_end_matches("_t");
                let t = &self.types[name];
                let def = &t["def"];
                match t["kind"].as_str().unwrap() {
                    "enums" | "enumflags" => {
                        let last = def.as_array().unwrap().last().unwrap();
                        self.size_of(last["enumtype"].as_str().unwrap())
                    }
                    "alias" => {
                        let n = def["length"].as_u64().unwrap_or(1) as usize;
                        n * self.size_of(def["type"].as_str().unwrap())
                    }
                    "types" => self.fields_size(&def.as_array().unwrap()[1..]),
                    "unions" => def.as_array().unwrap()[1..]
                        .iter()
                        .map(|f| self.field_size(f))
                        .max()
                        .unwrap(),
                    k => panic!("kind {k}"),
                }
            }
        }
    }

    fn field_size(&self, f: &Value) -> usize {
        let f = f.as_array().unwrap();
        let ty = f[0].as_str().unwrap();
        match (ty, f.get(2).and_then(Value::as_u64), f.get(3)) {
            ("string", Some(0), _) => 4,
            ("string", Some(n), _) => n as usize,
            (_, Some(0), Some(_)) => 0,
            (_, Some(n), _) => n as usize * self.size_of(ty),
            _ => self.size_of(ty),
        }
    }

    fn fields_size(&self, fields: &[Value]) -> usize {
        fields
            .iter()
            .filter(|f| f.is_array())
            .map(|f| self.field_size(f))
            .sum()
    }
}

fn check<M: Message + Default + PartialEq + std::fmt::Debug>(defs: &ApiDefs) {
    let def = defs
        .messages
        .get(M::NAME)
        .unwrap_or_else(|| panic!("{} not in api/*.api.json", M::NAME));
    let meta = def.last().unwrap();
    let crc =
        u32::from_str_radix(meta["crc"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(crc, M::CRC, "CRC of {}", M::NAME);

    let fields: Vec<&Value> = def[1..def.len() - 1].iter().collect();
    let names: Vec<&str> = fields.iter().map(|f| f[1].as_str().unwrap()).collect();
    let lead: &[&str] = match M::HEADER {
        Header::ClientContext => &["_vl_msg_id", "client_index", "context"],
        Header::Context => &["_vl_msg_id", "context"],
    };
    assert_eq!(&names[..lead.len()], lead, "leading fields of {}", M::NAME);
    // A variable array's count field is folded into the array in our structs.
    let counts: Vec<&str> = fields
        .iter()
        .filter_map(|f| f.get(3).and_then(Value::as_str))
        .collect();
    let expected: Vec<&str> = names[lead.len()..]
        .iter()
        .copied()
        .filter(|n| !counts.contains(n))
        .collect();
    let ours: Vec<&str> = M::FIELDS
        .iter()
        .map(|f| f.trim_start_matches("r#"))
        .collect();
    assert_eq!(ours, expected, "fields of {}", M::NAME);

    let size = defs.fields_size(&def[1..def.len() - 1]);
    let encoded = message::encode(Envelope::default(), &M::default());
    assert_eq!(encoded.len(), size, "encoded size of {}", M::NAME);
    let (_, back) = message::decode::<M>(&encoded).unwrap();
    assert_eq!(back, M::default(), "round trip of {}", M::NAME);
}

macro_rules! check_all {
    ($defs:expr, $($m:ty),* $(,)?) => { $( check::<$m>($defs); )* };
}

#[test]
fn every_message_matches_the_api_json() {
    let defs = load();
    check_all!(
        &defs,
        SockclntCreate,
        SockclntCreateReply,
        SockclntDelete,
        SockclntDeleteReply,
        ControlPing,
        ControlPingReply,
        GetApiJson,
        GetApiJsonReply,
        ShowVersion,
        ShowVersionReply,
        CliInband,
        CliInbandReply,
        SwInterfaceSetFlags,
        SwInterfaceSetFlagsReply,
        SwInterfaceAddDelAddress,
        SwInterfaceAddDelAddressReply,
        SwInterfaceSetMacAddress,
        SwInterfaceSetMacAddressReply,
        SwInterfaceDump,
        SwInterfaceDetails,
        IpAddressDump,
        IpAddressDetails,
        BridgeDomainAddDel,
        BridgeDomainAddDelReply,
        BridgeDomainAddDelV2,
        BridgeDomainAddDelV2Reply,
        BridgeDomainDump,
        BridgeDomainDetails,
        SwInterfaceSetL2Bridge,
        SwInterfaceSetL2BridgeReply,
        L2InterfaceVlanTagRewrite,
        L2InterfaceVlanTagRewriteReply,
        MemifSocketFilenameAddDel,
        MemifSocketFilenameAddDelReply,
        MemifSocketFilenameAddDelV2,
        MemifSocketFilenameAddDelV2Reply,
        MemifCreate,
        MemifCreateReply,
        MemifCreateV2,
        MemifCreateV2Reply,
        MemifDelete,
        MemifDeleteReply,
        MemifDump,
        MemifDetails,
        MemifSocketFilenameDump,
        MemifSocketFilenameDetails,
        CreateVhostUserIf,
        CreateVhostUserIfReply,
        CreateVhostUserIfV2,
        CreateVhostUserIfV2Reply,
        DeleteVhostUserIf,
        DeleteVhostUserIfReply,
        SwInterfaceVhostUserDump,
        SwInterfaceVhostUserDetails,
    );
}

#[test]
fn memclnt_table_is_the_file_order() {
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api/memclnt.api.json"))
            .unwrap(),
    )
    .unwrap();
    let from_file: Vec<String> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let m = m.as_array().unwrap();
            let crc = m.last().unwrap()["crc"].as_str().unwrap();
            format!("{}_{}", m[0].as_str().unwrap(), &crc[2..])
        })
        .collect();
    assert_eq!(from_file, MEMCLNT_TABLE);
    assert_eq!(
        MEMCLNT_TABLE[SOCKCLNT_CREATE_ID as usize - 1],
        SockclntCreate::name_crc()
    );
    assert_eq!(
        MEMCLNT_TABLE[SOCKCLNT_CREATE_REPLY_ID as usize - 1],
        SockclntCreateReply::name_crc()
    );
}
