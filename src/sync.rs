//! The locks shared between the loop and other threads.
//!
//! They are std's `Mutex` and `RwLock`. In a ThreadSanitizer build of the library (`--cfg wsc_tsan`, see
//! docs/fuzzing.md) each lock and unlock is also announced to TSan: the standard library is
//! not instrumented on stable Rust, so TSan would not see its futex-based locking and would
//! report every access made under a lock as a race.

#[cfg(not(wsc_tsan))]
pub(crate) use std::sync::{Mutex, MutexGuard, RwLock};

#[cfg(wsc_tsan)]
pub(crate) use announced::{Mutex, MutexGuard, RwLock};

#[cfg(wsc_tsan)]
mod announced {
    use std::ffi::c_void;
    use std::ops::{Deref, DerefMut};
    use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

    extern "C" {
        // ThreadSanitizer's interface (sanitizer/tsan_interface.h): a happens-before edge from
        // each release of `addr` to the acquires that follow it.
        fn __tsan_acquire(addr: *mut c_void);
        fn __tsan_release(addr: *mut c_void);
    }

    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

    pub(crate) struct MutexGuard<'a, T> {
        guard: std::sync::MutexGuard<'a, T>,
        addr: *mut c_void,
    }

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        fn announce<'a>(&'a self, guard: std::sync::MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            let addr = self as *const Self as *mut c_void;
            // SAFETY: `addr` only names the lock to TSan; it is not dereferenced.
            unsafe { __tsan_acquire(addr) };
            MutexGuard { guard, addr }
        }

        pub(crate) fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            match self.0.lock() {
                Ok(guard) => Ok(self.announce(guard)),
                Err(poisoned) => Err(PoisonError::new(self.announce(poisoned.into_inner()))),
            }
        }

        pub(crate) fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(guard) => Ok(self.announce(guard)),
                Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(
                    PoisonError::new(self.announce(poisoned.into_inner())),
                )),
                Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
            }
        }

        pub(crate) fn get_mut(&mut self) -> LockResult<&mut T> {
            self.0.get_mut()
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            // SAFETY: as in `lock`. Announced before the std guard unlocks (dropped after this).
            unsafe { __tsan_release(self.addr) };
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.guard
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.guard
        }
    }

    /// Readers and the writer alike are announced as acquiring and releasing the lock: an
    /// order among readers is more than they have, which can only hide a race between two
    /// reads, and reads do not race.
    #[derive(Debug, Default)]
    pub(crate) struct RwLock<T>(std::sync::RwLock<T>);

    pub(crate) struct Announced<G> {
        guard: G,
        addr: *mut c_void,
    }

    impl<T> RwLock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::sync::RwLock::new(value))
        }

        fn announce<G>(&self, guard: G) -> Announced<G> {
            let addr = self as *const Self as *mut c_void;
            // SAFETY: `addr` only names the lock to TSan; it is not dereferenced.
            unsafe { __tsan_acquire(addr) };
            Announced { guard, addr }
        }

        pub(crate) fn read(&self) -> LockResult<Announced<std::sync::RwLockReadGuard<'_, T>>> {
            match self.0.read() {
                Ok(guard) => Ok(self.announce(guard)),
                Err(poisoned) => Err(PoisonError::new(self.announce(poisoned.into_inner()))),
            }
        }

        pub(crate) fn write(&self) -> LockResult<Announced<std::sync::RwLockWriteGuard<'_, T>>> {
            match self.0.write() {
                Ok(guard) => Ok(self.announce(guard)),
                Err(poisoned) => Err(PoisonError::new(self.announce(poisoned.into_inner()))),
            }
        }
    }

    impl<G> Drop for Announced<G> {
        fn drop(&mut self) {
            // SAFETY: as in `announce`; before the std guard unlocks (dropped after this).
            unsafe { __tsan_release(self.addr) };
        }
    }

    impl<G: Deref> Deref for Announced<G> {
        type Target = G::Target;
        fn deref(&self) -> &G::Target {
            &self.guard
        }
    }

    impl<G: DerefMut> DerefMut for Announced<G> {
        fn deref_mut(&mut self) -> &mut G::Target {
            &mut self.guard
        }
    }
}
