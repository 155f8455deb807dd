//! VPP's CLI socket on `mock-vpp --cli-socket`: spoken to byte for byte as VPP's own
//! `vppctl` does, and through this workspace's `vppctl`, which also tells it apart from
//! the API socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mock_vpp::telnet::{self, Event, Parser};

struct Mock {
    child: Child,
    api: PathBuf,
    cli: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mock {
    fn start() -> Mock {
        let dir = tempfile::tempdir().unwrap();
        let (api, cli) = (dir.path().join("api.sock"), dir.path().join("cli.sock"));
        let child = Command::new(env!("CARGO_BIN_EXE_mock-vpp"))
            .arg("--api-socket")
            .arg(&api)
            .arg("--cli-socket")
            .arg(&cli)
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cli.exists() {
            assert!(Instant::now() < deadline, "mock-vpp never served its CLI");
            std::thread::sleep(Duration::from_millis(10));
        }
        Mock {
            child,
            api,
            cli,
            _dir: dir,
        }
    }

    fn vppctl(&self, socket: &Path, words: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_vppctl"))
            .arg("-s")
            .arg(socket)
            .args(words)
            .env_remove("VPP_CLI_SOCKET")
            .env_remove("VPP_API_SOCKET")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Reads until `done` says the events so far are enough.
fn read_until(s: &mut UnixStream, p: &mut Parser, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    let mut buf = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while !done(&events) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early; got {events:?}");
        p.feed(&buf[..n], &mut events);
    }
    events
}

fn data(events: &[Event]) -> String {
    let bytes: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            Event::Data(b) => Some(*b),
            _ => None,
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn a_vppctl_session_byte_for_byte() {
    let mock = Mock::start();
    let mut s = UnixStream::connect(&mock.cli).unwrap();
    let mut p = Parser::default();
    // The server speaks first and asks for the terminal type.
    let hello = read_until(&mut s, &mut p, |e| {
        e.iter().any(|e| matches!(e, Event::Sub(telnet::TTYPE, _)))
    });
    assert!(hello.contains(&Event::Sub(telnet::TTYPE, vec![telnet::TTYPE_SEND])));
    // VPP's vppctl: the terminal type "vppctl", then the words with a space after each,
    // the last space turned into a newline, and the string's NUL.
    s.write_all(&telnet::ttype_is("vppctl")).unwrap();
    s.write_all(b"show version\n\0").unwrap();
    let out = read_until(&mut s, &mut p, |e| e.contains(&Event::Data(0)));
    let text = data(&out);
    assert_eq!(
        text.trim_end_matches('\0'),
        format!(
            "vpp v{} built by userspace-cni on mock-vpp\n",
            mock_vpp::VERSION
        )
    );
    // No prompt, no echo: the NUL is the last byte. Then quit closes the connection.
    s.write_all(b"quit\n").unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn an_interactive_session_prompts_and_echoes() {
    let mock = Mock::start();
    let mut s = UnixStream::connect(&mock.cli).unwrap();
    let mut p = Parser::default();
    read_until(&mut s, &mut p, |e| {
        e.iter().any(|e| matches!(e, Event::Sub(telnet::TTYPE, _)))
    });
    s.write_all(&telnet::ttype_is("xterm")).unwrap();
    let prompt = read_until(&mut s, &mut p, |e| data(e).ends_with("vpp# \0"));
    assert_eq!(data(&prompt), "vpp# \0");
    s.write_all(b"sh mode\r\n").unwrap();
    let out = read_until(&mut s, &mut p, |e| data(e).ends_with("vpp# \0"));
    assert_eq!(data(&out), "sh mode\r\nl3 local0  \r\nvpp# \0");
}

#[test]
fn vppctl_takes_either_socket() {
    let mock = Mock::start();
    let (ok, via_cli) = mock.vppctl(&mock.cli, &["show", "interface"]);
    assert!(ok);
    assert!(via_cli.contains("local0"), "{via_cli}");
    let (ok, via_api) = mock.vppctl(&mock.api, &["show", "interface"]);
    assert!(ok);
    assert_eq!(via_cli, via_api);
    // Names that do not say which: vppctl listens first.
    let dir = tempfile::tempdir().unwrap();
    for (link, target) in [("a", &mock.cli), ("b", &mock.api)] {
        let path = dir.path().join(link);
        std::os::unix::fs::symlink(target, &path).unwrap();
        let (ok, text) = mock.vppctl(&path, &["show", "mode"]);
        assert!(ok, "{link}");
        assert_eq!(text, "l3 local0  \n", "{link}");
    }
}

#[test]
fn vppctl_finds_the_socket_in_the_environment() {
    let mock = Mock::start();
    let out = Command::new(env!("CARGO_BIN_EXE_vppctl"))
        .args(["show", "version"])
        .env("VPP_CLI_SOCKET", &mock.cli)
        .env_remove("VPP_API_SOCKET")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vpp v"));
}
