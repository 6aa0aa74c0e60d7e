//! What a connection is asked to do: where to (the URL) and how (options with defaults).

use std::net::IpAddr;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::protocol::deflate::DeflateConfig;
use crate::protocol::handshake;
use crate::protocol::message::ReceiveLimits;
use crate::proxy::ProxySetting;
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
    /// Trust for wss:// connections.
    pub tls: TlsOptions,
    /// Send a ping this often while open, to detect a dead peer; `None`: never.
    pub keepalive_interval: Option<Duration>,
    /// How long the server has to show it is alive (any frame) after a keepalive ping.
    pub keepalive_timeout: Duration,
    /// Which HTTP proxy to tunnel through (CONNECT).
    pub proxy: ProxySetting,
    /// How many HTTP redirects (301, 302, 303, 307, 308) to follow; 0: none.
    pub max_redirects: u32,
    /// Reconnect after the connection drops or cannot be made; `None`: never.
    pub reconnect: Option<Reconnect>,
    /// Text sent is taken as UTF-8 without checking it (the caller vouches for it).
    pub trust_outgoing_text: bool,
}

/// Reconnecting with exponential backoff and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// The wait before the first retry; it doubles with each failed attempt.
    pub min_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
    /// Attempts in a row before giving up; 0: never give up.
    pub max_attempts: u32,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: 0,
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
        }
    }
}

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name, or IP literal without brackets.
    pub host: String,
    /// Set when the host is an IP literal: no name resolution needed.
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub secure: bool,
    /// Path and query, as sent in the request line.
    pub resource: String,
}

impl Target {
    /// The URL again, as `ws://host:port/resource`.
    pub fn url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        match self.ip {
            Some(IpAddr::V6(_)) => {
                format!("{scheme}://[{}]:{}{}", self.host, self.port, self.resource)
            }
            _ => format!("{scheme}://{}:{}{}", self.host, self.port, self.resource),
        }
    }

    /// Where a redirect's `Location` leads from here: relative references resolve against
    /// this URL; http and https become ws and wss.
    pub fn redirect(&self, location: &str) -> Result<Target, Error> {
        let base = url::Url::parse(&self.url())
            .map_err(|e| Error::new(ErrorKind::HandshakeInvalid, e.to_string()))?;
        let mut next = base.join(location).map_err(|e| {
            Error::new(
                ErrorKind::HandshakeInvalid,
                format!("bad redirect Location {location:?}: {e}"),
            )
        })?;
        next.set_fragment(None);
        let text = match next.scheme() {
            "http" => next.as_str().replacen("http", "ws", 1),
            "https" => next.as_str().replacen("https", "wss", 1),
            _ => next.to_string(),
        };
        Target::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Target, Error> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("invalid URL \"{text}\": {why}"),
            )
        };
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            _ => return Err(invalid("the scheme must be ws or wss")),
        };
        // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs
        // and MUST NOT be used on these URIs."
        if url.fragment().is_some() {
            return Err(invalid("WebSocket URLs cannot have a fragment (#...)"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "credentials in the URL are not supported; use a header",
            ));
        }
        let (host, ip) = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_string(), None),
            Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
            Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
            _ => return Err(invalid("missing host")),
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if secure { 443 } else { 80 });
        if port == 0 {
            return Err(invalid("port 0"));
        }
        let mut resource = url.path().to_string();
        if let Some(q) = url.query() {
            resource.push('?');
            resource.push_str(q);
        }
        Ok(Target {
            host,
            ip,
            port,
            secure,
            resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ws_urls() {
        let t = Target::parse("ws://example.com/chat?room=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.secure, t.resource.as_str()),
            ("example.com", 80, false, "/chat?room=1")
        );
        assert_eq!(t.ip, None);
        let t = Target::parse("wss://[::1]:9001").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.secure, t.resource.as_str()),
            ("::1", 9001, true, "/")
        );
        assert!(t.ip.is_some());
        let t = Target::parse("WS://127.0.0.1:9001/runCase?case=1&agent=wsc").unwrap();
        assert_eq!(t.ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(t.resource, "/runCase?case=1&agent=wsc");
    }

    #[test]
    fn redirects_resolve_and_map_schemes() {
        let here = Target::parse("wss://a.example:8443/chat?x=1").unwrap();
        assert_eq!(here.url(), "wss://a.example:8443/chat?x=1");
        assert_eq!(
            here.redirect("/other").unwrap().url(),
            "wss://a.example:8443/other"
        );
        assert_eq!(
            here.redirect("http://b.example/x").unwrap().url(),
            "ws://b.example:80/x"
        );
        assert_eq!(
            here.redirect("https://[::1]:9/y#f").unwrap().url(),
            "wss://[::1]:9/y"
        );
        assert!(here.redirect("ftp://c.example/").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let r = Reconnect {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 0,
        };
        assert_eq!(r.delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(r.delay(3, 0.0), Duration::from_millis(800));
        assert_eq!(r.delay(4, 0.0), Duration::from_secs(1));
        assert_eq!(r.delay(40, 0.0), Duration::from_secs(1));
        assert_eq!(r.delay(0, 1.0), Duration::from_millis(50));
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "",
            "http://example.com/",
            "ws://",
            "ws://host:99999/",
            "ws://host:0/",
            "ws://host/#frag",
            "ws://user:pw@host/",
            "example.com",
            "ws://exa mple.com/",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidUrl, "{bad}");
        }
    }
}
