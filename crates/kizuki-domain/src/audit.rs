//! The audit log: who did what, when, from where, to which object. Records are chained: each
//! carries a keyed hash over its own content and the previous record's hash, so a row edited,
//! deleted, reordered or inserted directly in the database breaks the chain at that point.
//!
//! The chain's arithmetic lives in `kizuki-auth::audit_chain`; the store only needs
//! [`AuditSealer`] to seal a record inside the transaction that appends it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The hash that precedes the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The acting user, when known.
    pub actor_id: Option<i64>,
    /// The acting user's e-mail, "anonymous", or "cli".
    pub actor: String,
    /// The client address, when the action came over the network.
    pub address: Option<String>,
    /// Dotted name, e.g. `auth.login.failed`, `incident.update`, `export.incident`.
    pub action: String,
    /// What was acted on, e.g. `/api/v1/incidents/5` or `user:3`.
    pub object: String,
    /// `ok`, `denied`, `failed`, or an HTTP status.
    pub outcome: String,
    /// Extra facts as compact JSON (never a secret: no passwords, codes or tokens).
    pub detail: String,
}

/// An event as stored: numbered and sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// 1, 2, 3, … without gaps.
    pub seq: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The previous record's `hash` ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// Keyed hash (hex) over `seq`, the event and `prev_hash`.
    pub hash: String,
}

/// The newest record's position, sealed separately so that cutting records off the end of
/// the chain is detected too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    /// Keyed hash over `seq` and `hash`.
    pub seal: String,
}

/// Seals records with a key the database never sees.
pub trait AuditSealer: Send + Sync {
    /// The hash of record `seq` holding `event`, following `prev_hash`.
    fn seal_record(&self, seq: i64, event: &AuditEvent, prev_hash: &str) -> String;
    /// The seal of the chain's head.
    fn seal_head(&self, seq: i64, hash: &str) -> String;
}
