//! Tasks: a playbook applied to an incident, completed lane by lane.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kizuki_domain::error::{Validator, limits};
use kizuki_domain::task::{Task, TaskStatus};
use kizuki_domain::timeline::{EntryKind, EntrySource, TimePrecision, TimelineEntryFields};
use kizuki_store::{TaskCompletion, TaskUpdate};
use serde::{Deserialize, Serialize};

use super::load_incident;
use super::timeline::{TimelineEntryView, view_entry};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, AuthUser};

#[utoipa::path(get, path = "/api/v1/incidents/{id}/tasks", tag = "tasks",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Task>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Task>>> {
    load_incident(&state, id).await?;
    Ok(Json(state.store.list_tasks(id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyPlaybook {
    /// Playbook id, e.g. `ransomware`.
    pub playbook: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/playbooks", tag = "tasks",
    params(("id" = i64, Path, description = "Incident id")), request_body = ApplyPlaybook,
    responses((status = 201, description = "The tasks created", body = Vec<Task>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn apply_playbook(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ApplyPlaybook>,
) -> ApiResult<(StatusCode, Json<Vec<Task>>)> {
    let created = apply(&state, id, &req.playbook).await?;
    tracing::info!(incident = id, user = user.id, playbook = %req.playbook, tasks = created.len(), "playbook applied");
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    /// What was done; becomes the timeline entry's text after the task title.
    #[serde(default)]
    pub note: String,
    /// Who did it (defaults to the user's name).
    #[serde(default)]
    pub actor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompletedTask {
    pub task: Task,
    pub timeline_entry: TimelineEntryView,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks/{task_id}/complete", tag = "tasks",
    params(("id" = i64, Path, description = "Incident id"), ("task_id" = i64, Path, description = "Task id")),
    request_body = CompleteTask,
    responses((status = 200, body = CompletedTask),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed", body = Problem, content_type = "application/problem+json")))]
pub async fn complete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, task_id)): ApiPath<(i64, i64)>,
    ApiJson(req): ApiJson<CompleteTask>,
) -> ApiResult<Json<CompletedTask>> {
    let incident = load_incident(&state, id).await?;
    let (task, entry) = complete_task(&state, id, task_id, &user, req).await?;
    tracing::info!(
        incident = id,
        task = task_id,
        user = user.id,
        "task completed"
    );
    Ok(Json(CompletedTask {
        task,
        timeline_entry: view_entry(
            entry,
            incident.start_date,
            &state.settings.time_zone,
            state.settings.language,
        ),
    }))
}

/// Marks task `task_id` done and writes its timeline entry ("✔ title — note") in the task's
/// lane, in one store transaction (used by the API and the incident page).
pub async fn complete_task(
    state: &AppState,
    id: i64,
    task_id: i64,
    user: &kizuki_domain::user::User,
    req: CompleteTask,
) -> ApiResult<(Task, kizuki_domain::timeline::TimelineEntry)> {
    let mut v = Validator::new();
    v.optional_text("note", &req.note, limits::TEXT - limits::TITLE - 8);
    if let Some(actor) = &req.actor {
        v.text("actor", actor, limits::NAME);
    }
    v.finish()?;
    let task = find_task(state, id, task_id).await?;
    let now = state.clock.now();
    let text = if req.note.trim().is_empty() {
        format!("✔ {}", task.title)
    } else {
        format!("✔ {} — {}", task.title, req.note.trim())
    };
    let completion = TaskCompletion {
        by: Some(user.id),
        at: now,
        entry: TimelineEntryFields {
            occurred_at: now,
            precision: TimePrecision::Minute,
            day_part: None,
            lane: task.lane,
            actor: req.actor.unwrap_or_else(|| user.display_name.clone()),
            kind: kind_for_phase(&task.phase),
            text,
            source: EntrySource::Task,
        },
    };
    let (task, entry) = state.store.complete_task(id, task_id, &completion).await?;
    Ok((task, entry))
}

/// The timeline kind a completed task is recorded as, from its playbook phase.
fn kind_for_phase(phase: &str) -> EntryKind {
    let p = phase.to_ascii_lowercase();
    if p.contains("contain") {
        EntryKind::Containment
    } else if p.contains("recover") || p.contains("eradicat") {
        EntryKind::Recovery
    } else if p.contains("disclos") || p.contains("notif") || p.contains("report") {
        EntryKind::Disclosure
    } else if p.contains("detect") {
        EntryKind::Detection
    } else if p.contains("triage") || p.contains("investig") || p.contains("analys") {
        EntryKind::Analysis
    } else if p.contains("communicat") {
        EntryKind::Communication
    } else {
        EntryKind::Other
    }
}

/// One checklist item ticked or unticked.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistTick {
    /// Position of the item in the checklist, from 0.
    pub index: u32,
    pub done: bool,
}

/// A change to a task. Completing it (which writes the timeline entry) is `…/complete`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default)]
    pub checklist_item: Option<ChecklistTick>,
    /// `open` or `skipped`.
    #[serde(default)]
    pub status: Option<TaskStatus>,
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}/tasks/{task_id}", tag = "tasks",
    params(("id" = i64, Path, description = "Incident id"), ("task_id" = i64, Path, description = "Task id")),
    request_body = TaskPatch,
    responses((status = 200, body = Task),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The task is already done", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((id, task_id)): ApiPath<(i64, i64)>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> ApiResult<Json<Task>> {
    load_incident(&state, id).await?;
    let task = find_task(&state, id, task_id).await?;
    let mut v = Validator::new();
    if let Some(tick) = &patch.checklist_item
        && usize::try_from(tick.index).map_or(true, |i| i >= task.checklist.len())
    {
        v.push(
            "checklist_item.index",
            format!(
                "the checklist has {} items (0..{})",
                task.checklist.len(),
                task.checklist.len()
            ),
        );
    }
    if patch.status == Some(TaskStatus::Done) {
        v.push(
            "status",
            "complete a task with POST …/complete, which also records it on the timeline",
        );
    }
    if patch.checklist_item.is_none() && patch.status.is_none() {
        v.push("status", "nothing to change: give checklist_item or status");
    }
    v.finish()?;
    if patch.status.is_some() && task.status == TaskStatus::Done {
        return Err(ApiError::AlreadyDone {
            field: "status".into(),
            message: format!("task {task_id} is already done"),
        });
    }
    let update = TaskUpdate {
        checklist_item: patch.checklist_item.map(|t| (t.index, t.done)),
        status: patch.status,
    };
    let task = state.store.update_task(id, task_id, &update).await?;
    tracing::info!(
        incident = id,
        task = task_id,
        user = user.id,
        "task updated"
    );
    Ok(Json(task))
}

/// One task of the incident, or 404.
async fn find_task(state: &AppState, incident_id: i64, task_id: i64) -> ApiResult<Task> {
    state
        .store
        .list_tasks(incident_id)
        .await?
        .into_iter()
        .find(|t| t.id == task_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "task {task_id} not found in incident {incident_id}"
            ))
        })
}

/// Applies playbook `playbook_id` to incident `id` as tasks (used by the API and the incident
/// page). A playbook already applied is refused (`AlreadyDone`), so a double click does not
/// double the tasks.
pub async fn apply(state: &AppState, id: i64, playbook_id: &str) -> ApiResult<Vec<Task>> {
    let incident = load_incident(state, id).await?;
    let catalogue = state.playbooks.current().await;
    let playbook = catalogue.get(playbook_id).ok_or_else(|| {
        let known: Vec<String> = catalogue.list().iter().map(|p| p.id.clone()).collect();
        ApiError::Validation(kizuki_domain::ValidationError::one(
            "playbook",
            format!(
                "unknown playbook `{}`; known: {}",
                playbook_id,
                known.join(", ")
            ),
        ))
    })?;
    let prefix = format!("{}@", playbook.id);
    if let Some(existing) = state
        .store
        .list_tasks(id)
        .await?
        .into_iter()
        .find_map(|t| t.playbook.filter(|p| p.starts_with(&prefix)))
    {
        return Err(ApiError::AlreadyDone {
            field: "playbook".into(),
            message: format!("playbook {existing} is already applied to incident {id}"),
        });
    }
    let tasks = playbook.plan(
        incident.start_date,
        state.clock.now(),
        &state.settings.time_zone,
        state.settings.language,
    );
    let created = state.store.add_tasks(id, &tasks).await?;
    Ok(created)
}
