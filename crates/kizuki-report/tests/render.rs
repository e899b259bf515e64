//! Rendering an incident the review has not started on, hostile text, and the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use jiff::civil::date;
use kizuki_domain::decision::{Decision, DecisionOption};
use kizuki_domain::settings::{Language, OrgSettings};
use kizuki_domain::timeline::{EntryKind, Lane, TimePrecision, TimelineEntry};
use kizuki_report::figures::format_duration;
use kizuki_report::{
    AfterActionReport, CauseAnalysis, ReportInput, ReviewFields, ReviewLesson, Section, build,
    html, markdown,
};

fn report(
    timeline: &[TimelineEntry],
    decisions: &[Decision],
    review: Option<&ReviewFields>,
    title: &str,
    lang: Language,
) -> AfterActionReport {
    let incident = common::incident(title, "", date(2026, 1, 5));
    build(
        &ReportInput {
            incident: &incident,
            timeline,
            decisions,
            tasks: &[],
            review,
        },
        &OrgSettings::default(),
        lang,
    )
}

#[test]
fn an_empty_incident_renders_and_asks_for_every_section() {
    for lang in [Language::Ja, Language::En] {
        let r = report(&[], &[], None, "Empty", lang);
        assert!(r.timeline.rows.is_empty());
        assert_eq!(
            r.missing,
            vec![
                Section::ReaderLevel,
                Section::OrganisationProfile,
                Section::MainCause,
                Section::Overview,
                Section::Situation,
                Section::Timeline,
                Section::Background,
                Section::Impact,
                Section::TechnicalCause,
                Section::RootCause,
                Section::DamageLimiters,
                Section::Lessons,
                Section::Challenges,
            ]
        );
        assert!(!r.figures.detect.is_known() && !r.figures.recover.is_known());
        let md = markdown::render(&r);
        let page = html::render(&r);
        let (root, unknown) = match lang {
            Language::En => ("Root cause: not yet recorded", "unknown"),
            Language::Ja => ("組織的な根本原因: 未記録", "不明"),
        };
        assert!(md.contains(root), "{md}");
        assert!(page.contains(root), "{page}");
        assert!(md.contains(unknown) && page.contains(unknown));
        assert!(page.contains("<p class=\"missing\">"));
    }
}

#[test]
fn a_lesson_without_an_action_is_asked_for() {
    let review = ReviewFields {
        lessons: vec![ReviewLesson {
            text: "Backups were reachable from the domain".to_owned(),
            categories: vec![kizuki_reference::LessonCategory::BusinessRecovery],
            action: String::new(),
        }],
        ..ReviewFields::default()
    };
    let r = report(&[], &[], Some(&review), "t", Language::En);
    assert!(r.missing.contains(&Section::LessonActions));
    assert!(!r.missing.contains(&Section::Lessons));
    assert!(markdown::render(&r).contains("Business recovery"));
}

#[test]
fn hostile_text_is_escaped_everywhere_in_html() {
    let evil = "<script>alert('x')</script>\"&<img src=x onerror=alert(1)> | [a](javascript:x)";
    let review = ReviewFields {
        organisation_profile: evil.to_owned(),
        background: evil.to_owned(),
        causes: vec![CauseAnalysis {
            technical: evil.to_owned(),
            organisational: evil.to_owned(),
        }],
        lessons: vec![ReviewLesson {
            text: evil.to_owned(),
            categories: vec![],
            action: evil.to_owned(),
        }],
        challenges: vec![evil.to_owned()],
        ..ReviewFields::default()
    };
    let timeline = [common::entry(
        1,
        "2026-01-05T01:00:00Z",
        TimePrecision::Minute,
        Lane::CisoCsirt,
        EntryKind::Detection,
        evil,
    )];
    let decisions = [Decision {
        id: 1,
        incident_id: 7,
        question: evil.to_owned(),
        options: vec![DecisionOption {
            label: evil.to_owned(),
            scenario: String::new(),
        }],
        chosen: Some(0),
        decided_by: evil.to_owned(),
        decided_at: None,
        rationale: evil.to_owned(),
        decide_by: None,
        created_at: common::now(),
    }];
    let r = report(&timeline, &decisions, Some(&review), evil, Language::En);
    let page = html::render(&r);
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("style"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"));
    let md = markdown::render(&r);
    assert!(!md.contains("<script") && !md.contains("<img"), "{md}");
    // A pipe in a cell must not split the table, nor brackets make a link.
    assert!(md.contains(r"\| \[a\](javascript:x)"), "{md}");
}

#[test]
fn figures_are_read_from_entry_kinds() {
    use EntryKind::*;
    use TimePrecision::*;
    // Tokyo is UTC+9: 2026-01-05 is Day 1.
    let timeline = [
        common::entry(
            1,
            "2026-01-03T15:00:00Z",
            Minute,
            Lane::ItBusiness,
            Other,
            "VPN login",
        ),
        common::entry(
            2,
            "2026-01-05T00:30:00Z",
            Minute,
            Lane::CisoCsirt,
            Detection,
            "EDR",
        ),
        common::entry(
            3,
            "2026-01-05T01:15:00Z",
            Minute,
            Lane::CisoCsirt,
            Analysis,
            "triage",
        ),
        common::entry(
            4,
            "2026-01-05T04:30:00Z",
            Minute,
            Lane::ItBusiness,
            Containment,
            "isolate",
        ),
        common::entry(
            5,
            "2026-01-06T00:00:00Z",
            Minute,
            Lane::ItBusiness,
            Recovery,
            "restore",
        ),
        common::entry(
            6,
            "2026-01-08T03:00:00Z",
            Day,
            Lane::ManagementPr,
            Recovery,
            "back",
        ),
    ];
    let r = report(&timeline, &[], None, "t", Language::En);
    let f = &r.figures;
    assert_eq!(f.detect.seconds, Some(33 * 3600 + 30 * 60));
    assert!(!f.detect.approximate);
    assert_eq!(f.acknowledge.seconds, Some(45 * 60));
    assert_eq!(f.contain.seconds, Some(4 * 3600));
    // The last recovery entry, known only to the day, finishes recovery.
    assert_eq!(f.recover.seconds, Some(3 * 86_400 + 2 * 3600 + 30 * 60));
    assert!(f.recover.approximate);
    assert_eq!(f.detect.to.as_ref().unwrap().label, "Day 1 9:30");
    assert_eq!(
        f.detect.from.as_ref().unwrap().label,
        "1 day before (holiday) 0:00"
    );

    let md = markdown::render(&r);
    assert!(
        md.contains("Time to detect (occurrence → detection)**: 1 d 9 h 30 min"),
        "{md}"
    );
    assert!(
        md.contains("Time to recover (detection → recovery done)**: about 3 d 2 h 30 min"),
        "{md}"
    );

    // Without a detection entry nothing can be measured.
    let no_detection: Vec<TimelineEntry> = timeline
        .iter()
        .filter(|e| e.kind != Detection)
        .cloned()
        .collect();
    let r = report(&no_detection, &[], None, "t", Language::Ja);
    assert!(!r.figures.detect.is_known());
    assert!(!r.figures.contain.is_known());
    assert!(markdown::render(&r).contains("不明"));

    // Timeline table: one row per Day-N label, the three lanes as columns.
    let r = report(&timeline, &[], None, "t", Language::Ja);
    assert_eq!(
        r.timeline.lanes,
        vec![Lane::ManagementPr, Lane::CisoCsirt, Lane::ItBusiness]
    );
    let labels: Vec<&str> = r.timeline.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "1日前（休）0:00",
            "1日目 9:30",
            "1日目 10:15",
            "1日目 13:30",
            "2日目 9:00",
            "4日目"
        ]
    );
}

#[test]
fn durations_read_naturally() {
    assert_eq!(format_duration(0, Language::En), "0 min");
    assert_eq!(format_duration(90 * 60, Language::Ja), "1時間30分");
    assert_eq!(format_duration(86_400 + 60, Language::En), "1 d 1 min");
    assert_eq!(format_duration(-3600, Language::En), "-1 h");
}
