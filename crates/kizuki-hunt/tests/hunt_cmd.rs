//! Compiles and exercises the `kizuki hunt` subcommand (crates/kizuki/src/hunt_cmd.rs), which
//! the binary crate includes; kept here so it is checked with this crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

#[path = "../../kizuki/src/hunt_cmd.rs"]
mod hunt_cmd;

use clap::Parser;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    hunt: hunt_cmd::HuntArgs,
}

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/evtx/DeepBlueCLI/smb-password-guessing-security.evtx"
);

#[test]
fn hunt_writes_jsonl_and_returns_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("r.yml");
    std::fs::write(
        &rule,
        "title: failed logon\nid: t-1\nlevel: low\ntags: [attack.t1110]\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n",
    )
    .unwrap();
    let ioc = dir.path().join("ioc.txt");
    std::fs::write(&ioc, "# test\naccount:DESKTOP-M5SN04R\n10.0.0.0/8\n").unwrap();
    let out = dir.path().join("out.jsonl");
    let cli = Cli::try_parse_from([
        "hunt",
        "--rules",
        rule.to_str().unwrap(),
        "--ioc",
        ioc.to_str().unwrap(),
        "--format",
        "jsonl",
        "--output",
        out.to_str().unwrap(),
        "--no-progress",
        "--min-level",
        "low",
        "--status",
        "test,stable,experimental,",
        SAMPLE,
    ])
    .unwrap();
    let outcome = hunt_cmd::run(&cli.hunt).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert_eq!(lines.len() as u64, outcome.summary.hits);
    // Time order by default.
    let times: Vec<i64> = lines
        .iter()
        .map(|l| {
            l["timestamp"]
                .as_str()
                .and_then(kizuki_hunt::time::parse_ms)
                .unwrap_or(i64::MAX)
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted by time");
    assert!(
        lines.iter().any(|l| l["rule_id"] == "t-1"
            && l["event_id"] == 4625
            && l["tags"][0] == "attack.t1110")
    );
    assert!(outcome.first_sightings.iter().any(|f| f.rule_id == "t-1"));
    assert!(
        outcome.matched_indicators.contains(&(
            kizuki_hunt::IndicatorKind::Account,
            "DESKTOP-M5SN04R".to_string()
        )),
        "{:?}",
        outcome.matched_indicators
    );

    // CSV and a level filter that leaves nothing.
    let csv = dir.path().join("out.csv");
    let cli = Cli::try_parse_from([
        "hunt",
        "--rules",
        rule.to_str().unwrap(),
        "--format",
        "csv",
        "-o",
        csv.to_str().unwrap(),
        "--no-progress",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        SAMPLE,
    ])
    .unwrap();
    let o = hunt_cmd::run(&cli.hunt).unwrap();
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert!(csv_text.starts_with("timestamp,computer,channel,event_id"));
    assert_eq!(csv_text.lines().count() as u64, o.summary.hits + 1);
    let cli = Cli::try_parse_from([
        "hunt",
        "--rules",
        rule.to_str().unwrap(),
        "--min-level",
        "high",
        "--no-progress",
        SAMPLE,
    ])
    .unwrap();
    assert!(
        hunt_cmd::run(&cli.hunt).is_err(),
        "every rule filtered out: nothing to hunt for"
    );
}
