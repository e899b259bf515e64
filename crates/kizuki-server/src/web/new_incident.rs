//! `/incidents/new`: opening an incident by hand. Choosing the category offers its playbook,
//! applied at once by default, so the lanes have their first tasks before anyone asks.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use kizuki_domain::access::Action;
use kizuki_domain::incident::{Category, DetectionSource, NewIncident};
use serde::Deserialize;

use super::board::category_choice_label;
use super::{Layout, Nav, WebRequest, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::web::i18n::Tr;

/// As posted. A missing field is empty: an unticked box sends nothing, so "absent" must
/// mean "off" here, unlike on the first, blank page ([`NewForm::initial`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct NewForm {
    title: String,
    summary: String,
    category: String,
    severity: String,
    detection_source: String,
    /// `1` when ticked (an unticked box sends nothing).
    restricted: String,
    apply_playbook: String,
    csrf: String,
}

impl NewForm {
    /// The blank form: the playbook box ticked, the detection source "not known".
    fn initial() -> Self {
        Self {
            title: String::new(),
            summary: String::new(),
            category: String::new(),
            severity: String::new(),
            detection_source: DetectionSource::Unknown.as_str().to_owned(),
            restricted: String::new(),
            apply_playbook: "1".to_owned(),
            csrf: String::new(),
        }
    }
}

#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "new_incident.html")]
struct NewIncidentPage {
    layout: Layout,
    t: Tr,
    form: NewForm,
    categories: Vec<Choice>,
    severities: Vec<Choice>,
    sources: Vec<Choice>,
    form_error: Option<String>,
    errors: Vec<(&'static str, String)>,
}

impl NewIncidentPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

fn render(
    state: &AppState,
    req: &WebRequest,
    form: NewForm,
    errors: Vec<(&'static str, String)>,
    form_error: Option<String>,
    status: StatusCode,
) -> Response {
    let tr = req.tr;
    let lang = tr.lang;
    let page = NewIncidentPage {
        layout: req.layout(tr.t("new-incident-title"), Nav::Incidents),
        t: tr,
        categories: Category::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str().to_owned(),
                label: category_choice_label(state, tr, *c),
                selected: form.category == c.as_str(),
            })
            .collect(),
        severities: state
            .settings
            .severity
            .levels()
            .iter()
            .map(|l| Choice {
                value: l.level.to_string(),
                label: format!(
                    "{} {}",
                    l.level,
                    match lang {
                        kizuki_domain::settings::Language::Ja => &l.name_ja,
                        kizuki_domain::settings::Language::En => &l.name_en,
                    }
                ),
                selected: form.severity == l.level.to_string(),
            })
            .collect(),
        sources: DetectionSource::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: tr.t(&format!("source-{}", s.as_str())),
                selected: form.detection_source == s.as_str(),
            })
            .collect(),
        form,
        form_error,
        errors,
    };
    req.render(status, &page)
}

/// `GET /incidents/new`.
pub async fn form(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = req.require(&state, Action::CreateIncident).await {
        return refused;
    }
    render(
        &state,
        &req,
        NewForm::initial(),
        Vec::new(),
        None,
        StatusCode::OK,
    )
}

/// `POST /incidents/new`.
pub async fn submit(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let principal = match req.require(&state, Action::CreateIncident).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let tr = req.tr;
    let Ok(form) = serde_urlencoded::from_bytes::<NewForm>(&body) else {
        return render(
            &state,
            &req,
            NewForm::default(),
            Vec::new(),
            Some(tr.t("form-unreadable")),
            StatusCode::BAD_REQUEST,
        );
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if form.title.trim().is_empty() {
        errors.push(("title", tr.t("new-incident-title-required")));
    }
    let category = form.category.parse::<Category>().ok();
    if category.is_none() {
        errors.push(("category", tr.t("choose-one")));
    }
    let severity = match form.severity.as_str() {
        "" => None,
        raw => match raw
            .parse::<u8>()
            .ok()
            .filter(|l| state.settings.severity.get(*l).is_some())
        {
            Some(level) => Some(level),
            None => {
                errors.push(("severity", tr.t("choose-one")));
                None
            }
        },
    };
    let source = form.detection_source.parse::<DetectionSource>().ok();
    if source.is_none() {
        errors.push(("detection_source", tr.t("choose-one")));
    }
    let (Some(category), Some(source), true) = (category, source, errors.is_empty()) else {
        return render(
            &state,
            &req,
            form,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let new = NewIncident {
        title: form.title.trim().to_owned(),
        summary: form.summary.trim().to_owned(),
        category,
        severity,
        phase: None,
        detection_source: source,
        start_date: None,
        start_basis: None,
        aware_at: None,
        affected_units: vec![],
        affected_assets: vec![],
        impact: Default::default(),
        restricted: form.restricted == "1",
    };
    let incident =
        match crate::api::incidents::create_incident(&state, principal.user.id, new).await {
            Ok(incident) => incident,
            Err(ApiError::Validation(v)) => {
                for e in v.errors {
                    let field = match e.field.as_str() {
                        "title" => "title",
                        "summary" => "summary",
                        "severity" => "severity",
                        _ => "title",
                    };
                    errors.push((field, tr.t1("field-invalid", "reason", e.message)));
                }
                return render(
                    &state,
                    &req,
                    form,
                    errors,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "could not open an incident from the page");
                return render(
                    &state,
                    &req,
                    form,
                    errors,
                    Some(tr.t("internal-error")),
                    StatusCode::INTERNAL_SERVER_ERROR,
                );
            }
        };
    tracing::info!(
        incident = incident.id,
        user = principal.user.id,
        "incident opened from the page"
    );
    if form.apply_playbook == "1"
        && principal.user.role.may(Action::WriteTasks)
        && let Some(playbook) = state
            .playbooks
            .current()
            .await
            .for_category(category)
            .first()
        && let Err(e) = crate::api::tasks::apply(&state, incident.id, &playbook.id).await
    {
        // The incident is open; the playbook can still be applied from its page.
        tracing::warn!(incident = incident.id, error = %e, "playbook not applied on opening");
    }
    see_other(&format!("/incidents/{}", incident.id))
}
