//! Happy Eyeballs (RFC 8305): which address to try next, and when, when a name has several.
//! Without I/O: the loop tells it the time, what started and what failed; it answers with the
//! address whose attempt is due and when the next one will be.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

/// RFC 8305 §8: "The recommended value for the Connection Attempt Delay is 250 milliseconds."
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// RFC 8305 §4: "the client SHOULD order the list of addresses by alternating between address
/// families"; IPv6 first, as the RFC prefers. The order within a family is kept.
pub(crate) fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let (v6, v4): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs.into_iter().partition(|a| a.is_ipv6());
    let mut ordered = Vec::with_capacity(v6.len() + v4.len());
    let (mut v6, mut v4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// The attempts of one connection: started one after another, `ATTEMPT_DELAY` apart or as
/// soon as the ones in flight have failed; the first to connect wins.
#[derive(Debug)]
pub(crate) struct Race {
    addrs: Vec<SocketAddr>,
    /// How many of `addrs` have been started.
    started: usize,
    in_flight: usize,
    /// When the next attempt may start without waiting for a failure.
    next_at: Option<Instant>,
    failures: Vec<(SocketAddr, Error)>,
}

impl Race {
    /// A race over `addrs`, in the order given (see [`interleave`]).
    pub(crate) fn new(addrs: Vec<SocketAddr>) -> Race {
        Race {
            addrs,
            started: 0,
            in_flight: 0,
            next_at: None,
            failures: Vec::new(),
        }
    }

    /// The address whose attempt is due at `now`, marked started; `None` while waiting or
    /// when every address has been started. Call until it returns `None`.
    pub(crate) fn start_due(&mut self, now: Instant) -> Option<SocketAddr> {
        let addr = *self.addrs.get(self.started)?;
        // RFC 8305 §5: "Starting a new connection attempt does not affect previous attempts";
        // the next one starts after the delay, or at once when none is in flight.
        if self.in_flight > 0 && self.next_at.is_some_and(|at| at > now) {
            return None;
        }
        self.started += 1;
        self.in_flight += 1;
        self.next_at = Some(now + ATTEMPT_DELAY);
        Some(addr)
    }

    /// When the next attempt is due if nothing fails before; `None` when none is left.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        if self.started < self.addrs.len() {
            self.next_at
        } else {
            None
        }
    }

    /// An attempt failed (at connect or before it started): the next one may start at once.
    pub(crate) fn failed(&mut self, addr: SocketAddr, error: Error) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.next_at = None;
        self.failures.push((addr, error));
    }

    /// How many attempts have started.
    #[cfg(test)]
    pub(crate) fn started(&self) -> usize {
        self.started
    }

    /// Every address was tried and every attempt failed.
    pub(crate) fn is_lost(&self) -> bool {
        self.in_flight == 0 && self.started == self.addrs.len()
    }

    /// Why the race was lost: the one failure as it is, or each address with its failure.
    pub(crate) fn error(&self, host: &str) -> Error {
        match self.failures.as_slice() {
            [] => Error::new(ErrorKind::Io, format!("{host}: no address to connect to")),
            [(_, only)] => only.clone(),
            all => {
                let tried: Vec<String> = all.iter().map(|(_, e)| e.message.clone()).collect();
                // One kind for all when they agree (all refused, say), else the last's.
                let kind = all[all.len() - 1].1.kind;
                let kind = if all.iter().all(|(_, e)| e.kind == kind) {
                    kind
                } else {
                    ErrorKind::Io
                };
                Error::new(
                    kind,
                    format!(
                        "could not connect to any of the {} addresses of {host}: {}",
                        all.len(),
                        tried.join("; ")
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn interleaves_families_ipv6_first() {
        let given = ["1.0.0.1:1", "1.0.0.2:1", "[::1]:1", "1.0.0.3:1", "[::2]:1"].map(addr);
        let expected = ["[::1]:1", "1.0.0.1:1", "[::2]:1", "1.0.0.2:1", "1.0.0.3:1"].map(addr);
        assert_eq!(interleave(given.to_vec()), expected.to_vec());
        assert_eq!(interleave(vec![addr("1.0.0.1:1")]), vec![addr("1.0.0.1:1")]);
        assert_eq!(interleave(Vec::new()), Vec::new());
    }

    #[test]
    fn next_attempt_starts_after_the_delay_without_waiting_for_a_failure() {
        let t0 = Instant::now();
        let (a, b, c) = (addr("[::1]:1"), addr("1.0.0.1:1"), addr("[::2]:1"));
        let mut race = Race::new(vec![a, b, c]);
        assert_eq!(race.start_due(t0), Some(a));
        assert_eq!(race.start_due(t0), None, "the second waits");
        assert_eq!(race.next_due(), Some(t0 + ATTEMPT_DELAY));
        assert_eq!(race.start_due(t0 + ATTEMPT_DELAY / 2), None);
        assert_eq!(race.start_due(t0 + ATTEMPT_DELAY), Some(b));
        assert_eq!(race.next_due(), Some(t0 + 2 * ATTEMPT_DELAY));
        assert_eq!(race.start_due(t0 + 2 * ATTEMPT_DELAY), Some(c));
        assert_eq!(race.next_due(), None, "nothing left to start");
        assert_eq!(race.start_due(t0 + 10 * ATTEMPT_DELAY), None);
        assert_eq!(race.started(), 3);
        assert!(!race.is_lost(), "three still in flight");
    }

    #[test]
    fn an_early_failure_starts_the_next_at_once() {
        let t0 = Instant::now();
        let (a, b) = (addr("[::1]:1"), addr("1.0.0.1:1"));
        let mut race = Race::new(vec![a, b]);
        assert_eq!(race.start_due(t0), Some(a));
        let t1 = t0 + Duration::from_millis(10);
        race.failed(
            a,
            Error::new(ErrorKind::ConnectRefused, "connect to [::1]:1: refused"),
        );
        assert_eq!(race.start_due(t1), Some(b), "no wait after a failure");
        assert!(!race.is_lost());
        race.failed(
            b,
            Error::new(ErrorKind::ConnectRefused, "connect to 1.0.0.1:1: refused"),
        );
        assert!(race.is_lost());
        let e = race.error("example.test");
        assert_eq!(e.kind, ErrorKind::ConnectRefused);
        assert_eq!(
            e.message,
            "could not connect to any of the 2 addresses of example.test: \
             connect to [::1]:1: refused; connect to 1.0.0.1:1: refused"
        );
    }

    #[test]
    fn one_address_fails_with_its_own_error() {
        let t0 = Instant::now();
        let a = addr("127.0.0.1:1");
        let mut race = Race::new(vec![a]);
        assert_eq!(race.start_due(t0), Some(a));
        assert_eq!(race.next_due(), None);
        let refused = Error::new(ErrorKind::ConnectRefused, "connect to 127.0.0.1:1: refused");
        race.failed(a, refused.clone());
        assert!(race.is_lost());
        assert_eq!(race.error("h"), refused);
        assert!(Race::new(Vec::new()).is_lost());
    }

    #[test]
    fn mixed_failures_are_an_io_error() {
        let t0 = Instant::now();
        let (a, b) = (addr("[::1]:1"), addr("1.0.0.1:1"));
        let mut race = Race::new(vec![a, b]);
        race.start_due(t0);
        race.failed(
            a,
            Error::new(ErrorKind::Unreachable, "connect to [::1]:1: unreachable"),
        );
        race.start_due(t0);
        race.failed(
            b,
            Error::new(ErrorKind::ConnectRefused, "connect to 1.0.0.1:1: refused"),
        );
        assert_eq!(race.error("h").kind, ErrorKind::Io);
    }
}
