//! A connection being made over TCP: the race among its addresses, where it connects from,
//! and the sockets of its attempts in flight. Held by the loop's link, driven by `dial`.

use std::net::SocketAddr;
use std::time::Instant;

use super::race::Race;
use super::socket::{Binding, Socket};

pub(super) struct Dialing {
    /// The name resolved, for messages.
    pub(super) host: String,
    pub(super) binding: Binding,
    pub(super) race: Race,
    pub(super) attempts: Vec<(Socket, SocketAddr)>,
}

impl Dialing {
    /// When the next attempt is due if none fails before.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.race.next_due()
    }
}
