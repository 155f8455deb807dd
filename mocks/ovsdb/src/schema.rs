//! The schemas the server serves: any `.ovsschema` given to it, the Open_vSwitch schema
//! carried in `schema/`, and the `_Server` database's own.

use std::ops::Deref;

use ovsdb::error::sorted_json;
use ovsdb::DatabaseSchema;
use serde_json::Value;

/// A parsed schema (see [`DatabaseSchema`], which it dereferences to).
#[derive(Debug, Clone)]
pub struct Schema(pub DatabaseSchema);

impl Deref for Schema {
    type Target = DatabaseSchema;

    fn deref(&self) -> &DatabaseSchema {
        &self.0
    }
}

impl Schema {
    pub fn parse(json: Value) -> Result<Schema, String> {
        DatabaseSchema::from_json(json)
            .map(Schema)
            .map_err(|e| e.to_string())
    }

    /// Reads an `.ovsschema` file.
    pub fn from_file(path: &std::path::Path) -> Result<Schema, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        Schema::parse(json)
    }

    /// The Open_vSwitch schema (8.3.1) carried in this repository.
    pub fn open_vswitch() -> Schema {
        carried(include_str!("../schema/vswitch.ovsschema"))
    }

    /// The schema of the `_Server` database (1.2.0).
    pub fn server() -> Schema {
        carried(include_str!("../schema/_server.ovsschema"))
    }

    /// The schema as ovsdb-server writes it: compact, members sorted.
    pub fn to_text(&self) -> String {
        sorted_json(&self.0.to_json())
    }
}

fn carried(text: &str) -> Schema {
    Schema::parse(serde_json::from_str(text).expect("carried schema is JSON"))
        .expect("carried schema parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_schemas() {
        let ovs = Schema::open_vswitch();
        assert_eq!(
            (ovs.name.as_str(), ovs.version.as_str()),
            ("Open_vSwitch", "8.3.1")
        );
        assert!(ovs.tables["Open_vSwitch"].is_root && !ovs.tables["Bridge"].is_root);
        assert_eq!(ovs.tables["Bridge"].indexes, vec![vec!["name".to_string()]]);
        let server = Schema::server();
        assert_eq!(server.cksum.as_deref(), Some("3009684573 744"));
        // No table says isRoot, so all are roots.
        assert!(server.tables["Database"].is_root);
    }
}
