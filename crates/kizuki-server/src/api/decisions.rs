//! Decisions: the question, the options with their scenarios, and who chose what and why.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::decision::{Decision, DecisionOutcome, NewDecision};

use super::load_incident;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, AuthUser};

#[utoipa::path(get, path = "/api/v1/incidents/{id}/decisions", tag = "decisions",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Decision>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Decision>>> {
    load_incident(&state, id).await?;
    Ok(Json(state.store.list_decisions(id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/decisions", tag = "decisions",
    params(("id" = i64, Path, description = "Incident id")), request_body = NewDecision,
    responses((status = 201, body = Decision),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut new): ApiJson<NewDecision>,
) -> ApiResult<(StatusCode, Json<Decision>)> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "add",
        "decisions write"
    );
    load_incident(&state, id).await?;
    new.validate()?;
    let now = state.clock.now();
    if new.chosen.is_some() && new.decided_at.is_none() {
        new.decided_at = Some(now);
    }
    Ok((
        StatusCode::CREATED,
        Json(state.store.add_decision(id, &new, now).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/decisions/{decision_id}/decide", tag = "decisions",
    params(("id" = i64, Path, description = "Incident id"), ("decision_id" = i64, Path, description = "Decision id")),
    request_body = DecisionOutcome,
    responses((status = 200, body = Decision),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn decide(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, decision_id)): ApiPath<(i64, i64)>,
    ApiJson(outcome): ApiJson<DecisionOutcome>,
) -> ApiResult<Json<Decision>> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "decide",
        "decisions write"
    );
    let decision = state
        .store
        .get_decision(id, decision_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("decision {decision_id} not found in incident {id}"))
        })?;
    outcome.validate(decision.options.len())?;
    let at = outcome.decided_at.unwrap_or_else(|| state.clock.now());
    Ok(Json(
        state.store.decide(id, decision_id, &outcome, at).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/decisions/{decision_id}", tag = "decisions",
    params(("id" = i64, Path, description = "Incident id"), ("decision_id" = i64, Path, description = "Decision id")),
    responses((status = 200, body = Decision), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath((id, decision_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Decision>> {
    load_incident(&state, id).await?;
    let decision = state
        .store
        .get_decision(id, decision_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("decision {decision_id} not found in incident {id}"))
        })?;
    Ok(Json(decision))
}
