//! Checking and uploading playbook versions. Both the API and the administration page call
//! [`check_upload`] and [`upload_playbook`], so the rules (valid YAML, a version above the one
//! in use, audited) live in one place.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use kizuki_domain::{FieldError, ValidationError};
use kizuki_playbook::{Playbook, PlaybookErrors};
use kizuki_store::{NewPlaybookVersion, StoreError, StoredPlaybook};
use serde_json::json;

use crate::AppState;
use crate::access::Principal;
use crate::api::meta::{PlaybookSummary, summary};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, Problem};

/// The largest playbook accepted: the biggest built-in one is about 20 KiB.
pub const PLAYBOOK_BODY_LIMIT: usize = 256 * 1024;

/// The name uploads are parsed under, as errors show it.
pub const UPLOAD_NAME: &str = "upload.yml";

/// Why an upload was not taken.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefusal {
    /// The text is not a valid playbook; every problem with its line and field.
    #[error("{0}")]
    Invalid(PlaybookErrors),
    /// The catalogue already has this version of the id or a higher one.
    #[error("playbook {id} is at version {current}; upload version {} or higher", current + 1)]
    NotHigher { id: String, current: u32 },
    #[error(transparent)]
    Failed(ApiError),
}

impl From<UploadRefusal> for ApiError {
    fn from(r: UploadRefusal) -> Self {
        match r {
            UploadRefusal::Invalid(errors) => ApiError::Validation(validation(&errors)),
            refusal @ UploadRefusal::NotHigher { .. } => {
                ApiError::Validation(ValidationError::one("version", refusal.to_string()))
            }
            UploadRefusal::Failed(e) => e,
        }
    }
}

/// The parser's errors as field errors: the field path (or `body`), and the place.
pub fn validation(errors: &PlaybookErrors) -> ValidationError {
    ValidationError {
        errors: errors
            .iter()
            .map(|e| {
                let place = match (e.line, e.column) {
                    (Some(l), Some(c)) => format!("line {l}, column {c}: "),
                    (Some(l), None) => format!("line {l}: "),
                    _ => String::new(),
                };
                let field = if e.path.is_empty() { "body" } else { &e.path };
                FieldError::new(field, format!("{place}{}", e.message))
            })
            .collect(),
    }
}

/// Parses an upload and checks that it would replace the version in use.
pub async fn check_upload(state: &AppState, text: &str) -> Result<Playbook, UploadRefusal> {
    let playbook = kizuki_playbook::parse(UPLOAD_NAME, text).map_err(UploadRefusal::Invalid)?;
    let catalogue = state.playbooks.current().await;
    match catalogue.get(&playbook.id) {
        Some(current) if current.version >= playbook.version => Err(UploadRefusal::NotHigher {
            id: playbook.id,
            current: current.version,
        }),
        _ => Ok(playbook),
    }
}

/// Stores a new playbook version, audited, and makes it the one in use on this replica at
/// once (the others notice on their next read).
pub async fn upload_playbook(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    text: &str,
) -> Result<(Playbook, StoredPlaybook), UploadRefusal> {
    let playbook = check_upload(state, text).await?;
    let new = NewPlaybookVersion {
        playbook_id: playbook.id.clone(),
        version: playbook.version,
        source: text.to_owned(),
        uploaded_by: principal.user.id,
        uploaded_at: state.clock.now(),
    };
    let stored = match state.store.add_playbook_version(&new).await {
        Ok(stored) => stored,
        // Another upload of this id got in first.
        Err(StoreError::Duplicate { .. }) => {
            let current = state
                .playbooks
                .current()
                .await
                .get(&playbook.id)
                .map_or(playbook.version, |p| p.version);
            return Err(UploadRefusal::NotHigher {
                id: playbook.id,
                current,
            });
        }
        Err(e) => return Err(UploadRefusal::Failed(e.into())),
    };
    if let Err(e) = state.playbooks.reload().await {
        tracing::error!(error = %e, "uploaded playbook stored, but reloading the catalogue failed");
    }
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "playbook.upload",
        &format!("playbook:{}", playbook.key()),
        "ok",
        json!({ "seq": stored.seq, "tasks": playbook.task_count() }),
    );
    state.audit.record(event).await;
    Ok((playbook, stored))
}

/// The body as UTF-8 text, or the error that says why not.
fn body_text(body: Result<Bytes, BytesRejection>) -> ApiResult<String> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge {
                limit: PLAYBOOK_BODY_LIMIT,
            }
        } else {
            ApiError::BadJson {
                field: String::new(),
                message: r.body_text(),
            }
        }
    })?;
    if body.len() > PLAYBOOK_BODY_LIMIT {
        return Err(ApiError::TooLarge {
            limit: PLAYBOOK_BODY_LIMIT,
        });
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| ValidationError::one("body", "is not UTF-8 text").into())
}

#[utoipa::path(post, path = "/api/v1/playbooks/validate", tag = "meta",
    request_body(content = String, description = "A playbook in YAML (up to 256 KiB)", content_type = "application/yaml"),
    responses((status = 200, description = "Valid; the playbook as it would be listed", body = PlaybookSummary),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every error, each naming the field and its line", body = Problem, content_type = "application/problem+json")))]
pub async fn validate(body: Result<Bytes, BytesRejection>) -> ApiResult<Json<PlaybookSummary>> {
    let text = body_text(body)?;
    let playbook = kizuki_playbook::parse(UPLOAD_NAME, &text)
        .map_err(|e| ApiError::Validation(validation(&e)))?;
    Ok(Json(summary(&playbook)))
}

#[utoipa::path(post, path = "/api/v1/playbooks", tag = "meta",
    request_body(content = String, description = "A playbook in YAML (up to 256 KiB) whose version is above the one in use", content_type = "application/yaml"),
    responses((status = 201, description = "Stored and in use on every replica", body = PlaybookSummary),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, or the version is not above the one in use (field `version`)", body = Problem, content_type = "application/problem+json")))]
pub async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<PlaybookSummary>)> {
    let text = body_text(body)?;
    let (playbook, _) = upload_playbook(&state, &principal, &addr, &text).await?;
    Ok((StatusCode::CREATED, Json(summary(&playbook))))
}
