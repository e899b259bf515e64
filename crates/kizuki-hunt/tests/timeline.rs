//! Time-ordered output: a small memory budget forces sorted runs to temp files; the merged
//! output must be sorted and complete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use kizuki_hunt::timeline::TimelineSorter;
use kizuki_hunt::{
    Format, Hit, HitKind, HitWriter, Hunter, Level, LoadOptions, RuleSet, ScanOptions,
};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A `Write` whose bytes can be read back after the writer is gone.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn hit(i: u64, time_ms: Option<i64>) -> Hit {
    Hit {
        timestamp: time_ms.map(|t| t.to_string()),
        time_ms,
        computer: Some("pc".into()),
        channel: Some("Security".into()),
        event_id: Some(4624),
        record: i,
        kind: HitKind::Sigma,
        rule_title: format!("rule, \"{i}\"\nsecond line"),
        rule_id: format!("r-{}", i % 7),
        level: Level::High,
        status: "test".into(),
        tags: vec![],
        fields: vec![("Image".into(), format!("c:\\x\\{i}.exe"))],
        file: "f.evtx".into(),
        indicators: vec![],
    }
}

#[test]
fn spilled_runs_merge_sorted_and_complete() {
    // A pseudo-random permutation of times, some missing.
    let n = 5_000u64;
    let times: Vec<Option<i64>> = (0..n)
        .map(|i| {
            let x = (i.wrapping_mul(2_654_435_761) % 100_003) as i64;
            (i % 97 != 0).then_some(1_600_000_000_000 + x * 1000)
        })
        .collect();
    for format in [Format::Jsonl, Format::Csv] {
        let out = Shared::default();
        let mut w = HitWriter::new(Box::new(out.clone()), format);
        let mut s = TimelineSorter::new(format, 16 << 10);
        for (i, t) in times.iter().enumerate() {
            s.push(&hit(i as u64, *t)).unwrap();
        }
        assert!(
            s.runs() > 10,
            "budget should force spilling: {} runs",
            s.runs()
        );
        s.finish(&mut w).unwrap();
        w.flush().unwrap();
        let text = out.text();
        if format == Format::Jsonl {
            let got: Vec<(Option<i64>, u64)> = text
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    (
                        v["timestamp"].as_str().map(|t| t.parse().unwrap()),
                        v["record"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got.len() as u64, n, "every hit is written once");
            let mut records: Vec<u64> = got.iter().map(|g| g.1).collect();
            records.sort_unstable();
            assert_eq!(records, (0..n).collect::<Vec<_>>());
            let keys: Vec<i64> = got.iter().map(|g| g.0.unwrap_or(i64::MAX)).collect();
            assert!(keys.windows(2).all(|w| w[0] <= w[1]), "sorted by time");
            // Hits without a time come last.
            assert!(got.last().unwrap().0.is_none());
            for (t, r) in &got {
                assert_eq!(*t, times[*r as usize]);
            }
        } else {
            assert!(text.starts_with("timestamp,computer,"));
            assert_eq!(text.matches("\nsecond line").count() as u64, n);
        }
    }
}

#[test]
fn hunt_output_is_time_ordered_with_a_tiny_budget() {
    let evtx = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/evtx/DeepBlueCLI"
    ));
    if !evtx.exists() {
        eprintln!("skipped: {} not found", evtx.display());
        return;
    }
    let rules = "title: any logon event\nid: t-logon\nlevel: low\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: [4624, 4625, 4688]\n  condition: sel\n---\ntitle: powershell\nid: t-ps\nlevel: low\nlogsource:\n  product: windows\n  service: powershell\ndetection:\n  sel:\n    EventID: 4104\n  condition: sel\n";
    let run = |sort: bool| {
        let rules = RuleSet::from_yaml(rules, "r.yml", &LoadOptions::new().unwrap());
        assert!(rules.errors.is_empty(), "{:?}", rules.errors);
        let hunter = Hunter { rules, iocs: None };
        let out = Shared::default();
        let mut w = HitWriter::new(Box::new(out.clone()), Format::Jsonl);
        let opts = ScanOptions {
            sort,
            sort_budget: Some(8 << 10),
            ..ScanOptions::default()
        };
        let res = hunter
            .scan(std::slice::from_ref(&evtx), &opts, Some(&mut w))
            .unwrap();
        drop(w);
        (out.text(), res.outcome)
    };
    let (sorted, outcome) = run(true);
    let (unsorted, _) = run(false);
    assert!(outcome.summary.hits > 100, "{}", outcome.summary.hits);
    let mut a: Vec<&str> = sorted.lines().collect();
    let mut b: Vec<&str> = unsorted.lines().collect();
    assert_eq!(a.len() as u64, outcome.summary.hits);
    let times: Vec<i64> = a
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["timestamp"]
                .as_str()
                .and_then(kizuki_hunt::time::parse_ms)
                .unwrap_or(i64::MAX)
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted by time");
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "same detections with and without sorting");
    let ft: Vec<i64> = outcome
        .first_sightings
        .iter()
        .map(|f| f.time_ms.unwrap_or(i64::MAX))
        .collect();
    assert!(
        ft.windows(2).all(|w| w[0] <= w[1]),
        "first sightings by time"
    );
}
