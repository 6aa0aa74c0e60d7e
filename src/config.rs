//! How a connection behaves: options with their defaults and limits, validated here once.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::protocol::deflate::DeflateConfig;
use crate::protocol::handshake;
use crate::protocol::message::ReceiveLimits;
use crate::proxy::ProxySetting;
use crate::target::ConnectTo;
use crate::tls::TlsOptions;

/// Connection options; `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub origin: Option<String>,
    pub subprotocols: Vec<String>,
    pub headers: Vec<(String, String)>,
    /// Name resolution plus TCP connect, all addresses tried.
    pub connect_timeout: Duration,
    /// From TCP connected to the server's 101 response.
    pub handshake_timeout: Duration,
    /// From our Close frame (or the server's) until the server closes TCP.
    pub close_timeout: Duration,
    pub receive_limits: ReceiveLimits,
    pub handshake_limits: handshake::Limits,
    /// Unwritten bytes above which sends are refused with "would block".
    pub send_buffer_limit: usize,
    /// permessage-deflate (RFC 7692) offers, in order of preference; empty: no compression.
    pub deflate: Vec<DeflateConfig>,
    /// TLS for wss:// connections: trust, relaxations, client certificate, server name.
    pub tls: TlsOptions,
    /// Send a ping this often while open, to detect a dead peer; `None`: never.
    pub keepalive_interval: Option<Duration>,
    /// How long the server has to show it is alive (any frame) after a keepalive ping.
    pub keepalive_timeout: Duration,
    /// Which proxy to tunnel through (HTTP CONNECT or SOCKS5).
    pub proxy: ProxySetting,
    /// How many HTTP redirects (301, 302, 303, 307, 308) to follow; 0: none.
    pub max_redirects: u32,
    /// Reconnect after the connection drops or cannot be made; `None`: never.
    pub reconnect: Option<Reconnect>,
    /// Text sent is taken as UTF-8 without checking it (the caller vouches for it).
    pub trust_outgoing_text: bool,
    /// Messages are handed to `Handler::on_message_part` in parts as they arrive instead of
    /// whole to `Handler::on_message` (which is then not called). Nothing is gathered: memory
    /// stays bounded by the read buffer whatever the message size. `max_frame_size` and
    /// `max_fragments` still apply; `max_message_size` (inflated size for compressed messages)
    /// too, except that 0 means no limit, which only this mode allows. Default: off.
    pub stream_messages: bool,
    /// `Connection::request_writable` is answered with `on_writable` once the unwritten bytes
    /// are at or below this many; `None` (the default): a quarter of `send_buffer_limit`.
    pub writable_low_water: Option<usize>,
    // Sockets
    /// Connect here instead of the URL's host, which still names the server (`Host` header,
    /// SNI, certificate verification). Not used through a proxy nor for `ws+unix://`.
    pub connect_to: Option<ConnectTo>,
    /// Connect from this local address (port 0: any port), with `bind` before `connect`.
    /// Addresses of the other IP family are not tried.
    pub local_address: Option<SocketAddr>,
    /// Connect through this network interface (`SO_BINDTODEVICE`; Linux only). Checked to
    /// exist when connecting.
    pub interface: Option<String>,
}

/// Reconnecting with exponential backoff and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// The wait before the first retry; it doubles with each failed attempt.
    pub min_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
    /// Retries in a row before giving up (an open resets the count): with `max_attempts`
    /// N, a connection that keeps failing makes N + 1 attempts, the first and N retries.
    /// 0: never give up.
    pub max_attempts: u32,
    /// Retry a handshake the server refused with a 4xx status other than 408 (Request
    /// Timeout) and 429 (Too Many Requests) too. Off by default: a request the server calls
    /// wrong (401, 403, 404, ...) is not likely to get better by itself.
    pub on_client_error: bool,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: 0,
            on_client_error: false,
        }
    }
}

impl Reconnect {
    /// The wait before retry number `attempt` (0 for the first): `min_delay * 2^attempt`
    /// capped at `max_delay`, then a random part of it taken off (up to half), so that many
    /// clients dropped at once do not come back at once.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let base = self
            .min_delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        base.mul_f64(1.0 - 0.5 * random.clamp(0.0, 1.0))
    }
}

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SEND_BUFFER_LIMIT: usize = 16 << 20;

/// The most header fields a handshake response may be allowed (`max_handshake_headers`).
pub const MAX_HANDSHAKE_HEADERS: usize = 1024;

impl Options {
    /// Checks the options that have bounds of their own, so that a bad one fails `connect`
    /// with the option's name rather than some connection later.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |message: String| Err(Error::new(ErrorKind::InvalidArgument, message));
        let headers = self.handshake_limits.max_headers;
        if headers == 0 || headers > MAX_HANDSHAKE_HEADERS {
            return invalid(format!(
                "max_handshake_headers is {headers}; it must be 1 to {MAX_HANDSHAKE_HEADERS}"
            ));
        }
        for config in &self.deflate {
            if let Err(e) = config.validate() {
                return invalid(e.to_string());
            }
        }
        if self.receive_limits.max_message_size == 0 && !self.stream_messages {
            return invalid(
                "max_message_size is 0 (no limit), which only stream_messages allows: a whole \
                 message is held in memory"
                    .to_string(),
            );
        }
        if let Some(name) = &self.interface {
            check_interface(name).map_err(|why| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("interface {name:?}: {why}"),
                )
            })?;
        }
        self.tls.validate()?;
        if let Some(r) = &self.reconnect {
            if r.min_delay > r.max_delay {
                return invalid(format!(
                    "reconnect_min_delay_ms ({} ms) is longer than reconnect_max_delay_ms ({} ms)",
                    r.min_delay.as_millis(),
                    r.max_delay.as_millis()
                ));
            }
        }
        Ok(())
    }
}

/// The kernel's limit on interface names, NUL included (`IFNAMSIZ`).
const IFNAMSIZ: usize = 16;

/// Whether `name` names an interface this host has.
fn check_interface(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() >= IFNAMSIZ
        || name.contains(['\0', '/'])
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "not an interface name (1 to {} characters, no slash or blank)",
            IFNAMSIZ - 1
        ));
    }
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        return Err("binding to an interface (SO_BINDTODEVICE) is only supported on Linux".into());
    }
    let c_name = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: `c_name` is a NUL-terminated string that outlives the call.
    if unsafe { libc::if_nametoindex(c_name.as_ptr()) } == 0 {
        return Err(format!(
            "no such network interface ({})",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

impl Default for Options {
    fn default() -> Self {
        Options {
            origin: None,
            subprotocols: Vec::new(),
            headers: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            receive_limits: ReceiveLimits::default(),
            handshake_limits: handshake::Limits::default(),
            send_buffer_limit: DEFAULT_SEND_BUFFER_LIMIT,
            deflate: vec![DeflateConfig::default()],
            tls: TlsOptions::default(),
            keepalive_interval: None,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            proxy: ProxySetting::FromEnvironment,
            max_redirects: 0,
            trust_outgoing_text: false,
            reconnect: None,
            stream_messages: false,
            writable_low_water: None,
            connect_to: None,
            local_address: None,
            interface: None,
        }
    }
}

impl Options {
    /// The low-water mark `request_writable` waits for (see `writable_low_water`).
    pub fn writable_low_water(&self) -> usize {
        self.writable_low_water
            .unwrap_or(self.send_buffer_limit / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_option() {
        assert_eq!(Options::default().validate(), Ok(()));
        let mut o = Options::default();
        o.handshake_limits.max_headers = 1025;
        let e = o.validate().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("max_handshake_headers is 1025"), "{e}");
        let mut o = Options::default();
        o.deflate[0].client_max_window_bits = Some(7);
        assert_eq!(o.validate().unwrap_err().kind, ErrorKind::InvalidArgument);
        let o = Options {
            reconnect: Some(Reconnect {
                min_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(1),
                max_attempts: 0,
                on_client_error: false,
            }),
            ..Options::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .message
            .contains("reconnect_min_delay_ms"));
    }

    #[test]
    fn no_message_limit_only_when_streaming() {
        let mut o = Options::default();
        o.receive_limits.max_message_size = 0;
        let e = o.validate().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("max_message_size"), "{e}");
        o.stream_messages = true;
        assert_eq!(o.validate(), Ok(()));
    }

    #[test]
    fn low_water_defaults_to_a_quarter_of_the_send_limit() {
        let mut o = Options {
            send_buffer_limit: 1000,
            ..Options::default()
        };
        assert_eq!(o.writable_low_water(), 250);
        o.writable_low_water = Some(0);
        assert_eq!(o.writable_low_water(), 0);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let r = Reconnect {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 0,
            on_client_error: false,
        };
        assert_eq!(r.delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(r.delay(3, 0.0), Duration::from_millis(800));
        assert_eq!(r.delay(4, 0.0), Duration::from_secs(1));
        assert_eq!(r.delay(40, 0.0), Duration::from_secs(1));
        assert_eq!(r.delay(0, 1.0), Duration::from_millis(50));
    }
}
