//! Evidence items and their chain of custody.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::evidence::{CustodyEvent, EvidenceItem, NewCustodyEvent, NewEvidence};
use kizuki_store::CustodyRecord;

use super::load_incident;
use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, AuthUser};

#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence", tag = "evidence",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<EvidenceItem>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<EvidenceItem>>> {
    load_incident(&state, id).await?;
    Ok(Json(state.store.list_evidence(id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence", tag = "evidence",
    params(("id" = i64, Path, description = "Incident id")), request_body = NewEvidence,
    responses((status = 201, body = EvidenceItem),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut new): ApiJson<NewEvidence>,
) -> ApiResult<(StatusCode, Json<EvidenceItem>)> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "add",
        "evidence write"
    );
    load_incident(&state, id).await?;
    new.validate()?;
    let now = state.clock.now();
    let collected_at = new.collected_at.unwrap_or(now);
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .add_evidence(id, &new, collected_at, now)
                .await?,
        ),
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence/{evidence_id}/custody", tag = "evidence",
    params(("id" = i64, Path, description = "Incident id"), ("evidence_id" = i64, Path, description = "Evidence item id")),
    request_body = NewCustodyEvent,
    responses((status = 201, body = CustodyEvent),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_custody(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, evidence_id)): ApiPath<(i64, i64)>,
    ApiJson(event): ApiJson<NewCustodyEvent>,
) -> ApiResult<(StatusCode, Json<CustodyEvent>)> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "add_custody",
        "evidence write"
    );
    load_incident(&state, id).await?;
    event.validate()?;
    let record = CustodyRecord {
        at: event.at.unwrap_or_else(|| state.clock.now()),
        event,
    };
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .add_custody_event(id, evidence_id, &record)
                .await?,
        ),
    ))
}
