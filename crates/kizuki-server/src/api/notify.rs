//! `/api/v1/notify/…`: the notification configuration (rules, the escalation chain,
//! templates and their preview, on-call rotations, webhook targets) and who is on call now.
//! Thin: every handler calls [`crate::notify::manage`], which the CLI and the administration
//! pages call too.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::AppState;
use crate::access::Principal;
use crate::client_addr::ClientAddr;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::notify::manage::{
    self, Actor, ChainInput, ChainView, CreatedWebhook, OnCallNow, OverrideInput, PreviewInput,
    PreviewView, RotationInput, RotationView, RuleInput, RuleView, TemplateInput, TemplateView,
    WebhookInput, WebhookView,
};

fn actor<'a>(principal: &'a Principal, addr: &ClientAddr) -> Actor<'a> {
    Actor::User {
        principal,
        address: addr.0,
    }
}

/// The version a deletion was read at.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionParam {
    /// The version you read; a stale one answers 409 and deletes nothing.
    pub version: i64,
}

// --- rules ---------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/notify/rules", tag = "notify",
    responses((status = 200, description = "Every rule, by id", body = Vec<RuleView>)))]
pub async fn list_rules(State(state): State<AppState>) -> ApiResult<Json<Vec<RuleView>>> {
    Ok(Json(manage::list_rules(&state).await?))
}

#[utoipa::path(post, path = "/api/v1/notify/rules", tag = "notify", request_body = RuleInput,
    responses((status = 201, body = RuleView),
        (status = 422, description = "Every bad field, named", body = Problem, content_type = "application/problem+json")))]
pub async fn create_rule(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<(StatusCode, Json<RuleView>)> {
    let view = manage::create_rule(&state, actor(&principal, &addr), &input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/notify/rules/{rule_id}", tag = "notify",
    params(("rule_id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = RuleView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_rule(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(manage::get_rule(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/notify/rules/{rule_id}", tag = "notify", request_body = RuleInput,
    params(("rule_id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = RuleView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Someone changed the rule since `version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_rule(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(
        manage::update_rule(&state, actor(&principal, &addr), id, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/notify/rules/{rule_id}", tag = "notify",
    params(("rule_id" = i64, Path, description = "Rule id"), VersionParam),
    responses((status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_rule(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(v): ApiQuery<VersionParam>,
) -> ApiResult<StatusCode> {
    manage::delete_rule(&state, actor(&principal, &addr), id, v.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- escalation chain ----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/notify/chain", tag = "notify",
    responses((status = 200, description = "The escalation chain (version 0 and no steps until one is saved)", body = ChainView)))]
pub async fn get_chain(State(state): State<AppState>) -> ApiResult<Json<ChainView>> {
    Ok(Json(manage::get_chain(&state).await?))
}

#[utoipa::path(put, path = "/api/v1/notify/chain", tag = "notify", request_body = ChainInput,
    responses((status = 200, body = ChainView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn save_chain(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiJson(input): ApiJson<ChainInput>,
) -> ApiResult<Json<ChainView>> {
    Ok(Json(
        manage::save_chain(&state, actor(&principal, &addr), &input).await?,
    ))
}

// --- templates -----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/notify/templates", tag = "notify",
    responses((status = 200, description = "Every kind in every language, stored or built-in", body = Vec<TemplateView>)))]
pub async fn list_templates(State(state): State<AppState>) -> ApiResult<Json<Vec<TemplateView>>> {
    Ok(Json(manage::list_templates(&state).await?))
}

#[utoipa::path(get, path = "/api/v1/notify/templates/{kind}/{language}", tag = "notify",
    params(("kind" = String, Path, description = "new_incident, escalation, clock_due_soon, clock_overdue or action_reminder"),
        ("language" = String, Path, description = "ja or en")),
    responses((status = 200, body = TemplateView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn get_template(
    State(state): State<AppState>,
    ApiPath((kind, language)): ApiPath<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    let kind = manage::parse_kind("kind", &kind)?;
    let language = manage::parse_language("language", &language)?;
    Ok(Json(manage::get_template(&state, kind, language).await?))
}

#[utoipa::path(put, path = "/api/v1/notify/templates/{kind}/{language}", tag = "notify", request_body = TemplateInput,
    params(("kind" = String, Path, description = "Template kind"), ("language" = String, Path, description = "ja or en")),
    responses((status = 200, body = TemplateView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The template does not parse: `subject` or `body` with line, column and problem; nothing is saved", body = Problem, content_type = "application/problem+json")))]
pub async fn save_template(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath((kind, language)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Json<TemplateView>> {
    let kind = manage::parse_kind("kind", &kind)?;
    let language = manage::parse_language("language", &language)?;
    Ok(Json(
        manage::save_template(&state, actor(&principal, &addr), kind, language, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/notify/templates/{kind}/{language}", tag = "notify",
    params(("kind" = String, Path, description = "Template kind"), ("language" = String, Path, description = "ja or en")),
    responses((status = 200, description = "Back to the built-in template", body = TemplateView),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn reset_template(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath((kind, language)): ApiPath<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    let kind = manage::parse_kind("kind", &kind)?;
    let language = manage::parse_language("language", &language)?;
    Ok(Json(
        manage::reset_template(&state, actor(&principal, &addr), kind, language).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notify/templates/{kind}/{language}/preview", tag = "notify", request_body = PreviewInput,
    params(("kind" = String, Path, description = "Template kind"), ("language" = String, Path, description = "ja or en")),
    responses((status = 200, description = "The message as it would be sent; nothing is saved", body = PreviewView),
        (status = 404, description = "No such incident (or not yours to see)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The template does not parse: `subject` or `body` with line, column and problem", body = Problem, content_type = "application/problem+json")))]
pub async fn preview_template(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath((kind, language)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<PreviewInput>,
) -> ApiResult<Json<PreviewView>> {
    let kind = manage::parse_kind("kind", &kind)?;
    let language = manage::parse_language("language", &language)?;
    Ok(Json(
        manage::preview_template(&state, actor(&principal, &addr), kind, language, &input).await?,
    ))
}

// --- rotations -----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/notify/rotations", tag = "notify",
    responses((status = 200, description = "Every rotation, by id", body = Vec<RotationView>)))]
pub async fn list_rotations(State(state): State<AppState>) -> ApiResult<Json<Vec<RotationView>>> {
    Ok(Json(manage::list_rotations(&state).await?))
}

#[utoipa::path(post, path = "/api/v1/notify/rotations", tag = "notify", request_body = RotationInput,
    responses((status = 201, body = RotationView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_rotation(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiJson(input): ApiJson<RotationInput>,
) -> ApiResult<(StatusCode, Json<RotationView>)> {
    let view = manage::create_rotation(&state, actor(&principal, &addr), &input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/notify/rotations/{rotation_id}", tag = "notify",
    params(("rotation_id" = i64, Path, description = "Rotation id")),
    responses((status = 200, body = RotationView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_rotation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RotationView>> {
    Ok(Json(manage::get_rotation(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/notify/rotations/{rotation_id}", tag = "notify", request_body = RotationInput,
    params(("rotation_id" = i64, Path, description = "Rotation id")),
    responses((status = 200, body = RotationView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_rotation(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RotationInput>,
) -> ApiResult<Json<RotationView>> {
    Ok(Json(
        manage::update_rotation(&state, actor(&principal, &addr), id, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/notify/rotations/{rotation_id}", tag = "notify",
    params(("rotation_id" = i64, Path, description = "Rotation id"), VersionParam),
    responses((status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_rotation(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(v): ApiQuery<VersionParam>,
) -> ApiResult<StatusCode> {
    manage::delete_rotation(&state, actor(&principal, &addr), id, v.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/notify/rotations/{rotation_id}/overrides", tag = "notify", request_body = OverrideInput,
    params(("rotation_id" = i64, Path, description = "Rotation id")),
    responses((status = 201, description = "The rotation with the override added", body = RotationView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_override(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<OverrideInput>,
) -> ApiResult<(StatusCode, Json<RotationView>)> {
    let view = manage::add_override(&state, actor(&principal, &addr), id, &input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/notify/oncall/now", tag = "notify",
    responses((status = 200, description = "Who is on call now in every rotation", body = Vec<OnCallNow>)))]
pub async fn on_call_now(State(state): State<AppState>) -> ApiResult<Json<Vec<OnCallNow>>> {
    Ok(Json(manage::on_call_now(&state).await?))
}

// --- webhook targets -----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/notify/webhooks", tag = "notify",
    responses((status = 200, description = "Every target, by id, never a secret", body = Vec<WebhookView>)))]
pub async fn list_webhooks(State(state): State<AppState>) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(manage::list_webhooks(&state).await?))
}

#[utoipa::path(post, path = "/api/v1/notify/webhooks", tag = "notify", request_body = WebhookInput,
    responses((status = 201, description = "The target and, this once, its signing secret", body = CreatedWebhook),
        (status = 422, description = "A bad field; `url` when the guard refuses the address", body = Problem, content_type = "application/problem+json")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let created = manage::create_webhook(&state, actor(&principal, &addr), &input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/notify/webhooks/{webhook_id}", tag = "notify",
    params(("webhook_id" = i64, Path, description = "Webhook target id")),
    responses((status = 200, body = WebhookView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_webhook(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(manage::get_webhook(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/notify/webhooks/{webhook_id}", tag = "notify", request_body = WebhookInput,
    params(("webhook_id" = i64, Path, description = "Webhook target id")),
    responses((status = 200, body = WebhookView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_webhook(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        manage::update_webhook(&state, actor(&principal, &addr), id, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/notify/webhooks/{webhook_id}", tag = "notify",
    params(("webhook_id" = i64, Path, description = "Webhook target id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    manage::delete_webhook(&state, actor(&principal, &addr), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
