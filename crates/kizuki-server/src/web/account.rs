//! `/account/mfa`: setting up two-step verification in the browser. Administrators and
//! incident commanders must do this before anything else (their session waits in the
//! `enrol_mfa` stage); anyone else may. The secret is shown as a QR code and as text, the
//! first code confirms it, and the recovery codes are shown once.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;

use super::{Layout, Nav, WebRequest};
use crate::AppState;
use crate::access::Principal;
use crate::api::auth::{TotpOffer, finish_totp_enrolment};
use crate::error::ApiError;
use crate::web::i18n::Tr;

/// Where the page is in the enrolment.
#[derive(Debug)]
enum Step {
    /// Nothing offered yet: a button starts.
    Start,
    /// A secret is pending: scan it, then type the first code.
    Scan {
        /// The QR code as a `data:` URL (the CSP allows `data:` images, not inline SVG
        /// with scripts).
        qr: String,
        secret: String,
        code_error: Option<String>,
    },
    /// Done: the recovery codes, shown this once.
    Done { codes: Vec<String> },
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    layout: Layout,
    t: Tr,
    step: Step,
    /// The session may do nothing else until this is done.
    required: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MfaForm {
    code: String,
    csrf: String,
}

fn render(req: &WebRequest, principal: &Principal, step: Step, status: StatusCode) -> Response {
    let page = MfaPage {
        layout: req.layout(req.tr.t("mfa-enrol-title"), Nav::None),
        t: req.tr,
        step,
        required: principal.user.role.requires_mfa(),
    };
    req.render(status, &page)
}

fn scan(offer: &TotpOffer, code_error: Option<String>) -> Step {
    let svg = base64::engine::general_purpose::STANDARD.encode(offer.qr_svg.as_bytes());
    Step::Scan {
        qr: format!("data:image/svg+xml;base64,{svg}"),
        secret: offer.secret.clone(),
        code_error,
    }
}

/// `GET /account/mfa`.
pub async fn page(req: WebRequest) -> Response {
    match &req.principal {
        Some(principal) => render(&req, principal, Step::Start, StatusCode::OK),
        None => req.to_login(),
    }
}

/// `POST /account/mfa/start`: a fresh secret, pending until confirmed.
pub async fn start(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let Some(principal) = req.principal.clone() else {
        return req.to_login();
    };
    let form: MfaForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let offer = match crate::credentials::new_totp(&state, &principal.user.email) {
        Ok(offer) => offer,
        Err(e) => return internal(&req, &e),
    };
    if let Err(e) = state
        .store
        .set_totp_pending(principal.user.id, &offer.secret)
        .await
    {
        return internal(&req, &e);
    }
    render(&req, &principal, scan(&offer, None), StatusCode::OK)
}

/// `POST /account/mfa/confirm`: the first code from the app turns it on.
pub async fn confirm(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let Some(principal) = req.principal.clone() else {
        return req.to_login();
    };
    let form: MfaForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let tr = req.tr;
    match finish_totp_enrolment(&state, &principal, form.code.trim()).await {
        Ok(codes) => {
            state
                .audit
                .record_request(
                    Some(&principal),
                    req.addr.0,
                    &req.method,
                    "/account/mfa/confirm",
                    req.uri.path(),
                    "200",
                )
                .await;
            render(&req, &principal, Step::Done { codes }, StatusCode::OK)
        }
        Err(ApiError::Validation(_)) => {
            // Show the same pending secret again: the phone already has it.
            let pending = match state.store.credentials_by_id(principal.user.id).await {
                Ok(Some(creds)) => creds.totp_pending_secret,
                Ok(None) => None,
                Err(e) => return internal(&req, &e),
            };
            let offer = pending
                .as_deref()
                .and_then(|s| kizuki_auth::totp::TotpSecret::from_base32(s).ok())
                .and_then(|s| crate::credentials::totp_offer(&s, &principal.user.email).ok());
            let step = match offer {
                Some(offer) => scan(&offer, Some(tr.t("mfa-code-wrong"))),
                None => Step::Start,
            };
            render(&req, &principal, step, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => internal(&req, &e),
    }
}

fn internal(req: &WebRequest, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "two-step verification page failed");
    req.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        req.tr.t("internal-error"),
    )
}
