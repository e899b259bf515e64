//! Login back-off: how long an account stays locked after repeated failed logins.
//!
//! The policy is pure arithmetic on a [`ThrottleState`] the caller keeps in the database, so it
//! holds across restarts and across server processes (an in-memory limiter does neither).
//! The first few failures cost nothing, so a user mistyping a password is not punished; after
//! that each failure doubles the lock, which caps an online guesser at a few dozen guesses a
//! day while a locked-out legitimate user waits at most an hour.
//!
//! Typical use, in one transaction: if [`LockoutPolicy::is_locked`] returns a time, refuse the
//! attempt without checking the password (and without counting it); otherwise check the
//! password and store [`LockoutPolicy::after_failure`] on failure or
//! [`ThrottleState::default`] on success.

use jiff::{SignedDuration, Timestamp};

/// The back-off rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures allowed before any lock.
    pub free_failures: u32,
    /// The first lock's length; each further failure doubles it.
    pub base: SignedDuration,
    /// The longest lock.
    pub max: SignedDuration,
    /// After this long without a failure, the count starts over.
    pub reset_after: SignedDuration,
}

impl Default for LockoutPolicy {
    /// Five free failures, then 1 minute, 2, 4, … up to 1 hour; forgotten after 24 hours.
    fn default() -> Self {
        LockoutPolicy {
            free_failures: 5,
            base: SignedDuration::from_secs(60),
            max: SignedDuration::from_hours(1),
            reset_after: SignedDuration::from_hours(24),
        }
    }
}

/// What the caller stores per account (or per account and address). The default is the state
/// of an account with no recent failures, and what to store after a successful login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleState {
    /// Consecutive failures counted so far.
    pub failures: u32,
    /// When the most recent failure happened.
    pub last_failure_at: Option<Timestamp>,
    /// Attempts are refused until then.
    pub locked_until: Option<Timestamp>,
}

impl LockoutPolicy {
    /// The state after one more failed attempt at `now`.
    ///
    /// Failures 1..=`free_failures` set no lock; failure `free_failures + k` locks for
    /// `base · 2^(k-1)`, capped at `max`, counted from `now`. If the previous failure is at
    /// least `reset_after` old, counting starts again at 1.
    pub fn after_failure(&self, previous: &ThrottleState, now: Timestamp) -> ThrottleState {
        let quiet = previous
            .last_failure_at
            .is_none_or(|last| now.duration_since(last) >= self.reset_after);
        let failures = if quiet {
            1
        } else {
            previous.failures.saturating_add(1)
        };
        let new_lock = self
            .lock_duration(failures)
            .map(|d| now.checked_add(d).unwrap_or(Timestamp::MAX));
        // Never shorten a lock that is still running.
        let running = previous.locked_until.filter(|until| *until > now);
        ThrottleState {
            failures,
            last_failure_at: Some(now),
            locked_until: new_lock.max(running),
        }
    }

    /// Until when attempts are refused, or `None` if they are allowed at `now`.
    pub fn is_locked(&self, state: &ThrottleState, now: Timestamp) -> Option<Timestamp> {
        state.locked_until.filter(|until| *until > now)
    }

    /// The lock imposed by the `failures`-th consecutive failure, if any.
    pub fn lock_duration(&self, failures: u32) -> Option<SignedDuration> {
        let doublings = failures.checked_sub(self.free_failures)?.checked_sub(1)?;
        let mut lock = self.base;
        for _ in 0..doublings {
            if lock >= self.max {
                break;
            }
            lock = lock.checked_mul(2).unwrap_or(self.max);
        }
        Some(lock.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn fail_times(policy: &LockoutPolicy, times: &[i64]) -> ThrottleState {
        times.iter().fold(ThrottleState::default(), |state, &s| {
            policy.after_failure(&state, t(s))
        })
    }

    #[test]
    fn five_free_failures_then_doubling() {
        let policy = LockoutPolicy::default();
        let mut state = ThrottleState::default();
        for n in 1..=5 {
            state = policy.after_failure(&state, t(n));
            assert_eq!(state.failures, n as u32);
            assert_eq!(state.locked_until, None);
            assert_eq!(policy.is_locked(&state, t(n)), None);
        }
        let mut now = 5;
        for (n, minutes) in [(6, 1), (7, 2), (8, 4), (9, 8), (10, 16), (11, 32)] {
            now += 10;
            state = policy.after_failure(&state, t(now));
            assert_eq!(state.failures, n);
            assert_eq!(
                state.locked_until,
                Some(t(now + minutes * 60)),
                "failure {n}"
            );
            assert_eq!(
                policy.is_locked(&state, t(now)),
                Some(t(now + minutes * 60))
            );
        }
    }

    #[test]
    fn lock_is_capped() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.lock_duration(5), None);
        assert_eq!(policy.lock_duration(6), Some(SignedDuration::from_mins(1)));
        assert_eq!(
            policy.lock_duration(11),
            Some(SignedDuration::from_mins(32))
        );
        assert_eq!(
            policy.lock_duration(12),
            Some(SignedDuration::from_hours(1))
        );
        assert_eq!(
            policy.lock_duration(13),
            Some(SignedDuration::from_hours(1))
        );
        assert_eq!(
            policy.lock_duration(u32::MAX),
            Some(SignedDuration::from_hours(1))
        );
        let state = fail_times(&policy, &(0..40).collect::<Vec<_>>());
        assert_eq!(state.failures, 40);
        assert_eq!(state.locked_until, Some(t(39 + 3600)));
    }

    #[test]
    fn lock_expires() {
        let policy = LockoutPolicy::default();
        let state = fail_times(&policy, &[0, 1, 2, 3, 4, 5]);
        assert_eq!(policy.is_locked(&state, t(5)), Some(t(65)));
        assert_eq!(policy.is_locked(&state, t(64)), Some(t(65)));
        assert_eq!(policy.is_locked(&state, t(65)), None);
        assert_eq!(policy.is_locked(&state, t(1000)), None);
        // The next failure after the lock expires doubles it.
        let state = policy.after_failure(&state, t(100));
        assert_eq!(state.failures, 7);
        assert_eq!(policy.is_locked(&state, t(100)), Some(t(220)));
    }

    #[test]
    fn quiet_time_resets_the_count() {
        let policy = LockoutPolicy::default();
        let day = 24 * 3600;
        let state = fail_times(&policy, &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(state.failures, 7);
        let state = policy.after_failure(&state, t(6 + day));
        assert_eq!(state.failures, 1);
        assert_eq!(state.locked_until, None);
        assert_eq!(policy.is_locked(&state, t(6 + day)), None);
        // Just under a day keeps counting.
        let state = fail_times(&policy, &[0, 1, 2, 3, 4, 4 + day - 1]);
        assert_eq!(state.failures, 6);
        assert!(state.locked_until.is_some());
    }

    #[test]
    fn success_clears_everything() {
        let policy = LockoutPolicy::default();
        let state = fail_times(&policy, &[0, 1, 2, 3]);
        assert_eq!(state.failures, 4);
        let cleared = ThrottleState::default();
        let state = policy.after_failure(&cleared, t(5));
        assert_eq!(state.failures, 1);
    }

    #[test]
    fn a_running_lock_is_not_shortened() {
        let policy = LockoutPolicy {
            reset_after: SignedDuration::from_mins(30),
            ..LockoutPolicy::default()
        };
        // A lock longer than the reset period, then a failure after quiet time.
        let state = ThrottleState {
            failures: 12,
            last_failure_at: Some(t(0)),
            locked_until: Some(t(3600)),
        };
        let next = policy.after_failure(&state, t(1800));
        assert_eq!(next.failures, 1);
        assert_eq!(next.locked_until, Some(t(3600)));
    }

    #[test]
    fn clock_far_in_the_future_does_not_overflow() {
        let policy = LockoutPolicy::default();
        let state = ThrottleState {
            failures: 10,
            last_failure_at: Some(Timestamp::MAX),
            locked_until: None,
        };
        let next = policy.after_failure(&state, Timestamp::MAX);
        assert_eq!(next.locked_until, Some(Timestamp::MAX));
    }
}
