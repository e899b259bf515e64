//! The reference library: the study's ten cases in Kizuki's words, browsable and searchable,
//! so responders can see how others handled the same kind of incident.

use axum::Json;
use axum::extract::State;
use kizuki_domain::incident::Category;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery, AuthUser};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseSearch {
    /// Words to find (case-insensitive) in either language of title, overview and lessons.
    pub q: Option<String>,
    /// Incident category, e.g. `ransomware`.
    pub category: Option<String>,
    /// e.g. `phishing_email`, `password_guessing`.
    pub attack_vector: Option<String>,
    /// e.g. `university`, `manufacturer`.
    pub organisation_type: Option<String>,
    /// One of the study's lesson categories, e.g. `business_recovery`.
    pub lesson_category: Option<String>,
}

/// A case in a result list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub number: u8,
    pub title_ja: String,
    pub title_en: String,
    pub category: Category,
    pub organisation_type: String,
    pub attack_vectors: Vec<String>,
    pub lessons: usize,
    pub timeline_entries: usize,
}

fn parse<T: std::str::FromStr>(field: &str, raw: Option<String>) -> ApiResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse::<T>().map_err(|e| ApiError::BadQuery {
                field: field.to_owned(),
                message: e.to_string(),
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/reference/cases", tag = "reference", params(CaseSearch),
    responses((status = 200, body = Vec<CaseSummary>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(p): ApiQuery<CaseSearch>,
) -> ApiResult<Json<Vec<CaseSummary>>> {
    let category = match p.category.filter(|s| !s.trim().is_empty()) {
        Some(c) => Some(
            c.trim()
                .parse::<Category>()
                .map_err(|e| ApiError::BadQuery {
                    field: "category".into(),
                    message: e.to_string(),
                })?,
        ),
        None => None,
    };
    let query = kizuki_reference::Query {
        text: p.q.filter(|q| !q.trim().is_empty()),
        category,
        attack_vector: parse("attack_vector", p.attack_vector)?,
        organisation_type: parse("organisation_type", p.organisation_type)?,
        lesson_category: parse("lesson_category", p.lesson_category)?,
    };
    let cases = state.reference.search(&query);
    Ok(Json(
        cases
            .into_iter()
            .map(|c| CaseSummary {
                id: c.id.clone(),
                number: c.number,
                title_ja: c.title.ja.clone(),
                title_en: c.title.en.clone(),
                category: c.category,
                organisation_type: c.organisation_type.as_str().to_owned(),
                attack_vectors: c
                    .attack_vectors
                    .iter()
                    .map(|v| v.as_str().to_owned())
                    .collect(),
                lessons: c.lessons.len(),
                timeline_entries: c.timeline.len(),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/reference/cases/{case_id}", tag = "reference",
    params(("case_id" = String, Path, description = "`case-03` or `3`")),
    responses((status = 200, description = "The whole case: overview, three-lane timeline, causes, lessons", body = serde_json::Value),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(case_id): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let case = state.reference.case(&case_id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "reference case {case_id} not found (there are ten: 1 to 10)"
        ))
    })?;
    serde_json::to_value(case).map(Json).map_err(|e| {
        ApiError::NotFound(format!(
            "reference case {case_id} could not be encoded: {e}"
        ))
    })
}
