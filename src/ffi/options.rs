//! The option structs of the C API read into their Rust form, through the pointers they hold.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::ptr::{array, bytes, optional_string, string_arg};
use super::types::{wsc_connect_options, wsc_context_options};
use crate::log::LogHandler;
use crate::target::{split_host_port, ConnectTo};
use crate::tls::Pem;
use crate::{DeflateConfig, Error, ErrorKind, Options, ProxySetting, Reconnect, TlsOptions};

impl wsc_context_options {
    /// The size of the context's read buffer (0 stands for the default).
    pub(crate) fn read_buffer_size(options: Option<&Self>) -> usize {
        match options {
            Some(o) if o.read_buffer_size > 0 => o.read_buffer_size,
            _ => crate::DEFAULT_READ_BUFFER,
        }
    }

    /// The context's own log handler, if it has one.
    pub(crate) fn log_handler(options: Option<&Self>) -> Result<Option<LogHandler>, Error> {
        let Some(o) = options else { return Ok(None) };
        if o.reserved != [0; 4] {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "wsc_context_options.reserved is not zero: the program asks for options this \
                 library does not know (initialise it with WSC_CONTEXT_OPTIONS_INIT)",
            ));
        }
        if o.log_fn.is_none() {
            return Ok(None);
        }
        let level = super::log::level_arg(o.log_level, "wsc_context_options.log_level")?;
        Ok(super::log::handler(o.log_fn, o.log_user, level))
    }
}

fn or_default<T: PartialEq + Default>(value: T, default: T) -> T {
    if value == T::default() {
        default
    } else {
        value
    }
}

fn millis(ms: u32, default: Duration) -> Duration {
    if ms == 0 {
        default
    } else {
        Duration::from_millis(ms.into())
    }
}

/// "ADDR", "ADDR:PORT", "[IPV6]" or "[IPV6]:PORT": an IP address to bind to.
fn local_address(text: &str) -> Result<SocketAddr, Error> {
    let invalid = |why: String| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("local_address {text:?}: {why}"),
        )
    };
    let (host, port) = split_host_port(text).map_err(invalid)?;
    let ip: IpAddr = host
        .parse()
        .map_err(|_| invalid("not an IP address (ADDR[:PORT])".into()))?;
    Ok(SocketAddr::new(ip, port.unwrap_or(0)))
}

/// PEM text from `{name}_file` or from `{name}_pem` (`len` bytes), not both.
///
/// # Safety
/// `file` is NULL or NUL-terminated; `pem` is NULL or points to `len` bytes.
unsafe fn pem_source(
    file: *const std::ffi::c_char,
    pem: *const u8,
    len: usize,
    name: &str,
) -> Result<Option<Pem>, Error> {
    // SAFETY: as promised by the caller.
    let path = unsafe { optional_string(file, &format!("{name}_file")) }?;
    let memory = match pem.is_null() && len == 0 {
        true => None,
        // SAFETY: as promised by the caller.
        false => Some(unsafe { bytes(pem, len) }?.to_vec()),
    };
    match (path, memory) {
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("both {name}_file and {name}_pem are set: give one"),
        )),
        (Some(path), None) => Ok(Some(Pem::File(path.into()))),
        (None, memory) => Ok(memory.map(Pem::Memory)),
    }
}

impl wsc_connect_options {
    /// Copies the options into their Rust form.
    ///
    /// # Safety
    /// Every pointer is NULL or valid, as documented on the fields.
    pub(crate) unsafe fn to_options(self) -> Result<Options, Error> {
        let d = Options::default();
        if self.reserved != [0; 6] {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "wsc_connect_options.reserved is not zero: the program asks for options this \
                 library does not have (initialise with WSC_CONNECT_OPTIONS_INIT)",
            ));
        }
        if self.tls_reserved != [0; 3] {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "wsc_connect_options.tls_reserved is not zero: the program asks for options \
                 this library does not have (initialise with WSC_CONNECT_OPTIONS_INIT)",
            ));
        }
        // SAFETY: `subprotocols` is NULL or points to `subprotocol_count` pointers (the caller's
        // promise).
        let protocol_list =
            unsafe { array(self.subprotocols, self.subprotocol_count, "subprotocols") }?;
        let subprotocols = protocol_list
            .iter()
            .map(|&p| {
                // SAFETY: each subprotocol is NULL or NUL-terminated (the caller's promise).
                let protocol = unsafe { string_arg(p, "a subprotocol") }?;
                Ok(protocol.to_string())
            })
            .collect::<Result<_, Error>>()?;
        // SAFETY: `headers` is NULL or points to `header_count` headers (the caller's promise).
        let header_list = unsafe { array(self.headers, self.header_count, "headers") }?;
        let headers = header_list
            .iter()
            .map(|h| {
                // SAFETY: names and values are NULL or NUL-terminated (the caller's promise).
                let name = unsafe { string_arg(h.name, "a header name") }?;
                // SAFETY: as for the name.
                let value = unsafe { string_arg(h.value, "a header value") }?;
                Ok((name.to_string(), value.to_string()))
            })
            .collect::<Result<_, Error>>()?;
        let mut receive = d.receive_limits;
        receive.max_frame_size = or_default(self.max_frame_size, receive.max_frame_size);
        receive.max_message_size = or_default(self.max_message_size, receive.max_message_size);
        receive.max_fragments = or_default(self.max_fragments, receive.max_fragments);
        let mut handshake = d.handshake_limits;
        handshake.max_bytes = or_default(self.max_handshake_size, handshake.max_bytes);
        handshake.max_headers =
            or_default(self.max_handshake_headers as usize, handshake.max_headers);
        // SAFETY: the PEM pointers and lengths, and the file names, are as documented (the
        // caller's promise).
        let (client_certificate, client_key, server_name) = unsafe {
            (
                pem_source(
                    self.tls_client_cert_file,
                    self.tls_client_cert_pem,
                    self.tls_client_cert_pem_len,
                    "tls_client_cert",
                )?,
                pem_source(
                    self.tls_client_key_file,
                    self.tls_client_key_pem,
                    self.tls_client_key_pem_len,
                    "tls_client_key",
                )?,
                optional_string(self.tls_server_name, "tls_server_name")?,
            )
        };
        let mut tls = TlsOptions {
            ca_pem: None,
            ca_added_to_system: self.tls_ca_add_to_system,
            insecure_skip_verification: self.tls_insecure_skip_verification,
            allow_self_signed: self.tls_allow_self_signed,
            skip_hostname_verification: self.tls_skip_hostname_verification,
            allow_expired: self.tls_allow_expired,
            client_certificate,
            client_key,
            server_name,
            key_log: self.tls_key_log,
        };
        // SAFETY: `tls_ca_file` is NULL or NUL-terminated (the caller's promise).
        let ca_file = unsafe { optional_string(self.tls_ca_file, "tls_ca_file") }?;
        if let Some(path) = ca_file {
            let pem = std::fs::read(&path).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("cannot read CA file {path}: {e}"),
                )
            })?;
            tls.ca_pem = Some(pem);
        }
        if !self.tls_ca_pem.is_null() || self.tls_ca_pem_len > 0 {
            // SAFETY: `tls_ca_pem` is NULL or points to `tls_ca_pem_len` bytes (the caller's
            // promise).
            let pem = unsafe { bytes(self.tls_ca_pem, self.tls_ca_pem_len) }?;
            tls.ca_pem
                .get_or_insert_with(Vec::new)
                .extend_from_slice(pem);
        }
        let level = or_default(self.deflate_level.into(), DeflateConfig::default().level);
        // SAFETY: `deflate_offers` is NULL or points to `deflate_offer_count` offers (the
        // caller's promise).
        let offers = unsafe {
            array(
                self.deflate_offers,
                self.deflate_offer_count,
                "deflate_offers",
            )
        }?;
        let deflate = match (self.deflate_disable, offers) {
            (true, _) => Vec::new(),
            (false, []) => vec![DeflateConfig {
                level,
                ..DeflateConfig::default()
            }],
            (false, offers) => offers
                .iter()
                .map(|o| DeflateConfig {
                    client_no_context_takeover: o.client_no_context_takeover,
                    server_no_context_takeover: o.server_no_context_takeover,
                    client_max_window_bits: (o.client_max_window_bits != 0)
                        .then_some(o.client_max_window_bits),
                    server_max_window_bits: (o.server_max_window_bits != 0)
                        .then_some(o.server_max_window_bits),
                    level,
                })
                .collect(),
        };
        // SAFETY: `proxy_url` is NULL or NUL-terminated (the caller's promise).
        let proxy_url = unsafe { optional_string(self.proxy_url, "proxy_url") }?;
        let proxy = match (self.proxy_disable, proxy_url) {
            (true, _) => ProxySetting::Direct,
            (false, Some(url)) => ProxySetting::Url(url),
            (false, None) => ProxySetting::FromEnvironment,
        };
        // SAFETY: `origin` is NULL or NUL-terminated (the caller's promise).
        let origin = unsafe { optional_string(self.origin, "origin") }?;
        // SAFETY: `connect_to` is NULL or NUL-terminated (the caller's promise).
        let connect_to = unsafe { optional_string(self.connect_to, "connect_to") }?
            .map(|text| ConnectTo::parse(&text))
            .transpose()?;
        // SAFETY: `local_address` is NULL or NUL-terminated (the caller's promise).
        let local_address = unsafe { optional_string(self.local_address, "local_address") }?
            .map(|text| local_address(&text))
            .transpose()?;
        // SAFETY: `interface` is NULL or NUL-terminated (the caller's promise).
        let interface = unsafe { optional_string(self.interface, "interface") }?;
        let defaults = Reconnect::default();
        let reconnect = self.reconnect.then(|| Reconnect {
            min_delay: millis(self.reconnect_min_delay_ms, defaults.min_delay),
            max_delay: millis(self.reconnect_max_delay_ms, defaults.max_delay),
            max_attempts: self.reconnect_max_attempts,
            on_client_error: self.reconnect_on_client_error,
        });
        Ok(Options {
            max_redirects: self.max_redirects,
            trust_outgoing_text: self.trust_outgoing_text,
            reconnect,
            proxy,
            tls,
            keepalive_interval: (self.keepalive_interval_ms > 0)
                .then(|| Duration::from_millis(self.keepalive_interval_ms.into())),
            keepalive_timeout: millis(self.keepalive_timeout_ms, d.keepalive_timeout),
            origin,
            subprotocols,
            headers,
            connect_timeout: millis(self.connect_timeout_ms, d.connect_timeout),
            handshake_timeout: millis(self.handshake_timeout_ms, d.handshake_timeout),
            close_timeout: millis(self.close_timeout_ms, d.close_timeout),
            receive_limits: receive,
            handshake_limits: handshake,
            send_buffer_limit: or_default(self.send_buffer_limit, d.send_buffer_limit),
            deflate,
            stream_messages: self.stream_messages,
            writable_low_water: (self.writable_low_water > 0).then_some(self.writable_low_water),
            connect_to,
            local_address,
            interface,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_fields_reach_the_rust_options() {
        let cert = b"-----BEGIN CERTIFICATE-----\n";
        let options = wsc_connect_options {
            tls_client_cert_pem: cert.as_ptr(),
            tls_client_cert_pem_len: cert.len(),
            tls_client_key_file: c"/etc/client.key".as_ptr(),
            tls_server_name: c"service.test".as_ptr(),
            tls_ca_add_to_system: true,
            tls_allow_self_signed: true,
            tls_skip_hostname_verification: true,
            tls_allow_expired: true,
            tls_key_log: true,
            ..wsc_connect_options::default()
        };
        // SAFETY: the pointers are NULL or point to live data of the lengths given.
        let tls = unsafe { options.to_options() }.unwrap().tls;
        assert_eq!(tls.client_certificate, Some(Pem::Memory(cert.to_vec())));
        assert_eq!(tls.client_key, Some(Pem::File("/etc/client.key".into())));
        assert_eq!(tls.server_name.as_deref(), Some("service.test"));
        assert!(tls.ca_added_to_system && tls.allow_self_signed && tls.allow_expired);
        assert!(tls.skip_hostname_verification && tls.key_log);
        assert!(!tls.insecure_skip_verification);
    }

    #[test]
    fn a_file_and_memory_for_the_same_pem_are_refused() {
        let key = b"-----BEGIN PRIVATE KEY-----\n";
        let options = wsc_connect_options {
            tls_client_key_pem: key.as_ptr(),
            tls_client_key_pem_len: key.len(),
            tls_client_key_file: c"/etc/client.key".as_ptr(),
            ..wsc_connect_options::default()
        };
        // SAFETY: as above.
        let e = unsafe { options.to_options() }.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert_eq!(
            e.message,
            "both tls_client_key_file and tls_client_key_pem are set: give one"
        );
        let options = wsc_connect_options {
            tls_reserved: [0, 1, 0],
            ..wsc_connect_options::default()
        };
        // SAFETY: no pointers.
        let e = unsafe { options.to_options() }.unwrap_err();
        assert!(e.message.contains("tls_reserved"), "{e}");
    }
}
