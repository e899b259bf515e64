//! What the store keeps for notifications (issue #5): the durable job queue, the
//! notifications themselves, the phone tree, and the configuration an administrator edits
//! (rules, the escalation chain, message templates, on-call rotations, webhook targets).
//!
//! # The job queue and exactly-once
//!
//! Every pending send, retry, escalation and reminder is a row of `jobs`. A worker
//! *claims* due rows ([`crate::Store::claim_jobs`]): one statement moves them to `running`
//! and stamps them with the worker's name and a lease end; PostgreSQL skips rows another
//! replica has locked (`FOR UPDATE SKIP LOCKED`), SQLite has a single writer. A job whose
//! lease ran out (its worker died) is claimable again.
//!
//! A worker owns a job only while its lease lasts. Everything a job does to the database
//! (its [`JobEffects`]) is written by [`crate::Store::finish_job`] in the *same*
//! transaction that checks the lease and marks the job done. So either the job is done
//! and its effects exist, or neither: a worker killed half-way leaves no effects and the
//! job is claimed again; a stale worker whose lease was taken over is refused
//! ([`crate::StoreError::LeaseLost`]) and writes nothing. Outside effects (an e-mail, a
//! webhook call) are at least once; the notification's `sent` mark, the timeline entry and
//! the next escalation step are exactly once.

use jiff::Timestamp;
use kizuki_domain::notification::{AckVia, CallOutcome, JobKind, JobState, NotificationState};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{TimelineEntry, TimelineEntryFields};
use kizuki_notify::escalation::EscalationChain;
use kizuki_notify::oncall::RotationSpec;
use kizuki_notify::rule::{Channel, NotificationRule};
use kizuki_notify::template::TemplateKind;
use kizuki_notify::webhook::Format;
use serde::{Deserialize, Serialize};

// --- jobs ------------------------------------------------------------------------------------

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: JobKind,
    /// What the job needs to know; its shape is the worker's business.
    pub payload: serde_json::Value,
    pub run_at: Timestamp,
    /// The incident the job is about, so the admin view can filter and a job never
    /// outlives its incident.
    pub incident_id: Option<i64>,
    /// At most one job ever exists with this key: enqueueing it again returns the first.
    /// Use it for anything planned from a fact, e.g. `escalate:{incident}:{step}`.
    pub dedupe_key: Option<String>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub payload: serde_json::Value,
    pub incident_id: Option<i64>,
    pub run_at: Timestamp,
    pub state: JobState,
    /// How many times it has been claimed (a claim whose worker died counts too).
    pub attempts: u32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// Which jobs the administrators' view lists, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<JobKind>,
    pub incident_id: Option<i64>,
    /// 0 means 100; at most 1000.
    pub limit: u32,
}

impl JobFilter {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 1000;

    /// The limit a backend applies.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}

/// A timeline entry a job writes.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectEntry {
    pub incident_id: i64,
    pub entry: TimelineEntryFields,
}

/// A notification whose send failed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub notification_id: i64,
    pub error: String,
}

/// Everything a job writes to the database, written together with the job's completion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobEffects {
    pub notifications: Vec<NewNotification>,
    /// Notifications to mark sent (at the finishing `now`).
    pub sent: Vec<i64>,
    pub failed: Vec<SendFailure>,
    pub timeline: Vec<EffectEntry>,
    /// Follow-up jobs; one whose dedupe key exists already is not added again.
    pub jobs: Vec<NewJob>,
}

/// What a finished job wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedJob {
    pub job: Job,
    /// The new notifications, in the order given.
    pub notifications: Vec<Notification>,
    /// Jobs enqueued: the follow-ups given (or the rows already holding their dedupe keys),
    /// then one `send_notification` job per new notification with a `send_at`.
    pub jobs: Vec<Job>,
    pub timeline: Vec<TimelineEntry>,
}

/// The payload of a `send_notification` job the store enqueues for a new notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPayload {
    pub notification_id: i64,
}

impl SendPayload {
    /// The dedupe key of the one send job of a notification.
    pub fn dedupe_key(notification_id: i64) -> String {
        format!("send_notification:{notification_id}")
    }
}

// --- notifications ---------------------------------------------------------------------------

/// One message to one recipient through one channel about one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub incident_id: i64,
    /// The rules that asked for it (empty for an escalation step or a reminder).
    pub rule_ids: Vec<i64>,
    /// The escalation step (0-based) that sent it, if one did.
    pub escalation_step: Option<u32>,
    /// The legal clock a reminder is about.
    pub clock_id: Option<i64>,
    pub user_id: Option<i64>,
    pub party_id: Option<i64>,
    /// The resolved address (e-mail, phone number, or the webhook's name), as sent.
    pub address: String,
    pub channel: Channel,
    pub language: Language,
    pub template: TemplateKind,
    /// When set, a `send_notification` job ([`SendPayload`]) is enqueued for it at this time.
    pub send_at: Option<Timestamp>,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub incident_id: i64,
    pub rule_ids: Vec<i64>,
    pub escalation_step: Option<u32>,
    /// The legal clock a reminder is about (`None` once that clock is deleted).
    pub clock_id: Option<i64>,
    pub user_id: Option<i64>,
    pub party_id: Option<i64>,
    pub address: String,
    pub channel: Channel,
    pub language: Language,
    pub template: TemplateKind,
    pub state: NotificationState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<i64>,
    pub ack_via: Option<AckVia>,
}

/// The answer to an acknowledgement: the notification, and whether this call was the one
/// that acknowledged it (the first one wins; later ones change nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Acknowledged {
    pub notification: Notification,
    pub first: bool,
    /// The timeline entry written with the first acknowledgement.
    pub entry: Option<TimelineEntry>,
}

// --- phone tree ------------------------------------------------------------------------------

/// One call made down the phone tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoneCall {
    pub outcome: CallOutcome,
    pub note: String,
    pub called_by: Option<i64>,
    pub called_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCall {
    pub id: i64,
    pub notification_id: i64,
    pub outcome: CallOutcome,
    pub note: String,
    pub called_by: Option<i64>,
    pub called_at: Timestamp,
}

/// One person on the incident's call list (a phone-tree notification) and the calls made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneTreeLine {
    pub notification: Notification,
    /// Oldest first; the last one is where the line stands.
    pub calls: Vec<PhoneCall>,
    /// Pass back when recording the next call: two people ticking the same line at once
    /// cannot both write on the same version.
    pub version: i64,
}

// --- configuration ---------------------------------------------------------------------------

/// A rule as stored; `rule.id` is the store's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub rule: NotificationRule,
    pub version: i64,
    pub updated_at: Timestamp,
}

/// The organisation's escalation chain. There is one: `kizuki-notify` counts its steps from
/// an incident's first notification, whichever rules sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChain {
    pub chain: EscalationChain,
    pub version: i64,
    pub updated_by: Option<i64>,
    pub updated_at: Timestamp,
}

/// A message template of one kind in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub kind: TemplateKind,
    pub language: Language,
    pub subject: String,
    pub body: String,
    /// 0 for the built-in default (nothing stored); pass it back when saving.
    pub version: i64,
    pub updated_by: Option<i64>,
    pub updated_at: Option<Timestamp>,
}

impl StoredTemplate {
    /// The built-in message, as it stands when no administrator has changed it.
    pub fn built_in(kind: TemplateKind, language: Language) -> StoredTemplate {
        let (subject, body) = kizuki_notify::template::default_source(kind, language);
        StoredTemplate {
            kind,
            language,
            subject: subject.to_owned(),
            body: body.to_owned(),
            version: 0,
            updated_by: None,
            updated_at: None,
        }
    }

    pub fn is_built_in(&self) -> bool {
        self.version == 0
    }
}

/// An on-call rotation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRotation {
    pub id: i64,
    pub spec: RotationSpec,
    pub version: i64,
    pub updated_at: Timestamp,
}

/// A webhook target as an administrator writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTargetFields {
    pub name: String,
    pub format: Format,
    pub url: String,
    /// The signing secret of a signed-JSON target. On update, `None` keeps the stored one.
    pub secret: Option<String>,
    pub enabled: bool,
}

/// A webhook target as listed: the secret is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub id: i64,
    pub name: String,
    pub format: Format,
    pub url: String,
    pub has_secret: bool,
    pub enabled: bool,
    pub version: i64,
    pub updated_at: Timestamp,
}

/// The stored name of a webhook format.
pub fn format_name(f: Format) -> &'static str {
    match f {
        Format::Slack => "slack",
        Format::Teams => "teams",
        Format::Mattermost => "mattermost",
        Format::SignedJson => "signed_json",
    }
}

/// Every webhook format, for CHECK constraints and tests.
pub const FORMATS: &[Format] = &[
    Format::Slack,
    Format::Teams,
    Format::Mattermost,
    Format::SignedJson,
];

/// Reads a stored format name back.
pub fn parse_format(s: &str) -> Option<Format> {
    FORMATS.iter().copied().find(|f| format_name(*f) == s)
}

/// A channel as its stored parts: the name and, for a webhook, the target's id.
pub fn channel_parts(c: Channel) -> (&'static str, Option<i64>) {
    match c {
        Channel::Email => ("email", None),
        Channel::Webhook { webhook_id } => ("webhook", Some(webhook_id)),
        Channel::PhoneTree => ("phone_tree", None),
    }
}

/// A channel back from its stored parts; `None` if they do not fit together.
pub fn channel_from_parts(name: &str, webhook_id: Option<i64>) -> Option<Channel> {
    match (name, webhook_id) {
        ("email", None) => Some(Channel::Email),
        ("webhook", Some(webhook_id)) => Some(Channel::Webhook { webhook_id }),
        ("phone_tree", None) => Some(Channel::PhoneTree),
        _ => None,
    }
}

/// Every template kind's stored name, for CHECK constraints and tests.
pub fn template_kind_from_str(s: &str) -> Option<TemplateKind> {
    TemplateKind::ALL.iter().copied().find(|k| k.as_str() == s)
}

/// Every kind in every language: the stored template where there is one, else the built-in.
pub fn every_template(stored: Vec<StoredTemplate>) -> Vec<StoredTemplate> {
    let mut out = Vec::with_capacity(TemplateKind::ALL.len() * Language::ALL.len());
    for kind in TemplateKind::ALL {
        for language in Language::ALL {
            let found = stored
                .iter()
                .find(|t| t.kind == *kind && t.language == *language)
                .cloned();
            out.push(found.unwrap_or_else(|| StoredTemplate::built_in(*kind, *language)));
        }
    }
    out
}
