//! The SQLite backend of [`kizuki_store::Store`].
//!
//! # Connections
//!
//! A file database is opened in WAL mode with two pools:
//!
//! * a **writer** pool of exactly one connection. Every write goes through it, so writers
//!   queue in-process (fairly, in arrival order) instead of spinning in SQLite's busy
//!   handler, whose sleep-and-retry back-off is what makes naive SQLite pools slow and
//!   prone to "database is locked" under concurrent writes. Write transactions start with
//!   `BEGIN IMMEDIATE`, so even a second process sharing the file cannot deadlock on a
//!   read-to-write lock upgrade; it waits up to `busy_timeout` (5 s) instead.
//! * a **reader** pool of up to [`MAX_READ_CONNECTIONS`]; WAL lets readers run alongside
//!   the writer and always see the last committed write.
//!
//! An in-memory database (`sqlite::memory:`) gets a unique name and a single connection
//! that is never closed, shared by reads and writes, so the data lives as long as the
//! store and no other store sees it.
//!
//! # Storage conventions
//!
//! Instants are INTEGER microseconds since the Unix epoch (sub-microsecond precision is
//! dropped on the way in, and every method returns what was stored, not what it was given);
//! dates are `YYYY-MM-DD` text; closed vocabularies are their snake_case text, checked when
//! read back (`StoreError::Corrupt`); lists and the impact struct are JSON text.
//!
//! # Security
//!
//! * Need-to-know is one SQL predicate (`push_visible`) spliced into the `WHERE` clause of
//!   every query given a `Viewer`, so keyset pages, text search, counts and correlations
//!   only ever see visible incidents.
//! * Single-use things (a TOTP step, a recovery code, an enrolment link) are claimed by one
//!   conditional `UPDATE`, so two racing requests cannot both succeed.
//! * The audit log is appended inside one `BEGIN IMMEDIATE` transaction on the single
//!   writer connection, which reads the sealed head, numbers and seals each record, and
//!   moves the head: appenders queue, so the chain never forks and `seq` has no gaps.

mod notify;
mod playbooks;
mod review;
mod rows;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::access::{IncidentScope, Viewer};
use kizuki_domain::audit::{AuditEvent, AuditHead, AuditRecord, AuditSealer, GENESIS_HASH};
use kizuki_domain::decision::{Decision, DecisionOutcome, NewDecision};
use kizuki_domain::evidence::{CustodyAction, CustodyEvent, EvidenceItem, NewEvidence};
use kizuki_domain::exercise::{ExerciseActionRecord, ExerciseRecord};
use kizuki_domain::incident::{ExerciseFilter, Incident, IncidentFields, IncidentFilter};
use kizuki_domain::legal_clock::{ClockKind, LegalClock, LegalClockFields};
use kizuki_domain::notification::AckVia;
use kizuki_domain::observable::{NewObservable, Observable, ObservableKind, SharedObservable};
use kizuki_domain::party::{NewParty, Party, PartyKind, PartyPatch};
use kizuki_domain::review::{
    ActionQuery, CorrectiveAction, CorrectiveActionState, Lesson, LessonFields, LessonHit,
    LessonQuery, Review, ReviewNarrative,
};
use kizuki_domain::settings::Language;
use kizuki_domain::task::{NewTask, Task, TaskStatus};
use kizuki_domain::timeline::{Lane, TimelineEntry, TimelineEntryFields};
use kizuki_domain::user::{
    ApiToken, LaneOwner, LoginFailures, Member, NewSession, NewUser, Role, Session, SessionStage,
    TokenScope, User, UserCredentials,
};
use kizuki_notify::escalation::EscalationChain;
use kizuki_notify::oncall::{Override, RotationSpec};
use kizuki_notify::rule::NotificationRule;
use kizuki_notify::template::TemplateKind;
use kizuki_store::{
    Acknowledged, CustodyRecord, FinishedJob, Job, JobEffects, JobFilter, NewExercise, NewJob,
    NewPhoneCall, NewPlaybookVersion, Notification, Page, PhoneTreeLine, Result, Store, StoreError,
    StoredChain, StoredPlaybook, StoredRotation, StoredRule, StoredTemplate, TaskCompletion,
    TaskUpdate, TimelineQuery, WebhookTarget, WebhookTargetFields,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::rows::{
    AuditRow, ClockRow, CredentialsRow, CustodyRow, DecisionRow, EvidenceRow, IncidentRow,
    LaneOwnerRow, MemberRow, ObservableRow, PartyRow, SessionRow, SessionUserRow, SharedRow,
    TaskRow, TimelineRow, TokenRow, TokenUserRow, UserRow, all, audit_cols, clock_cols,
    credential_cols, custody_cols, date_text, decision_cols, evidence_cols, incident_cols, micros,
    observable_cols, opt_micros, party_cols, session_cols, session_user_cols, task_cols,
    timeline_cols, timeline_from_json, timeline_json_sql, to_json, token_cols, ts, user_cols,
    user_cols_u,
};

/// Upper bound of the reader pool of a file database.
pub const MAX_READ_CONNECTIONS: u32 = 8;

/// Page cache per connection, as SQLite's negative `cache_size` (KiB): 8 MiB.
const CACHE_SIZE_KIB: &str = "-8192";

/// How long SQLite waits for a lock held by another connection (e.g. another process).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// A Kizuki store in one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads. For an in-memory database, the same single-connection pool as `write`.
    read: SqlitePool,
    /// Writes: one connection, so write transactions queue in-process.
    write: SqlitePool,
}

fn db(e: sqlx::Error) -> StoreError {
    // sqlx's messages carry SQLite's text ("UNIQUE constraint failed: users.email") and
    // never the bound values, so nothing secret leaks through here.
    StoreError::Database(e.to_string())
}

fn not_found(entity: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl SqliteStore {
    /// Opens (and for files, creates along with missing parent directories) a database.
    ///
    /// Accepts `sqlite://path/to/file.db` (also `sqlite:path`, with the usual sqlx query
    /// parameters) and `sqlite::memory:`. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        // sqlx would take anything else as a file name and create it.
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Database(
                "not a SQLite URL: expected sqlite://path/to/file.db or sqlite::memory:".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("invalid SQLite URL: {e}")))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory");

        if is_memory_url(url) {
            // sqlx names each `sqlite::memory:` database uniquely and opens it with a shared
            // cache; one connection that never expires keeps it alive and consistent.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(db)?;
            return Ok(SqliteStore {
                read: pool.clone(),
                write: pool,
            });
        }

        create_parent_dir(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Memory is bounded per connection (9 at most): an 8 MiB page cache each and no
            // memory map. A 256 MiB mmap per connection made scans count the whole file in
            // the server's RSS (2.3 GB under the list benchmark) for no measurable speed-up:
            // hot pages come from the page cache either way.
            .pragma("cache_size", CACHE_SIZE_KIB)
            .pragma("mmap_size", "0")
            // After a checkpoint the WAL file is cut back to 64 MiB instead of keeping its
            // high-water mark (it reached 2.8 GB after the 2-million-entry benchmark fill).
            .pragma("journal_size_limit", "67108864");

        // The writer first: it creates the file and switches it to WAL.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        let read = SqlitePoolOptions::new()
            .max_connections(MAX_READ_CONNECTIONS)
            .min_connections(1)
            .idle_timeout(Duration::from_secs(600))
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(SqliteStore { read, write })
    }

    /// The reader pool (for a memory database, the only pool). For tests and diagnostics;
    /// writes made through it bypass the in-process write queue but are still safe.
    pub fn pool(&self) -> &SqlitePool {
        &self.read
    }

    /// The single-connection pool all of the store's writes go through.
    pub fn write_pool(&self) -> &SqlitePool {
        &self.write
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }
}

fn create_parent_dir(file: &Path) -> Result<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Database(format!(
                "cannot create the directory {} for the database: {e}",
                dir.display()
            ))
        }),
        _ => Ok(()),
    }
}

// --- helpers shared by several methods ------------------------------------------------------

async fn ensure_incident(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM incidents WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    match found {
        Some(_) => Ok(()),
        None => Err(not_found("incident", id)),
    }
}

/// After a child row was not found: if the incident itself is missing, say so; otherwise
/// the child is missing (or belongs to another incident).
async fn missing(
    conn: &mut SqliteConnection,
    incident_id: i64,
    entity: &'static str,
    id: i64,
) -> StoreError {
    match ensure_incident(conn, incident_id).await {
        Ok(()) => not_found(entity, id),
        Err(e) => e,
    }
}

/// The encoded form of `IncidentFields`, bound in the same order by insert and update.
struct IncidentValues {
    title: String,
    summary: String,
    title_search: String,
    summary_search: String,
    category: &'static str,
    severity: i64,
    phase: &'static str,
    detection_source: &'static str,
    start_date: String,
    start_basis: &'static str,
    aware_at: i64,
    affected_units: String,
    affected_assets: String,
    impact: String,
    restricted: bool,
}

impl IncidentValues {
    fn new(f: &IncidentFields) -> Result<Self> {
        Ok(Self {
            title: f.title.clone(),
            summary: f.summary.clone(),
            title_search: f.title.to_lowercase(),
            summary_search: f.summary.to_lowercase(),
            category: f.category.as_str(),
            severity: i64::from(f.severity),
            phase: f.phase.as_str(),
            detection_source: f.detection_source.as_str(),
            start_date: date_text(f.start_date),
            start_basis: f.start_basis.as_str(),
            aware_at: micros(f.aware_at),
            affected_units: to_json("affected_units", &f.affected_units)?,
            affected_assets: to_json("affected_assets", &f.affected_assets)?,
            impact: to_json("impact", &f.impact)?,
            restricted: f.restricted,
        })
    }

    /// Binds the 15 values in column order: title, summary, title_search, summary_search,
    /// category, severity, phase, detection_source, start_date, start_basis, aware_at,
    /// affected_units, affected_assets, impact, restricted.
    fn bind<'q, O>(
        self,
        q: sqlx::query::QueryAs<'q, Sqlite, O, SqliteArguments>,
    ) -> sqlx::query::QueryAs<'q, Sqlite, O, SqliteArguments> {
        q.bind(self.title)
            .bind(self.summary)
            .bind(self.title_search)
            .bind(self.summary_search)
            .bind(self.category)
            .bind(self.severity)
            .bind(self.phase)
            .bind(self.detection_source)
            .bind(self.start_date)
            .bind(self.start_basis)
            .bind(self.aware_at)
            .bind(self.affected_units)
            .bind(self.affected_assets)
            .bind(self.impact)
            .bind(self.restricted)
    }
}

async fn insert_clock(
    conn: &mut SqliteConnection,
    incident_id: i64,
    clock: &LegalClockFields,
) -> Result<LegalClock> {
    sqlx::query_as::<_, ClockRow>(concat!(
        "INSERT INTO legal_clocks (incident_id, kind, name, due_hours, overdue_hours, started_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
        clock_cols!()
    ))
    .bind(incident_id)
    .bind(clock.kind.as_str())
    .bind(&clock.name)
    .bind(clock.due_hours)
    .bind(clock.overdue_hours)
    .bind(micros(clock.started_at))
    .fetch_one(conn)
    .await
    .map_err(db)?
    .into_domain()
}

async fn insert_entry(
    conn: &mut SqliteConnection,
    incident_id: i64,
    e: &TimelineEntryFields,
    created_by: Option<i64>,
    now: Timestamp,
) -> Result<TimelineEntry> {
    sqlx::query_as::<_, TimelineRow>(concat!(
        "INSERT INTO timeline_entries (incident_id, occurred_at, precision, day_part, lane, \
         actor, kind, text, source, created_by, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
        timeline_cols!()
    ))
    .bind(incident_id)
    .bind(micros(e.occurred_at))
    .bind(e.precision.as_str())
    .bind(e.day_part.map(|d| d.as_str()))
    .bind(e.lane.as_str())
    .bind(&e.actor)
    .bind(e.kind.as_str())
    .bind(&e.text)
    .bind(e.source.as_str())
    .bind(created_by)
    .bind(micros(now))
    .fetch_one(conn)
    .await
    .map_err(db)?
    .into_domain()
}

/// `now - d` as stored microseconds, saturating at the ends of the range.
fn micros_before(now: Timestamp, d: SignedDuration) -> i64 {
    let m = i128::from(micros(now)) - d.as_micros();
    i64::try_from(m).unwrap_or(if m < 0 { i64::MIN } else { i64::MAX })
}

/// `session_by_hash` moves `last_seen_at` only when it is older than this, so a busy
/// session costs a write a minute, not one a request.
const SESSION_TOUCH_INTERVAL: SignedDuration = SignedDuration::from_secs(60);

fn failures((failures, last): (i64, i64)) -> Result<LoginFailures> {
    Ok(LoginFailures {
        failures: u32::try_from(failures).map_err(|_| StoreError::Corrupt {
            table: "login_failures",
            column: "failures",
            reason: "integer out of range".into(),
        })?,
        last_failure_at: Some(ts("login_failures", "last_failure_at", last)?),
    })
}

/// Deletes the user's recovery codes and stores `hashes` instead (inside the caller's
/// transaction).
async fn replace_recovery_codes(
    conn: &mut SqliteConnection,
    user_id: i64,
    hashes: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?) \
             ON CONFLICT (user_id, code_hash) DO NOTHING",
        )
        .bind(user_id)
        .bind(hash)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Appends ` AND <Viewer::can_see>` for the incident row `incident` (a table name or alias
/// in scope of the query), so need-to-know is judged by the query itself: pages, counts and
/// correlations only ever see what the viewer may. Nothing is appended for `None` (the
/// system sees everything).
///
/// Mirrors `Viewer::can_see` case by case (`created_by` may be NULL, which equals nothing):
/// * Organisation: not restricted, or created by the viewer, or the viewer is a member;
/// * MemberOnly: the viewer is a member;
/// * OwnReports: created by the viewer.
fn push_visible(qb: &mut QueryBuilder<Sqlite>, incident: &str, viewer: Option<&Viewer>) {
    let Some(viewer) = viewer else { return };
    qb.push(" AND ");
    match viewer.scope {
        IncidentScope::Organisation => {
            // `restricted = 0` first: most incidents pass without a membership check.
            qb.push("(")
                .push(incident)
                .push(".restricted = 0 OR ")
                .push(incident)
                .push(".created_by = ")
                .push_bind(viewer.user_id)
                .push(" OR ");
            push_member(qb, incident, viewer.user_id);
            qb.push(")");
        }
        IncidentScope::MemberOnly => push_member(qb, incident, viewer.user_id),
        IncidentScope::OwnReports => {
            qb.push(incident)
                .push(".created_by = ")
                .push_bind(viewer.user_id);
        }
    }
}

/// `user_id` is a member of the incident row `incident`. An uncorrelated IN list, read once
/// from `incident_members_user`: for a member-only viewer SQLite then walks just those
/// incidents by primary key, newest first, instead of scanning every incident.
fn push_member(qb: &mut QueryBuilder<Sqlite>, incident: &str, user_id: i64) {
    qb.push(incident)
        .push(".id IN (SELECT incident_id FROM incident_members WHERE user_id = ")
        .push_bind(user_id)
        .push(")");
}

/// Shortest search text (in characters) answered by the trigram index.
const MIN_INDEXED_NEEDLE: usize = 3;

/// `needle` as one FTS5 phrase: in double quotes, inner quotes doubled, so every character
/// (`%`, `_`, `*`, `-`, `"`, …) is literal text. With the trigram tokenizer a phrase
/// matches exactly where `needle` is a substring of a column.
fn fts_phrase(needle: &str) -> String {
    format!("\"{}\"", needle.replace('"', "\"\""))
}

fn clamp_limit(limit: u32) -> u32 {
    match limit {
        0 => IncidentFilter::DEFAULT_LIMIT,
        n => n.min(IncidentFilter::MAX_LIMIT),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.write)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
            .map_err(db)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }

    // --- users and credentials ------------------------------------------------------------

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User> {
        // New users start active, without a password (an enrolment link sets it) or MFA.
        let res = sqlx::query_as::<_, UserRow>(concat!(
            "INSERT INTO users (email, display_name, role, created_at, active) \
             VALUES (?, ?, ?, ?, 1) RETURNING ",
            user_cols!()
        ))
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(micros(now))
        .fetch_one(&self.write)
        .await;
        match res {
            Ok(row) => row.into_domain(),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: format!("user {}", user.email),
            }),
            Err(e) => Err(db(e)),
        }
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE email = ?"
        ))
        .bind(email)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(UserRow::into_domain)
        .transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!("SELECT ", user_cols!(), " FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .map(UserRow::into_domain)
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, UserRow::into_domain)
    }

    async fn set_user_role(&self, user_id: i64, role: Role) -> Result<User> {
        sqlx::query_as::<_, UserRow>(concat!(
            "UPDATE users SET role = ? WHERE id = ? RETURNING ",
            user_cols!()
        ))
        .bind(role.as_str())
        .bind(user_id)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("user", user_id))?
        .into_domain()
    }

    async fn set_user_language(&self, user_id: i64, language: Option<Language>) -> Result<User> {
        sqlx::query_as::<_, UserRow>(concat!(
            "UPDATE users SET language = ? WHERE id = ? RETURNING ",
            user_cols!()
        ))
        .bind(language.map(|l| l.as_str()))
        .bind(user_id)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("user", user_id))?
        .into_domain()
    }

    async fn set_user_active(&self, user_id: i64, active: bool, now: Timestamp) -> Result<User> {
        let mut tx = self.begin().await?;
        let user = sqlx::query_as::<_, UserRow>(concat!(
            "UPDATE users SET active = ? WHERE id = ? RETURNING ",
            user_cols!()
        ))
        .bind(active)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("user", user_id))?
        .into_domain()?;
        if !active {
            // Everything that lets the user in stops working in the same commit.
            for sql in [
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            ] {
                sqlx::query(sql)
                    .bind(micros(now))
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    async fn credentials_by_email(&self, email: &str) -> Result<Option<UserCredentials>> {
        sqlx::query_as::<_, CredentialsRow>(concat!(
            "SELECT ",
            credential_cols!(),
            " FROM users WHERE email = ?"
        ))
        .bind(email)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(CredentialsRow::into_domain)
        .transpose()
    }

    async fn credentials_by_id(&self, user_id: i64) -> Result<Option<UserCredentials>> {
        sqlx::query_as::<_, CredentialsRow>(concat!(
            "SELECT ",
            credential_cols!(),
            " FROM users WHERE id = ?"
        ))
        .bind(user_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(CredentialsRow::into_domain)
        .transpose()
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.write)
            .await
            .map_err(db)?;
        match done.rows_affected() {
            0 => Err(not_found("user", user_id)),
            _ => Ok(()),
        }
    }

    async fn set_totp_pending(&self, user_id: i64, secret: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET totp_pending_secret = ? WHERE id = ?")
            .bind(secret)
            .bind(user_id)
            .execute(&self.write)
            .await
            .map_err(db)?;
        match done.rows_affected() {
            0 => Err(not_found("user", user_id)),
            _ => Ok(()),
        }
    }

    async fn activate_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_code_hashes: &[String],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = ? WHERE id = ? AND totp_pending_secret IS NOT NULL",
        )
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            return Err(match exists {
                Some(_) => not_found("pending TOTP secret of user", user_id),
                None => not_found("user", user_id),
            });
        }
        replace_recovery_codes(&mut tx, user_id, recovery_code_hashes).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn reset_mfa(&self, user_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, \
             totp_last_step = NULL WHERE id = ?",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("user", user_id));
        }
        replace_recovery_codes(&mut tx, user_id, &[]).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn claim_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        // Check and claim in one statement: of two requests racing with one code, the
        // second finds the step already taken.
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = ? \
             WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
        )
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ? \
             WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(micros(now))
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user_id: i64) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // --- login defences -------------------------------------------------------------------

    async fn login_failures(&self, key: &str) -> Result<LoginFailures> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure_at FROM login_failures WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
        row.map_or(Ok(LoginFailures::default()), failures)
    }

    async fn record_login_failure(
        &self,
        key: &str,
        now: Timestamp,
        reset_after: SignedDuration,
    ) -> Result<LoginFailures> {
        // One statement: concurrent failures each count, none is lost.
        let row: (i64, i64) = sqlx::query_as(
            "INSERT INTO login_failures (key, failures, last_failure_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_failures.last_failure_at < ?3 THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               last_failure_at = max(login_failures.last_failure_at, excluded.last_failure_at) \
             RETURNING failures, last_failure_at",
        )
        .bind(key)
        .bind(micros(now))
        .bind(micros_before(now, reset_after))
        .fetch_one(&self.write)
        .await
        .map_err(db)?;
        failures(row)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = ?")
            .bind(key)
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    // --- sessions -------------------------------------------------------------------------

    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<Session> {
        let res = sqlx::query_as::<_, SessionRow>(concat!(
            "INSERT INTO sessions (secret_hash, user_id, stage, created_at, last_seen_at, \
             expires_at, address, user_agent) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) \
             RETURNING ",
            session_cols!()
        ))
        .bind(&session.secret_hash)
        .bind(session.user_id)
        .bind(session.stage.as_str())
        .bind(micros(now))
        .bind(micros(now))
        .bind(micros(session.expires_at))
        .bind(session.address.as_deref())
        .bind(&session.user_agent)
        .bind(session.user_id)
        .fetch_optional(&self.write)
        .await;
        match res {
            Ok(Some(row)) => row.into_domain(),
            Ok(None) => Err(not_found("user", session.user_id)),
            // Never echo the hash.
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "a session with this secret".to_owned(),
            }),
            Err(e) => Err(db(e)),
        }
    }

    async fn session_by_hash(
        &self,
        secret_hash: &str,
        now: Timestamp,
        idle_timeout: SignedDuration,
    ) -> Result<Option<(Session, User)>> {
        let row = sqlx::query_as::<_, SessionUserRow>(concat!(
            "SELECT ",
            session_user_cols!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? \
               AND s.last_seen_at > ? AND u.active = 1"
        ))
        .bind(secret_hash)
        .bind(micros(now))
        .bind(micros_before(now, idle_timeout))
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        let Some(mut row) = row else {
            return Ok(None);
        };
        // Most requests of an active session find it seen less than a minute ago and write
        // nothing; the rest move `last_seen_at` forward (never back, whatever the order in
        // which concurrent requests reach the writer).
        let touch_before = micros_before(now, SESSION_TOUCH_INTERVAL);
        if row.session.last_seen_at < touch_before {
            let touched = sqlx::query(
                "UPDATE sessions SET last_seen_at = ? \
                 WHERE id = ? AND last_seen_at < ? AND revoked_at IS NULL",
            )
            .bind(micros(now))
            .bind(row.session.id)
            .bind(touch_before)
            .execute(&self.write)
            .await
            .map_err(db)?;
            if touched.rows_affected() == 1 {
                row.session.last_seen_at = micros(now);
            }
        }
        row.into_domain().map(Some)
    }

    async fn list_sessions(
        &self,
        user_id: i64,
        now: Timestamp,
        idle_timeout: SignedDuration,
    ) -> Result<Vec<Session>> {
        let rows = sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? \
               AND last_seen_at > ? ORDER BY id DESC"
        ))
        .bind(user_id)
        .bind(micros(now))
        .bind(micros_before(now, idle_timeout))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, SessionRow::into_domain)
    }

    async fn revoke_session(&self, user_id: i64, session_id: i64, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ? \
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(micros(now))
        .bind(session_id)
        .bind(user_id)
        .bind(micros(now))
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_sessions_except(
        &self,
        user_id: i64,
        keep: Option<i64>,
        now: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ?1 \
             WHERE user_id = ?2 AND revoked_at IS NULL AND expires_at > ?1 \
               AND (?3 IS NULL OR id <> ?3)",
        )
        .bind(micros(now))
        .bind(user_id)
        .bind(keep)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn promote_session(&self, session_id: i64) -> Result<()> {
        let done = sqlx::query("UPDATE sessions SET stage = ? WHERE id = ?")
            .bind(SessionStage::Full.as_str())
            .bind(session_id)
            .execute(&self.write)
            .await
            .map_err(db)?;
        match done.rows_affected() {
            0 => Err(not_found("session", session_id)),
            _ => Ok(()),
        }
    }

    // --- API tokens and enrolment links ---------------------------------------------------

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scope: &TokenScope,
        secret_hash: &str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Result<ApiToken> {
        let scope = to_json("scope", scope)?;
        // One statement: the user check and the insert cannot be split by another writer.
        let res = sqlx::query_as::<_, TokenRow>(concat!(
            "INSERT INTO api_tokens (user_id, name, scope, secret_hash, created_at, expires_at) \
             SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) \
             RETURNING ",
            token_cols!()
        ))
        .bind(user_id)
        .bind(name)
        .bind(scope)
        .bind(secret_hash)
        .bind(micros(now))
        .bind(opt_micros(expires_at))
        .bind(user_id)
        .fetch_optional(&self.write)
        .await;
        match res {
            Ok(Some(row)) => row.into_domain(),
            Ok(None) => Err(not_found("user", user_id)),
            // Never echo the hash.
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "a token with this secret".to_owned(),
            }),
            Err(e) => Err(db(e)),
        }
    }

    async fn user_by_token_hash(
        &self,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(User, TokenScope)>> {
        sqlx::query_as::<_, TokenUserRow>(concat!(
            "SELECT ",
            user_cols_u!(),
            ", t.scope FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.secret_hash = ? AND t.revoked_at IS NULL \
               AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.active = 1"
        ))
        .bind(secret_hash)
        .bind(micros(now))
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(TokenUserRow::into_domain)
        .transpose()
    }

    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query_as::<_, TokenRow>(concat!(
            "SELECT ",
            token_cols!(),
            " FROM api_tokens WHERE user_id = ? ORDER BY id DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, TokenRow::into_domain)
    }

    async fn revoke_token(&self, user_id: i64, token_id: i64, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? \
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(micros(now))
        .bind(token_id)
        .bind(user_id)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_unrevoked_tokens(&self) -> Result<Vec<ApiToken>> {
        playbooks::list_unrevoked_tokens(&self.read).await
    }

    async fn revoke_any_token(&self, token_id: i64, now: Timestamp) -> Result<Option<ApiToken>> {
        playbooks::revoke_any_token(&self.write, token_id, now).await
    }

    async fn create_enrolment(
        &self,
        user_id: i64,
        secret_hash: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO enrolments (secret_hash, user_id, expires_at) \
             SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)",
        )
        .bind(secret_hash)
        .bind(user_id)
        .bind(micros(expires_at))
        .bind(user_id)
        .execute(&self.write)
        .await;
        match res {
            Ok(done) if done.rows_affected() == 0 => Err(not_found("user", user_id)),
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "an enrolment link with this secret".to_owned(),
            }),
            Err(e) => Err(db(e)),
        }
    }

    async fn consume_enrolment(&self, secret_hash: &str, now: Timestamp) -> Result<Option<i64>> {
        // Check and use in one statement, so a link cannot be used twice, even at once.
        sqlx::query_scalar(
            "UPDATE enrolments SET used_at = ?1 \
             WHERE secret_hash = ?2 AND used_at IS NULL AND expires_at > ?1 \
             RETURNING user_id",
        )
        .bind(micros(now))
        .bind(secret_hash)
        .fetch_optional(&self.write)
        .await
        .map_err(db)
    }

    // --- need-to-know ---------------------------------------------------------------------

    async fn add_member(&self, incident_id: i64, user_id: i64, now: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        let user: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if user.is_none() {
            return Err(not_found("user", user_id));
        }
        sqlx::query(
            "INSERT INTO incident_members (incident_id, user_id, added_at) VALUES (?, ?, ?) \
             ON CONFLICT (incident_id, user_id) DO NOTHING",
        )
        .bind(incident_id)
        .bind(user_id)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn remove_member(&self, incident_id: i64, user_id: i64) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM incident_members WHERE incident_id = ? AND user_id = ?")
                .bind(incident_id)
                .bind(user_id)
                .execute(&self.write)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_members(&self, incident_id: i64) -> Result<Vec<Member>> {
        let rows = sqlx::query_as::<_, MemberRow>(
            "SELECT m.user_id, u.email, u.display_name, u.role, m.added_at \
             FROM incident_members m JOIN users u ON u.id = m.user_id \
             WHERE m.incident_id = ? ORDER BY m.user_id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, MemberRow::into_domain)
    }

    async fn set_lane_owner(
        &self,
        incident_id: i64,
        lane: Lane,
        user_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        sqlx::query("DELETE FROM incident_lane_owners WHERE incident_id = ? AND lane = ?")
            .bind(incident_id)
            .bind(lane.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(user_id) = user_id {
            let user: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if user.is_none() {
                return Err(not_found("user", user_id));
            }
            sqlx::query(
                "INSERT INTO incident_members (incident_id, user_id, added_at) VALUES (?, ?, ?) \
                 ON CONFLICT (incident_id, user_id) DO NOTHING",
            )
            .bind(incident_id)
            .bind(user_id)
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "INSERT INTO incident_lane_owners (incident_id, lane, user_id, assigned_at) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(incident_id)
            .bind(lane.as_str())
            .bind(user_id)
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn list_lane_owners(&self, incident_id: i64) -> Result<Vec<LaneOwner>> {
        let rows = sqlx::query_as::<_, LaneOwnerRow>(
            "SELECT o.lane, o.user_id, u.display_name, o.assigned_at \
             FROM incident_lane_owners o JOIN users u ON u.id = o.user_id \
             WHERE o.incident_id = ?",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let mut owners = all(rows, LaneOwnerRow::into_domain)?;
        owners.sort_by_key(|o| o.lane);
        Ok(owners)
    }

    async fn is_member(&self, incident_id: i64, user_id: i64) -> Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM incident_members WHERE incident_id = ? AND user_id = ?)",
        )
        .bind(incident_id)
        .bind(user_id)
        .fetch_one(&self.read)
        .await
        .map_err(db)
    }

    // --- audit log ------------------------------------------------------------------------

    async fn append_audit(
        &self,
        events: &[AuditEvent],
        sealer: &dyn AuditSealer,
    ) -> Result<Vec<AuditRecord>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // BEGIN IMMEDIATE on the one writer connection: no other appender (in this process
        // or another) can read the same head until this commit.
        let mut tx = self.begin().await?;
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let (mut seq, mut prev_hash) = head.unwrap_or_else(|| (0, GENESIS_HASH.to_owned()));
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            // Sealed as stored: the instant cut to microseconds, or the seal would not
            // verify when the record is read back.
            let event = AuditEvent {
                at: ts("audit_log", "at", micros(event.at))?,
                ..event.clone()
            };
            let hash = sealer.seal_record(seq, &event, &prev_hash);
            // A plain INSERT of an explicit seq: if the head and the log ever disagree,
            // this fails on the primary key instead of forking or leaving a gap.
            let row = sqlx::query_as::<_, AuditRow>(concat!(
                "INSERT INTO audit_log (seq, at, actor_id, actor, address, action, object, \
                 outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 RETURNING ",
                audit_cols!()
            ))
            .bind(seq)
            .bind(micros(event.at))
            .bind(event.actor_id)
            .bind(&event.actor)
            .bind(event.address.as_deref())
            .bind(&event.action)
            .bind(&event.object)
            .bind(&event.outcome)
            .bind(&event.detail)
            .bind(&prev_hash)
            .bind(&hash)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            out.push(row.into_domain()?);
            prev_hash = hash;
        }
        let seal = sealer.seal_head(seq, &prev_hash);
        sqlx::query(
            "INSERT INTO audit_head (id, seq, hash, seal) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
             seal = excluded.seal",
        )
        .bind(seq)
        .bind(&prev_hash)
        .bind(seal)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_audit(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query_as::<_, AuditRow>(concat!(
            "SELECT ",
            audit_cols!(),
            " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
        ))
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, AuditRow::into_domain)
    }

    async fn audit_head(&self) -> Result<Option<AuditHead>> {
        let head: Option<(i64, String, String)> =
            sqlx::query_as("SELECT seq, hash, seal FROM audit_head WHERE id = 1")
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
        Ok(head.map(|(seq, hash, seal)| AuditHead { seq, hash, seal }))
    }

    // --- incidents ----------------------------------------------------------------------

    async fn create_incident(
        &self,
        fields: &IncidentFields,
        clocks: &[LegalClockFields],
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<Incident> {
        let values = IncidentValues::new(fields)?;
        let mut tx = self.begin().await?;
        let q = sqlx::query_as::<_, IncidentRow>(concat!(
            "INSERT INTO incidents (title, summary, title_search, summary_search, category, \
             severity, phase, detection_source, start_date, start_basis, aware_at, \
             affected_units, affected_assets, impact, restricted, version, created_by, \
             created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING ",
            incident_cols!()
        ));
        let incident = values
            .bind(q)
            .bind(created_by)
            .bind(micros(now))
            .bind(micros(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?
            .into_domain()?;
        for clock in clocks {
            insert_clock(&mut tx, incident.id, clock).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(incident)
    }

    async fn get_incident(&self, id: i64) -> Result<Option<Incident>> {
        sqlx::query_as::<_, IncidentRow>(concat!(
            "SELECT ",
            incident_cols!(),
            " FROM incidents WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(IncidentRow::into_domain)
        .transpose()
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>> {
        let limit = clamp_limit(filter.limit);
        let needle = filter
            .text
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        // Needles of 3+ characters go through the trigram index (migration 0003), which
        // then drives the query newest first; shorter ones (which a trigram index cannot
        // answer) are checked row by row.
        let indexed = needle
            .as_deref()
            .filter(|n| n.chars().count() >= MIN_INDEXED_NEEDLE);
        let (mut qb, key) = match indexed {
            Some(n) => {
                // CROSS JOIN keeps the FTS table as the outer loop, walked by rowid
                // descending and stopping after `limit + 1` rows that pass the filters.
                let mut qb = QueryBuilder::<Sqlite>::new(concat!(
                    "SELECT ",
                    incident_cols!(),
                    " FROM incidents_fts CROSS JOIN incidents \
                     ON incidents.id = incidents_fts.rowid WHERE incidents_fts MATCH "
                ));
                qb.push_bind(fts_phrase(n));
                (qb, "incidents_fts.rowid")
            }
            None => (
                QueryBuilder::<Sqlite>::new(concat!(
                    "SELECT ",
                    incident_cols!(),
                    " FROM incidents WHERE 1 = 1"
                )),
                "id",
            ),
        };
        if !filter.phases.is_empty() {
            qb.push(" AND phase IN (");
            let mut list = qb.separated(", ");
            for p in &filter.phases {
                list.push_bind(p.as_str());
            }
            qb.push(")");
        }
        if !filter.categories.is_empty() {
            qb.push(" AND category IN (");
            let mut list = qb.separated(", ");
            for c in &filter.categories {
                list.push_bind(c.as_str());
            }
            qb.push(")");
        }
        if let Some(min) = filter.min_severity {
            qb.push(" AND severity >= ").push_bind(i64::from(min));
        }
        if let Some(owner) = filter.lane_owner {
            qb.push(
                " AND EXISTS (SELECT 1 FROM incident_lane_owners o \
                 WHERE o.incident_id = incidents.id AND o.user_id = ",
            )
            .push_bind(owner)
            .push(")");
        }
        if filter.open_only {
            // A literal (not a bound value) so the planner can use the partial index
            // `incidents_open`; a unit test pins it to `Phase::Closed.as_str()`.
            qb.push(" AND phase <> 'closed'");
        }
        if indexed.is_none()
            && let Some(needle) = needle.clone()
        {
            qb.push(" AND (instr(title_search, ")
                .push_bind(needle.clone())
                .push(") > 0 OR instr(summary_search, ")
                .push_bind(needle)
                .push(") > 0)");
        }
        push_visible(&mut qb, "incidents", filter.viewer.as_ref());
        match filter.exercises {
            ExerciseFilter::Exclude => {
                qb.push(" AND incidents.exercise = 0");
            }
            ExerciseFilter::Only => {
                qb.push(" AND incidents.exercise = 1");
            }
            ExerciseFilter::Include => {}
        }
        if let Some(before) = filter.before_id {
            qb.push(" AND ").push(key).push(" < ").push_bind(before);
        }
        qb.push(" ORDER BY ")
            .push(key)
            .push(" DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);

        let rows = qb
            .build_query_as::<IncidentRow>()
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        let mut items = all(rows, IncidentRow::into_domain)?;
        let page_len = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_before_id = if items.len() > page_len {
            items.truncate(page_len);
            items.last().map(|i| i.id)
        } else {
            None
        };
        Ok(Page {
            items,
            next_before_id,
        })
    }

    async fn update_incident(
        &self,
        id: i64,
        expected_version: i64,
        fields: &IncidentFields,
        statutory_clocks: &[LegalClockFields],
        now: Timestamp,
    ) -> Result<Incident> {
        let values = IncidentValues::new(fields)?;
        let mut tx = self.begin().await?;
        let q = sqlx::query_as::<_, IncidentRow>(concat!(
            "UPDATE incidents SET title = ?, summary = ?, title_search = ?, summary_search = ?, \
             category = ?, severity = ?, phase = ?, detection_source = ?, start_date = ?, \
             start_basis = ?, aware_at = ?, affected_units = ?, affected_assets = ?, \
             impact = ?, restricted = ?, version = version + 1, updated_at = ? \
             WHERE id = ? AND version = ? RETURNING ",
            incident_cols!()
        ));
        let updated = values
            .bind(q)
            .bind(micros(now))
            .bind(id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(row) = updated {
            let incident = row.into_domain()?;
            for clock in statutory_clocks {
                sqlx::query(
                    "INSERT INTO legal_clocks (incident_id, kind, name, due_hours, overdue_hours, started_at) \
                     VALUES (?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (incident_id, kind) WHERE kind <> 'custom' DO UPDATE SET \
                     name = excluded.name, due_hours = excluded.due_hours, \
                     overdue_hours = excluded.overdue_hours, started_at = excluded.started_at \
                     WHERE legal_clocks.met_at IS NULL",
                )
                .bind(id)
                .bind(clock.kind.as_str())
                .bind(&clock.name)
                .bind(clock.due_hours)
                .bind(clock.overdue_hours)
                .bind(micros(clock.started_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            return Ok(incident);
        }
        let current: Option<i64> = sqlx::query_scalar("SELECT version FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        // Nothing was written; dropping the transaction rolls back the (empty) write.
        match current {
            None => Err(not_found("incident", id)),
            Some(current) => Err(StoreError::Conflict {
                id,
                expected: expected_version,
                current,
            }),
        }
    }

    async fn count_incidents(&self, viewer: Option<&Viewer>) -> Result<u64> {
        let mut qb =
            QueryBuilder::<Sqlite>::new("SELECT count(*) FROM incidents WHERE exercise = 0");
        push_visible(&mut qb, "incidents", viewer);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    // --- timeline -----------------------------------------------------------------------

    async fn add_timeline_entry(
        &self,
        incident_id: i64,
        entry: &TimelineEntryFields,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<TimelineEntry> {
        // The hot path: one statement (its own transaction) that checks the incident and
        // inserts, so an append costs a single round trip to the writer.
        let row = sqlx::query_as::<_, TimelineRow>(concat!(
            "INSERT INTO timeline_entries (incident_id, occurred_at, precision, day_part, lane, \
             actor, kind, text, source, created_by, created_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
             WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?) RETURNING ",
            timeline_cols!()
        ))
        .bind(incident_id)
        .bind(micros(entry.occurred_at))
        .bind(entry.precision.as_str())
        .bind(entry.day_part.map(|d| d.as_str()))
        .bind(entry.lane.as_str())
        .bind(&entry.actor)
        .bind(entry.kind.as_str())
        .bind(&entry.text)
        .bind(entry.source.as_str())
        .bind(created_by)
        .bind(micros(now))
        .bind(incident_id)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        match row {
            Some(row) => row.into_domain(),
            None => Err(not_found("incident", incident_id)),
        }
    }

    async fn add_timeline_entries(
        &self,
        incident_id: i64,
        entries: &[TimelineEntryFields],
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<TimelineEntry>> {
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            out.push(insert_entry(&mut tx, incident_id, e, created_by, now).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn timeline_stamp(&self, incident_id: i64) -> Result<(u64, i64)> {
        let (count, max): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*), max(id) FROM timeline_entries WHERE incident_id = ?")
                .bind(incident_id)
                .fetch_one(&self.read)
                .await
                .map_err(db)?;
        Ok((u64::try_from(count).unwrap_or(0), max.unwrap_or(0)))
    }

    async fn list_timeline(
        &self,
        incident_id: i64,
        query: &TimelineQuery,
    ) -> Result<Vec<TimelineEntry>> {
        // One row of JSON, not one sqlx row per entry (see `rows::TimelineJson`).
        let mut qb = QueryBuilder::<Sqlite>::new(timeline_json_sql!(concat!(
            "SELECT ",
            timeline_cols!(),
            " FROM timeline_entries WHERE incident_id = "
        )));
        qb.push_bind(incident_id);
        if !query.lanes.is_empty() {
            qb.push(" AND lane IN (");
            let mut list = qb.separated(", ");
            for lane in &query.lanes {
                list.push_bind(lane.as_str());
            }
            qb.push(")");
        }
        // SQLite takes a negative LIMIT as "no limit".
        let limit = if query.limit == 0 {
            -1
        } else {
            i64::from(query.limit)
        };
        qb.push(" ORDER BY occurred_at, id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(i64::from(query.offset))
            .push(")");
        let text: String = qb
            .build_query_scalar()
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        timeline_from_json(&text)
    }

    // --- tasks --------------------------------------------------------------------------

    async fn add_tasks(&self, incident_id: i64, tasks: &[NewTask]) -> Result<Vec<Task>> {
        let checklists = tasks
            .iter()
            .map(|t| to_json("checklist", &t.checklist))
            .collect::<Result<Vec<_>>>()?;
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        let mut out = Vec::with_capacity(tasks.len());
        for (t, checklist) in tasks.iter().zip(checklists) {
            let row = sqlx::query_as::<_, TaskRow>(concat!(
                "INSERT INTO tasks (incident_id, playbook, phase, title, lane, checklist, due_at, \
                 rationale, status, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
                task_cols!()
            ))
            .bind(incident_id)
            .bind(t.playbook.as_deref())
            .bind(&t.phase)
            .bind(&t.title)
            .bind(t.lane.as_str())
            .bind(checklist)
            .bind(opt_micros(t.due_at))
            .bind(&t.rationale)
            .bind(TaskStatus::Open.as_str())
            .bind(t.position)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            out.push(row.into_domain()?);
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_tasks(&self, incident_id: i64) -> Result<Vec<Task>> {
        let rows = sqlx::query_as::<_, TaskRow>(concat!(
            "SELECT ",
            task_cols!(),
            " FROM tasks WHERE incident_id = ? ORDER BY position, id"
        ))
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, TaskRow::into_domain)
    }

    async fn complete_task(
        &self,
        incident_id: i64,
        task_id: i64,
        completion: &TaskCompletion,
    ) -> Result<(Task, TimelineEntry)> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query_as::<_, TaskRow>(concat!(
            "UPDATE tasks SET status = ?, completed_by = ?, completed_at = ? \
             WHERE id = ? AND incident_id = ? AND status <> ? RETURNING ",
            task_cols!()
        ))
        .bind(TaskStatus::Done.as_str())
        .bind(completion.by)
        .bind(micros(completion.at))
        .bind(task_id)
        .bind(incident_id)
        .bind(TaskStatus::Done.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = updated else {
            let done: Option<String> =
                sqlx::query_scalar("SELECT status FROM tasks WHERE id = ? AND incident_id = ?")
                    .bind(task_id)
                    .bind(incident_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            return Err(match done {
                Some(_) => StoreError::Duplicate {
                    what: format!("completion of task {task_id}"),
                },
                None => missing(&mut tx, incident_id, "task", task_id).await,
            });
        };
        let task = row.into_domain()?;
        let entry = insert_entry(
            &mut tx,
            incident_id,
            &completion.entry,
            completion.by,
            completion.at,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok((task, entry))
    }

    async fn update_task(
        &self,
        incident_id: i64,
        task_id: i64,
        update: &TaskUpdate,
    ) -> Result<Task> {
        let (index, done) = match update.checklist_item {
            Some((i, d)) => (Some(i64::from(i)), d),
            None => (None, false),
        };
        let mut tx = self.begin().await?;
        let updated = sqlx::query_as::<_, TaskRow>(concat!(
            "UPDATE tasks SET \
             checklist = CASE WHEN ?1 IS NULL THEN checklist \
               ELSE json_set(checklist, '$[' || ?1 || '].done', json(CASE WHEN ?2 THEN 'true' ELSE 'false' END)) END, \
             status = COALESCE(?3, status) \
             WHERE id = ?4 AND incident_id = ?5 RETURNING ",
            task_cols!()
        ))
        .bind(index)
        .bind(done)
        .bind(update.status.map(TaskStatus::as_str))
        .bind(task_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = updated else {
            return Err(missing(&mut tx, incident_id, "task", task_id).await);
        };
        let task = row.into_domain()?;
        tx.commit().await.map_err(db)?;
        Ok(task)
    }

    // --- decisions ----------------------------------------------------------------------

    async fn add_decision(
        &self,
        incident_id: i64,
        decision: &NewDecision,
        now: Timestamp,
    ) -> Result<Decision> {
        let options = to_json("options", &decision.options)?;
        // A decision recorded as already taken is dated, like one taken through `decide`.
        let decided_at = decision
            .decided_at
            .or(decision.chosen.map(|_| now))
            .map(micros);
        let row = sqlx::query_as::<_, DecisionRow>(concat!(
            "INSERT INTO decisions (incident_id, question, options, chosen, decided_by, \
             decided_at, rationale, decide_by, created_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? \
             WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?) RETURNING ",
            decision_cols!()
        ))
        .bind(incident_id)
        .bind(&decision.question)
        .bind(options)
        .bind(decision.chosen.map(i64::from))
        .bind(&decision.decided_by)
        .bind(decided_at)
        .bind(&decision.rationale)
        .bind(opt_micros(decision.decide_by))
        .bind(micros(now))
        .bind(incident_id)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        match row {
            Some(row) => row.into_domain(),
            None => Err(not_found("incident", incident_id)),
        }
    }

    async fn list_decisions(&self, incident_id: i64) -> Result<Vec<Decision>> {
        let rows = sqlx::query_as::<_, DecisionRow>(concat!(
            "SELECT ",
            decision_cols!(),
            " FROM decisions WHERE incident_id = ? ORDER BY id"
        ))
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, DecisionRow::into_domain)
    }

    async fn get_decision(&self, incident_id: i64, decision_id: i64) -> Result<Option<Decision>> {
        sqlx::query_as::<_, DecisionRow>(concat!(
            "SELECT ",
            decision_cols!(),
            " FROM decisions WHERE id = ? AND incident_id = ?"
        ))
        .bind(decision_id)
        .bind(incident_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(DecisionRow::into_domain)
        .transpose()
    }

    async fn decide(
        &self,
        incident_id: i64,
        decision_id: i64,
        outcome: &DecisionOutcome,
        at: Timestamp,
    ) -> Result<Decision> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query_as::<_, DecisionRow>(concat!(
            "UPDATE decisions SET chosen = ?, decided_by = ?, decided_at = ?, rationale = COALESCE(NULLIF(?, ''), rationale) \
             WHERE id = ? AND incident_id = ? AND chosen IS NULL RETURNING ",
            decision_cols!()
        ))
        .bind(i64::from(outcome.chosen))
        .bind(&outcome.decided_by)
        .bind(micros(outcome.decided_at.unwrap_or(at)))
        .bind(&outcome.rationale)
        .bind(decision_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = updated else {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM decisions WHERE id = ? AND incident_id = ?")
                    .bind(decision_id)
                    .bind(incident_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            return Err(match exists {
                Some(_) => StoreError::Duplicate {
                    what: format!("outcome of decision {decision_id}"),
                },
                None => missing(&mut tx, incident_id, "decision", decision_id).await,
            });
        };
        let decision = row.into_domain()?;
        tx.commit().await.map_err(db)?;
        Ok(decision)
    }

    // --- parties ------------------------------------------------------------------------

    async fn add_party(&self, incident_id: i64, party: &NewParty) -> Result<Party> {
        let row = sqlx::query_as::<_, PartyRow>(concat!(
            "INSERT INTO parties (incident_id, kind, name, organisation, role, email, phone, \
             fallback_channel, notes) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? \
             WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?) RETURNING ",
            party_cols!()
        ))
        .bind(incident_id)
        .bind(party.kind.as_str())
        .bind(&party.name)
        .bind(&party.organisation)
        .bind(&party.role)
        .bind(&party.email)
        .bind(&party.phone)
        .bind(&party.fallback_channel)
        .bind(&party.notes)
        .bind(incident_id)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        match row {
            Some(row) => row.into_domain(),
            None => Err(not_found("incident", incident_id)),
        }
    }

    async fn update_party(
        &self,
        incident_id: i64,
        party_id: i64,
        patch: &PartyPatch,
    ) -> Result<Party> {
        let row = sqlx::query_as::<_, PartyRow>(concat!(
            "UPDATE parties SET kind = COALESCE(?, kind), name = COALESCE(?, name), \
             organisation = COALESCE(?, organisation), role = COALESCE(?, role), \
             email = COALESCE(?, email), phone = COALESCE(?, phone), \
             fallback_channel = COALESCE(?, fallback_channel), notes = COALESCE(?, notes) \
             WHERE id = ? AND incident_id = ? RETURNING ",
            party_cols!()
        ))
        .bind(patch.kind.map(PartyKind::as_str))
        .bind(&patch.name)
        .bind(&patch.organisation)
        .bind(&patch.role)
        .bind(&patch.email)
        .bind(&patch.phone)
        .bind(&patch.fallback_channel)
        .bind(&patch.notes)
        .bind(party_id)
        .bind(incident_id)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        match row {
            Some(row) => row.into_domain(),
            None => Err(not_found("party", party_id)),
        }
    }

    async fn list_parties(&self, incident_id: i64) -> Result<Vec<Party>> {
        let rows = sqlx::query_as::<_, PartyRow>(concat!(
            "SELECT ",
            party_cols!(),
            " FROM parties WHERE incident_id = ? ORDER BY id"
        ))
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, PartyRow::into_domain)
    }

    // --- evidence -----------------------------------------------------------------------

    async fn add_evidence(
        &self,
        incident_id: i64,
        evidence: &NewEvidence,
        collected_at: Timestamp,
        now: Timestamp,
    ) -> Result<EvidenceItem> {
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        let item = sqlx::query_as::<_, EvidenceRow>(concat!(
            "INSERT INTO evidence_items (incident_id, name, description, sha256, location, \
             created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
            evidence_cols!()
        ))
        .bind(incident_id)
        .bind(&evidence.name)
        .bind(&evidence.description)
        .bind(evidence.sha256.as_deref())
        .bind(&evidence.location)
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let first = sqlx::query_as::<_, CustodyRow>(concat!(
            "INSERT INTO custody_events (evidence_id, at, action, handler, location, note) \
             VALUES (?, ?, ?, ?, ?, '') RETURNING ",
            custody_cols!()
        ))
        .bind(item.id)
        .bind(micros(collected_at))
        .bind(CustodyAction::Collected.as_str())
        .bind(&evidence.collected_by)
        .bind(&evidence.location)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .into_domain()?;
        let item = item.into_domain(vec![first])?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn list_evidence(&self, incident_id: i64) -> Result<Vec<EvidenceItem>> {
        // Two queries, not one per item. Both run in one read transaction so an event
        // appended in between cannot show up without its item (or vice versa).
        let mut tx = self.read.begin().await.map_err(db)?;
        let items = sqlx::query_as::<_, EvidenceRow>(concat!(
            "SELECT ",
            evidence_cols!(),
            " FROM evidence_items WHERE incident_id = ? ORDER BY id"
        ))
        .bind(incident_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let events = sqlx::query_as::<_, CustodyRow>(
            "SELECT c.id, c.evidence_id, c.at, c.action, c.handler, c.location, c.note \
             FROM custody_events c JOIN evidence_items e ON e.id = c.evidence_id \
             WHERE e.incident_id = ? ORDER BY c.evidence_id, c.at, c.id",
        )
        .bind(incident_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;

        let mut events = all(events, CustodyRow::into_domain)?.into_iter().peekable();
        let mut out = Vec::with_capacity(items.len());
        // Items are in id order and events in evidence_id order: one merge pass.
        for item in items {
            let mut custody = Vec::new();
            while let Some(e) = events.next_if(|e| e.evidence_id <= item.id) {
                if e.evidence_id == item.id {
                    custody.push(e);
                }
            }
            out.push(item.into_domain(custody)?);
        }
        Ok(out)
    }

    async fn add_custody_event(
        &self,
        incident_id: i64,
        evidence_id: i64,
        event: &CustodyRecord,
    ) -> Result<CustodyEvent> {
        let mut tx = self.begin().await?;
        let belongs: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM evidence_items WHERE id = ? AND incident_id = ?")
                .bind(evidence_id)
                .bind(incident_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if belongs.is_none() {
            return Err(missing(&mut tx, incident_id, "evidence", evidence_id).await);
        }
        let e = &event.event;
        let recorded = sqlx::query_as::<_, CustodyRow>(concat!(
            "INSERT INTO custody_events (evidence_id, at, action, handler, location, note) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
            custody_cols!()
        ))
        .bind(evidence_id)
        .bind(micros(event.at))
        .bind(e.action.as_str())
        .bind(&e.handler)
        .bind(&e.location)
        .bind(&e.note)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .into_domain()?;
        if !e.location.trim().is_empty() {
            sqlx::query("UPDATE evidence_items SET location = ? WHERE id = ?")
                .bind(&e.location)
                .bind(evidence_id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(recorded)
    }

    // --- observables --------------------------------------------------------------------

    async fn add_observable(
        &self,
        incident_id: i64,
        observable: &NewObservable,
        normalized: &str,
        first_seen: Timestamp,
    ) -> Result<Observable> {
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        let kind = observable.kind.as_str();
        let inserted = sqlx::query_as::<_, ObservableRow>(concat!(
            "INSERT INTO observables (incident_id, kind, value, normalized, note, first_seen) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (incident_id, kind, normalized) DO NOTHING RETURNING ",
            observable_cols!()
        ))
        .bind(incident_id)
        .bind(kind)
        .bind(&observable.value)
        .bind(normalized)
        .bind(&observable.note)
        .bind(micros(first_seen))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let row = match inserted {
            Some(row) => row,
            None => sqlx::query_as::<_, ObservableRow>(concat!(
                "SELECT ",
                observable_cols!(),
                " FROM observables WHERE incident_id = ? AND kind = ? AND normalized = ?"
            ))
            .bind(incident_id)
            .bind(kind)
            .bind(normalized)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?,
        };
        let observable = row.into_domain()?;
        tx.commit().await.map_err(db)?;
        Ok(observable)
    }

    async fn list_observables(&self, incident_id: i64) -> Result<Vec<Observable>> {
        let rows = sqlx::query_as::<_, ObservableRow>(concat!(
            "SELECT ",
            observable_cols!(),
            " FROM observables WHERE incident_id = ? ORDER BY id"
        ))
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, ObservableRow::into_domain)
    }

    async fn list_all_observables(
        &self,
        limit: u32,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<Observable>> {
        let mut qb = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            observable_cols!(),
            " FROM observables"
        ));
        if viewer.is_some() {
            // Walks observables in id order and probes each one's incident by primary key,
            // stopping after `limit` visible ones.
            qb.push(
                " WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.id = observables.incident_id",
            );
            push_visible(&mut qb, "i", viewer);
            qb.push(")");
        }
        qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
        let rows = qb
            .build_query_as::<ObservableRow>()
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        all(rows, ObservableRow::into_domain)
    }

    async fn incidents_sharing(
        &self,
        kind: ObservableKind,
        normalized: &str,
        except_incident: Option<i64>,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<SharedObservable>> {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT o.incident_id, i.title AS incident_title, o.id AS observable_id, o.kind, \
                    o.normalized \
             FROM observables o JOIN incidents i ON i.id = o.incident_id \
             WHERE o.kind = ",
        );
        qb.push_bind(kind.as_str())
            .push(" AND o.normalized = ")
            .push_bind(normalized.to_owned());
        if let Some(except) = except_incident {
            qb.push(" AND o.incident_id <> ").push_bind(except);
        }
        push_visible(&mut qb, "i", viewer);
        qb.push(" ORDER BY o.incident_id, o.id");
        let rows = qb
            .build_query_as::<SharedRow>()
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        all(rows, SharedRow::into_domain)
    }

    // --- legal clocks -------------------------------------------------------------------

    async fn add_legal_clock(
        &self,
        incident_id: i64,
        clock: &LegalClockFields,
    ) -> Result<LegalClock> {
        let mut tx = self.begin().await?;
        ensure_incident(&mut tx, incident_id).await?;
        if clock.kind != ClockKind::Custom {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM legal_clocks WHERE incident_id = ? AND kind = ?",
            )
            .bind(incident_id)
            .bind(clock.kind.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            if exists.is_some() {
                return Err(StoreError::Duplicate {
                    what: format!("{} clock of incident {incident_id}", clock.kind),
                });
            }
        }
        let clock = insert_clock(&mut tx, incident_id, clock).await?;
        tx.commit().await.map_err(db)?;
        Ok(clock)
    }

    async fn list_legal_clocks(&self, incident_id: i64) -> Result<Vec<LegalClock>> {
        let rows = sqlx::query_as::<_, ClockRow>(concat!(
            "SELECT ",
            clock_cols!(),
            " FROM legal_clocks WHERE incident_id = ? ORDER BY id"
        ))
        .bind(incident_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        all(rows, ClockRow::into_domain)
    }

    async fn mark_legal_clock_met(
        &self,
        incident_id: i64,
        clock_id: i64,
        at: Timestamp,
    ) -> Result<LegalClock> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query_as::<_, ClockRow>(concat!(
            "UPDATE legal_clocks SET met_at = COALESCE(met_at, ?) WHERE id = ? AND incident_id = ? RETURNING ",
            clock_cols!()
        ))
        .bind(micros(at))
        .bind(clock_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = updated else {
            return Err(missing(&mut tx, incident_id, "legal clock", clock_id).await);
        };
        let clock = row.into_domain()?;
        tx.commit().await.map_err(db)?;
        Ok(clock)
    }

    // --- review and lessons -------------------------------------------------------------

    async fn get_review(&self, incident_id: i64) -> Result<Review> {
        review::get_review(&self.read, incident_id).await
    }

    async fn save_review(
        &self,
        incident_id: i64,
        expected_version: i64,
        narrative: &ReviewNarrative,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<Review> {
        let mut tx = self.begin().await?;
        let out =
            review::save_review(&mut tx, incident_id, expected_version, narrative, by, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn add_lesson(
        &self,
        incident_id: i64,
        lesson: &LessonFields,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<Lesson> {
        let mut tx = self.begin().await?;
        let out = review::add_lesson(&mut tx, incident_id, lesson, by, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_lessons(&self, incident_id: i64) -> Result<Vec<Lesson>> {
        review::list_lessons(&self.read, incident_id).await
    }

    async fn update_lesson(
        &self,
        incident_id: i64,
        lesson_id: i64,
        expected_version: i64,
        lesson: &LessonFields,
        now: Timestamp,
    ) -> Result<Lesson> {
        let mut tx = self.begin().await?;
        let out = review::update_lesson(
            &mut tx,
            incident_id,
            lesson_id,
            expected_version,
            lesson,
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn search_lessons(
        &self,
        query: &LessonQuery,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<LessonHit>> {
        review::search_lessons(&self.read, query, viewer).await
    }

    // --- corrective actions -------------------------------------------------------------

    async fn add_corrective_action(
        &self,
        incident_id: i64,
        lesson_id: i64,
        action: &CorrectiveActionState,
        now: Timestamp,
    ) -> Result<CorrectiveAction> {
        let mut tx = self.begin().await?;
        let out =
            review::add_corrective_action(&mut tx, incident_id, lesson_id, action, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn get_corrective_action(&self, action_id: i64) -> Result<Option<CorrectiveAction>> {
        review::get_corrective_action(&self.read, action_id).await
    }

    async fn update_corrective_action(
        &self,
        action_id: i64,
        expected_version: i64,
        action: &CorrectiveActionState,
        now: Timestamp,
    ) -> Result<CorrectiveAction> {
        let mut tx = self.begin().await?;
        let out =
            review::update_corrective_action(&mut tx, action_id, expected_version, action, now)
                .await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_corrective_actions(
        &self,
        query: &ActionQuery,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<CorrectiveAction>> {
        review::list_corrective_actions(&self.read, query, viewer).await
    }

    // --- exercises ----------------------------------------------------------------------

    async fn create_exercise(
        &self,
        fields: &IncidentFields,
        clocks: &[LegalClockFields],
        exercise: &NewExercise,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<(Incident, ExerciseRecord)> {
        let values = IncidentValues::new(fields)?;
        let mut tx = self.begin().await?;
        let q = sqlx::query_as::<_, IncidentRow>(concat!(
            "INSERT INTO incidents (title, summary, title_search, summary_search, category, \
             severity, phase, detection_source, start_date, start_basis, aware_at, \
             affected_units, affected_assets, impact, restricted, version, created_by, \
             created_at, updated_at, exercise) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, 1) RETURNING ",
            incident_cols!()
        ));
        let incident = values
            .bind(q)
            .bind(created_by)
            .bind(micros(now))
            .bind(micros(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?
            .into_domain()?;
        for clock in clocks {
            insert_clock(&mut tx, incident.id, clock).await?;
        }
        let record = review::insert_exercise(&mut tx, incident.id, exercise, created_by).await?;
        tx.commit().await.map_err(db)?;
        Ok((incident, record))
    }

    async fn get_exercise(&self, exercise_id: i64) -> Result<Option<ExerciseRecord>> {
        review::get_exercise(&self.read, exercise_id).await
    }

    async fn list_exercises(&self, viewer: Option<&Viewer>) -> Result<Vec<ExerciseRecord>> {
        review::list_exercises(&self.read, viewer).await
    }

    async fn release_injects(
        &self,
        exercise_id: i64,
        released: u32,
        entries: &[TimelineEntryFields],
        now: Timestamp,
    ) -> Result<Option<ExerciseRecord>> {
        let mut tx = self.begin().await?;
        let out = review::release_injects(&mut tx, exercise_id, released, entries, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn set_exercise_skip(
        &self,
        exercise_id: i64,
        expected_version: i64,
        skipped_minutes: i64,
    ) -> Result<ExerciseRecord> {
        let mut tx = self.begin().await?;
        let out =
            review::set_exercise_skip(&mut tx, exercise_id, expected_version, skipped_minutes)
                .await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn add_exercise_action(
        &self,
        exercise_id: i64,
        action: &str,
        entry: &TimelineEntryFields,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<ExerciseActionRecord> {
        let mut tx = self.begin().await?;
        let out = review::add_exercise_action(&mut tx, exercise_id, action, entry, by, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_exercise_actions(&self, exercise_id: i64) -> Result<Vec<ExerciseActionRecord>> {
        review::list_exercise_actions(&self.read, exercise_id).await
    }

    async fn end_exercise(
        &self,
        exercise_id: i64,
        outcome: &str,
        now: Timestamp,
    ) -> Result<ExerciseRecord> {
        let mut tx = self.begin().await?;
        let out = review::end_exercise(&mut tx, exercise_id, outcome, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn add_playbook_version(&self, new: &NewPlaybookVersion) -> Result<StoredPlaybook> {
        playbooks::add_playbook_version(&self.write, new).await
    }

    async fn list_playbook_versions(&self) -> Result<Vec<StoredPlaybook>> {
        playbooks::list_playbook_versions(&self.read).await
    }

    async fn playbook_upload_seq(&self) -> Result<i64> {
        playbooks::playbook_upload_seq(&self.read).await
    }

    // --- job queue, notifications, phone tree, configuration (see notify.rs) ----------------

    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<Job> {
        notify::enqueue_job(self, job, now).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        notify::claim_jobs(self, worker, now, lease, limit).await
    }

    async fn finish_job(
        &self,
        job_id: i64,
        worker: &str,
        effects: &JobEffects,
        now: Timestamp,
    ) -> Result<FinishedJob> {
        notify::finish_job(self, job_id, worker, effects, now).await
    }

    async fn retry_job(
        &self,
        job_id: i64,
        worker: &str,
        next_run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<Job> {
        notify::retry_job(self, job_id, worker, next_run_at, error, now).await
    }

    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        now: Timestamp,
    ) -> Result<Job> {
        notify::fail_job(self, job_id, worker, error, now).await
    }

    async fn get_job(&self, job_id: i64) -> Result<Option<Job>> {
        notify::get_job(self, job_id).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        notify::list_jobs(self, filter).await
    }

    async fn list_notifications(&self, incident_id: i64) -> Result<Vec<Notification>> {
        notify::list_notifications(self, incident_id).await
    }

    async fn get_notification(&self, notification_id: i64) -> Result<Option<Notification>> {
        notify::get_notification(self, notification_id).await
    }

    async fn mark_notification_sent(
        &self,
        notification_id: i64,
        now: Timestamp,
    ) -> Result<Notification> {
        notify::mark_notification_sent(self, notification_id, now).await
    }

    async fn mark_notification_failed(
        &self,
        notification_id: i64,
        error: &str,
    ) -> Result<Notification> {
        notify::mark_notification_failed(self, notification_id, error).await
    }

    async fn acknowledge_notification(
        &self,
        notification_id: i64,
        by: Option<i64>,
        via: AckVia,
        entry: Option<&TimelineEntryFields>,
        now: Timestamp,
    ) -> Result<Acknowledged> {
        notify::acknowledge_notification(self, notification_id, by, via, entry, now).await
    }

    async fn incident_acknowledged_at(&self, incident_id: i64) -> Result<Option<Timestamp>> {
        notify::incident_acknowledged_at(self, incident_id).await
    }

    async fn phone_tree(&self, incident_id: i64) -> Result<Vec<PhoneTreeLine>> {
        notify::phone_tree(self, incident_id).await
    }

    async fn record_call(
        &self,
        incident_id: i64,
        notification_id: i64,
        expected_version: i64,
        call: &NewPhoneCall,
        entry: Option<&TimelineEntryFields>,
    ) -> Result<PhoneTreeLine> {
        notify::record_call(
            self,
            incident_id,
            notification_id,
            expected_version,
            call,
            entry,
        )
        .await
    }

    async fn create_rule(&self, rule: &NotificationRule, now: Timestamp) -> Result<StoredRule> {
        notify::create_rule(self, rule, now).await
    }

    async fn get_rule(&self, rule_id: i64) -> Result<Option<StoredRule>> {
        notify::get_rule(self, rule_id).await
    }

    async fn list_rules(&self) -> Result<Vec<StoredRule>> {
        notify::list_rules(self).await
    }

    async fn update_rule(
        &self,
        rule_id: i64,
        expected_version: i64,
        rule: &NotificationRule,
        now: Timestamp,
    ) -> Result<StoredRule> {
        notify::update_rule(self, rule_id, expected_version, rule, now).await
    }

    async fn delete_rule(&self, rule_id: i64, expected_version: i64) -> Result<()> {
        notify::delete_rule(self, rule_id, expected_version).await
    }

    async fn escalation_chain(&self) -> Result<Option<StoredChain>> {
        notify::escalation_chain(self).await
    }

    async fn save_escalation_chain(
        &self,
        expected_version: i64,
        chain: &EscalationChain,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredChain> {
        notify::save_escalation_chain(self, expected_version, chain, by, now).await
    }

    async fn get_template(&self, kind: TemplateKind, language: Language) -> Result<StoredTemplate> {
        notify::get_template(self, kind, language).await
    }

    async fn list_templates(&self) -> Result<Vec<StoredTemplate>> {
        notify::list_templates(self).await
    }

    async fn save_template(
        &self,
        kind: TemplateKind,
        language: Language,
        expected_version: i64,
        subject: &str,
        body: &str,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredTemplate> {
        notify::save_template(
            self,
            kind,
            language,
            expected_version,
            subject,
            body,
            by,
            now,
        )
        .await
    }

    async fn reset_template(&self, kind: TemplateKind, language: Language) -> Result<bool> {
        notify::reset_template(self, kind, language).await
    }

    async fn create_rotation(&self, spec: &RotationSpec, now: Timestamp) -> Result<StoredRotation> {
        notify::create_rotation(self, spec, now).await
    }

    async fn get_rotation(&self, rotation_id: i64) -> Result<Option<StoredRotation>> {
        notify::get_rotation(self, rotation_id).await
    }

    async fn list_rotations(&self) -> Result<Vec<StoredRotation>> {
        notify::list_rotations(self).await
    }

    async fn update_rotation(
        &self,
        rotation_id: i64,
        expected_version: i64,
        spec: &RotationSpec,
        now: Timestamp,
    ) -> Result<StoredRotation> {
        notify::update_rotation(self, rotation_id, expected_version, spec, now).await
    }

    async fn delete_rotation(&self, rotation_id: i64, expected_version: i64) -> Result<()> {
        notify::delete_rotation(self, rotation_id, expected_version).await
    }

    async fn add_rotation_override(
        &self,
        rotation_id: i64,
        cover: &Override,
        now: Timestamp,
    ) -> Result<StoredRotation> {
        notify::add_rotation_override(self, rotation_id, cover, now).await
    }

    async fn create_webhook_target(
        &self,
        fields: &WebhookTargetFields,
        now: Timestamp,
    ) -> Result<WebhookTarget> {
        notify::create_webhook_target(self, fields, now).await
    }

    async fn list_webhook_targets(&self) -> Result<Vec<WebhookTarget>> {
        notify::list_webhook_targets(self).await
    }

    async fn get_webhook_target(&self, target_id: i64) -> Result<Option<WebhookTarget>> {
        notify::get_webhook_target(self, target_id).await
    }

    async fn webhook_secret(&self, target_id: i64) -> Result<Option<String>> {
        notify::webhook_secret(self, target_id).await
    }

    async fn update_webhook_target(
        &self,
        target_id: i64,
        expected_version: i64,
        fields: &WebhookTargetFields,
        now: Timestamp,
    ) -> Result<WebhookTarget> {
        notify::update_webhook_target(self, target_id, expected_version, fields, now).await
    }

    async fn delete_webhook_target(&self, target_id: i64) -> Result<bool> {
        notify::delete_webhook_target(self, target_id).await
    }
}
