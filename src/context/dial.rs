//! Getting a connection to a byte stream: resolving the name off the loop, trying each address,
//! the HTTP CONNECT tunnel through a proxy (SOCKS5: `socks`), and starting TLS; then the session
//! takes over.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::engine::{slab_key, Engine, Tunnel};
use super::transport::Transport;
use crate::error::{Error, ErrorKind};

/// The most a proxy's answer to CONNECT may take.
pub(super) const MAX_PROXY_RESPONSE: usize = 16 * 1024;

impl Engine {
    /// Resolves a name on a short-lived thread so the loop never blocks on DNS.
    pub(super) fn resolve(&mut self, token: usize, host: String, port: u16) {
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("wsc-resolve".into())
            .spawn(move || {
                let result = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect());
                shared.inbox().resolved.push((token, result));
                let _ = shared.waker.wake();
            });
        if let Err(e) = spawned {
            self.on_resolved(token, Err(e));
        }
        self.settle(token);
    }

    pub(super) fn on_resolved(&mut self, token: usize, result: io::Result<Vec<SocketAddr>>) {
        let Some(link) = self.link(token) else { return };
        match result {
            Ok(addrs) if !addrs.is_empty() => {
                link.addrs = addrs;
                self.connect_next(token);
            }
            Ok(_) => {
                let e = Error::new(
                    ErrorKind::Resolve,
                    format!("{} has no addresses", link.session.target.host),
                );
                link.session.fail(e, Instant::now());
            }
            Err(e) => {
                let e = Error::new(
                    ErrorKind::Resolve,
                    format!("cannot resolve {}: {e}", link.session.target.host),
                );
                link.session.fail(e, Instant::now());
            }
        }
        self.settle(token);
    }

    /// Tries the next address; fails the connection when none is left.
    pub(super) fn connect_next(&mut self, token: usize) {
        let registry = self.poll.registry();
        let link = self.links.get_mut(slab_key(token)).expect("live link");
        if let Some(mut old) = link.socket.take() {
            let _ = registry.deregister(old.tcp());
        }
        while let Some(&addr) = link.addrs.get(link.next_addr) {
            link.next_addr += 1;
            let attempt = TcpStream::connect(addr).and_then(|mut socket| {
                registry.register(
                    &mut socket,
                    Token(token),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                Ok(socket)
            });
            match attempt {
                Ok(socket) => {
                    link.socket = Some(Transport::Plain(socket));
                    return;
                }
                Err(e) => link.last_error = Some(Error::connect(&e, addr)),
            }
        }
        let error = link
            .last_error
            .take()
            .unwrap_or_else(|| Error::new(ErrorKind::Io, "no address to connect to"));
        link.session.fail(error, Instant::now());
    }

    /// A socket in connect became writable or failed.
    pub(super) fn on_connect_progress(&mut self, token: usize) {
        let link = self.link(token).expect("live link");
        let Some(transport) = link.socket.as_mut() else {
            return;
        };
        let socket = transport.tcp();
        let addr = link.addrs[link.next_addr - 1];
        let failure = match socket.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match socket.peer_addr() {
                Ok(_) => None,
                // Not connected yet: a spurious wake-up.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => Some(e),
            },
        };
        if let Some(e) = failure {
            link.last_error = Some(Error::connect(&e, addr));
            self.connect_next(token);
            return;
        }
        let _ = socket.set_nodelay(true);
        if let Some(proxy) = &link.session.proxy {
            if let crate::proxy::Protocol::Socks5 { .. } = proxy.protocol {
                return self.start_socks(token);
            }
            let request = crate::proxy::connect_request(proxy, &link.session.target);
            link.tunnel = Some(Tunnel {
                request,
                written: 0,
                response: Vec::new(),
            });
            return self.on_tunnel_progress(token);
        }
        self.start_session(token);
    }

    /// Sends CONNECT to the proxy and reads its answer; once the tunnel is open the connection
    /// goes on as if connected directly.
    pub(super) fn on_tunnel_progress(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        let (Some(tunnel), Some(Transport::Plain(tcp))) =
            (link.tunnel.as_mut(), link.socket.as_mut())
        else {
            return;
        };
        let now = Instant::now();
        let lost = |e: io::Error| {
            Error::new(
                ErrorKind::Proxy,
                format!("connection to the proxy failed: {e}"),
            )
        };
        while tunnel.written < tunnel.request.len() {
            match tcp.write(&tunnel.request[tunnel.written..]) {
                Ok(n) => tunnel.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return link.session.fail(lost(e), now),
            }
        }
        loop {
            match tcp.read(&mut self.read_buf) {
                Ok(0) => {
                    let e = Error::new(
                        ErrorKind::Proxy,
                        "the proxy closed the connection before answering CONNECT",
                    );
                    return link.session.fail(e, now);
                }
                Ok(n) => {
                    tunnel.response.extend_from_slice(&self.read_buf[..n]);
                    match crate::proxy::parse_connect_response(&tunnel.response, MAX_PROXY_RESPONSE)
                    {
                        Ok(None) => {}
                        Ok(Some(len)) if len == tunnel.response.len() => {
                            link.tunnel = None;
                            return self.start_session(token);
                        }
                        Ok(Some(_)) => {
                            let e = Error::new(
                                ErrorKind::Proxy,
                                "the proxy sent data before the tunnel was used",
                            );
                            return link.session.fail(e, now);
                        }
                        Err(e) => return link.session.fail(e, now),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return link.session.fail(lost(e), now),
            }
        }
    }

    /// The byte stream to the server exists: start TLS if asked, then the WebSocket handshake.
    pub(super) fn start_session(&mut self, token: usize) {
        let Some(link) = self.links.get_mut(slab_key(token)) else {
            return;
        };
        if let Some(config) = link.session.tls.clone() {
            let Some(Transport::Plain(tcp)) = link.socket.take() else {
                unreachable!("TLS starts once, on a plain socket")
            };
            match Transport::tls(tcp, config, &link.session.target.host) {
                Ok(tls) => link.socket = Some(tls),
                Err(e) => return link.session.fail(e, Instant::now()),
            }
        }
        link.connected = true;
        link.session.on_connected(Instant::now());
        self.flush(token);
        // Bytes may have arrived with the connect (edge-triggered: read now).
        self.read(token);
    }
}
