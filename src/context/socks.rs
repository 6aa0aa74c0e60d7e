//! The SOCKS5 tunnel phase: once TCP to the proxy is up, the negotiation of `crate::socks` runs
//! over it (and, for `socks5://`, the server's name is resolved here, off the loop, at the same
//! time); once the proxy has connected, the connection goes on as if connected directly. The
//! connect timeout keeps running throughout.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use super::engine::{slab_key, Engine};
use super::transport::Transport;
use crate::error::{Error, ErrorKind};
use crate::proxy::Protocol;
use crate::socks::{Destination, Negotiation};

/// More than the longest SOCKS5 answer (a reply with a 255-byte name: 262 bytes), kept while
/// the request waits for the server's address.
const MAX_SOCKS_ANSWER: usize = 512;

/// The SOCKS5 exchange with a proxy, while it lasts.
pub(super) struct SocksTunnel {
    negotiation: Negotiation,
    /// The proxy's answers so far, not yet parsed.
    received: Vec<u8>,
}

impl Engine {
    /// TCP to the SOCKS proxy is up: start the negotiation.
    pub(super) fn start_socks(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        let session = &link.session;
        let Some(proxy) = &session.proxy else { return };
        let Protocol::Socks5 { credentials, .. } = &proxy.protocol else {
            return;
        };
        // Checked when the connection was made, so only a name to resolve here is left.
        let destination = match proxy.socks_destination(&session.target) {
            Ok(d) => d,
            Err(e) => return link.session.fail(e, Instant::now()),
        };
        let resolve = destination.is_none();
        let (host, port) = (session.target.host.clone(), session.target.port);
        link.socks = Some(Box::new(SocksTunnel {
            negotiation: Negotiation::new(credentials.clone(), destination),
            received: Vec::new(),
        }));
        if resolve {
            self.resolve_for_socks(token, host, port);
        }
        self.on_socks_progress(token);
    }

    /// `socks5://`: the client resolves the server's name and sends the proxy an address.
    fn resolve_for_socks(&mut self, token: usize, host: String, port: u16) {
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("wsc-resolve".into())
            .spawn(move || {
                let result = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect());
                shared.inbox().socks_resolved.push((token, result));
                let _ = shared.waker.wake();
            });
        if let Err(e) = spawned {
            self.on_socks_resolved(token, Err(e));
        }
    }

    /// The server's addresses for a `socks5://` proxy: the first is the one asked for.
    pub(super) fn on_socks_resolved(&mut self, token: usize, result: io::Result<Vec<SocketAddr>>) {
        let Some(link) = self.link(token) else { return };
        let Some(tunnel) = link.socks.as_mut() else {
            return;
        };
        let host = &link.session.target.host;
        match result {
            Ok(addrs) => match addrs.first() {
                Some(&addr) => tunnel
                    .negotiation
                    .set_destination(Destination::Address(addr)),
                None => {
                    let e = Error::new(ErrorKind::Resolve, format!("{host} has no addresses"));
                    link.session.fail(e, Instant::now());
                }
            },
            Err(e) => {
                let e = Error::new(ErrorKind::Resolve, format!("cannot resolve {host}: {e}"));
                link.session.fail(e, Instant::now());
            }
        }
        self.on_socks_progress(token);
        self.settle(token);
    }

    /// Writes what the negotiation has to say and reads the proxy's answers, until the socket
    /// would block, the tunnel is open, or the proxy refused.
    pub(super) fn on_socks_progress(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        if link.session.is_done() {
            return;
        }
        let (Some(tunnel), Some(Transport::Plain(tcp))) =
            (link.socks.as_mut(), link.socket.as_mut())
        else {
            return;
        };
        let now = Instant::now();
        let lost = |e: io::Error| {
            Error::new(
                ErrorKind::Proxy,
                format!("connection to the SOCKS proxy failed: {e}"),
            )
        };
        loop {
            while !tunnel.negotiation.to_send().is_empty() {
                match tcp.write(tunnel.negotiation.to_send()) {
                    Ok(n) => tunnel.negotiation.sent(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return link.session.fail(lost(e), now),
                }
            }
            let n = match tcp.read(&mut self.read_buf) {
                Ok(0) => {
                    let e = Error::new(
                        ErrorKind::Proxy,
                        if tunnel.received.is_empty() {
                            "the SOCKS proxy closed the connection without answering"
                        } else {
                            "the SOCKS proxy closed the connection in the middle of its answer"
                        },
                    );
                    return link.session.fail(e, now);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return link.session.fail(lost(e), now),
            };
            tunnel.received.extend_from_slice(&self.read_buf[..n]);
            match tunnel.negotiation.receive(&mut tunnel.received) {
                Ok(false) if tunnel.received.len() > MAX_SOCKS_ANSWER => {
                    let e = Error::new(
                        ErrorKind::Proxy,
                        "the SOCKS proxy sent more than any answer holds",
                    );
                    return link.session.fail(e, now);
                }
                Ok(false) => {}
                // The server speaks only once asked: nothing may follow the reply yet.
                Ok(true) if tunnel.received.is_empty() => {
                    link.socks = None;
                    return self.start_session(token);
                }
                Ok(true) => {
                    let e = Error::new(
                        ErrorKind::Proxy,
                        "the SOCKS proxy sent data before the tunnel was used",
                    );
                    return link.session.fail(e, now);
                }
                Err(e) => return link.session.fail(e, now),
            }
        }
    }
}
