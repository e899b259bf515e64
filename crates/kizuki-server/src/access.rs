//! Every request passes one gate before its handler runs: who is asking (a session cookie or
//! an API token), may their role and their token's scope do this, is a browser request
//! really from our own pages (CSRF), and may they see the incident it addresses
//! (need-to-know). The rules are one table, [`POLICIES`], keyed by method and route; a route
//! missing from it is refused, so a new route cannot slip through unguarded.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kizuki_domain::access::{Action, Viewer};
use kizuki_domain::incident::Incident;
use kizuki_domain::user::{SessionStage, TokenResource, TokenScope, User};

use crate::AppState;
use crate::error::ApiError;

/// How sign-in behaves; from the configuration.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Cookies get `Secure` and the `__Host-` prefix (TLS here or at a proxy in front).
    pub secure_cookies: bool,
    /// A session unused this long ends.
    pub session_idle: jiff::SignedDuration,
    /// A session ends this long after sign-in however busy it is.
    pub session_absolute: jiff::SignedDuration,
    pub lockout: kizuki_auth::lockout::LockoutPolicy,
    /// Whether `POST /api/v1/reports` works without signing in.
    pub public_reports: bool,
    /// The address users reach Kizuki at, for links (enrolment).
    pub public_url: Option<String>,
    /// Roles that must set up a second factor besides those that always must (admin,
    /// incident commander).
    pub mfa_also_for: Vec<kizuki_domain::user::Role>,
}

impl AuthSettings {
    /// Whether `role` must have a second factor before doing anything else.
    pub fn requires_mfa(&self, role: kizuki_domain::user::Role) -> bool {
        role.requires_mfa() || self.mfa_also_for.contains(&role)
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle: jiff::SignedDuration::from_mins(30),
            session_absolute: jiff::SignedDuration::from_hours(12),
            lockout: kizuki_auth::lockout::LockoutPolicy::default(),
            public_reports: true,
            public_url: None,
            mfa_also_for: Vec::new(),
        }
    }
}

/// Until when logins for an address are refused after its recorded failures.
pub fn locked_until(
    policy: &kizuki_auth::lockout::LockoutPolicy,
    failures: &kizuki_domain::user::LoginFailures,
    now: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let last = failures.last_failure_at?;
    if now.duration_since(last) >= policy.reset_after {
        return None;
    }
    let until = last
        .checked_add(policy.lock_duration(failures.failures)?)
        .ok()?;
    (until > now).then_some(until)
}

/// Who may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user, also one whose session is still waiting for MFA enrolment.
    Enrolling,
    /// Any fully signed-in user, through a browser session only (managing one's own
    /// sessions, tokens and password is not for scripts).
    SessionOnly,
    /// A fully signed-in user whose role allows the action.
    Role(Action),
}

/// The access rule of one route.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub method: &'static str,
    pub path: &'static str,
    pub gate: Gate,
    /// What a token's scope must name.
    pub resource: TokenResource,
}

const fn rule(
    method: &'static str,
    path: &'static str,
    gate: Gate,
    resource: TokenResource,
) -> RoutePolicy {
    RoutePolicy {
        method,
        path,
        gate,
        resource,
    }
}

use Action as A;
use Gate::{Enrolling, Public, Role, SessionOnly};
use TokenResource as R;

/// The access table. `docs/SECURITY.md` explains it; `tests/security.rs` checks every route
/// against every role from its own expectations.
pub const POLICIES: &[RoutePolicy] = &[
    // Signing in and out, and one's own account.
    rule("POST", "/api/v1/auth/login", Public, R::Users),
    rule("POST", "/api/v1/auth/enrol", Public, R::Users),
    rule("POST", "/api/v1/auth/logout", Enrolling, R::Users),
    rule("GET", "/api/v1/me", Enrolling, R::All),
    rule("POST", "/api/v1/auth/mfa/totp", Enrolling, R::Users),
    rule("POST", "/api/v1/auth/mfa/totp/confirm", Enrolling, R::Users),
    rule("POST", "/api/v1/auth/password", SessionOnly, R::Users),
    rule("GET", "/api/v1/auth/sessions", SessionOnly, R::Users),
    rule(
        "DELETE",
        "/api/v1/auth/sessions/{session_id}",
        SessionOnly,
        R::Users,
    ),
    rule("GET", "/api/v1/auth/tokens", SessionOnly, R::Users),
    rule("POST", "/api/v1/auth/tokens", SessionOnly, R::Users),
    rule(
        "DELETE",
        "/api/v1/auth/tokens/{token_id}",
        SessionOnly,
        R::Users,
    ),
    // Administration.
    rule("GET", "/api/v1/users", Role(A::ManageUsers), R::Users),
    rule("POST", "/api/v1/users", Role(A::ManageUsers), R::Users),
    rule(
        "PATCH",
        "/api/v1/users/{user_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "POST",
        "/api/v1/users/{user_id}/mfa/reset",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule("GET", "/api/v1/audit", Role(A::ReadAudit), R::Audit),
    rule("GET", "/api/v1/audit/verify", Role(A::ReadAudit), R::Audit),
    // Reports of a suspicion: open to anyone unless an administrator turns that off.
    rule("POST", "/api/v1/reports", Public, R::Incidents),
    // Incidents.
    rule(
        "GET",
        "/api/v1/incidents",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "POST",
        "/api/v1/incidents",
        Role(A::CreateIncident),
        R::Incidents,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "PATCH",
        "/api/v1/incidents/{id}",
        Role(A::UpdateIncident),
        R::Incidents,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/export",
        Role(A::Export),
        R::Incidents,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/members",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/members",
        Role(A::ManageMembers),
        R::Incidents,
    ),
    rule(
        "DELETE",
        "/api/v1/incidents/{id}/members/{user_id}",
        Role(A::ManageMembers),
        R::Incidents,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/lane-owners",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "PUT",
        "/api/v1/incidents/{id}/lane-owners/{lane}",
        Role(A::ManageMembers),
        R::Incidents,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/timeline",
        Role(A::ReadIncidents),
        R::Timeline,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/timeline",
        Role(A::WriteTimeline),
        R::Timeline,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/tasks",
        Role(A::ReadIncidents),
        R::Tasks,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/playbooks",
        Role(A::WriteTasks),
        R::Tasks,
    ),
    rule(
        "PATCH",
        "/api/v1/incidents/{id}/tasks/{task_id}",
        Role(A::WriteTasks),
        R::Tasks,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/tasks/{task_id}/complete",
        Role(A::WriteTasks),
        R::Tasks,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/decisions",
        Role(A::ReadIncidents),
        R::Decisions,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/decisions",
        Role(A::ProposeDecision),
        R::Decisions,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/decisions/{decision_id}",
        Role(A::ReadIncidents),
        R::Decisions,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/decisions/{decision_id}/decide",
        Role(A::Decide),
        R::Decisions,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/parties",
        Role(A::ReadIncidents),
        R::Parties,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/parties",
        Role(A::WriteParties),
        R::Parties,
    ),
    rule(
        "PATCH",
        "/api/v1/incidents/{id}/parties/{party_id}",
        Role(A::WriteParties),
        R::Parties,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/evidence",
        Role(A::ReadIncidents),
        R::Evidence,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/evidence",
        Role(A::WriteEvidence),
        R::Evidence,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/evidence/{evidence_id}/custody",
        Role(A::WriteEvidence),
        R::Evidence,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/observables",
        Role(A::ReadIncidents),
        R::Observables,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/observables",
        Role(A::WriteObservables),
        R::Observables,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/sweeps",
        Role(A::WriteObservables),
        R::Observables,
    ),
    rule(
        "GET",
        "/api/v1/observables/search",
        Role(A::ReadIncidents),
        R::Observables,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/legal-clocks",
        Role(A::ReadIncidents),
        R::LegalClocks,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/legal-clocks",
        Role(A::WriteLegalClocks),
        R::LegalClocks,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/legal-clocks/{clock_id}/met",
        Role(A::WriteLegalClocks),
        R::LegalClocks,
    ),
    // An incident's notifications; who may acknowledge which is checked by the handler.
    rule(
        "GET",
        "/api/v1/incidents/{id}/notifications",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/notifications/{notification_id}/ack",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/notifications/{notification_id}/retry",
        Role(A::ManageMembers),
        R::Incidents,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/phone-tree",
        Role(A::ReadIncidents),
        R::Incidents,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/phone-tree/{notification_id}/calls",
        Role(A::ManageMembers),
        R::Incidents,
    ),
    // Reference material.
    rule(
        "GET",
        "/api/v1/reference/cases",
        Role(A::ReadReference),
        R::Reference,
    ),
    rule(
        "GET",
        "/api/v1/reference/cases/{case_id}",
        Role(A::ReadReference),
        R::Reference,
    ),
    rule(
        "GET",
        "/api/v1/playbooks",
        Role(A::ReadReference),
        R::Reference,
    ),
    rule(
        "POST",
        "/api/v1/playbooks/validate",
        Role(A::ReadReference),
        R::Reference,
    ),
    // Uploading a playbook changes what every incident is given: administrators only.
    rule(
        "POST",
        "/api/v1/playbooks",
        Role(A::ManageUsers),
        R::Reference,
    ),
    rule(
        "GET",
        "/api/v1/playbooks/{id}",
        Role(A::ReadReference),
        R::Reference,
    ),
    rule(
        "GET",
        "/api/v1/settings/severity",
        Role(A::ReadReference),
        R::Reference,
    ), // Review and learning: the after-action review, lessons, corrective actions, exercises.
    rule(
        "GET",
        "/api/v1/incidents/{id}/review",
        Role(A::ReadIncidents),
        R::Review,
    ),
    rule(
        "PUT",
        "/api/v1/incidents/{id}/review",
        Role(A::WriteReview),
        R::Review,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/lessons",
        Role(A::ReadIncidents),
        R::Review,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/lessons",
        Role(A::WriteReview),
        R::Review,
    ),
    rule(
        "PUT",
        "/api/v1/incidents/{id}/lessons/{lesson_id}",
        Role(A::WriteReview),
        R::Review,
    ),
    rule(
        "POST",
        "/api/v1/incidents/{id}/lessons/{lesson_id}/actions",
        Role(A::WriteReview),
        R::Review,
    ),
    rule(
        "GET",
        "/api/v1/incidents/{id}/report",
        Role(A::Export),
        R::Review,
    ),
    rule("GET", "/api/v1/lessons", Role(A::ReadIncidents), R::Review),
    rule(
        "GET",
        "/api/v1/corrective-actions",
        Role(A::ReadIncidents),
        R::Review,
    ),
    rule(
        "PATCH",
        "/api/v1/corrective-actions/{action_id}",
        Role(A::WriteReview),
        R::Review,
    ),
    rule(
        "GET",
        "/api/v1/exercises",
        Role(A::ReadReference),
        R::Review,
    ),
    rule("POST", "/api/v1/exercises", Role(A::RunExercise), R::Review),
    rule(
        "GET",
        "/api/v1/exercises/{exercise_id}",
        Role(A::ReadReference),
        R::Review,
    ),
    rule(
        "POST",
        "/api/v1/exercises/{exercise_id}/advance",
        Role(A::RunExercise),
        R::Review,
    ),
    rule(
        "POST",
        "/api/v1/exercises/{exercise_id}/actions",
        Role(A::WriteTimeline),
        R::Review,
    ),
    rule(
        "POST",
        "/api/v1/exercises/{exercise_id}/end",
        Role(A::RunExercise),
        R::Review,
    ),
    rule(
        "GET",
        "/api/v1/exercises/{exercise_id}/report",
        Role(A::ReadReference),
        R::Review,
    ),
    // Notification configuration decides who is woken at night and where incident facts
    // are sent: administrators only, like playbook uploads. Who is on call now is for
    // everyone who responds.
    rule(
        "GET",
        "/api/v1/notify/oncall/now",
        Role(A::ReadReference),
        R::Reference,
    ),
    rule(
        "GET",
        "/api/v1/notify/rules",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "POST",
        "/api/v1/notify/rules",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/rules/{rule_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "PUT",
        "/api/v1/notify/rules/{rule_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "DELETE",
        "/api/v1/notify/rules/{rule_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/chain",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "PUT",
        "/api/v1/notify/chain",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/templates",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/templates/{kind}/{language}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "PUT",
        "/api/v1/notify/templates/{kind}/{language}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "DELETE",
        "/api/v1/notify/templates/{kind}/{language}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "POST",
        "/api/v1/notify/templates/{kind}/{language}/preview",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/rotations",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "POST",
        "/api/v1/notify/rotations",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/rotations/{rotation_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "PUT",
        "/api/v1/notify/rotations/{rotation_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "DELETE",
        "/api/v1/notify/rotations/{rotation_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "POST",
        "/api/v1/notify/rotations/{rotation_id}/overrides",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/webhooks",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "POST",
        "/api/v1/notify/webhooks",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "GET",
        "/api/v1/notify/webhooks/{webhook_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "PUT",
        "/api/v1/notify/webhooks/{webhook_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
    rule(
        "DELETE",
        "/api/v1/notify/webhooks/{webhook_id}",
        Role(A::ManageUsers),
        R::Users,
    ),
];

/// The report form's route: open to anyone unless `public_reports` is off.
const REPORTS: &str = "/api/v1/reports";

/// The rule for a method and matched route, if there is one.
pub fn policy_for(method: &Method, path: &str) -> Option<&'static RoutePolicy> {
    POLICIES
        .iter()
        .find(|p| p.path == path && p.method == method.as_str())
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Token {
        scope: TokenScope,
    },
    Session {
        id: i64,
        stage: SessionStage,
        csrf: String,
    },
}

/// The signed-in caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
}

impl Principal {
    pub fn viewer(&self) -> Viewer {
        Viewer::new(self.user.id, self.user.role)
    }

    pub fn session_id(&self) -> Option<i64> {
        match self.credential {
            Credential::Session { id, .. } => Some(id),
            Credential::Token { .. } => None,
        }
    }
}

/// The session cookie's name: `__Host-` (bound to this exact origin, never sent over plain
/// HTTP) whenever the browser reaches Kizuki over TLS.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-kizuki_session"
    } else {
        "kizuki_session"
    }
}

/// The CSRF token of a session: derived from the session secret, which only the browser
/// holding the HttpOnly cookie knows, so it needs no storage and cannot be guessed.
pub fn csrf_token(session_secret: &str) -> String {
    kizuki_auth::secret::hash_secret(&format!("csrf:{session_secret}"))
}

/// The header a browser sends the CSRF token in (forms send the same value as `csrf_token`).
pub const CSRF_HEADER: &str = "x-csrf-token";

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Finds the caller: a bearer token first, then the session cookie. `Ok(None)` when the
/// request carries neither; a credential that is present but invalid is an error, so a
/// stale cookie is reported rather than silently treated as anonymous.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    let now = state.clock.now();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
        let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthorized)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        let hash = kizuki_auth::secret::hash_secret(token);
        let (user, scope) = match state.auth_cache.get(&hash, now) {
            Some(found) => found,
            None => {
                let found = state
                    .store
                    .user_by_token_hash(&hash, now)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                state.auth_cache.put(hash, found.clone(), now);
                found
            }
        };
        return Ok(Some(Principal {
            user,
            credential: Credential::Token { scope },
        }));
    }
    let name = session_cookie_name(state.auth.secure_cookies);
    let Some(secret) = cookie_value(headers, name) else {
        return Ok(None);
    };
    let hash = kizuki_auth::secret::hash_secret(secret);
    let (session, user) = state
        .store
        .session_by_hash(&hash, now, state.auth.session_idle)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Some(Principal {
        user,
        credential: Credential::Session {
            id: session.id,
            stage: session.stage,
            csrf: csrf_token(secret),
        },
    }))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a request a browser sent on another site's behalf. Modern browsers say where a
/// request comes from (`Sec-Fetch-Site`); older ones send `Origin`; both are checked when
/// present, and a session-authenticated write must also carry the CSRF token.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = site
        && !matches!(site, "same-origin" | "none")
    {
        return Err(ApiError::Csrf(format!(
            "request sent from another site (Sec-Fetch-Site: {site})"
        )));
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(origin);
        if origin != "null" && !origin_host.eq_ignore_ascii_case(host) {
            return Err(ApiError::Csrf(format!(
                "request sent from another origin ({origin})"
            )));
        }
        // Under our `Referrer-Policy: no-referrer` a browser posts a plain HTML form with
        // `Origin: null`; it still says truthfully (a header pages cannot set) that the form
        // was on this site. Without that, a null origin is refused.
        if origin == "null" && site != Some("same-origin") {
            return Err(ApiError::Csrf("request sent from an opaque origin".into()));
        }
    }
    Ok(())
}

fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    check_same_origin(headers)?;
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Csrf(format!(
                "missing {CSRF_HEADER} header (the csrf_token from the login answer)"
            ))
        })?;
    if kizuki_auth::secret::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Csrf(format!(
            "{CSRF_HEADER} does not match this session"
        )))
    }
}

/// Decides whether `principal` may pass `policy` (role, stage, scope, CSRF).
pub fn authorize(
    policy: &RoutePolicy,
    principal: Option<&Principal>,
    method: &Method,
    headers: &HeaderMap,
    public_reports: bool,
) -> Result<(), ApiError> {
    let Some(principal) = principal else {
        return match policy.gate {
            Gate::Public if policy.path != REPORTS || public_reports => Ok(()),
            _ => Err(ApiError::Unauthorized),
        };
    };
    let user = &principal.user;
    if let Credential::Session { stage, csrf, .. } = &principal.credential {
        if !is_safe(method) {
            check_csrf(headers, csrf)?;
        }
        if *stage == SessionStage::EnrolMfa && policy.gate != Gate::Enrolling {
            return Err(ApiError::Forbidden(
                "your role requires a second factor: set up TOTP first (POST /api/v1/auth/mfa/totp)"
                    .into(),
            ));
        }
    }
    if let Credential::Token { scope } = &principal.credential {
        if policy.gate == Gate::SessionOnly {
            return Err(ApiError::Forbidden(
                "this action needs a browser session; API tokens cannot manage accounts".into(),
            ));
        }
        if !scope.allows(policy.resource, !is_safe(method)) {
            return Err(ApiError::Forbidden(format!(
                "the token's scope does not cover {} {}",
                if is_safe(method) {
                    "reading"
                } else {
                    "writing"
                },
                policy.resource
            )));
        }
    }
    match policy.gate {
        // Anyone may report anonymously (when allowed), but a signed-in caller files as
        // themselves, so their role must allow it (`Action::FileReport`).
        Gate::Public if policy.path == REPORTS && !user.role.may(Action::FileReport) => Err(
            ApiError::Forbidden(format!("the role {} may not file reports", user.role)),
        ),
        Gate::Public | Gate::Enrolling | Gate::SessionOnly => Ok(()),
        Gate::Role(action) if user.role.may(action) => Ok(()),
        Gate::Role(action) => Err(ApiError::Forbidden(format!(
            "the role {} may not {}",
            user.role,
            action.as_str().replace('_', " ")
        ))),
    }
}

/// The incident id a path addresses, for routes under `/api/v1/incidents/{id}`.
///
/// Only a plain number passes: the router percent-decodes path parameters, so a segment
/// such as `%35` would reach the handler as incident 5 without this check ever seeing 5.
/// Anything that is not a number is refused here, before the handler runs.
fn addressed_incident(policy: &RoutePolicy, uri_path: &str) -> Result<Option<i64>, ApiError> {
    if !policy.path.starts_with("/api/v1/incidents/{id}") {
        return Ok(None);
    }
    let raw = uri_path.split('/').nth(4).unwrap_or_default();
    raw.parse().map(Some).map_err(|_| ApiError::BadPath {
        field: "id".into(),
        message: format!("`{raw}` is not an incident id (a whole number)"),
    })
}

/// Whether `principal` may see incident `id`. Missing and invisible look the same (404), so
/// probing ids reveals nothing.
pub async fn check_incident_visible(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<Incident, ApiError> {
    let not_found = || ApiError::NotFound(format!("incident {id} not found"));
    let incident = state.store.get_incident(id).await?.ok_or_else(not_found)?;
    let viewer = principal.viewer();
    let member = if viewer.needs_membership(&incident) {
        state.store.is_member(id, principal.user.id).await?
    } else {
        false
    };
    if viewer.can_see(&incident, member) {
        Ok(incident)
    } else {
        Err(not_found())
    }
}

tokio::task_local! {
    /// The incident the gate read and admitted for this request, so the handler need not
    /// read it again (`api::load_incident` looks here first).
    pub static ADMITTED_INCIDENT: Incident;
}

/// Why the gate turned a request away, and who was asking (for the audit log).
struct Refusal(ApiError, Option<Principal>);

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal(e, None)
    }
}

async fn admit(
    state: &AppState,
    method: &Method,
    path: &str,
    uri_path: &str,
    headers: &HeaderMap,
) -> Result<(Option<Principal>, Option<Incident>), Refusal> {
    let policy = policy_for(method, path).ok_or_else(|| {
        ApiError::Forbidden(format!("{method} {path} has no access rule and is refused"))
    })?;
    // Public routes ignore credentials (a stale cookie must not block signing in again),
    // except the report form, which files as the signed-in user when there is one.
    let principal = match policy.gate {
        Gate::Public if policy.path == REPORTS => authenticate(state, headers).await.ok().flatten(),
        Gate::Public => None,
        _ => authenticate(state, headers).await?,
    };
    if let Err(e) = authorize(
        policy,
        principal.as_ref(),
        method,
        headers,
        state.auth.public_reports,
    ) {
        return Err(Refusal(e, principal));
    }
    let incident =
        addressed_incident(policy, uri_path).map_err(|e| Refusal(e, principal.clone()))?;
    let mut admitted = None;
    if let (Some(p), Some(id)) = (principal.as_ref(), incident) {
        admitted = Some(
            check_incident_visible(state, p, id)
                .await
                .map_err(|e| Refusal(e, principal.clone()))?,
        );
    }
    Ok((principal, admitted))
}

/// The gate, as middleware on every route.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let uri_path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let address = state.network.client_ip(peer, &headers);
    let (principal, admitted) = match admit(&state, &method, &path, &uri_path, &headers).await {
        Ok(found) => found,
        Err(Refusal(error, principal)) => {
            if matches!(error, ApiError::Forbidden(_) | ApiError::Csrf(_)) {
                state
                    .audit
                    .record_request(
                        principal.as_ref(),
                        address,
                        &method,
                        &path,
                        &uri_path,
                        "denied",
                    )
                    .await;
            }
            return error.into_response();
        }
    };
    if let Some(p) = &principal {
        request.extensions_mut().insert(p.clone());
    }
    let response = match admitted {
        Some(incident) => ADMITTED_INCIDENT.scope(incident, next.run(request)).await,
        None => next.run(request).await,
    };
    if crate::audit::is_audited(&method, &path) {
        state
            .audit
            .record_request(
                principal.as_ref(),
                address,
                &method,
                &path,
                &uri_path,
                response.status().as_str(),
            )
            .await;
    }
    response
}
