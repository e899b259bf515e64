//! The notification worker: turns the durable job queue into e-mails, webhook calls,
//! call-list lines, escalations and legal-clock reminders (issue #5).
//!
//! `kizuki-notify` decides (who, which words, when to retry), `kizuki-store` keeps the jobs
//! and writes each job's effects exactly once ([`kizuki_store::notify`]), and
//! [`crate::delivery`] talks to SMTP and HTTP. This module joins them:
//!
//! * **Hooks** ([`incident_opened`], [`schedule_clock_reminders`]) enqueue jobs when an incident
//!   is opened or a legal clock appears. Every job they enqueue has a dedupe key, so a request
//!   that is retried, or a hook called from two places, cannot notify twice.
//! * **The worker** ([`run_worker`], one per `kizuki serve` process) calls [`run_due`] every
//!   second: it claims due jobs under a lease and handles each by kind. Time comes from
//!   `state.clock` and the back-off jitter from `state.entropy`, so tests fast-forward a
//!   `ManualClock` and call [`run_due`] themselves.
//!
//! Outside effects (a mail, a POST) are at least once: a worker killed after sending but
//! before finishing its job sends again when the job is reclaimed. The mail's `Message-ID` is
//! derived from the notification id, so receivers can fold such a repeat. Everything written
//! to the database (the `sent` mark, the timeline, the next escalation step) is exactly once.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::{DetectionSource, Incident, Phase};
use kizuki_domain::legal_clock::LegalClock;
use kizuki_domain::notification::JobKind;
use kizuki_notify::ack::AckKey;
use kizuki_notify::retry::Backoff;
use kizuki_store::{NewJob, StoreError};
use serde::{Deserialize, Serialize};

use crate::AppState;

mod jobs;
pub mod manage;

pub use jobs::{run_due, run_job};

/// How the worker runs and how long its links live.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Signs the acknowledgement links in messages; derived from the audit key so every
    /// replica sharing the database (and so the key file) issues links the others accept.
    pub ack_key: AckKey,
    /// How long an acknowledgement link stays valid.
    pub ack_valid_for: SignedDuration,
    /// Pause between two runs of [`run_due`].
    pub interval: Duration,
    /// How long a claimed job is held before another worker may take it over. Longer than
    /// the slowest send (SMTP's 10 s connect + 30 s send), with room for a batch.
    pub lease: SignedDuration,
    /// Jobs claimed per run.
    pub batch: u32,
    /// Jobs of one batch handled at once; keeps a hanging receiver from holding up the rest
    /// until their leases run out.
    pub concurrency: usize,
    /// When a failed send is tried again.
    pub backoff: Backoff,
}

impl NotifySettings {
    /// The defaults, with the acknowledgement key derived from `audit_key`.
    pub fn new(audit_key: &kizuki_auth::audit_chain::AuditKey) -> NotifySettings {
        NotifySettings {
            ack_key: derive_ack_key(audit_key),
            ack_valid_for: SignedDuration::from_hours(7 * 24),
            interval: Duration::from_secs(1),
            lease: SignedDuration::from_mins(2),
            batch: 20,
            concurrency: 4,
            backoff: Backoff::default(),
        }
    }
}

/// A separate key for acknowledgement links, so a link's MAC can never double as an audit
/// seal: SHA-256 over a context label and the audit key (a uniformly random 256-bit secret,
/// for which a hash is a sound key derivation).
fn derive_ack_key(audit_key: &kizuki_auth::audit_chain::AuditKey) -> AckKey {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"kizuki acknowledgement-link key v1\0");
    h.update(audit_key.to_hex().as_bytes());
    let bytes = h.finalize();
    // 32 bytes is exactly the minimum, so this cannot fail; the fallback keeps it total.
    AckKey::new(&bytes).unwrap_or_else(|_| fallback_key())
}

fn fallback_key() -> AckKey {
    // Unreachable (see above); a fixed all-ones key would be guessable, so use fresh
    // randomness instead: links issued then are simply not verifiable across restarts.
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    match AckKey::new(&bytes) {
        Ok(k) => k,
        Err(_) => fallback_key(),
    }
}

/// Where users reach Kizuki, for links in messages: `public_url`, else the default listen
/// address.
pub fn public_base(state: &AppState) -> String {
    state
        .auth
        .public_url
        .as_deref()
        .unwrap_or(DEFAULT_PUBLIC_URL)
        .trim_end_matches('/')
        .to_owned()
}

/// The link base when `public_url` is not configured.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

// --- payloads --------------------------------------------------------------------------------

/// Why an incident's notifications are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Opened by a responder (API, web page, CLI).
    Opened,
    /// A suspicion report from the form, not yet triaged: only rules with `on_reports` apply.
    Reported,
    /// Raised to a higher level, moved to another category or triaged out of `reported`:
    /// rules that did not match before may now. Only people not yet told are notified.
    Changed,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::Opened => "opened",
            Why::Reported => "reported",
            Why::Changed => "changed",
        }
    }
}

/// `plan_incident_notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPayload {
    pub incident_id: i64,
    pub why: Why,
}

/// `escalate`: whether step `step` (0-based) of the chain is to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalatePayload {
    pub incident_id: i64,
    pub step: u32,
}

impl EscalatePayload {
    pub fn dedupe_key(self) -> String {
        format!("escalate:{}:{}", self.incident_id, self.step)
    }
}

/// Which reminder of a legal clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reminder {
    DueSoon,
    Overdue,
}

impl Reminder {
    fn as_str(self) -> &'static str {
        match self {
            Reminder::DueSoon => "due_soon",
            Reminder::Overdue => "overdue",
        }
    }
}

/// `clock_reminder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPayload {
    pub incident_id: i64,
    pub clock_id: i64,
    pub reminder: Reminder,
}

/// When a clock's reminder is due: a day before the deadline, or half-way for clocks shorter
/// than two days (a 24-hour clock reminded at its start would be noise); and when it is
/// overdue.
pub fn reminder_at(clock: &LegalClock, reminder: Reminder) -> Timestamp {
    let reading = clock.read(clock.started_at);
    match reminder {
        Reminder::Overdue => reading.overdue_at,
        Reminder::DueSoon => {
            let window = reading.due_at.duration_since(clock.started_at);
            let lead = if window > SignedDuration::from_hours(48) {
                SignedDuration::from_hours(24)
            } else {
                window / 2
            };
            reading.due_at.checked_sub(lead).unwrap_or(clock.started_at)
        }
    }
}

// --- hooks -----------------------------------------------------------------------------------

/// Queues everything a newly opened incident needs: the plan of its notifications and the
/// reminders of its legal clocks. Call it from every place an incident is opened.
///
/// The incident is already stored when this runs, so a failure to queue cannot undo it;
/// answering the request with an error would only invite a retry that opens a second
/// incident. The failure is logged as an error instead, naming the incident. Exercises
/// notify nobody: a tabletop must not page real people.
pub async fn incident_opened(state: &AppState, incident: &Incident) {
    if incident.exercise {
        return;
    }
    let why = if is_untriaged_report(incident) {
        Why::Reported
    } else {
        Why::Opened
    };
    let now = state.clock.now();
    let job = NewJob {
        kind: JobKind::PlanIncidentNotifications,
        payload: json(&PlanPayload {
            incident_id: incident.id,
            why,
        }),
        run_at: now,
        incident_id: Some(incident.id),
        dedupe_key: Some(format!("plan:{}:{}", incident.id, why.as_str())),
    };
    if let Err(e) = state.store.enqueue_job(&job, now).await {
        tracing::error!(incident = incident.id, error = %e, "could not queue the incident's notifications");
    }
    schedule_clock_reminders(state, incident.id).await;
}

/// A suspicion from the report form that nobody has triaged yet: only rules written for
/// reports apply to it.
pub(crate) fn is_untriaged_report(incident: &Incident) -> bool {
    incident.phase == Phase::Reported && incident.detection_source == DetectionSource::UserReport
}

/// Queues a second look at the rules when an incident became more serious or changed
/// category: a level-2 incident raised to 4 must reach whoever level 4 asks for. Lowering the
/// level tells nobody and recalls nothing. The dedupe key names the level and category, so
/// going up and down and up again plans once per combination.
pub async fn incident_changed(state: &AppState, before: &Incident, after: &Incident) {
    if after.exercise {
        return;
    }
    let raised = after.severity > before.severity;
    let recategorised = after.category != before.category;
    let triaged = is_untriaged_report(before) && !is_untriaged_report(after);
    if !(raised || recategorised || triaged) {
        return;
    }
    let now = state.clock.now();
    let job = NewJob {
        kind: JobKind::PlanIncidentNotifications,
        payload: json(&PlanPayload {
            incident_id: after.id,
            why: Why::Changed,
        }),
        run_at: now,
        incident_id: Some(after.id),
        dedupe_key: Some(format!(
            "plan:{}:changed:{}:{}:{}",
            after.id,
            after.severity,
            after.category.as_str(),
            is_untriaged_report(after)
        )),
    };
    if let Err(e) = state.store.enqueue_job(&job, now).await {
        tracing::error!(incident = after.id, error = %e, "could not queue the incident's notifications");
    }
}

/// Queues the due-soon and overdue reminders of every unmet legal clock of the incident.
/// Idempotent (dedupe `clock:{id}:due_soon|overdue`), so call it whenever clocks may have
/// appeared: after opening, after an edit, after adding a clock. A clock whose deadline
/// moves is handled by the reminder itself, which waits for the new time.
pub async fn schedule_clock_reminders(state: &AppState, incident_id: i64) {
    if let Err(e) = try_schedule_clock_reminders(state, incident_id).await {
        tracing::error!(incident = incident_id, error = %e, "could not queue legal-clock reminders");
    }
}

async fn try_schedule_clock_reminders(
    state: &AppState,
    incident_id: i64,
) -> Result<(), StoreError> {
    let now = state.clock.now();
    if state
        .store
        .get_incident(incident_id)
        .await?
        .is_none_or(|i| i.exercise)
    {
        return Ok(());
    }
    for clock in state.store.list_legal_clocks(incident_id).await? {
        if clock.met_at.is_some() {
            continue;
        }
        for reminder in [Reminder::DueSoon, Reminder::Overdue] {
            let job = NewJob {
                kind: JobKind::ClockReminder,
                payload: json(&ReminderPayload {
                    incident_id,
                    clock_id: clock.id,
                    reminder,
                }),
                run_at: reminder_at(&clock, reminder),
                incident_id: Some(incident_id),
                dedupe_key: Some(format!("clock:{}:{}", clock.id, reminder.as_str())),
            };
            state.store.enqueue_job(&job, now).await?;
        }
    }
    Ok(())
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

// --- the worker loop -------------------------------------------------------------------------

/// A worker name unique to this process: host, process id and a random part (two processes
/// in one container can share a pid namespace's numbers across restarts).
pub fn worker_name(state: &AppState) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kizuki".to_owned());
    let seed = state.entropy.seed();
    format!(
        "{host}:{}:{}",
        std::process::id(),
        hex::encode(seed.get(..4).unwrap_or_default())
    )
}

/// Runs [`run_due`] every `state.notify.interval` until `stop` turns true (or its sender is
/// dropped). A run in progress is finished first, so no job is left half-handled by a clean
/// shutdown (a killed process leaves its jobs to be reclaimed when the lease runs out).
pub async fn run_worker(
    state: AppState,
    worker: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!(%worker, "notification worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let handled = run_due(&state, &worker, state.clock.now()).await;
        if handled > 0 {
            tracing::debug!(%worker, handled, "notification jobs handled");
        }
        // A full batch means more may be waiting: go again at once.
        if handled >= state.notify.batch as usize {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(state.notify.interval) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!(%worker, "notification worker stopped");
}
