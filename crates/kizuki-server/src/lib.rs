//! The HTTP edge of Kizuki. Handlers are thin: decode (naming bad fields), call the domain to
//! validate, call the store, encode. Errors become problem+json in `error.rs` only.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use kizuki_domain::clock::Clock;
use kizuki_domain::settings::OrgSettings;
use kizuki_playbook::Library;
use kizuki_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub mod api;
pub mod auth_cache;
pub mod error;
pub mod extract;
pub mod hunting;
pub mod timeline_cache;

pub use error::{ApiError, Problem};

/// Everything a handler may use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<OrgSettings>,
    pub playbooks: Arc<Library>,
    /// The study's ten cases, in Kizuki's words.
    pub reference: Arc<kizuki_reference::Library>,
    pub auth_cache: Arc<auth_cache::AuthCache>,
    pub timeline_cache: Arc<timeline_cache::TimelineCache>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kizuki API",
        description = "Incident response from the first report to the lessons learned. Every /api/v1 route needs `Authorization: Bearer <token>` (create one with `kizuki token create`). Errors are RFC 9457 problem+json naming the offending field.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "incidents", description = "Incidents and their state"),
        (name = "timeline", description = "The three-lane timeline, labelled by Day N"),
        (name = "tasks", description = "Playbooks applied as tasks"),
        (name = "decisions", description = "Decisions with options and outcome scenarios"),
        (name = "parties", description = "Contacts, vendors and authorities"),
        (name = "evidence", description = "Evidence and chain of custody"),
        (name = "observables", description = "Indicators and cross-incident correlation"),
        (name = "legal-clocks", description = "Reporting deadlines from awareness"),
        (name = "reference", description = "The ten cases of the study Kizuki is built from"),
        (name = "meta", description = "Health, identity, settings, playbooks")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and the OpenAPI document describing them.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes())
        .split_for_parts()
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().1
}

/// The whole application, ready to serve.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api_router();
    let doc = Arc::new(doc);
    api.route(
        "/api/openapi.json",
        axum::routing::get(move || {
            let doc = Arc::clone(&doc);
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .route("/healthz", axum::routing::get(api::meta::healthz))
    .fallback(api::meta::not_found)
    .with_state(state)
    .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
    .layer(SetResponseHeaderLayer::overriding(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        HeaderName::from_static("cache-control"),
        HeaderValue::from_static("no-store"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    ))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(DefaultOnResponse::new().level(Level::INFO)),
    )
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small JSON answers should leave at once, not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
