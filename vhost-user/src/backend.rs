//! The back end's connection to one front end, in either of vhost-user's socket roles:
//! server (listen on the path, serve whoever connects, listen again when they leave) or
//! client (connect to the front end's socket, retrying while it is not there yet).
//! Messages are read and answered by rust-vmm's `BackendReqHandler`; the socket is left
//! to the caller to poll, so that a data plane can wait on it next to its other ports.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use vhost::vhost_user::{BackendReqHandler, Error as VuError, Listener};

use crate::device::Device;
use crate::error::{Error, Result};

/// Longest wait for the rest of a message once its first bytes came.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The socket role of the back end.
pub enum Role {
    /// Listens on the path; one front end at a time.
    Server(Listener),
    /// Connects to a front end listening on the path.
    Client(PathBuf),
}

/// What a message (or the lack of one) did to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// Answered; the connection stays.
    Ok,
    /// The front end left (closed its socket): the port is down, the device reset.
    Gone,
    /// The front end sent something this back end refuses; the connection is closed and
    /// the error counted.
    Refused(String),
}

/// One vhost-user port: a socket role, the device state, and the connection if any.
pub struct Port {
    role: Role,
    device: Arc<Mutex<Device>>,
    conn: Option<BackendReqHandler<Mutex<Device>>>,
}

impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::Server(_) => f.write_str("Server"),
            Role::Client(p) => write!(f, "Client({})", p.display()),
        }
    }
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("role", &self.role)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl Port {
    /// A server port: listens on `path` (a stale socket file there is replaced).
    pub fn listen(path: &Path) -> Result<Port> {
        let l = Listener::new(path, true)?;
        l.set_nonblocking(true)?;
        Ok(Port::with_role(Role::Server(l)))
    }

    /// A server port on a socket already listening.
    pub fn from_listener(l: Listener) -> Port {
        let _ = l.set_nonblocking(true);
        Port::with_role(Role::Server(l))
    }

    /// A client port: [`Port::connect`] reaches the front end at `path`.
    pub fn client(path: &Path) -> Port {
        Port::with_role(Role::Client(path.to_path_buf()))
    }

    /// A port on an already connected socket (a client port that will not reconnect).
    pub fn from_stream(s: UnixStream) -> Port {
        let mut p = Port::client(Path::new(""));
        p.attach(s);
        p
    }

    fn with_role(role: Role) -> Port {
        Port {
            role,
            device: Arc::new(Mutex::new(Device::new())),
            conn: None,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self.role, Role::Server(_))
    }

    /// The device the data plane moves frames through.
    pub fn device(&self) -> &Arc<Mutex<Device>> {
        &self.device
    }

    pub fn connected(&self) -> bool {
        self.conn.is_some()
    }

    /// The descriptor to wait on: the connection when there is one, else a server's
    /// listening socket (a client has nothing to wait on until [`Port::connect`]).
    pub fn poll_fd(&self) -> Option<RawFd> {
        match (&self.conn, &self.role) {
            (Some(c), _) => Some(c.as_raw_fd()),
            (None, Role::Server(l)) => Some(l.as_raw_fd()),
            (None, Role::Client(_)) => None,
        }
    }

    /// A server takes a waiting front end (true when it did); no-op when connected.
    pub fn accept(&mut self) -> Result<bool> {
        let Role::Server(l) = &self.role else {
            return Ok(false);
        };
        if self.conn.is_some() {
            return Ok(false);
        }
        match l.accept()? {
            Some(s) => {
                self.attach(s);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A client tries its front end once; `Ok(false)` while nobody listens there (the
    /// caller retries later).
    pub fn connect(&mut self) -> Result<bool> {
        let Role::Client(path) = &self.role else {
            return Ok(false);
        };
        if self.conn.is_some() {
            return Ok(true);
        }
        match UnixStream::connect(path) {
            Ok(s) => {
                self.attach(s);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::io("connect", e)),
        }
    }

    fn attach(&mut self, s: UnixStream) {
        // A front end that stops in the middle of a message cannot hold the port: the
        // read times out and the connection is dropped.
        let _ = s.set_nonblocking(false);
        let _ = s.set_read_timeout(Some(READ_TIMEOUT));
        let mut d = self.device.lock().expect("device");
        let stats = d.stats;
        *d = Device::new();
        d.stats = stats;
        drop(d);
        self.conn = Some(BackendReqHandler::from_stream(s, self.device.clone()));
    }

    /// Reads and answers one message (the caller saw the socket readable).
    pub fn serve(&mut self) -> Served {
        let Some(c) = &mut self.conn else {
            return Served::Gone;
        };
        match c.handle_request() {
            Ok(()) => Served::Ok,
            Err(e) => {
                let gone = matches!(e, VuError::Disconnected | VuError::PartialMessage);
                // A request the device refused has already been counted there.
                let counted = !gone && self.device.lock().expect("device").failed.is_none();
                self.drop_connection(counted);
                if gone {
                    Served::Gone
                } else {
                    Served::Refused(e.to_string())
                }
            }
        }
    }

    /// Closes the connection: the port goes down; `counted` adds an error.
    pub fn drop_connection(&mut self, counted: bool) {
        self.conn = None;
        let mut d = self.device.lock().expect("device");
        let errors = d.stats.errors + u64::from(counted);
        let stats = d.stats;
        *d = Device::new();
        d.stats = stats;
        d.stats.errors = errors;
    }
}
