//! The SOCKS5 tunnel phase: once TCP to the proxy is up, the negotiation of `crate::socks` runs
//! over it (and, for `socks5://`, the server's name is resolved here, off the loop, at the same
//! time); once the proxy has connected, the connection goes on as if connected directly. The
//! connect timeout keeps running throughout.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use super::engine::{slab_key, Engine};
use super::transport::Transport;
use crate::error::{Error, ErrorKind};
use crate::proxy::Protocol;
use crate::socks::{Destination, Negotiation};

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
        link.socks = Some(Box::new(Negotiation::new(credentials.clone(), destination)));
        if resolve {
            self.resolve_for_socks(token, host, port);
        }
        self.on_socks_progress(token);
    }

    /// `socks5://`: the client resolves the server's name and sends the proxy an address.
    fn resolve_for_socks(&mut self, token: usize, host: String, port: u16) {
        let spawned = self.spawn_resolver(host, port, move |inbox, result| {
            inbox.socks_resolved.push((token, result))
        });
        if let Err(e) = spawned {
            self.on_socks_resolved(token, Err(e));
        }
    }

    /// The server's addresses for a `socks5://` proxy: the first is the one asked for.
    pub(super) fn on_socks_resolved(&mut self, token: usize, result: io::Result<Vec<SocketAddr>>) {
        let Some(link) = self.link(token) else { return };
        let Some(negotiation) = link.socks.as_mut() else {
            return;
        };
        let host = &link.session.target.host;
        match result {
            Ok(addrs) => match addrs.first() {
                Some(&addr) => negotiation.set_destination(Destination::Address(addr)),
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
        let (Some(negotiation), Some(Transport::Plain(tcp))) =
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
            while !negotiation.to_send().is_empty() {
                match tcp.write(negotiation.to_send()) {
                    Ok(n) => negotiation.sent(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return link.session.fail(lost(e), now),
                }
            }
            let n = match tcp.read(&mut self.read_buf) {
                Ok(0) => return link.session.fail(negotiation.closed_error(), now),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return link.session.fail(lost(e), now),
            };
            match negotiation.receive(&self.read_buf[..n]) {
                Ok(false) => {}
                // The server speaks only once asked: nothing may follow the reply yet.
                Ok(true) if negotiation.leftover().is_empty() => {
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
