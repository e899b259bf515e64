//! The shipped playbooks: valid, complete, bilingual and grounded in the study.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::Path;

use kizuki_domain::incident::Category;
use kizuki_playbook::{BUILTIN_FILES, Library, Text, validate_file};

fn builtin() -> Library {
    match Library::builtin() {
        Ok(l) => l,
        Err(e) => panic!("built-in playbooks are invalid:\n{e}"),
    }
}

#[test]
fn every_file_in_the_playbooks_folder_is_embedded_and_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../playbooks");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = BUILTIN_FILES.iter().map(|(n, _)| n.to_string()).collect();
    embedded.sort();
    assert_eq!(on_disk, embedded, "playbooks/ and BUILTIN_FILES disagree");
    for name in &on_disk {
        let p = validate_file(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            format!("{}.yml", p.id),
            *name,
            "file name should match the id"
        );
    }
    // load_dir sees the same set as builtin().
    assert_eq!(Library::load_dir(&dir).unwrap(), builtin());
}

#[test]
fn every_category_has_a_playbook() {
    let lib = builtin();
    for c in Category::ALL {
        assert!(!lib.for_category(*c).is_empty(), "no playbook for {c}");
    }
    for id in [
        "ransomware",
        "web_defacement",
        "account_takeover",
        "targeted_email",
        "cloud_exposure",
        "advanced_intrusion",
        "crypto_mining",
        "data_leak",
    ] {
        assert!(lib.get(id).is_some(), "minimum set lacks {id}");
    }
}

fn check_text(t: &Text, at: &str, problems: &mut Vec<String>) {
    if t.ja.trim().is_empty() || t.en.trim().is_empty() {
        problems.push(format!("{at}: a language is empty"));
    }
    // Japanese text must contain Japanese; English text must not.
    let has_japanese = |s: &str| {
        s.chars().any(|c| {
            ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c)
        })
    };
    if !has_japanese(&t.ja) {
        problems.push(format!("{at}.ja is not Japanese: {:?}", t.ja));
    }
    if has_japanese(&t.en) {
        problems.push(format!("{at}.en contains Japanese: {:?}", t.en));
    }
}

#[test]
fn both_languages_are_filled_everywhere() {
    let mut problems = Vec::new();
    for p in builtin().list() {
        check_text(&p.title, &format!("{}.title", p.id), &mut problems);
        check_text(&p.summary, &format!("{}.summary", p.id), &mut problems);
        for ph in &p.phases {
            check_text(
                &ph.title,
                &format!("{}.{}.title", p.id, ph.id),
                &mut problems,
            );
            for t in &ph.tasks {
                let at = format!("{}.{}", p.id, t.id);
                check_text(&t.title, &format!("{at}.title"), &mut problems);
                check_text(&t.why.lesson, &format!("{at}.why.lesson"), &mut problems);
                for (i, c) in t.checklist.iter().enumerate() {
                    check_text(c, &format!("{at}.checklist[{i}]"), &mut problems);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_task_is_actionable_and_grounded() {
    let lib = builtin();
    let mut total = 0;
    for p in lib.list() {
        assert!(p.version >= 1);
        assert!(
            p.task_count() >= 5,
            "{} has only {} tasks",
            p.id,
            p.task_count()
        );
        let mut ids = HashSet::new();
        for (_, t) in p.tasks() {
            total += 1;
            assert!(ids.insert(&t.id), "{}: duplicate {}", p.id, t.id);
            assert!(
                !t.checklist.is_empty(),
                "{}.{} has no checklist",
                p.id,
                t.id
            );
            assert!(t.due.is_some(), "{}.{} has no due offset", p.id, t.id);
            assert!(t.why.cases.iter().all(|c| (1..=10).contains(c)));
        }
        // The response starts with triage and ends with a review.
        assert_eq!(p.phases.first().unwrap().id, "triage", "{}", p.id);
        assert_eq!(p.phases.last().unwrap().id, "review", "{}", p.id);
    }
    assert!(total >= 100, "only {total} tasks in all");
    // The ransomware playbook carries the study's key lessons.
    let r = lib.get("ransomware").unwrap();
    let all: String = r
        .tasks()
        .map(|(_, t)| {
            format!(
                "{} {}",
                t.title.en,
                t.checklist
                    .iter()
                    .map(|c| c.en.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect();
    for needle in [
        "sleep",
        "forensic",
        "ransom",
        "PPC",
        "JPCERT/CC",
        "police",
        "generation",
        "phone",
        "passwords",
        "rotate",
    ] {
        assert!(all.contains(needle), "ransomware playbook lacks {needle:?}");
    }
}

#[test]
fn playbooks_round_trip_through_json() {
    for p in builtin().list() {
        let json = serde_json::to_string(p).unwrap();
        let back: kizuki_playbook::Playbook = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, p);
    }
}
