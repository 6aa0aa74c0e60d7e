//! The offer and the checks on the server's answer (RFC 7692 §5 and §7.1).

use std::fmt;

use super::{EXTENSION_NAME, WINDOW_BITS};
use crate::protocol::http::{ListCursor, Param};

const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";

/// What we offer. [`Default`] is `permessage-deflate; client_max_window_bits` at level 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Promise not to use context takeover: our compressor forgets each message once it is sent
    /// (less memory, less compression of similar messages).
    pub client_no_context_takeover: bool,
    /// Ask the server not to use context takeover, so our decompressor can forget each message.
    pub server_no_context_takeover: bool,
    /// `None`: offer the bare `client_max_window_bits`, which lets the server limit our window;
    /// `Some(bits)` (8..=15): also promise to use no larger window.
    pub client_max_window_bits: Option<u8>,
    /// `Some(bits)` (8..=15): ask the server to compress with a window of at most `bits`.
    pub server_max_window_bits: Option<u8>,
    /// zlib compression level, 0 (store only) to 9 (smallest output).
    pub level: u32,
}

impl Default for DeflateConfig {
    /// Level 2: with zlib-rs it compresses text within 2% of level 6 in about a third of the
    /// time. For small messages the cost of each flush dominates at every level from 2 up;
    /// level 1 is much faster there but, coding with fixed Huffman tables only, makes larger
    /// messages about half as large again.
    fn default() -> Self {
        DeflateConfig {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: None,
            server_max_window_bits: None,
            level: 2,
        }
    }
}

/// An invalid [`DeflateConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// A window size outside 8..=15; carries the parameter name and value.
    WindowBits(&'static str, u8),
    /// A level above 9.
    Level(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WindowBits(name, bits) => {
                write!(f, "permessage-deflate {name} is {bits}, must be 8 to 15")
            }
            Self::Level(level) => {
                write!(f, "permessage-deflate level is {level}, must be 0 to 9")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl DeflateConfig {
    /// Checks every value is in range; [`accept`] does it too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, bits) in [
            (CLIENT_MAX_WINDOW_BITS, self.client_max_window_bits),
            (SERVER_MAX_WINDOW_BITS, self.server_max_window_bits),
        ] {
            if let Some(bits) = bits.filter(|b| !WINDOW_BITS.contains(b)) {
                return Err(ConfigError::WindowBits(name, bits));
            }
        }
        if self.level > 9 {
            return Err(ConfigError::Level(self.level));
        }
        Ok(())
    }

    /// The `Sec-WebSocket-Extensions` value offering this configuration, e.g.
    /// `permessage-deflate; client_max_window_bits`. Meant for a [validated](Self::validate)
    /// configuration.
    pub fn offer(&self) -> String {
        let mut offer = String::from(EXTENSION_NAME);
        if self.client_no_context_takeover {
            offer.push_str("; ");
            offer.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if self.server_no_context_takeover {
            offer.push_str("; ");
            offer.push_str(SERVER_NO_CONTEXT_TAKEOVER);
        }
        offer.push_str("; ");
        offer.push_str(CLIENT_MAX_WINDOW_BITS);
        if let Some(bits) = self.client_max_window_bits {
            offer.push_str(&format!("={bits}"));
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; {SERVER_MAX_WINDOW_BITS}={bits}"));
        }
        offer
    }
}

/// The parameters in force once the server accepted the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Our compressor starts every message afresh (we offered it, or the server asked for it).
    pub client_no_context_takeover: bool,
    /// The server's compressor starts every message afresh, so our decompressor can too.
    pub server_no_context_takeover: bool,
    /// The window we compress with: the smaller of our offer and the server's limit, 15 if neither.
    pub client_max_window_bits: u8,
    /// The largest window the server compresses with.
    pub server_max_window_bits: u8,
}

/// Why the server's `Sec-WebSocket-Extensions` answer fails the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiationError {
    /// Our own configuration is invalid.
    Config(ConfigError),
    /// The header does not follow the RFC 6455 §9.1 grammar.
    Malformed(&'static str),
    /// An extension other than permessage-deflate.
    UnsupportedExtension(String),
    /// permessage-deflate accepted more than once.
    DuplicateExtension,
    /// A parameter RFC 7692 does not define for a response.
    UnknownParameter(String),
    /// A parameter given more than once.
    DuplicateParameter(&'static str),
    /// A value on a parameter that takes none.
    UnexpectedValue(&'static str),
    /// A window size parameter without a value.
    MissingValue(&'static str),
    /// A window size that is not a number from 8 to 15 without leading zeroes.
    InvalidWindowBits(&'static str),
    /// `client_max_window_bits` in the answer though we did not offer it.
    ClientWindowBitsNotOffered,
    /// A larger `server_max_window_bits` than we asked for.
    ServerWindowBitsTooLarge { offered: u8, accepted: u8 },
    /// A parameter we asked for that the server must confirm but left out.
    MissingParameter(&'static str),
}

/// Longest server-supplied text echoed back inside an error message.
const MAX_ECHO: usize = 64;

fn echo(s: &str) -> String {
    s.chars().take(MAX_ECHO).collect()
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "permessage-deflate negotiation: ")?;
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Malformed(what) => write!(f, "malformed Sec-WebSocket-Extensions: {what}"),
            Self::UnsupportedExtension(name) => {
                write!(f, "server accepted extension {name:?}, which was not offered")
            }
            Self::DuplicateExtension => write!(f, "server accepted the extension more than once"),
            Self::UnknownParameter(name) => write!(f, "unknown parameter {name:?}"),
            Self::DuplicateParameter(name) => write!(f, "parameter {name} given more than once"),
            Self::UnexpectedValue(name) => write!(f, "parameter {name} must not have a value"),
            Self::MissingValue(name) => write!(f, "parameter {name} needs a value"),
            Self::InvalidWindowBits(name) => {
                write!(f, "{name} must be a number from 8 to 15 without leading zeroes")
            }
            Self::ClientWindowBitsNotOffered => {
                write!(f, "server sent {CLIENT_MAX_WINDOW_BITS}, which was not offered")
            }
            Self::ServerWindowBitsTooLarge { offered, accepted } => write!(
                f,
                "server accepted {SERVER_MAX_WINDOW_BITS}={accepted}, larger than the {offered} offered"
            ),
            Self::MissingParameter(name) => {
                write!(f, "server left out {name}, which was offered and must be confirmed")
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

impl From<ConfigError> for NegotiationError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

/// Every extension in the header values, in order (RFC 6455 §9.1: `extension-list`).
fn parse(values: &[String]) -> Result<Vec<(&str, Vec<Param<'_>>)>, NegotiationError> {
    let mut extensions = Vec::new();
    for value in values {
        extensions.extend(
            ListCursor::new(value)
                .elements()
                .map_err(NegotiationError::Malformed)?,
        );
    }
    Ok(extensions)
}

/// A window size value: "a decimal integer value without leading zeroes between 8 to 15,
/// inclusive" (§7.1.2.1, §7.1.2.2). RFC 6455 §9.1: "When using the quoted-string syntax variant,
/// the value after quoted-string unescaping MUST conform to the 'token' ABNF", so a quoted value
/// is judged the same way once unescaped.
fn window_bits(name: &'static str, value: Option<&str>) -> Result<u8, NegotiationError> {
    let value = value.ok_or(NegotiationError::MissingValue(name))?;
    match value.parse::<u8>() {
        Ok(bits) if WINDOW_BITS.contains(&bits) && !value.starts_with(['0', '+']) => Ok(bits),
        _ => Err(NegotiationError::InvalidWindowBits(name)),
    }
}

/// Checks the server's answer to [`DeflateConfig::offer`]: `response_values` are its
/// `Sec-WebSocket-Extensions` header values as received. `Ok(None)`: no extension is in use.
///
/// §7: "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension
/// negotiation offer for this extension with an extension negotiation response meeting any of
/// the following conditions: the negotiation response contains an extension parameter not
/// defined for use in a response; [...] an extension parameter with an invalid value; [...]
/// multiple extension parameters with the same name; the client does not support the
/// configuration that the response represents."
pub fn accept(
    config: &DeflateConfig,
    response_values: &[String],
) -> Result<Option<Negotiated>, NegotiationError> {
    // [`DeflateConfig::offer`] always carries `client_max_window_bits`: it costs nothing and lets
    // a server that wants to limit our window accept the offer rather than decline it.
    negotiate(config, true, response_values)
}

/// [`accept`] for an offer that carries `client_max_window_bits` or not.
fn negotiate(
    config: &DeflateConfig,
    offered_client_window_bits: bool,
    response_values: &[String],
) -> Result<Option<Negotiated>, NegotiationError> {
    config.validate()?;
    let mut accepted = None;
    for (name, params) in parse(response_values)? {
        // RFC 6455 §4.1: "the use of an extension that was not present in the client's handshake
        // [...] the client MUST _Fail the WebSocket Connection_."
        if name != EXTENSION_NAME {
            return Err(NegotiationError::UnsupportedExtension(echo(name)));
        }
        // We offered it once; a second acceptance is a configuration we cannot run.
        if accepted.replace(params).is_some() {
            return Err(NegotiationError::DuplicateExtension);
        }
    }
    let Some(params) = accepted else {
        return Ok(None);
    };

    let mut client_no_context_takeover = false;
    let mut server_no_context_takeover = false;
    let mut client_max_window_bits = None;
    let mut server_max_window_bits = None;
    for (name, value) in params {
        let name = match name {
            CLIENT_NO_CONTEXT_TAKEOVER => CLIENT_NO_CONTEXT_TAKEOVER,
            SERVER_NO_CONTEXT_TAKEOVER => SERVER_NO_CONTEXT_TAKEOVER,
            CLIENT_MAX_WINDOW_BITS => CLIENT_MAX_WINDOW_BITS,
            SERVER_MAX_WINDOW_BITS => SERVER_MAX_WINDOW_BITS,
            other => return Err(NegotiationError::UnknownParameter(echo(other))),
        };
        let seen = match name {
            CLIENT_NO_CONTEXT_TAKEOVER | SERVER_NO_CONTEXT_TAKEOVER => {
                // §7.1.1.1, §7.1.1.2: "This extension parameter has no value."
                if value.is_some() {
                    return Err(NegotiationError::UnexpectedValue(name));
                }
                let flag = if name == CLIENT_NO_CONTEXT_TAKEOVER {
                    &mut client_no_context_takeover
                } else {
                    &mut server_no_context_takeover
                };
                std::mem::replace(flag, true)
            }
            _ => {
                let bits = window_bits(name, value.as_deref())?;
                let slot = if name == CLIENT_MAX_WINDOW_BITS {
                    &mut client_max_window_bits
                } else {
                    &mut server_max_window_bits
                };
                slot.replace(bits).is_some()
            }
        };
        if seen {
            return Err(NegotiationError::DuplicateParameter(name));
        }
    }

    // §7.1.1.1: "A server accepting an extension negotiation offer with this parameter MUST
    // include the "server_no_context_takeover" extension parameter in the extension negotiation
    // response to send back to the client."
    if config.server_no_context_takeover && !server_no_context_takeover {
        return Err(NegotiationError::MissingParameter(
            SERVER_NO_CONTEXT_TAKEOVER,
        ));
    }
    // §7.1.2.1: "A server accepts an extension negotiation offer with this parameter by including
    // the "server_max_window_bits" extension parameter in the extension negotiation response to
    // send back to the client with the same or smaller value as the offer."
    if let Some(offered) = config.server_max_window_bits {
        match server_max_window_bits {
            None => return Err(NegotiationError::MissingParameter(SERVER_MAX_WINDOW_BITS)),
            Some(accepted) if accepted > offered => {
                return Err(NegotiationError::ServerWindowBitsTooLarge { offered, accepted })
            }
            Some(_) => {}
        }
    }
    // §7.1.2.2: "If a received extension negotiation offer doesn't have the
    // "client_max_window_bits" extension parameter, the corresponding extension negotiation
    // response to the offer MUST NOT include the "client_max_window_bits" extension parameter."
    if client_max_window_bits.is_some() && !offered_client_window_bits {
        return Err(NegotiationError::ClientWindowBitsNotOffered);
    }

    Ok(Some(Negotiated {
        // §7.1.1.2: by offering it, "a client informs the peer server of a hint that even if the
        // server doesn't include the "client_no_context_takeover" extension parameter in the
        // corresponding extension negotiation response to the offer, the client is not going to
        // use context takeover."
        client_no_context_takeover: client_no_context_takeover || config.client_no_context_takeover,
        server_no_context_takeover,
        // A value in our offer is a promise too; a larger one from the server only allows more.
        client_max_window_bits: [client_max_window_bits, config.client_max_window_bits]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(15),
        // Without the parameter the server may use the largest window.
        server_max_window_bits: server_max_window_bits.unwrap_or(15),
    }))
}

#[cfg(test)]
impl Negotiated {
    /// The same window and takeover for both directions.
    pub(crate) fn symmetric(bits: u8, no_context_takeover: bool) -> Negotiated {
        Negotiated {
            client_no_context_takeover: no_context_takeover,
            server_no_context_takeover: no_context_takeover,
            client_max_window_bits: bits,
            server_max_window_bits: bits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn accept_default(values: &[&str]) -> Result<Option<Negotiated>, NegotiationError> {
        accept(&DeflateConfig::default(), &response(values))
    }

    #[test]
    fn offers() {
        let config = DeflateConfig::default();
        assert_eq!(config.offer(), "permessage-deflate; client_max_window_bits");
        assert_eq!(config.validate(), Ok(()));
        let all = DeflateConfig {
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            client_max_window_bits: Some(10),
            server_max_window_bits: Some(8),
            level: 9,
        };
        assert_eq!(
            all.offer(),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
             client_max_window_bits=10; server_max_window_bits=8"
        );
        assert_eq!(all.validate(), Ok(()));
    }

    #[test]
    fn invalid_configs() {
        let bad = |config: DeflateConfig, err: ConfigError| {
            assert_eq!(config.validate(), Err(err));
            let e = accept(&config, &[]).unwrap_err();
            assert_eq!(e, NegotiationError::Config(err));
            assert!(!e.to_string().contains('\n'));
        };
        let d = DeflateConfig::default();
        for bits in [0, 7, 16, 255] {
            let c = DeflateConfig {
                client_max_window_bits: Some(bits),
                ..d
            };
            bad(c, ConfigError::WindowBits(CLIENT_MAX_WINDOW_BITS, bits));
            let c = DeflateConfig {
                server_max_window_bits: Some(bits),
                ..d
            };
            bad(c, ConfigError::WindowBits(SERVER_MAX_WINDOW_BITS, bits));
        }
        bad(DeflateConfig { level: 10, ..d }, ConfigError::Level(10));
        assert_eq!(
            ConfigError::Level(10).to_string(),
            "permessage-deflate level is 10, must be 0 to 9"
        );
    }

    #[test]
    fn accepts_answers() {
        let plain = Negotiated::symmetric(15, false);
        assert_eq!(accept_default(&[]), Ok(None));
        assert_eq!(accept_default(&["", " , ,"]), Ok(None));
        assert_eq!(accept_default(&["permessage-deflate"]), Ok(Some(plain)));
        assert_eq!(
            accept_default(&[" , permessage-deflate ,"]),
            Ok(Some(plain))
        );
        let got = accept_default(&[
            "permessage-deflate ;client_no_context_takeover; server_no_context_takeover ; \
             client_max_window_bits = 10;\tserver_max_window_bits=12",
        ]);
        let want = Negotiated {
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            client_max_window_bits: 10,
            server_max_window_bits: 12,
        };
        assert_eq!(got, Ok(Some(want)));
        // RFC 6455 §9.1: quoted values count once unescaped.
        let got = accept_default(&[r#"permessage-deflate; client_max_window_bits="1\0""#]);
        assert_eq!(got.unwrap().unwrap().client_max_window_bits, 10);
        let got = accept_default(&[r#"permessage-deflate; server_max_window_bits="8""#]);
        assert_eq!(got.unwrap().unwrap().server_max_window_bits, 8);
    }

    #[test]
    fn offered_limits_apply_without_an_answer() {
        let config = DeflateConfig {
            client_no_context_takeover: true,
            client_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        let n = accept(&config, &response(&["permessage-deflate"]))
            .unwrap()
            .unwrap();
        assert!(n.client_no_context_takeover && !n.server_no_context_takeover);
        assert_eq!(n.client_max_window_bits, 10);
        let n = accept(
            &config,
            &response(&["permessage-deflate; client_max_window_bits=12"]),
        );
        assert_eq!(n.unwrap().unwrap().client_max_window_bits, 10);
        let n = accept(
            &config,
            &response(&["permessage-deflate; client_max_window_bits=9"]),
        );
        assert_eq!(n.unwrap().unwrap().client_max_window_bits, 9);
        // The server may limit its own window unasked, and ask us not to take over context.
        let n = accept_default(&["permessage-deflate; server_max_window_bits=9"]);
        assert_eq!(n.unwrap().unwrap().server_max_window_bits, 9);
        let config = DeflateConfig {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        let n = accept(
            &config,
            &response(&[
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            ]),
        );
        assert_eq!(n.unwrap().unwrap().server_max_window_bits, 10);
    }

    #[test]
    fn fails_on_bad_answers() {
        use NegotiationError::*;
        let cases: &[(&[&str], NegotiationError)] = &[
            (
                &["x-webkit-deflate-frame"],
                UnsupportedExtension("x-webkit-deflate-frame".into()),
            ),
            (
                &["permessage-deflate, foo"],
                UnsupportedExtension("foo".into()),
            ),
            (
                &["permessage-deflate", "foo; a=1"],
                UnsupportedExtension("foo".into()),
            ),
            (
                &["permessage-deflate, permessage-deflate"],
                DuplicateExtension,
            ),
            (
                &["permessage-deflate", "permessage-deflate"],
                DuplicateExtension,
            ),
            (&["permessage-deflate; mux"], UnknownParameter("mux".into())),
            (
                &[r#"permessage-deflate; x="a,b""#],
                UnknownParameter("x".into()),
            ),
            (
                &["permessage-deflate; Server_No_Context_Takeover"],
                UnknownParameter("Server_No_Context_Takeover".into()),
            ),
            (
                &["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
                DuplicateParameter(SERVER_NO_CONTEXT_TAKEOVER),
            ),
            (
                &["permessage-deflate; client_no_context_takeover; client_no_context_takeover"],
                DuplicateParameter(CLIENT_NO_CONTEXT_TAKEOVER),
            ),
            (
                &["permessage-deflate; client_max_window_bits=9; client_max_window_bits=9"],
                DuplicateParameter(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_max_window_bits=9; server_max_window_bits=10"],
                DuplicateParameter(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_no_context_takeover=1"],
                UnexpectedValue(SERVER_NO_CONTEXT_TAKEOVER),
            ),
            (
                &[r#"permessage-deflate; client_no_context_takeover="""#],
                UnexpectedValue(CLIENT_NO_CONTEXT_TAKEOVER),
            ),
            (
                &["permessage-deflate; client_max_window_bits"],
                MissingValue(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_max_window_bits"],
                MissingValue(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_max_window_bits=7"],
                InvalidWindowBits(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_max_window_bits=16"],
                InvalidWindowBits(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_max_window_bits=09"],
                InvalidWindowBits(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; server_max_window_bits=+9"],
                InvalidWindowBits(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; client_max_window_bits=ten"],
                InvalidWindowBits(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &["permessage-deflate; client_max_window_bits=256"],
                InvalidWindowBits(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &[r#"permessage-deflate; client_max_window_bits="""#],
                InvalidWindowBits(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &[r#"permessage-deflate; client_max_window_bits=" 9""#],
                InvalidWindowBits(CLIENT_MAX_WINDOW_BITS),
            ),
            (&["permessage-deflate;"], Malformed("expected a token")),
            (&["permessage-deflate; =9"], Malformed("expected a token")),
            (
                &["permessage-deflate; client_max_window_bits="],
                Malformed("expected a token"),
            ),
            (
                &["permessage-deflate client_max_window_bits"],
                Malformed("expected ';' or ','"),
            ),
            (
                &["permessage-deflate; a=b=c"],
                Malformed("expected ';' or ','"),
            ),
            (
                &["permessage-deflate; a=\"b"],
                Malformed("unterminated quoted-string"),
            ),
            (
                &["permessage-deflate; a=\"b\\"],
                Malformed("unterminated quoted-string"),
            ),
            (
                &["permessage-deflate; a=\"\x01\""],
                Malformed("control character in quoted-string"),
            ),
        ];
        for (values, err) in cases {
            let got = accept_default(values);
            assert_eq!(got.as_ref(), Err(err), "{values:?}");
            let text = got.unwrap_err().to_string();
            assert!(
                !text.contains('\n') && text.starts_with("permessage-deflate"),
                "{text}"
            );
        }

        let asks = DeflateConfig {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        let cases: &[(&str, NegotiationError)] = &[
            (
                "permessage-deflate; server_max_window_bits=10",
                MissingParameter(SERVER_NO_CONTEXT_TAKEOVER),
            ),
            (
                "permessage-deflate; server_no_context_takeover",
                MissingParameter(SERVER_MAX_WINDOW_BITS),
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
                ServerWindowBitsTooLarge {
                    offered: 10,
                    accepted: 11,
                },
            ),
        ];
        for (value, err) in cases {
            assert_eq!(
                accept(&asks, &response(&[value])).as_ref(),
                Err(err),
                "{value}"
            );
        }
        assert_eq!(
            ServerWindowBitsTooLarge {
                offered: 10,
                accepted: 11
            }
            .to_string(),
            "permessage-deflate negotiation: server accepted server_max_window_bits=11, \
             larger than the 10 offered"
        );

        // An offer without client_max_window_bits: the server must not answer with it.
        let config = DeflateConfig::default();
        let bare = response(&["permessage-deflate"]);
        assert_eq!(
            negotiate(&config, false, &bare),
            Ok(Some(Negotiated::symmetric(15, false)))
        );
        let with = response(&["permessage-deflate; client_max_window_bits=10"]);
        assert_eq!(
            negotiate(&config, false, &with),
            Err(ClientWindowBitsNotOffered)
        );
    }

    #[test]
    fn long_names_are_cut_in_errors() {
        let name = "x".repeat(1000);
        let Err(NegotiationError::UnsupportedExtension(echoed)) = accept_default(&[&name]) else {
            panic!("accepted");
        };
        assert_eq!(echoed.len(), MAX_ECHO);
    }
}
