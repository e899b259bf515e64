//! Random bearer secrets: session ids, enrolment and password-reset links, API tokens.
//!
//! A secret is 256 random bits, URL-safe base64 without padding, behind a short prefix
//! (`kzk_…`) that says what it is and lets secret scanners recognise a leaked token. The
//! database keeps only its SHA-256, so a leaked backup or a read-only SQL injection yields
//! nothing that can be presented back; with 256 random bits a fast hash is as good as a slow
//! one (see [`crate::recovery`] for the argument).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// Random bytes per secret.
pub const SECRET_BYTES: usize = 32;

/// Make a new secret. Returns `(shown_once, stored_hash)`: the first goes to the user (cookie,
/// link, token display) and is never stored; the second is [`hash_secret`] of the first, to
/// store and look up.
pub fn new_secret<R: CryptoRng + ?Sized>(rng: &mut R, prefix: &str) -> (String, String) {
    let mut bytes = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// SHA-256 (lower-case hex) of a presented secret, prefix included.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compare two byte strings in time that depends only on their lengths, not on where they
/// differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn secret_shape_and_hash() {
        let mut rng = StdRng::seed_from_u64(5);
        let (secret, hash) = new_secret(&mut rng, "kzk_");
        assert!(secret.starts_with("kzk_"));
        let body = &secret[4..];
        assert_eq!(body.len(), 43);
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_eq!(hash, hash_secret(&secret));
        assert_eq!(hash.len(), 64);
        let (other, other_hash) = new_secret(&mut rng, "kzk_");
        assert_ne!(secret, other);
        assert_ne!(hash, other_hash);
    }

    #[test]
    fn known_hash() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
