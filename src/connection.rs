//! One connection: the handle the application holds ([`Connection`], shared with the loop and
//! other threads) and the loop's state machine for it ([`Session`]: handshake, open, closing,
//! done). No sockets here: the context feeds bytes, end of stream and timeouts in, and writes
//! out what the [`Sender`] holds.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::{Options, Target};
use crate::context::Shared;
use crate::error::{Error, ErrorKind};
use crate::protocol::close;
use crate::protocol::deflate::{self, Deflater, Inflater};
use crate::protocol::handshake::{self, Expectation, ParseStatus, Request};
use crate::protocol::message::{Incoming, Receiver};
use crate::protocol::sender::{SendError, Sender};
use crate::protocol::utf8;
use crate::protocol::ProtocolError;

/// What the application hears about a connection. Every method has a default that ignores the
/// event. Methods run on the thread that runs the context's service loop, with no lock held:
/// they may send, close, connect others or release handles.
pub trait Handler: Send + Sync {
    fn on_open(&self, _conn: &Connection) {}
    /// A whole message; text is valid UTF-8. `data` is valid only during the call.
    fn on_message(&self, _conn: &Connection, _data: &[u8], _is_text: bool) {}
    /// A ping arrived (it is answered automatically).
    fn on_ping(&self, _conn: &Connection, _data: &[u8]) {}
    fn on_pong(&self, _conn: &Connection, _data: &[u8]) {}
    /// The send buffer drained after a send was refused as "would block".
    fn on_writable(&self, _conn: &Connection) {}
    /// A failure; `on_close` follows (now or once the closing handshake ends).
    fn on_error(&self, _conn: &Connection, _error: &Error) {}
    /// The last event of every connection, exactly once.
    fn on_close(&self, _conn: &Connection, _info: &CloseInfo) {}
}

/// A handler shared with the application (to read what it recorded, say).
impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn on_open(&self, conn: &Connection) {
        (**self).on_open(conn)
    }
    fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
        (**self).on_message(conn, data, is_text)
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
/// few flags. The loop's own state is in [`Session`].
pub struct Connection {
    sender: Mutex<Sender>,
    handler: Box<dyn Handler>,
    context: Arc<Shared>,
    /// The loop's token for this connection; `NO_TOKEN` until the loop takes it up.
    token: AtomicUsize,
    /// Already in the loop's list of connections with something to write.
    flush_queued: AtomicBool,
    /// `close` was called before the handshake completed.
    abort_requested: AtomicBool,
    /// Text sent must be checked for UTF-8 (unless the options trust it).
    check_outgoing_text: bool,
    /// What the server answered in its 101, from the latest open (replaced on reconnect).
    opened: Mutex<Option<Arc<OpenInfo>>>,
    /// When the next reconnect attempt is due, while one is scheduled.
    retry_at: Mutex<Option<Instant>>,
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
    pub(crate) fn new(handler: Box<dyn Handler>, context: Arc<Shared>, options: &Options) -> Self {
        Connection {
            sender: Mutex::new(Sender::new(options.send_buffer_limit)),
            check_outgoing_text: !options.trust_outgoing_text,
            handler,
            context,
            token: AtomicUsize::new(NO_TOKEN),
            flush_queued: AtomicBool::new(false),
            abort_requested: AtomicBool::new(false),
            opened: Mutex::new(None),
            retry_at: Mutex::new(None),
        }
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
        let mut sender = self.sender();
        if sender.is_open() {
            sender.send_close(Some(code), reason);
        } else if !sender.close_sent() {
            self.abort_requested.store(true, Ordering::Release);
        }
        drop(sender);
        self.request_flush();
        Ok(())
    }

    /// The subprotocol the server chose, once open.
    pub fn subprotocol(&self) -> Option<String> {
        let info = self.open_info()?;
        info.subprotocol
            .as_ref()
            .and_then(|s| s.to_str().ok())
            .map(str::to_string)
    }

    /// The first header of the server's 101 response with this name (ASCII case-insensitive),
    /// once open.
    pub fn response_header(&self, name: &str) -> Option<Vec<u8>> {
        self.open_info()?.header(name).map(<[u8]>::to_vec)
    }

    /// What the server answered in its 101, from the latest open.
    pub(crate) fn open_info(&self) -> Option<Arc<OpenInfo>> {
        self.opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How long until the next reconnect attempt, while one is scheduled (inside `on_close`
    /// and until the attempt starts).
    pub fn retry_in(&self) -> Option<Duration> {
        let at = (*self.retry_at.lock().unwrap_or_else(|e| e.into_inner()))?;
        Some(at.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn set_retry_at(&self, at: Option<Instant>) {
        *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub(crate) fn abort_requested(&self) -> bool {
        self.abort_requested.load(Ordering::Acquire)
    }

    /// The end of a connection that has no session (cancelled while waiting to reconnect,
    /// or its context freed then): the last `on_close`.
    pub(crate) fn end_without_session(&self) {
        self.set_retry_at(None);
        self.sender().shut();
        let info = CloseInfo {
            code: close::ABNORMAL,
            reason: String::new(),
            closed_by: ClosedBy::Application,
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
        if crate::context::flushed_after_dispatch(self) {
            return;
        }
        let token = self.token.load(Ordering::Acquire);
        if token != NO_TOKEN && !self.flush_queued.swap(true, Ordering::AcqRel) {
            self.context.request_flush(token);
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

/// Matches the server's answer with our offers, in order: the first offer it is a valid answer
/// to wins. `None` when the server accepted no compression.
fn negotiate_deflate(
    offers: &[deflate::DeflateConfig],
    response: &[String],
) -> Result<Option<(deflate::Negotiated, u32)>, String> {
    let mut first_error = None;
    for offer in offers {
        match deflate::accept(offer, response) {
            Ok(Some(negotiated)) => return Ok(Some((negotiated, offer.level))),
            Ok(None) => return Ok(None),
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// The first header named `name` (ASCII case-insensitive) in a raw HTTP response header block
/// of at most `max_headers` headers, without surrounding blanks.
fn raw_header<'a>(response: &'a [u8], name: &str, max_headers: usize) -> Option<&'a [u8]> {
    let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
    let mut parsed = httparse::Response::new(&mut headers);
    parsed.parse(response).ok()?;
    let value = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))?
        .value;
    Some(value.trim_ascii())
}

/// What the server answered in its 101 response. Shared so that C pointers into it stay valid
/// until the connection opens again or the handle is freed.
/// The header block is kept raw, in one allocation, and parsed again on lookup (rare), so an
/// open connection holds a couple of hundred bytes for it rather than one String per header.
pub(crate) struct OpenInfo {
    pub subprotocol: Option<CString>,
    raw_headers: Vec<u8>,
}

impl OpenInfo {
    /// The first header with this name (ASCII case-insensitive), without surrounding blanks;
    /// the slice points into the kept header block.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        // As many as the handshake may have (max_handshake_headers is at most 1024).
        raw_header(&self.raw_headers, name, 1024)
    }
}

/// What carries over from one attempt of a connection to the next.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Carry {
    pub redirects: u32,
    /// Failed attempts in a row (0 after a successful open).
    pub attempt: u32,
}

/// What the loop does once a session is done.
pub(crate) enum Next {
    /// Report `on_close`; the connection is over.
    Finish,
    /// Follow a redirect at once, transparently.
    Redirect(Target, Options, Carry),
    /// Report `on_close` (saying a retry is scheduled), then start again after the delay.
    Reconnect(Duration, Target, Options, Carry),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Resolving the name and connecting TCP.
    Connecting,
    /// Request sent (or queued), waiting for the 101.
    Handshaking,
    Open,
    /// A Close frame was sent or received, or the connection failed: waiting for the server's
    /// Close frame or for it to close TCP.
    Closing,
    /// Nothing more to do: the context drops the socket and reports `on_close`.
    Done,
}

/// The loop's state machine for one connection.
pub(crate) struct Session {
    pub conn: Arc<Connection>,
    pub target: Target,
    /// Set for wss://.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The HTTP proxy to tunnel through, if any.
    pub proxy: Option<crate::proxy::Proxy>,
    options: Options,
    phase: Phase,
    key: String,
    /// The handshake response so far.
    response: Vec<u8>,
    receiver: Receiver,
    deadline: Option<Instant>,
    /// The server's Close frame: code (1005 when it had none) and reason.
    close_received: Option<(u16, String)>,
    closed_by: Option<ClosedBy>,
    /// The code and reason we failed the connection with.
    failure: Option<(u16, String)>,
    /// Pings to detect a dead peer, while open.
    keepalive: Option<Keepalive>,
    carry: Carry,
    /// The handshake completed in this session.
    opened: bool,
    /// A redirect to follow once done.
    redirect: Option<Target>,
}

#[derive(Debug, Clone, Copy)]
struct Keepalive {
    next_ping: Instant,
    /// A keepalive ping is out: the server must show it is alive by then.
    pong_due: Option<Instant>,
}

impl Session {
    /// Builds the opening handshake request now, so that bad options fail `connect` at once.
    pub fn new(
        conn: Arc<Connection>,
        target: Target,
        options: Options,
        now: Instant,
        carry: Carry,
    ) -> Result<Self, Error> {
        let key = handshake::generate_key();
        let subprotocols: Vec<&str> = options.subprotocols.iter().map(String::as_str).collect();
        let headers: Vec<(&str, &str)> = options
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let request = Request {
            host: &target.host,
            port: target.port,
            secure: target.secure,
            resource: &target.resource,
            origin: options.origin.as_deref(),
            subprotocols: &subprotocols,
            extensions: None,
            headers: &headers,
        };
        for config in &options.deflate {
            config
                .validate()
                .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
        }
        let offers: Vec<String> = options.deflate.iter().map(|c| c.offer()).collect();
        let offer = (!offers.is_empty()).then(|| offers.join(", "));
        let request = Request {
            extensions: offer.as_deref(),
            ..request
        };
        let mut bytes = Vec::with_capacity(256);
        handshake::write_request(&request, &key, &mut bytes)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
        {
            let mut sender = conn.sender();
            sender.reset();
            sender.queue_raw(&bytes);
        }
        let tls = match target.secure {
            true => {
                crate::tls::server_name(&target.host)?;
                Some(crate::tls::client_config(&options.tls)?)
            }
            false => None,
        };
        let proxy = crate::proxy::choose(&options.proxy, &target, |name| std::env::var(name).ok())?;
        Ok(Session {
            conn,
            tls,
            proxy,
            target,
            phase: Phase::Connecting,
            key,
            response: Vec::new(),
            receiver: Receiver::new(options.receive_limits),
            deadline: Some(now + options.connect_timeout),
            close_received: None,
            closed_by: None,
            failure: None,
            keepalive: None,
            carry,
            opened: false,
            redirect: None,
            options,
        })
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    pub fn deadline(&self) -> Option<Instant> {
        let keepalive = self
            .keepalive
            .filter(|_| self.phase == Phase::Open)
            .map(|k| k.pong_due.map_or(k.next_ping, |due| due.min(k.next_ping)));
        match (self.deadline, keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// TCP is connected: the request goes out, the handshake clock starts.
    pub fn on_connected(&mut self, now: Instant) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Handshaking;
            self.deadline = Some(now + self.options.handshake_timeout);
        }
    }

    /// Lends the loop's spare buffer to the receiver for the next message and takes back a
    /// large one between messages (see `Receiver::lend_buffer`).
    pub fn lend_buffer(&mut self, spare: &mut Vec<u8>) {
        self.receiver.lend_buffer(spare);
    }

    pub fn park_buffer(&mut self, spare: &mut Vec<u8>) {
        self.receiver.park_buffer(spare);
    }

    pub fn on_bytes(&mut self, data: &[u8], now: Instant) {
        match self.phase {
            Phase::Handshaking => self.on_handshake_bytes(data, now),
            Phase::Open | Phase::Closing => self.on_frame_bytes(data, now),
            Phase::Connecting | Phase::Done => {}
        }
    }

    fn on_handshake_bytes(&mut self, data: &[u8], now: Instant) {
        if self.response.is_empty() {
            self.response
                .reserve(data.len().min(self.options.handshake_limits.max_bytes));
        }
        self.response.extend_from_slice(data);
        let subprotocols: Vec<&str> = self
            .options
            .subprotocols
            .iter()
            .map(String::as_str)
            .collect();
        let offered: &[&str] = if !self.options.deflate.is_empty() {
            &[deflate::EXTENSION_NAME]
        } else {
            &[]
        };
        let expect = Expectation {
            key: &self.key,
            subprotocols: &subprotocols,
            extension_names: offered,
        };
        match handshake::parse_response(&self.response, &expect, &self.options.handshake_limits) {
            Ok(ParseStatus::Incomplete) => {}
            Err(handshake::HandshakeError::Status { code, reason }) => {
                self.on_status(code, &reason, now)
            }
            Err(e) => self.fail(e.into(), now),
            Ok(ParseStatus::Complete { response, consumed }) => {
                let negotiated =
                    match negotiate_deflate(&self.options.deflate, &response.extensions) {
                        Ok(negotiated) => negotiated,
                        Err(message) => {
                            let message = format!("bad permessage-deflate response: {message}");
                            return self
                                .fail(Error::new(ErrorKind::HandshakeInvalid, message), now);
                        }
                    };
                let mut raw_headers = std::mem::take(&mut self.response);
                let frames = raw_headers.split_off(consumed);
                raw_headers.shrink_to_fit();
                {
                    // Under the sender lock, so a `close` from another thread either sees the
                    // connection open (and sends a Close frame) or is seen here as an abort.
                    let mut sender = self.conn.sender();
                    if self.conn.abort_requested.load(Ordering::Acquire) {
                        drop(sender);
                        return self.sync(now);
                    }
                    if let Some((negotiated, level)) = &negotiated {
                        sender.enable_deflate(Deflater::new(negotiated, *level));
                    }
                    sender.open();
                }
                if let Some((negotiated, _)) = &negotiated {
                    self.receiver.enable_inflate(Inflater::new(negotiated));
                }
                let info = OpenInfo {
                    subprotocol: response.subprotocol.and_then(|s| CString::new(s).ok()),
                    raw_headers,
                };
                *self.conn.opened.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(info));
                self.opened = true;
                self.key = String::new(); // only the handshake needed it
                self.carry.attempt = 0;
                if let Some(interval) = self.options.keepalive_interval {
                    self.keepalive = Some(Keepalive {
                        next_ping: now + interval,
                        pong_due: None,
                    });
                }
                self.phase = Phase::Open;
                self.deadline = None;
                self.conn.handler.on_open(&self.conn);
                self.sync(now);
                if !frames.is_empty() && !self.conn.context.is_stopping() {
                    self.on_frame_bytes(&frames, now);
                }
            }
        }
    }

    /// Room to read the rest of a large frame into, straight into the message buffer (see
    /// `Receiver::direct_room`); report the read with [`on_direct_bytes`](Self::on_direct_bytes).
    pub fn direct_room(&mut self) -> Option<&mut [MaybeUninit<u8>]> {
        match self.phase {
            Phase::Open | Phase::Closing => self.receiver.direct_room(),
            Phase::Connecting | Phase::Handshaking | Phase::Done => None,
        }
    }

    /// `n` bytes were read into the start of the slice `direct_room` returned.
    ///
    /// # Safety
    /// As for `Receiver::feed_direct`: those bytes were written since `direct_room`, and `n`
    /// is at most that slice's length.
    pub unsafe fn on_direct_bytes(&mut self, n: usize, now: Instant) {
        // SAFETY: passed on from our caller.
        self.receive(now, |receiver, sink| unsafe {
            receiver.feed_direct(n, sink)
        });
    }

    fn on_frame_bytes(&mut self, data: &[u8], now: Instant) {
        self.receive(now, |receiver, sink| receiver.feed(data, sink));
    }

    /// Runs the receiver over new bytes (`feed`), handing what it finds to the application.
    fn receive(
        &mut self,
        now: Instant,
        feed: impl FnOnce(
            &mut Receiver,
            &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
        ) -> Result<(), ProtocolError>,
    ) {
        // Anything from the server shows it is alive.
        if let Some(k) = &mut self.keepalive {
            k.pong_due = None;
        }
        let conn = &self.conn;
        let mut close_frame = None;
        let result = feed(&mut self.receiver, &mut |event| {
            match event {
                Incoming::Message { data, is_text } => conn.handler.on_message(conn, data, is_text),
                Incoming::Ping(payload) => {
                    conn.sender().answer_ping(payload);
                    conn.handler.on_ping(conn, payload);
                }
                Incoming::Pong(payload) => conn.handler.on_pong(conn, payload),
                Incoming::Close(frame) => {
                    close_frame = Some(frame.map(|(code, reason)| (code, reason.to_string())));
                }
            }
            if conn.context.is_stopping() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        match (result, close_frame) {
            (Err(violation), _) => self.fail(violation.into(), now),
            (Ok(()), Some(frame)) => self.on_close_frame(frame, now),
            (Ok(()), None) => {}
        }
        self.sync(now);
    }

    /// RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously send a
    /// Close frame, the endpoint MUST send a Close frame in response. [...] the endpoint
    /// typically echoes the status code it received."
    fn on_close_frame(&mut self, frame: Option<(u16, String)>, now: Instant) {
        let mut sender = self.conn.sender();
        let by = if sender.close_sent() {
            ClosedBy::Application
        } else {
            ClosedBy::Server
        };
        self.closed_by.get_or_insert(by);
        sender.send_close(frame.as_ref().map(|(code, _)| *code), b"");
        drop(sender);
        self.close_received = Some(frame.unwrap_or((close::NO_STATUS, String::new())));
        // "the client SHOULD wait for the server to close the connection"
        self.phase = Phase::Closing;
        self.deadline = Some(now + self.options.close_timeout);
    }

    /// Notices what the application did through the handle: its Close frame, or an abort
    /// before the connection opened.
    pub fn sync(&mut self, now: Instant) {
        match self.phase {
            Phase::Connecting | Phase::Handshaking
                if self.conn.abort_requested.load(Ordering::Acquire) =>
            {
                self.closed_by.get_or_insert(ClosedBy::Application);
                self.phase = Phase::Done;
            }
            Phase::Open if self.conn.sender().close_sent() => {
                self.closed_by.get_or_insert(ClosedBy::Application);
                self.phase = Phase::Closing;
                self.deadline = Some(now + self.options.close_timeout);
            }
            _ => {}
        }
    }

    /// The server closed TCP.
    pub fn on_eof(&mut self, now: Instant) {
        match self.phase {
            Phase::Connecting | Phase::Handshaking => self.fail(
                Error::new(
                    ErrorKind::ConnectionLost,
                    "the server closed the connection during the handshake",
                ),
                now,
            ),
            Phase::Open => self.fail(
                Error::new(
                    ErrorKind::ConnectionLost,
                    "the server closed the connection without a close frame",
                ),
                now,
            ),
            Phase::Closing if self.close_received.is_none() && self.failure.is_none() => {
                self.report(&Error::new(
                    ErrorKind::ConnectionLost,
                    "the server closed the connection without answering our close frame",
                ));
                self.phase = Phase::Done;
            }
            Phase::Closing | Phase::Done => self.phase = Phase::Done,
        }
    }

    pub fn on_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Open {
            self.keepalive_tick(now);
        }
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        let ms = |d: std::time::Duration| d.as_millis();
        match self.phase {
            Phase::Connecting => self.fail(
                Error::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "could not connect within {} ms",
                        ms(self.options.connect_timeout)
                    ),
                ),
                now,
            ),
            Phase::Handshaking => self.fail(
                Error::new(
                    ErrorKind::HandshakeTimeout,
                    format!(
                        "no handshake response within {} ms",
                        ms(self.options.handshake_timeout)
                    ),
                ),
                now,
            ),
            Phase::Closing if self.close_received.is_none() && self.failure.is_none() => {
                self.report(&Error::new(
                    ErrorKind::CloseTimeout,
                    format!(
                        "the server did not answer our close frame within {} ms",
                        ms(self.options.close_timeout)
                    ),
                ));
                self.phase = Phase::Done;
            }
            // Both Close frames are exchanged (or we failed): stop waiting for the server.
            Phase::Closing => self.phase = Phase::Done,
            Phase::Open | Phase::Done => {}
        }
    }

    /// Sends the next keepalive ping, or fails the connection when the last one went
    /// unanswered: a dead peer or a half-open TCP connection.
    fn keepalive_tick(&mut self, now: Instant) {
        let Some(mut k) = self.keepalive else { return };
        if k.pong_due.is_some_and(|due| due <= now) {
            let timeout = self.options.keepalive_timeout.as_millis();
            let message = format!("no answer to a keepalive ping within {timeout} ms");
            return self.fail(Error::new(ErrorKind::KeepaliveTimeout, message), now);
        }
        if k.next_ping <= now {
            if self.conn.sender().send_ping(b"").is_ok() {
                self.conn.request_flush();
                k.pong_due
                    .get_or_insert(now + self.options.keepalive_timeout);
            }
            let interval = self.options.keepalive_interval.unwrap_or_default();
            k.next_ping = now + interval;
        }
        self.keepalive = Some(k);
    }

    /// Reading or writing the socket failed. Once the server's Close frame has been received
    /// and answered, that is how the TCP connection ended (a server that closes at once may
    /// reset it when our answer arrives), not a failure: "If the TCP connection was closed
    /// after the WebSocket closing handshake was completed, the WebSocket connection is said
    /// to have been closed _cleanly_." Not over TLS, whose stream must end with close_notify.
    pub fn on_socket_error(&mut self, error: Error, now: Instant) {
        let handshake_done = self.close_received.is_some() && self.conn.sender().close_sent();
        if self.phase == Phase::Closing
            && handshake_done
            && self.failure.is_none()
            && !self.target.secure
        {
            self.phase = Phase::Done;
        } else {
            self.fail(error, now);
        }
    }

    /// The connection failed: report it, and when the protocol was broken, tell the server with
    /// a Close frame before waiting for it to close TCP (RFC 6455 §7.1.7).
    pub fn fail(&mut self, error: Error, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        self.closed_by.get_or_insert(ClosedBy::Failure);
        let first = self.failure.is_none();
        let code = match error.kind {
            ErrorKind::Protocol => close::PROTOCOL_ERROR,
            ErrorKind::InvalidUtf8 => close::INVALID_PAYLOAD,
            ErrorKind::MessageTooBig => close::MESSAGE_TOO_BIG,
            _ => close::ABNORMAL,
        };
        if first {
            self.failure = Some((code, error.message.clone()));
            self.report(&error);
        }
        if matches!(self.phase, Phase::Open | Phase::Closing) && code != close::ABNORMAL {
            // A no-op when our Close frame already went out.
            self.conn
                .sender()
                .send_close(Some(code), error.message.as_bytes());
            self.phase = Phase::Closing;
            self.deadline = Some(now + self.options.close_timeout);
        } else {
            self.phase = Phase::Done;
        }
    }

    /// Ends the connection now, on the application's behalf (the context is being freed).
    pub fn abort(&mut self) {
        if self.phase != Phase::Done {
            self.closed_by.get_or_insert(ClosedBy::Application);
            self.phase = Phase::Done;
        }
    }

    /// A status other than 101: a redirect to follow if allowed, else a failure.
    fn on_status(&mut self, code: u16, reason: &str, now: Instant) {
        let location = matches!(code, 301 | 302 | 303 | 307 | 308)
            .then(|| {
                let max = self.options.handshake_limits.max_headers;
                raw_header(&self.response, "location", max)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .map(str::to_string)
            })
            .flatten();
        let mut message = format!("server answered {code} {reason}, not 101 Switching Protocols");
        if let Some(location) = location {
            if self.carry.redirects < self.options.max_redirects {
                match self.target.redirect(&location) {
                    Ok(target) => {
                        self.redirect = Some(target);
                        self.phase = Phase::Done;
                        return;
                    }
                    Err(e) => return self.fail(e, now),
                }
            }
            message = match self.options.max_redirects {
                0 => format!("{message} (redirect to {location}; following redirects is off)"),
                n => format!("{message} (redirect to {location}; stopped after {n} redirects)"),
            };
        }
        self.fail(Error::new(ErrorKind::HandshakeStatus, message), now);
    }

    /// What the loop does now that this session is done: follow a redirect, reconnect, or
    /// finish. Takes the plan out of the session.
    pub fn next(&mut self) -> Next {
        if let Some(target) = self.redirect.take() {
            let mut options = self.options.clone();
            // Credentials go only where they were meant to: not to another host, and not
            // from wss:// down to ws://.
            if target.host != self.target.host || (self.target.secure && !target.secure) {
                options.headers.retain(|(name, _)| {
                    !["authorization", "cookie", "proxy-authorization"]
                        .contains(&name.to_ascii_lowercase().as_str())
                });
            }
            let carry = Carry {
                redirects: self.carry.redirects + 1,
                ..self.carry
            };
            return Next::Redirect(target, options, carry);
        }
        let Some(reconnect) = self.options.reconnect else {
            return Next::Finish;
        };
        // Not after the application closed, nor after the server said it is done (1000); after
        // failures and other closes (1001 going away, 1012 restart, 1013 try again later, ...).
        let by_application = self.closed_by == Some(ClosedBy::Application);
        let finished_normally = self.failure.is_none()
            && self
                .close_received
                .as_ref()
                .is_some_and(|(code, _)| *code == close::NORMAL);
        let attempt = if self.opened { 0 } else { self.carry.attempt };
        let exhausted = reconnect.max_attempts > 0 && attempt >= reconnect.max_attempts;
        if by_application || finished_normally || exhausted || self.conn.context.is_stopping() {
            return Next::Finish;
        }
        let delay = reconnect.delay(attempt, rand::random::<f64>());
        let carry = Carry {
            redirects: 0,
            attempt: attempt + 1,
        };
        Next::Reconnect(delay, self.target.clone(), self.options.clone(), carry)
    }

    fn report(&self, error: &Error) {
        self.conn.handler.on_error(&self.conn, error);
    }

    /// Reports the end: the last callback of the connection.
    /// Reports the end of this session; with `retry_at`, another attempt follows then.
    pub fn finish(&mut self, retry_at: Option<Instant>) {
        debug_assert!(self.phase == Phase::Done);
        self.conn.set_retry_at(retry_at);
        let sent_close = {
            let mut sender = self.conn.sender();
            let sent = sender.close_sent();
            // Handles outlive the connection: from now on sends fail with "not open" (and while
            // a retry waits, a close cancels it).
            match retry_at {
                Some(_) => sender.reset(),
                None => sender.shut(),
            }
            sent
        };
        let info = match (&self.close_received, &self.failure) {
            (_, Some((code, reason))) => CloseInfo {
                code: *code,
                reason: reason.clone(),
                closed_by: ClosedBy::Failure,
                clean: false,
            },
            (Some((code, reason)), None) => CloseInfo {
                code: *code,
                reason: reason.clone(),
                closed_by: self.closed_by.unwrap_or(ClosedBy::Server),
                clean: sent_close,
            },
            (None, None) => CloseInfo {
                code: close::ABNORMAL,
                reason: String::new(),
                closed_by: self.closed_by.unwrap_or(ClosedBy::Failure),
                clean: false,
            },
        };
        self.conn.handler.on_close(&self.conn, &info);
    }
}
