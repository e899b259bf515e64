//! `/library` and `/library/{n}`: the study's ten cases, searchable, and one case laid out
//! the way the study lays it out (the timeline in lanes side by side, by Day N).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kizuki_domain::access::Action;
use kizuki_domain::incident::Category;
use kizuki_domain::timeline::{DayPart, Lane};
use kizuki_reference::{AttackVector, Case, LessonCategory, OrganisationType, Query, TimelineItem};

use super::{Layout, Nav, WebRequest, query_param};
use crate::AppState;
use crate::web::i18n::{Arg, Tr};

pub(super) fn category_key(c: Category) -> String {
    format!("category-{}", c.as_str())
}

pub(super) fn lane_key(l: Lane) -> String {
    format!("lane-{}", l.as_str())
}

pub(super) fn day_part_key(p: DayPart) -> String {
    format!("day-part-{}", p.as_str())
}

/// One option of a filter.
#[derive(Debug)]
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// A filter as a `<select>`: its options and, when the address named an unknown value, the
/// message shown beside it.
#[derive(Debug)]
struct Filter {
    name: &'static str,
    label: String,
    choices: Vec<Choice>,
    error: Option<String>,
}

/// Reads filter `name` from the address: a known term, nothing, or a message about what
/// was typed.
fn filter<T: Copy + PartialEq + std::str::FromStr>(
    req: &WebRequest,
    name: &'static str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    label: impl Fn(T) -> String,
) -> (Option<T>, Filter) {
    let raw = query_param(&req.uri, name).filter(|v| !v.is_empty());
    let chosen = raw.as_deref().and_then(|v| v.parse::<T>().ok());
    let error = match (&raw, chosen) {
        (Some(v), None) => Some(req.tr.t1("library-filter-unknown", "value", v.as_str())),
        _ => None,
    };
    let choices = all
        .iter()
        .map(|t| Choice {
            value: as_str(*t),
            label: label(*t),
            selected: chosen == Some(*t),
        })
        .collect();
    (
        chosen,
        Filter {
            name,
            label: req.tr.t(&format!("library-filter-{name}")),
            choices,
            error,
        },
    )
}

/// A case in the result list.
#[derive(Debug)]
struct CaseSummary {
    number: u8,
    title: String,
    organisation: String,
    category: String,
    vectors: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    layout: Layout,
    t: Tr,
    text: String,
    filters: Vec<Filter>,
    cases: Vec<CaseSummary>,
    count: String,
}

/// `GET /library`.
pub async fn index(State(state): State<AppState>, req: WebRequest) -> Response {
    if let Err(refused) = req.require(&state, Action::ReadReference).await {
        return refused;
    }
    let tr = req.tr;
    let lang = tr.lang;
    let text = query_param(&req.uri, "q").unwrap_or_default();
    let (category, f_category) = filter(&req, "category", Category::ALL, Category::as_str, |c| {
        tr.t(&category_key(c))
    });
    let (attack_vector, f_vector) = filter(
        &req,
        "attack_vector",
        AttackVector::ALL,
        AttackVector::as_str,
        |v| v.label(lang).to_owned(),
    );
    let (organisation_type, f_org) = filter(
        &req,
        "organisation_type",
        OrganisationType::ALL,
        OrganisationType::as_str,
        |o| o.label(lang).to_owned(),
    );
    let (lesson_category, f_lesson) = filter(
        &req,
        "lesson_category",
        LessonCategory::ALL,
        LessonCategory::as_str,
        |c| c.label(lang).to_owned(),
    );
    let query = Query {
        text: Some(text.clone()).filter(|t| !t.trim().is_empty()),
        category,
        attack_vector,
        organisation_type,
        lesson_category,
    };
    let cases: Vec<CaseSummary> = state
        .reference
        .search(&query)
        .into_iter()
        .map(|c| CaseSummary {
            number: c.number,
            title: c.title.get(lang).to_owned(),
            organisation: c.organisation_type.label(lang).to_owned(),
            category: tr.t(&category_key(c.category)),
            vectors: c.attack_vectors.iter().map(|v| v.label(lang)).collect(),
        })
        .collect();
    let count = tr.t1(
        "library-count",
        "count",
        i64::try_from(cases.len()).unwrap_or(0),
    );
    let title = tr.t("library-title");
    let page = LibraryPage {
        layout: req.layout(title, Nav::Library),
        t: tr,
        text,
        filters: vec![f_category, f_vector, f_org, f_lesson],
        cases,
        count,
    };
    req.render(StatusCode::OK, &page)
}

/// One row of the timeline table: a period (and time) with what each lane did in it.
#[derive(Debug)]
struct Row {
    when: String,
    holiday: bool,
    /// The hour or part of the day, when the study gives one.
    at: Option<String>,
    /// One cell per lane shown, in the order of the header.
    cells: Vec<Vec<String>>,
}

#[derive(Debug)]
struct Section {
    title: String,
    text: String,
}

#[derive(Debug)]
struct CauseView {
    technical: String,
    organisational: String,
}

#[derive(Debug)]
struct LessonGroup {
    category: String,
    lessons: Vec<String>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    t: Tr,
    heading: String,
    organisation: String,
    category: String,
    vectors: Vec<&'static str>,
    day_one: String,
    sections: Vec<Section>,
    timeline_note: Option<String>,
    lanes: Vec<String>,
    rows: Vec<Row>,
    causes: Vec<CauseView>,
    limiters: Vec<String>,
    lessons: Vec<LessonGroup>,
    challenges: Vec<String>,
}

/// `GET /library/{n}` (also by id, `case-03`).
pub async fn case(
    State(state): State<AppState>,
    req: WebRequest,
    Path(wanted): Path<String>,
) -> Response {
    if let Err(refused) = req.require(&state, Action::ReadReference).await {
        return refused;
    }
    let Some(c) = state.reference.case(&wanted) else {
        return req.not_found();
    };
    let tr = req.tr;
    let lang = tr.lang;
    let (lanes, rows) = timeline(c, tr);
    let heading = tr.with(
        "case-heading",
        &[
            ("number", Arg::from(c.number)),
            ("title", Arg::from(c.title.get(lang))),
        ],
    );
    let page = CasePage {
        layout: req.layout(heading.clone(), Nav::Library),
        t: tr,
        heading,
        organisation: c.organisation_type.label(lang).to_owned(),
        category: tr.t(&category_key(c.category)),
        vectors: c.attack_vectors.iter().map(|v| v.label(lang)).collect(),
        day_one: c.start_basis.map_or_else(
            || tr.t("case-no-dated-timeline"),
            |b| b.label(lang).to_owned(),
        ),
        sections: [
            ("case-overview", &c.overview),
            ("case-situation", &c.situation),
            ("case-background", &c.background),
            ("case-impact", &c.impact),
        ]
        .into_iter()
        .map(|(key, text)| Section {
            title: tr.t(key),
            text: text.get(lang).to_owned(),
        })
        .collect(),
        timeline_note: c.timeline_note.as_ref().map(|n| n.get(lang).to_owned()),
        lanes,
        rows,
        causes: c
            .causes
            .iter()
            .map(|cause| CauseView {
                technical: cause.technical.get(lang).to_owned(),
                organisational: cause.organisational.get(lang).to_owned(),
            })
            .collect(),
        limiters: c
            .damage_limiters
            .iter()
            .map(|t| t.get(lang).to_owned())
            .collect(),
        lessons: LessonCategory::ALL
            .iter()
            .filter_map(|cat| {
                let lessons: Vec<String> = c
                    .lessons
                    .iter()
                    .filter(|l| l.categories.contains(cat))
                    .map(|l| l.text.get(lang).to_owned())
                    .collect();
                (!lessons.is_empty()).then(|| LessonGroup {
                    category: cat.label(lang).to_owned(),
                    lessons,
                })
            })
            .collect(),
        challenges: c
            .challenges
            .iter()
            .map(|t| t.get(lang).to_owned())
            .collect(),
    };
    req.render(StatusCode::OK, &page)
}

/// The lanes to show (the study's three, and the external parties when the case has them)
/// and the rows: one per period and time, in the study's order; an entry the study lists
/// without a date of its own joins the row before it.
fn timeline(c: &Case, tr: Tr) -> (Vec<String>, Vec<Row>) {
    let mut lanes = vec![Lane::ManagementPr, Lane::CisoCsirt, Lane::ItBusiness];
    if c.timeline.iter().any(|i| i.lane == Lane::External) {
        lanes.push(Lane::External);
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut last_key: Option<(String, Option<String>)> = None;
    for item in &c.timeline {
        let when = period(item, tr);
        let at = item
            .time
            .as_deref()
            .map(|t| {
                t.strip_prefix('0')
                    .filter(|r| r.len() == 4)
                    .unwrap_or(t)
                    .to_owned()
            })
            .or_else(|| item.day_part.map(|p| tr.t(&day_part_key(p))));
        let key = (when.clone(), at.clone());
        let joins = match rows.last() {
            Some(_) if item.continued || !item.is_dated() => true,
            Some(_) => last_key.as_ref() == Some(&key),
            None => false,
        };
        if !joins {
            rows.push(Row {
                when,
                holiday: item.holiday,
                at,
                cells: vec![Vec::new(); lanes.len()],
            });
            last_key = Some(key);
        }
        let column = lanes.iter().position(|l| *l == item.lane).unwrap_or(0);
        if let Some(row) = rows.last_mut()
            && let Some(cell) = row.cells.get_mut(column)
        {
            cell.push(item.text.get(tr.lang).to_owned());
        }
    }
    let names = lanes.iter().map(|l| tr.t(&lane_key(*l))).collect();
    (names, rows)
}

/// The period of an entry as the study names it: "Day 3", "11 days before", "Week 2 or
/// later", "Month 2".
fn period(item: &TimelineItem, tr: Tr) -> String {
    if let Some(d) = item.day {
        tr.t1("when-day", "day", d)
    } else if let Some(n) = item.day_before {
        tr.t1("when-days-before", "n", n)
    } else if let Some(w) = item.week {
        if item.week_or_later {
            tr.t1("when-week-or-later", "week", w)
        } else {
            tr.t1("when-week", "week", w)
        }
    } else if let Some(m) = item.month {
        tr.t1("when-month", "month", m)
    } else if let Some(m) = item.months_before_at_least {
        tr.t1("when-months-before", "n", m)
    } else {
        tr.t("when-undated")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kizuki_domain::settings::Language;

    #[test]
    fn case_3_rows_follow_the_study() {
        let library = kizuki_reference::Library::builtin().unwrap();
        let c = library.case("3").unwrap();
        let (lanes, rows) = timeline(c, Tr::new(Language::En));
        assert_eq!(lanes.len(), 3);
        assert!(rows.iter().any(|r| r.when == "Day 7"));
        let entries: usize = rows.iter().flat_map(|r| &r.cells).map(Vec::len).sum();
        assert_eq!(entries, c.timeline.len(), "every entry lands in one cell");
        // Case 3 has no rest days; case 2 marks several.
        let (_, rows) = timeline(library.case("2").unwrap(), Tr::new(Language::Ja));
        assert!(rows.iter().any(|r| r.holiday));
    }
}
