//! Parties: who is involved and how to reach them when e-mail is down.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::party::{NewParty, Party};

use super::load_incident;
use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, AuthUser};

#[utoipa::path(get, path = "/api/v1/incidents/{id}/parties", tag = "parties",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Party>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Party>>> {
    load_incident(&state, id).await?;
    Ok(Json(state.store.list_parties(id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/parties", tag = "parties",
    params(("id" = i64, Path, description = "Incident id")), request_body = NewParty,
    responses((status = 201, body = Party),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewParty>,
) -> ApiResult<(StatusCode, Json<Party>)> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "add",
        "parties write"
    );
    load_incident(&state, id).await?;
    new.validate()?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.add_party(id, &new).await?),
    ))
}
