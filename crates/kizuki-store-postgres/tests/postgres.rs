//! Tests against a real PostgreSQL server.
//!
//! Set `KIZUKI_TEST_POSTGRES_URL` to a database URL whose role may CREATE DATABASE
//! (`eval "$(bash .ci/pg-start.sh)"` does). Each test works in its own fresh database.
//! Without the variable the tests say so loudly and pass — unless `CI` is set, where they fail.

// This whole file is test code (the workspace denies these outside tests only; clippy's
// in-tests allowance does not reach helpers of an integration test crate).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;
use kizuki_domain::decision::{DecisionOption, DecisionOutcome, NewDecision};
use kizuki_domain::evidence::{CustodyAction, NewCustodyEvent, NewEvidence};
use kizuki_domain::incident::{
    Category, DetectionSource, Impact, Incident, IncidentFields, IncidentFilter, Phase, StartBasis,
};
use kizuki_domain::legal_clock::{ClockKind, LegalClockFields};
use kizuki_domain::observable::{NewObservable, ObservableKind};
use kizuki_domain::party::{NewParty, PartyKind};
use kizuki_domain::task::{ChecklistItem, NewTask, TaskStatus};
use kizuki_domain::timeline::{
    DayPart, EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields,
};
use kizuki_domain::user::{NewUser, Role};
use kizuki_store::{CustodyRecord, Page, Store, StoreError, TaskCompletion, TimelineQuery};
use kizuki_store_postgres::{PgStore, create_test_database, drop_test_database};

fn admin_url() -> Option<String> {
    match std::env::var("KIZUKI_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "KIZUKI_TEST_POSTGRES_URL is not set but CI is: the PostgreSQL tests must run \
                 in CI. Start a server with `eval \"$(bash .ci/pg-start.sh)\"`."
            );
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! SKIPPED: KIZUKI_TEST_POSTGRES_URL is not set, the PostgreSQL backend was\n\
                 !!! NOT tested. Run: eval \"$(bash .ci/pg-start.sh)\" and test again.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
    }
}

/// A fresh, empty database, dropped by `finish`.
struct TestDb {
    admin: String,
    url: String,
}

impl TestDb {
    async fn new() -> Option<TestDb> {
        let admin = admin_url()?;
        let url = create_test_database(&admin).await.unwrap();
        Some(TestDb { admin, url })
    }

    async fn store(&self) -> PgStore {
        PgStore::connect(&self.url).await.unwrap()
    }

    async fn migrated_store(&self) -> PgStore {
        let s = self.store().await;
        s.migrate().await.unwrap();
        s
    }

    async fn finish(self, stores: &[&PgStore]) {
        for s in stores {
            s.close().await;
        }
        drop_test_database(&self.admin, &self.url).await.unwrap();
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn fields(title: &str) -> IncidentFields {
    IncidentFields {
        title: title.into(),
        summary: "Files on the NAS were encrypted".into(),
        category: Category::Ransomware,
        severity: 3,
        phase: Phase::Triage,
        detection_source: DetectionSource::Edr,
        start_date: date(2026, 1, 5),
        start_basis: StartBasis::Detection,
        aware_at: ts("2026-01-05T09:30:00.123456Z"),
        affected_units: vec!["経理部".into(), "Sales".into()],
        affected_assets: vec!["NAS-01".into()],
        impact: Impact {
            confidentiality: true,
            availability: true,
            personal_data: true,
            personal_data_count: Some(1200),
            unauthorised_act: true,
            notes: "payroll data".into(),
            ..Default::default()
        },
        restricted: true,
    }
}

fn entry(text: &str, at: &str) -> TimelineEntryFields {
    TimelineEntryFields {
        occurred_at: ts(at),
        precision: TimePrecision::Minute,
        day_part: None,
        lane: Lane::CisoCsirt,
        actor: "CSIRT".into(),
        kind: EntryKind::Analysis,
        text: text.into(),
        source: EntrySource::Manual,
    }
}

fn now() -> Timestamp {
    ts("2026-01-06T00:00:00Z")
}

fn task(title: &str, position: i64) -> NewTask {
    NewTask {
        playbook: Some("ransomware@1".into()),
        phase: "containment".into(),
        title: title.into(),
        lane: Lane::ItBusiness,
        checklist: vec![ChecklistItem {
            text: "unplug".into(),
            done: false,
        }],
        due_at: Some(ts("2026-01-07T00:00:00Z")),
        rationale: "case 3".into(),
        position,
    }
}

#[tokio::test]
async fn migrate_twice_is_idempotent() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.store().await;
    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(applied, shipped_migrations());
    assert_eq!(s.count_incidents().await.unwrap(), 0);
    s.ping().await.unwrap();
    assert_eq!(s.backend(), "postgres");
    db.finish(&[&s]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrate_from_several_pools_is_safe() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    // Four "replicas" starting at once against an empty database.
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(db.store().await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let handles: Vec<_> = stores
        .iter()
        .cloned()
        .map(|s| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                s.migrate().await
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(stores[0].pool())
        .await
        .unwrap();
    assert_eq!(applied, shipped_migrations());
    // Every replica can use the schema, and no one still holds the migration lock.
    for s in &stores {
        s.create_incident(&fields("after migrate"), &[], None, now())
            .await
            .unwrap();
        s.migrate().await.unwrap();
    }
    assert_eq!(stores[0].count_incidents().await.unwrap(), 4);
    let refs: Vec<&PgStore> = stores.iter().collect();
    db.finish(&refs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_completions_of_one_task_have_exactly_one_winner() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let incident = s
        .create_incident(&fields("race"), &[], None, now())
        .await
        .unwrap();
    let rounds = 10;
    for round in 0..rounds {
        let t = s
            .add_tasks(incident.id, &[task(&format!("t{round}"), round)])
            .await
            .unwrap()
            .remove(0);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|who| {
                let s = s.clone();
                let barrier = barrier.clone();
                let completion = TaskCompletion {
                    by: None,
                    at: now(),
                    entry: TimelineEntryFields {
                        source: EntrySource::Task,
                        ..entry(&format!("done by {who}"), "2026-01-05T12:00:00Z")
                    },
                };
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.complete_task(incident.id, t.id, &completion).await
                })
            })
            .collect();
        let mut ok = 0;
        let mut dup = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok((task, entry)) => {
                    assert_eq!(task.status, TaskStatus::Done);
                    assert_eq!(task.completed_at, Some(now()));
                    assert_eq!(entry.source, EntrySource::Task);
                    ok += 1;
                }
                Err(StoreError::Duplicate { .. }) => dup += 1,
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!((ok, dup), (1, 1), "round {round}");
    }
    // Exactly one timeline entry per task.
    let timeline = s
        .list_timeline(incident.id, &TimelineQuery::default())
        .await
        .unwrap();
    assert_eq!(timeline.len(), usize::try_from(rounds).unwrap());
    // Unknown task, or a task of another incident: NotFound.
    let t = s.add_tasks(incident.id, &[task("x", 99)]).await.unwrap();
    let completion = TaskCompletion {
        by: None,
        at: now(),
        entry: entry("x", "2026-01-05T12:00:00Z"),
    };
    assert!(matches!(
        s.complete_task(incident.id + 1, t[0].id, &completion).await,
        Err(StoreError::NotFound { entity: "task", .. })
    ));
    assert!(matches!(
        s.complete_task(incident.id, 999_999, &completion).await,
        Err(StoreError::NotFound { entity: "task", .. })
    ));
    db.finish(&[&s]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn thirty_two_concurrent_timeline_writers_all_succeed() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let incident = s
        .create_incident(&fields("busy"), &[], None, now())
        .await
        .unwrap();
    let writers = 32;
    let per_writer = 10;
    let barrier = Arc::new(tokio::sync::Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let s = s.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                for i in 0..per_writer {
                    // Many entries share one instant: order must then fall back to id.
                    let e = entry(&format!("w{w} e{i}"), "2026-01-05T10:00:00Z");
                    s.add_timeline_entry(incident.id, &e, None, now()).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let all = s
        .list_timeline(incident.id, &TimelineQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), writers * per_writer);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    // The incident itself was not touched (appending does not bump its version).
    let again = s.get_incident(incident.id).await.unwrap().unwrap();
    assert_eq!(again.version, 1);
    db.finish(&[&s]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn update_conflict_changes_nothing() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let created = s
        .create_incident(&fields("v1"), &[], None, now())
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, now());
    assert_eq!(created.updated_at, now());

    let later = ts("2026-01-07T00:00:00Z");
    let mut f2 = fields("v2");
    f2.phase = Phase::Containment;
    let updated = s
        .update_incident(created.id, 1, &f2, &[], later)
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.title, "v2");
    assert_eq!(updated.created_at, now());
    assert_eq!(updated.updated_at, later);

    // A stale writer loses and changes nothing.
    let stale = s
        .update_incident(
            created.id,
            1,
            &fields("stale"),
            &[],
            ts("2026-01-08T00:00:00Z"),
        )
        .await;
    match stale {
        Err(StoreError::Conflict {
            id,
            expected,
            current,
        }) => assert_eq!((id, expected, current), (created.id, 1, 2)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.get_incident(created.id).await.unwrap().unwrap(), updated);

    // Two writers who read the same version: one wins, one conflicts.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let s = s.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                s.update_incident(created.id, 2, &fields(&format!("racer {i}")), &[], later)
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::Conflict { current: 3, .. })))
    );

    assert!(matches!(
        s.update_incident(424_242, 1, &fields("ghost"), &[], later)
            .await,
        Err(StoreError::NotFound {
            entity: "incident",
            ..
        })
    ));
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn incident_and_clocks_round_trip_exactly() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let user = s
        .create_user(
            &NewUser::new("ic@example.jp", "IC", Role::IncidentCommander).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let clocks = [
        LegalClockFields {
            kind: ClockKind::AppiPreliminary,
            name: "APPI preliminary".into(),
            due_hours: 72,
            overdue_hours: 120,
            started_at: ts("2026-01-05T09:30:00.123456Z"),
        },
        LegalClockFields {
            kind: ClockKind::Gdpr,
            name: "GDPR".into(),
            due_hours: 72,
            overdue_hours: 72,
            started_at: ts("2026-01-05T09:30:00Z"),
        },
    ];
    let f = fields("round trip");
    let created = s
        .create_incident(&f, &clocks, Some(user.id), now())
        .await
        .unwrap();
    let read = s.get_incident(created.id).await.unwrap().unwrap();
    assert_eq!(read, created);
    assert_eq!(
        kizuki_domain::incident::IncidentFields::from_incident(&read),
        f
    );
    assert_eq!(read.created_by, Some(user.id));
    assert!(s.get_incident(created.id + 1000).await.unwrap().is_none());

    let stored = s.list_legal_clocks(created.id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kind, ClockKind::AppiPreliminary);
    assert_eq!(stored[0].started_at, clocks[0].started_at);
    let met = s
        .mark_legal_clock_met(created.id, stored[0].id, ts("2026-01-06T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(met.met_at, Some(ts("2026-01-06T10:00:00Z")));
    assert!(matches!(
        s.mark_legal_clock_met(created.id + 1, stored[0].id, now())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // One clock per statutory kind and incident: a second GDPR clock is refused.
    assert!(matches!(
        s.add_legal_clock(created.id, &clocks[1]).await,
        Err(StoreError::Duplicate { .. })
    ));
    let custom = LegalClockFields {
        kind: ClockKind::Custom,
        name: "Customer contract notice".into(),
        due_hours: 24,
        overdue_hours: 24,
        started_at: clocks[1].started_at,
    };
    let added = s.add_legal_clock(created.id, &custom).await.unwrap();
    assert_eq!(added.incident_id, created.id);
    assert!(matches!(
        s.add_legal_clock(987_654, &clocks[1]).await,
        Err(StoreError::NotFound {
            entity: "incident",
            ..
        })
    ));

    // Sub-microsecond digits are truncated (PostgreSQL keeps microseconds).
    let mut g = fields("nanos");
    g.aware_at = ts("2026-01-05T09:30:00.123456789Z");
    let nanos = s.create_incident(&g, &[], None, now()).await.unwrap();
    assert_eq!(nanos.aware_at, ts("2026-01-05T09:30:00.123456Z"));

    assert_eq!(s.count_incidents().await.unwrap(), 2);
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn listing_filters_paginates_and_escapes_text() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let mut f = fields(&format!("incident {i}"));
        f.summary = String::new();
        f.phase = if i % 3 == 0 {
            Phase::Closed
        } else {
            Phase::Triage
        };
        f.category = if i % 2 == 0 {
            Category::Ransomware
        } else {
            Category::DataLeak
        };
        f.severity = u8::try_from(i % 5 + 1).unwrap();
        ids.push(s.create_incident(&f, &[], None, now()).await.unwrap().id);
    }
    let mut special = fields("100% of _files_ on C:\\Share");
    special.summary = "Mixed CASE Summary".into();
    let special = s.create_incident(&special, &[], None, now()).await.unwrap();

    // Newest first, pages chained by next_before_id.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = s
            .list_incidents(&IncidentFilter {
                limit: 5,
                before_id: before,
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| i.id));
        match page.next_before_id {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    let mut want: Vec<i64> = ids.clone();
    want.push(special.id);
    want.reverse();
    assert_eq!(seen, want);
    // A page that ends exactly at the last row says so.
    let exact = s
        .list_incidents(&IncidentFilter {
            limit: 13,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((exact.items.len(), exact.next_before_id), (13, None));

    let open = s
        .list_incidents(&IncidentFilter {
            open_only: true,
            categories: vec![Category::Ransomware],
            min_severity: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!open.items.is_empty());
    assert!(open.items.iter().all(|i| i.phase != Phase::Closed
        && i.category == Category::Ransomware
        && i.severity >= 2));
    let closed = s
        .list_incidents(&IncidentFilter {
            phases: vec![Phase::Closed],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.items.len(), 4);

    let text = |t: &str| IncidentFilter {
        text: Some(t.into()),
        ..Default::default()
    };
    // `%`, `_` and `\` are literal characters, not patterns.
    let hits = |p: &Page<Incident>| p.items.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        hits(&s.list_incidents(&text("100%")).await.unwrap()),
        [special.id]
    );
    assert_eq!(
        hits(&s.list_incidents(&text("%")).await.unwrap()),
        [special.id]
    );
    assert_eq!(
        hits(&s.list_incidents(&text("_files_")).await.unwrap()),
        [special.id]
    );
    assert_eq!(
        hits(&s.list_incidents(&text("c:\\share")).await.unwrap()),
        [special.id]
    );
    assert_eq!(
        hits(&s.list_incidents(&text("mixed case")).await.unwrap()),
        [special.id]
    );
    assert!(hits(&s.list_incidents(&text("1_0")).await.unwrap()).is_empty());
    assert_eq!(
        s.list_incidents(&text("incident 1"))
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn children_of_a_missing_incident_are_not_found() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let missing = 31_337;
    let is_missing_incident = |r: Result<(), StoreError>| match r {
        Err(StoreError::NotFound { entity, id }) => entity == "incident" && id == "31337",
        _ => false,
    };
    assert!(is_missing_incident(
        s.add_timeline_entry(missing, &entry("x", "2026-01-05T00:00:00Z"), None, now())
            .await
            .map(|_| ())
    ));
    assert!(is_missing_incident(
        s.add_timeline_entries(missing, &[entry("x", "2026-01-05T00:00:00Z")], None, now())
            .await
            .map(|_| ())
    ));
    assert!(is_missing_incident(
        s.add_tasks(missing, &[task("t", 1)]).await.map(|_| ())
    ));
    assert!(is_missing_incident(
        s.add_party(
            missing,
            &NewParty {
                kind: PartyKind::Police,
                name: "Cyber division".into(),
                organisation: String::new(),
                role: String::new(),
                email: String::new(),
                phone: String::new(),
                fallback_channel: String::new(),
                notes: String::new(),
            }
        )
        .await
        .map(|_| ())
    ));
    let obs = NewObservable {
        kind: ObservableKind::Ip,
        value: "192.0.2.7".into(),
        note: String::new(),
        first_seen: None,
    };
    assert!(is_missing_incident(
        s.add_observable(missing, &obs, "192.0.2.7", now())
            .await
            .map(|_| ())
    ));
    let ev = NewEvidence {
        name: "disk".into(),
        description: String::new(),
        sha256: None,
        location: String::new(),
        collected_by: "Sato".into(),
        collected_at: None,
    };
    assert!(is_missing_incident(
        s.add_evidence(missing, &ev, now(), now()).await.map(|_| ())
    ));
    // A creator that does not exist is a missing user, not a missing incident.
    let incident = s
        .create_incident(&fields("i"), &[], None, now())
        .await
        .unwrap();
    assert!(matches!(
        s.add_timeline_entry(
            incident.id,
            &entry("x", "2026-01-05T00:00:00Z"),
            Some(777),
            now()
        )
        .await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    // Lists of a missing incident are empty.
    assert!(
        s.list_timeline(missing, &TimelineQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn timeline_batches_order_lanes_and_paging() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let incident = s
        .create_incident(&fields("t"), &[], None, now())
        .await
        .unwrap();
    let mut batch = vec![
        entry("third", "2026-01-05T12:00:00Z"),
        entry("first", "2026-01-04T12:00:00Z"),
        entry("second", "2026-01-05T00:00:00.000001Z"),
    ];
    batch[1].lane = Lane::ManagementPr;
    batch[2].precision = TimePrecision::DayPart;
    batch[2].day_part = Some(DayPart::EarlyMorning);
    let written = s
        .add_timeline_entries(incident.id, &batch, None, now())
        .await
        .unwrap();
    // Returned in input order.
    let texts: Vec<_> = written.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["third", "first", "second"]);
    assert_eq!(written[2].day_part, Some(DayPart::EarlyMorning));

    let all = s
        .list_timeline(incident.id, &TimelineQuery::default())
        .await
        .unwrap();
    let texts: Vec<_> = all.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["first", "second", "third"]);
    assert_eq!(all[1], written[2]);

    let lanes = s
        .list_timeline(
            incident.id,
            &TimelineQuery {
                lanes: vec![Lane::ManagementPr],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(lanes.len(), 1);
    assert_eq!(lanes[0].text, "first");
    let page = s
        .list_timeline(
            incident.id,
            &TimelineQuery {
                lanes: vec![],
                offset: 1,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].text, "second");
    assert!(
        s.add_timeline_entries(incident.id, &[], None, now())
            .await
            .unwrap()
            .is_empty()
    );
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn users_and_tokens() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let new = NewUser::new("CSIRT@example.jp", "", Role::Responder).unwrap();
    let u = s.create_user(&new, now()).await.unwrap();
    assert_eq!(u.email, "csirt@example.jp");
    match s.create_user(&new, now()).await {
        Err(StoreError::Duplicate { what }) => assert_eq!(what, "user csirt@example.jp"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(
        s.user_by_email("csirt@example.jp").await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(s.user_by_id(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.user_by_id(u.id + 1).await.unwrap(), None);

    let expires = ts("2026-02-01T00:00:00Z");
    let tok = s
        .create_token(u.id, "ci", "hash-1", now(), Some(expires))
        .await
        .unwrap();
    assert_eq!(tok.expires_at, Some(expires));
    assert_eq!(
        s.user_by_token_hash("hash-1", now()).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(s.user_by_token_hash("hash-1", expires).await.unwrap(), None);
    assert_eq!(s.user_by_token_hash("nope", now()).await.unwrap(), None);
    s.create_token(u.id, "forever", "hash-2", now(), None)
        .await
        .unwrap();
    assert!(
        s.user_by_token_hash("hash-2", expires)
            .await
            .unwrap()
            .is_some()
    );
    sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE secret_hash = 'hash-2'")
        .execute(s.pool())
        .await
        .unwrap();
    assert_eq!(s.user_by_token_hash("hash-2", now()).await.unwrap(), None);
    assert!(matches!(
        s.create_token(u.id + 50, "x", "hash-3", now(), None).await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn decisions_evidence_observables_and_parties() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let a = s
        .create_incident(&fields("A"), &[], None, now())
        .await
        .unwrap();
    let b = s
        .create_incident(&fields("B"), &[], None, now())
        .await
        .unwrap();

    // Decisions.
    let d = s
        .add_decision(
            a.id,
            &NewDecision {
                question: "Pay?".into(),
                options: vec![
                    DecisionOption {
                        label: "Refuse".into(),
                        scenario: "restore from backup".into(),
                    },
                    DecisionOption {
                        label: "Pay".into(),
                        scenario: String::new(),
                    },
                ],
                chosen: None,
                decided_by: String::new(),
                decided_at: None,
                rationale: "board asked".into(),
                decide_by: Some(ts("2026-01-06T12:00:00Z")),
            },
            now(),
        )
        .await
        .unwrap();
    assert_eq!(s.get_decision(a.id, d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(s.get_decision(b.id, d.id).await.unwrap(), None);
    let outcome = DecisionOutcome {
        chosen: 0,
        decided_by: "CEO".into(),
        decided_at: None,
        rationale: String::new(),
    };
    let decided = s
        .decide(a.id, d.id, &outcome, ts("2026-01-06T11:00:00Z"))
        .await
        .unwrap();
    assert_eq!(decided.chosen, Some(0));
    assert_eq!(decided.decided_at, Some(ts("2026-01-06T11:00:00Z")));
    assert_eq!(decided.rationale, "board asked");
    assert!(matches!(
        s.decide(a.id, d.id, &outcome, now()).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(matches!(
        s.decide(b.id, d.id, &outcome, now()).await,
        Err(StoreError::NotFound {
            entity: "decision",
            ..
        })
    ));
    assert_eq!(s.list_decisions(a.id).await.unwrap(), [decided]);

    // Evidence and its chain of custody.
    let item = s
        .add_evidence(
            a.id,
            &NewEvidence {
                name: "PC-0231 image".into(),
                description: "E01".into(),
                sha256: Some("ab".repeat(32)),
                location: "safe 2".into(),
                collected_by: "Sato".into(),
                collected_at: None,
            },
            ts("2026-01-05T10:00:00Z"),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(item.custody.len(), 1);
    assert_eq!(item.custody[0].action, CustodyAction::Collected);
    assert_eq!(item.custody[0].handler, "Sato");
    assert_eq!(item.custody[0].location, "safe 2");
    let second = s
        .add_evidence(
            a.id,
            &NewEvidence {
                name: "firewall logs".into(),
                description: String::new(),
                sha256: None,
                location: String::new(),
                collected_by: "Ito".into(),
                collected_at: None,
            },
            now(),
            now(),
        )
        .await
        .unwrap();
    let moved = s
        .add_custody_event(
            a.id,
            item.id,
            &CustodyRecord {
                at: ts("2026-01-05T15:00:00Z"),
                event: NewCustodyEvent {
                    at: None,
                    action: CustodyAction::Transferred,
                    handler: "Vendor".into(),
                    location: "vendor lab".into(),
                    note: "courier".into(),
                },
            },
        )
        .await
        .unwrap();
    // An earlier event without a location leaves the item where it is.
    s.add_custody_event(
        a.id,
        item.id,
        &CustodyRecord {
            at: ts("2026-01-05T12:00:00Z"),
            event: NewCustodyEvent {
                at: None,
                action: CustodyAction::Analysed,
                handler: "Sato".into(),
                location: String::new(),
                note: String::new(),
            },
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        s.add_custody_event(
            b.id,
            item.id,
            &CustodyRecord {
                at: now(),
                event: NewCustodyEvent {
                    at: None,
                    action: CustodyAction::Stored,
                    handler: "x".into(),
                    location: String::new(),
                    note: String::new(),
                },
            },
        )
        .await,
        Err(StoreError::NotFound {
            entity: "evidence",
            ..
        })
    ));
    let listed = s.list_evidence(a.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, item.id);
    assert_eq!(listed[0].location, "vendor lab");
    let actions: Vec<_> = listed[0].custody.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            CustodyAction::Collected,
            CustodyAction::Analysed,
            CustodyAction::Transferred
        ]
    );
    assert_eq!(listed[0].custody[2], moved);
    assert_eq!(listed[1], second);
    assert!(s.list_evidence(b.id).await.unwrap().is_empty());

    // Observables: the same normalised value twice returns the first one.
    let obs = |value: &str| NewObservable {
        kind: ObservableKind::Domain,
        value: value.into(),
        note: String::new(),
        first_seen: None,
    };
    let first = s
        .add_observable(a.id, &obs("Evil[.]example"), "evil.example", now())
        .await
        .unwrap();
    let again = s
        .add_observable(
            a.id,
            &obs("EVIL.example."),
            "evil.example",
            ts("2026-02-01T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        s.list_observables(a.id).await.unwrap(),
        std::slice::from_ref(&first)
    );
    let in_b = s
        .add_observable(b.id, &obs("evil.example"), "evil.example", now())
        .await
        .unwrap();
    let shared = s
        .incidents_sharing(ObservableKind::Domain, "evil.example", Some(a.id))
        .await
        .unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].incident_id, b.id);
    assert_eq!(shared[0].incident_title, "B");
    assert_eq!(shared[0].observable_id, in_b.id);
    let all = s
        .incidents_sharing(ObservableKind::Domain, "evil.example", None)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|x| x.incident_id).collect::<Vec<_>>(),
        [a.id, b.id]
    );
    assert!(
        s.incidents_sharing(ObservableKind::Ip, "evil.example", None)
            .await
            .unwrap()
            .is_empty()
    );

    // Parties.
    let p = s
        .add_party(
            a.id,
            &NewParty {
                kind: PartyKind::Jpcert,
                name: "JPCERT/CC".into(),
                organisation: "JPCERT/CC".into(),
                role: "coordination".into(),
                email: "info@jpcert.or.jp".into(),
                phone: "03-0000-0000".into(),
                fallback_channel: "phone".into(),
                notes: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(s.list_parties(a.id).await.unwrap(), [p]);

    // Tasks keep their playbook order.
    let tasks = s
        .add_tasks(a.id, &[task("second", 2), task("first", 1)])
        .await
        .unwrap();
    assert_eq!(tasks[0].title, "second");
    let listed: Vec<_> = s
        .list_tasks(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(listed, ["first", "second"]);
    assert_eq!(tasks[0].checklist.len(), 1);
    assert_eq!(tasks[0].status, TaskStatus::Open);
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn a_bad_stored_value_is_reported_as_corrupt() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let i = s
        .create_incident(&fields("tampered"), &[], None, now())
        .await
        .unwrap();
    sqlx::raw_sql(
        "ALTER TABLE incidents DROP CONSTRAINT incidents_phase_check; \
         UPDATE incidents SET phase = 'panicking'",
    )
    .execute(s.pool())
    .await
    .unwrap();
    match s.get_incident(i.id).await {
        Err(StoreError::Corrupt { table, column, .. }) => {
            assert_eq!((table, column), ("incidents", "phase"));
        }
        other => panic!("expected corrupt data, got {other:?}"),
    }
    sqlx::query("UPDATE incidents SET phase = 'triage', impact = '{\"gdpr\": \"yes\"}'")
        .execute(s.pool())
        .await
        .unwrap();
    assert!(matches!(
        s.get_incident(i.id).await,
        Err(StoreError::Corrupt {
            column: "impact",
            ..
        })
    ));
    db.finish(&[&s]).await;
}

/// How many migrations the crate ships (the .sql files in migrations/).
fn shipped_migrations() -> i64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let n = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count();
    i64::try_from(n).unwrap()
}
