//! One-time recovery codes, for when the authenticator is lost.
//!
//! Each code is 16 characters from Crockford's base32 alphabet (digits and lower-case letters
//! without `i`, `l`, `o` and `u`), shown as `xxxx-xxxx-xxxx-xxxx`: 80 bits from the CSPRNG.
//! Input is forgiving — spaces, dashes and case are ignored, and `o`, `i`, `l` are read as
//! `0`, `1`, `1` — since people copy these codes by hand from paper.
//!
//! # Why SHA-256 and not Argon2
//!
//! A slow hash exists to protect low-entropy secrets people choose. These codes are not chosen:
//! with 80 random bits, even an attacker holding the database and computing 10^12 SHA-256
//! hashes a second would need on the order of ten thousand years per code, so a slow hash
//! would add nothing but login latency. A fast, unsalted hash also lets the store find a
//! code by equality on its hash. The caller must still delete (or mark used) a code in the
//! same transaction that accepts it.

use rand::CryptoRng;
use sha2::{Digest, Sha256};

/// Codes generated per user.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters per code, without separators.
pub const RECOVERY_CODE_CHARS: usize = 16;
/// Characters between dashes.
const GROUP: usize = 4;
/// Crockford's base32 alphabet, lower case: 32 symbols, 5 bits each.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Generate [`RECOVERY_CODE_COUNT`] fresh codes to show the user once; store only
/// [`hash_recovery_code`] of each.
pub fn generate_recovery_codes<R: CryptoRng + ?Sized>(rng: &mut R) -> Vec<String> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| generate_recovery_code(rng))
        .collect()
}

/// One code, formatted `xxxx-xxxx-xxxx-xxxx`.
pub fn generate_recovery_code<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; RECOVERY_CODE_CHARS];
    rng.fill_bytes(&mut bytes);
    let mut code = String::with_capacity(RECOVERY_CODE_CHARS + RECOVERY_CODE_CHARS / GROUP);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 && i % GROUP == 0 {
            code.push('-');
        }
        // 256 is a multiple of 32, so the low five bits are uniform.
        code.push(char::from(ALPHABET[usize::from(byte & 0x1f)]));
    }
    code
}

/// The canonical form of a code as typed: separators and whitespace removed, lower case, and
/// the look-alike letters `o`, `i`, `l` read as digits.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect()
}

/// SHA-256 (lower-case hex) of the normalised code: what the store keeps and looks up.
pub fn hash_recovery_code(code: &str) -> String {
    hex::encode(Sha256::digest(normalize_recovery_code(code).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::collections::HashSet;

    #[test]
    fn ten_distinct_well_formed_codes() {
        let codes = generate_recovery_codes(&mut StdRng::seed_from_u64(9));
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(
                code.chars()
                    .filter(|c| *c != '-')
                    .all(|c| ALPHABET.contains(&(c as u8))),
                "{code}"
            );
            assert_eq!(normalize_recovery_code(code), code.replace('-', ""));
        }
    }

    #[test]
    fn at_least_sixty_bits() {
        // 16 symbols of 5 bits each.
        assert!(RECOVERY_CODE_CHARS * ALPHABET.len().ilog2() as usize >= 60);
        assert_eq!(ALPHABET.iter().collect::<HashSet<_>>().len(), 32);
    }

    #[test]
    fn hashing_ignores_formatting() {
        let code = "ab12-cd34-ef56-gh78";
        let hash = hash_recovery_code(code);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash_recovery_code("AB12 CD34 EF56 GH78"), hash);
        assert_eq!(hash_recovery_code(" ab12cd34ef56gh78\n"), hash);
        assert_ne!(hash_recovery_code("ab12-cd34-ef56-gh79"), hash);
        // Look-alikes typed by hand.
        assert_eq!(hash_recovery_code("0011-zz"), hash_recovery_code("OoIl-ZZ"));
        assert_eq!(
            hash_recovery_code(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
