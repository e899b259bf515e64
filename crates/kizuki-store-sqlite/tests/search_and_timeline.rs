//! The trigram text index (migration 0003) and the JSON-aggregated timeline read: same
//! results as the plain row-by-row queries they replace.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use jiff::Timestamp;
use jiff::civil::date;
use kizuki_domain::incident::{
    Category, DetectionSource, Impact, IncidentFields, IncidentFilter, Phase, StartBasis,
};
use kizuki_domain::timeline::{
    DayPart, EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields,
};
use kizuki_store::{Store, TimelineQuery};
use kizuki_store_sqlite::SqliteStore;

fn t0() -> Timestamp {
    "2026-01-05T00:00:00Z".parse().unwrap()
}

async fn memory() -> SqliteStore {
    let s = SqliteStore::connect("sqlite::memory:").await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn fields(title: &str, summary: &str) -> IncidentFields {
    IncidentFields {
        title: title.into(),
        summary: summary.into(),
        category: Category::Ransomware,
        severity: 2,
        phase: Phase::Reported,
        detection_source: DetectionSource::Edr,
        start_date: date(2026, 1, 5),
        start_basis: StartBasis::Detection,
        aware_at: t0(),
        affected_units: vec![],
        affected_assets: vec![],
        impact: Impact::default(),
        restricted: false,
    }
}

async fn find(s: &SqliteStore, filter: IncidentFilter) -> Vec<i64> {
    s.list_incidents(&filter)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id)
        .collect()
}

fn text(t: &str) -> IncidentFilter {
    IncidentFilter {
        text: Some(t.into()),
        limit: 500,
        ..Default::default()
    }
}

#[tokio::test]
async fn bundled_sqlite_has_fts5_with_the_trigram_tokenizer() {
    let s = memory().await;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(s.pool())
        .await
        .unwrap();
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    // trigram: 3.34; aggregate ORDER BY (used by the timeline read): 3.44.
    assert!((parts[0], parts[1]) >= (3, 44), "SQLite {version}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents_fts")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn indexed_search_is_a_case_insensitive_literal_substring() {
    let s = memory().await;
    let a = s
        .create_incident(
            &fields("100% of FILES encrypted", "Straße und ÉCOLE"),
            &[],
            None,
            t0(),
        )
        .await
        .unwrap()
        .id;
    let b = s
        .create_incident(
            &fields("100 percent_done", "said \"stop\" *now*"),
            &[],
            None,
            t0(),
        )
        .await
        .unwrap()
        .id;
    let c = s
        .create_incident(&fields("Webサイト改ざん", "社内ＬＡＮ"), &[], None, t0())
        .await
        .unwrap()
        .id;
    assert_eq!(find(&s, text("FILES")).await, [a]);
    assert_eq!(find(&s, text("% of")).await, [a], "% is literal");
    assert_eq!(find(&s, text("t_d")).await, [b], "_ is literal");
    assert_eq!(find(&s, text("100%")).await, [a]);
    assert_eq!(find(&s, text("école")).await, [a], "non-ASCII case folding");
    assert_eq!(find(&s, text("straße")).await, [a]);
    assert_eq!(find(&s, text("STRASSE")).await, Vec::<i64>::new());
    assert_eq!(find(&s, text("改ざん")).await, [c]);
    assert_eq!(find(&s, text("サイト改")).await, [c]);
    assert_eq!(
        find(&s, text("ｌａｎ")).await,
        [c],
        "full-width letters fold too"
    );
    assert_eq!(find(&s, text("\"stop\"")).await, [b], "quotes are literal");
    assert_eq!(find(&s, text("*now*")).await, [b], "FTS syntax is literal");
    assert_eq!(find(&s, text("s e")).await, [a], "spaces count");
    assert_eq!(find(&s, text("ed\" OR \"1")).await, Vec::<i64>::new());
    // Across the title/summary boundary is not a match (title + summary is not one text).
    assert_eq!(find(&s, text("teds")).await, Vec::<i64>::new());
    // Short needles fall back to a scan with the same semantics.
    assert_eq!(find(&s, text("%")).await, [a]);
    assert_eq!(find(&s, text("ざん")).await, [c]);
    assert_eq!(find(&s, text("10")).await, [b, a]);
}

#[tokio::test]
async fn the_index_follows_updates_and_deletes() {
    let s = memory().await;
    let i = s
        .create_incident(&fields("phishing wave", ""), &[], None, t0())
        .await
        .unwrap();
    assert_eq!(find(&s, text("phishing")).await, [i.id]);
    let mut f = IncidentFields::from_incident(&i);
    f.title = "Credential stuffing".into();
    f.summary = "then phishing".into();
    let u = s
        .update_incident(i.id, i.version, &f, &[], t0())
        .await
        .unwrap();
    assert_eq!(find(&s, text("wave")).await, Vec::<i64>::new());
    assert_eq!(find(&s, text("stuffing")).await, [i.id]);
    assert_eq!(find(&s, text("then phish")).await, [i.id]);
    // An update that does not touch the text leaves the index alone (and still right).
    f.severity = 4;
    s.update_incident(i.id, u.version, &f, &[], t0())
        .await
        .unwrap();
    assert_eq!(find(&s, text("stuffing")).await, [i.id]);
    sqlx::query("DELETE FROM incidents WHERE id = ?")
        .bind(i.id)
        .execute(s.write_pool())
        .await
        .unwrap();
    assert_eq!(find(&s, text("stuffing")).await, Vec::<i64>::new());
    // FTS5's own check of the index against the content table.
    sqlx::query("INSERT INTO incidents_fts (incidents_fts, rank) VALUES ('integrity-check', 1)")
        .execute(s.write_pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn indexed_search_combines_with_filters_and_pages_newest_first() {
    let s = memory().await;
    let mut ids = Vec::new();
    for n in 0..40 {
        let mut f = fields(&format!("Server {n} encrypted"), "");
        if n % 3 == 0 {
            f.summary = format!("VPN gateway {n}");
        }
        f.category = if n % 2 == 0 {
            Category::Ransomware
        } else {
            Category::DataLeak
        };
        f.phase = if n % 5 == 0 {
            Phase::Closed
        } else {
            Phase::Triage
        };
        f.severity = (n % 4 + 1) as u8;
        ids.push(s.create_incident(&f, &[], None, t0()).await.unwrap().id);
    }
    // Reference: the same filter done in Rust.
    let expect = |pred: &dyn Fn(usize) -> bool| -> Vec<i64> {
        (0..40).rev().filter(|&n| pred(n)).map(|n| ids[n]).collect()
    };
    let all_pages = |filter: IncidentFilter| {
        let s = &s;
        async move {
            let mut out = Vec::new();
            let mut before = None;
            loop {
                let page = s
                    .list_incidents(&IncidentFilter {
                        before_id: before,
                        ..filter.clone()
                    })
                    .await
                    .unwrap();
                assert!(page.items.len() <= 4);
                out.extend(page.items.iter().map(|i| i.id));
                match page.next_before_id {
                    Some(b) => before = Some(b),
                    None => return out,
                }
            }
        }
    };
    let vpn = IncidentFilter {
        text: Some("vpn gate".into()),
        limit: 4,
        ..Default::default()
    };
    assert_eq!(all_pages(vpn.clone()).await, expect(&|n| n % 3 == 0));
    assert_eq!(
        all_pages(IncidentFilter {
            categories: vec![Category::DataLeak],
            phases: vec![Phase::Triage],
            min_severity: Some(2),
            ..vpn.clone()
        })
        .await,
        expect(&|n| n % 3 == 0 && n % 2 == 1 && n % 5 != 0 && n % 4 + 1 >= 2)
    );
    assert_eq!(
        all_pages(IncidentFilter {
            open_only: true,
            text: Some("ENCRYPTED".into()),
            ..vpn.clone()
        })
        .await,
        expect(&|n| n % 5 != 0)
    );
    assert_eq!(
        all_pages(IncidentFilter {
            text: Some("er 1".into()),
            ..vpn
        })
        .await,
        expect(&|n| format!("server {n} encrypted").contains("er 1"))
    );
}

#[tokio::test]
async fn indexed_search_uses_the_fts_table() {
    let s = memory().await;
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT incidents.id FROM incidents_fts CROSS JOIN incidents \
         ON incidents.id = incidents_fts.rowid WHERE incidents_fts MATCH '\"abc\"' \
         AND phase IN ('triage') AND incidents_fts.rowid < 10 \
         ORDER BY incidents_fts.rowid DESC LIMIT 51",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    let plan = rows
        .into_iter()
        .map(|r| r.3)
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        plan.starts_with("SCAN incidents_fts VIRTUAL TABLE INDEX"),
        "{plan}"
    );
    // One lookup per FTS hit (by rowid, possibly through a covering filter index).
    assert!(plan.contains("SEARCH incidents USING"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[tokio::test]
async fn timeline_read_round_trips_every_field() {
    let s = memory().await;
    let i = s
        .create_incident(&fields("t", ""), &[], None, t0())
        .await
        .unwrap();
    let mut tricky = TimelineEntryFields {
        occurred_at: "2026-01-05T10:00:00.123456Z".parse().unwrap(),
        precision: TimePrecision::DayPart,
        day_part: Some(DayPart::EarlyMorning),
        lane: Lane::External,
        actor: "Ｊａｎｅ \"J\" \\ O'Neil".into(),
        kind: EntryKind::Decision,
        text: "line 1\nline 2\t\u{1}\u{7f} 改ざん 😀 </script>".into(),
        source: EntrySource::Manual,
    };
    let mut written = s
        .add_timeline_entries(i.id, std::slice::from_ref(&tricky), Some(7), t0())
        .await
        .unwrap();
    tricky.day_part = None;
    tricky.precision = TimePrecision::Minute;
    tricky.lane = Lane::CisoCsirt;
    tricky.occurred_at = "2026-01-05T09:00:00Z".parse().unwrap();
    written.insert(
        0,
        s.add_timeline_entry(i.id, &tricky, None, t0())
            .await
            .unwrap(),
    );
    let read = s
        .list_timeline(i.id, &TimelineQuery::default())
        .await
        .unwrap();
    assert_eq!(read, written);
    let external = s
        .list_timeline(
            i.id,
            &TimelineQuery {
                lanes: vec![Lane::External],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(external, written[1..]);
    let second = s
        .list_timeline(
            i.id,
            &TimelineQuery {
                offset: 1,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second, written[1..]);
    assert!(
        s.list_timeline(999, &TimelineQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}
