//! The HTTP edge of Kizuki. Handlers are thin: decode (naming bad fields), call the domain to
//! validate, call the store, encode. Errors become problem+json in `error.rs` only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use kizuki_domain::clock::Clock;
use kizuki_domain::settings::OrgSettings;
use kizuki_playbook::Library;
use kizuki_store::Store;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub mod access;
pub mod api;
pub mod audit;
pub mod auth_cache;
pub mod client_addr;
pub mod credentials;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod hunting;
pub mod notify;
pub mod playbooks;
pub mod rate_limit;
pub mod security_headers;
pub mod timeline_cache;
pub mod tls;
pub mod web;

pub use error::{ApiError, Problem};

/// Everything a handler may use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<OrgSettings>,
    /// Built-in, folder and uploaded playbooks; `current().await` gives the catalogue with
    /// every replica's uploads.
    pub playbooks: Arc<playbooks::PlaybookCatalogue>,
    /// The study's ten cases, in Kizuki's words.
    pub reference: Arc<kizuki_reference::Library>,
    pub auth_cache: Arc<auth_cache::AuthCache>,
    pub timeline_cache: Arc<timeline_cache::TimelineCache>,
    /// Trusted proxies and whether the server terminates TLS itself.
    pub network: Arc<client_addr::NetworkConfig>,
    /// Login attempts per client address.
    pub login_limiter: Arc<rate_limit::RateLimiter>,
    /// Sessions, lock-out, the report form.
    pub auth: Arc<access::AuthSettings>,
    /// The tamper-evident record of who did what.
    pub audit: Arc<audit::AuditLog>,
    /// Where secrets (session ids, tokens, salts) come from.
    pub entropy: Arc<dyn credentials::Entropy>,
    /// Password hashing runs at most this many at once, so a login storm cannot starve
    /// everything else of CPU.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// The e-mail and webhook senders (e-mail only when `KIZUKI_SMTP_URL` is set).
    pub delivery: Arc<delivery::Delivery>,
    /// The notification worker's settings and the key of acknowledgement links.
    pub notify: Arc<notify::NotifySettings>,
}

impl AppState {
    /// A state with secure defaults for everything not given: sign-in settings, networking
    /// and rate limits from their defaults, system entropy, hashing limited to the cores.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: OrgSettings,
        playbooks: Library,
        reference: kizuki_reference::Library,
        audit_key: kizuki_auth::audit_chain::AuditKey,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let catalogue = Arc::new(playbooks::PlaybookCatalogue::new(
            playbooks,
            Arc::clone(&store),
        ));
        Self {
            notify: Arc::new(notify::NotifySettings::new(&audit_key)),
            audit: audit::AuditLog::new(Arc::clone(&store), audit_key, Arc::clone(&clock)),
            store,
            clock,
            settings: Arc::new(settings),
            playbooks: catalogue,
            reference: Arc::new(reference),
            auth_cache: Default::default(),
            timeline_cache: Default::default(),
            network: Default::default(),
            login_limiter: Default::default(),
            auth: Default::default(),
            entropy: Arc::new(credentials::SystemEntropy),
            hashing: Arc::new(tokio::sync::Semaphore::new(cores)),
            delivery: Default::default(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kizuki API",
        description = "Incident response from the first report to the lessons learned. Every /api/v1 route except login, enrolment and the report form needs a caller: a browser session (cookie from `POST /api/v1/auth/login`; state-changing requests also send `X-CSRF-Token`) or `Authorization: Bearer <token>` (scoped; create one with `POST /api/v1/auth/tokens` or `kizuki token create`). What each role may do is in docs/SECURITY.md; a refusal is 403, an incident outside the caller's need-to-know is 404. Errors are RFC 9457 problem+json naming the offending field.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
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
        (name = "meta", description = "Health, identity, settings, playbooks"),
        (name = "auth", description = "Signing in: passwords, TOTP, sessions, one's own API tokens"),
        (name = "users", description = "Administration: users, roles, MFA resets, the audit log"),
        (name = "notify", description = "Notifications: rules, escalation chain, templates, on-call rotations, webhook targets")
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
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "kizuki_session",
                    "Set by POST /api/v1/auth/login; named __Host-kizuki_session under TLS",
                ),
            )),
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
    let tls = state.network.tls;
    // Only the API's own routes pass the gate; health and the OpenAPI document are public.
    // The web pages are merged after the gate's layer, so it does not cover them: they
    // check sign-in and roles themselves (`web::WebRequest::require`).
    api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        access::guard,
    ))
    .merge(web::routes())
    .route(
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
    .layer(tower_http::compression::CompressionLayer::new())
    .layer(axum::middleware::map_request(compression_guard))
    .layer(security_headers::layer(tls))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(DefaultOnResponse::new().level(Level::INFO)),
    )
}

/// Lets an answer be compressed only when the request cannot be an attacker's probe.
///
/// Compression shrinks a long incident page several times over, but a compressed page that
/// holds both a secret (the CSRF token, incident text) and something the requester chose (a
/// search word, a refused form's input) leaks the secret through its size (BREACH). The
/// probe needs the victim's browser to send many cookie-carrying requests on the attacker's
/// behalf, which browsers mark `Sec-Fetch-Site: cross-site` or `same-site`. So a request
/// with cookies is compressed only when the browser says it came from our own pages or from
/// the user (`same-origin`, `none`); requests without cookies (API tokens, anonymous pages)
/// are compressed as asked. For the rest, `Accept-Encoding` is dropped before the
/// compression layer sees it.
async fn compression_guard(mut req: axum::extract::Request) -> axum::extract::Request {
    let headers = req.headers();
    let with_cookies = headers.contains_key(axum::http::header::COOKIE);
    let own_site = matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-origin" | "none")
    );
    if with_cookies && !own_site {
        req.headers_mut()
            .remove(axum::http::header::ACCEPT_ENCODING);
    }
    req
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
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Like [`serve`], over HTTPS: TLS 1.2/1.3 with the certificate in `tls`. Responses carry
/// `Strict-Transport-Security`. A client whose handshake fails is dropped; the others are
/// served on.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    mut state: AppState,
    tls: &tls::TlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    if !state.network.tls {
        state.network = Arc::new(client_addr::NetworkConfig {
            tls: true,
            ..state.network.as_ref().clone()
        });
    }
    // TCP_NODELAY is set before the handshake. The no-op tap is there for `ConnectInfo`: axum
    // provides the peer address for any tapped listener.
    let listener = tls::TlsListener::new(listener, tls)?.tap_io(|_| {});
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
