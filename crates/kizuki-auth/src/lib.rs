//! Security primitives for Kizuki, kept apart from the web server and the stores.
//!
//! Authentication code is where a small mistake becomes a breach, so it lives in one crate that
//! can be read on its own and tested exhaustively: no HTTP, no SQL, no async runtime. Anything
//! that would make a test flaky or a result unreproducible is a parameter instead of a hidden
//! dependency — the current time is passed in as a [`jiff::Timestamp`] and randomness comes from
//! a caller-supplied [`rand::CryptoRng`] — so every rule (a lock-out doubling, a TOTP skew
//! window, a tampered audit record) can be checked with fixed inputs.
//!
//! Decisions that need state (the last TOTP step used, a login throttle, the audit chain's
//! head) return plain values the caller stores in its own transaction; this crate never keeps
//! state between calls.
//!
//! Secrets are only ever persisted as hashes: [`password`] uses a deliberately slow hash because
//! people choose guessable passwords, while [`recovery`] and [`secret`] use SHA-256 because the
//! values they protect are generated here with enough entropy that guessing is hopeless.

pub mod audit_chain;
pub mod lockout;
pub mod password;
pub mod recovery;
pub mod secret;
pub mod strength;
pub mod totp;
