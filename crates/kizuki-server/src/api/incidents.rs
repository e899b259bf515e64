//! Incidents: open, list, read, edit (with optimistic concurrency), export.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::decision::Decision;
use kizuki_domain::evidence::EvidenceItem;
use kizuki_domain::incident::{
    Category, ExerciseFilter, Incident, IncidentFilter, IncidentPatch, NewIncident, Phase,
};
use kizuki_domain::legal_clock::{ClockReading, statutory_clock_fields};
use kizuki_domain::observable::Observable;
use kizuki_domain::party::Party;
use kizuki_domain::task::Task;
use kizuki_store::TimelineQuery;
use serde::{Deserialize, Serialize};

use super::timeline::{TimelineEntryView, view_entry};
use super::{load_incident, parse_list};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};

/// An incident with what is computed from it at read time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// Today's day number counted from the start date (Day 1), in the organisation's zone.
    pub day_today: i64,
    pub severity_name_ja: String,
    pub severity_name_en: String,
    pub legal_clocks: Vec<ClockReading>,
}

pub(crate) async fn view(state: &AppState, incident: Incident) -> ApiResult<IncidentView> {
    let now = state.clock.now();
    let clocks = state.store.list_legal_clocks(incident.id).await?;
    let today = now
        .to_zoned_datetime(state.settings.time_zone.clone())
        .date();
    let day_today = incident
        .start_date
        .until(today)
        .map(|s| i64::from(s.get_days()) + 1)
        .unwrap_or(1);
    let level = state.settings.severity.get(incident.severity);
    Ok(IncidentView {
        day_today,
        severity_name_ja: level.map(|l| l.name_ja.clone()).unwrap_or_default(),
        severity_name_en: level.map(|l| l.name_en.clone()).unwrap_or_default(),
        legal_clocks: clocks.iter().map(|c| c.read(now)).collect(),
        incident,
    })
}

/// Filters for the incident list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Comma-separated phases, e.g. `triage,containment`.
    pub phase: Option<String>,
    /// Comma-separated categories.
    pub category: Option<String>,
    /// Only incidents at this severity level or higher.
    pub min_severity: Option<u8>,
    /// `true` for incidents that are not closed.
    pub open: Option<bool>,
    /// Text to find in title or summary (case-insensitive).
    pub q: Option<String>,
    /// Only incidents where this user owns a lane.
    pub lane_owner: Option<i64>,
    /// Cursor from `next_before` of the previous page.
    pub before: Option<i64>,
    /// Page size (1–500, default 50).
    pub limit: Option<u32>,
    /// `exclude` (default: real incidents only), `include` or `only` tabletop exercises.
    pub exercises: Option<ExerciseFilter>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentPage {
    pub items: Vec<Incident>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams),
    responses((status = 200, body = IncidentPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    principal: crate::access::Principal,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<IncidentPage>> {
    let limit = p.limit.unwrap_or(IncidentFilter::DEFAULT_LIMIT);
    if !(1..=IncidentFilter::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadQuery {
            field: "limit".into(),
            message: format!("must be between 1 and {}", IncidentFilter::MAX_LIMIT),
        });
    }
    let filter = IncidentFilter {
        phases: parse_list::<Phase>("phase", p.phase.as_deref())?,
        categories: parse_list::<Category>("category", p.category.as_deref())?,
        min_severity: p.min_severity,
        open_only: p.open.unwrap_or(false),
        text: p.q.filter(|q| !q.trim().is_empty()),
        lane_owner: p.lane_owner,
        before_id: p.before,
        limit,
        viewer: Some(principal.viewer()),
        exercises: p.exercises.unwrap_or_default(),
    };
    let page = state.store.list_incidents(&filter).await?;
    Ok(Json(IncidentPage {
        items: page.items,
        next_before: page.next_before_id,
    }))
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = NewIncident,
    responses((status = 201, body = IncidentView),
        (status = 400, description = "Malformed JSON, unknown field or unknown enum value", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A domain rule is broken", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(new): ApiJson<NewIncident>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    let incident = create_incident(&state, user.id, new).await?;
    tracing::info!(incident = incident.id, user = user.id, "incident created");
    Ok((StatusCode::CREATED, Json(view(&state, incident).await?)))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IncidentView>> {
    let incident = load_incident(&state, id).await?;
    Ok(Json(view(&state, incident).await?))
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = IncidentPatch,
    responses((status = 200, body = IncidentView),
        (status = 409, description = "Someone changed the incident since `version` was read; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid value or phase transition", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<IncidentPatch>,
) -> ApiResult<Json<IncidentView>> {
    let updated = update_incident(&state, id, patch).await?;
    tracing::info!(
        incident = id,
        user = user.id,
        version = updated.version,
        "incident updated"
    );
    Ok(Json(view(&state, updated).await?))
}

/// Opens an incident with its statutory legal clocks (used by the API and the new-incident
/// page).
pub async fn create_incident(
    state: &AppState,
    user_id: i64,
    new: NewIncident,
) -> ApiResult<Incident> {
    let now = state.clock.now();
    let settings = &state.settings;
    let fields = new.into_fields(
        &settings.severity,
        now,
        &settings.time_zone,
        settings.start_basis,
    )?;
    let clocks = statutory_clock_fields(&fields.impact, fields.aware_at);
    let incident = state
        .store
        .create_incident(&fields, &clocks, Some(user_id), now)
        .await?;
    crate::notify::incident_opened(state, &incident).await;
    Ok(incident)
}

/// Applies `patch` to incident `id` if nobody changed it since `patch.version` was read
/// (used by the API and the incident page). A stale version is `Conflict` naming the
/// current one; nothing is written then.
pub async fn update_incident(
    state: &AppState,
    id: i64,
    patch: IncidentPatch,
) -> ApiResult<Incident> {
    let current = load_incident(state, id).await?;
    if patch.version != current.version {
        return Err(ApiError::Conflict {
            message: format!(
                "incident {id} was changed by someone else (now at version {}, you edited version {})",
                current.version, patch.version
            ),
            current_version: Some(current.version),
        });
    }
    let expected = patch.version;
    let fields = patch.apply(&current, &state.settings.severity)?;
    // A changed impact or awareness time moves the legal clocks with it.
    let clocks = statutory_clock_fields(&fields.impact, fields.aware_at);
    let updated = state
        .store
        .update_incident(id, expected, &fields, &clocks, state.clock.now())
        .await?;
    // A changed impact may have started new statutory clocks.
    crate::notify::schedule_clock_reminders(state, id).await;
    // A higher level or another category may call for more people.
    crate::notify::incident_changed(state, &current, &updated).await;
    Ok(updated)
}

/// Everything Kizuki holds about one incident, for archiving or offline use.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentExport {
    pub format: String,
    #[schema(value_type = String, format = DateTime)]
    pub exported_at: jiff::Timestamp,
    pub incident: IncidentView,
    pub timeline: Vec<TimelineEntryView>,
    pub tasks: Vec<Task>,
    pub decisions: Vec<Decision>,
    pub parties: Vec<Party>,
    pub evidence: Vec<EvidenceItem>,
    pub observables: Vec<Observable>,
}

/// Gathers the complete export of one incident (used by the API and `kizuki export`).
pub async fn build_export(state: &AppState, id: i64) -> ApiResult<IncidentExport> {
    let incident = load_incident(state, id).await?;
    let lang = state.settings.language;
    let timeline = state
        .store
        .list_timeline(id, &TimelineQuery::default())
        .await?
        .into_iter()
        .map(|e| view_entry(e, incident.start_date, &state.settings.time_zone, lang))
        .collect();
    Ok(IncidentExport {
        format: "kizuki.incident.v1".into(),
        exported_at: state.clock.now(),
        timeline,
        tasks: state.store.list_tasks(id).await?,
        decisions: state.store.list_decisions(id).await?,
        parties: state.store.list_parties(id).await?,
        evidence: state.store.list_evidence(id).await?,
        observables: state.store.list_observables(id).await?,
        incident: view(state, incident).await?,
    })
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/export", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = IncidentExport), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn export(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IncidentExport>> {
    let export = build_export(&state, id).await?;
    tracing::info!(incident = id, user = user.id, "incident exported");
    Ok(Json(export))
}
