//! Legal clocks: statutory and contractual reporting deadlines with time left.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::legal_clock::{ClockReading, NewLegalClock};

use super::load_incident;
use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, AuthUser};

#[utoipa::path(get, path = "/api/v1/incidents/{id}/legal-clocks", tag = "legal-clocks",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<ClockReading>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ClockReading>>> {
    load_incident(&state, id).await?;
    let now = state.clock.now();
    Ok(Json(
        state
            .store
            .list_legal_clocks(id)
            .await?
            .iter()
            .map(|c| c.read(now))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/legal-clocks", tag = "legal-clocks",
    params(("id" = i64, Path, description = "Incident id")), request_body = NewLegalClock,
    responses((status = 201, body = ClockReading),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewLegalClock>,
) -> ApiResult<(StatusCode, Json<ClockReading>)> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "add",
        "legal clocks write"
    );
    let incident = load_incident(&state, id).await?;
    let fields = new.into_fields(&incident.impact, incident.aware_at)?;
    let clock = state.store.add_legal_clock(id, &fields).await?;
    crate::notify::schedule_clock_reminders(&state, id).await;
    Ok((StatusCode::CREATED, Json(clock.read(state.clock.now()))))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/legal-clocks/{clock_id}/met", tag = "legal-clocks",
    params(("id" = i64, Path, description = "Incident id"), ("clock_id" = i64, Path, description = "Clock id")),
    responses((status = 200, body = ClockReading), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn mark_met(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, clock_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<ClockReading>> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "mark_met",
        "legal clocks write"
    );
    load_incident(&state, id).await?;
    let now = state.clock.now();
    let clock = state.store.mark_legal_clock_met(id, clock_id, now).await?;
    Ok(Json(clock.read(now)))
}
