//! `/admin/playbooks`: the playbook catalogue for administrators: what is in use and where it
//! came from, each playbook's tasks by lane and its YAML, and a form to check and upload a new
//! version. Uploading goes through the same audited function as `POST /api/v1/playbooks`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::access::Action;
use kizuki_domain::timeline::Lane;
use kizuki_playbook::{DueFrom, Playbook, format_offset};
use serde::Deserialize;

use super::i18n::{IntoArg, Tr};
use super::library::{category_key, lane_key};
use super::{Layout, Nav, WebRequest, see_other};
use crate::AppState;
use crate::api::playbooks::{PLAYBOOK_BODY_LIMIT, UploadRefusal, check_upload, upload_playbook};
use crate::playbooks::{Catalogue, Origin};

#[derive(Debug)]
struct Row {
    id: String,
    title: String,
    category: String,
    version: u32,
    origin: String,
}

/// One task as listed: its phase, title and when it falls due.
#[derive(Debug)]
struct TaskLine {
    phase: String,
    title: String,
    due: String,
}

#[derive(Debug)]
struct LaneBlock {
    lane: String,
    tasks: Vec<TaskLine>,
}

/// One error of a refused upload, placed by line and field.
#[derive(Debug)]
struct ErrorLine {
    text: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UploadForm {
    source: String,
    /// `validate` or `save`: which button was pressed.
    action: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "admin_playbooks.html")]
struct ListPage {
    layout: Layout,
    t: Tr,
    rows: Vec<Row>,
    source: String,
    /// A message about the form as a whole (empty, too large).
    source_error: Option<String>,
    errors: Vec<ErrorLine>,
    /// After "Validate" on a valid playbook: what it would be, and its tasks by lane.
    preview: Option<String>,
    preview_lanes: Vec<LaneBlock>,
}

#[derive(Template)]
#[template(path = "admin_playbook.html")]
struct DetailPage {
    layout: Layout,
    t: Tr,
    title: String,
    summary: String,
    facts: Row,
    lanes: Vec<LaneBlock>,
    source: Option<String>,
    notice: Option<String>,
}

fn origin_text(req: &WebRequest, origin: Option<&Origin>) -> String {
    let tr = req.tr;
    match origin {
        Some(Origin::BuiltIn) | None => tr.t("admin-playbook-builtin"),
        Some(Origin::Folder) => tr.t("admin-playbook-folder"),
        Some(Origin::Uploaded { by, at }) => tr.with(
            "admin-playbook-uploaded",
            &[
                (
                    "name",
                    by.clone()
                        .unwrap_or_else(|| tr.t("admin-playbook-someone"))
                        .into_arg(),
                ),
                ("at", req.local_time(*at).into_arg()),
            ],
        ),
    }
}

fn row(req: &WebRequest, catalogue: &Catalogue, p: &Playbook) -> Row {
    Row {
        id: p.id.clone(),
        title: p.title.get(req.tr.lang).to_owned(),
        category: req.tr.t(&category_key(p.category)),
        version: p.version,
        origin: origin_text(req, catalogue.origin(&p.id)),
    }
}

/// The tasks grouped by lane, in the study's lane order, each with its phase and due offset.
fn lanes(tr: Tr, p: &Playbook) -> Vec<LaneBlock> {
    Lane::ALL
        .iter()
        .filter_map(|lane| {
            let tasks: Vec<TaskLine> = p
                .tasks()
                .filter(|(_, t)| t.lane == *lane)
                .map(|(phase, t)| TaskLine {
                    phase: phase.title.get(tr.lang).to_owned(),
                    title: t.title.get(tr.lang).to_owned(),
                    due: match &t.due {
                        None => tr.t("admin-playbook-no-due"),
                        Some(d) => tr.t1(
                            match d.from {
                                DueFrom::Start => "admin-playbook-due-start",
                                DueFrom::Applied => "admin-playbook-due-applied",
                            },
                            "offset",
                            format_offset(d.after),
                        ),
                    },
                })
                .collect();
            (!tasks.is_empty()).then(|| LaneBlock {
                lane: tr.t(&lane_key(*lane)),
                tasks,
            })
        })
        .collect()
}

fn list_page(req: &WebRequest, catalogue: &Catalogue) -> ListPage {
    ListPage {
        layout: req.layout(req.tr.t("admin-playbooks-title"), Nav::None),
        t: req.tr,
        rows: catalogue
            .list()
            .into_iter()
            .map(|p| row(req, catalogue, p))
            .collect(),
        source: String::new(),
        source_error: None,
        errors: Vec::new(),
        preview: None,
        preview_lanes: Vec::new(),
    }
}

/// `GET /admin/playbooks`.
pub async fn index(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = req.require(&state, Action::ManageUsers).await {
        return refused;
    }
    let catalogue = state.playbooks.current().await;
    req.render(StatusCode::OK, &list_page(&req, &catalogue))
}

/// `POST /admin/playbooks`: "Validate" shows the errors or a preview; "Save new version"
/// stores it. Either way a refused text comes back in the box exactly as typed.
pub async fn submit(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let me = match req.require(&state, Action::ManageUsers).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let tr = req.tr;
    let form: UploadForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let catalogue = state.playbooks.current().await;
    let mut page = list_page(&req, &catalogue);
    let refuse = |mut page: ListPage, source: String, status| {
        page.source = source;
        req.render(status, &page)
    };
    if form.source.trim().is_empty() {
        page.source_error = Some(tr.t("admin-playbook-empty"));
        return refuse(page, form.source, StatusCode::UNPROCESSABLE_ENTITY);
    }
    if form.source.len() > PLAYBOOK_BODY_LIMIT {
        page.source_error = Some(tr.t("admin-playbook-too-large"));
        return refuse(page, form.source, StatusCode::PAYLOAD_TOO_LARGE);
    }
    let outcome = if form.action == "save" {
        upload_playbook(&state, &me, &req.addr, &form.source)
            .await
            .map(|(p, _)| Some(p))
    } else {
        check_upload(&state, &form.source).await.map(|p| {
            page.preview = Some(tr.with(
                "admin-playbook-valid",
                &[
                    ("id", p.id.clone().into_arg()),
                    ("version", p.version.to_string().into_arg()),
                    ("tasks", p.task_count().to_string().into_arg()),
                ],
            ));
            page.preview_lanes = lanes(tr, &p);
            None
        })
    };
    match outcome {
        Ok(Some(saved)) => see_other(&format!("/admin/playbooks/{}?saved=1", saved.id)),
        Ok(None) => refuse(page, form.source, StatusCode::OK),
        Err(UploadRefusal::Invalid(errors)) => {
            page.source_error =
                Some(tr.t1("admin-playbook-errors", "count", errors.len().to_string()));
            page.errors = errors
                .iter()
                .map(|e| ErrorLine {
                    text: tr.with(
                        "admin-playbook-error-line",
                        &[
                            (
                                "line",
                                e.line
                                    .map_or_else(|| "?".to_owned(), |l| l.to_string())
                                    .into_arg(),
                            ),
                            (
                                "field",
                                if e.path.is_empty() {
                                    tr.t("admin-playbook-whole")
                                } else {
                                    e.path.clone()
                                }
                                .into_arg(),
                            ),
                            ("message", e.message.clone().into_arg()),
                        ],
                    ),
                })
                .collect();
            refuse(page, form.source, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(UploadRefusal::NotHigher { id, current }) => {
            page.source_error = Some(tr.with(
                "admin-playbook-not-higher",
                &[
                    ("id", id.into_arg()),
                    ("current", current.to_string().into_arg()),
                    ("next", current.saturating_add(1).to_string().into_arg()),
                ],
            ));
            refuse(page, form.source, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(UploadRefusal::Failed(e)) => {
            tracing::error!(error = %e, "playbook upload failed");
            req.message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-title",
                tr.t("internal-error"),
            )
        }
    }
}

/// `GET /admin/playbooks/{id}`.
pub async fn show(
    State(state): State<AppState>,
    req: WebRequest,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    if let Err(refused) = req.require(&state, Action::ManageUsers).await {
        return refused;
    }
    let catalogue = state.playbooks.current().await;
    let Some(p) = catalogue.get(&id) else {
        return req.not_found();
    };
    let tr = req.tr;
    let title = p.title.get(tr.lang).to_owned();
    let page = DetailPage {
        layout: req.layout(title.clone(), Nav::None),
        t: tr,
        summary: p.summary.get(tr.lang).to_owned(),
        facts: row(&req, &catalogue, p),
        lanes: lanes(tr, p),
        source: catalogue.source(&id).map(str::to_owned),
        notice: super::query_param(&req.uri, "saved")
            .map(|_| tr.t1("admin-playbook-saved", "version", p.version.to_string())),
        title,
    };
    req.render(StatusCode::OK, &page)
}
