//! Row structs as SQLite returns them, and their checked conversion into domain types.
//!
//! Every conversion that can fail (an enum spelled wrongly, a timestamp out of range, JSON
//! that does not parse) reports `StoreError::Corrupt` naming the table and column, never
//! the offending value (it could be personal data).

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use kizuki_domain::audit::{AuditEvent, AuditRecord};
use kizuki_domain::decision::Decision;
use kizuki_domain::evidence::{CustodyEvent, EvidenceItem};
use kizuki_domain::incident::Incident;
use kizuki_domain::legal_clock::LegalClock;
use kizuki_domain::observable::{Observable, SharedObservable};
use kizuki_domain::party::Party;
use kizuki_domain::task::Task;
use kizuki_domain::timeline::TimelineEntry;
use kizuki_domain::user::{
    ApiToken, LaneOwner, Member, Session, TokenScope, User, UserCredentials,
};
use kizuki_store::{Result, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

// Column lists, as macros so they can be spliced into `&'static str` SQL with `concat!`.

// `mfa_enabled` is derived: a confirmed TOTP secret is stored.
macro_rules! user_cols {
    () => {
        "id, email, display_name, role, totp_secret IS NOT NULL AS mfa_enabled, active, \
         language, created_at"
    };
}
/// [`user_cols`] of `users u` in a join.
macro_rules! user_cols_u {
    () => {
        "u.id, u.email, u.display_name, u.role, u.totp_secret IS NOT NULL AS mfa_enabled, \
         u.active, u.language, u.created_at"
    };
}
/// [`user_cols`] and what a login checks.
macro_rules! credential_cols {
    () => {
        concat!(
            user_cols!(),
            ", password_hash, totp_secret, totp_pending_secret, totp_last_step"
        )
    };
}
macro_rules! token_cols {
    () => {
        "id, user_id, name, scope, created_at, expires_at, revoked_at"
    };
}
macro_rules! session_cols {
    () => {
        "id, user_id, stage, created_at, last_seen_at, expires_at, address, user_agent"
    };
}
/// [`session_cols`] of `sessions s`, then the columns of its user `u` (prefixed `u_`).
macro_rules! session_user_cols {
    () => {
        "s.id, s.user_id, s.stage, s.created_at, s.last_seen_at, s.expires_at, s.address, \
         s.user_agent, u.email AS u_email, u.display_name AS u_display_name, u.role AS u_role, \
         u.totp_secret IS NOT NULL AS u_mfa_enabled, u.active AS u_active, \
         u.language AS u_language, u.created_at AS u_created_at"
    };
}
macro_rules! audit_cols {
    () => {
        "seq, at, actor_id, actor, address, action, object, outcome, detail, prev_hash, hash"
    };
}
macro_rules! incident_cols {
    () => {
        "id, title, summary, category, severity, phase, detection_source, start_date, \
         start_basis, aware_at, affected_units, affected_assets, impact, restricted, exercise, \
         version, created_by, created_at, updated_at"
    };
}
macro_rules! timeline_cols {
    () => {
        "id, incident_id, occurred_at, precision, day_part, lane, actor, kind, text, source, \
         created_by, created_at"
    };
}
macro_rules! task_cols {
    () => {
        "id, incident_id, playbook, phase, title, lane, checklist, due_at, rationale, status, \
         completed_by, completed_at, position"
    };
}
macro_rules! decision_cols {
    () => {
        "id, incident_id, question, options, chosen, decided_by, decided_at, rationale, \
         decide_by, created_at"
    };
}
macro_rules! party_cols {
    () => {
        "id, incident_id, kind, name, organisation, role, email, phone, fallback_channel, notes"
    };
}
macro_rules! evidence_cols {
    () => {
        "id, incident_id, name, description, sha256, location, created_at"
    };
}
macro_rules! custody_cols {
    () => {
        "id, evidence_id, at, action, handler, location, note"
    };
}
macro_rules! observable_cols {
    () => {
        "id, incident_id, kind, value, normalized, note, first_seen"
    };
}
macro_rules! clock_cols {
    () => {
        "id, incident_id, kind, name, due_hours, overdue_hours, started_at, met_at"
    };
}

pub(crate) use {
    audit_cols, clock_cols, credential_cols, custody_cols, decision_cols, evidence_cols,
    incident_cols, observable_cols, party_cols, session_cols, session_user_cols, task_cols,
    timeline_cols, token_cols, user_cols, user_cols_u,
};

// --- conversion helpers -------------------------------------------------------------------

pub(crate) fn corrupt(
    table: &'static str,
    column: &'static str,
    reason: impl ToString,
) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        reason: reason.to_string(),
    }
}

pub(crate) fn ts(table: &'static str, column: &'static str, micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|e| corrupt(table, column, e))
}

pub(crate) fn opt_ts(
    table: &'static str,
    column: &'static str,
    micros: Option<i64>,
) -> Result<Option<Timestamp>> {
    micros.map(|m| ts(table, column, m)).transpose()
}

/// Microseconds since the epoch, the stored form of an instant.
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn opt_micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(micros)
}

pub(crate) fn parse_enum<T>(table: &'static str, column: &'static str, s: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| corrupt(table, column, e))
}

pub(crate) fn opt_enum<T>(
    table: &'static str,
    column: &'static str,
    s: Option<&str>,
) -> Result<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.map(|s| parse_enum(table, column, s)).transpose()
}

pub(crate) fn json<T: DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(table, column, e))
}

/// Serialises a value for a JSON column. The domain types always serialise; a failure
/// would be a bug, reported as a database error rather than a panic.
pub(crate) fn to_json<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Database(format!("cannot encode {what} as JSON: {e}")))
}

pub(crate) fn int<T: TryFrom<i64>>(table: &'static str, column: &'static str, v: i64) -> Result<T> {
    T::try_from(v).map_err(|_| corrupt(table, column, "integer out of range"))
}

/// `YYYY-MM-DD` (ISO 8601; years outside 0000–9999 get the signed six-digit form, which
/// parses back the same).
pub(crate) fn date_text(d: Date) -> String {
    d.to_string()
}

// --- rows ----------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    display_name: String,
    role: String,
    mfa_enabled: bool,
    active: bool,
    language: Option<String>,
    created_at: i64,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> Result<User> {
        Ok(User {
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            role: parse_enum("users", "role", &self.role)?,
            mfa_enabled: self.mfa_enabled,
            active: self.active,
            language: opt_enum("users", "language", self.language.as_deref())?,
            created_at: ts("users", "created_at", self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
    totp_secret: Option<String>,
    totp_pending_secret: Option<String>,
    totp_last_step: Option<i64>,
}

impl CredentialsRow {
    pub(crate) fn into_domain(self) -> Result<UserCredentials> {
        Ok(UserCredentials {
            user: self.user.into_domain()?,
            password_hash: self.password_hash,
            totp_secret: self.totp_secret,
            totp_pending_secret: self.totp_pending_secret,
            totp_last_step: self.totp_last_step,
        })
    }
}

fn scope(s: &str) -> Result<TokenScope> {
    json("api_tokens", "scope", s)
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    scope: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TokenRow {
    pub(crate) fn into_domain(self) -> Result<ApiToken> {
        const T: &str = "api_tokens";
        Ok(ApiToken {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            scope: scope(&self.scope)?,
            created_at: ts(T, "created_at", self.created_at)?,
            expires_at: opt_ts(T, "expires_at", self.expires_at)?,
            revoked_at: opt_ts(T, "revoked_at", self.revoked_at)?,
        })
    }
}

/// A token's user ([`user_cols_u`]) and the token's `scope`.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    scope: String,
}

impl TokenUserRow {
    pub(crate) fn into_domain(self) -> Result<(User, TokenScope)> {
        Ok((self.user.into_domain()?, scope(&self.scope)?))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: i64,
    user_id: i64,
    stage: String,
    created_at: i64,
    pub(crate) last_seen_at: i64,
    expires_at: i64,
    address: Option<String>,
    user_agent: String,
}

impl SessionRow {
    pub(crate) fn into_domain(self) -> Result<Session> {
        const T: &str = "sessions";
        Ok(Session {
            id: self.id,
            user_id: self.user_id,
            stage: parse_enum(T, "stage", &self.stage)?,
            created_at: ts(T, "created_at", self.created_at)?,
            last_seen_at: ts(T, "last_seen_at", self.last_seen_at)?,
            expires_at: ts(T, "expires_at", self.expires_at)?,
            address: self.address,
            user_agent: self.user_agent,
        })
    }
}

/// A session and its user, as [`session_user_cols`] returns them.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionUserRow {
    #[sqlx(flatten)]
    pub(crate) session: SessionRow,
    u_email: String,
    u_display_name: String,
    u_role: String,
    u_mfa_enabled: bool,
    u_active: bool,
    u_language: Option<String>,
    u_created_at: i64,
}

impl SessionUserRow {
    pub(crate) fn into_domain(self) -> Result<(Session, User)> {
        let user = UserRow {
            id: self.session.user_id,
            email: self.u_email,
            display_name: self.u_display_name,
            role: self.u_role,
            mfa_enabled: self.u_mfa_enabled,
            active: self.u_active,
            language: self.u_language,
            created_at: self.u_created_at,
        }
        .into_domain()?;
        Ok((self.session.into_domain()?, user))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LaneOwnerRow {
    lane: String,
    user_id: i64,
    display_name: String,
    assigned_at: i64,
}

impl LaneOwnerRow {
    pub(crate) fn into_domain(self) -> Result<LaneOwner> {
        Ok(LaneOwner {
            lane: parse_enum("incident_lane_owners", "lane", &self.lane)?,
            user_id: self.user_id,
            display_name: self.display_name,
            assigned_at: ts("incident_lane_owners", "assigned_at", self.assigned_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    user_id: i64,
    email: String,
    display_name: String,
    role: String,
    added_at: i64,
}

impl MemberRow {
    pub(crate) fn into_domain(self) -> Result<Member> {
        Ok(Member {
            user_id: self.user_id,
            email: self.email,
            display_name: self.display_name,
            role: parse_enum("users", "role", &self.role)?,
            added_at: ts("incident_members", "added_at", self.added_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: i64,
    actor_id: Option<i64>,
    actor: String,
    address: Option<String>,
    action: String,
    object: String,
    outcome: String,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    pub(crate) fn into_domain(self) -> Result<AuditRecord> {
        Ok(AuditRecord {
            seq: self.seq,
            event: AuditEvent {
                at: ts("audit_log", "at", self.at)?,
                actor_id: self.actor_id,
                actor: self.actor,
                address: self.address,
                action: self.action,
                object: self.object,
                outcome: self.outcome,
                detail: self.detail,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: i64,
    title: String,
    summary: String,
    category: String,
    severity: i64,
    phase: String,
    detection_source: String,
    start_date: String,
    start_basis: String,
    aware_at: i64,
    affected_units: String,
    affected_assets: String,
    impact: String,
    restricted: bool,
    exercise: bool,
    version: i64,
    created_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl IncidentRow {
    pub(crate) fn into_domain(self) -> Result<Incident> {
        const T: &str = "incidents";
        Ok(Incident {
            id: self.id,
            title: self.title,
            summary: self.summary,
            category: parse_enum(T, "category", &self.category)?,
            severity: int(T, "severity", self.severity)?,
            phase: parse_enum(T, "phase", &self.phase)?,
            detection_source: parse_enum(T, "detection_source", &self.detection_source)?,
            start_date: self
                .start_date
                .parse::<Date>()
                .map_err(|e| corrupt(T, "start_date", e))?,
            start_basis: parse_enum(T, "start_basis", &self.start_basis)?,
            aware_at: ts(T, "aware_at", self.aware_at)?,
            affected_units: json(T, "affected_units", &self.affected_units)?,
            affected_assets: json(T, "affected_assets", &self.affected_assets)?,
            impact: json(T, "impact", &self.impact)?,
            restricted: self.restricted,
            exercise: self.exercise,
            version: self.version,
            created_by: self.created_by,
            created_at: ts(T, "created_at", self.created_at)?,
            updated_at: ts(T, "updated_at", self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TimelineRow {
    id: i64,
    incident_id: i64,
    occurred_at: i64,
    precision: String,
    day_part: Option<String>,
    lane: String,
    actor: String,
    kind: String,
    text: String,
    source: String,
    created_by: Option<i64>,
    created_at: i64,
}

impl TimelineRow {
    pub(crate) fn into_domain(self) -> Result<TimelineEntry> {
        const T: &str = "timeline_entries";
        Ok(TimelineEntry {
            id: self.id,
            incident_id: self.incident_id,
            occurred_at: ts(T, "occurred_at", self.occurred_at)?,
            precision: parse_enum(T, "precision", &self.precision)?,
            day_part: opt_enum(T, "day_part", self.day_part.as_deref())?,
            lane: parse_enum(T, "lane", &self.lane)?,
            actor: self.actor,
            kind: parse_enum(T, "kind", &self.kind)?,
            text: self.text,
            source: parse_enum(T, "source", &self.source)?,
            created_by: self.created_by,
            created_at: ts(T, "created_at", self.created_at)?,
        })
    }
}

/// The columns of [`timeline_json_sql`] for one entry, in order, as SQLite's `json_array`
/// writes them. Reading a whole timeline as one JSON text instead of one sqlx row per entry
/// is what makes long timelines cheap: sqlx copies every column of every row into its own
/// value and hands each row across threads, which cost ~5 µs a row.
#[derive(serde::Deserialize)]
pub(crate) struct TimelineJson<'a>(
    i64,
    i64,
    i64,
    #[serde(borrow)] std::borrow::Cow<'a, str>,
    #[serde(borrow)] Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)] std::borrow::Cow<'a, str>,
    String,
    #[serde(borrow)] std::borrow::Cow<'a, str>,
    String,
    #[serde(borrow)] std::borrow::Cow<'a, str>,
    Option<i64>,
    i64,
);

/// Wraps a `SELECT timeline_cols!() …` subquery (which must end in its own ORDER BY) so
/// that it returns a single JSON array of [`TimelineJson`] arrays, in the same order.
macro_rules! timeline_json_sql {
    ($inner:expr) => {
        concat!(
            "SELECT json_group_array(json_array(id, incident_id, occurred_at, precision, \
             day_part, lane, actor, kind, text, source, created_by, created_at) \
             ORDER BY occurred_at, id) FROM (",
            $inner
        )
    };
}
pub(crate) use timeline_json_sql;

/// Decodes the text made by [`timeline_json_sql`].
pub(crate) fn timeline_from_json(text: &str) -> Result<Vec<TimelineEntry>> {
    const T: &str = "timeline_entries";
    let rows: Vec<TimelineJson<'_>> = serde_json::from_str(text).map_err(|e| corrupt(T, "*", e))?;
    rows.into_iter()
        .map(|r| {
            Ok(TimelineEntry {
                id: r.0,
                incident_id: r.1,
                occurred_at: ts(T, "occurred_at", r.2)?,
                precision: parse_enum(T, "precision", &r.3)?,
                day_part: opt_enum(T, "day_part", r.4.as_deref())?,
                lane: parse_enum(T, "lane", &r.5)?,
                actor: r.6,
                kind: parse_enum(T, "kind", &r.7)?,
                text: r.8,
                source: parse_enum(T, "source", &r.9)?,
                created_by: r.10,
                created_at: ts(T, "created_at", r.11)?,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    id: i64,
    incident_id: i64,
    playbook: Option<String>,
    phase: String,
    title: String,
    lane: String,
    checklist: String,
    due_at: Option<i64>,
    rationale: String,
    pub(crate) status: String,
    completed_by: Option<i64>,
    completed_at: Option<i64>,
    position: i64,
}

impl TaskRow {
    pub(crate) fn into_domain(self) -> Result<Task> {
        const T: &str = "tasks";
        Ok(Task {
            id: self.id,
            incident_id: self.incident_id,
            playbook: self.playbook,
            phase: self.phase,
            title: self.title,
            lane: parse_enum(T, "lane", &self.lane)?,
            checklist: json(T, "checklist", &self.checklist)?,
            due_at: opt_ts(T, "due_at", self.due_at)?,
            rationale: self.rationale,
            status: parse_enum(T, "status", &self.status)?,
            completed_by: self.completed_by,
            completed_at: opt_ts(T, "completed_at", self.completed_at)?,
            position: self.position,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DecisionRow {
    id: i64,
    incident_id: i64,
    question: String,
    options: String,
    chosen: Option<i64>,
    decided_by: String,
    decided_at: Option<i64>,
    rationale: String,
    decide_by: Option<i64>,
    created_at: i64,
}

impl DecisionRow {
    pub(crate) fn into_domain(self) -> Result<Decision> {
        const T: &str = "decisions";
        Ok(Decision {
            id: self.id,
            incident_id: self.incident_id,
            question: self.question,
            options: json(T, "options", &self.options)?,
            chosen: self.chosen.map(|c| int(T, "chosen", c)).transpose()?,
            decided_by: self.decided_by,
            decided_at: opt_ts(T, "decided_at", self.decided_at)?,
            rationale: self.rationale,
            decide_by: opt_ts(T, "decide_by", self.decide_by)?,
            created_at: ts(T, "created_at", self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PartyRow {
    id: i64,
    incident_id: i64,
    kind: String,
    name: String,
    organisation: String,
    role: String,
    email: String,
    phone: String,
    fallback_channel: String,
    notes: String,
}

impl PartyRow {
    pub(crate) fn into_domain(self) -> Result<Party> {
        Ok(Party {
            id: self.id,
            incident_id: self.incident_id,
            kind: parse_enum("parties", "kind", &self.kind)?,
            name: self.name,
            organisation: self.organisation,
            role: self.role,
            email: self.email,
            phone: self.phone,
            fallback_channel: self.fallback_channel,
            notes: self.notes,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EvidenceRow {
    pub(crate) id: i64,
    incident_id: i64,
    name: String,
    description: String,
    sha256: Option<String>,
    location: String,
    created_at: i64,
}

impl EvidenceRow {
    pub(crate) fn into_domain(self, custody: Vec<CustodyEvent>) -> Result<EvidenceItem> {
        Ok(EvidenceItem {
            id: self.id,
            incident_id: self.incident_id,
            name: self.name,
            description: self.description,
            sha256: self.sha256,
            location: self.location,
            custody,
            created_at: ts("evidence_items", "created_at", self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustodyRow {
    id: i64,
    evidence_id: i64,
    at: i64,
    action: String,
    handler: String,
    location: String,
    note: String,
}

impl CustodyRow {
    pub(crate) fn into_domain(self) -> Result<CustodyEvent> {
        const T: &str = "custody_events";
        Ok(CustodyEvent {
            id: self.id,
            evidence_id: self.evidence_id,
            at: ts(T, "at", self.at)?,
            action: parse_enum(T, "action", &self.action)?,
            handler: self.handler,
            location: self.location,
            note: self.note,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ObservableRow {
    id: i64,
    incident_id: i64,
    kind: String,
    value: String,
    normalized: String,
    note: String,
    first_seen: i64,
}

impl ObservableRow {
    pub(crate) fn into_domain(self) -> Result<Observable> {
        const T: &str = "observables";
        Ok(Observable {
            id: self.id,
            incident_id: self.incident_id,
            kind: parse_enum(T, "kind", &self.kind)?,
            value: self.value,
            normalized: self.normalized,
            note: self.note,
            first_seen: ts(T, "first_seen", self.first_seen)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SharedRow {
    incident_id: i64,
    incident_title: String,
    observable_id: i64,
    kind: String,
    normalized: String,
}

impl SharedRow {
    pub(crate) fn into_domain(self) -> Result<SharedObservable> {
        Ok(SharedObservable {
            incident_id: self.incident_id,
            incident_title: self.incident_title,
            observable_id: self.observable_id,
            kind: parse_enum("observables", "kind", &self.kind)?,
            normalized: self.normalized,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClockRow {
    id: i64,
    incident_id: i64,
    kind: String,
    name: String,
    due_hours: i64,
    overdue_hours: i64,
    started_at: i64,
    met_at: Option<i64>,
}

impl ClockRow {
    pub(crate) fn into_domain(self) -> Result<LegalClock> {
        const T: &str = "legal_clocks";
        Ok(LegalClock {
            id: self.id,
            incident_id: self.incident_id,
            kind: parse_enum(T, "kind", &self.kind)?,
            name: self.name,
            due_hours: self.due_hours,
            overdue_hours: self.overdue_hours,
            started_at: ts(T, "started_at", self.started_at)?,
            met_at: opt_ts(T, "met_at", self.met_at)?,
        })
    }
}

/// Converts every row, stopping at the first corrupt one.
pub(crate) fn all<R, T>(rows: Vec<R>, f: impl Fn(R) -> Result<T>) -> Result<Vec<T>> {
    rows.into_iter().map(f).collect()
}
