//! When to try a failed send again, and when to stop trying and tell a person.
//!
//! A send that fails for a passing reason (a 503, a timeout, an SMTP 4xx) is retried with
//! exponential back-off and *full jitter*: the delay is a random point between zero and the
//! exponential ceiling, so many jobs that failed together (the receiver was down) do not all
//! come back at the same instant. A send that fails for a lasting reason (a 404, a 5xx SMTP
//! rejection, a refused target) is not retried: retrying cannot help, and the failure must be
//! visible at once. The random fraction is a parameter so the schedule is testable.

use jiff::SignedDuration;
use kizuki_domain::ValidationError;
use kizuki_domain::error::Validator;
use serde::{Deserialize, Serialize};

/// How one attempt ended, as the sender observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The HTTP receiver answered. `retry_after` is its `Retry-After`, when it gave one.
    Http {
        status: u16,
        retry_after: Option<SignedDuration>,
    },
    /// The SMTP server's final reply code for the message.
    Smtp {
        code: u16,
    },
    Timeout,
    ConnectionRefused,
    /// The connection broke off before an answer.
    ConnectionReset,
    /// The name did not resolve; DNS outages pass, so this is retried.
    Dns,
    /// The TLS handshake failed (expired or wrong certificate): a person must fix it.
    Tls,
    /// The target guard refused the address; see [`crate::target_guard`].
    TargetRefused,
}

/// What an outcome means for the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Delivered,
    /// Worth another attempt later.
    Transient,
    /// No later attempt can succeed without a person changing something.
    Permanent,
}

/// Sorts an outcome into delivered, transient or permanent.
pub fn classify(outcome: Outcome) -> Verdict {
    match outcome {
        Outcome::Http { status, .. } => match status {
            200..=299 => Verdict::Delivered,
            // Request timeout and too many requests: the receiver asks us to come back.
            408 | 429 => Verdict::Transient,
            // Redirects are not followed (each hop would need the target guard again), so
            // a redirecting webhook is a configuration to fix, like any other 4xx.
            300..=499 => Verdict::Permanent,
            500..=599 => Verdict::Transient,
            _ => Verdict::Permanent,
        },
        Outcome::Smtp { code } => match code {
            200..=299 => Verdict::Delivered,
            400..=499 => Verdict::Transient,
            500..=599 => Verdict::Permanent,
            // An odd reply is retried; the attempt limit still bounds it.
            _ => Verdict::Transient,
        },
        Outcome::Timeout | Outcome::ConnectionRefused | Outcome::ConnectionReset | Outcome::Dns => {
            Verdict::Transient
        }
        Outcome::Tls | Outcome::TargetRefused => Verdict::Permanent,
    }
}

/// The back-off policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling after the first failure; it doubles after each further one.
    pub base: SignedDuration,
    /// The ceiling never grows past this.
    pub cap: SignedDuration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for Backoff {
    /// Thirty attempts, never waiting more than an hour between them: at most about 23 hours
    /// of trying (half that on average, with jitter), long enough to ride out a receiver's
    /// outage, short enough that someone sees the failure the same day.
    fn default() -> Self {
        Backoff {
            base: SignedDuration::from_secs(30),
            cap: SignedDuration::from_hours(1),
            max_attempts: 30,
        }
    }
}

/// Why the sender stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveUp {
    Permanent,
    AttemptsExhausted,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Done,
    RetryAfter(SignedDuration),
    GiveUp(GiveUp),
}

/// Most attempts a policy may have; beyond this a failure is hidden for too long.
pub const MAX_ATTEMPTS: u32 = 100;

impl Backoff {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        if !self.base.is_positive() {
            v.push("base", "must be longer than zero");
        }
        if self.cap < self.base {
            v.push("cap", "must not be shorter than the base delay");
        }
        if self.cap > SignedDuration::from_hours(24) {
            v.push("cap", "must be at most 24 hours");
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            v.push(
                "max_attempts",
                format!("must be between 1 and {MAX_ATTEMPTS}"),
            );
        }
        v.finish()
    }

    /// The exponential ceiling after `failed_attempt` failures (1 = the first attempt failed).
    pub fn ceiling(&self, failed_attempt: u32) -> SignedDuration {
        let doublings = failed_attempt.saturating_sub(1).min(62);
        let factor = 1i64 << doublings;
        let base = self.base.as_millis();
        let grown = base.saturating_mul(i128::from(factor));
        let cap = self.cap.as_millis();
        millis(grown.min(cap))
    }

    /// The delay before the next attempt: a point between zero and the ceiling chosen by
    /// `fraction`, a random number in `[0, 1)` from the caller. Out-of-range fractions are
    /// clamped, and a NaN counts as the full ceiling (the cautious end).
    pub fn delay(&self, failed_attempt: u32, fraction: f64) -> SignedDuration {
        let fraction = if fraction.is_nan() {
            1.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let ceiling = self.ceiling(failed_attempt).as_millis();
        // Exact enough: ceilings are at most a day, well inside f64's 53-bit integers.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let ms = (ceiling as f64 * fraction).floor() as i128;
        millis(ms.clamp(0, ceiling))
    }

    /// Decides what follows attempt number `attempt` (1-based) ending in `outcome`.
    /// A receiver's `Retry-After` is honoured up to the cap, never shortened by jitter.
    pub fn next(&self, attempt: u32, outcome: Outcome, fraction: f64) -> Next {
        match classify(outcome) {
            Verdict::Delivered => Next::Done,
            Verdict::Permanent => Next::GiveUp(GiveUp::Permanent),
            Verdict::Transient if attempt >= self.max_attempts => {
                Next::GiveUp(GiveUp::AttemptsExhausted)
            }
            Verdict::Transient => {
                let mut delay = self.delay(attempt, fraction);
                if let Outcome::Http {
                    retry_after: Some(asked),
                    ..
                } = outcome
                {
                    delay = delay.max(asked.min(self.cap));
                }
                Next::RetryAfter(delay)
            }
        }
    }
}

fn millis(ms: i128) -> SignedDuration {
    SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    fn http(status: u16) -> Outcome {
        Outcome::Http {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn classification_table() {
        use Verdict::*;
        let cases: &[(Outcome, Verdict)] = &[
            (http(200), Delivered),
            (http(204), Delivered),
            (http(301), Permanent),
            (http(400), Permanent),
            (http(401), Permanent),
            (http(403), Permanent),
            (http(404), Permanent),
            (http(408), Transient),
            (http(410), Permanent),
            (http(413), Permanent),
            (http(429), Transient),
            (http(500), Transient),
            (http(502), Transient),
            (http(503), Transient),
            (http(504), Transient),
            (http(99), Permanent),
            (http(600), Permanent),
            (Outcome::Smtp { code: 250 }, Delivered),
            (Outcome::Smtp { code: 421 }, Transient),
            (Outcome::Smtp { code: 450 }, Transient),
            (Outcome::Smtp { code: 452 }, Transient),
            (Outcome::Smtp { code: 550 }, Permanent),
            (Outcome::Smtp { code: 553 }, Permanent),
            (Outcome::Smtp { code: 354 }, Transient),
            (Outcome::Timeout, Transient),
            (Outcome::ConnectionRefused, Transient),
            (Outcome::ConnectionReset, Transient),
            (Outcome::Dns, Transient),
            (Outcome::Tls, Permanent),
            (Outcome::TargetRefused, Permanent),
        ];
        for (outcome, expect) in cases {
            assert_eq!(classify(*outcome), *expect, "{outcome:?}");
        }
    }

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let b = Backoff {
            base: secs(10),
            cap: secs(300),
            max_attempts: 10,
        };
        let got: Vec<i64> = (1..=8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(got, vec![10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.ceiling(0), secs(10));
        assert_eq!(
            b.ceiling(u32::MAX),
            secs(300),
            "no overflow for huge attempt numbers"
        );
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let b = Backoff {
            base: secs(10),
            cap: secs(300),
            max_attempts: 10,
        };
        let cases: &[(u32, f64, i64)] = &[
            (1, 0.0, 0),
            (1, 0.5, 5_000),
            (1, 0.999_999, 9_999),
            (3, 0.25, 10_000),
            (9, 0.5, 150_000),
            (2, -1.0, 0),
            (2, 7.0, 20_000),
            (2, f64::NAN, 20_000),
        ];
        for (attempt, fraction, ms) in cases {
            assert_eq!(
                b.delay(*attempt, *fraction).as_millis(),
                i128::from(*ms),
                "attempt {attempt} fraction {fraction}"
            );
        }
    }

    #[test]
    fn next_step_table() {
        let b = Backoff {
            base: secs(10),
            cap: secs(300),
            max_attempts: 3,
        };
        let asked = |s, status| Outcome::Http {
            status,
            retry_after: Some(secs(s)),
        };
        let cases: &[(u32, Outcome, f64, Next)] = &[
            (1, http(200), 0.5, Next::Done),
            (1, http(503), 0.5, Next::RetryAfter(secs(5))),
            (2, http(503), 0.5, Next::RetryAfter(secs(10))),
            (3, http(503), 0.5, Next::GiveUp(GiveUp::AttemptsExhausted)),
            (1, http(404), 0.5, Next::GiveUp(GiveUp::Permanent)),
            (3, http(404), 0.5, Next::GiveUp(GiveUp::Permanent)),
            (
                1,
                Outcome::Smtp { code: 451 },
                1.0,
                Next::RetryAfter(secs(10)),
            ),
            (
                1,
                Outcome::Smtp { code: 554 },
                1.0,
                Next::GiveUp(GiveUp::Permanent),
            ),
            // Retry-After wins over a shorter jittered delay, but not past the cap.
            (1, asked(60, 429), 0.5, Next::RetryAfter(secs(60))),
            (1, asked(1, 429), 0.5, Next::RetryAfter(secs(5))),
            (1, asked(86_400, 503), 0.5, Next::RetryAfter(secs(300))),
            (
                3,
                asked(60, 429),
                0.5,
                Next::GiveUp(GiveUp::AttemptsExhausted),
            ),
        ];
        for (attempt, outcome, fraction, expect) in cases {
            assert_eq!(
                b.next(*attempt, *outcome, *fraction),
                *expect,
                "{attempt} {outcome:?}"
            );
        }
    }

    #[test]
    fn default_policy_tries_for_most_of_a_day_at_most() {
        let b = Backoff::default();
        let longest: i64 = (1..b.max_attempts).map(|n| b.delay(n, 1.0).as_secs()).sum();
        assert!(
            (22 * 3600..24 * 3600).contains(&longest),
            "{longest} s, the doc comment says about 23 hours"
        );
        assert_eq!(
            b.next(b.max_attempts, Outcome::Timeout, 0.5),
            Next::GiveUp(GiveUp::AttemptsExhausted)
        );
    }

    #[test]
    fn default_policy_is_valid_and_bad_ones_name_fields() {
        assert_eq!(Backoff::default().validate(), Ok(()));
        let bad = Backoff {
            base: secs(0),
            cap: secs(-1),
            max_attempts: 0,
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["base", "cap", "max_attempts"]);
        let too_long = Backoff {
            cap: SignedDuration::from_hours(25),
            ..Backoff::default()
        };
        assert!(too_long.validate().is_err());
    }
}
