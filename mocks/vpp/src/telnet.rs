//! The telnet subset VPP's CLI socket speaks (`unix { cli-listen PATH }`), both ends.
//!
//! Hand-written: the few bytes involved do not warrant a telnet crate. What VPP's
//! `vppctl` relies on: the server opens with option negotiation and asks for the
//! terminal type (`IAC SB TTYPE SEND IAC SE`); a client answering `vppctl` is a
//! non-interactive session (no banner, prompt or echo). The client then writes one
//! command line (`words\n`, followed by a NUL), the server runs it and ends its output
//! with a NUL byte — every NUL acknowledges one command — and the client sends `quit`,
//! on which the server closes the connection.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;
pub const TTYPE: u8 = 24;
pub const NAWS: u8 = 31;
/// TTYPE subnegotiation verbs.
pub const TTYPE_IS: u8 = 0;
pub const TTYPE_SEND: u8 = 1;
/// The terminal type `vppctl` announces when it runs one command.
pub const NON_INTERACTIVE_TTYPE: &str = "vppctl";

/// What a byte stream carried, telnet commands taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Data(u8),
    /// `IAC WILL|WONT|DO|DONT option`.
    Option(u8, u8),
    /// `IAC SB option payload IAC SE`.
    Sub(u8, Vec<u8>),
}

/// Splits a telnet byte stream into data and commands, across reads.
#[derive(Debug, Default)]
pub struct Parser {
    state: State,
    sub: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy)]
enum State {
    #[default]
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

impl Parser {
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b) => {
                    out.push(Event::Data(b));
                    State::Data
                }
                (State::Iac, IAC) => {
                    out.push(Event::Data(IAC));
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Verb(b),
                (State::Iac, SB) => {
                    self.sub.clear();
                    State::Sub
                }
                // NOP, GA and the like carry no option byte.
                (State::Iac, _) => State::Data,
                (State::Verb(v), opt) => {
                    out.push(Event::Option(v, opt));
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, b) => {
                    self.sub.push(b);
                    State::Sub
                }
                (State::SubIac, SE) => {
                    if let Some((&opt, payload)) = self.sub.split_first() {
                        out.push(Event::Sub(opt, payload.to_vec()));
                    }
                    State::Data
                }
                (State::SubIac, b) => {
                    self.sub.push(b);
                    State::Sub
                }
            };
        }
    }
}

/// What the server sends first: it will echo and suppress go-ahead, wants the window
/// size and the terminal type, and asks for the latter.
pub fn server_greeting() -> Vec<u8> {
    vec![
        IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NAWS, IAC, DO, TTYPE, IAC, SB, TTYPE, TTYPE_SEND,
        IAC, SE,
    ]
}

/// The client's answer to `SB TTYPE SEND`.
pub fn ttype_is(term: &str) -> Vec<u8> {
    let mut v = vec![IAC, SB, TTYPE, TTYPE_IS];
    v.extend(term.bytes().filter(|&b| b != IAC));
    v.extend([IAC, SE]);
    v
}

/// A non-interactive CLI session, as VPP's `vppctl` runs one: connect, answer the
/// terminal-type question with `vppctl`, then one command at a time.
pub struct CliClient {
    stream: UnixStream,
    parser: Parser,
    events: Vec<Event>,
}

impl CliClient {
    /// Connects and waits (up to `timeout`) for the server's terminal-type question.
    pub fn connect(path: &Path, timeout: Duration) -> io::Result<CliClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(timeout))?;
        let mut c = CliClient {
            stream,
            parser: Parser::default(),
            events: Vec::new(),
        };
        loop {
            c.fill()?;
            let asked = c
                .events
                .drain(..)
                .any(|e| matches!(e, Event::Sub(TTYPE, ref p) if p.first() == Some(&TTYPE_SEND)));
            if asked {
                c.stream.write_all(&ttype_is(NON_INTERACTIVE_TTYPE))?;
                // A command (a long ping) may take its time, as with VPP's vppctl.
                c.stream.set_read_timeout(None)?;
                return Ok(c);
            }
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        let n = match self.stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no answer on the CLI socket",
                ))
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the CLI socket closed the connection",
            ));
        }
        self.parser.feed(&buf[..n], &mut self.events);
        Ok(())
    }

    /// Runs one command line; its output, up to the server's NUL.
    pub fn run(&mut self, line: &str) -> io::Result<String> {
        let mut req = line.trim().as_bytes().to_vec();
        req.extend(b"\n\0");
        self.stream.write_all(&req)?;
        let mut out = Vec::new();
        loop {
            self.fill()?;
            for e in self.events.drain(..) {
                match e {
                    Event::Data(0) => return Ok(String::from_utf8_lossy(&out).into_owned()),
                    Event::Data(b) => out.push(b),
                    _ => {}
                }
            }
        }
    }

    /// Asks the server to end the session and waits until it has.
    pub fn quit(mut self) {
        if self.stream.write_all(b"quit\n").is_ok() {
            let mut sink = [0u8; 256];
            while matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(chunks: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out);
        }
        out
    }

    #[test]
    fn greeting_asks_for_the_terminal_type() {
        let events = parse(&[&server_greeting()]);
        assert!(events.contains(&Event::Option(DO, TTYPE)));
        assert_eq!(events.last(), Some(&Event::Sub(TTYPE, vec![TTYPE_SEND])));
    }

    #[test]
    fn ttype_answer_round_trips() {
        let events = parse(&[&ttype_is("vppctl")]);
        let mut want = vec![TTYPE_IS];
        want.extend(b"vppctl");
        assert_eq!(events, vec![Event::Sub(TTYPE, want)]);
    }

    proptest! {
        /// Data survives any split into reads, with IAC escaped as IAC IAC.
        #[test]
        fn data_survives_any_split(data in proptest::collection::vec(any::<u8>(), 0..64), cut in 0usize..64) {
            let mut wire = Vec::new();
            for &b in &data {
                wire.push(b);
                if b == IAC {
                    wire.push(IAC);
                }
            }
            let cut = cut.min(wire.len());
            let events = parse(&[&wire[..cut], &wire[cut..]]);
            let got: Vec<u8> = events
                .into_iter()
                .map(|e| match e {
                    Event::Data(b) => b,
                    other => panic!("{other:?}"),
                })
                .collect();
            prop_assert_eq!(got, data);
        }
    }
}
