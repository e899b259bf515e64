//! An incident's notifications: who was told what and whether they answered; acknowledging in
//! the UI or API (the signed link is the other way, `/ack/{token}`); sending a failed one
//! again once its cause is fixed; and the phone tree, ticked off call by call.
//!
//! The functions below the handlers are shared with the incident page, so both answer alike.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use kizuki_domain::ValidationError;
use kizuki_domain::notification::{AckVia, CallOutcome, JobKind, NotificationState};
use kizuki_domain::settings::Language;
use kizuki_domain::user::{Role, User};
use kizuki_notify::rule::Channel;
use kizuki_store::notify::{NewPhoneCall, Notification, PhoneTreeLine, SendPayload, channel_parts};
use kizuki_store::{NewJob, StoreError};
use serde::{Deserialize, Serialize};

use super::load_incident;
use crate::AppState;
use crate::access::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};

/// A notification as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub incident_id: i64,
    /// `email`, `webhook` or `phone_tree`.
    pub channel: String,
    pub webhook_id: Option<i64>,
    /// The address as sent: e-mail, telephone number, or the webhook target's name.
    pub address: String,
    pub user_id: Option<i64>,
    pub party_id: Option<i64>,
    /// The escalation step (0-based) that sent it, if one did.
    pub escalation_step: Option<u32>,
    /// The legal clock a reminder is about.
    pub clock_id: Option<i64>,
    pub template: String,
    pub language: Language,
    pub state: NotificationState,
    pub attempts: u32,
    /// Why the last attempt failed, word for word from the server that refused.
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<i64>,
    pub ack_via: Option<AckVia>,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        let (channel, webhook_id) = channel_parts(n.channel);
        NotificationView {
            id: n.id,
            incident_id: n.incident_id,
            channel: channel.to_owned(),
            webhook_id,
            address: n.address.clone(),
            user_id: n.user_id,
            party_id: n.party_id,
            escalation_step: n.escalation_step,
            clock_id: n.clock_id,
            template: n.template.as_str().to_owned(),
            language: n.language,
            state: n.state,
            attempts: n.attempts,
            last_error: n.last_error.clone(),
            created_at: n.created_at,
            sent_at: n.sent_at,
            acknowledged_at: n.acknowledged_at,
            acknowledged_by: n.acknowledged_by,
            ack_via: n.ack_via,
        }
    }
}

/// The answer to an acknowledgement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AckView {
    pub notification: NotificationView,
    /// False when someone had acknowledged it already; nothing changed then.
    pub first: bool,
}

/// One line of the call list with the calls made so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhoneTreeLineView {
    pub notification: NotificationView,
    pub calls: Vec<PhoneCallView>,
    /// Send back as `version` when recording the next call.
    pub version: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhoneCallView {
    pub id: i64,
    pub outcome: CallOutcome,
    pub note: String,
    pub called_by: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub called_at: Timestamp,
}

impl From<&PhoneTreeLine> for PhoneTreeLineView {
    fn from(l: &PhoneTreeLine) -> Self {
        PhoneTreeLineView {
            notification: NotificationView::from(&l.notification),
            calls: l
                .calls
                .iter()
                .map(|c| PhoneCallView {
                    id: c.id,
                    outcome: c.outcome,
                    note: c.note.clone(),
                    called_by: c.called_by,
                    called_at: c.called_at,
                })
                .collect(),
            version: l.version,
        }
    }
}

/// A call made down the phone tree.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    pub outcome: CallOutcome,
    #[serde(default)]
    pub note: String,
    /// The line's `version` as last read; a colleague's call in between is a 409.
    pub version: i64,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/notifications", tag = "notifications",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<NotificationView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<NotificationView>>> {
    load_incident(&state, id).await?;
    let all = state.store.list_notifications(id).await?;
    Ok(Json(all.iter().map(NotificationView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notifications/{notification_id}/ack", tag = "notifications",
    params(("id" = i64, Path, description = "Incident id"), ("notification_id" = i64, Path, description = "Notification id")),
    responses((status = 200, body = AckView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, notification_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<AckView>> {
    let (notification, first) =
        acknowledge_in_ui(&state, &principal.user, id, notification_id).await?;
    Ok(Json(AckView {
        notification: NotificationView::from(&notification),
        first,
    }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notifications/{notification_id}/retry", tag = "notifications",
    params(("id" = i64, Path, description = "Incident id"), ("notification_id" = i64, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn retry(
    State(state): State<AppState>,
    ApiPath((id, notification_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<NotificationView>> {
    let n = send_again(&state, id, notification_id).await?;
    Ok(Json(NotificationView::from(&n)))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/phone-tree", tag = "notifications",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<PhoneTreeLineView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn phone_tree(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<PhoneTreeLineView>>> {
    load_incident(&state, id).await?;
    let lines = state.store.phone_tree(id).await?;
    Ok(Json(lines.iter().map(PhoneTreeLineView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/phone-tree/{notification_id}/calls", tag = "notifications",
    params(("id" = i64, Path, description = "Incident id"), ("notification_id" = i64, Path, description = "The phone-tree line (a notification id)")),
    request_body = NewCall,
    responses((status = 200, body = PhoneTreeLineView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_call(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, notification_id)): ApiPath<(i64, i64)>,
    ApiJson(call): ApiJson<NewCall>,
) -> ApiResult<Json<PhoneTreeLineView>> {
    let line = tick_off_call(&state, &principal.user, id, notification_id, call).await?;
    Ok(Json(PhoneTreeLineView::from(&line)))
}

// --- shared with the incident page -----------------------------------------------------------

/// The incident's notification `notification_id`, or 404 (also for one of another incident).
async fn notification_of(
    state: &AppState,
    incident_id: i64,
    notification_id: i64,
) -> ApiResult<Notification> {
    load_incident(state, incident_id).await?;
    state
        .store
        .get_notification(notification_id)
        .await?
        .filter(|n| n.incident_id == incident_id)
        .ok_or_else(|| ApiError::NotFound(format!("notification {notification_id}")))
}

/// Acknowledges from inside Kizuki: a person acknowledges what was sent to them; commanders
/// and administrators may acknowledge any of the incident's (someone phoned them back).
/// Returns the notification and whether this was the first acknowledgement.
pub async fn acknowledge_in_ui(
    state: &AppState,
    user: &User,
    incident_id: i64,
    notification_id: i64,
) -> ApiResult<(Notification, bool)> {
    let n = notification_of(state, incident_id, notification_id).await?;
    let own = n.user_id == Some(user.id);
    if !own && !matches!(user.role, Role::IncidentCommander | Role::Admin) {
        return Err(ApiError::Forbidden(
            "only the person notified, an incident commander or an administrator may acknowledge this notification".into(),
        ));
    }
    let now = state.clock.now();
    let recipient = crate::web::recipient_name(state, &n).await;
    let entry = crate::web::ack_entry(state, &recipient, Some(&user.display_name), AckVia::Ui, now);
    let done = state
        .store
        .acknowledge_notification(n.id, Some(user.id), AckVia::Ui, Some(&entry), now)
        .await?;
    Ok((done.notification, done.first))
}

/// Queues one more send of a failed notification, after its cause (a mail server, a webhook,
/// a template) was fixed. Once per failure: asking twice before the retry runs queues it
/// once. A phone-tree line is not sent; it is called.
pub async fn send_again(
    state: &AppState,
    incident_id: i64,
    notification_id: i64,
) -> ApiResult<Notification> {
    let n = notification_of(state, incident_id, notification_id).await?;
    if n.state != NotificationState::Failed {
        return Err(ApiError::AlreadyDone {
            field: "state".into(),
            message: format!(
                "notification {notification_id} is {}; only a failed one is sent again",
                n.state.as_str()
            ),
        });
    }
    if n.channel == Channel::PhoneTree {
        return Err(ApiError::AlreadyDone {
            field: "channel".into(),
            message: "a phone-tree line is called, not sent; record the call instead".into(),
        });
    }
    let now = state.clock.now();
    let job = NewJob {
        kind: JobKind::SendNotification,
        payload: serde_json::to_value(SendPayload {
            notification_id: n.id,
        })
        .map_err(|e| ApiError::Internal(e.to_string()))?,
        run_at: now,
        incident_id: Some(incident_id),
        dedupe_key: Some(format!(
            "{}:again:{}",
            SendPayload::dedupe_key(n.id),
            n.attempts
        )),
    };
    state.store.enqueue_job(&job, now).await?;
    Ok(n)
}

/// Records a call down the phone tree with its outcome, on the timeline too. Commanders and
/// administrators keep the call list; a stale `version` (a colleague called meanwhile) is a
/// conflict that leaves their call in place.
pub async fn tick_off_call(
    state: &AppState,
    user: &User,
    incident_id: i64,
    notification_id: i64,
    call: NewCall,
) -> ApiResult<PhoneTreeLine> {
    if !matches!(user.role, Role::IncidentCommander | Role::Admin) {
        return Err(ApiError::Forbidden(
            "the call list is kept by the incident commander".into(),
        ));
    }
    let note = call.note.trim().to_owned();
    if note.chars().count() > 2000 {
        return Err(ValidationError::one("note", "at most 2000 characters").into());
    }
    let n = notification_of(state, incident_id, notification_id).await?;
    let now = state.clock.now();
    let callee = crate::web::recipient_name(state, &n).await;
    let entry =
        crate::web::call_entry(state, &user.display_name, &callee, call.outcome, &note, now);
    let line = state
        .store
        .record_call(
            incident_id,
            notification_id,
            call.version,
            &NewPhoneCall {
                outcome: call.outcome,
                note,
                called_by: Some(user.id),
                called_at: now,
            },
            Some(&entry),
        )
        .await
        .map_err(|e| match e {
            StoreError::Stale { .. } => ApiError::Conflict {
                message: "a colleague recorded a call on this line meanwhile; reload and check before calling again".into(),
                current_version: None,
            },
            other => other.into(),
        })?;
    Ok(line)
}
