//! Route handlers, one module per resource.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

pub mod auth;
pub mod decisions;
pub mod evidence;
pub mod exercises;
pub mod incidents;
pub mod legal_clocks;
pub mod members;
pub mod meta;
pub mod notifications;
pub mod notify;
pub mod observables;
pub mod parties;
pub mod playbooks;
pub mod reference;
pub mod reports;
pub mod review;
pub mod sweeps;
pub mod tasks;
pub mod timeline;
pub mod users;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(incidents::list, incidents::create))
        .routes(routes!(incidents::get, incidents::update))
        .routes(routes!(incidents::export))
        .routes(routes!(timeline::list, timeline::add))
        .routes(routes!(tasks::list))
        .routes(routes!(tasks::apply_playbook))
        .routes(routes!(tasks::complete))
        .routes(routes!(tasks::update))
        .routes(routes!(decisions::list, decisions::add))
        .routes(routes!(decisions::decide))
        .routes(routes!(decisions::get))
        .routes(routes!(parties::list, parties::add))
        .routes(routes!(parties::update))
        .routes(routes!(evidence::list, evidence::add))
        .routes(routes!(evidence::add_custody))
        .routes(routes!(observables::list, observables::add))
        .routes(routes!(observables::search))
        .routes(
            routes!(sweeps::sweep).layer(axum::extract::DefaultBodyLimit::max(
                sweeps::SWEEP_BODY_LIMIT,
            )),
        )
        .routes(routes!(legal_clocks::list, legal_clocks::add))
        .routes(routes!(legal_clocks::mark_met))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::acknowledge))
        .routes(routes!(notifications::retry))
        .routes(routes!(notifications::phone_tree))
        .routes(routes!(notifications::record_call))
        .routes(routes!(reference::list))
        .routes(routes!(reference::get))
        .routes(routes!(meta::me))
        .routes(routes!(meta::severity_ladder))
        .routes(routes!(meta::list_playbooks, playbooks::upload).layer(
            axum::extract::DefaultBodyLimit::max(playbooks::PLAYBOOK_BODY_LIMIT),
        ))
        .routes(
            routes!(playbooks::validate).layer(axum::extract::DefaultBodyLimit::max(
                playbooks::PLAYBOOK_BODY_LIMIT,
            )),
        )
        .routes(routes!(meta::get_playbook))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::enrol))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::revoke_session))
        .routes(routes!(auth::start_totp))
        .routes(routes!(auth::confirm_totp))
        .routes(routes!(auth::list_tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update))
        .routes(routes!(users::reset_mfa))
        .routes(routes!(users::audit_log))
        .routes(routes!(users::verify_audit))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::remove))
        .routes(routes!(members::list_lane_owners))
        .routes(routes!(members::set_lane_owner))
        .routes(routes!(reports::file))
        .routes(routes!(review::get_review, review::save_review))
        .routes(routes!(review::list_lessons, review::add_lesson))
        .routes(routes!(review::update_lesson))
        .routes(routes!(review::add_action))
        .routes(routes!(review::search_lessons))
        .routes(routes!(review::list_actions))
        .routes(routes!(review::update_action))
        .routes(routes!(review::report))
        .routes(routes!(exercises::list, exercises::start))
        .routes(routes!(exercises::get))
        .routes(routes!(exercises::advance))
        .routes(routes!(exercises::record_action))
        .routes(routes!(exercises::end))
        .routes(routes!(exercises::report))
        .routes(routes!(notify::list_rules, notify::create_rule))
        .routes(routes!(
            notify::get_rule,
            notify::update_rule,
            notify::delete_rule
        ))
        .routes(routes!(notify::get_chain, notify::save_chain))
        .routes(routes!(notify::list_templates))
        .routes(routes!(
            notify::get_template,
            notify::save_template,
            notify::reset_template
        ))
        .routes(routes!(notify::preview_template))
        .routes(routes!(notify::list_rotations, notify::create_rotation))
        .routes(routes!(
            notify::get_rotation,
            notify::update_rotation,
            notify::delete_rotation
        ))
        .routes(routes!(notify::add_override))
        .routes(routes!(notify::on_call_now))
        .routes(routes!(notify::list_webhooks, notify::create_webhook))
        .routes(routes!(
            notify::get_webhook,
            notify::update_webhook,
            notify::delete_webhook
        ))
}

/// Reads an incident or answers 404. Under `/api/v1/incidents/{id}` the gate has just read
/// (and admitted) it; that copy is used instead of a second read.
pub(crate) async fn load_incident(
    state: &AppState,
    id: i64,
) -> Result<kizuki_domain::incident::Incident, ApiError> {
    if let Ok(Some(incident)) =
        crate::access::ADMITTED_INCIDENT.try_with(|i| (i.id == id).then(|| i.clone()))
    {
        return Ok(incident);
    }
    state
        .store
        .get_incident(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found")))
}

/// Parses a comma-separated list of closed-vocabulary values from a query parameter.
pub(crate) fn parse_list<T: std::str::FromStr<Err = kizuki_domain::UnknownVariant>>(
    field: &str,
    raw: Option<&str>,
) -> Result<Vec<T>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|e: kizuki_domain::UnknownVariant| ApiError::BadQuery {
                    field: field.to_owned(),
                    message: e.to_string(),
                })
        })
        .collect()
}
