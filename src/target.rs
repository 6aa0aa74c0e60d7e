//! Where a connection goes: a parsed `ws://` or `wss://` URL, and where a redirect leads.

use std::net::IpAddr;

use crate::error::{Error, ErrorKind};

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
}
