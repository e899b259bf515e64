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
use kizuki_domain::access::Viewer;
use kizuki_domain::audit::{AuditEvent, AuditRecord, AuditSealer, GENESIS_HASH};
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
use kizuki_domain::user::{
    LoginFailures, Member, NewSession, NewUser, Role, Session, SessionStage, TokenAccess,
    TokenResource, TokenScope,
};
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
    assert_eq!(s.count_incidents(None).await.unwrap(), 0);
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
    assert_eq!(stores[0].count_incidents(None).await.unwrap(), 4);
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

    assert_eq!(s.count_incidents(None).await.unwrap(), 2);
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
    let read_only = TokenScope {
        access: TokenAccess::Read,
        resources: vec![TokenResource::Incidents, TokenResource::Timeline],
    };
    let tok = s
        .create_token(u.id, "ci", &read_only, "hash-1", now(), Some(expires))
        .await
        .unwrap();
    assert_eq!(tok.expires_at, Some(expires));
    assert_eq!(tok.scope, read_only);
    assert_eq!(
        s.user_by_token_hash("hash-1", now()).await.unwrap(),
        Some((u.clone(), read_only.clone()))
    );
    assert_eq!(s.user_by_token_hash("hash-1", expires).await.unwrap(), None);
    assert_eq!(s.user_by_token_hash("nope", now()).await.unwrap(), None);
    s.create_token(u.id, "forever", &TokenScope::full(), "hash-2", now(), None)
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
        s.create_token(u.id + 50, "x", &TokenScope::full(), "hash-3", now(), None)
            .await,
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
        .incidents_sharing(ObservableKind::Domain, "evil.example", Some(a.id), None)
        .await
        .unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].incident_id, b.id);
    assert_eq!(shared[0].incident_title, "B");
    assert_eq!(shared[0].observable_id, in_b.id);
    let all = s
        .incidents_sharing(ObservableKind::Domain, "evil.example", None, None)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|x| x.incident_id).collect::<Vec<_>>(),
        [a.id, b.id]
    );
    assert!(
        s.incidents_sharing(ObservableKind::Ip, "evil.example", None, None)
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

// --- security ---------------------------------------------------------------------------------

/// A stand-in for the keyed sealer of `kizuki-auth`: deterministic, and sensitive to every
/// field, so a wrong link or a changed value shows.
struct TestSealer;

impl TestSealer {
    fn digest(text: &str) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        text.hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

impl AuditSealer for TestSealer {
    fn seal_record(&self, seq: i64, event: &AuditEvent, prev_hash: &str) -> String {
        Self::digest(&format!(
            "{seq}|{prev_hash}|{}|{:?}|{}|{:?}|{}|{}|{}|{}",
            event.at.as_nanosecond(),
            event.actor_id,
            event.actor,
            event.address,
            event.action,
            event.object,
            event.outcome,
            event.detail
        ))
    }

    fn seal_head(&self, seq: i64, hash: &str) -> String {
        Self::digest(&format!("head|{seq}|{hash}"))
    }
}

fn audit_event(action: &str, at: &str) -> AuditEvent {
    AuditEvent {
        at: ts(at),
        actor_id: None,
        actor: "cli".into(),
        address: Some("192.0.2.1".into()),
        action: action.into(),
        object: "/api/v1/incidents/1".into(),
        outcome: "ok".into(),
        detail: "{\"b\": 1,  \"a\":2}".into(),
    }
}

/// Checks the whole chain as the verifier would: contiguous, linked, sealed, head sealed.
async fn assert_chain_intact(s: &PgStore) -> Vec<AuditRecord> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |r: &AuditRecord| r.seq);
        let page = s.list_audit(after, 100).await.unwrap();
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let mut prev = GENESIS_HASH.to_owned();
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.seq, i64::try_from(i).unwrap() + 1, "no gaps");
        assert_eq!(
            r.prev_hash, prev,
            "record {} follows its predecessor",
            r.seq
        );
        assert_eq!(
            r.hash,
            TestSealer.seal_record(r.seq, &r.event, &r.prev_hash)
        );
        prev = r.hash.clone();
    }
    let head = s.audit_head().await.unwrap();
    match all.last() {
        None => assert_eq!(head, None),
        Some(last) => {
            let head = head.unwrap();
            assert_eq!(
                (head.seq, head.hash.as_str()),
                (last.seq, last.hash.as_str())
            );
            assert_eq!(head.seal, TestSealer.seal_head(head.seq, &head.hash));
        }
    }
    all
}

#[tokio::test]
async fn audit_chain_appends_in_order_and_reads_back_exactly() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    assert_eq!(s.audit_head().await.unwrap(), None);
    assert!(s.list_audit(0, 10).await.unwrap().is_empty());
    assert!(s.append_audit(&[], &TestSealer).await.unwrap().is_empty());
    assert_eq!(s.audit_head().await.unwrap(), None, "nothing appended yet");

    // Nanoseconds are dropped before sealing, so the stored record verifies.
    let mut first = audit_event("auth.login", "2026-01-05T09:30:00.123456789Z");
    first.actor_id = Some(7);
    let mut second = audit_event("incident.update", "2026-01-05T09:31:00Z");
    second.address = None;
    second.detail = String::new();
    let written = s
        .append_audit(&[first.clone(), second.clone()], &TestSealer)
        .await
        .unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].seq, 1);
    assert_eq!(written[0].prev_hash, GENESIS_HASH);
    assert_eq!(written[0].event.at, ts("2026-01-05T09:30:00.123456Z"));
    assert_eq!(written[1].prev_hash, written[0].hash);
    assert_eq!(written[1].event, second);
    let read = assert_chain_intact(&s).await;
    assert_eq!(
        read, written,
        "stored exactly as sealed (detail keeps its bytes)"
    );

    let more = s
        .append_audit(
            &[audit_event("export.incident", "2026-01-05T10:00:00Z")],
            &TestSealer,
        )
        .await
        .unwrap();
    assert_eq!(more[0].seq, 3);
    assert_eq!(more[0].prev_hash, written[1].hash);
    assert_eq!(s.list_audit(1, 1).await.unwrap(), [written[1].clone()]);
    assert_eq!(s.list_audit(2, 10).await.unwrap(), more);
    assert_eq!(assert_chain_intact(&s).await.len(), 3);
    db.finish(&[&s]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn replicas_appending_at_once_never_fork_the_audit_chain() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    // Four "replicas" (own pools) with eight writers each, all on one database.
    let first = db.migrated_store().await;
    let mut stores = vec![first];
    for _ in 0..3 {
        stores.push(db.store().await);
    }
    let writers = 32;
    let rounds = 6;
    let barrier = Arc::new(tokio::sync::Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let s = stores[w % stores.len()].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                for r in 0..rounds {
                    // Batches of one to three events.
                    let batch: Vec<_> = (0..=(w + r) % 3)
                        .map(|k| audit_event(&format!("w{w}.r{r}.k{k}"), "2026-01-05T10:00:00Z"))
                        .collect();
                    let written = s.append_audit(&batch, &TestSealer).await?;
                    assert_eq!(written.len(), batch.len());
                    // A batch is contiguous: no other appender got in between.
                    assert!(written.windows(2).all(|p| p[1].seq == p[0].seq + 1));
                    mine.extend(written);
                }
                Ok::<_, StoreError>(mine)
            })
        })
        .collect();
    let mut expected = 0;
    let mut seqs = Vec::new();
    for h in handles {
        let mine = h.await.unwrap().unwrap();
        expected += mine.len();
        seqs.extend(mine.iter().map(|r| r.seq));
    }
    let all = assert_chain_intact(&stores[0]).await;
    assert_eq!(all.len(), expected);
    seqs.sort_unstable();
    assert_eq!(seqs, all.iter().map(|r| r.seq).collect::<Vec<_>>());
    let refs: Vec<&PgStore> = stores.iter().collect();
    db.finish(&refs).await;
}

#[tokio::test]
async fn audit_head_survives_a_fresh_migration_and_reports_no_head_when_seeded() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    // The head row is seeded once; migrating again does not touch it.
    s.append_audit(&[audit_event("a", "2026-01-05T10:00:00Z")], &TestSealer)
        .await
        .unwrap();
    s.migrate().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_head")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(s.audit_head().await.unwrap().unwrap().seq, 1);
    // A second head row cannot be made.
    assert!(
        sqlx::query("INSERT INTO audit_head (id, seq, hash, seal) VALUES (FALSE, 0, '', '')")
            .execute(s.pool())
            .await
            .is_err()
    );
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn users_credentials_and_second_factor() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let admin = s
        .create_user(
            &NewUser::new("admin@example.jp", "", Role::Admin).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let bob = s
        .create_user(
            &NewUser::new("bob@example.jp", "Bob", Role::Responder).unwrap(),
            now(),
        )
        .await
        .unwrap();
    assert!(admin.active && !admin.mfa_enabled);
    assert_eq!(s.list_users().await.unwrap(), [admin.clone(), bob.clone()]);

    let promoted = s
        .set_user_role(bob.id, Role::IncidentCommander)
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::IncidentCommander);
    assert!(matches!(
        s.set_user_role(9_999, Role::Admin).await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));

    let c = s
        .credentials_by_email("bob@example.jp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.user, promoted);
    assert_eq!(
        (
            c.password_hash,
            c.totp_secret,
            c.totp_pending_secret,
            c.totp_last_step
        ),
        (None, None, None, None)
    );
    assert!(
        s.credentials_by_email("nobody@example.jp")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.credentials_by_id(9_999).await.unwrap().is_none());

    s.set_password(bob.id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .unwrap();
    assert!(matches!(
        s.set_password(9_999, "x").await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    // Nothing pending: activation is refused.
    assert!(matches!(
        s.activate_totp(bob.id, 10, &[]).await,
        Err(StoreError::NotFound { .. })
    ));
    s.set_totp_pending(bob.id, "OLDSECRET").await.unwrap();
    s.set_totp_pending(bob.id, "JBSWY3DPEHPK3PXP")
        .await
        .unwrap();
    let c = s.credentials_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(c.totp_pending_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(c.totp_secret, None);
    assert!(!c.user.mfa_enabled);

    let codes: Vec<String> = (0..10).map(|i| format!("code-hash-{i}")).collect();
    s.activate_totp(bob.id, 1_000, &codes).await.unwrap();
    let c = s.credentials_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(c.totp_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(c.totp_pending_secret, None);
    assert_eq!(c.totp_last_step, Some(1_000));
    assert!(c.user.mfa_enabled);
    assert!(c.password_hash.is_some());
    assert!(s.user_by_id(bob.id).await.unwrap().unwrap().mfa_enabled);
    assert_eq!(s.recovery_codes_left(bob.id).await.unwrap(), 10);

    // Steps only move forwards.
    assert!(!s.claim_totp_step(bob.id, 1_000).await.unwrap());
    assert!(!s.claim_totp_step(bob.id, 999).await.unwrap());
    assert!(s.claim_totp_step(bob.id, 1_001).await.unwrap());
    assert!(!s.claim_totp_step(bob.id, 1_001).await.unwrap());

    assert!(
        s.use_recovery_code(bob.id, "code-hash-3", now())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(bob.id, "code-hash-3", now())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(admin.id, "code-hash-4", now())
            .await
            .unwrap()
    );
    assert!(!s.use_recovery_code(bob.id, "unknown", now()).await.unwrap());
    assert_eq!(s.recovery_codes_left(bob.id).await.unwrap(), 9);

    // Re-enrolling replaces the codes; the active secret works until then.
    s.set_totp_pending(bob.id, "NEWSECRET").await.unwrap();
    let c = s.credentials_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(c.totp_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    s.activate_totp(bob.id, 2_000, &["fresh".into()])
        .await
        .unwrap();
    assert_eq!(s.recovery_codes_left(bob.id).await.unwrap(), 1);
    assert!(
        !s.use_recovery_code(bob.id, "code-hash-5", now())
            .await
            .unwrap()
    );

    s.reset_mfa(bob.id).await.unwrap();
    let c = s.credentials_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!((c.totp_secret, c.totp_pending_secret), (None, None));
    assert!(!c.user.mfa_enabled);
    assert!(c.password_hash.is_some(), "a reset keeps the password");
    assert_eq!(s.recovery_codes_left(bob.id).await.unwrap(), 0);
    assert!(matches!(
        s.reset_mfa(9_999).await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    db.finish(&[&s]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn one_time_secrets_cannot_be_used_twice_by_racing_requests() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let u = s
        .create_user(
            &NewUser::new("race@example.jp", "", Role::Admin).unwrap(),
            now(),
        )
        .await
        .unwrap();
    s.set_totp_pending(u.id, "S").await.unwrap();
    let codes: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    s.activate_totp(u.id, 1, &codes).await.unwrap();
    let contenders = 8;
    for round in 0..10_i64 {
        let barrier = Arc::new(tokio::sync::Barrier::new(contenders * 3));
        let expiry = ts("2026-02-01T00:00:00Z");
        let link = format!("link-{round}");
        s.create_enrolment(u.id, &link, expiry).await.unwrap();
        let mut handles = Vec::new();
        for _ in 0..contenders {
            let (s1, s2, s3) = (s.clone(), s.clone(), s.clone());
            let (b1, b2, b3) = (barrier.clone(), barrier.clone(), barrier.clone());
            let code = format!("c{round}");
            let link = link.clone();
            handles.push(tokio::spawn(async move {
                b1.wait().await;
                ("totp", s1.claim_totp_step(u.id, 100 + round).await.unwrap())
            }));
            handles.push(tokio::spawn(async move {
                b2.wait().await;
                (
                    "code",
                    s2.use_recovery_code(u.id, &code, now()).await.unwrap(),
                )
            }));
            handles.push(tokio::spawn(async move {
                b3.wait().await;
                let got = s3.consume_enrolment(&link, now()).await.unwrap();
                if let Some(user) = got {
                    assert_eq!(user, u.id);
                }
                ("link", got.is_some())
            }));
        }
        let mut wins = std::collections::BTreeMap::new();
        for h in handles {
            let (what, won) = h.await.unwrap();
            *wins.entry(what).or_insert(0) += i32::from(won);
        }
        assert_eq!(
            wins.into_iter().collect::<Vec<_>>(),
            [("code", 1), ("link", 1), ("totp", 1)],
            "round {round}"
        );
    }
    assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 10);
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn enrolment_links_expire_and_are_single_use() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let u = s
        .create_user(
            &NewUser::new("new@example.jp", "", Role::Responder).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let expiry = ts("2026-01-07T00:00:00Z");
    s.create_enrolment(u.id, "e1", expiry).await.unwrap();
    s.create_enrolment(u.id, "e2", expiry).await.unwrap();
    assert!(matches!(
        s.create_enrolment(u.id, "e1", expiry).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(matches!(
        s.create_enrolment(9_999, "e3", expiry).await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    assert_eq!(
        s.consume_enrolment("e1", expiry).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(s.consume_enrolment("e1", now()).await.unwrap(), Some(u.id));
    assert_eq!(s.consume_enrolment("e1", now()).await.unwrap(), None);
    assert_eq!(s.consume_enrolment("nope", now()).await.unwrap(), None);
    assert_eq!(s.consume_enrolment("e2", now()).await.unwrap(), Some(u.id));
    db.finish(&[&s]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn login_failures_count_atomically_and_start_over() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let key = "victim@example.jp";
    let window = jiff::SignedDuration::from_mins(15);
    assert_eq!(
        s.login_failures(key).await.unwrap(),
        LoginFailures::default()
    );
    let t0 = ts("2026-01-05T10:00:00.000001Z");
    let first = s.record_login_failure(key, t0, window).await.unwrap();
    assert_eq!((first.failures, first.last_failure_at), (1, Some(t0)));

    let attempts = 40;
    let barrier = Arc::new(tokio::sync::Barrier::new(attempts));
    let handles: Vec<_> = (0..attempts)
        .map(|_| {
            let s = s.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                s.record_login_failure(key, t0, window)
                    .await
                    .unwrap()
                    .failures
            })
        })
        .collect();
    let mut counts = Vec::new();
    for h in handles {
        counts.push(h.await.unwrap());
    }
    counts.sort_unstable();
    let want: Vec<u32> = (2..=u32::try_from(attempts).unwrap() + 1).collect();
    assert_eq!(counts, want, "every failure counted once");

    // Exactly at the window's edge the count goes on; past it, it starts over.
    let edge = t0.checked_add(window).unwrap();
    assert_eq!(
        s.record_login_failure(key, edge, window)
            .await
            .unwrap()
            .failures,
        42
    );
    let later = edge
        .checked_add(window)
        .unwrap()
        .checked_add(jiff::SignedDuration::from_micros(1))
        .unwrap();
    let reset = s.record_login_failure(key, later, window).await.unwrap();
    assert_eq!((reset.failures, reset.last_failure_at), (1, Some(later)));
    assert_eq!(s.login_failures(key).await.unwrap(), reset);
    // A huge window never resets, and a replica whose clock lags does not move the last
    // failure back.
    let huge = s
        .record_login_failure(key, t0, jiff::SignedDuration::MAX)
        .await
        .unwrap();
    assert_eq!((huge.failures, huge.last_failure_at), (2, Some(later)));
    s.clear_login_failures(key).await.unwrap();
    assert_eq!(
        s.login_failures(key).await.unwrap(),
        LoginFailures::default()
    );
    s.clear_login_failures("never-failed").await.unwrap();
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn sessions_live_idle_expire_and_are_revoked() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let u = s
        .create_user(
            &NewUser::new("ic@example.jp", "IC", Role::IncidentCommander).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let idle = jiff::SignedDuration::from_mins(30);
    let t0 = ts("2026-01-06T00:00:00.000001Z");
    let new = |hash: &str, stage: SessionStage| NewSession {
        user_id: u.id,
        secret_hash: hash.into(),
        stage,
        expires_at: ts("2026-01-06T12:00:00Z"),
        address: Some("192.0.2.10".into()),
        user_agent: "Firefox".into(),
    };
    let a = s
        .create_session(&new("sa", SessionStage::EnrolMfa), t0)
        .await
        .unwrap();
    assert_eq!((a.created_at, a.last_seen_at), (t0, t0));
    assert_eq!(a.stage, SessionStage::EnrolMfa);
    assert_eq!(a.address.as_deref(), Some("192.0.2.10"));
    assert!(matches!(
        s.create_session(&new("sa", SessionStage::Full), t0).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(matches!(
        s.create_session(
            &NewSession {
                user_id: 9_999,
                ..new("sx", SessionStage::Full)
            },
            t0
        )
        .await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));

    // Within a minute the session is found but not touched; after, it is.
    let t30s = t0.checked_add(jiff::SignedDuration::from_secs(30)).unwrap();
    let (found, user) = s.session_by_hash("sa", t30s, idle).await.unwrap().unwrap();
    assert_eq!((found.clone(), user.clone()), (a.clone(), u.clone()));
    let t2m = t0.checked_add(jiff::SignedDuration::from_mins(2)).unwrap();
    let (found, _) = s.session_by_hash("sa", t2m, idle).await.unwrap().unwrap();
    assert_eq!(found.last_seen_at, t2m);
    let (found, _) = s.session_by_hash("sa", t2m, idle).await.unwrap().unwrap();
    assert_eq!(found.last_seen_at, t2m, "the touch was stored");
    // Idle for the whole timeout: gone (the same edge as `expires_at`: dead at the instant).
    let just_in = t2m
        .checked_add(idle)
        .unwrap()
        .checked_sub(jiff::SignedDuration::from_micros(1))
        .unwrap();
    let idle_out = t2m.checked_add(idle).unwrap();
    assert_eq!(
        s.list_sessions(u.id, just_in, idle).await.unwrap().len(),
        1,
        "one microsecond before the idle end"
    );
    assert!(
        s.session_by_hash("sa", idle_out, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.session_by_hash("unknown", t2m, idle)
            .await
            .unwrap()
            .is_none()
    );
    // Past the absolute end: gone, however active.
    assert!(
        s.session_by_hash(
            "sa",
            ts("2026-01-06T12:00:00Z"),
            jiff::SignedDuration::from_hours(48)
        )
        .await
        .unwrap()
        .is_none()
    );

    s.promote_session(a.id).await.unwrap();
    let (found, _) = s.session_by_hash("sa", t2m, idle).await.unwrap().unwrap();
    assert_eq!(found.stage, SessionStage::Full);
    assert!(matches!(
        s.promote_session(9_999).await,
        Err(StoreError::NotFound {
            entity: "session",
            ..
        })
    ));

    let t1 = t0.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
    let b = s
        .create_session(&new("sb", SessionStage::Full), t1)
        .await
        .unwrap();
    let t3 = t0.checked_add(jiff::SignedDuration::from_mins(3)).unwrap();
    let c = s
        .create_session(&new("sc", SessionStage::Full), t3)
        .await
        .unwrap();
    let ids = |v: Vec<Session>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_sessions(u.id, t3, idle).await.unwrap()),
        [c.id, b.id, a.id]
    );
    // `b` was never seen again: idle after 30 minutes from its creation.
    let t32 = t1
        .checked_add(idle)
        .unwrap()
        .checked_add(jiff::SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(
        ids(s.list_sessions(u.id, t32, idle).await.unwrap()),
        [c.id, a.id]
    );

    assert!(s.revoke_session(u.id, b.id, t3).await.unwrap());
    assert!(
        !s.revoke_session(u.id, b.id, t3).await.unwrap(),
        "already revoked"
    );
    assert!(
        !s.revoke_session(u.id + 1, c.id, t3).await.unwrap(),
        "someone else's"
    );
    assert!(s.session_by_hash("sb", t3, idle).await.unwrap().is_none());
    assert_eq!(
        s.revoke_sessions_except(u.id, Some(c.id), t3)
            .await
            .unwrap(),
        1
    );
    assert_eq!(ids(s.list_sessions(u.id, t3, idle).await.unwrap()), [c.id]);
    // An expired session is not counted (nor revoked: it is dead already).
    let d = s
        .create_session(
            &NewSession {
                expires_at: t3,
                ..new("sd", SessionStage::Full)
            },
            t1,
        )
        .await
        .unwrap();
    assert_eq!(s.revoke_sessions_except(u.id, None, t3).await.unwrap(), 1);
    assert!(s.list_sessions(u.id, t3, idle).await.unwrap().is_empty());
    assert!(!s.revoke_session(u.id, d.id, t3).await.unwrap(), "expired");
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn deactivating_a_user_revokes_sessions_and_tokens() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let u = s
        .create_user(
            &NewUser::new("leaver@example.jp", "", Role::Responder).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let other = s
        .create_user(
            &NewUser::new("stays@example.jp", "", Role::Responder).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let idle = jiff::SignedDuration::from_hours(1);
    let session = |user_id: i64, hash: &str| NewSession {
        user_id,
        secret_hash: hash.into(),
        stage: SessionStage::Full,
        expires_at: ts("2026-01-07T00:00:00Z"),
        address: None,
        user_agent: String::new(),
    };
    s.create_session(&session(u.id, "s1"), now()).await.unwrap();
    s.create_session(&session(other.id, "s2"), now())
        .await
        .unwrap();
    let t1 = s
        .create_token(u.id, "a", &TokenScope::full(), "t1", now(), None)
        .await
        .unwrap();
    let later = ts("2026-01-06T00:10:00Z");
    let t2 = s
        .create_token(u.id, "b", &TokenScope::full(), "t2", later, None)
        .await
        .unwrap();
    s.create_token(other.id, "c", &TokenScope::full(), "t3", now(), None)
        .await
        .unwrap();
    assert_eq!(
        s.list_tokens(u.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [t2.id, t1.id],
        "newest first"
    );
    assert!(s.revoke_token(u.id, t1.id, later).await.unwrap());
    assert!(!s.revoke_token(u.id, t1.id, later).await.unwrap());
    assert!(!s.revoke_token(other.id, t2.id, later).await.unwrap());

    let off = s.set_user_active(u.id, false, later).await.unwrap();
    assert!(!off.active);
    assert!(!s.user_by_id(u.id).await.unwrap().unwrap().active);
    assert!(
        s.session_by_hash("s1", later, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.user_by_token_hash("t2", later).await.unwrap().is_none());
    let tokens = s.list_tokens(u.id).await.unwrap();
    assert_eq!(
        tokens[0].revoked_at,
        Some(later),
        "revoked in the same transaction"
    );
    assert_eq!(tokens[1].revoked_at, Some(later));
    // Other users are untouched.
    assert!(
        s.session_by_hash("s2", later, idle)
            .await
            .unwrap()
            .is_some()
    );
    assert!(s.user_by_token_hash("t3", later).await.unwrap().is_some());

    // Reactivating does not bring old sessions or tokens back.
    let on = s.set_user_active(u.id, true, later).await.unwrap();
    assert!(on.active);
    assert!(
        s.session_by_hash("s1", later, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.user_by_token_hash("t2", later).await.unwrap().is_none());
    assert!(matches!(
        s.set_user_active(9_999, false, later).await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    // A session of a deactivated user is refused even if it was somehow left unrevoked.
    s.create_session(&session(u.id, "s4"), later).await.unwrap();
    sqlx::query("UPDATE users SET active = FALSE WHERE id = $1")
        .bind(u.id)
        .execute(s.pool())
        .await
        .unwrap();
    assert!(
        s.session_by_hash("s4", later, idle)
            .await
            .unwrap()
            .is_none()
    );
    db.finish(&[&s]).await;
}

/// Every query with a viewer must agree with `Viewer::can_see` on every incident.
#[tokio::test]
async fn need_to_know_matches_can_see_in_every_query() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let mk = |email: &str, role| NewUser::new(email, "", role).unwrap();
    let responder = s
        .create_user(&mk("r@example.jp", Role::Responder), now())
        .await
        .unwrap();
    let other = s
        .create_user(&mk("o@example.jp", Role::Responder), now())
        .await
        .unwrap();
    let reporter = s
        .create_user(&mk("p@example.jp", Role::Reporter), now())
        .await
        .unwrap();
    let external = s
        .create_user(&mk("x@example.jp", Role::ExternalResponder), now())
        .await
        .unwrap();
    let users = [&responder, &other, &reporter, &external];

    // 24 incidents: restricted or not, created by each user or nobody, members here and there.
    let mut incidents = Vec::new();
    for i in 0..24_usize {
        let mut f = fields(&format!("case {i}"));
        f.summary = if i % 4 == 0 {
            "beacon to evil.example".into()
        } else {
            String::new()
        };
        f.restricted = i % 2 == 0;
        let creator = match i % 5 {
            4 => None,
            k => Some(users[k].id),
        };
        let inc = s.create_incident(&f, &[], creator, now()).await.unwrap();
        for (k, u) in users.iter().enumerate() {
            if (i + k) % 3 == 0 {
                s.add_member(inc.id, u.id, now()).await.unwrap();
            }
        }
        let obs = NewObservable {
            kind: ObservableKind::Domain,
            value: "evil.example".into(),
            note: String::new(),
            first_seen: None,
        };
        s.add_observable(inc.id, &obs, "evil.example", now())
            .await
            .unwrap();
        incidents.push(inc);
    }
    let everyone = s.list_all_observables(1000, None).await.unwrap();
    assert_eq!(everyone.len(), 24);

    for u in users {
        let viewer = Viewer::new(u.id, u.role);
        let mut visible = Vec::new();
        for inc in &incidents {
            if viewer.can_see(inc, s.is_member(inc.id, u.id).await.unwrap()) {
                visible.push(inc.id);
            }
        }
        visible.reverse(); // newest first
        assert!(
            !visible.is_empty() && visible.len() < 24,
            "{} sees some",
            u.email
        );

        // Paged, three at a time.
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = s
                .list_incidents(&IncidentFilter {
                    limit: 3,
                    before_id: before,
                    viewer: Some(viewer),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|i| i.id));
            match page.next_before_id {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        assert_eq!(seen, visible, "{}", u.email);
        assert_eq!(
            s.count_incidents(Some(&viewer)).await.unwrap(),
            u64::try_from(visible.len()).unwrap()
        );
        // Text search under need-to-know.
        let searched = s
            .list_incidents(&IncidentFilter {
                text: Some("EVIL.example".into()),
                viewer: Some(viewer),
                ..Default::default()
            })
            .await
            .unwrap();
        let want: Vec<i64> = visible
            .iter()
            .copied()
            .filter(|id| {
                incidents
                    .iter()
                    .any(|i| i.id == *id && i.summary.contains("evil"))
            })
            .collect();
        assert_eq!(
            searched.items.iter().map(|i| i.id).collect::<Vec<_>>(),
            want
        );
        // Children: observables and correlations.
        let mut obs_incidents: Vec<i64> = s
            .list_all_observables(1000, Some(&viewer))
            .await
            .unwrap()
            .iter()
            .map(|o| o.incident_id)
            .collect();
        obs_incidents.reverse();
        assert_eq!(obs_incidents, visible);
        let limited = s.list_all_observables(2, Some(&viewer)).await.unwrap();
        assert_eq!(limited.len(), visible.len().min(2));
        let except = visible[0];
        let mut shared: Vec<i64> = s
            .incidents_sharing(
                ObservableKind::Domain,
                "evil.example",
                Some(except),
                Some(&viewer),
            )
            .await
            .unwrap()
            .iter()
            .map(|x| x.incident_id)
            .collect();
        shared.reverse();
        assert_eq!(shared, visible[1..].to_vec());
    }
    // Without a viewer, everything.
    assert_eq!(s.count_incidents(None).await.unwrap(), 24);
    db.finish(&[&s]).await;
}

#[tokio::test]
async fn members_are_listed_added_once_and_removed() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = db.migrated_store().await;
    let a = s
        .create_user(
            &NewUser::new("a@example.jp", "A", Role::Responder).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let b = s
        .create_user(
            &NewUser::new("b@example.jp", "B", Role::ExternalResponder).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let inc = s
        .create_incident(&fields("m"), &[], None, now())
        .await
        .unwrap();
    let t1 = ts("2026-01-06T01:00:00.000001Z");
    s.add_member(inc.id, b.id, t1).await.unwrap();
    s.add_member(inc.id, a.id, now()).await.unwrap();
    s.add_member(inc.id, b.id, ts("2026-01-09T00:00:00Z"))
        .await
        .unwrap();
    let members = s.list_members(inc.id).await.unwrap();
    assert_eq!(
        members,
        [
            Member {
                user_id: a.id,
                email: a.email.clone(),
                display_name: "A".into(),
                role: Role::Responder,
                added_at: now(),
            },
            Member {
                user_id: b.id,
                email: b.email.clone(),
                display_name: "B".into(),
                role: Role::ExternalResponder,
                added_at: t1,
            },
        ],
        "adding twice keeps the first"
    );
    assert!(s.is_member(inc.id, a.id).await.unwrap());
    assert!(s.remove_member(inc.id, a.id).await.unwrap());
    assert!(!s.remove_member(inc.id, a.id).await.unwrap());
    assert!(!s.is_member(inc.id, a.id).await.unwrap());
    assert!(s.list_members(inc.id + 1).await.unwrap().is_empty());
    assert!(matches!(
        s.add_member(inc.id + 1, a.id, now()).await,
        Err(StoreError::NotFound {
            entity: "incident",
            ..
        })
    ));
    assert!(matches!(
        s.add_member(inc.id, 9_999, now()).await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    db.finish(&[&s]).await;
}
