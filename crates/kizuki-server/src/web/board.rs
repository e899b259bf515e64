//! `/incidents`: the board. What is open, how bad, in which phase, since which day, and which
//! legal clock runs out next, filtered by phase, severity, category, lane owner and words.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kizuki_domain::access::Action;
use kizuki_domain::incident::{Category, IncidentFilter, Phase};
use kizuki_domain::legal_clock::{ClockKind, ClockReading, ClockStatus};

use super::{Layout, Nav, WebRequest, query_param};
use crate::AppState;
use crate::web::i18n::Tr;
use crate::web::library::category_key;

pub(super) fn phase_key(p: Phase) -> String {
    format!("phase-{}", p.as_str())
}

pub(super) fn clock_status_key(s: ClockStatus) -> String {
    format!("clock-status-{}", s.as_str())
}

/// A clock's name in the reader's language (a custom clock keeps the name it was given).
pub(super) fn clock_name(tr: Tr, reading: &ClockReading) -> String {
    match reading.clock.kind {
        ClockKind::Custom => reading.clock.name.clone(),
        kind => tr.t(&format!("clock-kind-{}", kind.as_str())),
    }
}

/// A category as offered when opening an incident: its name and, when it has one, the
/// playbook that comes with it.
pub(super) fn category_choice_label(state: &AppState, tr: Tr, c: Category) -> String {
    let name = tr.t(&category_key(c));
    match state.playbooks.snapshot().for_category(c).first() {
        Some(p) => tr.with(
            "new-incident-category-with-playbook",
            &[
                ("category", name.into()),
                ("playbook", p.title.get(tr.lang).into()),
            ],
        ),
        None => name,
    }
}

/// One `<option>`.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One `<select>` with the message shown beside it when the address held a value that is
/// not one of its choices.
#[derive(Debug)]
struct Select {
    name: &'static str,
    label: String,
    choices: Vec<Choice>,
    error: Option<String>,
}

fn select<T: Copy + PartialEq>(
    req: &WebRequest,
    name: &'static str,
    label_key: &str,
    all: impl IntoIterator<Item = (T, String, String)>,
) -> (Option<T>, Select) {
    let raw = query_param(&req.uri, name).filter(|v| !v.is_empty());
    let choices: Vec<(T, String, String)> = all.into_iter().collect();
    let chosen = raw
        .as_deref()
        .and_then(|r| choices.iter().find(|(_, v, _)| v == r).map(|(t, _, _)| *t));
    let error = match (&raw, chosen) {
        (Some(v), None) => Some(req.tr.t1("library-filter-unknown", "value", v.as_str())),
        _ => None,
    };
    (
        chosen,
        Select {
            name,
            label: req.tr.t(label_key),
            choices: choices
                .into_iter()
                .map(|(t, value, label)| Choice {
                    value,
                    label,
                    selected: chosen == Some(t),
                })
                .collect(),
            error,
        },
    )
}

/// A line of the board.
#[derive(Debug)]
struct Row {
    id: i64,
    title: String,
    severity: u8,
    severity_name: String,
    phase: String,
    category: String,
    day: String,
    /// The legal clock that runs out first, if any still runs.
    clock: Option<ClockCell>,
    exercise: bool,
}

#[derive(Debug)]
struct ClockCell {
    name: String,
    status: String,
    due: String,
    /// `overdue` or `due`: drawn in the warning colour.
    urgent: bool,
}

/// A count of open incidents in one phase, as a link that filters by it.
#[derive(Debug)]
struct PhaseCount {
    label: String,
    count: String,
    href: String,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    layout: Layout,
    t: Tr,
    text: String,
    selects: Vec<Select>,
    include_closed: bool,
    counts: Vec<PhaseCount>,
    rows: Vec<Row>,
    shown: String,
    /// The viewer may open incidents (the "new incident" link).
    may_create: bool,
    /// Who is on call now, per rotation.
    on_call: Vec<super::oncall::OnCallView>,
    /// The address of the next page, when there is one.
    next: Option<String>,
}

/// `GET /incidents`.
pub async fn index(State(state): State<AppState>, req: WebRequest) -> Response {
    let principal = match req.require(&state, Action::ReadIncidents).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let tr = req.tr;
    let lang = tr.lang;
    let (phase, f_phase) = select(
        &req,
        "phase",
        "board-filter-phase",
        Phase::ALL
            .iter()
            .map(|p| (*p, p.as_str().to_owned(), tr.t(&phase_key(*p)))),
    );
    let (category, f_category) = select(
        &req,
        "category",
        "library-filter-category",
        Category::ALL
            .iter()
            .map(|c| (*c, c.as_str().to_owned(), tr.t(&category_key(*c)))),
    );
    let (min_severity, f_severity) = select(
        &req,
        "min_severity",
        "board-filter-severity",
        state.settings.severity.levels().iter().map(|l| {
            let name = match lang {
                kizuki_domain::settings::Language::Ja => &l.name_ja,
                kizuki_domain::settings::Language::En => &l.name_en,
            };
            (
                l.level,
                l.level.to_string(),
                tr.with(
                    "board-severity-at-least",
                    &[("level", l.level.into()), ("name", name.as_str().into())],
                ),
            )
        }),
    );
    // Lane owners: oneself, and for those who assign owners, everyone who may be one.
    let mut owners = vec![(principal.user.id, "me".to_owned(), tr.t("board-owner-me"))];
    if principal.user.role.may(Action::ManageMembers) {
        match state.store.list_users().await {
            Ok(users) => owners.extend(
                users
                    .into_iter()
                    .filter(|u| u.active && u.id != principal.user.id)
                    .map(|u| (u.id, u.id.to_string(), u.display_name)),
            ),
            Err(e) => return internal(&req, &e),
        }
    }
    let (lane_owner, f_owner) = select(&req, "owner", "board-filter-owner", owners);
    let text = query_param(&req.uri, "q").unwrap_or_default();
    let include_closed = query_param(&req.uri, "closed").is_some_and(|v| v == "1");
    let before = query_param(&req.uri, "before").and_then(|b| b.parse::<i64>().ok());
    let filter = IncidentFilter {
        phases: phase.into_iter().collect(),
        categories: category.into_iter().collect(),
        min_severity,
        open_only: !include_closed && phase != Some(Phase::Closed),
        text: Some(text.clone()).filter(|t| !t.trim().is_empty()),
        lane_owner,
        before_id: before,
        limit: IncidentFilter::DEFAULT_LIMIT,
        viewer: Some(principal.viewer()),
        exercises: Default::default(),
    };
    let page = match state.store.list_incidents(&filter).await {
        Ok(p) => p,
        Err(e) => return internal(&req, &e),
    };
    // The counts are over everything open that this person may see, whatever the filters.
    let open = IncidentFilter {
        open_only: true,
        limit: IncidentFilter::MAX_LIMIT,
        viewer: Some(principal.viewer()),
        ..IncidentFilter::default()
    };
    let open_page = match state.store.list_incidents(&open).await {
        Ok(p) => p,
        Err(e) => return internal(&req, &e),
    };
    let capped = open_page.next_before_id.is_some();
    let counts = Phase::ALL
        .iter()
        .filter(|p| **p != Phase::Closed)
        .map(|p| {
            let n = open_page.items.iter().filter(|i| i.phase == *p).count();
            PhaseCount {
                label: tr.t(&phase_key(*p)),
                count: if capped {
                    format!("{n}+")
                } else {
                    n.to_string()
                },
                href: format!("/incidents?phase={}", p.as_str()),
            }
        })
        .collect();
    let mut rows = Vec::with_capacity(page.items.len());
    for incident in page.items {
        let view = match crate::api::incidents::view(&state, incident).await {
            Ok(v) => v,
            Err(e) => return internal(&req, &e),
        };
        let clock = view
            .legal_clocks
            .iter()
            .filter(|c| c.status != ClockStatus::Met)
            .min_by_key(|c| c.due_at)
            .map(|c| ClockCell {
                name: clock_name(tr, c),
                status: tr.t(&clock_status_key(c.status)),
                due: req.local_time(c.due_at),
                urgent: matches!(c.status, ClockStatus::Due | ClockStatus::Overdue),
            });
        let i = view.incident;
        rows.push(Row {
            id: i.id,
            title: i.title,
            severity: i.severity,
            severity_name: match lang {
                kizuki_domain::settings::Language::Ja => view.severity_name_ja,
                kizuki_domain::settings::Language::En => view.severity_name_en,
            },
            phase: tr.t(&phase_key(i.phase)),
            category: tr.t(&category_key(i.category)),
            day: tr.t1("when-day", "day", view.day_today),
            clock,
            exercise: i.exercise,
        });
    }
    let next = page.next_before_id.map(|b| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = req.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if k != "before" {
                    query.append_pair(&k, &v);
                }
            }
        }
        query.append_pair("before", &b.to_string());
        format!("/incidents?{}", query.finish())
    });
    let shown = tr.t1(
        "board-shown",
        "count",
        i64::try_from(rows.len()).unwrap_or(0),
    );
    let title = tr.t("board-title");
    let page = BoardPage {
        layout: req.layout(title, Nav::Incidents),
        t: tr,
        text,
        selects: vec![f_phase, f_severity, f_category, f_owner],
        include_closed,
        counts,
        rows,
        shown,
        may_create: principal.user.role.may(Action::CreateIncident),
        on_call: if super::notifications::sees_notifications(principal.user.role) {
            super::oncall::now(&state, &req).await
        } else {
            Vec::new()
        },
        next,
    };
    req.render(StatusCode::OK, &page)
}

fn internal(req: &WebRequest, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "could not show the incident board");
    req.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        req.tr.t("internal-error"),
    )
}
