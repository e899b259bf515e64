//! Bad input is reported and skipped; the scan completes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use kizuki_hunt::{Hunter, LoadOptions, RuleSet, ScanOptions};
use std::path::PathBuf;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/evtx/DeepBlueCLI/smb-password-guessing-security.evtx"
);

fn hunter(rule: &str) -> Hunter {
    let opts = LoadOptions::new().unwrap();
    Hunter {
        rules: RuleSet::from_yaml(rule, "rule.yml", &opts),
        iocs: None,
    }
}

const RULE: &str = "title: failed logon\nid: t1\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n";

#[test]
fn truncated_zeros_and_good_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(SAMPLE).unwrap();
    // Cut in the middle of the third chunk (header 4 KiB + 64 KiB chunks).
    let cut = 0x1000 + 2 * 0x10000 + 0x8000;
    std::fs::write(dir.path().join("truncated.evtx"), &data[..cut]).unwrap();
    std::fs::write(dir.path().join("zeros.evtx"), vec![0u8; 100_000]).unwrap();
    std::fs::write(dir.path().join("good.evtx"), &data).unwrap();
    std::fs::write(
        dir.path().join("garbage.jsonl"),
        "{\"EventID\": 4625, \"Channel\": \"Security\"}\nnot json\n",
    )
    .unwrap();
    let h = hunter(RULE);
    assert!(h.rules.errors.is_empty());
    let res = h
        .scan_collect(&[dir.path().to_path_buf()], &ScanOptions::default())
        .unwrap();
    let errs = &res.outcome.summary.input_errors;
    let msg: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert!(
        errs.iter()
            .any(|e| e.path.ends_with("zeros.evtx") && e.offset == Some(0)),
        "{msg:?}"
    );
    assert!(
        errs.iter().any(|e| e.path.ends_with("truncated.evtx")),
        "{msg:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.path.ends_with("garbage.jsonl") && e.reason.contains("line 2")),
        "{msg:?}"
    );
    // The good file and the readable chunks of the truncated one are still scanned.
    let good = res
        .hits
        .iter()
        .filter(|h| h.file.ends_with("good.evtx"))
        .count();
    let trunc = res
        .hits
        .iter()
        .filter(|h| h.file.ends_with("truncated.evtx"))
        .count();
    assert!(good > 100, "good file hits: {good}");
    assert!(trunc > 0 && trunc < good, "truncated file hits: {trunc}");
    assert!(res.hits.iter().any(|h| h.file.ends_with("garbage.jsonl")));
}

#[test]
fn syntax_error_and_unknown_modifier_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yml"), RULE).unwrap();
    std::fs::write(
        dir.path().join("syntax.yml"),
        "title: x\ndetection:\n  sel:\n    A: [1, 2\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("modifier.yml"),
        "title: bad modifier\nid: m1\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A|startswitch: x\n  condition: sel\n",
    )
    .unwrap();
    let opts = LoadOptions::new().unwrap();
    let rs = RuleSet::load(&[dir.path().to_path_buf()], &opts);
    assert_eq!(rs.len(), 1);
    let msgs: Vec<String> = rs.errors.iter().map(ToString::to_string).collect();
    assert_eq!(rs.errors.len(), 2, "{msgs:?}");
    let syn = rs
        .errors
        .iter()
        .find(|e| e.path.ends_with("syntax.yml"))
        .unwrap();
    assert!(syn.reason.contains("YAML syntax error"), "{msgs:?}");
    assert!(syn.line.is_some(), "{msgs:?}");
    let m = rs
        .errors
        .iter()
        .find(|e| e.path.ends_with("modifier.yml"))
        .unwrap();
    assert!(
        m.reason.contains("unknown modifier 'startswitch'"),
        "{msgs:?}"
    );
    assert_eq!(m.line, Some(7));
    // The scan with the remaining rule completes.
    let h = Hunter {
        rules: rs,
        iocs: None,
    };
    let res = h
        .scan_collect(&[PathBuf::from(SAMPLE)], &ScanOptions::default())
        .unwrap();
    assert!(!res.hits.is_empty());
}
