//! In-memory, per-address rate limiting (GCRA), with time passed in from the injected clock.
//!
//! Each key remembers one number, its "theoretical arrival time" (TAT): the moment its bucket
//! will be full again. A request is allowed when, after adding one emission interval, the TAT is
//! no more than `burst` intervals ahead of now. A key whose TAT has passed is indistinguishable
//! from a new key, so it is forgotten; the map is also capped, so memory stays bounded whatever
//! the number of addresses.
//!
//! IPv6 addresses are grouped by /64: one host usually owns a whole /64, and counting every
//! address separately would let it pick a fresh one per attempt.
//!
//! The limits hold per process; state that must survive restarts or be shared by replicas
//! (account lock-out) belongs in the database.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};

use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use crate::error::ApiError;

const MICROS_PER_MINUTE: i64 = 60_000_000;
/// Without a sweep, idle keys are dropped at least this often.
const SWEEP_EVERY_MICROS: i64 = MICROS_PER_MINUTE;
/// The default cap on remembered keys (roughly 50 bytes each).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// What a limiter allows: `burst` requests at once, then `per_minute` a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub burst: NonZeroU32,
    pub per_minute: NonZeroU32,
}

impl Quota {
    /// Login attempts: 10 at once, then one every 6 seconds.
    pub const LOGIN: Quota = Quota {
        burst: nonzero(10),
        per_minute: nonzero(10),
    };
}

const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// What a limiter counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKey {
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
    /// Requests whose address is unknown share one bucket.
    Unknown,
}

impl From<IpAddr> for RateKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => RateKey::V4(v4),
            IpAddr::V6(v6) => {
                let prefix = u64::try_from(u128::from(v6) >> 64).unwrap_or_default();
                RateKey::V6Prefix(prefix)
            }
        }
    }
}

impl From<Option<IpAddr>> for RateKey {
    fn from(ip: Option<IpAddr>) -> Self {
        ip.map_or(RateKey::Unknown, RateKey::from)
    }
}

/// How long to wait before the next attempt can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    wait: jiff::SignedDuration,
}

impl RetryAfter {
    pub fn wait(&self) -> jiff::SignedDuration {
        self.wait
    }

    /// Whole seconds, rounded up, at least 1 (for the `Retry-After` header).
    pub fn secs(&self) -> u64 {
        let micros = u128::try_from(self.wait.as_micros()).unwrap_or(0).max(1);
        u64::try_from(micros.div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }
}

impl From<RetryAfter> for ApiError {
    fn from(r: RetryAfter) -> Self {
        ApiError::TooManyRequests {
            retry_after_secs: r.secs(),
        }
    }
}

/// A 429 problem+json with `Retry-After`.
impl IntoResponse for RetryAfter {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// A keyed GCRA limiter. Cheap to share behind an `Arc`; one short lock per check.
pub struct RateLimiter {
    quota: Quota,
    /// Microseconds between two requests at the sustained rate.
    interval: i64,
    /// How far ahead of now a key's TAT may run: `burst` intervals.
    tolerance: i64,
    max_keys: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Key → TAT in microseconds since the Unix epoch.
    tats: HashMap<RateKey, i64>,
    next_sweep: i64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("quota", &self.quota)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    /// The login limiter's defaults.
    fn default() -> Self {
        Self::new(Quota::LOGIN)
    }
}

impl RateLimiter {
    pub fn new(quota: Quota) -> Self {
        let interval = (MICROS_PER_MINUTE / i64::from(quota.per_minute.get())).max(1);
        Self {
            quota,
            interval,
            tolerance: interval.saturating_mul(i64::from(quota.burst.get())),
            max_keys: DEFAULT_MAX_KEYS,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Remember at most `max_keys` keys (at least 1).
    #[must_use]
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Counts one request for `key` at `now`; `Err` says how long to wait. A refused request
    /// is not counted, so retrying after the wait succeeds.
    pub fn check(&self, key: impl Into<RateKey>, now: Timestamp) -> Result<(), RetryAfter> {
        let key = key.into();
        let now = now.as_microsecond();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if now >= inner.next_sweep {
            inner.tats.retain(|_, tat| *tat > now);
            inner.next_sweep = now.saturating_add(SWEEP_EVERY_MICROS);
        }
        let tat = inner.tats.get(&key).copied().unwrap_or(now).max(now);
        let new_tat = tat.saturating_add(self.interval);
        let ahead = new_tat.saturating_sub(now);
        if ahead > self.tolerance {
            return Err(RetryAfter {
                wait: jiff::SignedDuration::from_micros(ahead - self.tolerance),
            });
        }
        if !inner.tats.contains_key(&key) && inner.tats.len() >= self.max_keys {
            self.make_room(&mut inner.tats, now);
        }
        inner.tats.insert(key, new_tat);
        Ok(())
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tats
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops idle keys; if the map is still full, forgets the quarter of keys closest to
    /// being refilled (they lose the least). Amortised O(1) per new key.
    fn make_room(&self, tats: &mut HashMap<RateKey, i64>, now: i64) {
        tats.retain(|_, tat| *tat > now);
        if tats.len() < self.max_keys {
            return;
        }
        let mut drop = (tats.len() / 4).max(1);
        let mut values: Vec<i64> = tats.values().copied().collect();
        let (_, threshold, _) = values.select_nth_unstable(drop - 1);
        let threshold = *threshold;
        // Everything below the threshold goes; ties only until `drop` keys are gone.
        let below = tats.values().filter(|tat| **tat < threshold).count();
        drop -= below;
        tats.retain(|_, tat| {
            if *tat < threshold {
                false
            } else if *tat == threshold && drop > 0 {
                drop -= 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-06-20T03:00:00Z".parse().unwrap()
    }

    fn secs(s: i64) -> jiff::SignedDuration {
        jiff::SignedDuration::from_secs(s)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn quota(burst: u32, per_minute: u32) -> Quota {
        Quota {
            burst: NonZeroU32::new(burst).unwrap(),
            per_minute: NonZeroU32::new(per_minute).unwrap(),
        }
    }

    #[test]
    fn login_burst_of_ten_then_one_every_six_seconds() {
        let limiter = RateLimiter::default();
        let a = ip("192.0.2.1");
        for i in 0..10 {
            assert!(limiter.check(a, t0()).is_ok(), "attempt {i}");
        }
        let retry = limiter.check(a, t0()).unwrap_err();
        assert_eq!(retry.wait(), secs(6));
        assert_eq!(retry.secs(), 6);
        // Refused attempts are not counted: after the wait exactly one more is allowed.
        let later = t0() + secs(6);
        assert!(limiter.check(a, later).is_ok());
        let retry = limiter.check(a, later).unwrap_err();
        assert_eq!(retry.secs(), 6);
        let retry = limiter.check(a, later + secs(4)).unwrap_err();
        assert_eq!(retry.secs(), 2);
        assert!(limiter.check(a, later + secs(6)).is_ok());
    }

    #[test]
    fn the_bucket_refills_fully_after_idling() {
        let limiter = RateLimiter::new(quota(3, 60));
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            limiter.check(a, t0()).unwrap();
        }
        assert!(limiter.check(a, t0()).is_err());
        let later = t0() + secs(3);
        for _ in 0..3 {
            limiter.check(a, later).unwrap();
        }
        assert!(limiter.check(a, later).is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limiter = RateLimiter::new(quota(1, 7));
        let a = ip("192.0.2.1");
        limiter.check(a, t0()).unwrap();
        let retry = limiter.check(a, t0()).unwrap_err();
        // 60 s / 7 = 8.571428 s.
        assert_eq!(retry.secs(), 9);
    }

    #[test]
    fn keys_are_independent() {
        let limiter = RateLimiter::new(quota(2, 1));
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        limiter.check(a, t0()).unwrap();
        limiter.check(a, t0()).unwrap();
        assert!(limiter.check(a, t0()).is_err());
        limiter.check(b, t0()).unwrap();
        limiter.check(b, t0()).unwrap();
        assert!(limiter.check(b, t0()).is_err());
        // Unknown addresses share one bucket of their own.
        limiter.check(None, t0()).unwrap();
        limiter.check(None, t0()).unwrap();
        assert!(limiter.check(None, t0()).is_err());
    }

    #[test]
    fn ipv6_is_limited_per_64() {
        let limiter = RateLimiter::new(quota(2, 1));
        limiter.check(ip("2001:db8:1:2::1"), t0()).unwrap();
        limiter.check(ip("2001:db8:1:2:ffff::9"), t0()).unwrap();
        assert!(limiter.check(ip("2001:db8:1:2:abcd::1"), t0()).is_err());
        // The neighbouring /64 is someone else.
        limiter.check(ip("2001:db8:1:3::1"), t0()).unwrap();
        // IPv4-mapped IPv6 is the IPv4 address.
        limiter.check(ip("192.0.2.1"), t0()).unwrap();
        limiter.check(ip("::ffff:192.0.2.1"), t0()).unwrap();
        assert!(limiter.check(ip("192.0.2.1"), t0()).is_err());
    }

    #[test]
    fn memory_is_bounded() {
        let limiter = RateLimiter::new(quota(5, 1)).with_max_keys(100);
        for i in 0..10_000u32 {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            limiter.check(addr, t0()).unwrap();
            assert!(limiter.len() <= 100);
        }
        // A key that has used its burst survives the churn better than a fresh one...
        let limiter = RateLimiter::new(quota(5, 1)).with_max_keys(8);
        let busy = ip("192.0.2.1");
        for _ in 0..5 {
            limiter.check(busy, t0()).unwrap();
        }
        for i in 0..7u32 {
            limiter
                .check(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), t0())
                .unwrap();
        }
        limiter.check(ip("198.51.100.1"), t0()).unwrap();
        assert!(
            limiter.check(busy, t0()).is_err(),
            "evicted the busiest key"
        );
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let limiter = RateLimiter::new(quota(2, 60));
        for i in 0..50u32 {
            limiter
                .check(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), t0())
                .unwrap();
        }
        assert_eq!(limiter.len(), 50);
        // A minute later every bucket is full again; the next check sweeps them away.
        limiter
            .check(ip("192.0.2.1"), t0() + jiff::SignedDuration::from_mins(2))
            .unwrap();
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn a_refusal_is_a_429_problem_with_retry_after() {
        let limiter = RateLimiter::new(quota(1, 1));
        let a = ip("192.0.2.1");
        limiter.check(a, t0()).unwrap();
        let res = limiter.check(a, t0()).unwrap_err().into_response();
        assert_eq!(res.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[axum::http::header::RETRY_AFTER], "60");
        assert_eq!(
            res.headers()[axum::http::header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem = ApiError::TooManyRequests {
            retry_after_secs: 60,
        }
        .problem();
        assert_eq!(problem.status, 429);
        assert!(problem.kind.ends_with("too-many-requests"));
        assert!(problem.detail.contains("60 seconds"), "{}", problem.detail);
    }

    #[test]
    fn a_clock_that_goes_back_does_not_open_the_gate() {
        let limiter = RateLimiter::new(quota(1, 1));
        let a = ip("192.0.2.1");
        limiter.check(a, t0()).unwrap();
        assert!(limiter.check(a, t0() - secs(3600)).is_err());
    }
}
