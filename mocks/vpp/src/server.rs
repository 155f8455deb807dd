//! The API socket: one thread per client connection, requests executed one at a time
//! against the shared model (as VPP does), replies framed as on a real VPP socket.

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use vpp_api::frame::read_frame;
use vpp_api::message::{decode, encode, peek_id, Envelope};
use vpp_api::messages::{
    CliInband, CliInbandReply, SockclntCreate, SockclntCreateReply, SockclntDelete,
    SockclntDeleteReply, SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID,
};
use vpp_api::types::MessageTableEntry;
use vpp_api::wire::{Counted, FixedString};
use vpp_api::MessageTable;

use crate::clients::{self, Clients, Sender};
use crate::faults::{bare_name, refusal, Action, Faults, Retval};
use crate::handlers::{message_table, Responder};
use crate::model::Vpp;

/// Largest request accepted; a bigger frame ends that client's connection.
pub const MAX_REQUEST: usize = 1 << 20;
const SOCKCLNT_DELETE_ID: u16 = 17;
const SOCKCLNT_DELETE_REPLY_ID: u16 = 18;

/// A running mock; stops (and removes its socket) on [`Server::stop`] or drop.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    listener_fd: std::os::fd::RawFd,
    accept: Option<JoinHandle<()>>,
    vpp: Arc<Mutex<Vpp>>,
    cli: Option<crate::cli_socket::CliSocket>,
}

/// Starts serving on `path`. The socket file appears only once it accepts connections.
pub fn serve(path: &Path) -> io::Result<Server> {
    serve_with_faults(path, Faults::default())
}

/// Like [`serve`], misbehaving as `faults` say.
pub fn serve_with_faults(path: &Path, faults: Faults) -> io::Result<Server> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let listener_fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
    std::fs::rename(&tmp, path)?;
    let vpp = Arc::new(Mutex::new(Vpp::new(dir)));
    let dp = crate::dataplane::DataPlane::start(&vpp)?;
    vpp.lock().expect("fresh").dataplane = Some(dp);
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared {
        vpp: vpp.clone(),
        table: message_table(),
        clients: Clients::default(),
        faults,
    });
    let accept = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("api-accept".into())
            .spawn(move || accept_loop(listener, shared, stop))?
    };
    tracing::info!("serving VPP's binary API on {}", path.display());
    Ok(Server {
        path: path.to_path_buf(),
        stop,
        listener_fd,
        accept: Some(accept),
        vpp,
        cli: None,
    })
}

impl Server {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model, for in-process tests and the data plane.
    pub fn vpp(&self) -> Arc<Mutex<Vpp>> {
        self.vpp.clone()
    }

    /// Also serves the CLI socket (VPP's `cli-listen`) at `path`, on the same model.
    pub fn serve_cli(&mut self, path: &Path) -> io::Result<()> {
        self.cli = Some(crate::cli_socket::serve(path, self.vpp.clone())?);
        Ok(())
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.cli = None;
        if let Some(t) = self.accept.take() {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the blocking accept: shutdown(2) on a listening socket makes accept
            // fail at once (the accept thread still owns the descriptor).
            // SAFETY: the descriptor stays open until the accept thread is joined.
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

/// What every connection thread shares.
struct Shared {
    vpp: Arc<Mutex<Vpp>>,
    table: MessageTable,
    clients: Clients,
    faults: Faults,
}

fn accept_loop(listener: UnixListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(_) if stop.load(Ordering::SeqCst) => break,
            Err(e) => {
                tracing::warn!("accept: {e}");
                continue;
            }
        };
        let Ok(sending) = stream.try_clone() else {
            continue;
        };
        let index = shared.clients.register(sending);
        let shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("api-client-{index:x}"))
            .spawn(move || {
                if let Err(e) = serve_client(stream, &shared, index) {
                    tracing::debug!("client {index:#x}: {e}");
                }
                shared.clients.unregister(index);
            });
        if spawned.is_err() {
            tracing::warn!("no thread for client {index:#x}");
        }
    }
}

/// The request's context (bytes 6..10 of a body with a client_index).
fn context_of(body: &[u8]) -> u32 {
    body.get(6..10)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

/// Whether `body` is a `cli_inband` running `ping`.
fn is_ping(table: &MessageTable, body: &[u8]) -> bool {
    let Ok(id) = peek_id(body) else {
        return false;
    };
    if table.id_of::<CliInband>() != Some(id) {
        return false;
    }
    decode::<CliInband>(body).is_ok_and(|(_, c)| c.cmd.split_whitespace().next() == Some("ping"))
}

fn serve_client(mut reader: UnixStream, shared: &Shared, index: u32) -> io::Result<()> {
    let own: Sender = shared.clients.get(index).expect("registered");
    let table = &shared.table;
    let responder = Responder {
        table,
        pid: std::process::id(),
    };
    let mut greeted = false;
    // After a stall this connection answers nothing more, like a VPP stuck in a handler.
    let mut stalled = false;
    while let Some(body) = read_frame(&mut reader, MAX_REQUEST)? {
        let Ok(id) = peek_id(&body) else { continue };
        if stalled {
            continue;
        }
        let fault = match id {
            SOCKCLNT_CREATE_ID | SOCKCLNT_DELETE_ID => None,
            _ if !greeted => None,
            _ => table
                .name(id)
                .map(bare_name)
                .and_then(|n| shared.faults.check(n)),
        };
        if let Some(action) = fault {
            let name = table.name(id).unwrap_or_default();
            match action {
                Action::Fail(Retval(retval)) => {
                    tracing::warn!("fault: failing {name} with {retval}");
                    if let Some(r) = refusal(table, name, context_of(&body), retval) {
                        clients::send(&own, &[r])?;
                    }
                }
                Action::Stall => {
                    tracing::warn!("fault: {name} and everything after it get no reply");
                    stalled = true;
                }
                Action::Drop => {
                    tracing::warn!("fault: dropping the connection at {name}");
                    return Ok(());
                }
                Action::Exit => {
                    tracing::warn!("fault: exiting at {name}");
                    std::process::exit(3);
                }
            }
            continue;
        }
        match id {
            SOCKCLNT_CREATE_ID => {
                let Ok((env, req)) = decode::<SockclntCreate>(&body) else {
                    continue;
                };
                tracing::debug!("client {index:#x} is {:?}", req.name.as_str());
                clients::send(&own, &[hello(table, env.context, index)])?;
                greeted = true;
            }
            SOCKCLNT_DELETE_ID => {
                if goodbye(shared, &body, index)? {
                    return Ok(());
                }
            }
            _ if is_ping(table, &body) => {
                // ping waits for replies: it must not hold the model meanwhile.
                let Ok((env, req)) = decode::<CliInband>(&body) else {
                    continue;
                };
                let words: Vec<&str> = req.cmd.split_whitespace().collect();
                let (retval, reply) = crate::dataplane::ping(&shared.vpp, &words[1..]);
                let msg_id = table.id_of::<CliInbandReply>().expect("served");
                let env = Envelope {
                    msg_id,
                    client_index: env.client_index,
                    context: env.context,
                };
                let reply = encode(env, &CliInbandReply { retval, reply });
                deliver(shared, env.client_index, &[reply])?;
            }
            _ => {
                let answer = {
                    let mut model = shared.vpp.lock().unwrap_or_else(|e| e.into_inner());
                    responder.handle(&mut model, &body)
                };
                if let Some(a) = answer {
                    deliver(shared, a.client_index, &a.replies)?;
                }
            }
        }
    }
    Ok(())
}

/// Sends an answer to the client it names; a write error there is that client's problem.
fn deliver(shared: &Shared, client_index: u32, replies: &[Vec<u8>]) -> io::Result<()> {
    match shared.clients.send(client_index, replies) {
        Ok(true) => {}
        Ok(false) => tracing::debug!("no client {client_index:#x}: answer dropped"),
        Err(e) => tracing::debug!("client {client_index:#x}: {e}"),
    }
    Ok(())
}

/// `sockclnt_create_reply`: the client's index and every message this server knows.
fn hello(table: &MessageTable, context: u32, index: u32) -> Vec<u8> {
    let entries = table
        .entries()
        .into_iter()
        .map(|(i, name)| MessageTableEntry {
            index: i,
            name: FixedString::new(name),
        })
        .collect();
    let reply = SockclntCreateReply {
        response: 0,
        index,
        message_table: Counted::new(entries),
    };
    let env = Envelope {
        msg_id: SOCKCLNT_CREATE_REPLY_ID,
        client_index: 0,
        context,
    };
    encode(env, &reply)
}

/// `sockclnt_delete`, as VPP's handler: the answer goes to the client the request's
/// client_index names (none: no answer); `response` 1 when `index` names a live client,
/// whose registration goes, and then the answered connection is closed; else −1 and
/// nothing changes. True when this connection is to end.
fn goodbye(shared: &Shared, body: &[u8], own: u32) -> io::Result<bool> {
    let Ok((env, req)) = decode::<SockclntDelete>(body) else {
        return Ok(false);
    };
    let answered = env.client_index;
    let Some(to) = shared.clients.get(answered) else {
        tracing::debug!("sockclnt_delete from unknown client {answered:#x}");
        return Ok(false);
    };
    let live = shared.clients.get(req.index).is_some();
    let env = Envelope {
        msg_id: SOCKCLNT_DELETE_REPLY_ID,
        client_index: 0,
        context: env.context,
    };
    let response = if live { 1 } else { -1 };
    clients::send(&to, &[encode(env, &SockclntDeleteReply { response })])?;
    if !live {
        return Ok(false);
    }
    for other in [req.index, answered] {
        if other != own {
            shared.clients.close(other);
        }
    }
    Ok(answered == own || req.index == own)
}
