//! The review after an incident: its narrative, lessons, corrective actions and the
//! after-action report built from all of it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use kizuki_domain::review::{
    ActionQuery, CorrectiveAction, CorrectiveActionPatch, CorrectiveActionState, Lesson,
    LessonCategory, LessonFields, LessonHit, LessonQuery, Reminder, Review, ReviewUpdate,
};
use kizuki_domain::settings::Language;
use kizuki_store::TimelineQuery;
use serde::{Deserialize, Serialize};

use super::load_incident;
use crate::AppState;
use crate::access::{Principal, check_incident_visible};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};

// --- the narrative ---------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/incidents/{id}/review", tag = "review",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Review), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_review(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Review>> {
    load_incident(&state, id).await?;
    Ok(Json(state.store.get_review(id).await?))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/review", tag = "review",
    params(("id" = i64, Path, description = "Incident id")), request_body = ReviewUpdate,
    responses((status = 200, body = Review),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Someone saved the review since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn save_review(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(update): ApiJson<ReviewUpdate>,
) -> ApiResult<Json<Review>> {
    load_incident(&state, id).await?;
    update.narrative.validate()?;
    let review = state
        .store
        .save_review(
            id,
            update.version,
            &update.narrative,
            Some(user.id),
            state.clock.now(),
        )
        .await?;
    tracing::info!(
        incident = id,
        user = user.id,
        version = review.version,
        "review saved"
    );
    Ok(Json(review))
}

// --- lessons ---------------------------------------------------------------------------------

/// A lesson with the corrective actions that came from it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LessonView {
    #[serde(flatten)]
    pub lesson: Lesson,
    pub actions: Vec<ActionView>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/lessons", tag = "review",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<LessonView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_lessons(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<LessonView>>> {
    load_incident(&state, id).await?;
    Ok(Json(lesson_views(&state, id).await?))
}

async fn lesson_views(state: &AppState, incident_id: i64) -> ApiResult<Vec<LessonView>> {
    let lessons = state.store.list_lessons(incident_id).await?;
    let actions = state
        .store
        .list_corrective_actions(
            &ActionQuery {
                incident_id: Some(incident_id),
                ..Default::default()
            },
            None,
        )
        .await?;
    let today = today(state);
    Ok(lessons
        .into_iter()
        .map(|lesson| {
            let actions = actions
                .iter()
                .filter(|a| a.lesson_id == lesson.id)
                .map(|a| ActionView::new(a.clone(), today))
                .collect();
            LessonView { lesson, actions }
        })
        .collect())
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/lessons", tag = "review",
    params(("id" = i64, Path, description = "Incident id")), request_body = LessonFields,
    responses((status = 201, body = Lesson),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_lesson(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(fields): ApiJson<LessonFields>,
) -> ApiResult<(StatusCode, Json<Lesson>)> {
    load_incident(&state, id).await?;
    fields.validate()?;
    let lesson = state
        .store
        .add_lesson(id, &fields, Some(user.id), state.clock.now())
        .await?;
    tracing::info!(
        incident = id,
        lesson = lesson.id,
        user = user.id,
        "lesson added"
    );
    Ok((StatusCode::CREATED, Json(lesson)))
}

/// A lesson rewritten, naming the version it was read at.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonUpdate {
    pub version: i64,
    pub text: String,
    pub categories: Vec<LessonCategory>,
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/lessons/{lesson_id}", tag = "review",
    params(("id" = i64, Path, description = "Incident id"), ("lesson_id" = i64, Path, description = "Lesson id")),
    request_body = LessonUpdate,
    responses((status = 200, body = Lesson),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_lesson(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, lesson_id)): ApiPath<(i64, i64)>,
    ApiJson(update): ApiJson<LessonUpdate>,
) -> ApiResult<Json<Lesson>> {
    load_incident(&state, id).await?;
    let fields = LessonFields {
        text: update.text,
        categories: update.categories,
    };
    fields.validate()?;
    let lesson = state
        .store
        .update_lesson(id, lesson_id, update.version, &fields, state.clock.now())
        .await?;
    tracing::info!(
        incident = id,
        lesson = lesson_id,
        user = user.id,
        "lesson updated"
    );
    Ok(Json(lesson))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LessonSearch {
    /// Words that must all occur in the lesson (case-insensitive).
    pub q: Option<String>,
    /// One of the study's appendix categories, e.g. `supply_chain`.
    pub category: Option<LessonCategory>,
    /// At most this many (1–500, default 100).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/lessons", tag = "review", params(LessonSearch),
    responses((status = 200, description = "Lessons of every incident you can see, newest first; exercises left out", body = Vec<LessonHit>),
        (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn search_lessons(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<LessonSearch>,
) -> ApiResult<Json<Vec<LessonHit>>> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadQuery {
            field: "limit".into(),
            message: "must be between 1 and 500".into(),
        });
    }
    let query = LessonQuery {
        text: p.q.filter(|q| !q.trim().is_empty()),
        category: p.category,
        limit,
    };
    Ok(Json(
        state
            .store
            .search_lessons(&query, Some(&principal.viewer()))
            .await?,
    ))
}

// --- corrective actions ----------------------------------------------------------------------

/// A corrective action with the reminder its owner should see today.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionView {
    #[serde(flatten)]
    pub action: CorrectiveAction,
    pub reminder: Reminder,
}

impl ActionView {
    fn new(action: CorrectiveAction, today: Date) -> Self {
        let reminder = action.reminder(today);
        Self { action, reminder }
    }
}

/// Today in the organisation's time zone (due dates are calendar days there).
fn today(state: &AppState) -> Date {
    state
        .clock
        .now()
        .to_zoned_datetime(state.settings.time_zone.clone())
        .date()
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/lessons/{lesson_id}/actions", tag = "review",
    params(("id" = i64, Path, description = "Incident id"), ("lesson_id" = i64, Path, description = "Lesson id")),
    request_body = kizuki_domain::review::NewCorrectiveAction,
    responses((status = 201, body = ActionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_action(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, lesson_id)): ApiPath<(i64, i64)>,
    ApiJson(new): ApiJson<kizuki_domain::review::NewCorrectiveAction>,
) -> ApiResult<(StatusCode, Json<ActionView>)> {
    load_incident(&state, id).await?;
    new.validate()?;
    check_owner(&state, new.owner_user_id).await?;
    let action = state
        .store
        .add_corrective_action(
            id,
            lesson_id,
            &CorrectiveActionState::new(&new),
            state.clock.now(),
        )
        .await?;
    tracing::info!(
        incident = id,
        lesson = lesson_id,
        action = action.id,
        user = user.id,
        "corrective action added"
    );
    Ok((
        StatusCode::CREATED,
        Json(ActionView::new(action, today(&state))),
    ))
}

/// An owning user must exist and be active, or reminders would go nowhere.
async fn check_owner(state: &AppState, owner: Option<i64>) -> ApiResult<()> {
    let Some(id) = owner else { return Ok(()) };
    match state.store.user_by_id(id).await? {
        Some(u) if u.active => Ok(()),
        _ => Err(
            kizuki_domain::ValidationError::one("owner_user_id", "is not an active user").into(),
        ),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionSearch {
    /// `true` for open and in-progress actions only.
    pub open: Option<bool>,
    /// Only actions owned by this user; `me` for your own.
    pub owner: Option<String>,
    /// Only actions due on or before this date (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub due_by: Option<Date>,
    /// Only actions that need a reminder today (due within 7 days or overdue).
    pub reminders: Option<bool>,
    pub incident_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/corrective-actions", tag = "review", params(ActionSearch),
    responses((status = 200, description = "Actions of incidents you can see, by due date", body = Vec<ActionView>),
        (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_actions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<ActionSearch>,
) -> ApiResult<Json<Vec<ActionView>>> {
    let owner_user_id = match p.owner.as_deref() {
        None => None,
        Some("me") => Some(principal.user.id),
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| ApiError::BadQuery {
            field: "owner".into(),
            message: format!("`{raw}` is neither a user id nor `me`"),
        })?),
    };
    let reminders_only = p.reminders.unwrap_or(false);
    let query = ActionQuery {
        open_only: p.open.unwrap_or(false) || reminders_only,
        owner_user_id,
        due_by: p.due_by,
        incident_id: p.incident_id,
        lesson_id: None,
    };
    let today = today(&state);
    let actions = state
        .store
        .list_corrective_actions(&query, Some(&principal.viewer()))
        .await?;
    Ok(Json(
        actions
            .into_iter()
            .map(|a| ActionView::new(a, today))
            .filter(|v| !reminders_only || v.reminder != Reminder::None)
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/corrective-actions/{action_id}", tag = "review",
    params(("action_id" = i64, Path, description = "Corrective action id")),
    request_body = CorrectiveActionPatch,
    responses((status = 200, body = ActionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_action(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(action_id): ApiPath<i64>,
    ApiJson(patch): ApiJson<CorrectiveActionPatch>,
) -> ApiResult<Json<ActionView>> {
    let not_found = || ApiError::NotFound(format!("corrective action {action_id} not found"));
    let current = state
        .store
        .get_corrective_action(action_id)
        .await?
        .ok_or_else(not_found)?;
    // Need-to-know: an action of an incident you cannot see is as missing as one that is.
    check_incident_visible(&state, &principal, current.incident_id)
        .await
        .map_err(|_| not_found())?;
    let now = state.clock.now();
    let next = patch.apply(&current, now)?;
    if patch.owner_user_id.is_some() {
        check_owner(&state, next.owner_user_id).await?;
    }
    let action = state
        .store
        .update_corrective_action(action_id, patch.version, &next, now)
        .await?;
    tracing::info!(
        action = action_id,
        user = principal.user.id,
        status = %action.status,
        "corrective action updated"
    );
    Ok(Json(ActionView::new(action, today(&state))))
}

// --- the after-action report -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Html,
    Md,
    Pdf,
    Json,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// `html` (default), `md`, `pdf`, or `json` (the report model).
    pub format: Option<ReportFormat>,
    /// `ja` or `en`; defaults to the organisation's language.
    pub lang: Option<Language>,
}

/// Everything a report of incident `id` needs, read from the store.
pub async fn build_report(
    state: &AppState,
    id: i64,
    lang: Language,
) -> ApiResult<kizuki_report::AfterActionReport> {
    let incident = load_incident(state, id).await?;
    let timeline = state
        .store
        .list_timeline(id, &TimelineQuery::default())
        .await?;
    let decisions = state.store.list_decisions(id).await?;
    let tasks = state.store.list_tasks(id).await?;
    let review = state.store.get_review(id).await?;
    let lessons = lesson_views(state, id).await?;
    let lessons = lessons
        .into_iter()
        .map(|l| kizuki_report::ReviewLesson {
            text: l.lesson.text,
            categories: l.lesson.categories,
            action: l
                .actions
                .iter()
                .map(|a| kizuki_report::action_line(&a.action, lang))
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect();
    let fields = kizuki_report::ReviewFields::from_parts(&review.narrative, lessons);
    Ok(kizuki_report::build(
        &kizuki_report::ReportInput {
            incident: &incident,
            timeline: &timeline,
            decisions: &decisions,
            tasks: &tasks,
            review: Some(&fields),
        },
        &state.settings,
        lang,
    ))
}

/// A rendered report as bytes with its media type and file extension.
pub async fn render_report(
    report: kizuki_report::AfterActionReport,
    format: ReportFormat,
) -> ApiResult<(Vec<u8>, &'static str, &'static str)> {
    Ok(match format {
        ReportFormat::Html => (
            kizuki_report::html::render(&report).into_bytes(),
            "text/html; charset=utf-8",
            "html",
        ),
        ReportFormat::Md => (
            kizuki_report::markdown::render(&report).into_bytes(),
            "text/markdown; charset=utf-8",
            "md",
        ),
        ReportFormat::Json => (
            serde_json::to_vec_pretty(&report)
                .map_err(|e| ApiError::Internal(format!("cannot encode the report: {e}")))?,
            "application/json",
            "json",
        ),
        ReportFormat::Pdf => {
            // Typesetting is CPU work measured in hundreds of milliseconds: keep it off the
            // async workers.
            let pdf = tokio::task::spawn_blocking(move || kizuki_report::pdf::render(&report))
                .await
                .map_err(|e| ApiError::Internal(format!("PDF task failed: {e}")))?
                .map_err(|e| ApiError::Internal(format!("PDF rendering failed: {e}")))?;
            (pdf, "application/pdf", "pdf")
        }
    })
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/report", tag = "review",
    params(("id" = i64, Path, description = "Incident id"), ReportParams),
    responses((status = 200, description = "The after-action report in the study's shape; sections still missing are listed in it",
            content(("text/html"), ("text/markdown"), ("application/pdf"), ("application/json"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn report(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let lang = p.lang.unwrap_or(state.settings.language);
    let format = p.format.unwrap_or_default();
    let report = build_report(&state, id, lang).await?;
    let (body, media_type, ext) = render_report(report, format).await?;
    tracing::info!(
        incident = id,
        user = user.id,
        format = ext,
        "report generated"
    );
    Ok(document(
        body,
        media_type,
        &format!("incident-{id}-report-{lang}.{ext}"),
    ))
}

/// A downloadable document. `inline` lets a browser show HTML and PDF in place; the name is
/// ASCII we made ourselves, so it needs no quoting beyond the quotes.
pub(crate) fn document(body: Vec<u8>, media_type: &'static str, file_name: &str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
