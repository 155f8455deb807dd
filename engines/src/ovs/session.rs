//! The OVSDB transactions of the ovs-dpdk engine, on the Open_vSwitch schema.

use std::path::Path;
use std::time::{Duration, Instant};

use ovsdb::ops::{self, by_name, by_uuid, cond};
use ovsdb::{Atom, Client, Datum};
use serde_json::{json, Map, Value};

use super::OWNER_KEY;
use crate::{Attachment, Error, Result, Step, VhostMode};

const DB: &str = "Open_vSwitch";
/// How often the database is asked whether ovs-vswitchd is done.
const DB_POLL: Duration = Duration::from_millis(2);
/// How often the vhost-user socket file is looked for (a `stat`). Each look wakes this
/// process, which then competes for the CPUs with the ovsdb-server and ovs-vswitchd it
/// waits for: on two CPUs, looking every 50 µs made ADD 1 ms slower than every 200 µs,
/// every 100 µs 0.2 ms slower, every 400 µs slower again. (An inotify watch would not
/// wake needlessly, but closing one waits for an RCU grace period: milliseconds.)
const FILE_POLL: Duration = Duration::from_micros(200);
/// When the database is first asked while the vhost-user socket is awaited: ovs-vswitchd
/// makes it within a millisecond or two, and asking sooner only queues behind its work.
/// (An interface OVS cannot set up gets no socket: then the database tells.)
const FIRST_DB_LOOK: Duration = Duration::from_millis(5);

/// What [`Session::del_bridge_if_ours_and_empty`] needs of a bridge.
fn bridge_select(name: &str) -> Value {
    ops::select(
        "Bridge",
        by_name("name", name),
        &["_uuid", "ports", "external_ids"],
    )
}

pub(super) fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

pub struct Session {
    client: Client,
    socket: String,
    /// When everything on this session must be over (the engine's bound).
    deadline: Instant,
}

fn refused(step: Step) -> impl Fn(ovsdb::Error) -> Error {
    move |e| Error::Refused {
        step,
        message: e.to_string(),
    }
}

fn row(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn rows(result: &Value) -> Vec<Value> {
    result["rows"].as_array().cloned().unwrap_or_default()
}

fn datum(v: &Value) -> Option<Datum> {
    Datum::from_json(v)
}

impl Session {
    /// Connects, with every transaction (and every wait) over by `deadline`.
    pub fn connect(socket: &Path, deadline: Instant) -> Result<Session> {
        let unavailable = |reason: String| Error::Unavailable {
            step: Step::Connect,
            socket: socket.display().to_string(),
            reason,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(unavailable("no time left (timeoutMs)".into()));
        }
        let mut client = Client::connect(socket, left).map_err(|e| unavailable(e.to_string()))?;
        client.set_deadline(Some(deadline));
        Ok(Session {
            client,
            socket: socket.display().to_string(),
            deadline,
        })
    }

    fn transact(&mut self, step: Step, ops: Vec<Value>) -> Result<Vec<Value>> {
        self.client.transact(DB, ops).map_err(|e| match e {
            ovsdb::Error::Timeout(_) | ovsdb::Error::Closed | ovsdb::Error::Io(_) => {
                Error::Unavailable {
                    step,
                    socket: self.socket.clone(),
                    reason: e.to_string(),
                }
            }
            other => refused(step)(other),
        })
    }

    pub fn ping(&mut self) -> Result<()> {
        let dbs = self.client.list_dbs().map_err(|e| Error::Unavailable {
            step: Step::Connect,
            socket: self.socket.clone(),
            reason: e.to_string(),
        })?;
        if dbs.iter().any(|d| d == DB) {
            Ok(())
        } else {
            Err(Error::Unavailable {
                step: Step::Connect,
                socket: self.socket.clone(),
                reason: format!("no {DB} database (has {dbs:?})"),
            })
        }
    }

    /// Creates the bridge (netdev datapath, tagged as ours); false when it exists already
    /// (someone else's, or made by a concurrent ADD).
    pub fn create_bridge(&mut self, name: &str) -> Result<bool> {
        let ops = vec![
            ops::insert(
                "Interface",
                row(vec![("name", json!(name)), ("type", json!("internal"))]),
                Some("iface"),
            ),
            ops::insert(
                "Port",
                row(vec![
                    ("name", json!(name)),
                    ("interfaces", json!(["named-uuid", "iface"])),
                ]),
                Some("port"),
            ),
            ops::insert(
                "Bridge",
                row(vec![
                    ("name", json!(name)),
                    ("ports", json!(["named-uuid", "port"])),
                    ("datapath_type", json!("netdev")),
                    ("external_ids", ops::string_map([(OWNER_KEY, "created")])),
                ]),
                Some("bridge"),
            ),
            // The one Open_vSwitch row: no need to look its uuid up first.
            ops::mutate(
                "Open_vSwitch",
                vec![],
                vec![json!([
                    "bridges",
                    "insert",
                    ["set", [["named-uuid", "bridge"]]]
                ])],
            ),
            ops::comment(&format!("userspace-cni: create bridge {name}")),
        ];
        match self.transact(Step::BridgeCreate, ops) {
            Ok(_) => Ok(true),
            // The Bridge name index: it appeared since the port was tried.
            Err(Error::Refused { message, .. }) if message.contains("constraint violation") => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Adds the port and its vhost-user interface to `bridge` in one transaction, and
    /// asks ovs-vswitchd to apply it (`next_cfg`); the new port's uuid, or `None` when
    /// there is no such bridge (then nothing was added: OVSDB collects the unreferenced
    /// port and interface rows at commit).
    pub fn add_port(
        &mut self,
        bridge: &str,
        port: &str,
        socket: &Path,
        mode: VhostMode,
        vlan: Option<u16>,
        who: &Attachment,
    ) -> Result<Option<String>> {
        let ids = ops::string_map([
            (OWNER_KEY, "true"),
            ("container-id", who.container_id.as_str()),
            ("ifname", who.if_name.as_str()),
        ]);
        let socket = socket.display().to_string();
        let mut iface = row(vec![("name", json!(port)), ("external_ids", ids.clone())]);
        match mode {
            VhostMode::Server => {
                iface.insert("type".into(), json!("dpdkvhostuser"));
            }
            VhostMode::Client => {
                iface.insert("type".into(), json!("dpdkvhostuserclient"));
                iface.insert(
                    "options".into(),
                    ops::string_map([("vhost-server-path", socket.as_str())]),
                );
            }
        }
        let mut port_row = row(vec![
            ("name", json!(port)),
            ("interfaces", json!(["named-uuid", "iface"])),
            ("external_ids", ids),
        ]);
        if let Some(tag) = vlan {
            port_row.insert("tag".into(), json!(tag));
        }
        let ops = vec![
            ops::insert("Interface", iface, Some("iface")),
            ops::insert("Port", port_row, Some("port")),
            ops::mutate(
                "Bridge",
                by_name("name", bridge),
                vec![json!([
                    "ports",
                    "insert",
                    ["set", [["named-uuid", "port"]]]
                ])],
            ),
            ops::mutate("Open_vSwitch", vec![], vec![json!(["next_cfg", "+=", 1])]),
            ops::comment(&format!("userspace-cni: add port {port} to {bridge}")),
        ];
        let r = self.transact(Step::InterfaceCreate, ops)?;
        if r[2]["count"] != json!(1) {
            return Ok(None);
        }
        r[1]["uuid"][1]
            .as_str()
            .map(|u| Some(u.to_string()))
            .ok_or_else(|| Error::Refused {
                step: Step::InterfaceCreate,
                message: "OVSDB returned no port uuid".into(),
            })
    }

    /// Waits until ovs-vswitchd has set the interface up. A `dpdkvhostuser` interface is
    /// ready once its socket (`socket`) exists: ovs-vswitchd creates it while it builds
    /// the port, well before it finishes the whole reconfiguration (rx queues to PMD
    /// threads, which may sleep) and reports it in `cur_cfg`. Otherwise, or when the
    /// socket does not come, this is when `cur_cfg` catches up with `next_cfg`, and then
    /// the interface's `error` decides.
    pub fn await_created(&mut self, port: &str, socket: Option<&Path>) -> Result<()> {
        let start = Instant::now();
        let deadline = self.deadline;
        let mut next_db_look = match socket {
            Some(_) => start + FIRST_DB_LOOK,
            None => start,
        };
        loop {
            if socket.is_some_and(is_socket) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= next_db_look {
                if self.applied()? {
                    return self.interface_result(port).map(drop);
                }
                next_db_look = now + DB_POLL;
            }
            if now >= deadline {
                return Err(Error::Unavailable {
                    step: Step::InterfaceUp,
                    socket: self.socket.clone(),
                    reason: format!("ovs-vswitchd did not set up interface {port} in time"),
                });
            }
            std::thread::sleep(if socket.is_some() { FILE_POLL } else { DB_POLL });
        }
    }

    /// Whether ovs-vswitchd has applied every change so far (`cur_cfg` >= `next_cfg`).
    fn applied(&mut self) -> Result<bool> {
        let r = self.transact(
            Step::InterfaceUp,
            vec![ops::select(
                "Open_vSwitch",
                vec![],
                &["cur_cfg", "next_cfg"],
            )],
        )?;
        let row = rows(&r[0]).into_iter().next().unwrap_or_default();
        let cur = row["cur_cfg"].as_i64().unwrap_or(0);
        let next = row["next_cfg"].as_i64().unwrap_or(0);
        Ok(cur >= next)
    }

    /// For CHECK: the interface's ofport, or OVS's error for it. ADD returns before
    /// ovs-vswitchd has numbered a `dpdkvhostuser` port (its socket is what ADD waits
    /// for; ovs-vswitchd may write the number after it reports the change applied in
    /// `cur_cfg`), so a port with neither a number nor an error yet is waited for, up to
    /// the session's deadline; one still being built then is accepted as such (`None`).
    /// OVS marks a port it cannot build with `error` or `ofport` -1.
    pub fn port_number(&mut self, port: &str) -> Result<Option<i64>> {
        loop {
            match self.interface_result(port) {
                Ok(p) => return Ok(Some(p)),
                Err(Error::Refused { message, .. })
                    if message.contains("no port number (None)") =>
                {
                    if Instant::now() + DB_POLL >= self.deadline {
                        tracing::info!("interface {port} is still being built by ovs-vswitchd");
                        return Ok(None);
                    }
                    std::thread::sleep(DB_POLL);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The interface's ofport, or OVS's error for it.
    pub fn interface_result(&mut self, port: &str) -> Result<i64> {
        let r = self.transact(
            Step::Check,
            vec![ops::select(
                "Interface",
                by_name("name", port),
                &["error", "ofport"],
            )],
        )?;
        let Some(row) = rows(&r[0]).into_iter().next() else {
            return Err(Error::Refused {
                step: Step::InterfaceCreate,
                message: format!("interface {port} is not in OVS"),
            });
        };
        let error = datum(&row["error"])
            .and_then(|d| d.scalar().and_then(Atom::as_str).map(str::to_string));
        let ofport = datum(&row["ofport"]).and_then(|d| d.scalar().and_then(Atom::as_integer));
        match (error, ofport) {
            (Some(e), _) if !e.is_empty() => Err(Error::Refused {
                step: Step::InterfaceCreate,
                message: format!("OVS: {e}"),
            }),
            (_, Some(p)) if p > 0 => Ok(p),
            (_, p) => Err(Error::Refused {
                step: Step::InterfaceCreate,
                message: format!("OVS gave interface {port} no port number ({p:?})"),
            }),
        }
    }

    /// Removes the port with this uuid (the one an ADD created) from its bridge, and reads
    /// `bridge` as it is afterwards, in one transaction: whether a port named `port` that
    /// is not this one is there (someone else's: its socket file is kept), and the bridge
    /// row for [`Session::del_bridge_if_ours_and_empty`].
    pub fn del_port_uuid(
        &mut self,
        uuid: &str,
        port: &str,
        bridge: &str,
    ) -> Result<(bool, Option<Value>)> {
        let ops = vec![
            ops::select("Port", by_name("name", port), &["_uuid"]),
            ops::mutate(
                "Bridge",
                vec![cond("ports", "includes", json!(["uuid", uuid]))],
                vec![json!(["ports", "delete", ["set", [["uuid", uuid]]]])],
            ),
            bridge_select(bridge),
            ops::comment("userspace-cni: delete port"),
        ];
        let r = self.transact(Step::InterfaceDelete, ops)?;
        let other = rows(&r[0]).iter().any(|row| {
            datum(&row["_uuid"])
                .and_then(|d| d.scalar().and_then(Atom::as_uuid).map(str::to_string))
                .is_some_and(|u| u != uuid)
        });
        Ok((other, rows(&r[2]).into_iter().next()))
    }

    /// Removes the port named `port` from whichever bridge has it (OVS collects the port
    /// and interface), when it is `owner`'s: its `external_ids` name that attachment (any
    /// port when `None`). Whether a port of that name that is not `owner`'s is left.
    pub fn del_port(&mut self, port: &str, owner: Option<&Attachment>) -> Result<bool> {
        let r = self.transact(
            Step::InterfaceDelete,
            vec![ops::select(
                "Port",
                by_name("name", port),
                &["_uuid", "external_ids"],
            )],
        )?;
        let Some(row) = rows(&r[0]).into_iter().next() else {
            return Ok(false);
        };
        if let Some(who) = owner {
            let ids = datum(&row["external_ids"]);
            let get = |k: &str| {
                ids.as_ref()
                    .and_then(|d| d.map_get(k).cloned())
                    .and_then(|a| a.as_str().map(str::to_string))
            };
            let ours = get(OWNER_KEY).is_some()
                && get("container-id").as_deref() == Some(who.container_id.as_str())
                && get("ifname").as_deref() == Some(who.if_name.as_str());
            if !ours {
                tracing::info!("port {port} is another attachment's: kept");
                return Ok(true);
            }
        }
        let Some(uuid) = datum(&row["_uuid"])
            .and_then(|d| d.scalar().and_then(Atom::as_uuid).map(str::to_string))
        else {
            return Ok(false);
        };
        let ops = vec![
            ops::mutate(
                "Bridge",
                vec![cond("ports", "includes", json!(["uuid", uuid]))],
                vec![json!(["ports", "delete", ["set", [["uuid", uuid]]]])],
            ),
            ops::comment(&format!("userspace-cni: delete port {port}")),
        ];
        self.transact(Step::InterfaceDelete, ops).map(|_| false)
    }

    pub fn port_in_bridge(&mut self, bridge: &str, port: &str) -> Result<bool> {
        let r = self.transact(
            Step::Check,
            vec![
                ops::select("Port", by_name("name", port), &["_uuid"]),
                ops::select("Bridge", by_name("name", bridge), &["ports"]),
            ],
        )?;
        let Some(uuid) = rows(&r[0]).first().and_then(|row| datum(&row["_uuid"])) else {
            return Ok(false);
        };
        let ports = rows(&r[1]).first().and_then(|row| datum(&row["ports"]));
        Ok(match (uuid.scalar(), ports) {
            (Some(u), Some(Datum::Set(p))) => p.contains(u),
            _ => false,
        })
    }

    /// Deletes the bridge when this plugin created it and only its own internal port is
    /// left; a bridge the user made is never touched.
    /// `read` is the bridge row when the caller has just read it (`None`: look it up).
    pub fn del_bridge_if_ours_and_empty(
        &mut self,
        name: &str,
        read: Option<Option<Value>>,
    ) -> Result<()> {
        let row = match read {
            Some(row) => row,
            None => {
                let r = self.transact(Step::BridgeDelete, vec![bridge_select(name)])?;
                rows(&r[0]).into_iter().next()
            }
        };
        let Some(b) = row else {
            return Ok(());
        };
        let ours = datum(&b["external_ids"]).and_then(|d| d.map_get(OWNER_KEY).cloned())
            == Some(Atom::String("created".into()));
        let ports = match datum(&b["ports"]) {
            Some(Datum::Set(p)) => p.len(),
            _ => 0,
        };
        if !ours || ports > 1 {
            return Ok(());
        }
        let uuid = datum(&b["_uuid"])
            .and_then(|d| d.scalar().and_then(Atom::as_uuid).map(str::to_string))
            .unwrap_or_default();
        let ops = vec![
            // Only if nothing joined meanwhile.
            ops::wait(
                "Bridge",
                by_uuid(&uuid),
                &["ports"],
                "==",
                vec![json!({"ports": b["ports"].clone()})],
            ),
            ops::mutate(
                "Open_vSwitch",
                vec![],
                vec![json!(["bridges", "delete", ["set", [["uuid", uuid]]]])],
            ),
            ops::comment(&format!("userspace-cni: delete bridge {name}")),
        ];
        match self.transact(Step::BridgeDelete, ops) {
            Err(Error::Refused { message, .. }) if message.contains("timed out") => Ok(()),
            other => other.map(drop),
        }
    }
}
