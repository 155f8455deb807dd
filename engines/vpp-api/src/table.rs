//! The message table a server hands out in the handshake: `name_crc` ↔ message id.

use std::collections::HashMap;

use crate::message::Message;

/// Maps `<name>_<crc>` to the id of this connection, and back.
#[derive(Debug, Clone, Default)]
pub struct MessageTable {
    by_name: HashMap<String, u16>,
    by_id: HashMap<u16, String>,
}

impl MessageTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `<name>_<crc>` with its id.
    pub fn insert(&mut self, name_crc: impl Into<String>, id: u16) {
        let name_crc = name_crc.into();
        self.by_id.insert(id, name_crc.clone());
        self.by_name.insert(name_crc, id);
    }

    /// The id of `M` if the server has exactly our definition of it.
    pub fn id_of<M: Message>(&self) -> Option<u16> {
        self.by_name.get(&M::name_crc()).copied()
    }

    /// The id of `<name>_<crc>`, when offered.
    pub fn id(&self, name_crc: &str) -> Option<u16> {
        self.by_name.get(name_crc).copied()
    }

    /// The `<name>_<crc>` of an id.
    pub fn name(&self, id: u16) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    /// How many messages are offered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no message is offered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Entries sorted by id.
    pub fn entries(&self) -> Vec<(u16, &str)> {
        let mut v: Vec<_> = self.by_id.iter().map(|(i, n)| (*i, n.as_str())).collect();
        v.sort_unstable();
        v
    }
}
