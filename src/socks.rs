//! SOCKS5 proxies (RFC 1928) with user name and password authentication (RFC 1929): the
//! messages that open a tunnel and the proxy's answers. No I/O here: the loop writes what
//! [`Negotiation::to_send`] holds and hands what it reads to [`Negotiation::receive`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, ErrorKind};

const VERSION: u8 = 0x05;
/// RFC 1929 §2: "The VER field contains the current version of the subnegotiation, which is
/// X'01'."
const AUTH_VERSION: u8 = 0x01;
const NO_AUTHENTICATION: u8 = 0x00;
const USERNAME_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHODS: u8 = 0xFF;
const CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// The longest user name, password or domain name a SOCKS5 message can carry: each goes
/// with a one-byte length.
pub const MAX_FIELD: usize = 255;

/// A user name and password for RFC 1929 authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password stays out of logs and assertion messages.
        write!(f, "Credentials({:?}, ****)", self.username)
    }
}

impl Credentials {
    /// Checks the lengths RFC 1929 allows: "UNAME 1 to 255", "PASSWD 1 to 255". An empty
    /// password is sent with length 0, as curl does, since some proxies use none.
    pub fn new(username: String, password: String) -> Result<Self, Error> {
        let invalid = |m: String| Err(Error::new(ErrorKind::InvalidArgument, m));
        if username.is_empty() {
            return invalid("the SOCKS5 user name is empty (RFC 1929 needs 1 to 255 bytes)".into());
        }
        if username.len() > MAX_FIELD {
            return invalid(format!(
                "the SOCKS5 user name is {} bytes long; RFC 1929 allows at most {MAX_FIELD}",
                username.len()
            ));
        }
        if password.len() > MAX_FIELD {
            return invalid(format!(
                "the SOCKS5 password is {} bytes long; RFC 1929 allows at most {MAX_FIELD}",
                password.len()
            ));
        }
        Ok(Credentials { username, password })
    }
}

/// Where the proxy is asked to connect: an address, or a name it resolves itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Address(SocketAddr),
    Domain(String, u16),
}

impl Destination {
    /// A name for the proxy to resolve; fails when it does not fit the one-byte length.
    pub fn domain(name: &str, port: u16) -> Result<Self, Error> {
        if name.is_empty() || name.len() > MAX_FIELD {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "the host name is {} bytes long; a SOCKS5 proxy takes 1 to {MAX_FIELD} \
                     (use socks5:// to resolve it locally)",
                    name.len()
                ),
            ));
        }
        Ok(Destination::Domain(name.to_string(), port))
    }

    fn write(&self, out: &mut Vec<u8>) {
        let port = match self {
            Destination::Address(addr) => {
                match addr.ip() {
                    IpAddr::V4(ip) => {
                        out.push(ATYP_IPV4);
                        out.extend_from_slice(&ip.octets());
                    }
                    IpAddr::V6(ip) => {
                        out.push(ATYP_IPV6);
                        out.extend_from_slice(&ip.octets());
                    }
                }
                addr.port()
            }
            Destination::Domain(name, port) => {
                out.push(ATYP_DOMAIN);
                out.push(name.len() as u8); // checked by `Destination::domain`
                out.extend_from_slice(name.as_bytes());
                *port
            }
        };
        out.extend_from_slice(&port.to_be_bytes());
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Address(addr) => write!(f, "{addr}"),
            Destination::Domain(name, port) => write!(f, "{name}:{port}"),
        }
    }
}

/// RFC 1928 §6, the REP field of a reply, in words.
pub fn reply_text(code: u8) -> &'static str {
    match code {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Greeting sent; waiting for the method the proxy chose.
    Method,
    /// User name and password sent; waiting for the status.
    Authentication,
    /// Ready to send CONNECT once the destination is known (being resolved locally).
    Destination,
    /// CONNECT sent; waiting for the reply.
    Reply,
    Open,
}

/// More than the longest SOCKS5 answer (a reply with a 255-byte name: 262 bytes), held while
/// the request waits for the destination.
pub const MAX_ANSWER: usize = 512;

/// One SOCKS5 negotiation, from greeting to the CONNECT reply.
#[derive(Debug)]
pub struct Negotiation {
    credentials: Option<Credentials>,
    destination: Option<Destination>,
    state: State,
    output: Vec<u8>,
    sent: usize,
    /// The proxy's answers not yet taken (after the reply: what came through the tunnel).
    received: Vec<u8>,
    /// What the proxy said the tunnel is bound to (BND.ADDR, BND.PORT), once open.
    bound: Option<Destination>,
}

impl Negotiation {
    /// Starts with the greeting. `destination` may come later through `set_destination`
    /// (while a name is being resolved): the greeting and authentication need not wait.
    pub fn new(credentials: Option<Credentials>, destination: Option<Destination>) -> Self {
        // RFC 1928 §3: VER, NMETHODS, METHODS. Without credentials, offering 0x02 would
        // invite a proxy to ask for what we do not have.
        let output = match credentials {
            Some(_) => vec![VERSION, 2, NO_AUTHENTICATION, USERNAME_PASSWORD],
            None => vec![VERSION, 1, NO_AUTHENTICATION],
        };
        Negotiation {
            credentials,
            destination,
            state: State::Method,
            output,
            sent: 0,
            received: Vec::new(),
            bound: None,
        }
    }

    /// Bytes to write to the proxy now.
    pub fn to_send(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    /// `n` bytes of `to_send` were written.
    pub fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.output.len());
        if self.sent == self.output.len() {
            self.output.clear();
            self.sent = 0;
        }
    }

    /// Whether the destination is still to be given.
    pub fn needs_destination(&self) -> bool {
        self.destination.is_none()
    }

    pub fn set_destination(&mut self, destination: Destination) {
        self.destination = Some(destination);
        if self.state == State::Destination {
            self.request();
        }
    }

    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// BND.ADDR and BND.PORT of the reply, once open.
    pub fn bound(&self) -> Option<&Destination> {
        self.bound.as_ref()
    }

    /// Bytes read from the proxy: takes the complete answers among them and queues what
    /// follows them. `Ok(true)` once the tunnel is open; bytes past the reply came from the
    /// server through it (see `leftover`). Fails on a refusal, an answer that is not SOCKS5, or
    /// more bytes than any answer holds.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<bool, Error> {
        self.received.extend_from_slice(bytes);
        loop {
            let input = std::mem::take(&mut self.received);
            let used = match self.state {
                State::Method => self.on_method(&input),
                State::Authentication => self.on_authentication(&input),
                State::Reply => self.on_reply(&input),
                State::Destination | State::Open => Ok(None),
            };
            self.received = input;
            match used? {
                Some(n) => {
                    self.received.drain(..n);
                }
                None if self.state == State::Open => return Ok(true),
                None if self.received.len() > MAX_ANSWER => {
                    return Err(proxy_error(format!(
                        "the SOCKS proxy sent more than any answer to {} holds",
                        self.awaited()
                    )))
                }
                None => return Ok(false),
            }
        }
    }

    /// Bytes that followed the reply, from the server through the tunnel.
    pub fn leftover(&self) -> &[u8] {
        match self.state {
            State::Open => &self.received,
            _ => &[],
        }
    }

    /// The error for the proxy hanging up now, saying what it interrupted: "before answering
    /// the greeting", "in the middle of its answer to CONNECT", ...
    pub fn closed_error(&self) -> Error {
        let when = match self.received.is_empty() {
            true => "before answering",
            false => "in the middle of its answer to",
        };
        proxy_error(format!(
            "the SOCKS proxy closed the connection {when} {}",
            self.awaited()
        ))
    }

    fn awaited(&self) -> &'static str {
        match self.state {
            State::Method => "the greeting",
            State::Authentication => "the user name and password",
            State::Destination | State::Reply | State::Open => "CONNECT",
        }
    }

    fn on_method(&mut self, input: &[u8]) -> Result<Option<usize>, Error> {
        let Some(&[version, method]) = input.get(..2) else {
            return Ok(None);
        };
        check_version(version)?;
        match method {
            NO_AUTHENTICATION => self.after_authentication(),
            USERNAME_PASSWORD if self.credentials.is_some() => {
                self.authenticate();
                self.state = State::Authentication;
            }
            NO_ACCEPTABLE_METHODS => {
                let message = match self.credentials {
                    Some(_) => {
                        "the SOCKS proxy accepted none of the authentication methods offered \
                         (none, user name and password)"
                    }
                    None => {
                        "the SOCKS proxy accepted none of the authentication methods offered \
                         (none): it may want a user name and password in the proxy URL"
                    }
                };
                return Err(proxy_error(message));
            }
            other => {
                return Err(proxy_error(format!(
                    "the SOCKS proxy chose authentication method 0x{other:02x}, which was not \
                     offered"
                )))
            }
        }
        Ok(Some(2))
    }

    /// RFC 1929 §2: VER, ULEN, UNAME, PLEN, PASSWD.
    fn authenticate(&mut self) {
        let credentials = self.credentials.as_ref().expect("offered with credentials");
        self.output.push(AUTH_VERSION);
        for field in [&credentials.username, &credentials.password] {
            self.output.push(field.len() as u8); // checked by `Credentials::new`
            self.output.extend_from_slice(field.as_bytes());
        }
    }

    fn on_authentication(&mut self, input: &[u8]) -> Result<Option<usize>, Error> {
        let Some(&[version, status]) = input.get(..2) else {
            return Ok(None);
        };
        if version != AUTH_VERSION {
            return Err(proxy_error(format!(
                "the SOCKS proxy's answer to the user name and password has version 0x{version:02x} \
                 (expected 0x01, RFC 1929)"
            )));
        }
        // RFC 1929 §2: "A STATUS field of X'00' indicates success. If the server returns a
        // `failure' (STATUS value other than X'00') status, it MUST close the connection."
        if status != 0 {
            return Err(proxy_error(format!(
                "the SOCKS proxy rejected the user name or password (status 0x{status:02x})"
            )));
        }
        self.after_authentication();
        Ok(Some(2))
    }

    fn after_authentication(&mut self) {
        self.state = State::Destination;
        if self.destination.is_some() {
            self.request();
        }
    }

    /// RFC 1928 §4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
    fn request(&mut self) {
        let destination = self.destination.as_ref().expect("destination known");
        self.output.extend_from_slice(&[VERSION, CONNECT, 0x00]);
        destination.write(&mut self.output);
        self.state = State::Reply;
    }

    /// RFC 1928 §6: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT.
    fn on_reply(&mut self, input: &[u8]) -> Result<Option<usize>, Error> {
        let Some(&[version, reply, _reserved, atyp]) = input.get(..4) else {
            if let Some(&version) = input.first() {
                check_version(version)?;
            }
            return Ok(None);
        };
        check_version(version)?;
        if reply != 0 {
            let destination = self.destination.as_ref().expect("requested");
            return Err(proxy_error(format!(
                "the SOCKS proxy could not connect to {destination}: {} (reply 0x{reply:02x})",
                reply_text(reply)
            )));
        }
        let address_len = match atyp {
            ATYP_IPV4 => 4,
            ATYP_IPV6 => 16,
            ATYP_DOMAIN => match input.get(4) {
                Some(&len) => 1 + len as usize,
                None => return Ok(None),
            },
            other => {
                return Err(proxy_error(format!(
                    "the SOCKS proxy's reply has an unknown address type 0x{other:02x}"
                )))
            }
        };
        let len = 4 + address_len + 2;
        let Some(message) = input.get(..len) else {
            return Ok(None);
        };
        let address = &message[4..4 + address_len];
        let port = u16::from_be_bytes([message[len - 2], message[len - 1]]);
        self.bound = Some(match atyp {
            ATYP_IPV4 => {
                let octets: [u8; 4] = address.try_into().expect("4 bytes");
                Destination::Address(SocketAddr::new(Ipv4Addr::from(octets).into(), port))
            }
            ATYP_IPV6 => {
                let octets: [u8; 16] = address.try_into().expect("16 bytes");
                Destination::Address(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
            }
            _ => Destination::Domain(String::from_utf8_lossy(&address[1..]).into_owned(), port),
        });
        self.state = State::Open;
        Ok(Some(len))
    }
}

fn proxy_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Proxy, message)
}

/// Every SOCKS5 answer starts with version 5. An HTTP proxy answers "HTTP/1.1 400 ...": its
/// first byte is enough to say so (the verdict must not depend on how the bytes arrive).
fn check_version(version: u8) -> Result<(), Error> {
    match version {
        VERSION => Ok(()),
        b'H' => Err(proxy_error(
            "the proxy's answer is not SOCKS5 (it starts with \"H\", as HTTP does): use an \
             http:// proxy URL for an HTTP proxy",
        )),
        _ => Err(proxy_error(format!(
            "the proxy's answer is not SOCKS5 (version byte 0x{version:02x}, expected 0x05)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new("user".into(), "pw".into()).unwrap()
    }

    fn addr(s: &str) -> Destination {
        Destination::Address(s.parse().unwrap())
    }

    /// Feeds `answer` one byte at a time: a message split anywhere must parse the same.
    fn trickle(n: &mut Negotiation, answer: &[u8]) -> Result<bool, Error> {
        let mut open = false;
        for &b in answer {
            open = n.receive(&[b])?;
        }
        assert!(n.leftover().is_empty(), "left over: {:?}", n.leftover());
        Ok(open)
    }

    fn take(n: &mut Negotiation) -> Vec<u8> {
        let out = n.to_send().to_vec();
        n.sent(out.len());
        out
    }

    #[test]
    fn without_credentials_only_no_authentication_is_offered() {
        let mut n = Negotiation::new(None, Some(addr("192.0.2.1:80")));
        assert_eq!(take(&mut n), [5, 1, 0]);
        assert!(!trickle(&mut n, &[5, 0]).unwrap());
        assert_eq!(take(&mut n), [5, 1, 0, 1, 192, 0, 2, 1, 0, 80]);
        assert!(trickle(&mut n, &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]).unwrap());
        assert!(n.is_open());
        assert_eq!(n.bound(), Some(&addr("10.0.0.1:8080")));
        assert!(n.to_send().is_empty());
    }

    #[test]
    fn credentials_are_sent_when_the_proxy_asks() {
        let target = Destination::domain("echo.example", 443).unwrap();
        let mut n = Negotiation::new(Some(creds()), Some(target));
        assert_eq!(take(&mut n), [5, 2, 0, 2]);
        assert!(!trickle(&mut n, &[5, 2]).unwrap());
        assert_eq!(take(&mut n), b"\x01\x04user\x02pw");
        assert!(!trickle(&mut n, &[1, 0]).unwrap());
        let mut request = vec![5, 1, 0, 3, 12];
        request.extend_from_slice(b"echo.example");
        request.extend_from_slice(&[1, 187]);
        assert_eq!(take(&mut n), request);
        // BND.ADDR as an IPv6 address.
        let mut reply = vec![5, 0, 0, 4];
        reply.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        reply.extend_from_slice(&[0, 7]);
        assert!(trickle(&mut n, &reply).unwrap());
        assert_eq!(n.bound(), Some(&addr("[::1]:7")));
    }

    #[test]
    fn ipv6_destination_and_domain_bound_address() {
        let mut n = Negotiation::new(None, Some(addr("[2001:db8::1]:9001")));
        take(&mut n);
        trickle(&mut n, &[5, 0]).unwrap();
        let mut request = vec![5, 1, 0, 4];
        request.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        request.extend_from_slice(&9001u16.to_be_bytes());
        assert_eq!(take(&mut n), request);
        // The tunnel's first bytes may follow in the same read: they are left over.
        assert!(n.receive(b"\x05\x00\x00\x03\x05relay\x04\x00more").unwrap());
        assert_eq!(n.leftover(), b"more");
        assert_eq!(n.bound(), Some(&Destination::Domain("relay".into(), 1024)));
    }

    #[test]
    fn the_request_waits_for_the_destination() {
        let mut n = Negotiation::new(None, None);
        assert!(n.needs_destination());
        take(&mut n);
        trickle(&mut n, &[5, 0]).unwrap();
        assert!(n.to_send().is_empty());
        n.set_destination(addr("127.0.0.1:1"));
        assert_eq!(take(&mut n), [5, 1, 0, 1, 127, 0, 0, 1, 0, 1]);
        // Given before the method was chosen, it goes out right after.
        let mut early = Negotiation::new(None, None);
        take(&mut early);
        early.set_destination(addr("127.0.0.1:1"));
        assert!(early.to_send().is_empty());
        trickle(&mut early, &[5, 0]).unwrap();
        assert_eq!(take(&mut early), [5, 1, 0, 1, 127, 0, 0, 1, 0, 1]);
    }

    #[test]
    fn partial_writes_are_resumed() {
        let mut n = Negotiation::new(Some(creds()), None);
        n.sent(1);
        assert_eq!(n.to_send(), [2, 0, 2]);
        n.sent(3);
        assert!(n.to_send().is_empty());
    }

    #[test]
    fn each_reply_code_is_reported_in_words() {
        for (code, words) in [
            (1, "general SOCKS server failure"),
            (2, "connection not allowed by ruleset"),
            (3, "network unreachable"),
            (4, "host unreachable"),
            (5, "connection refused"),
            (6, "TTL expired"),
            (7, "command not supported"),
            (8, "address type not supported"),
            (9, "unassigned reply code"),
        ] {
            let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
            take(&mut n);
            trickle(&mut n, &[5, 0]).unwrap();
            let e = trickle(&mut n, &[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Proxy);
            assert_eq!(
                e.message,
                format!(
                    "the SOCKS proxy could not connect to 127.0.0.1:80: {words} (reply 0x{code:02x})"
                )
            );
        }
    }

    #[test]
    fn refusals_of_authentication() {
        let mut n = Negotiation::new(Some(creds()), Some(addr("127.0.0.1:80")));
        take(&mut n);
        trickle(&mut n, &[5, 2]).unwrap();
        let e = trickle(&mut n, &[1, 1]).unwrap_err();
        assert_eq!(
            e.message,
            "the SOCKS proxy rejected the user name or password (status 0x01)"
        );
        // RFC 1929's version is 1, not SOCKS's 5.
        let mut n = Negotiation::new(Some(creds()), Some(addr("127.0.0.1:80")));
        trickle(&mut n, &[5, 2]).unwrap();
        let e = trickle(&mut n, &[5, 0]).unwrap_err();
        assert!(e.message.contains("expected 0x01"), "{e}");

        let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
        take(&mut n);
        let e = trickle(&mut n, &[5, 0xff]).unwrap_err();
        assert!(e.message.contains("user name and password"), "{e}");
        // 0x02 was not offered without credentials.
        let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
        let e = trickle(&mut n, &[5, 2]).unwrap_err();
        assert!(e.message.contains("0x02, which was not offered"), "{e}");
        let mut n = Negotiation::new(Some(creds()), None);
        let e = trickle(&mut n, &[5, 0xff]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Proxy);
    }

    #[test]
    fn answers_that_are_not_socks5() {
        let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
        let e = trickle(&mut n, &[4, 0]).unwrap_err();
        assert_eq!(
            e.message,
            "the proxy's answer is not SOCKS5 (version byte 0x04, expected 0x05)"
        );
        let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
        let e = n.receive(b"HTTP/1.1 400 Bad Request\r\n").unwrap_err();
        assert!(e.message.contains("http://"), "{e}");
        // A wrong version in the reply is seen at its first byte.
        let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
        trickle(&mut n, &[5, 0]).unwrap();
        assert!(n.receive(&[0x15]).is_err());
        let mut n = Negotiation::new(None, Some(addr("127.0.0.1:80")));
        trickle(&mut n, &[5, 0]).unwrap();
        let e = n.receive(&[5, 0, 0, 9]).unwrap_err();
        assert!(e.message.contains("address type 0x09"), "{e}");
    }

    #[test]
    fn what_a_hang_up_interrupted() {
        let mut n = Negotiation::new(Some(creds()), None);
        assert_eq!(
            n.closed_error().message,
            "the SOCKS proxy closed the connection before answering the greeting"
        );
        n.receive(&[5]).unwrap();
        assert_eq!(
            n.closed_error().message,
            "the SOCKS proxy closed the connection in the middle of its answer to the greeting"
        );
        n.receive(&[2]).unwrap();
        assert_eq!(
            n.closed_error().message,
            "the SOCKS proxy closed the connection before answering the user name and password"
        );
        n.set_destination(addr("127.0.0.1:1"));
        n.receive(&[1, 0, 5, 0]).unwrap();
        assert_eq!(
            n.closed_error().message,
            "the SOCKS proxy closed the connection in the middle of its answer to CONNECT"
        );
        assert_eq!(n.closed_error().kind, ErrorKind::Proxy);
    }

    #[test]
    fn answers_held_while_the_destination_is_resolved_are_bounded() {
        let mut n = Negotiation::new(None, None);
        n.receive(&[5, 0]).unwrap();
        assert!(!n.receive(&[0; MAX_ANSWER]).unwrap());
        let e = n.receive(&[0]).unwrap_err();
        assert_eq!(
            e.message,
            "the SOCKS proxy sent more than any answer to CONNECT holds"
        );
    }

    #[test]
    fn limits_of_the_one_byte_lengths() {
        assert!(Credentials::new("u".repeat(255), "p".repeat(255)).is_ok());
        assert!(Credentials::new("u".into(), String::new()).is_ok());
        let e = Credentials::new("u".repeat(256), "p".into()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("user name is 256 bytes"), "{e}");
        let e = Credentials::new("u".into(), "p".repeat(300)).unwrap_err();
        assert!(e.message.contains("password is 300 bytes"), "{e}");
        assert!(Credentials::new(String::new(), "p".into()).is_err());
        assert!(Destination::domain(&"a".repeat(255), 1).is_ok());
        let e = Destination::domain(&"a".repeat(256), 1).unwrap_err();
        assert!(e.message.contains("256 bytes"), "{e}");
        assert!(format!("{:?}", creds()).contains("****"));
    }
}
