//! Notifications (migration 0007): the job queue, notifications, the phone tree, and the
//! configuration behind them. The trait methods in `lib.rs` forward here.
//!
//! Several replicas claim from one `jobs` table. A claim is one `UPDATE … WHERE id IN
//! (SELECT … FOR UPDATE SKIP LOCKED)`: each replica locks the rows it takes and skips rows
//! another replica is taking, so a job is never handed to two claimers. Finishing a job is
//! one transaction that first updates the job row only if the caller still holds its lease
//! (which row-locks it until commit, so a concurrent claim of an expired lease waits and
//! then sees the job done) and then writes the job's effects; a refused finish writes
//! nothing.

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::notification::{AckVia, JobState};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::TimelineEntryFields;
use kizuki_notify::escalation::EscalationChain;
use kizuki_notify::oncall::{Override, RotationSpec};
use kizuki_notify::rule::NotificationRule;
use kizuki_notify::template::TemplateKind;
use kizuki_store::notify::{
    channel_from_parts, channel_parts, every_template, format_name, parse_format,
    template_kind_from_str,
};
use kizuki_store::{
    Acknowledged, FinishedJob, Job, JobEffects, JobFilter, NewJob, NewNotification, NewPhoneCall,
    Notification, PhoneCall, PhoneTreeLine, Result, SendPayload, StoreError, StoredChain,
    StoredRotation, StoredRule, StoredTemplate, WebhookTarget, WebhookTargetFields,
};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, QueryBuilder};

use crate::rows::{Cols, json_err, to_db_opt_ts, to_db_ts};
use crate::{
    FOREIGN_KEY_VIOLATION, child_err, collect, db_err, insert_timeline, not_found, violated,
};

fn sql(s: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(s)
}

fn corrupt(table: &'static str, column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        reason: reason.to_string(),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(
    c: &Cols<'_>,
    table: &'static str,
    col: &'static str,
) -> Result<T> {
    let v: Json<Value> = c.get(col)?;
    serde_json::from_value(v.0).map_err(|e| corrupt(table, col, e))
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<Json<Value>> {
    serde_json::to_value(v).map(Json).map_err(json_err)
}

// --- rows -------------------------------------------------------------------------------------

const JOB_COLS: &str = "id, kind, payload, incident_id, run_at, state, attempts, lease_owner, \
     lease_until, last_error, dedupe_key, created_at, finished_at";

fn job(row: &PgRow) -> Result<Job> {
    const T: &str = "jobs";
    let c = Cols::new(row, T);
    let payload: Json<Value> = c.get("payload")?;
    Ok(Job {
        id: c.get("id")?,
        kind: c.parse("kind")?,
        payload: payload.0,
        incident_id: c.get("incident_id")?,
        run_at: c.ts("run_at")?,
        state: c.parse("state")?,
        attempts: c.u32("attempts")?,
        lease_owner: c.get("lease_owner")?,
        lease_until: c.opt_ts("lease_until")?,
        last_error: c.get("last_error")?,
        dedupe_key: c.get("dedupe_key")?,
        created_at: c.ts("created_at")?,
        finished_at: c.opt_ts("finished_at")?,
    })
}

const NOTIFICATION_COLS: &str = "id, incident_id, rule_ids, escalation_step, user_id, party_id, \
     address, channel, webhook_id, language, template, state, attempts, last_error, created_at, \
     sent_at, acknowledged_at, acknowledged_by, ack_via, calls_version, clock_id";

fn notification(row: &PgRow) -> Result<Notification> {
    const T: &str = "notifications";
    let c = Cols::new(row, T);
    let channel: String = c.get("channel")?;
    let template: String = c.get("template")?;
    let step: Option<i64> = c.get("escalation_step")?;
    Ok(Notification {
        id: c.get("id")?,
        incident_id: c.get("incident_id")?,
        rule_ids: from_json(&c, T, "rule_ids")?,
        escalation_step: step
            .map(|s| u32::try_from(s).map_err(|e| corrupt(T, "escalation_step", e)))
            .transpose()?,
        clock_id: c.get("clock_id")?,
        user_id: c.get("user_id")?,
        party_id: c.get("party_id")?,
        address: c.get("address")?,
        channel: channel_from_parts(&channel, c.get("webhook_id")?)
            .ok_or_else(|| corrupt(T, "channel", "unknown channel or webhook id"))?,
        language: c.parse("language")?,
        template: template_kind_from_str(&template)
            .ok_or_else(|| corrupt(T, "template", "unknown template kind"))?,
        state: c.parse("state")?,
        attempts: c.u32("attempts")?,
        last_error: c.get("last_error")?,
        created_at: c.ts("created_at")?,
        sent_at: c.opt_ts("sent_at")?,
        acknowledged_at: c.opt_ts("acknowledged_at")?,
        acknowledged_by: c.get("acknowledged_by")?,
        ack_via: c.opt_parse("ack_via")?,
    })
}

const CALL_COLS: &str = "c.id, c.notification_id, c.outcome, c.note, c.called_by, c.called_at";

fn call(row: &PgRow) -> Result<PhoneCall> {
    let c = Cols::new(row, "phone_calls");
    Ok(PhoneCall {
        id: c.get("id")?,
        notification_id: c.get("notification_id")?,
        outcome: c.parse("outcome")?,
        note: c.get("note")?,
        called_by: c.get("called_by")?,
        called_at: c.ts("called_at")?,
    })
}

const RULE_COLS: &str = "id, name, enabled, min_severity, categories, on_reports, recipients, \
     channels, template_id, version, updated_at";

fn rule(row: &PgRow) -> Result<StoredRule> {
    const T: &str = "notification_rules";
    let c = Cols::new(row, T);
    let min_severity: i64 = c.get("min_severity")?;
    Ok(StoredRule {
        rule: NotificationRule {
            id: c.get("id")?,
            name: c.get("name")?,
            enabled: c.get("enabled")?,
            min_severity: u8::try_from(min_severity).map_err(|e| corrupt(T, "min_severity", e))?,
            categories: from_json(&c, T, "categories")?,
            on_reports: c.get("on_reports")?,
            recipients: from_json(&c, T, "recipients")?,
            channels: from_json(&c, T, "channels")?,
            template_id: c.get("template_id")?,
        },
        version: c.get("version")?,
        updated_at: c.ts("updated_at")?,
    })
}

const CHAIN_COLS: &str = "chain, version, updated_by, updated_at";

fn chain(row: &PgRow) -> Result<StoredChain> {
    const T: &str = "escalation_chain";
    let c = Cols::new(row, T);
    Ok(StoredChain {
        chain: from_json(&c, T, "chain")?,
        version: c.get("version")?,
        updated_by: c.get("updated_by")?,
        updated_at: c.ts("updated_at")?,
    })
}

const TEMPLATE_COLS: &str = "kind, language, subject, body, version, updated_by, updated_at";

fn template(row: &PgRow) -> Result<StoredTemplate> {
    const T: &str = "message_templates";
    let c = Cols::new(row, T);
    let kind: String = c.get("kind")?;
    Ok(StoredTemplate {
        kind: template_kind_from_str(&kind)
            .ok_or_else(|| corrupt(T, "kind", "unknown template kind"))?,
        language: c.parse("language")?,
        subject: c.get("subject")?,
        body: c.get("body")?,
        version: c.get("version")?,
        updated_by: c.get("updated_by")?,
        updated_at: Some(c.ts("updated_at")?),
    })
}

const ROTATION_COLS: &str = "id, spec, version, updated_at";

fn rotation(row: &PgRow) -> Result<StoredRotation> {
    const T: &str = "oncall_rotations";
    let c = Cols::new(row, T);
    Ok(StoredRotation {
        id: c.get("id")?,
        spec: from_json(&c, T, "spec")?,
        version: c.get("version")?,
        updated_at: c.ts("updated_at")?,
    })
}

const WEBHOOK_COLS: &str =
    "id, name, format, url, (secret IS NOT NULL) AS has_secret, enabled, version, updated_at";

fn webhook(row: &PgRow) -> Result<WebhookTarget> {
    const T: &str = "webhook_targets";
    let c = Cols::new(row, T);
    let format: String = c.get("format")?;
    Ok(WebhookTarget {
        id: c.get("id")?,
        name: c.get("name")?,
        format: parse_format(&format)
            .ok_or_else(|| corrupt(T, "format", "unknown webhook format"))?,
        url: c.get("url")?,
        has_secret: c.get("has_secret")?,
        enabled: c.get("enabled")?,
        version: c.get("version")?,
        updated_at: c.ts("updated_at")?,
    })
}

/// After a versioned write found no row: `NotFound` if the row is gone, else `Stale`.
async fn stale_or_missing(
    conn: &mut PgConnection,
    table: &'static str,
    entity: &'static str,
    id: i64,
    expected: i64,
) -> StoreError {
    let current: Result<Option<i64>> =
        sqlx::query_scalar(sql(format!("SELECT version FROM {table} WHERE id = $1")))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(db_err);
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

async fn insert_job(conn: &mut PgConnection, new: &NewJob, now: Timestamp) -> Result<Job> {
    let row = sqlx::query(sql(format!(
        "INSERT INTO jobs (kind, payload, incident_id, run_at, state, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, 'queued', $5, $6) ON CONFLICT (dedupe_key) DO NOTHING \
         RETURNING {JOB_COLS}"
    )))
    .bind(new.kind.as_str())
    .bind(Json(&new.payload))
    .bind(new.incident_id)
    .bind(to_db_ts(new.run_at)?)
    .bind(new.dedupe_key.as_deref())
    .bind(to_db_ts(now)?)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| child_err(e, new.incident_id.unwrap_or_default(), None))?;
    let row = match row {
        Some(row) => row,
        // Only a dedupe key can conflict: the job is already there (committed, since the
        // unique index waited for any transaction inserting it).
        None => sqlx::query(sql(format!(
            "SELECT {JOB_COLS} FROM jobs WHERE dedupe_key = $1"
        )))
        .bind(new.dedupe_key.as_deref())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?,
    };
    job(&row)
}

pub(crate) async fn enqueue_job(pool: &PgPool, new: &NewJob, now: Timestamp) -> Result<Job> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    insert_job(&mut conn, new, now).await
}

fn lease_end(now: Timestamp, lease: SignedDuration) -> Timestamp {
    now.checked_add(lease).unwrap_or(Timestamp::MAX)
}

pub(crate) async fn claim_jobs(
    pool: &PgPool,
    worker: &str,
    now: Timestamp,
    lease: SignedDuration,
    limit: u32,
) -> Result<Vec<Job>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(sql(format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running') \
           AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until <= $3)) \
           ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING {JOB_COLS}"
    )))
    .bind(worker)
    .bind(to_db_ts(lease_end(now, lease))?)
    .bind(to_db_ts(now)?)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut jobs = collect(rows, job)?;
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// After a lease-checked write found no row: the job is unknown or not the worker's.
async fn lease_lost(conn: &mut PgConnection, job_id: i64, worker: &str) -> StoreError {
    let found: Result<Option<i64>> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(conn)
        .await
        .map_err(db_err);
    match found {
        Ok(Some(_)) => StoreError::LeaseLost {
            job_id,
            worker: worker.to_owned(),
        },
        Ok(None) => not_found("job", job_id),
        Err(e) => e,
    }
}

/// The condition under which a worker still holds a job (binds: $1 id, $2 worker, $3 now).
const HELD: &str = "id = $1 AND state = 'running' AND lease_owner = $2 AND lease_until > $3";

pub(crate) async fn finish_job(
    pool: &PgPool,
    job_id: i64,
    worker: &str,
    effects: &JobEffects,
    now: Timestamp,
) -> Result<FinishedJob> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let row = sqlx::query(sql(format!(
        "UPDATE jobs SET state = 'done', finished_at = $3 WHERE {HELD} RETURNING {JOB_COLS}"
    )))
    .bind(job_id)
    .bind(worker)
    .bind(to_db_ts(now)?)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Err(lease_lost(&mut tx, job_id, worker).await);
    };
    let done = job(&row)?;

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
        let written = insert_timeline(
            &mut tx,
            e.incident_id,
            std::slice::from_ref(&e.entry),
            None,
            now,
        )
        .await?;
        timeline.extend(written);
    }
    let mut jobs = Vec::with_capacity(effects.jobs.len() + send_jobs.len());
    for j in effects.jobs.iter().chain(&send_jobs) {
        jobs.push(insert_job(&mut tx, j, now).await?);
    }
    tx.commit().await.map_err(db_err)?;
    Ok(FinishedJob {
        job: done,
        notifications,
        jobs,
        timeline,
    })
}

/// The one `send_notification` job of a new notification.
fn send_job(n: &Notification, send_at: Timestamp) -> Result<NewJob> {
    let payload = serde_json::to_value(SendPayload {
        notification_id: n.id,
    })
    .map_err(json_err)?;
    Ok(NewJob {
        kind: kizuki_domain::notification::JobKind::SendNotification,
        payload,
        run_at: send_at,
        incident_id: Some(n.incident_id),
        dedupe_key: Some(SendPayload::dedupe_key(n.id)),
    })
}

/// Hands a held job back: to the queue (with a new `run_at`) or to the dead letters.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn release(
    pool: &PgPool,
    job_id: i64,
    worker: &str,
    state: JobState,
    run_at: Option<Timestamp>,
    error: &str,
    now: Timestamp,
) -> Result<Job> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let finished_at = (state == JobState::Dead).then_some(now);
    let row = sqlx::query(sql(format!(
        "UPDATE jobs SET state = $4, run_at = COALESCE($5, run_at), last_error = $6, \
         finished_at = $7 WHERE {HELD} RETURNING {JOB_COLS}"
    )))
    .bind(job_id)
    .bind(worker)
    .bind(to_db_ts(now)?)
    .bind(state.as_str())
    .bind(to_db_opt_ts(run_at)?)
    .bind(error)
    .bind(to_db_opt_ts(finished_at)?)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Err(lease_lost(&mut tx, job_id, worker).await);
    };
    tx.commit().await.map_err(db_err)?;
    job(&row)
}

pub(crate) async fn get_job(pool: &PgPool, job_id: i64) -> Result<Option<Job>> {
    let row = sqlx::query(sql(format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1")))
        .bind(job_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.as_ref().map(job).transpose()
}

pub(crate) async fn list_jobs(pool: &PgPool, filter: &JobFilter) -> Result<Vec<Job>> {
    let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {JOB_COLS} FROM jobs WHERE TRUE"));
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
    let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
    collect(rows, job)
}

// --- notifications ----------------------------------------------------------------------------

async fn insert_notification(
    conn: &mut PgConnection,
    n: &NewNotification,
    now: Timestamp,
) -> Result<Notification> {
    let (channel, webhook_id) = channel_parts(n.channel);
    let row = sqlx::query(sql(format!(
        "INSERT INTO notifications (incident_id, rule_ids, escalation_step, user_id, party_id, \
         address, channel, webhook_id, language, template, state, created_at, clock_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) \
         RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(n.incident_id)
    .bind(to_json(&n.rule_ids)?)
    .bind(n.escalation_step.map(i64::from))
    .bind(n.user_id)
    .bind(n.party_id)
    .bind(&n.address)
    .bind(channel)
    .bind(webhook_id)
    .bind(n.language.as_str())
    .bind(n.template.as_str())
    .bind(to_db_ts(now)?)
    .bind(n.clock_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match violated(&e, FOREIGN_KEY_VIOLATION) {
        Some(c) if c.ends_with("_party_id_fkey") => {
            not_found("party", n.party_id.unwrap_or_default())
        }
        _ => child_err(e, n.incident_id, n.user_id),
    })?;
    notification(&row)
}

async fn mark_sent(conn: &mut PgConnection, id: i64, now: Timestamp) -> Result<Notification> {
    let row = sqlx::query(sql(format!(
        "UPDATE notifications SET \
           state = CASE state WHEN 'acknowledged' THEN state ELSE 'sent' END, \
           sent_at = COALESCE(sent_at, $2), attempts = attempts + 1 \
         WHERE id = $1 RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(id)
    .bind(to_db_ts(now)?)
    .fetch_optional(conn)
    .await
    .map_err(db_err)?
    .ok_or_else(|| not_found("notification", id))?;
    notification(&row)
}

async fn mark_failed(conn: &mut PgConnection, id: i64, error: &str) -> Result<Notification> {
    let row = sqlx::query(sql(format!(
        "UPDATE notifications SET \
           state = CASE state WHEN 'acknowledged' THEN state ELSE 'failed' END, \
           last_error = $2, attempts = attempts + 1 \
         WHERE id = $1 RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(id)
    .bind(error)
    .fetch_optional(conn)
    .await
    .map_err(db_err)?
    .ok_or_else(|| not_found("notification", id))?;
    notification(&row)
}

pub(crate) async fn list_notifications(
    pool: &PgPool,
    incident_id: i64,
) -> Result<Vec<Notification>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {NOTIFICATION_COLS} FROM notifications WHERE incident_id = $1 ORDER BY id"
    )))
    .bind(incident_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    collect(rows, notification)
}

pub(crate) async fn get_notification(pool: &PgPool, id: i64) -> Result<Option<Notification>> {
    let row = sqlx::query(sql(format!(
        "SELECT {NOTIFICATION_COLS} FROM notifications WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.as_ref().map(notification).transpose()
}

pub(crate) async fn mark_notification_sent(
    pool: &PgPool,
    id: i64,
    now: Timestamp,
) -> Result<Notification> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    mark_sent(&mut conn, id, now).await
}

pub(crate) async fn mark_notification_failed(
    pool: &PgPool,
    id: i64,
    error: &str,
) -> Result<Notification> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    mark_failed(&mut conn, id, error).await
}

pub(crate) async fn acknowledge_notification(
    pool: &PgPool,
    id: i64,
    by: Option<i64>,
    via: AckVia,
    entry: Option<&TimelineEntryFields>,
    now: Timestamp,
) -> Result<Acknowledged> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    // The first acknowledgement is the one that finds it unacknowledged; a racing second
    // waits for the row lock and then finds it acknowledged.
    let row = sqlx::query(sql(format!(
        "UPDATE notifications SET state = 'acknowledged', acknowledged_at = $2, \
         acknowledged_by = $3, ack_via = $4 WHERE id = $1 AND acknowledged_at IS NULL \
         RETURNING {NOTIFICATION_COLS}"
    )))
    .bind(id)
    .bind(to_db_ts(now)?)
    .bind(by)
    .bind(via.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| child_err(e, 0, by))?;
    let Some(row) = row else {
        let existing = sqlx::query(sql(format!(
            "SELECT {NOTIFICATION_COLS} FROM notifications WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        return match existing {
            Some(row) => Ok(Acknowledged {
                notification: notification(&row)?,
                first: false,
                entry: None,
            }),
            None => Err(not_found("notification", id)),
        };
    };
    let n = notification(&row)?;
    let entry = match entry {
        Some(e) => insert_timeline(&mut tx, n.incident_id, std::slice::from_ref(e), by, now)
            .await?
            .pop(),
        None => None,
    };
    tx.commit().await.map_err(db_err)?;
    Ok(Acknowledged {
        notification: n,
        first: true,
        entry,
    })
}

pub(crate) async fn incident_acknowledged_at(
    pool: &PgPool,
    incident_id: i64,
) -> Result<Option<Timestamp>> {
    let row = sqlx::query(
        "SELECT min(acknowledged_at) AS acknowledged_at FROM notifications WHERE incident_id = $1",
    )
    .bind(incident_id)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    Cols::new(&row, "notifications").opt_ts("acknowledged_at")
}

// --- phone tree -------------------------------------------------------------------------------

/// The phone-tree lines of an incident (all, or the one `only`), read in the caller's
/// transaction so calls and versions agree.
async fn lines(
    conn: &mut PgConnection,
    incident_id: i64,
    only: Option<i64>,
) -> Result<Vec<PhoneTreeLine>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {NOTIFICATION_COLS} FROM notifications WHERE incident_id = $1 \
         AND channel = 'phone_tree' AND ($2::BIGINT IS NULL OR id = $2) ORDER BY id"
    )))
    .bind(incident_id)
    .bind(only)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let call_rows = sqlx::query(sql(format!(
        "SELECT {CALL_COLS} FROM phone_calls c JOIN notifications n ON n.id = c.notification_id \
         WHERE n.incident_id = $1 AND n.channel = 'phone_tree' \
           AND ($2::BIGINT IS NULL OR n.id = $2) ORDER BY c.id"
    )))
    .bind(incident_id)
    .bind(only)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut calls = collect(call_rows, call)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let version: i64 = Cols::new(row, "notifications").get("calls_version")?;
        let n = notification(row)?;
        let (mine, rest): (Vec<PhoneCall>, Vec<PhoneCall>) =
            calls.into_iter().partition(|c| c.notification_id == n.id);
        calls = rest;
        out.push(PhoneTreeLine {
            notification: n,
            calls: mine,
            version,
        });
    }
    Ok(out)
}

pub(crate) async fn phone_tree(pool: &PgPool, incident_id: i64) -> Result<Vec<PhoneTreeLine>> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let out = lines(&mut tx, incident_id, None).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub(crate) async fn record_call(
    pool: &PgPool,
    incident_id: i64,
    notification_id: i64,
    expected_version: i64,
    new: &NewPhoneCall,
    entry: Option<&TimelineEntryFields>,
) -> Result<PhoneTreeLine> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let moved: Option<i64> = sqlx::query_scalar(
        "UPDATE notifications SET calls_version = calls_version + 1 \
         WHERE id = $1 AND incident_id = $2 AND channel = 'phone_tree' AND calls_version = $3 \
         RETURNING calls_version",
    )
    .bind(notification_id)
    .bind(incident_id)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    if moved.is_none() {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT calls_version FROM notifications \
             WHERE id = $1 AND incident_id = $2 AND channel = 'phone_tree'",
        )
        .bind(notification_id)
        .bind(incident_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        return Err(match current {
            Some(current) => StoreError::Stale {
                entity: "phone tree line",
                id: notification_id,
                expected: expected_version,
                current,
            },
            None => {
                let incident: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM incidents WHERE id = $1")
                        .bind(incident_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                match incident {
                    Some(_) => not_found("phone tree line", notification_id),
                    None => not_found("incident", incident_id),
                }
            }
        });
    }
    sqlx::query(
        "INSERT INTO phone_calls (notification_id, outcome, note, called_by, called_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(notification_id)
    .bind(new.outcome.as_str())
    .bind(&new.note)
    .bind(new.called_by)
    .bind(to_db_ts(new.called_at)?)
    .execute(&mut *tx)
    .await
    .map_err(|e| child_err(e, incident_id, new.called_by))?;
    if let Some(e) = entry {
        insert_timeline(
            &mut tx,
            incident_id,
            std::slice::from_ref(e),
            new.called_by,
            new.called_at,
        )
        .await?;
    }
    let line = lines(&mut tx, incident_id, Some(notification_id))
        .await?
        .pop()
        .ok_or_else(|| not_found("phone tree line", notification_id))?;
    tx.commit().await.map_err(db_err)?;
    Ok(line)
}

// --- rules ------------------------------------------------------------------------------------

pub(crate) async fn create_rule(
    pool: &PgPool,
    r: &NotificationRule,
    now: Timestamp,
) -> Result<StoredRule> {
    let row = sqlx::query(sql(format!(
        "INSERT INTO notification_rules (name, enabled, min_severity, categories, on_reports, \
         recipients, channels, template_id, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) RETURNING {RULE_COLS}"
    )))
    .bind(&r.name)
    .bind(r.enabled)
    .bind(i64::from(r.min_severity))
    .bind(to_json(&r.categories)?)
    .bind(r.on_reports)
    .bind(to_json(&r.recipients)?)
    .bind(to_json(&r.channels)?)
    .bind(&r.template_id)
    .bind(to_db_ts(now)?)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    rule(&row)
}

pub(crate) async fn get_rule(pool: &PgPool, id: i64) -> Result<Option<StoredRule>> {
    let row = sqlx::query(sql(format!(
        "SELECT {RULE_COLS} FROM notification_rules WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.as_ref().map(rule).transpose()
}

pub(crate) async fn list_rules(pool: &PgPool) -> Result<Vec<StoredRule>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {RULE_COLS} FROM notification_rules ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    collect(rows, rule)
}

pub(crate) async fn update_rule(
    pool: &PgPool,
    id: i64,
    expected_version: i64,
    r: &NotificationRule,
    now: Timestamp,
) -> Result<StoredRule> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let row = sqlx::query(sql(format!(
        "UPDATE notification_rules SET name = $3, enabled = $4, min_severity = $5, \
         categories = $6, on_reports = $7, recipients = $8, channels = $9, template_id = $10, \
         version = version + 1, updated_at = $11 WHERE id = $1 AND version = $2 \
         RETURNING {RULE_COLS}"
    )))
    .bind(id)
    .bind(expected_version)
    .bind(&r.name)
    .bind(r.enabled)
    .bind(i64::from(r.min_severity))
    .bind(to_json(&r.categories)?)
    .bind(r.on_reports)
    .bind(to_json(&r.recipients)?)
    .bind(to_json(&r.channels)?)
    .bind(&r.template_id)
    .bind(to_db_ts(now)?)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match row {
        Some(row) => rule(&row),
        None => Err(stale_or_missing(
            &mut conn,
            "notification_rules",
            "notification rule",
            id,
            expected_version,
        )
        .await),
    }
}

/// Deletes a versioned row still at `expected`.
pub(crate) async fn delete_versioned(
    pool: &PgPool,
    table: &'static str,
    entity: &'static str,
    id: i64,
    expected: i64,
) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let done = sqlx::query(sql(format!(
        "DELETE FROM {table} WHERE id = $1 AND version = $2"
    )))
    .bind(id)
    .bind(expected)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(stale_or_missing(&mut conn, table, entity, id, expected).await);
    }
    Ok(())
}

// --- escalation chain -------------------------------------------------------------------------

pub(crate) async fn escalation_chain(pool: &PgPool) -> Result<Option<StoredChain>> {
    let row = sqlx::query(sql(format!(
        "SELECT {CHAIN_COLS} FROM escalation_chain WHERE id = 1"
    )))
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.as_ref().map(chain).transpose()
}

pub(crate) async fn save_escalation_chain(
    pool: &PgPool,
    expected_version: i64,
    new: &EscalationChain,
    by: Option<i64>,
    now: Timestamp,
) -> Result<StoredChain> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    // Version 0 means "none saved yet": the insert only succeeds if that is still true.
    let query = if expected_version == 0 {
        format!(
            "INSERT INTO escalation_chain (id, chain, version, updated_by, updated_at) \
             VALUES (1, $1, 1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING {CHAIN_COLS}"
        )
    } else {
        format!(
            "UPDATE escalation_chain SET chain = $1, version = version + 1, updated_by = $2, \
             updated_at = $3 WHERE id = 1 AND version = $4 RETURNING {CHAIN_COLS}"
        )
    };
    let mut q = sqlx::query(sql(query))
        .bind(to_json(new)?)
        .bind(by)
        .bind(to_db_ts(now)?);
    if expected_version != 0 {
        q = q.bind(expected_version);
    }
    let row = q
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| child_err(e, 0, by))?;
    match row {
        Some(row) => chain(&row),
        None => {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM escalation_chain WHERE id = 1")
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
            Err(StoreError::Stale {
                entity: "escalation chain",
                id: 1,
                expected: expected_version,
                current: current.unwrap_or(0),
            })
        }
    }
}

// --- templates --------------------------------------------------------------------------------

pub(crate) async fn get_template(
    pool: &PgPool,
    kind: TemplateKind,
    language: Language,
) -> Result<StoredTemplate> {
    let row = sqlx::query(sql(format!(
        "SELECT {TEMPLATE_COLS} FROM message_templates WHERE kind = $1 AND language = $2"
    )))
    .bind(kind.as_str())
    .bind(language.as_str())
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    match row {
        Some(row) => template(&row),
        None => Ok(StoredTemplate::built_in(kind, language)),
    }
}

pub(crate) async fn list_templates(pool: &PgPool) -> Result<Vec<StoredTemplate>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {TEMPLATE_COLS} FROM message_templates"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    Ok(every_template(collect(rows, template)?))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn save_template(
    pool: &PgPool,
    kind: TemplateKind,
    language: Language,
    expected_version: i64,
    subject: &str,
    body: &str,
    by: Option<i64>,
    now: Timestamp,
) -> Result<StoredTemplate> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let query = if expected_version == 0 {
        format!(
            "INSERT INTO message_templates (kind, language, subject, body, version, updated_by, \
               updated_at) VALUES ($1, $2, $3, $4, 1, $5, $6) \
             ON CONFLICT (kind, language) DO NOTHING RETURNING {TEMPLATE_COLS}"
        )
    } else {
        format!(
            "UPDATE message_templates SET subject = $3, body = $4, version = version + 1, \
             updated_by = $5, updated_at = $6 WHERE kind = $1 AND language = $2 AND version = $7 \
             RETURNING {TEMPLATE_COLS}"
        )
    };
    let mut q = sqlx::query(sql(query))
        .bind(kind.as_str())
        .bind(language.as_str())
        .bind(subject)
        .bind(body)
        .bind(by)
        .bind(to_db_ts(now)?);
    if expected_version != 0 {
        q = q.bind(expected_version);
    }
    let row = q
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| child_err(e, 0, by))?;
    match row {
        Some(row) => template(&row),
        None => {
            let current: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM message_templates WHERE kind = $1 AND language = $2",
            )
            .bind(kind.as_str())
            .bind(language.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
            Err(StoreError::Stale {
                entity: "message template",
                id: 0,
                expected: expected_version,
                current: current.unwrap_or(0),
            })
        }
    }
}

pub(crate) async fn reset_template(
    pool: &PgPool,
    kind: TemplateKind,
    language: Language,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM message_templates WHERE kind = $1 AND language = $2")
        .bind(kind.as_str())
        .bind(language.as_str())
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

// --- rotations --------------------------------------------------------------------------------

pub(crate) async fn create_rotation(
    pool: &PgPool,
    spec: &RotationSpec,
    now: Timestamp,
) -> Result<StoredRotation> {
    let row = sqlx::query(sql(format!(
        "INSERT INTO oncall_rotations (spec, version, updated_at) VALUES ($1, 1, $2) \
         RETURNING {ROTATION_COLS}"
    )))
    .bind(to_json(spec)?)
    .bind(to_db_ts(now)?)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    rotation(&row)
}

pub(crate) async fn get_rotation(pool: &PgPool, id: i64) -> Result<Option<StoredRotation>> {
    let row = sqlx::query(sql(format!(
        "SELECT {ROTATION_COLS} FROM oncall_rotations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.as_ref().map(rotation).transpose()
}

pub(crate) async fn list_rotations(pool: &PgPool) -> Result<Vec<StoredRotation>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {ROTATION_COLS} FROM oncall_rotations ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    collect(rows, rotation)
}

pub(crate) async fn update_rotation(
    pool: &PgPool,
    id: i64,
    expected_version: i64,
    spec: &RotationSpec,
    now: Timestamp,
) -> Result<StoredRotation> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let row = sqlx::query(sql(format!(
        "UPDATE oncall_rotations SET spec = $3, version = version + 1, updated_at = $4 \
         WHERE id = $1 AND version = $2 RETURNING {ROTATION_COLS}"
    )))
    .bind(id)
    .bind(expected_version)
    .bind(to_json(spec)?)
    .bind(to_db_ts(now)?)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match row {
        Some(row) => rotation(&row),
        None => Err(stale_or_missing(
            &mut conn,
            "oncall_rotations",
            "on-call rotation",
            id,
            expected_version,
        )
        .await),
    }
}

pub(crate) async fn add_rotation_override(
    pool: &PgPool,
    id: i64,
    cover: &Override,
    now: Timestamp,
) -> Result<StoredRotation> {
    // The row lock makes read-append-write whole: a second override waits and appends to
    // the first one's result.
    let mut tx = pool.begin().await.map_err(db_err)?;
    let row = sqlx::query(sql(format!(
        "SELECT {ROTATION_COLS} FROM oncall_rotations WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| not_found("on-call rotation", id))?;
    let mut stored = rotation(&row)?;
    stored.spec.overrides.push(*cover);
    let row = sqlx::query(sql(format!(
        "UPDATE oncall_rotations SET spec = $2, version = version + 1, updated_at = $3 \
         WHERE id = $1 RETURNING {ROTATION_COLS}"
    )))
    .bind(id)
    .bind(to_json(&stored.spec)?)
    .bind(to_db_ts(now)?)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    rotation(&row)
}

// --- webhook targets --------------------------------------------------------------------------

pub(crate) async fn create_webhook_target(
    pool: &PgPool,
    f: &WebhookTargetFields,
    now: Timestamp,
) -> Result<WebhookTarget> {
    let row = sqlx::query(sql(format!(
        "INSERT INTO webhook_targets (name, format, url, secret, enabled, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING {WEBHOOK_COLS}"
    )))
    .bind(&f.name)
    .bind(format_name(f.format))
    .bind(&f.url)
    .bind(f.secret.as_deref())
    .bind(f.enabled)
    .bind(to_db_ts(now)?)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    webhook(&row)
}

pub(crate) async fn list_webhook_targets(pool: &PgPool) -> Result<Vec<WebhookTarget>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {WEBHOOK_COLS} FROM webhook_targets ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    collect(rows, webhook)
}

pub(crate) async fn get_webhook_target(pool: &PgPool, id: i64) -> Result<Option<WebhookTarget>> {
    let row = sqlx::query(sql(format!(
        "SELECT {WEBHOOK_COLS} FROM webhook_targets WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.as_ref().map(webhook).transpose()
}

pub(crate) async fn webhook_secret(pool: &PgPool, id: i64) -> Result<Option<String>> {
    let secret: Option<Option<String>> =
        sqlx::query_scalar("SELECT secret FROM webhook_targets WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    Ok(secret.flatten())
}

pub(crate) async fn update_webhook_target(
    pool: &PgPool,
    id: i64,
    expected_version: i64,
    f: &WebhookTargetFields,
    now: Timestamp,
) -> Result<WebhookTarget> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let row = sqlx::query(sql(format!(
        "UPDATE webhook_targets SET name = $3, format = $4, url = $5, \
         secret = COALESCE($6, secret), enabled = $7, version = version + 1, updated_at = $8 \
         WHERE id = $1 AND version = $2 RETURNING {WEBHOOK_COLS}"
    )))
    .bind(id)
    .bind(expected_version)
    .bind(&f.name)
    .bind(format_name(f.format))
    .bind(&f.url)
    .bind(f.secret.as_deref())
    .bind(f.enabled)
    .bind(to_db_ts(now)?)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match row {
        Some(row) => webhook(&row),
        None => Err(stale_or_missing(
            &mut conn,
            "webhook_targets",
            "webhook target",
            id,
            expected_version,
        )
        .await),
    }
}

pub(crate) async fn delete_webhook_target(pool: &PgPool, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM webhook_targets WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}
