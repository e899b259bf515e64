//! `/admin/users`: people and their roles, for administrators. Adding a person shows their
//! one-time enrolment link once; roles, deactivation and second-factor resets go through the
//! same audited functions as `/api/v1/users`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::access::Action;
use kizuki_domain::user::Role;
use serde::Deserialize;

use super::{Layout, Nav, WebRequest, see_other};
use crate::AppState;
use crate::access::Principal;
use crate::api::users::{CreateUser, UserPatch, create_user, reset_user_mfa, update_user};
use crate::error::ApiError;
use crate::web::i18n::Tr;

#[derive(Debug)]
struct RoleChoice {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Debug)]
struct UserRow {
    id: i64,
    name: String,
    email: String,
    roles: Vec<RoleChoice>,
    active: bool,
    mfa: bool,
    /// The administrator's own row: no deactivation or demotion offered.
    is_self: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewUserForm {
    email: String,
    display_name: String,
    role: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    t: Tr,
    rows: Vec<UserRow>,
    form: NewUserForm,
    new_roles: Vec<RoleChoice>,
    form_error: Option<String>,
    email_error: Option<String>,
    /// After adding someone: who, and the link or code to give them.
    created: Option<(String, String)>,
    notice: Option<String>,
}

fn role_choices(tr: Tr, selected: &str) -> Vec<RoleChoice> {
    Role::ALL
        .iter()
        .map(|r| RoleChoice {
            value: r.as_str(),
            label: tr.t(&format!("role-{}", r.as_str())),
            selected: r.as_str() == selected,
        })
        .collect()
}

async fn render(
    state: &AppState,
    req: &WebRequest,
    me: &Principal,
    mut page: UsersPage,
    status: StatusCode,
) -> Response {
    let users = match state.store.list_users().await {
        Ok(users) => users,
        Err(e) => return internal(req, &e),
    };
    page.rows = users
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            roles: role_choices(req.tr, u.role.as_str()),
            name: u.display_name,
            email: u.email,
            active: u.active,
            mfa: u.mfa_enabled,
            is_self: u.id == me.user.id,
        })
        .collect();
    req.render(status, &page)
}

fn blank(req: &WebRequest) -> UsersPage {
    UsersPage {
        layout: req.layout(req.tr.t("admin-users-title"), Nav::None),
        t: req.tr,
        rows: Vec::new(),
        form: NewUserForm::default(),
        new_roles: role_choices(req.tr, Role::Responder.as_str()),
        form_error: None,
        email_error: None,
        created: None,
        notice: None,
    }
}

/// `GET /admin/users`.
pub async fn users(State(state): State<AppState>, req: WebRequest) -> Response {
    let me = match req.require(&state, Action::ManageUsers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let mut page = blank(&req);
    if super::query_param(&req.uri, "saved").is_some() {
        page.notice = Some(req.tr.t("admin-saved"));
    }
    render(&state, &req, &me, page, StatusCode::OK).await
}

/// `POST /admin/users`: a new person and their enrolment link, shown this once.
pub async fn add_user(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let me = match req.require(&state, Action::ManageUsers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let tr = req.tr;
    let form: NewUserForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let mut page = blank(&req);
    page.new_roles = role_choices(tr, &form.role);
    let Ok(role) = form.role.parse::<Role>() else {
        page.form_error = Some(tr.t("choose-one"));
        page.form = form;
        return render(&state, &req, &me, page, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let create = CreateUser {
        email: form.email.trim().to_owned(),
        display_name: form.display_name.trim().to_owned(),
        role,
    };
    match create_user(&state, &me, &req.addr, create).await {
        Ok(created) => {
            let give = created
                .enrolment_url
                .unwrap_or_else(|| format!("/enrol#{}", created.enrolment_token));
            page.created = Some((created.user.email, give));
            render(&state, &req, &me, page, StatusCode::OK).await
        }
        Err(ApiError::Validation(v)) => {
            let reason = v
                .errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            page.email_error = Some(tr.t1("field-invalid", "reason", reason));
            page.form = form;
            render(&state, &req, &me, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ApiError::Store(kizuki_store::StoreError::Duplicate { .. })) => {
            page.email_error = Some(tr.t("admin-email-taken"));
            page.form = form;
            render(&state, &req, &me, page, StatusCode::CONFLICT).await
        }
        Err(e) => internal(&req, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangeForm {
    /// `role`, `deactivate`, `activate` or `reset_mfa`.
    change: String,
    role: String,
    csrf: String,
}

/// `POST /admin/users/{user_id}`: one change to one account.
pub async fn change_user(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let me = match req.require(&state, Action::ManageUsers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let Some(user_id) = req.path_number(3) else {
        return req.not_found();
    };
    let form: ChangeForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let tr = req.tr;
    let result = match form.change.as_str() {
        "role" => match form.role.parse::<Role>() {
            Ok(role) => update_user(
                &state,
                &me,
                &req.addr,
                user_id,
                UserPatch {
                    role: Some(role),
                    active: None,
                },
            )
            .await
            .map(|_| ()),
            Err(_) => Err(kizuki_domain::ValidationError::one("role", tr.t("choose-one")).into()),
        },
        "deactivate" | "activate" => update_user(
            &state,
            &me,
            &req.addr,
            user_id,
            UserPatch {
                role: None,
                active: Some(form.change == "activate"),
            },
        )
        .await
        .map(|_| ()),
        "reset_mfa" => reset_user_mfa(&state, &me, &req.addr, user_id).await,
        _ => Err(kizuki_domain::ValidationError::one("change", tr.t("choose-one")).into()),
    };
    match result {
        Ok(()) => see_other("/admin/users?saved=1"),
        Err(ApiError::NotFound(_)) => req.not_found(),
        Err(ApiError::Validation(v)) => {
            let mut page = blank(&req);
            let reason = v
                .errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            page.notice = None;
            page.form_error = Some(tr.t1("field-invalid", "reason", reason));
            render(&state, &req, &me, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => internal(&req, &e),
    }
}

fn internal(req: &WebRequest, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "administration page failed");
    req.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        req.tr.t("internal-error"),
    )
}
