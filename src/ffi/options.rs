//! The option structs of the C API read into their Rust form, through the pointers they hold.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::ptr::{array, bytes, optional_string, string_arg};
use super::types::{wsc_connect_options, wsc_context_options};
use crate::log::LogHandler;
use crate::target::{split_host_port, ConnectTo};
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
        let mut tls = TlsOptions {
            ca_pem: None,
            insecure_skip_verification: self.tls_insecure_skip_verification,
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
