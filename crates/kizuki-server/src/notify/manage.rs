//! Managing the notification configuration (issue #5): rules, the escalation chain, message
//! templates (with a preview that saves nothing), on-call rotations and their overrides, who
//! is on call now, and webhook targets.
//!
//! The API (`api::notify`), the CLI (`kizuki notify …`, `kizuki oncall …`) and the
//! administration pages all call these functions, so the rules live in one place: every
//! input is validated with `kizuki-notify` before it reaches the store, every change is
//! written to the audit log, versioned rows are only changed at the version the caller read
//! (a stale one answers [`ManageError::Store`] with `StoreError::Stale`), and a webhook's
//! signing secret is shown once, when the target is created, and never again.
//!
//! Errors name the field ([`ManageError::Invalid`] carries a `ValidationError`).

use std::net::IpAddr;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use kizuki_domain::incident::Incident;
use kizuki_domain::settings::Language;
use kizuki_domain::{FieldError, ValidationError};
use kizuki_notify::escalation::{EscalationChain, EscalationStep};
use kizuki_notify::oncall::{Override, Period, Rotation, RotationSpec, Source};
use kizuki_notify::rule::{Channel, NotificationRule, Recipient};
use kizuki_notify::target_guard;
use kizuki_notify::template::{Field, MessageTemplate, TemplateKind, Values};
use kizuki_notify::webhook::Format;
use kizuki_store::{
    StoreError, StoredChain, StoredRotation, StoredRule, StoredTemplate, WebhookTarget,
    WebhookTargetFields,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::access::Principal;
use crate::error::ApiError;
use kizuki_domain::audit::AuditEvent;

// --- who is acting -----------------------------------------------------------------------------

/// Who makes a change, for the audit log and for need-to-know.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user (API or web page) from an address.
    User {
        principal: &'a Principal,
        address: Option<IpAddr>,
    },
    /// The operator at the server's shell (the CLI), named as the audit log names them
    /// (`cli:{name}`). The operator sees every incident.
    Operator { name: &'a str },
}

impl Actor<'_> {
    fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User { principal, .. } => Some(principal.user.id),
            Actor::Operator { .. } => None,
        }
    }
}

async fn audit(
    state: &AppState,
    actor: Actor<'_>,
    action: &str,
    object: &str,
    detail: serde_json::Value,
) {
    let event = match actor {
        Actor::User { principal, address } => {
            state
                .audit
                .event(Some(principal), address, action, object, "ok", detail)
        }
        Actor::Operator { name } => AuditEvent {
            at: state.clock.now(),
            actor_id: None,
            actor: format!("cli:{name}"),
            address: None,
            action: action.to_owned(),
            object: object.to_owned(),
            outcome: "ok".to_owned(),
            detail: detail.to_string(),
        },
    };
    state.audit.record(event).await;
}

// --- errors --------------------------------------------------------------------------------------

/// Why a management call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The input is wrong; every broken field is named.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The addressed rule, rotation, target or incident does not exist (or is not visible).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A rotation or webhook target that rules or the escalation chain still name: deleting
    /// it would silently drop those messages.
    #[error("{what} {id} is still named by {}; change those first", by.join(", "))]
    InUse {
        what: &'static str,
        id: i64,
        by: Vec<String>,
    },
    /// From the store; `Stale` means someone changed the row since the caller read it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ManageError {
    fn not_found(what: &'static str, id: impl ToString) -> ManageError {
        ManageError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// Whether this is a stale version (someone else changed it first).
    pub fn is_stale(&self) -> bool {
        matches!(
            self,
            ManageError::Store(StoreError::Stale { .. } | StoreError::Conflict { .. })
        )
    }
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Invalid(v) => ApiError::Validation(v),
            e @ ManageError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            e @ ManageError::InUse { .. } => ApiError::Conflict {
                message: e.to_string(),
                current_version: None,
            },
            ManageError::Store(s) => ApiError::Store(s),
        }
    }
}

pub type ManageResult<T> = Result<T, ManageError>;

/// `InUse` when a rule or a step of the escalation chain names the thing being deleted.
async fn refuse_if_named(
    state: &AppState,
    what: &'static str,
    id: i64,
    names_it: impl Fn(&Recipient, &Channel) -> bool,
) -> ManageResult<()> {
    let mentions = |recipients: &[Recipient], channels: &[Channel]| {
        recipients
            .iter()
            .any(|r| channels.iter().any(|c| names_it(r, c)))
    };
    let mut by = Vec::new();
    for stored in state.store.list_rules().await? {
        if mentions(&stored.rule.recipients, &stored.rule.channels) {
            by.push(format!("rule \"{}\"", stored.rule.name));
        }
    }
    if let Some(stored) = state.store.escalation_chain().await? {
        for (n, step) in stored.chain.steps.iter().enumerate() {
            if mentions(&step.recipients, &step.channels) {
                by.push(format!("escalation step {}", n + 1));
            }
        }
    }
    if by.is_empty() {
        Ok(())
    } else {
        Err(ManageError::InUse { what, id, by })
    }
}

fn required_version(version: Option<i64>) -> ManageResult<i64> {
    version.ok_or_else(|| {
        ValidationError::one("version", "is required: send the version you read").into()
    })
}

// --- rules ---------------------------------------------------------------------------------------

/// A notification rule as an administrator writes it. `version` is the version read, needed
/// to change an existing rule and not allowed when creating one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    #[serde(default)]
    pub version: Option<i64>,
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Incidents at this level or above match.
    pub min_severity: u8,
    /// Categories that match; empty means every category.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub categories: Vec<kizuki_domain::incident::Category>,
    /// Whether an untriaged suspicion report triggers the rule.
    #[serde(default)]
    pub on_reports: bool,
    /// `{"kind": "role", "role": "…"}`, `{"kind": "user", "user_id": …}`,
    /// `{"kind": "on_call", "rotation_id": …}`, …
    #[schema(value_type = Vec<Object>)]
    pub recipients: Vec<Recipient>,
    /// `{"kind": "email"}`, `{"kind": "webhook", "webhook_id": …}`, `{"kind": "phone_tree"}`.
    #[schema(value_type = Vec<Object>)]
    pub channels: Vec<Channel>,
    /// The message template kind to use, e.g. `new_incident`.
    pub template_id: String,
}

fn yes() -> bool {
    true
}

impl RuleInput {
    fn rule(&self, id: i64) -> NotificationRule {
        NotificationRule {
            id,
            name: self.name.clone(),
            enabled: self.enabled,
            min_severity: self.min_severity,
            categories: self.categories.clone(),
            on_reports: self.on_reports,
            recipients: self.recipients.clone(),
            channels: self.channels.clone(),
            template_id: self.template_id.clone(),
        }
    }
}

/// A stored rule as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// The rule's fields (`id`, `name`, `enabled`, `min_severity`, `categories`,
    /// `on_reports`, `recipients`, `channels`, `template_id`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rule: NotificationRule,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<StoredRule> for RuleView {
    fn from(s: StoredRule) -> Self {
        RuleView {
            rule: s.rule,
            version: s.version,
            updated_at: s.updated_at,
        }
    }
}

/// Checks a rule, and that the webhooks and rotations it names exist.
async fn check_rule(state: &AppState, rule: &NotificationRule) -> ManageResult<()> {
    let mut errors = match rule.validate(&state.settings.severity) {
        Ok(()) => Vec::new(),
        Err(v) => v.errors,
    };
    errors.extend(check_references(state, &rule.recipients, &rule.channels, "").await?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { errors }.into())
    }
}

/// Recipients naming a rotation and channels naming a webhook must name existing ones.
async fn check_references(
    state: &AppState,
    recipients: &[Recipient],
    channels: &[Channel],
    prefix: &str,
) -> ManageResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    let rotations = state.store.list_rotations().await?;
    for (i, r) in recipients.iter().enumerate() {
        if let Recipient::OnCall { rotation_id } = r
            && !rotations.iter().any(|x| x.id == *rotation_id)
        {
            errors.push(FieldError::new(
                format!("{prefix}recipients[{i}].rotation_id"),
                format!("no rotation {rotation_id}"),
            ));
        }
    }
    let targets = state.store.list_webhook_targets().await?;
    for (i, c) in channels.iter().enumerate() {
        if let Channel::Webhook { webhook_id } = c
            && !targets.iter().any(|t| t.id == *webhook_id)
        {
            errors.push(FieldError::new(
                format!("{prefix}channels[{i}].webhook_id"),
                format!("no webhook target {webhook_id}"),
            ));
        }
    }
    Ok(errors)
}

pub async fn list_rules(state: &AppState) -> ManageResult<Vec<RuleView>> {
    Ok(state
        .store
        .list_rules()
        .await?
        .into_iter()
        .map(RuleView::from)
        .collect())
}

pub async fn get_rule(state: &AppState, id: i64) -> ManageResult<RuleView> {
    state
        .store
        .get_rule(id)
        .await?
        .map(RuleView::from)
        .ok_or_else(|| ManageError::not_found("rule", id))
}

pub async fn create_rule(
    state: &AppState,
    actor: Actor<'_>,
    input: &RuleInput,
) -> ManageResult<RuleView> {
    if input.version.is_some() {
        return Err(ValidationError::one("version", "must not be given for a new rule").into());
    }
    let rule = input.rule(0);
    check_rule(state, &rule).await?;
    let stored = state.store.create_rule(&rule, state.clock.now()).await?;
    audit(
        state,
        actor,
        "notify.rule.create",
        &format!("rule:{}", stored.rule.id),
        json!({ "name": stored.rule.name }),
    )
    .await;
    Ok(stored.into())
}

pub async fn update_rule(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    input: &RuleInput,
) -> ManageResult<RuleView> {
    let version = required_version(input.version)?;
    let rule = input.rule(id);
    check_rule(state, &rule).await?;
    let stored = state
        .store
        .update_rule(id, version, &rule, state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.rule.update",
        &format!("rule:{id}"),
        json!({ "name": stored.rule.name, "version": stored.version }),
    )
    .await;
    Ok(stored.into())
}

pub async fn delete_rule(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    version: i64,
) -> ManageResult<()> {
    state.store.delete_rule(id, version).await?;
    audit(
        state,
        actor,
        "notify.rule.delete",
        &format!("rule:{id}"),
        json!({ "version": version }),
    )
    .await;
    Ok(())
}

// --- escalation chain ----------------------------------------------------------------------------

/// The escalation chain to save, at the version read (0 while none is saved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainInput {
    pub version: i64,
    /// Each `{ "recipients": […], "channels": […], "after_minutes": N }`.
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<EscalationStep>,
}

/// The organisation's escalation chain (no steps and version 0 until one is saved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainView {
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<EscalationStep>,
    pub version: i64,
    pub updated_by: Option<i64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
}

impl From<StoredChain> for ChainView {
    fn from(c: StoredChain) -> Self {
        ChainView {
            steps: c.chain.steps,
            version: c.version,
            updated_by: c.updated_by,
            updated_at: Some(c.updated_at),
        }
    }
}

pub async fn get_chain(state: &AppState) -> ManageResult<ChainView> {
    Ok(match state.store.escalation_chain().await? {
        Some(c) => c.into(),
        None => ChainView {
            steps: Vec::new(),
            version: 0,
            updated_by: None,
            updated_at: None,
        },
    })
}

pub async fn save_chain(
    state: &AppState,
    actor: Actor<'_>,
    input: &ChainInput,
) -> ManageResult<ChainView> {
    let chain = EscalationChain {
        steps: input.steps.clone(),
    };
    let mut errors = match chain.validate() {
        Ok(()) => Vec::new(),
        Err(v) => v.errors,
    };
    for (i, step) in chain.steps.iter().enumerate() {
        errors.extend(
            check_references(
                state,
                &step.recipients,
                &step.channels,
                &format!("steps[{i}]."),
            )
            .await?,
        );
    }
    if !errors.is_empty() {
        return Err(ValidationError { errors }.into());
    }
    let stored = state
        .store
        .save_escalation_chain(input.version, &chain, actor.user_id(), state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.chain.save",
        "escalation_chain",
        json!({ "steps": stored.chain.steps.len(), "version": stored.version }),
    )
    .await;
    Ok(stored.into())
}

// --- templates -----------------------------------------------------------------------------------

/// A message template as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    /// `new_incident`, `escalation`, `clock_due_soon`, `clock_overdue` or `action_reminder`.
    pub kind: String,
    #[schema(value_type = String)]
    pub language: Language,
    pub subject: String,
    pub body: String,
    /// 0 while it is the built-in one; pass it back when saving.
    pub version: i64,
    pub built_in: bool,
    /// The fields a template of this kind may use, e.g. `incident.title`.
    pub fields: Vec<String>,
    pub updated_by: Option<i64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
}

impl From<StoredTemplate> for TemplateView {
    fn from(t: StoredTemplate) -> Self {
        TemplateView {
            kind: t.kind.as_str().to_owned(),
            language: t.language,
            built_in: t.is_built_in(),
            fields: t
                .kind
                .fields()
                .iter()
                .map(|f| f.name().to_owned())
                .collect(),
            subject: t.subject,
            body: t.body,
            version: t.version,
            updated_by: t.updated_by,
            updated_at: t.updated_at,
        }
    }
}

/// A template to save, at the version read (0 while it is the built-in one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub version: i64,
    pub subject: String,
    pub body: String,
}

/// A template to try out: rendered with a sample incident, or with a real one's facts when
/// `incident_id` is given. Nothing is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub incident_id: Option<i64>,
}

/// The message as it would be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    pub subject: String,
    pub body: String,
    /// Whether a real incident's facts were used (else sample values).
    pub incident_id: Option<i64>,
}

/// Reads a template kind from its name, naming `field` when it is unknown.
pub fn parse_kind(field: &str, s: &str) -> ManageResult<TemplateKind> {
    kizuki_store::notify::template_kind_from_str(s).ok_or_else(|| {
        let known: Vec<&str> = TemplateKind::ALL.iter().map(|k| k.as_str()).collect();
        ValidationError::one(
            field,
            format!("unknown template kind `{s}`; one of {}", known.join(", ")),
        )
        .into()
    })
}

/// Reads a language from its name, naming `field` when it is unknown.
pub fn parse_language(field: &str, s: &str) -> ManageResult<Language> {
    s.parse::<Language>()
        .map_err(|e| ValidationError::one(field, e.to_string()).into())
}

pub async fn list_templates(state: &AppState) -> ManageResult<Vec<TemplateView>> {
    Ok(state
        .store
        .list_templates()
        .await?
        .into_iter()
        .map(TemplateView::from)
        .collect())
}

pub async fn get_template(
    state: &AppState,
    kind: TemplateKind,
    language: Language,
) -> ManageResult<TemplateView> {
    Ok(state.store.get_template(kind, language).await?.into())
}

/// Saves a template that parses; a broken one is refused (naming `subject` or `body`, the
/// line, the column and the problem) and the stored one stays as it was.
pub async fn save_template(
    state: &AppState,
    actor: Actor<'_>,
    kind: TemplateKind,
    language: Language,
    input: &TemplateInput,
) -> ManageResult<TemplateView> {
    MessageTemplate::parse(kind, &input.subject, &input.body).map_err(ValidationError::from)?;
    let stored = state
        .store
        .save_template(
            kind,
            language,
            input.version,
            &input.subject,
            &input.body,
            actor.user_id(),
            state.clock.now(),
        )
        .await?;
    audit(
        state,
        actor,
        "notify.template.save",
        &format!("template:{}/{language}", kind.as_str()),
        json!({ "version": stored.version }),
    )
    .await;
    Ok(stored.into())
}

/// Goes back to the built-in template; answers it.
pub async fn reset_template(
    state: &AppState,
    actor: Actor<'_>,
    kind: TemplateKind,
    language: Language,
) -> ManageResult<TemplateView> {
    let changed = state.store.reset_template(kind, language).await?;
    if changed {
        audit(
            state,
            actor,
            "notify.template.reset",
            &format!("template:{}/{language}", kind.as_str()),
            json!({}),
        )
        .await;
    }
    Ok(state.store.get_template(kind, language).await?.into())
}

/// Parses and renders a template without saving it. Syntax errors and unknown fields are
/// `Invalid`, naming `subject` or `body` with the line and column. With `incident_id`, the
/// incident's facts are used, if the actor may see it.
pub async fn preview_template(
    state: &AppState,
    actor: Actor<'_>,
    kind: TemplateKind,
    language: Language,
    input: &PreviewInput,
) -> ManageResult<PreviewView> {
    let template =
        MessageTemplate::parse(kind, &input.subject, &input.body).map_err(ValidationError::from)?;
    let incident = match input.incident_id {
        None => None,
        Some(id) => Some(visible_incident(state, actor, id).await?),
    };
    let values = sample_values(state, language, incident.as_ref());
    let rendered = template.render(&values).map_err(|e| {
        // Every field of the kind has a sample value, so this is a server bug.
        ManageError::Store(StoreError::Corrupt {
            table: "templates",
            column: "body",
            reason: e.to_string(),
        })
    })?;
    Ok(PreviewView {
        subject: rendered.subject,
        body: rendered.body,
        incident_id: input.incident_id,
    })
}

async fn visible_incident(state: &AppState, actor: Actor<'_>, id: i64) -> ManageResult<Incident> {
    match actor {
        Actor::User { principal, .. } => {
            crate::access::check_incident_visible(state, principal, id)
                .await
                .map_err(|e| match e {
                    // Missing and invisible look the same.
                    ApiError::Store(store) if !matches!(store, StoreError::NotFound { .. }) => {
                        ManageError::Store(store)
                    }
                    _ => ManageError::not_found("incident", id),
                })
        }
        Actor::Operator { .. } => state
            .store
            .get_incident(id)
            .await?
            .ok_or_else(|| ManageError::not_found("incident", id)),
    }
}

/// A value for every field: the incident's facts where there is an incident, samples for
/// the rest (the recipient, the escalation step, a legal clock, a corrective action).
fn sample_values(state: &AppState, language: Language, incident: Option<&Incident>) -> Values {
    let ja = language == Language::Ja;
    let tz = &state.settings.time_zone;
    let now = state.clock.now();
    let local = |t: Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let base = super::public_base(state);
    let mut v = Values::new();
    for field in Field::ALL {
        let sample = match field {
            Field::IncidentId => "42".to_owned(),
            Field::IncidentTitle => if ja {
                "ファイルサーバーの暗号化（サンプル）"
            } else {
                "File server encrypted (sample)"
            }
            .to_owned(),
            Field::IncidentSeverity => "3".to_owned(),
            Field::IncidentSeverityName => if ja { "高" } else { "High" }.to_owned(),
            Field::IncidentCategory => if ja {
                "ランサムウェア"
            } else {
                "Ransomware"
            }
            .to_owned(),
            Field::IncidentPhase => if ja { "封じ込め" } else { "Containment" }.to_owned(),
            Field::IncidentUrl => format!("{base}/incidents/42"),
            Field::IncidentAwareAt | Field::ClockDueAt => local(now),
            Field::Day => if ja { "3日目" } else { "Day 3" }.to_owned(),
            Field::AckUrl => format!("{base}/ack/sample"),
            Field::RecipientName => if ja { "山田 花子" } else { "Hanako Yamada" }.to_owned(),
            Field::EscalationStep => "1".to_owned(),
            Field::EscalationWaitedMinutes => "30".to_owned(),
            Field::ClockName => if ja {
                "個人情報保護委員会への速報"
            } else {
                "APPI preliminary report"
            }
            .to_owned(),
            Field::ClockTimeLeft => if ja {
                "残り約5時間"
            } else {
                "about 5 hours left"
            }
            .to_owned(),
            Field::ActionTitle => if ja {
                "VPN機器のパッチ適用"
            } else {
                "Patch the VPN appliance"
            }
            .to_owned(),
            Field::ActionOwner => if ja {
                "情報システム部"
            } else {
                "IT department"
            }
            .to_owned(),
            Field::ActionDueDate => now.to_zoned_datetime(tz.clone()).date().to_string(),
            Field::ActionDays => if ja {
                "期限まで3日"
            } else {
                "due in 3 days"
            }
            .to_owned(),
        };
        v.insert(*field, sample);
    }
    if let Some(i) = incident {
        v.insert(Field::IncidentId, i.id.to_string());
        v.insert(Field::IncidentTitle, i.title.clone());
        v.insert(Field::IncidentSeverity, i.severity.to_string());
        let name = state.settings.severity.get(i.severity).map_or_else(
            || i.severity.to_string(),
            |l| {
                if ja {
                    l.name_ja.clone()
                } else {
                    l.name_en.clone()
                }
            },
        );
        v.insert(Field::IncidentSeverityName, name);
        v.insert(Field::IncidentCategory, i.category.to_string());
        v.insert(Field::IncidentPhase, i.phase.to_string());
        v.insert(Field::IncidentUrl, format!("{base}/incidents/{}", i.id));
        v.insert(Field::IncidentAwareAt, local(i.aware_at));
    }
    v
}

// --- rotations -----------------------------------------------------------------------------------

/// A rotation as an administrator writes it. `version` is the version read, needed to change
/// one and not allowed when creating one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationInput {
    #[serde(default)]
    pub version: Option<i64>,
    pub name: String,
    /// User ids in order of their turns.
    pub members: Vec<i64>,
    /// Hand-over time of day, `HH:MM`, in `time_zone`.
    #[schema(value_type = String)]
    pub handover: Time,
    /// An IANA zone such as `Asia/Tokyo`.
    pub time_zone: String,
    /// `{"kind": "daily"}`, `{"kind": "weekly"}` or `{"kind": "every_n_days", "days": N}`.
    #[schema(value_type = Object)]
    pub period: Period,
    /// The day the first member's first turn begins.
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub overrides: Vec<Override>,
}

impl RotationInput {
    pub fn spec(&self) -> RotationSpec {
        RotationSpec {
            name: self.name.clone(),
            members: self.members.clone(),
            handover: self.handover,
            time_zone: self.time_zone.clone(),
            period: self.period,
            start_date: self.start_date,
            overrides: self.overrides.clone(),
        }
    }
}

/// A stored rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RotationView {
    pub id: i64,
    /// `name`, `members`, `handover`, `time_zone`, `period`, `start_date`, `overrides`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub spec: RotationSpec,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<StoredRotation> for RotationView {
    fn from(r: StoredRotation) -> Self {
        RotationView {
            id: r.id,
            spec: r.spec,
            version: r.version,
            updated_at: r.updated_at,
        }
    }
}

/// Validates a spec and checks that every member and override names an existing user.
async fn check_rotation(state: &AppState, spec: &RotationSpec) -> ManageResult<()> {
    let mut errors = match Rotation::new(spec) {
        Ok(_) => Vec::new(),
        Err(v) => v.errors,
    };
    for (i, id) in spec.members.iter().enumerate() {
        if state.store.user_by_id(*id).await?.is_none() {
            errors.push(FieldError::new(
                format!("members[{i}]"),
                format!("no user {id}"),
            ));
        }
    }
    for (i, o) in spec.overrides.iter().enumerate() {
        if state.store.user_by_id(o.user_id).await?.is_none() {
            errors.push(FieldError::new(
                format!("overrides[{i}].user_id"),
                format!("no user {}", o.user_id),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { errors }.into())
    }
}

pub async fn list_rotations(state: &AppState) -> ManageResult<Vec<RotationView>> {
    Ok(state
        .store
        .list_rotations()
        .await?
        .into_iter()
        .map(RotationView::from)
        .collect())
}

pub async fn get_rotation(state: &AppState, id: i64) -> ManageResult<RotationView> {
    state
        .store
        .get_rotation(id)
        .await?
        .map(RotationView::from)
        .ok_or_else(|| ManageError::not_found("rotation", id))
}

pub async fn create_rotation(
    state: &AppState,
    actor: Actor<'_>,
    input: &RotationInput,
) -> ManageResult<RotationView> {
    if input.version.is_some() {
        return Err(ValidationError::one("version", "must not be given for a new rotation").into());
    }
    let spec = input.spec();
    check_rotation(state, &spec).await?;
    let stored = state
        .store
        .create_rotation(&spec, state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.rotation.create",
        &format!("rotation:{}", stored.id),
        json!({ "name": stored.spec.name, "members": stored.spec.members }),
    )
    .await;
    Ok(stored.into())
}

pub async fn update_rotation(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    input: &RotationInput,
) -> ManageResult<RotationView> {
    let version = required_version(input.version)?;
    let spec = input.spec();
    check_rotation(state, &spec).await?;
    let stored = state
        .store
        .update_rotation(id, version, &spec, state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.rotation.update",
        &format!("rotation:{id}"),
        json!({ "name": stored.spec.name, "version": stored.version }),
    )
    .await;
    Ok(stored.into())
}

pub async fn delete_rotation(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    version: i64,
) -> ManageResult<()> {
    refuse_if_named(state, "rotation", id, |r, _| {
        *r == Recipient::OnCall { rotation_id: id }
    })
    .await?;
    state.store.delete_rotation(id, version).await?;
    audit(
        state,
        actor,
        "notify.rotation.delete",
        &format!("rotation:{id}"),
        json!({ "version": version }),
    )
    .await;
    Ok(())
}

/// Someone covering a rotation from `from` (inclusive) to `to` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    pub user_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
}

/// Adds an override (whatever the version: two people covering different nights do not undo
/// each other). The rotation with it must still be valid.
pub async fn add_override(
    state: &AppState,
    actor: Actor<'_>,
    rotation_id: i64,
    input: &OverrideInput,
) -> ManageResult<RotationView> {
    let current = state
        .store
        .get_rotation(rotation_id)
        .await?
        .ok_or_else(|| ManageError::not_found("rotation", rotation_id))?;
    let cover = Override {
        user_id: input.user_id,
        from: input.from,
        to: input.to,
    };
    let mut errors = Vec::new();
    if input.to <= input.from {
        errors.push(FieldError::new("to", "must be after `from`"));
    }
    if state.store.user_by_id(input.user_id).await?.is_none() {
        errors.push(FieldError::new(
            "user_id",
            format!("no user {}", input.user_id),
        ));
    }
    let mut spec = current.spec.clone();
    spec.overrides.push(cover);
    if let Err(v) = Rotation::new(&spec) {
        // Name the new override's fields as the caller wrote them.
        let index = spec.overrides.len() - 1;
        let own = format!("overrides[{index}]");
        for e in v.errors {
            let field = e
                .field
                .strip_prefix(&own)
                .map(|rest| rest.trim_start_matches('.').to_owned())
                .filter(|f| !f.is_empty())
                .unwrap_or(e.field.clone());
            if !errors.iter().any(|x: &FieldError| x.field == field) {
                errors.push(FieldError::new(field, e.message));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ValidationError { errors }.into());
    }
    let stored = state
        .store
        .add_rotation_override(rotation_id, &cover, state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.rotation.override",
        &format!("rotation:{rotation_id}"),
        json!({ "user_id": cover.user_id, "from": cover.from, "to": cover.to }),
    )
    .await;
    Ok(stored.into())
}

/// Who is on call in one rotation at the moment asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OnCallNow {
    pub rotation_id: i64,
    pub rotation_name: String,
    /// Nobody when the rotation has not started yet (or cannot be read, see `problem`).
    pub user_id: Option<i64>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// `turn` or `override`.
    pub because: Option<String>,
    /// When this person's turn ends (for a turn; an override ends at its `to`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// Why the rotation could not be asked (a stored rotation that no longer validates).
    pub problem: Option<String>,
}

/// Who is on call now (by `state.clock`) in every rotation, by rotation id.
pub async fn on_call_now(state: &AppState) -> ManageResult<Vec<OnCallNow>> {
    on_call_at(state, state.clock.now()).await
}

/// Who is on call at `at` in every rotation, by rotation id.
pub async fn on_call_at(state: &AppState, at: Timestamp) -> ManageResult<Vec<OnCallNow>> {
    let mut out = Vec::new();
    for stored in state.store.list_rotations().await? {
        let mut line = OnCallNow {
            rotation_id: stored.id,
            rotation_name: stored.spec.name.clone(),
            user_id: None,
            display_name: None,
            email: None,
            because: None,
            until: None,
            problem: None,
        };
        match Rotation::new(&stored.spec) {
            Err(e) => line.problem = Some(e.to_string()),
            Ok(rotation) => {
                if let Some(on) = rotation.on_call_at(at) {
                    line.user_id = Some(on.user_id);
                    let (because, until) = match on.source {
                        Source::Turn { shift_end, .. } => ("turn", Some(shift_end)),
                        Source::Override { index } => {
                            ("override", stored.spec.overrides.get(index).map(|o| o.to))
                        }
                    };
                    line.because = Some(because.to_owned());
                    line.until = until;
                    if let Some(user) = state.store.user_by_id(on.user_id).await? {
                        line.display_name = Some(user.display_name);
                        line.email = Some(user.email);
                    }
                }
            }
        }
        out.push(line);
    }
    Ok(out)
}

// --- webhook targets -----------------------------------------------------------------------------

/// A webhook target as an administrator writes it. For `signed_json`, a signing secret is
/// made when none is given (and shown once). `version` is needed to change a target and not
/// allowed when creating one; on update a missing `secret` keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    #[serde(default)]
    pub version: Option<i64>,
    pub name: String,
    /// `slack`, `teams`, `mattermost` or `signed_json`.
    #[schema(value_type = String)]
    pub format: Format,
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// A webhook target as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String)]
    pub format: Format,
    pub url: String,
    pub has_secret: bool,
    pub enabled: bool,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<WebhookTarget> for WebhookView {
    fn from(t: WebhookTarget) -> Self {
        WebhookView {
            id: t.id,
            name: t.name,
            format: t.format,
            url: t.url,
            has_secret: t.has_secret,
            enabled: t.enabled,
            version: t.version,
            updated_at: t.updated_at,
        }
    }
}

/// A new target, with its signing secret: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub target: WebhookView,
    /// Shown once; store it in the receiver now.
    pub secret: Option<String>,
}

const MAX_WEBHOOK_URL: usize = 2048;

/// Checks the fields: a name, an http(s) URL without credentials whose literal address (if
/// it is written as one) the guard accepts under `KIZUKI_WEBHOOK_ALLOW`. A host name is
/// resolved and checked again at every send.
fn check_webhook(state: &AppState, input: &WebhookInput) -> ManageResult<()> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() {
        errors.push(FieldError::new("name", "is required"));
    } else if name.chars().count() > 200 {
        errors.push(FieldError::new("name", "is longer than 200 characters"));
    }
    if input.url.len() > MAX_WEBHOOK_URL {
        errors.push(FieldError::new(
            "url",
            format!("is longer than {MAX_WEBHOOK_URL} bytes"),
        ));
    } else {
        match target_guard::check_url(&input.url) {
            Err(refusal) => errors.push(FieldError::new("url", refusal.to_string())),
            Ok(url) => {
                if let Some(ip) = target_guard::literal_address(&url) {
                    let allow = &state.delivery.webhooks.settings().allow;
                    if let Err(refusal) = target_guard::check_address(ip, allow) {
                        errors.push(FieldError::new(
                            "url",
                            format!("{refusal} (allow it in KIZUKI_WEBHOOK_ALLOW)"),
                        ));
                    }
                }
            }
        }
    }
    if let Some(secret) = &input.secret {
        if secret.len() < 16 {
            errors.push(FieldError::new("secret", "must be at least 16 characters"));
        }
        if input.format != Format::SignedJson {
            errors.push(FieldError::new(
                "secret",
                "only a signed_json target has a signing secret",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { errors }.into())
    }
}

pub async fn list_webhooks(state: &AppState) -> ManageResult<Vec<WebhookView>> {
    Ok(state
        .store
        .list_webhook_targets()
        .await?
        .into_iter()
        .map(WebhookView::from)
        .collect())
}

pub async fn get_webhook(state: &AppState, id: i64) -> ManageResult<WebhookView> {
    state
        .store
        .get_webhook_target(id)
        .await?
        .map(WebhookView::from)
        .ok_or_else(|| ManageError::not_found("webhook target", id))
}

pub async fn create_webhook(
    state: &AppState,
    actor: Actor<'_>,
    input: &WebhookInput,
) -> ManageResult<CreatedWebhook> {
    if input.version.is_some() {
        return Err(ValidationError::one("version", "must not be given for a new target").into());
    }
    check_webhook(state, input)?;
    let secret = match (&input.secret, input.format) {
        (Some(s), _) => Some(s.clone()),
        (None, Format::SignedJson) => Some(crate::credentials::new_secret(state, "kzw_").0),
        (None, _) => None,
    };
    let fields = WebhookTargetFields {
        name: input.name.trim().to_owned(),
        format: input.format,
        url: input.url.clone(),
        secret: secret.clone(),
        enabled: input.enabled,
    };
    let target = state
        .store
        .create_webhook_target(&fields, state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.webhook.create",
        &format!("webhook:{}", target.id),
        json!({ "name": target.name, "url": target.url,
            "format": kizuki_store::notify::format_name(target.format) }),
    )
    .await;
    Ok(CreatedWebhook {
        target: target.into(),
        secret,
    })
}

pub async fn update_webhook(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    input: &WebhookInput,
) -> ManageResult<WebhookView> {
    let version = required_version(input.version)?;
    check_webhook(state, input)?;
    let fields = WebhookTargetFields {
        name: input.name.trim().to_owned(),
        format: input.format,
        url: input.url.clone(),
        secret: input.secret.clone(),
        enabled: input.enabled,
    };
    let target = state
        .store
        .update_webhook_target(id, version, &fields, state.clock.now())
        .await?;
    audit(
        state,
        actor,
        "notify.webhook.update",
        &format!("webhook:{id}"),
        json!({ "name": target.name, "url": target.url, "version": target.version,
            "secret_changed": input.secret.is_some() }),
    )
    .await;
    Ok(target.into())
}

pub async fn delete_webhook(state: &AppState, actor: Actor<'_>, id: i64) -> ManageResult<()> {
    refuse_if_named(state, "webhook target", id, |_, c| {
        *c == Channel::Webhook { webhook_id: id }
    })
    .await?;
    if !state.store.delete_webhook_target(id).await? {
        return Err(ManageError::not_found("webhook target", id));
    }
    audit(
        state,
        actor,
        "notify.webhook.delete",
        &format!("webhook:{id}"),
        json!({}),
    )
    .await;
    Ok(())
}
