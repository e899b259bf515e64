//! A full exercise on reference case 8, driven at engine level the way the API will drive
//! it: start, release injects step by step, record actions, end, compare, report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::settings::Language;
use kizuki_domain::task::TaskStatus;
use kizuki_domain::timeline::{EntryKind, Lane};
use kizuki_exercise::report;
use kizuki_exercise::{
    Comparison, ExerciseAction, ExerciseClock, ExerciseTask, MatchedBy, Milestone, Pace, Script,
    TaskVerdict, Verdict, compare,
};

const DAY: i64 = 1440;

fn at(start: Timestamp, real_minutes: i64) -> Timestamp {
    start + SignedDuration::from_mins(real_minutes)
}

fn action(offset: i64, lane: Lane, kind: EntryKind, text: &str) -> ExerciseAction {
    ExerciseAction {
        case_offset_minutes: offset,
        lane,
        kind,
        text: text.to_owned(),
        actor: "Tabletop team".to_owned(),
        decision_point: None,
    }
}

/// Runs the exercise and returns the comparison.
fn run() -> Comparison {
    let lib = kizuki_reference::Library::builtin().unwrap();
    let case8 = lib.cases().iter().find(|c| c.number == 8).unwrap();
    let script = Script::from_case(case8, Language::En).unwrap();
    // The script is stored as JSON for the length of the exercise.
    let script: Script = serde_json::from_str(&serde_json::to_string(&script).unwrap()).unwrap();

    let start: Timestamp = "2026-04-06T01:00:00Z".parse().unwrap();
    let mut clock = ExerciseClock::new(&script, Pace::new(start, 60).unwrap()).unwrap();
    let mut actions = Vec::new();

    // Opening: the month-old intrusion as background, and the three Day-1 events.
    assert_eq!(clock.released(start).len(), 6);
    assert_eq!(clock.released(start)[3].kind, EntryKind::Detection);
    let next = clock.next_inject(start).unwrap();
    assert_eq!(next.inject.label_en, "Day 2");
    assert_eq!(
        next.wait_seconds,
        24 * 60,
        "a case day is 24 real minutes at 60x"
    );

    // Day 1, 0:45 and 1:00 of case time.
    let now = at(start, 0) + SignedDuration::from_secs(45);
    actions.push(action(
        clock.case_offset_at(now),
        Lane::ItBusiness,
        EntryKind::Detection,
        "IT confirm the hijacked accounts",
    ));
    let now = at(start, 1);
    actions.push(action(
        clock.case_offset_at(now),
        Lane::ItBusiness,
        EntryKind::Containment,
        "Force password changes on the hijacked accounts",
    ));

    // 24 real minutes on: Day 2 and the headquarters decision are out.
    assert_eq!(clock.released(at(start, 23)).len(), 6);
    assert_eq!(clock.released(at(start, 24)).len(), 7);

    // The room escalates only on Day 2 at 9:00 — the original did on Day 1.
    let now = at(start, 33);
    assert_eq!(clock.case_offset_at(now), DAY + 9 * 60);
    actions.push(action(
        clock.case_offset_at(now),
        Lane::CisoCsirt,
        EntryKind::Communication,
        "CSIRT briefs the president and the CISO",
    ));

    // The facilitator jumps to Day 3.
    let now = at(start, 34);
    let skipped = clock.skip_to_next(now).unwrap();
    assert_eq!(skipped, 2 * DAY - 34 * 60);
    assert_eq!(clock.case_offset_at(now), 2 * DAY);
    assert_eq!(clock.released(now).len(), 10);

    // Day 3, 10:00: the headquarters, a day later than the original (unnamed: matched by lane).
    let now = at(start, 44);
    assert_eq!(clock.case_offset_at(now), 2 * DAY + 10 * 60);
    actions.push(action(
        clock.case_offset_at(now),
        Lane::CisoCsirt,
        EntryKind::Decision,
        "Set up a security headquarters",
    ));
    // Day 3, 14:00: the shut-down, named as the answer to decision point 1.
    let now = at(start, 48);
    let offset = clock.case_offset_at(now);
    assert_eq!(offset, 2 * DAY + 14 * 60);
    actions.push(ExerciseAction {
        decision_point: Some(1),
        ..action(
            offset,
            Lane::ManagementPr,
            EntryKind::Decision,
            "Stop the internal systems and service A",
        )
    });
    actions.push(action(
        offset,
        Lane::ItBusiness,
        EntryKind::Containment,
        "Reset every staff password",
    ));

    // Day 6, then week 2 (with month 1).
    assert!(clock.skip_to_next(now).is_some());
    assert_eq!(clock.released(now).len(), 12);
    assert!(clock.skip_to_next(now).is_some());
    assert_eq!(clock.released(now).len(), 14);
    let now = at(start, 60);
    let offset = clock.case_offset_at(now);
    assert_eq!(offset, 7 * DAY + 12 * 60);
    actions.push(action(
        offset,
        Lane::ItBusiness,
        EntryKind::Recovery,
        "Resume internet access in daytime only",
    ));

    // Month 2, and the end.
    assert!(clock.skip_to_next(now).is_some());
    assert!(clock.next_inject(now).is_none());
    let ended = clock.case_offset_at(now);
    assert_eq!(ended, 30 * DAY);
    assert_eq!(clock.released(now).len(), script.injects.len());
    // Something typed after the end is left out.
    actions.push(action(
        ended + 5,
        Lane::External,
        EntryKind::Other,
        "late note",
    ));

    // Every action is checked before it is stored.
    for a in &actions {
        a.validate(&script).unwrap();
    }
    let actions: Vec<ExerciseAction> =
        serde_json::from_str(&serde_json::to_string(&actions).unwrap()).unwrap();

    // The account-takeover playbook, applied at the opening.
    let playbooks = kizuki_playbook::Library::builtin().unwrap();
    let playbook = playbooks.get("account_takeover").unwrap();
    let mut tasks = ExerciseTask::from_playbook(playbook, Language::En, script.opening_offset());
    let done = |tasks: &mut Vec<ExerciseTask>, key: &str, offset: i64| {
        let t = tasks.iter_mut().find(|t| t.key == key).unwrap();
        t.status = TaskStatus::Done;
        t.done_at_offset_minutes = Some(offset);
    };
    done(&mut tasks, "escalate-immediately", DAY + 9 * 60); // due 1 h after applied
    done(&mut tasks, "disable-accounts", 60);
    done(&mut tasks, "review-login-logs", 20 * 60);
    done(&mut tasks, "forced-reset", 2 * DAY + 14 * 60);
    done(&mut tasks, "decide-cutoff", 2 * DAY + 14 * 60); // due 1 d
    done(&mut tasks, "restrict-access", 2 * DAY + 14 * 60);
    done(&mut tasks, "trace-lateral", 6 * DAY);
    done(&mut tasks, "appi-report", 2 * DAY + 20 * 60);
    done(&mut tasks, "notify-police-jpcert", 2 * DAY + 20 * 60);
    done(&mut tasks, "publish-notice", 5 * DAY);
    done(&mut tasks, "enforce-mfa", 29 * DAY);
    tasks
        .iter_mut()
        .find(|t| t.key == "stop-decision-rule")
        .unwrap()
        .status = TaskStatus::Skipped;
    // "check-contractor-monitoring" stays open: the one task missed.

    compare(&script, &actions, &tasks, ended).unwrap()
}

#[test]
fn case_8_run_is_compared_with_the_original_and_the_playbook() {
    let c = run();
    assert_eq!(c.injects_released, 15);
    assert_eq!(c.injects_total, 15);
    assert_eq!(c.actions_counted, 7);
    assert_eq!(c.actions_after_end, 1);

    let m = |x| c.milestone(x).unwrap();
    let detection = m(Milestone::Detection);
    assert_eq!(detection.verdict, Verdict::Same);
    assert_eq!(detection.delta_minutes, Some(45));
    let escalation = m(Milestone::Escalation);
    assert_eq!(escalation.verdict, Verdict::Later);
    assert_eq!(escalation.delta_minutes, Some(DAY + 9 * 60));
    assert_eq!(escalation.original_since_detection, Some(0));
    assert_eq!(escalation.exercise_since_detection, Some(DAY + 9 * 60));
    assert_eq!(escalation.original.as_ref().unwrap().label_en, "Day 1");
    assert_eq!(escalation.exercise.as_ref().unwrap().label_en, "Day 2 9:00");
    let containment = m(Milestone::Containment);
    assert_eq!(containment.verdict, Verdict::Same);
    assert_eq!(containment.delta_minutes, Some(60));
    let recovery = m(Milestone::Recovery);
    assert_eq!(
        recovery.verdict,
        Verdict::Same,
        "inside the original's month 1"
    );
    assert_eq!(recovery.delta_minutes, Some(12 * 60));

    assert_eq!(c.decisions.len(), 2);
    let hq = &c.decisions[0];
    assert_eq!(hq.verdict, Verdict::Later);
    assert_eq!(hq.matched_by, Some(MatchedBy::Lane));
    assert_eq!(hq.delta_minutes, Some(DAY + 10 * 60));
    assert_eq!(hq.original.label_en, "Day 2");
    let shut = &c.decisions[1];
    assert_eq!(shut.verdict, Verdict::Same);
    assert_eq!(shut.matched_by, Some(MatchedBy::Named));
    assert_eq!(shut.delta_minutes, Some(14 * 60));
    assert_eq!(shut.original.text, "Shut them down");

    let keys = |v| c.tasks_with(v).map(|t| t.key.as_str()).collect::<Vec<_>>();
    assert_eq!(keys(TaskVerdict::Missed), ["check-contractor-monitoring"]);
    assert_eq!(
        keys(TaskVerdict::Late),
        ["escalate-immediately", "forced-reset", "decide-cutoff"]
    );
    assert_eq!(keys(TaskVerdict::Skipped), ["stop-decision-rule"]);
    assert_eq!(keys(TaskVerdict::OnTime).len(), 8);
    let escalate = c
        .tasks
        .iter()
        .find(|t| t.key == "escalate-immediately")
        .unwrap();
    assert_eq!(escalate.late_by_minutes, Some(DAY + 8 * 60));

    let lanes: Vec<(Lane, usize, usize)> = c
        .lanes
        .iter()
        .map(|l| (l.lane, l.actions, l.decisions))
        .collect();
    assert_eq!(
        lanes,
        [
            (Lane::ManagementPr, 1, 1),
            (Lane::CisoCsirt, 2, 1),
            (Lane::ItBusiness, 4, 0),
            (Lane::External, 0, 0),
        ]
    );

    // The comparison is stored once and reads back the same.
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["milestones"][1]["verdict"], "later");
    assert_eq!(json["decisions"][0]["matched_by"], "lane");
    assert_eq!(json["source"]["kind"], "reference_case");
    let back: Comparison = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
}

#[test]
fn case_8_reports_say_it_in_both_languages() {
    let c = run();
    let en_md = report::markdown(&c, Language::En);
    let en_html = report::html(&c, Language::En);
    for doc in [&en_md, &en_html] {
        for needle in [
            "Exercise report",
            "not a real incident",
            "NISC study, case 8",
            "Escalation",
            "Day 2 9:00",
            "+1 d 9 h",
            "later than the original",
            "+1 d 10 h",
            "Shut down the internet connection and internal systems?",
            "+14 h",
            "same as the original",
            "missed",
            "Check the contractor",
            "done late (+1 d 8 h)",
            "15 / 15",
        ] {
            assert!(
                doc.contains(needle),
                "English report lacks {needle:?}:\n{doc}"
            );
        }
    }
    let ja_md = report::markdown(&c, Language::Ja);
    let ja_html = report::html(&c, Language::Ja);
    for doc in [&ja_md, &ja_html] {
        for needle in [
            "演習報告書",
            "実際のインシデントではありません",
            "NISC事例集 ケース8",
            "エスカレーション",
            "2日目 9:00",
            "+1日9時間",
            "元より遅い",
            "+1日10時間",
            "+14時間",
            "元と同じ",
            "未実施",
            "期限後に完了 (+1日8時間)",
        ] {
            assert!(
                doc.contains(needle),
                "Japanese report lacks {needle:?}:\n{doc}"
            );
        }
    }
    assert!(ja_html.starts_with("<!DOCTYPE html>\n<html lang=\"ja\">"));
    assert!(en_html.contains("<tr class=\"verdict-later\">"));
    for doc in [&en_html, &ja_html] {
        assert!(!doc.contains("<script"));
        assert!(!doc.contains("<style"));
        assert!(!doc.contains("style="));
    }
}

#[test]
#[ignore = "prints the reports for a human to read"]
fn print_case_8_reports() {
    let c = run();
    println!("{}", report::markdown(&c, Language::En));
    println!("{}", report::markdown(&c, Language::Ja));
}
