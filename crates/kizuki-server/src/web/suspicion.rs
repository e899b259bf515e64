//! `/report`: the one page any employee may use, signed in or not, to say "something looks
//! wrong". It asks for as little as possible in plain words, says up front that a false
//! alarm is welcome, and ends on a page that says what happens next. The incident it files
//! is the same as `POST /api/v1/reports` files ([`crate::api::reports::file_suspicion`]).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use jiff::civil::DateTime;
use kizuki_domain::access::Action;
use serde::Deserialize;

use super::{Layout, Nav, WebRequest, query_param, see_other};
use crate::AppState;
use crate::api::reports::{MAX_DETAIL, MAX_TEXT, SuspicionReport, file_suspicion};
use crate::error::ApiError;
use crate::web::i18n::Tr;

#[derive(Template)]
#[template(path = "suspicion.html")]
struct SuspicionPage {
    layout: Layout,
    t: Tr,
    form: SuspicionForm,
    form_error: Option<String>,
    what_error: Option<String>,
    where_error: Option<String>,
    noticed_error: Option<String>,
    contact_error: Option<String>,
}

impl SuspicionPage {
    fn new(req: &WebRequest, form: SuspicionForm) -> Self {
        Self {
            layout: req.layout(req.tr.t("suspicion-title"), Nav::Report),
            t: req.tr,
            form,
            form_error: None,
            what_error: None,
            where_error: None,
            noticed_error: None,
            contact_error: None,
        }
    }

    fn has_errors(&self) -> bool {
        self.what_error.is_some()
            || self.where_error.is_some()
            || self.noticed_error.is_some()
            || self.contact_error.is_some()
    }
}

/// What the form sends, kept as typed so a refused form comes back filled in.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct SuspicionForm {
    what_happened: String,
    #[serde(rename = "where")]
    location: String,
    /// `YYYY-MM-DDTHH:MM` from a `datetime-local` input, in the organisation's zone; empty
    /// means "just now".
    noticed_at: String,
    contact: String,
    /// The session's CSRF token when the reporter is signed in.
    csrf: String,
}

/// Who may use the form: anyone while the administrator leaves it open, otherwise a
/// signed-in user whose role may file reports. `Ok(None)` is an anonymous visitor.
async fn admit(
    state: &AppState,
    req: &WebRequest,
) -> Result<Option<crate::access::Principal>, Response> {
    if req.principal.is_none() && state.auth.public_reports {
        return Ok(None);
    }
    req.require(state, Action::FileReport).await.map(Some)
}

/// `GET /report`.
pub async fn form(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = admit(&state, &req).await {
        return refused;
    }
    let page = SuspicionPage::new(&req, SuspicionForm::default());
    req.render(StatusCode::OK, &page)
}

/// `POST /report`.
pub async fn submit(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let principal = match admit(&state, &req).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let tr = req.tr;
    let form: SuspicionForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            let mut page = SuspicionPage::new(&req, SuspicionForm::default());
            page.form_error = Some(tr.t("form-unreadable"));
            return req.render(StatusCode::BAD_REQUEST, &page);
        }
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let mut page = SuspicionPage::new(&req, form.clone());
    // Checked here, in the reader's language; the shared function checks the same limits
    // again for the API.
    if form.what_happened.trim().is_empty() {
        page.what_error = Some(tr.t("suspicion-what-required"));
    } else if form.what_happened.chars().count() > MAX_TEXT {
        page.what_error = Some(tr.t1("field-too-long", "max", max(MAX_TEXT)));
    }
    if form.location.chars().count() > MAX_DETAIL {
        page.where_error = Some(tr.t1("field-too-long", "max", max(MAX_DETAIL)));
    }
    if form.contact.chars().count() > MAX_DETAIL {
        page.contact_error = Some(tr.t1("field-too-long", "max", max(MAX_DETAIL)));
    }
    let noticed_at = match form.noticed_at.trim() {
        "" => None,
        raw => match raw
            .parse::<DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned_datetime(req.time_zone.clone()).ok())
        {
            Some(z) if z.timestamp() > state.clock.now() => {
                page.noticed_error = Some(tr.t("suspicion-noticed-future"));
                None
            }
            Some(z) => Some(z.timestamp()),
            None => {
                page.noticed_error = Some(tr.t("field-bad-datetime"));
                None
            }
        },
    };
    if page.has_errors() {
        return req.render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let report = SuspicionReport {
        what_happened: form.what_happened,
        location: form.location,
        noticed_at,
        contact: form.contact,
    };
    match file_suspicion(&state, principal.as_ref(), &req.addr, report).await {
        Ok(incident) => {
            tracing::info!(
                incident = incident.id,
                "suspicion reported from the web form"
            );
            see_other(&format!("/report/thanks?reference={}", incident.id))
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            page.form_error = Some(tr.t1(
                "login-too-many",
                "seconds",
                i64::try_from(retry_after_secs).unwrap_or(i64::MAX),
            ));
            req.render(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(ApiError::Validation(e)) => {
            // Only what the checks above missed reaches here (a control character, say).
            for error in e.errors {
                let text = tr.t1("field-invalid", "reason", error.message);
                match error.field.as_str() {
                    "what_happened" => page.what_error = Some(text),
                    "where" => page.where_error = Some(text),
                    "contact" => page.contact_error = Some(text),
                    _ => page.noticed_error = Some(text),
                }
            }
            req.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not file a suspicion report from the web form");
            page.form_error = Some(tr.t("internal-error"));
            req.render(StatusCode::INTERNAL_SERVER_ERROR, &page)
        }
    }
}

fn max(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Template)]
#[template(path = "suspicion_thanks.html")]
struct ThanksPage {
    layout: Layout,
    t: Tr,
    /// The number to quote, when the address carries one.
    reference: Option<i64>,
}

/// `GET /report/thanks?reference=N`: what happens next. It shows only the number from its
/// own address, so it reveals nothing about any incident.
pub async fn thanks(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = admit(&state, &req).await {
        return refused;
    }
    let reference = query_param(&req.uri, "reference").and_then(|r| r.parse::<i64>().ok());
    let page = ThanksPage {
        layout: req.layout(req.tr.t("suspicion-thanks-title"), Nav::Report),
        t: req.tr,
        reference: reference.filter(|r| *r > 0),
    };
    req.render(StatusCode::OK, &page)
}
