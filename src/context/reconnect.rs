//! What follows a finished session: a redirect followed at once, a reconnect after a backoff,
//! or the end of the connection.

use std::cmp::Reverse;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::engine::{Due, Engine, PendingRestart, RESTART_TOKEN};
use crate::handle::{ClosedBy, NO_TOKEN};
use crate::session::{Next, Session};

impl Engine {
    /// A session is done: follow its redirect, schedule its reconnect, or end the connection.
    pub(super) fn after(&mut self, mut session: Session) {
        match session.next(Instant::now()) {
            Next::Finish => self.end(session),
            Next::Redirect(target, options, carry) => {
                log!(session.conn.log, Info, "redirect to {}", target.url());
                let conn = session.conn.clone();
                match Session::new(conn, target, options, Instant::now(), carry) {
                    Ok(next) => self.start(next),
                    Err(e) => {
                        session.conn.notify_error(&e);
                        self.end(session);
                    }
                }
            }
            Next::Reconnect(at, target, options, carry) => {
                self.generation = self.generation.wrapping_add(1);
                let token = RESTART_TOKEN | (self.generation & !RESTART_TOKEN);
                let conn = session.conn.clone();
                let wait = at.saturating_duration_since(Instant::now()).as_millis();
                log!(
                    conn.log,
                    Warn,
                    "reconnecting in {wait} ms (retry {})",
                    carry.attempt
                );
                conn.set_token(token);
                session.finish(Some(at));
                self.restarts.insert(
                    token,
                    PendingRestart {
                        conn,
                        target,
                        options,
                        carry,
                    },
                );
                self.timers.push(Reverse((at, Due::Restart(token))));
                // A close from inside that on_close cancels the retry at once: a last
                // on_close follows (closed by the application).
                self.check_restart(token);
            }
        }
    }

    /// A connection waiting to reconnect: ends it if the application closed it meanwhile.
    pub(super) fn check_restart(&mut self, token: usize) {
        let cancelled = self
            .restarts
            .get(&token)
            .is_some_and(|p| p.conn.retry_cancelled() || p.conn.abort_requested());
        if cancelled || self.shared.is_stopping() {
            if let Some(pending) = self.restarts.remove(&token) {
                pending.conn.end_without_session(ClosedBy::Application);
                self.shared.live.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// The next attempt of a connection waiting to reconnect.
    pub(super) fn restart(&mut self, token: usize) {
        self.check_restart(token);
        let Some(pending) = self.restarts.remove(&token) else {
            return;
        };
        let PendingRestart {
            conn,
            mut target,
            mut options,
            carry,
        } = pending;
        // The application may change the URL and headers of this attempt, or close it.
        conn.handler.on_reconnect(&conn, carry.attempt);
        if conn.retry_cancelled() || self.shared.is_stopping() {
            conn.end_without_session(ClosedBy::Application);
            self.shared.live.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        conn.take_next_attempt().apply(&mut target, &mut options);
        conn.set_retry_at(None);
        log!(conn.log, Info, "retry {} starts", carry.attempt);
        match Session::new(conn.clone(), target, options, Instant::now(), carry) {
            Ok(session) => self.start(session),
            Err(e) => {
                conn.notify_error(&e);
                conn.end_without_session(ClosedBy::Application);
                self.shared.live.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// The last step of every connection: `on_close`, then it no longer counts as live.
    pub(super) fn end(&mut self, mut session: Session) {
        session.conn.set_token(NO_TOKEN);
        session.finish(None);
        self.shared.live.fetch_sub(1, Ordering::AcqRel);
    }
}
