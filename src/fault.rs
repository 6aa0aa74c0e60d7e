//! Fault injection for tests: with the `fault-injection` feature, a named point panics once
//! after [`arm`] named it, so tests can prove that every export and every callback dispatch
//! survives a panic inside wsc. Without the feature [`point`] compiles to nothing.

#[cfg(feature = "fault-injection")]
mod armed {
    use std::sync::Mutex;

    static ARMED: Mutex<Option<String>> = Mutex::new(None);

    /// The next time the point `name` is reached (on any thread), it panics.
    pub fn arm(name: &str) {
        *ARMED.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.to_string());
    }

    /// Whether an armed point has not fired yet.
    pub fn pending() -> bool {
        ARMED.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    pub fn point(name: &str) {
        let mut armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
        if armed.as_deref() == Some(name) {
            *armed = None;
            drop(armed);
            panic!("fault injected at {name}");
        }
    }
}

#[cfg(feature = "fault-injection")]
pub use armed::{arm, pending, point};

/// A place where tests may inject a panic; nothing without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
