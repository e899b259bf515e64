//! Notifications (migration 0008): the job queue, notifications, the phone tree, and the
//! configuration behind them. The trait methods in `lib.rs` forward here.
//!
//! SQLite has one writer (one connection, `BEGIN IMMEDIATE`), so a claim is one
//! `UPDATE … RETURNING` that nothing can interleave with, and a job's completion checks the
//! lease and writes the job's effects in one write transaction: a stale worker's finish is
//! refused before anything is written, and a crash before the commit leaves nothing.

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::notification::{AckVia, JobKind, JobState, NotificationState};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::TimelineEntryFields;
use kizuki_notify::escalation::EscalationChain;
use kizuki_notify::oncall::{Override, RotationSpec};
use kizuki_notify::rule::NotificationRule;
use kizuki_notify::template::TemplateKind;
use kizuki_store::notify::{
    channel_from_parts, channel_parts, format_name, parse_format, template_kind_from_str,
};
use kizuki_store::{
    Acknowledged, FinishedJob, Job, JobEffects, JobFilter, NewJob, NewNotification, NewPhoneCall,
    Notification, PhoneCall, PhoneTreeLine, Result, SendPayload, StoreError, StoredChain,
    StoredRotation, StoredRule, StoredTemplate, WebhookTarget, WebhookTargetFields,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite};

use crate::rows::{all, corrupt, int, json, micros, opt_micros, opt_ts, parse_enum, to_json, ts};
use crate::{SqliteStore, db, ensure_incident, insert_entry, not_found};

// --- rows -------------------------------------------------------------------------------------

const JOB_COLS: &str = "id, kind, payload, incident_id, run_at, state, attempts, lease_owner, \
     lease_until, last_error, dedupe_key, created_at, finished_at";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    payload: String,
    incident_id: Option<i64>,
    run_at: i64,
    state: String,
    attempts: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    last_error: Option<String>,
    dedupe_key: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl JobRow {
    fn into_domain(self) -> Result<Job> {
        const T: &str = "jobs";
        Ok(Job {
            id: self.id,
            kind: parse_enum(T, "kind", &self.kind)?,
            payload: json(T, "payload", &self.payload)?,
            incident_id: self.incident_id,
            run_at: ts(T, "run_at", self.run_at)?,
            state: parse_enum(T, "state", &self.state)?,
            attempts: int(T, "attempts", self.attempts)?,
            lease_owner: self.lease_owner,
            lease_until: opt_ts(T, "lease_until", self.lease_until)?,
            last_error: self.last_error,
            dedupe_key: self.dedupe_key,
            created_at: ts(T, "created_at", self.created_at)?,
            finished_at: opt_ts(T, "finished_at", self.finished_at)?,
        })
    }
}

const NOTIFICATION_COLS: &str = "id, incident_id, rule_ids, escalation_step, user_id, party_id, \
     address, channel, webhook_id, language, template, state, attempts, last_error, created_at, \
     sent_at, acknowledged_at, acknowledged_by, ack_via, calls_version, clock_id";

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    incident_id: i64,
    rule_ids: String,
    escalation_step: Option<i64>,
    user_id: Option<i64>,
    party_id: Option<i64>,
    address: String,
    channel: String,
    webhook_id: Option<i64>,
    language: String,
    template: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<i64>,
    ack_via: Option<String>,
    calls_version: i64,
    clock_id: Option<i64>,
}

impl NotificationRow {
    fn into_domain(self) -> Result<Notification> {
        const T: &str = "notifications";
        Ok(Notification {
            id: self.id,
            incident_id: self.incident_id,
            rule_ids: json(T, "rule_ids", &self.rule_ids)?,
            escalation_step: self
                .escalation_step
                .map(|s| int(T, "escalation_step", s))
                .transpose()?,
            clock_id: self.clock_id,
            user_id: self.user_id,
            party_id: self.party_id,
            address: self.address,
            channel: channel_from_parts(&self.channel, self.webhook_id)
                .ok_or_else(|| corrupt(T, "channel", "unknown channel or webhook id"))?,
            language: parse_enum(T, "language", &self.language)?,
            template: template_kind_from_str(&self.template)
                .ok_or_else(|| corrupt(T, "template", "unknown template kind"))?,
            state: parse_enum::<NotificationState>(T, "state", &self.state)?,
            attempts: int(T, "attempts", self.attempts)?,
            last_error: self.last_error,
            created_at: ts(T, "created_at", self.created_at)?,
            sent_at: opt_ts(T, "sent_at", self.sent_at)?,
            acknowledged_at: opt_ts(T, "acknowledged_at", self.acknowledged_at)?,
            acknowledged_by: self.acknowledged_by,
            ack_via: self
                .ack_via
                .as_deref()
                .map(|v| parse_enum::<AckVia>(T, "ack_via", v))
                .transpose()?,
        })
    }
}

const CALL_COLS: &str = "id, notification_id, outcome, note, called_by, called_at";

#[derive(sqlx::FromRow)]
struct CallRow {
    id: i64,
    notification_id: i64,
    outcome: String,
    note: String,
    called_by: Option<i64>,
    called_at: i64,
}

impl CallRow {
    fn into_domain(self) -> Result<PhoneCall> {
        const T: &str = "phone_calls";
        Ok(PhoneCall {
            id: self.id,
            notification_id: self.notification_id,
            outcome: parse_enum(T, "outcome", &self.outcome)?,
            note: self.note,
            called_by: self.called_by,
            called_at: ts(T, "called_at", self.called_at)?,
        })
    }
}

const RULE_COLS: &str = "id, name, enabled, min_severity, categories, on_reports, recipients, \
     channels, template_id, version, updated_at";

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    enabled: bool,
    min_severity: i64,
    categories: String,
    on_reports: bool,
    recipients: String,
    channels: String,
    template_id: String,
    version: i64,
    updated_at: i64,
}

impl RuleRow {
    fn into_domain(self) -> Result<StoredRule> {
        const T: &str = "notification_rules";
        Ok(StoredRule {
            rule: NotificationRule {
                id: self.id,
                name: self.name,
                enabled: self.enabled,
                min_severity: int(T, "min_severity", self.min_severity)?,
                categories: json(T, "categories", &self.categories)?,
                on_reports: self.on_reports,
                recipients: json(T, "recipients", &self.recipients)?,
                channels: json(T, "channels", &self.channels)?,
                template_id: self.template_id,
            },
            version: self.version,
            updated_at: ts(T, "updated_at", self.updated_at)?,
        })
    }
}

const ROTATION_COLS: &str = "id, spec, version, updated_at";

#[derive(sqlx::FromRow)]
struct RotationRow {
    id: i64,
    spec: String,
    version: i64,
    updated_at: i64,
}

impl RotationRow {
    fn into_domain(self) -> Result<StoredRotation> {
        const T: &str = "oncall_rotations";
        Ok(StoredRotation {
            id: self.id,
            spec: json(T, "spec", &self.spec)?,
            version: self.version,
            updated_at: ts(T, "updated_at", self.updated_at)?,
        })
    }
}

const WEBHOOK_COLS: &str =
    "id, name, format, url, secret IS NOT NULL AS has_secret, enabled, version, updated_at";

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    name: String,
    format: String,
    url: String,
    has_secret: bool,
    enabled: bool,
    version: i64,
    updated_at: i64,
}

impl WebhookRow {
    fn into_domain(self) -> Result<WebhookTarget> {
        const T: &str = "webhook_targets";
        Ok(WebhookTarget {
            id: self.id,
            name: self.name,
            format: parse_format(&self.format)
                .ok_or_else(|| corrupt(T, "format", "unknown webhook format"))?,
            url: self.url,
            has_secret: self.has_secret,
            enabled: self.enabled,
            version: self.version,
            updated_at: ts(T, "updated_at", self.updated_at)?,
        })
    }
}

fn sql(s: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(s)
}

/// After a versioned write found no row: `NotFound` if the row is gone, else `Stale`.
async fn stale_or_missing(
    conn: &mut SqliteConnection,
    table: &'static str,
    entity: &'static str,
    id: i64,
    expected: i64,
) -> StoreError {
    let current: Result<Option<i64>> =
        sqlx::query_scalar(sql(format!("SELECT version FROM {table} WHERE id = ?")))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(db);
    match current {
        Ok(Some(current)) => StoreError::Stale {
            entity,
            id,
            expected,
            current,
        },
        Ok(None) => not_found(entity, id),
        Err(e) => e,
    }
}

// --- jobs -------------------------------------------------------------------------------------

async fn insert_job(conn: &mut SqliteConnection, job: &NewJob, now: Timestamp) -> Result<Job> {
    if let Some(incident_id) = job.incident_id {
        ensure_incident(&mut *conn, incident_id).await?;
    }
    let payload = to_json("payload", &job.payload)?;
    let row: Option<JobRow> = sqlx::query_as(sql(format!(
        "INSERT INTO jobs (kind, payload, incident_id, run_at, state, dedupe_key, created_at) \
         VALUES (?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (dedupe_key) DO NOTHING \
         RETURNING {JOB_COLS}"
    )))
    .bind(job.kind.as_str())
    .bind(payload)
    .bind(job.incident_id)
    .bind(micros(job.run_at))
    .bind(job.dedupe_key.as_deref())
    .bind(micros(now))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let row = match row {
        Some(row) => row,
        // Only a dedupe key can conflict: the job is already there.
        None => sqlx::query_as(sql(format!(
            "SELECT {JOB_COLS} FROM jobs WHERE dedupe_key = ?"
        )))
        .bind(job.dedupe_key.as_deref())
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?,
    };
    row.into_domain()
}

pub(crate) async fn enqueue_job(s: &SqliteStore, job: &NewJob, now: Timestamp) -> Result<Job> {
    let mut tx = s.begin().await?;
    let job = insert_job(&mut tx, job, now).await?;
    tx.commit().await.map_err(db)?;
    Ok(job)
}

fn lease_end(now: Timestamp, lease: SignedDuration) -> Timestamp {
    now.checked_add(lease).unwrap_or(Timestamp::MAX)
}

pub(crate) async fn claim_jobs(
    s: &SqliteStore,
    worker: &str,
    now: Timestamp,
    lease: SignedDuration,
    limit: u32,
) -> Result<Vec<Job>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // One statement in a write transaction (`BEGIN IMMEDIATE` on the single writer
    // connection): nothing, not even another process on the same file, claims in between.
    let mut tx = s.begin().await?;
    let rows: Vec<JobRow> = sqlx::query_as(sql(format!(
        "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_until = ?2, \
         attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running') \
           AND ((state = 'queued' AND run_at <= ?3) OR (state = 'running' AND lease_until <= ?3)) \
           ORDER BY run_at, id LIMIT ?4) \
         RETURNING {JOB_COLS}"
    )))
    .bind(worker)
    .bind(micros(lease_end(now, lease)))
    .bind(micros(now))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let mut jobs = all(rows, JobRow::into_domain)?;
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// After a lease-checked write found no row: the job is unknown or not the worker's.
async fn lease_lost(conn: &mut SqliteConnection, job_id: i64, worker: &str) -> StoreError {
    let found: Result<Option<i64>> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = ?")
        .bind(job_id)
        .fetch_optional(conn)
        .await
        .map_err(db);
    match found {
        Ok(Some(_)) => StoreError::LeaseLost {
            job_id,
            worker: worker.to_owned(),
        },
        Ok(None) => not_found("job", job_id),
        Err(e) => e,
    }
}

/// The condition under which `worker` still holds a job (binds: id, worker, now).
const HELD: &str = "id = ? AND state = 'running' AND lease_owner = ? AND lease_until > ?";

pub(crate) async fn finish_job(
    s: &SqliteStore,
    job_id: i64,
    worker: &str,
    effects: &JobEffects,
    now: Timestamp,
) -> Result<FinishedJob> {
    let mut tx = s.begin().await?;
    let row: Option<JobRow> = sqlx::query_as(sql(format!(
        "UPDATE jobs SET state = 'done', finished_at = ? WHERE {HELD} RETURNING {JOB_COLS}"
    )))
    .bind(micros(now))
    .bind(job_id)
    .bind(worker)
    .bind(micros(now))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(lease_lost(&mut tx, job_id, worker).await);
    };
    let job = row.into_domain()?;

    let mut notifications = Vec::with_capacity(effects.notifications.len());
    let mut send_jobs = Vec::new();
    for n in &effects.notifications {
        let stored = insert_notification(&mut tx, n, now).await?;
        if let Some(send_at) = n.send_at {
            send_jobs.push(send_job(&stored, send_at)?);
        }
        notifications.push(stored);
    }
    for id in &effects.sent {
        mark_sent(&mut tx, *id, now).await?;
    }
    for f in &effects.failed {
        mark_failed(&mut tx, f.notification_id, &f.error).await?;
    }
    let mut timeline = Vec::with_capacity(effects.timeline.len());
    for e in &effects.timeline {
        ensure_incident(&mut tx, e.incident_id).await?;
        timeline.push(insert_entry(&mut tx, e.incident_id, &e.entry, None, now).await?);
    }
    let mut jobs = Vec::with_capacity(effects.jobs.len() + send_jobs.len());
    for j in effects.jobs.iter().chain(&send_jobs) {
        jobs.push(insert_job(&mut tx, j, now).await?);
    }
    tx.commit().await.map_err(db)?;
    Ok(FinishedJob {
        job,
        notifications,
        jobs,
        timeline,
    })
}

/// The one `send_notification` job of a new notification.
pub(crate) fn send_job(n: &Notification, send_at: Timestamp) -> Result<NewJob> {
    let payload = serde_json::to_value(SendPayload {
        notification_id: n.id,
    })
    .map_err(|e| StoreError::Database(format!("cannot encode a job payload: {e}")))?;
    Ok(NewJob {
        kind: JobKind::SendNotification,
        payload,
        run_at: send_at,
        incident_id: Some(n.incident_id),
        dedupe_key: Some(SendPayload::dedupe_key(n.id)),
    })
}

pub(crate) async fn retry_job(
    s: &SqliteStore,
    job_id: i64,
    worker: &str,
    next_run_at: Timestamp,
    error: &str,
    now: Timestamp,
) -> Result<Job> {
    release(
        s,
        job_id,
        worker,
        JobState::Queued,
        Some(next_run_at),
        error,
        now,
    )
    .await
}

pub(crate) async fn fail_job(
    s: &SqliteStore,
    job_id: i64,
    worker: &str,
    error: &str,
    now: Timestamp,
) -> Result<Job> {
    release(s, job_id, worker, JobState::Dead, None, error, now).await
}

/// Hands a held job back: to the queue (with a new `run_at`) or to the dead letters.
async fn release(
    s: &SqliteStore,
    job_id: i64,
    worker: &str,
    state: JobState,
    run_at: Option<Timestamp>,
    error: &str,
    now: Timestamp,
) -> Result<Job> {
    let mut tx = s.begin().await?;
    let finished_at = (state == JobState::Dead).then_some(micros(now));
    let row: Option<JobRow> = sqlx::query_as(sql(format!(
        "UPDATE jobs SET state = ?, run_at = COALESCE(?, run_at), last_error = ?, \
         finished_at = ? WHERE {HELD} RETURNING {JOB_COLS}"
    )))
    .bind(state.as_str())
    .bind(opt_micros(run_at))
    .bind(error)
    .bind(finished_at)
    .bind(job_id)
    .bind(worker)
    .bind(micros(now))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(lease_lost(&mut tx, job_id, worker).await);
    };
    tx.commit().await.map_err(db)?;
    row.into_domain()
}

pub(crate) async fn get_job(s: &SqliteStore, job_id: i64) -> Result<Option<Job>> {
    sqlx::query_as::<_, JobRow>(sql(format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?")))
        .bind(job_id)
        .fetch_optional(&s.read)
        .await
        .map_err(db)?
        .map(JobRow::into_domain)
        .transpose()
}

pub(crate) async fn list_jobs(s: &SqliteStore, filter: &JobFilter) -> Result<Vec<Job>> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {JOB_COLS} FROM jobs WHERE 1 = 1"));
    if let Some(state) = filter.state {
        qb.push(" AND state = ").push_bind(state.as_str());
    }
    if let Some(kind) = filter.kind {
        qb.push(" AND kind = ").push_bind(kind.as_str());
    }
    if let Some(incident_id) = filter.incident_id {
        qb.push(" AND incident_id = ").push_bind(incident_id);
    }
    qb.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(filter.effective_limit()));
    let rows: Vec<JobRow> = qb.build_query_as().fetch_all(&s.read).await.map_err(db)?;
    all(rows, JobRow::into_domain)
}

// --- notifications ----------------------------------------------------------------------------

async fn insert_notification(
    conn: &mut SqliteConnection,
    n: &NewNotification,
    now: Timestamp,
) -> Result<Notification> {
    ensure_incident(&mut *conn, n.incident_id).await?;
    let (channel, webhook_id) = channel_parts(n.channel);
    sqlx::query_as::<_, NotificationRow>(sql(format!(
        "INSERT INTO notifications (incident_id, rule_ids, escalation_step, user_id, party_id, \
         address, channel, webhook_id, language, template, state, created_at, clock_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(n.incident_id)
    .bind(to_json("rule_ids", &n.rule_ids)?)
    .bind(n.escalation_step.map(i64::from))
    .bind(n.user_id)
    .bind(n.party_id)
    .bind(&n.address)
    .bind(channel)
    .bind(webhook_id)
    .bind(n.language.as_str())
    .bind(n.template.as_str())
    .bind(micros(now))
    .bind(n.clock_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?
    .into_domain()
}

async fn mark_sent(
    conn: &mut SqliteConnection,
    notification_id: i64,
    now: Timestamp,
) -> Result<Notification> {
    sqlx::query_as::<_, NotificationRow>(sql(format!(
        "UPDATE notifications SET \
           state = CASE state WHEN 'acknowledged' THEN state ELSE 'sent' END, \
           sent_at = COALESCE(sent_at, ?), attempts = attempts + 1 \
         WHERE id = ? RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(micros(now))
    .bind(notification_id)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .ok_or_else(|| not_found("notification", notification_id))?
    .into_domain()
}

async fn mark_failed(
    conn: &mut SqliteConnection,
    notification_id: i64,
    error: &str,
) -> Result<Notification> {
    sqlx::query_as::<_, NotificationRow>(sql(format!(
        "UPDATE notifications SET \
           state = CASE state WHEN 'acknowledged' THEN state ELSE 'failed' END, \
           last_error = ?, attempts = attempts + 1 \
         WHERE id = ? RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(error)
    .bind(notification_id)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .ok_or_else(|| not_found("notification", notification_id))?
    .into_domain()
}

pub(crate) async fn list_notifications(
    s: &SqliteStore,
    incident_id: i64,
) -> Result<Vec<Notification>> {
    let rows: Vec<NotificationRow> = sqlx::query_as(sql(format!(
        "SELECT {NOTIFICATION_COLS} FROM notifications WHERE incident_id = ? ORDER BY id"
    )))
    .bind(incident_id)
    .fetch_all(&s.read)
    .await
    .map_err(db)?;
    all(rows, NotificationRow::into_domain)
}

pub(crate) async fn get_notification(
    s: &SqliteStore,
    notification_id: i64,
) -> Result<Option<Notification>> {
    sqlx::query_as::<_, NotificationRow>(sql(format!(
        "SELECT {NOTIFICATION_COLS} FROM notifications WHERE id = ?"
    )))
    .bind(notification_id)
    .fetch_optional(&s.read)
    .await
    .map_err(db)?
    .map(NotificationRow::into_domain)
    .transpose()
}

pub(crate) async fn mark_notification_sent(
    s: &SqliteStore,
    notification_id: i64,
    now: Timestamp,
) -> Result<Notification> {
    let mut tx = s.begin().await?;
    let n = mark_sent(&mut tx, notification_id, now).await?;
    tx.commit().await.map_err(db)?;
    Ok(n)
}

pub(crate) async fn mark_notification_failed(
    s: &SqliteStore,
    notification_id: i64,
    error: &str,
) -> Result<Notification> {
    let mut tx = s.begin().await?;
    let n = mark_failed(&mut tx, notification_id, error).await?;
    tx.commit().await.map_err(db)?;
    Ok(n)
}

pub(crate) async fn acknowledge_notification(
    s: &SqliteStore,
    notification_id: i64,
    by: Option<i64>,
    via: AckVia,
    entry: Option<&TimelineEntryFields>,
    now: Timestamp,
) -> Result<Acknowledged> {
    let mut tx = s.begin().await?;
    if let Some(user) = by {
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?")
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if known.is_none() {
            return Err(not_found("user", user));
        }
    }
    // The first acknowledgement is the one that finds it unacknowledged.
    let row: Option<NotificationRow> = sqlx::query_as(sql(format!(
        "UPDATE notifications SET state = 'acknowledged', acknowledged_at = ?, \
         acknowledged_by = ?, ack_via = ? WHERE id = ? AND acknowledged_at IS NULL \
         RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(micros(now))
    .bind(by)
    .bind(via.as_str())
    .bind(notification_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        let existing: Option<NotificationRow> = sqlx::query_as(sql(format!(
            "SELECT {NOTIFICATION_COLS} FROM notifications WHERE id = ?"
        )))
        .bind(notification_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        return match existing {
            Some(row) => Ok(Acknowledged {
                notification: row.into_domain()?,
                first: false,
                entry: None,
            }),
            None => Err(not_found("notification", notification_id)),
        };
    };
    let notification = row.into_domain()?;
    let entry = match entry {
        Some(e) => Some(insert_entry(&mut tx, notification.incident_id, e, by, now).await?),
        None => None,
    };
    tx.commit().await.map_err(db)?;
    Ok(Acknowledged {
        notification,
        first: true,
        entry,
    })
}

pub(crate) async fn incident_acknowledged_at(
    s: &SqliteStore,
    incident_id: i64,
) -> Result<Option<Timestamp>> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT min(acknowledged_at) FROM notifications WHERE incident_id = ?")
            .bind(incident_id)
            .fetch_one(&s.read)
            .await
            .map_err(db)?;
    opt_ts("notifications", "acknowledged_at", at)
}

// --- phone tree -------------------------------------------------------------------------------

/// The phone-tree lines of an incident (all, or the one `notification_id`), read in the
/// caller's transaction so calls and versions agree.
async fn lines(
    conn: &mut SqliteConnection,
    incident_id: i64,
    notification_id: Option<i64>,
) -> Result<Vec<PhoneTreeLine>> {
    let rows: Vec<NotificationRow> = sqlx::query_as(sql(format!(
        "SELECT {NOTIFICATION_COLS} FROM notifications WHERE incident_id = ?1 \
         AND channel = 'phone_tree' AND (?2 IS NULL OR id = ?2) ORDER BY id"
    )))
    .bind(incident_id)
    .bind(notification_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let calls: Vec<CallRow> = sqlx::query_as(sql(format!(
        "SELECT {} FROM phone_calls c JOIN notifications n ON n.id = c.notification_id \
         WHERE n.incident_id = ?1 AND n.channel = 'phone_tree' AND (?2 IS NULL OR n.id = ?2) \
         ORDER BY c.id",
        CALL_COLS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(incident_id)
    .bind(notification_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut calls = all(calls, CallRow::into_domain)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let version = row.calls_version;
        let notification = row.into_domain()?;
        let (mine, rest): (Vec<PhoneCall>, Vec<PhoneCall>) = calls
            .into_iter()
            .partition(|c| c.notification_id == notification.id);
        calls = rest;
        out.push(PhoneTreeLine {
            notification,
            calls: mine,
            version,
        });
    }
    Ok(out)
}

pub(crate) async fn phone_tree(s: &SqliteStore, incident_id: i64) -> Result<Vec<PhoneTreeLine>> {
    let mut conn = s.read.acquire().await.map_err(db)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db)?;
    let out = lines(&mut tx, incident_id, None).await?;
    tx.commit().await.map_err(db)?;
    Ok(out)
}

pub(crate) async fn record_call(
    s: &SqliteStore,
    incident_id: i64,
    notification_id: i64,
    expected_version: i64,
    call: &NewPhoneCall,
    entry: Option<&TimelineEntryFields>,
) -> Result<PhoneTreeLine> {
    let mut tx = s.begin().await?;
    let moved: Option<i64> = sqlx::query_scalar(
        "UPDATE notifications SET calls_version = calls_version + 1 \
         WHERE id = ? AND incident_id = ? AND channel = 'phone_tree' AND calls_version = ? \
         RETURNING calls_version",
    )
    .bind(notification_id)
    .bind(incident_id)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    if moved.is_none() {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT calls_version FROM notifications \
             WHERE id = ? AND incident_id = ? AND channel = 'phone_tree'",
        )
        .bind(notification_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        return Err(match current {
            Some(current) => StoreError::Stale {
                entity: "phone tree line",
                id: notification_id,
                expected: expected_version,
                current,
            },
            None => crate::missing(&mut tx, incident_id, "phone tree line", notification_id).await,
        });
    }
    sqlx::query(
        "INSERT INTO phone_calls (notification_id, outcome, note, called_by, called_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(notification_id)
    .bind(call.outcome.as_str())
    .bind(&call.note)
    .bind(call.called_by)
    .bind(micros(call.called_at))
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            not_found("user", call.called_by.unwrap_or_default())
        }
        _ => db(e),
    })?;
    if let Some(e) = entry {
        insert_entry(&mut tx, incident_id, e, call.called_by, call.called_at).await?;
    }
    let line = lines(&mut tx, incident_id, Some(notification_id))
        .await?
        .pop()
        .ok_or_else(|| not_found("phone tree line", notification_id))?;
    tx.commit().await.map_err(db)?;
    Ok(line)
}

// --- rules ------------------------------------------------------------------------------------

struct RuleValues {
    categories: String,
    recipients: String,
    channels: String,
}

fn rule_values(rule: &NotificationRule) -> Result<RuleValues> {
    Ok(RuleValues {
        categories: to_json("categories", &rule.categories)?,
        recipients: to_json("recipients", &rule.recipients)?,
        channels: to_json("channels", &rule.channels)?,
    })
}

pub(crate) async fn create_rule(
    s: &SqliteStore,
    rule: &NotificationRule,
    now: Timestamp,
) -> Result<StoredRule> {
    let v = rule_values(rule)?;
    sqlx::query_as::<_, RuleRow>(sql(format!(
        "INSERT INTO notification_rules (name, enabled, min_severity, categories, on_reports, \
         recipients, channels, template_id, version, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING {RULE_COLS}"
    )))
    .bind(&rule.name)
    .bind(rule.enabled)
    .bind(i64::from(rule.min_severity))
    .bind(v.categories)
    .bind(rule.on_reports)
    .bind(v.recipients)
    .bind(v.channels)
    .bind(&rule.template_id)
    .bind(micros(now))
    .fetch_one(&s.write)
    .await
    .map_err(db)?
    .into_domain()
}

pub(crate) async fn get_rule(s: &SqliteStore, rule_id: i64) -> Result<Option<StoredRule>> {
    sqlx::query_as::<_, RuleRow>(sql(format!(
        "SELECT {RULE_COLS} FROM notification_rules WHERE id = ?"
    )))
    .bind(rule_id)
    .fetch_optional(&s.read)
    .await
    .map_err(db)?
    .map(RuleRow::into_domain)
    .transpose()
}

pub(crate) async fn list_rules(s: &SqliteStore) -> Result<Vec<StoredRule>> {
    let rows: Vec<RuleRow> = sqlx::query_as(sql(format!(
        "SELECT {RULE_COLS} FROM notification_rules ORDER BY id"
    )))
    .fetch_all(&s.read)
    .await
    .map_err(db)?;
    all(rows, RuleRow::into_domain)
}

pub(crate) async fn update_rule(
    s: &SqliteStore,
    rule_id: i64,
    expected_version: i64,
    rule: &NotificationRule,
    now: Timestamp,
) -> Result<StoredRule> {
    let v = rule_values(rule)?;
    let mut tx = s.begin().await?;
    let row: Option<RuleRow> = sqlx::query_as(sql(format!(
        "UPDATE notification_rules SET name = ?, enabled = ?, min_severity = ?, categories = ?, \
         on_reports = ?, recipients = ?, channels = ?, template_id = ?, version = version + 1, \
         updated_at = ? WHERE id = ? AND version = ? RETURNING {RULE_COLS}"
    )))
    .bind(&rule.name)
    .bind(rule.enabled)
    .bind(i64::from(rule.min_severity))
    .bind(v.categories)
    .bind(rule.on_reports)
    .bind(v.recipients)
    .bind(v.channels)
    .bind(&rule.template_id)
    .bind(micros(now))
    .bind(rule_id)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(stale_or_missing(
            &mut tx,
            "notification_rules",
            "notification rule",
            rule_id,
            expected_version,
        )
        .await);
    };
    tx.commit().await.map_err(db)?;
    row.into_domain()
}

/// Deletes a versioned row still at `expected`.
async fn delete_versioned(
    s: &SqliteStore,
    table: &'static str,
    entity: &'static str,
    id: i64,
    expected: i64,
) -> Result<()> {
    let mut tx = s.begin().await?;
    let done = sqlx::query(sql(format!(
        "DELETE FROM {table} WHERE id = ? AND version = ?"
    )))
    .bind(id)
    .bind(expected)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(stale_or_missing(&mut tx, table, entity, id, expected).await);
    }
    tx.commit().await.map_err(db)
}

pub(crate) async fn delete_rule(s: &SqliteStore, rule_id: i64, expected: i64) -> Result<()> {
    delete_versioned(
        s,
        "notification_rules",
        "notification rule",
        rule_id,
        expected,
    )
    .await
}

// --- escalation chain -------------------------------------------------------------------------

type ChainRow = (String, i64, Option<i64>, i64);

fn chain(row: ChainRow) -> Result<StoredChain> {
    const T: &str = "escalation_chain";
    let (chain, version, updated_by, updated_at) = row;
    Ok(StoredChain {
        chain: json(T, "chain", &chain)?,
        version,
        updated_by,
        updated_at: ts(T, "updated_at", updated_at)?,
    })
}

pub(crate) async fn escalation_chain(s: &SqliteStore) -> Result<Option<StoredChain>> {
    sqlx::query_as::<_, ChainRow>(
        "SELECT chain, version, updated_by, updated_at FROM escalation_chain WHERE id = 1",
    )
    .fetch_optional(&s.read)
    .await
    .map_err(db)?
    .map(chain)
    .transpose()
}

pub(crate) async fn save_escalation_chain(
    s: &SqliteStore,
    expected_version: i64,
    new: &EscalationChain,
    by: Option<i64>,
    now: Timestamp,
) -> Result<StoredChain> {
    let text = to_json("chain", new)?;
    let mut tx = s.begin().await?;
    // Version 0 means "none saved yet": the insert only succeeds if that is still true.
    let row: Option<ChainRow> = if expected_version == 0 {
        sqlx::query_as(
            "INSERT INTO escalation_chain (id, chain, version, updated_by, updated_at) \
             VALUES (1, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING \
             RETURNING chain, version, updated_by, updated_at",
        )
        .bind(&text)
        .bind(by)
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
    } else {
        sqlx::query_as(
            "UPDATE escalation_chain SET chain = ?, version = version + 1, updated_by = ?, \
             updated_at = ? WHERE id = 1 AND version = ? \
             RETURNING chain, version, updated_by, updated_at",
        )
        .bind(&text)
        .bind(by)
        .bind(micros(now))
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
    };
    let Some(row) = row else {
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM escalation_chain WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        return Err(StoreError::Stale {
            entity: "escalation chain",
            id: 1,
            expected: expected_version,
            current: current.unwrap_or(0),
        });
    };
    tx.commit().await.map_err(db)?;
    chain(row)
}

// --- templates --------------------------------------------------------------------------------

type TemplateRow = (String, String, String, String, i64, Option<i64>, i64);

const TEMPLATE_SELECT: &str =
    "SELECT kind, language, subject, body, version, updated_by, updated_at FROM message_templates";

fn template(row: TemplateRow) -> Result<StoredTemplate> {
    const T: &str = "message_templates";
    let (kind, language, subject, body, version, updated_by, updated_at) = row;
    Ok(StoredTemplate {
        kind: template_kind_from_str(&kind)
            .ok_or_else(|| corrupt(T, "kind", "unknown template kind"))?,
        language: parse_enum(T, "language", &language)?,
        subject,
        body,
        version,
        updated_by,
        updated_at: Some(ts(T, "updated_at", updated_at)?),
    })
}

pub(crate) async fn get_template(
    s: &SqliteStore,
    kind: TemplateKind,
    language: Language,
) -> Result<StoredTemplate> {
    let row: Option<TemplateRow> = sqlx::query_as(sql(format!(
        "{TEMPLATE_SELECT} WHERE kind = ? AND language = ?"
    )))
    .bind(kind.as_str())
    .bind(language.as_str())
    .fetch_optional(&s.read)
    .await
    .map_err(db)?;
    match row {
        Some(row) => template(row),
        None => Ok(StoredTemplate::built_in(kind, language)),
    }
}

pub(crate) async fn list_templates(s: &SqliteStore) -> Result<Vec<StoredTemplate>> {
    let rows: Vec<TemplateRow> = sqlx::query_as(TEMPLATE_SELECT)
        .fetch_all(&s.read)
        .await
        .map_err(db)?;
    let stored = all(rows, template)?;
    Ok(kizuki_store::notify::every_template(stored))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn save_template(
    s: &SqliteStore,
    kind: TemplateKind,
    language: Language,
    expected_version: i64,
    subject: &str,
    body: &str,
    by: Option<i64>,
    now: Timestamp,
) -> Result<StoredTemplate> {
    let mut tx = s.begin().await?;
    let row: Option<TemplateRow> = if expected_version == 0 {
        sqlx::query_as(
            "INSERT INTO message_templates (kind, language, subject, body, version, updated_by, \
               updated_at) VALUES (?, ?, ?, ?, 1, ?, ?) \
             ON CONFLICT (kind, language) DO NOTHING \
             RETURNING kind, language, subject, body, version, updated_by, updated_at",
        )
        .bind(kind.as_str())
        .bind(language.as_str())
        .bind(subject)
        .bind(body)
        .bind(by)
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
    } else {
        sqlx::query_as(
            "UPDATE message_templates SET subject = ?, body = ?, version = version + 1, \
             updated_by = ?, updated_at = ? WHERE kind = ? AND language = ? AND version = ? \
             RETURNING kind, language, subject, body, version, updated_by, updated_at",
        )
        .bind(subject)
        .bind(body)
        .bind(by)
        .bind(micros(now))
        .bind(kind.as_str())
        .bind(language.as_str())
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
    };
    let Some(row) = row else {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM message_templates WHERE kind = ? AND language = ?",
        )
        .bind(kind.as_str())
        .bind(language.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        return Err(StoreError::Stale {
            entity: "message template",
            id: 0,
            expected: expected_version,
            current: current.unwrap_or(0),
        });
    };
    tx.commit().await.map_err(db)?;
    template(row)
}

pub(crate) async fn reset_template(
    s: &SqliteStore,
    kind: TemplateKind,
    language: Language,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM message_templates WHERE kind = ? AND language = ?")
        .bind(kind.as_str())
        .bind(language.as_str())
        .execute(&s.write)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

// --- rotations --------------------------------------------------------------------------------

pub(crate) async fn create_rotation(
    s: &SqliteStore,
    spec: &RotationSpec,
    now: Timestamp,
) -> Result<StoredRotation> {
    sqlx::query_as::<_, RotationRow>(sql(format!(
        "INSERT INTO oncall_rotations (spec, version, updated_at) VALUES (?, 1, ?) \
         RETURNING {ROTATION_COLS}"
    )))
    .bind(to_json("spec", spec)?)
    .bind(micros(now))
    .fetch_one(&s.write)
    .await
    .map_err(db)?
    .into_domain()
}

pub(crate) async fn get_rotation(s: &SqliteStore, id: i64) -> Result<Option<StoredRotation>> {
    sqlx::query_as::<_, RotationRow>(sql(format!(
        "SELECT {ROTATION_COLS} FROM oncall_rotations WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&s.read)
    .await
    .map_err(db)?
    .map(RotationRow::into_domain)
    .transpose()
}

pub(crate) async fn list_rotations(s: &SqliteStore) -> Result<Vec<StoredRotation>> {
    let rows: Vec<RotationRow> = sqlx::query_as(sql(format!(
        "SELECT {ROTATION_COLS} FROM oncall_rotations ORDER BY id"
    )))
    .fetch_all(&s.read)
    .await
    .map_err(db)?;
    all(rows, RotationRow::into_domain)
}

pub(crate) async fn update_rotation(
    s: &SqliteStore,
    id: i64,
    expected_version: i64,
    spec: &RotationSpec,
    now: Timestamp,
) -> Result<StoredRotation> {
    let mut tx = s.begin().await?;
    let row: Option<RotationRow> = sqlx::query_as(sql(format!(
        "UPDATE oncall_rotations SET spec = ?, version = version + 1, updated_at = ? \
         WHERE id = ? AND version = ? RETURNING {ROTATION_COLS}"
    )))
    .bind(to_json("spec", spec)?)
    .bind(micros(now))
    .bind(id)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(stale_or_missing(
            &mut tx,
            "oncall_rotations",
            "on-call rotation",
            id,
            expected_version,
        )
        .await);
    };
    tx.commit().await.map_err(db)?;
    row.into_domain()
}

pub(crate) async fn delete_rotation(s: &SqliteStore, id: i64, expected: i64) -> Result<()> {
    delete_versioned(s, "oncall_rotations", "on-call rotation", id, expected).await
}

pub(crate) async fn add_rotation_override(
    s: &SqliteStore,
    id: i64,
    cover: &Override,
    now: Timestamp,
) -> Result<StoredRotation> {
    // Read, append, write inside one write transaction: the single writer keeps it whole.
    let mut tx = s.begin().await?;
    let row: Option<RotationRow> = sqlx::query_as(sql(format!(
        "SELECT {ROTATION_COLS} FROM oncall_rotations WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let mut stored = row
        .ok_or_else(|| not_found("on-call rotation", id))?
        .into_domain()?;
    stored.spec.overrides.push(*cover);
    let row: RotationRow = sqlx::query_as(sql(format!(
        "UPDATE oncall_rotations SET spec = ?, version = version + 1, updated_at = ? \
         WHERE id = ? RETURNING {ROTATION_COLS}"
    )))
    .bind(to_json("spec", &stored.spec)?)
    .bind(micros(now))
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    row.into_domain()
}

// --- webhook targets --------------------------------------------------------------------------

pub(crate) async fn create_webhook_target(
    s: &SqliteStore,
    f: &WebhookTargetFields,
    now: Timestamp,
) -> Result<WebhookTarget> {
    sqlx::query_as::<_, WebhookRow>(sql(format!(
        "INSERT INTO webhook_targets (name, format, url, secret, enabled, version, updated_at) \
         VALUES (?, ?, ?, ?, ?, 1, ?) RETURNING {WEBHOOK_COLS}"
    )))
    .bind(&f.name)
    .bind(format_name(f.format))
    .bind(&f.url)
    .bind(f.secret.as_deref())
    .bind(f.enabled)
    .bind(micros(now))
    .fetch_one(&s.write)
    .await
    .map_err(db)?
    .into_domain()
}

pub(crate) async fn list_webhook_targets(s: &SqliteStore) -> Result<Vec<WebhookTarget>> {
    let rows: Vec<WebhookRow> = sqlx::query_as(sql(format!(
        "SELECT {WEBHOOK_COLS} FROM webhook_targets ORDER BY id"
    )))
    .fetch_all(&s.read)
    .await
    .map_err(db)?;
    all(rows, WebhookRow::into_domain)
}

pub(crate) async fn get_webhook_target(s: &SqliteStore, id: i64) -> Result<Option<WebhookTarget>> {
    sqlx::query_as::<_, WebhookRow>(sql(format!(
        "SELECT {WEBHOOK_COLS} FROM webhook_targets WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&s.read)
    .await
    .map_err(db)?
    .map(WebhookRow::into_domain)
    .transpose()
}

pub(crate) async fn webhook_secret(s: &SqliteStore, id: i64) -> Result<Option<String>> {
    let secret: Option<Option<String>> =
        sqlx::query_scalar("SELECT secret FROM webhook_targets WHERE id = ?")
            .bind(id)
            .fetch_optional(&s.read)
            .await
            .map_err(db)?;
    Ok(secret.flatten())
}

pub(crate) async fn update_webhook_target(
    s: &SqliteStore,
    id: i64,
    expected_version: i64,
    f: &WebhookTargetFields,
    now: Timestamp,
) -> Result<WebhookTarget> {
    let mut tx = s.begin().await?;
    let row: Option<WebhookRow> = sqlx::query_as(sql(format!(
        "UPDATE webhook_targets SET name = ?, format = ?, url = ?, secret = COALESCE(?, secret), \
         enabled = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ? \
         RETURNING {WEBHOOK_COLS}"
    )))
    .bind(&f.name)
    .bind(format_name(f.format))
    .bind(&f.url)
    .bind(f.secret.as_deref())
    .bind(f.enabled)
    .bind(micros(now))
    .bind(id)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(stale_or_missing(
            &mut tx,
            "webhook_targets",
            "webhook target",
            id,
            expected_version,
        )
        .await);
    };
    tx.commit().await.map_err(db)?;
    row.into_domain()
}

pub(crate) async fn delete_webhook_target(s: &SqliteStore, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM webhook_targets WHERE id = ?")
        .bind(id)
        .execute(&s.write)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}
