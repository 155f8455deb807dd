//! The socket side: one thread per client, one database behind a lock, monitors fed from
//! every commit (the committing client's own update arrives before its reply, as with
//! ovsdb-server).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ovsdb::rpc::Message;
use ovsdb::stream::JsonStream;
use serde_json::{json, Value};

use crate::db::{default_row, new_uuid, Tables};
use crate::faults::{Action, Faults};
use crate::monitor::Monitor;
use crate::schema::Schema;
use crate::transact::transact;
use crate::vswitchd::{self, Sockets};

/// Largest buffered message before a client is dropped.
const MAX_MESSAGE: usize = 16 << 20;

type Writer = Arc<Mutex<UnixStream>>;

pub struct State {
    pub schema: Schema,
    pub tables: Tables,
    run_dir: PathBuf,
    sockets: Sockets,
    /// (connection, monitor)
    monitors: Vec<(u64, Monitor)>,
    writers: BTreeMap<u64, Writer>,
    server_id: String,
}

impl State {
    pub fn new(schema: Schema, run_dir: &Path) -> State {
        let mut tables = Tables::new();
        if schema.name == "Open_vSwitch" {
            let mut row = default_row(&schema, "Open_vSwitch");
            let set = |v: &[&str]| {
                ovsdb::Datum::Set(
                    v.iter()
                        .map(|s| ovsdb::Atom::String(s.to_string()))
                        .collect(),
                )
            };
            // ovs_version is left to the init scripts (ovs-ctl), as ovs-vswitchd does.
            row.insert("db_version".into(), set(&[&schema.version]));
            row.insert("datapath_types".into(), set(&["netdev", "system"]));
            row.insert(
                "iface_types".into(),
                crate::db::normalize(set(vswitchd::IFACE_TYPES)),
            );
            tables
                .entry("Open_vSwitch".into())
                .or_default()
                .insert(new_uuid(), row);
        }
        State {
            schema,
            tables,
            run_dir: run_dir.to_path_buf(),
            sockets: Sockets::default(),
            monitors: Vec::new(),
            writers: BTreeMap::new(),
            server_id: new_uuid(),
        }
    }

    fn notify(&mut self, old: &Tables) {
        let mut dead = Vec::new();
        for (conn, m) in &self.monitors {
            let Some(update) = m.update(&self.schema, old, &self.tables) else {
                continue;
            };
            let method = if m.version == 1 { "update" } else { "update2" };
            let msg = Message::Notification {
                method: method.into(),
                params: json!([m.id, update]),
            };
            if let Some(w) = self.writers.get(conn) {
                if write(w, &msg).is_err() {
                    dead.push(*conn);
                }
            }
        }
        self.monitors.retain(|(c, _)| !dead.contains(c));
    }
}

fn write(w: &Writer, m: &Message) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(&m.to_json()).expect("json");
    w.lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_all(&bytes)
}

/// Handles one request; `None` when nothing is to be answered.
fn handle(state: &Mutex<State>, conn: u64, method: &str, params: &Value) -> Result<Value, Value> {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    let db_ok = |st: &State, db: &Value| -> Result<(), Value> {
        if db.as_str() == Some(st.schema.name.as_str()) {
            Ok(())
        } else {
            Err(json!({"error": "unknown database",
                       "details": format!("{method} request specifies unknown database {}", db.as_str().unwrap_or("?")),
                       "syntax": params.to_string()}))
        }
    };
    match method {
        "list_dbs" => Ok(json!([st.schema.name])),
        "get_schema" => {
            db_ok(&st, &params[0])?;
            Ok(st.schema.json.clone())
        }
        "echo" => Ok(params.clone()),
        "get_server_id" => Ok(json!(st.server_id)),
        "lock" | "steal" => Ok(json!({"locked": true})),
        "unlock" | "set_db_change_aware" => Ok(json!({})),
        "transact" => {
            db_ok(&st, &params[0])?;
            let ops: Vec<Value> = params
                .as_array()
                .map(|a| a[1..].to_vec())
                .unwrap_or_default();
            let outcome = transact(&st.schema, &st.tables, &ops);
            if let Some(new) = outcome.committed {
                let old = std::mem::replace(&mut st.tables, new);
                st.notify(&old);
                let before = st.tables.clone();
                let State {
                    tables,
                    run_dir,
                    sockets,
                    ..
                } = &mut *st;
                if vswitchd::reconcile(tables, run_dir, sockets) {
                    st.notify(&before);
                }
            }
            Ok(Value::Array(outcome.results))
        }
        "monitor" | "monitor_cond" => {
            db_ok(&st, &params[0])?;
            let id = params[1].clone();
            if st.monitors.iter().any(|(c, m)| *c == conn && m.id == id) {
                return Err(json!({"error": "syntax error", "details": "duplicate monitor ID"}));
            }
            let version = if method == "monitor" { 1 } else { 2 };
            let m = Monitor::parse(id, &params[2], version, &st.schema)
                .map_err(|e| json!({"error": "syntax error", "details": e}))?;
            let initial = m.initial(&st.schema, &st.tables);
            st.monitors.push((conn, m));
            Ok(initial)
        }
        "monitor_cancel" => {
            let before = st.monitors.len();
            st.monitors
                .retain(|(c, m)| !(*c == conn && m.id == params[0]));
            if st.monitors.len() == before {
                Err(json!({"error": "unknown monitor"}))
            } else {
                Ok(json!({}))
            }
        }
        _ => Err(json!("unknown method")),
    }
}

fn serve_client(
    state: Arc<Mutex<State>>,
    faults: Arc<Faults>,
    stream: UnixStream,
    conn: u64,
) -> std::io::Result<()> {
    let mut stalled = false;
    let writer: Writer = Arc::new(Mutex::new(stream.try_clone()?));
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .writers
        .insert(conn, writer.clone());
    let mut reader = stream;
    let mut incoming = JsonStream::new();
    let mut buf = vec![0u8; 64 * 1024];
    let result = (|| loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        incoming.push(&buf[..n]);
        if incoming.pending() > MAX_MESSAGE {
            return Err(std::io::Error::other("message too large"));
        }
        loop {
            let v = match incoming.next_value() {
                Ok(Some(v)) => v,
                Ok(None) => break,
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            };
            match Message::from_json(v) {
                Ok(Message::Request { .. }) if stalled => {}
                Ok(Message::Request { id, method, params }) => {
                    match faults.check(&method) {
                        None => {}
                        Some(Action::Fail(error)) => {
                            tracing::warn!("fault: failing {method}");
                            let reply = if method == "transact" {
                                Message::Reply {
                                    id,
                                    result: json!([{"error": error, "details": "injected by mock-ovsdb --fault"}]),
                                }
                            } else {
                                Message::Error {
                                    id,
                                    error: json!(error),
                                }
                            };
                            write(&writer, &reply)?;
                            continue;
                        }
                        Some(Action::Stall) => {
                            tracing::warn!("fault: {method} and everything after it get no reply");
                            stalled = true;
                            continue;
                        }
                        Some(Action::Drop) => return Ok(()),
                        Some(Action::Exit) => std::process::exit(3),
                    }
                    let reply = match handle(&state, conn, &method, &params) {
                        Ok(result) => Message::Reply { id, result },
                        Err(error) => Message::Error { id, error },
                    };
                    write(&writer, &reply)?;
                }
                Ok(_) => {}
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    })();
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.writers.remove(&conn);
    st.monitors.retain(|(c, _)| *c != conn);
    result
}

/// A running mock-ovsdb; stops (and removes its socket) on [`Server::stop`] or drop.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    listener_fd: std::os::fd::RawFd,
    accept: Option<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
}

/// Serves `schema` on `path`; vhost-user sockets go to `run_dir`.
pub fn serve(path: &Path, schema: Schema, run_dir: &Path) -> std::io::Result<Server> {
    serve_with_faults(path, schema, run_dir, Faults::default())
}

/// Like [`serve`], misbehaving as `faults` say.
pub fn serve_with_faults(
    path: &Path,
    schema: Schema,
    run_dir: &Path,
    faults: Faults,
) -> std::io::Result<Server> {
    let faults = Arc::new(faults);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    std::fs::create_dir_all(run_dir)?;
    let tmp = dir.join(format!(
        ".{}.{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let listener_fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
    std::fs::rename(&tmp, path)?;
    let state = Arc::new(Mutex::new(State::new(schema, run_dir)));
    let stop = Arc::new(AtomicBool::new(false));
    let accept = {
        let (state, stop, faults) = (state.clone(), stop.clone(), faults.clone());
        std::thread::Builder::new()
            .name("ovsdb-accept".into())
            .spawn(move || {
                static CONN: AtomicU64 = AtomicU64::new(1);
                for s in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(s) = s else { continue };
                    let (state, faults) = (state.clone(), faults.clone());
                    let conn = CONN.fetch_add(1, Ordering::SeqCst);
                    let _ = std::thread::Builder::new()
                        .name(format!("ovsdb-client-{conn}"))
                        .spawn(move || {
                            if let Err(e) = serve_client(state, faults, s, conn) {
                                tracing::debug!("client {conn}: {e}");
                            }
                        });
                }
            })?
    };
    tracing::info!("serving OVSDB on {}", path.display());
    Ok(Server {
        path: path.to_path_buf(),
        stop,
        listener_fd,
        accept: Some(accept),
        state,
    })
}

impl Server {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn state(&self) -> Arc<Mutex<State>> {
        self.state.clone()
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(t) = self.accept.take() {
            self.stop.store(true, Ordering::SeqCst);
            // SAFETY: the listener stays open until the accept thread is joined.
            unsafe { libc::shutdown(self.listener_fd, libc::SHUT_RDWR) };
            let _ = t.join();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}
