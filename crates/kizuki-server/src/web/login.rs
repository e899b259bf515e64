//! `/login` and `/logout`: the same sign-in as `POST /api/v1/auth/login` (one function,
//! [`crate::api::auth::sign_in`]), with its answers turned into a form and messages.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::user::SessionStage;
use serde::Deserialize;

use super::{Layout, Nav, WebRequest, query_param, safe_next, see_other};
use crate::AppState;
use crate::api::auth::{LoginRequest, SignedIn, end_session, sign_in};
use crate::error::ApiError;
use crate::web::i18n::Tr;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    t: Tr,
    /// Where the form posts: this page's own address, so `next` and `lang` survive.
    action: String,
    email: String,
    /// Shown above the form, for failures that belong to no one field.
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
    code_error: Option<String>,
    /// After signing out.
    notice: Option<String>,
}

impl LoginPage {
    fn new(req: &WebRequest) -> Self {
        let title = req.tr.t("login-title");
        Self {
            layout: req.layout(title, Nav::None),
            t: req.tr,
            action: req.path_and_query(),
            email: String::new(),
            form_error: None,
            email_error: None,
            password_error: None,
            code_error: None,
            notice: None,
        }
    }
}

/// `GET /login`.
pub async fn form(req: WebRequest) -> Response {
    let mut page = LoginPage::new(&req);
    if query_param(&req.uri, "signed_out").is_some() {
        page.notice = Some(req.tr.t("login-signed-out"));
    }
    req.render(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    /// The authenticator app's 6 digits or a recovery code, in one field: people do not
    /// know which of the two names a given code has.
    code: String,
}

/// `POST /login`.
pub async fn submit(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let tr = req.tr;
    let mut page = LoginPage::new(&req);
    let form: LoginForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            page.form_error = Some(tr.t("form-unreadable"));
            return req.render(StatusCode::BAD_REQUEST, &page);
        }
    };
    page.email = form.email.trim().to_owned();
    if page.email.is_empty() {
        page.email_error = Some(tr.t("login-email-required"));
    }
    if form.password.is_empty() {
        page.password_error = Some(tr.t("login-password-required"));
    }
    if page.email_error.is_some() || page.password_error.is_some() {
        return req.render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let code = form.code.trim().to_owned();
    // Six digits is a TOTP code; anything else is tried as a recovery code.
    let is_totp = code.len() == 6 && code.chars().all(|c| c.is_ascii_digit());
    let login = LoginRequest {
        email: form.email,
        password: form.password,
        totp_code: is_totp.then(|| code.clone()),
        recovery_code: (!is_totp && !code.is_empty()).then_some(code),
    };
    match sign_in(&state, &req.addr, &req.headers, login).await {
        Ok(SignedIn { answer, cookie }) => {
            // Someone who never chose a language keeps the one they signed in with, when
            // they chose it in this browser (`?lang=`, now or earlier).
            if answer.user.language.is_none()
                && let Some(chosen) = req
                    .lang_chosen
                    .then_some(req.tr.lang)
                    .or_else(|| super::i18n::browser_choice(&req.headers))
            {
                super::remember_for_person(&state, answer.user.id, chosen).await;
            }
            let mut response = if answer.stage == SessionStage::EnrolMfa {
                see_other("/account/mfa")
            } else {
                see_other(&safe_next(query_param(&req.uri, "next").as_deref()))
            };
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, cookie);
            req.remember_language(headers);
            response
        }
        Err(ApiError::MfaRequired) => {
            page.code_error = Some(tr.t("login-code-required"));
            req.render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(ApiError::LoginFailed) => {
            page.form_error = Some(tr.t("login-failed"));
            req.render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            page.form_error = Some(tr.t1(
                "login-too-many",
                "seconds",
                i64::try_from(retry_after_secs).unwrap_or(i64::MAX),
            ));
            let mut response = req.render(StatusCode::TOO_MANY_REQUESTS, &page);
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(ApiError::Csrf(_)) => {
            page.form_error = Some(tr.t("csrf-failed"));
            req.render(StatusCode::FORBIDDEN, &page)
        }
        Err(e) => {
            tracing::error!(error = %e, "web login failed inside the server");
            page.form_error = Some(tr.t("internal-error"));
            req.render(StatusCode::INTERNAL_SERVER_ERROR, &page)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LogoutForm {
    csrf: String,
}

/// `POST /logout`: a form post, so it carries the session's CSRF token in a hidden field
/// (checked like the API's `X-CSRF-Token`) and must come from our own pages.
pub async fn logout(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let Some(principal) = req.principal.clone() else {
        return see_other("/login");
    };
    let sent = serde_urlencoded::from_bytes::<LogoutForm>(&body)
        .map(|f| f.csrf)
        .unwrap_or_default();
    if !req.form_is_genuine(&sent) {
        return req.refuse_form(&state).await;
    }
    match end_session(&state, &principal).await {
        Ok(cookie) => {
            state
                .audit
                .record_request(
                    Some(&principal),
                    req.addr.0,
                    &req.method,
                    "/logout",
                    "/logout",
                    "303",
                )
                .await;
            let mut response = see_other("/login?signed_out=1");
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "could not end a session");
            req.message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-title",
                req.tr.t("internal-error"),
            )
        }
    }
}
