//! What the library says about its connections, for a person debugging one: where lines go
//! (a process-wide [`LogHandler`], or one per context), how much of it (a [`Level`]), and
//! the [`log!`] macro that formats a line only when someone will read it.
//!
//! Each connection has a [`Scope`]: a number unique in the process and its host, which begin
//! every line it writes, and the handler its context chose (or none: the process's). Checking
//! whether a line is wanted is one relaxed atomic load and a compare, so logging that is off
//! costs nothing measurable (docs/performance.md gives the figure).
//!
//! Lines come from the thread that runs the context's loop, and at trace level from any thread
//! that sends (a frame is logged by the thread that queues it); a handler must accept lines
//! from several threads at once. Names are resolved on short-lived threads, but their results
//! are logged on the loop's thread, so that no line comes once the context is freed.
//!
//! rustls writes its own lines through the `log` crate's facade: [`route_rustls`] installs a
//! `log::Log` that passes them on here, unless the program already installed a logger (a Rust
//! program embedding wsc keeps its own, and rustls' lines go there).

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Once};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sync::{Mutex, RwLock};

/// How much to say, from nothing to every frame. A line has one level; a handler takes the
/// lines up to its maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Nothing (as a maximum only).
    Off = 0,
    /// Failures: what `on_error` reports.
    Error = 1,
    /// Something went wrong but the connection goes on (a reconnect is coming, say).
    Warn = 2,
    /// The milestones of a connection: resolved, connected, tunnel, TLS, open, closed.
    Info = 3,
    /// The handshake's request and response headers (credentials redacted), each address
    /// tried, the close frames.
    Debug = 4,
    /// Every frame sent and received (opcode, fin, length, masked), and rustls' own lines.
    Trace = 5,
}

impl Level {
    pub fn from_u8(n: u8) -> Option<Level> {
        Some(match n {
            0 => Level::Off,
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }

    /// As `WSC_LOG` spells it: error, warn, info, debug, trace (any case; "off" too).
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" => Level::Off,
            "error" | "1" => Level::Error,
            "warn" | "warning" | "2" => Level::Warn,
            "info" | "3" => Level::Info,
            "debug" | "4" => Level::Debug,
            "trace" | "5" => Level::Trace,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

type LogFn = dyn Fn(Level, &str) + Send + Sync;

/// Where lines go, and up to which level. The function gets the level and the line (no
/// trailing newline), on the loop's thread, or (frames at trace level) on a sending thread.
#[derive(Clone)]
pub struct LogHandler {
    write: Arc<LogFn>,
    max: Level,
}

impl fmt::Debug for LogHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogHandler")
            .field("max", &self.max)
            .finish()
    }
}

impl LogHandler {
    pub fn new(max: Level, write: impl Fn(Level, &str) + Send + Sync + 'static) -> LogHandler {
        LogHandler {
            write: Arc::new(write),
            max,
        }
    }

    /// Lines to stderr, each with a UTC timestamp and its level.
    pub fn stderr(max: Level) -> LogHandler {
        LogHandler::new(max, |level, line| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{} wsc {:<5} {line}", timestamp(), level.name());
        })
    }

    pub fn max_level(&self) -> Level {
        self.max
    }
}

/// The process's handler, behind a lock so that once `set_handler` returns the old one is
/// never called again.
static PROCESS: RwLock<Option<LogHandler>> = RwLock::new(None);
/// The process handler's maximum level, read without the lock by every check.
static PROCESS_MAX: AtomicU8 = AtomicU8::new(Level::Off as u8);
/// The highest level any handler (the process's or a context's) has ever taken: the first,
/// cheapest check, which fails for every line while no handler is set.
static ANY_MAX: AtomicU8 = AtomicU8::new(Level::Off as u8);

fn raise_any_max(level: Level) {
    ANY_MAX.fetch_max(level as u8, Ordering::Relaxed);
}
static ENV_READ: Once = Once::new();
/// Numbers of connections, unique in the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The handler from `WSC_LOG`, read once: lines to stderr up to that level.
fn env_handler() -> Option<LogHandler> {
    let level = std::env::var("WSC_LOG")
        .ok()
        .and_then(|v| Level::parse(&v))?;
    (level != Level::Off).then(|| LogHandler::stderr(level))
}

/// Reads `WSC_LOG` the first time anything about logging happens (a connection is made, a
/// handler set), so that a handler set later wins over it.
fn init() {
    ENV_READ.call_once(|| {
        if let Some(handler) = env_handler() {
            install(Some(handler));
        }
    });
}

fn install(handler: Option<LogHandler>) {
    let mut process = PROCESS.write().unwrap_or_else(|e| e.into_inner());
    let max = handler.as_ref().map_or(Level::Off, |h| h.max);
    *process = handler;
    PROCESS_MAX.store(max as u8, Ordering::Release);
    raise_any_max(max);
    drop(process);
    if max != Level::Off {
        route_rustls();
    }
}

/// Sets the process-wide handler, used by every connection whose context has none. `None`
/// goes back to the default: nothing, or stderr when `WSC_LOG` is set. Safe from any thread;
/// once it returns, the previous handler is not called again. A handler must not call this.
pub fn set_handler(handler: Option<LogHandler>) {
    init();
    install(handler.or_else(env_handler));
}

/// Writes a line to the process handler, if it takes that level.
fn write_process(level: Level, line: &str) {
    let process = PROCESS.read().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = process.as_ref().filter(|h| level <= h.max) {
        (h.write)(level, line);
    }
}

/// One connection as its log lines name it, and where they go.
pub struct Scope {
    id: u64,
    host: Mutex<Arc<str>>,
    /// The context's handler; `None`: the process's.
    handler: Option<LogHandler>,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").field("id", &self.id).finish()
    }
}

impl Scope {
    pub fn new(host: &str, handler: Option<LogHandler>) -> Scope {
        init();
        if let Some(h) = &handler {
            raise_any_max(h.max);
        }
        Scope {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            host: Mutex::new(host.into()),
            handler,
        }
    }

    /// The connection's number, unique in the process (kept across reconnects).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The host the next lines name (a redirect or a new URL changes it).
    pub fn set_host(&self, host: &str) {
        let mut current = self.host.lock().unwrap_or_else(|e| e.into_inner());
        if **current != *host {
            *current = host.into();
        }
    }

    /// Whether a line of this level would be read: the check before any formatting.
    #[inline]
    pub fn enabled(&self, level: Level) -> bool {
        level as u8 <= ANY_MAX.load(Ordering::Relaxed) && self.takes(level)
    }

    #[inline]
    fn takes(&self, level: Level) -> bool {
        let max = match &self.handler {
            Some(h) => h.max as u8,
            None => PROCESS_MAX.load(Ordering::Relaxed),
        };
        level as u8 <= max
    }

    /// Formats and writes a line: "[#id host] what happened". Call through [`log!`].
    #[cold]
    pub fn write(&self, level: Level, args: fmt::Arguments<'_>) {
        let host = self.host.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut line = format!("[#{} {}] {}", self.id, host, args);
        // Text from the server (headers, close reasons) must not drive a terminal.
        if line.contains(char::is_control) {
            line = line
                .chars()
                .map(|c| if c.is_control() { '.' } else { c })
                .collect();
        }
        match &self.handler {
            Some(h) if level <= h.max => (h.write)(level, &line),
            Some(_) => {}
            None => write_process(level, &line),
        }
    }

    /// Marks this connection as the one the current thread works for until the guard drops:
    /// rustls' lines written meanwhile are this connection's.
    pub fn enter(self: &Arc<Self>) -> Entered {
        Entered {
            previous: CURRENT.with(|c| c.replace(Some(self.clone()))),
        }
    }
}

/// Formats a line only when its level is enabled for that connection:
/// `log!(conn.log, Debug, "connect {addr}")`. The first argument is a [`Scope`] (or a
/// reference or `Arc` to one), the second a [`Level`] variant.
#[macro_export]
macro_rules! log {
    ($scope:expr, $level:ident, $($arg:tt)+) => {{
        let scope: &$crate::log::Scope = &$scope;
        if scope.enabled($crate::log::Level::$level) {
            scope.write($crate::log::Level::$level, format_args!($($arg)+));
        }
    }};
}

thread_local! {
    /// The connection whose socket this thread is reading or writing, for rustls' lines.
    static CURRENT: RefCell<Option<Arc<Scope>>> = const { RefCell::new(None) };
}

/// See [`Scope::enter`].
pub struct Entered {
    previous: Option<Arc<Scope>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = self.previous.take());
    }
}

/// The `log` facade's logger that passes rustls' lines on to the connection they concern (or
/// to the process handler), at the level they have there.
struct RustlsBridge;

static BRIDGE: RustlsBridge = RustlsBridge;

/// rustls' errors and warnings keep their level; the rest (its handshake step by step, the
/// certificates in hex) is for the trace level, not for the debug level's headers.
fn level_of(level: ::log::Level) -> Level {
    match level {
        ::log::Level::Error => Level::Error,
        ::log::Level::Warn => Level::Warn,
        _ => Level::Trace,
    }
}

/// Whether a line at `level` would be written for the connection the current thread works for
/// (the process handler's level when none): lines from code that has no connection at hand,
/// such as a certificate verifier rustls calls.
pub(crate) fn current_enabled(level: Level) -> bool {
    with_current(|scope| match scope {
        Some(scope) => scope.enabled(level),
        None => level as u8 <= PROCESS_MAX.load(Ordering::Relaxed),
    })
}

/// Writes a line for the connection the current thread works for (see [`current_enabled`]).
pub(crate) fn write_current(level: Level, args: fmt::Arguments<'_>) {
    with_current(|scope| match scope {
        Some(scope) => scope.write(level, args),
        None => write_process(level, &args.to_string()),
    });
}

/// Runs `f` with the connection the current thread works for, if any.
fn with_current<R>(f: impl FnOnce(Option<&Scope>) -> R) -> R {
    // A clone, so that no borrow is held while a handler runs.
    let current = CURRENT.with(|c| c.borrow().clone());
    f(current.as_deref())
}

impl ::log::Log for RustlsBridge {
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        metadata.target().starts_with("rustls") && current_enabled(level_of(metadata.level()))
    }

    fn log(&self, record: &::log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = level_of(record.level());
        // One line each: rustls prints some structures over several.
        let text = record.args().to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        write_current(level, format_args!("rustls: {text}"));
    }

    fn flush(&self) {}
}

/// Installs the bridge for rustls' lines, once, unless the program has a logger of its own
/// (then `log::set_logger` refuses, and rustls' lines go to that logger).
pub fn route_rustls() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if ::log::set_logger(&BRIDGE).is_ok() {
            ::log::set_max_level(::log::LevelFilter::Trace);
        }
    });
}

/// A header's value as the log shows it: credentials are replaced by "[redacted]".
pub fn header_value<'v>(name: &str, value: &'v str) -> &'v str {
    const SECRET: [&str; 4] = [
        "authorization",
        "cookie",
        "proxy-authorization",
        "set-cookie",
    ];
    if SECRET.iter().any(|s| name.eq_ignore_ascii_case(s)) {
        "[redacted]"
    } else {
        value
    }
}

/// Now in UTC, as 2024-05-01T12:34:56.789Z.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(timestamp().len(), "2024-05-01T12:34:56.789Z".len());
    }

    #[test]
    fn levels_parse_as_wsc_log_spells_them() {
        assert_eq!(Level::parse("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::parse(" trace "), Some(Level::Trace));
        assert_eq!(Level::parse("warning"), Some(Level::Warn));
        assert_eq!(Level::parse("loud"), None);
        for n in 0..=5 {
            assert_eq!(Level::from_u8(n).map(|l| l as u8), Some(n));
        }
        assert_eq!(Level::from_u8(6), None);
    }

    #[test]
    fn credentials_are_redacted_whatever_their_case() {
        for name in [
            "Authorization",
            "COOKIE",
            "proxy-authorization",
            "Set-Cookie",
        ] {
            assert_eq!(header_value(name, "secret"), "[redacted]");
        }
        assert_eq!(header_value("Host", "example.com"), "example.com");
    }

    #[test]
    fn a_context_handler_filters_by_its_level_and_names_the_connection() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let handler = LogHandler::new(Level::Info, move |level, line| {
            sink.lock().unwrap().push((level, line.to_string()))
        });
        let scope = Scope::new("example.com", Some(handler));
        log!(scope, Info, "connected to {}", "127.0.0.1:80");
        log!(scope, Debug, "not shown");
        scope.set_host("other.example");
        log!(&scope, Error, "failed\x1b[2J");
        let id = scope.id();
        assert_eq!(
            *lines.lock().unwrap(),
            vec![
                (
                    Level::Info,
                    format!("[#{id} example.com] connected to 127.0.0.1:80")
                ),
                (Level::Error, format!("[#{id} other.example] failed.[2J")),
            ]
        );
        assert!(Scope::new("a", None).id() > id, "numbers are unique");
    }

    #[test]
    fn nothing_is_formatted_when_the_level_is_off() {
        struct Loud;
        impl fmt::Display for Loud {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("formatted although nobody reads it")
            }
        }
        let scope = Scope::new("h", Some(LogHandler::new(Level::Off, |_, _| {})));
        log!(scope, Error, "{}", Loud);
    }
}
