//! Logging to stderr and, when `logFile` is set, to that file too; never to stdout, which
//! carries the CNI result. Levels are the original plugin's names.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};

use tracing::Level;

/// Maps the original's level names (case-insensitive) to tracing levels; `None` for an
/// unknown name. `panic` and `error` both log errors only.
pub fn level(name: &str) -> Option<Level> {
    Some(match name.to_ascii_lowercase().as_str() {
        "panic" | "error" => Level::ERROR,
        "" | "warning" | "warn" => Level::WARN,
        "info" => Level::INFO,
        "debug" => Level::DEBUG,
        "verbose" | "trace" => Level::TRACE,
        _ => return None,
    })
}

/// A writer that copies every line to stderr and the log file.
#[derive(Clone)]
struct Tee {
    file: Option<Arc<Mutex<std::fs::File>>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Installs the global subscriber. Bad settings are reported on stderr and otherwise
/// ignored, as in the original: logging must never fail a CNI command.
pub fn init(level_name: &str, file: &str) {
    let lvl = level(level_name).unwrap_or_else(|| {
        eprintln!("userspace: unknown logLevel {level_name:?}, using warning");
        Level::WARN
    });
    let file = (!file.is_empty())
        .then(|| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(file)
                .map_err(|e| eprintln!("userspace: cannot open logFile {file:?}: {e}"))
                .ok()
        })
        .flatten()
        .map(|f| Arc::new(Mutex::new(f)));
    let tee = Tee { file };
    let _ = tracing_subscriber::fmt()
        .with_max_level(lvl)
        .with_ansi(false)
        .with_target(false)
        .with_writer(move || tee.clone())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("Debug", Some(Level::DEBUG))]
    #[case("WARNING", Some(Level::WARN))]
    #[case("", Some(Level::WARN))]
    #[case("verbose", Some(Level::TRACE))]
    #[case("panic", Some(Level::ERROR))]
    #[case("loud", None)]
    fn level_names(#[case] name: &str, #[case] want: Option<Level>) {
        assert_eq!(level(name), want);
    }
}
