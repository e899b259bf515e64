//! Observables and the question responders ask most: "where else have we seen this?"

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::observable::{
    NewObservable, Observable, ObservableKind, SharedObservable, normalize,
};
use serde::{Deserialize, Serialize};

use super::load_incident;
use crate::AppState;
use crate::access::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// An observable with the other incidents that share it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ObservableView {
    #[serde(flatten)]
    pub observable: Observable,
    pub shared_with: Vec<SharedObservable>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/observables", tag = "observables",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<ObservableView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ObservableView>>> {
    load_incident(&state, id).await?;
    let mut out = Vec::new();
    for observable in state.store.list_observables(id).await? {
        let shared_with = state
            .store
            .incidents_sharing(
                observable.kind,
                &observable.normalized,
                Some(id),
                Some(&principal.viewer()),
            )
            .await?;
        out.push(ObservableView {
            observable,
            shared_with,
        });
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/observables", tag = "observables",
    params(("id" = i64, Path, description = "Incident id")), request_body = NewObservable,
    responses((status = 201, body = ObservableView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewObservable>,
) -> ApiResult<(StatusCode, Json<ObservableView>)> {
    tracing::info!(
        incident = id,
        user = principal.user.id,
        action = "add",
        "observables write"
    );
    let observable = add_observable(&state, id, &new).await?;
    let shared_with = state
        .store
        .incidents_sharing(
            observable.kind,
            &observable.normalized,
            Some(id),
            Some(&principal.viewer()),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ObservableView {
            observable,
            shared_with,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub kind: ObservableKind,
    /// The indicator as written anywhere (it is normalised before matching).
    pub value: String,
}

#[utoipa::path(get, path = "/api/v1/observables/search", tag = "observables", params(SearchParams),
    responses((status = 200, description = "Every incident holding this indicator", body = Vec<SharedObservable>),
        (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn search(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<Vec<SharedObservable>>> {
    let normalized = normalize(p.kind, &p.value).map_err(|message| ApiError::BadQuery {
        field: "value".into(),
        message,
    })?;
    Ok(Json(
        state
            .store
            .incidents_sharing(p.kind, &normalized, None, Some(&principal.viewer()))
            .await?,
    ))
}

/// Checks and stores an observable of incident `id` (first seen now unless given). The API
/// and the incident page both come here.
pub async fn add_observable(
    state: &AppState,
    id: i64,
    new: &NewObservable,
) -> ApiResult<Observable> {
    load_incident(state, id).await?;
    let normalized = new.validate()?;
    let first_seen = new.first_seen.unwrap_or_else(|| state.clock.now());
    Ok(state
        .store
        .add_observable(id, new, &normalized, first_seen)
        .await?)
}
