//! Parties: who is involved and how to reach them when e-mail is down.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::party::{NewParty, Party, PartyPatch};

use super::load_incident;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
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

#[utoipa::path(patch, path = "/api/v1/incidents/{id}/parties/{party_id}", tag = "parties",
    params(("id" = i64, Path, description = "Incident id"), ("party_id" = i64, Path, description = "Party id")),
    request_body = PartyPatch,
    responses((status = 200, body = Party),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, party_id)): ApiPath<(i64, i64)>,
    ApiJson(patch): ApiJson<PartyPatch>,
) -> ApiResult<Json<Party>> {
    load_incident(&state, id).await?;
    let current = state
        .store
        .list_parties(id)
        .await?
        .into_iter()
        .find(|p| p.id == party_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!("party {party_id} not found in incident {id}"))
        })?;
    if patch.is_empty() {
        return Err(kizuki_domain::ValidationError::one("name", "nothing to change").into());
    }
    patch.apply(&current)?;
    let party = state.store.update_party(id, party_id, &patch).await?;
    tracing::info!(
        incident = id,
        party = party_id,
        user = user.id,
        "party updated"
    );
    Ok(Json(party))
}
