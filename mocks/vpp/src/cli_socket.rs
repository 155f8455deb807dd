//! VPP's CLI socket (`unix { cli-listen PATH }`, `/run/vpp/cli.sock` by default in VPP's
//! startup.conf), the socket VPP's own `vppctl` talks to: a telnet-style session (see
//! [`crate::telnet`]) running the same commands as `cli_inband` on the API socket.
//!
//! A session announcing the terminal type `vppctl` is non-interactive: each command's
//! output ends with a NUL and nothing else is sent. Any other session (a terminal
//! `vppctl`, `telnet`, `socat`) is interactive: the server echoes what it receives, and
//! prompts with `vpp# ` (followed by a NUL, which a terminal does not show).

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::model::Vpp;
use crate::telnet::{self, Event, Parser};

/// The prompt, then a NUL: VPP's `vppctl` counts NULs as acknowledgements (it sends
/// `quit` at end of input only after one); terminals show nothing for it.
const PROMPT: &[u8] = b"vpp# \0";
/// Longest command line kept; the rest of a longer line is dropped.
const MAX_LINE: usize = 64 << 10;

/// A listening CLI socket; stops and removes its file on drop.
pub struct CliSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    listener_fd: std::os::fd::RawFd,
    accept: Option<JoinHandle<()>>,
}

/// Serves the CLI of `vpp` on `path` (the file appears once it accepts connections).
pub fn serve(path: &Path, vpp: Arc<Mutex<Vpp>>) -> io::Result<CliSocket> {
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
    let stop = Arc::new(AtomicBool::new(false));
    let accept = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("cli-accept".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let vpp = vpp.clone();
                    let _ = std::thread::Builder::new()
                        .name("cli-session".into())
                        .spawn(move || {
                            if let Err(e) = session(stream, &vpp) {
                                tracing::debug!("cli session: {e}");
                            }
                        });
                }
            })?
    };
    tracing::info!("serving VPP's CLI on {}", path.display());
    Ok(CliSocket {
        path: path.to_path_buf(),
        stop,
        listener_fd,
        accept: Some(accept),
    })
}

impl Drop for CliSocket {
    fn drop(&mut self) {
        if let Some(t) = self.accept.take() {
            self.stop.store(true, Ordering::SeqCst);
            // SAFETY: shutdown(2) wakes the blocking accept; the descriptor stays open
            // until the accept thread is joined.
            unsafe { libc::shutdown(self.listener_fd, libc::SHUT_RDWR) };
            let _ = t.join();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No terminal type yet: line mode, prompts, no echo.
    Unknown,
    Interactive,
    /// `vppctl` running commands: output and a NUL per command, nothing else.
    OneShot,
}

fn session(mut stream: UnixStream, vpp: &Arc<Mutex<Vpp>>) -> io::Result<()> {
    stream.write_all(&telnet::server_greeting())?;
    let mut mode = Mode::Unknown;
    let mut parser = Parser::default();
    let mut events = Vec::new();
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    let mut last_cr = false;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        parser.feed(&buf[..n], &mut events);
        for e in events.drain(..) {
            let b = match e {
                Event::Sub(telnet::TTYPE, p) if p.first() == Some(&telnet::TTYPE_IS) => {
                    let term = String::from_utf8_lossy(&p[1..]).into_owned();
                    if term == telnet::NON_INTERACTIVE_TTYPE {
                        mode = Mode::OneShot;
                    } else if mode == Mode::Unknown {
                        mode = Mode::Interactive;
                        stream.write_all(PROMPT)?;
                    }
                    continue;
                }
                Event::Data(b) => b,
                _ => continue,
            };
            let ends = b == b'\n' || b == b'\r';
            let after_cr = last_cr && b == b'\n';
            last_cr = b == b'\r';
            match b {
                0 => continue,
                _ if after_cr => continue,
                0x7f | 0x08 if mode == Mode::Interactive => {
                    if line.pop().is_some() {
                        stream.write_all(b"\x08 \x08")?;
                    }
                    continue;
                }
                _ if !ends => {
                    if line.len() < MAX_LINE {
                        line.push(b);
                        if mode == Mode::Interactive {
                            stream.write_all(&[b])?;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let text = String::from_utf8_lossy(&line).trim().to_string();
            line.clear();
            if matches!(text.as_str(), "quit" | "q" | "exit") {
                return Ok(());
            }
            if mode == Mode::Interactive {
                stream.write_all(b"\r\n")?;
            }
            let out = if text.is_empty() {
                String::new()
            } else {
                crate::cli::execute(vpp, &text).1
            };
            match mode {
                Mode::OneShot => {
                    if !text.is_empty() {
                        let mut bytes = escape(out.as_bytes());
                        bytes.push(0);
                        stream.write_all(&bytes)?;
                    }
                }
                _ => {
                    let cooked = out.replace('\n', "\r\n");
                    stream.write_all(&escape(cooked.as_bytes()))?;
                    stream.write_all(PROMPT)?;
                }
            }
        }
    }
}

/// Data bytes on a telnet stream: IAC doubled.
fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        out.push(b);
        if b == telnet::IAC {
            out.push(telnet::IAC);
        }
    }
    out
}
