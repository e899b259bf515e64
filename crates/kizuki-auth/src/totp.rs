//! Time-based one-time passwords (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps — the
//! settings every authenticator app supports.
//!
//! # Replays
//!
//! A code stays valid for up to three steps (one step of clock skew either way), so a code
//! seen over a shoulder or phished could be reused. [`verify`] therefore returns the time step
//! the code matched, and the caller must store the step of the last accepted code per user and
//! refuse any code whose step is not greater ([`accept`]), updating the stored step in the
//! same transaction that completes the login. This also means a user cannot log in twice
//! within one step with the same code.

use std::fmt;

use jiff::Timestamp;
use qrcode::QrCode;
use qrcode::render::svg;
use rand::CryptoRng;
use totp_rs::{Algorithm, Secret, Totp};

/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "Kizuki";
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps of clock skew accepted either side of the current one.
pub const SKEW_STEPS: u16 = 1;
/// Length of generated secrets in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;
/// Shortest secret accepted when decoding (RFC 4226's minimum, 128 bits).
const MIN_SECRET_LEN: usize = 16;
/// Longest secret accepted when decoding.
const MAX_SECRET_LEN: usize = 64;

/// Problems with a TOTP secret or enrolment data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP secret is not valid base32")]
    InvalidBase32,
    #[error("TOTP secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes, not {0}")]
    BadSecretLength(usize),
    #[error("account name must be non-empty and must not contain ':'")]
    InvalidAccountName,
    #[error("cannot build the TOTP: {0}")]
    Totp(String),
    #[error("cannot draw the QR code: {0}")]
    Qr(String),
}

/// A shared TOTP secret. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A new 160-bit secret from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = vec![0u8; SECRET_LEN];
        rng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Wrap raw secret bytes (16 to 64 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            return Err(TotpError::BadSecretLength(bytes.len()));
        }
        Ok(TotpSecret(bytes.to_vec()))
    }

    /// Decode RFC 4648 base32, ignoring case, spaces, dashes and `=` padding (as people and
    /// authenticator apps write it).
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let secret = Secret::try_from_base32(&cleaned).map_err(|_| TotpError::InvalidBase32)?;
        // The decoder silently drops trailing bits; insist on a canonical encoding so that
        // two different strings never name the same secret.
        if secret.to_base32() != cleaned {
            return Err(TotpError::InvalidBase32);
        }
        Self::from_bytes(secret.as_bytes())
    }

    /// RFC 4648 base32 without padding, as used in `otpauth://` URIs and for manual entry.
    pub fn to_base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    /// The raw secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, digits: u8) -> Result<Totp, TotpError> {
        totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.clone())
            .build()
            .map_err(|e| TotpError::Totp(e.to_string()))
    }
}

/// The `otpauth://totp/Kizuki:<account>?secret=…&issuer=Kizuki` URI authenticator apps read
/// from the enrolment QR code. `account` is normally the user's e-mail address.
pub fn otpauth_uri(secret: &TotpSecret, account: &str) -> Result<String, TotpError> {
    if account.is_empty() || account.contains(':') {
        return Err(TotpError::InvalidAccountName);
    }
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.0.clone())
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .and_then(|totp| totp.to_url())
        .map_err(|e| TotpError::Totp(e.to_string()))
}

/// An SVG drawing of a QR code for `uri`, without an XML declaration so it can be placed
/// inline in an HTML page. Fails only for data too long for a QR code.
pub fn qr_svg(uri: &str) -> Result<String, TotpError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| TotpError::Qr(e.to_string()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let without_declaration = image
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
        .map(|(_, body)| body.to_string());
    Ok(without_declaration.unwrap_or(image))
}

/// Check `code` at `now`. Returns the time step (Unix time / 30) the code belongs to, or
/// `None` when it is wrong, malformed or outside the ±1 step window.
///
/// Spaces in the code are ignored (`"123 456"`). A `Some` is not yet permission to log in:
/// pass the step to [`accept`] with the last step used by this user.
pub fn verify(secret: &TotpSecret, code: &str, now: Timestamp) -> Option<u64> {
    verify_with_digits(secret, code, now, DIGITS)
}

/// Whether a code that matched `step` may be used, given the step of the last code this user
/// had accepted (`None` if none yet). Only strictly newer steps are accepted, which refuses
/// replays of the same code and of older codes still inside the skew window.
pub fn accept(step: u64, last_used_step: Option<u64>) -> bool {
    last_used_step.is_none_or(|last| step > last)
}

fn verify_with_digits(secret: &TotpSecret, code: &str, now: Timestamp, digits: u8) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = u64::try_from(now.as_second()).ok()?;
    secret.totp(digits).ok()?.check(&code, seconds)
}

/// The code an authenticator app shows at `now` (for tests and tools that stand in for one);
/// `None` before 1970.
pub fn code_at(secret: &TotpSecret, now: Timestamp) -> Option<String> {
    code_with_digits(secret, now, DIGITS)
}

fn code_with_digits(secret: &TotpSecret, now: Timestamp, digits: u8) -> Option<String> {
    let seconds = u64::try_from(now.as_second()).ok()?;
    Some(secret.totp(digits).ok()?.generate(seconds).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn rfc6238_appendix_b_sha1() {
        let secret = rfc_secret();
        for (t, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_with_digits(&secret, at(t), 8).unwrap(),
                expected,
                "T={t}"
            );
            assert_eq!(
                verify_with_digits(&secret, expected, at(t), 8),
                Some(t as u64 / 30),
                "T={t}"
            );
            // The 6-digit code is the last six digits of the 8-digit one (mod 10^6).
            assert_eq!(verify(&secret, &expected[2..], at(t)), Some(t as u64 / 30));
        }
    }

    #[test]
    fn skew_window_is_one_step_each_way() {
        let secret = rfc_secret();
        let now = at(1_234_567_890);
        let step = 1_234_567_890 / 30;
        let previous = code_at(&secret, at(1_234_567_890 - 30)).unwrap();
        let next = code_at(&secret, at(1_234_567_890 + 30)).unwrap();
        let too_old = code_at(&secret, at(1_234_567_890 - 60)).unwrap();
        let too_new = code_at(&secret, at(1_234_567_890 + 60)).unwrap();
        assert_eq!(verify(&secret, &previous, now), Some(step - 1));
        assert_eq!(verify(&secret, &next, now), Some(step + 1));
        assert_eq!(verify(&secret, &too_old, now), None);
        assert_eq!(verify(&secret, &too_new, now), None);
    }

    #[test]
    fn wrong_and_malformed_codes() {
        let secret = rfc_secret();
        let now = at(59);
        let good = code_at(&secret, now).unwrap();
        assert_eq!(good, "287082");
        assert_eq!(verify(&secret, "287083", now), None);
        assert_eq!(verify(&secret, "28708a", now), None);
        assert_eq!(verify(&secret, "+87082", now), None);
        assert_eq!(verify(&secret, "２８７０８２", now), None);
        assert_eq!(verify(&secret, "28708", now), None);
        assert_eq!(verify(&secret, "2870820", now), None);
        assert_eq!(verify(&secret, "", now), None);
        assert_eq!(verify(&secret, "287 082", now), Some(1));
        assert_eq!(verify(&secret, "287082", at(-1)), None);
    }

    #[test]
    fn replay_rule() {
        assert!(accept(10, None));
        assert!(accept(11, Some(10)));
        assert!(!accept(10, Some(10)));
        assert!(!accept(9, Some(10)));

        // The same code seen twice within its window: the second use is refused.
        let secret = rfc_secret();
        let code = code_at(&secret, at(300)).unwrap();
        let first = verify(&secret, &code, at(300)).unwrap();
        assert!(accept(first, None));
        let again = verify(&secret, &code, at(329)).unwrap();
        assert!(!accept(again, Some(first)));
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        let secret = TotpSecret::generate(&mut StdRng::seed_from_u64(3));
        assert_eq!(secret.as_bytes().len(), 20);
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text).unwrap(), secret);
        let spaced = text
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(TotpSecret::from_base32(&spaced).unwrap(), secret);
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBVGY3TQOJQ!"),
            Err(TotpError::InvalidBase32)
        );
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBV"),
            Err(TotpError::BadSecretLength(5))
        );
        assert!(!format!("{secret:?}").contains(&text));
    }

    #[test]
    fn otpauth_uri_and_qr() {
        let uri = otpauth_uri(&rfc_secret(), "alice@example.com").unwrap();
        assert_eq!(
            uri,
            "otpauth://totp/Kizuki:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Kizuki"
        );
        assert_eq!(
            otpauth_uri(&rfc_secret(), "a:b"),
            Err(TotpError::InvalidAccountName)
        );
        assert_eq!(
            otpauth_uri(&rfc_secret(), ""),
            Err(TotpError::InvalidAccountName)
        );

        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(svg.ends_with("</svg>"));
        assert!(qr_svg(&"x".repeat(10_000)).is_err());
    }
}
