//! The permessage-deflate extension (RFC 7692): what we offer and the checks on the server's
//! answer ([`negotiation`]), and compressing and decompressing whole messages ([`codec`]). No
//! I/O: bytes in, bytes out.

mod codec;
mod negotiation;

pub use codec::{Deflater, InflateError, Inflater};
pub use negotiation::{accept, ConfigError, DeflateConfig, Negotiated, NegotiationError};

/// The extension token.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The allowed LZ77 window sizes: "a decimal integer value without leading zeroes between 8 to
/// 15, inclusive, indicating the base-2 logarithm of the LZ77 sliding window size" (§7.1.2.1).
pub const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;
