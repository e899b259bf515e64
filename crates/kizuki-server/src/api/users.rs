//! Administration: people, their roles, their second factor; and the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::SignedDuration;
use kizuki_domain::audit::AuditRecord;
use kizuki_domain::user::{NewUser, Role, User};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::access::Principal;
use crate::client_addr::ClientAddr;
use crate::credentials;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// How long an enrolment link works.
pub const ENROLMENT_VALID: SignedDuration = SignedDuration::from_hours(72);

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_users().await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    pub role: Role,
}

/// A new user and the one-time link with which they set their password.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    pub user: User,
    /// Give it to the person by a trusted route; it works once, for 72 hours.
    pub enrolment_token: String,
    /// The link, when `public_url` is configured.
    pub enrolment_url: Option<String>,
}

/// The link a new user opens to set their password.
pub fn enrolment_url(public_url: Option<&str>, token: &str) -> Option<String> {
    public_url.map(|base| format!("{}/enrol#{token}", base.trim_end_matches('/')))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = CreatedUser),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The e-mail address is taken"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let created = create_user(&state, &principal, &addr, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub role: Option<Role>,
    /// `false` signs the user out everywhere and stops their tokens.
    #[serde(default)]
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", request_body = UserPatch,
    params(("user_id" = i64, Path, description = "User id")),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    let user = update_user(&state, &principal, &addr, user_id, patch).await?;
    Ok(Json(user))
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/mfa/reset", tag = "users",
    params(("user_id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Second factor removed; the user is signed out and must enrol again"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(user_id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    reset_user_mfa(&state, &principal, &addr, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Records after this sequence number (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "users", params(AuditParams),
    responses((status = 200, body = Vec<AuditRecord>)))]
pub async fn audit_log(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<AuditRecord>>> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadQuery {
            field: "limit".into(),
            message: "must be between 1 and 1000".into(),
        });
    }
    Ok(Json(
        state.store.list_audit(p.after.unwrap_or(0), limit).await?,
    ))
}

/// The outcome of checking the whole chain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditVerification {
    pub intact: bool,
    pub records: u64,
    /// The first record that does not fit, and why.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "users",
    responses((status = 200, body = AuditVerification)))]
pub async fn verify_audit(State(state): State<AppState>) -> ApiResult<Json<AuditVerification>> {
    Ok(Json(crate::audit::verify(&state).await?))
}

/// Creates an account and its one-time enrolment link, audited (used by the API and the
/// administration page).
pub async fn create_user(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    req: CreateUser,
) -> ApiResult<CreatedUser> {
    let new = NewUser::new(&req.email, &req.display_name, req.role)?;
    let now = state.clock.now();
    let user = state.store.create_user(&new, now).await?;
    let (token, hash) = credentials::new_secret(state, "kze_");
    let expires = now.checked_add(ENROLMENT_VALID).unwrap_or(now);
    state
        .store
        .create_enrolment(user.id, &hash, expires)
        .await?;
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "user.create",
        &format!("user:{}", user.id),
        "ok",
        json!({ "email": user.email, "role": user.role }),
    );
    state.audit.record(event).await;
    Ok(CreatedUser {
        enrolment_url: enrolment_url(state.auth.public_url.as_deref(), &token),
        enrolment_token: token,
        user,
    })
}

/// Changes a role or (de)activates an account, audited. An administrator cannot lock
/// themselves out.
pub async fn update_user(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    user_id: i64,
    patch: UserPatch,
) -> ApiResult<User> {
    let before = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {user_id} not found")))?;
    if user_id == principal.user.id
        && (patch.active == Some(false) || patch.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(kizuki_domain::ValidationError::one(
            if patch.active == Some(false) {
                "active"
            } else {
                "role"
            },
            "you cannot lock yourself out of administration; ask another administrator",
        )
        .into());
    }
    let mut user = before.clone();
    if let Some(role) = patch.role {
        user = state.store.set_user_role(user_id, role).await?;
    }
    if let Some(active) = patch.active {
        user = state
            .store
            .set_user_active(user_id, active, state.clock.now())
            .await?;
    }
    state.auth_cache.clear();
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "user.update",
        &format!("user:{user_id}"),
        "ok",
        json!({
            "role": { "from": before.role, "to": user.role },
            "active": { "from": before.active, "to": user.active },
        }),
    );
    state.audit.record(event).await;
    Ok(user)
}

/// Removes a user's second factor and signs them out everywhere, audited.
pub async fn reset_user_mfa(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    user_id: i64,
) -> ApiResult<()> {
    state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {user_id} not found")))?;
    state.store.reset_mfa(user_id).await?;
    state
        .store
        .revoke_sessions_except(user_id, None, state.clock.now())
        .await?;
    state.auth_cache.clear();
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "user.mfa_reset",
        &format!("user:{user_id}"),
        "ok",
        serde_json::Value::Null,
    );
    state.audit.record(event).await;
    Ok(())
}

/// Revokes any user's API token (an administrator's act), audited with the owner, and forgets
/// cached look-ups so it stops working on this replica at once.
pub async fn revoke_token_as_admin(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    token_id: i64,
) -> ApiResult<kizuki_domain::user::ApiToken> {
    let revoked = state
        .store
        .revoke_any_token(token_id, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no unrevoked token {token_id}")))?;
    state.auth_cache.clear();
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "token.revoke",
        &format!("token:{token_id}"),
        "ok",
        json!({ "owner": revoked.user_id, "name": revoked.name }),
    );
    state.audit.record(event).await;
    Ok(revoked)
}
