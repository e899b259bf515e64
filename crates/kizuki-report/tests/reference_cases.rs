//! The study's ten cases, replayed: the report's timeline table must read like the case's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use kizuki_domain::settings::{Language, OrgSettings};
use kizuki_domain::timeline::{Lane, TimePrecision, TimelineEntry, day_label};
use kizuki_reference::{Case, Library, TimelineItem};
use kizuki_report::{
    CauseAnalysis, ReaderLevel, ReportInput, ReviewFields, ReviewLesson, Section, build, html,
    markdown,
};

const LANGS: [Language; 2] = [Language::Ja, Language::En];

/// The day number of an item known to the day (or finer), if any.
fn item_day(item: &TimelineItem) -> Option<i64> {
    item.day.or(item.day_before.map(|n| 1 - i64::from(n)))
}

/// A start date whose weekends and national holidays fall on exactly the days the case
/// marks 休, so the holiday marks can be compared one for one. The search covers 2015–2029.
fn matching_start(case: &Case, tz: &TimeZone) -> Option<Date> {
    let marked: Vec<(i64, bool)> = case
        .timeline
        .iter()
        .filter_map(|i| item_day(i).map(|d| (d, i.holiday)))
        .collect();
    let mut start = date(2015, 1, 1);
    while start < date(2030, 1, 1) {
        let ok = marked.iter().all(|(d, holiday)| {
            let Ok(day) = start.checked_add(jiff::Span::new().days(d - 1)) else {
                return false;
            };
            let at = day
                .to_datetime(jiff::civil::time(12, 0, 0, 0))
                .to_zoned_datetime(tz.clone())
                .unwrap()
                .timestamp();
            day_label(start, at, TimePrecision::Day, None, tz).rest_day == *holiday
        });
        if ok {
            return Some(start);
        }
        start = start.tomorrow().unwrap();
    }
    None
}

fn entries(case: &Case, start: Date, lang: Language, tz: &TimeZone) -> Vec<TimelineEntry> {
    case.timeline_entries(start, lang)
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let f = e.into_fields(start, tz, common::now()).unwrap();
            common::stored(i64::try_from(i).unwrap() + 1, f)
        })
        .collect()
}

fn review(case: &Case, lang: Language) -> ReviewFields {
    ReviewFields {
        reader_level: Some(ReaderLevel::Basic),
        organisation_profile: case.organisation_type.label(lang).to_owned(),
        main_cause: case
            .attack_vectors
            .iter()
            .map(|v| v.label(lang))
            .collect::<Vec<_>>()
            .join(", "),
        situation: case.situation.get(lang).to_owned(),
        background: case.background.get(lang).to_owned(),
        causes: case
            .causes
            .iter()
            .map(|c| CauseAnalysis {
                technical: c.technical.get(lang).to_owned(),
                organisational: c.organisational.get(lang).to_owned(),
            })
            .collect(),
        damage_limiters: case
            .damage_limiters
            .iter()
            .map(|t| t.get(lang).to_owned())
            .collect(),
        lessons: case
            .lessons
            .iter()
            .map(|l| ReviewLesson {
                text: l.text.get(lang).to_owned(),
                categories: l.categories.clone(),
                action: String::new(),
            })
            .collect(),
        challenges: case
            .challenges
            .iter()
            .map(|t| t.get(lang).to_owned())
            .collect(),
    }
}

/// The label the study gives an item, as a prefix of the report's label.
fn day_prefix(item: &TimelineItem, lang: Language) -> Option<String> {
    if let Some(d) = item_day(item) {
        return Some(match (lang, d >= 1) {
            (Language::Ja, true) => format!("{d}日目"),
            (Language::En, true) => format!("Day {d}"),
            (Language::Ja, false) => format!("{}日前", 1 - d),
            (Language::En, false) => {
                let n = 1 - d;
                format!("{n} day{} before", if n == 1 { "" } else { "s" })
            }
        });
    }
    item.week.map(|w| match lang {
        Language::Ja => format!("{w}週目"),
        Language::En => format!("Week {w}"),
    })
}

#[test]
fn every_case_replays_into_the_studys_timeline_table() {
    let library = Library::builtin().unwrap();
    let tz = common::tokyo();
    assert_eq!(library.cases().len(), 10);
    for case in library.cases() {
        let start = matching_start(case, &tz)
            .unwrap_or_else(|| panic!("{}: no start date matches its holiday marks", case.id));
        for lang in LANGS {
            let settings = OrgSettings {
                language: lang,
                ..OrgSettings::default()
            };
            let mut incident =
                common::incident(case.title.get(lang), case.overview.get(lang), start);
            incident.impact.notes = case.impact.get(lang).to_owned();
            let timeline = entries(case, start, lang, &tz);
            let fields = review(case, lang);
            let report = build(
                &ReportInput {
                    incident: &incident,
                    timeline: &timeline,
                    decisions: &[],
                    tasks: &[],
                    review: Some(&fields),
                },
                &settings,
                lang,
            );
            let ctx = format!("{} ({lang})", case.id);

            // Flatten the table back into (row, lane, text), in reading order.
            let lanes = &report.timeline.lanes;
            let mut cells = Vec::new();
            for row in &report.timeline.rows {
                for (lane, cell) in lanes.iter().zip(&row.cells) {
                    for item in cell {
                        cells.push((row, *lane, item.text.clone()));
                    }
                }
            }
            let dated: Vec<&TimelineItem> = case.timeline.iter().filter(|i| i.is_dated()).collect();
            assert_eq!(cells.len(), dated.len(), "{ctx}: entry count");

            // Rows keep the study's order; inside a row, cells go by lane, so compare
            // each row's multiset of (lane, text).
            let mut i = 0;
            for row in &report.timeline.rows {
                let n: usize = row.cells.iter().map(Vec::len).sum();
                let mut want: Vec<(Lane, String)> = dated[i..i + n]
                    .iter()
                    .map(|it| (it.lane, it.text.get(lang).trim().to_owned()))
                    .collect();
                let mut got: Vec<(Lane, String)> = lanes
                    .iter()
                    .zip(&row.cells)
                    .flat_map(|(l, c)| c.iter().map(|it| (*l, it.text.clone())))
                    .collect();
                want.sort();
                got.sort();
                assert_eq!(got, want, "{ctx}: row {}", row.label);
                for item in &dated[i..i + n] {
                    if let Some(prefix) = day_prefix(item, lang) {
                        let rest = row.label.strip_prefix(&prefix).unwrap_or_else(|| {
                            panic!("{ctx}: `{}` does not start with `{prefix}`", row.label)
                        });
                        assert!(
                            !rest.starts_with(|c: char| c.is_ascii_digit()),
                            "{ctx}: `{}` is not `{prefix}`",
                            row.label
                        );
                    }
                    if let Some(t) = &item.time {
                        let (h, m) = t.split_once(':').unwrap();
                        let h: u8 = h.parse().unwrap();
                        let hhmm = format!("{h}:{m}");
                        assert!(row.label.ends_with(&hhmm), "{ctx}: `{}` vs {t}", row.label);
                    }
                    if item_day(item).is_some() {
                        assert_eq!(row.rest_day, item.holiday, "{ctx}: 休 on `{}`", row.label);
                        let mark = match lang {
                            Language::Ja => "（休）",
                            Language::En => "(holiday)",
                        };
                        assert_eq!(
                            row.label.contains(mark),
                            item.holiday,
                            "{ctx}: {}",
                            row.label
                        );
                    }
                }
                i += n;
            }

            // The case supplies every section except actions for its lessons;
            // a case without a dated timeline (case 6) must still render, and say so.
            let mut expected = Vec::new();
            if dated.is_empty() {
                expected.push(Section::Timeline);
            }
            expected.push(Section::LessonActions);
            assert_eq!(report.missing, expected, "{ctx}: missing sections");

            let md = markdown::render(&report);
            let page = html::render(&report);
            for row in &report.timeline.rows {
                assert!(
                    page.contains(&html::escape(&row.label)),
                    "{ctx}: html {}",
                    row.label
                );
                assert!(md.contains(&row.label), "{ctx}: md {}", row.label);
            }
            assert!(
                !page.contains("<script") && !page.contains("style"),
                "{ctx}"
            );
        }
    }
}
