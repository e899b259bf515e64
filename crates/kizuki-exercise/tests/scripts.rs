//! Scripts built from the ten reference cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{EntryKind, Lane};
use kizuki_exercise::{ExerciseError, ORDER_ONLY_STEP_MINUTES, Script, ScriptTiming};
use kizuki_reference::{Case, Library};

fn library() -> Library {
    Library::builtin().expect("built-in cases parse")
}

fn case(lib: &Library, number: u8) -> &Case {
    lib.cases()
        .iter()
        .find(|c| c.number == number)
        .expect("case exists")
}

#[test]
fn every_case_with_a_timeline_gives_an_ordered_script_that_keeps_its_entries() {
    let lib = library();
    assert_eq!(lib.cases().len(), 10);
    for case in lib.cases() {
        for lang in [Language::Ja, Language::En] {
            let script = match Script::from_case(case, lang) {
                Ok(s) => s,
                Err(ExerciseError::NoTimeline { case: id }) => {
                    assert_eq!(case.number, 7, "only case 7 has no timeline");
                    assert_eq!(id, "case-07");
                    continue;
                }
                Err(e) => panic!("case {}: {e}", case.number),
            };
            let n = case.number;
            assert_eq!(script.source, ExerciseSource::ReferenceCase { number: n });
            assert_eq!(script.injects.len(), case.timeline.len(), "case {n}");
            if n != 6 {
                let dated = case.timeline.iter().filter(|i| i.is_dated()).count();
                assert_eq!(script.injects.len(), dated, "case {n}");
                assert_eq!(script.timing, ScriptTiming::Dated, "case {n}");
            }
            for pair in script.injects.windows(2) {
                assert!(
                    pair[0].offset_minutes <= pair[1].offset_minutes,
                    "case {n}: inject {} goes back in time",
                    pair[1].index
                );
            }
            for (i, (inject, item)) in script.injects.iter().zip(&case.timeline).enumerate() {
                assert_eq!(inject.index, i);
                assert_eq!(inject.lane, item.lane, "case {n} entry {i}");
                assert_eq!(inject.kind, item.kind, "case {n} entry {i}");
                assert_eq!(inject.text, item.text.get(lang), "case {n} entry {i}");
                assert_eq!(
                    inject.actor,
                    item.lane_label.get(lang),
                    "case {n} entry {i}"
                );
                assert!(!inject.label(lang).is_empty());
                assert_eq!(
                    inject.background,
                    inject.offset_minutes < script.opening_offset()
                );
                if let Some(w) = inject.window
                    && !inject.background
                {
                    // Clamping to the row above may move an entry later, never before its period.
                    assert!(
                        w.from.is_none_or(|f| inject.offset_minutes >= f),
                        "case {n} entry {i}"
                    );
                }
            }
            script.validate().expect("ordered");
            // Every case with a timeline has a detection the milestones count from.
            assert!(script.marks.detection.is_some(), "case {n}");
            for p in &script.decision_points {
                assert!(p.offset_minutes >= script.opening_offset());
                assert!(p.opens_at_minutes <= p.offset_minutes);
            }
            // A stored script reads back the same.
            let json = serde_json::to_string(&script).expect("serialises");
            let back: Script = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, script);
        }
    }
}

#[test]
fn case_7_has_no_timeline_and_says_so() {
    let lib = library();
    let err = Script::from_case(case(&lib, 7), Language::En).unwrap_err();
    assert_eq!(
        err,
        ExerciseError::NoTimeline {
            case: "case-07".into()
        }
    );
    assert!(err.to_string().contains("no timeline"));
}

#[test]
fn case_6_is_replayed_in_order_without_times() {
    let lib = library();
    let c = case(&lib, 6);
    let script = Script::from_case(c, Language::En).unwrap();
    assert_eq!(script.timing, ScriptTiming::OrderOnly);
    assert_eq!(script.injects.len(), c.timeline.len());
    for (i, inject) in script.injects.iter().enumerate() {
        assert_eq!(inject.offset_minutes, i as i64 * ORDER_ONLY_STEP_MINUTES);
        assert_eq!(inject.window, None);
        assert_eq!(inject.precision, None);
        assert_eq!(inject.label_en, format!("Step {}", i + 1));
        assert!(!inject.background);
    }
    assert_eq!(script.opening_offset(), 0);
    assert!(script.note.as_deref().unwrap_or("").contains("masks"));
    // Milestones still follow the order: detection is the second row, escalation the
    // management briefing after it.
    assert_eq!(script.marks.detection, Some(1));
    assert_eq!(
        script.injects[script.marks.escalation.unwrap()].lane,
        Lane::ManagementPr
    );
}

#[test]
fn case_8_is_placed_the_way_the_study_places_it() {
    let lib = library();
    let script = Script::from_case(case(&lib, 8), Language::En).unwrap();
    let offsets: Vec<i64> = script.injects.iter().map(|i| i.offset_minutes).collect();
    let day = 1440;
    assert_eq!(
        offsets,
        [
            -30 * day,
            -30 * day,
            -30 * day, // at least a month before
            0,
            0,
            0,   // day 1
            day, // day 2
            2 * day,
            2 * day,
            2 * day, // day 3
            5 * day,
            5 * day,  // day 6
            7 * day,  // week 2
            7 * day,  // month 1, released with the week-2 row above it
            30 * day, // month 2
        ]
    );
    assert_eq!(script.opening_offset(), 0);
    assert_eq!(script.background().len(), 3);
    assert_eq!(script.injects[0].label_en, "At least 1 month before");
    assert_eq!(script.injects[0].label_ja, "1か月以上前");
    assert_eq!(script.injects[6].label_en, "Day 2");
    assert_eq!(script.injects[12].label_ja, "2週目");
    assert_eq!(script.injects[13].label_en, "Month 1");

    let m = script.marks;
    assert_eq!(m.detection, Some(3));
    assert_eq!(
        m.escalation,
        Some(5),
        "CSIRT informs the president and the CISO"
    );
    assert_eq!(m.containment, Some(4));
    assert_eq!(m.recovery, Some(13));

    // The headquarters decision (day 2), then the case's framed decision on shutting down,
    // placed by its `when` at day 3 with no lane of its own.
    assert_eq!(script.decision_points.len(), 2);
    let hq = &script.decision_points[0];
    assert_eq!(hq.inject, Some(6));
    assert_eq!(hq.lane, Some(Lane::CisoCsirt));
    assert_eq!(hq.offset_minutes, day);
    assert_eq!(hq.opens_at_minutes, 0);
    let shut = &script.decision_points[1];
    assert_eq!(shut.inject, None);
    assert_eq!(shut.lane, None);
    assert_eq!(shut.offset_minutes, 2 * day);
    assert_eq!(shut.opens_at_minutes, day);
    assert_eq!(
        shut.question.as_deref(),
        Some("Shut down the internet connection and internal systems?")
    );
    assert_eq!(shut.original, "Shut them down");
    assert_eq!(shut.label_ja, "3日目");
}

#[test]
fn framed_decisions_merge_into_the_decision_entry_of_their_period() {
    let lib = library();
    // Case 2: "Day 2 (holiday), small hours" joins the day-2 decision entry.
    let s2 = Script::from_case(case(&lib, 2), Language::En).unwrap();
    let merged: Vec<_> = s2
        .decision_points
        .iter()
        .filter(|p| p.question.is_some())
        .collect();
    assert_eq!(merged.len(), 1);
    let p = merged[0];
    assert_eq!(s2.injects[p.inject.unwrap()].kind, EntryKind::Decision);
    assert!(p.offset_minutes >= 1440 && p.offset_minutes < 2880);
    assert_eq!(
        p.original,
        "Stay connected; cut off parts of the internal LAN"
    );
    // Case 10's framed decision has no `when`: kept for discussion, not compared.
    let s10 = Script::from_case(case(&lib, 10), Language::En).unwrap();
    assert_eq!(s10.unplaced_decisions.len(), 1);
    assert!(s10.decision_points.iter().all(|p| p.question.is_none()));
}

#[test]
fn holidays_and_times_are_labelled_like_the_study() {
    let lib = library();
    let s2 = Script::from_case(case(&lib, 2), Language::Ja).unwrap();
    assert_eq!(s2.injects[0].label_ja, "1日目 22:00");
    assert_eq!(s2.injects[3].label_ja, "2日目（休）1:00");
    assert_eq!(s2.injects[3].label_en, "Day 2 (holiday) 1:00");
    let s9 = Script::from_case(case(&lib, 9), Language::En).unwrap();
    assert_eq!(s9.injects[0].label_en, "Day 1 (holiday) afternoon");
    assert_eq!(s9.injects[0].offset_minutes, 14 * 60);
}

#[test]
fn injects_become_timeline_entries_at_the_same_case_time() {
    use jiff::civil::date;
    use jiff::tz::TimeZone;
    let lib = library();
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    let start = date(2026, 4, 6);
    let day_one = start.to_zoned_datetime(tz.clone()).unwrap().timestamp();
    let now: jiff::Timestamp = "2026-04-06T00:00:00Z".parse().unwrap();
    for n in [2, 5, 8, 9] {
        let script = Script::from_case(case(&lib, n), Language::Ja).unwrap();
        for inject in &script.injects {
            let fields = inject
                .timeline_entry()
                .into_fields(start, &tz, now)
                .unwrap_or_else(|e| panic!("case {n} inject {}: {e}", inject.index));
            let minutes = fields.occurred_at.duration_since(day_one).as_secs() / 60;
            assert_eq!(
                minutes, inject.offset_minutes,
                "case {n} inject {}",
                inject.index
            );
            assert_eq!(Some(fields.precision), inject.precision);
        }
    }
}
