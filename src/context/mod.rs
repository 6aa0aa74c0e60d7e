//! The event loop: a mio `Poll` over every connection's socket, their timers, name resolution
//! off the loop, and a waker so other threads can hand work in. [`Context`] is the application's
//! side; the loop itself is in `engine`, getting a connection to the point of a byte stream in
//! `dial` (with the schedule of its attempts in `race`, their sockets in `attempts`, how a
//! socket is opened in `socket`, and the SOCKS5 tunnel in `socks`), what follows a finished
//! session in `reconnect`, application timers in `timers`, and the byte stream itself (a socket
//! or TLS over one) in `transport`.

mod attempts;
mod dial;
mod engine;
mod race;
mod reconnect;
mod socket;
mod socks;
mod timers;
mod transport;

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Poll, Token, Waker};

use crate::config::Options;
use crate::error::{Error, ErrorKind};
use crate::handle::{Connection, Driver, Handler};
use crate::log::LogHandler;
use crate::session::{Carry, Session};
use crate::sync::{Mutex, MutexGuard};
use crate::target::Target;
use engine::Engine;
pub use timers::TimerCallback;
use timers::Timers;

/// Size of the one read buffer the loop shares between all its connections.
pub const DEFAULT_READ_BUFFER: usize = 256 * 1024;

const WAKER: Token = Token(usize::MAX - 1);

thread_local! {
    /// The context whose `service` runs on this thread, if any: work handed in from here needs
    /// no wake-up, and re-entrant calls can be told apart.
    static SERVING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// A set of connections and the loop that drives them.
pub struct Context {
    shared: Arc<Shared>,
    engine: Mutex<Engine>,
    /// The poll descriptor, readable when the loop has something to do.
    fd: RawFd,
}

/// What the application's threads and the connections' handles share with the loop.
pub(crate) struct Shared {
    waker: Waker,
    inbox: Mutex<Inbox>,
    /// Connections accepted by `connect` whose `on_close` has not yet returned.
    live: AtomicUsize,
    /// The context is being freed: no new connections, callbacks stop early.
    stopping: AtomicBool,
    /// A panic inside the loop stopped it for good: its state can no longer be trusted.
    broken: AtomicBool,
    timers: Mutex<Timers>,
    /// Where this context's connections log; `None`: the process-wide handler.
    log: Option<LogHandler>,
}

/// Work handed to the loop.
#[derive(Default)]
pub(super) struct Inbox {
    new: Vec<Session>,
    /// Names resolved: the connection's token, the name, and its addresses.
    resolved: Vec<(usize, String, io::Result<Vec<SocketAddr>>)>,
    /// The server's addresses, resolved for a `socks5://` proxy.
    socks_resolved: Vec<(usize, io::Result<Vec<SocketAddr>>)>,
    flush: Vec<usize>,
    /// Connections that resumed reading: to be read again even without a readiness event.
    read: Vec<usize>,
    /// Application timers started or rescheduled, for the loop's heap.
    timers: Vec<(Instant, u64)>,
}

impl Shared {
    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn timers(&self) -> MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    fn wake_unless_serving(&self) {
        if !std::ptr::eq(SERVING.with(|s| s.get()), self) {
            let _ = self.waker.wake();
        }
    }
}

impl Driver for Shared {
    fn request_flush(&self, token: usize) {
        self.inbox().flush.push(token);
        self.wake_unless_serving();
    }

    fn is_stopping(&self) -> bool {
        Shared::is_stopping(self)
    }

    fn request_read(&self, token: usize) {
        self.inbox().read.push(token);
        self.wake_unless_serving();
    }

    fn log_handler(&self) -> Option<LogHandler> {
        self.log.clone()
    }
}

impl Context {
    pub fn new(read_buffer_size: usize) -> io::Result<Context> {
        Context::with_log(read_buffer_size, None)
    }

    /// A context whose connections log to `log` (up to its level) instead of the process-wide
    /// handler (`None`: that one).
    pub fn with_log(read_buffer_size: usize, log: Option<LogHandler>) -> io::Result<Context> {
        if log
            .as_ref()
            .is_some_and(|h| h.max_level() != crate::log::Level::Off)
        {
            crate::log::route_rustls();
        }
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            waker,
            inbox: Mutex::new(Inbox::default()),
            live: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            timers: Mutex::new(Timers::default()),
            log,
        });
        let fd = poll.as_raw_fd();
        let engine = Engine::new(poll, read_buffer_size, shared.clone());
        Ok(Context {
            shared,
            engine: Mutex::new(engine),
            fd,
        })
    }

    /// Starts a connection; the loop takes it up at its next iteration. Safe from any thread
    /// and from callbacks.
    pub fn connect(
        &self,
        url: &str,
        options: Options,
        handler: Box<dyn Handler>,
    ) -> Result<Arc<Connection>, Error> {
        self.check_usable()?;
        let target = Target::parse(url)?;
        options.validate()?;
        if target.unix.is_some() {
            let set: Vec<&str> = [
                ("connect_to", options.connect_to.is_some()),
                ("local_address", options.local_address.is_some()),
                ("interface", options.interface.is_some()),
            ]
            .iter()
            .filter_map(|&(name, set)| set.then_some(name))
            .collect();
            if let Some((last, others)) = set.split_last() {
                let named = match others {
                    [] => format!("{last} does"),
                    _ => format!("{} and {last} do", others.join(", ")),
                };
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("{named} not apply to a Unix domain socket ({url})"),
                ));
            }
        }
        let conn = Arc::new(Connection::new(handler, self.shared.clone(), &options));
        let session = Session::new(
            conn.clone(),
            target,
            options,
            Instant::now(),
            Carry::default(),
        )?;
        self.shared.live.fetch_add(1, Ordering::AcqRel);
        self.shared.inbox().new.push(session);
        self.shared.wake_unless_serving();
        Ok(conn)
    }

    /// Runs one iteration of the loop: waits up to `timeout` (`None`: until something happens)
    /// for I/O, then handles it, handed-in work and expired timers.
    pub fn service(&self, timeout: Option<Duration>) -> Result<(), Error> {
        self.check_usable()?;
        let mut engine = match self.engine.try_lock() {
            Ok(engine) => engine,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(Error::new(
                ErrorKind::Busy,
                "wsc_service is already running for this context (in a callback or another thread)",
            )),
        };
        let _serving = Serving::enter(&self.shared);
        match catch_unwind(AssertUnwindSafe(|| engine.service(timeout))) {
            Ok(result) => result,
            Err(_) => {
                // Nothing runs on the state the panic left: the loop stops for good, and every
                // connection hears why and that it ended.
                self.shared.broken.store(true, Ordering::Release);
                let error = broken_error();
                engine.abandon(&error);
                Err(error)
            }
        }
    }

    /// Fails a call on a context that is being freed or that a panic stopped.
    fn check_usable(&self) -> Result<(), Error> {
        if self.shared.broken.load(Ordering::Acquire) {
            return Err(broken_error());
        }
        if self.is_stopping() {
            return Err(Error::new(
                ErrorKind::ContextClosed,
                "the context is being freed",
            ));
        }
        Ok(())
    }

    /// Starts a timer that calls `callback` on the loop's thread after `delay`, then every
    /// `interval` if given, until stopped. Returns its id (never 0). Safe from any thread.
    pub fn start_timer(
        &self,
        delay: Duration,
        interval: Option<Duration>,
        callback: TimerCallback,
    ) -> Result<u64, Error> {
        self.check_usable()?;
        let due = Instant::now() + delay;
        let id = self.shared.timers().start(due, interval, callback);
        self.shared.inbox().timers.push((due, id));
        self.shared.wake_unless_serving();
        Ok(id)
    }

    /// Stops a timer; returns false if there is no such timer (already stopped, or a one-shot
    /// that fired). Stopping a timer from its own callback is fine. Safe from any thread.
    pub fn stop_timer(&self, id: u64) -> bool {
        self.shared.timers().stop(id)
    }

    /// A descriptor that becomes readable when the loop has work: a program with its own
    /// event loop watches it and calls `service` with a zero timeout when it fires.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// How long the loop may sleep before `service` must run again: `None` when nothing is
    /// scheduled (wait for the descriptor), zero when work is already waiting.
    pub fn next_timeout(&self) -> Option<Duration> {
        let Ok(engine) = self.engine.try_lock() else {
            return Some(Duration::ZERO);
        };
        engine.next_timeout()
    }

    /// Makes a blocked `service` return soon. Safe from any thread.
    pub fn wake(&self) {
        let _ = self.shared.waker.wake();
    }

    /// Connections started and not yet closed (their `on_close` has not returned).
    pub fn live_connections(&self) -> usize {
        self.shared.live.load(Ordering::Acquire)
    }

    /// Whether `service` of this context is running on this thread (we are in a callback).
    pub fn is_serving_here(&self) -> bool {
        SERVING.with(|s| s.get()) == Arc::as_ptr(&self.shared)
    }

    /// Marks the context as going away: running callbacks return to the loop as soon as they
    /// can, and no connection can be started.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
    }

    pub fn is_stopping(&self) -> bool {
        self.shared.is_stopping()
    }
}

fn broken_error() -> Error {
    Error::new(
        ErrorKind::Panic,
        "internal error: a panic inside wsc stopped this context's loop for good (please report it)",
    )
}

impl Drop for Context {
    /// Ends every connection; each still hears `on_close` (code 1006, closed by the application).
    fn drop(&mut self) {
        self.stop();
        let engine = self.engine.get_mut().unwrap_or_else(|e| e.into_inner());
        let _serving = Serving::enter(&self.shared);
        engine.abort_all();
    }
}

/// Marks this thread as running `shared`'s loop until dropped (also when a panic unwinds),
/// then restores what was marked before.
struct Serving(*const Shared);

impl Serving {
    fn enter(shared: &Arc<Shared>) -> Serving {
        Serving(SERVING.with(|s| s.replace(Arc::as_ptr(shared))))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        SERVING.with(|s| s.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_and_next_timeout_for_foreign_loops() {
        let ctx = Context::new(DEFAULT_READ_BUFFER).unwrap();
        let readable = |fd: RawFd| {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, and a zero timeout.
            unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
        };
        assert_eq!(ctx.next_timeout(), None, "nothing scheduled");
        assert!(!readable(ctx.fd()));
        ctx.wake();
        assert!(readable(ctx.fd()), "a wake makes the descriptor readable");
        ctx.service(Some(Duration::ZERO)).unwrap();
        ctx.start_timer(Duration::from_millis(300), None, Box::new(|_| {}))
            .unwrap();
        ctx.service(Some(Duration::ZERO)).unwrap();
        let wait = ctx.next_timeout().expect("a timer is scheduled");
        assert!(
            wait > Duration::from_millis(200) && wait <= Duration::from_millis(301),
            "{wait:?}"
        );
    }

    #[test]
    fn ended_attempts_leave_no_pile_of_deadlines_in_the_timer_heap() {
        struct Quiet;
        impl Handler for Quiet {}
        // A server that accepts and drops: every attempt fails during its handshake, leaving
        // its connect and handshake deadlines (10 s away) behind in the heap.
        const ATTEMPTS: usize = 4000;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            for _ in 0..ATTEMPTS {
                drop(listener.accept().unwrap());
            }
        });
        let ctx = Context::new(DEFAULT_READ_BUFFER).unwrap();
        let started = Instant::now();
        for _ in 0..ATTEMPTS / 100 {
            for _ in 0..100 {
                ctx.connect(&url, Options::default(), Box::new(Quiet))
                    .unwrap();
            }
            while ctx.live_connections() > 0 {
                assert!(started.elapsed() < Duration::from_secs(60), "attempts hang");
                ctx.service(Some(Duration::from_millis(10))).unwrap();
            }
        }
        server.join().unwrap();
        let engine = ctx.engine.lock().unwrap();
        assert!(
            engine.timers.len() <= engine::MIN_TIMERS_COMPACT,
            "{} timer entries left by {ATTEMPTS} ended attempts",
            engine.timers.len()
        );
    }
}
