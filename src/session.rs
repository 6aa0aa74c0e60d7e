//! The loop's state machine for one connection ([`Session`]: connecting, handshake, open,
//! closing, done), without sockets or clocks: the loop feeds it bytes, end of stream, socket
//! errors and the time, and writes out what the handle's sender holds; the session calls the
//! application's handler and says when it wants to be woken ([`Session::deadline`]) and what
//! follows once it is done ([`Session::next`]).

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Options;
use crate::error::{Error, ErrorKind};
use crate::handle::{CloseInfo, ClosedBy, Connection, OpenInfo};
use crate::protocol::close;
use crate::protocol::deflate::{self, Deflater, Inflater};
use crate::protocol::handshake::{self, Expectation, HandshakeError, ParseStatus, Request};
use crate::protocol::http::HeaderBlock;
use crate::protocol::message::{Incoming, Receiver};
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
            Err(HandshakeError::Status {
                code,
                reason,
                headers,
            }) => self.on_status(code, &reason, &headers, now),
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
                let info = OpenInfo {
                    subprotocol: response.subprotocol.and_then(|s| CString::new(s).ok()),
                    headers: response.headers,
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
                if !frames.is_empty() && !self.conn.is_stopping() {
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
            if conn.is_stopping() {
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
            Phase::Connecting | Phase::Handshaking if self.conn.abort_requested() => {
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
        let code = error
            .kind
            .violation()
            .map_or(close::ABNORMAL, |kind| kind.close_code());
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
    fn on_status(&mut self, code: u16, reason: &str, headers: &HeaderBlock, now: Instant) {
        let location = matches!(code, 301 | 302 | 303 | 307 | 308)
            .then(|| headers.get("location"))
            .flatten()
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string);
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
        if by_application || finished_normally || exhausted || self.conn.is_stopping() {
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
