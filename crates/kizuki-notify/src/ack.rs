//! Signed acknowledgement links: "I have seen this" in one tap, without signing in.
//!
//! A responder woken at night should be able to stop the escalation from the message itself.
//! The link carries the notification id and an expiry, sealed with an HMAC under a server
//! key, so nobody can forge one for another notification or stretch its life; the server keeps
//! no per-link state. The link only acknowledges (an idempotent, low-value action); anything
//! more needs a session.
//!
//! Token form: `v1.<notification id>.<expiry, unix seconds>.<hex HMAC-SHA-256>`; only URL-safe
//! characters, so it can sit in a path or query without encoding.

use std::fmt;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Keeps these MACs apart from any other use of the same key bytes.
const CONTEXT: &[u8] = b"kizuki acknowledgement link v1\0";

/// Shortest key accepted: 256 bits, the strength of the MAC itself.
pub const MIN_KEY_BYTES: usize = 32;

/// Longest token looked at; anything longer is refused before any work is done on it.
const MAX_TOKEN_LEN: usize = 128;

/// The server's key for acknowledgement links, kept as a ready keyed MAC. Its `Debug` never
/// shows the key.
#[derive(Clone)]
pub struct AckKey(HmacSha256);

impl fmt::Debug for AckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AckKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an acknowledgement key needs at least {MIN_KEY_BYTES} bytes; got {0}")]
pub struct KeyTooShort(pub usize);

impl AckKey {
    pub fn new(bytes: &[u8]) -> Result<AckKey, KeyTooShort> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort(bytes.len()));
        }
        HmacSha256::new_from_slice(bytes)
            .map(AckKey)
            .map_err(|_| KeyTooShort(bytes.len()))
    }

    fn mac(&self, id: &str, expires: &str) -> HmacSha256 {
        let mut m = self.0.clone();
        m.update(CONTEXT);
        m.update(id.as_bytes());
        m.update(b".");
        m.update(expires.as_bytes());
        m
    }
}

/// Why a link was refused. The page shown to the user says only "this link is not valid
/// or has expired"; the distinction is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token expired at {expired_at}")]
    Expired { expired_at: Timestamp },
}

/// Issues the token for a notification, valid until `expires_at`.
pub fn issue(key: &AckKey, notification_id: i64, expires_at: Timestamp) -> String {
    let id = notification_id.to_string();
    let exp = expires_at.as_second().to_string();
    let tag = key.mac(&id, &exp).finalize().into_bytes();
    format!("v1.{id}.{exp}.{}", hex::encode(tag))
}

/// Checks a token and returns the notification id it acknowledges. The signature is checked
/// (in constant time) before anything else is believed, so a forged token learns nothing,
/// not even whether its expiry would have passed.
pub fn verify(key: &AckKey, token: &str, now: Timestamp) -> Result<i64, AckError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AckError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some("v1"), Some(id), Some(exp), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(AckError::Malformed);
    };
    let tag = hex::decode(tag).map_err(|_| AckError::Malformed)?;
    key.mac(id, exp)
        .verify_slice(&tag)
        .map_err(|_| AckError::BadSignature)?;
    // Only the canonical spelling is accepted, so each link has exactly one form.
    let notification_id: i64 = canonical(id).ok_or(AckError::Malformed)?;
    let expires: i64 = canonical(exp).ok_or(AckError::Malformed)?;
    let expired_at = Timestamp::from_second(expires).map_err(|_| AckError::Malformed)?;
    if now >= expired_at {
        return Err(AckError::Expired { expired_at });
    }
    Ok(notification_id)
}

fn canonical(s: &str) -> Option<i64> {
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> AckKey {
        AckKey::new(&[b; 32]).unwrap()
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn round_trip() {
        let k = key(7);
        let token = issue(&k, 4_321, at(1_800_000_000));
        assert!(token.starts_with("v1.4321.1800000000."));
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.')
        );
        assert_eq!(verify(&k, &token, at(1_799_999_999)), Ok(4_321));
    }

    #[test]
    fn refusals() {
        let k = key(7);
        let token = issue(&k, 4_321, at(1_800_000_000));
        let tag = token.rsplit('.').next().unwrap().to_owned();
        let mut flipped = tag.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        let now = at(1_700_000_000);
        let cases: Vec<(String, AckError)> = vec![
            // Another notification, a longer life, a changed tag: all forged.
            (format!("v1.4322.1800000000.{tag}"), AckError::BadSignature),
            (format!("v1.4321.1900000000.{tag}"), AckError::BadSignature),
            (
                format!("v1.4321.1800000000.{flipped}"),
                AckError::BadSignature,
            ),
            (
                format!("v1.4321.1800000000.{}", &tag[..62]),
                AckError::BadSignature,
            ),
            (format!("v1.04321.1800000000.{tag}"), AckError::BadSignature),
            (
                issue(&key(8), 4_321, at(1_800_000_000)),
                AckError::BadSignature,
            ),
            (format!("v2.4321.1800000000.{tag}"), AckError::Malformed),
            (format!("v1.4321.1800000000.{tag}.x"), AckError::Malformed),
            ("v1.4321.1800000000".into(), AckError::Malformed),
            (
                format!("v1.4321.1800000000.{}", "zz".repeat(32)),
                AckError::Malformed,
            ),
            ("".into(), AckError::Malformed),
            (
                format!("v1.{}.1.{tag}", "9".repeat(120)),
                AckError::Malformed,
            ),
        ];
        for (t, expect) in cases {
            assert_eq!(verify(&k, &t, now), Err(expect), "{t}");
        }
    }

    #[test]
    fn expiry_is_exclusive() {
        let k = key(1);
        let token = issue(&k, 9, at(1_000));
        assert_eq!(verify(&k, &token, at(999)), Ok(9));
        assert_eq!(
            verify(&k, &token, at(1_000)),
            Err(AckError::Expired {
                expired_at: at(1_000)
            })
        );
        assert_eq!(
            verify(&k, &token, at(5_000)),
            Err(AckError::Expired {
                expired_at: at(1_000)
            })
        );
    }

    #[test]
    fn a_validly_signed_but_non_canonical_token_is_refused() {
        // Only reachable with the key, but a link should have one spelling all the same.
        let k = key(3);
        let tag = hex::encode(k.mac("+5", "2000000000").finalize().into_bytes());
        assert_eq!(
            verify(&k, &format!("v1.+5.2000000000.{tag}"), at(0)),
            Err(AckError::Malformed)
        );
    }

    #[test]
    fn keys_must_be_long_and_stay_secret_in_logs() {
        assert_eq!(AckKey::new(&[0; 31]).unwrap_err(), KeyTooShort(31));
        let k = AckKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(format!("{k:?}"), "AckKey(…)");
    }
}
