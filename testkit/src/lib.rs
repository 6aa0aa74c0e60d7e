//! What wsc's tests share, unit tests in `src/` and integration tests in `tests/` alike:
//!
//! - [`Rng`]: one seeded, reproducible pseudo-random generator (SplitMix64);
//! - [`inflate`]: a reference DEFLATE decoder (RFC 1951), to check what the compressor emits
//!   with something other than the zlib it was made with, down to the distances it uses;
//! - [`frame`]: WebSocket frames as a server writes them and reads the client's.
//!
//! Nothing here depends on wsc: a reference written with the code under test could share its
//! mistakes.
//!
//! wsc's `cargo test` and `cargo clippy` build this crate as a dev-dependency but neither run
//! its own tests nor lint it; from the repository root:
//! `cargo test --manifest-path testkit/Cargo.toml`, and likewise `clippy --all-targets` and
//! `fmt --check`.

pub mod frame;
pub mod inflate;
mod rng;

pub use rng::Rng;
