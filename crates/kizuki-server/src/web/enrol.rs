//! `/enrol`: where a new user's one-time link leads (`kizuki user create --enrolment-link`
//! prints `<public_url>/enrol#<code>`). The code sits after `#`, so it never reaches a server
//! log or a proxy; the page's script copies it into the form, and without the script the
//! person pastes it. The password is set by the same function as `POST /api/v1/auth/enrol`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;

use super::{Layout, Nav, WebRequest};
use crate::AppState;
use crate::api::auth::set_password_by_enrolment;
use crate::error::ApiError;
use crate::web::i18n::Tr;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnrolForm {
    code: String,
    password: String,
    password_again: String,
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    layout: Layout,
    t: Tr,
    /// Kept after a refusal: the link is still good unless it was the link that failed.
    code: String,
    form_error: Option<String>,
    password_error: Option<String>,
    again_error: Option<String>,
}

fn page(req: &WebRequest, code: String) -> EnrolPage {
    EnrolPage {
        layout: req.layout(req.tr.t("enrol-title"), Nav::None),
        t: req.tr,
        code,
        form_error: None,
        password_error: None,
        again_error: None,
    }
}

/// `GET /enrol`.
pub async fn form(req: WebRequest) -> Response {
    req.render(StatusCode::OK, &page(&req, String::new()))
}

/// `POST /enrol`.
pub async fn submit(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let tr = req.tr;
    let form: EnrolForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    // The form belongs to no session (whoever is signed in on this browser), so the
    // same-origin check is its guard.
    if crate::access::check_same_origin(&req.headers).is_err() {
        return req.refuse_form(&state).await;
    }
    let mut p = page(&req, form.code.trim().to_owned());
    if form.code.trim().is_empty() {
        p.form_error = Some(tr.t("enrol-code-missing"));
    }
    if form.password.is_empty() {
        p.password_error = Some(tr.t("login-password-required"));
    } else if form.password != form.password_again {
        p.again_error = Some(tr.t("enrol-passwords-differ"));
    }
    if p.form_error.is_some() || p.password_error.is_some() || p.again_error.is_some() {
        return req.render(StatusCode::UNPROCESSABLE_ENTITY, &p);
    }
    match set_password_by_enrolment(&state, &req.addr, form.code.trim(), form.password).await {
        Ok(()) => req.message(StatusCode::OK, "enrol-done-title", tr.t("enrol-done-text")),
        Err(ApiError::Validation(v)) => {
            let reason = v
                .errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            p.password_error = Some(tr.t1("enrol-password-weak", "reason", reason));
            req.render(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(ApiError::NotFound(_)) => {
            p.form_error = Some(tr.t("enrol-link-unknown"));
            req.render(StatusCode::NOT_FOUND, &p)
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            p.form_error = Some(tr.t1(
                "login-too-many",
                "seconds",
                i64::try_from(retry_after_secs).unwrap_or(i64::MAX),
            ));
            req.render(StatusCode::TOO_MANY_REQUESTS, &p)
        }
        Err(e) => {
            tracing::error!(error = %e, "enrolment from the page failed");
            p.form_error = Some(tr.t("internal-error"));
            req.render(StatusCode::INTERNAL_SERVER_ERROR, &p)
        }
    }
}
