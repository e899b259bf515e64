#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::civil::date;
use jiff::tz::TimeZone;
use kizuki_domain::incident::Category;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{DayPart, EntryKind, EntrySource, Lane, TimePrecision};
use kizuki_reference::{
    AttackVector, Case, LessonCategory, Library, OrganisationType, Query, StartBasis, parse_case,
};

fn lib() -> Library {
    Library::builtin().unwrap_or_else(|e| panic!("built-in library does not load:\n{e}"))
}

fn case(n: u8) -> Case {
    lib().case(&n.to_string()).unwrap().clone()
}

#[test]
fn all_ten_cases_load_in_order() {
    let l = lib();
    let ids: Vec<&str> = l.cases().iter().map(|c| c.id.as_str()).collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("case-{n:02}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(l.case("case-03").unwrap().number, 3);
}

#[test]
fn every_case_has_lessons_and_every_lesson_a_category() {
    for c in lib().cases() {
        assert!(!c.lessons.is_empty(), "{} has no lessons", c.id);
        for (i, l) in c.lessons.iter().enumerate() {
            assert!(
                !l.categories.is_empty(),
                "{} lesson {i} has no category",
                c.id
            );
        }
        assert!(!c.causes.is_empty(), "{} has no causes", c.id);
        assert!(
            !c.attack_vectors.is_empty(),
            "{} has no attack vector",
            c.id
        );
    }
}

#[test]
fn every_appendix_category_is_used_by_some_lesson() {
    let l = lib();
    let by = l.lessons_by_category();
    assert_eq!(by.len(), LessonCategory::ALL.len());
    for cat in LessonCategory::ALL {
        assert!(!by[cat].is_empty(), "no lesson is filed under {cat}");
    }
    // A lesson filed under two categories appears under both.
    let total: usize = by.values().map(Vec::len).sum();
    let lessons: usize = l.cases().iter().map(|c| c.lessons.len()).sum();
    assert!(total >= lessons);
}

#[test]
fn lesson_category_vocabulary_round_trips() {
    for cat in LessonCategory::ALL {
        assert_eq!(cat.as_str().parse::<LessonCategory>().unwrap(), *cat);
        assert!(!cat.label(Language::Ja).is_empty());
        assert!(!cat.label(Language::En).is_empty());
    }
    assert_eq!(LessonCategory::ALL.len(), 16);
    let err = "ceo_office".parse::<LessonCategory>().unwrap_err();
    assert!(err.to_string().contains("incident_procedures"), "{err}");
    assert_eq!(
        serde_json::to_string(&LessonCategory::FactoriesProduction).unwrap(),
        "\"factories_production\""
    );
}

/// Every `{ja, en}` object anywhere in the case, found generically so new fields are covered.
fn texts(v: &serde_json::Value, path: String, out: &mut Vec<(String, String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.len() == 2 && m.contains_key("ja") && m.contains_key("en") {
                out.push((
                    path,
                    m["ja"].as_str().unwrap().to_owned(),
                    m["en"].as_str().unwrap().to_owned(),
                ));
            } else {
                for (k, v) in m {
                    texts(v, format!("{path}.{k}"), out);
                }
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                texts(v, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn all_texts() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for c in lib().cases() {
        texts(&serde_json::to_value(c).unwrap(), c.id.clone(), &mut out);
    }
    out
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}')
}

fn is_japanese(c: char) -> bool {
    is_kana(c) || matches!(c, '\u{4E00}'..='\u{9FFF}')
}

#[test]
fn both_languages_are_filled_everywhere_and_japanese_is_japanese() {
    let t = all_texts();
    assert!(t.len() > 500, "only {} texts found", t.len());
    for (path, ja, en) in &t {
        assert!(!ja.trim().is_empty(), "{path}.ja is empty");
        assert!(!en.trim().is_empty(), "{path}.en is empty");
        assert!(
            ja.chars().any(is_japanese),
            "{path}.ja has no Japanese: {ja}"
        );
        assert!(
            !en.chars().any(is_kana),
            "{path}.en has Japanese in it: {en}"
        );
    }
}

#[test]
fn timeline_order_is_non_decreasing() {
    for c in lib().cases() {
        let keys: Vec<i64> = c.timeline.iter().filter_map(|t| t.order_key()).collect();
        for w in keys.windows(2) {
            assert!(
                w[0] <= w[1],
                "{}: timeline goes back in time: {keys:?}",
                c.id
            );
        }
        // Days before come first, in descending distance, then days, then weeks.
        let befores: Vec<u32> = c.timeline.iter().filter_map(|t| t.day_before).collect();
        assert!(befores.windows(2).all(|w| w[0] >= w[1]), "{}", c.id);
        let first_day = c.timeline.iter().position(|t| t.day.is_some());
        let last_before = c.timeline.iter().rposition(|t| t.day_before.is_some());
        if let (Some(d), Some(b)) = (first_day, last_before) {
            assert!(b < d, "{}", c.id);
        }
        let days: Vec<i64> = c.timeline.iter().filter_map(|t| t.day).collect();
        assert!(days.windows(2).all(|w| w[0] <= w[1]), "{}", c.id);
        let weeks: Vec<u32> = c.timeline.iter().filter_map(|t| t.week).collect();
        assert!(weeks.windows(2).all(|w| w[0] <= w[1]), "{}", c.id);
    }
}

#[test]
fn pinned_facts_checked_against_the_study() {
    // Case 1: hosting provider; Day 1 and Day 2 are holidays; found at night on Day 1.
    let c1 = case(1);
    assert_eq!(c1.category, Category::WebDefacement);
    assert_eq!(c1.organisation_type, OrganisationType::HostingProvider);
    assert!(c1.timeline[0].holiday && c1.timeline[0].day == Some(1));
    assert!(c1.timeline.iter().any(|t| t.day == Some(1)
        && t.day_part == Some(DayPart::Night)
        && t.kind == EntryKind::Detection));
    assert!(
        c1.timeline
            .iter()
            .filter(|t| t.day == Some(2))
            .all(|t| t.holiday)
    );
    assert!(
        c1.timeline
            .iter()
            .filter(|t| t.day == Some(3))
            .all(|t| !t.holiday)
    );
    assert_eq!(c1.timeline.last().unwrap().day, Some(7));

    // Case 2: 22:00 server-monitoring alert on Day 1; internet kept connected; news release Day 6.
    let c2 = case(2);
    assert_eq!(c2.timeline[0].time.as_deref(), Some("22:00"));
    assert_eq!(c2.timeline[0].day, Some(1));
    assert!(!c2.timeline[0].holiday);
    assert!(
        c2.timeline
            .iter()
            .any(|t| t.day == Some(2) && t.holiday && t.time.as_deref() == Some("01:00"))
    );
    assert_eq!(c2.decisions[0].chosen, "keep_connected");
    assert!(
        c2.timeline
            .iter()
            .any(|t| t.day == Some(6) && t.kind == EntryKind::Disclosure)
    );

    // Case 3: infection Day 1; encryption from Day 7 pre-dawn; 08:30 phone order; first
    // notice in Week 2; the ransom refused; original lane label kept.
    let c3 = case(3);
    assert_eq!(c3.start_basis, Some(StartBasis::Occurrence));
    let enc = &c3.timeline[1];
    assert_eq!(
        (enc.day, enc.day_part),
        (Some(7), Some(DayPart::EarlyMorning))
    );
    assert!(c3.timeline.iter().any(|t| t.day == Some(7)
        && t.time.as_deref() == Some("08:30")
        && t.kind == EntryKind::Containment));
    let first_notice = c3
        .timeline
        .iter()
        .find(|t| t.kind == EntryKind::Disclosure)
        .unwrap();
    assert_eq!(first_notice.week, Some(2));
    assert_eq!(c3.decisions[0].chosen, "refuse");
    assert!(
        c3.timeline
            .iter()
            .any(|t| t.lane_label.ja == "リスク管理委員会" && t.lane == Lane::CisoCsirt)
    );
    assert!(
        c3.timeline
            .iter()
            .any(|t| t.week == Some(3) && t.week_or_later)
    );
    assert!(
        c3.lessons
            .iter()
            .any(|l| l.categories.contains(&LessonCategory::Ceo))
    );

    // Case 4: EDR detection Day 1; forensic request Day 5 08:30; supplier report Week 2.
    let c4 = case(4);
    assert_eq!(c4.timeline[0].kind, EntryKind::Detection);
    assert!(
        c4.timeline
            .iter()
            .any(|t| t.day == Some(5) && t.time.as_deref() == Some("08:30"))
    );
    assert_eq!(c4.timeline.last().unwrap().week, Some(2));
    assert!(c4.attack_vectors.contains(&AttackVector::Supplier));

    // Case 5: firewall opened 11 days before detection; intrusion 1 day before; 12:00 report.
    let c5 = case(5);
    assert_eq!(c5.timeline[0].day_before, Some(11));
    assert_eq!(c5.timeline[1].day_before, Some(1));
    assert_eq!(c5.timeline[2].time.as_deref(), Some("12:00"));
    assert!(
        c5.timeline
            .iter()
            .any(|t| t.week == Some(4) && t.week_or_later)
    );

    // Case 6: dates masked. Case 7: no timeline at all.
    assert!(case(6).timeline.iter().all(|t| !t.is_dated()));
    assert!(case(6).timeline_note.is_some());
    assert!(case(7).timeline.is_empty());

    // Case 8: 100 accounts more than a month before; internet cut Day 6; police report month 2.
    let c8 = case(8);
    assert_eq!(c8.timeline[0].months_before_at_least, Some(1));
    assert!(c8.timeline[0].text.en.contains("hundred"));
    assert!(
        c8.timeline
            .iter()
            .any(|t| t.day == Some(6) && t.kind == EntryKind::Containment)
    );
    assert_eq!(c8.timeline.last().unwrap().month, Some(2));

    // Case 9: Days 1, 4, 5, 6 are all holidays; third party decided; named company.
    let c9 = case(9);
    for d in [1, 4, 5, 6] {
        assert!(
            c9.timeline
                .iter()
                .filter(|t| t.day == Some(d))
                .all(|t| t.holiday),
            "day {d}"
        );
    }
    assert_eq!(c9.timeline[0].day_part, Some(DayPart::Afternoon));
    assert_eq!(c9.decisions[0].chosen, "third_party");
    assert!(c9.title.en.contains("SB Technology"));

    // Case 10: intrusion Day 1; antivirus hit on Day 2 (holiday) treated as a lone infection;
    // IDS on Day 6; police consulted in Week 3.
    let c10 = case(10);
    assert!(c10.timeline[1].holiday && c10.timeline[1].day == Some(2));
    assert!(
        c10.timeline
            .iter()
            .any(|t| t.day == Some(6) && t.text.en.contains("IDS"))
    );
    assert!(
        c10.timeline
            .iter()
            .any(|t| t.week == Some(3) && t.text.en.contains("police"))
    );
}

fn strip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect()
}

fn study() -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seed/000_07d8387c23430c5f.txt"
    );
    match std::fs::read_to_string(path) {
        Ok(s) => Some(strip(&s)),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "the NISC study is needed to check for copied sentences but cannot be read at {path}: {e}"
                );
            }
            eprintln!("skipping: the NISC study is not at {path} ({e}); set CI to make this fail");
            None
        }
    }
}

#[test]
fn no_japanese_sentence_of_25_characters_is_copied_from_the_study() {
    let Some(study) = study() else { return };
    let mut copied = Vec::new();
    let mut checked = 0;
    for (path, ja, _) in all_texts() {
        for sentence in ja.split(['。', '！', '？', '\n']) {
            let s = strip(sentence);
            if s.chars().count() >= 25 {
                checked += 1;
                if study.contains(&s) {
                    copied.push(format!("{path}: {s}"));
                }
            }
        }
    }
    assert!(checked > 200, "only {checked} sentences checked");
    assert!(
        copied.is_empty(),
        "copied from the study:\n{}",
        copied.join("\n")
    );
}

#[test]
fn no_long_run_of_japanese_text_is_copied_from_the_study() {
    // Stricter than whole sentences: no 25-character stretch anywhere in a Japanese text.
    let Some(study) = study() else { return };
    let mut copied = Vec::new();
    for (path, ja, _) in all_texts() {
        let chars: Vec<char> = strip(&ja).chars().collect();
        for w in chars.windows(25) {
            let s: String = w.iter().collect();
            if study.contains(&s) {
                copied.push(format!("{path}: …{s}…"));
                break;
            }
        }
    }
    assert!(
        copied.is_empty(),
        "copied from the study:\n{}",
        copied.join("\n")
    );
}

fn ids(cases: Vec<&Case>) -> Vec<u8> {
    cases.iter().map(|c| c.number).collect()
}

#[test]
fn search_by_text_in_either_language_and_any_case() {
    let l = lib();
    let q = |t: &str| Query {
        text: Some(t.into()),
        ..Query::default()
    };
    assert_eq!(
        ids(l.search(&q("ransomware"))),
        ids(l.search(&q("RANSOMWARE")))
    );
    assert!(ids(l.search(&q("ransomware"))).contains(&3));
    assert!(ids(l.search(&q("ランサムウェア"))).contains(&2));
    // Full-width letters fold to ASCII.
    assert!(ids(l.search(&q("ＥＤＲ"))).contains(&4));
    // Every word must match.
    assert_eq!(ids(l.search(&q("hosting SLA"))), vec![1]);
    assert!(l.search(&q("no-such-word-anywhere")).is_empty());
    // Lessons are searched too: the pocket booklet is only in a case 3 lesson.
    assert_eq!(ids(l.search(&q("pocket booklet"))), vec![3]);
    // An empty query returns everything.
    assert_eq!(l.search(&Query::default()).len(), 10);
}

#[test]
fn search_by_facets() {
    let l = lib();
    let r = l.search(&Query {
        category: Some(Category::Ransomware),
        ..Query::default()
    });
    assert_eq!(ids(r), vec![2, 3]);
    let r = l.search(&Query {
        organisation_type: Some(OrganisationType::AcademicResearch),
        ..Query::default()
    });
    assert_eq!(ids(r), vec![7, 8]);
    let r = l.search(&Query {
        attack_vector: Some(AttackVector::PasswordGuessing),
        ..Query::default()
    });
    assert_eq!(ids(r), vec![5, 8, 9]);
    let r = l.search(&Query {
        lesson_category: Some(LessonCategory::Ceo),
        ..Query::default()
    });
    assert!(
        ids(r).contains(&3)
            && ids(l.search(&Query {
                lesson_category: Some(LessonCategory::Ceo),
                ..Query::default()
            }))
            .contains(&9)
    );
    let r = l.search(&Query {
        text: Some("EDR".into()),
        category: Some(Category::UnauthorisedAccess),
        lesson_category: Some(LessonCategory::DetectionEnvironment),
        ..Query::default()
    });
    assert_eq!(ids(r), vec![6, 10]);
}

#[test]
fn case_3_replays_from_a_chosen_start_date() {
    let c3 = case(3);
    let start = date(2026, 6, 2);
    let entries = c3.timeline_entries(start, Language::En);
    assert_eq!(entries.len(), c3.timeline.len());
    assert!(entries.iter().all(|e| e.source == EntrySource::Import));
    let at_0830: Vec<_> = entries
        .iter()
        .filter(|e| e.day == Some(7) && e.time_of_day.as_deref() == Some("08:30"))
        .collect();
    assert_eq!(at_0830.len(), 3);
    assert_eq!(at_0830[0].lane, Lane::ItBusiness);
    assert_eq!(at_0830[0].actor, "IT department");
    assert_eq!(entries[1].day_part, Some(DayPart::EarlyMorning));
    assert_eq!(entries[7].week, Some(2));
    assert_eq!(entries[7].kind, EntryKind::Disclosure);

    // The entries resolve in Kizuki's domain: Day 7 08:30 is 2026-06-08 08:30 in Tokyo.
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    let now: jiff::Timestamp = "2026-09-01T00:00:00Z".parse().unwrap();
    let fields: Vec<_> = entries
        .iter()
        .cloned()
        .map(|e| e.into_fields(start, &tz, now).unwrap())
        .collect();
    assert_eq!(
        fields[4].occurred_at,
        "2026-06-07T23:30:00Z".parse().unwrap()
    );
    assert_eq!(fields[4].precision, TimePrecision::Minute);
    assert_eq!(fields[1].precision, TimePrecision::DayPart);
    assert_eq!(fields[7].precision, TimePrecision::Week);
    // Replayed in order.
    assert!(
        fields
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at)
    );

    let ja = c3.timeline_entries(start, Language::Ja);
    assert_eq!(ja[0].actor, "情報システム部門");
    assert!(ja[0].text.contains("ランサムウェア"));
}

#[test]
fn other_cases_replay_days_before_months_and_continued_rows() {
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    let start = date(2026, 6, 2);
    let now: jiff::Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
    // Case 5: 11 days before Day 1 is day -10.
    let e5 = case(5).timeline_entries(start, Language::En);
    assert_eq!(e5[0].day, Some(-10));
    assert_eq!(e5[1].day, Some(0));
    // Case 8: "more than a month before" and "month 2" keep month precision.
    let e8 = case(8).timeline_entries(start, Language::En);
    assert_eq!(e8[0].precision, Some(TimePrecision::Month));
    assert_eq!(e8[0].day, Some(-30)); // 2026-05-02
    assert_eq!(e8.last().unwrap().day, Some(31)); // 2026-07-02
    // Case 2: the row after 22:30 on Day 1 keeps its place before Day 2 01:00.
    let e2 = case(2).timeline_entries(start, Language::En);
    assert_eq!(e2[2].time_of_day.as_deref(), Some("22:30"));
    assert_eq!(e2[2].precision, Some(TimePrecision::Day));
    for c in lib().cases() {
        let f: Vec<_> = c
            .timeline_entries(start, Language::Ja)
            .into_iter()
            .map(|e| {
                e.into_fields(start, &tz, now)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", c.id))
            })
            .collect();
        assert!(
            f.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at),
            "{} does not replay in order",
            c.id
        );
    }
    // Case 6's dates are masked: nothing to place.
    assert!(case(6).timeline_entries(start, Language::En).is_empty());
}

#[test]
fn errors_name_file_line_and_field_path() {
    let (_, text) = kizuki_reference::BUILTIN_FILES[2];
    let bad = text.replacen("lane: it_business", "lane: it_dept", 1);
    let err = parse_case("case-03.yml", &bad).unwrap_err();
    let msg = err.to_string();
    let line = bad.lines().position(|l| l.contains("it_dept")).unwrap() + 1;
    assert!(msg.starts_with(&format!("case-03.yml:{line}:")), "{msg}");
    assert!(msg.contains("timeline[0].lane: "), "{msg}");
    assert!(msg.contains("it_dept"), "{msg}");

    let bad = text.replacen("time: \"08:30\"", "time: \"8.30\"", 1);
    let err = parse_case("case-03.yml", &bad).unwrap_err();
    assert!(
        err.to_string()
            .contains("timeline[3].time: `8.30` is not HH:MM"),
        "{err}"
    );
    let e = &err.errors[0];
    assert!(e.line.is_some(), "{err}");

    let bad = text.replacen("categories: [ceo]", "categories: []", 1);
    let err = parse_case("case-03.yml", &bad).unwrap_err();
    assert!(
        err.to_string()
            .contains("lessons[0].categories: needs at least one category"),
        "{err}"
    );

    let bad = text.replacen("id: case-03", "id: case-3", 1);
    assert!(
        parse_case("x.yml", &bad)
            .unwrap_err()
            .to_string()
            .contains("x.yml:")
    );

    let bad = text.replacen("\ntimeline:\n", "\nsurprise: 1\ntimeline:\n", 1);
    let err = parse_case("case-03.yml", &bad).unwrap_err().to_string();
    assert!(err.contains("surprise"), "{err}");

    // Swapping two days breaks the order check.
    let bad = text.replacen("  - day: 1\n", "  - day: 9\n", 1);
    let err = parse_case("case-03.yml", &bad).unwrap_err().to_string();
    assert!(
        err.contains("timeline[1]: is earlier than the entry before it"),
        "{err}"
    );
}
