//! The server's use of `kizuki-auth`: slow hashing off the async runtime and never more of it
//! at once than there are cores, fresh randomness from the injected entropy source, and
//! errors shaped for the API.

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::AppState;
use crate::api::auth::TotpOffer;
use crate::error::{ApiError, ApiResult};

/// Where secrets come from. A parameter, like the clock, so tests can make it predictable.
pub trait Entropy: Send + Sync + std::fmt::Debug {
    /// 32 bytes to seed a cryptographic generator with.
    fn seed(&self) -> [u8; 32];
}

/// The operating system's generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn seed(&self) -> [u8; 32] {
        use rand::TryRngCore;
        let mut seed = [0u8; 32];
        if rand::rngs::OsRng.try_fill_bytes(&mut seed).is_err() {
            // Without the OS generator, fall back to the thread generator (itself seeded
            // from the OS when it could be); never to a fixed value.
            use rand::RngCore;
            rand::rng().fill_bytes(&mut seed);
        }
        seed
    }
}

pub(crate) fn rng(state: &AppState) -> StdRng {
    StdRng::from_seed(state.entropy.seed())
}

/// Checks `password` against the stored hash, or against a stand-in when there is none,
/// so both take the same time.
pub async fn verify_password(
    state: &AppState,
    password: String,
    stored: Option<String>,
) -> ApiResult<bool> {
    let _permit = state
        .hashing
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing is shut down: {e}")))?;
    let outcome = tokio::task::spawn_blocking(move || match stored {
        Some(phc) => kizuki_auth::password::verify_password(&password, &phc),
        None => {
            kizuki_auth::password::verify_dummy(&password);
            Ok(false)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check failed: {e}")))?;
    match outcome {
        Ok(ok) => Ok(ok),
        Err(e) => {
            tracing::error!(error = %e, "a stored password hash is unreadable");
            Ok(false)
        }
    }
}

/// Hashes a new password with Argon2id.
pub async fn hash_password(state: &AppState, password: String) -> ApiResult<String> {
    let mut rng = rng(state);
    let _permit = state
        .hashing
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing is shut down: {e}")))?;
    tokio::task::spawn_blocking(move || kizuki_auth::password::hash_password(&mut rng, &password))
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Refuses a weak password, naming the field.
pub fn check_strength(field: &str, password: &str, user_inputs: &[&str]) -> ApiResult<()> {
    kizuki_auth::strength::check_password(password, user_inputs)
        .map_err(|weak| kizuki_domain::ValidationError::one(field, weak.to_string()).into())
}

/// A new random secret (shown once) and its hash (stored).
pub fn new_secret(state: &AppState, prefix: &str) -> (String, String) {
    kizuki_auth::secret::new_secret(&mut rng(state), prefix)
}

/// The time step a TOTP code matches, if it is right for `secret` now.
pub fn totp_step(secret: &str, code: &str, now: jiff::Timestamp) -> Option<i64> {
    let secret = kizuki_auth::totp::TotpSecret::from_base32(secret).ok()?;
    kizuki_auth::totp::verify(&secret, code, now).and_then(|s| i64::try_from(s).ok())
}

/// A fresh TOTP secret with its URI and QR code.
pub fn new_totp(state: &AppState, account: &str) -> ApiResult<TotpOffer> {
    let secret = kizuki_auth::totp::TotpSecret::generate(&mut rng(state));
    totp_offer(&secret, account)
}

/// The offer for a secret already pending (the enrolment page shows it again after a
/// mistyped code, so the phone that scanned it stays right).
pub fn totp_offer(secret: &kizuki_auth::totp::TotpSecret, account: &str) -> ApiResult<TotpOffer> {
    let uri = kizuki_auth::totp::otpauth_uri(secret, account)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let qr_svg = kizuki_auth::totp::qr_svg(&uri).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(TotpOffer {
        secret: secret.to_base32(),
        otpauth_uri: uri,
        qr_svg,
    })
}

/// Ten fresh one-time recovery codes.
pub fn recovery_codes(state: &AppState) -> Vec<String> {
    kizuki_auth::recovery::generate_recovery_codes(&mut rng(state))
}
