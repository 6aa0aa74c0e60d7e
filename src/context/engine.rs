//! The loop itself: one poll, then each ready connection read and written, handed-in work
//! taken up, and timers run; and the bookkeeping that keeps each connection's timer right and
//! ends it when its session is done.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use slab::Slab;

use super::attempts::Dialing;
use super::transport::{self, Transport};
use super::{Shared, WAKER};
use crate::config::Options;
use crate::error::{Error, ErrorKind};
use crate::handle::Dispatching;
use crate::handle::{ClosedBy, Connection};
use crate::log::Scope;
use crate::session::{Carry, Session};
use crate::target::Target;

/// The loop's side of a connection: its socket and where connecting stands.
pub(super) struct Link {
    pub(super) token: usize,
    /// Boxed: the slab holds many links and grows by doubling, so its entries stay small.
    pub(super) session: Box<Session>,
    pub(super) socket: Option<Transport>,
    pub(super) connected: bool,
    /// The race of TCP connection attempts, while it lasts. Boxed: links stay small.
    pub(super) dialing: Option<Box<Dialing>>,
    /// The deadline a timer is set for.
    pub(super) armed: Option<Instant>,
    /// The HTTP CONNECT exchange with a proxy, while it lasts.
    pub(super) tunnel: Option<Tunnel>,
    /// What TLS negotiated was logged (or there is no TLS).
    pub(super) tls_logged: bool,
    /// The SOCKS5 exchange with a proxy, while it lasts.
    pub(super) socks: Option<Box<crate::socks::Negotiation>>,
}

/// The HTTP CONNECT exchange with a proxy: the request and how much of it went out, and the
/// answer so far.
pub(super) struct Tunnel {
    pub(super) request: Vec<u8>,
    pub(super) written: usize,
    pub(super) response: Vec<u8>,
}

/// A connection between attempts: what the next one needs.
pub(super) struct PendingRestart {
    pub(super) conn: Arc<Connection>,
    pub(super) target: Target,
    pub(super) options: Options,
    pub(super) carry: Carry,
}

/// Tokens of connections waiting to reconnect have this bit; their flush requests (a
/// `close` while waiting) reach the loop like any other.
pub(super) const RESTART_TOKEN: usize = 1 << (usize::BITS - 1);

/// What a timer heap entry is for: a connection's deadline or an application timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Due {
    Link(usize),
    Timer(u64),
    /// A connection waiting to reconnect, by its token.
    Restart(usize),
}

pub(super) struct Engine {
    pub(super) poll: Poll,
    pub(super) events: Events,
    pub(super) links: Slab<Link>,
    pub(super) generation: usize,
    pub(super) timers: BinaryHeap<Reverse<(Instant, Due)>>,
    /// The timer heap's length at which its stale connection deadlines are dropped.
    pub(super) timers_compact_at: usize,
    pub(super) read_buf: Box<[u8]>,
    pub(super) flush_spare: Vec<usize>,
    /// The events of one poll, as (token, readable, writable).
    pub(super) ready: Vec<(usize, bool, bool)>,
    /// Connections that used up their read budget with data still waiting.
    pub(super) read_again: Vec<usize>,
    /// A large message buffer kept for whichever connection receives a large message next.
    pub(super) spare_message_buf: Vec<u8>,
    /// Connections waiting to reconnect, by token.
    pub(super) restarts: HashMap<usize, PendingRestart>,
    pub(super) shared: Arc<Shared>,
    /// Name-resolution threads not yet joined (see `join_finished_resolvers`).
    pub(super) resolvers: Vec<std::thread::JoinHandle<()>>,
}

/// What is masked for a write that follows a short one (see `Engine::flush`).
const PROBE_WRITE: usize = 4096;

/// Reads per connection per loop iteration (times the read buffer size), so a server that
/// floods cannot keep the loop from other connections and timers.
const READS_PER_TURN: usize = 16;

/// How long one connection may go on reading in one turn (at least one read is made). Small
/// frames cost far more per byte than large ones: sixteen buffers of 2-byte pings took
/// seconds, so the read count alone does not bound a turn.
const TURN_TIME: Duration = Duration::from_millis(1);

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

/// Logs what TLS negotiated once its handshake is over; returns whether that is done (or there
/// is no TLS).
#[cold]
fn log_tls(log: &Scope, socket: &Transport) -> bool {
    let Some(tls) = socket.tls_session() else {
        return true;
    };
    if tls.is_handshaking() {
        return false;
    }
    log!(
        log,
        Info,
        "TLS: {} {}, ALPN {}",
        tls.protocol_version()
            .map_or("?".to_string(), |v| format!("{v:?}")),
        tls.negotiated_cipher_suite()
            .map_or("?".to_string(), |s| format!("{:?}", s.suite())),
        tls.alpn_protocol()
            .map_or("none".into(), String::from_utf8_lossy)
    );
    true
}

/// The addresses a name resolved to, for the log.
fn addr_list(result: &io::Result<Vec<SocketAddr>>) -> String {
    match result {
        Ok(addrs) => addrs
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("failed: {e}"),
    }
}

/// The first line of an HTTP message, for the log.
pub(super) fn first_line(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == b'\r' || b == b'\n');
    String::from_utf8_lossy(&bytes[..end.unwrap_or(bytes.len())]).into_owned()
}

/// Tokens carry a generation next to the slab key, so an event or timer meant for a closed
/// connection never reaches the one that reused its slot.
pub(super) const KEY_BITS: u32 = 24;

/// The timer heap is never compacted below this many entries.
pub(super) const MIN_TIMERS_COMPACT: usize = 1024;

pub(super) fn slab_key(token: usize) -> usize {
    token & ((1 << KEY_BITS) - 1)
}

impl Engine {
    pub(super) fn new(poll: Poll, read_buffer_size: usize, shared: Arc<Shared>) -> Engine {
        Engine {
            poll,
            events: Events::with_capacity(1024),
            links: Slab::new(),
            generation: 0,
            timers: BinaryHeap::new(),
            timers_compact_at: MIN_TIMERS_COMPACT,
            read_buf: vec![0; read_buffer_size.max(4096)].into_boxed_slice(),
            flush_spare: Vec::new(),
            ready: Vec::new(),
            read_again: Vec::new(),
            spare_message_buf: Vec::new(),
            restarts: HashMap::new(),
            resolvers: Vec::new(),
            shared,
        }
    }

    pub(super) fn service(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        crate::fault::point("service");
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
        // Connections cut short by their read budget last time; each takes one turn per call.
        let again = std::mem::take(&mut self.read_again);
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
        for token in again {
            if self.shared.is_stopping() {
                break;
            }
            // One that had its turn above, through a new event, waits for the next call.
            if self.read_again.contains(&token) {
                continue;
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
    pub(super) fn next_timeout(&self) -> Option<Duration> {
        let inbox = self.shared.inbox();
        if !self.read_again.is_empty()
            || !inbox.read.is_empty()
            || !inbox.new.is_empty()
            || !inbox.resolved.is_empty()
            || !inbox.socks_resolved.is_empty()
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

    pub(super) fn link(&mut self, token: usize) -> Option<&mut Link> {
        self.links
            .get_mut(slab_key(token))
            .filter(|l| l.token == token)
    }

    /// Takes up handed-in work; returns whether there was any.
    pub(super) fn take_inbox(&mut self) -> bool {
        let mut flush = std::mem::take(&mut self.flush_spare);
        let (new, resolved, timers, read, socks_resolved) = {
            let mut inbox = self.shared.inbox();
            std::mem::swap(&mut inbox.flush, &mut flush);
            (
                std::mem::take(&mut inbox.new),
                std::mem::take(&mut inbox.resolved),
                std::mem::take(&mut inbox.timers),
                std::mem::take(&mut inbox.read),
                std::mem::take(&mut inbox.socks_resolved),
            )
        };
        let busy = !(new.is_empty()
            && resolved.is_empty()
            && flush.is_empty()
            && read.is_empty()
            && socks_resolved.is_empty());
        for (at, id) in timers {
            self.timers.push(Reverse((at, Due::Timer(id))));
        }
        for session in new {
            self.start(session);
        }
        for (token, host, result) in resolved {
            // Logged here, on the loop's thread: nothing is logged once the context is freed.
            if let Some(link) = self.link(token) {
                log!(
                    link.session.conn.log,
                    Debug,
                    "resolved: {}",
                    addr_list(&result)
                );
            }
            self.on_resolved(token, host, result);
        }
        if !self.resolvers.is_empty() {
            self.join_finished_resolvers();
        }
        for (token, result) in socks_resolved {
            self.on_socks_resolved(token, result);
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
        // Resumed after a pause: what arrived meanwhile raised no event (polling is
        // edge-triggered), so these are read at this iteration whatever the poll says.
        for token in read {
            if let Some(link) = self.link(token) {
                link.session.on_resume(Instant::now());
                if !self.read_again.contains(&token) {
                    self.read_again.push(token);
                }
                self.settle(token);
            }
        }
        busy
    }

    pub(super) fn start(&mut self, session: Session) {
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
        let via = session
            .proxy
            .as_ref()
            .map(|p| format!(" via proxy {}:{}", p.host, p.port));
        log!(
            session.conn.log,
            Info,
            "connecting to {}{}",
            session.target.url(),
            via.unwrap_or_default()
        );
        entry.insert(Link {
            token,
            session: Box::new(session),
            socket: None,
            connected: false,
            dialing: None,
            armed: None,
            tunnel: None,
            tls_logged: false,
            socks: None,
        });
        let now = Instant::now();
        let link = self.link(token).expect("just inserted");
        link.session.sync(now);
        if link.session.is_done() {
            self.settle(token);
            return;
        }
        self.dial(token);
        self.settle(token);
    }

    pub(super) fn on_ready(&mut self, token: usize, readable: bool, writable: bool) {
        let Some(link) = self.link(token) else { return };
        if link.tunnel.is_some() {
            self.on_tunnel_progress(token);
        } else if link.socks.is_some() {
            self.on_socks_progress(token);
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

    /// Reads until the socket would block, feeding the session from the shared buffer, and
    /// writes what the callbacks queued (echoes, pongs) after each read.
    pub(super) fn read(&mut self, token: usize) {
        let turn_started = Instant::now();
        for _ in 0..READS_PER_TURN {
            let Some(link) = self.links.get_mut(slab_key(token)) else {
                return;
            };
            if link.session.is_done() || self.shared.is_stopping() {
                return;
            }
            // Paused (before this read or by a callback of the last one): nothing more is read
            // until resumed, which puts the connection back in `read_again`.
            if link.session.reads_paused() {
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
            if !link.tls_logged {
                link.tls_logged = log_tls(&link.session.conn.log, socket);
            }
            // Sends from the callbacks of this connection are written by the flush below.
            let dispatching = Dispatching::enter(&link.session.conn);
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
            if turn_started.elapsed() >= TURN_TIME {
                break;
            }
        }
        // Budget used up and the socket may hold more: edge-triggered polling will not say so
        // again, so remember to come back.
        if !self.read_again.contains(&token) {
            self.read_again.push(token);
        }
    }

    /// Writes what the connection has queued, as far as the socket takes it.
    pub(super) fn flush(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        // A session done (aborted, say) writes nothing more: its socket is about to close.
        if !link.connected || link.session.is_done() {
            return;
        }
        let Some(socket) = link.socket.as_mut() else {
            return;
        };
        let conn = link.session.conn.clone();
        let mut drained_after_refusal = false;
        let mut writable_requested = false;
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
            writable_requested = conn.take_writable_request(sender.buffered(), sender.is_open());
        }
        let now = Instant::now();
        if let Some(error) = failure {
            link.session.on_socket_error(error, now);
            return;
        }
        link.session.sync(now);
        if (drained_after_refusal || writable_requested) && !link.session.is_done() {
            conn.notify_writable();
        }
    }

    /// After handling a connection: ends it when done, else keeps its timer right.
    pub(super) fn settle(&mut self, token: usize) {
        let Some(link) = self.link(token) else { return };
        if link.session.is_done() {
            let mut link = self.links.remove(slab_key(token));
            if let Some(mut socket) = link.socket.take() {
                socket.close_notify();
                let _ = self.poll.registry().deregister(socket.socket());
            }
            link.session.conn.set_socket_fd(-1);
            self.after(*link.session);
            return;
        }
        // While attempts race, the next one's start is a deadline too.
        let deadline = match link.dialing.as_ref().and_then(|d| d.next_due()) {
            Some(due) => Some(link.session.deadline().map_or(due, |d| d.min(due))),
            None => link.session.deadline(),
        };
        if deadline != link.armed {
            link.armed = deadline;
            if let Some(at) = deadline {
                self.timers.push(Reverse((at, Due::Link(token))));
                self.compact_timers();
            }
        }
    }

    /// A connection's deadline that no longer applies (it moved, or the connection ended) is
    /// skipped when it comes due rather than removed, so each connection attempt leaves its
    /// connect and handshake deadlines behind for up to their timeout: with many short
    /// attempts (reconnects) the heap would hold rate × timeout dead entries and keep that
    /// capacity. Past a threshold they are dropped, and the next threshold is twice what is
    /// left, which keeps the work amortised to a constant per push.
    fn compact_timers(&mut self) {
        if self.timers.len() < self.timers_compact_at {
            return;
        }
        let links = &self.links;
        self.timers.retain(|&Reverse((at, due))| match due {
            Due::Link(token) => links
                .get(slab_key(token))
                .is_some_and(|l| l.token == token && l.armed == Some(at)),
            Due::Timer(_) | Due::Restart(_) => true,
        });
        let left = self.timers.len();
        self.timers_compact_at = (2 * left).max(MIN_TIMERS_COMPACT);
        if self.timers.capacity() > 2 * self.timers_compact_at {
            self.timers.shrink_to(self.timers_compact_at);
        }
    }

    pub(super) fn run_timers(&mut self, now: Instant) {
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
                    if link.dialing.is_some() && !link.session.is_done() {
                        self.start_attempts(token, now);
                    }
                    self.flush(token);
                    self.settle(token);
                }
                Due::Timer(id) => self.fire_timer(id, at),
                Due::Restart(token) => self.restart(token),
            }
        }
    }

    /// After a panic: drops every socket and timer without running any session, and tells each
    /// connection, handed in or waiting to reconnect too, `error` then `on_close` (1006).
    pub(super) fn abandon(&mut self, error: &Error) {
        let mut conns: Vec<Arc<Connection>> = self.links.drain().map(|l| l.session.conn).collect();
        conns.extend(self.shared.inbox().new.drain(..).map(|s| s.conn));
        conns.extend(self.restarts.drain().map(|(_, p)| p.conn));
        self.timers.clear();
        self.read_again.clear();
        for conn in conns {
            conn.notify_error(error);
            conn.end_without_session(ClosedBy::Failure);
            self.shared.live.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(super) fn abort_all(&mut self) {
        self.join_finished_resolvers();
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
