//! HTTP CONNECT proxies (RFC 9110 §9.3.6): which proxy a connection goes through, the request
//! that opens the tunnel, and the proxy's answer. No I/O here.

use std::net::IpAddr;

use base64::Engine;

use crate::error::{Error, ErrorKind};
use crate::protocol::http::HeaderBlock;
use crate::target::Target;

/// Where the proxy setting comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// `http_proxy` for ws://, `https_proxy` for wss:// (or their upper-case forms), unless
    /// the host matches `no_proxy`.
    #[default]
    FromEnvironment,
    /// Connect directly.
    Direct,
    /// Always this proxy, e.g. `http://user:password@proxy.example:3128`.
    Url(String),
}

/// A proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// `Basic ...` from the credentials in the proxy URL.
    pub authorization: Option<String>,
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
        ProxySetting::Url(url) => parse(url).map(Some),
        ProxySetting::FromEnvironment => {
            let names: [&str; 2] = if target.secure {
                ["https_proxy", "HTTPS_PROXY"]
            } else {
                ["http_proxy", "HTTP_PROXY"]
            };
            let Some(url) = names
                .iter()
                .find_map(|n| env(n))
                .filter(|u| !u.trim().is_empty())
            else {
                return Ok(None);
            };
            let no_proxy = env("no_proxy")
                .or_else(|| env("NO_PROXY"))
                .unwrap_or_default();
            if bypasses(&no_proxy, &target.host) {
                return Ok(None);
            }
            parse(url.trim()).map(Some)
        }
    }
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
    if url.scheme() != "http" {
        return Err(invalid("only http:// proxies (HTTP CONNECT) are supported"));
    }
    let (host, ip) = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_string(), None),
        Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
        _ => return Err(invalid("missing host")),
    };
    let authorization = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = format!(
            "{}:{}",
            decode(url.username()),
            decode(url.password().unwrap_or(""))
        );
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ))
    };
    Ok(Proxy {
        host,
        ip,
        port: url.port().unwrap_or(DEFAULT_PROXY_PORT),
        authorization,
    })
}

/// The CONNECT request for a tunnel to `target`.
pub fn connect_request(proxy: &Proxy, target: &Target) -> Vec<u8> {
    let authority = match target.ip {
        Some(IpAddr::V6(_)) => format!("[{}]:{}", target.host, target.port),
        _ => format!("{}:{}", target.host, target.port),
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &proxy.authorization {
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
        assert_eq!(p.authorization.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
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
