//! The handle an application holds for a connection ([`Connection`]), shared by the loop and
//! other threads: the outgoing half, a few flags, what the server answered; and what the
//! application hears ([`Handler`]). What it needs from the loop that drives it goes through
//! [`Driver`], so this file knows nothing of sockets or of the loop itself.

use std::cell::Cell;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Options;
use crate::error::{Error, ErrorKind};
use crate::protocol::close;
use crate::protocol::http::{self, HeaderBlock};
use crate::protocol::sender::{SendError, Sender};
use crate::protocol::utf8;
use crate::sync::{Mutex, MutexGuard};
use crate::target::Target;

pub use crate::protocol::message::MessagePart;

/// What a handle asks of the loop that drives its connection.
pub(crate) trait Driver: Send + Sync {
    /// The connection with this token has bytes to write (wakes the loop when called from
    /// another thread).
    fn request_flush(&self, token: usize);
    /// The loop is going away: callbacks return to it as soon as they can.
    fn is_stopping(&self) -> bool;
    /// The connection with this token resumed reading: read its socket again even without a
    /// new readiness event (wakes the loop when called from another thread).
    fn request_read(&self, token: usize);
    /// Where the connection's log lines go: the context's handler, or `None` for the
    /// process's.
    fn log_handler(&self) -> Option<crate::log::LogHandler> {
        None
    }
}

thread_local! {
    /// The connection whose incoming bytes the loop on this thread is handing to callbacks.
    static DISPATCHING: Cell<*const Connection> = const { Cell::new(std::ptr::null()) };
}

/// Whether `conn`'s callbacks run inside the loop's read of it, which writes what they queued
/// right after: they need not ask for a flush.
fn is_dispatching(conn: &Connection) -> bool {
    DISPATCHING.with(|d| std::ptr::eq(d.get(), conn))
}

/// Marks a connection as being dispatched until dropped, then restores what was marked before
/// (a callback may run another context's loop).
pub(crate) struct Dispatching(*const Connection);

impl Dispatching {
    pub fn enter(conn: &Connection) -> Dispatching {
        Dispatching(DISPATCHING.with(|d| d.replace(conn)))
    }
}

impl Drop for Dispatching {
    fn drop(&mut self) {
        DISPATCHING.with(|d| d.set(self.0));
    }
}

/// What the application hears about a connection. Every method has a default that ignores the
/// event. Methods run on the thread that runs the context's service loop, with no lock held:
/// they may send, close, connect others or release handles.
pub trait Handler: Send + Sync {
    fn on_open(&self, _conn: &Connection) {}
    /// A whole message; text is valid UTF-8. `data` is valid only during the call. Not called
    /// when the options stream messages (`Options::stream_messages`).
    fn on_message(&self, _conn: &Connection, _data: &[u8], _is_text: bool) {}
    /// With `Options::stream_messages`: the next part of a message, as it arrived (see
    /// [`MessagePart`]). Parts of one message come in order, `first` on the first and `last`
    /// on the last; control frames (`on_ping`, `on_pong`) may come between them. Text is
    /// validated as it arrives (a code point may be split between parts); invalid UTF-8 fails
    /// the connection (1007) before the part holding it is delivered. `part` is valid only
    /// during the call.
    fn on_message_part(&self, _conn: &Connection, _part: &MessagePart<'_>) {}
    /// A ping arrived (it is answered automatically).
    fn on_ping(&self, _conn: &Connection, _data: &[u8]) {}
    fn on_pong(&self, _conn: &Connection, _data: &[u8]) {}
    /// The send buffer drained after a send was refused as "would block", or the unwritten
    /// bytes are at or below the low-water mark after `Connection::request_writable` (one call
    /// answers both).
    fn on_writable(&self, _conn: &Connection) {}
    /// A failure; `on_close` follows (now or once the closing handshake ends). With
    /// reconnect, `Connection::retry_in` already says whether a retry follows (a `close` here
    /// cancels it). A refused handshake (`ErrorKind::HandshakeStatus`) is readable here and in
    /// `on_close`: `Connection::response_status`, `response_header`, `response_body`.
    fn on_error(&self, _conn: &Connection, _error: &Error) {}
    /// The last event of every connection, exactly once (with reconnect, once per attempt:
    /// `Connection::retry_in` says whether another follows).
    fn on_close(&self, _conn: &Connection, _info: &CloseInfo) {}
    /// With reconnect, just before retry number `attempt` (1 for the first retry) starts:
    /// the place to change its URL or headers (`Connection::set_url`, `set_header`). A close
    /// here cancels it (`on_close` follows, closed by the application).
    fn on_reconnect(&self, _conn: &Connection, _attempt: u32) {}
}

/// A handler shared with the application (to read what it recorded, say).
impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn on_open(&self, conn: &Connection) {
        (**self).on_open(conn)
    }
    fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
        (**self).on_message(conn, data, is_text)
    }
    fn on_message_part(&self, conn: &Connection, part: &MessagePart<'_>) {
        (**self).on_message_part(conn, part)
    }
    fn on_ping(&self, conn: &Connection, data: &[u8]) {
        (**self).on_ping(conn, data)
    }
    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        (**self).on_pong(conn, data)
    }
    fn on_writable(&self, conn: &Connection) {
        (**self).on_writable(conn)
    }
    fn on_error(&self, conn: &Connection, error: &Error) {
        (**self).on_error(conn, error)
    }
    fn on_close(&self, conn: &Connection, info: &CloseInfo) {
        (**self).on_close(conn, info)
    }
    fn on_reconnect(&self, conn: &Connection, attempt: u32) {
        (**self).on_reconnect(conn, attempt)
    }
}

/// Who ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedBy {
    /// The server sent a Close frame first.
    Server,
    /// The application closed it (or freed the context). If the server then never answered
    /// or dropped TCP, `on_error` (close timeout, connection lost) came first.
    Application,
    /// It failed before anyone closed it: a protocol violation by the server, a limit, a
    /// connect or handshake timeout, a network error; `on_error` said which.
    Failure,
}

/// How a connection ended, as `on_close` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The code of the server's Close frame (1005 if it had none); else the code we failed the
    /// connection with; else 1006.
    pub code: u16,
    pub reason: String,
    pub closed_by: ClosedBy,
    /// The closing handshake completed (both Close frames) and nothing failed.
    pub clean: bool,
}

/// The handle an application holds, and what other threads may touch: the outgoing half and a
/// few flags. The loop keeps the rest of the connection's state in its session.
pub struct Connection {
    sender: Mutex<Sender>,
    /// Its number and host as log lines name them, and where they go.
    pub(crate) log: Arc<crate::log::Scope>,
    pub(crate) handler: Box<dyn Handler>,
    driver: Arc<dyn Driver>,
    /// The loop's token for this connection; `NO_TOKEN` until the loop takes it up.
    token: AtomicUsize,
    /// Already in the loop's list of connections with something to write.
    flush_queued: AtomicBool,
    /// `close` was called before the handshake completed, or `abort` at any time.
    abort_requested: AtomicBool,
    /// `pause_reading` is in force.
    paused: AtomicBool,
    /// `request_writable` waits for the unwritten bytes to fall to `writable_low_water`.
    writable_requested: AtomicBool,
    writable_low_water: usize,
    /// Text sent must be checked for UTF-8 (unless the options trust it).
    check_outgoing_text: bool,
    /// What the server answered to the latest handshake: its 101, or a refusal (replaced by
    /// the next answer; an attempt that starts makes it stale, but keeps it alive, so that
    /// pointers C took into it stay valid until the next answer arrives).
    pub(crate) opened: Mutex<Option<Arc<OpenInfo>>>,
    /// The answer in `opened` belongs to an earlier attempt: the accessors show none.
    answer_stale: AtomicBool,
    /// When the next reconnect attempt is due, while one is scheduled.
    retry_at: Mutex<Option<Instant>>,
    /// `close` or `abort` was called: no retry follows, whatever was planned.
    retry_cancelled: AtomicBool,
    /// Changes to the URL and headers for the next attempt.
    /// Boxed when set: rare, and every open connection would carry its room.
    next_attempt: Mutex<Option<Box<NextAttempt>>>,
    /// The connected socket's descriptor; -1 while there is none.
    fd: AtomicI32,
}

/// What `Connection::set_url` and `set_header` changed, for the next attempt.
#[derive(Debug, Default)]
pub(crate) struct NextAttempt {
    pub target: Option<Target>,
    /// Headers to replace (`Some`) or remove (`None`), in the order set.
    pub headers: Vec<(String, Option<String>)>,
}

impl NextAttempt {
    /// Applies the changes to the URL and headers of the attempt about to start.
    pub fn apply(self, target: &mut Target, options: &mut Options) {
        if let Some(new) = self.target {
            *target = new;
        }
        for (name, value) in self.headers {
            options
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            if let Some(value) = value {
                options.headers.push((name, value));
            }
        }
    }
}

pub(crate) const NO_TOKEN: usize = usize::MAX;

/// The sender, locked. Lent payloads it finished with are dropped after the lock is released,
/// since dropping one runs its owner's code (a C release callback), which may send again.
pub(crate) struct SenderGuard<'a>(Option<MutexGuard<'a, Sender>>);

impl std::ops::Deref for SenderGuard<'_> {
    type Target = Sender;
    fn deref(&self) -> &Sender {
        self.0.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for SenderGuard<'_> {
    fn deref_mut(&mut self) -> &mut Sender {
        self.0.as_mut().expect("held until dropped")
    }
}

impl Drop for SenderGuard<'_> {
    fn drop(&mut self) {
        let Some(mut sender) = self.0.take() else {
            return;
        };
        let finished = sender.take_finished();
        drop(sender);
        drop(finished);
    }
}

impl Connection {
    pub(crate) fn new(
        handler: Box<dyn Handler>,
        driver: Arc<dyn Driver>,
        options: &Options,
    ) -> Self {
        let log = Arc::new(crate::log::Scope::new("", driver.log_handler()));
        Connection {
            sender: Mutex::new(Sender::new(options.send_buffer_limit).with_log(log.clone())),
            log,
            check_outgoing_text: !options.trust_outgoing_text,
            handler,
            driver,
            token: AtomicUsize::new(NO_TOKEN),
            flush_queued: AtomicBool::new(false),
            abort_requested: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            writable_requested: AtomicBool::new(false),
            writable_low_water: options.writable_low_water(),
            opened: Mutex::new(None),
            answer_stale: AtomicBool::new(false),
            retry_at: Mutex::new(None),
            retry_cancelled: AtomicBool::new(false),
            next_attempt: Mutex::new(None),
            fd: AtomicI32::new(-1),
        }
    }

    /// The number that names this connection in log lines (`[#N host]`), unique in the
    /// process and kept across reconnects.
    pub fn log_id(&self) -> u64 {
        self.log.id()
    }

    /// Sends a whole message. Text must be valid UTF-8 (checked, unless the options trust
    /// outgoing text). Safe from any thread.
    pub fn send(&self, is_text: bool, data: &[u8]) -> Result<(), Error> {
        self.check_text(is_text, data)?;
        let result = self.sender().send_message(is_text, data);
        self.after_send(result)
    }

    /// Sends a whole message without copying `payload` when it is large: it is read as the
    /// socket takes it and dropped once written, or when the message will not be sent (the
    /// connection ends first). Dropped with no lock held, on the loop's thread, the thread
    /// that frees the connection, or (payloads copied at once: short ones, or with
    /// permessage-deflate) in this call. On failure it comes back with the error. Text must be
    /// valid UTF-8 (checked as by `send`). Safe from any thread.
    pub fn send_lent<P>(&self, is_text: bool, payload: P) -> Result<(), (Error, P)>
    where
        P: AsRef<[u8]> + Send + 'static,
    {
        if let Err(error) = self.check_text(is_text, payload.as_ref()) {
            return Err((error, payload));
        }
        // The guard goes at the end of the statement: a payload copied at once is dropped
        // (its owner told) with the lock released.
        let result = self.sender().send_message_lent(is_text, payload);
        match result {
            Ok(copied) => {
                drop(copied);
                self.request_flush();
                Ok(())
            }
            Err((e, payload)) => Err((send_error(e), payload)),
        }
    }

    /// Text sent must be UTF-8, unless the options trust it.
    fn check_text(&self, is_text: bool, data: &[u8]) -> Result<(), Error> {
        if is_text && self.check_outgoing_text && !utf8::is_valid(data) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "text is not valid UTF-8",
            ));
        }
        Ok(())
    }

    /// Sends one fragment of a message; the first fixes its type, `fin` ends it. Text fragments
    /// are not checked one by one (a code point may span them). Safe from any thread.
    pub fn send_fragment(&self, is_text: bool, data: &[u8], fin: bool) -> Result<(), Error> {
        let result = self.sender().send_fragment(is_text, data, fin);
        self.after_send(result)
    }

    /// Sends a ping of at most 125 bytes. Safe from any thread.
    pub fn ping(&self, data: &[u8]) -> Result<(), Error> {
        if data.len() > 125 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "ping payload is longer than 125 bytes",
            ));
        }
        let result = self.sender().send_ping(data);
        self.after_send(result)
    }

    /// Starts the closing handshake; before the connection is open, abandons it. Closing twice
    /// is harmless. Safe from any thread.
    pub fn close(&self, code: u16, reason: &[u8]) -> Result<(), Error> {
        close::check_outgoing(code, reason)
            .map_err(|why| Error::new(ErrorKind::InvalidArgument, why))?;
        self.cancel_retry();
        let mut sender = self.sender();
        if sender.is_open() {
            sender.send_close(Some(code), reason);
        } else if !sender.close_sent() {
            self.abort_requested.store(true, Ordering::Release);
        }
        drop(sender);
        self.request_flush();
        if self.is_reading_paused() {
            // The closing handshake is read even while paused.
            self.request_read();
        }
        Ok(())
    }

    /// Drops the connection at once: the TCP (or TLS) connection is closed without a Close
    /// frame and whatever is unwritten is discarded. `on_close` follows with 1006, closed by
    /// the application, not clean (no `on_error`); no reconnect follows. Before the connection
    /// is open this is `close`: the attempt is abandoned. Called from one of this
    /// connection's callbacks, it takes effect when the callback returns: nothing more of what
    /// was read is delivered. Harmless on a connection that is over. Safe from any thread.
    pub fn abort(&self) {
        self.cancel_retry();
        self.abort_requested.store(true, Ordering::Release);
        self.request_flush();
    }

    /// Stops reading from the server: the loop reads nothing more from this connection's
    /// socket, so once the kernel's buffers fill up the server's sends block (TCP flow
    /// control). What was already read is still delivered: called from a callback, the pause
    /// takes effect once the bytes of the current read are dispatched. Pings already read are
    /// answered; keepalive does not fail the connection for the silence the pause causes (its
    /// deadline is suspended while paused). The pause applies while the connection is open:
    /// the opening handshake is read regardless, and so is the closing one once `close` is
    /// called (or the server's Close frame was read), so that it can finish. Safe from any
    /// thread.
    pub fn pause_reading(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Reads again after `pause_reading`, starting at the next loop iteration (waking the loop
    /// from another thread), including what arrived in the meantime. Resuming a connection
    /// that is not paused is harmless. Safe from any thread.
    pub fn resume_reading(&self) {
        if self.paused.swap(false, Ordering::AcqRel) {
            self.request_read();
        }
    }

    /// Whether `pause_reading` is in force.
    pub fn is_reading_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Asks for one `on_writable` as soon as the unwritten bytes are at or below the low-water
    /// mark (`Options::writable_low_water`, by default a quarter of `send_buffer_limit`): at
    /// the next loop iteration if that is already so, else once enough is written. One call
    /// per request; asking again before it came changes nothing. Before the connection is
    /// open, the call comes after `on_open`; a request still pending when the connection ends
    /// is dropped. Fails with `NotOpen` once the connection is closing or over. Safe from any
    /// thread.
    pub fn request_writable(&self) -> Result<(), Error> {
        if self.sender().close_sent() {
            return Err(send_error(SendError::NotOpen));
        }
        self.writable_requested.store(true, Ordering::Release);
        self.request_flush();
        Ok(())
    }

    /// The loop wrote what it could: whether `on_writable` is due for a request, which is
    /// then taken. `buffered` and `open` describe the sender now.
    pub(crate) fn take_writable_request(&self, buffered: usize, open: bool) -> bool {
        open && buffered <= self.writable_low_water
            && self.writable_requested.swap(false, Ordering::AcqRel)
    }

    /// The connection ended: a pending request for `on_writable` goes with it.
    pub(crate) fn drop_writable_request(&self) {
        self.writable_requested.store(false, Ordering::Release);
    }

    /// Asks the loop to read this connection again (after a pause).
    pub(crate) fn request_read(&self) {
        let token = self.token.load(Ordering::Acquire);
        if token != NO_TOKEN {
            self.driver.request_read(token);
        }
    }

    /// The subprotocol the server chose, once open.
    pub fn subprotocol(&self) -> Option<String> {
        let info = self.open_info()?;
        info.subprotocol
            .as_ref()
            .and_then(|s| s.to_str().ok())
            .map(str::to_string)
    }

    /// The first header field with this name (ASCII case-insensitive) of the server's answer
    /// to the handshake of this attempt: its 101 once open, or the response that refused the
    /// handshake (inside that attempt's `on_error` and `on_close`, and until the next attempt
    /// starts).
    pub fn response_header(&self, name: &str) -> Option<Vec<u8>> {
        self.answer()?.header(name).map(<[u8]>::to_vec)
    }

    /// The status code and reason phrase of the server's answer to the handshake of this
    /// attempt: 101 once open, or the status that refused it (401, 403, 503, ...). `None`
    /// before an answer, and once the next attempt starts.
    pub fn response_status(&self) -> Option<(u16, String)> {
        let info = self.answer()?;
        Some((info.status, info.reason.to_string_lossy().into_owned()))
    }

    /// The start of the body of a response that refused the handshake: what arrived with its
    /// header, up to [`MAX_REFUSAL_BODY`] bytes (fewer when `Content-Length` says so). `None`
    /// for a 101 or when there was no answer; empty when the body was empty or had not
    /// arrived yet.
    pub fn response_body(&self) -> Option<Vec<u8>> {
        let info = self.answer()?;
        (info.status != 101).then(|| info.body.clone())
    }

    /// What the server answered to this attempt's handshake: a 101 or a refusal.
    pub(crate) fn answer(&self) -> Option<Arc<OpenInfo>> {
        if self.answer_stale.load(Ordering::Acquire) {
            return None;
        }
        self.opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What the server answered in its 101, from the latest open.
    pub(crate) fn open_info(&self) -> Option<Arc<OpenInfo>> {
        self.answer().filter(|info| info.status == 101)
    }

    /// Records the server's answer to this attempt's handshake.
    pub(crate) fn set_answer(&self, info: OpenInfo) {
        *self.opened.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(info));
        self.answer_stale.store(false, Ordering::Release);
    }

    /// A new attempt starts: the previous answer no longer describes this connection.
    pub(crate) fn answer_is_stale(&self) {
        self.answer_stale.store(true, Ordering::Release);
    }

    /// How long until the next reconnect attempt, while one is scheduled: inside the
    /// `on_error` and `on_close` of the attempt that failed, and until the next one starts.
    /// `None` once `close` (or `abort`) cancelled it.
    pub fn retry_in(&self) -> Option<Duration> {
        if self.retry_cancelled() {
            return None;
        }
        let at = (*self.retry_at.lock().unwrap_or_else(|e| e.into_inner()))?;
        Some(at.saturating_duration_since(Instant::now()))
    }

    /// `close` or `abort` was called: no retry may follow.
    pub(crate) fn retry_cancelled(&self) -> bool {
        self.retry_cancelled.load(Ordering::Acquire)
    }

    fn cancel_retry(&self) {
        self.retry_cancelled.store(true, Ordering::Release);
    }

    /// The URL of the next attempt (with reconnect): from `Handler::on_reconnect`, or at any
    /// time, taking effect when the next attempt starts, and for the attempts after it. The
    /// connection that is open (if any) is not affected. Redirects start from it as well.
    pub fn set_url(&self, url: &str) -> Result<(), Error> {
        let target = Target::parse(url)?;
        self.next_attempt(|next| next.target = Some(target));
        Ok(())
    }

    /// Replaces the header `name` (every field with that name, ASCII case-insensitive) with
    /// `value` for the next attempt and the ones after it, or adds it; `None` removes it. As
    /// `set_url`, it takes effect when the next attempt starts. A header wsc sets itself
    /// (`Host`, `Upgrade`, `Sec-WebSocket-*`, ...) is refused when that attempt starts.
    pub fn set_header(&self, name: &str, value: Option<&str>) -> Result<(), Error> {
        let invalid = |what: String| Err(Error::new(ErrorKind::InvalidArgument, what));
        if !http::is_token(name) {
            return invalid(format!("header name {name:?} is not an HTTP token"));
        }
        if let Some(value) = value.filter(|v| !http::is_field_value(v)) {
            return invalid(format!(
                "the value of header {name} is not a valid field value: {value:?}"
            ));
        }
        let header = (name.to_string(), value.map(str::to_string));
        self.next_attempt(|next| next.headers.push(header));
        Ok(())
    }

    fn next_attempt(&self, change: impl FnOnce(&mut NextAttempt)) {
        let mut next = self.next_attempt.lock().unwrap_or_else(|e| e.into_inner());
        change(next.get_or_insert_with(Box::default));
    }

    /// The changes for the attempt about to start, taken.
    pub(crate) fn take_next_attempt(&self) -> NextAttempt {
        let mut next = self.next_attempt.lock().unwrap_or_else(|e| e.into_inner());
        next.take().map(|next| *next).unwrap_or_default()
    }

    pub(crate) fn set_retry_at(&self, at: Option<Instant>) {
        *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub(crate) fn abort_requested(&self) -> bool {
        self.abort_requested.load(Ordering::Acquire)
    }

    /// The end of a connection that has no session (cancelled while waiting to reconnect,
    /// or its context freed then): the last `on_close`.
    pub(crate) fn end_without_session(&self, closed_by: ClosedBy) {
        self.set_retry_at(None);
        self.set_token(NO_TOKEN);
        self.sender().shut();
        let info = CloseInfo {
            code: close::ABNORMAL,
            reason: String::new(),
            closed_by,
            clean: false,
        };
        self.handler.on_close(self, &info);
    }

    /// Bytes queued and not yet written to the socket.
    pub fn buffered_amount(&self) -> usize {
        self.sender().buffered()
    }

    pub(crate) fn sender(&self) -> SenderGuard<'_> {
        SenderGuard(Some(self.sender.lock().unwrap_or_else(|e| e.into_inner())))
    }

    /// The descriptor of the connected socket (TCP, or Unix domain), for `setsockopt`; -1
    /// before it connects and once it is closed.
    pub fn socket_fd(&self) -> i32 {
        self.fd.load(Ordering::Acquire)
    }

    pub(crate) fn set_socket_fd(&self, fd: i32) {
        self.fd.store(fd, Ordering::Release);
    }

    pub(crate) fn set_token(&self, token: usize) {
        self.token.store(token, Ordering::Release);
    }

    pub(crate) fn notify_error(&self, error: &Error) {
        self.handler.on_error(self, error);
    }

    pub(crate) fn notify_writable(&self) {
        self.handler.on_writable(self);
    }

    pub(crate) fn clear_flush_queued(&self) {
        self.flush_queued.store(false, Ordering::Release);
    }

    fn after_send(&self, result: Result<(), SendError>) -> Result<(), Error> {
        result.map_err(send_error)?;
        self.request_flush();
        Ok(())
    }

    /// Asks the loop to write what is queued (waking it when called from another thread).
    pub(crate) fn request_flush(&self) {
        if is_dispatching(self) {
            return;
        }
        let token = self.token.load(Ordering::Acquire);
        if token != NO_TOKEN && !self.flush_queued.swap(true, Ordering::AcqRel) {
            self.driver.request_flush(token);
        }
    }
}

fn send_error(e: SendError) -> Error {
    match e {
        SendError::NotOpen => Error::new(ErrorKind::NotOpen, "the connection is not open"),
        SendError::WouldBlock => Error::new(
            ErrorKind::WouldBlock,
            "the send buffer is full; on_writable follows when it drains",
        ),
        SendError::FragmentState => Error::new(
            ErrorKind::FragmentState,
            "a fragmented message is in progress (or none is, for a continuation)",
        ),
    }
}

impl Connection {
    pub(crate) fn is_stopping(&self) -> bool {
        self.driver.is_stopping()
    }
}

/// The most bytes of a refusal's body kept for [`Connection::response_body`].
pub const MAX_REFUSAL_BODY: usize = 1024;

/// What the server answered to the handshake: its 101 response, or a response with another
/// status that refused it. Shared so that C pointers into it stay valid until the next answer
/// arrives or the handle is freed.
pub(crate) struct OpenInfo {
    pub status: u16,
    pub reason: CString,
    pub subprotocol: Option<CString>,
    pub headers: HeaderBlock,
    /// For a refusal, the start of its body (at most `MAX_REFUSAL_BODY` bytes).
    pub body: Vec<u8>,
}

impl OpenInfo {
    /// The first header with this name (ASCII case-insensitive), without surrounding blanks.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }
}
