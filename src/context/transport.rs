//! The byte stream under a connection: a plain socket (TCP or Unix), or TLS over one. Both
//! non-blocking; reads and writes return `WouldBlock` like a socket's.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use rustls::ClientConnection;

use super::socket::Socket;
use crate::error::Error;
use crate::log::Scope;
use crate::tls;

pub(crate) enum Transport {
    Plain(Socket),
    Tls(Box<TlsStream>),
}

pub(crate) struct TlsStream {
    tcp: Socket,
    tls: ClientConnection,
    /// The connection rustls' own log lines concern.
    log: Option<Arc<Scope>>,
    /// A client certificate is configured (for the words of a server's refusal).
    identity: bool,
}

/// An error that is ours to report as is (a TLS failure), carried inside an `io::Error`.
pub(crate) fn wsc_error(e: &io::Error) -> Option<&Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
}

impl Transport {
    /// TLS over `tcp` to the server reached as `host` (the name verified unless the client
    /// names another).
    pub fn tls(tcp: Socket, client: tls::Client, host: &str) -> Result<Self, Error> {
        let identity = client.config.client_auth_cert_resolver.has_certs();
        let tls = ClientConnection::new(client.config.clone(), client.server_name(host)?)
            .map_err(|e| tls::error(e, identity))?;
        Ok(Transport::Tls(Box::new(TlsStream {
            tcp,
            tls,
            log: None,
            identity,
        })))
    }

    /// The TLS session, for the log's account of what was negotiated.
    pub fn tls_session(&self) -> Option<&ClientConnection> {
        match self {
            Transport::Tls(s) => Some(&s.tls),
            Transport::Plain(_) => None,
        }
    }

    /// rustls' lines, written while it reads or writes, are this connection's.
    pub fn set_log(&mut self, log: Arc<Scope>) {
        if let Transport::Tls(s) = self {
            s.log = Some(log);
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    pub fn socket(&mut self) -> &mut Socket {
        match self {
            Transport::Plain(tcp) => tcp,
            Transport::Tls(s) => &mut s.tcp,
        }
    }

    /// Reads plaintext. `Ok(0)` is a clean end of stream (for TLS: after close_notify); a TLS
    /// stream cut without close_notify is `UnexpectedEof`, a truncation.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => tcp.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }

    /// Reads plaintext into memory that need not be initialized, for a caller that reads
    /// straight into a growing buffer; `None` where the transport cannot (TLS, which decrypts
    /// into its own buffers first). Returns how many bytes at the start of `buf` were written.
    pub fn read_uninit(&mut self, buf: &mut [MaybeUninit<u8>]) -> Option<io::Result<usize>> {
        let Transport::Plain(tcp) = self else {
            return None;
        };
        // SAFETY: recv(2) writes at most `buf.len()` bytes into `buf` and reads none of it.
        let n = unsafe { libc::recv(tcp.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        Some(if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        })
    }

    /// Writes plaintext; returns how much was taken.
    pub fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => tcp.write(data),
            Transport::Tls(s) => loop {
                let _log = s.log.as_ref().map(|l| l.enter());
                // Once rustls has taken bytes they are written, whatever the socket says next:
                // report them as taken, or the caller would send them twice.
                let n = s.tls.writer().write(data)?;
                let flushed = match s.write_tls() {
                    Ok(()) => true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                    Err(e) => return Err(e),
                };
                if n > 0 || data.is_empty() {
                    return Ok(n);
                }
                if !flushed {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                // rustls's buffer was full and is empty now: offer the bytes again.
            },
        }
    }

    /// Writes bytes the transport itself holds (TLS records); `WouldBlock` while some remain.
    pub fn flush_own(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::Tls(s) => s.write_tls(),
        }
    }

    /// Tells a TLS peer we are done (close_notify), as far as the socket takes it now.
    pub fn close_notify(&mut self) {
        if let Transport::Tls(s) = self {
            let _log = s.log.as_ref().map(|l| l.enter());
            s.tls.send_close_notify();
            let _ = s.write_tls();
        }
    }
}

impl TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _log = self.log.as_ref().map(|l| l.enter());
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let eof = match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => return Err(e),
            };
            if let Err(e) = self.tls.process_new_packets() {
                let _ = self.write_tls(); // the alert, if the socket takes it
                return Err(io::Error::other(tls::error(e, self.identity)));
            }
            // Handshake messages, or plaintext queued before the handshake ended.
            match self.write_tls() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
            if eof {
                // rustls now answers Ok(0) after close_notify, UnexpectedEof otherwise.
                return match self.tls.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        Err(io::ErrorKind::UnexpectedEof.into())
                    }
                    other => other,
                };
            }
        }
    }

    fn write_tls(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            self.tls.write_tls(&mut self.tcp)?;
        }
        Ok(())
    }
}
