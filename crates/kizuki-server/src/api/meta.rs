//! Health, identity, settings and the playbook catalogue.

use axum::Json;
use axum::extract::State;
use kizuki_domain::settings::SeverityLevel;
use kizuki_domain::user::User;
use serde::Serialize;
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, AuthUser};

/// Liveness and database reachability; no authentication, no details beyond the backend.
pub async fn healthz(
    State(state): State<AppState>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    match state.store.ping().await {
        Ok(()) => (
            axum::http::StatusCode::OK,
            Json(json!({"status": "ok", "database": state.store.backend()})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": state.store.backend()})),
            )
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "meta",
    responses((status = 200, body = User), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn me(AuthUser(user): AuthUser) -> Json<User> {
    Json(user)
}

#[utoipa::path(get, path = "/api/v1/settings/severity", tag = "meta",
    responses((status = 200, body = Vec<SeverityLevel>)))]
pub async fn severity_ladder(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Json<Vec<SeverityLevel>> {
    Json(state.settings.severity.levels().to_vec())
}

/// A playbook in the catalogue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlaybookSummary {
    pub id: String,
    pub version: u32,
    pub category: kizuki_domain::incident::Category,
    pub title_ja: String,
    pub title_en: String,
    pub tasks: usize,
}

pub fn summary(p: &kizuki_playbook::Playbook) -> PlaybookSummary {
    PlaybookSummary {
        id: p.id.clone(),
        version: p.version,
        category: p.category,
        title_ja: p.title.ja.clone(),
        title_en: p.title.en.clone(),
        tasks: p.phases.iter().map(|ph| ph.tasks.len()).sum(),
    }
}

#[utoipa::path(get, path = "/api/v1/playbooks", tag = "meta",
    responses((status = 200, body = Vec<PlaybookSummary>)))]
pub async fn list_playbooks(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Json<Vec<PlaybookSummary>> {
    Json(
        state
            .playbooks
            .current()
            .await
            .list()
            .into_iter()
            .map(summary)
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/v1/playbooks/{id}", tag = "meta",
    params(("id" = String, Path, description = "Playbook id, e.g. ransomware")),
    responses((status = 200, description = "The playbook as loaded", body = serde_json::Value), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_playbook(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let catalogue = state.playbooks.current().await;
    let p = catalogue
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("playbook {id} not found")))?;
    Ok(Json(serde_json::to_value(p).map_err(|e| {
        ApiError::BadQuery {
            field: "id".into(),
            message: e.to_string(),
        }
    })?))
}
