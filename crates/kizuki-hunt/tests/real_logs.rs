//! Detections on the real EVTX corpus with the SigmaHQ Windows rules, compared with the
//! reviewed expected counts in `tests/expected/evtx_hits.json` (rule id → hits). Set
//! UPDATE_EXPECT=1 to rewrite the file, then review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use kizuki_hunt::{Hunter, LoadOptions, RuleSet, ScanOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/sigma/rules/windows"
);
const EVTX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/evtx");
const EXPECTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected/evtx_hits.json");

#[test]
fn evtx_corpus_hits_match_reviewed_counts() {
    let opts = LoadOptions::new().unwrap();
    let rules = RuleSet::load(&[PathBuf::from(RULES)], &opts);
    let hunter = Hunter { rules, iocs: None };
    let res = hunter
        .scan_collect(&[PathBuf::from(EVTX)], &ScanOptions::default())
        .unwrap();
    let s = &res.outcome.summary;
    assert_eq!(s.files, 315);
    assert_eq!(s.events, 16_801, "every record of the corpus is read");
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for h in &res.hits {
        *counts.entry(h.rule_id.clone()).or_default() += 1;
    }

    // Spot checks reviewed by hand.
    let spray: Vec<_> = res
        .hits
        .iter()
        .filter(|h| h.file.ends_with("smb-password-guessing-security.evtx"))
        .collect();
    assert!(
        spray
            .iter()
            .any(|h| h.rule_id == "72124974-a68b-4366-b990-d30e0b2a190d"),
        "SMB password guessing log must trigger 'Metasploit SMB Authentication'"
    );
    let mimikatz = res
        .hits
        .iter()
        .filter(|h| h.rule_title.contains("Mimikatz"))
        .count();
    assert!(mimikatz > 0, "mimikatz samples must be detected");
    assert!(
        res.hits.iter().any(
            |h| h.rule_id == "d99b79d2-0a6f-4f46-ad8b-260b6e17f982" && h.event_id == Some(1102)
        ),
        "Security log cleared (1102) must be detected"
    );

    let actual = serde_json::to_string_pretty(&counts).unwrap() + "\n";
    if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1")
        || !std::path::Path::new(EXPECTED).exists()
    {
        std::fs::create_dir_all(std::path::Path::new(EXPECTED).parent().unwrap()).unwrap();
        std::fs::write(EXPECTED, &actual).unwrap();
        return;
    }
    let expected: BTreeMap<String, u64> =
        serde_json::from_str(&std::fs::read_to_string(EXPECTED).unwrap()).unwrap();
    let mut diff = Vec::new();
    for k in expected
        .keys()
        .chain(counts.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (e, a) = (
            expected.get(k).copied().unwrap_or(0),
            counts.get(k).copied().unwrap_or(0),
        );
        if e != a {
            diff.push(format!("{k}: expected {e}, got {a}"));
        }
    }
    assert!(diff.is_empty(), "detections changed:\n{}", diff.join("\n"));
}
