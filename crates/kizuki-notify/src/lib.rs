//! The decisions behind Kizuki's notifications, escalations and on-call rotations.
//!
//! This crate decides; it never acts. Given an incident's facts it says who must be told
//! through which channel ([`rule`]), what the message says ([`template`], [`webhook`]),
//! whether an outbound address may be contacted at all ([`target_guard`]), when a failed send
//! is tried again ([`retry`]), which escalation step is due ([`escalation`]), who is on call
//! ([`oncall`]) and whether an acknowledgement link is genuine ([`ack`]).
//!
//! Everything that touches the world lives elsewhere: the durable job table in `kizuki-store`
//! (rows claimed with `FOR UPDATE SKIP LOCKED`, so each send and escalation runs exactly once
//! across replicas and survives restarts), SMTP, HTTP, DNS resolution and the clock in
//! `kizuki-server`. Keeping the
//! decisions here, as pure functions of their inputs, means every rule about who is told and
//! when can be tested exhaustively without a network, a database or a sleeping test; and a
//! job that is retried after a crash asks the same question and gets the same answer.
//!
//! **Boundary:** no HTTP, SQL, async runtime, SMTP or wall clock. Time arrives as
//! [`jiff::Timestamp`] and [`jiff::tz::TimeZone`], randomness as a number the caller drew,
//! keys as bytes the caller holds.

pub mod ack;
pub mod escalation;
pub mod oncall;
pub mod retry;
pub mod rule;
pub mod target_guard;
pub mod template;
pub mod webhook;

/// `t + d`, pinned to the end of time rather than failing: every duration added here is at
/// most days long, so only a nonsense instant could overflow, and "never" is the right
/// answer for it.
pub(crate) fn after(t: jiff::Timestamp, d: jiff::SignedDuration) -> jiff::Timestamp {
    t.saturating_add(d).unwrap_or(jiff::Timestamp::MAX)
}
