//! Where a connection goes: a parsed `ws://` or `wss://` URL (or `ws+unix://`, `wss+unix://`
//! for a Unix domain socket), where a redirect leads, and the address to connect to instead of
//! the URL's host (`connect_to`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::error::{Error, ErrorKind};

/// A parsed `ws://` or `wss://` URL, or `ws+unix://` / `wss+unix://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name, or IP literal without brackets; `localhost` for a Unix domain socket.
    pub host: String,
    /// Set when the host is an IP literal: no name resolution needed.
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub secure: bool,
    /// Path and query, as sent in the request line.
    pub resource: String,
    /// The Unix domain socket to connect to (`ws+unix://`), instead of a TCP host and port.
    pub unix: Option<PathBuf>,
}

/// The longest socket path a `sockaddr_un` holds (its `sun_path`, less the closing NUL).
pub fn max_unix_path() -> usize {
    // SAFETY: `sockaddr_un` is plain data; all-zero is a valid value.
    let addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_path.len() - 1
}

/// `ws+unix:///run/app.sock:/chat?x=1`: the socket's path, then after the first colon the
/// request target (`/` when there is none).
fn parse_unix(text: &str, rest: &str, secure: bool) -> Result<Target, Error> {
    let (path, resource) = match rest.split_once(':') {
        Some((path, resource)) => (path, resource),
        None => (rest, ""),
    };
    let invalid =
        |kind, why: String| Err(Error::new(kind, format!("invalid URL \"{text}\": {why}")));
    if path.is_empty() {
        return invalid(
            ErrorKind::InvalidUrl,
            "no socket path: write ws+unix:///path/to.sock:/resource".into(),
        );
    }
    if path.contains('\0') {
        return invalid(
            ErrorKind::InvalidUrl,
            "the socket path has a NUL byte".into(),
        );
    }
    let max = max_unix_path();
    if path.len() > max {
        return invalid(
            ErrorKind::InvalidArgument,
            format!(
                "the socket path is {} bytes, longer than a Unix socket address holds ({max})",
                path.len()
            ),
        );
    }
    let resource = match resource {
        "" => "/".to_string(),
        r if r.starts_with('/') => r.to_string(),
        r => {
            return invalid(
                ErrorKind::InvalidUrl,
                format!("the request target after the socket path must start with /: {r:?}"),
            )
        }
    };
    if resource.contains('#') {
        return invalid(
            ErrorKind::InvalidUrl,
            "WebSocket URLs cannot have a fragment (#...)".into(),
        );
    }
    if resource.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return invalid(
            ErrorKind::InvalidUrl,
            "the request target has spaces or control characters".into(),
        );
    }
    Ok(Target {
        host: "localhost".into(),
        ip: None,
        port: if secure { 443 } else { 80 },
        secure,
        resource,
        unix: Some(PathBuf::from(path)),
    })
}

impl Target {
    /// The URL again, as `ws://host:port/resource` (or `ws+unix://path:resource`).
    pub fn url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        if let Some(path) = &self.unix {
            return format!("{scheme}+unix://{}:{}", path.display(), self.resource);
        }
        match self.ip {
            Some(IpAddr::V6(_)) => {
                format!("{scheme}://[{}]:{}{}", self.host, self.port, self.resource)
            }
            _ => format!("{scheme}://{}:{}{}", self.host, self.port, self.resource),
        }
    }

    /// Where a redirect's `Location` leads from here: relative references resolve against
    /// this URL; http and https become ws and wss. Over a Unix socket, a path (`/...`)
    /// stays on the socket.
    pub fn redirect(&self, location: &str) -> Result<Target, Error> {
        if self.unix.is_some() && location.starts_with('/') && !location.starts_with("//") {
            let mut next = self.clone();
            next.resource = location.split('#').next().unwrap_or("/").to_string();
            return Ok(next);
        }
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
        let target = Target::parse(&text)?;
        // A server on the network does not get to point the client at a local socket.
        if target.unix.is_some() {
            return Err(Error::new(
                ErrorKind::HandshakeInvalid,
                format!("a redirect may not lead to a Unix domain socket: {location:?}"),
            ));
        }
        Ok(target)
    }

    pub fn parse(text: &str) -> Result<Target, Error> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("invalid URL \"{text}\": {why}"),
            )
        };
        for (scheme, secure) in [("ws+unix://", false), ("wss+unix://", true)] {
            let prefix = text.get(..scheme.len());
            if prefix.is_some_and(|p| p.eq_ignore_ascii_case(scheme)) {
                return parse_unix(text, &text[scheme.len()..], secure);
            }
        }
        if !text.contains("://") {
            let hint = format!("it has no scheme: write ws://{text} (or wss:// for TLS)");
            return Err(invalid(&hint));
        }
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            "http" => return Err(invalid("the scheme must be ws or wss: ws:// for http://")),
            "https" => return Err(invalid("the scheme must be ws or wss: wss:// for https://")),
            _ => return Err(invalid("the scheme must be ws, wss, ws+unix or wss+unix")),
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
            unix: None,
        })
    }
}

/// Where to connect instead of the URL's host, which still names the server in the `Host`
/// header, SNI and certificate verification (curl's `--connect-to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectTo {
    /// A host name to resolve (or an IP address) and a port; `None`: the URL's port.
    Host { host: String, port: Option<u16> },
    /// Addresses to try as they are, with Happy Eyeballs among them; a port of 0 stands for
    /// the URL's.
    Addresses(Vec<SocketAddr>),
}

impl ConnectTo {
    /// `HOST[:PORT]`, `[IPV6]:PORT` or a bare IPv6 address, or a comma-separated list of IP
    /// addresses each with an optional port.
    pub fn parse(text: &str) -> Result<ConnectTo, Error> {
        let invalid = |why: &str| {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("connect_to {text:?}: {why}"),
            ))
        };
        let mut items = Vec::new();
        for item in text.split(',').map(str::trim) {
            let (host, port) = match split_host_port(item) {
                Ok(parts) => parts,
                Err(why) => return invalid(&why),
            };
            if host.is_empty() {
                return invalid("no host (write HOST[:PORT])");
            }
            if host.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'/') {
                return invalid("the host has spaces, slashes or control characters");
            }
            items.push((host, port));
        }
        if let [(host, port)] = items.as_slice() {
            if host.parse::<IpAddr>().is_err() {
                return Ok(ConnectTo::Host {
                    host: host.clone(),
                    port: *port,
                });
            }
        }
        let mut addrs = Vec::with_capacity(items.len());
        for (host, port) in items {
            let Ok(ip) = host.parse::<IpAddr>() else {
                return invalid("a list must be of IP addresses (one host name at most, alone)");
            };
            addrs.push(SocketAddr::new(ip, port.unwrap_or(0)));
        }
        Ok(ConnectTo::Addresses(addrs))
    }
}

/// Parses an address with an optional local or remote port: `HOST`, `HOST:PORT`, `[V6]`,
/// `[V6]:PORT` or a bare IPv6 address (more than one colon, no port).
pub fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("bad port {p:?} (0 to 65535)"))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err("an unclosed [".into());
        };
        return match after {
            "" => Ok((host.to_string(), None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host.to_string(), Some(port(p)?))),
                None => Err(format!("unexpected {after:?} after ]")),
            },
        };
    }
    match text.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Ok((text.to_string(), None)),
        Some((host, p)) => Ok((host.to_string(), Some(port(p)?))),
        None => Ok((text.to_string(), None)),
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
        let e = here.redirect("ws+unix:///run/docker.sock:/").unwrap_err();
        assert!(e.message.contains("Unix domain socket"), "{e}");
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
        let message = |url| Target::parse(url).unwrap_err().message;
        assert_eq!(
            message("example.com/chat"),
            "invalid URL \"example.com/chat\": it has no scheme: write ws://example.com/chat \
             (or wss:// for TLS)"
        );
        assert!(message("https://example.com/").ends_with("wss:// for https://"));
        assert!(message("http://example.com/").ends_with("ws:// for http://"));
    }

    #[test]
    fn parses_unix_socket_urls() {
        let t = Target::parse("ws+unix:///run/app.sock:/chat?room=1").unwrap();
        assert_eq!(t.unix, Some(PathBuf::from("/run/app.sock")));
        assert_eq!(
            (t.host.as_str(), t.port, t.secure, t.resource.as_str()),
            ("localhost", 80, false, "/chat?room=1")
        );
        assert_eq!(t.url(), "ws+unix:///run/app.sock:/chat?room=1");
        let t = Target::parse("WSS+UNIX://relative.sock").unwrap();
        assert_eq!(t.unix, Some(PathBuf::from("relative.sock")));
        assert_eq!((t.secure, t.port, t.resource.as_str()), (true, 443, "/"));
        // A path stays on the socket; an absolute URL leaves it.
        assert_eq!(
            t.redirect("/next#x").unwrap().url(),
            "wss+unix://relative.sock:/next"
        );
        assert_eq!(t.redirect("wss://a.example/").unwrap().unix, None);
        for (bad, kind, why) in [
            ("ws+unix://", ErrorKind::InvalidUrl, "no socket path"),
            (
                "ws+unix:///s:chat",
                ErrorKind::InvalidUrl,
                "must start with /",
            ),
            ("ws+unix:///s:/a b", ErrorKind::InvalidUrl, "spaces"),
            ("ws+unix:///s:/#f", ErrorKind::InvalidUrl, "fragment"),
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.kind, kind, "{bad}");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
        let long = format!("ws+unix:///{}", "x".repeat(max_unix_path()));
        let e = Target::parse(&long).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e
            .message
            .contains("longer than a Unix socket address holds"));
        let fits = format!("ws+unix://{}", "x".repeat(max_unix_path()));
        assert!(Target::parse(&fits).is_ok());
    }

    #[test]
    fn splits_hosts_and_ports() {
        let split = |t| split_host_port(t).unwrap();
        assert_eq!(split("h"), ("h".into(), None));
        assert_eq!(split("h:1"), ("h".into(), Some(1)));
        assert_eq!(split("[::1]:2"), ("::1".into(), Some(2)));
        assert_eq!(split("[::1]"), ("::1".into(), None));
        assert_eq!(split("fe80::1"), ("fe80::1".into(), None));
        assert!(split_host_port("h:x").is_err());
        assert!(split_host_port("[::1]x").is_err());
    }
}
