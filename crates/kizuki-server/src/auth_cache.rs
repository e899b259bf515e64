//! A short-lived memory of which token hash belongs to which user, so that a busy client does
//! not cost a database round trip per request. Entries live a few seconds: a token that is
//! revoked or expires stops working within that time on every replica.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::user::{TokenScope, User};

/// How long a successful lookup is trusted.
pub const TTL: SignedDuration = SignedDuration::from_secs(5);
/// Beyond this many entries the cache starts afresh instead of growing.
const MAX_ENTRIES: usize = 10_000;

/// A token's user and scope.
pub type Token = (User, TokenScope);

#[derive(Debug, Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (Token, Timestamp)>>,
}

impl AuthCache {
    /// The user for this token hash, if looked up less than [`TTL`] ago.
    pub fn get(&self, hash: &str, now: Timestamp) -> Option<Token> {
        let entries = self.entries.lock().ok()?;
        let (user, at) = entries.get(hash)?;
        (now.duration_since(*at) < TTL && *at <= now).then(|| user.clone())
    }

    pub fn put(&self, hash: String, user: Token, now: Timestamp) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (user, now));
        }
    }

    /// Forgets every entry: after a token is revoked, a role changed or a user deactivated in
    /// this process (other replicas catch up within [`TTL`]).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kizuki_domain::user::Role;

    fn user() -> Token {
        (person(), TokenScope::full())
    }

    fn person() -> User {
        User {
            id: 7,
            email: "a@example.jp".into(),
            display_name: "A".into(),
            role: Role::Responder,
            mfa_enabled: false,
            language: None,
            active: true,
            created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = AuthCache::default();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        cache.put("h".into(), user(), t0);
        assert_eq!(
            cache.get("h", t0.checked_add(SignedDuration::from_secs(4)).unwrap()),
            Some(user())
        );
        assert_eq!(cache.get("h", t0.checked_add(TTL).unwrap()), None);
        assert_eq!(cache.get("other", t0), None);
        cache.clear();
        assert_eq!(cache.get("h", t0), None);
    }
}
