//! The report's reading order, shared by every renderer: a renderer only says how a
//! heading, a paragraph, a list or a table looks.

use kizuki_domain::settings::Language;

use crate::model::{AfterActionReport, Section};
use crate::text::{self, t};

/// A table row: cells of plain text (each cell a list of lines), and whether the row is
/// a rest day (the study's 休).
pub(crate) struct Row {
    pub(crate) cells: Vec<Vec<String>>,
    pub(crate) rest_day: bool,
}

pub(crate) trait Sink {
    fn heading(&mut self, level: u8, text: &str, class: &str);
    fn para(&mut self, text: &str);
    /// A placeholder for a section with no content.
    fn missing(&mut self, text: &str);
    fn list(&mut self, items: &[String], class: &str);
    fn pairs(&mut self, items: &[(String, String)], class: &str);
    fn table(&mut self, header: &[String], rows: &[Row], class: &str);
}

pub(crate) fn walk(r: &AfterActionReport, s: &mut dyn Sink) {
    let lang = r.language;
    let missing = |sec: Section| r.missing.contains(&sec);
    s.heading(
        1,
        &format!("{}: {}", t(lang, text::REPORT), r.title),
        "report-title",
    );

    // Header: reader, organisation, main cause.
    let header = [
        (
            Section::ReaderLevel,
            r.reader_level
                .map(|l| text::reader_level(lang, l).to_owned())
                .unwrap_or_default(),
        ),
        (Section::OrganisationProfile, r.organisation_profile.clone()),
        (Section::MainCause, r.main_cause.clone()),
    ];
    let pairs: Vec<(String, String)> = header
        .into_iter()
        .map(|(sec, v)| {
            let v = if v.is_empty() {
                t(lang, text::NOT_RECORDED).to_owned()
            } else {
                v
            };
            (text::section(lang, sec).to_owned(), v)
        })
        .collect();
    s.pairs(&pairs, "report-header");

    if !r.missing.is_empty() {
        s.heading(2, t(lang, text::MISSING), "missing");
        s.para(t(lang, text::MISSING_INTRO));
        let items: Vec<String> = r
            .missing
            .iter()
            .map(|m| text::missing_line(lang, *m))
            .collect();
        s.list(&items, "missing");
    }

    prose(
        s,
        lang,
        Section::Overview,
        &r.overview,
        missing(Section::Overview),
    );
    s.heading(3, t(lang, text::FACTS), "facts");
    s.pairs(&r.facts, "facts");

    prose(
        s,
        lang,
        Section::Situation,
        &r.situation,
        missing(Section::Situation),
    );

    s.heading(2, text::section(lang, Section::Timeline), "timeline");
    if r.timeline.rows.is_empty() {
        s.missing(&text::missing_line(lang, Section::Timeline));
    } else {
        let mut head = vec![t(lang, text::TIME).to_owned()];
        head.extend(r.timeline.lanes.iter().map(|l| l.label(lang).to_owned()));
        let rows: Vec<Row> = r
            .timeline
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![vec![row.label.clone()]];
                cells.extend(row.cells.iter().map(|cell| {
                    cell.iter()
                        .map(|i| {
                            if i.actor.is_empty() {
                                i.text.clone()
                            } else {
                                format!("[{}] {}", i.actor, i.text)
                            }
                        })
                        .collect()
                }));
                Row {
                    cells,
                    rest_day: row.rest_day,
                }
            })
            .collect();
        s.table(&head, &rows, "timeline");
        s.para(t(lang, text::HOLIDAY_NOTE));
    }

    s.heading(3, t(lang, text::FIGURES), "figures");
    let f = &r.figures;
    let figures = [
        (text::FIG_DETECT, &f.detect),
        (text::FIG_ACK, &f.acknowledge),
        (text::FIG_CONTAIN, &f.contain),
        (text::FIG_RECOVER, &f.recover),
    ];
    let pairs: Vec<(String, String)> = figures
        .iter()
        .map(|(label, fig)| (t(lang, *label).to_owned(), text::figure(lang, fig)))
        .collect();
    s.pairs(&pairs, "figures");
    s.para(t(lang, text::FIGURES_NOTE));

    prose(
        s,
        lang,
        Section::Background,
        &r.background,
        missing(Section::Background),
    );
    section_list(s, lang, Section::Impact, &r.impact);

    // Causes: each technical cause with the organisational cause behind it.
    s.heading(
        2,
        &format!(
            "{} / {}",
            text::section(lang, Section::TechnicalCause),
            text::section(lang, Section::RootCause)
        ),
        "causes",
    );
    if r.causes.is_empty() {
        s.missing(&text::missing_line(lang, Section::TechnicalCause));
        s.missing(&text::missing_line(lang, Section::RootCause));
    } else {
        let head = vec![
            t(lang, text::TECHNICAL).to_owned(),
            t(lang, text::ORGANISATIONAL).to_owned(),
        ];
        let rows: Vec<Row> = r
            .causes
            .iter()
            .map(|c| Row {
                cells: vec![
                    vec![or_missing(lang, &c.technical)],
                    vec![or_missing(lang, &c.organisational)],
                ],
                rest_day: false,
            })
            .collect();
        s.table(&head, &rows, "causes");
    }

    section_list(s, lang, Section::DamageLimiters, &r.damage_limiters);

    s.heading(2, text::section(lang, Section::Lessons), "lessons");
    if r.lessons.is_empty() {
        s.missing(&text::missing_line(lang, Section::Lessons));
    } else {
        let head = vec![
            text::section(lang, Section::Lessons).to_owned(),
            t(lang, ("分類", "Category")).to_owned(),
            t(lang, text::ACTION).to_owned(),
        ];
        let rows: Vec<Row> = r
            .lessons
            .iter()
            .map(|l| Row {
                cells: vec![
                    vec![l.text.trim().to_owned()],
                    l.categories
                        .iter()
                        .map(|c| c.label(lang).to_owned())
                        .collect(),
                    vec![or_missing(lang, &l.action)],
                ],
                rest_day: false,
            })
            .collect();
        s.table(&head, &rows, "lessons");
    }

    section_list(s, lang, Section::Challenges, &r.challenges);

    if !r.decisions.is_empty() {
        s.heading(2, t(lang, text::DECISIONS), "decisions");
        let items: Vec<(String, String)> = r
            .decisions
            .iter()
            .map(|d| {
                let mut v = d
                    .chosen
                    .clone()
                    .unwrap_or_else(|| t(lang, text::UNDECIDED).to_owned());
                if !d.decided_by.trim().is_empty() {
                    v = format!("{v} ({})", d.decided_by.trim());
                }
                if !d.rationale.trim().is_empty() {
                    v = format!("{v}: {}", d.rationale.trim());
                }
                (d.question.clone(), v)
            })
            .collect();
        s.pairs(&items, "decisions");
    }

    let ts = &r.tasks;
    if ts.done + ts.skipped + ts.open.len() > 0 {
        s.heading(2, t(lang, text::TASKS), "tasks");
        s.para(&format!(
            "{} {} / {} {} / {} {}",
            t(lang, text::TASKS_DONE),
            ts.done,
            t(lang, text::TASKS_SKIPPED),
            ts.skipped,
            t(lang, text::TASKS_OPEN),
            ts.open.len()
        ));
        if !ts.open.is_empty() {
            s.list(&ts.open, "open-tasks");
        }
    }
}

fn or_missing(lang: Language, s: &str) -> String {
    if s.trim().is_empty() {
        t(lang, text::NOT_RECORDED).to_owned()
    } else {
        s.trim().to_owned()
    }
}

fn prose(s: &mut dyn Sink, lang: Language, sec: Section, body: &str, missing: bool) {
    s.heading(2, text::section(lang, sec), class_of(sec));
    if missing {
        s.missing(&text::missing_line(lang, sec));
    } else {
        for p in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            s.para(p);
        }
    }
}

fn section_list(s: &mut dyn Sink, lang: Language, sec: Section, items: &[String]) {
    s.heading(2, text::section(lang, sec), class_of(sec));
    if items.is_empty() {
        s.missing(&text::missing_line(lang, sec));
    } else {
        s.list(items, class_of(sec));
    }
}

fn class_of(sec: Section) -> &'static str {
    match sec {
        Section::ReaderLevel => "reader-level",
        Section::OrganisationProfile => "organisation",
        Section::MainCause => "main-cause",
        Section::Overview => "overview",
        Section::Situation => "situation",
        Section::Timeline => "timeline",
        Section::Background => "background",
        Section::Impact => "impact",
        Section::TechnicalCause => "technical-cause",
        Section::RootCause => "root-cause",
        Section::DamageLimiters => "damage-limiters",
        Section::Lessons => "lessons",
        Section::LessonActions => "lesson-actions",
        Section::Challenges => "challenges",
    }
}
