//! Conversions between Rust values and PostgreSQL columns, and row → domain mapping.
//!
//! Every read goes through [`Cols`], which turns any decoding problem into
//! `StoreError::Corrupt { table, column, .. }` so a bad stored value never panics and
//! always names where it is.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use jiff::Timestamp;
use jiff::civil::Date;
use kizuki_domain::audit::{AuditEvent, AuditRecord};
use kizuki_domain::decision::{Decision, DecisionOption};
use kizuki_domain::evidence::{CustodyEvent, EvidenceItem};
use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::incident::{Impact, Incident};
use kizuki_domain::legal_clock::LegalClock;
use kizuki_domain::observable::{Observable, SharedObservable};
use kizuki_domain::party::Party;
use kizuki_domain::review::{LessonCategory, ReviewNarrative};
use kizuki_domain::task::{ChecklistItem, Task};
use kizuki_domain::timeline::TimelineEntry;
use kizuki_domain::user::{
    ApiToken, LaneOwner, LoginFailures, Member, Session, TokenScope, User, UserCredentials,
};
use kizuki_store::{Result, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

/// A jiff instant as a chrono one, keeping microseconds (PostgreSQL's precision).
/// Nanoseconds below the microsecond are truncated.
pub(crate) fn to_db_ts(t: Timestamp) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(t.as_microsecond())
        .ok_or_else(|| StoreError::Database(format!("timestamp {t} is outside PostgreSQL's range")))
}

/// The instant as PostgreSQL will keep it (sub-microsecond digits truncated, as by
/// [`to_db_ts`]), for values that are sealed or compared before they are stored.
pub(crate) fn to_microseconds(t: Timestamp) -> Result<Timestamp> {
    Timestamp::from_microsecond(t.as_microsecond())
        .map_err(|e| StoreError::Database(format!("timestamp {t} cannot be stored: {e}")))
}

pub(crate) fn to_db_opt_ts(t: Option<Timestamp>) -> Result<Option<DateTime<Utc>>> {
    t.map(to_db_ts).transpose()
}

pub(crate) fn to_db_date(d: Date) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::try_from(d.month()).unwrap_or(0),
        u32::try_from(d.day()).unwrap_or(0),
    )
    .ok_or_else(|| StoreError::Database(format!("date {d} cannot be stored")))
}

/// Serialising our own domain values cannot realistically fail; a failure is still an error.
pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Database(format!("cannot encode JSON: {e}"))
}

/// Typed column access for one row of one table.
pub(crate) struct Cols<'r> {
    row: &'r PgRow,
    table: &'static str,
}

fn corrupt(table: &'static str, column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        reason: reason.to_string(),
    }
}

macro_rules! json_col {
    ($name:ident, $t:ty) => {
        pub(crate) fn $name(&self, col: &'static str) -> Result<$t> {
            let v: sqlx::types::Json<serde_json::Value> = self.get(col)?;
            serde_json::from_value::<$t>(v.0).map_err(|e| corrupt(self.table, col, e))
        }
    };
}

impl<'r> Cols<'r> {
    pub(crate) fn new(row: &'r PgRow, table: &'static str) -> Self {
        Self { row, table }
    }

    pub(crate) fn get<T>(&self, col: &'static str) -> Result<T>
    where
        T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        self.row
            .try_get::<T, _>(col)
            .map_err(|e| corrupt(self.table, col, e))
    }

    pub(crate) fn ts(&self, col: &'static str) -> Result<Timestamp> {
        let t: DateTime<Utc> = self.get(col)?;
        from_db_ts(t).map_err(|e| corrupt(self.table, col, e))
    }

    pub(crate) fn opt_ts(&self, col: &'static str) -> Result<Option<Timestamp>> {
        let t: Option<DateTime<Utc>> = self.get(col)?;
        t.map(from_db_ts)
            .transpose()
            .map_err(|e| corrupt(self.table, col, e))
    }

    pub(crate) fn date(&self, col: &'static str) -> Result<Date> {
        use chrono::Datelike;
        let d: NaiveDate = self.get(col)?;
        let year = i16::try_from(d.year()).map_err(|e| corrupt(self.table, col, e))?;
        // Month (1..=12) and day (1..=31) always fit in an i8.
        let month = i8::try_from(d.month()).map_err(|e| corrupt(self.table, col, e))?;
        let day = i8::try_from(d.day()).map_err(|e| corrupt(self.table, col, e))?;
        Date::new(year, month, day).map_err(|e| corrupt(self.table, col, e))
    }

    pub(crate) fn parse<E>(&self, col: &'static str) -> Result<E>
    where
        E: FromStr,
        E::Err: std::fmt::Display,
    {
        let s: &str = self.get(col)?;
        s.parse().map_err(|e| corrupt(self.table, col, e))
    }

    pub(crate) fn opt_parse<E>(&self, col: &'static str) -> Result<Option<E>>
    where
        E: FromStr,
        E::Err: std::fmt::Display,
    {
        let s: Option<&str> = self.get(col)?;
        s.map(str::parse)
            .transpose()
            .map_err(|e| corrupt(self.table, col, e))
    }

    /// A BIGINT column that the domain holds as `u32` (its CHECK keeps it in range).
    pub(crate) fn u32(&self, col: &'static str) -> Result<u32> {
        let v: i64 = self.get(col)?;
        u32::try_from(v).map_err(|e| corrupt(self.table, col, e))
    }

    json_col!(strings, Vec<String>);
    json_col!(impact, Impact);
    json_col!(checklist, Vec<ChecklistItem>);
    json_col!(options, Vec<DecisionOption>);
    json_col!(scope, TokenScope);
    json_col!(narrative, ReviewNarrative);
    json_col!(lesson_categories, Vec<LessonCategory>);
    json_col!(exercise_source, ExerciseSource);
}

fn from_db_ts(t: DateTime<Utc>) -> std::result::Result<Timestamp, jiff::Error> {
    Timestamp::from_microsecond(t.timestamp_micros())
}

// --- column lists (kept next to the mapping that reads them) ----------------------------

/// A user's columns; `mfa_enabled` is derived from the active TOTP secret.
pub(crate) const USER_COLS: &str = "id, email, display_name, role, \
     (totp_secret IS NOT NULL) AS mfa_enabled, active, language, created_at";

/// The user's columns of `users u` in a join, each prefixed `u_`.
pub(crate) const USER_COLS_U: &str = "u.id AS u_id, u.email AS u_email, \
     u.display_name AS u_display_name, u.role AS u_role, \
     (u.totp_secret IS NOT NULL) AS u_mfa_enabled, u.active AS u_active, \
     u.language AS u_language, u.created_at AS u_created_at";

pub(crate) fn user(row: &PgRow) -> Result<User> {
    user_prefixed(row, false)
}

/// Reads a user from the `u_`-prefixed columns of [`USER_COLS_U`] when `prefixed`.
pub(crate) fn user_prefixed(row: &PgRow, prefixed: bool) -> Result<User> {
    let c = Cols::new(row, "users");
    let (id, email, display_name, role, mfa_enabled, active, language, created_at) = if prefixed {
        (
            "u_id",
            "u_email",
            "u_display_name",
            "u_role",
            "u_mfa_enabled",
            "u_active",
            "u_language",
            "u_created_at",
        )
    } else {
        (
            "id",
            "email",
            "display_name",
            "role",
            "mfa_enabled",
            "active",
            "language",
            "created_at",
        )
    };
    Ok(User {
        id: c.get(id)?,
        email: c.get(email)?,
        display_name: c.get(display_name)?,
        role: c.parse(role)?,
        mfa_enabled: c.get(mfa_enabled)?,
        active: c.get(active)?,
        language: c.opt_parse(language)?,
        created_at: c.ts(created_at)?,
    })
}

pub(crate) const CREDENTIAL_COLS: &str = "id, email, display_name, role, \
     (totp_secret IS NOT NULL) AS mfa_enabled, active, language, created_at, password_hash, totp_secret, \
     totp_pending_secret, totp_last_step";

pub(crate) fn credentials(row: &PgRow) -> Result<UserCredentials> {
    let c = Cols::new(row, "users");
    Ok(UserCredentials {
        user: user(row)?,
        password_hash: c.get("password_hash")?,
        totp_secret: c.get("totp_secret")?,
        totp_pending_secret: c.get("totp_pending_secret")?,
        totp_last_step: c.get("totp_last_step")?,
    })
}

pub(crate) const TOKEN_COLS: &str = "id, user_id, name, scope, created_at, expires_at, revoked_at";

pub(crate) fn token(row: &PgRow) -> Result<ApiToken> {
    let c = Cols::new(row, "api_tokens");
    Ok(ApiToken {
        id: c.get("id")?,
        user_id: c.get("user_id")?,
        name: c.get("name")?,
        scope: c.scope("scope")?,
        created_at: c.ts("created_at")?,
        expires_at: c.opt_ts("expires_at")?,
        revoked_at: c.opt_ts("revoked_at")?,
    })
}

/// A token's scope alone (read in joins).
pub(crate) fn token_scope(row: &PgRow) -> Result<TokenScope> {
    Cols::new(row, "api_tokens").scope("scope")
}

pub(crate) const SESSION_COLS: &str =
    "id, user_id, stage, created_at, last_seen_at, expires_at, address, user_agent";

pub(crate) fn session(row: &PgRow) -> Result<Session> {
    let c = Cols::new(row, "sessions");
    Ok(Session {
        id: c.get("id")?,
        user_id: c.get("user_id")?,
        stage: c.parse("stage")?,
        created_at: c.ts("created_at")?,
        last_seen_at: c.ts("last_seen_at")?,
        expires_at: c.ts("expires_at")?,
        address: c.get("address")?,
        user_agent: c.get("user_agent")?,
    })
}

pub(crate) fn login_failures(row: &PgRow) -> Result<LoginFailures> {
    let c = Cols::new(row, "login_failures");
    let failures: i64 = c.get("failures")?;
    Ok(LoginFailures {
        // The stored count never exceeds u32::MAX (the store caps it there).
        failures: u32::try_from(failures).map_err(|e| corrupt("login_failures", "failures", e))?,
        last_failure_at: Some(c.ts("last_failure_at")?),
    })
}

/// Read from `incident_members m JOIN users u`.
pub(crate) fn lane_owner(row: &PgRow) -> Result<LaneOwner> {
    let c = Cols::new(row, "incident_lane_owners");
    Ok(LaneOwner {
        lane: c.parse("lane")?,
        user_id: c.get("user_id")?,
        display_name: c.get("display_name")?,
        assigned_at: c.ts("assigned_at")?,
    })
}

pub(crate) fn member(row: &PgRow) -> Result<Member> {
    let c = Cols::new(row, "incident_members");
    Ok(Member {
        user_id: c.get("user_id")?,
        email: c.get("email")?,
        display_name: c.get("display_name")?,
        role: c.parse("role")?,
        added_at: c.ts("added_at")?,
    })
}

pub(crate) const AUDIT_COLS: &str =
    "seq, at, actor_id, actor, address, action, object, outcome, detail, prev_hash, hash";

pub(crate) fn audit_record(row: &PgRow) -> Result<AuditRecord> {
    let c = Cols::new(row, "audit_log");
    Ok(AuditRecord {
        seq: c.get("seq")?,
        event: AuditEvent {
            at: c.ts("at")?,
            actor_id: c.get("actor_id")?,
            actor: c.get("actor")?,
            address: c.get("address")?,
            action: c.get("action")?,
            object: c.get("object")?,
            outcome: c.get("outcome")?,
            detail: c.get("detail")?,
        },
        prev_hash: c.get("prev_hash")?,
        hash: c.get("hash")?,
    })
}

pub(crate) const INCIDENT_COLS: &str = "id, title, summary, category, severity, phase, \
     detection_source, start_date, start_basis, aware_at, affected_units, affected_assets, \
     impact, restricted, exercise, version, created_by, created_at, updated_at";

pub(crate) fn incident(row: &PgRow) -> Result<Incident> {
    let c = Cols::new(row, "incidents");
    let severity: i16 = c.get("severity")?;
    Ok(Incident {
        id: c.get("id")?,
        title: c.get("title")?,
        summary: c.get("summary")?,
        category: c.parse("category")?,
        severity: u8::try_from(severity).map_err(|e| corrupt("incidents", "severity", e))?,
        phase: c.parse("phase")?,
        detection_source: c.parse("detection_source")?,
        start_date: c.date("start_date")?,
        start_basis: c.parse("start_basis")?,
        aware_at: c.ts("aware_at")?,
        affected_units: c.strings("affected_units")?,
        affected_assets: c.strings("affected_assets")?,
        impact: c.impact("impact")?,
        restricted: c.get("restricted")?,
        exercise: c.get("exercise")?,
        version: c.get("version")?,
        created_by: c.get("created_by")?,
        created_at: c.ts("created_at")?,
        updated_at: c.ts("updated_at")?,
    })
}

pub(crate) const TIMELINE_COLS: &str = "id, incident_id, occurred_at, \"precision\", day_part, \
     lane, actor, kind, text, source, created_by, created_at";

pub(crate) fn timeline_entry(row: &PgRow) -> Result<TimelineEntry> {
    let c = Cols::new(row, "timeline_entries");
    Ok(TimelineEntry {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        occurred_at: c.ts("occurred_at")?,
        precision: c.parse("precision")?,
        day_part: c.opt_parse("day_part")?,
        lane: c.parse("lane")?,
        actor: c.get("actor")?,
        kind: c.parse("kind")?,
        text: c.get("text")?,
        source: c.parse("source")?,
        created_by: c.get("created_by")?,
        created_at: c.ts("created_at")?,
    })
}

pub(crate) const TASK_COLS: &str = "id, incident_id, playbook, phase, title, lane, checklist, \
     due_at, rationale, status, completed_by, completed_at, position";

pub(crate) fn task(row: &PgRow) -> Result<Task> {
    let c = Cols::new(row, "tasks");
    Ok(Task {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        playbook: c.get("playbook")?,
        phase: c.get("phase")?,
        title: c.get("title")?,
        lane: c.parse("lane")?,
        checklist: c.checklist("checklist")?,
        due_at: c.opt_ts("due_at")?,
        rationale: c.get("rationale")?,
        status: c.parse("status")?,
        completed_by: c.get("completed_by")?,
        completed_at: c.opt_ts("completed_at")?,
        position: c.get("position")?,
    })
}

pub(crate) const DECISION_COLS: &str = "id, incident_id, question, options, chosen, decided_by, \
     decided_at, rationale, decide_by, created_at";

pub(crate) fn decision(row: &PgRow) -> Result<Decision> {
    let c = Cols::new(row, "decisions");
    let chosen: Option<i64> = c.get("chosen")?;
    Ok(Decision {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        question: c.get("question")?,
        options: c.options("options")?,
        chosen: chosen
            .map(u32::try_from)
            .transpose()
            .map_err(|e| corrupt("decisions", "chosen", e))?,
        decided_by: c.get("decided_by")?,
        decided_at: c.opt_ts("decided_at")?,
        rationale: c.get("rationale")?,
        decide_by: c.opt_ts("decide_by")?,
        created_at: c.ts("created_at")?,
    })
}

pub(crate) const PARTY_COLS: &str =
    "id, incident_id, kind, name, organisation, role, email, phone, fallback_channel, notes";

pub(crate) fn party(row: &PgRow) -> Result<Party> {
    let c = Cols::new(row, "parties");
    Ok(Party {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        kind: c.parse("kind")?,
        name: c.get("name")?,
        organisation: c.get("organisation")?,
        role: c.get("role")?,
        email: c.get("email")?,
        phone: c.get("phone")?,
        fallback_channel: c.get("fallback_channel")?,
        notes: c.get("notes")?,
    })
}

pub(crate) const EVIDENCE_COLS: &str =
    "id, incident_id, name, description, sha256, location, created_at";

/// An evidence item without its custody chain (the caller fills it in).
pub(crate) fn evidence_item(row: &PgRow) -> Result<EvidenceItem> {
    let c = Cols::new(row, "evidence_items");
    Ok(EvidenceItem {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        name: c.get("name")?,
        description: c.get("description")?,
        sha256: c.get("sha256")?,
        location: c.get("location")?,
        custody: Vec::new(),
        created_at: c.ts("created_at")?,
    })
}

pub(crate) const CUSTODY_COLS: &str = "id, evidence_id, at, action, handler, location, note";

pub(crate) fn custody_event(row: &PgRow) -> Result<CustodyEvent> {
    custody_event_prefixed(row, "")
}

/// Reads a custody event whose columns carry a prefix (`c_id`, `c_at`, … in joins).
pub(crate) fn custody_event_prefixed(row: &PgRow, prefix: &'static str) -> Result<CustodyEvent> {
    let c = Cols::new(row, "custody_events");
    let (id, evidence_id, at, action, handler, location, note) = if prefix.is_empty() {
        (
            "id",
            "evidence_id",
            "at",
            "action",
            "handler",
            "location",
            "note",
        )
    } else {
        (
            "c_id",
            "c_evidence_id",
            "c_at",
            "c_action",
            "c_handler",
            "c_location",
            "c_note",
        )
    };
    Ok(CustodyEvent {
        id: c.get(id)?,
        evidence_id: c.get(evidence_id)?,
        at: c.ts(at)?,
        action: c.parse(action)?,
        handler: c.get(handler)?,
        location: c.get(location)?,
        note: c.get(note)?,
    })
}

pub(crate) const OBSERVABLE_COLS: &str =
    "id, incident_id, kind, value, normalized, note, first_seen";

pub(crate) fn observable(row: &PgRow) -> Result<Observable> {
    let c = Cols::new(row, "observables");
    Ok(Observable {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        kind: c.parse("kind")?,
        value: c.get("value")?,
        normalized: c.get("normalized")?,
        note: c.get("note")?,
        first_seen: c.ts("first_seen")?,
    })
}

pub(crate) fn shared_observable(row: &PgRow) -> Result<SharedObservable> {
    let c = Cols::new(row, "observables");
    Ok(SharedObservable {
        incident_id: c.get("incident_id")?,
        incident_title: c.get("incident_title")?,
        observable_id: c.get("observable_id")?,
        kind: c.parse("kind")?,
        normalized: c.get("normalized")?,
    })
}

pub(crate) const CLOCK_COLS: &str =
    "id, incident_id, kind, name, due_hours, overdue_hours, started_at, met_at";

pub(crate) fn legal_clock(row: &PgRow) -> Result<LegalClock> {
    let c = Cols::new(row, "legal_clocks");
    Ok(LegalClock {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        kind: c.parse("kind")?,
        name: c.get("name")?,
        due_hours: c.get("due_hours")?,
        overdue_hours: c.get("overdue_hours")?,
        started_at: c.ts("started_at")?,
        met_at: c.opt_ts("met_at")?,
    })
}
