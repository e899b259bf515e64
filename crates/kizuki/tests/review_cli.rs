//! `kizuki report` and `kizuki exercise` as an operator uses them: real processes on a real
//! SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::process::Command;

use serde_json::Value;

mod common;
use common::{failed, kizuki, ok};

/// `pdftotext` of a file; `None` where poppler is missing (never under CI).
fn pdf_text(path: &std::path::Path) -> Option<String> {
    match Command::new("pdftotext")
        .args(["-layout"])
        .arg(path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext failed");
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "pdftotext (poppler-utils) must be installed under CI"
            );
            eprintln!("SKIPPED: PDF text check (install poppler-utils)");
            None
        }
    }
}

#[test]
fn an_incident_is_reported_in_every_format_and_language() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("kizuki.db").display());
    ok(&kizuki(&db, &["db", "migrate"]));
    let inc: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &[
            "--json",
            "incident",
            "create",
            "--title",
            "支店のランサムウェア感染",
            "--category",
            "ransomware",
            "--start-date",
            "2026-05-01",
        ],
    )))
    .unwrap();
    let id = inc["id"].as_i64().unwrap().to_string();
    for (day, lane, kind, text) in [
        (
            "1",
            "it_business",
            "detection",
            "支店のファイルサーバが暗号化された",
        ),
        (
            "3",
            "management_pr",
            "decision",
            "身代金には応じないと経営会議で決定",
        ),
    ] {
        ok(&kizuki(
            &db,
            &[
                "timeline",
                "add",
                "--incident",
                &id,
                "--day",
                day,
                "--time",
                "09:00",
                "--lane",
                lane,
                "--kind",
                kind,
                "--text",
                text,
            ],
        ));
    }

    let audited = |db: &str| -> u64 {
        let verify: Value =
            serde_json::from_str(&ok(&kizuki(db, &["--json", "audit", "verify"]))).unwrap();
        assert_eq!(verify["intact"], true, "{verify}");
        verify["records"].as_u64().unwrap()
    };
    let before = audited(&db);

    // 2026-05-03 is Constitution Memorial Day: the study's 休 mark.
    let md = ok(&kizuki(
        &db,
        &["report", &id, "--format", "md", "--lang", "ja"],
    ));
    assert!(md.contains("支店のランサムウェア感染"), "{md}");
    assert!(md.contains("3日目"), "{md}");
    assert!(md.contains('休'), "{md}");
    let html = ok(&kizuki(
        &db,
        &["report", &id, "--format", "html", "--lang", "en"],
    ));
    assert!(html.contains("Day 3") && html.contains("<html"), "{html}");

    // A PDF goes to a file, never to the terminal.
    let err = failed(&kizuki(&db, &["report", &id, "--format", "pdf"]));
    assert!(err.contains("--output"), "{err}");
    let pdf = dir.path().join("report.pdf");
    ok(&kizuki(
        &db,
        &[
            "report",
            &id,
            "--format",
            "pdf",
            "--lang",
            "ja",
            "--output",
            pdf.to_str().unwrap(),
        ],
    ));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&pdf) {
        let flat: String = text.split_whitespace().collect();
        assert!(flat.contains("支店のランサムウェア感染"), "{text}");
        assert!(
            flat.contains("身代金には応じないと経営会議で決定"),
            "{text}"
        );
    }

    let err = failed(&kizuki(&db, &["report", &id, "--format", "docx"]));
    assert!(err.contains("--format"), "{err}");
    let err = failed(&kizuki(&db, &["report", "999", "--format", "md"]));
    assert!(err.contains("not found"), "{err}");

    // Each report is a copy leaving Kizuki: the audit log records the three that were made.
    assert_eq!(audited(&db), before + 3);
}

#[test]
fn an_exercise_of_case_8_runs_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("kizuki.db").display());
    ok(&kizuki(&db, &["db", "migrate"]));
    let started: Value = serde_json::from_str(&ok(&kizuki(
        &db,
        &["--json", "exercise", "start", "--case", "8", "--lang", "en"],
    )))
    .unwrap();
    let ex = started["id"].as_i64().unwrap().to_string();
    assert_eq!(started["released"].as_array().unwrap().len(), 6);

    // The facilitator jumps to Day 2; the room decides; the exercise ends with its report.
    let jumped: Value =
        serde_json::from_str(&ok(&kizuki(&db, &["--json", "exercise", "advance", &ex]))).unwrap();
    assert_eq!(jumped["released"].as_array().unwrap().len(), 7);
    ok(&kizuki(
        &db,
        &[
            "exercise",
            "act",
            &ex,
            "--lane",
            "ciso_csirt",
            "--kind",
            "decision",
            "--text",
            "Set up a security headquarters",
        ],
    ));
    let err = failed(&kizuki(
        &db,
        &[
            "exercise", "act", &ex, "--lane", "nowhere", "--kind", "decision", "--text", "x",
        ],
    ));
    assert!(err.contains("lane"), "{err}");
    let report = ok(&kizuki(&db, &["exercise", "end", &ex, "--lang", "en"]));
    assert!(
        report.contains("Set up a security headquarters"),
        "{report}"
    );
    let err = failed(&kizuki(&db, &["exercise", "end", &ex]));
    assert!(err.contains("ended") || err.contains("already"), "{err}");

    // The exercise is listed as such and stays out of the incident list.
    let list = ok(&kizuki(&db, &["exercise", "list"]));
    assert!(list.contains("ended") || list.contains("Ended"), "{list}");
    let incidents: Value =
        serde_json::from_str(&ok(&kizuki(&db, &["--json", "incident", "list"]))).unwrap();
    assert!(incidents.as_array().unwrap().is_empty(), "{incidents}");

    let md = dir.path().join("exercise.md");
    ok(&kizuki(
        &db,
        &[
            "exercise",
            "report",
            &ex,
            "--format",
            "md",
            "--lang",
            "ja",
            "--output",
            md.to_str().unwrap(),
        ],
    ));
    let text = std::fs::read_to_string(&md).unwrap();
    // The room escalated on Day 2; the original did on Day 1.
    assert!(text.contains("元より遅い"), "{text}");
}
