//! Getting a connection to a byte stream: resolving the name off the loop, racing connection
//! attempts to its addresses (Happy Eyeballs), or connecting a Unix domain socket; the HTTP
//! CONNECT tunnel through a proxy (SOCKS5: `socks`), and starting TLS; then the session takes
//! over.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::{Interest, Registry, Token};

use super::attempts::Dialing;
use super::engine::{slab_key, Engine, Tunnel};
use super::race::{interleave, Race};
use super::socket::{Binding, Socket};
use super::transport::Transport;
use super::Inbox;
use crate::error::{Error, ErrorKind};
use crate::session::Session;
use crate::target::ConnectTo;

/// The most a proxy's answer to CONNECT may take.
pub(super) const MAX_PROXY_RESPONSE: usize = 16 * 1024;

/// What a connection reaches first: where its bytes go.
enum Destination {
    Unix(std::path::PathBuf),
    Resolve(String, u16),
    Addresses(String, Vec<SocketAddr>),
}

impl Engine {
    /// Starts getting a byte stream for a new connection.
    pub(super) fn dial(&mut self, token: usize) {
        let Some(link) = self.link(token) else { return };
        let session = &link.session;
        let target = &session.target;
        let options = session.options();
        let name_or_ip = |host: &str, ip: Option<std::net::IpAddr>, port: u16| match ip {
            Some(ip) => Destination::Addresses(host.to_string(), vec![SocketAddr::new(ip, port)]),
            None => Destination::Resolve(host.to_string(), port),
        };
        // Through a proxy, the proxy is what we resolve and connect to.
        let destination = if let Some(path) = &target.unix {
            Destination::Unix(path.clone())
        } else if let Some(p) = &session.proxy {
            name_or_ip(&p.host, p.ip, p.port)
        } else {
            match &options.connect_to {
                None => name_or_ip(&target.host, target.ip, target.port),
                Some(ConnectTo::Host { host, port }) => {
                    let port = port.unwrap_or(target.port);
                    name_or_ip(host, host.parse().ok(), port)
                }
                Some(ConnectTo::Addresses(list)) => {
                    let addrs = list
                        .iter()
                        .map(|a| match a.port() {
                            0 => SocketAddr::new(a.ip(), target.port),
                            _ => *a,
                        })
                        .collect();
                    Destination::Addresses(target.host.clone(), addrs)
                }
            }
        };
        match destination {
            Destination::Unix(path) => self.connect_unix(token, &path),
            Destination::Addresses(host, addrs) => self.race(token, host, addrs),
            Destination::Resolve(host, port) => self.resolve(token, host, port),
        }
    }

    /// Resolves a name on a short-lived thread so the loop never blocks on DNS.
    fn resolve(&mut self, token: usize, host: String, port: u16) {
        let name = host.clone();
        let spawned = self.spawn_resolver(host, port, move |inbox, result| {
            inbox.resolved.push((token, name, result))
        });
        if let Err(e) = spawned {
            let host = self.link(token).map(|l| l.session.target.host.clone());
            self.on_resolved(token, host.unwrap_or_default(), Err(e));
        }
        self.settle(token);
    }

    /// Resolves `host` on a short-lived thread, so the loop never blocks on DNS; `deliver`
    /// puts the answer in the inbox, and the loop is woken to take it.
    pub(super) fn spawn_resolver(
        &mut self,
        host: String,
        port: u16,
        deliver: impl FnOnce(&mut Inbox, io::Result<Vec<SocketAddr>>) + Send + 'static,
    ) -> io::Result<()> {
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("wsc-resolve".into())
            .spawn(move || {
                let result = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect());
                deliver(&mut shared.inbox(), result);
                let _ = shared.waker.wake();
            })?;
        self.resolvers.push(thread);
        Ok(())
    }

    /// Joins the resolution threads that have ended (one still running, its name slow to
    /// resolve, is left to end by itself). A join, unlike a detach, orders everything the
    /// thread did, its drop of the shared state included, before what the loop does next:
    /// ThreadSanitizer sees that order, and the thread's resources are reclaimed at once.
    pub(super) fn join_finished_resolvers(&mut self) {
        let mut i = 0;
        while i < self.resolvers.len() {
            if self.resolvers[i].is_finished() {
                // The thread's closure does not panic; a join error would only carry its panic.
                let _ = self.resolvers.swap_remove(i).join();
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn on_resolved(
        &mut self,
        token: usize,
        host: String,
        result: io::Result<Vec<SocketAddr>>,
    ) {
        let Some(link) = self.link(token) else { return };
        match result {
            Ok(addrs) if !addrs.is_empty() => self.race(token, host, addrs),
            Ok(_) => {
                let e = Error::new(ErrorKind::Resolve, format!("{host} has no addresses"));
                let e = naming_the_proxy(&link.session, e);
                link.session.fail(e, Instant::now());
            }
            Err(e) => {
                let e = Error::new(ErrorKind::Resolve, format!("cannot resolve {host}: {e}"));
                let e = naming_the_proxy(&link.session, e);
                link.session.fail(e, Instant::now());
            }
        }
        self.settle(token);
    }

    /// Connects to one of `addrs` (RFC 8305 Happy Eyeballs when there are several).
    fn race(&mut self, token: usize, host: String, addrs: Vec<SocketAddr>) {
        let Some(link) = self.link(token) else { return };
        let options = link.session.options();
        let binding = Binding {
            local: options.local_address,
            interface: options.interface.clone(),
        };
        let mut usable = addrs.clone();
        if let Some(local) = binding.local {
            usable.retain(|a| a.is_ipv4() == local.is_ipv4());
            if usable.is_empty() {
                let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                let family = if local.is_ipv4() { "IPv4" } else { "IPv6" };
                let e = Error::new(
                    ErrorKind::Unreachable,
                    format!(
                        "{host} has no {family} address ({}) to reach from local_address {local}",
                        list.join(", ")
                    ),
                );
                return link.session.fail(e, Instant::now());
            }
        }
        link.dialing = Some(Box::new(Dialing {
            host,
            binding,
            race: Race::new(interleave(usable)),
            attempts: Vec::new(),
        }));
        self.start_attempts(token, Instant::now());
    }

    /// Starts the attempts that are due; fails the connection when every one has failed.
    pub(super) fn start_attempts(&mut self, token: usize, now: Instant) {
        let registry = self.poll.registry();
        let Some(link) = self
            .links
            .get_mut(slab_key(token))
            .filter(|l| l.token == token)
        else {
            return;
        };
        let Some(dialing) = link.dialing.as_mut() else {
            return;
        };
        while let Some(addr) = dialing.race.start_due(now) {
            log!(link.session.conn.log, Debug, "connecting to {addr}");
            match Socket::connect_tcp(addr, &dialing.binding)
                .and_then(|s| register(registry, s, token, addr))
            {
                Ok(socket) => dialing.attempts.push((socket, addr)),
                Err(e) => {
                    log!(
                        link.session.conn.log,
                        Debug,
                        "connect to {addr} failed: {e}"
                    );
                    dialing.race.failed(addr, e);
                }
            }
        }
        if dialing.race.is_lost() {
            let error = naming_the_proxy(&link.session, dialing.race.error(&dialing.host));
            link.dialing = None;
            link.session.fail(error, now);
        }
    }

    fn connect_unix(&mut self, token: usize, path: &std::path::Path) {
        let registry = self.poll.registry();
        let link = self.links.get_mut(slab_key(token)).expect("live link");
        log!(
            link.session.conn.log,
            Debug,
            "connecting to {}",
            path.display()
        );
        let attempt = Socket::connect_unix(path).and_then(|mut socket| {
            registry
                .register(
                    &mut socket,
                    Token(token),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| Error::new(ErrorKind::Io, format!("cannot poll a socket: {e}")))?;
            Ok(socket)
        });
        match attempt {
            Ok(socket) => link.socket = Some(Transport::Plain(socket)),
            Err(e) => link.session.fail(e, Instant::now()),
        }
    }

    /// A socket in connect became writable or failed.
    pub(super) fn on_connect_progress(&mut self, token: usize) {
        let now = Instant::now();
        let registry = self.poll.registry();
        let link = self.links.get_mut(slab_key(token)).expect("live link");
        if let Some(transport) = link.socket.as_mut() {
            // A Unix domain socket: the only attempt.
            match transport.socket().connected() {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    let path = link.session.target.unix.clone().unwrap_or_default();
                    let e =
                        Error::new(ErrorKind::Io, format!("connect to {}: {e}", path.display()));
                    return link.session.fail(e, now);
                }
            }
        } else {
            let Some(dialing) = link.dialing.as_mut() else {
                return;
            };
            let mut winner = None;
            let mut i = 0;
            while i < dialing.attempts.len() {
                match dialing.attempts[i].0.connected() {
                    Ok(false) => i += 1,
                    Ok(true) => {
                        let (socket, addr) = dialing.attempts.swap_remove(i);
                        log!(link.session.conn.log, Info, "connected to {addr}");
                        winner = Some(socket);
                        break;
                    }
                    Err(e) => {
                        let (mut socket, addr) = dialing.attempts.swap_remove(i);
                        let _ = registry.deregister(&mut socket);
                        log!(
                            link.session.conn.log,
                            Debug,
                            "connect to {addr} failed: {e}"
                        );
                        dialing.race.failed(addr, Error::connect(&e, addr));
                    }
                }
            }
            let Some(socket) = winner else {
                return self.start_attempts(token, now);
            };
            // The first to connect wins; the others are closed.
            for (mut other, _) in dialing.attempts.drain(..) {
                let _ = registry.deregister(&mut other);
            }
            link.dialing = None;
            link.socket = Some(Transport::Plain(socket));
        }
        let Some(transport) = link.socket.as_mut() else {
            return;
        };
        let socket = transport.socket();
        socket.set_nodelay();
        link.session.conn.set_socket_fd(socket.as_raw_fd());
        if let Some(proxy) = &link.session.proxy {
            if let crate::proxy::Protocol::Socks5 { .. } = proxy.protocol {
                return self.start_socks(token);
            }
            let request = crate::proxy::connect_request(proxy, &link.session.target);
            log!(
                link.session.conn.log,
                Info,
                "proxy: CONNECT {}:{} via {}:{}",
                link.session.target.host,
                link.session.target.port,
                proxy.host,
                proxy.port
            );
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
                            log!(
                                link.session.conn.log,
                                Info,
                                "proxy: tunnel open ({})",
                                super::engine::first_line(&tunnel.response)
                            );
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
            let _log = link.session.conn.log.enter(); // rustls' lines are this connection's
            let Some(Transport::Plain(tcp)) = link.socket.take() else {
                unreachable!("TLS starts once, on a plain socket")
            };
            log!(
                link.session.conn.log,
                Debug,
                "TLS: handshake with {}",
                link.session.target.host
            );
            match Transport::tls(tcp, config, &link.session.target.host) {
                Ok(tls) => link.socket = Some(tls),
                Err(e) => return link.session.fail(e, Instant::now()),
            }
            if let Some(tls) = link.socket.as_mut() {
                tls.set_log(link.session.conn.log.clone())
            }
        }
        link.connected = true;
        link.session.on_connected(Instant::now());
        self.flush(token);
        // Bytes may have arrived with the connect (edge-triggered: read now).
        self.read(token);
    }
}

/// Registers an attempt's socket for the connection's events.
fn register(
    registry: &Registry,
    mut socket: Socket,
    token: usize,
    addr: SocketAddr,
) -> Result<Socket, Error> {
    registry
        .register(
            &mut socket,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )
        .map_err(|e| Error::connect(&e, addr))?;
    Ok(socket)
}

/// A failure to resolve or reach the proxy says so: "connection refused" alone would send the
/// reader looking at the server, which was never contacted.
fn naming_the_proxy(session: &Session, e: Error) -> Error {
    let Some(p) = &session.proxy else { return e };
    let message = format!(
        "cannot reach the proxy {}:{}: {}",
        p.host, p.port, e.message
    );
    Error::new(e.kind, message)
}
