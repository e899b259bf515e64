//! Handling one claimed job of each kind.

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::Incident;
use kizuki_domain::notification::{JobKind, NotificationState};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{
    EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields, day_label,
};
use kizuki_domain::user::{Role, User};
use kizuki_notify::ack;
use kizuki_notify::oncall::Rotation;
use kizuki_notify::retry::Next;
use kizuki_notify::rule::{self, Channel, IncidentFacts, PlannedNotification, Recipient};
use kizuki_notify::template::{Field, MessageTemplate, TemplateKind, Values};
use kizuki_notify::webhook::{self, ChatMessage, Event, EventIncident, EventType};
use kizuki_store::{
    EffectEntry, Job, JobEffects, NewJob, NewNotification, Notification, SendFailure, SendPayload,
    StoreError,
};

use super::{EscalatePayload, PlanPayload, Reminder, ReminderPayload, Why, json, reminder_at};
use crate::AppState;
use crate::delivery::{DeliveryError, OutgoingEmail};
use crate::web::i18n::Tr;

/// What became of a job.
enum Verdict {
    /// Done: write these effects with the job's completion.
    Finish(JobEffects),
    /// Put back in the queue to run at this time.
    Later { at: Timestamp, error: String },
    /// Cannot ever succeed: give up, keeping the job listed for an administrator.
    Dead(String),
}

/// Why handling a job stopped short.
#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("the job's payload is not what a {kind} job needs: {error}")]
    Payload {
        kind: JobKind,
        error: serde_json::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Claims the jobs due at `now` for `worker` and handles them. Returns how many were claimed.
/// Failures are logged, never returned: one bad job must not stop the others, and each job's
/// own state (retry, dead, failed notification) is where a person sees what went wrong.
pub async fn run_due(state: &AppState, worker: &str, now: Timestamp) -> usize {
    let settings = &state.notify;
    let jobs = match state
        .store
        .claim_jobs(worker, now, settings.lease, settings.batch)
        .await
    {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::error!(%worker, error = %e, "could not claim notification jobs");
            return 0;
        }
    };
    let claimed = jobs.len();
    futures::stream::iter(jobs)
        .for_each_concurrent(settings.concurrency.max(1), |job| {
            run_job(state, worker, job)
        })
        .await;
    claimed
}

/// Handles one job `worker` has claimed and records the outcome.
pub async fn run_job(state: &AppState, worker: &str, job: Job) {
    // A job whose lease ran out while it waited in the batch belongs to whoever reclaims it:
    // starting it now could send a message twice.
    if job
        .lease_until
        .is_some_and(|until| state.clock.now() >= until)
    {
        tracing::warn!(job = job.id, %worker, "lease ran out before the job started; left for another run");
        return;
    }
    let verdict = match handle(state, &job).await {
        Ok(v) => v,
        Err(JobError::Store(e)) => {
            // The database hiccuped: try again shortly, like any transient failure.
            let delay = state
                .notify
                .backoff
                .delay(job.attempts.max(1), jitter(state));
            Verdict::Later {
                at: after(state.clock.now(), delay),
                error: format!("database error: {e}"),
            }
        }
        Err(e @ JobError::Payload { .. }) => Verdict::Dead(e.to_string()),
    };
    let now = state.clock.now();
    let result = match verdict {
        Verdict::Finish(effects) => state
            .store
            .finish_job(job.id, worker, &effects, now)
            .await
            .map(|_| ()),
        Verdict::Later { at, error } => state
            .store
            .retry_job(job.id, worker, at, &error, now)
            .await
            .map(|_| ()),
        Verdict::Dead(error) => {
            tracing::error!(job = job.id, kind = %job.kind, %error, "notification job given up");
            state
                .store
                .fail_job(job.id, worker, &error, now)
                .await
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => {}
        // Another worker took the job over after our lease ran out; it writes the effects.
        Err(StoreError::LeaseLost { .. }) => {
            tracing::debug!(job = job.id, %worker, "lease lost; the job's new holder finishes it");
        }
        Err(e) => {
            tracing::error!(job = job.id, %worker, error = %e, "could not record a job's outcome")
        }
    }
}

async fn handle(state: &AppState, job: &Job) -> Result<Verdict, JobError> {
    let payload = |error| JobError::Payload {
        kind: job.kind,
        error,
    };
    match job.kind {
        JobKind::PlanIncidentNotifications => {
            let p: PlanPayload = serde_json::from_value(job.payload.clone()).map_err(payload)?;
            plan_incident(state, p).await
        }
        JobKind::SendNotification => {
            let p: SendPayload = serde_json::from_value(job.payload.clone()).map_err(payload)?;
            send(state, job, p.notification_id).await
        }
        JobKind::Escalate => {
            let p: EscalatePayload =
                serde_json::from_value(job.payload.clone()).map_err(payload)?;
            escalate(state, p).await
        }
        JobKind::ClockReminder => {
            let p: ReminderPayload =
                serde_json::from_value(job.payload.clone()).map_err(payload)?;
            clock_reminder(state, p).await
        }
    }
}

fn after(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_add(d).unwrap_or(Timestamp::MAX)
}

fn minutes(m: u32) -> SignedDuration {
    SignedDuration::from_mins(i64::from(m))
}

/// A random fraction in `[0, 1)` for back-off jitter, from the state's injected entropy.
fn jitter(state: &AppState) -> f64 {
    let seed = state.entropy.seed();
    let mut b = [0u8; 8];
    b.copy_from_slice(seed.get(..8).unwrap_or(&[0; 8]));
    // 53 random bits make every f64 in [0, 1) equally likely to the precision it has.
    #[allow(clippy::cast_precision_loss)]
    let f = (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
    f
}

// --- recipients ------------------------------------------------------------------------------

/// A person (or directory contact) a recipient resolved to.
#[derive(Debug, Clone)]
struct Person {
    user_id: Option<i64>,
    party_id: Option<i64>,
    name: String,
    email: String,
    phone: String,
    language: Option<Language>,
    /// "on call", for the timeline.
    note: Option<&'static str>,
}

impl Person {
    fn user(u: &User) -> Person {
        Person {
            user_id: Some(u.id),
            party_id: None,
            name: u.display_name.clone(),
            email: u.email.clone(),
            phone: String::new(),
            language: u.language,
            note: None,
        }
    }
}

/// Resolves recipients to people *now*: a role to its active users, a rotation to whoever it
/// names at this instant, a party to the incident's contact. Something that resolves to
/// nobody is reported in `missing` for the timeline, never dropped silently.
struct Resolver<'a> {
    state: &'a AppState,
    incident_id: i64,
    now: Timestamp,
    users: Option<Vec<User>>,
    missing: Vec<String>,
}

impl<'a> Resolver<'a> {
    fn new(state: &'a AppState, incident_id: i64, now: Timestamp) -> Self {
        Resolver {
            state,
            incident_id,
            now,
            users: None,
            missing: Vec::new(),
        }
    }

    async fn users(&mut self) -> Result<&[User], StoreError> {
        if self.users.is_none() {
            self.users = Some(self.state.store.list_users().await?);
        }
        Ok(self.users.as_deref().unwrap_or_default())
    }

    async fn resolve(&mut self, recipient: Recipient) -> Result<Vec<Person>, StoreError> {
        let lang = self.state.settings.language;
        let found = match recipient {
            Recipient::Role { role } => self
                .users()
                .await?
                .iter()
                .filter(|u| u.active && u.role == role)
                .map(Person::user)
                .collect(),
            Recipient::User { user_id } => self
                .users()
                .await?
                .iter()
                .filter(|u| u.active && u.id == user_id)
                .map(Person::user)
                .collect(),
            Recipient::Party { party_id } => self
                .state
                .store
                .list_parties(self.incident_id)
                .await?
                .into_iter()
                .filter(|p| p.id == party_id)
                .map(|p| Person {
                    user_id: None,
                    party_id: Some(p.id),
                    name: if p.organisation.is_empty() {
                        p.name
                    } else {
                        format!("{} ({})", p.name, p.organisation)
                    },
                    email: p.email,
                    phone: p.phone,
                    language: None,
                    note: None,
                })
                .collect(),
            Recipient::OnCall { rotation_id } => {
                let Some(stored) = self.state.store.get_rotation(rotation_id).await? else {
                    self.missing.push(missing_text(lang, recipient, "gone"));
                    return Ok(Vec::new());
                };
                let on_call = Rotation::new(&stored.spec)
                    .ok()
                    .and_then(|r| r.on_call_at(self.now));
                let Some(on_call) = on_call else {
                    self.missing
                        .push(missing_text(lang, recipient, &stored.spec.name));
                    return Ok(Vec::new());
                };
                self.users()
                    .await?
                    .iter()
                    .filter(|u| u.active && u.id == on_call.user_id)
                    .map(|u| Person {
                        note: Some("on call"),
                        ..Person::user(u)
                    })
                    .collect()
            }
        };
        let found: Vec<Person> = found;
        if found.is_empty() {
            self.missing.push(missing_text(lang, recipient, ""));
        }
        Ok(found)
    }
}

fn recipient_label(r: Recipient) -> String {
    match r {
        Recipient::Role { role } => format!("role {role}"),
        Recipient::User { user_id } => format!("user {user_id}"),
        Recipient::Party { party_id } => format!("party {party_id}"),
        Recipient::OnCall { rotation_id } => format!("on-call rotation {rotation_id}"),
    }
}

fn missing_text(lang: Language, r: Recipient, detail: &str) -> String {
    let label = recipient_label(r);
    let detail = if detail.is_empty() || detail == "gone" {
        String::new()
    } else {
        format!(" ({detail})")
    };
    match lang {
        Language::Ja => format!("{label}{detail}：該当者なし"),
        Language::En => format!("{label}{detail}: nobody to reach"),
    }
}

/// Builds the notifications for `planned`, one per person and channel (a webhook once per
/// target: it posts to a shared room, not to a person). A person reached twice on one
/// channel is told once, with every asking rule recorded.
async fn notifications_for(
    resolver: &mut Resolver<'_>,
    planned: &[PlannedNotification],
    template: TemplateKind,
    escalation_step: Option<u32>,
) -> Result<(Vec<NewNotification>, Vec<String>), StoreError> {
    let state = resolver.state;
    let now = resolver.now;
    let org_lang = state.settings.language;
    let mut out: Vec<NewNotification> = Vec::new();
    let mut told: Vec<String> = Vec::new();
    let webhooks = state.store.list_webhook_targets().await?;
    for p in planned {
        if let Channel::Webhook { webhook_id } = p.channel {
            if let Some(n) = out.iter_mut().find(|n| n.channel == p.channel) {
                merge_rules(&mut n.rule_ids, &p.rule_ids);
                continue;
            }
            let Some(target) = webhooks.iter().find(|w| w.id == webhook_id && w.enabled) else {
                resolver.missing.push(match org_lang {
                    Language::Ja => format!("Webhook {webhook_id}：存在しないか無効"),
                    Language::En => format!("webhook {webhook_id}: missing or disabled"),
                });
                continue;
            };
            told.push(format!("{} (webhook)", target.name));
            out.push(NewNotification {
                incident_id: resolver.incident_id,
                rule_ids: p.rule_ids.clone(),
                escalation_step,
                clock_id: None,
                user_id: None,
                party_id: None,
                address: target.name.clone(),
                channel: p.channel,
                language: org_lang,
                template,
                send_at: Some(now),
            });
            continue;
        }
        for person in resolver.resolve(p.recipient).await? {
            let address = match p.channel {
                Channel::Email => person.email.clone(),
                _ if !person.phone.is_empty() => person.phone.clone(),
                _ => person.email.clone(),
            };
            if address.trim().is_empty() {
                resolver.missing.push(match org_lang {
                    Language::Ja => format!("{}：連絡先が未登録", person.name),
                    Language::En => format!("{}: no address on record", person.name),
                });
                continue;
            }
            if let Some(n) = out
                .iter_mut()
                .find(|n| n.channel == p.channel && n.address == address)
            {
                merge_rules(&mut n.rule_ids, &p.rule_ids);
                continue;
            }
            let route = match (p.channel, org_lang) {
                (Channel::PhoneTree, Language::Ja) => "電話連絡網",
                (Channel::PhoneTree, Language::En) => "phone tree",
                (_, Language::Ja) => "メール",
                (_, Language::En) => "e-mail",
            };
            let note = match (person.note, org_lang) {
                (Some(_), Language::Ja) => "・当番",
                (Some(_), Language::En) => ", on call",
                (None, _) => "",
            };
            told.push(format!("{} <{address}> ({route}{note})", person.name));
            out.push(NewNotification {
                incident_id: resolver.incident_id,
                rule_ids: p.rule_ids.clone(),
                escalation_step,
                clock_id: None,
                user_id: person.user_id,
                party_id: person.party_id,
                address,
                channel: p.channel,
                language: person.language.unwrap_or(org_lang),
                template,
                send_at: Some(now),
            });
        }
    }
    Ok((out, told))
}

fn merge_rules(into: &mut Vec<i64>, from: &[i64]) {
    for id in from {
        if !into.contains(id) {
            into.push(*id);
        }
    }
}

fn entry(state: &AppState, incident_id: i64, now: Timestamp, text: String) -> EffectEntry {
    EffectEntry {
        incident_id,
        entry: TimelineEntryFields {
            occurred_at: now,
            precision: TimePrecision::Minute,
            day_part: None,
            lane: Lane::CisoCsirt,
            actor: match state.settings.language {
                Language::Ja => "Kizuki 通知".to_owned(),
                Language::En => "Kizuki notifications".to_owned(),
            },
            kind: EntryKind::Communication,
            text,
            source: EntrySource::Notification,
        },
    }
}

/// "A, B and C" / "A、B、C", with what could not be reached after it.
fn told_text(lang: Language, told: &[String], missing: &[String]) -> String {
    let sep = match lang {
        Language::Ja => "、",
        Language::En => "; ",
    };
    let mut text = if told.is_empty() {
        match lang {
            Language::Ja => "（だれにも送られません）".to_owned(),
            Language::En => "(nobody)".to_owned(),
        }
    } else {
        told.join(sep)
    };
    if !missing.is_empty() {
        text.push_str(match lang {
            Language::Ja => "。届かない宛先：",
            Language::En => ". Not reachable: ",
        });
        text.push_str(&missing.join(sep));
    }
    text
}

// --- plan ------------------------------------------------------------------------------------

/// Plans a new incident's notifications. Besides the matching rules, the first message of
/// every new incident (reports included: first responders triage them) goes by e-mail to
/// whoever each on-call rotation names now, unless a matching rule already reaches that
/// rotation by some channel; the rule then decides the route. So "who is on call hears
/// first" holds even before any rule is written.
async fn plan_incident(state: &AppState, p: PlanPayload) -> Result<Verdict, JobError> {
    let now = state.clock.now();
    let Some(incident) = state.store.get_incident(p.incident_id).await? else {
        return Ok(Verdict::Dead(format!(
            "incident {} no longer exists",
            p.incident_id
        )));
    };
    let mut rules: Vec<_> = state
        .store
        .list_rules()
        .await?
        .into_iter()
        .map(|s| s.rule)
        .collect();
    rules.sort_by_key(|r| r.id);
    let facts = IncidentFacts {
        severity: incident.severity,
        category: incident.category,
        is_report: match p.why {
            Why::Reported => true,
            Why::Opened => false,
            Why::Changed => super::is_untriaged_report(&incident),
        },
    };
    let mut planned = rule::plan(&rules, &facts);
    for rotation in state.store.list_rotations().await? {
        let on_call = Recipient::OnCall {
            rotation_id: rotation.id,
        };
        if !planned.iter().any(|n| n.recipient == on_call) {
            planned.insert(
                0,
                PlannedNotification {
                    recipient: on_call,
                    channel: Channel::Email,
                    template_id: TemplateKind::NewIncident.as_str().to_owned(),
                    rule_ids: Vec::new(),
                },
            );
        }
    }
    let mut resolver = Resolver::new(state, incident.id, now);
    let (mut notifications, mut told) =
        notifications_for(&mut resolver, &planned, TemplateKind::NewIncident, None).await?;
    let lang = state.settings.language;
    if p.why == Why::Changed {
        // Whoever was told already (by any earlier plan, step or reminder) is not told again.
        let earlier = state.store.list_notifications(incident.id).await?;
        let mut kept = Vec::new();
        let mut kept_told = Vec::new();
        for (n, line) in notifications.into_iter().zip(told) {
            if !earlier
                .iter()
                .any(|e| e.channel == n.channel && e.address == n.address)
            {
                kept.push(n);
                kept_told.push(line);
            }
        }
        (notifications, told) = (kept, kept_told);
        if notifications.is_empty() {
            return Ok(Verdict::Finish(JobEffects::default()));
        }
    }
    let told = told_text(lang, &told, &resolver.missing);
    let text = match (p.why, lang) {
        (Why::Changed, Language::Ja) => format!(
            "レベル{}（{}）に変わったため、まだ知らない人に通知します：{told}",
            incident.severity,
            incident.category.as_str()
        ),
        (Why::Changed, Language::En) => format!(
            "Now level {} ({}): telling those not yet told: {told}",
            incident.severity,
            incident.category.as_str()
        ),
        (_, Language::Ja) => format!("新しいインシデントを通知します：{told}"),
        (_, Language::En) => format!("Telling about the new incident: {told}"),
    };
    let mut jobs = Vec::new();
    if let Some(chain) = state.store.escalation_chain().await?
        && let Some(first) = chain.chain.steps.first()
    {
        let next = EscalatePayload {
            incident_id: incident.id,
            step: 0,
        };
        jobs.push(NewJob {
            kind: JobKind::Escalate,
            payload: json(&next),
            run_at: after(now, minutes(first.after_minutes)),
            incident_id: Some(incident.id),
            dedupe_key: Some(next.dedupe_key()),
        });
    }
    Ok(Verdict::Finish(JobEffects {
        notifications,
        timeline: vec![entry(state, incident.id, now, text)],
        jobs,
        ..JobEffects::default()
    }))
}

// --- escalate --------------------------------------------------------------------------------

/// Sends step `step` of the chain unless someone has acknowledged, and queues the next.
async fn escalate(state: &AppState, p: EscalatePayload) -> Result<Verdict, JobError> {
    let now = state.clock.now();
    if state
        .store
        .incident_acknowledged_at(p.incident_id)
        .await?
        .is_some()
    {
        return Ok(Verdict::Finish(JobEffects::default()));
    }
    let Some(chain) = state.store.escalation_chain().await? else {
        return Ok(Verdict::Finish(JobEffects::default()));
    };
    let steps = &chain.chain.steps;
    let index = usize::try_from(p.step).unwrap_or(usize::MAX);
    let Some(step) = steps.get(index) else {
        // The chain was shortened since the job was queued: nothing more to do.
        return Ok(Verdict::Finish(JobEffects::default()));
    };
    if state.store.get_incident(p.incident_id).await?.is_none() {
        return Ok(Verdict::Dead(format!(
            "incident {} no longer exists",
            p.incident_id
        )));
    }
    let waited: u32 = steps.iter().take(index + 1).map(|s| s.after_minutes).sum();
    let planned: Vec<PlannedNotification> = step
        .recipients
        .iter()
        .flat_map(|r| {
            step.channels.iter().map(|c| PlannedNotification {
                recipient: *r,
                channel: *c,
                template_id: TemplateKind::Escalation.as_str().to_owned(),
                rule_ids: Vec::new(),
            })
        })
        .collect();
    let mut resolver = Resolver::new(state, p.incident_id, now);
    let (notifications, told) = notifications_for(
        &mut resolver,
        &planned,
        TemplateKind::Escalation,
        Some(p.step),
    )
    .await?;
    let lang = state.settings.language;
    let text = match lang {
        Language::Ja => format!(
            "{waited} 分たっても確認がないため、エスカレーション（段階 {}）：{}",
            p.step + 1,
            told_text(lang, &told, &resolver.missing)
        ),
        Language::En => format!(
            "No acknowledgement after {waited} min: escalating (step {}) to {}",
            p.step + 1,
            told_text(lang, &told, &resolver.missing)
        ),
    };
    let mut jobs = Vec::new();
    if let Some(next_step) = steps.get(index + 1) {
        let next = EscalatePayload {
            incident_id: p.incident_id,
            step: p.step + 1,
        };
        jobs.push(NewJob {
            kind: JobKind::Escalate,
            payload: json(&next),
            run_at: after(now, minutes(next_step.after_minutes)),
            incident_id: Some(p.incident_id),
            dedupe_key: Some(next.dedupe_key()),
        });
    }
    Ok(Verdict::Finish(JobEffects {
        notifications,
        timeline: vec![entry(state, p.incident_id, now, text)],
        jobs,
        ..JobEffects::default()
    }))
}

// --- clock reminders -------------------------------------------------------------------------

/// Reminds PR/legal (the role that owns legal clocks; the incident commanders when nobody
/// holds it) of a clock that is due soon or overdue, unless it has been met.
async fn clock_reminder(state: &AppState, p: ReminderPayload) -> Result<Verdict, JobError> {
    let now = state.clock.now();
    let clocks = state.store.list_legal_clocks(p.incident_id).await?;
    let Some(clock) = clocks.into_iter().find(|c| c.id == p.clock_id) else {
        return Ok(Verdict::Finish(JobEffects::default()));
    };
    if clock.met_at.is_some() {
        return Ok(Verdict::Finish(JobEffects::default()));
    }
    // The deadline moved later (the awareness time was corrected): wait for the new time.
    let at = reminder_at(&clock, p.reminder);
    if now < at {
        return Ok(Verdict::Later {
            at,
            error: "the clock's deadline moved; waiting for the new time".into(),
        });
    }
    let template = match p.reminder {
        Reminder::DueSoon => TemplateKind::ClockDueSoon,
        Reminder::Overdue => TemplateKind::ClockOverdue,
    };
    let mut resolver = Resolver::new(state, p.incident_id, now);
    let mut planned = vec![PlannedNotification {
        recipient: Recipient::Role {
            role: Role::PrLegal,
        },
        channel: Channel::Email,
        template_id: template.as_str().to_owned(),
        rule_ids: Vec::new(),
    }];
    if resolver
        .users()
        .await?
        .iter()
        .all(|u| !(u.active && u.role == Role::PrLegal))
    {
        planned[0].recipient = Recipient::Role {
            role: Role::IncidentCommander,
        };
    }
    let (mut notifications, told) =
        notifications_for(&mut resolver, &planned, template, None).await?;
    for n in &mut notifications {
        n.clock_id = Some(clock.id);
    }
    let lang = state.settings.language;
    let text = match (p.reminder, lang) {
        (Reminder::DueSoon, Language::Ja) => format!(
            "法定期限「{}」が近づいています。通知先：{}",
            clock.name,
            told_text(lang, &told, &resolver.missing)
        ),
        (Reminder::DueSoon, Language::En) => format!(
            "Legal clock \"{}\" is due soon. Reminding {}",
            clock.name,
            told_text(lang, &told, &resolver.missing)
        ),
        (Reminder::Overdue, Language::Ja) => format!(
            "法定期限「{}」を過ぎています。通知先：{}",
            clock.name,
            told_text(lang, &told, &resolver.missing)
        ),
        (Reminder::Overdue, Language::En) => format!(
            "Legal clock \"{}\" is overdue. Reminding {}",
            clock.name,
            told_text(lang, &told, &resolver.missing)
        ),
    };
    Ok(Verdict::Finish(JobEffects {
        notifications,
        timeline: vec![entry(state, p.incident_id, now, text)],
        ..JobEffects::default()
    }))
}

// --- send ------------------------------------------------------------------------------------

/// Why a message could not be made or sent.
enum SendError {
    /// From the sender: its own verdict decides retry or give up.
    Delivery(DeliveryError),
    /// Nothing to retry: a person must change something (configuration, template).
    Permanent(String),
}

/// Sends one notification. Success and permanent failure finish the job (the notification
/// marked sent or failed, a timeline line either way); a passing failure marks the
/// notification failed for the record and puts the job back with back-off.
async fn send(state: &AppState, job: &Job, notification_id: i64) -> Result<Verdict, JobError> {
    let Some(n) = state.store.get_notification(notification_id).await? else {
        return Ok(Verdict::Dead(format!(
            "notification {notification_id} no longer exists"
        )));
    };
    if matches!(
        n.state,
        NotificationState::Sent | NotificationState::Acknowledged
    ) {
        return Ok(Verdict::Finish(JobEffects::default()));
    }
    let Some(incident) = state.store.get_incident(n.incident_id).await? else {
        return Ok(Verdict::Dead(format!(
            "incident {} no longer exists",
            n.incident_id
        )));
    };
    let outcome = deliver(state, &n, &incident).await;
    let now = state.clock.now();
    let org_lang = state.settings.language;
    let route = route_name(n.channel, org_lang);
    match outcome {
        Ok(()) => {
            let text = match (n.channel, org_lang) {
                (Channel::PhoneTree, Language::Ja) => {
                    format!("電話連絡網に追加：{}", n.address)
                }
                (Channel::PhoneTree, Language::En) => {
                    format!("Added to the call list: {}", n.address)
                }
                (_, Language::Ja) => format!("{route}を送信しました：{}", n.address),
                (_, Language::En) => format!("{route} sent to {}", n.address),
            };
            Ok(Verdict::Finish(JobEffects {
                sent: vec![n.id],
                timeline: vec![entry(state, n.incident_id, now, text)],
                ..JobEffects::default()
            }))
        }
        Err(e) => {
            let (error, next) = match e {
                SendError::Delivery(e) => {
                    let next =
                        state
                            .notify
                            .backoff
                            .next(job.attempts.max(1), e.outcome(), jitter(state));
                    (e.to_string(), next)
                }
                SendError::Permanent(message) => (
                    message,
                    Next::GiveUp(kizuki_notify::retry::GiveUp::Permanent),
                ),
            };
            // Visible at once on the notification, retry or not.
            state.store.mark_notification_failed(n.id, &error).await?;
            tracing::warn!(notification = n.id, attempt = job.attempts, %error, "notification not delivered");
            match next {
                Next::RetryAfter(delay) => Ok(Verdict::Later {
                    at: after(now, delay),
                    error,
                }),
                Next::Done | Next::GiveUp(_) => {
                    let text = match org_lang {
                        Language::Ja => format!(
                            "{route}を {} に送れませんでした（{} 回試行）：{error}",
                            n.address, job.attempts
                        ),
                        Language::En => format!(
                            "{route} to {} failed after {} attempt(s): {error}",
                            n.address, job.attempts
                        ),
                    };
                    Ok(Verdict::Finish(JobEffects {
                        failed: vec![SendFailure {
                            notification_id: n.id,
                            error,
                        }],
                        timeline: vec![entry(state, n.incident_id, now, text)],
                        ..JobEffects::default()
                    }))
                }
            }
        }
    }
}

fn route_name(channel: Channel, lang: Language) -> &'static str {
    match (channel, lang) {
        (Channel::Email, Language::Ja) => "メール",
        (Channel::Email, Language::En) => "E-mail",
        (Channel::Webhook { .. }, _) => "Webhook",
        (Channel::PhoneTree, Language::Ja) => "電話連絡網",
        (Channel::PhoneTree, Language::En) => "Phone tree",
    }
}

async fn deliver(state: &AppState, n: &Notification, incident: &Incident) -> Result<(), SendError> {
    if n.channel == Channel::PhoneTree {
        // Nothing leaves Kizuki: the line is on the commander's call list now.
        return Ok(());
    }
    let rendered = render(state, n, incident).await?;
    match n.channel {
        Channel::PhoneTree => Ok(()),
        Channel::Email => {
            let Some(mailer) = &state.delivery.mailer else {
                return Err(SendError::Permanent(
                    "e-mail is not configured (KIZUKI_SMTP_URL)".into(),
                ));
            };
            let name = match n.user_id {
                Some(id) => state
                    .store
                    .user_by_id(id)
                    .await
                    .ok()
                    .flatten()
                    .map(|u| u.display_name),
                None => None,
            };
            mailer
                .send(OutgoingEmail {
                    notification_id: n.id,
                    to: crate::delivery::Recipient {
                        address: n.address.clone(),
                        name,
                    },
                    subject: rendered.subject,
                    text: rendered.body,
                    html: None,
                })
                .await
                .map_err(SendError::Delivery)
        }
        Channel::Webhook { webhook_id } => {
            let store_error = |e: StoreError| SendError::Permanent(format!("database error: {e}"));
            let Some(target) = state
                .store
                .get_webhook_target(webhook_id)
                .await
                .map_err(store_error)?
            else {
                return Err(SendError::Permanent(format!(
                    "webhook target {webhook_id} no longer exists"
                )));
            };
            if !target.enabled {
                return Err(SendError::Permanent(format!(
                    "webhook target \"{}\" is disabled",
                    target.name
                )));
            }
            let secret = state
                .store
                .webhook_secret(webhook_id)
                .await
                .map_err(store_error)?;
            let now = state.clock.now();
            let url = incident_url(state, incident.id);
            let event = Event {
                event: match n.template {
                    TemplateKind::NewIncident => EventType::IncidentCreated,
                    TemplateKind::Escalation => EventType::Escalation,
                    TemplateKind::ClockDueSoon => EventType::ClockDueSoon,
                    TemplateKind::ClockOverdue => EventType::ClockOverdue,
                    TemplateKind::ActionReminder => EventType::ActionReminder,
                },
                incident: EventIncident {
                    id: incident.id,
                    title: incident.title.clone(),
                    severity: incident.severity,
                    category: incident.category,
                    phase: incident.phase,
                    url: url.clone(),
                },
                occurred_at: now,
                text: rendered.subject.clone(),
            };
            let label = match n.language {
                Language::Ja => "インシデントを開く",
                Language::En => "Open the incident",
            };
            let message = ChatMessage {
                title: &rendered.subject,
                text: &rendered.body,
                link: Some((label, &url)),
            };
            let outgoing = webhook::build(
                target.format,
                &message,
                &event,
                secret.as_deref().map(str::as_bytes),
                now,
            )
            .map_err(|e| {
                SendError::Permanent(format!("the webhook payload cannot be signed: {e}"))
            })?;
            state
                .delivery
                .webhooks
                .send(&target.url, &outgoing)
                .await
                .map(|_| ())
                .map_err(SendError::Delivery)
        }
    }
}

fn incident_url(state: &AppState, incident_id: i64) -> String {
    format!("{}/incidents/{incident_id}", super::public_base(state))
}

/// The signed link that acknowledges notification `id`.
pub fn ack_url(state: &AppState, id: i64, now: Timestamp) -> String {
    let token = ack::issue(
        &state.notify.ack_key,
        id,
        after(now, state.notify.ack_valid_for),
    );
    format!("{}/ack/{token}", super::public_base(state))
}

/// Renders the stored template (or the built-in) for the notification. A template that no
/// longer parses, or lacks a value, is a permanent failure naming the template: the
/// administrator must fix it, and the failure shows on the incident until then.
async fn render(
    state: &AppState,
    n: &Notification,
    incident: &Incident,
) -> Result<kizuki_notify::template::Rendered, SendError> {
    let stored = state
        .store
        .get_template(n.template, n.language)
        .await
        .map_err(|e| SendError::Permanent(format!("database error: {e}")))?;
    let template =
        MessageTemplate::parse(n.template, &stored.subject, &stored.body).map_err(|e| {
            SendError::Permanent(format!(
                "the {} template ({}) cannot be used: {e}",
                n.template, n.language
            ))
        })?;
    let values = values(state, n, incident).await?;
    template.render(&values).map_err(|e| {
        SendError::Permanent(format!(
            "the {} template ({}) cannot be rendered: {e}",
            n.template, n.language
        ))
    })
}

async fn values(
    state: &AppState,
    n: &Notification,
    incident: &Incident,
) -> Result<Values, SendError> {
    let now = state.clock.now();
    let lang = n.language;
    let tr = Tr::new(lang);
    let tz = &state.settings.time_zone;
    let local = |t: Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let mut v = Values::new();
    v.insert(Field::IncidentId, incident.id.to_string());
    v.insert(Field::IncidentTitle, incident.title.clone());
    v.insert(Field::IncidentSeverity, incident.severity.to_string());
    let severity_name = state
        .settings
        .severity
        .get(incident.severity)
        .map(|l| match lang {
            Language::Ja => l.name_ja.clone(),
            Language::En => l.name_en.clone(),
        })
        .unwrap_or_else(|| incident.severity.to_string());
    v.insert(Field::IncidentSeverityName, severity_name);
    v.insert(
        Field::IncidentCategory,
        tr.t(&format!("category-{}", incident.category)),
    );
    v.insert(
        Field::IncidentPhase,
        tr.t(&format!("phase-{}", incident.phase)),
    );
    v.insert(Field::IncidentUrl, incident_url(state, incident.id));
    v.insert(Field::IncidentAwareAt, local(incident.aware_at));
    let day = day_label(incident.start_date, now, TimePrecision::Minute, None, tz);
    v.insert(Field::Day, day.label(lang).to_owned());
    v.insert(Field::AckUrl, ack_url(state, n.id, now));
    let recipient = match (n.user_id, n.party_id) {
        (Some(id), _) => state
            .store
            .user_by_id(id)
            .await
            .ok()
            .flatten()
            .map(|u| u.display_name),
        (None, Some(pid)) => state
            .store
            .list_parties(n.incident_id)
            .await
            .ok()
            .and_then(|ps| ps.into_iter().find(|p| p.id == pid))
            .map(|p| p.name),
        (None, None) => None,
    };
    v.insert(
        Field::RecipientName,
        recipient.unwrap_or_else(|| n.address.clone()),
    );
    if let Some(step) = n.escalation_step {
        v.insert(Field::EscalationStep, (step + 1).to_string());
        let first = state
            .store
            .list_notifications(n.incident_id)
            .await
            .ok()
            .and_then(|all| all.iter().map(|x| x.created_at).min())
            .unwrap_or(n.created_at);
        let waited = n.created_at.duration_since(first).as_mins().max(0);
        v.insert(Field::EscalationWaitedMinutes, waited.to_string());
    }
    if matches!(
        n.template,
        TemplateKind::ClockDueSoon | TemplateKind::ClockOverdue
    ) {
        let clock = reminded_clock(state, n).await?;
        let reading = clock.read(now);
        v.insert(Field::ClockName, clock.name.clone());
        v.insert(Field::ClockDueAt, local(reading.due_at));
        v.insert(Field::ClockTimeLeft, time_left(lang, reading.seconds_left));
    }
    Ok(v)
}

/// The clock a reminder notification is about, as the notification recorded it.
async fn reminded_clock(
    state: &AppState,
    n: &Notification,
) -> Result<kizuki_domain::legal_clock::LegalClock, SendError> {
    let gone =
        || SendError::Permanent("the legal clock this reminder was about no longer exists".into());
    let clock_id = n.clock_id.ok_or_else(gone)?;
    state
        .store
        .list_legal_clocks(n.incident_id)
        .await
        .map_err(|e| SendError::Permanent(format!("database error: {e}")))?
        .into_iter()
        .find(|c| c.id == clock_id)
        .ok_or_else(gone)
}

fn time_left(lang: Language, seconds: i64) -> String {
    let hours = seconds.abs() / 3600;
    let mins = (seconds.abs() % 3600) / 60;
    match (seconds >= 0, lang) {
        (true, Language::Ja) => format!("残り約 {hours} 時間 {mins} 分"),
        (true, Language::En) => format!("about {hours} h {mins} min left"),
        (false, Language::Ja) => format!("約 {hours} 時間 {mins} 分超過"),
        (false, Language::En) => format!("about {hours} h {mins} min overdue"),
    }
}
