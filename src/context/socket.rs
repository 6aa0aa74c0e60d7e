//! The socket under a connection: TCP (bound to a local address or an interface if asked) or
//! a Unix domain socket, both non-blocking, opened with their connect under way.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use mio::event::Source;
use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, Type};

use crate::error::{Error, ErrorKind};

pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Where a TCP connection is made from: `local_address` and `interface` of the options.
#[derive(Debug, Clone, Default)]
pub(crate) struct Binding {
    pub local: Option<SocketAddr>,
    pub interface: Option<String>,
}

impl Socket {
    /// Starts connecting to `addr` from `binding`. A failure before the connect is under way
    /// (a bind, say) is reported as it is, with the option to blame.
    pub(crate) fn connect_tcp(addr: SocketAddr, binding: &Binding) -> Result<Socket, Error> {
        let failed = |e: io::Error| Error::connect(&e, addr);
        let socket = socket2::Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking(),
            Some(Protocol::TCP),
        )
        .map_err(failed)?;
        if let Some(name) = &binding.interface {
            bind_device(&socket, name).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("connect to {addr}: cannot bind to interface {name:?}: {e}"),
                )
            })?;
        }
        if let Some(local) = binding.local {
            socket.bind(&local.into()).map_err(|e| {
                let kind = match e.raw_os_error() {
                    Some(libc::EADDRNOTAVAIL) => ErrorKind::Unreachable,
                    _ => ErrorKind::Io,
                };
                Error::new(
                    kind,
                    format!("connect to {addr}: cannot bind to local_address {local}: {e}"),
                )
            })?;
        }
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(failed(e)),
        }
        Ok(Socket::Tcp(TcpStream::from_std(socket.into())))
    }

    /// Starts connecting to the Unix domain socket at `path`.
    pub(crate) fn connect_unix(path: &Path) -> Result<Socket, Error> {
        UnixStream::connect(path).map(Socket::Unix).map_err(|e| {
            let kind = match e.kind() {
                io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
                _ => ErrorKind::Io,
            };
            Error::new(kind, format!("connect to {}: {e}", path.display()))
        })
    }

    /// Whether the connect finished: `Ok(false)` while under way, its error if it failed.
    pub(crate) fn connected(&mut self) -> io::Result<bool> {
        let (error, peer) = match self {
            Socket::Tcp(s) => (s.take_error(), s.peer_addr().map(drop)),
            Socket::Unix(s) => (s.take_error(), s.peer_addr().map(drop)),
        };
        match error {
            Ok(Some(e)) | Err(e) => return Err(e),
            Ok(None) => {}
        }
        match peer {
            Ok(()) => Ok(true),
            // Not connected yet: a spurious wake-up.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Small writes go out at once (TCP only: a Unix socket has no Nagle).
    pub(crate) fn set_nodelay(&self) {
        if let Socket::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_device(socket: &socket2::Socket, name: &str) -> io::Result<()> {
    socket.bind_device(Some(name.as_bytes()))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_device(_socket: &socket2::Socket, _name: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "binding to an interface is only supported on Linux",
    ))
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write_vectored(bufs),
            Socket::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Source for Socket {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.register(registry, token, interests),
            Socket::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.reregister(registry, token, interests),
            Socket::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.deregister(registry),
            Socket::Unix(s) => s.deregister(registry),
        }
    }
}
