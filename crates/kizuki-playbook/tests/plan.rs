//! Applying a playbook: due times in Asia/Tokyo, language, rationale, positions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::Lane;
use kizuki_playbook::{Library, parse};

const PB: &str = r#"
id: demo
version: 7
category: ransomware
title: { ja: デモ, en: Demo }
summary: { ja: 要約, en: Summary }
phases:
  - id: triage
    title: { ja: 初動, en: Triage }
    tasks:
      - id: isolate
        title: { ja: 隔離する, en: Isolate }
        lane: it_business
        due: { after: 1h, from: applied }
        checklist:
          - { ja: ケーブルを抜く, en: Unplug the cable }
          - { ja: スリープにする, en: Put it to sleep }
        why: { case: 3, lesson: { ja: 電話で指示した, en: Sites were phoned } }
      - id: appi
        title: { ja: 速報する, en: File the preliminary report }
        lane: management_pr
        due: { after: 3d, from: start }
        why: { cases: [3, 10], lesson: { ja: 届出が必要だった, en: A report was needed } }
  - id: review
    title: { ja: 振り返り, en: Review }
    tasks:
      - id: lessons
        title: { ja: 振り返る, en: Review }
        lane: ciso_csirt
        due: { after: 1d12h, from: start }
        why: { case: 9, lesson: { ja: 教訓, en: Lesson } }
      - id: undated
        title: { ja: 期限なし, en: No deadline }
        lane: external
        why: { case: 1, lesson: { ja: 教訓, en: Lesson } }
"#;

fn tokyo() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap()
}

#[test]
fn due_times_are_resolved_in_tokyo() {
    let p = parse("demo.yml", PB).unwrap();
    // Incident started 2024-05-03 (a holiday); the playbook was applied on 2024-05-04 at 22:30 JST.
    let applied: Timestamp = "2024-05-04T13:30:00Z".parse().unwrap();
    let tasks = p.plan(date(2024, 5, 3), applied, &tokyo(), Language::En);
    assert_eq!(tasks.len(), 4);
    // applied + 1h = 23:30 JST = 14:30Z
    assert_eq!(
        tasks[0].due_at,
        Some("2024-05-04T14:30:00Z".parse().unwrap())
    );
    // Day 1 00:00 JST = 2024-05-02T15:00Z; + 3 days
    assert_eq!(
        tasks[1].due_at,
        Some("2024-05-05T15:00:00Z".parse().unwrap())
    );
    // + 1d12h from Day 1 00:00 JST = 2024-05-04 12:00 JST
    assert_eq!(
        tasks[2].due_at,
        Some("2024-05-04T03:00:00Z".parse().unwrap())
    );
    assert_eq!(tasks[3].due_at, None);
    // The same plan in UTC starts nine hours later.
    let utc = p.plan(date(2024, 5, 3), applied, &TimeZone::UTC, Language::En);
    assert_eq!(utc[1].due_at, Some("2024-05-06T00:00:00Z".parse().unwrap()));
    assert_eq!(
        utc[0].due_at, tasks[0].due_at,
        "applied-relative offsets do not depend on the zone"
    );
}

#[test]
fn plan_fills_language_rationale_and_positions() {
    let p = parse("demo.yml", PB).unwrap();
    let applied: Timestamp = "2024-05-04T13:30:00Z".parse().unwrap();
    let en = p.plan(date(2024, 5, 3), applied, &tokyo(), Language::En);
    let ja = p.plan(date(2024, 5, 3), applied, &tokyo(), Language::Ja);
    assert_eq!(en[0].playbook.as_deref(), Some("demo@7"));
    assert_eq!(en[0].phase, "triage");
    assert_eq!(en[2].phase, "review");
    assert_eq!(en[0].title, "Isolate");
    assert_eq!(ja[0].title, "隔離する");
    assert_eq!(en[0].lane, Lane::ItBusiness);
    assert_eq!(en[0].checklist.len(), 2);
    assert_eq!(en[0].checklist[1].text, "Put it to sleep");
    assert!(!en[0].checklist[1].done);
    assert_eq!(ja[0].checklist[0].text, "ケーブルを抜く");
    assert_eq!(en[0].rationale, "Case 3: Sites were phoned");
    assert_eq!(en[1].rationale, "Cases 3, 10: A report was needed");
    assert_eq!(ja[0].rationale, "ケース3：電話で指示した");
    assert_eq!(ja[1].rationale, "ケース3・10：届出が必要だった");
    assert_eq!(
        en.iter().map(|t| t.position).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
}

#[test]
fn builtin_ransomware_plan_in_japanese() {
    let lib = Library::builtin().unwrap();
    let p = lib.get("ransomware").unwrap();
    let applied: Timestamp = "2024-01-08T00:00:00Z".parse().unwrap();
    let tasks = p.plan(date(2024, 1, 7), applied, &tokyo(), Language::Ja);
    assert_eq!(tasks.len(), p.task_count());
    assert!(
        tasks
            .iter()
            .all(|t| t.playbook.as_deref() == Some(format!("ransomware@{}", p.version).as_str()))
    );
    assert!(
        tasks
            .iter()
            .all(|t| t.due_at.is_some() && t.rationale.starts_with("ケース"))
    );
    // The first task is due one hour after application.
    assert_eq!(
        tasks[0].due_at,
        Some("2024-01-08T01:00:00Z".parse().unwrap())
    );
}
