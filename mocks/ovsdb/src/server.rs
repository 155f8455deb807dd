//! The socket side: the listening socket appears (by rename) only once it accepts; each
//! client gets a reader thread and a writer thread, so that a client that does not read
//! never holds up the others.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ovsdb::rpc::Message;
use ovsdb::stream::JsonStream;
use serde_json::json;

use crate::db_file::DbFile;
use crate::faults::{Action, ErrorText, Faults};
use crate::methods::Session;
use crate::schema::Schema;
use crate::state::State;

/// Largest buffered message before a client is dropped.
const MAX_MESSAGE: usize = 16 << 20;
/// How often a connection with a waiting `transact` looks at the database again.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// How to run a server.
pub struct Options {
    pub schema: Schema,
    /// Where `dpdkvhostuser` sockets go.
    pub run_dir: PathBuf,
    /// An OVSDB database file to load (if it exists) and to keep up to date.
    pub db_file: Option<PathBuf>,
    /// Play ovs-vswitchd's part (Open_vSwitch schema only).
    pub vswitchd: bool,
    pub faults: Faults,
}

impl Options {
    pub fn new(schema: Schema, run_dir: &Path) -> Options {
        Options {
            schema,
            run_dir: run_dir.to_path_buf(),
            db_file: None,
            vswitchd: true,
            faults: Faults::default(),
        }
    }
}

type Clients = Arc<Mutex<BTreeMap<u64, UnixStream>>>;

/// A running mock-ovsdb; stops (closing its clients, removing its socket) on
/// [`Server::stop`] or drop.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    listener_fd: std::os::fd::RawFd,
    accept: Option<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
    clients: Clients,
}

/// Serves `schema` on `path`; vhost-user sockets go to `run_dir`.
pub fn serve(path: &Path, schema: Schema, run_dir: &Path) -> std::io::Result<Server> {
    serve_with(path, Options::new(schema, run_dir))
}

/// Like [`serve`], misbehaving as `faults` say.
pub fn serve_with_faults(
    path: &Path,
    schema: Schema,
    run_dir: &Path,
    faults: Faults,
) -> std::io::Result<Server> {
    serve_with(
        path,
        Options {
            faults,
            ..Options::new(schema, run_dir)
        },
    )
}

pub fn serve_with(path: &Path, opts: Options) -> std::io::Result<Server> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    std::fs::create_dir_all(&opts.run_dir)?;
    let (schema, file) = match &opts.db_file {
        None => (opts.schema, None),
        Some(p) => {
            let (f, schema, tables) = DbFile::open(p, opts.schema)?;
            (schema, Some((f, tables)))
        }
    };
    let state = Arc::new(Mutex::new(State::new(
        schema,
        &opts.run_dir,
        file,
        opts.vswitchd,
    )));
    let tmp = dir.join(format!(
        ".{}.{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let listener_fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
    std::fs::rename(&tmp, path)?;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Clients = Arc::default();
    let faults = Arc::new(opts.faults);
    let accept = {
        let (state, stop, clients) = (state.clone(), stop.clone(), clients.clone());
        std::thread::Builder::new()
            .name("ovsdb-accept".into())
            .spawn(move || {
                static CONN: AtomicU64 = AtomicU64::new(1);
                for s in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(s) = s else { continue };
                    let conn = CONN.fetch_add(1, Ordering::SeqCst);
                    if let Ok(c) = s.try_clone() {
                        clients
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(conn, c);
                    }
                    let (state, faults, clients) = (state.clone(), faults.clone(), clients.clone());
                    let _ = std::thread::Builder::new()
                        .name(format!("ovsdb-client-{conn}"))
                        .spawn(move || {
                            if let Err(e) = serve_client(&state, &faults, s, conn) {
                                tracing::debug!("client {conn}: {e}");
                            }
                            state
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .disconnect(conn);
                            clients
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .remove(&conn);
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
        clients,
    })
}

/// Writes what the connection's outbox receives, until the outbox or the socket closes.
fn spawn_writer(
    mut stream: UnixStream,
    conn: u64,
) -> std::io::Result<std::sync::mpsc::Sender<Vec<u8>>> {
    let (tx, rx) = channel::<Vec<u8>>();
    std::thread::Builder::new()
        .name(format!("ovsdb-writer-{conn}"))
        .spawn(move || {
            for bytes in rx {
                if stream.write_all(&bytes).is_err() {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
        })?;
    Ok(tx)
}

fn serve_client(
    state: &Mutex<State>,
    faults: &Faults,
    stream: UnixStream,
    conn: u64,
) -> std::io::Result<()> {
    let outbox = spawn_writer(stream.try_clone()?, conn)?;
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .connect(conn, outbox.clone());
    let send = |m: &Message| {
        let _ = outbox.send(m.to_bytes());
    };
    let mut session = Session::new(conn);
    let mut reader = stream;
    let mut incoming = JsonStream::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut stalled = false;
    loop {
        reader.set_read_timeout(session.has_pending().then_some(RETRY_EVERY))?;
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => incoming.push(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if incoming.pending() > MAX_MESSAGE {
            return Err(std::io::Error::other("message too large"));
        }
        while let Some(v) = incoming
            .next_value()
            .map_err(|e| std::io::Error::other(e.to_string()))?
        {
            let msg = Message::from_json(v).map_err(std::io::Error::other)?;
            match msg {
                _ if stalled => {}
                Message::Request { id, method, params } => match faults.check(&method) {
                    None => {
                        if let Some(reply) = session.handle(state, id, &method, &params) {
                            send(&reply);
                        }
                    }
                    Some(Action::Fail(ErrorText(error))) => {
                        tracing::warn!("fault: failing {method}");
                        send(&if method == "transact" {
                            let result = json!([{"error": error, "details": "injected by mock-ovsdb --fault"}]);
                            Message::Reply { id, result }
                        } else {
                            Message::Error {
                                id,
                                error: json!(error),
                            }
                        });
                    }
                    Some(Action::Stall) => {
                        tracing::warn!("fault: {method} and everything after it get no reply");
                        stalled = true;
                    }
                    Some(Action::Drop) => return Ok(()),
                    Some(Action::Exit) => std::process::exit(3),
                },
                Message::Notification { method, params } if method == "cancel" => {
                    if let Some(id) = params.get(0) {
                        session.cancel(id);
                    }
                }
                _ => {}
            }
        }
        if session.has_pending() && !stalled {
            for reply in session.retry(state) {
                send(&reply);
            }
        }
    }
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
            // The listener stays open until the accept thread is joined.
            let _ = nix::sys::socket::shutdown(self.listener_fd, nix::sys::socket::Shutdown::Both);
            let _ = t.join();
            let _ = std::fs::remove_file(&self.path);
            for c in self
                .clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
            {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}
