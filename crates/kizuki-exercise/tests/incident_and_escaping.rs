//! Scripts from a past incident, action checks, and hostile text in the reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::incident::{Category, DetectionSource, Impact, Incident, Phase, StartBasis};
use kizuki_domain::settings::Language;
use kizuki_domain::task::TaskStatus;
use kizuki_domain::timeline::{
    DayPart, EntryKind, EntrySource, Lane, TimePrecision, TimelineEntry,
};
use kizuki_exercise::report;
use kizuki_exercise::{
    ExerciseAction, ExerciseError, ExerciseTask, Milestone, Script, Verdict, compare,
};

const HOSTILE: &str =
    "<script>alert('x')</script>\"><img src=x onerror=alert(1)> | **bold** [link](javascript:x)";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn incident(title: &str) -> Incident {
    Incident {
        id: 42,
        title: title.to_owned(),
        summary: String::new(),
        category: Category::Ransomware,
        severity: 3,
        phase: Phase::Closed,
        detection_source: DetectionSource::Edr,
        start_date: date(2026, 1, 8),
        start_basis: StartBasis::Detection,
        aware_at: ts("2026-01-08T01:00:00Z"),
        affected_units: vec![],
        affected_assets: vec![],
        impact: Impact::default(),
        restricted: false,
        exercise: false,
        version: 1,
        created_by: None,
        created_at: ts("2026-01-08T01:00:00Z"),
        updated_at: ts("2026-01-20T01:00:00Z"),
    }
}

fn entry(
    id: i64,
    at: &str,
    precision: TimePrecision,
    lane: Lane,
    kind: EntryKind,
    text: &str,
) -> TimelineEntry {
    TimelineEntry {
        id,
        incident_id: 42,
        occurred_at: ts(at),
        precision,
        day_part: (precision == TimePrecision::DayPart).then_some(DayPart::Night),
        lane,
        actor: "SOC".to_owned(),
        kind,
        text: text.to_owned(),
        source: EntrySource::Manual,
        created_by: None,
        created_at: ts("2026-01-20T00:00:00Z"),
    }
}

fn tokyo() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap()
}

/// A past incident, entries given out of order: one before Day 1, then Day 1 and Day 3
/// (Saturday 2026-01-10 in Tokyo).
fn entries() -> Vec<TimelineEntry> {
    vec![
        entry(
            5,
            "2026-01-10T13:00:00Z",
            TimePrecision::Minute,
            Lane::ManagementPr,
            EntryKind::Decision,
            "Board decides not to pay",
        ),
        entry(
            2,
            "2026-01-08T00:30:00Z",
            TimePrecision::Minute,
            Lane::CisoCsirt,
            EntryKind::Detection,
            "EDR alert on the file server",
        ),
        entry(
            1,
            "2026-01-05T03:00:00Z",
            TimePrecision::Day,
            Lane::External,
            EntryKind::Other,
            "VPN credentials sold",
        ),
        entry(
            3,
            "2026-01-08T02:00:00Z",
            TimePrecision::Minute,
            Lane::ManagementPr,
            EntryKind::Communication,
            "CISO briefs the president",
        ),
        entry(
            4,
            "2026-01-08T12:00:00Z",
            TimePrecision::DayPart,
            Lane::ItBusiness,
            EntryKind::Containment,
            "Network cut at every site",
        ),
    ]
}

#[test]
fn a_past_incident_becomes_a_script_in_case_time() {
    let script =
        Script::from_incident(&incident("Ransomware at HQ"), &entries(), &tokyo()).unwrap();
    assert_eq!(script.source, ExerciseSource::Incident { incident_id: 42 });
    assert_eq!(script.title, "Ransomware at HQ");
    let offsets: Vec<i64> = script.injects.iter().map(|i| i.offset_minutes).collect();
    // Day 1 00:00 Tokyo = 2026-01-07T15:00Z.
    assert_eq!(
        offsets,
        [-3 * 1440 + 12 * 60, 570, 660, 1260, 2 * 1440 + 22 * 60]
    );
    assert!(script.injects[0].background);
    assert_eq!(script.opening_offset(), 570);
    assert_eq!(script.injects[0].label_en, "3 days before");
    assert_eq!(script.injects[1].label_ja, "1日目 9:30");
    assert_eq!(script.injects[4].label_ja, "3日目（休）22:00");
    assert_eq!(script.marks.detection, Some(1));
    assert_eq!(script.marks.escalation, Some(2));
    assert_eq!(script.marks.containment, Some(3));
    assert_eq!(script.marks.recovery, None);
    assert_eq!(script.decision_points.len(), 1);
    assert_eq!(script.decision_points[0].opens_at_minutes, 1260);

    // Nobody recovers and the room decides earlier than the board did.
    let actions = vec![
        ExerciseAction {
            case_offset_minutes: 600,
            lane: Lane::CisoCsirt,
            kind: EntryKind::Detection,
            text: "triage".into(),
            actor: String::new(),
            decision_point: Some(0),
        },
        ExerciseAction {
            case_offset_minutes: 630,
            lane: Lane::CisoCsirt,
            kind: EntryKind::Communication,
            text: "brief".into(),
            actor: String::new(),
            decision_point: None,
        },
    ];
    let c = compare(&script, &actions, &[], 3 * 1440).unwrap();
    assert_eq!(
        c.milestone(Milestone::Escalation).unwrap().verdict,
        Verdict::Same
    );
    assert_eq!(
        c.milestone(Milestone::Escalation).unwrap().delta_minutes,
        Some(-30)
    );
    assert_eq!(
        c.milestone(Milestone::Containment).unwrap().verdict,
        Verdict::NotTaken
    );
    assert_eq!(
        c.milestone(Milestone::Recovery).unwrap().verdict,
        Verdict::NoOriginal
    );
    assert_eq!(c.decisions[0].verdict, Verdict::Earlier);
}

#[test]
fn incident_sources_that_cannot_be_replayed_are_typed_errors() {
    let mut exercise = incident("Drill");
    exercise.exercise = true;
    assert_eq!(
        Script::from_incident(&exercise, &entries(), &tokyo()).unwrap_err(),
        ExerciseError::SourceIsExercise { incident_id: 42 }
    );
    assert_eq!(
        Script::from_incident(&incident("Quiet"), &[], &tokyo()).unwrap_err(),
        ExerciseError::EmptyIncidentTimeline { incident_id: 42 }
    );
    let far = vec![entry(
        1,
        "9000-01-01T00:00:00Z",
        TimePrecision::Minute,
        Lane::External,
        EntryKind::Other,
        "x",
    )];
    let err = Script::from_incident(&incident("Far"), &far, &tokyo()).unwrap_err();
    assert_eq!(err.field(), Some("occurred_at"));
}

#[test]
fn actions_naming_missing_decision_points_are_refused() {
    let script = Script::from_incident(&incident("X"), &entries(), &tokyo()).unwrap();
    let bad = ExerciseAction {
        case_offset_minutes: i64::MAX,
        lane: Lane::ManagementPr,
        kind: EntryKind::Decision,
        text: "  ".into(),
        actor: String::new(),
        decision_point: Some(7),
    };
    let fields: Vec<String> = bad
        .validate(&script)
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["text", "case_offset_minutes", "decision_point"]);
    assert_eq!(
        compare(&script, &[bad], &[], 0).unwrap_err(),
        ExerciseError::UnknownDecisionPoint {
            action: 0,
            point: 7,
            count: 1
        }
    );
    // Extreme offsets in a valid shape still compare without panicking.
    let extreme: Vec<ExerciseAction> = [i64::MIN, -1, 0, i64::MAX]
        .iter()
        .map(|o| ExerciseAction {
            case_offset_minutes: *o,
            lane: Lane::CisoCsirt,
            kind: EntryKind::Decision,
            text: "x".into(),
            actor: String::new(),
            decision_point: None,
        })
        .collect();
    let task = ExerciseTask {
        key: "k".into(),
        title: "t".into(),
        lane: Lane::External,
        status: TaskStatus::Done,
        due_offset_minutes: Some(i64::MIN),
        done_at_offset_minutes: Some(i64::MAX),
    };
    for end in [i64::MIN, 0, i64::MAX] {
        let c = compare(&script, &extreme, std::slice::from_ref(&task), end).unwrap();
        let _ = report::markdown(&c, Language::En);
        let _ = report::html(&c, Language::Ja);
    }
}

#[test]
fn hostile_text_is_escaped_in_html_and_markdown() {
    let mut hostile_entries = entries();
    hostile_entries[0].text = HOSTILE.to_owned();
    let script = Script::from_incident(&incident(HOSTILE), &hostile_entries, &tokyo()).unwrap();
    let actions = vec![ExerciseAction {
        case_offset_minutes: 700,
        lane: Lane::ManagementPr,
        kind: EntryKind::Decision,
        text: HOSTILE.into(),
        actor: HOSTILE.into(),
        decision_point: None,
    }];
    let tasks = vec![ExerciseTask {
        key: HOSTILE.into(),
        title: HOSTILE.into(),
        lane: Lane::ItBusiness,
        status: TaskStatus::Open,
        due_offset_minutes: Some(60),
        done_at_offset_minutes: None,
    }];
    let c = compare(&script, &actions, &tasks, 3000).unwrap();
    for lang in [Language::Ja, Language::En] {
        let html = report::html(&c, lang);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("style"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img"));
        let md = report::markdown(&c, lang);
        assert!(!md.contains("<script"));
        assert!(!md.contains("<img"));
        assert!(md.contains("\\*\\*bold\\*\\*"));
        assert!(md.contains("\\[link\\]"));
        // A pipe in user text cannot split a table cell.
        assert!(!md.contains(" | **bold"));
    }
}
