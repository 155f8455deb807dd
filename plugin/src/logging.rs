//! Logging as the original plugin logged, since operators grep its logs: one line per
//! message, `<RFC3339 time> [<level>] <message>`, to stderr and, when `logFile` is set,
//! appended to that file (created 0644); never to stdout, which carries the CNI result.
//!
//! Levels are the original's: `panic`, `error`, `warning` (the default), `info`, `debug`,
//! `verbose`; a message is written when its level is at or above the one asked for, so
//! `panic` writes panics only. `tracing`'s levels map onto them (TRACE is `verbose`);
//! panics are logged by a panic hook, at `panic`, with the original's stack-trace frame.
//! A bad level or file is said on stderr in the original's words and is never an error.
//! The line layout is a small `tracing` layer rather than `tracing-subscriber`'s `fmt`,
//! whose layouts cannot say `[warning]` or put nothing but the time before it.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The `tracing` target of panic messages.
pub const PANIC_TARGET: &str = "userspace::panic";

/// The original plugin's levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Panic,
    Error,
    Warning,
    Info,
    Debug,
    Verbose,
}

impl Level {
    /// A level by name, any case; `None` for a name the original did not know (`warn`
    /// and `trace` are accepted as well).
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name.to_ascii_lowercase().as_str() {
            "panic" => Level::Panic,
            "error" => Level::Error,
            "warning" | "warn" => Level::Warning,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "verbose" | "trace" => Level::Verbose,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Panic => "panic",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Verbose => "verbose",
        }
    }

    /// The level of a `tracing` event or callsite.
    fn of(meta: &Metadata<'_>) -> Level {
        if meta.target() == PANIC_TARGET {
            return Level::Panic;
        }
        match *meta.level() {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warning,
            tracing::Level::INFO => Level::Info,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::TRACE => Level::Verbose,
        }
    }
}

/// One log line, newline included.
pub fn line(time: &str, level: Level, message: &str) -> String {
    format!("{time} [{}] {message}\n", level.name())
}

/// `secs` since the epoch as RFC 3339 to the second (Go's `time.RFC3339`), in the zone
/// `offset` seconds east of UTC (`Z` for UTC itself).
pub fn rfc3339(secs: i64, offset: i64) -> String {
    let local = secs + offset;
    let (days, rem) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let off = offset.abs();
        let _ = write!(out, "{sign}{:02}:{:02}", off / 3600, off / 60 % 60);
    }
    out
}

/// Now, in the local zone (as Go's `time.Now()` prints).
fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs, local_offset(secs))
}

extern "C" {
    /// POSIX `tzset` (not in the `libc` crate): reads `TZ` and the zone files, which
    /// `localtime_r`, unlike `localtime`, need not do itself.
    fn tzset();
}

/// The local zone's offset from UTC at `secs`, in seconds.
fn local_offset(secs: i64) -> i64 {
    // libc marks musl's `time_t` deprecated ahead of its change to 64 bits; whole
    // seconds since the epoch fit either width until 2038, and the alias follows musl.
    #[allow(deprecated)]
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: tzset reads the TZ setting into libc's globals; localtime_r writes only
    // into `tm`, a zeroed local that outlives the call.
    unsafe {
        tzset();
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}

/// Collects an event's message and its other fields (`key=value` after it).
#[derive(Default)]
struct Message(String, String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.1, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.1, " {}={value}", field.name());
        }
    }
}

/// Writes each event at or above `level` as one line to stderr and the log file.
struct Lines {
    level: Level,
    file: Option<Mutex<File>>,
}

impl<S: Subscriber> Layer<S> for Lines {
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        Level::of(meta) <= self.level
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = Level::of(event.metadata());
        if level > self.level {
            return;
        }
        let mut m = Message::default();
        event.record(&mut m);
        let text = line(&now(), level, &(m.0 + &m.1));
        let _ = io::stderr().write_all(text.as_bytes());
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(text.as_bytes());
            }
        }
    }
}

/// Opens the log file as the original did (append, create 0644 less the umask); a
/// symlink is not followed.
pub fn open_log_file(path: &str) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Installs the global subscriber and the panic hook. A bad level or file is said on
/// stderr in the original's words and otherwise ignored: logging never fails a command.
pub fn init(level_name: &str, file: &str) {
    let file = (!file.is_empty())
        .then(|| match open_log_file(file) {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                eprintln!("Userspace-CNI logging: cannot open {file}: {e}");
                None
            }
        })
        .flatten();
    let level = match level_name {
        "" => Level::Warning,
        name => Level::parse(name).unwrap_or_else(|| {
            eprintln!("Userspace-CNI logging: cannot set logging level to {name}");
            Level::Warning
        }),
    };
    if tracing_subscriber::registry()
        .with(Lines { level, file })
        .try_init()
        .is_ok()
    {
        std::panic::set_hook(Box::new(|info| {
            let trace = std::backtrace::Backtrace::force_capture();
            tracing::error!(target: PANIC_TARGET, "{info}");
            tracing::error!(target: PANIC_TARGET, "========= Stack trace output ========");
            tracing::error!(target: PANIC_TARGET, "Userspace CNI Panic\n{trace}");
            tracing::error!(target: PANIC_TARGET, "========= Stack trace output end ========");
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("Debug", Some(Level::Debug))]
    #[case("WARNING", Some(Level::Warning))]
    #[case("verbose", Some(Level::Verbose))]
    #[case("panic", Some(Level::Panic))]
    #[case("Error", Some(Level::Error))]
    #[case("loud", None)]
    #[case("", None)]
    fn level_names(#[case] name: &str, #[case] want: Option<Level>) {
        assert_eq!(Level::parse(name), want);
    }

    /// `panic` is its own level, below `error`: at `panic` errors are filtered out.
    #[test]
    fn levels_filter_in_the_original_order() {
        assert!(Level::Panic < Level::Error);
        assert!(Level::Error < Level::Warning && Level::Warning < Level::Info);
        assert!(Level::Info < Level::Debug && Level::Debug < Level::Verbose);
    }

    #[rstest]
    #[case(0, 0, "1970-01-01T00:00:00Z")]
    #[case(1_780_000_000, 0, "2026-05-28T20:26:40Z")]
    #[case(1_780_000_000, 3600, "2026-05-28T21:26:40+01:00")]
    #[case(1_780_000_000, -5 * 3600 - 1800, "2026-05-28T14:56:40-05:30")]
    #[case(951_825_600, 0, "2000-02-29T12:00:00Z")]
    fn times_read_as_go_rfc3339(#[case] secs: i64, #[case] offset: i64, #[case] want: &str) {
        assert_eq!(rfc3339(secs, offset), want);
    }

    #[test]
    fn a_line_is_time_level_message() {
        assert_eq!(
            line("2026-05-28T20:26:40Z", Level::Warning, "hello"),
            "2026-05-28T20:26:40Z [warning] hello\n"
        );
    }
}
