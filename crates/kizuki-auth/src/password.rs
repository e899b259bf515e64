//! Password hashing with Argon2id, stored as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//!
//! The parameters follow the OWASP Password Storage Cheat Sheet's first Argon2id
//! recommendation: 19 MiB of memory, 2 iterations, 1 degree of parallelism. Each hash takes
//! tens of milliseconds of CPU, so callers in an async server should run [`hash_password`] and
//! [`verify_password`] on a blocking thread.
//!
//! Because the parameters are written into every PHC string, old hashes keep verifying after
//! the parameters change; [`needs_rehash`] tells the caller to re-hash on the next successful
//! login.
//!
//! To keep "no such user" indistinguishable by timing from "wrong password", call
//! [`verify_dummy`] when the account does not exist: it costs the same as a real verification.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use rand::CryptoRng;

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19_456;
/// Number of passes over the memory.
pub const ITERATIONS: u32 = 2;
/// Degree of parallelism (lanes).
pub const PARALLELISM: u32 = 1;
/// Salt length in bytes (128 bits).
pub const SALT_LEN: usize = 16;
/// Hash output length in bytes.
pub const OUTPUT_LEN: usize = 32;

/// Stored hashes asking for more than this much memory (KiB), more passes or more lanes are
/// treated as malformed rather than verified: a tampered row must not make the server allocate
/// gigabytes or spin for minutes.
const MAX_ACCEPTED_MEMORY_KIB: u32 = 1 << 20;
const MAX_ACCEPTED_ITERATIONS: u32 = 64;
const MAX_ACCEPTED_PARALLELISM: u32 = 16;

/// A PHC string with the current parameters, of a random password that was thrown away when
/// the string was made. Verifying against it costs as much as verifying a real password, and
/// its result is always ignored.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$CHnwG4jeFn4cPVpOxrp9Ow$b0aLdXg8Dj0k0JPBPw7juRwttIY9V4JSVxpDacBOIrs";

/// Why a password could not be hashed or a stored hash could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The stored string is not a usable Argon2 PHC string.
    #[error("stored password hash is malformed: {0}")]
    MalformedHash(String),
    /// Hashing failed (only with invalid parameters; never expected in practice).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// The parameters new hashes are made with.
fn current_params() -> Result<Params, PasswordError> {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Hash `password` with Argon2id and the OWASP parameters, using a fresh salt from `rng`.
///
/// Returns the PHC string to store.
pub fn hash_password<R: CryptoRng + ?Sized>(
    rng: &mut R,
    password: &str,
) -> Result<String, PasswordError> {
    hash_with_params(rng, password, current_params()?)
}

/// Hashing with explicit parameters, so tests can use cheap ones.
pub(crate) fn hash_with_params<R: CryptoRng + ?Sized>(
    rng: &mut R,
    password: &str,
    params: Params,
) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon2
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Check `password` against a stored PHC string.
///
/// `Ok(true)` when it matches, `Ok(false)` when it does not; an error only when `phc` is not
/// a well-formed Argon2 hash (which should be logged: it means the stored data is damaged).
/// The comparison of the computed and stored hash is constant-time.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = parse(phc)?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(PasswordError::MalformedHash(e.to_string())),
    }
}

/// Spend the time of one password verification without checking anything, for logins naming
/// an account that does not exist (or cannot log in with a password), so that response time
/// does not reveal which accounts exist.
pub fn verify_dummy(password: &str) {
    // The outcome is meaningless by design: nobody knows the dummy's password, and even a
    // match must not log anyone in.
    let _ = verify_password(password, DUMMY_HASH);
}

/// The fixed hash [`verify_dummy`] verifies against. Exposed so callers can, for example,
/// store it for accounts that must never log in with a password.
pub fn dummy_hash() -> &'static str {
    DUMMY_HASH
}

/// Whether `phc` was made with anything other than the current algorithm and parameters (or
/// cannot be read), so the caller should re-hash the password after the next successful
/// verification.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT || parsed.version != Some(Version::V0x13.into()) {
        return true;
    }
    if parsed
        .salt
        .as_ref()
        .is_none_or(|salt| salt.len() < SALT_LEN)
    {
        return true;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != PARALLELISM
        || params.output_len() != Some(OUTPUT_LEN)
}

/// Parse and sanity-check a stored hash.
fn parse(phc: &str) -> Result<PasswordHash, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::MalformedHash(e.to_string()))?;
    if Algorithm::try_from(parsed.algorithm.as_str()).is_err() {
        return Err(PasswordError::MalformedHash(format!(
            "not an Argon2 hash: {}",
            parsed.algorithm
        )));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(PasswordError::MalformedHash(
            "salt or hash missing".to_string(),
        ));
    }
    let params =
        Params::try_from(&parsed).map_err(|e| PasswordError::MalformedHash(e.to_string()))?;
    if params.m_cost() > MAX_ACCEPTED_MEMORY_KIB
        || params.t_cost() > MAX_ACCEPTED_ITERATIONS
        || params.p_cost() > MAX_ACCEPTED_PARALLELISM
    {
        return Err(PasswordError::MalformedHash(
            "parameters beyond the accepted range".to_string(),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Far below any sane production setting, to keep the tests fast.
    fn cheap() -> Params {
        Params::new(64, 1, 1, Some(OUTPUT_LEN)).unwrap()
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn real_parameters_round_trip() {
        let phc = hash_password(&mut rng(), "correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse", &phc).unwrap());
        assert!(!verify_password("correct horsf", &phc).unwrap());
        assert!(!needs_rehash(&phc));
    }

    #[test]
    fn wrong_password_is_false_not_an_error() {
        let phc = hash_with_params(&mut rng(), "pw", cheap()).unwrap();
        assert_eq!(verify_password("other", &phc), Ok(false));
        assert_eq!(verify_password("", &phc), Ok(false));
        assert_eq!(verify_password("pw", &phc), Ok(true));
    }

    #[test]
    fn salts_come_from_the_rng() {
        let a = hash_with_params(&mut StdRng::seed_from_u64(1), "pw", cheap()).unwrap();
        let b = hash_with_params(&mut StdRng::seed_from_u64(1), "pw", cheap()).unwrap();
        let c = hash_with_params(&mut StdRng::seed_from_u64(2), "pw", cheap()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn malformed_hashes_are_errors() {
        for bad in [
            "",
            "plaintext",
            "$argon2id$v=19$m=64,t=1,p=1$",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(
                matches!(
                    verify_password("pw", bad),
                    Err(PasswordError::MalformedHash(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rehash_when_parameters_differ() {
        let cheap_phc = hash_with_params(&mut rng(), "pw", cheap()).unwrap();
        assert!(needs_rehash(&cheap_phc));
        assert!(needs_rehash("garbage"));
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert!(needs_rehash(argon2i));
    }

    #[test]
    fn dummy_hash_uses_the_current_parameters() {
        // If this fails, the parameters changed: regenerate DUMMY_HASH with
        // `cargo test -p kizuki-auth -- --ignored print_dummy_hash --nocapture`.
        assert!(!needs_rehash(dummy_hash()));
        assert!(parse(dummy_hash()).is_ok());
        verify_dummy("anything");
    }

    #[test]
    #[ignore = "generates DUMMY_HASH; run by hand when the parameters change"]
    fn print_dummy_hash() {
        let mut rng = rand::rng();
        let mut password = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rng, &mut password);
        println!(
            "{}",
            hash_password(&mut rng, &hex::encode(password)).unwrap()
        );
    }
}
