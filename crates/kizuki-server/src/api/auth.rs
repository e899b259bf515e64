//! Signing in: passwords, the second factor, browser sessions, one's own API tokens.
//!
//! A failed login gives one answer whatever went wrong and takes the same time for an
//! unknown address as for a wrong password (the hash is checked against a stand-in), and
//! failures are counted per address in the database, so the back-off and lock-out hold
//! across restarts and replicas.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::user::{
    ApiToken, NewSession, Session, SessionStage, TokenAccess, TokenResource, TokenScope, User,
    UserCredentials,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Credential, Principal, check_same_origin, csrf_token, session_cookie_name};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::{AppState, credentials};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The 6-digit code from the authenticator app, when the account has one
    /// (also accepted as `totp`, `otp` or `code`).
    #[serde(default, alias = "totp", alias = "otp", alias = "code")]
    pub totp_code: Option<String>,
    /// A one-time recovery code instead of `totp_code`.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// What a successful login answers (the session itself travels in an HttpOnly cookie).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionAnswer {
    pub user: User,
    pub stage: SessionStage,
    /// Send it back as `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The role requires a second factor that is not set up yet: only enrolment works.
    pub mfa_enrolment_required: bool,
    /// Recovery codes not yet used, when the account has MFA.
    pub recovery_codes_left: Option<u32>,
}

pub(crate) fn set_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = state.auth.secure_cookies;
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        session_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Records a failed login and answers with the one failure message.
async fn fail(
    state: &AppState,
    key: &str,
    addr: &ClientAddr,
    user: Option<&User>,
    reason: &str,
) -> ApiError {
    let now = state.clock.now();
    let failures = match state
        .store
        .record_login_failure(key, now, state.auth.lockout.reset_after)
        .await
    {
        Ok(f) => f.failures,
        Err(e) => {
            tracing::error!(error = %e, "could not record a failed login");
            0
        }
    };
    record_failure(state, key, addr, user, reason, failures).await
}

/// Audits a failed login and answers with the one failure message.
async fn record_failure(
    state: &AppState,
    key: &str,
    addr: &ClientAddr,
    user: Option<&User>,
    reason: &str,
    failures: u32,
) -> ApiError {
    let event = state.audit.event(
        None,
        addr.0,
        "auth.login.failed",
        &user.map_or_else(|| format!("email:{key}"), |u| format!("user:{}", u.id)),
        "failed",
        json!({ "reason": reason, "consecutive_failures": failures }),
    );
    state.audit.record(event).await;
    tracing::info!(reason, failures, "login failed");
    ApiError::LoginFailed
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    security(()),
    responses((status = 200, body = SessionAnswer, description = "Signed in; the session cookie is set"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Login failed (one message for every cause), or `mfa-required`"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "Sent from another site"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many attempts from this address")))]
pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let SignedIn { answer, cookie } = sign_in(&state, &addr, &headers, req).await?;
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// A successful sign-in: what the API answers, and the session cookie to set.
#[derive(Debug)]
pub struct SignedIn {
    pub answer: SessionAnswer,
    pub cookie: HeaderValue,
}

/// Signs in with a password and, when the account has one, a second factor. The JSON API
/// and the web login form both come through here, so the rate limit, lock-out, audit
/// records and the session cookie cannot drift apart between the two.
pub async fn sign_in(
    state: &AppState,
    addr: &ClientAddr,
    headers: &HeaderMap,
    req: LoginRequest,
) -> ApiResult<SignedIn> {
    check_same_origin(headers)?;
    let now = state.clock.now();
    if let Some(ip) = addr.0 {
        state.login_limiter.check(ip, now)?;
    }
    let key = req.email.trim().to_lowercase();
    if key.is_empty() || key.len() > 254 || req.password.len() > 1024 {
        return Err(fail(state, &key, addr, None, "malformed").await);
    }
    let failures = state.store.login_failures(&key).await?;
    if crate::access::locked_until(&state.auth.lockout, &failures, now).is_some() {
        // Refused without checking the password and without counting (the contract of
        // `kizuki_auth::lockout`): attempts during a lock must not lengthen it, or someone
        // retrying the right password would keep their own account locked.
        return Err(record_failure(state, &key, addr, None, "locked", failures.failures).await);
    }
    let creds = state.store.credentials_by_email(&key).await?;
    let stored_hash = creds.as_ref().and_then(|c| c.password_hash.clone());
    let password_ok = credentials::verify_password(state, req.password, stored_hash).await?;
    let creds = match creds {
        Some(c) if password_ok && c.user.active => c,
        Some(c) if password_ok => {
            return Err(fail(state, &key, addr, Some(&c.user), "inactive").await);
        }
        Some(c) => {
            return Err(fail(state, &key, addr, Some(&c.user), "wrong_password").await);
        }
        None => return Err(fail(state, &key, addr, None, "unknown_user").await),
    };
    let user = creds.user.clone();
    if user.mfa_enabled {
        match second_factor(state, &creds, req.totp_code, req.recovery_code).await? {
            SecondFactor::Missing => {
                let event = state.audit.event(
                    None,
                    addr.0,
                    "auth.login.mfa_required",
                    &format!("user:{}", user.id),
                    "incomplete",
                    serde_json::Value::Null,
                );
                state.audit.record(event).await;
                return Err(ApiError::MfaRequired);
            }
            SecondFactor::Refused(reason) => {
                return Err(fail(state, &key, addr, Some(&user), reason).await);
            }
            SecondFactor::Accepted => {}
        }
    }
    state.store.clear_login_failures(&key).await?;
    let stage = if state.auth.requires_mfa(user.role) && !user.mfa_enabled {
        SessionStage::EnrolMfa
    } else {
        SessionStage::Full
    };
    let (secret, hash) = credentials::new_secret(state, "kzs_");
    let session = state
        .store
        .create_session(
            &NewSession {
                user_id: user.id,
                secret_hash: hash,
                stage,
                expires_at: now.checked_add(state.auth.session_absolute).unwrap_or(now),
                address: addr.0.map(|a| a.to_string()),
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
            },
            now,
        )
        .await?;
    let principal = Principal {
        user: user.clone(),
        credential: Credential::Session {
            id: session.id,
            stage,
            csrf: csrf_token(&secret),
        },
    };
    let event = state.audit.event(
        Some(&principal),
        addr.0,
        "auth.login",
        &format!("session:{}", session.id),
        "ok",
        json!({ "stage": stage }),
    );
    state.audit.record(event).await;
    let recovery_codes_left = if user.mfa_enabled {
        Some(state.store.recovery_codes_left(user.id).await?)
    } else {
        None
    };
    let answer = SessionAnswer {
        user,
        stage,
        csrf_token: csrf_token(&secret),
        expires_at: session.expires_at,
        mfa_enrolment_required: stage == SessionStage::EnrolMfa,
        recovery_codes_left,
    };
    Ok(SignedIn {
        answer,
        cookie: set_cookie(state, &secret, state.auth.session_absolute.as_secs()),
    })
}

enum SecondFactor {
    Missing,
    Refused(&'static str),
    Accepted,
}

async fn second_factor(
    state: &AppState,
    creds: &UserCredentials,
    totp_code: Option<String>,
    recovery_code: Option<String>,
) -> ApiResult<SecondFactor> {
    let user_id = creds.user.id;
    let now = state.clock.now();
    if let Some(code) = totp_code.filter(|c| !c.trim().is_empty()) {
        let Some(secret) = &creds.totp_secret else {
            return Ok(SecondFactor::Refused("no_totp_secret"));
        };
        let Some(step) = credentials::totp_step(secret, &code, now) else {
            return Ok(SecondFactor::Refused("wrong_totp"));
        };
        return Ok(if state.store.claim_totp_step(user_id, step).await? {
            SecondFactor::Accepted
        } else {
            SecondFactor::Refused("totp_replay")
        });
    }
    if let Some(code) = recovery_code.filter(|c| !c.trim().is_empty()) {
        let hash = kizuki_auth::recovery::hash_recovery_code(&code);
        return Ok(
            if state.store.use_recovery_code(user_id, &hash, now).await? {
                SecondFactor::Accepted
            } else {
                SecondFactor::Refused("wrong_recovery_code")
            },
        );
    }
    Ok(SecondFactor::Missing)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out; the cookie is cleared")))]
pub async fn logout(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    let cookie = end_session(&state, &principal).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Revokes the caller's session (if they came with one) and answers the cookie that clears
/// it in the browser; the API and the web sign-out button share it.
pub async fn end_session(state: &AppState, principal: &Principal) -> ApiResult<HeaderValue> {
    if let Some(id) = principal.session_id() {
        state
            .store
            .revoke_session(principal.user.id, id, state.clock.now())
            .await?;
    }
    Ok(set_cookie(state, "", 0))
}

/// A session as its owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: Session,
    /// The session this request came with.
    pub current: bool,
}

#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth",
    responses((status = 200, body = Vec<SessionView>)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<SessionView>>> {
    let sessions = state
        .store
        .list_sessions(
            principal.user.id,
            state.clock.now(),
            state.auth.session_idle,
        )
        .await?;
    let current = principal.session_id();
    Ok(Json(
        sessions
            .into_iter()
            .map(|session| SessionView {
                current: Some(session.id) == current,
                session,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/auth/sessions/{session_id}", tag = "auth",
    params(("session_id" = i64, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_session(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(session_id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .revoke_session(principal.user.id, session_id, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "session {session_id} not found among your live sessions"
        )))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other session of this user is signed out"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Current password wrong, or the new one too weak")))]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(change): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let user = &principal.user;
    let creds = state
        .store
        .credentials_by_id(user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !credentials::verify_password(&state, change.current_password, creds.password_hash).await? {
        return Err(kizuki_domain::ValidationError::one(
            "current_password",
            "is not your current password",
        )
        .into());
    }
    credentials::check_strength(
        "new_password",
        &change.new_password,
        &[&user.email, &user.display_name],
    )?;
    let hash = credentials::hash_password(&state, change.new_password).await?;
    state.store.set_password(user.id, &hash).await?;
    let now = state.clock.now();
    let revoked = state
        .store
        .revoke_sessions_except(user.id, principal.session_id(), now)
        .await?;
    state.auth_cache.clear();
    tracing::info!(user = user.id, revoked, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// A TOTP secret offered for enrolment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpOffer {
    /// Base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://` URI, the content of the QR code.
    pub otpauth_uri: String,
    /// The QR code as an SVG image.
    pub qr_svg: String,
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/totp", tag = "auth",
    responses((status = 200, body = TotpOffer, description = "Scan it, then confirm with a code")))]
pub async fn start_totp(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<TotpOffer>> {
    let offer = credentials::new_totp(&state, &principal.user.email)?;
    state
        .store
        .set_totp_pending(principal.user.id, &offer.secret)
        .await?;
    Ok(Json(offer))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

/// Shown once: store them somewhere safe.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "auth", request_body = TotpConfirm,
    responses((status = 200, body = RecoveryCodes, description = "MFA is on; the session is fully signed in"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(confirm): ApiJson<TotpConfirm>,
) -> ApiResult<Json<RecoveryCodes>> {
    let codes = finish_totp_enrolment(&state, &principal, &confirm.code).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// `read` or `write` (default read).
    #[serde(default = "read_access")]
    pub access: TokenAccess,
    /// What the token may reach (default: everything the user can reach).
    #[serde(default = "all_resources")]
    pub resources: Vec<TokenResource>,
    /// Days until it stops working (1–365, default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

fn read_access() -> TokenAccess {
    TokenAccess::Read
}

fn all_resources() -> Vec<TokenResource> {
    vec![TokenResource::All]
}

/// A new token. `token` is shown this once; only its hash is kept.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}

#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(issue_token(&state, &principal, new).await?),
    ))
}

/// Makes a token for the signed-in user (used by the API and the tokens page); the secret is
/// in the answer and nowhere else.
pub async fn issue_token(
    state: &AppState,
    principal: &Principal,
    new: NewToken,
) -> ApiResult<CreatedToken> {
    let mut v = kizuki_domain::error::Validator::new();
    v.text("name", &new.name, kizuki_domain::error::limits::NAME);
    let days = new.expires_in_days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        v.push("expires_in_days", "must be between 1 and 365");
    }
    if new.resources.is_empty() {
        v.push("resources", "name at least one resource, or `all`");
    }
    v.finish()?;
    let now = state.clock.now();
    let expires_at = now
        .checked_add(SignedDuration::from_hours(24 * i64::from(days)))
        .ok();
    let scope = TokenScope {
        access: new.access,
        resources: new.resources,
    };
    let (secret, hash) = credentials::new_secret(state, kizuki_domain::user::TOKEN_PREFIX);
    let info = state
        .store
        .create_token(
            principal.user.id,
            new.name.trim(),
            &scope,
            &hash,
            now,
            expires_at,
        )
        .await?;
    Ok(CreatedToken {
        token: secret,
        info,
    })
}

/// Revokes one of the signed-in user's own tokens and forgets cached look-ups, so it stops
/// working on this replica at once (others within the cache's 5 seconds).
pub async fn revoke_own_token(
    state: &AppState,
    principal: &Principal,
    token_id: i64,
) -> ApiResult<()> {
    let revoked = state
        .store
        .revoke_token(principal.user.id, token_id, state.clock.now())
        .await?;
    state.auth_cache.clear();
    if revoked {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "token {token_id} not found among your unrevoked tokens"
        )))
    }
}

#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
    responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.store.list_tokens(principal.user.id).await?))
}

#[utoipa::path(delete, path = "/api/v1/auth/tokens/{token_id}", tag = "auth",
    params(("token_id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(token_id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    revoke_own_token(&state, &principal, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// The secret from the one-time enrolment link.
    pub token: String,
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/enrol", tag = "auth", request_body = Enrolment,
    security(()),
    responses((status = 204, description = "Password set; sign in with it"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired link"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Password too weak; the link still works")))]
pub async fn enrol(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(enrolment): ApiJson<Enrolment>,
) -> ApiResult<StatusCode> {
    set_password_by_enrolment(&state, &addr, &enrolment.token, enrolment.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns the pending TOTP secret on when `code` is its current code (used by the API and
/// the enrolment page): stores the step, replaces the recovery codes, and promotes a session
/// that was waiting for enrolment. Returns the new recovery codes, shown once.
pub async fn finish_totp_enrolment(
    state: &AppState,
    principal: &Principal,
    code: &str,
) -> ApiResult<Vec<String>> {
    let user_id = principal.user.id;
    let creds = state
        .store
        .credentials_by_id(user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let pending = creds.totp_pending_secret.ok_or_else(|| {
        kizuki_domain::ValidationError::one(
            "code",
            "no enrolment is in progress; start one with POST /api/v1/auth/mfa/totp",
        )
    })?;
    let step = credentials::totp_step(&pending, code, state.clock.now()).ok_or_else(|| {
        kizuki_domain::ValidationError::one(
            "code",
            "is not the current code of the offered secret (check the phone's clock)",
        )
    })?;
    let codes = credentials::recovery_codes(state);
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| kizuki_auth::recovery::hash_recovery_code(c))
        .collect();
    state.store.activate_totp(user_id, step, &hashes).await?;
    if let Credential::Session { id, stage, .. } = &principal.credential
        && *stage == SessionStage::EnrolMfa
    {
        state.store.promote_session(*id).await?;
    }
    state.auth_cache.clear();
    Ok(codes)
}

/// Sets the first password of the account an enrolment link was made for, using the link up
/// (used by the API and the `/enrol` page). A weak password is refused before the link is
/// spent, so the person can try again with the same link.
pub async fn set_password_by_enrolment(
    state: &AppState,
    addr: &ClientAddr,
    token: &str,
    password: String,
) -> ApiResult<()> {
    let now = state.clock.now();
    if let Some(ip) = addr.0 {
        state.login_limiter.check(ip, now)?;
    }
    // Checked before the link is used up, so a weak first try does not waste it.
    credentials::check_strength("password", &password, &[])?;
    let hash = kizuki_auth::secret::hash_secret(token.trim());
    let user_id = state
        .store
        .consume_enrolment(&hash, now)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound("this enrolment link is unknown, used or expired".into())
        })?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| {
            ApiError::NotFound("this enrolment link is unknown, used or expired".into())
        })?;
    let password_hash = credentials::hash_password(state, password).await?;
    state.store.set_password(user_id, &password_hash).await?;
    let event = state.audit.event(
        None,
        addr.0,
        "auth.enrol",
        &format!("user:{}", user.id),
        "ok",
        serde_json::Value::Null,
    );
    state.audit.record(event).await;
    Ok(())
}
