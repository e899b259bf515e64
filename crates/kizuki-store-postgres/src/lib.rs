//! PostgreSQL backend of [`kizuki_store::Store`].
//!
//! Several stateless `kizuki serve` replicas may share one database, so every rule that
//! matters under concurrency is enforced by PostgreSQL itself:
//!
//! * optimistic locking of incidents is one `UPDATE … WHERE version = $expected`;
//! * completing a task and recording a decision lock the row (`SELECT … FOR UPDATE`) so
//!   exactly one of two racing writers wins and the other gets `Duplicate`;
//! * uniqueness (users' e-mail, token hashes, an incident's observables) is a unique index,
//!   and children of a missing incident are refused by foreign keys;
//! * migrations run under sqlx's advisory lock, so replicas starting together are safe;
//! * one-time secrets (a TOTP time step, a recovery code, an enrolment link) are used up by
//!   one conditional `UPDATE … RETURNING`, and login failures are counted by one
//!   `INSERT … ON CONFLICT DO UPDATE`, so racing requests cannot both win or lose a count;
//! * the audit log is appended under the row lock of its single head row (seeded by the
//!   migration), so appenders on every replica queue up and the chain never forks;
//! * need-to-know is part of each query's `WHERE` (see `push_visible`), so counts and
//!   keyset pages stay right and the indexes stay usable;
//! * reviews, lessons, corrective actions and exercises carry versions checked by the
//!   statement that writes, and an exercise's injects are released by moving its
//!   high-water mark with a conditional `UPDATE`, so racing pollers write each inject once
//!   (see `review.rs`).
//!
//! Instants are stored as `TIMESTAMPTZ`, i.e. with microsecond precision: a
//! [`jiff::Timestamp`] with sub-microsecond digits comes back truncated to the microsecond.
//!
//! TLS to PostgreSQL is not compiled in yet (`sslmode=require` URLs will fail to connect).

mod notify;
mod playbooks;
mod review;
mod rows;

use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::access::{IncidentScope, Viewer};
use kizuki_domain::audit::{AuditEvent, AuditHead, AuditRecord, AuditSealer, GENESIS_HASH};
use kizuki_domain::decision::{Decision, DecisionOutcome, NewDecision};
use kizuki_domain::evidence::{CustodyAction, CustodyEvent, EvidenceItem, NewEvidence};
use kizuki_domain::exercise::{ExerciseActionRecord, ExerciseRecord};
use kizuki_domain::incident::{ExerciseFilter, Incident, IncidentFields, IncidentFilter, Phase};
use kizuki_domain::legal_clock::{LegalClock, LegalClockFields};
use kizuki_domain::notification::{AckVia, JobState};
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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, Postgres, QueryBuilder, Row};

use crate::rows::{
    AUDIT_COLS, CLOCK_COLS, CREDENTIAL_COLS, CUSTODY_COLS, DECISION_COLS, EVIDENCE_COLS,
    INCIDENT_COLS, OBSERVABLE_COLS, PARTY_COLS, SESSION_COLS, TASK_COLS, TIMELINE_COLS, TOKEN_COLS,
    USER_COLS, USER_COLS_U, json_err, to_db_date, to_db_opt_ts, to_db_ts, to_microseconds,
};

pub use sqlx::PgPool;

/// The schema, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connections per replica unless told otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Prefix of the databases made by [`create_test_database`]; only those may be dropped by
/// [`drop_test_database`].
const TEST_DB_PREFIX: &str = "kizuki_t_";

/// A `Store` on a PostgreSQL connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects with [`DEFAULT_POOL_SIZE`] connections. `url` is a `postgres://` or
    /// `postgresql://` URL. Fails if the server cannot be reached.
    pub async fn connect(url: &str) -> Result<PgStore> {
        Self::connect_with_pool_size(url, DEFAULT_POOL_SIZE).await
    }

    /// Connects with at most `max_connections` pooled connections (at least one).
    pub async fn connect_with_pool_size(url: &str, max_connections: u32) -> Result<PgStore> {
        let options = connect_options(url)?.application_name("kizuki");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(PgStore { pool })
    }

    /// Wraps an existing pool (for callers that configure their own).
    pub fn from_pool(pool: PgPool) -> PgStore {
        PgStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn user_exists(&self, user_id: i64) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
        return Err(StoreError::Database(
            "expected a postgres:// or postgresql:// URL".into(),
        ));
    }
    url.parse::<PgConnectOptions>().map_err(db_err)
}

/// Creates an empty database with a unique name (`kizuki_t_<uuid>`) on the server that
/// `admin_url` points to, and returns the URL of the new database (same server, user and
/// options). The role in `admin_url` needs the CREATEDB privilege. For tests.
pub async fn create_test_database(admin_url: &str) -> Result<String> {
    let mut conn = sqlx::PgConnection::connect_with(&connect_options(admin_url)?)
        .await
        .map_err(db_err)?;
    let name: String =
        sqlx::query_scalar("SELECT 'kizuki_t_' || replace(gen_random_uuid()::text, '-', '')")
            .fetch_one(&mut conn)
            .await
            .map_err(db_err)?;
    check_test_db_name(&name)?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    conn.close().await.map_err(db_err)?;
    with_database(admin_url, &name)
}

/// Drops a database made by [`create_test_database`], disconnecting its users.
pub async fn drop_test_database(admin_url: &str, test_url: &str) -> Result<()> {
    let name = database_of(test_url)?;
    check_test_db_name(&name)?;
    let mut conn = sqlx::PgConnection::connect_with(&connect_options(admin_url)?)
        .await
        .map_err(db_err)?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .map_err(db_err)?;
    conn.close().await.map_err(db_err)
}

fn check_test_db_name(name: &str) -> Result<()> {
    let ok = name.starts_with(TEST_DB_PREFIX)
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "`{name}` is not a test database name"
        )))
    }
}

/// Splits `scheme://authority/database?query` around the database part.
fn split_url(url: &str) -> Result<(&str, &str, &str, &str)> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| StoreError::Database("not a URL".into()))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (path, query) = match tail.find('?') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    Ok((scheme, authority, path.trim_start_matches('/'), query))
}

/// The same URL naming another database.
fn with_database(url: &str, database: &str) -> Result<String> {
    let (scheme, authority, _, query) = split_url(url)?;
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

fn database_of(url: &str) -> Result<String> {
    Ok(split_url(url)?.2.to_owned())
}

// --- errors ---------------------------------------------------------------------------------

/// Maps a database failure to `StoreError::Database` without echoing bound values: the
/// SQLSTATE, the constraint name and PostgreSQL's message are kept, except for data
/// exceptions (class 22), whose messages may quote the offending input.
fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let mut msg = format!("SQLSTATE {code}");
            if let Some(c) = d.constraint() {
                msg.push_str(" on constraint ");
                msg.push_str(c);
            }
            if !code.starts_with("22") {
                msg.push_str(": ");
                msg.push_str(d.message());
            }
            StoreError::Database(msg)
        }
        other => StoreError::Database(other.to_string()),
    }
}

/// The constraint a statement broke, when it broke one with this SQLSTATE.
fn violated<'e>(e: &'e sqlx::Error, sqlstate: &str) -> Option<&'e str> {
    match e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some(sqlstate) => d.constraint(),
        _ => None,
    }
}

const FOREIGN_KEY_VIOLATION: &str = "23503";
const UNIQUE_VIOLATION: &str = "23505";

/// Maps a failed insert of a row belonging to `incident_id` (and maybe naming a user).
fn child_err(e: sqlx::Error, incident_id: i64, user: Option<i64>) -> StoreError {
    match violated(&e, FOREIGN_KEY_VIOLATION) {
        Some(c) if c.ends_with("_incident_id_fkey") => incident_not_found(incident_id),
        Some(c) if c.ends_with("_by_fkey") || c.ends_with("_user_id_fkey") => {
            StoreError::NotFound {
                entity: "user",
                id: user.map(|u| u.to_string()).unwrap_or_default(),
            }
        }
        _ => db_err(e),
    }
}

fn incident_not_found(id: i64) -> StoreError {
    not_found("incident", id)
}

fn not_found(entity: &'static str, id: i64) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

fn user_not_found(id: i64) -> StoreError {
    not_found("user", id)
}

/// An update addressed to one user by id changed `rows` rows: none means no such user.
fn one_row(rows: u64, user_id: i64) -> Result<()> {
    if rows == 0 {
        Err(user_not_found(user_id))
    } else {
        Ok(())
    }
}

/// Maps a failed insert of a row owned by a user and found by a unique secret hash
/// (sessions, tokens, enrolment links).
fn user_child_err(e: sqlx::Error, user_id: i64, what: &str) -> StoreError {
    if violated(&e, FOREIGN_KEY_VIOLATION).is_some() {
        user_not_found(user_id)
    } else if violated(&e, UNIQUE_VIOLATION).is_some() {
        StoreError::Duplicate { what: what.into() }
    } else {
        db_err(e)
    }
}

// --- helpers --------------------------------------------------------------------------------

/// `%text%` for ILIKE, with the pattern characters of `text` escaped (`\` is the default
/// escape character of LIKE in PostgreSQL).
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// How often `session_by_hash` moves a session's `last_seen_at` at most.
const TOUCH_EVERY_SECS: u32 = 60;

/// `now - window`: what was last seen (or failed) before this is too old. `None` when that
/// instant is before any PostgreSQL can hold (or beyond jiff's range), i.e. nothing is too old.
fn cutoff(now: Timestamp, window: SignedDuration) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    // PostgreSQL's TIMESTAMPTZ starts in 4714 BC; year 1 is a safe, round lower bound.
    const EARLIEST: Timestamp = Timestamp::constant(-62_135_596_800, 0);
    match now.checked_sub(window) {
        Ok(t) if t >= EARLIEST => to_db_ts(t).map(Some),
        _ => Ok(None),
    }
}

/// Appends the need-to-know condition for `viewer` on the incident aliased `alias` (with a
/// leading ` AND `): the same rule as [`Viewer::can_see`]. Membership is a correlated
/// `EXISTS`, which PostgreSQL turns into a semi-join when it stands alone (member-only
/// viewers: merge the viewer's memberships with the incident index) and, inside the `OR` of
/// the organisation scope, plans both ways: a probe of `incident_members_user_id_idx` per row
/// for short keyset pages, trigram searches and correlations, or the viewer's memberships
/// hashed once for counts and long scans.
fn push_visible(qb: &mut QueryBuilder<Postgres>, alias: &str, viewer: Option<&Viewer>) {
    let Some(viewer) = viewer else {
        return;
    };
    let member = |qb: &mut QueryBuilder<Postgres>| {
        qb.push(format!(
            "EXISTS (SELECT 1 FROM incident_members m \
             WHERE m.incident_id = {alias}.id AND m.user_id = "
        ))
        .push_bind(viewer.user_id)
        .push(")");
    };
    match viewer.scope {
        IncidentScope::Organisation => {
            qb.push(format!(
                " AND (NOT {alias}.restricted OR {alias}.created_by = "
            ))
            .push_bind(viewer.user_id)
            .push(" OR ");
            member(qb);
            qb.push(")");
        }
        IncidentScope::MemberOnly => {
            qb.push(" AND ");
            member(qb);
        }
        IncidentScope::OwnReports => {
            qb.push(format!(" AND {alias}.created_by = "))
                .push_bind(viewer.user_id);
        }
    }
}

fn effective_limit(limit: u32) -> u32 {
    match limit {
        0 => IncidentFilter::DEFAULT_LIMIT,
        n => n.min(IncidentFilter::MAX_LIMIT),
    }
}

fn collect<T>(rows: Vec<PgRow>, f: fn(&PgRow) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

/// Inserts timeline entries in one statement; returns them in input order.
async fn insert_timeline(
    conn: &mut sqlx::PgConnection,
    incident_id: i64,
    entries: &[TimelineEntryFields],
    created_by: Option<i64>,
    now: Timestamp,
) -> Result<Vec<TimelineEntry>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let n = entries.len();
    let mut occurred_at = Vec::with_capacity(n);
    let mut precision = Vec::with_capacity(n);
    let mut day_part = Vec::with_capacity(n);
    let mut lane = Vec::with_capacity(n);
    let mut actor = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut text = Vec::with_capacity(n);
    let mut source = Vec::with_capacity(n);
    for e in entries {
        occurred_at.push(to_db_ts(e.occurred_at)?);
        precision.push(e.precision.as_str());
        day_part.push(e.day_part.map(|d| d.as_str()));
        lane.push(e.lane.as_str());
        actor.push(e.actor.as_str());
        kind.push(e.kind.as_str());
        text.push(e.text.as_str());
        source.push(e.source.as_str());
    }
    let sql = format!(
        "INSERT INTO timeline_entries \
             (incident_id, occurred_at, \"precision\", day_part, lane, actor, kind, text, source, \
              created_by, created_at) \
         SELECT $1, t.occurred_at, t.prec, t.day_part, t.lane, t.actor, t.kind, t.text, t.source, \
                $2, $3 \
         FROM UNNEST($4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], \
                     $9::text[], $10::text[], $11::text[]) \
              WITH ORDINALITY AS t(occurred_at, prec, day_part, lane, actor, kind, text, source, ord) \
         ORDER BY t.ord \
         RETURNING {TIMELINE_COLS}"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(created_by)
        .bind(to_db_ts(now)?)
        .bind(occurred_at)
        .bind(precision)
        .bind(day_part)
        .bind(lane)
        .bind(actor)
        .bind(kind)
        .bind(text)
        .bind(source)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| child_err(e, incident_id, created_by))?;
    let mut out = collect(rows, rows::timeline_entry)?;
    // Identity values are drawn in the order the rows are inserted, i.e. input order.
    out.sort_by_key(|e| e.id);
    Ok(out)
}

async fn insert_clock(
    conn: &mut sqlx::PgConnection,
    incident_id: i64,
    clock: &LegalClockFields,
) -> Result<LegalClock> {
    let sql = format!(
        "INSERT INTO legal_clocks (incident_id, kind, name, due_hours, overdue_hours, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CLOCK_COLS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(clock.kind.as_str())
        .bind(&clock.name)
        .bind(clock.due_hours)
        .bind(clock.overdue_hours)
        .bind(to_db_ts(clock.started_at)?)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| child_err(e, incident_id, None))?;
    rows::legal_clock(&row)
}

/// Binds the writer-controlled incident columns as $2..=$14 in `INCIDENT_FIELD_COLS` order.
macro_rules! bind_incident_fields {
    ($q:expr, $f:expr) => {{
        let f: &IncidentFields = $f;
        $q.bind(&f.title)
            .bind(&f.summary)
            .bind(f.category.as_str())
            .bind(i16::from(f.severity))
            .bind(f.phase.as_str())
            .bind(f.detection_source.as_str())
            .bind(to_db_date(f.start_date)?)
            .bind(f.start_basis.as_str())
            .bind(to_db_ts(f.aware_at)?)
            .bind(serde_json::to_string(&f.affected_units).map_err(json_err)?)
            .bind(serde_json::to_string(&f.affected_assets).map_err(json_err)?)
            .bind(serde_json::to_string(&f.impact).map_err(json_err)?)
            .bind(f.restricted)
    }};
}

/// Inserts an incident (a real one, or the one a tabletop exercise runs on).
async fn insert_incident(
    conn: &mut sqlx::PgConnection,
    fields: &IncidentFields,
    created_by: Option<i64>,
    now: Timestamp,
    exercise: bool,
) -> Result<Incident> {
    let sql = format!(
        "INSERT INTO incidents (created_by, title, summary, category, severity, phase, \
             detection_source, start_date, start_basis, aware_at, affected_units, \
             affected_assets, impact, restricted, version, created_at, updated_at, exercise) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, \
             $13::jsonb, $14, 1, $15, $15, $16) \
         RETURNING {INCIDENT_COLS}"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(created_by);
    let row = bind_incident_fields!(q, fields)
        .bind(to_db_ts(now)?)
        .bind(exercise)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| child_err(e, 0, created_by))?;
    rows::incident(&row)
}

/// Appends which incidents a list holds: real ones, exercises or both.
fn push_exercises(qb: &mut QueryBuilder<Postgres>, alias: &str, filter: ExerciseFilter) {
    match filter {
        ExerciseFilter::Exclude => {
            qb.push(format!(" AND NOT {alias}.exercise"));
        }
        ExerciseFilter::Only => {
            qb.push(format!(" AND {alias}.exercise"));
        }
        ExerciseFilter::Include => {}
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<()> {
        // sqlx takes a session-level advisory lock (keyed by database name) for the whole
        // run, so replicas migrating at the same time queue up and the later ones find
        // nothing to do. On failure sqlx returns without unlocking: close that connection
        // instead of returning it to the pool still holding the lock.
        // (`run_direct` is what `Migrator::run` calls; calling it directly avoids the
        // "`Acquire` is not general enough" error inside `async_trait`.)
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        match MIGRATOR.run_direct(None, &mut *conn, false).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = conn.close().await;
                Err(StoreError::Migration(e.to_string()))
            }
        }
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        PgStore::close(self).await;
    }

    // --- users ----------------------------------------------------------------------------

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User> {
        let sql = format!(
            "INSERT INTO users (email, display_name, role, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {USER_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&user.email)
            .bind(&user.display_name)
            .bind(user.role.as_str())
            .bind(to_db_ts(now)?)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match violated(&e, UNIQUE_VIOLATION) {
                Some("users_email_key") => StoreError::Duplicate {
                    what: format!("user {}", user.email),
                },
                _ => db_err(e),
            })?;
        rows::user(&row)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE email = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::user)
    }

    async fn set_user_role(&self, user_id: i64, role: Role) -> Result<User> {
        let sql = format!("UPDATE users SET role = $2 WHERE id = $1 RETURNING {USER_COLS}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(role.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| user_not_found(user_id))?;
        rows::user(&row)
    }

    async fn set_user_language(&self, user_id: i64, language: Option<Language>) -> Result<User> {
        let sql = format!("UPDATE users SET language = $2 WHERE id = $1 RETURNING {USER_COLS}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(language.map(|l| l.as_str()))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| user_not_found(user_id))?;
        rows::user(&row)
    }

    async fn set_user_active(&self, user_id: i64, active: bool, now: Timestamp) -> Result<User> {
        let now = to_db_ts(now)?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let sql = format!("UPDATE users SET active = $2 WHERE id = $1 RETURNING {USER_COLS}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(active)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| user_not_found(user_id))?;
        let user = rows::user(&row)?;
        if !active {
            // In the same transaction: once the deactivation is visible, so are the
            // revocations (and reactivating does not bring old sessions or tokens back).
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(user)
    }

    async fn credentials_by_email(&self, email: &str) -> Result<Option<UserCredentials>> {
        let sql = format!("SELECT {CREDENTIAL_COLS} FROM users WHERE email = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::credentials).transpose()
    }

    async fn credentials_by_id(&self, user_id: i64) -> Result<Option<UserCredentials>> {
        let sql = format!("SELECT {CREDENTIAL_COLS} FROM users WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::credentials).transpose()
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        one_row(done.rows_affected(), user_id)
    }

    async fn set_totp_pending(&self, user_id: i64, secret: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET totp_pending_secret = $2 WHERE id = $1")
            .bind(user_id)
            .bind(secret)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        one_row(done.rows_affected(), user_id)
    }

    async fn activate_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_code_hashes: &[String],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Conditional on the pending secret, so of two racing confirmations only one
        // activates (the other waits for the row lock, then finds nothing pending).
        let activated: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
                 totp_last_step = $2 \
             WHERE id = $1 AND totp_pending_secret IS NOT NULL RETURNING id",
        )
        .bind(user_id)
        .bind(step)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if activated.is_none() {
            drop(tx);
            return Err(if self.user_exists(user_id).await? {
                StoreError::NotFound {
                    entity: "pending TOTP secret of user",
                    id: user_id.to_string(),
                }
            } else {
                user_not_found(user_id)
            });
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if !recovery_code_hashes.is_empty() {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash) \
                 SELECT $1, h FROM UNNEST($2::text[]) AS t(h) \
                 ON CONFLICT (user_id, code_hash) DO NOTHING",
            )
            .bind(user_id)
            .bind(recovery_code_hashes)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn reset_mfa(&self, user_id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, \
                 totp_last_step = NULL \
             WHERE id = $1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        one_row(done.rows_affected(), user_id)?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn claim_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        // One conditional statement: of two requests racing with one code, the second waits
        // for the first's row lock, re-checks the condition and finds the step taken.
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET totp_last_step = $2 \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
        )
        .bind(user_id)
        .bind(step)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(claimed.is_some())
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let used: Option<i64> = sqlx::query_scalar(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id",
        )
        .bind(user_id)
        .bind(code_hash)
        .bind(to_db_ts(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(used.is_some())
    }

    async fn recovery_codes_left(&self, user_id: i64) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        u32::try_from(n).map_err(|e| StoreError::Database(e.to_string()))
    }

    // --- login defences -------------------------------------------------------------------

    async fn login_failures(&self, key: &str) -> Result<LoginFailures> {
        let row =
            sqlx::query("SELECT failures, last_failure_at FROM login_failures WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        match row {
            Some(row) => rows::login_failures(&row),
            None => Ok(LoginFailures::default()),
        }
    }

    async fn record_login_failure(
        &self,
        key: &str,
        now: Timestamp,
        reset_after: SignedDuration,
    ) -> Result<LoginFailures> {
        // One statement: concurrent failures for one key are counted one after the other
        // on the row lock, none lost. The count is capped where `u32` ends, and the time of
        // the last failure never moves back (replicas' clocks may disagree a little).
        let row = sqlx::query(
            "INSERT INTO login_failures (key, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE \
                     WHEN $3::timestamptz IS NOT NULL AND login_failures.last_failure_at < $3 \
                     THEN 1 \
                     ELSE LEAST(login_failures.failures + 1, 4294967295) END, \
                 last_failure_at = GREATEST(login_failures.last_failure_at, \
                                            EXCLUDED.last_failure_at) \
             RETURNING failures, last_failure_at",
        )
        .bind(key)
        .bind(to_db_ts(now)?)
        .bind(cutoff(now, reset_after)?)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        rows::login_failures(&row)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // --- sessions -------------------------------------------------------------------------

    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<Session> {
        let sql = format!(
            "INSERT INTO sessions (user_id, secret_hash, stage, created_at, last_seen_at, \
                 expires_at, address, user_agent) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7) RETURNING {SESSION_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(session.user_id)
            .bind(&session.secret_hash)
            .bind(session.stage.as_str())
            .bind(to_db_ts(now)?)
            .bind(to_db_ts(session.expires_at)?)
            .bind(session.address.as_deref())
            .bind(&session.user_agent)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| user_child_err(e, session.user_id, "session"))?;
        rows::session(&row)
    }

    async fn session_by_hash(
        &self,
        secret_hash: &str,
        now: Timestamp,
        idle_timeout: SignedDuration,
    ) -> Result<Option<(Session, User)>> {
        // One round trip on every request: find the live session and its active user, and
        // move `last_seen_at` only when it is more than a minute old.
        let sql = format!(
            "WITH found AS ( \
                 SELECT s.id, s.user_id, s.stage, s.created_at, s.last_seen_at AS seen_before, \
                        s.expires_at, s.address, s.user_agent, {USER_COLS_U} \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
                   AND ($3::timestamptz IS NULL OR s.last_seen_at > $3) AND u.active \
             ), touched AS ( \
                 UPDATE sessions SET last_seen_at = $2 \
                 WHERE id = (SELECT id FROM found) \
                   AND last_seen_at < $2::timestamptz - interval '{TOUCH_EVERY_SECS} seconds' \
                 RETURNING id, last_seen_at \
             ) \
             SELECT f.*, COALESCE(t.last_seen_at, f.seen_before) AS last_seen_at \
             FROM found f LEFT JOIN touched t ON t.id = f.id"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(secret_hash)
            .bind(to_db_ts(now)?)
            .bind(cutoff(now, idle_timeout)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => Ok(Some((
                rows::session(&row)?,
                rows::user_prefixed(&row, true)?,
            ))),
            None => Ok(None),
        }
    }

    async fn list_sessions(
        &self,
        user_id: i64,
        now: Timestamp,
        idle_timeout: SignedDuration,
    ) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
               AND ($3::timestamptz IS NULL OR last_seen_at > $3) \
             ORDER BY id DESC"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(to_db_ts(now)?)
            .bind(cutoff(now, idle_timeout)?)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::session)
    }

    async fn revoke_session(&self, user_id: i64, session_id: i64, now: Timestamp) -> Result<bool> {
        let now = to_db_ts(now)?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 \
             WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(user_id)
        .bind(session_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_sessions_except(
        &self,
        user_id: i64,
        keep: Option<i64>,
        now: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $3 \
               AND ($2::bigint IS NULL OR id <> $2)",
        )
        .bind(user_id)
        .bind(keep)
        .bind(to_db_ts(now)?)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn promote_session(&self, session_id: i64) -> Result<()> {
        let done =
            sqlx::query("UPDATE sessions SET stage = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(session_id)
                .bind(SessionStage::Full.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(not_found("session", session_id));
        }
        Ok(())
    }

    // --- API tokens and enrolment links -----------------------------------------------------

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scope: &TokenScope,
        secret_hash: &str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Result<ApiToken> {
        let sql = format!(
            "INSERT INTO api_tokens (user_id, name, scope, secret_hash, created_at, expires_at) \
             VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING {TOKEN_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(name)
            .bind(serde_json::to_string(scope).map_err(json_err)?)
            .bind(secret_hash)
            .bind(to_db_ts(now)?)
            .bind(to_db_opt_ts(expires_at)?)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| user_child_err(e, user_id, "token"))?;
        rows::token(&row)
    }

    async fn user_by_token_hash(
        &self,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(User, TokenScope)>> {
        let sql = format!(
            "SELECT {USER_COLS_U}, t.scope \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL \
               AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.active"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(secret_hash)
            .bind(to_db_ts(now)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => Ok(Some((
                rows::user_prefixed(&row, true)?,
                rows::token_scope(&row)?,
            ))),
            None => Ok(None),
        }
    }

    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let sql =
            format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::token)
    }

    async fn revoke_token(&self, user_id: i64, token_id: i64, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(token_id)
        .bind(to_db_ts(now)?)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_unrevoked_tokens(&self) -> Result<Vec<ApiToken>> {
        playbooks::list_unrevoked_tokens(&self.pool).await
    }

    async fn revoke_any_token(&self, token_id: i64, now: Timestamp) -> Result<Option<ApiToken>> {
        playbooks::revoke_any_token(&self.pool, token_id, now).await
    }

    async fn create_enrolment(
        &self,
        user_id: i64,
        secret_hash: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO enrolments (secret_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(secret_hash)
        .bind(user_id)
        .bind(to_db_ts(expires_at)?)
        .execute(&self.pool)
        .await
        .map_err(|e| user_child_err(e, user_id, "enrolment link"))?;
        Ok(())
    }

    async fn consume_enrolment(&self, secret_hash: &str, now: Timestamp) -> Result<Option<i64>> {
        // One conditional statement, so two racing uses of one link cannot both succeed.
        sqlx::query_scalar(
            "UPDATE enrolments SET used_at = $2 \
             WHERE secret_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        )
        .bind(secret_hash)
        .bind(to_db_ts(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)
    }

    // --- need-to-know ---------------------------------------------------------------------

    async fn add_member(&self, incident_id: i64, user_id: i64, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_members (incident_id, user_id, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (incident_id, user_id) DO NOTHING",
        )
        .bind(incident_id)
        .bind(user_id)
        .bind(to_db_ts(now)?)
        .execute(&self.pool)
        .await
        .map_err(|e| child_err(e, incident_id, Some(user_id)))?;
        Ok(())
    }

    async fn remove_member(&self, incident_id: i64, user_id: i64) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM incident_members WHERE incident_id = $1 AND user_id = $2")
                .bind(incident_id)
                .bind(user_id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_members(&self, incident_id: i64) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.email, u.display_name, u.role, m.added_at \
             FROM incident_members m JOIN users u ON u.id = m.user_id \
             WHERE m.incident_id = $1 ORDER BY m.user_id",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        collect(rows, rows::member)
    }

    async fn set_lane_owner(
        &self,
        incident_id: i64,
        lane: Lane,
        user_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        let now = to_db_ts(now)?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM incidents WHERE id = $1")
            .bind(incident_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(incident_not_found(incident_id));
        }
        sqlx::query("DELETE FROM incident_lane_owners WHERE incident_id = $1 AND lane = $2")
            .bind(incident_id)
            .bind(lane.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(user_id) = user_id {
            sqlx::query(
                "INSERT INTO incident_members (incident_id, user_id, added_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (incident_id, user_id) DO NOTHING",
            )
            .bind(incident_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| child_err(e, incident_id, Some(user_id)))?;
            sqlx::query(
                "INSERT INTO incident_lane_owners (incident_id, lane, user_id, assigned_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(incident_id)
            .bind(lane.as_str())
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn list_lane_owners(&self, incident_id: i64) -> Result<Vec<LaneOwner>> {
        let rows = sqlx::query(
            "SELECT o.lane, o.user_id, u.display_name, o.assigned_at \
             FROM incident_lane_owners o JOIN users u ON u.id = o.user_id \
             WHERE o.incident_id = $1",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut owners = collect(rows, rows::lane_owner)?;
        owners.sort_by_key(|o| o.lane);
        Ok(owners)
    }

    async fn is_member(&self, incident_id: i64, user_id: i64) -> Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM incident_members \
                            WHERE incident_id = $1 AND user_id = $2)",
        )
        .bind(incident_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)
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
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // The head row always exists (the migration seeds it), so every appender on every
        // replica queues on this one row lock: the second reads the head the first wrote.
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id FOR UPDATE")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some((mut seq, head_hash)) = head else {
            return Err(StoreError::Corrupt {
                table: "audit_head",
                column: "seq",
                reason: "the head row is missing".into(),
            });
        };
        let mut prev = if seq == 0 {
            GENESIS_HASH.to_owned()
        } else {
            head_hash
        };
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            // Seal exactly what will be read back: the database keeps microseconds.
            let event = AuditEvent {
                at: to_microseconds(event.at)?,
                ..event.clone()
            };
            let hash = sealer.seal_record(seq, &event, &prev);
            records.push(AuditRecord {
                seq,
                event,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            });
        }
        let n = records.len();
        let mut seqs = Vec::with_capacity(n);
        let mut at = Vec::with_capacity(n);
        let mut actor_id = Vec::with_capacity(n);
        let mut actor = Vec::with_capacity(n);
        let mut address = Vec::with_capacity(n);
        let mut action = Vec::with_capacity(n);
        let mut object = Vec::with_capacity(n);
        let mut outcome = Vec::with_capacity(n);
        let mut detail = Vec::with_capacity(n);
        let mut prev_hash = Vec::with_capacity(n);
        let mut hash = Vec::with_capacity(n);
        for r in &records {
            seqs.push(r.seq);
            at.push(to_db_ts(r.event.at)?);
            actor_id.push(r.event.actor_id);
            actor.push(r.event.actor.as_str());
            address.push(r.event.address.as_deref());
            action.push(r.event.action.as_str());
            object.push(r.event.object.as_str());
            outcome.push(r.event.outcome.as_str());
            detail.push(r.event.detail.as_str());
            prev_hash.push(r.prev_hash.as_str());
            hash.push(r.hash.as_str());
        }
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor_id, actor, address, action, object, outcome, \
                 detail, prev_hash, hash) \
             SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                 $11::text[])",
        )
        .bind(seqs)
        .bind(at)
        .bind(actor_id)
        .bind(actor)
        .bind(address)
        .bind(action)
        .bind(object)
        .bind(outcome)
        .bind(detail)
        .bind(prev_hash)
        .bind(hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, seal = $3 WHERE id")
            .bind(seq)
            .bind(&prev)
            .bind(sealer.seal_head(seq, &prev))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(records)
    }

    async fn list_audit(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let sql =
            format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::audit_record)
    }

    async fn audit_head(&self) -> Result<Option<AuditHead>> {
        // The seeded row (seq 0) stands for "nothing appended yet".
        let head: Option<(i64, String, String)> =
            sqlx::query_as("SELECT seq, hash, seal FROM audit_head WHERE id AND seq > 0")
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(head.map(|(seq, hash, seal)| AuditHead { seq, hash, seal }))
    }

    // --- incidents ------------------------------------------------------------------------

    async fn create_incident(
        &self,
        fields: &IncidentFields,
        clocks: &[LegalClockFields],
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<Incident> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let incident = insert_incident(&mut tx, fields, created_by, now, false).await?;
        for clock in clocks {
            insert_clock(&mut tx, incident.id, clock).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(incident)
    }

    async fn get_incident(&self, id: i64) -> Result<Option<Incident>> {
        let sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::incident).transpose()
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>> {
        let limit = effective_limit(filter.limit);
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE TRUE"));
        push_visible(&mut qb, "incidents", filter.viewer.as_ref());
        push_exercises(&mut qb, "incidents", filter.exercises);
        if !filter.phases.is_empty() {
            let phases: Vec<&str> = filter.phases.iter().map(|p| p.as_str()).collect();
            qb.push(" AND phase = ANY(").push_bind(phases).push(")");
        }
        if !filter.categories.is_empty() {
            let categories: Vec<&str> = filter.categories.iter().map(|c| c.as_str()).collect();
            qb.push(" AND category = ANY(")
                .push_bind(categories)
                .push(")");
        }
        if let Some(min) = filter.min_severity {
            qb.push(" AND severity >= ").push_bind(i16::from(min));
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
            qb.push(" AND phase <> ").push_bind(Phase::Closed.as_str());
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
            let pattern = contains_pattern(text);
            qb.push(" AND (title ILIKE ")
                .push_bind(pattern.clone())
                .push(" OR summary ILIKE ")
                .push_bind(pattern)
                .push(")");
        }
        if let Some(before) = filter.before_id {
            qb.push(" AND id < ").push_bind(before);
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let mut items = collect(rows, rows::incident)?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_before_id = if items.len() > limit {
            items.truncate(limit);
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
        let sql = format!(
            "UPDATE incidents SET title = $2, summary = $3, category = $4, severity = $5, \
                 phase = $6, detection_source = $7, start_date = $8, start_basis = $9, \
                 aware_at = $10, affected_units = $11::jsonb, affected_assets = $12::jsonb, \
                 impact = $13::jsonb, restricted = $14, updated_at = $15, version = version + 1 \
             WHERE id = $1 AND version = $16 \
             RETURNING {INCIDENT_COLS}"
        );
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        let row = bind_incident_fields!(q, fields)
            .bind(to_db_ts(now)?)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(row) = row {
            let incident = rows::incident(&row)?;
            for clock in statutory_clocks {
                sqlx::query(
                    "INSERT INTO legal_clocks (incident_id, kind, name, due_hours, overdue_hours, started_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (incident_id, kind) WHERE kind <> 'custom' DO UPDATE SET \
                     name = EXCLUDED.name, due_hours = EXCLUDED.due_hours, \
                     overdue_hours = EXCLUDED.overdue_hours, started_at = EXCLUDED.started_at \
                     WHERE legal_clocks.met_at IS NULL",
                )
                .bind(id)
                .bind(clock.kind.as_str())
                .bind(&clock.name)
                .bind(clock.due_hours)
                .bind(clock.overdue_hours)
                .bind(to_db_ts(clock.started_at)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            return Ok(incident);
        }
        drop(tx);
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        match current {
            None => Err(incident_not_found(id)),
            Some(current) => Err(StoreError::Conflict {
                id,
                expected: expected_version,
                current,
            }),
        }
    }

    async fn count_incidents(&self, viewer: Option<&Viewer>) -> Result<u64> {
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT count(*) FROM incidents i WHERE TRUE");
        // Exercises never count: the figure is what the organisation really went through.
        push_exercises(&mut qb, "i", ExerciseFilter::Exclude);
        push_visible(&mut qb, "i", viewer);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        u64::try_from(n).map_err(|e| StoreError::Database(e.to_string()))
    }

    // --- timeline -------------------------------------------------------------------------

    async fn add_timeline_entry(
        &self,
        incident_id: i64,
        entry: &TimelineEntryFields,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<TimelineEntry> {
        let sql = format!(
            "INSERT INTO timeline_entries (incident_id, occurred_at, \"precision\", day_part, \
                 lane, actor, kind, text, source, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING {TIMELINE_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(to_db_ts(entry.occurred_at)?)
            .bind(entry.precision.as_str())
            .bind(entry.day_part.map(|d| d.as_str()))
            .bind(entry.lane.as_str())
            .bind(&entry.actor)
            .bind(entry.kind.as_str())
            .bind(&entry.text)
            .bind(entry.source.as_str())
            .bind(created_by)
            .bind(to_db_ts(now)?)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| child_err(e, incident_id, created_by))?;
        rows::timeline_entry(&row)
    }

    async fn add_timeline_entries(
        &self,
        incident_id: i64,
        entries: &[TimelineEntryFields],
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<TimelineEntry>> {
        // One statement is one transaction: all entries or none.
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_timeline(&mut conn, incident_id, entries, created_by, now).await
    }

    async fn timeline_stamp(&self, incident_id: i64) -> Result<(u64, i64)> {
        let (count, max): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*), max(id) FROM timeline_entries WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
        Ok((u64::try_from(count).unwrap_or(0), max.unwrap_or(0)))
    }

    async fn list_timeline(
        &self,
        incident_id: i64,
        query: &TimelineQuery,
    ) -> Result<Vec<TimelineEntry>> {
        let lanes: Vec<&str> = query.lanes.iter().map(|l| l.as_str()).collect();
        let limit = (query.limit > 0).then_some(i64::from(query.limit));
        let sql = format!(
            "SELECT {TIMELINE_COLS} FROM timeline_entries \
             WHERE incident_id = $1 AND (cardinality($2::text[]) = 0 OR lane = ANY($2)) \
             ORDER BY occurred_at, id OFFSET $3 LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(lanes)
            .bind(i64::from(query.offset))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::timeline_entry)
    }

    // --- tasks ----------------------------------------------------------------------------

    async fn add_tasks(&self, incident_id: i64, tasks: &[NewTask]) -> Result<Vec<Task>> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let n = tasks.len();
        let mut playbook = Vec::with_capacity(n);
        let mut phase = Vec::with_capacity(n);
        let mut title = Vec::with_capacity(n);
        let mut lane = Vec::with_capacity(n);
        let mut checklist = Vec::with_capacity(n);
        let mut due_at = Vec::with_capacity(n);
        let mut rationale = Vec::with_capacity(n);
        let mut position = Vec::with_capacity(n);
        for t in tasks {
            playbook.push(t.playbook.as_deref());
            phase.push(t.phase.as_str());
            title.push(t.title.as_str());
            lane.push(t.lane.as_str());
            checklist.push(serde_json::to_string(&t.checklist).map_err(json_err)?);
            due_at.push(to_db_opt_ts(t.due_at)?);
            rationale.push(t.rationale.as_str());
            position.push(t.position);
        }
        let sql = format!(
            "INSERT INTO tasks (incident_id, playbook, phase, title, lane, checklist, due_at, \
                 rationale, status, position) \
             SELECT $1, t.playbook, t.phase, t.title, t.lane, t.checklist::jsonb, t.due_at, \
                 t.rationale, 'open', t.position \
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                         $7::timestamptz[], $8::text[], $9::bigint[]) \
                  WITH ORDINALITY AS t(playbook, phase, title, lane, checklist, due_at, rationale, \
                                       position, ord) \
             ORDER BY t.ord \
             RETURNING {TASK_COLS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(playbook)
            .bind(phase)
            .bind(title)
            .bind(lane)
            .bind(checklist)
            .bind(due_at)
            .bind(rationale)
            .bind(position)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| child_err(e, incident_id, None))?;
        let mut out = collect(rows, rows::task)?;
        out.sort_by_key(|t| t.id);
        Ok(out)
    }

    async fn list_tasks(&self, incident_id: i64) -> Result<Vec<Task>> {
        let sql =
            format!("SELECT {TASK_COLS} FROM tasks WHERE incident_id = $1 ORDER BY position, id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::task)
    }

    async fn complete_task(
        &self,
        incident_id: i64,
        task_id: i64,
        completion: &TaskCompletion,
    ) -> Result<(Task, TimelineEntry)> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // The row lock makes a racing completion wait here, then see status 'done'.
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM tasks WHERE id = $1 AND incident_id = $2 FOR UPDATE",
        )
        .bind(task_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(status) = status else {
            return Err(not_found("task", task_id));
        };
        if status == TaskStatus::Done.as_str() {
            return Err(StoreError::Duplicate {
                what: format!("completion of task {task_id}"),
            });
        }
        let sql = format!(
            "UPDATE tasks SET status = 'done', completed_by = $2, completed_at = $3 \
             WHERE id = $1 RETURNING {TASK_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(task_id)
            .bind(completion.by)
            .bind(to_db_ts(completion.at)?)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| child_err(e, incident_id, completion.by))?;
        let task = rows::task(&row)?;
        let mut entries = insert_timeline(
            &mut tx,
            incident_id,
            std::slice::from_ref(&completion.entry),
            completion.by,
            completion.at,
        )
        .await?;
        let entry = entries
            .pop()
            .ok_or_else(|| StoreError::Database("timeline entry was not written".into()))?;
        tx.commit().await.map_err(db_err)?;
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
        let sql = format!(
            "UPDATE tasks SET \
             checklist = CASE WHEN $1::bigint IS NULL THEN checklist \
               ELSE jsonb_set(checklist, ARRAY[$1::bigint::text, 'done'], to_jsonb($2::boolean)) END, \
             status = COALESCE($3, status) \
             WHERE id = $4 AND incident_id = $5 RETURNING {TASK_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(index)
            .bind(done)
            .bind(update.status.map(TaskStatus::as_str))
            .bind(task_id)
            .bind(incident_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => rows::task(&row),
            None => Err(StoreError::NotFound {
                entity: "task",
                id: task_id.to_string(),
            }),
        }
    }

    // --- decisions ------------------------------------------------------------------------

    async fn add_decision(
        &self,
        incident_id: i64,
        decision: &NewDecision,
        now: Timestamp,
    ) -> Result<Decision> {
        // A decision recorded as already taken gets "now" as its time unless one is given.
        let decided_at = match decision.chosen {
            Some(_) => Some(decision.decided_at.unwrap_or(now)),
            None => decision.decided_at,
        };
        let sql = format!(
            "INSERT INTO decisions (incident_id, question, options, chosen, decided_by, \
                 decided_at, rationale, decide_by, created_at) \
             VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9) RETURNING {DECISION_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(&decision.question)
            .bind(serde_json::to_string(&decision.options).map_err(json_err)?)
            .bind(decision.chosen.map(i64::from))
            .bind(&decision.decided_by)
            .bind(to_db_opt_ts(decided_at)?)
            .bind(&decision.rationale)
            .bind(to_db_opt_ts(decision.decide_by)?)
            .bind(to_db_ts(now)?)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| child_err(e, incident_id, None))?;
        rows::decision(&row)
    }

    async fn list_decisions(&self, incident_id: i64) -> Result<Vec<Decision>> {
        let sql =
            format!("SELECT {DECISION_COLS} FROM decisions WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::decision)
    }

    async fn get_decision(&self, incident_id: i64, decision_id: i64) -> Result<Option<Decision>> {
        let sql =
            format!("SELECT {DECISION_COLS} FROM decisions WHERE id = $1 AND incident_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(decision_id)
            .bind(incident_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::decision).transpose()
    }

    async fn decide(
        &self,
        incident_id: i64,
        decision_id: i64,
        outcome: &DecisionOutcome,
        at: Timestamp,
    ) -> Result<Decision> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let chosen: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT chosen FROM decisions WHERE id = $1 AND incident_id = $2 FOR UPDATE",
        )
        .bind(decision_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        match chosen {
            None => return Err(not_found("decision", decision_id)),
            Some(Some(_)) => {
                return Err(StoreError::Duplicate {
                    what: format!("outcome of decision {decision_id}"),
                });
            }
            Some(None) => {}
        }
        // An empty rationale in the outcome keeps the one written when the question was asked.
        let sql = format!(
            "UPDATE decisions SET chosen = $2, decided_by = $3, decided_at = $4, \
                 rationale = CASE WHEN $5 = '' THEN rationale ELSE $5 END \
             WHERE id = $1 RETURNING {DECISION_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(decision_id)
            .bind(i64::from(outcome.chosen))
            .bind(&outcome.decided_by)
            .bind(to_db_ts(outcome.decided_at.unwrap_or(at))?)
            .bind(&outcome.rationale)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let decision = rows::decision(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(decision)
    }

    // --- parties --------------------------------------------------------------------------

    async fn add_party(&self, incident_id: i64, party: &NewParty) -> Result<Party> {
        let sql = format!(
            "INSERT INTO parties (incident_id, kind, name, organisation, role, email, phone, \
                 fallback_channel, notes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {PARTY_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(party.kind.as_str())
            .bind(&party.name)
            .bind(&party.organisation)
            .bind(&party.role)
            .bind(&party.email)
            .bind(&party.phone)
            .bind(&party.fallback_channel)
            .bind(&party.notes)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| child_err(e, incident_id, None))?;
        rows::party(&row)
    }

    async fn update_party(
        &self,
        incident_id: i64,
        party_id: i64,
        patch: &PartyPatch,
    ) -> Result<Party> {
        let sql = format!(
            "UPDATE parties SET kind = COALESCE($1, kind), name = COALESCE($2, name), \
             organisation = COALESCE($3, organisation), role = COALESCE($4, role), \
             email = COALESCE($5, email), phone = COALESCE($6, phone), \
             fallback_channel = COALESCE($7, fallback_channel), notes = COALESCE($8, notes) \
             WHERE id = $9 AND incident_id = $10 RETURNING {PARTY_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
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
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => rows::party(&row),
            None => Err(StoreError::NotFound {
                entity: "party",
                id: party_id.to_string(),
            }),
        }
    }

    async fn list_parties(&self, incident_id: i64) -> Result<Vec<Party>> {
        let sql = format!("SELECT {PARTY_COLS} FROM parties WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::party)
    }

    // --- evidence -------------------------------------------------------------------------

    async fn add_evidence(
        &self,
        incident_id: i64,
        evidence: &NewEvidence,
        collected_at: Timestamp,
        now: Timestamp,
    ) -> Result<EvidenceItem> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let sql = format!(
            "INSERT INTO evidence_items (incident_id, name, description, sha256, location, \
                 created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {EVIDENCE_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(&evidence.name)
            .bind(&evidence.description)
            .bind(evidence.sha256.as_deref())
            .bind(&evidence.location)
            .bind(to_db_ts(now)?)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| child_err(e, incident_id, None))?;
        let mut item = rows::evidence_item(&row)?;
        let sql = format!(
            "INSERT INTO custody_events (evidence_id, at, action, handler, location, note) \
             VALUES ($1, $2, $3, $4, $5, '') RETURNING {CUSTODY_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(item.id)
            .bind(to_db_ts(collected_at)?)
            .bind(CustodyAction::Collected.as_str())
            .bind(&evidence.collected_by)
            .bind(&evidence.location)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        item.custody.push(rows::custody_event(&row)?);
        tx.commit().await.map_err(db_err)?;
        Ok(item)
    }

    async fn list_evidence(&self, incident_id: i64) -> Result<Vec<EvidenceItem>> {
        // One statement (one snapshot) for items and their custody chains.
        let rows = sqlx::query(
            "SELECT e.id, e.incident_id, e.name, e.description, e.sha256, e.location, \
                    e.created_at, \
                    c.id AS c_id, c.evidence_id AS c_evidence_id, c.at AS c_at, \
                    c.action AS c_action, c.handler AS c_handler, c.location AS c_location, \
                    c.note AS c_note \
             FROM evidence_items e LEFT JOIN custody_events c ON c.evidence_id = e.id \
             WHERE e.incident_id = $1 \
             ORDER BY e.id, c.at, c.id",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut items: Vec<EvidenceItem> = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get("id").map_err(db_err)?;
            if items.last().is_none_or(|i| i.id != id) {
                items.push(rows::evidence_item(row)?);
            }
            let has_event: Option<i64> = row.try_get("c_id").map_err(db_err)?;
            if has_event.is_some()
                && let Some(item) = items.last_mut()
            {
                item.custody.push(rows::custody_event_prefixed(row, "c_")?);
            }
        }
        Ok(items)
    }

    async fn add_custody_event(
        &self,
        incident_id: i64,
        evidence_id: i64,
        event: &CustodyRecord,
    ) -> Result<CustodyEvent> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Moving the item (or touching it, when no location is given) also locks it, so
        // concurrent custody events on one item are serialised.
        let found: Option<i64> = sqlx::query_scalar(
            "UPDATE evidence_items \
             SET location = CASE WHEN btrim($3) = '' THEN location ELSE $3 END \
             WHERE id = $1 AND incident_id = $2 RETURNING id",
        )
        .bind(evidence_id)
        .bind(incident_id)
        .bind(&event.event.location)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if found.is_none() {
            return Err(not_found("evidence", evidence_id));
        }
        let sql = format!(
            "INSERT INTO custody_events (evidence_id, at, action, handler, location, note) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CUSTODY_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(evidence_id)
            .bind(to_db_ts(event.at)?)
            .bind(event.event.action.as_str())
            .bind(&event.event.handler)
            .bind(&event.event.location)
            .bind(&event.event.note)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let out = rows::custody_event(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    // --- observables ----------------------------------------------------------------------

    async fn add_observable(
        &self,
        incident_id: i64,
        observable: &NewObservable,
        normalized: &str,
        first_seen: Timestamp,
    ) -> Result<Observable> {
        let sql = format!(
            "INSERT INTO observables (incident_id, kind, value, normalized, note, first_seen) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (incident_id, kind, normalized) DO NOTHING \
             RETURNING {OBSERVABLE_COLS}"
        );
        let inserted = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(observable.kind.as_str())
            .bind(&observable.value)
            .bind(normalized)
            .bind(&observable.note)
            .bind(to_db_ts(first_seen)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| child_err(e, incident_id, None))?;
        if let Some(row) = inserted {
            return rows::observable(&row);
        }
        // ON CONFLICT waited for any concurrent inserter to commit, so a fresh statement sees
        // the existing row.
        let sql = format!(
            "SELECT {OBSERVABLE_COLS} FROM observables \
             WHERE incident_id = $1 AND kind = $2 AND normalized = $3"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(observable.kind.as_str())
            .bind(normalized)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::Database("observable vanished after conflict".into()))?;
        rows::observable(&row)
    }

    async fn list_observables(&self, incident_id: i64) -> Result<Vec<Observable>> {
        let sql =
            format!("SELECT {OBSERVABLE_COLS} FROM observables WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::observable)
    }

    async fn list_all_observables(
        &self,
        limit: u32,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<Observable>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {OBSERVABLE_COLS} FROM observables WHERE TRUE"
        ));
        if viewer.is_some() {
            qb.push(" AND incident_id IN (SELECT i.id FROM incidents i WHERE TRUE");
            push_visible(&mut qb, "i", viewer);
            qb.push(")");
        }
        qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        collect(rows, rows::observable)
    }

    async fn incidents_sharing(
        &self,
        kind: ObservableKind,
        normalized: &str,
        except_incident: Option<i64>,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<SharedObservable>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT o.incident_id, i.title AS incident_title, o.id AS observable_id, o.kind, \
                    o.normalized \
             FROM observables o JOIN incidents i ON i.id = o.incident_id \
             WHERE o.kind = ",
        );
        qb.push_bind(kind.as_str())
            .push(" AND o.normalized = ")
            .push_bind(normalized);
        if let Some(except) = except_incident {
            qb.push(" AND o.incident_id <> ").push_bind(except);
        }
        push_visible(&mut qb, "i", viewer);
        qb.push(" ORDER BY o.incident_id, o.id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        collect(rows, rows::shared_observable)
    }

    // --- legal clocks ---------------------------------------------------------------------

    async fn add_legal_clock(
        &self,
        incident_id: i64,
        clock: &LegalClockFields,
    ) -> Result<LegalClock> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_clock(&mut conn, incident_id, clock)
            .await
            .map_err(|e| match e {
                // The partial unique index allows one clock per statutory kind.
                StoreError::Database(msg) if msg.contains("legal_clocks_statutory") => {
                    StoreError::Duplicate {
                        what: format!("{} clock of incident {incident_id}", clock.kind),
                    }
                }
                other => other,
            })
    }

    async fn list_legal_clocks(&self, incident_id: i64) -> Result<Vec<LegalClock>> {
        let sql =
            format!("SELECT {CLOCK_COLS} FROM legal_clocks WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        collect(rows, rows::legal_clock)
    }

    async fn mark_legal_clock_met(
        &self,
        incident_id: i64,
        clock_id: i64,
        at: Timestamp,
    ) -> Result<LegalClock> {
        // Marking a met clock again keeps the first time it was met.
        let sql = format!(
            "UPDATE legal_clocks SET met_at = COALESCE(met_at, $3) \
             WHERE id = $1 AND incident_id = $2 RETURNING {CLOCK_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(clock_id)
            .bind(incident_id)
            .bind(to_db_ts(at)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("legal clock", clock_id))?;
        rows::legal_clock(&row)
    }

    // --- review and lessons ---------------------------------------------------------------

    async fn get_review(&self, incident_id: i64) -> Result<Review> {
        review::get_review(&self.pool, incident_id).await
    }

    async fn save_review(
        &self,
        incident_id: i64,
        expected_version: i64,
        narrative: &ReviewNarrative,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<Review> {
        review::save_review(
            &self.pool,
            incident_id,
            expected_version,
            narrative,
            by,
            now,
        )
        .await
    }

    async fn add_lesson(
        &self,
        incident_id: i64,
        lesson: &LessonFields,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<Lesson> {
        review::add_lesson(&self.pool, incident_id, lesson, by, now).await
    }

    async fn list_lessons(&self, incident_id: i64) -> Result<Vec<Lesson>> {
        review::list_lessons(&self.pool, incident_id).await
    }

    async fn update_lesson(
        &self,
        incident_id: i64,
        lesson_id: i64,
        expected_version: i64,
        lesson: &LessonFields,
        now: Timestamp,
    ) -> Result<Lesson> {
        review::update_lesson(
            &self.pool,
            incident_id,
            lesson_id,
            expected_version,
            lesson,
            now,
        )
        .await
    }

    async fn search_lessons(
        &self,
        query: &LessonQuery,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<LessonHit>> {
        review::search_lessons(&self.pool, query, viewer).await
    }

    // --- corrective actions ---------------------------------------------------------------

    async fn add_corrective_action(
        &self,
        incident_id: i64,
        lesson_id: i64,
        action: &CorrectiveActionState,
        now: Timestamp,
    ) -> Result<CorrectiveAction> {
        review::add_corrective_action(&self.pool, incident_id, lesson_id, action, now).await
    }

    async fn get_corrective_action(&self, action_id: i64) -> Result<Option<CorrectiveAction>> {
        review::get_corrective_action(&self.pool, action_id).await
    }

    async fn update_corrective_action(
        &self,
        action_id: i64,
        expected_version: i64,
        action: &CorrectiveActionState,
        now: Timestamp,
    ) -> Result<CorrectiveAction> {
        review::update_corrective_action(&self.pool, action_id, expected_version, action, now).await
    }

    async fn list_corrective_actions(
        &self,
        query: &ActionQuery,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<CorrectiveAction>> {
        review::list_corrective_actions(&self.pool, query, viewer).await
    }

    // --- tabletop exercises ---------------------------------------------------------------

    async fn create_exercise(
        &self,
        fields: &IncidentFields,
        clocks: &[LegalClockFields],
        exercise: &NewExercise,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<(Incident, ExerciseRecord)> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let incident = insert_incident(&mut tx, fields, created_by, now, true).await?;
        for clock in clocks {
            insert_clock(&mut tx, incident.id, clock).await?;
        }
        let record = review::insert_exercise(&mut tx, incident.id, exercise, created_by).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((incident, record))
    }

    async fn get_exercise(&self, exercise_id: i64) -> Result<Option<ExerciseRecord>> {
        review::get_exercise(&self.pool, exercise_id).await
    }

    async fn list_exercises(&self, viewer: Option<&Viewer>) -> Result<Vec<ExerciseRecord>> {
        review::list_exercises(&self.pool, viewer).await
    }

    async fn release_injects(
        &self,
        exercise_id: i64,
        released: u32,
        entries: &[TimelineEntryFields],
        now: Timestamp,
    ) -> Result<Option<ExerciseRecord>> {
        review::release_injects(&self.pool, exercise_id, released, entries, now).await
    }

    async fn set_exercise_skip(
        &self,
        exercise_id: i64,
        expected_version: i64,
        skipped_minutes: i64,
    ) -> Result<ExerciseRecord> {
        review::set_exercise_skip(&self.pool, exercise_id, expected_version, skipped_minutes).await
    }

    async fn add_exercise_action(
        &self,
        exercise_id: i64,
        action: &str,
        entry: &TimelineEntryFields,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<ExerciseActionRecord> {
        review::add_exercise_action(&self.pool, exercise_id, action, entry, by, now).await
    }

    async fn list_exercise_actions(&self, exercise_id: i64) -> Result<Vec<ExerciseActionRecord>> {
        review::list_exercise_actions(&self.pool, exercise_id).await
    }

    async fn end_exercise(
        &self,
        exercise_id: i64,
        outcome: &str,
        now: Timestamp,
    ) -> Result<ExerciseRecord> {
        review::end_exercise(&self.pool, exercise_id, outcome, now).await
    }

    async fn add_playbook_version(&self, new: &NewPlaybookVersion) -> Result<StoredPlaybook> {
        playbooks::add_playbook_version(&self.pool, new).await
    }

    async fn list_playbook_versions(&self) -> Result<Vec<StoredPlaybook>> {
        playbooks::list_playbook_versions(&self.pool).await
    }

    async fn playbook_upload_seq(&self) -> Result<i64> {
        playbooks::playbook_upload_seq(&self.pool).await
    }

    // --- job queue, notifications, phone tree, configuration (see notify.rs) ----------------

    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<Job> {
        notify::enqueue_job(&self.pool, job, now).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Job>> {
        notify::claim_jobs(&self.pool, worker, now, lease, limit).await
    }

    async fn finish_job(
        &self,
        job_id: i64,
        worker: &str,
        effects: &JobEffects,
        now: Timestamp,
    ) -> Result<FinishedJob> {
        notify::finish_job(&self.pool, job_id, worker, effects, now).await
    }

    async fn retry_job(
        &self,
        job_id: i64,
        worker: &str,
        next_run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<Job> {
        notify::release(
            &self.pool,
            job_id,
            worker,
            JobState::Queued,
            Some(next_run_at),
            error,
            now,
        )
        .await
    }

    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        now: Timestamp,
    ) -> Result<Job> {
        notify::release(&self.pool, job_id, worker, JobState::Dead, None, error, now).await
    }

    async fn get_job(&self, job_id: i64) -> Result<Option<Job>> {
        notify::get_job(&self.pool, job_id).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        notify::list_jobs(&self.pool, filter).await
    }

    async fn list_notifications(&self, incident_id: i64) -> Result<Vec<Notification>> {
        notify::list_notifications(&self.pool, incident_id).await
    }

    async fn get_notification(&self, notification_id: i64) -> Result<Option<Notification>> {
        notify::get_notification(&self.pool, notification_id).await
    }

    async fn mark_notification_sent(
        &self,
        notification_id: i64,
        now: Timestamp,
    ) -> Result<Notification> {
        notify::mark_notification_sent(&self.pool, notification_id, now).await
    }

    async fn mark_notification_failed(
        &self,
        notification_id: i64,
        error: &str,
    ) -> Result<Notification> {
        notify::mark_notification_failed(&self.pool, notification_id, error).await
    }

    async fn acknowledge_notification(
        &self,
        notification_id: i64,
        by: Option<i64>,
        via: AckVia,
        entry: Option<&TimelineEntryFields>,
        now: Timestamp,
    ) -> Result<Acknowledged> {
        notify::acknowledge_notification(&self.pool, notification_id, by, via, entry, now).await
    }

    async fn incident_acknowledged_at(&self, incident_id: i64) -> Result<Option<Timestamp>> {
        notify::incident_acknowledged_at(&self.pool, incident_id).await
    }

    async fn phone_tree(&self, incident_id: i64) -> Result<Vec<PhoneTreeLine>> {
        notify::phone_tree(&self.pool, incident_id).await
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
            &self.pool,
            incident_id,
            notification_id,
            expected_version,
            call,
            entry,
        )
        .await
    }

    async fn create_rule(&self, rule: &NotificationRule, now: Timestamp) -> Result<StoredRule> {
        notify::create_rule(&self.pool, rule, now).await
    }

    async fn get_rule(&self, rule_id: i64) -> Result<Option<StoredRule>> {
        notify::get_rule(&self.pool, rule_id).await
    }

    async fn list_rules(&self) -> Result<Vec<StoredRule>> {
        notify::list_rules(&self.pool).await
    }

    async fn update_rule(
        &self,
        rule_id: i64,
        expected_version: i64,
        rule: &NotificationRule,
        now: Timestamp,
    ) -> Result<StoredRule> {
        notify::update_rule(&self.pool, rule_id, expected_version, rule, now).await
    }

    async fn delete_rule(&self, rule_id: i64, expected_version: i64) -> Result<()> {
        notify::delete_versioned(
            &self.pool,
            "notification_rules",
            "notification rule",
            rule_id,
            expected_version,
        )
        .await
    }

    async fn escalation_chain(&self) -> Result<Option<StoredChain>> {
        notify::escalation_chain(&self.pool).await
    }

    async fn save_escalation_chain(
        &self,
        expected_version: i64,
        chain: &EscalationChain,
        by: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredChain> {
        notify::save_escalation_chain(&self.pool, expected_version, chain, by, now).await
    }

    async fn get_template(&self, kind: TemplateKind, language: Language) -> Result<StoredTemplate> {
        notify::get_template(&self.pool, kind, language).await
    }

    async fn list_templates(&self) -> Result<Vec<StoredTemplate>> {
        notify::list_templates(&self.pool).await
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
            &self.pool,
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
        notify::reset_template(&self.pool, kind, language).await
    }

    async fn create_rotation(&self, spec: &RotationSpec, now: Timestamp) -> Result<StoredRotation> {
        notify::create_rotation(&self.pool, spec, now).await
    }

    async fn get_rotation(&self, rotation_id: i64) -> Result<Option<StoredRotation>> {
        notify::get_rotation(&self.pool, rotation_id).await
    }

    async fn list_rotations(&self) -> Result<Vec<StoredRotation>> {
        notify::list_rotations(&self.pool).await
    }

    async fn update_rotation(
        &self,
        rotation_id: i64,
        expected_version: i64,
        spec: &RotationSpec,
        now: Timestamp,
    ) -> Result<StoredRotation> {
        notify::update_rotation(&self.pool, rotation_id, expected_version, spec, now).await
    }

    async fn delete_rotation(&self, rotation_id: i64, expected_version: i64) -> Result<()> {
        notify::delete_versioned(
            &self.pool,
            "oncall_rotations",
            "on-call rotation",
            rotation_id,
            expected_version,
        )
        .await
    }

    async fn add_rotation_override(
        &self,
        rotation_id: i64,
        cover: &Override,
        now: Timestamp,
    ) -> Result<StoredRotation> {
        notify::add_rotation_override(&self.pool, rotation_id, cover, now).await
    }

    async fn create_webhook_target(
        &self,
        fields: &WebhookTargetFields,
        now: Timestamp,
    ) -> Result<WebhookTarget> {
        notify::create_webhook_target(&self.pool, fields, now).await
    }

    async fn list_webhook_targets(&self) -> Result<Vec<WebhookTarget>> {
        notify::list_webhook_targets(&self.pool).await
    }

    async fn get_webhook_target(&self, target_id: i64) -> Result<Option<WebhookTarget>> {
        notify::get_webhook_target(&self.pool, target_id).await
    }

    async fn webhook_secret(&self, target_id: i64) -> Result<Option<String>> {
        notify::webhook_secret(&self.pool, target_id).await
    }

    async fn update_webhook_target(
        &self,
        target_id: i64,
        expected_version: i64,
        fields: &WebhookTargetFields,
        now: Timestamp,
    ) -> Result<WebhookTarget> {
        notify::update_webhook_target(&self.pool, target_id, expected_version, fields, now).await
    }

    async fn delete_webhook_target(&self, target_id: i64) -> Result<bool> {
        notify::delete_webhook_target(&self.pool, target_id).await
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards_and_backslash() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(contains_pattern("ランサム"), "%ランサム%");
    }

    #[test]
    fn limit_is_clamped() {
        assert_eq!(effective_limit(0), IncidentFilter::DEFAULT_LIMIT);
        assert_eq!(effective_limit(7), 7);
        assert_eq!(effective_limit(100_000), IncidentFilter::MAX_LIMIT);
    }

    #[test]
    fn test_database_url_keeps_server_user_and_options() {
        assert_eq!(
            with_database(
                "postgres://u:p%2F@127.0.0.1:5432/admin?sslmode=disable",
                "kizuki_t_1"
            )
            .unwrap(),
            "postgres://u:p%2F@127.0.0.1:5432/kizuki_t_1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h", "kizuki_t_2").unwrap(),
            "postgresql://h/kizuki_t_2"
        );
        assert_eq!(
            database_of("postgres://h:1/kizuki_t_3?x=y").unwrap(),
            "kizuki_t_3"
        );
        assert!(check_test_db_name("kizuki_t_abc123").is_ok());
        assert!(check_test_db_name("postgres").is_err());
        assert!(check_test_db_name("kizuki_t_x; DROP").is_err());
    }

    #[test]
    fn only_postgres_urls_are_accepted() {
        assert!(connect_options("sqlite://x.db").is_err());
        assert!(connect_options("mysql://h/db").is_err());
        assert!(connect_options("postgres://u@h/db").is_ok());
        assert!(connect_options("POSTGRESQL://u@h/db").is_ok());
    }

    /// The CHECK constraints of the schema list exactly the domain's vocabularies.
    #[test]
    fn check_constraints_match_the_domain_enums() {
        use kizuki_domain::evidence::CustodyAction;
        use kizuki_domain::exercise::ExerciseState;
        use kizuki_domain::incident::{Category, DetectionSource, StartBasis};
        use kizuki_domain::legal_clock::ClockKind;
        use kizuki_domain::notification::{
            AckVia, CallOutcome, JobKind, JobState, NotificationState,
        };
        use kizuki_domain::party::PartyKind;
        use kizuki_domain::review::{ActionStatus, LessonCategory};
        use kizuki_domain::settings::Language;
        use kizuki_domain::timeline::{DayPart, EntryKind, EntrySource, Lane, TimePrecision};
        use kizuki_domain::user::{Role, SessionStage, TokenAccess};

        let sql = [
            include_str!("../migrations/0001_initial.sql"),
            include_str!("../migrations/0003_security.sql"),
            include_str!("../migrations/0004_review_and_exercises.sql"),
            include_str!("../migrations/0005_language_and_lane_owners.sql"),
            include_str!("../migrations/0007_notifications.sql"),
        ]
        .concat();
        // Either `col IN ('a', 'b')` or, for a JSONB array of values, `col <@ '["a", "b"]'`.
        let listed = |constraint: &str| -> Vec<String> {
            let start = sql
                .find(&format!("CONSTRAINT {constraint} CHECK"))
                .unwrap_or_else(|| panic!("no constraint {constraint}"));
            // Up to the next constraint, so that a list is never read from a neighbour.
            let rest = &sql[start + 1..];
            let rest = &sql[start..start + 1 + rest.find("CONSTRAINT").unwrap_or(rest.len())];
            let (open, close) = match (rest.find(" IN ("), rest.find(" <@ '[")) {
                (Some(i), _) => (i + 5, ')'),
                (None, Some(i)) => (i + 6, ']'),
                (None, None) => panic!("{constraint} lists no values"),
            };
            let close = open + rest[open..].find(close).unwrap();
            let mut v: Vec<String> = rest[open..close]
                .split(',')
                .map(|s| s.trim().trim_matches(['\'', '"']).to_owned())
                .collect();
            v.sort();
            v
        };
        fn names<E: Copy>(all: &[E], f: fn(E) -> &'static str) -> Vec<String> {
            let mut v: Vec<String> = all.iter().map(|e| f(*e).to_owned()).collect();
            v.sort();
            v
        }
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("users_role_check", names(Role::ALL, Role::as_str)),
            (
                "incidents_category_check",
                names(Category::ALL, Category::as_str),
            ),
            ("incidents_phase_check", names(Phase::ALL, Phase::as_str)),
            (
                "incidents_detection_source_check",
                names(DetectionSource::ALL, DetectionSource::as_str),
            ),
            (
                "incidents_start_basis_check",
                names(StartBasis::ALL, StartBasis::as_str),
            ),
            (
                "timeline_entries_precision_check",
                names(TimePrecision::ALL, TimePrecision::as_str),
            ),
            (
                "timeline_entries_day_part_check",
                names(DayPart::ALL, DayPart::as_str),
            ),
            (
                "timeline_entries_lane_check",
                names(Lane::ALL, Lane::as_str),
            ),
            (
                "timeline_entries_kind_check",
                names(EntryKind::ALL, EntryKind::as_str),
            ),
            (
                "timeline_entries_source_check",
                names(EntrySource::ALL, EntrySource::as_str),
            ),
            ("tasks_lane_check", names(Lane::ALL, Lane::as_str)),
            (
                "incident_lane_owners_lane_check",
                names(Lane::ALL, Lane::as_str),
            ),
            (
                "users_language_check",
                names(Language::ALL, Language::as_str),
            ),
            (
                "tasks_status_check",
                names(TaskStatus::ALL, TaskStatus::as_str),
            ),
            (
                "parties_kind_check",
                names(PartyKind::ALL, PartyKind::as_str),
            ),
            (
                "custody_events_action_check",
                names(CustodyAction::ALL, CustodyAction::as_str),
            ),
            (
                "observables_kind_check",
                names(ObservableKind::ALL, ObservableKind::as_str),
            ),
            (
                "legal_clocks_kind_check",
                names(ClockKind::ALL, ClockKind::as_str),
            ),
            (
                "sessions_stage_check",
                names(SessionStage::ALL, SessionStage::as_str),
            ),
            (
                "api_tokens_scope_access_check",
                names(TokenAccess::ALL, TokenAccess::as_str),
            ),
            (
                "lessons_categories_check",
                names(LessonCategory::ALL, LessonCategory::as_str),
            ),
            (
                "corrective_actions_status_check",
                names(ActionStatus::ALL, ActionStatus::as_str),
            ),
            (
                "exercises_state_check",
                names(ExerciseState::ALL, ExerciseState::as_str),
            ),
            ("jobs_kind_check", names(JobKind::ALL, JobKind::as_str)),
            ("jobs_state_check", names(JobState::ALL, JobState::as_str)),
            (
                "notifications_state_check",
                names(NotificationState::ALL, NotificationState::as_str),
            ),
            (
                "notifications_ack_via_check",
                names(AckVia::ALL, AckVia::as_str),
            ),
            (
                "notifications_language_check",
                names(Language::ALL, Language::as_str),
            ),
            (
                "notifications_template_check",
                names(TemplateKind::ALL, TemplateKind::as_str),
            ),
            (
                "message_templates_kind_check",
                names(TemplateKind::ALL, TemplateKind::as_str),
            ),
            (
                "message_templates_language_check",
                names(Language::ALL, Language::as_str),
            ),
            (
                "phone_calls_outcome_check",
                names(CallOutcome::ALL, CallOutcome::as_str),
            ),
            (
                "webhook_targets_format_check",
                names(
                    kizuki_store::notify::FORMATS,
                    kizuki_store::notify::format_name,
                ),
            ),
            (
                "notifications_channel_check",
                names(
                    &[
                        kizuki_notify::rule::Channel::Email,
                        kizuki_notify::rule::Channel::Webhook { webhook_id: 1 },
                        kizuki_notify::rule::Channel::PhoneTree,
                    ],
                    |c| kizuki_store::notify::channel_parts(c).0,
                ),
            ),
        ];
        for (constraint, want) in cases {
            assert_eq!(listed(constraint), want, "{constraint}");
        }
    }
}
