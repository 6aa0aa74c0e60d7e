//! Close frames (RFC 6455 §5.5.1, §7.4).

use super::utf8;
use super::{ProtocolError, ProtocolErrorKind};

pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const PROTOCOL_ERROR: u16 = 1002;
pub const UNSUPPORTED_DATA: u16 = 1003;
/// "designated for use in applications expecting a status code to indicate that no status code
/// was actually present"; never sent.
pub const NO_STATUS: u16 = 1005;
/// "designated for use in applications expecting a status code to indicate that the connection
/// was closed abnormally"; never sent.
pub const ABNORMAL: u16 = 1006;
pub const INVALID_PAYLOAD: u16 = 1007;
pub const POLICY_VIOLATION: u16 = 1008;
pub const MESSAGE_TOO_BIG: u16 = 1009;
pub const MANDATORY_EXTENSION: u16 = 1010;
pub const INTERNAL_ERROR: u16 = 1011;

/// The longest reason that fits a control frame: "All control frames MUST have a payload length
/// of 125 bytes or less", two of which are the code.
pub const MAX_REASON_LEN: usize = 123;

/// Whether a peer may put `code` in a Close frame: the codes §7.4.1 defines for use on the wire,
/// the later IANA registrations (1012–1014), and the ranges §7.4.2 gives to libraries,
/// frameworks and applications (3000–4999). 1004–1006 and 1015 "MUST NOT be set as a status
/// code in a Close control frame by an endpoint".
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Splits a received Close payload into code and reason, validating both.
///
/// "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer [...]
/// Following the 2-byte integer, the body MAY contain UTF-8-encoded data".
pub fn parse_payload(payload: &[u8]) -> Result<Option<(u16, &str)>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::new(
            ProtocolErrorKind::Protocol,
            "close frame with a 1-byte payload",
        )),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_code(code) {
                return Err(ProtocolError::new(
                    ProtocolErrorKind::Protocol,
                    "invalid close code",
                ));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| {
                ProtocolError::new(ProtocolErrorKind::InvalidUtf8, "close reason is not UTF-8")
            })?;
            Ok(Some((code, reason)))
        }
    }
}

/// Checks a close code and reason the application wants to send.
pub fn check_outgoing(code: u16, reason: &[u8]) -> Result<(), &'static str> {
    if !is_valid_code(code) {
        return Err("close code must be 1000-1003, 1007-1014 or 3000-4999");
    }
    if reason.len() > MAX_REASON_LEN {
        return Err("close reason is longer than 123 bytes");
    }
    if !utf8::is_valid(reason) {
        return Err("close reason is not valid UTF-8");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autobahn_valid_and_invalid_codes() {
        // Autobahn 7.7.x sends these valid codes...
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(is_valid_code(code), "{code}");
        }
        // ... and 7.9.x these invalid ones.
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_code(code), "{code}");
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(parse_payload(&[]).unwrap(), None);
        assert_eq!(
            parse_payload(&[0x03, 0xe8, b'b', b'y', b'e']).unwrap(),
            Some((1000, "bye"))
        );
        assert_eq!(
            parse_payload(&[0x03]).unwrap_err().kind,
            ProtocolErrorKind::Protocol
        );
        assert_eq!(
            parse_payload(&[0x03, 0xed]).unwrap_err().kind,
            ProtocolErrorKind::Protocol
        );
        let bad_reason = [0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xff];
        assert_eq!(
            parse_payload(&bad_reason).unwrap_err().kind,
            ProtocolErrorKind::InvalidUtf8
        );
    }

    #[test]
    fn outgoing_checks() {
        assert!(check_outgoing(1000, b"done").is_ok());
        assert!(check_outgoing(1005, b"").is_err());
        assert!(check_outgoing(1000, &[b'x'; 124]).is_err());
        assert!(check_outgoing(1000, &[0xff]).is_err());
    }
}
