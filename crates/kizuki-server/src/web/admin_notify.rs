//! `/admin/notify`: how Kizuki tells people, for administrators. Message templates per kind
//! and language (edited with a **Preview** that renders sample facts and shows every syntax or
//! unknown-field problem beside its box without saving; **Save** refuses a broken template and
//! keeps the text as typed), on-call rotations (list, create, add an override), notification
//! rules and webhook targets (list, create, delete). Every change goes through
//! [`crate::notify::manage`], the service the API and the CLI use too: it validates with
//! `kizuki-notify`, checks what the change names exists, writes the store and the audit log.
//! This module only reads the forms, says in the reader's language what is wrong beside
//! each field, and keeps what was typed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use kizuki_domain::access::Action;
use kizuki_domain::incident::Category;
use kizuki_domain::settings::Language;
use kizuki_domain::user::Role;
use kizuki_notify::oncall::{Period, Rotation};
use kizuki_notify::rule::{Channel, Recipient};
use kizuki_notify::template::{MessageTemplate, Problem, SyntaxError, TemplateKind};
use kizuki_notify::webhook::Format;
use kizuki_store::StoreError;

use super::i18n::Tr;
use super::incident_page::{Choice, FieldErrors};
use super::library::category_key;
use super::{Layout, Nav, WebRequest, see_other};
use crate::AppState;
use crate::access::Principal;
use crate::notify::manage::{
    self, Actor, ManageError, OverrideInput, PreviewInput, RotationInput, RuleInput, TemplateInput,
    WebhookInput,
};

/// Where the page lives.
const HOME: &str = "/admin/notify";

/// A posted form as its pairs, so repeated names (check boxes) are kept.
#[derive(Debug, Default, Clone)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn parse(body: &Bytes) -> Pairs {
        Pairs(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `name` was sent with `value` (a ticked box, a chosen option).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }
}

// --- the overview ----------------------------------------------------------------------------

#[derive(Debug)]
struct TemplateRow {
    href: String,
    kind: String,
    language: &'static str,
    changed: bool,
}

#[derive(Debug)]
struct RotationRow {
    id: i64,
    name: String,
    members: String,
    schedule: String,
    on_call: String,
    overrides: Vec<String>,
}

#[derive(Debug)]
struct RuleRow {
    id: i64,
    version: i64,
    name: String,
    summary: String,
    enabled: bool,
}

#[derive(Debug)]
struct WebhookRow {
    id: i64,
    name: String,
    format: &'static str,
    url: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_notify.html")]
struct IndexPage {
    layout: Layout,
    t: Tr,
    notice: Option<String>,
    templates: Vec<TemplateRow>,
    rotations: Vec<RotationRow>,
    rules: Vec<RuleRow>,
    webhooks: Vec<WebhookRow>,
    /// Active people, for members, overrides and rule recipients.
    people: Vec<Choice>,
    recipients: Vec<Choice>,
    channels: Vec<Choice>,
    categories: Vec<Choice>,
    severities: Vec<Choice>,
    kinds: Vec<Choice>,
    formats: Vec<Choice>,
    /// The refused form as typed (field names are prefixed per form), and its errors.
    form: Pairs,
    errors: FieldErrors,
}

fn lang_name(l: Language) -> &'static str {
    match l {
        Language::Ja => "日本語",
        Language::En => "English",
    }
}

fn kind_key(k: TemplateKind) -> String {
    format!("template-kind-{}", k.as_str())
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Slack => "Slack",
        Format::Teams => "Microsoft Teams",
        Format::Mattermost => "Mattermost",
        Format::SignedJson => "JSON (HMAC)",
    }
}

fn recipient_text(
    tr: Tr,
    r: &Recipient,
    users: &HashMap<i64, String>,
    rotations: &HashMap<i64, String>,
) -> String {
    match r {
        Recipient::Role { role } => tr.t(&format!("role-{}", role.as_str())),
        Recipient::User { user_id } => users
            .get(user_id)
            .cloned()
            .unwrap_or_else(|| tr.t1("oncall-unknown-user", "id", *user_id)),
        Recipient::Party { party_id } => format!("#{party_id}"),
        Recipient::OnCall { rotation_id } => tr.t1(
            "admin-notify-on-call-of",
            "rotation",
            rotations
                .get(rotation_id)
                .cloned()
                .unwrap_or_else(|| rotation_id.to_string()),
        ),
    }
}

fn channel_text(tr: Tr, c: &Channel, hooks: &HashMap<i64, String>) -> String {
    match c {
        Channel::Email => tr.t("channel-email"),
        Channel::PhoneTree => tr.t("channel-phone-tree"),
        Channel::Webhook { webhook_id } => tr.t1(
            "channel-webhook",
            "name",
            hooks
                .get(webhook_id)
                .cloned()
                .unwrap_or_else(|| webhook_id.to_string()),
        ),
    }
}

async fn index_page(
    state: &AppState,
    req: &WebRequest,
    form: Pairs,
    errors: FieldErrors,
    notice: Option<String>,
) -> Result<IndexPage, StoreError> {
    let tr = req.tr;
    let users = state.store.list_users().await?;
    let names: HashMap<i64, String> = users
        .iter()
        .map(|u| (u.id, u.display_name.clone()))
        .collect();
    let stored_rotations = state.store.list_rotations().await?;
    let rotation_names: HashMap<i64, String> = stored_rotations
        .iter()
        .map(|r| (r.id, r.spec.name.clone()))
        .collect();
    let hooks = state.store.list_webhook_targets().await?;
    let hook_names: HashMap<i64, String> = hooks.iter().map(|h| (h.id, h.name.clone())).collect();
    let now = state.clock.now();
    let person = |id: &i64| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| tr.t1("oncall-unknown-user", "id", *id))
    };
    let templates = state
        .store
        .list_templates()
        .await?
        .into_iter()
        .map(|t| TemplateRow {
            href: format!(
                "{HOME}/templates/{}/{}",
                t.kind.as_str(),
                t.language.as_str()
            ),
            kind: tr.t(&kind_key(t.kind)),
            language: lang_name(t.language),
            changed: !t.is_built_in(),
        })
        .collect();
    let rotations = stored_rotations
        .iter()
        .map(|r| {
            let on_call = Rotation::new(&r.spec)
                .ok()
                .and_then(|rot| rot.on_call_at(now))
                .map_or_else(|| tr.t("oncall-nobody"), |o| person(&o.user_id));
            RotationRow {
                id: r.id,
                name: r.spec.name.clone(),
                members: r
                    .spec
                    .members
                    .iter()
                    .map(person)
                    .collect::<Vec<_>>()
                    .join(", "),
                schedule: tr.with(
                    "admin-notify-rotation-schedule",
                    &[
                        ("period", tr.t(period_key(r.spec.period)).into()),
                        (
                            "handover",
                            r.spec.handover.strftime("%H:%M").to_string().into(),
                        ),
                        ("zone", r.spec.time_zone.clone().into()),
                        ("start", r.spec.start_date.to_string().into()),
                    ],
                ),
                on_call,
                overrides: r
                    .spec
                    .overrides
                    .iter()
                    .map(|o| {
                        tr.with(
                            "admin-notify-override-line",
                            &[
                                ("who", person(&o.user_id).into()),
                                ("from", req.local_time(o.from).into()),
                                ("to", req.local_time(o.to).into()),
                            ],
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let rules = state
        .store
        .list_rules()
        .await?
        .into_iter()
        .map(|r| {
            let rule = &r.rule;
            let categories = if rule.categories.is_empty() {
                tr.t("admin-notify-any-category")
            } else {
                rule.categories
                    .iter()
                    .map(|c| tr.t(&category_key(*c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            RuleRow {
                id: rule.id,
                version: r.version,
                name: rule.name.clone(),
                summary: tr.with(
                    "admin-notify-rule-summary",
                    &[
                        ("level", i64::from(rule.min_severity).into()),
                        ("categories", categories.into()),
                        (
                            "recipients",
                            rule.recipients
                                .iter()
                                .map(|x| recipient_text(tr, x, &names, &rotation_names))
                                .collect::<Vec<_>>()
                                .join(", ")
                                .into(),
                        ),
                        (
                            "channels",
                            rule.channels
                                .iter()
                                .map(|c| channel_text(tr, c, &hook_names))
                                .collect::<Vec<_>>()
                                .join(", ")
                                .into(),
                        ),
                    ],
                ),
                enabled: rule.enabled,
            }
        })
        .collect();
    let webhooks = hooks
        .iter()
        .map(|h| WebhookRow {
            id: h.id,
            name: h.name.clone(),
            format: format_label(h.format),
            url: h.url.clone(),
            enabled: h.enabled,
        })
        .collect();
    let active: Vec<_> = users.iter().filter(|u| u.active).collect();
    let choice = |value: String, label: String, field: &str| Choice {
        selected: form.has(field, &value),
        value,
        label,
    };
    let people = active
        .iter()
        .map(|u| choice(u.id.to_string(), u.display_name.clone(), "person"))
        .collect();
    let mut recipients: Vec<Choice> = Role::ALL
        .iter()
        .map(|r| {
            choice(
                format!("role:{}", r.as_str()),
                tr.t(&format!("role-{}", r.as_str())),
                "rule_recipient",
            )
        })
        .collect();
    recipients.extend(stored_rotations.iter().map(|r| {
        choice(
            format!("oncall:{}", r.id),
            tr.t1("admin-notify-on-call-of", "rotation", r.spec.name.clone()),
            "rule_recipient",
        )
    }));
    recipients.extend(active.iter().map(|u| {
        choice(
            format!("user:{}", u.id),
            u.display_name.clone(),
            "rule_recipient",
        )
    }));
    let mut channels = vec![
        choice("email".into(), tr.t("channel-email"), "rule_channel"),
        choice(
            "phone_tree".into(),
            tr.t("channel-phone-tree"),
            "rule_channel",
        ),
    ];
    channels.extend(hooks.iter().map(|h| {
        choice(
            format!("webhook:{}", h.id),
            tr.t1("channel-webhook", "name", h.name.clone()),
            "rule_channel",
        )
    }));
    let categories = Category::ALL
        .iter()
        .map(|c| choice(c.as_str().into(), tr.t(&category_key(*c)), "rule_category"))
        .collect();
    let severities = state
        .settings
        .severity
        .levels()
        .iter()
        .map(|l| {
            choice(
                l.level.to_string(),
                format!(
                    "{} {}",
                    l.level,
                    match tr.lang {
                        Language::Ja => &l.name_ja,
                        Language::En => &l.name_en,
                    }
                ),
                "rule_min_severity",
            )
        })
        .collect();
    let kinds = [TemplateKind::NewIncident, TemplateKind::Escalation]
        .iter()
        .map(|k| choice(k.as_str().into(), tr.t(&kind_key(*k)), "rule_template"))
        .collect();
    let formats = kizuki_store::notify::FORMATS
        .iter()
        .map(|f| {
            choice(
                kizuki_store::notify::format_name(*f).into(),
                format_label(*f).into(),
                "hook_format",
            )
        })
        .collect();
    Ok(IndexPage {
        layout: req.layout(tr.t("admin-notify-title"), Nav::None),
        t: tr,
        notice,
        templates,
        rotations,
        rules,
        webhooks,
        people,
        recipients,
        channels,
        categories,
        severities,
        kinds,
        formats,
        form,
        errors,
    })
}

fn period_key(p: Period) -> &'static str {
    match p {
        Period::Daily => "admin-notify-period-daily",
        Period::Weekly => "admin-notify-period-weekly",
        Period::EveryNDays { .. } => "admin-notify-period-days",
    }
}

async fn render_index(
    state: &AppState,
    req: &WebRequest,
    status: StatusCode,
    form: Pairs,
    errors: FieldErrors,
    notice: Option<String>,
) -> Response {
    match index_page(state, req, form, errors, notice).await {
        Ok(page) => req.render(status, &page),
        Err(e) => super::incident_page::internal(req, &e),
    }
}

/// `GET /admin/notify`.
pub async fn index(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = req.require(&state, Action::ManageUsers).await {
        return refused;
    }
    let notice = super::query_param(&req.uri, "saved").map(|_| req.tr.t("admin-notify-saved"));
    render_index(
        &state,
        &req,
        StatusCode::OK,
        Pairs::default(),
        FieldErrors::default(),
        notice,
    )
    .await
}

/// The administrator behind a form post, after the CSRF check; or the answer to send.
async fn admin_post(
    state: &AppState,
    req: &WebRequest,
    body: &Bytes,
) -> Result<(Principal, Pairs), Response> {
    let me = req.require(state, Action::ManageUsers).await?;
    let form = Pairs::parse(body);
    if !req.form_is_genuine(form.get("csrf")) {
        return Err(req.refuse_form(state).await);
    }
    Ok((me, form))
}

fn actor<'a>(req: &WebRequest, me: &'a Principal) -> Actor<'a> {
    Actor::User {
        principal: me,
        address: req.addr.0,
    }
}

/// The answer to a management error that is not about a field: 404, a stale notice, or 500.
async fn manage_failed(
    state: &AppState,
    req: &WebRequest,
    form: Pairs,
    e: ManageError,
) -> Response {
    match e {
        ManageError::NotFound { .. } => req.not_found(),
        e @ ManageError::InUse { .. } => {
            let notice = format!("{} ({e})", req.tr.t("admin-notify-in-use"));
            render_index(
                state,
                req,
                StatusCode::CONFLICT,
                form,
                FieldErrors::default(),
                Some(notice),
            )
            .await
        }
        e if e.is_stale() => {
            render_index(
                state,
                req,
                StatusCode::CONFLICT,
                form,
                FieldErrors::default(),
                Some(req.tr.t("admin-notify-rule-stale")),
            )
            .await
        }
        e => super::incident_page::internal(req, &e),
    }
}

fn saved() -> Response {
    see_other(&format!("{HOME}?saved=1"))
}

/// Puts the messages of a domain validation beside the form's fields: `prefix` + the first
/// part of the domain's field name when the form has it, else on the form.
fn place(
    tr: Tr,
    errors: &mut FieldErrors,
    v: kizuki_domain::ValidationError,
    fields: &[(&str, &'static str)],
) {
    for e in v.errors {
        let text = tr.t1("field-invalid", "reason", e.message);
        let head = e.field.split(['.', '[']).next().unwrap_or_default();
        match fields.iter().find(|(name, _)| *name == head) {
            Some((_, field)) => errors.set(field, text),
            None => errors.form = Some(text),
        }
    }
}

/// A `datetime-local` value in the organisation's zone.
fn local_instant(req: &WebRequest, raw: &str) -> Option<Timestamp> {
    raw.trim()
        .parse::<DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned_datetime(req.time_zone.clone()).ok())
        .map(|z| z.timestamp())
}

// --- rotations -------------------------------------------------------------------------------

/// `POST /admin/notify/rotations`: a new rotation.
pub async fn create_rotation(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (me, form) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let mut errors = FieldErrors::default();
    let members: Vec<i64> = form
        .all("rot_member")
        .iter()
        .filter_map(|m| m.parse().ok())
        .collect();
    if members.is_empty() {
        errors.set("rot_member", tr.t("choose-one"));
    }
    let handover = form.get("rot_handover").trim().parse::<Time>().ok();
    if handover.is_none() {
        errors.set("rot_handover", tr.t("admin-notify-bad-time"));
    }
    let start_date = form.get("rot_start").trim().parse::<Date>().ok();
    if start_date.is_none() {
        errors.set("rot_start", tr.t("admin-notify-bad-date"));
    }
    let period = match form.get("rot_period") {
        "daily" => Some(Period::Daily),
        "weekly" => Some(Period::Weekly),
        _ => None,
    };
    if period.is_none() {
        errors.set("rot_period", tr.t("choose-one"));
    }
    let name = form.get("rot_name").trim().to_owned();
    if name.is_empty() {
        errors.set("rot_name", tr.t("admin-notify-name-required"));
    }
    let (Some(handover), Some(start_date), Some(period), false) =
        (handover, start_date, period, errors.any())
    else {
        return render_index(
            &state,
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            None,
        )
        .await;
    };
    let input = RotationInput {
        version: None,
        name,
        members,
        handover,
        time_zone: form.get("rot_zone").trim().to_owned(),
        period,
        start_date,
        overrides: Vec::new(),
    };
    match manage::create_rotation(&state, actor(&req, &me), &input).await {
        Ok(_) => saved(),
        Err(ManageError::Invalid(v)) => {
            place(
                tr,
                &mut errors,
                v,
                &[
                    ("name", "rot_name"),
                    ("members", "rot_member"),
                    ("time_zone", "rot_zone"),
                    ("start_date", "rot_start"),
                    ("period", "rot_period"),
                    ("handover", "rot_handover"),
                ],
            );
            render_index(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await
        }
        Err(e) => manage_failed(&state, &req, form, e).await,
    }
}

/// `POST /admin/notify/rotations/{id}/overrides`: someone covers between two times, given in
/// the organisation's zone.
pub async fn add_override(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (me, form) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let Some(rotation_id) = req.path_number(4) else {
        return req.not_found();
    };
    let mut errors = FieldErrors::default();
    let user_id = form.get("ov_user").parse::<i64>().ok();
    if user_id.is_none() {
        errors.set("ov_user", tr.t("choose-one"));
    }
    let from = local_instant(&req, form.get("ov_from"));
    if from.is_none() {
        errors.set("ov_from", tr.t("field-bad-datetime"));
    }
    let to = local_instant(&req, form.get("ov_to"));
    if to.is_none() {
        errors.set("ov_to", tr.t("field-bad-datetime"));
    }
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        errors.set("ov_to", tr.t("admin-notify-override-order"));
    }
    let (Some(user_id), Some(from), Some(to), false) = (user_id, from, to, errors.any()) else {
        return override_refused(&state, &req, form, rotation_id, errors).await;
    };
    let input = OverrideInput { user_id, from, to };
    match manage::add_override(&state, actor(&req, &me), rotation_id, &input).await {
        Ok(_) => saved(),
        Err(ManageError::Invalid(v)) => {
            place(
                tr,
                &mut errors,
                v,
                &[("user_id", "ov_user"), ("from", "ov_from"), ("to", "ov_to")],
            );
            override_refused(&state, &req, form, rotation_id, errors).await
        }
        Err(e) => manage_failed(&state, &req, form, e).await,
    }
}

async fn override_refused(
    state: &AppState,
    req: &WebRequest,
    mut form: Pairs,
    rotation_id: i64,
    errors: FieldErrors,
) -> Response {
    // Which rotation's form the errors belong to.
    form.0.push(("ov_rotation".into(), rotation_id.to_string()));
    render_index(
        state,
        req,
        StatusCode::UNPROCESSABLE_ENTITY,
        form,
        errors,
        None,
    )
    .await
}

// --- rules -----------------------------------------------------------------------------------

fn parse_recipient(raw: &str) -> Option<Recipient> {
    let (kind, value) = raw.split_once(':')?;
    match kind {
        "role" => value
            .parse::<Role>()
            .ok()
            .map(|role| Recipient::Role { role }),
        "user" => value
            .parse()
            .ok()
            .map(|user_id| Recipient::User { user_id }),
        "oncall" => value
            .parse()
            .ok()
            .map(|rotation_id| Recipient::OnCall { rotation_id }),
        _ => None,
    }
}

fn parse_channel(raw: &str) -> Option<Channel> {
    match raw {
        "email" => Some(Channel::Email),
        "phone_tree" => Some(Channel::PhoneTree),
        other => other
            .strip_prefix("webhook:")?
            .parse()
            .ok()
            .map(|webhook_id| Channel::Webhook { webhook_id }),
    }
}

/// `POST /admin/notify/rules`: a new rule.
pub async fn create_rule(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (me, form) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let mut errors = FieldErrors::default();
    let name = form.get("rule_name").trim().to_owned();
    if name.is_empty() {
        errors.set("rule_name", tr.t("admin-notify-name-required"));
    }
    let min_severity = form.get("rule_min_severity").parse::<u8>().ok();
    if min_severity.is_none() {
        errors.set("rule_min_severity", tr.t("choose-one"));
    }
    let recipients: Vec<Recipient> = form
        .all("rule_recipient")
        .into_iter()
        .filter_map(parse_recipient)
        .collect();
    if recipients.is_empty() {
        errors.set("rule_recipient", tr.t("choose-one"));
    }
    let channels: Vec<Channel> = form
        .all("rule_channel")
        .into_iter()
        .filter_map(parse_channel)
        .collect();
    if channels.is_empty() {
        errors.set("rule_channel", tr.t("choose-one"));
    }
    let categories: Vec<Category> = form
        .all("rule_category")
        .into_iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let template_id = match form.get("rule_template") {
        "" => TemplateKind::NewIncident.as_str().to_owned(),
        t => t.to_owned(),
    };
    let (Some(min_severity), false) = (min_severity, errors.any()) else {
        return render_index(
            &state,
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            None,
        )
        .await;
    };
    let input = RuleInput {
        version: None,
        name,
        enabled: true,
        min_severity,
        categories,
        on_reports: form.has("rule_on_reports", "1"),
        recipients,
        channels,
        template_id,
    };
    match manage::create_rule(&state, actor(&req, &me), &input).await {
        Ok(_) => saved(),
        Err(ManageError::Invalid(v)) => {
            place(
                tr,
                &mut errors,
                v,
                &[
                    ("name", "rule_name"),
                    ("min_severity", "rule_min_severity"),
                    ("recipients", "rule_recipient"),
                    ("channels", "rule_channel"),
                    ("categories", "rule_category"),
                    ("template_id", "rule_template"),
                ],
            );
            render_index(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await
        }
        Err(e) => manage_failed(&state, &req, form, e).await,
    }
}

/// `POST /admin/notify/rules/{id}/delete`, against the version the list showed.
pub async fn delete_rule(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (me, form) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(rule_id) = req.path_number(4) else {
        return req.not_found();
    };
    let version = form.get("version").parse::<i64>().unwrap_or(0);
    match manage::delete_rule(&state, actor(&req, &me), rule_id, version).await {
        // Already gone is what was asked for.
        Ok(()) | Err(ManageError::Store(StoreError::NotFound { .. })) => saved(),
        Err(e) => manage_failed(&state, &req, Pairs::default(), e).await,
    }
}

// --- webhooks --------------------------------------------------------------------------------

/// `POST /admin/notify/webhooks`: a new target. The address is checked now for its form
/// (http or https, a host, no credentials, a literal address the guard allows); where a host
/// name points is checked at every send. A signed-JSON target without a typed secret gets one
/// made for it, shown on the answer once and never again.
pub async fn create_webhook(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (me, form) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let mut errors = FieldErrors::default();
    let Some(format) = kizuki_store::notify::parse_format(form.get("hook_format")) else {
        errors.set("hook_format", tr.t("choose-one"));
        return render_index(
            &state,
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            None,
        )
        .await;
    };
    let secret = form.get("hook_secret").trim().to_owned();
    let typed_secret = !secret.is_empty();
    let input = WebhookInput {
        version: None,
        name: form.get("hook_name").trim().to_owned(),
        format,
        url: form.get("hook_url").trim().to_owned(),
        secret: typed_secret.then_some(secret),
        enabled: true,
    };
    match manage::create_webhook(&state, actor(&req, &me), &input).await {
        Ok(created) => match created.secret.filter(|_| !typed_secret) {
            // The secret Kizuki made: this answer is the only place it is ever shown.
            Some(made) => {
                render_index(
                    &state,
                    &req,
                    StatusCode::OK,
                    Pairs::default(),
                    FieldErrors::default(),
                    Some(tr.t1("admin-notify-secret-once", "secret", made)),
                )
                .await
            }
            None => saved(),
        },
        Err(ManageError::Invalid(v)) => {
            place(
                tr,
                &mut errors,
                v,
                &[
                    ("name", "hook_name"),
                    ("url", "hook_url"),
                    ("secret", "hook_secret"),
                    ("format", "hook_format"),
                ],
            );
            render_index(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await
        }
        Err(ManageError::Store(StoreError::Duplicate { .. })) => {
            errors.set("hook_name", tr.t("admin-notify-name-taken"));
            render_index(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await
        }
        Err(e) => manage_failed(&state, &req, form, e).await,
    }
}

/// `POST /admin/notify/webhooks/{id}/delete`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (me, _) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(id) = req.path_number(4) else {
        return req.not_found();
    };
    match manage::delete_webhook(&state, actor(&req, &me), id).await {
        Ok(()) | Err(ManageError::NotFound { .. }) => saved(),
        Err(e) => manage_failed(&state, &req, Pairs::default(), e).await,
    }
}

// --- templates -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_notify_template.html")]
struct TemplatePage {
    layout: Layout,
    t: Tr,
    action: String,
    kind: String,
    language: &'static str,
    built_in: bool,
    version: i64,
    subject: String,
    body: String,
    subject_errors: Vec<String>,
    body_errors: Vec<String>,
    form_error: Option<String>,
    /// The fields this kind may use, as `{{name}}`.
    fields: Vec<String>,
    preview_subject: Option<String>,
    preview_body: Option<String>,
    notice: Option<String>,
}

/// The kind and language of `/admin/notify/templates/{kind}/{lang}`.
fn template_path(req: &WebRequest) -> Option<(TemplateKind, Language)> {
    let mut parts = req.uri.path().split('/').skip(4);
    let kind = kizuki_store::notify::template_kind_from_str(parts.next()?)?;
    let lang = parts.next()?.parse::<Language>().ok()?;
    parts.next().is_none().then_some((kind, lang))
}

fn problem_text(tr: Tr, e: &SyntaxError) -> String {
    let problem = match &e.problem {
        Problem::UnknownField { name } => tr.t1("template-unknown-field", "name", name.clone()),
        Problem::NotAvailable { field, .. } => {
            tr.t1("template-not-available", "name", field.name())
        }
        Problem::Unclosed => tr.t("template-unclosed"),
        Problem::EmptyField => tr.t("template-empty-field"),
        Problem::StrayClose => tr.t("template-stray-close"),
        Problem::LineBreakInSubject => tr.t("template-subject-line-break"),
    };
    tr.with(
        "template-error-at",
        &[
            ("line", i64::try_from(e.line).unwrap_or(i64::MAX).into()),
            ("column", i64::try_from(e.column).unwrap_or(i64::MAX).into()),
            ("problem", problem.into()),
        ],
    )
}

fn template_page(
    req: &WebRequest,
    kind: TemplateKind,
    lang: Language,
    built_in: bool,
    version: i64,
    subject: String,
    body: String,
) -> TemplatePage {
    let tr = req.tr;
    TemplatePage {
        layout: req.layout(tr.t("admin-notify-template-title"), Nav::None),
        t: tr,
        action: req.uri.path().to_owned(),
        kind: tr.t(&kind_key(kind)),
        language: lang_name(lang),
        built_in,
        version,
        subject,
        body,
        subject_errors: Vec::new(),
        body_errors: Vec::new(),
        form_error: None,
        fields: kind
            .fields()
            .iter()
            .map(|f| format!("{{{{{}}}}}", f.name()))
            .collect(),
        preview_subject: None,
        preview_body: None,
        notice: None,
    }
}

/// `GET /admin/notify/templates/{kind}/{lang}`.
pub async fn template(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = req.require(&state, Action::ManageUsers).await {
        return refused;
    }
    let Some((kind, lang)) = template_path(&req) else {
        return req.not_found();
    };
    let stored = match state.store.get_template(kind, lang).await {
        Ok(t) => t,
        Err(e) => return super::incident_page::internal(&req, &e),
    };
    let mut page = template_page(
        &req,
        kind,
        lang,
        stored.is_built_in(),
        stored.version,
        stored.subject,
        stored.body,
    );
    if super::query_param(&req.uri, "saved").is_some() {
        page.notice = Some(req.tr.t("admin-notify-saved"));
    }
    req.render(StatusCode::OK, &page)
}

/// `POST /admin/notify/templates/{kind}/{lang}`: `action=preview` renders sample facts and
/// saves nothing; `save` stores a template that parses (against the version it was read at);
/// `reset` goes back to the built-in text.
pub async fn save_template(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (me, form) = match admin_post(&state, &req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some((kind, lang)) = template_path(&req) else {
        return req.not_found();
    };
    let tr = req.tr;
    let action = form.get("action");
    if action == "reset" {
        return match manage::reset_template(&state, actor(&req, &me), kind, lang).await {
            Ok(_) => see_other(&format!("{}?saved=1", req.uri.path())),
            Err(e) => super::incident_page::internal(&req, &e),
        };
    }
    let version = form.get("version").parse::<i64>().unwrap_or(0);
    let subject = form.get("subject").to_owned();
    let text = form.get("body").replace("\r\n", "\n");
    let built_in = version == 0;
    let mut page = template_page(
        &req,
        kind,
        lang,
        built_in,
        version,
        subject.clone(),
        text.clone(),
    );
    // Parsed here too (the shared functions parse again), only to say what is wrong in the
    // reader's language, beside the box it is in.
    if let Err(e) = MessageTemplate::parse(kind, &subject, &text) {
        page.subject_errors = e.subject.iter().map(|s| problem_text(tr, s)).collect();
        page.body_errors = e.body.iter().map(|s| problem_text(tr, s)).collect();
        return req.render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    if action != "save" {
        let input = PreviewInput {
            subject: subject.clone(),
            body: text.clone(),
            incident_id: None,
        };
        match manage::preview_template(&state, actor(&req, &me), kind, lang, &input).await {
            Ok(r) => {
                page.preview_subject = Some(r.subject);
                page.preview_body = Some(r.body);
            }
            Err(e) => {
                tracing::error!(error = %e, "could not preview a template");
                page.form_error = Some(tr.t("internal-error"));
            }
        }
        return req.render(StatusCode::OK, &page);
    }
    if subject.chars().count() > 300 || text.chars().count() > kizuki_domain::error::limits::TEXT {
        page.form_error = Some(tr.t("admin-notify-template-too-long"));
        return req.render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let input = TemplateInput {
        version,
        subject,
        body: text,
    };
    match manage::save_template(&state, actor(&req, &me), kind, lang, &input).await {
        Ok(_) => see_other(&format!("{}?saved=1", req.uri.path())),
        Err(e) if e.is_stale() => {
            if let ManageError::Store(
                StoreError::Stale { current, .. } | StoreError::Conflict { current, .. },
            ) = e
            {
                page.version = current;
            }
            page.form_error = Some(tr.t("admin-notify-template-stale"));
            req.render(StatusCode::CONFLICT, &page)
        }
        Err(ManageError::Invalid(v)) => {
            for e in v.errors {
                let text = tr.t1("field-invalid", "reason", e.message);
                if e.field == "subject" {
                    page.subject_errors.push(text);
                } else {
                    page.body_errors.push(text);
                }
            }
            req.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => super::incident_page::internal(&req, &e),
    }
}
