//! The one place where failures become HTTP responses: RFC 9457 problem+json that names
//! the offending field. Internal details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kizuki_domain::{FieldError, ValidationError};
use kizuki_store::StoreError;
use serde::Serialize;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("malformed JSON: {message}")]
    BadJson { field: String, message: String },
    #[error("bad query parameter {field}: {message}")]
    BadQuery { field: String, message: String },
    #[error("bad path parameter {field}: {message}")]
    BadPath { field: String, message: String },
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        current_version: Option<i64>,
    },
    /// A one-shot action was already taken (a playbook applied, a task completed).
    #[error("{message}")]
    AlreadyDone { field: String, message: String },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// A login that did not succeed. One message for every cause (unknown address, wrong
    /// password or code, a lock-out), so the answer reveals nothing about the account.
    #[error(
        "the e-mail address, password or code is not right, or the account is locked for a while after repeated failures"
    )]
    LoginFailed,
    /// The password was right but the account has a second factor and no code was sent.
    #[error(
        "this account needs a code from its authenticator app (field totp_code) or a recovery code"
    )]
    MfaRequired,
    /// Authenticated, but the role, the token's scope or the session stage does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing browser request without a valid CSRF token, or from another site.
    #[error("{0}")]
    Csrf(String),
    /// Too many attempts from one address (see `rate_limit`); answered with `Retry-After`.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// A failure inside the server that is not the database's (a worker task, encoding).
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ApiResult<T> = Result<T, ApiError>;

const PROBLEM_BASE: &str = "https://kizuki.invalid/problems/";

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            ),
            ApiError::BadJson { .. } => {
                (StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
            }
            ApiError::BadQuery { .. } => (
                StatusCode::BAD_REQUEST,
                "bad-query",
                "Invalid query parameter",
            ),
            ApiError::BadPath { .. } => (
                StatusCode::BAD_REQUEST,
                "bad-path",
                "Invalid path parameter",
            ),
            ApiError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "media-type",
                "Unsupported media type",
            ),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Edit conflict"),
            ApiError::AlreadyDone { .. } => (StatusCode::CONFLICT, "duplicate", "Already done"),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::LoginFailed => (StatusCode::UNAUTHORIZED, "login-failed", "Login failed"),
            ApiError::MfaRequired => (
                StatusCode::UNAUTHORIZED,
                "mfa-required",
                "Second factor required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::Csrf(_) => (StatusCode::FORBIDDEN, "csrf", "Cross-site request refused"),
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            ApiError::Store(StoreError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, "not-found", "Not found")
            }
            ApiError::Store(StoreError::Conflict { .. } | StoreError::Stale { .. }) => {
                (StatusCode::CONFLICT, "conflict", "Edit conflict")
            }
            ApiError::Store(StoreError::Duplicate { .. }) => {
                (StatusCode::CONFLICT, "duplicate", "Already exists")
            }
            ApiError::Internal(_) | ApiError::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.parts();
        let (detail, errors) = match self {
            ApiError::Validation(v) => (v.to_string(), v.errors.clone()),
            ApiError::BadJson { field, message }
            | ApiError::BadQuery { field, message }
            | ApiError::BadPath { field, message }
            | ApiError::AlreadyDone { field, message } => (
                self.to_string(),
                vec![FieldError::new(field.clone(), message.clone())],
            ),
            ApiError::Store(StoreError::Conflict { .. } | StoreError::Stale { .. })
            | ApiError::Conflict { .. } => (
                format!("{self}. Reload, re-apply your change and send the new version."),
                vec![FieldError::new("version", "is stale")],
            ),
            // Database messages may carry internals; say only that it failed.
            ApiError::Internal(_)
            | ApiError::Store(
                StoreError::Database(_) | StoreError::Corrupt { .. } | StoreError::Migration(_),
            ) => (
                "The server could not complete the request; it has been logged.".to_owned(),
                vec![],
            ),
            other => (other.to_string(), vec![]),
        };
        Problem {
            kind: format!("{PROBLEM_BASE}{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %self, "request failed");
        }
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}
