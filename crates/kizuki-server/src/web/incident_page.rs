//! `/incidents/{id}`: the page responders live in. A header with what matters at a glance
//! (severity, phase, day count, legal clocks, members), the timeline laid out as the study
//! lays it out (lanes side by side, rows by Day N and time, rest days marked), and below it
//! tasks by lane, decisions, evidence with custody, observables, parties. A quick-add box
//! posts a timeline entry and comes back to the same lane.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use jiff::civil::DateTime;
use kizuki_domain::access::Action;
use kizuki_domain::incident::Incident;
use kizuki_domain::legal_clock::ClockStatus;
use kizuki_domain::task::TaskStatus;
use kizuki_domain::timeline::{
    EntryKind, EntrySource, Lane, NewTimelineEntry, TimePrecision, TimelineEntry, day_label,
};
use kizuki_domain::user::Role;
use kizuki_store::TimelineQuery;
use serde::Deserialize;

use super::board::{clock_name, clock_status_key, phase_key};
use super::library::{category_key, day_part_key, lane_key};
use super::{Layout, Nav, WebRequest, query_param, see_other};
use crate::AppState;
use crate::access::{Principal, check_incident_visible};
use crate::error::ApiError;
use crate::web::i18n::Tr;

/// The lane a person's quick-add starts in: where their role usually writes.
pub fn home_lane(role: Role) -> Lane {
    match role {
        Role::Executive | Role::PrLegal => Lane::ManagementPr,
        Role::Admin | Role::IncidentCommander | Role::Responder => Lane::CisoCsirt,
        Role::BusinessUnit | Role::Reporter => Lane::ItBusiness,
        Role::ExternalResponder => Lane::External,
    }
}

/// One row of the timeline table: a period and time, and what each lane did then.
#[derive(Debug)]
pub struct Row {
    pub when: String,
    pub holiday: bool,
    /// The national holiday's name, for the row's title.
    pub holiday_name: Option<String>,
    pub at: Option<String>,
    pub cells: Vec<Vec<Cell>>,
}

#[derive(Debug)]
pub struct Cell {
    pub text: String,
    pub actor: String,
    /// Added by a playbook, a notification or an exercise rather than typed by a person.
    pub automatic: bool,
}

/// Lays out `entries` (in time order) as the study's table. Consecutive entries with the
/// same period and time share a row; each lands in its lane's column.
pub fn timeline_rows(
    entries: &[TimelineEntry],
    start: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
    tr: Tr,
    lanes: &[Lane],
) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut last: Option<(String, Option<String>)> = None;
    for entry in entries {
        let label = day_label(
            start,
            entry.occurred_at,
            entry.precision,
            entry.day_part,
            tz,
        );
        let when = match entry.precision {
            TimePrecision::Week | TimePrecision::Month => tr.t1("when-week", "week", label.week),
            _ if label.day >= 1 => tr.t1("when-day", "day", label.day),
            _ => tr.t1("when-days-before", "n", 1 - label.day),
        };
        let at = match entry.precision {
            TimePrecision::Minute => {
                let local = entry.occurred_at.to_zoned_datetime(tz.clone());
                Some(format!("{}:{:02}", local.hour(), local.minute()))
            }
            TimePrecision::DayPart => entry.day_part.map(|p| tr.t(&day_part_key(p))),
            _ => None,
        };
        let key = (when, at);
        if last.as_ref() != Some(&key) {
            let (when, at) = key.clone();
            rows.push(Row {
                when,
                holiday: label.rest_day,
                holiday_name: label.holiday.clone(),
                at,
                cells: (0..lanes.len()).map(|_| Vec::new()).collect(),
            });
            last = Some(key);
        }
        let column = lanes.iter().position(|l| *l == entry.lane).unwrap_or(0);
        if let Some(cell) = rows.last_mut().and_then(|r| r.cells.get_mut(column)) {
            cell.push(Cell {
                text: entry.text.clone(),
                actor: entry.actor.clone(),
                automatic: entry.source != EntrySource::Manual,
            });
        }
    }
    rows
}

#[derive(Debug)]
struct ClockView {
    id: i64,
    name: String,
    status: String,
    due: String,
    urgent: bool,
    met: bool,
}

#[derive(Debug)]
struct TaskView {
    id: i64,
    title: String,
    status: String,
    done: bool,
    due: Option<String>,
    overdue: bool,
    checklist: Vec<ChecklistView>,
}

#[derive(Debug)]
struct ChecklistView {
    text: String,
    done: bool,
}

#[derive(Debug)]
struct LaneTasks {
    lane: String,
    tasks: Vec<TaskView>,
}

#[derive(Debug)]
struct OptionView {
    label: String,
    scenario: String,
    chosen: bool,
}

#[derive(Debug)]
struct DecisionView {
    id: i64,
    /// Not yet decided: the outcome form is offered.
    open: bool,
    /// The outcome form as typed, when it was refused.
    outcome_form: OutcomeForm,
    outcome_errors: FieldErrors,
    question: String,
    options: Vec<OptionView>,
    outcome: Option<String>,
    rationale: String,
    decide_by: Option<String>,
}

#[derive(Debug)]
struct CustodyView {
    at: String,
    action: String,
    handler: String,
    location: String,
    note: String,
}

#[derive(Debug)]
struct EvidenceView {
    name: String,
    description: String,
    location: String,
    custody: Vec<CustodyView>,
}

#[derive(Debug)]
struct SharedView {
    id: i64,
    title: String,
}

#[derive(Debug)]
struct ObservableView {
    kind: String,
    value: String,
    note: String,
    shared: Vec<SharedView>,
}

#[derive(Debug)]
struct PartyView {
    kind: String,
    name: String,
    organisation: String,
    role: String,
    email: String,
    phone: String,
    fallback: String,
}

#[derive(Debug)]
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// The quick-add box as typed, and what is wrong with it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct QuickAdd {
    lane: String,
    kind: String,
    /// `YYYY-MM-DDTHH:MM` in the organisation's zone; empty means now.
    at: String,
    text: String,
    csrf: String,
}

#[derive(Debug, Default)]
struct QuickErrors {
    form: Option<String>,
    lane: Option<String>,
    kind: Option<String>,
    at: Option<String>,
    text: Option<String>,
}

impl QuickErrors {
    fn any(&self) -> bool {
        self.form.is_some()
            || self.lane.is_some()
            || self.kind.is_some()
            || self.at.is_some()
            || self.text.is_some()
    }
}

/// Messages for the fields of one form, shown beside them.
#[derive(Debug, Default)]
pub(super) struct FieldErrors {
    /// For the form as a whole (a colleague's change, a server failure).
    pub(super) form: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl FieldErrors {
    pub(super) fn set(&mut self, field: &'static str, message: String) {
        self.fields.retain(|(f, _)| *f != field);
        self.fields.push((field, message));
    }

    pub(super) fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub(super) fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub(super) fn any(&self) -> bool {
        self.form.is_some() || !self.fields.is_empty()
    }
}

/// The triage box as typed: severity, phase and category, against the version it was read at.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct TriageForm {
    version: String,
    severity: String,
    phase: String,
    category: String,
    csrf: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct PlaybookForm {
    playbook: String,
    csrf: String,
}

/// A new decision: a question and up to four options, each with the scenario it leads to.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct DecisionForm {
    question: String,
    label_1: String,
    scenario_1: String,
    label_2: String,
    scenario_2: String,
    label_3: String,
    scenario_3: String,
    label_4: String,
    scenario_4: String,
    /// `1`–`4` when the decision was taken at once; empty to leave it open.
    chosen: String,
    rationale: String,
    csrf: String,
}

impl DecisionForm {
    fn rows(&self) -> [(&str, &str); 4] {
        [
            (&self.label_1, &self.scenario_1),
            (&self.label_2, &self.scenario_2),
            (&self.label_3, &self.scenario_3),
            (&self.label_4, &self.scenario_4),
        ]
    }
}

/// One option row of the new-decision form.
#[derive(Debug)]
struct OptionRow {
    n: usize,
    label: String,
    scenario: String,
    error: Option<String>,
    chosen: bool,
}

/// Recording the outcome of an open decision.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct OutcomeForm {
    chosen: String,
    rationale: String,
    csrf: String,
}

/// Every form on the page, as typed and with its errors, so any refused form comes back
/// filled in beside the rest of the page.
#[derive(Debug, Default)]
pub(super) struct Forms {
    quick: QuickAdd,
    quick_errors: QuickErrors,
    triage: Option<TriageForm>,
    triage_errors: FieldErrors,
    playbook: PlaybookForm,
    playbook_errors: FieldErrors,
    decision: DecisionForm,
    decision_errors: FieldErrors,
    /// The decision whose outcome form was refused, with its errors.
    outcome: Option<(i64, OutcomeForm, FieldErrors)>,
    /// Said above the tasks (a task a colleague completed first).
    task_notice: Option<String>,
    /// The lane-owner and member forms (they share one box in the header).
    pub(super) team: super::incident_team::TeamForm,
    pub(super) team_errors: FieldErrors,
    pub(super) observable: super::incident_team::ObservableForm,
    pub(super) observable_errors: FieldErrors,
    /// Said beside the legal clocks (a clock already met, or gone).
    pub(super) clock_notice: Option<String>,
    /// The refused phone-tree call form, under its line.
    pub(super) call: Option<(i64, super::notifications::CallForm, FieldErrors)>,
    /// Said above the notifications (already acknowledged, unreadable form).
    pub(super) notify_notice: Option<String>,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    layout: Layout,
    t: Tr,
    id: i64,
    title: String,
    summary: String,
    exercise: bool,
    severity: u8,
    severity_name: String,
    phase: String,
    category: String,
    day: String,
    aware_at: String,
    clocks: Vec<ClockView>,
    clock_notice: Option<String>,
    may_mark_clocks: bool,
    /// Who owns which lane, and the forms that change it and the members.
    team: super::incident_team::TeamView,
    team_errors: FieldErrors,
    may_manage_members: bool,
    observable: super::incident_team::ObservableForm,
    observable_errors: FieldErrors,
    observable_kinds: Vec<Choice>,
    may_add_observables: bool,
    lanes: Vec<String>,
    rows: Vec<Row>,
    entry_count: usize,
    lane_tasks: Vec<LaneTasks>,
    decisions: Vec<DecisionView>,
    evidence: Vec<EvidenceView>,
    observables: Vec<ObservableView>,
    parties: Vec<PartyView>,
    may_write: bool,
    may_export: bool,
    may_triage: bool,
    may_apply: bool,
    may_propose: bool,
    may_decide: bool,
    lane_choices: Vec<Choice>,
    kind_choices: Vec<Choice>,
    quick: QuickAdd,
    errors: QuickErrors,
    triage: TriageForm,
    triage_errors: FieldErrors,
    severity_choices: Vec<Choice>,
    phase_choices: Vec<Choice>,
    category_choices: Vec<Choice>,
    playbook_errors: FieldErrors,
    playbook_choices: Vec<Choice>,
    task_notice: Option<String>,
    decision: DecisionForm,
    decision_errors: FieldErrors,
    decision_rows: Vec<OptionRow>,
    /// An entry was just added (the page came back from the quick-add).
    added: bool,
    /// Who was notified, and the phone tree.
    notify: super::notifications::NotifyView,
}

/// The signed-in reader of incident `id`, and the incident; or the page to answer instead.
pub(super) async fn open(
    state: &AppState,
    req: &WebRequest,
    action: Action,
) -> Result<(Principal, Incident), Response> {
    let principal = req.require(state, action).await?;
    let Some(id) = req.incident_id() else {
        return Err(req.not_found());
    };
    match check_incident_visible(state, &principal, id).await {
        Ok(incident) => Ok((principal, incident)),
        Err(ApiError::NotFound(_)) => Err(req.not_found()),
        Err(e) => Err(internal(req, &e)),
    }
}

/// `GET /incidents/{id}`.
pub async fn show(State(state): State<AppState>, req: WebRequest) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ReadIncidents).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let lane = query_param(&req.uri, "lane")
        .and_then(|l| l.parse::<Lane>().ok())
        .unwrap_or_else(|| home_lane(principal.user.role));
    let quick = QuickAdd {
        lane: lane.as_str().to_owned(),
        kind: EntryKind::Other.as_str().to_owned(),
        ..QuickAdd::default()
    };
    let added = query_param(&req.uri, "added").is_some();
    let forms = Forms {
        quick,
        ..Forms::default()
    };
    match page(&state, &req, &principal, incident, forms).await {
        Ok(mut page) => {
            page.added = added;
            req.render(StatusCode::OK, &page)
        }
        Err(answer) => answer,
    }
}

/// `POST /incidents/{id}/timeline`: the quick-add box.
pub async fn add_entry(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::WriteTimeline).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let mut errors = QuickErrors::default();
    let quick: QuickAdd = match serde_urlencoded::from_bytes(&body) {
        Ok(q) => q,
        Err(_) => {
            errors.form = Some(tr.t("form-unreadable"));
            QuickAdd::default()
        }
    };
    if errors.form.is_none() && !req.form_is_genuine(&quick.csrf) {
        return req.refuse_form(&state).await;
    }
    let lane = quick.lane.parse::<Lane>().ok();
    if lane.is_none() {
        errors.lane = Some(tr.t("quick-lane-required"));
    }
    let kind = quick.kind.parse::<EntryKind>().ok();
    if kind.is_none() {
        errors.kind = Some(tr.t("quick-kind-required"));
    }
    if quick.text.trim().is_empty() {
        errors.text = Some(tr.t("quick-text-required"));
    }
    let now = state.clock.now();
    let occurred_at = match quick.at.trim() {
        "" => None,
        raw => match raw
            .parse::<DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned_datetime(req.time_zone.clone()).ok())
        {
            Some(z) => Some(z.timestamp()),
            None => {
                errors.at = Some(tr.t("field-bad-datetime"));
                None
            }
        },
    };
    if let (false, Some(lane), Some(kind)) = (errors.any(), lane, kind) {
        let new = NewTimelineEntry {
            occurred_at,
            day: None,
            time_of_day: None,
            week: None,
            precision: None,
            day_part: None,
            lane,
            actor: principal.user.display_name.clone(),
            kind,
            text: quick.text.clone(),
            source: EntrySource::Manual,
        };
        let tz = &state.settings.time_zone;
        let stored = match new.into_fields(incident.start_date, tz, now) {
            Ok(fields) => state
                .store
                .add_timeline_entry(incident.id, &fields, Some(principal.user.id), now)
                .await
                .map_err(ApiError::from),
            Err(e) => Err(ApiError::from(e)),
        };
        match stored {
            Ok(entry) => {
                tracing::info!(
                    incident = incident.id,
                    entry = entry.id,
                    user = principal.user.id,
                    "timeline entry added from the incident page"
                );
                return see_other(&format!(
                    "/incidents/{}?lane={}&added=1#timeline",
                    incident.id,
                    lane.as_str()
                ));
            }
            Err(ApiError::Validation(e)) => {
                for error in e.errors {
                    let text = tr.t1("field-invalid", "reason", error.message);
                    match error.field.as_str() {
                        "text" => errors.text = Some(text),
                        "lane" => errors.lane = Some(text),
                        "kind" => errors.kind = Some(text),
                        _ => errors.at = Some(text),
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not add a timeline entry from the page");
                errors.form = Some(tr.t("internal-error"));
            }
        }
    }
    let status = if errors.form.is_some() && errors.lane.is_none() && errors.text.is_none() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let forms = Forms {
        quick,
        quick_errors: errors,
        ..Forms::default()
    };
    match page(&state, &req, &principal, incident, forms).await {
        Ok(page) => req.render(status, &page),
        Err(answer) => answer,
    }
}

/// Reads a posted form, or `None` when it cannot be read at all.
pub(super) fn read_form<T: serde::de::DeserializeOwned>(body: &Bytes) -> Option<T> {
    serde_urlencoded::from_bytes(body).ok()
}

/// What a form handler answers with: the request and who sent it.
pub(super) struct Ctx<'a> {
    pub(super) state: &'a AppState,
    pub(super) req: &'a WebRequest,
    pub(super) principal: &'a Principal,
}

impl Ctx<'_> {
    /// The incident page again, with one refused form filled in and its errors beside it.
    pub(super) async fn again(
        &self,
        incident: Incident,
        forms: Forms,
        status: StatusCode,
    ) -> Response {
        match page(self.state, self.req, self.principal, incident, forms).await {
            Ok(page) => self.req.render(status, &page),
            Err(answer) => answer,
        }
    }
}

/// Where the browser goes after a form was accepted: the section it came from.
pub(super) fn back_to(incident_id: i64, section: &str) -> Response {
    see_other(&format!("/incidents/{incident_id}#{section}"))
}

/// Whether `e` means a colleague changed the incident first.
fn is_stale(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Conflict { .. }
            | ApiError::Store(kizuki_store::StoreError::Conflict { .. })
            | ApiError::Store(kizuki_store::StoreError::Stale { .. })
    )
}

/// `POST /incidents/{id}/triage`: severity, phase and category in one go, against the
/// version the form was read at. A colleague's change in between is shown, with what was
/// typed kept and the form now on the current version, so sending it again is a choice.
pub async fn triage(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::UpdateIncident).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<TriageForm>(&body) else {
        forms.triage_errors.form = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let mut errors = FieldErrors::default();
    let version = form.version.parse::<i64>().ok();
    if version.is_none() {
        errors.form = Some(tr.t("form-unreadable"));
    }
    let severity = form
        .severity
        .parse::<u8>()
        .ok()
        .filter(|l| state.settings.severity.get(*l).is_some());
    if severity.is_none() {
        errors.set("severity", tr.t("choose-one"));
    }
    let phase = form.phase.parse::<kizuki_domain::incident::Phase>().ok();
    if phase.is_none() {
        errors.set("phase", tr.t("choose-one"));
    }
    let category = form
        .category
        .parse::<kizuki_domain::incident::Category>()
        .ok();
    if category.is_none() {
        errors.set("category", tr.t("choose-one"));
    }
    let (Some(version), Some(severity), Some(phase), Some(category), false) =
        (version, severity, phase, category, errors.any())
    else {
        forms.triage = Some(form);
        forms.triage_errors = errors;
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let patch = kizuki_domain::incident::IncidentPatch {
        version,
        severity: Some(severity),
        phase: (phase != incident.phase).then_some(phase),
        category: Some(category),
        ..Default::default()
    };
    match crate::api::incidents::update_incident(&state, incident.id, patch).await {
        Ok(updated) => {
            tracing::info!(
                incident = updated.id,
                user = principal.user.id,
                version = updated.version,
                "incident triaged from the incident page"
            );
            back_to(updated.id, "triage")
        }
        Err(e) if is_stale(&e) => {
            // Show what the colleague left, keep what this user chose, and move the form to
            // the current version.
            let current = match state.store.get_incident(incident.id).await {
                Ok(Some(current)) => current,
                Ok(None) => return req.not_found(),
                Err(e) => return internal(&req, &e),
            };
            forms.triage_errors.form = Some(tr.with(
                "triage-stale",
                &[
                    ("severity", current.severity.into()),
                    ("phase", tr.t(&phase_key(current.phase)).into()),
                ],
            ));
            forms.triage = Some(TriageForm {
                version: current.version.to_string(),
                ..form
            });
            ctx.again(current, forms, StatusCode::CONFLICT).await
        }
        Err(ApiError::Validation(v)) => {
            for error in v.errors {
                let text = tr.t1("field-invalid", "reason", error.message);
                match error.field.as_str() {
                    "severity" => forms.triage_errors.set("severity", text),
                    "category" => forms.triage_errors.set("category", text),
                    _ => forms.triage_errors.set("phase", text),
                }
            }
            forms.triage = Some(form);
            ctx.again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => internal(&req, &e),
    }
}

/// `POST /incidents/{id}/playbook`: the playbook's tasks, owned by lanes, with due times.
pub async fn apply_playbook(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (principal, incident) = match open(&state, &req, Action::WriteTasks).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<PlaybookForm>(&body) else {
        forms.playbook_errors.form = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    if state
        .playbooks
        .current()
        .await
        .get(&form.playbook)
        .is_none()
    {
        forms.playbook_errors.set("playbook", tr.t("choose-one"));
        forms.playbook = form;
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    match crate::api::tasks::apply(&state, incident.id, &form.playbook).await {
        Ok(tasks) => {
            tracing::info!(
                incident = incident.id,
                user = principal.user.id,
                playbook = %form.playbook,
                tasks = tasks.len(),
                "playbook applied from the incident page"
            );
            back_to(incident.id, "tasks")
        }
        Err(ApiError::AlreadyDone { .. }) => {
            forms
                .playbook_errors
                .set("playbook", tr.t("playbook-already-applied"));
            forms.playbook = form;
            ctx.again(incident, forms, StatusCode::CONFLICT).await
        }
        Err(e) => internal(&req, &e),
    }
}

/// `POST /incidents/{id}/decisions`: a question with its options and the scenario each
/// leads to; decided at once when an option is chosen (which needs the right to decide).
pub async fn add_decision(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::ProposeDecision).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<DecisionForm>(&body) else {
        forms.decision_errors.form = Some(tr.t("form-unreadable"));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let mut errors = FieldErrors::default();
    if form.question.trim().is_empty() {
        errors.set("question", tr.t("decision-question-required"));
    }
    let mut options = Vec::new();
    // Which typed row each stored option came from, to map `chosen` and errors back.
    let mut rows = Vec::new();
    for (i, (label, scenario)) in form.rows().into_iter().enumerate() {
        if label.trim().is_empty() && scenario.trim().is_empty() {
            continue;
        }
        if label.trim().is_empty() {
            errors.set(LABEL_FIELDS[i], tr.t("decision-label-required"));
        } else if scenario.trim().is_empty() {
            // The point of a decision record: each option with what it leads to.
            errors.set(LABEL_FIELDS[i], tr.t("decision-scenario-required"));
        }
        options.push(kizuki_domain::decision::DecisionOption {
            label: label.trim().to_owned(),
            scenario: scenario.trim().to_owned(),
        });
        rows.push(i);
    }
    if options.len() < 2 && !errors.has("label_1") && !errors.has("label_2") {
        errors.set("label_2", tr.t("decision-two-options"));
    }
    let chosen = match form.chosen.trim() {
        "" => None,
        raw => match raw
            .parse::<usize>()
            .ok()
            .and_then(|n| rows.iter().position(|r| *r + 1 == n))
        {
            Some(index) => Some(index),
            None => {
                errors.set("chosen", tr.t("decision-chosen-empty"));
                None
            }
        },
    };
    if chosen.is_some() && !principal.user.role.may(Action::Decide) {
        // This role's form has no "chosen" field; the message goes above the form.
        errors.form = Some(tr.t("decision-may-not-decide"));
    }
    if errors.any() {
        forms.decision = form;
        forms.decision_errors = errors;
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    let now = state.clock.now();
    let new = kizuki_domain::decision::NewDecision {
        question: form.question.trim().to_owned(),
        options,
        chosen: chosen.and_then(|c| u32::try_from(c).ok()),
        decided_by: if chosen.is_some() {
            principal.user.display_name.clone()
        } else {
            String::new()
        },
        decided_at: chosen.map(|_| now),
        rationale: form.rationale.trim().to_owned(),
        decide_by: None,
    };
    let stored = match new.validate() {
        Ok(()) => state
            .store
            .add_decision(incident.id, &new, now)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    match stored {
        Ok(decision) => {
            tracing::info!(
                incident = incident.id,
                decision = decision.id,
                user = principal.user.id,
                "decision recorded from the incident page"
            );
            back_to(incident.id, "decisions")
        }
        Err(ApiError::Validation(v)) => {
            for error in v.errors {
                let text = tr.t1("field-invalid", "reason", error.message);
                // `options[i].…` belongs to the i-th typed row that was not empty.
                let option_row = error
                    .field
                    .strip_prefix("options[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| rows.get(n).copied());
                let field = if error.field.starts_with("question") {
                    "question"
                } else if error.field.starts_with("rationale") {
                    "rationale"
                } else {
                    LABEL_FIELDS[option_row.unwrap_or(0)]
                };
                forms.decision_errors.set(field, text);
            }
            forms.decision = form;
            ctx.again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => internal(&req, &e),
    }
}

const LABEL_FIELDS: [&str; 4] = ["label_1", "label_2", "label_3", "label_4"];

/// `POST /incidents/{id}/decisions/{decision_id}/decide`: which option was taken, and why.
pub async fn decide(State(state): State<AppState>, req: WebRequest, body: Bytes) -> Response {
    let (principal, incident) = match open(&state, &req, Action::Decide).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let Some(decision_id) = req.path_number(4) else {
        return req.not_found();
    };
    let decision = match state.store.get_decision(incident.id, decision_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return req.not_found(),
        Err(e) => return internal(&req, &e),
    };
    let mut forms = Forms::default();
    let Some(form) = read_form::<OutcomeForm>(&body) else {
        let errors = FieldErrors {
            form: Some(tr.t("form-unreadable")),
            ..FieldErrors::default()
        };
        forms.outcome = Some((decision_id, OutcomeForm::default(), errors));
        return ctx.again(incident, forms, StatusCode::BAD_REQUEST).await;
    };
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let chosen = form
        .chosen
        .parse::<u32>()
        .ok()
        .filter(|c| usize::try_from(*c).is_ok_and(|c| c < decision.options.len()));
    let Some(chosen) = chosen else {
        let mut errors = FieldErrors::default();
        errors.set("chosen", tr.t("choose-one"));
        forms.outcome = Some((decision_id, form, errors));
        return ctx
            .again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let outcome = kizuki_domain::decision::DecisionOutcome {
        chosen,
        decided_by: principal.user.display_name.clone(),
        decided_at: None,
        rationale: form.rationale.trim().to_owned(),
    };
    let result = match outcome.validate(decision.options.len()) {
        Ok(()) => state
            .store
            .decide(incident.id, decision_id, &outcome, state.clock.now())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    match result {
        Ok(_) => back_to(incident.id, "decisions"),
        Err(ApiError::Store(kizuki_store::StoreError::Duplicate { .. })) => {
            let errors = FieldErrors {
                form: Some(tr.t("decision-already-decided")),
                ..FieldErrors::default()
            };
            forms.outcome = Some((decision_id, form, errors));
            ctx.again(incident, forms, StatusCode::CONFLICT).await
        }
        Err(ApiError::Validation(v)) => {
            let mut errors = FieldErrors::default();
            for error in v.errors {
                errors.set(
                    if error.field == "chosen" {
                        "chosen"
                    } else {
                        "rationale"
                    },
                    tr.t1("field-invalid", "reason", error.message),
                );
            }
            forms.outcome = Some((decision_id, form, errors));
            ctx.again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => internal(&req, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DoneForm {
    note: String,
    csrf: String,
}

/// `POST /incidents/{id}/tasks/{task_id}/done`: the task is done; its timeline entry lands in
/// the task's lane, in the same transaction.
pub async fn complete_task(
    State(state): State<AppState>,
    req: WebRequest,
    body: Bytes,
) -> Response {
    let (principal, incident) = match open(&state, &req, Action::WriteTasks).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let tr = req.tr;
    let ctx = Ctx {
        state: &state,
        req: &req,
        principal: &principal,
    };
    let Some(task_id) = req.path_number(4) else {
        return req.not_found();
    };
    let form: DoneForm = read_form(&body).unwrap_or_default();
    if !req.form_is_genuine(&form.csrf) {
        return req.refuse_form(&state).await;
    }
    let done = crate::api::tasks::CompleteTask {
        note: form.note,
        actor: None,
    };
    match crate::api::tasks::complete_task(&state, incident.id, task_id, &principal.user, done)
        .await
    {
        Ok(_) => back_to(incident.id, "tasks"),
        Err(ApiError::NotFound(_)) => req.not_found(),
        Err(ApiError::Store(kizuki_store::StoreError::Duplicate { .. })) => {
            let forms = Forms {
                task_notice: Some(tr.t("task-already-done")),
                ..Forms::default()
            };
            ctx.again(incident, forms, StatusCode::CONFLICT).await
        }
        Err(ApiError::Validation(v)) => {
            let reason = v
                .errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ");
            let forms = Forms {
                task_notice: Some(tr.t1("field-invalid", "reason", reason)),
                ..Forms::default()
            };
            ctx.again(incident, forms, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => internal(&req, &e),
    }
}

/// How often an open page's stream looks for a changed timeline. One cheap read (the
/// timeline's stamp) per open page per interval; it works the same across replicas, since
/// it asks the database rather than an in-process channel.
const EVENTS_POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// A stream ends after this long; the browser's `EventSource` reconnects at once, which
/// checks the session again, so a signed-out or revoked session stops receiving events.
const EVENTS_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

/// `GET /incidents/{id}/events`: server-sent events, one `timeline` event whenever the
/// incident's timeline changes. The page then fetches the table again.
pub async fn events(State(state): State<AppState>, req: WebRequest) -> Response {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event, KeepAlive, Sse};
    let incident = match open(&state, &req, Action::ReadIncidents).await {
        Ok((_, incident)) => incident,
        Err(answer) => return answer,
    };
    let id = incident.id;
    let first = match state.store.timeline_stamp(id).await {
        Ok(stamp) => stamp,
        Err(e) => return internal(&req, &e),
    };
    let deadline = tokio::time::Instant::now() + EVENTS_LIFETIME;
    let stream = futures::stream::unfold((state, first), move |(state, last)| async move {
        loop {
            tokio::time::sleep(EVENTS_POLL).await;
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            match state.store.timeline_stamp(id).await {
                Ok(stamp) if stamp != last => {
                    let event = Event::default()
                        .event("timeline")
                        .data(format!("{}-{}", stamp.0, stamp.1));
                    return Some((Ok::<_, std::convert::Infallible>(event), (state, stamp)));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(incident = id, error = %e, "timeline events stopped");
                    return None;
                }
            }
        }
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Proxies must pass each event on at once.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    response
}

/// Everything the page shows, read for `principal`.
async fn page(
    state: &AppState,
    req: &WebRequest,
    principal: &Principal,
    incident: Incident,
    forms: Forms,
) -> Result<IncidentPage, Response> {
    let tr = req.tr;
    let lang = tr.lang;
    let id = incident.id;
    let tz = &state.settings.time_zone;
    let now = state.clock.now();
    let fail = |e: &dyn std::fmt::Display| internal(req, e);
    let entries = state
        .store
        .list_timeline(id, &TimelineQuery::default())
        .await
        .map_err(|e| fail(&e))?;
    let tasks = state.store.list_tasks(id).await.map_err(|e| fail(&e))?;
    let decisions = state.store.list_decisions(id).await.map_err(|e| fail(&e))?;
    let evidence = state.store.list_evidence(id).await.map_err(|e| fail(&e))?;
    let observables = state
        .store
        .list_observables(id)
        .await
        .map_err(|e| fail(&e))?;
    let parties = state.store.list_parties(id).await.map_err(|e| fail(&e))?;
    let members = state.store.list_members(id).await.map_err(|e| fail(&e))?;
    let lane_owners = state
        .store
        .list_lane_owners(id)
        .await
        .map_err(|e| fail(&e))?;
    let may_manage_members = principal.user.role.may(Action::ManageMembers);
    // Only those who assign people need the list of everyone.
    let people = if may_manage_members {
        state.store.list_users().await.map_err(|e| fail(&e))?
    } else {
        Vec::new()
    };
    let team =
        super::incident_team::TeamView::new(tr, &members, &lane_owners, &people, &forms.team);
    let observable_kinds = kizuki_domain::observable::ObservableKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.as_str().to_owned(),
            label: tr.t(&format!("observable-kind-{}", k.as_str())),
            selected: forms.observable.kind == k.as_str(),
        })
        .collect();
    let viewer = principal.viewer();
    let mut observable_views = Vec::with_capacity(observables.len());
    for o in observables {
        let shared = state
            .store
            .incidents_sharing(o.kind, &o.normalized, Some(id), Some(&viewer))
            .await
            .map_err(|e| fail(&e))?;
        observable_views.push(ObservableView {
            kind: tr.t(&format!("observable-kind-{}", o.kind.as_str())),
            value: o.value,
            note: o.note,
            shared: shared
                .into_iter()
                .map(|s| SharedView {
                    id: s.incident_id,
                    title: s.incident_title,
                })
                .collect(),
        });
    }
    let view = crate::api::incidents::view(state, incident)
        .await
        .map_err(|e| fail(&e))?;

    let mut lanes = vec![Lane::ManagementPr, Lane::CisoCsirt, Lane::ItBusiness];
    if entries.iter().any(|e| e.lane == Lane::External) {
        lanes.push(Lane::External);
    }
    let rows = timeline_rows(&entries, view.incident.start_date, tz, tr, &lanes);

    let lane_tasks = Lane::ALL
        .iter()
        .filter_map(|lane| {
            let tasks: Vec<TaskView> = tasks
                .iter()
                .filter(|t| t.lane == *lane)
                .map(|t| TaskView {
                    id: t.id,
                    title: t.title.clone(),
                    status: tr.t(&format!("task-status-{}", t.status.as_str())),
                    done: t.status != TaskStatus::Open,
                    due: t.due_at.map(|d| req.local_time(d)),
                    overdue: t.status == TaskStatus::Open && t.due_at.is_some_and(|d| d < now),
                    checklist: t
                        .checklist
                        .iter()
                        .map(|c| ChecklistView {
                            text: c.text.clone(),
                            done: c.done,
                        })
                        .collect(),
                })
                .collect();
            (!tasks.is_empty()).then(|| LaneTasks {
                lane: tr.t(&lane_key(*lane)),
                tasks,
            })
        })
        .collect();

    let mut forms = forms;
    let notify = super::notifications::view(state, req, principal, id, &mut forms)
        .await
        .map_err(|e| fail(&e))?;
    let mut refused_outcome = forms.outcome.take();
    let decisions = decisions
        .into_iter()
        .map(|d| {
            // The refused outcome form comes back filled in under its own decision only.
            let (form, errors) = match refused_outcome.take() {
                Some((did, form, errors)) if did == d.id => (form, errors),
                other => {
                    refused_outcome = other;
                    (OutcomeForm::default(), FieldErrors::default())
                }
            };
            (d, form, errors)
        })
        .map(|(d, outcome_form, outcome_errors)| DecisionView {
            id: d.id,
            open: d.chosen.is_none(),
            outcome_form,
            outcome_errors,
            outcome: match (d.chosen, d.decided_at) {
                (Some(_), Some(at)) => Some(tr.with(
                    "decision-decided",
                    &[
                        ("who", d.decided_by.clone().into()),
                        ("at", req.local_time(at).into()),
                    ],
                )),
                (Some(_), None) => Some(tr.t1("decision-decided-by", "who", d.decided_by.clone())),
                _ => None,
            },
            options: d
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| OptionView {
                    label: o.label.clone(),
                    scenario: o.scenario.clone(),
                    chosen: d.chosen.is_some_and(|c| usize::try_from(c).ok() == Some(i)),
                })
                .collect(),
            question: d.question,
            rationale: d.rationale,
            decide_by: d.decide_by.map(|at| req.local_time(at)),
        })
        .collect();

    let evidence = evidence
        .into_iter()
        .map(|e| EvidenceView {
            name: e.name,
            description: e.description,
            location: e.location,
            custody: e
                .custody
                .into_iter()
                .map(|c| CustodyView {
                    at: req.local_time(c.at),
                    action: tr.t(&format!("custody-{}", c.action.as_str())),
                    handler: c.handler,
                    location: c.location,
                    note: c.note,
                })
                .collect(),
        })
        .collect();

    let parties = parties
        .into_iter()
        .map(|p| PartyView {
            kind: tr.t(&format!("party-kind-{}", p.kind.as_str())),
            name: p.name,
            organisation: p.organisation,
            role: p.role,
            email: p.email,
            phone: p.phone,
            fallback: p.fallback_channel,
        })
        .collect();

    let clocks = view
        .legal_clocks
        .iter()
        .map(|c| ClockView {
            id: c.clock.id,
            name: clock_name(tr, c),
            status: tr.t(&clock_status_key(c.status)),
            due: req.local_time(c.due_at),
            urgent: matches!(c.status, ClockStatus::Due | ClockStatus::Overdue),
            met: c.status == ClockStatus::Met,
        })
        .collect();

    let lane_choices = Lane::ALL
        .iter()
        .map(|l| Choice {
            value: l.as_str().to_owned(),
            label: tr.t(&lane_key(*l)),
            selected: forms.quick.lane == l.as_str(),
        })
        .collect();
    let kind_choices = EntryKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.as_str().to_owned(),
            label: tr.t(&format!("entry-kind-{}", k.as_str())),
            selected: forms.quick.kind == k.as_str(),
        })
        .collect();

    let role = principal.user.role;
    let incident = view.incident;
    let triage = forms.triage.take().unwrap_or_else(|| TriageForm {
        version: incident.version.to_string(),
        severity: incident.severity.to_string(),
        phase: incident.phase.as_str().to_owned(),
        category: incident.category.as_str().to_owned(),
        csrf: String::new(),
    });
    let severity_choices = state
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
            selected: triage.severity == l.level.to_string(),
        })
        .collect();
    // The phase it is in and the ones it may move to.
    let phase_choices = std::iter::once(incident.phase)
        .chain(incident.phase.next_phases().iter().copied())
        .map(|p| Choice {
            value: p.as_str().to_owned(),
            label: tr.t(&phase_key(p)),
            selected: triage.phase == p.as_str(),
        })
        .collect();
    let category_choices = kizuki_domain::incident::Category::ALL
        .iter()
        .map(|c| Choice {
            value: c.as_str().to_owned(),
            label: tr.t(&category_key(*c)),
            selected: triage.category == c.as_str(),
        })
        .collect();
    // The incident's own category first, then the rest.
    let catalogue = state.playbooks.current().await;
    let mut playbooks = catalogue.list();
    playbooks.sort_by_key(|p| (p.category != incident.category, p.id.clone()));
    let playbook_choices = playbooks
        .into_iter()
        .map(|p| Choice {
            value: p.id.clone(),
            label: p.title.get(lang).to_owned(),
            selected: if forms.playbook.playbook.is_empty() {
                p.category == incident.category
            } else {
                forms.playbook.playbook == p.id
            },
        })
        .collect();
    let title = tr.with(
        "incident-heading",
        &[("id", id.into()), ("title", incident.title.as_str().into())],
    );
    Ok(IncidentPage {
        layout: req.layout(title, Nav::Incidents),
        t: tr,
        id,
        summary: incident.summary.clone(),
        exercise: incident.exercise,
        severity: incident.severity,
        severity_name: match lang {
            kizuki_domain::settings::Language::Ja => view.severity_name_ja,
            kizuki_domain::settings::Language::En => view.severity_name_en,
        },
        phase: tr.t(&phase_key(incident.phase)),
        category: tr.t(&category_key(incident.category)),
        day: tr.t1("when-day", "day", view.day_today),
        aware_at: req.local_time(incident.aware_at),
        title: incident.title,
        clocks,
        clock_notice: forms.clock_notice,
        may_mark_clocks: role.may(Action::WriteLegalClocks),
        team,
        team_errors: forms.team_errors,
        may_manage_members,
        observable: forms.observable,
        observable_errors: forms.observable_errors,
        observable_kinds,
        may_add_observables: role.may(Action::WriteObservables),
        lanes: lanes.iter().map(|l| tr.t(&lane_key(*l))).collect(),
        entry_count: entries.len(),
        rows,
        lane_tasks,
        decisions,
        evidence,
        observables: observable_views,
        parties,
        may_write: role.may(Action::WriteTimeline),
        may_export: role.may(Action::Export),
        may_triage: role.may(Action::UpdateIncident),
        may_apply: role.may(Action::WriteTasks),
        may_propose: role.may(Action::ProposeDecision),
        may_decide: role.may(Action::Decide),
        lane_choices,
        kind_choices,
        quick: forms.quick,
        errors: forms.quick_errors,
        triage,
        triage_errors: forms.triage_errors,
        severity_choices,
        phase_choices,
        category_choices,
        playbook_errors: forms.playbook_errors,
        task_notice: forms.task_notice,
        playbook_choices,
        decision_rows: forms
            .decision
            .rows()
            .iter()
            .enumerate()
            .map(|(i, (label, scenario))| OptionRow {
                n: i + 1,
                label: (*label).to_owned(),
                scenario: (*scenario).to_owned(),
                error: forms
                    .decision_errors
                    .get(LABEL_FIELDS[i])
                    .map(str::to_owned),
                chosen: forms.decision.chosen == (i + 1).to_string(),
            })
            .collect(),
        decision: forms.decision,
        decision_errors: forms.decision_errors,
        added: false,
        notify,
    })
}

pub(super) fn internal(req: &WebRequest, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "could not show an incident page");
    req.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        req.tr.t("internal-error"),
    )
}
