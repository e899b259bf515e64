//! The timeline: entries in lanes, labelled by Day N as the study writes them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{Lane, NewTimelineEntry, TimelineEntry, day_label};
use kizuki_store::TimelineQuery;
use serde::{Deserialize, Serialize};

use super::{load_incident, parse_list};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::timeline_cache::TimelineKey;

/// An entry with its study-style label.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntryView {
    #[serde(flatten)]
    pub entry: TimelineEntry,
    /// Day number: 1 on the start date, 0 and below before it.
    pub day_number: i64,
    /// Week number (1 = days 1–7).
    pub week_number: i64,
    /// The label in the requested language (`lang`), e.g. "3日目（休）22:00" or
    /// "Day 3 (holiday) 22:00".
    pub day_label: String,
    /// The day is a weekend day or a Japanese national holiday (the study's 休 mark).
    pub holiday: bool,
    /// The national holiday's name, when it is one.
    pub holiday_name: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub local_date: Date,
}

pub(crate) fn view_entry(
    entry: TimelineEntry,
    start: Date,
    tz: &TimeZone,
    lang: Language,
) -> TimelineEntryView {
    let label = day_label(
        start,
        entry.occurred_at,
        entry.precision,
        entry.day_part,
        tz,
    );
    TimelineEntryView {
        day_number: label.day,
        week_number: label.week,
        day_label: label.label(lang).to_owned(),
        holiday: label.rest_day,
        holiday_name: label.holiday.clone(),
        local_date: label.date,
        entry,
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// Comma-separated lanes.
    pub lane: Option<String>,
    /// Language of `day_label` (`ja` or `en`; default: the organisation's).
    pub lang: Option<Language>,
    pub offset: Option<u32>,
    /// Maximum entries (default: all, at most 10,000).
    pub limit: Option<u32>,
}

const MAX_TIMELINE_PAGE: u32 = 10_000;

#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "timeline",
    params(("id" = i64, Path, description = "Incident id"), TimelineParams),
    responses((status = 200, body = Vec<TimelineEntryView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let incident = load_incident(&state, id).await?;
    let limit = p.limit.unwrap_or(MAX_TIMELINE_PAGE);
    if !(1..=MAX_TIMELINE_PAGE).contains(&limit) {
        return Err(ApiError::BadQuery {
            field: "limit".into(),
            message: format!("must be between 1 and {MAX_TIMELINE_PAGE}"),
        });
    }
    let query = TimelineQuery {
        lanes: parse_list::<Lane>("lane", p.lane.as_deref())?,
        offset: p.offset.unwrap_or(0),
        limit,
    };
    let lang = p.lang.unwrap_or(state.settings.language);
    let key = TimelineKey {
        incident_id: id,
        start_date: incident.start_date,
        lang,
        lanes: query.lanes.clone(),
        offset: query.offset,
        limit: query.limit,
        stamp: state.store.timeline_stamp(id).await?,
    };
    let body = match state.timeline_cache.get(&key) {
        Some(body) => body,
        None => {
            let tz = &state.settings.time_zone;
            let entries = state.store.list_timeline(id, &query).await?;
            let views: Vec<TimelineEntryView> = entries
                .into_iter()
                .map(|e| view_entry(e, incident.start_date, tz, lang))
                .collect();
            let body = axum::body::Bytes::from(
                serde_json::to_vec(&views)
                    .map_err(|e| ApiError::Internal(format!("encoding the timeline: {e}")))?,
            );
            state.timeline_cache.put(key, body.clone());
            body
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/timeline", tag = "timeline",
    params(("id" = i64, Path, description = "Incident id")), request_body = NewTimelineEntry,
    responses((status = 201, body = TimelineEntryView),
        (status = 400, description = "Malformed JSON or unknown lane/kind", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewTimelineEntry>,
) -> ApiResult<(StatusCode, Json<TimelineEntryView>)> {
    tracing::info!(
        incident = id,
        user = user.id,
        action = "add",
        "timeline write"
    );
    let incident = load_incident(&state, id).await?;
    let tz = &state.settings.time_zone;
    let now = state.clock.now();
    let fields = new.into_fields(incident.start_date, tz, now)?;
    let entry = state
        .store
        .add_timeline_entry(id, &fields, Some(user.id), now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(view_entry(
            entry,
            incident.start_date,
            tz,
            state.settings.language,
        )),
    ))
}
