//! An incident's members: the need-to-know list of a restricted incident, and the only
//! incidents an external responder can see.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::timeline::Lane;
use kizuki_domain::user::{LaneOwner, Member};
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
    add_member(&state, &principal, &addr, id, new.user_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.list_members(id).await?),
    ))
}

/// Makes an active user a member of incident `id`, with an audit record (the API and the
/// incident page both come here).
pub async fn add_member(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    id: i64,
    user_id: i64,
) -> ApiResult<()> {
    let user = state.store.user_by_id(user_id).await?;
    if !user.as_ref().is_some_and(|u| u.active) {
        return Err(kizuki_domain::ValidationError::one(
            "user_id",
            format!("no active user has id {user_id}"),
        )
        .into());
    }
    state
        .store
        .add_member(id, user_id, state.clock.now())
        .await?;
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "incident.member.add",
        &format!("/api/v1/incidents/{id}"),
        "ok",
        json!({ "user_id": user_id }),
    );
    state.audit.record(event).await;
    Ok(())
}

/// Ends a membership (and with it any lane the member owned), with an audit record.
pub async fn remove_member(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    id: i64,
    user_id: i64,
) -> ApiResult<()> {
    if !state.store.remove_member(id, user_id).await? {
        return Err(ApiError::NotFound(format!(
            "user {user_id} is not a member of incident {id}"
        )));
    }
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "incident.member.remove",
        &format!("/api/v1/incidents/{id}"),
        "ok",
        json!({ "user_id": user_id }),
    );
    state.audit.record(event).await;
    Ok(())
}

#[utoipa::path(delete, path = "/api/v1/incidents/{id}/members/{user_id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    remove_member(&state, &principal, &addr, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/lane-owners", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<LaneOwner>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_lane_owners(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<LaneOwner>>> {
    Ok(Json(state.store.list_lane_owners(id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaneOwnerChoice {
    /// The member-to-be who owns the lane; `null` leaves the lane without an owner. Required,
    /// so that a body that forgot it does not silently clear the lane.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true)]
    pub user_id: Option<i64>,
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/lane-owners/{lane}", tag = "incidents",
    request_body = LaneOwnerChoice,
    params(("id" = i64, Path, description = "Incident id"),
        ("lane" = Lane, Path, description = "management_pr, ciso_csirt, it_business or external")),
    responses((status = 200, body = Vec<LaneOwner>, description = "The incident's lane owners now"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Unknown lane"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "No active user has that id")))]
pub async fn set_lane_owner(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath((id, lane)): ApiPath<(i64, Lane)>,
    ApiJson(choice): ApiJson<LaneOwnerChoice>,
) -> ApiResult<Json<Vec<LaneOwner>>> {
    assign_lane_owner(&state, &principal, &addr, id, lane, choice.user_id).await?;
    Ok(Json(state.store.list_lane_owners(id).await?))
}

/// Gives `lane` of incident `id` to `user_id` (making them a member) or to nobody, with an
/// audit record. The API and the incident page both come here.
pub async fn assign_lane_owner(
    state: &AppState,
    principal: &Principal,
    addr: &ClientAddr,
    id: i64,
    lane: Lane,
    user_id: Option<i64>,
) -> ApiResult<()> {
    if let Some(user_id) = user_id {
        let user = state.store.user_by_id(user_id).await?;
        if !user.as_ref().is_some_and(|u| u.active) {
            return Err(kizuki_domain::ValidationError::one(
                "user_id",
                format!("no active user has id {user_id}"),
            )
            .into());
        }
    }
    state
        .store
        .set_lane_owner(id, lane, user_id, state.clock.now())
        .await?;
    let event = state.audit.event(
        Some(principal),
        addr.0,
        "incident.lane_owner.set",
        &format!("/api/v1/incidents/{id}"),
        "ok",
        json!({ "lane": lane.as_str(), "user_id": user_id }),
    );
    state.audit.record(event).await;
    Ok(())
}
