//! Data-driven Sigma conformance tests: one folder per case under `tests/cases/` with
//! `rule.yml` (one or more documents), `events.jsonl` (one event per line), optionally
//! `fieldmap.yml`, and `expected.json` (load errors and the matches as line → rule title).
//! A missing `expected.json` is written; set UPDATE_EXPECT=1 to rewrite all of them (and
//! review the diff).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use kizuki_hunt::event::EventBuilder;
use kizuki_hunt::input::jsonl::event_from_value;
use kizuki_hunt::scan::Hunter;
use kizuki_hunt::{LoadOptions, RuleSet, ScanOptions};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

fn run_case(dir: &Path) -> Value {
    let rule = std::fs::read_to_string(dir.join("rule.yml")).unwrap();
    let mut opts = LoadOptions::new().unwrap();
    if let Ok(fm) = std::fs::read_to_string(dir.join("fieldmap.yml")) {
        opts.fieldmap.extend_with(&fm, "case field map").unwrap();
    }
    let rules = RuleSet::from_yaml(&rule, "rule.yml", &opts);
    let errors: Vec<Value> = rules
        .errors
        .iter()
        .map(|e| json!({"line": e.line, "reason": e.reason}))
        .collect();
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let source: Arc<str> = "events.jsonl".into();
    let events: Vec<_> = {
        let mut b = EventBuilder::new(&rules.registry, &rules.meta_ids, true);
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let v: Value = serde_json::from_str(l).unwrap();
                event_from_value(&mut b, &v, &source, i as u64 + 1)
            })
            .collect()
    };
    let hunter = Hunter { rules, iocs: None };
    let mut hits: Vec<(u64, String, Value)> = hunter
        .match_events(&events, &ScanOptions::default())
        .into_iter()
        .map(|h| {
            // Correlation hits carry their group and count; rule hits their line.
            let extra = if h.kind == kizuki_hunt::HitKind::Correlation {
                json!(
                    h.fields
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                )
            } else {
                Value::Null
            };
            (h.record, h.rule_title, extra)
        })
        .collect();
    hits.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    json!({
        "load_errors": errors,
        "matches": hits
            .iter()
            .map(|(l, t, x)| {
                if x.is_null() {
                    json!({"line": l, "rule": t})
                } else {
                    json!({"rule": t, "group": x})
                }
            }).collect::<Vec<_>>(),
    })
}

fn check(dir: &Path) -> Result<(), String> {
    let actual = run_case(dir);
    let exp_path = dir.join("expected.json");
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    if update || !exp_path.exists() {
        std::fs::write(
            &exp_path,
            serde_json::to_string_pretty(&actual).unwrap() + "\n",
        )
        .unwrap();
        return Ok(());
    }
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&exp_path).unwrap()).unwrap();
    if expected != actual {
        return Err(format!(
            "{}:\nexpected {}\nactual   {}",
            dir.display(),
            serde_json::to_string(&expected).unwrap(),
            serde_json::to_string(&actual).unwrap()
        ));
    }
    Ok(())
}

#[test]
fn conformance_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 30,
        "expected the conformance cases, found {}",
        dirs.len()
    );
    let failures: Vec<String> = dirs.iter().filter_map(|d| check(d).err()).collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
