//! `/ack/{token}`: the signed link in every notification, "I have seen this" without signing
//! in. The token is the credential ([`kizuki_notify::ack`]): it names one notification and
//! an expiry under the server's key.
//!
//! A `GET` only shows the incident's number and title and a button: mail scanners and link
//! previews fetch links on their own, and must not stop an escalation nobody saw. The button
//! posts back to the same address, which acknowledges (the first acknowledgement wins and
//! writes the timeline entry with it, in one transaction; any acknowledgement stops the
//! escalation chain, which the worker checks before each step). The post is guarded like
//! the other public form (`/report`): same-origin, plus the session's CSRF token when the
//! browser happens to be signed in, and the per-address rate limit for anonymous posts.
//!
//! The token never reaches a log or the audit record: those name the route only.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use jiff::Timestamp;
use kizuki_domain::notification::AckVia;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};
use kizuki_notify::ack::{self, AckError};
use kizuki_store::{Notification, StoreError};
use serde::Deserialize;

use super::{Layout, Nav, WebRequest};
use crate::AppState;
use crate::web::i18n::Tr;

/// The route as the audit log names it (never with the token).
const ROUTE: &str = "/ack/{token}";

#[derive(Template)]
#[template(path = "ack.html")]
struct AckPage {
    layout: Layout,
    t: Tr,
    /// The path the button posts to.
    action: String,
    incident_id: i64,
    incident_title: String,
    /// Set once acknowledged: who and when, as a sentence.
    done: Option<String>,
    /// This request was the one that acknowledged.
    just_now: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AckForm {
    csrf: String,
}

/// The token of this request as sent (before any decoding), so `%2E` cannot stand in for a
/// dot: a token has exactly one spelling.
fn token_of(req: &WebRequest) -> &str {
    req.uri.path().strip_prefix("/ack/").unwrap_or_default()
}

/// The page for a token that does not verify: 410 for an expired link (it was genuine),
/// 400 for anything else. Neither says which notification it named.
fn refused(req: &WebRequest, e: &AckError) -> Response {
    tracing::info!(reason = %e, "acknowledgement link refused");
    match e {
        AckError::Expired { .. } => req.message(
            StatusCode::GONE,
            "ack-expired-title",
            req.tr.t("ack-expired-text"),
        ),
        AckError::Malformed | AckError::BadSignature => req.message(
            StatusCode::BAD_REQUEST,
            "ack-invalid-title",
            req.tr.t("ack-invalid-text"),
        ),
    }
}

/// The request in the notification's own language (the link came in a message written in
/// it) unless the reader chose one: `?lang=`, a signed-in person's own choice, or the
/// language this browser remembers.
fn in_language_of(req: &WebRequest, n: &Notification) -> WebRequest {
    let mut req = req.clone();
    if !req.lang_chosen
        && req.principal.is_none()
        && super::i18n::browser_choice(&req.headers).is_none()
    {
        req.tr = Tr::new(n.language);
    }
    req
}

/// Verifies the token and loads its notification and incident title; or the answer to send.
async fn load(state: &AppState, req: &WebRequest) -> Result<(Notification, String), Response> {
    let token = token_of(req);
    let id = ack::verify(&state.notify.ack_key, token, state.clock.now())
        .map_err(|e| refused(req, &e))?;
    let n = match state.store.get_notification(id).await {
        Ok(Some(n)) => n,
        Ok(None) => return Err(req.not_found()),
        Err(e) => return Err(super::incident_page::internal(req, &e)),
    };
    match state.store.get_incident(n.incident_id).await {
        Ok(Some(i)) => Ok((n, i.title)),
        Ok(None) => Err(req.not_found()),
        Err(e) => Err(super::incident_page::internal(req, &e)),
    }
}

/// "Acknowledged by A at T", in the reader's language.
pub(super) async fn acknowledged_line(
    state: &AppState,
    req: &WebRequest,
    n: &Notification,
) -> Option<String> {
    let at = n.acknowledged_at?;
    let who = match n.acknowledged_by {
        Some(id) => state
            .store
            .user_by_id(id)
            .await
            .ok()
            .flatten()
            .map(|u| u.display_name),
        None => None,
    }
    .unwrap_or_else(|| req.tr.t("ack-someone"));
    Some(req.tr.with(
        "ack-by-at",
        &[("who", who.into()), ("at", req.local_time(at).into())],
    ))
}

/// `GET /ack/{token}`: what the link is about and a button. Acknowledges nothing.
pub async fn show(State(state): State<AppState>, req: WebRequest) -> Response {
    let (n, title) = match load(&state, &req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let req = in_language_of(&req, &n);
    let done = acknowledged_line(&state, &req, &n).await;
    let page = page(&req, &n, title, done, false);
    req.render(StatusCode::OK, &page)
}

fn page(
    req: &WebRequest,
    n: &Notification,
    title: String,
    done: Option<String>,
    just_now: bool,
) -> AckPage {
    AckPage {
        layout: req.layout(req.tr.t("ack-title"), Nav::None),
        t: req.tr,
        action: req.path_and_query(),
        incident_id: n.incident_id,
        incident_title: title,
        done,
        just_now,
    }
}

/// `POST /ack/{token}`: acknowledges, once.
pub async fn submit(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let now = state.clock.now();
    if req.principal.is_none()
        && let Some(ip) = req.addr.0
        && let Err(retry) = state.login_limiter.check(ip, now)
    {
        let seconds = i64::try_from(retry.secs()).unwrap_or(i64::MAX);
        return req.message(
            StatusCode::TOO_MANY_REQUESTS,
            "ack-title",
            req.tr.t1("login-too-many", "seconds", seconds),
        );
    }
    let (n, title) = match load(&state, &req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let req = in_language_of(&req, &n);
    let form: AckForm = super::incident_page::read_form(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        state
            .audit
            .record_request(
                req.principal.as_ref(),
                req.addr.0,
                &req.method,
                ROUTE,
                ROUTE,
                "denied",
            )
            .await;
        return req.message(StatusCode::FORBIDDEN, "csrf-title", req.tr.t("csrf-failed"));
    }
    let who = recipient_name(&state, &n).await;
    let entry = ack_entry(&state, &who, None, AckVia::Link, now);
    let result = state
        .store
        .acknowledge_notification(n.id, n.user_id, AckVia::Link, Some(&entry), now)
        .await;
    match result {
        Ok(acked) => {
            if acked.first {
                tracing::info!(
                    incident = n.incident_id,
                    notification = n.id,
                    "notification acknowledged through its link"
                );
                state
                    .audit
                    .record_request(
                        req.principal.as_ref(),
                        req.addr.0,
                        &req.method,
                        ROUTE,
                        ROUTE,
                        "ok",
                    )
                    .await;
            }
            let done = acknowledged_line(&state, &req, &acked.notification).await;
            let page = page(&req, &acked.notification, title, done, acked.first);
            req.render(StatusCode::OK, &page)
        }
        Err(StoreError::NotFound { .. }) => req.not_found(),
        Err(e) => super::incident_page::internal(&req, &e),
    }
}

/// The name of a notification's recipient: the user's or the party's, else the address.
pub(crate) async fn recipient_name(state: &AppState, n: &Notification) -> String {
    if let Some(id) = n.user_id
        && let Ok(Some(u)) = state.store.user_by_id(id).await
    {
        return u.display_name;
    }
    if let Some(pid) = n.party_id
        && let Ok(parties) = state.store.list_parties(n.incident_id).await
        && let Some(p) = parties.into_iter().find(|p| p.id == pid)
    {
        return p.name;
    }
    n.address.clone()
}

/// The timeline entry an acknowledgement writes, in the organisation's language: who
/// acknowledged (`by`, when someone else did it for the recipient) and how.
pub(crate) fn ack_entry(
    state: &AppState,
    recipient: &str,
    by: Option<&str>,
    via: AckVia,
    now: Timestamp,
) -> TimelineEntryFields {
    let lang = state.settings.language;
    let how = match (via, lang) {
        (AckVia::Link, Language::Ja) => "通知のリンクから",
        (AckVia::Link, Language::En) => "through the link in the message",
        (AckVia::Ui, Language::Ja) => "インシデント画面から",
        (AckVia::Ui, Language::En) => "on the incident page",
    };
    let text = match (by, lang) {
        (Some(by), Language::Ja) if by != recipient => {
            format!("{by} が {recipient} 宛ての通知を受領済みにしました（{how}）。")
        }
        (_, Language::Ja) => format!("{recipient} が通知を受け取ったと確認しました（{how}）。"),
        (Some(by), Language::En) if by != recipient => {
            format!("{by} acknowledged the notification to {recipient} ({how}).")
        }
        (_, Language::En) => format!("{recipient} acknowledged the notification ({how})."),
    };
    TimelineEntryFields {
        occurred_at: now,
        precision: TimePrecision::Minute,
        day_part: None,
        lane: Lane::CisoCsirt,
        actor: by.unwrap_or(recipient).to_owned(),
        kind: EntryKind::Communication,
        text,
        source: EntrySource::Notification,
    }
}
