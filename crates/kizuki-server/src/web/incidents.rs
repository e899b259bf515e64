//! `/incidents/{id}/report`: the after-action report inside the page frame, with the same
//! report as a PDF or Markdown file one click away.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kizuki_domain::access::Action;

use super::{Layout, Nav, WebRequest};
use crate::AppState;
use crate::access::check_incident_visible;
use crate::api::review::build_report;
use crate::error::ApiError;
use crate::web::i18n::Tr;

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    layout: Layout,
    t: Tr,
    heading: String,
    /// Escaped HTML from `kizuki_report::html::render_fragment` (every field escaped there,
    /// no script or style).
    fragment: String,
    pdf: String,
    markdown: String,
}

/// `GET /incidents/{id}/report`.
pub async fn report(State(state): State<AppState>, req: WebRequest) -> Response {
    let principal = match req.require(&state, Action::Export).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let Some(id) = req.incident_id() else {
        return req.not_found();
    };
    match check_incident_visible(&state, &principal, id).await {
        Ok(_) => {}
        Err(ApiError::NotFound(_)) => return req.not_found(),
        Err(e) => return internal(&req, &e),
    }
    let tr = req.tr;
    let report = match build_report(&state, id, tr.lang).await {
        Ok(r) => r,
        Err(ApiError::NotFound(_)) => return req.not_found(),
        Err(e) => return internal(&req, &e),
    };
    let heading = tr.t1("report-heading", "id", id);
    let download = |format: &str| {
        format!(
            "/api/v1/incidents/{id}/report?format={format}&lang={}",
            tr.code()
        )
    };
    let page = ReportPage {
        layout: req.layout(heading.clone(), Nav::None),
        t: tr,
        heading,
        fragment: kizuki_report::html::render_fragment(&report),
        pdf: download("pdf"),
        markdown: download("md"),
    };
    req.render(StatusCode::OK, &page)
}

fn internal(req: &WebRequest, e: &ApiError) -> Response {
    tracing::error!(error = %e, "could not show a report page");
    req.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        req.tr.t("internal-error"),
    )
}
