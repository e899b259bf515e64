//! Route handlers, one module per resource.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

pub mod decisions;
pub mod evidence;
pub mod incidents;
pub mod legal_clocks;
pub mod meta;
pub mod observables;
pub mod parties;
pub mod reference;
pub mod sweeps;
pub mod tasks;
pub mod timeline;

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
        .routes(routes!(reference::list))
        .routes(routes!(reference::get))
        .routes(routes!(meta::me))
        .routes(routes!(meta::severity_ladder))
        .routes(routes!(meta::list_playbooks))
        .routes(routes!(meta::get_playbook))
}

/// Reads an incident or answers 404.
pub(crate) async fn load_incident(
    state: &AppState,
    id: i64,
) -> Result<kizuki_domain::incident::Incident, ApiError> {
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
