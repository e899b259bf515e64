//! Store-level timings on a filled benchmark database (made by `kizuki-bench --fill-only`).
//!
//! ```sh
//! cp /tmp/kizuki-bench.db /tmp/kizuki-perf.db   # (+ -wal/-shm if present); it gets migrated
//! KIZUKI_PERF_DB=/tmp/kizuki-perf.db \
//!   cargo test -p kizuki-store-sqlite --release --test perf -- --ignored --nocapture
//! ```

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kizuki_domain::incident::{Category, IncidentFilter, Phase};
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};
use kizuki_store::{Store, TimelineQuery};
use kizuki_store_sqlite::SqliteStore;

fn pct(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
    format!(
        "n={} p50 {:?} p95 {:?} p99 {:?}",
        v.len(),
        at(50),
        at(95),
        at(99)
    )
}

fn entry(n: u64) -> TimelineEntryFields {
    TimelineEntryFields {
        occurred_at: Timestamp::from_second(1_767_000_000 + (n % 10_000) as i64).unwrap(),
        precision: TimePrecision::Minute,
        day_part: None,
        lane: Lane::CisoCsirt,
        actor: "perf".into(),
        kind: EntryKind::Analysis,
        text: format!("Store-level append number {n} of the perf test."),
        source: EntrySource::Manual,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; needs KIZUKI_PERF_DB"]
async fn perf_on_filled_db() {
    let Ok(path) = std::env::var("KIZUKI_PERF_DB") else {
        eprintln!("KIZUKI_PERF_DB not set");
        return;
    };
    let t = Instant::now();
    let s = SqliteStore::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    s.migrate().await.unwrap();
    println!("connect+migrate {:?}", t.elapsed());

    let big: i64 = sqlx::query_scalar(
        "SELECT id FROM incidents WHERE title LIKE '%kizukibench-big-timeline%' LIMIT 1",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();

    // 1 reader, sequential.
    let mut tl = Vec::new();
    let mut gi = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        s.get_incident(big).await.unwrap().unwrap();
        gi.push(t.elapsed());
        let t = Instant::now();
        let e = s
            .list_timeline(big, &TimelineQuery::default())
            .await
            .unwrap();
        tl.push(t.elapsed());
        assert!(e.len() >= 500);
    }
    println!("get_incident           {}", pct(gi));
    println!("list_timeline (500)    {}", pct(tl));

    let text = |t: &str| IncidentFilter {
        text: Some(t.into()),
        limit: 50,
        ..Default::default()
    };
    let filters: Vec<(&str, IncidentFilter)> = vec![
        (
            "phase",
            IncidentFilter {
                phases: vec![Phase::Triage],
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "category",
            IncidentFilter {
                categories: vec![Category::Ransomware],
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "open+sev3",
            IncidentFilter {
                open_only: true,
                min_severity: Some(3),
                limit: 50,
                ..Default::default()
            },
        ),
        ("q rare", text("zerologon")),
        ("q common", text("vpn")),
        (
            "cat+q common",
            IncidentFilter {
                categories: vec![Category::CloudExposure],
                ..text("vpn")
            },
        ),
        ("q missing", text("xylophonist")),
        ("q 2 chars", text("zq")),
        ("q japanese", text("改ざん")),
    ];
    for (name, f) in &filters {
        let mut v = Vec::new();
        let mut n = 0;
        for _ in 0..30 {
            let t = Instant::now();
            n = s.list_incidents(f).await.unwrap().items.len();
            v.push(t.elapsed());
        }
        println!("list {name:<14} rows={n:<3} {}", pct(v));
    }

    // Appends: 32 concurrent store-level writers for 5 s.
    let s = Arc::new(s);
    let max_id: i64 = sqlx::query_scalar("SELECT max(id) FROM incidents")
        .fetch_one(s.pool())
        .await
        .unwrap();
    for writers in [1u64, 32] {
        let stop = Instant::now() + Duration::from_secs(5);
        let mut handles = Vec::new();
        for w in 0..writers {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut n = w;
                while Instant::now() < stop {
                    n += 7919;
                    let id = 1 + (n as i64 * 31) % max_id;
                    let t = Instant::now();
                    s.add_timeline_entry(id, &entry(n), None, Timestamp::UNIX_EPOCH)
                        .await
                        .unwrap();
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        println!(
            "appends, {writers} writers: {:.0}/s {}",
            all.len() as f64 / 5.0,
            pct(all)
        );
    }
    s.close().await;
}
