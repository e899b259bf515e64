//! The incident page's notification sections: who was told, through which route, whether it
//! arrived and who acknowledged it, with an **Acknowledge** button for one's own messages
//! (commanders may acknowledge anyone's); and the **phone tree**, the incident commander's
//! call list, where each call is ticked off with its outcome and a note. Both write the
//! timeline through the store, in the same transaction as the change.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::access::Action;
use kizuki_domain::notification::{AckVia, CallOutcome, NotificationState};
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};
use kizuki_domain::user::Role;
use kizuki_notify::rule::Channel;
use kizuki_store::{NewPhoneCall, Notification, StoreError};
use serde::Deserialize;

use super::WebRequest;
use super::ack::{ack_entry, recipient_name};
use super::incident_page::{Choice, Ctx, FieldErrors, Forms, back_to, internal, open, read_form};
use crate::AppState;
use crate::access::Principal;
use crate::web::i18n::Tr;

/// The longest note on a call.
pub const MAX_NOTE: usize = 2_000;

/// Who runs the call list and may acknowledge for others.
pub fn is_commander(role: Role) -> bool {
    matches!(role, Role::Admin | Role::IncidentCommander)
}

/// Whether a role sees who was notified (internal staff; not reporters or outside
/// responders, who have no business with colleagues' addresses).
pub fn sees_notifications(role: Role) -> bool {
    !matches!(role, Role::Reporter | Role::ExternalResponder)
}

/// The call form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct CallForm {
    pub version: String,
    pub outcome: String,
    pub note: String,
    pub csrf: String,
}

/// One notification as listed.
#[derive(Debug)]
pub struct NotificationView {
    pub id: i64,
    pub recipient: String,
    pub channel: String,
    pub state: String,
    /// `sent`, `failed`, `pending`, `acknowledged`: for the style.
    pub state_class: &'static str,
    pub error: Option<String>,
    pub acknowledged: Option<String>,
    /// The signed-in reader may press Acknowledge on it.
    pub may_ack: bool,
}

/// One line of the call list.
#[derive(Debug)]
pub struct CallLineView {
    pub id: i64,
    pub recipient: String,
    pub phone: String,
    pub version: i64,
    pub calls: Vec<String>,
    pub outcome_choices: Vec<Choice>,
    pub note: String,
    pub errors: FieldErrors,
}

/// Everything the two sections show.
#[derive(Debug, Default)]
pub struct NotifyView {
    pub shown: bool,
    pub notifications: Vec<NotificationView>,
    pub commander: bool,
    pub lines: Vec<CallLineView>,
    pub notice: Option<String>,
}

fn outcome_key(o: CallOutcome) -> String {
    format!("call-outcome-{}", o.as_str())
}

fn state_key(s: NotificationState) -> String {
    format!("notification-state-{}", s.as_str())
}

/// Builds the sections for `principal`; the refused call form (if any) comes back filled in
/// under its own line.
pub(super) async fn view(
    state: &AppState,
    req: &WebRequest,
    principal: &Principal,
    incident_id: i64,
    forms: &mut Forms,
) -> Result<NotifyView, StoreError> {
    let tr = req.tr;
    let role = principal.user.role;
    if !sees_notifications(role) {
        return Ok(NotifyView::default());
    }
    let commander = is_commander(role);
    let notifications = state.store.list_notifications(incident_id).await?;
    let users: HashMap<i64, String> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let webhooks: HashMap<i64, String> = if notifications
        .iter()
        .any(|n| matches!(n.channel, Channel::Webhook { .. }))
    {
        state
            .store
            .list_webhook_targets()
            .await?
            .into_iter()
            .map(|w| (w.id, w.name))
            .collect()
    } else {
        HashMap::new()
    };
    let parties: HashMap<i64, String> = if notifications.iter().any(|n| n.party_id.is_some()) {
        state
            .store
            .list_parties(incident_id)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    } else {
        HashMap::new()
    };
    let name_of = |n: &Notification| -> String {
        n.user_id
            .and_then(|id| users.get(&id).cloned())
            .or_else(|| n.party_id.and_then(|id| parties.get(&id).cloned()))
            .unwrap_or_else(|| n.address.clone())
    };
    let list = notifications
        .iter()
        .map(|n| {
            let acknowledged = n.acknowledged_at.map(|at| {
                let who = n
                    .acknowledged_by
                    .and_then(|id| users.get(&id).cloned())
                    .unwrap_or_else(|| tr.t("ack-someone"));
                tr.with(
                    "ack-by-at",
                    &[("who", who.into()), ("at", req.local_time(at).into())],
                )
            });
            let mine = n.user_id == Some(principal.user.id);
            let st = if n.acknowledged_at.is_some() {
                NotificationState::Acknowledged
            } else {
                n.state
            };
            NotificationView {
                id: n.id,
                recipient: name_of(n),
                channel: match n.channel {
                    Channel::Email => tr.t("channel-email"),
                    Channel::PhoneTree => tr.t("channel-phone-tree"),
                    Channel::Webhook { webhook_id } => tr.t1(
                        "channel-webhook",
                        "name",
                        webhooks
                            .get(&webhook_id)
                            .cloned()
                            .unwrap_or_else(|| webhook_id.to_string()),
                    ),
                },
                state: tr.t(&state_key(st)),
                state_class: st.as_str(),
                error: n
                    .last_error
                    .clone()
                    .filter(|_| st == NotificationState::Failed),
                may_ack: n.acknowledged_at.is_none() && (mine || commander),
                acknowledged,
            }
        })
        .collect();
    let mut lines = Vec::new();
    if commander {
        let mut refused = forms.call.take();
        for line in state.store.phone_tree(incident_id).await? {
            let n = &line.notification;
            let (form, errors) = match refused.take() {
                Some((id, form, errors)) if id == n.id => (form, errors),
                other => {
                    refused = other;
                    (CallForm::default(), FieldErrors::default())
                }
            };
            lines.push(CallLineView {
                id: n.id,
                recipient: name_of(n),
                phone: n.address.clone(),
                version: line.version,
                calls: line
                    .calls
                    .iter()
                    .map(|c| {
                        let who = c
                            .called_by
                            .and_then(|id| users.get(&id).cloned())
                            .unwrap_or_else(|| tr.t("ack-someone"));
                        let mut text = tr.with(
                            "call-line",
                            &[
                                ("at", req.local_time(c.called_at).into()),
                                ("outcome", tr.t(&outcome_key(c.outcome)).into()),
                                ("who", who.into()),
                            ],
                        );
                        if !c.note.is_empty() {
                            text.push_str(" — ");
                            text.push_str(&c.note);
                        }
                        text
                    })
                    .collect(),
                outcome_choices: CallOutcome::ALL
                    .iter()
                    .map(|o| Choice {
                        value: o.as_str().to_owned(),
                        label: tr.t(&outcome_key(*o)),
                        selected: form.outcome == o.as_str(),
                    })
                    .collect(),
                note: form.note,
                errors,
            });
        }
    }
    Ok(NotifyView {
        shown: true,
        notifications: list,
        commander,
        lines,
        notice: forms.notify_notice.take(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfOnly {
    csrf: String,
}

/// `POST /incidents/{id}/notifications/{notification_id}/ack`: the signed-in recipient (or a
/// commander, for anyone) acknowledges from the page. A second press changes nothing and
/// says who was first.
pub async fn acknowledge(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ReadIncidents).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(notification_id) = req.path_number(4) else {
        return req.not_found();
    };
    let form = read_form::<CsrfOnly>(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let n = match state.store.get_notification(notification_id).await {
        Ok(Some(n)) if n.incident_id == incident.id => n,
        Ok(_) => return req.not_found(),
        Err(e) => return internal(&req, &e),
    };
    let role = principal.user.role;
    let mine = n.user_id == Some(principal.user.id);
    if !sees_notifications(role) || !(mine || is_commander(role)) {
        state
            .audit
            .record_request(
                Some(&principal),
                req.addr.0,
                &req.method,
                "/incidents/{id}/notifications/{notification_id}/ack",
                req.uri.path(),
                "denied",
            )
            .await;
        return req.message(
            StatusCode::FORBIDDEN,
            "forbidden-title",
            req.tr.t("notification-ack-not-yours"),
        );
    }
    let now = state.clock.now();
    let recipient = recipient_name(&state, &n).await;
    let entry = ack_entry(
        &state,
        &recipient,
        Some(&principal.user.display_name),
        AckVia::Ui,
        now,
    );
    match state
        .store
        .acknowledge_notification(n.id, Some(principal.user.id), AckVia::Ui, Some(&entry), now)
        .await
    {
        Ok(acked) if acked.first => {
            state
                .audit
                .record_request(
                    Some(&principal),
                    req.addr.0,
                    &req.method,
                    "/incidents/{id}/notifications/{notification_id}/ack",
                    req.uri.path(),
                    "ok",
                )
                .await;
            back_to(incident.id, "notifications")
        }
        Ok(acked) => {
            let ctx = Ctx {
                state: &state,
                req: &req,
                principal: &principal,
            };
            let mut forms = Forms::default();
            forms.notify_notice = Some(
                super::ack::acknowledged_line(&state, &req, &acked.notification)
                    .await
                    .map_or_else(
                        || req.tr.t("ack-already"),
                        |line| format!("{} {line}", req.tr.t("ack-already")),
                    ),
            );
            ctx.again(incident, forms, StatusCode::CONFLICT).await
        }
        Err(StoreError::NotFound { .. }) => req.not_found(),
        Err(e) => internal(&req, &e),
    }
}

/// The timeline entry of a call, in the organisation's language (also used by the API).
pub(crate) fn call_entry(
    state: &AppState,
    caller: &str,
    callee: &str,
    outcome: CallOutcome,
    note: &str,
    now: jiff::Timestamp,
) -> TimelineEntryFields {
    let lang = state.settings.language;
    let tr = Tr::new(lang);
    let outcome = tr.t(&outcome_key(outcome));
    let mut text = match lang {
        Language::Ja => format!("電話連絡網：{callee} に電話（{outcome}）"),
        Language::En => format!("Phone tree: called {callee} ({outcome})"),
    };
    if !note.is_empty() {
        text.push_str(match lang {
            Language::Ja => "。メモ：",
            Language::En => ". Note: ",
        });
        text.push_str(note);
    }
    TimelineEntryFields {
        occurred_at: now,
        precision: TimePrecision::Minute,
        day_part: None,
        lane: Lane::CisoCsirt,
        actor: caller.to_owned(),
        kind: EntryKind::Communication,
        text,
        source: EntrySource::Notification,
    }
}

/// `POST /incidents/{id}/calls/{notification_id}`: the commander ticks off a call on the
/// phone tree with its outcome and a note, against the line's version (two people calling
/// down the same list cannot overwrite each other).
pub async fn record_call(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ReadIncidents).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(notification_id) = req.path_number(4) else {
        return req.not_found();
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let Some(form) = read_form::<CallForm>(&body) else {
        let mut forms = Forms::default();
        forms.notify_notice = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    if !is_commander(principal.user.role) {
        state
            .audit
            .record_request(
                Some(&principal),
                req.addr.0,
                &req.method,
                "/incidents/{id}/calls/{notification_id}",
                req.uri.path(),
                "denied",
            )
            .await;
        return req.message(
            StatusCode::FORBIDDEN,
            "forbidden-title",
            tr.t("forbidden-text"),
        );
    }
    let mut errors = FieldErrors::default();
    let outcome = form.outcome.parse::<CallOutcome>().ok();
    if outcome.is_none() {
        errors.set("outcome", tr.t("choose-one"));
    }
    let note = form.note.trim();
    if note.chars().count() > MAX_NOTE {
        errors.set(
            "note",
            tr.t1(
                "field-too-long",
                "max",
                i64::try_from(MAX_NOTE).unwrap_or(i64::MAX),
            ),
        );
    } else if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.set(
            "note",
            tr.t1("field-invalid", "reason", "control character"),
        );
    }
    let version = form.version.trim().parse::<i64>().ok();
    if version.is_none() {
        errors.form = Some(tr.t("form-unreadable"));
    }
    let (Some(outcome), Some(version), false) = (outcome, version, errors.any()) else {
        let mut forms = Forms::default();
        forms.call = Some((notification_id, form, errors));
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let now = state.clock.now();
    let callee = match state.store.get_notification(notification_id).await {
        Ok(Some(n)) if n.incident_id == incident.id => recipient_name(&state, &n).await,
        Ok(_) => return req.not_found(),
        Err(e) => return internal(&req, &e),
    };
    let entry = call_entry(
        &state,
        &principal.user.display_name,
        &callee,
        outcome,
        note,
        now,
    );
    let call = NewPhoneCall {
        outcome,
        note: note.to_owned(),
        called_by: Some(principal.user.id),
        called_at: now,
    };
    match state
        .store
        .record_call(incident.id, notification_id, version, &call, Some(&entry))
        .await
    {
        Ok(_) => {
            tracing::info!(
                incident = incident.id,
                notification = notification_id,
                user = principal.user.id,
                "phone-tree call recorded from the incident page"
            );
            back_to(incident.id, "phone-tree")
        }
        Err(StoreError::Stale { .. }) => {
            let mut errors = FieldErrors::default();
            errors.form = Some(tr.t("call-stale"));
            let mut forms = Forms::default();
            forms.call = Some((notification_id, form, errors));
            ctx.again(incident, forms, StatusCode::CONFLICT).await
        }
        Err(StoreError::NotFound { .. }) => req.not_found(),
        Err(e) => internal(&req, &e),
    }
}
