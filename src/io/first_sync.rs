//! How long a caller waits for a live source's first complete sync, and what it tells
//! the user meanwhile: `twinbench connect` and the workbench's Connect dialog share it.
//!
//! A server that has never answered is given [`FIRST_ANSWER_LIMIT`] (10 s), unless the
//! user asked for a wait of their own (`--wait`): refused connections, DNS failures,
//! TLS errors, HTTP errors and timeouts end the wait with their cause instead of a
//! silent two minutes. A server that has answered (a backfill under way) is given the
//! whole wait, [`DEFAULT_WAIT`] unless the user chose one; while it makes progress
//! there is no limit, as a long backfill is not a fault. A permanent failure
//! ([`ConnState::Failed`]) ends the wait at once. Each retry is reported once, with its
//! reason, the attempt, the time elapsed and the time left; the wait also ends as soon
//! as the next attempt would start after the limit, since nothing more can be learnt.
//!
//! "Answered" is the caller's to say (`LiveStats::requests > 0`: the Prometheus source
//! counts a request when an answer arrived). The watcher is pure: the caller passes the
//! states reported since its last call and the elapsed time, so tests need no clock.

use std::time::Duration;

use super::live::ConnState;

/// How long a server that has never answered is waited for by default.
pub const FIRST_ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// How long a first sync is waited for by default once the server has answered.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(120);

/// Watches a source until its first complete sync.
#[derive(Clone, Debug)]
pub struct FirstSync {
    name: String,
    wait: Option<Duration>,
    /// When the next attempt starts (since the wait began), as the last retry said.
    next_attempt: Option<Duration>,
}

/// What one look at the source found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// One line per retry reported since the last look:
    /// `waiting for URL: REASON (attempt 3, 4 s elapsed, next attempt in 4 s, giving up in 6 s)`.
    pub lines: Vec<String>,
    /// Set when waiting longer cannot help: the cause, ready to show.
    pub give_up: Option<String>,
}

impl FirstSync {
    /// A watcher for the source called `name` (its URL); `wait` is the user's own limit,
    /// if any.
    pub fn new(name: &str, wait: Option<Duration>) -> Self {
        FirstSync { name: name.to_string(), wait, next_attempt: None }
    }

    /// The limit that applies now.
    pub fn limit(&self, answered: bool) -> Duration {
        match self.wait {
            Some(w) => w,
            None if answered => DEFAULT_WAIT,
            None => FIRST_ANSWER_LIMIT,
        }
    }

    /// Looks at the source: `states` reported since the last look (in order),
    /// `current` its state now, whether it has `answered` at all, and the time since
    /// the wait began.
    pub fn observe(
        &mut self,
        states: &[ConnState],
        current: &ConnState,
        answered: bool,
        elapsed: Duration,
    ) -> Observed {
        let limit = self.limit(answered);
        let secs = |d: Duration| d.as_secs_f64().round() as u64;
        let mut observed = Observed::default();
        for state in states {
            if let ConnState::Retrying { in_secs, attempt, reason } = state {
                let next = elapsed + Duration::from_secs(*in_secs);
                self.next_attempt = Some(next);
                if next > limit {
                    continue;
                }
                observed.lines.push(format!(
                    "waiting for {}: {reason} (attempt {attempt}, {} s elapsed, next attempt in {in_secs} s, giving up in {} s)",
                    self.name,
                    secs(elapsed),
                    secs(limit.saturating_sub(elapsed)),
                ));
            }
        }
        let gave_up = |what: String| format!("gave up after {} s: {what}", secs(elapsed));
        // The next attempt as announced when the retry was first seen, not from now.
        let next_attempt = |in_secs: u64| self.next_attempt.unwrap_or(elapsed + Duration::from_secs(in_secs));
        observed.give_up = match current {
            ConnState::Failed { reason } => Some(reason.clone()),
            ConnState::Stopped => Some("the sync thread stopped unexpectedly".into()),
            ConnState::Retrying { in_secs, attempt, reason } if next_attempt(*in_secs) > limit || elapsed >= limit => {
                let tries = if *attempt == 1 { "1 attempt".to_string() } else { format!("{attempt} attempts") };
                Some(gave_up(format!("{reason} ({tries})")))
            }
            ConnState::Connecting if !answered && elapsed >= limit => Some(gave_up(format!(
                "timed out: no answer from {} within {} (the first request is still waiting)",
                self.name,
                super::time::format_duration(limit)
            ))),
            _ => None,
        };
        observed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrying(attempt: u32, in_secs: u64) -> ConnState {
        ConnState::Retrying { in_secs, attempt, reason: "connection refused: http://h:1/x".into() }
    }

    const URL: &str = "http://h:1";

    #[test]
    fn a_server_that_never_answered_is_given_ten_seconds_and_each_retry_is_told() {
        let mut w = FirstSync::new(URL, None);
        let s = Duration::from_secs;
        // Attempts at 0, 1, 3 s (backoff 1, 2, 4 s): told, with the time left.
        let o = w.observe(&[retrying(1, 1)], &retrying(1, 1), false, s(0));
        assert_eq!(
            o.lines,
            [
                "waiting for http://h:1: connection refused: http://h:1/x (attempt 1, 0 s elapsed, next attempt in 1 s, giving up in 10 s)"
            ]
        );
        assert_eq!(o.give_up, None);
        let o = w.observe(&[retrying(3, 4)], &retrying(3, 4), false, s(3));
        assert!(o.lines[0].contains("(attempt 3, 3 s elapsed, next attempt in 4 s, giving up in 7 s)"), "{o:?}");
        // Still before the attempt announced for 7 s: no verdict from the clock alone.
        assert_eq!(w.observe(&[], &retrying(3, 4), false, s(6)).give_up, None);
        // The fourth attempt fails at 7 s; the fifth would start at 15 s: give up now.
        let o = w.observe(&[retrying(4, 8)], &retrying(4, 8), false, s(7));
        assert!(o.lines.is_empty());
        assert_eq!(o.give_up.as_deref(), Some("gave up after 7 s: connection refused: http://h:1/x (4 attempts)"));
        // A first request that hangs: the wait ends at the limit with "timed out".
        let o = w.observe(&[], &ConnState::Connecting, false, s(10));
        assert!(
            o.give_up.as_deref().is_some_and(|g| g.contains("timed out: no answer from http://h:1 within 10s")),
            "{o:?}"
        );
        assert_eq!(w.observe(&[], &ConnState::Connecting, false, s(9)).give_up, None);
    }

    #[test]
    fn an_answering_server_or_an_explicit_wait_gets_longer() {
        let s = Duration::from_secs;
        let mut w = FirstSync::new(URL, None);
        // Answered before: a backfill under way has no limit, a retry has two minutes.
        assert_eq!(w.observe(&[], &ConnState::Connecting, true, s(600)).give_up, None);
        assert_eq!(w.observe(&[], &retrying(4, 8), true, s(7)).give_up, None);
        assert!(w.observe(&[], &retrying(7, 60), true, s(63)).give_up.is_some());
        // --wait 5m: a server that never answered is retried for five minutes.
        let mut w = FirstSync::new(URL, Some(s(300)));
        assert_eq!(w.observe(&[], &retrying(5, 16), false, s(15)).give_up, None);
        assert!(w.observe(&[], &retrying(9, 60), false, s(255)).give_up.is_some());
        // --wait 1s: the first failure ends it.
        let mut w = FirstSync::new(URL, Some(s(1)));
        assert!(w.observe(&[retrying(1, 1)], &retrying(1, 1), false, Duration::from_millis(20)).give_up.is_some());
    }

    #[test]
    fn a_permanent_failure_ends_the_wait_at_once() {
        let mut w = FirstSync::new(URL, None);
        let failed = ConnState::Failed { reason: "authentication refused (HTTP 401)".into() };
        let o = w.observe(std::slice::from_ref(&failed), &failed, true, Duration::ZERO);
        assert_eq!(o.give_up.as_deref(), Some("authentication refused (HTTP 401)"));
    }
}
