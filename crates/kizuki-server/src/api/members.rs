//! An incident's members: the need-to-know list of a restricted incident, and the only
//! incidents an external responder can see.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::user::Member;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::access::Principal;
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};

#[utoipa::path(get, path = "/api/v1/incidents/{id}/members", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Member>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(state.store.list_members(id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub user_id: i64,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/members", tag = "incidents", request_body = NewMember,
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 201, body = Vec<Member>), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, Json<Vec<Member>>)> {
    let user = state.store.user_by_id(new.user_id).await?;
    if !user.as_ref().is_some_and(|u| u.active) {
        return Err(kizuki_domain::ValidationError::one(
            "user_id",
            format!("no active user has id {}", new.user_id),
        )
        .into());
    }
    state
        .store
        .add_member(id, new.user_id, state.clock.now())
        .await?;
    let event = state.audit.event(
        Some(&principal),
        addr.0,
        "incident.member.add",
        &format!("/api/v1/incidents/{id}"),
        "ok",
        json!({ "user_id": new.user_id }),
    );
    state.audit.record(event).await;
    Ok((
        StatusCode::CREATED,
        Json(state.store.list_members(id).await?),
    ))
}

#[utoipa::path(delete, path = "/api/v1/incidents/{id}/members/{user_id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    if state.store.remove_member(id, user_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "user {user_id} is not a member of incident {id}"
        )))
    }
}
