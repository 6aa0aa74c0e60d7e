//! Application timers: one-shot and periodic callbacks on the loop's thread.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::engine::{Due, Engine};

/// What a timer runs; gets the timer's id.
pub type TimerCallback = Box<dyn FnMut(u64) + Send>;

pub(super) struct Timer {
    due: Instant,
    interval: Option<Duration>,
    /// Taken out while it runs, so the lock is not held during the call.
    callback: Option<TimerCallback>,
}

#[derive(Default)]
pub(super) struct Timers {
    next_id: u64,
    entries: HashMap<u64, Timer>,
}

impl Timers {
    /// Adds a timer due at `due`; returns its id (never 0).
    pub(super) fn start(
        &mut self,
        due: Instant,
        interval: Option<Duration>,
        callback: TimerCallback,
    ) -> u64 {
        self.next_id += 1;
        let timer = Timer {
            due,
            interval,
            callback: Some(callback),
        };
        self.entries.insert(self.next_id, timer);
        self.next_id
    }

    /// Removes a timer; false if there is none with this id.
    pub(super) fn stop(&mut self, id: u64) -> bool {
        self.entries.remove(&id).is_some()
    }
}

impl Engine {
    /// Runs an application timer, without holding the timer lock during its callback (which
    /// may start or stop timers, its own included).
    pub(super) fn fire_timer(&mut self, id: u64, at: Instant) {
        let mut callback = {
            let mut timers = self.shared.timers();
            match timers.entries.get_mut(&id) {
                Some(timer) if timer.due == at => match timer.callback.take() {
                    Some(callback) => callback,
                    None => return,
                },
                _ => return, // stopped, or superseded
            }
        };
        callback(id);
        let mut timers = self.shared.timers();
        let Some(timer) = timers.entries.get_mut(&id) else {
            return;
        }; // stopped in the callback
        match timer.interval {
            Some(interval) => {
                // The next tick follows the schedule, not the callback's duration; a loop that
                // fell far behind skips ticks rather than firing a burst.
                let mut next = at + interval.max(Duration::from_millis(1));
                let now = Instant::now();
                if next <= now {
                    next = now + interval;
                }
                timer.due = next;
                timer.callback = Some(callback);
                drop(timers);
                self.timers.push(Reverse((next, Due::Timer(id))));
            }
            None => {
                timers.entries.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::context::{Context, DEFAULT_READ_BUFFER};

    fn run_for(ctx: &Context, total: Duration) {
        let end = Instant::now() + total;
        while Instant::now() < end {
            ctx.service(Some(Duration::from_millis(5))).unwrap();
        }
    }

    #[test]
    fn one_shot_and_periodic_timers() {
        let ctx = Context::new(DEFAULT_READ_BUFFER).unwrap();
        let once = Arc::new(AtomicU32::new(0));
        let ticks = Arc::new(AtomicU32::new(0));
        let o = once.clone();
        let once_id = ctx
            .start_timer(
                Duration::from_millis(10),
                None,
                Box::new(move |_| {
                    o.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .unwrap();
        let t = ticks.clone();
        let periodic = ctx
            .start_timer(
                Duration::ZERO,
                Some(Duration::from_millis(20)),
                Box::new(move |_| {
                    t.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .unwrap();
        assert_ne!(once_id, periodic);
        let started = Instant::now();
        while ticks.load(Ordering::SeqCst) < 4 || once.load(Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "timers did not fire"
            );
            ctx.service(Some(Duration::from_millis(5))).unwrap();
        }
        let n = ticks.load(Ordering::SeqCst);
        // Never more often than the schedule: the first tick at 0, then one per 20 ms.
        let allowed = started.elapsed().as_millis() / 20 + 2;
        assert!(
            u128::from(n) <= allowed,
            "{n} ticks, at most {allowed} allowed"
        );
        assert_eq!(once.load(Ordering::SeqCst), 1);
        assert!(!ctx.stop_timer(once_id), "a fired one-shot is gone");
        assert!(ctx.stop_timer(periodic));
        run_for(&ctx, Duration::from_millis(50));
        assert_eq!(ticks.load(Ordering::SeqCst), n, "no tick after stop");
    }

    #[test]
    fn a_timer_can_stop_itself_and_timers_from_other_threads_wake_the_loop() {
        let ctx = Arc::new(Context::new(DEFAULT_READ_BUFFER).unwrap());
        let fired = Arc::new(AtomicU32::new(0));
        let (c, f) = (ctx.clone(), fired.clone());
        let started = Instant::now();
        let other = std::thread::spawn(move || {
            c.start_timer(Duration::ZERO, Some(Duration::from_millis(1)), {
                let c = c.clone();
                Box::new(move |id| {
                    f.fetch_add(1, Ordering::SeqCst);
                    assert!(c.stop_timer(id));
                })
            })
            .unwrap()
        });
        // Blocks until the other thread's timer wakes it, then runs it.
        while fired.load(Ordering::SeqCst) == 0 {
            ctx.service(Some(Duration::from_secs(5))).unwrap();
        }
        let id = other.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        run_for(&ctx, Duration::from_millis(20));
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert!(!ctx.stop_timer(id));
    }
}
