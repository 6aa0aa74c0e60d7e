//! The event loop: a mio `Poll` over every connection's socket, their timers, name resolution
//! off the loop, and a waker so other threads can hand work in.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::config::{Options, Target};
use crate::connection::{Carry, Connection, Handler, Next, Session};
use crate::error::{Error, ErrorKind};
use crate::transport::{self, Transport};

/// Size of the one read buffer the loop shares between all its connections.
pub const DEFAULT_READ_BUFFER: usize = 256 * 1024;

const WAKER: Token = Token(usize::MAX - 1);

thread_local! {
    /// The context whose `service` runs on this thread, if any: work handed in from here needs
    /// no wake-up, and re-entrant calls can be told apart.
    static SERVING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    /// The connection whose incoming bytes the loop on this thread is handing to callbacks.
    static DISPATCHING: Cell<*const Connection> = const { Cell::new(std::ptr::null()) };
}

/// Whether `conn`'s callbacks run inside the loop's read of it, which writes what they queued
/// right after: they need not ask for a flush.
pub(crate) fn flushed_after_dispatch(conn: &Connection) -> bool {
    DISPATCHING.with(|d| std::ptr::eq(d.get(), conn))
}

/// Marks a connection as being dispatched until dropped, then restores what was marked before
/// (a callback may run another context's loop).
struct Dispatching(*const Connection);

impl Dispatching {
    fn enter(conn: *const Connection) -> Dispatching {
        Dispatching(DISPATCHING.with(|d| d.replace(conn)))
    }
}

impl Drop for Dispatching {
    fn drop(&mut self) {
        DISPATCHING.with(|d| d.set(self.0));
    }
}

/// A set of connections and the loop that drives them.
pub struct Context {
    shared: Arc<Shared>,
    engine: Mutex<Engine>,
    /// The poll descriptor, readable when the loop has something to do.
    fd: RawFd,
}

/// What a timer runs; gets the timer's id.
pub type TimerCallback = Box<dyn FnMut(u64) + Send>;

struct Timer {
    due: Instant,
    interval: Option<Duration>,
    /// Taken out while it runs, so the lock is not held during the call.
    callback: Option<TimerCallback>,
}

#[derive(Default)]
struct Timers {
    next_id: u64,
    entries: HashMap<u64, Timer>,
}

/// What a timer heap entry is for: a connection's deadline or an application timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Link(usize),
    Timer(u64),
    /// A connection waiting to reconnect, by its token.
    Restart(usize),
}

/// A connection between attempts: what the next one needs.
struct PendingRestart {
    conn: Arc<Connection>,
    target: Target,
    options: Options,
    carry: Carry,
}

/// Tokens of connections waiting to reconnect have this bit; their flush requests (a
/// `close` while waiting) reach the loop like any other.
const RESTART_TOKEN: usize = 1 << (usize::BITS - 1);

/// What the application's threads and the connections' handles share with the loop.
pub(crate) struct Shared {
    waker: Waker,
    inbox: Mutex<Inbox>,
    /// Connections accepted by `connect` whose `on_close` has not yet returned.
    live: AtomicUsize,
    /// The context is being freed: no new connections, callbacks stop early.
    stopping: AtomicBool,
    timers: Mutex<Timers>,
}

/// Work handed to the loop.
#[derive(Default)]
struct Inbox {
    new: Vec<Session>,
    resolved: Vec<(usize, io::Result<Vec<SocketAddr>>)>,
    flush: Vec<usize>,
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

    /// A connection has bytes to write.
    pub(crate) fn request_flush(&self, token: usize) {
        self.inbox().flush.push(token);
        self.wake_unless_serving();
    }

    fn wake_unless_serving(&self) {
        if !std::ptr::eq(SERVING.with(|s| s.get()), self) {
            let _ = self.waker.wake();
        }
    }
}

impl Context {
    pub fn new(read_buffer_size: usize) -> io::Result<Context> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            waker,
            inbox: Mutex::new(Inbox::default()),
            live: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            timers: Mutex::new(Timers::default()),
        });
        let fd = poll.as_raw_fd();
        let engine = Engine {
            poll,
            events: Events::with_capacity(1024),
            links: Slab::new(),
            generation: 0,
            timers: BinaryHeap::new(),
            read_buf: vec![0; read_buffer_size.max(4096)].into_boxed_slice(),
            flush_spare: Vec::new(),
            ready: Vec::new(),
            read_again: Vec::new(),
            spare_message_buf: Vec::new(),
            restarts: HashMap::new(),
            shared: shared.clone(),
        };
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
        if self.shared.is_stopping() {
            return Err(Error::new(
                ErrorKind::ContextClosed,
                "the context is being freed",
            ));
        }
        let target = Target::parse(url)?;
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
        if self.is_stopping() {
            return Err(Error::new(
                ErrorKind::ContextClosed,
                "the context is being freed",
            ));
        }
        let mut engine = match self.engine.try_lock() {
            Ok(engine) => engine,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(Error::new(
                ErrorKind::Busy,
                "wsc_service is already running for this context (in a callback or another thread)",
            )),
        };
        let _serving = Serving::enter(&self.shared);
        engine.service(timeout)
    }

    /// Starts a timer that calls `callback` on the loop's thread after `delay`, then every
    /// `interval` if given, until stopped. Returns its id (never 0). Safe from any thread.
    pub fn start_timer(
        &self,
        delay: Duration,
        interval: Option<Duration>,
        callback: TimerCallback,
    ) -> Result<u64, Error> {
        if self.is_stopping() {
            return Err(Error::new(
                ErrorKind::ContextClosed,
                "the context is being freed",
            ));
        }
        let due = Instant::now() + delay;
        let id = {
            let mut timers = self.shared.timers();
            timers.next_id += 1;
            let id = timers.next_id;
            let callback = Some(callback);
            timers.entries.insert(
                id,
                Timer {
                    due,
                    interval,
                    callback,
                },
            );
            id
        };
        self.shared.inbox().timers.push((due, id));
        self.shared.wake_unless_serving();
        Ok(id)
    }

    /// Stops a timer; returns false if there is no such timer (already stopped, or a one-shot
    /// that fired). Stopping a timer from its own callback is fine. Safe from any thread.
    pub fn stop_timer(&self, id: u64) -> bool {
        self.shared.timers().entries.remove(&id).is_some()
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

/// The loop's side of a connection: its socket and where connecting stands.
struct Link {
    token: usize,
    /// Boxed: the slab holds many links and grows by doubling, so its entries stay small.
    session: Box<Session>,
    socket: Option<Transport>,
    connected: bool,
    addrs: Vec<SocketAddr>,
    next_addr: usize,
    last_error: Option<Error>,
    /// The deadline a timer is set for.
    armed: Option<Instant>,
    /// The HTTP CONNECT exchange with a proxy, while it lasts.
    tunnel: Option<Tunnel>,
}

struct Tunnel {
    request: Vec<u8>,
    written: usize,
    response: Vec<u8>,
}

/// The most a proxy's answer to CONNECT may take.
const MAX_PROXY_RESPONSE: usize = 16 * 1024;

struct Engine {
    poll: Poll,
    events: Events,
    links: Slab<Link>,
    generation: usize,
    timers: BinaryHeap<Reverse<(Instant, Due)>>,
    read_buf: Box<[u8]>,
    flush_spare: Vec<usize>,
    /// The events of one poll, as (token, readable, writable).
    ready: Vec<(usize, bool, bool)>,
    /// Connections that used up their read budget with data still waiting.
    read_again: Vec<usize>,
    /// A large message buffer kept for whichever connection receives a large message next.
    spare_message_buf: Vec<u8>,
    /// Connections waiting to reconnect, by token.
    restarts: HashMap<usize, PendingRestart>,
    shared: Arc<Shared>,
}

/// What is masked for a write that follows a short one (see `Engine::flush`).
const PROBE_WRITE: usize = 4096;

/// Reads per connection per loop iteration (times the read buffer size), so a server that
/// floods cannot keep the loop from other connections and timers.
const READS_PER_TURN: usize = 16;

fn read_error(e: &io::Error) -> Error {
    if let Some(error) = transport::wsc_error(e) {
        return error.clone();
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        // RFC 8446 §6.1: without close_notify the data may have been truncated by an attacker.
        return Error::new(
            ErrorKind::ConnectionLost,
            "the TLS stream ended without close_notify (truncated)",
        );
    }
    Error::new(ErrorKind::ConnectionLost, format!("read failed: {e}"))
}

fn write_error(e: &io::Error) -> Error {
    transport::wsc_error(e)
        .cloned()
        .unwrap_or_else(|| Error::new(ErrorKind::ConnectionLost, format!("write failed: {e}")))
}

/// Tokens carry a generation next to the slab key, so an event or timer meant for a closed
/// connection never reaches the one that reused its slot.
const KEY_BITS: u32 = 24;

fn slab_key(token: usize) -> usize {
    token & ((1 << KEY_BITS) - 1)
}

impl Engine {
    fn service(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        let busy = self.take_inbox();
        let timeout = match (
            timeout,
            if busy {
                Some(Duration::ZERO)
            } else {
                self.next_timeout()
            },
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Error::new(ErrorKind::Io, format!("poll failed: {e}")));
            }
        }
        // Copied out of `events` (which handling borrows `self` around), into a reused list.
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(self.events.iter().filter(|e| e.token() != WAKER).map(|e| {
            (
                e.token().0,
                e.is_readable() || e.is_read_closed() || e.is_error(),
                e.is_writable() || e.is_error(),
            )
        }));
        for &(token, readable, writable) in &ready {
            if self.shared.is_stopping() {
                break;
            }
            self.on_ready(token, readable, writable);
        }
        self.ready = ready;
        // Connections cut short by their read budget last time take their next turn.
        let again = std::mem::take(&mut self.read_again);
        for token in again {
            if self.shared.is_stopping() {
                break;
            }
            if self.link(token).is_some() {
                self.read(token);
                self.settle(token);
            }
        }
        // Work handed in by callbacks (sends, new connections) goes out before returning.
        for _ in 0..16 {
            if !self.take_inbox() {
                break;
            }
        }
        self.run_timers(Instant::now());
        Ok(())
    }

    /// Until the earliest timer; zero when work is waiting; `None` when nothing is scheduled.
    fn next_timeout(&self) -> Option<Duration> {
        let inbox = self.shared.inbox();
        if !self.read_again.is_empty()
            || !inbox.new.is_empty()
            || !inbox.resolved.is_empty()
            || !inbox.flush.is_empty()
            || !inbox.timers.is_empty()
        {
            return Some(Duration::ZERO);
        }
        drop(inbox);
        self.timers.peek().map(|Reverse((at, _))| {
            // Round up, so a caller sleeping this long finds the timer due.
            at.saturating_duration_since(Instant::now()) + Duration::from_micros(999)
        })
    }

    fn link(&mut self, token: usize) -> Option<&mut Link> {
        self.links
            .get_mut(slab_key(token))
            .filter(|l| l.token == token)
    }

    /// Takes up handed-in work; returns whether there was any.
    fn take_inbox(&mut self) -> bool {
        let mut flush = std::mem::take(&mut self.flush_spare);
        let (new, resolved, timers) = {
            let mut inbox = self.shared.inbox();
            std::mem::swap(&mut inbox.flush, &mut flush);
            (
                std::mem::take(&mut inbox.new),
                std::mem::take(&mut inbox.resolved),
                std::mem::take(&mut inbox.timers),
            )
        };
        let busy = !(new.is_empty() && resolved.is_empty() && flush.is_empty());
        for (at, id) in timers {
            self.timers.push(Reverse((at, Due::Timer(id))));
        }
        for session in new {
            self.start(session);
        }
        for (token, result) in resolved {
            self.on_resolved(token, result);
        }
        for &token in &flush {
            if token & RESTART_TOKEN != 0 {
                self.check_restart(token);
            } else if let Some(link) = self.link(token) {
                link.session.conn.clear_flush_queued();
                link.session.sync(Instant::now());
                self.flush(token);
                self.settle(token);
            }
        }
        flush.clear();
        self.flush_spare = flush;
        busy
    }

    fn start(&mut self, session: Session) {
        let entry = self.links.vacant_entry();
        self.generation = self.generation.wrapping_add(1);
        let token = (self.generation << KEY_BITS) | entry.key();
        if entry.key() >= 1 << KEY_BITS || token == WAKER.0 {
            // Out of slots: fail this connection rather than confuse tokens.
            let mut session = session;
            session.fail(
                Error::new(ErrorKind::Io, "too many connections in one context"),
                Instant::now(),
            );
            self.end(session);
            return;
        }
        session.conn.set_token(token);
        // Through a proxy, the proxy is what we resolve and connect to.
        let (host, target_ip, port) = match &session.proxy {
            Some(p) => (p.host.clone(), p.ip, p.port),
            None => (
                session.target.host.clone(),
                session.target.ip,
                session.target.port,
            ),
        };
        entry.insert(Link {
            token,
            session: Box::new(session),
            socket: None,
            connected: false,
            addrs: Vec::new(),
            next_addr: 0,
            last_error: None,
            armed: None,
            tunnel: None,
        });
        let now = Instant::now();
        let link = self.link(token).expect("just inserted");
        link.session.sync(now);
        if link.session.is_done() {
            self.settle(token);
            return;
        }
        match target_ip {
            Some(ip) => self.on_resolved(token, Ok(vec![SocketAddr::new(ip, port)])),
            None => self.resolve(token, host, port),
        }
    }

    /// Resolves a name on a short-lived thread so the loop never blocks on DNS.
    fn resolve(&mut self, token: usize, host: String, port: u16) {
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("wsc-resolve".into())
            .spawn(move || {
                let result = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect());
                shared.inbox().resolved.push((token, result));
                let _ = shared.waker.wake();
            });
        if let Err(e) = spawned {
            self.on_resolved(token, Err(e));
        }
        self.settle(token);
    }

    fn on_resolved(&mut self, token: usize, result: io::Result<Vec<SocketAddr>>) {
        let Some(link) = self.link(token) else { return };
        match result {
            Ok(addrs) if !addrs.is_empty() => {
                link.addrs = addrs;
                self.connect_next(token);
            }
            Ok(_) => {
                let e = Error::new(
                    ErrorKind::Resolve,
                    format!("{} has no addresses", link.session.target.host),
                );
                link.session.fail(e, Instant::now());
            }
            Err(e) => {
                let e = Error::new(
                    ErrorKind::Resolve,
                    format!("cannot resolve {}: {e}", link.session.target.host),
                );
                link.session.fail(e, Instant::now());
            }
        }
        self.settle(token);
    }

    /// Tries the next address; fails the connection when none is left.
    fn connect_next(&mut self, token: usize) {
        let registry = self.poll.registry();
        let link = self.links.get_mut(slab_key(token)).expect("live link");
        if let Some(mut old) = link.socket.take() {
            let _ = registry.deregister(old.tcp());
        }
        while let Some(&addr) = link.addrs.get(link.next_addr) {
            link.next_addr += 1;
            let attempt = TcpStream::connect(addr).and_then(|mut socket| {
                registry.register(
                    &mut socket,
                    Token(token),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                Ok(socket)
            });
            match attempt {
                Ok(socket) => {
                    link.socket = Some(Transport::Plain(socket));
                    return;
                }
                Err(e) => link.last_error = Some(Error::connect(&e, addr)),
            }
        }
        let error = link
            .last_error
            .take()
            .unwrap_or_else(|| Error::new(ErrorKind::Io, "no address to connect to"));
        link.session.fail(error, Instant::now());
    }

    fn on_ready(&mut self, token: usize, readable: bool, writable: bool) {
        let Some(link) = self.link(token) else { return };
        if link.tunnel.is_some() {
            self.on_tunnel_progress(token);
        } else if !link.connected {
            self.on_connect_progress(token);
        } else {
            if writable {
                self.flush(token);
            }
            if readable {
                self.read(token);
            }
        }
        self.settle(token);
    }

    /// A socket in connect became writable or failed.
    fn on_connect_progress(&mut self, token: usize) {
        let link = self.link(token).expect("live link");
        let Some(transport) = link.socket.as_mut() else {
            return;
        };
        let socket = transport.tcp();
        let addr = link.addrs[link.next_addr - 1];
        let failure = match socket.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match socket.peer_addr() {
                Ok(_) => None,
                // Not connected yet: a spurious wake-up.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => Some(e),
            },
        };
        if let Some(e) = failure {
            link.last_error = Some(Error::connect(&e, addr));
            self.connect_next(token);
            return;
        }
        let _ = socket.set_nodelay(true);
        if let Some(proxy) = &link.session.proxy {
            let request = crate::proxy::connect_request(proxy, &link.session.target);
            link.tunnel = Some(Tunnel {
                request,
                written: 0,
                response: Vec::new(),
            });
            return self.on_tunnel_progress(token);
        }
        self.start_session(token);
    }

    /// Sends CONNECT to the proxy and reads its answer; once the tunnel is open the connection
    /// goes on as if connected directly.
    fn on_tunnel_progress(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        let (Some(tunnel), Some(Transport::Plain(tcp))) =
            (link.tunnel.as_mut(), link.socket.as_mut())
        else {
            return;
        };
        let now = Instant::now();
        let lost = |e: io::Error| {
            Error::new(
                ErrorKind::Proxy,
                format!("connection to the proxy failed: {e}"),
            )
        };
        while tunnel.written < tunnel.request.len() {
            match tcp.write(&tunnel.request[tunnel.written..]) {
                Ok(n) => tunnel.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return link.session.fail(lost(e), now),
            }
        }
        loop {
            match tcp.read(&mut self.read_buf) {
                Ok(0) => {
                    let e = Error::new(
                        ErrorKind::Proxy,
                        "the proxy closed the connection before answering CONNECT",
                    );
                    return link.session.fail(e, now);
                }
                Ok(n) => {
                    tunnel.response.extend_from_slice(&self.read_buf[..n]);
                    match crate::proxy::parse_connect_response(&tunnel.response, MAX_PROXY_RESPONSE)
                    {
                        Ok(None) => {}
                        Ok(Some(len)) if len == tunnel.response.len() => {
                            link.tunnel = None;
                            return self.start_session(token);
                        }
                        Ok(Some(_)) => {
                            let e = Error::new(
                                ErrorKind::Proxy,
                                "the proxy sent data before the tunnel was used",
                            );
                            return link.session.fail(e, now);
                        }
                        Err(e) => return link.session.fail(e, now),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return link.session.fail(lost(e), now),
            }
        }
    }

    /// The byte stream to the server exists: start TLS if asked, then the WebSocket handshake.
    fn start_session(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        if let Some(config) = link.session.tls.clone() {
            let Some(Transport::Plain(tcp)) = link.socket.take() else {
                unreachable!("TLS starts once, on a plain socket")
            };
            match Transport::tls(tcp, config, &link.session.target.host) {
                Ok(tls) => link.socket = Some(tls),
                Err(e) => return link.session.fail(e, Instant::now()),
            }
        }
        link.connected = true;
        link.session.on_connected(Instant::now());
        self.flush(token);
        // Bytes may have arrived with the connect (edge-triggered: read now).
        self.read(token);
    }

    /// Reads until the socket would block, feeding the session from the shared buffer, and
    /// writes what the callbacks queued (echoes, pongs) after each read.
    fn read(&mut self, token: usize) {
        for _ in 0..READS_PER_TURN {
            let Some(link) = self.links.get_mut(slab_key(token)) else {
                return;
            };
            if link.session.is_done() || self.shared.is_stopping() {
                return;
            }
            let Some(socket) = link.socket.as_mut() else {
                return;
            };
            link.session.lend_buffer(&mut self.spare_message_buf);
            // The rest of a large frame goes straight into the message buffer; anything else
            // through the shared read buffer.
            let read = match link.session.direct_room() {
                Some(room) => socket.read_uninit(room).map(|r| r.map(|n| (n, true))),
                None => None,
            }
            .unwrap_or_else(|| socket.read(&mut self.read_buf).map(|n| (n, false)));
            // Sends from the callbacks of this connection are written by the flush below.
            let dispatching = Dispatching::enter(Arc::as_ptr(&link.session.conn));
            match read {
                Ok((0, _)) => return link.session.on_eof(Instant::now()),
                // SAFETY: `read_uninit` wrote these `n` bytes into the room just lent.
                Ok((n, true)) => unsafe { link.session.on_direct_bytes(n, Instant::now()) },
                Ok((n, false)) => link.session.on_bytes(&self.read_buf[..n], Instant::now()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return link.session.park_buffer(&mut self.spare_message_buf)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return link.session.on_socket_error(read_error(&e), Instant::now()),
            }
            drop(dispatching);
            link.session.park_buffer(&mut self.spare_message_buf);
            self.flush(token);
        }
        // Budget used up and the socket may hold more: edge-triggered polling will not say so
        // again, so remember to come back.
        if !self.read_again.contains(&token) {
            self.read_again.push(token);
        }
    }

    /// Writes what the connection has queued, as far as the socket takes it.
    fn flush(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        if !link.connected {
            return;
        }
        let Some(socket) = link.socket.as_mut() else {
            return;
        };
        let conn = link.session.conn.clone();
        let mut drained_after_refusal = false;
        let mut failure = None;
        // Bytes the transport holds (TLS records) go first.
        match socket.flush_own() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => failure = Some(write_error(&e)),
        }
        if failure.is_none() {
            let mut sender = conn.sender();
            // The read buffer is free while writing: lent payloads are masked into it. After a
            // short write to TCP the socket is about full, so the next try (most likely
            // refused) masks only a little. (TLS takes a record buffer at a time: short
            // writes are the rule there.)
            let probe = if socket.is_tls() {
                self.read_buf.len()
            } else {
                PROBE_WRITE.min(self.read_buf.len())
            };
            let mut room = self.read_buf.len();
            while sender.buffered() > 0 {
                let pending = sender.pending(&mut self.read_buf[..room]);
                let offered = pending.len();
                match socket.write(pending) {
                    Ok(n) => {
                        drained_after_refusal |= sender.consume(n);
                        room = if n < offered {
                            probe
                        } else {
                            self.read_buf.len()
                        };
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        failure = Some(write_error(&e));
                        break;
                    }
                }
            }
        }
        let now = Instant::now();
        if let Some(error) = failure {
            link.session.on_socket_error(error, now);
            return;
        }
        link.session.sync(now);
        if drained_after_refusal && !link.session.is_done() {
            conn.notify_writable();
        }
    }

    /// After handling a connection: ends it when done, else keeps its timer right.
    fn settle(&mut self, token: usize) {
        let Some(link) = self.link(token) else { return };
        if link.session.is_done() {
            let mut link = self.links.remove(slab_key(token));
            if let Some(mut socket) = link.socket.take() {
                socket.close_notify();
                let _ = self.poll.registry().deregister(socket.tcp());
            }
            self.after(*link.session);
            return;
        }
        let deadline = link.session.deadline();
        if deadline != link.armed {
            link.armed = deadline;
            if let Some(at) = deadline {
                self.timers.push(Reverse((at, Due::Link(token))));
            }
        }
    }

    /// A session is done: follow its redirect, schedule its reconnect, or end the connection.
    fn after(&mut self, mut session: Session) {
        match session.next() {
            Next::Finish => self.end(session),
            Next::Redirect(target, options, carry) => {
                let conn = session.conn.clone();
                match Session::new(conn, target, options, Instant::now(), carry) {
                    Ok(next) => self.start(next),
                    Err(e) => {
                        session.conn.notify_error(&e);
                        self.end(session);
                    }
                }
            }
            Next::Reconnect(delay, target, options, carry) => {
                let at = Instant::now() + delay;
                self.generation = self.generation.wrapping_add(1);
                let token = RESTART_TOKEN | (self.generation & !RESTART_TOKEN);
                let conn = session.conn.clone();
                conn.set_token(token);
                session.finish(Some(at));
                self.restarts.insert(
                    token,
                    PendingRestart {
                        conn,
                        target,
                        options,
                        carry,
                    },
                );
                self.timers.push(Reverse((at, Due::Restart(token))));
                // A close from inside that on_close cancels the retry at once.
                self.check_restart(token);
            }
        }
    }

    /// A connection waiting to reconnect: ends it if the application closed it meanwhile.
    fn check_restart(&mut self, token: usize) {
        let cancelled = self
            .restarts
            .get(&token)
            .is_some_and(|p| p.conn.abort_requested());
        if cancelled || self.shared.is_stopping() {
            if let Some(pending) = self.restarts.remove(&token) {
                pending.conn.set_token(crate::connection::NO_TOKEN);
                pending.conn.end_without_session();
                self.shared.live.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// The next attempt of a connection waiting to reconnect.
    fn restart(&mut self, token: usize) {
        self.check_restart(token);
        let Some(pending) = self.restarts.remove(&token) else {
            return;
        };
        let PendingRestart {
            conn,
            target,
            options,
            carry,
        } = pending;
        conn.set_retry_at(None);
        match Session::new(conn.clone(), target, options, Instant::now(), carry) {
            Ok(session) => self.start(session),
            Err(e) => {
                conn.set_token(crate::connection::NO_TOKEN);
                conn.notify_error(&e);
                conn.end_without_session();
                self.shared.live.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// The last step of every connection: `on_close`, then it no longer counts as live.
    fn end(&mut self, mut session: Session) {
        session.conn.set_token(crate::connection::NO_TOKEN);
        session.finish(None);
        self.shared.live.fetch_sub(1, Ordering::AcqRel);
    }

    fn run_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, due))) = self.timers.peek() {
            if at > now || self.shared.is_stopping() {
                break;
            }
            self.timers.pop();
            match due {
                Due::Link(token) => {
                    let Some(link) = self.link(token) else {
                        continue;
                    };
                    if link.armed != Some(at) {
                        continue; // superseded
                    }
                    link.armed = None;
                    link.session.on_timeout(now);
                    self.flush(token);
                    self.settle(token);
                }
                Due::Timer(id) => self.fire_timer(id, at),
                Due::Restart(token) => self.restart(token),
            }
        }
    }

    /// Runs an application timer, without holding the timer lock during its callback (which
    /// may start or stop timers, its own included).
    fn fire_timer(&mut self, id: u64, at: Instant) {
        let mut callback = {
            let mut timers = self.shared.timers();
            match timers.entries.get_mut(&id) {
                Some(timer) if timer.due == at => match timer.callback.take() {
                    Some(callback) => callback,
                    None => return,
                },
                _ => return, // stopped, or superseded
            }
        };
        callback(id);
        let mut timers = self.shared.timers();
        let Some(timer) = timers.entries.get_mut(&id) else {
            return;
        }; // stopped in the callback
        match timer.interval {
            Some(interval) => {
                // The next tick follows the schedule, not the callback's duration; a loop that
                // fell far behind skips ticks rather than firing a burst.
                let mut next = at + interval.max(Duration::from_millis(1));
                let now = Instant::now();
                if next <= now {
                    next = now + interval;
                }
                timer.due = next;
                timer.callback = Some(callback);
                drop(timers);
                self.timers.push(Reverse((next, Due::Timer(id))));
            }
            None => {
                timers.entries.remove(&id);
            }
        }
    }

    fn abort_all(&mut self) {
        let pending = std::mem::take(&mut self.shared.inbox().new);
        for mut session in pending {
            session.abort();
            self.end(session);
        }
        let tokens: Vec<usize> = self.links.iter().map(|(_, l)| l.token).collect();
        for token in tokens {
            if let Some(link) = self.link(token) {
                link.session.abort();
                self.settle(token);
            }
        }
        let waiting: Vec<usize> = self.restarts.keys().copied().collect();
        for token in waiting {
            self.check_restart(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn run_for(ctx: &Context, total: Duration) {
        let end = Instant::now() + total;
        while Instant::now() < end {
            ctx.service(Some(Duration::from_millis(5))).unwrap();
        }
    }

    #[test]
    fn one_shot_and_periodic_timers() {
        let ctx = Context::new(DEFAULT_READ_BUFFER).unwrap();
        let once = Arc::new(AtomicU32::new(0));
        let ticks = Arc::new(AtomicU32::new(0));
        let o = once.clone();
        let once_id = ctx
            .start_timer(
                Duration::from_millis(10),
                None,
                Box::new(move |_| {
                    o.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .unwrap();
        let t = ticks.clone();
        let periodic = ctx
            .start_timer(
                Duration::ZERO,
                Some(Duration::from_millis(20)),
                Box::new(move |_| {
                    t.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .unwrap();
        assert_ne!(once_id, periodic);
        let started = Instant::now();
        while ticks.load(Ordering::SeqCst) < 4 || once.load(Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "timers did not fire"
            );
            ctx.service(Some(Duration::from_millis(5))).unwrap();
        }
        let n = ticks.load(Ordering::SeqCst);
        // Never more often than the schedule: the first tick at 0, then one per 20 ms.
        let allowed = started.elapsed().as_millis() / 20 + 2;
        assert!(
            u128::from(n) <= allowed,
            "{n} ticks, at most {allowed} allowed"
        );
        assert_eq!(once.load(Ordering::SeqCst), 1);
        assert!(!ctx.stop_timer(once_id), "a fired one-shot is gone");
        assert!(ctx.stop_timer(periodic));
        run_for(&ctx, Duration::from_millis(50));
        assert_eq!(ticks.load(Ordering::SeqCst), n, "no tick after stop");
    }

    #[test]
    fn a_timer_can_stop_itself_and_timers_from_other_threads_wake_the_loop() {
        let ctx = Arc::new(Context::new(DEFAULT_READ_BUFFER).unwrap());
        let fired = Arc::new(AtomicU32::new(0));
        let (c, f) = (ctx.clone(), fired.clone());
        let started = Instant::now();
        let other = std::thread::spawn(move || {
            c.start_timer(Duration::ZERO, Some(Duration::from_millis(1)), {
                let c = c.clone();
                Box::new(move |id| {
                    f.fetch_add(1, Ordering::SeqCst);
                    assert!(c.stop_timer(id));
                })
            })
            .unwrap()
        });
        // Blocks until the other thread's timer wakes it, then runs it.
        while fired.load(Ordering::SeqCst) == 0 {
            ctx.service(Some(Duration::from_secs(5))).unwrap();
        }
        let id = other.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        run_for(&ctx, Duration::from_millis(20));
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert!(!ctx.stop_timer(id));
    }

    #[test]
    fn fd_and_next_timeout_for_foreign_loops() {
        let ctx = Context::new(DEFAULT_READ_BUFFER).unwrap();
        let readable = |fd: RawFd| {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
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
}
