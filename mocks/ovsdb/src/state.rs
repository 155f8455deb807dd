//! The server's shared state behind one lock: the served database and `_Server`, the
//! monitors and locks of every connection, the emulated ovs-vswitchd and the database
//! file. A commit notifies monitors, is written to the file, then lets "ovs-vswitchd"
//! react in a commit of its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use ovsdb::rpc::Message;
use serde_json::Value;

use crate::db::{default_row, new_uuid, Tables};
use crate::db_file::DbFile;
use crate::locks::Locks;
use crate::monitor::Monitor;
use crate::schema::Schema;
use crate::server_db;
use crate::vswitchd::{self, Vswitchd};

/// Where a connection's outgoing messages go (its writer thread).
pub type Outbox = Sender<Vec<u8>>;

pub struct State {
    pub schema: Schema,
    pub tables: Tables,
    pub server_schema: Schema,
    pub server_tables: Tables,
    pub run_dir: PathBuf,
    vswitchd: Option<Vswitchd>,
    /// (connection, monitor)
    pub monitors: Vec<(u64, Monitor)>,
    outboxes: BTreeMap<u64, Outbox>,
    pub locks: Locks,
    pub server_id: String,
    /// Counts commits, so that blocked `wait`s know when to look again.
    pub generation: u64,
    file: Option<DbFile>,
}

impl State {
    /// A server for `schema`. An empty Open_vSwitch database gets the root row that
    /// `ovs-vsctl init` and the init scripts write; with `vswitchd`, an emulated
    /// ovs-vswitchd then reacts to every commit. `file` holds the contents to start from.
    pub fn new(
        schema: Schema,
        run_dir: &Path,
        file: Option<(DbFile, Tables)>,
        vswitchd: bool,
    ) -> State {
        let ovs = schema.name == "Open_vSwitch";
        let (file, mut tables) = match file {
            Some((f, t)) => (Some(f), t),
            None => (None, Tables::new()),
        };
        if ovs && tables.get("Open_vSwitch").is_none_or(|t| t.is_empty()) {
            let mut row = default_row(&schema, "Open_vSwitch");
            vswitchd::init_script_defaults(&mut row, &schema.version);
            tables
                .entry("Open_vSwitch".into())
                .or_default()
                .insert(new_uuid(), row);
        }
        let server_schema = Schema::server();
        let server_tables = server_db::tables(&server_schema, &[&schema, &server_schema]);
        let mut st = State {
            schema,
            tables,
            server_schema,
            server_tables,
            run_dir: run_dir.to_path_buf(),
            vswitchd: (ovs && vswitchd).then(Vswitchd::default),
            monitors: Vec::new(),
            outboxes: BTreeMap::new(),
            locks: Locks::default(),
            server_id: new_uuid(),
            generation: 0,
            file,
        };
        // A database read from a file is what ovs-vswitchd would set up on start.
        st.react();
        if let Some(f) = st.file.as_mut() {
            if let Err(e) = f.compact(&st.schema, &st.tables) {
                tracing::error!("database file: {e}");
            }
        }
        st
    }

    pub fn connect(&mut self, conn: u64, outbox: Outbox) {
        self.outboxes.insert(conn, outbox);
    }

    /// Forgets a closed connection: its monitors, its place in lock queues.
    pub fn disconnect(&mut self, conn: u64) {
        self.outboxes.remove(&conn);
        self.monitors.retain(|(c, _)| *c != conn);
        for (to, method, name) in self.locks.drop_connection(conn) {
            self.send(
                to,
                &Message::Notification {
                    method: method.into(),
                    params: serde_json::json!([name]),
                },
            );
        }
    }

    pub fn send(&self, conn: u64, m: &Message) {
        if let Some(o) = self.outboxes.get(&conn) {
            let _ = o.send(m.to_bytes());
        }
    }

    /// The schema and tables of database `name`.
    pub fn database(&self, name: &str) -> Option<(&Schema, &Tables)> {
        if name == self.schema.name {
            Some((&self.schema, &self.tables))
        } else if name == self.server_schema.name {
            Some((&self.server_schema, &self.server_tables))
        } else {
            None
        }
    }

    /// Makes `new` the database's contents; monitors, the file and "ovs-vswitchd" follow.
    pub fn commit(&mut self, new: Tables, comment: Option<String>) {
        let old = std::mem::replace(&mut self.tables, new);
        self.after_commit(&old, comment);
        self.react();
    }

    fn after_commit(&mut self, old: &Tables, comment: Option<String>) {
        self.generation += 1;
        self.notify(old);
        if let Some(f) = self.file.as_mut() {
            if let Err(e) = f.append(&self.schema, old, &self.tables, comment) {
                tracing::error!("database file: {e}");
            }
        }
    }

    /// ovs-vswitchd's own transaction after a commit.
    fn react(&mut self) {
        let Some(v) = self.vswitchd.as_mut() else {
            return;
        };
        let mut next = self.tables.clone();
        if v.reconcile(&mut next, &self.run_dir) {
            for (t, rows) in next.iter_mut() {
                for (u, row) in rows.iter_mut() {
                    if self
                        .tables
                        .get(t)
                        .and_then(|r| r.get(u))
                        .is_some_and(|old| old != row)
                    {
                        row.insert("_version".into(), ovsdb::Datum::uuid(&new_uuid()));
                    }
                }
            }
            let before = std::mem::replace(&mut self.tables, next);
            self.after_commit(&before, None);
        }
    }

    fn notify(&mut self, old: &Tables) {
        for (conn, m) in &self.monitors {
            if m.db != self.schema.name {
                continue;
            }
            if let Some(update) = m.update(&self.schema, old, &self.tables) {
                let (method, params) = m.notification(update);
                self.send(
                    *conn,
                    &Message::Notification {
                        method: method.into(),
                        params,
                    },
                );
            }
        }
    }

    /// Monitors of connection `conn`.
    pub fn monitor_of(&mut self, conn: u64, id: &Value) -> Option<&mut Monitor> {
        self.monitors
            .iter_mut()
            .find(|(c, m)| *c == conn && m.id == *id)
            .map(|(_, m)| m)
    }
}
