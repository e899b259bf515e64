//! `/account/tokens` (one's own API tokens: make one, see them, revoke one) and
//! `/admin/tokens` (every user's unrevoked tokens, for administrators). Both call the same
//! functions as the API (`issue_token`, `revoke_own_token`, `revoke_token_as_admin`), which
//! clear the token cache on revocation; the administrator's revocation is audited.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::access::Action;
use kizuki_domain::user::{ApiToken, TokenAccess, TokenResource};

use super::i18n::Tr;
use super::{Layout, Nav, WebRequest, see_other};
use crate::AppState;
use crate::api::auth::{NewToken, issue_token, revoke_own_token};
use crate::api::users::revoke_token_as_admin;
use crate::error::ApiError;

#[derive(Debug)]
struct TokenRow {
    id: i64,
    name: String,
    owner: String,
    access: String,
    resources: String,
    created: String,
    expires: String,
    revoked: Option<String>,
}

#[derive(Debug)]
struct Choice {
    value: &'static str,
    checked: bool,
}

#[derive(Debug, Default)]
struct CreateForm {
    name: String,
    access: String,
    resources: Vec<String>,
    days: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "account_tokens.html")]
struct OwnPage {
    layout: Layout,
    t: Tr,
    rows: Vec<TokenRow>,
    name: String,
    days: String,
    write: bool,
    resources: Vec<Choice>,
    errors: Vec<(String, String)>,
    /// The secret of the token just made: shown this once.
    secret: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct AdminPage {
    layout: Layout,
    t: Tr,
    rows: Vec<TokenRow>,
    notice: Option<String>,
}

fn row(req: &WebRequest, t: &ApiToken, owner: String) -> TokenRow {
    let tr = req.tr;
    TokenRow {
        id: t.id,
        name: t.name.clone(),
        owner,
        access: tr.t(match t.scope.access {
            TokenAccess::Read => "token-access-read",
            TokenAccess::Write => "token-access-write",
        }),
        resources: t
            .scope
            .resources
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        created: req.local_time(t.created_at),
        expires: t
            .expires_at
            .map_or_else(|| tr.t("token-never"), |e| req.local_time(e)),
        revoked: t.revoked_at.map(|r| req.local_time(r)),
    }
}

fn parse_form(body: &[u8]) -> CreateForm {
    let mut form = CreateForm::default();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "name" => form.name = v.into_owned(),
            "access" => form.access = v.into_owned(),
            "resources" => form.resources.push(v.into_owned()),
            "expires_in_days" => form.days = v.into_owned(),
            "csrf" => form.csrf = v.into_owned(),
            _ => {}
        }
    }
    form
}

fn csrf_of(body: &[u8]) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn own_page(
    state: &AppState,
    req: &WebRequest,
    user_id: i64,
    form: &CreateForm,
) -> Result<OwnPage, Response> {
    let tokens = state
        .store
        .list_tokens(user_id)
        .await
        .map_err(|e| internal(req, &e))?;
    Ok(OwnPage {
        layout: req.layout(req.tr.t("tokens-title"), Nav::None),
        t: req.tr,
        rows: tokens.iter().map(|t| row(req, t, String::new())).collect(),
        name: form.name.clone(),
        days: if form.days.is_empty() {
            "90".into()
        } else {
            form.days.clone()
        },
        write: form.access == "write",
        resources: TokenResource::ALL
            .iter()
            .map(|r| Choice {
                value: r.as_str(),
                checked: form.resources.iter().any(|f| f == r.as_str())
                    || (form.resources.is_empty() && *r == TokenResource::All),
            })
            .collect(),
        errors: Vec::new(),
        secret: None,
        notice: None,
    })
}

/// `GET /account/tokens`.
pub async fn own(State(state): State<AppState>, req: WebRequest) -> Response {
    let me = match req.require(&state, Action::FileReport).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    match own_page(&state, &req, me.user.id, &CreateForm::default()).await {
        Ok(mut page) => {
            if super::query_param(&req.uri, "revoked").is_some() {
                page.notice = Some(req.tr.t("token-revoked"));
            }
            req.render(StatusCode::OK, &page)
        }
        Err(r) => r,
    }
}

/// `POST /account/tokens`: a new token, its secret shown once.
pub async fn create(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let me = match req.require(&state, Action::FileReport).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let form = parse_form(&body);
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let tr = req.tr;
    let mut errors = Vec::new();
    let access = if form.access == "write" {
        TokenAccess::Write
    } else {
        TokenAccess::Read
    };
    let mut resources = Vec::new();
    for r in &form.resources {
        match r.parse::<TokenResource>() {
            Ok(r) => resources.push(r),
            Err(_) => errors.push(("resources".to_owned(), tr.t("choose-one"))),
        }
    }
    let days = match form.days.trim().parse::<u32>() {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(("expires_in_days".to_owned(), tr.t("token-days-invalid")));
            None
        }
    };
    let outcome = if errors.is_empty() {
        issue_token(
            &state,
            &me,
            NewToken {
                name: form.name.clone(),
                access,
                resources,
                expires_in_days: days,
            },
        )
        .await
    } else {
        Err(ApiError::Validation(kizuki_domain::ValidationError::one(
            "form", "",
        )))
    };
    match outcome {
        Ok(created) => match own_page(&state, &req, me.user.id, &CreateForm::default()).await {
            Ok(mut page) => {
                page.secret = Some(created.token);
                req.render(StatusCode::CREATED, &page)
            }
            Err(r) => r,
        },
        Err(ApiError::Validation(v)) => {
            if errors.is_empty() {
                for e in v.errors {
                    let message = match e.field.as_str() {
                        "name" => tr.t("token-name-invalid"),
                        "expires_in_days" => tr.t("token-days-invalid"),
                        _ => tr.t("token-resources-invalid"),
                    };
                    errors.push((e.field, message));
                }
            }
            match own_page(&state, &req, me.user.id, &form).await {
                Ok(mut page) => {
                    page.errors = errors;
                    req.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
                }
                Err(r) => r,
            }
        }
        Err(e) => internal(&req, &e),
    }
}

/// The `{token_id}` of `/…/tokens/{token_id}/revoke`, a plain number only.
fn token_id(req: &WebRequest) -> Option<i64> {
    let parts: Vec<&str> = req.uri.path().split('/').collect();
    let raw = parts.get(parts.len().checked_sub(2)?)?;
    (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse().ok())
        .flatten()
}

/// `POST /account/tokens/{token_id}/revoke`.
pub async fn revoke_own(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let me = match req.require(&state, Action::FileReport).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if !req.form_is_genuine(&csrf_of(&body)) {
        return req.refuse_form(&state).await;
    }
    let Some(id) = token_id(&req) else {
        return req.not_found();
    };
    match revoke_own_token(&state, &me, id).await {
        Ok(()) => see_other("/account/tokens?revoked=1"),
        Err(ApiError::NotFound(_)) => req.not_found(),
        Err(e) => internal(&req, &e),
    }
}

/// `GET /admin/tokens`.
pub async fn all(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = req.require(&state, Action::ManageUsers).await {
        return refused;
    }
    let (tokens, users) = match (
        state.store.list_unrevoked_tokens().await,
        state.store.list_users().await,
    ) {
        (Ok(t), Ok(u)) => (t, u),
        (Err(e), _) | (_, Err(e)) => return internal(&req, &e),
    };
    let rows = tokens
        .iter()
        .map(|t| {
            let owner = users
                .iter()
                .find(|u| u.id == t.user_id)
                .map_or_else(String::new, |u| format!("{} <{}>", u.display_name, u.email));
            row(&req, t, owner)
        })
        .collect();
    let page = AdminPage {
        layout: req.layout(req.tr.t("admin-tokens-title"), Nav::None),
        t: req.tr,
        rows,
        notice: super::query_param(&req.uri, "revoked").map(|_| req.tr.t("token-revoked")),
    };
    req.render(StatusCode::OK, &page)
}

/// `POST /admin/tokens/{token_id}/revoke`: audited.
pub async fn revoke_any(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let me = match req.require(&state, Action::ManageUsers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if !req.form_is_genuine(&csrf_of(&body)) {
        return req.refuse_form(&state).await;
    }
    let Some(id) = token_id(&req) else {
        return req.not_found();
    };
    match revoke_token_as_admin(&state, &me, &req.addr, id).await {
        Ok(_) => see_other("/admin/tokens?revoked=1"),
        Err(ApiError::NotFound(_)) => req.not_found(),
        Err(e) => internal(&req, &e),
    }
}

fn internal(req: &WebRequest, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "tokens page failed");
    req.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        req.tr.t("internal-error"),
    )
}
