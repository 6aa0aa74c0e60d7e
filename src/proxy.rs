//! Proxies: which one a connection goes through (an HTTP proxy, tunnelling with CONNECT as
//! in RFC 9110 §9.3.6, or a SOCKS5 proxy, see `socks`), the CONNECT request that opens an HTTP
//! tunnel, and the HTTP proxy's answer. No I/O here.

use std::net::IpAddr;

use base64::Engine;

use crate::error::{Error, ErrorKind};
use crate::protocol::http::HeaderBlock;
use crate::socks::{Credentials, Destination};
use crate::target::Target;

/// Where the proxy setting comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// `http_proxy` for ws://, `https_proxy` for wss:// (or their upper-case forms), or
    /// `all_proxy` (`ALL_PROXY`) when that is unset, unless the host matches `no_proxy`.
    #[default]
    FromEnvironment,
    /// Connect directly.
    Direct,
    /// Always this proxy, e.g. `http://user:password@proxy.example:3128` or
    /// `socks5h://user:password@proxy.example:1080`.
    Url(String),
}

/// A proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub protocol: Protocol,
}

/// How a tunnel through the proxy is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP CONNECT (`http://`), with `Basic ...` from the credentials in the URL.
    HttpConnect { authorization: Option<String> },
    /// SOCKS5 (`socks5://`: the client resolves the server's name and sends its address;
    /// `socks5h://`: the proxy resolves the name).
    Socks5 {
        credentials: Option<Credentials>,
        remote_dns: bool,
    },
}

impl Proxy {
    /// For a SOCKS5 proxy: what to ask it to connect to, when known without resolving a name
    /// here (an IP literal, or any name with `socks5h://`). Fails when the name cannot be sent.
    pub fn socks_destination(&self, target: &Target) -> Result<Option<Destination>, Error> {
        match (&self.protocol, target.ip) {
            (Protocol::HttpConnect { .. }, _) => Ok(None),
            (Protocol::Socks5 { .. }, Some(ip)) => Ok(Some(Destination::Address(
                std::net::SocketAddr::new(ip, target.port),
            ))),
            (Protocol::Socks5 { remote_dns, .. }, None) => match remote_dns {
                true => Destination::domain(&target.host, target.port).map(Some),
                false => Ok(None),
            },
        }
    }
}

/// The port of a proxy URL without one, as curl and most tools assume.
const DEFAULT_PROXY_PORT: u16 = 1080;

/// Decides the proxy for `target`; `env` reads an environment variable.
pub fn choose(
    setting: &ProxySetting,
    target: &Target,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, Error> {
    match setting {
        ProxySetting::Direct => Ok(None),
        ProxySetting::Url(url) => checked(parse(url)?, target).map(Some),
        ProxySetting::FromEnvironment => {
            let names: [&str; 4] = if target.secure {
                ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
            } else {
                ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            };
            // The first one set and not empty, as curl reads them.
            let Some(url) = names
                .iter()
                .filter_map(|n| env(n))
                .find(|u| !u.trim().is_empty())
            else {
                return Ok(None);
            };
            let no_proxy = env("no_proxy")
                .or_else(|| env("NO_PROXY"))
                .unwrap_or_default();
            if bypasses(&no_proxy, &target.host) {
                return Ok(None);
            }
            checked(parse(url.trim())?, target).map(Some)
        }
    }
}

/// Fails now, rather than at the proxy, when `target` cannot be asked of `proxy`.
fn checked(proxy: Proxy, target: &Target) -> Result<Proxy, Error> {
    proxy.socks_destination(target)?;
    Ok(proxy)
}

/// Whether `no_proxy` (comma-separated names, domain suffixes with or without a leading dot,
/// IP addresses, or `*`) exempts `host`.
fn bypasses(no_proxy: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            // "example.com:8080": the port does not matter here.
            let entry = match entry.rsplit_once(':') {
                Some((name, port))
                    if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') =>
                {
                    name
                }
                _ => entry,
            };
            let entry = entry
                .trim_start_matches('.')
                .trim_matches(['[', ']'])
                .to_ascii_lowercase();
            host == entry || host.ends_with(&format!(".{entry}"))
        })
}

fn parse(text: &str) -> Result<Proxy, Error> {
    let invalid = |why: &str| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid proxy URL \"{text}\": {why}"),
        )
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    let remote_dns = match url.scheme() {
        "http" => None,
        "socks5" => Some(false),
        "socks5h" => Some(true),
        other => {
            return Err(invalid(&format!(
                "the scheme {other}:// is not supported; use http:// (HTTP CONNECT), socks5:// \
                 or socks5h:// (SOCKS5, the proxy resolving names)"
            )))
        }
    };
    let (host, ip) = match url.host() {
        // socks5:// is not a scheme the URL standard knows, so its IPv4 hosts come as names.
        Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_string(), d.parse().ok()),
        Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
        _ => return Err(invalid("missing host")),
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        Some((decode(url.username()), decode(url.password().unwrap_or(""))))
    };
    let protocol = match (remote_dns, credentials) {
        (None, credentials) => Protocol::HttpConnect {
            authorization: credentials.map(|(user, password)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                )
            }),
        },
        (Some(remote_dns), credentials) => Protocol::Socks5 {
            credentials: match credentials {
                Some((user, password)) => Some(
                    // Not quoting the URL: it holds the password.
                    Credentials::new(user, password).map_err(|e| {
                        Error::new(e.kind, format!("invalid proxy URL: {}", e.message))
                    })?,
                ),
                None => None,
            },
            remote_dns,
        },
    };
    Ok(Proxy {
        host,
        ip,
        port: url.port().unwrap_or(DEFAULT_PROXY_PORT),
        protocol,
    })
}

/// The CONNECT request for a tunnel to `target`.
pub fn connect_request(proxy: &Proxy, target: &Target) -> Vec<u8> {
    let authority = match target.ip {
        Some(IpAddr::V6(_)) => format!("[{}]:{}", target.host, target.port),
        _ => format!("{}:{}", target.host, target.port),
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Protocol::HttpConnect {
        authorization: Some(auth),
    } = &proxy.protocol
    {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// The proxy's answer so far: `Ok(None)` until its header is complete, then the header length
/// when the tunnel is open (2xx). Anything else fails with the status.
pub fn parse_connect_response(buf: &[u8], max_bytes: usize) -> Result<Option<usize>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    // Only the first `max_bytes` count, however the bytes arrived: a header that ends past
    // them is too large even when it came in one read.
    let window = &buf[..buf.len().min(max_bytes)];
    match response.parse(window) {
        Ok(httparse::Status::Complete(len)) => {
            let code = response.code.unwrap_or(0);
            if (200..300).contains(&code) {
                return Ok(Some(len));
            }
            let reason = response.reason.unwrap_or("");
            let mut message = format!("the proxy answered {code} {reason} to CONNECT");
            // What a 407 asks for, so the person reading knows which credentials to give.
            let fields = HeaderBlock::new(&buf[..len], response.headers);
            if let Some(challenge) = fields.get("proxy-authenticate") {
                let challenge = String::from_utf8_lossy(challenge);
                message.push_str(&format!(" (Proxy-Authenticate: {challenge})"));
            }
            Err(Error::new(ErrorKind::Proxy, message))
        }
        Ok(httparse::Status::Partial) if buf.len() <= max_bytes => Ok(None),
        Ok(httparse::Status::Partial) => Err(Error::new(
            ErrorKind::Proxy,
            "the proxy's answer is too large",
        )),
        Err(e) => Err(Error::new(
            ErrorKind::Proxy,
            format!("the proxy's answer is not HTTP: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_picks_the_proxy_by_scheme() {
        let vars = [
            ("http_proxy", "http://plain:3128"),
            ("HTTPS_PROXY", "secure.example:8443"),
        ];
        let ws = choose(
            &ProxySetting::FromEnvironment,
            &target("ws://a.example/"),
            env(&vars),
        )
        .unwrap()
        .unwrap();
        assert_eq!((ws.host.as_str(), ws.port), ("plain", 3128));
        let wss = choose(
            &ProxySetting::FromEnvironment,
            &target("wss://a.example/"),
            env(&vars),
        )
        .unwrap()
        .unwrap();
        assert_eq!((wss.host.as_str(), wss.port), ("secure.example", 8443));
        assert_eq!(
            choose(&ProxySetting::FromEnvironment, &target("ws://a/"), env(&[])).unwrap(),
            None
        );
        assert_eq!(
            choose(&ProxySetting::Direct, &target("ws://a/"), env(&vars)).unwrap(),
            None
        );
    }

    #[test]
    fn no_proxy_exempts_names_domains_and_addresses() {
        let vars = [
            ("http_proxy", "http://p:1"),
            (
                "no_proxy",
                "localhost, .internal.example,10.0.0.1, other.example:8080",
            ),
        ];
        let through = |url: &str| {
            choose(&ProxySetting::FromEnvironment, &target(url), env(&vars))
                .unwrap()
                .is_some()
        };
        assert!(!through("ws://localhost/"));
        assert!(!through("ws://a.internal.example/"));
        assert!(!through("ws://internal.example/"));
        assert!(!through("ws://10.0.0.1/"));
        assert!(!through("ws://other.example/"));
        assert!(through("ws://notinternal.example/"));
        assert!(through("ws://10.0.0.2/"));
        let all = [("http_proxy", "http://p:1"), ("NO_PROXY", "*")];
        assert_eq!(
            choose(
                &ProxySetting::FromEnvironment,
                &target("ws://x/"),
                env(&all)
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn credentials_become_basic_authorization() {
        let p = parse("http://us%40er:p%3Ass@proxy.example").unwrap();
        assert_eq!(p.port, DEFAULT_PROXY_PORT);
        // base64("us@er:p:ss")
        assert_eq!(
            p.protocol,
            Protocol::HttpConnect {
                authorization: Some("Basic dXNAZXI6cDpzcw==".into())
            }
        );
        let request =
            String::from_utf8(connect_request(&p, &target("wss://[::1]:9001/x"))).unwrap();
        assert_eq!(
            request,
            "CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\nProxy-Authorization: Basic dXNAZXI6cDpzcw==\r\n\r\n"
        );
        assert!(parse("https://proxy.example:443").is_err());
        assert!(parse("http://").is_err());
    }

    #[test]
    fn all_proxy_is_used_when_the_scheme_variable_is_unset() {
        let vars = [
            ("https_proxy", "http://secure:3128"),
            ("ALL_PROXY", "socks5h://fallback"),
            ("no_proxy", "skip.example"),
        ];
        let choose_for =
            |url: &str| choose(&ProxySetting::FromEnvironment, &target(url), env(&vars)).unwrap();
        let ws = choose_for("ws://a.example/").unwrap();
        assert_eq!((ws.host.as_str(), ws.port), ("fallback", 1080));
        assert!(matches!(
            ws.protocol,
            Protocol::Socks5 {
                remote_dns: true,
                credentials: None
            }
        ));
        assert_eq!(choose_for("wss://a.example/").unwrap().host, "secure");
        assert_eq!(choose_for("ws://skip.example/"), None);
        // An empty scheme variable does not hide all_proxy.
        let vars = [("http_proxy", " "), ("all_proxy", "socks5://p:9")];
        let p = choose(
            &ProxySetting::FromEnvironment,
            &target("ws://a/"),
            env(&vars),
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("p", 9));
    }

    #[test]
    fn socks_urls() {
        let p = parse("socks5://us%40er:p%3Ass@[::1]").unwrap();
        assert_eq!((p.ip, p.port), (Some("::1".parse().unwrap()), 1080));
        let Protocol::Socks5 {
            credentials: Some(c),
            remote_dns: false,
        } = &p.protocol
        else {
            panic!("{p:?}")
        };
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("us@er", "p:ss")
        );
        // socks5:// resolves names here; an IP literal needs no resolving either way.
        assert_eq!(p.socks_destination(&target("ws://a.example:1/")), Ok(None));
        assert_eq!(
            p.socks_destination(&target("ws://[::2]:7/")),
            Ok(Some(Destination::Address("[::2]:7".parse().unwrap())))
        );
        let v4 = parse("socks5h://127.0.0.1:1081").unwrap();
        assert_eq!((v4.ip, v4.port), (Some("127.0.0.1".parse().unwrap()), 1081));
        let h = parse("socks5h://proxy:1").unwrap();
        assert_eq!(
            h.socks_destination(&target("wss://a.example/")),
            Ok(Some(Destination::Domain("a.example".into(), 443)))
        );

        for bad in ["socks4://p", "https://p", "socks://p", "ftp://p"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert!(e.message.contains("socks5h://"), "{e}");
        }
        let long = format!("socks5://{}:pw@p", "u".repeat(256));
        let e = parse(&long).unwrap_err();
        assert_eq!(
            e.message,
            "invalid proxy URL: the SOCKS5 user name is 256 bytes long; RFC 1929 allows at most 255"
        );
        let e = parse(&format!("socks5h://u:{}@p", "p".repeat(256))).unwrap_err();
        assert!(
            !e.message.contains("ppppp"),
            "the password is not repeated: {e}"
        );
        // A name longer than SOCKS5 can carry fails when the connection is made.
        let name = format!("{}.example", "a".repeat(250));
        let setting = ProxySetting::Url("socks5h://p".into());
        let e = choose(&setting, &target(&format!("ws://{name}/")), env(&[])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("258 bytes"), "{e}");
        let local = ProxySetting::Url("socks5://p".into());
        assert!(choose(&local, &target(&format!("ws://{name}/")), env(&[])).is_ok());
    }

    #[test]
    fn connect_answers() {
        assert_eq!(
            parse_connect_response(b"HTTP/1.1 200 Connection established\r\n", 1024).unwrap(),
            None
        );
        let ok = b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n";
        assert_eq!(parse_connect_response(ok, 1024).unwrap(), Some(ok.len()));
        // Over the limit in one read is as too large as over it in many.
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(100));
        for cut in [50, long.len()] {
            let e = parse_connect_response(&long.as_bytes()[..cut], 16).unwrap_err();
            assert!(e.message.contains("too large"), "{e}");
        }
        let denied =
            parse_connect_response(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", 1024)
                .unwrap_err();
        assert_eq!(denied.kind, ErrorKind::Proxy);
        assert!(denied.message.contains("407"), "{denied}");
        let challenged = parse_connect_response(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"corp\"\r\n\r\n",
            1024,
        )
        .unwrap_err();
        assert_eq!(
            challenged.message,
            "the proxy answered 407 Proxy Authentication Required to CONNECT \
             (Proxy-Authenticate: Basic realm=\"corp\")"
        );
        assert!(parse_connect_response(b"SSH-2.0\r\n\r\n", 1024).is_err());
        assert!(parse_connect_response(&[b'a'; 2000], 1024).is_err());
    }
}
