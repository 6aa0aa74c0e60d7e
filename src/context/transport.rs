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
    /// Ciphertext read from the socket that rustls has not taken yet.
    incoming: Incoming,
}

/// Ciphertext read ahead of rustls. rustls reads at most 4 KiB per call of `read_tls`, so fed
/// from the socket directly a bulk transfer costs one system call per 4 KiB; read into this
/// buffer first, it costs one per 64 KiB, and rustls takes the bytes from memory. The buffer
/// starts at one TLS record's size and doubles each time a read fills it, up to 64 KiB, and is
/// freed when the socket has nothing more to read: an idle connection holds none of it.
#[derive(Default)]
struct Incoming {
    buf: Vec<u8>,
    /// `buf[taken..]` is what rustls has not taken yet.
    taken: usize,
    /// Reads of the socket so far.
    #[cfg(test)]
    reads: usize,
}

impl Incoming {
    const FIRST_SIZE: usize = 16 * 1024;
    const MAX_SIZE: usize = 64 * 1024;

    /// Gives rustls ciphertext: what is buffered, or else what one read of the socket brings.
    /// `Ok(0)` when the socket's stream has ended (rustls is told so).
    fn feed(&mut self, tls: &mut ClientConnection, tcp: &mut Socket) -> io::Result<usize> {
        if self.taken == self.buf.len() && self.fill(tcp)? == 0 {
            // An empty read is how rustls learns of the end of the stream.
            return tls.read_tls(&mut &[][..]);
        }
        // Never empty here: rustls would take an empty read for the end of the stream.
        let n = tls.read_tls(&mut &self.buf[self.taken..])?;
        self.taken += n;
        Ok(n)
    }

    /// Reads the socket into the (empty) buffer, grown first if the last read filled it.
    fn fill(&mut self, tcp: &mut Socket) -> io::Result<usize> {
        let size = match self.buf.capacity() {
            0 => Self::FIRST_SIZE,
            c if self.buf.len() == c => (c * 2).min(Self::MAX_SIZE),
            c => c,
        };
        self.buf.clear();
        self.taken = 0;
        #[cfg(test)]
        {
            self.reads += 1;
        }
        self.buf.reserve_exact(size);
        let n = match recv_uninit(tcp, &mut self.buf.spare_capacity_mut()[..size]) {
            Ok(n) => n,
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    // Drained: an idle connection holds no buffer.
                    self.buf = Vec::new();
                }
                return Err(e);
            }
        };
        // SAFETY: `recv_uninit` wrote these `n` bytes.
        unsafe { self.buf.set_len(n) };
        Ok(n)
    }
}

/// Reads from the socket into memory that need not be initialized; returns how many bytes at
/// the start of `buf` were written.
fn recv_uninit(socket: &Socket, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: recv(2) writes at most `buf.len()` bytes into `buf` and reads none of it.
    let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
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
            incoming: Incoming::default(),
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
        Some(recv_uninit(tcp, buf))
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
            let eof = match self.incoming.feed(&mut self.tls, &mut self.tcp) {
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use rcgen::{CertificateParams, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection};

    use super::*;

    /// A client transport over one end of a socket pair, and the server's TLS session with
    /// the other end, handshake done.
    fn tls_pair() -> (Transport, ServerConnection, mio::net::UnixStream) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.der().clone()], private)
                .unwrap();
        let mut server = ServerConnection::new(Arc::new(server)).unwrap();
        let options = tls::TlsOptions {
            ca_pem: Some(cert.pem().into_bytes()),
            ..tls::TlsOptions::default()
        };
        let (ours, mut theirs) = mio::net::UnixStream::pair().unwrap();
        let mut client = Transport::tls(
            Socket::Unix(ours),
            tls::client(&options).unwrap(),
            "localhost",
        )
        .unwrap();
        let mut scratch = [0u8; 16];
        for _ in 0..10 {
            let _ = client.write(&[]); // sends the ClientHello, then the client's Finished
            let _ = client.read(&mut scratch);
            let _ = server.read_tls(&mut theirs);
            server.process_new_packets().unwrap();
            while server.wants_write() {
                server.write_tls(&mut theirs).unwrap();
            }
            if !server.is_handshaking() && !client_handshaking(&client) {
                return (client, server, theirs);
            }
        }
        panic!("the TLS handshake did not finish");
    }

    fn client_handshaking(t: &Transport) -> bool {
        t.tls_session().is_some_and(|s| s.is_handshaking())
    }

    fn reads(t: &Transport) -> usize {
        match t {
            Transport::Tls(s) => s.incoming.reads,
            Transport::Plain(_) => 0,
        }
    }

    #[test]
    fn tls_records_are_read_from_the_socket_many_at_a_time() {
        let (mut client, mut server, mut theirs) = tls_pair();
        // 256 KiB of application data: 16 records of 16 KiB, about 262,500 bytes on the wire.
        let sent: Vec<u8> = (0..256 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
        server.set_buffer_limit(None);
        server.writer().write_all(&sent).unwrap();
        let reads_before = reads(&client);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        while got.len() < sent.len() {
            // As much as the socket pair takes (about 200 KiB), then all of it read.
            while server.wants_write() {
                match server.write_tls(&mut theirs) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            loop {
                match client.read(&mut buf) {
                    Ok(0) => panic!("end of stream"),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        assert_eq!(
            got, sent,
            "every byte, in order, across records cut by the reads"
        );
        // rustls alone reads 4 KiB at a time: 65 reads at least. Here 16, 32, then 64 KiB at a
        // time, and a read that finds the socket empty each time the writer has to catch up.
        let reads = reads(&client) - reads_before;
        assert!(reads <= 12, "{reads} reads of the socket for 256 KiB");
        let Transport::Tls(s) = &client else {
            unreachable!()
        };
        assert_eq!(
            s.incoming.buf.capacity(),
            0,
            "freed once the socket is drained"
        );
    }

    #[test]
    fn the_end_of_the_stream_reaches_rustls_through_the_buffer() {
        let (mut client, mut server, mut theirs) = tls_pair();
        server.writer().write_all(b"last words").unwrap();
        server.send_close_notify();
        while server.wants_write() {
            server.write_tls(&mut theirs).unwrap();
        }
        drop(theirs);
        let mut buf = [0u8; 64];
        assert_eq!(client.read(&mut buf).unwrap(), 10);
        assert_eq!(&buf[..10], b"last words");
        assert_eq!(
            client.read(&mut buf).unwrap(),
            0,
            "a clean end after close_notify"
        );

        let (mut client, _server, theirs) = tls_pair();
        drop(theirs);
        let e = client.read(&mut buf).unwrap_err();
        assert_eq!(
            e.kind(),
            io::ErrorKind::UnexpectedEof,
            "truncated: no close_notify"
        );
    }
}
