//! The loop's state machine for one connection ([`Session`]: connecting, handshake, open,
//! closing, done), without sockets or clocks: the loop feeds it bytes, end of stream, socket
//! errors and the time, and writes out what the handle's sender holds; the session calls the
//! application's handler and says when it wants to be woken ([`Session::deadline`]) and what
//! follows once it is done ([`Session::next`]).

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Options;
use crate::error::{Error, ErrorKind};
use crate::handle::{CloseInfo, ClosedBy, Connection, OpenInfo, MAX_REFUSAL_BODY};
use crate::log::{Level, Scope};
use crate::protocol::close;
use crate::protocol::deflate::{self, Deflater, Inflater};
use crate::protocol::handshake::{self, Expectation, HandshakeError, ParseStatus, Request};
use crate::protocol::http::HeaderBlock;
use crate::protocol::message::{Incoming, MessagePart, Receiver, Sink};
use crate::protocol::ProtocolError;
use crate::target::Target;

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
    /// Report `on_close` (saying a retry is scheduled), then start again at that time.
    Reconnect(Instant, Target, Options, Carry),
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
    pub tls: Option<crate::tls::Client>,
    /// The proxy to tunnel through (HTTP CONNECT or SOCKS5), if any.
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
    /// A response that refused the handshake, whose body is still arriving.
    /// Boxed: rare, and the session of every open connection would carry its room.
    refusal: Option<Box<Refusal>>,
    /// The status of the response that refused the handshake.
    refused_status: Option<u16>,
    /// Whether (and when, with what carries over) another attempt follows, once decided.
    retry: Option<Option<(Instant, Carry)>>,
    /// The request, kept for the log until it goes out, when the log shows headers.
    request_log: Option<Box<[u8]>>,
}

/// A response with a status other than 101, kept while the start of its body arrives.
struct Refusal {
    code: u16,
    reason: String,
    headers: HeaderBlock,
    /// Where the body starts in `Session::response`.
    body_start: usize,
    /// How many body bytes to wait for and keep: `Content-Length`, at most
    /// `MAX_REFUSAL_BODY`; without one, what arrived with the header (up to the same limit).
    want: usize,
    /// Whether `want` comes from a `Content-Length`.
    sized: bool,
}

/// Where the header block ends in a complete response header (after its empty line).
fn header_end(response: &[u8]) -> usize {
    let crlf = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = response
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(response.len()),
    }
}

/// Server-supplied text made fit for an error message: control characters become spaces,
/// runs of blanks one space, and it is cut after `max` characters.
fn sanitize(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let words: Vec<&str> = text
        .split(|c: char| c.is_control() || c == ' ')
        .filter(|w| !w.is_empty())
        .collect();
    let text = words.join(" ");
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", text[..end].trim_end()),
        None => text,
    }
}

/// How much of a refusal's body is quoted in the error message.
const MAX_BODY_IN_MESSAGE: usize = 200;

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
        conn.log.set_host(&target.host);
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
                let client = crate::tls::client(&options.tls)?;
                client.server_name(&target.host)?;
                Some(client)
            }
            false => None,
        };
        // A Unix domain socket is reached directly: proxies do not apply.
        let proxy = match target.unix {
            Some(_) => None,
            None => crate::proxy::choose(&options.proxy, &target, |name| std::env::var(name).ok())?,
        };
        conn.answer_is_stale();
        let log = conn.log.clone();
        let request_log = log.enabled(Level::Debug).then(|| bytes.into_boxed_slice());
        Ok(Session {
            request_log,
            conn,
            tls,
            proxy,
            target,
            phase: Phase::Connecting,
            key,
            response: Vec::new(),
            receiver: Receiver::new(options.receive_limits)
                .streaming(options.stream_messages)
                .with_log(log),
            deadline: Some(now + options.connect_timeout),
            close_received: None,
            closed_by: None,
            failure: None,
            keepalive: None,
            carry,
            opened: false,
            redirect: None,
            refusal: None,
            refused_status: None,
            retry: None,
            options,
        })
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The options this connection was made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    pub fn deadline(&self) -> Option<Instant> {
        // Suspended while reading is paused: the silence is ours.
        let keepalive = self
            .keepalive
            .filter(|_| self.phase == Phase::Open && !self.conn.is_reading_paused())
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
            if let Some(request) = self.request_log.take() {
                log_http(&self.conn.log, ">", &request);
            }
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
        if let Some(refusal) = &self.refusal {
            if self.response.len() >= refusal.body_start + refusal.want {
                self.refused(now);
            }
            return;
        }
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
            Err(HandshakeError::Status {
                code,
                reason,
                headers,
            }) => {
                log_http(
                    &self.conn.log,
                    "<",
                    &self.response[..header_end(&self.response)],
                );
                self.on_status(code, &reason, &headers, now)
            }
            Err(e) => self.fail(self.with_scheme_hint(e.into()), now),
            Ok(ParseStatus::Complete { response, consumed }) => {
                log_http(&self.conn.log, "<", &self.response[..consumed]);
                let negotiated =
                    match negotiate_deflate(&self.options.deflate, &response.extensions) {
                        Ok(negotiated) => negotiated,
                        Err(message) => {
                            let message = format!("bad permessage-deflate response: {message}");
                            return self
                                .fail(Error::new(ErrorKind::HandshakeInvalid, message), now);
                        }
                    };
                let frames = self.response.split_off(consumed);
                self.response = Vec::new();
                {
                    // Under the sender lock, so a `close` from another thread either sees the
                    // connection open (and sends a Close frame) or is seen here as an abort.
                    let mut sender = self.conn.sender();
                    if self.conn.abort_requested() {
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
                self.conn.set_answer(OpenInfo {
                    status: 101,
                    reason: CString::new(response.reason.replace('\0', " ")).unwrap_or_default(),
                    subprotocol: response.subprotocol.and_then(|s| CString::new(s).ok()),
                    headers: response.headers,
                    body: Vec::new(),
                });
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
                log!(
                    self.conn.log,
                    Info,
                    "open (subprotocol {}, {})",
                    self.conn.subprotocol().unwrap_or_else(|| "none".into()),
                    if negotiated.is_some() {
                        "permessage-deflate"
                    } else {
                        "no compression"
                    }
                );
                self.conn.handler.on_open(&self.conn);
                self.sync(now);
                if !frames.is_empty() && !self.conn.is_stopping() && !self.is_done() {
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
            receiver.feed_direct_to(n, sink)
        });
    }

    fn on_frame_bytes(&mut self, data: &[u8], now: Instant) {
        self.receive(now, |receiver, sink| receiver.feed_to(data, sink));
    }

    /// Whether the loop must not read now: the application paused reading an open
    /// connection (see `Connection::pause_reading`).
    pub fn reads_paused(&self) -> bool {
        self.phase == Phase::Open && self.conn.is_reading_paused()
    }

    /// Reading resumed after a pause: keepalive starts over, a full interval from now.
    pub fn on_resume(&mut self, now: Instant) {
        if let (Some(k), Some(interval)) = (&mut self.keepalive, self.options.keepalive_interval) {
            k.pong_due = None;
            k.next_ping = now + interval;
        }
    }

    /// Runs the receiver over new bytes (`feed`), handing what it finds to the application.
    fn receive(
        &mut self,
        now: Instant,
        feed: impl FnOnce(&mut Receiver, &mut Dispatch<'_>) -> Result<(), ProtocolError>,
    ) {
        // Anything from the server shows it is alive.
        if let Some(k) = &mut self.keepalive {
            k.pong_due = None;
        }
        let mut dispatch = Dispatch {
            conn: &self.conn,
            close_frame: None,
        };
        let result = feed(&mut self.receiver, &mut dispatch);
        let close_frame = dispatch.close_frame;
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
        log_close(&self.conn.log, "received", frame.as_ref());
        sender.send_close(frame.as_ref().map(|(code, _)| *code), b"");
        drop(sender);
        self.close_received = Some(frame.unwrap_or((close::NO_STATUS, String::new())));
        // "the client SHOULD wait for the server to close the connection"
        self.phase = Phase::Closing;
        self.deadline = Some(now + self.options.close_timeout);
    }

    /// Notices what the application did through the handle: its Close frame, a close before
    /// the connection opened, or an abort.
    pub fn sync(&mut self, now: Instant) {
        match self.phase {
            Phase::Done => {}
            _ if self.conn.abort_requested() => {
                self.closed_by.get_or_insert(ClosedBy::Application);
                self.phase = Phase::Done;
            }
            Phase::Open if self.conn.sender().close_sent() => {
                log!(self.conn.log, Debug, "close: sent by the application");
                self.closed_by.get_or_insert(ClosedBy::Application);
                self.phase = Phase::Closing;
                self.deadline = Some(now + self.options.close_timeout);
            }
            _ => {}
        }
    }

    /// The server closed TCP.
    pub fn on_eof(&mut self, now: Instant) {
        if self.refusal.is_some() {
            return self.refused(now);
        }
        match self.phase {
            Phase::Connecting | Phase::Handshaking => {
                let lost = Error::new(
                    ErrorKind::ConnectionLost,
                    "the server closed the connection during the handshake",
                );
                self.fail(self.with_scheme_hint(lost), now)
            }
            Phase::Open => self.fail(
                Error::new(
                    ErrorKind::ConnectionLost,
                    "the server closed the connection without a close frame",
                ),
                now,
            ),
            Phase::Closing if self.close_received.is_none() && self.failure.is_none() => {
                self.report(
                    &Error::new(
                        ErrorKind::ConnectionLost,
                        "the server closed the connection without answering our close frame",
                    ),
                    now,
                );
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
        let (kind, message) = match self.phase {
            Phase::Connecting => (
                ErrorKind::ConnectTimeout,
                format!(
                    "could not connect within {} ms",
                    ms(self.options.connect_timeout)
                ),
            ),
            Phase::Handshaking if self.refusal.is_some() => return self.refused(now),
            Phase::Handshaking => (
                ErrorKind::HandshakeTimeout,
                format!(
                    "no handshake response within {} ms",
                    ms(self.options.handshake_timeout)
                ),
            ),
            _ => return self.on_close_timeout(now),
        };
        self.fail(Error::new(kind, message), now);
    }

    /// The closing handshake's deadline passed.
    fn on_close_timeout(&mut self, now: Instant) {
        if self.phase != Phase::Closing {
            return;
        }
        // Unless both Close frames are exchanged (or we failed), the server never answered.
        if self.close_received.is_none() && self.failure.is_none() {
            let ms = self.options.close_timeout.as_millis();
            self.report(
                &Error::new(
                    ErrorKind::CloseTimeout,
                    format!("the server did not answer our close frame within {ms} ms"),
                ),
                now,
            );
        }
        self.phase = Phase::Done;
    }

    /// Sends the next keepalive ping, or fails the connection when the last one went
    /// unanswered: a dead peer or a half-open TCP connection.
    fn keepalive_tick(&mut self, now: Instant) {
        let Some(mut k) = self.keepalive else { return };
        if self.conn.is_reading_paused() {
            // Nothing is read while paused: no ping, and silence fails nothing.
            self.on_resume(now);
            return;
        }
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
        if self.refusal.is_some() {
            return self.refused(now);
        }
        let handshake_done = self.close_received.is_some() && self.conn.sender().close_sent();
        if self.phase == Phase::Closing
            && handshake_done
            && self.failure.is_none()
            && !self.target.secure
        {
            self.phase = Phase::Done;
        } else {
            self.fail(self.with_scheme_hint(error), now);
        }
    }

    /// During the opening handshake, a failure that a wrong scheme explains says so: a TLS
    /// server spoken to with ws:// answers with a TLS record (0x15 alert, 0x16 handshake) or
    /// hangs up; a plain server spoken to with wss:// breaks the TLS handshake or hangs up.
    fn with_scheme_hint(&self, mut error: Error) -> Error {
        if self.phase != Phase::Handshaking || self.response.contains(&b'\n') {
            return error; // not handshaking, or an HTTP line already arrived
        }
        let tls_record = matches!(self.response.first(), Some(0x15 | 0x16));
        let hint = match (self.target.secure, error.kind) {
            (true, ErrorKind::Tls | ErrorKind::ConnectionLost) => {
                "is the server speaking TLS? For one that does not, use ws://"
            }
            (false, _) if tls_record => "the server answered in TLS: use wss://",
            (false, ErrorKind::ConnectionLost) => "if the server expects TLS, use wss://",
            _ => return error,
        };
        error.message = format!("{} ({hint})", error.message);
        error
    }

    /// The connection failed: report it, and when the protocol was broken, tell the server with
    /// a Close frame before waiting for it to close TCP (RFC 6455 §7.1.7).
    pub fn fail(&mut self, error: Error, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        self.closed_by.get_or_insert(ClosedBy::Failure);
        let first = self.failure.is_none();
        let code = error
            .kind
            .violation()
            .map_or(close::ABNORMAL, |kind| kind.close_code());
        if first {
            self.failure = Some((code, error.message.clone()));
            self.report(&error, now);
        }
        if matches!(self.phase, Phase::Open | Phase::Closing) && code != close::ABNORMAL {
            log!(
                self.conn.log,
                Debug,
                "close: sending {code} after the failure"
            );
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

    /// A status other than 101: a redirect to follow if allowed, else a refusal, reported once
    /// the start of its body is here.
    fn on_status(&mut self, code: u16, reason: &str, headers: &HeaderBlock, now: Instant) {
        let location = matches!(code, 301 | 302 | 303 | 307 | 308)
            .then(|| headers.get("location"))
            .flatten()
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string);
        if location.is_some() && self.carry.redirects < self.options.max_redirects {
            match self
                .target
                .redirect(location.as_deref().unwrap_or_default())
            {
                Ok(target) => {
                    self.redirect = Some(target);
                    self.phase = Phase::Done;
                    return;
                }
                Err(e) => return self.fail(e, now),
            }
        }
        // The body arriving with the header, or as much of it as Content-Length announces
        // (up to MAX_REFUSAL_BODY) within the handshake timeout: the reason a server gives.
        let length = headers
            .get("content-length")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok());
        let want = length.map_or(0, |n| n.min(MAX_REFUSAL_BODY as u64) as usize);
        let body_start = header_end(&self.response);
        self.refusal = Some(Box::new(Refusal {
            code,
            reason: reason.to_string(),
            headers: headers.clone(),
            body_start,
            want,
            sized: length.is_some(),
        }));
        if self.response.len() >= body_start + want {
            self.refused(now);
        }
    }

    /// A refused handshake, with the start of the response's body: kept for the application
    /// (`Connection::response_status`, `response_header`, `response_body`), then a failure.
    fn refused(&mut self, now: Instant) {
        let Some(refusal) = self.refusal.take() else {
            return;
        };
        let Refusal {
            code,
            reason,
            headers,
            body_start,
            want,
            sized,
        } = *refusal;
        let keep = if sized { want } else { MAX_REFUSAL_BODY };
        let body_end = self.response.len().min(body_start + keep);
        let body = self
            .response
            .get(body_start..body_end)
            .unwrap_or_default()
            .to_vec();
        self.response = Vec::new();
        let location = matches!(code, 301 | 302 | 303 | 307 | 308)
            .then(|| headers.get("location"))
            .flatten()
            .map(|v| sanitize(v, MAX_BODY_IN_MESSAGE));
        let reason = sanitize(reason.as_bytes(), MAX_BODY_IN_MESSAGE);
        let mut message = match reason.is_empty() {
            true => format!("server answered {code}, not 101 Switching Protocols"),
            false => format!("server answered {code} {reason}, not 101 Switching Protocols"),
        };
        if let Some(location) = location {
            message = match self.options.max_redirects {
                0 => format!("{message} (redirect to {location}; following redirects is off)"),
                n => format!("{message} (redirect to {location}; stopped after {n} redirects)"),
            };
        }
        let quoted = sanitize(&body, MAX_BODY_IN_MESSAGE);
        if !quoted.is_empty() {
            message = format!("{message}: {quoted}");
        }
        self.refused_status = Some(code);
        self.conn.set_answer(OpenInfo {
            status: code,
            reason: CString::new(reason).unwrap_or_default(),
            subprotocol: None,
            headers,
            body,
        });
        self.fail(Error::new(ErrorKind::HandshakeStatus, message), now);
    }

    /// What the loop does now that this session is done: follow a redirect, reconnect, or
    /// finish. Takes the plan out of the session.
    pub fn next(&mut self, now: Instant) -> Next {
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
        if self.conn.retry_cancelled() || self.conn.is_stopping() {
            return Next::Finish;
        }
        match self.retry_plan(now) {
            Some((at, carry)) => {
                Next::Reconnect(at, self.target.clone(), self.options.clone(), carry)
            }
            None => Next::Finish,
        }
    }

    /// Whether another attempt follows this one, and when: decided once, before `on_error`
    /// reports the failure (so that `Connection::retry_in` is readable there), or when the
    /// session is done. A close by the application afterwards still cancels it.
    fn retry_plan(&mut self, now: Instant) -> Option<(Instant, Carry)> {
        if let Some(plan) = self.retry {
            return plan;
        }
        let plan = self.decide_retry(now);
        self.retry = Some(plan);
        plan
    }

    fn decide_retry(&self, now: Instant) -> Option<(Instant, Carry)> {
        let reconnect = self.options.reconnect?;
        // Not after the application closed, nor after the server said it is done (1000); after
        // failures and other closes (1001 going away, 1012 restart, 1013 try again later, ...).
        let by_application = self.closed_by == Some(ClosedBy::Application);
        let finished_normally = self.failure.is_none()
            && self
                .close_received
                .as_ref()
                .is_some_and(|(code, _)| *code == close::NORMAL);
        // A request the server calls wrong will not get better by itself; 408 (Request
        // Timeout) and 429 (Too Many Requests) may.
        let client_error = self
            .refused_status
            .is_some_and(|code| (400..500).contains(&code) && code != 408 && code != 429);
        let refused_for_good = client_error && !reconnect.on_client_error;
        // Retries in a row so far (the first attempt is not one).
        let retries = if self.opened { 0 } else { self.carry.attempt };
        let exhausted = reconnect.max_attempts > 0 && retries >= reconnect.max_attempts;
        let ending = self.conn.retry_cancelled() || self.conn.is_stopping();
        if ending || by_application || finished_normally || refused_for_good || exhausted {
            return None;
        }
        let delay = reconnect.delay(retries, rand::random::<f64>());
        let carry = Carry {
            redirects: 0,
            attempt: retries + 1,
        };
        Some((now + delay, carry))
    }

    /// Reports a failure, once whether a retry follows is known.
    fn report(&mut self, error: &Error, now: Instant) {
        let at = self.retry_plan(now).map(|(at, _)| at);
        self.conn.set_retry_at(at);
        log!(self.conn.log, Error, "error: {}", error.message);
        self.conn.handler.on_error(&self.conn, error);
    }

    /// Reports the end: the last callback of the connection.
    /// Reports the end of this session; with `retry_at`, another attempt follows then.
    pub fn finish(&mut self, retry_at: Option<Instant>) {
        debug_assert!(self.phase == Phase::Done);
        self.conn.set_retry_at(retry_at);
        self.conn.drop_writable_request();
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
        log!(
            self.conn.log,
            Info,
            "closed: code {} \"{}\", by {:?}, {}",
            info.code,
            info.reason,
            info.closed_by,
            if info.clean { "clean" } else { "not clean" }
        );
        self.conn.handler.on_close(&self.conn, &info);
    }
}

/// Logs an HTTP message's start line and headers (credentials redacted), at debug level,
/// each line after `arrow` (">" sent, "<" received).
fn log_http(log: &Scope, arrow: &str, head: &[u8]) {
    if !log.enabled(Level::Debug) {
        return;
    }
    for line in String::from_utf8_lossy(head).lines() {
        match line.split_once(':') {
            _ if line.is_empty() => break,
            Some((name, value)) if !name.contains(' ') => {
                let value = crate::log::header_value(name, value.trim());
                log!(log, Debug, "{arrow} {name}: {value}");
            }
            _ => log!(log, Debug, "{arrow} {line}"),
        }
    }
}

/// Logs the server's Close frame, at info level.
fn log_close(log: &Scope, what: &str, frame: Option<&(u16, String)>) {
    match frame {
        Some((code, reason)) => log!(log, Info, "close: {what} {code} \"{reason}\""),
        None => log!(log, Info, "close: {what} without a code"),
    }
}

/// Hands what the receiver finds to the application's handler.
struct Dispatch<'c> {
    conn: &'c Connection,
    /// The server's Close frame, once read.
    close_frame: Option<Option<(u16, String)>>,
}

impl Dispatch<'_> {
    /// Whether to go on with the bytes read: not once the loop stops or the application
    /// aborted the connection.
    fn flow(&self) -> ControlFlow<()> {
        if self.conn.is_stopping() || self.conn.abort_requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl Sink for Dispatch<'_> {
    fn incoming(&mut self, event: Incoming<'_>) -> ControlFlow<()> {
        let conn = self.conn;
        match event {
            Incoming::Message { data, is_text } => conn.handler.on_message(conn, data, is_text),
            Incoming::Ping(payload) => {
                conn.sender().answer_ping(payload);
                conn.handler.on_ping(conn, payload);
            }
            Incoming::Pong(payload) => conn.handler.on_pong(conn, payload),
            Incoming::Close(frame) => {
                self.close_frame = Some(frame.map(|(code, reason)| (code, reason.to_string())));
            }
        }
        self.flow()
    }

    fn part(&mut self, part: MessagePart<'_>) -> ControlFlow<()> {
        self.conn.handler.on_message_part(self.conn, &part);
        self.flow()
    }
}

/// The session alone, without a loop or sockets: bytes and clock ticks in, the handler's
/// events and the bytes queued for the server out.
#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::handle::{Driver, Handler};
    use crate::protocol::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
    use crate::protocol::mask::apply_mask;
    use crate::proxy::ProxySetting;

    /// The loop as the handle sees it: flush requests are counted, nothing else.
    #[derive(Default)]
    struct NoLoop {
        flushes: Mutex<usize>,
    }

    impl Driver for NoLoop {
        fn request_flush(&self, _token: usize) {
            *self.flushes.lock().unwrap() += 1;
        }
        fn is_stopping(&self) -> bool {
            false
        }
        fn request_read(&self, _token: usize) {}
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        Open,
        Message(Vec<u8>, bool),
        /// A streamed part: bytes, first, last.
        Part(Vec<u8>, bool, bool),
        Ping(Vec<u8>),
        Pong(Vec<u8>),
        Error(ErrorKind),
        Close(u16, String, ClosedBy, bool),
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Event>>);

    impl Recorder {
        fn push(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
        fn take(&self) -> Vec<Event> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    impl Handler for Recorder {
        fn on_open(&self, _: &Connection) {
            self.push(Event::Open);
        }
        fn on_message(&self, _: &Connection, data: &[u8], is_text: bool) {
            self.push(Event::Message(data.to_vec(), is_text));
        }
        fn on_message_part(&self, _: &Connection, part: &MessagePart<'_>) {
            self.push(Event::Part(part.data.to_vec(), part.first, part.last));
        }
        fn on_ping(&self, _: &Connection, data: &[u8]) {
            self.push(Event::Ping(data.to_vec()));
        }
        fn on_pong(&self, _: &Connection, data: &[u8]) {
            self.push(Event::Pong(data.to_vec()));
        }
        fn on_error(&self, _: &Connection, error: &Error) {
            self.push(Event::Error(error.kind));
        }
        fn on_close(&self, _: &Connection, info: &CloseInfo) {
            let CloseInfo {
                code,
                reason,
                closed_by,
                clean,
            } = info.clone();
            self.push(Event::Close(code, reason, closed_by, clean));
        }
    }

    /// A frame from the client, unmasked.
    #[derive(Debug, PartialEq, Eq)]
    struct Sent(OpCode, Vec<u8>);

    struct Harness {
        session: Session,
        events: Arc<Recorder>,
        now: Instant,
    }

    fn options() -> Options {
        Options {
            proxy: ProxySetting::Direct,
            ..Options::default()
        }
    }

    impl Harness {
        fn new(url: &str, options: Options) -> Harness {
            let events = Arc::new(Recorder::default());
            let conn = Arc::new(Connection::new(
                Box::new(events.clone()),
                Arc::new(NoLoop::default()),
                &options,
            ));
            let now = Instant::now();
            let target = Target::parse(url).unwrap();
            let session = Session::new(conn, target, options, now, Carry::default()).unwrap();
            Harness {
                session,
                events,
                now,
            }
        }

        /// Connected and answered with a 101 (and `extra` header lines).
        fn open(options: Options, extra: &str) -> Harness {
            let mut h = Harness::new("ws://example.test/chat", options);
            h.session.on_connected(h.now);
            let request = String::from_utf8(h.written()).unwrap();
            let key = request
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .expect("a key in the request");
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
                handshake::accept_key(key)
            );
            h.feed(response.as_bytes());
            assert_eq!(h.events.take(), [Event::Open]);
            h
        }

        fn feed(&mut self, bytes: &[u8]) {
            self.session.on_bytes(bytes, self.now);
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
            self.session.on_timeout(self.now);
        }

        /// Everything queued for the server, as the loop would write it.
        fn written(&self) -> Vec<u8> {
            let mut sender = self.session.conn.sender();
            let mut out = Vec::new();
            let mut scratch = vec![0; 64 * 1024];
            while sender.buffered() > 0 {
                let chunk = sender.pending(&mut scratch).to_vec();
                sender.consume(chunk.len());
                out.extend_from_slice(&chunk);
            }
            out
        }

        /// The frames queued for the server, unmasked; every one must be masked.
        fn frames(&self) -> Vec<Sent> {
            let mut bytes = &self.written()[..];
            let mut frames = Vec::new();
            while !bytes.is_empty() {
                let (header, len) = FrameHeader::parse(bytes).unwrap().expect("a whole frame");
                let key = header.mask.expect("client frames are masked");
                let end = len + header.payload_len as usize;
                let mut payload = bytes[len..end].to_vec();
                apply_mask(&mut payload, key);
                frames.push(Sent(header.opcode, payload));
                bytes = &bytes[end..];
            }
            frames
        }

        /// Ends the session as the loop does once it is done: the last callback.
        fn finish(&mut self) -> Vec<Event> {
            assert!(self.session.is_done(), "the session is done");
            assert!(matches!(self.session.next(self.now), Next::Finish));
            self.session.finish(None);
            self.events.take()
        }
    }

    /// A frame from the server (unmasked, final).
    fn frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
        let header = FrameHeader {
            fin: true,
            rsv1: false,
            rsv23: false,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let n = header.write(&mut head);
        [&head[..n], payload].concat()
    }

    fn close_payload(code: u16, reason: &str) -> Vec<u8> {
        [&code.to_be_bytes()[..], reason.as_bytes()].concat()
    }

    #[test]
    fn handshake_request_then_messages_pings_and_pongs() {
        let mut h = Harness::new("ws://example.test:8080/chat?room=1", options());
        // The request is queued at once and goes out when TCP connects.
        h.session.on_connected(h.now);
        let request = String::from_utf8(h.written()).unwrap();
        assert!(request.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.test:8080\r\n"));
        assert!(request.contains("Sec-WebSocket-Extensions: permessage-deflate"));
        drop(h);

        let mut h = Harness::open(options(), "");
        assert_eq!(h.session.conn.subprotocol(), None);
        let mut bytes = frame(OpCode::Text, b"hello");
        bytes.extend(frame(OpCode::Ping, b"p"));
        bytes.extend(frame(OpCode::Binary, &[1, 2, 3]));
        bytes.extend(frame(OpCode::Pong, b"q"));
        h.feed(&bytes);
        assert_eq!(
            h.events.take(),
            [
                Event::Message(b"hello".to_vec(), true),
                Event::Ping(b"p".to_vec()),
                Event::Message(vec![1, 2, 3], false),
                Event::Pong(b"q".to_vec()),
            ]
        );
        assert_eq!(h.frames(), [Sent(OpCode::Pong, b"p".to_vec())]);
        h.session.conn.send(true, b"out").unwrap();
        assert_eq!(h.frames(), [Sent(OpCode::Text, b"out".to_vec())]);
    }

    #[test]
    fn frames_in_the_same_read_as_the_101_are_delivered() {
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        let request = String::from_utf8(h.written()).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let mut bytes = format!(
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nX-Extra:  yes \r\n\r\n",
            handshake::accept_key(key)
        )
        .into_bytes();
        bytes.extend(frame(OpCode::Text, b"early"));
        h.feed(&bytes);
        assert_eq!(
            h.events.take(),
            [Event::Open, Event::Message(b"early".to_vec(), true)]
        );
        assert_eq!(
            h.session.conn.response_header("x-extra"),
            Some(b"yes".to_vec())
        );
    }

    #[test]
    fn server_closes_first_and_we_echo_its_code() {
        let mut h = Harness::open(options(), "");
        h.feed(&frame(OpCode::Close, &close_payload(1001, "bye")));
        assert_eq!(
            h.frames(),
            [Sent(OpCode::Close, 1001u16.to_be_bytes().to_vec())]
        );
        assert!(!h.session.is_done(), "waiting for the server to close TCP");
        h.session.on_eof(h.now);
        assert_eq!(
            h.finish(),
            [Event::Close(1001, "bye".into(), ClosedBy::Server, true)]
        );
    }

    #[test]
    fn application_closes_and_the_server_answers() {
        let mut h = Harness::open(options(), "");
        h.session.conn.close(1000, b"done").unwrap();
        h.session.sync(h.now);
        assert_eq!(
            h.frames(),
            [Sent(OpCode::Close, close_payload(1000, "done"))]
        );
        assert_eq!(
            h.session.conn.send(true, b"late").unwrap_err().kind,
            ErrorKind::NotOpen
        );
        h.feed(&frame(OpCode::Close, &close_payload(1000, "")));
        assert!(h.frames().is_empty(), "no second Close frame");
        h.session.on_eof(h.now);
        assert_eq!(
            h.finish(),
            [Event::Close(
                1000,
                String::new(),
                ClosedBy::Application,
                true
            )]
        );
    }

    #[test]
    fn application_closes_and_the_server_never_answers() {
        let mut h = Harness::open(options(), "");
        h.session.conn.close(1000, b"").unwrap();
        h.session.sync(h.now);
        let close_timeout = h.session.options.close_timeout;
        assert_eq!(h.session.deadline(), Some(h.now + close_timeout));
        h.advance(close_timeout - Duration::from_millis(1));
        assert!(!h.session.is_done());
        h.advance(Duration::from_millis(1));
        assert_eq!(
            h.finish(),
            [
                Event::Error(ErrorKind::CloseTimeout),
                Event::Close(1006, String::new(), ClosedBy::Application, false),
            ]
        );
    }

    #[test]
    fn violations_close_with_their_codes() {
        for (bytes, code, kind) in [
            // Servers must not mask: RFC 6455 §5.1.
            (
                vec![0x81, 0x81, 1, 2, 3, 4, b'x' ^ 1],
                1002u16,
                ErrorKind::Protocol,
            ),
            (frame(OpCode::Text, &[0xff]), 1007, ErrorKind::InvalidUtf8),
            (
                frame(OpCode::Binary, &[0; 200]),
                1009,
                ErrorKind::MessageTooBig,
            ),
        ] {
            let mut o = options();
            o.receive_limits.max_frame_size = 100;
            let mut h = Harness::open(o, "");
            h.feed(&bytes);
            assert_eq!(h.events.take(), [Event::Error(kind)]);
            let sent = h.frames();
            assert_eq!(sent.len(), 1);
            assert_eq!(
                (sent[0].0, &sent[0].1[..2]),
                (OpCode::Close, &code.to_be_bytes()[..])
            );
            // The server answers our Close and closes TCP.
            h.feed(&frame(OpCode::Close, &close_payload(code, "")));
            h.session.on_eof(h.now);
            let last = h.finish();
            assert!(
                matches!(&last[..], [Event::Close(c, _, ClosedBy::Failure, false)] if *c == code),
                "{last:?}"
            );
        }
    }

    #[test]
    fn connect_handshake_and_eof_failures() {
        let mut h = Harness::new("ws://example.test/", options());
        h.advance(h.session.options.connect_timeout);
        let reason = "could not connect within 10000 ms".to_string();
        assert_eq!(
            h.finish(),
            [
                Event::Error(ErrorKind::ConnectTimeout),
                Event::Close(1006, reason, ClosedBy::Failure, false),
            ]
        );

        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.advance(h.session.options.handshake_timeout);
        assert_eq!(
            h.events.take()[0],
            Event::Error(ErrorKind::HandshakeTimeout)
        );

        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(b"HTTP/1.1 101 Switching");
        h.session.on_eof(h.now);
        assert_eq!(h.events.take()[0], Event::Error(ErrorKind::ConnectionLost));

        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\r\n");
        assert_eq!(h.events.take(), [Event::Error(ErrorKind::HandshakeStatus)]);
        assert!(h.session.is_done());
    }

    #[test]
    fn closing_before_open_abandons_the_connection() {
        let mut h = Harness::new("ws://example.test/", options());
        h.session.conn.close(1000, b"").unwrap();
        h.session.sync(h.now);
        assert_eq!(
            h.finish(),
            [Event::Close(
                1006,
                String::new(),
                ClosedBy::Application,
                false
            )]
        );
    }

    #[test]
    fn keepalive_pings_and_fails_a_silent_server() {
        let second = Duration::from_secs(1);
        let o = Options {
            keepalive_interval: Some(second),
            keepalive_timeout: 2 * second,
            ..options()
        };
        let mut h = Harness::open(o, "");
        assert_eq!(h.session.deadline(), Some(h.now + second));
        h.advance(second);
        assert_eq!(h.frames(), [Sent(OpCode::Ping, Vec::new())]);
        // Anything from the server shows it is alive.
        h.feed(&frame(OpCode::Pong, b""));
        h.events.take();
        h.advance(second);
        assert_eq!(h.frames(), [Sent(OpCode::Ping, Vec::new())]);
        h.advance(second);
        h.frames();
        assert!(
            h.events.take().is_empty(),
            "one interval of silence is fine"
        );
        h.advance(second);
        assert_eq!(h.events.take(), [Event::Error(ErrorKind::KeepaliveTimeout)]);
    }

    #[test]
    fn reconnect_follows_failures_and_server_closes_but_not_1000_or_the_application() {
        let reconnect = crate::config::Reconnect {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            max_attempts: 2,
            on_client_error: false,
        };
        let o = Options {
            reconnect: Some(reconnect),
            ..options()
        };
        // A failed attempt: retried after 50-100 ms (jitter takes off up to half).
        let mut h = Harness::new("ws://example.test/", o.clone());
        h.session.on_eof(h.now);
        let Next::Reconnect(at, _, _, carry) = h.session.next(h.now) else {
            panic!("a failure is retried");
        };
        let delay = at - h.now;
        assert!((50..=100).contains(&delay.as_millis()), "{delay:?}");
        assert_eq!(carry.attempt, 1);
        // The second failure in a row waits twice as long; the third gives up.
        let conn = h.session.conn.clone();
        let target = h.session.target.clone();
        let mut second = Session::new(conn.clone(), target.clone(), o.clone(), h.now, carry)
            .expect("a new attempt");
        second.on_eof(h.now);
        let Next::Reconnect(at, _, _, carry) = second.next(h.now) else {
            panic!("still retried");
        };
        let delay = at - h.now;
        assert!((100..=200).contains(&delay.as_millis()), "{delay:?}");
        let mut third = Session::new(conn, target, o.clone(), h.now, carry).unwrap();
        third.on_eof(h.now);
        assert!(
            matches!(third.next(h.now), Next::Finish),
            "max_attempts reached"
        );

        for (code, retried) in [(1000, false), (1001, true), (1012, true)] {
            let mut h = Harness::open(o.clone(), "");
            h.feed(&frame(OpCode::Close, &close_payload(code, "")));
            h.session.on_eof(h.now);
            assert_eq!(
                matches!(h.session.next(h.now), Next::Reconnect(..)),
                retried,
                "server close {code}"
            );
        }
        let mut h = Harness::open(o, "");
        h.session.conn.close(1000, b"").unwrap();
        h.session.sync(h.now);
        h.feed(&frame(OpCode::Close, &close_payload(1000, "")));
        h.session.on_eof(h.now);
        assert!(
            matches!(h.session.next(h.now), Next::Finish),
            "closed by the application"
        );
    }

    #[test]
    fn a_4xx_refusal_is_not_retried_unless_asked_but_408_429_and_5xx_are() {
        let reconnect = crate::config::Reconnect::default();
        for (code, on_client_error, retried) in [
            (400, false, false),
            (401, false, false),
            (404, false, false),
            (408, false, true),
            (429, false, true),
            (503, false, true),
            (401, true, true),
        ] {
            let o = Options {
                reconnect: Some(crate::config::Reconnect {
                    on_client_error,
                    ..reconnect
                }),
                ..options()
            };
            let mut h = Harness::new("ws://example.test/", o);
            h.session.on_connected(h.now);
            h.feed(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes());
            assert_eq!(h.events.take(), [Event::Error(ErrorKind::HandshakeStatus)]);
            // Decided before on_error: the wait is readable there.
            assert_eq!(h.session.conn.retry_in().is_some(), retried, "{code}");
            assert_eq!(
                matches!(h.session.next(h.now), Next::Reconnect(..)),
                retried,
                "{code}, on_client_error {on_client_error}"
            );
        }
    }

    #[test]
    fn a_close_after_the_failure_cancels_the_planned_retry() {
        let o = Options {
            reconnect: Some(crate::config::Reconnect::default()),
            ..options()
        };
        let mut h = Harness::new("ws://example.test/", o);
        h.session.on_eof(h.now);
        assert!(
            h.session.conn.retry_in().is_some(),
            "planned before on_error"
        );
        h.session.conn.close(1000, b"").unwrap();
        assert_eq!(h.session.conn.retry_in(), None);
        assert!(matches!(h.session.next(h.now), Next::Finish));
    }

    #[test]
    fn redirects_are_followed_and_credentials_stay_with_their_host() {
        let o = Options {
            max_redirects: 1,
            headers: vec![
                ("Authorization".into(), "Bearer t".into()),
                ("X-Other".into(), "kept".into()),
            ],
            ..options()
        };
        for (location, url, authorization_kept) in [
            ("/next", "ws://example.test:80/next", true),
            ("http://other.test/x", "ws://other.test:80/x", false),
        ] {
            let mut h = Harness::new("ws://example.test/", o.clone());
            h.session.on_connected(h.now);
            h.feed(format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\n\r\n").as_bytes());
            assert!(h.session.is_done());
            assert!(h.events.take().is_empty(), "a redirect is not reported");
            let Next::Redirect(target, options, carry) = h.session.next(h.now) else {
                panic!("the redirect is followed");
            };
            assert_eq!(target.url(), url);
            assert_eq!(carry.redirects, 1);
            let names: Vec<&str> = options.headers.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names.contains(&"Authorization"), authorization_kept);
            assert!(names.contains(&"X-Other"));
        }
    }

    #[test]
    fn streamed_parts_reach_the_handler_and_on_message_does_not() {
        let o = Options {
            stream_messages: true,
            ..options()
        };
        let mut h = Harness::open(o, "");
        let mut first = FrameHeader {
            fin: false,
            rsv1: false,
            rsv23: false,
            opcode: OpCode::Text,
            mask: None,
            payload_len: 6,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let n = first.write(&mut head);
        let mut bytes = head[..n].to_vec();
        bytes.extend_from_slice(b"hel");
        h.feed(&bytes);
        h.feed(b"lo ");
        first.fin = true;
        first.opcode = OpCode::Continuation;
        first.payload_len = 5;
        let n = first.write(&mut head);
        let mut bytes = frame(OpCode::Ping, b"p");
        bytes.extend_from_slice(&head[..n]);
        bytes.extend_from_slice(b"world");
        h.feed(&bytes);
        assert_eq!(
            h.events.take(),
            [
                Event::Part(b"hel".to_vec(), true, false),
                Event::Part(b"lo ".to_vec(), false, false),
                Event::Ping(b"p".to_vec()),
                Event::Part(b"world".to_vec(), false, true),
            ]
        );
        assert_eq!(h.frames(), [Sent(OpCode::Pong, b"p".to_vec())]);
    }

    #[test]
    fn abort_drops_the_connection_without_a_close_frame() {
        let mut h = Harness::open(options(), "");
        h.session.conn.send(true, b"unsent").unwrap();
        h.session.conn.abort();
        h.session.sync(h.now);
        assert!(h.session.is_done(), "at once");
        assert_eq!(
            h.finish(),
            [Event::Close(
                1006,
                String::new(),
                ClosedBy::Application,
                false
            )]
        );
        assert!(h.frames().is_empty(), "no Close frame, nothing else either");

        // From a callback: nothing more of the read is delivered.
        struct AbortOnMessage(Recorder);
        impl Handler for AbortOnMessage {
            fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
                self.0.on_message(conn, data, is_text);
                conn.abort();
            }
        }
        let handler = Arc::new(AbortOnMessage(Recorder::default()));
        let o = options();
        let conn = Arc::new(Connection::new(
            Box::new(handler.clone()),
            Arc::new(NoLoop::default()),
            &o,
        ));
        let mut h = Harness::open(o.clone(), "");
        h.session.conn = conn;
        let mut bytes = frame(OpCode::Text, b"one");
        bytes.extend(frame(OpCode::Text, b"two"));
        h.feed(&bytes);
        assert!(h.session.is_done());
        assert_eq!(handler.0.take(), [Event::Message(b"one".to_vec(), true)]);

        // Before open it is a close: the attempt is abandoned.
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.session.conn.abort();
        h.session.sync(h.now);
        assert_eq!(
            h.finish(),
            [Event::Close(
                1006,
                String::new(),
                ClosedBy::Application,
                false
            )]
        );
    }

    #[test]
    fn keepalive_does_not_fail_a_paused_connection() {
        let second = Duration::from_secs(1);
        let o = Options {
            keepalive_interval: Some(second),
            keepalive_timeout: 2 * second,
            ..options()
        };
        let mut h = Harness::open(o, "");
        h.advance(second);
        assert_eq!(h.frames(), [Sent(OpCode::Ping, Vec::new())]);
        h.session.conn.pause_reading();
        assert!(h.session.reads_paused());
        assert_eq!(h.session.deadline(), None, "keepalive suspended");
        for _ in 0..10 {
            h.advance(second);
        }
        assert!(h.events.take().is_empty(), "the silence was ours");
        assert!(h.frames().is_empty(), "no pings while paused");
        // Resumed, keepalive starts over and fails a server that stays silent.
        h.session.conn.resume_reading();
        h.session.on_resume(h.now);
        assert!(!h.session.reads_paused());
        assert_eq!(h.session.deadline(), Some(h.now + second));
        h.advance(second);
        assert_eq!(h.frames(), [Sent(OpCode::Ping, Vec::new())]);
        h.advance(second);
        h.advance(second);
        assert_eq!(h.events.take(), [Event::Error(ErrorKind::KeepaliveTimeout)]);
    }

    #[test]
    fn a_pause_applies_while_open_only() {
        let mut h = Harness::new("ws://example.test/", options());
        h.session.conn.pause_reading();
        h.session.on_connected(h.now);
        assert!(
            !h.session.reads_paused(),
            "the handshake is read regardless"
        );
        let mut h = Harness::open(options(), "");
        h.session.conn.pause_reading();
        assert!(h.session.reads_paused());
        h.session.conn.close(1000, b"").unwrap();
        h.session.sync(h.now);
        assert!(!h.session.reads_paused(), "the closing handshake is read");
    }

    /// A refusal whose body arrives in later reads: kept until Content-Length (or 1 KiB)
    /// arrives, or the server closes, or the handshake times out.
    #[test]
    fn a_refusal_waits_briefly_for_the_start_of_its_body() {
        let refusal = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\
                       Content-Length: 10\r\n\r\n";
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(refusal.as_bytes());
        assert_eq!(h.events.take(), [], "waiting for the body");
        h.feed(b"no\x07 ");
        assert_eq!(h.events.take(), []);
        h.feed(b"token!extra");
        assert_eq!(h.events.take(), [Event::Error(ErrorKind::HandshakeStatus)]);
        let conn = h.session.conn.clone();
        assert_eq!(conn.response_status(), Some((401, "Unauthorized".into())));
        assert_eq!(
            conn.response_header("www-authenticate"),
            Some(b"Basic".to_vec())
        );
        // Content-Length bytes, not what came past them.
        assert_eq!(conn.response_body(), Some(b"no\x07 token!".to_vec()));
        assert_eq!(conn.subprotocol(), None);
        assert_eq!(
            h.finish(),
            [Event::Close(
                1006,
                "server answered 401 Unauthorized, not 101 Switching \
             Protocols: no token!"
                    .into(),
                ClosedBy::Failure,
                false
            )]
        );

        // The server closes before the body is complete: what arrived is kept.
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(format!("{refusal}no").as_bytes());
        h.session.on_eof(h.now);
        assert_eq!(h.events.take(), [Event::Error(ErrorKind::HandshakeStatus)]);
        assert_eq!(h.session.conn.response_body(), Some(b"no".to_vec()));

        // It never comes: the handshake timeout ends the wait, with the refusal reported.
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(refusal.as_bytes());
        h.advance(options().handshake_timeout);
        assert_eq!(h.events.take(), [Event::Error(ErrorKind::HandshakeStatus)]);
        assert_eq!(h.session.conn.response_body(), Some(Vec::new()));
        assert_eq!(h.session.conn.response_status().map(|s| s.0), Some(401));

        // A new attempt starts: the previous answer no longer shows.
        let conn = h.session.conn.clone();
        let target = Target::parse("ws://example.test/").unwrap();
        let _next = Session::new(conn.clone(), target, options(), h.now, Carry::default());
        assert_eq!(conn.response_status(), None);
        assert_eq!(conn.response_body(), None);
    }

    #[test]
    fn error_text_from_the_server_is_sanitized_and_cut() {
        assert_eq!(sanitize(b"  a\r\n\tb\x1b[31m  c  ", 100), "a b [31m c");
        assert_eq!(sanitize("h\u{e9}llo w".as_bytes(), 4), "h\u{e9}ll...");
        assert_eq!(sanitize(b"ab   ", 2), "ab");
        assert_eq!(sanitize(b"\xff", 10), "\u{fffd}");
    }

    /// The reason of the last `on_close`, which carries the failure's message.
    fn close_reason(events: &[Event]) -> &str {
        match events.last() {
            Some(Event::Close(_, reason, ClosedBy::Failure, false)) => reason,
            other => panic!("not a failure's on_close: {other:?}"),
        }
    }

    #[test]
    fn a_wrong_scheme_is_named() {
        // ws:// to a TLS server, which answers the request with a TLS alert record.
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
        let events = h.finish();
        assert_eq!(events[0], Event::Error(ErrorKind::HandshakeInvalid));
        assert!(close_reason(&events).ends_with("(the server answered in TLS: use wss://)"));
        // ws:// to a server that hangs up without a word.
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.session.on_eof(h.now);
        let events = h.finish();
        assert!(close_reason(&events).ends_with("(if the server expects TLS, use wss://)"));
        // wss:// to a plain server: the TLS handshake breaks or the stream ends.
        let mut h = Harness::new("wss://example.test/", options());
        h.session.on_connected(h.now);
        let cut = Error::new(ErrorKind::ConnectionLost, "the TLS stream ended");
        h.session.on_socket_error(cut, h.now);
        let events = h.finish();
        assert_eq!(
            close_reason(&events),
            "the TLS stream ended (is the server speaking TLS? For one that does not, use ws://)"
        );
        // Once an HTTP line arrived, the scheme was right: no hint.
        let mut h = Harness::new("ws://example.test/", options());
        h.session.on_connected(h.now);
        h.feed(b"HTTP/1.1 101 Switching Protocols\r\n");
        h.session.on_eof(h.now);
        let events = h.finish();
        assert_eq!(
            close_reason(&events),
            "the server closed the connection during the handshake"
        );
    }
}
