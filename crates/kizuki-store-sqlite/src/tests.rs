//! Backend-specific tests: connection setup, pools, concurrency, storage encoding, and the
//! contract details where SQLite behaviour could differ. The cross-backend behavioural
//! story lives in `kizuki-store-tests`.

use std::sync::Arc;

use jiff::civil::date;
use kizuki_domain::decision::DecisionOption;
use kizuki_domain::evidence::NewCustodyEvent;
use kizuki_domain::incident::{Category, DetectionSource, Impact, Phase, StartBasis};
use kizuki_domain::legal_clock::ClockKind;
use kizuki_domain::party::PartyKind;
use kizuki_domain::task::ChecklistItem;
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision};
use kizuki_domain::user::Role;

use super::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn t0() -> Timestamp {
    at("2026-01-05T00:00:00Z")
}

async fn memory() -> SqliteStore {
    let s = SqliteStore::connect("sqlite::memory:").await.unwrap();
    s.migrate().await.unwrap();
    s
}

async fn file(dir: &tempfile::TempDir) -> SqliteStore {
    let path = dir.path().join("nested/deeper/kizuki.db");
    let s = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    s.migrate().await.unwrap();
    s
}

fn fields(title: &str) -> IncidentFields {
    IncidentFields {
        title: title.into(),
        summary: String::new(),
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

fn entry(text: &str, occurred_at: Timestamp, lane: Lane) -> TimelineEntryFields {
    TimelineEntryFields {
        occurred_at,
        precision: TimePrecision::Minute,
        day_part: None,
        lane,
        actor: "CSIRT".into(),
        kind: EntryKind::Analysis,
        text: text.into(),
        source: EntrySource::Manual,
    }
}

fn clock_fields(kind: ClockKind) -> LegalClockFields {
    LegalClockFields {
        kind,
        name: kind.as_str().into(),
        due_hours: 72,
        overdue_hours: 120,
        started_at: t0(),
    }
}

async fn incident(s: &SqliteStore, title: &str) -> Incident {
    s.create_incident(&fields(title), &[], None, t0())
        .await
        .unwrap()
}

async fn pragma(s: &SqliteStore, name: &'static str) -> String {
    let row: (String,) = sqlx::query_as(match name {
        "journal_mode" => "SELECT journal_mode FROM pragma_journal_mode",
        "foreign_keys" => "SELECT CAST(foreign_keys AS TEXT) FROM pragma_foreign_keys",
        "synchronous" => "SELECT CAST(synchronous AS TEXT) FROM pragma_synchronous",
        "busy_timeout" => "SELECT CAST(timeout AS TEXT) FROM pragma_busy_timeout",
        _ => unreachable!(),
    })
    .fetch_one(s.pool())
    .await
    .unwrap();
    row.0
}

// --- connection and pools -------------------------------------------------------------------

#[tokio::test]
async fn file_database_is_created_with_parent_directories_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let s = file(&dir).await;
    assert!(dir.path().join("nested/deeper/kizuki.db").exists());
    assert_eq!(pragma(&s, "journal_mode").await, "wal");
    assert_eq!(pragma(&s, "foreign_keys").await, "1");
    assert_eq!(pragma(&s, "synchronous").await, "1", "NORMAL under WAL");
    assert_eq!(pragma(&s, "busy_timeout").await, "5000");
    // The writer connection is configured the same way.
    let fk: i64 = sqlx::query_scalar("SELECT foreign_keys FROM pragma_foreign_keys")
        .fetch_one(s.write_pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    assert_eq!(s.backend(), "sqlite");
    s.ping().await.unwrap();
}

#[tokio::test]
async fn data_survives_reopening_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let s = file(&dir).await;
        let id = incident(&s, "persisted").await.id;
        s.close().await;
        id
    };
    let s = file(&dir).await;
    assert_eq!(
        s.get_incident(id).await.unwrap().unwrap().title,
        "persisted"
    );
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let s = memory().await;
    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
    assert_eq!(s.count_incidents(None).await.unwrap(), 0);
}

#[tokio::test]
async fn memory_database_is_shared_by_the_stores_connections_and_private_to_it() {
    let a = memory().await;
    let b = memory().await;
    assert_eq!(pragma(&a, "foreign_keys").await, "1");
    let i = incident(&a, "only in a").await;
    // Written through the writer pool, visible through the read pool and a raw acquire.
    assert_eq!(a.count_incidents(None).await.unwrap(), 1);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Many concurrent readers and writers share the one connection without errors.
    let a = Arc::new(a);
    let mut tasks = Vec::new();
    for n in 0..16 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            a.add_timeline_entry(
                i.id,
                &entry(&format!("e{n}"), t0(), Lane::External),
                None,
                t0(),
            )
            .await
            .unwrap();
            a.list_timeline(i.id, &TimelineQuery::default())
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        a.list_timeline(i.id, &TimelineQuery::default())
            .await
            .unwrap()
            .len(),
        16
    );
    // Another memory store is another database.
    assert_eq!(b.count_incidents(None).await.unwrap(), 0);
}

#[tokio::test]
async fn bad_url_is_a_database_error() {
    let err = SqliteStore::connect("postgres://nope").await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

// --- concurrency ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_writers_never_see_database_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(file(&dir).await);
    let i = incident(&s, "busy").await;
    let mut tasks = Vec::new();
    for w in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25 {
                let text = format!("writer {w} entry {n}");
                s.add_timeline_entry(i.id, &entry(&text, t0(), Lane::CisoCsirt), None, t0())
                    .await
                    .unwrap();
                if n % 5 == 0 {
                    // Mixed in: multi-statement write transactions and reads.
                    s.add_timeline_entries(
                        i.id,
                        &[entry("batch", t0(), Lane::External)],
                        None,
                        t0(),
                    )
                    .await
                    .unwrap();
                    s.get_incident(i.id).await.unwrap().unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = s
        .list_timeline(i.id, &TimelineQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 32 * 25 + 32 * 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_wait_for_each_other_instead_of_failing() {
    // Like a server and a CLI import running at the same time: separate writer connections,
    // so SQLite's own locking (BEGIN IMMEDIATE + busy_timeout) has to do the queueing.
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(file(&dir).await);
    let b = Arc::new(file(&dir).await);
    let i = incident(&a, "shared file").await;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let s = if w % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                s.add_timeline_entries(
                    i.id,
                    &[
                        entry("x", t0(), Lane::External),
                        entry("y", t0(), Lane::External),
                    ],
                    None,
                    t0(),
                )
                .await
                .unwrap();
                let f = s.get_incident(i.id).await.unwrap().unwrap();
                // Optimistic concurrency across processes: a conflict is fine, a lock error is not.
                match s
                    .update_incident(
                        i.id,
                        f.version,
                        &IncidentFields::from_incident(&f),
                        &[],
                        t0(),
                    )
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        b.list_timeline(i.id, &TimelineQuery::default())
            .await
            .unwrap()
            .len(),
        16 * 10 * 2
    );
}

// --- encoding -------------------------------------------------------------------------------

#[tokio::test]
async fn incident_round_trips_every_field_at_microsecond_precision() {
    let s = memory().await;
    let mut f = fields("Ransomware at the Osaka branch / 大阪支店");
    f.summary = "Files encrypted; ransom note found.".into();
    f.category = Category::DataLeak;
    f.phase = Phase::Containment;
    f.detection_source = DetectionSource::ExternalJpcert;
    f.start_date = date(2025, 12, 31);
    f.start_basis = StartBasis::Occurrence;
    f.aware_at = at("2026-01-05T01:02:03.456789123Z");
    f.affected_units = vec!["Osaka".into(), "経理部".into()];
    f.affected_assets = vec!["PC-0231".into()];
    f.impact = Impact {
        confidentiality: true,
        availability: true,
        personal_data: true,
        personal_data_count: Some(12_345),
        unauthorised_act: true,
        notes: "payroll".into(),
        ..Impact::default()
    };
    f.restricted = true;
    let now = at("2026-01-06T00:00:00.000001999Z");
    let created = s
        .create_incident(&f, &[clock_fields(ClockKind::Gdpr)], Some(7), now)
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.created_by, Some(7));
    assert_eq!(created.created_at, at("2026-01-06T00:00:00.000001Z"));
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(created.aware_at, at("2026-01-05T01:02:03.456789Z"));
    let read = s.get_incident(created.id).await.unwrap().unwrap();
    assert_eq!(read, created, "what create returns is what a read returns");
    let mut expected = f.clone();
    expected.aware_at = at("2026-01-05T01:02:03.456789Z");
    assert_eq!(IncidentFields::from_incident(&read), expected);
    let clocks = s.list_legal_clocks(created.id).await.unwrap();
    assert_eq!(clocks.len(), 1);
    assert_eq!(clocks[0].kind, ClockKind::Gdpr);

    let (start, aware): (String, i64) =
        sqlx::query_as("SELECT start_date, aware_at FROM incidents WHERE id = ?")
            .bind(created.id)
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(start, "2025-12-31");
    assert_eq!(aware, at("2026-01-05T01:02:03.456789Z").as_microsecond());
}

#[tokio::test]
async fn a_tampered_enum_or_json_reads_back_as_corrupt() {
    let s = memory().await;
    let i = incident(&s, "x").await;
    sqlx::query("UPDATE incidents SET phase = 'exploded' WHERE id = ?")
        .bind(i.id)
        .execute(s.pool())
        .await
        .unwrap();
    match s.get_incident(i.id).await.unwrap_err() {
        StoreError::Corrupt { table, column, .. } => {
            assert_eq!((table, column), ("incidents", "phase"));
        }
        e => panic!("{e:?}"),
    }
    sqlx::query("UPDATE incidents SET phase = 'triage', impact = '{nope' WHERE id = ?")
        .bind(i.id)
        .execute(s.pool())
        .await
        .unwrap();
    assert!(matches!(
        s.list_incidents(&IncidentFilter::default())
            .await
            .unwrap_err(),
        StoreError::Corrupt {
            column: "impact",
            ..
        }
    ));
}

#[tokio::test]
async fn deleting_an_incident_cascades_to_its_children() {
    let s = memory().await;
    let i = incident(&s, "doomed").await;
    s.add_timeline_entry(i.id, &entry("a", t0(), Lane::External), None, t0())
        .await
        .unwrap();
    s.add_evidence(i.id, &evidence("disk"), t0(), t0())
        .await
        .unwrap();
    s.add_legal_clock(i.id, &clock_fields(ClockKind::Gdpr))
        .await
        .unwrap();
    sqlx::query("DELETE FROM incidents WHERE id = ?")
        .bind(i.id)
        .execute(s.pool())
        .await
        .unwrap();
    for table in [
        "SELECT count(*) FROM timeline_entries",
        "SELECT count(*) FROM evidence_items",
        "SELECT count(*) FROM custody_events",
        "SELECT count(*) FROM legal_clocks",
    ] {
        let n: i64 = sqlx::query_scalar(table).fetch_one(s.pool()).await.unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

// --- incidents ------------------------------------------------------------------------------

#[tokio::test]
async fn update_checks_the_version_in_the_same_statement() {
    let s = memory().await;
    let i = incident(&s, "v1").await;
    let mut f = IncidentFields::from_incident(&i);
    f.title = "v2".into();
    let later = at("2026-01-07T00:00:00Z");
    let u = s.update_incident(i.id, 1, &f, &[], later).await.unwrap();
    assert_eq!((u.version, u.title.as_str()), (2, "v2"));
    assert_eq!(u.updated_at, later);
    assert_eq!(u.created_at, t0());

    f.title = "stale".into();
    match s
        .update_incident(i.id, 1, &f, &[], later)
        .await
        .unwrap_err()
    {
        StoreError::Conflict {
            id,
            expected,
            current,
        } => assert_eq!((id, expected, current), (i.id, 1, 2)),
        e => panic!("{e:?}"),
    }
    assert_eq!(
        s.get_incident(i.id).await.unwrap().unwrap(),
        u,
        "nothing written"
    );
    assert!(matches!(
        s.update_incident(999, 1, &f, &[], later).await.unwrap_err(),
        StoreError::NotFound {
            entity: "incident",
            ..
        }
    ));
}

#[tokio::test]
async fn list_filters_and_pages_newest_first() {
    let s = memory().await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut f = fields(&format!("Incident {n}"));
        f.severity = (n % 4) + 1;
        f.phase = if n % 3 == 0 {
            Phase::Closed
        } else {
            Phase::Triage
        };
        f.category = if n % 2 == 0 {
            Category::Ransomware
        } else {
            Category::DataLeak
        };
        ids.push(s.create_incident(&f, &[], None, t0()).await.unwrap().id);
    }
    let list = |f: IncidentFilter| {
        let s = &s;
        async move {
            let p = s.list_incidents(&f).await.unwrap();
            (
                p.items.iter().map(|i| i.id).collect::<Vec<_>>(),
                p.next_before_id,
            )
        }
    };
    let rev: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(list(IncidentFilter::default()).await, (rev.clone(), None));

    // Pages of 3: 3 + 3 + 1, next_before_id chaining.
    let (p1, n1) = list(IncidentFilter {
        limit: 3,
        ..Default::default()
    })
    .await;
    assert_eq!(p1, rev[..3]);
    assert_eq!(n1, Some(rev[2]));
    let (p2, n2) = list(IncidentFilter {
        limit: 3,
        before_id: n1,
        ..Default::default()
    })
    .await;
    assert_eq!(p2, rev[3..6]);
    let (p3, n3) = list(IncidentFilter {
        limit: 3,
        before_id: n2,
        ..Default::default()
    })
    .await;
    assert_eq!((p3, n3), (rev[6..].to_vec(), None));
    // Exactly `limit` rows left: no next page.
    let (_, n) = list(IncidentFilter {
        limit: 7,
        ..Default::default()
    })
    .await;
    assert_eq!(n, None);

    let (open, _) = list(IncidentFilter {
        open_only: true,
        ..Default::default()
    })
    .await;
    assert_eq!(open, [ids[5], ids[4], ids[2], ids[1]]);
    let (closed_ransom, _) = list(IncidentFilter {
        phases: vec![Phase::Closed],
        categories: vec![Category::Ransomware],
        ..Default::default()
    })
    .await;
    assert_eq!(closed_ransom, [ids[6], ids[0]]);
    let (severe, _) = list(IncidentFilter {
        min_severity: Some(3),
        ..Default::default()
    })
    .await;
    assert_eq!(severe, [ids[6], ids[3], ids[2]]);
}

#[tokio::test]
async fn list_limit_is_clamped() {
    let s = memory().await;
    for n in 0..(IncidentFilter::DEFAULT_LIMIT + 1) {
        incident(&s, &format!("i{n}")).await;
    }
    let p = s.list_incidents(&IncidentFilter::default()).await.unwrap();
    assert_eq!(p.items.len(), 50);
    assert!(p.next_before_id.is_some());
    let p = s
        .list_incidents(&IncidentFilter {
            limit: u32::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.items.len(), 51);
    assert_eq!(s.count_incidents(None).await.unwrap(), 51);
}

#[tokio::test]
async fn text_search_is_a_case_insensitive_literal_substring() {
    let s = memory().await;
    let mut f = fields("100% of FILES encrypted");
    f.summary = "Straße und ÉCOLE".into();
    let a = s.create_incident(&f, &[], None, t0()).await.unwrap().id;
    let b = incident(&s, "100 percent_done").await.id;
    let c = incident(&s, "Webサイト改ざん").await.id;
    let find = |t: &str| {
        let s = &s;
        let t = t.to_owned();
        async move {
            s.list_incidents(&IncidentFilter {
                text: Some(t),
                ..Default::default()
            })
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("files").await, [a]);
    assert_eq!(find("%").await, [a], "% is literal");
    assert_eq!(find("_").await, [b], "_ is literal");
    assert_eq!(find("école").await, [a], "non-ASCII case folding");
    assert_eq!(find("STRASSE").await, Vec::<i64>::new());
    assert_eq!(find("改ざん").await, [c]);
    assert_eq!(find("").await, [c, b, a], "empty text does not filter");
}

#[test]
fn the_open_only_literal_matches_the_closed_phase() {
    // list_incidents and the partial index `incidents_open` spell it out as a literal.
    assert_eq!(Phase::Closed.as_str(), "closed");
    assert!(include_str!("../migrations/0001_initial.sql").contains("WHERE phase <> 'closed'"));
}

#[tokio::test]
async fn common_queries_use_their_indexes() {
    let s = memory().await;
    let plan = |sql: &'static str| {
        let s = &s;
        async move {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sql).fetch_all(s.pool()).await.unwrap();
            rows.into_iter()
                .map(|r| r.3)
                .collect::<Vec<_>>()
                .join(" | ")
        }
    };
    let p = plan(
        "EXPLAIN QUERY PLAN SELECT id FROM timeline_entries WHERE incident_id = 1 \
         ORDER BY occurred_at, id",
    )
    .await;
    assert!(p.contains("timeline_entries_incident_time"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    let p = plan(
        "EXPLAIN QUERY PLAN SELECT id FROM incidents WHERE phase <> 'closed' \
         ORDER BY id DESC LIMIT 51",
    )
    .await;
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    let p = plan(
        "EXPLAIN QUERY PLAN SELECT incident_id FROM observables \
         WHERE kind = 'ip' AND normalized = '192.0.2.1'",
    )
    .await;
    assert!(p.contains("USING COVERING INDEX observables_value"), "{p}");
}

// --- timeline -------------------------------------------------------------------------------

#[tokio::test]
async fn timeline_is_in_time_order_with_lanes_offset_and_limit() {
    let s = memory().await;
    let i = incident(&s, "t").await;
    let late = s
        .add_timeline_entry(
            i.id,
            &entry("late", at("2026-01-07T00:00:00Z"), Lane::External),
            Some(3),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(late.created_by, Some(3));
    let batch = s
        .add_timeline_entries(
            i.id,
            &[
                entry("tie-1", at("2026-01-06T00:00:00Z"), Lane::CisoCsirt),
                entry("early", at("2026-01-05T00:00:00Z"), Lane::ManagementPr),
                entry("tie-2", at("2026-01-06T00:00:00Z"), Lane::External),
            ],
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(batch.len(), 3);
    let texts = |q: TimelineQuery| {
        let s = &s;
        async move {
            s.list_timeline(i.id, &q)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.text)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        texts(TimelineQuery::default()).await,
        ["early", "tie-1", "tie-2", "late"]
    );
    assert_eq!(
        texts(TimelineQuery {
            lanes: vec![Lane::External, Lane::ManagementPr],
            ..Default::default()
        })
        .await,
        ["early", "tie-2", "late"]
    );
    assert_eq!(
        texts(TimelineQuery {
            offset: 1,
            limit: 2,
            ..Default::default()
        })
        .await,
        ["tie-1", "tie-2"]
    );
    assert_eq!(
        texts(TimelineQuery {
            offset: 3,
            ..Default::default()
        })
        .await,
        ["late"]
    );
}

async fn count(s: &SqliteStore, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap()
}

/// Makes SQLite refuse any row of `table` whose `column` is 'boom', to break a
/// multi-row write half-way through.
async fn sabotage(s: &SqliteStore, table: &str, column: &str) {
    let sql = format!(
        "CREATE TRIGGER boom_{table} BEFORE INSERT ON {table} WHEN NEW.{column} = 'boom' \
         BEGIN SELECT RAISE(ABORT, 'sabotaged'); END"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(s.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn multi_row_writes_are_all_or_nothing() {
    let s = memory().await;
    sabotage(&s, "timeline_entries", "text").await;
    sabotage(&s, "legal_clocks", "name").await;
    sabotage(&s, "tasks", "title").await;
    sabotage(&s, "custody_events", "handler").await;
    let i = incident(&s, "t").await;

    let err = s
        .add_timeline_entries(
            i.id,
            &[
                entry("fine", t0(), Lane::External),
                entry("boom", t0(), Lane::External),
            ],
            None,
            t0(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert_eq!(count(&s, "SELECT count(*) FROM timeline_entries").await, 0);

    let mut bad_clock = clock_fields(ClockKind::Custom);
    bad_clock.name = "boom".into();
    s.create_incident(
        &fields("half"),
        &[clock_fields(ClockKind::Gdpr), bad_clock],
        None,
        t0(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        s.count_incidents(None).await.unwrap(),
        1,
        "no incident without its clocks"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM legal_clocks").await, 0);

    s.add_tasks(i.id, &[task("ok", 1), task("boom", 2)])
        .await
        .unwrap_err();
    assert_eq!(count(&s, "SELECT count(*) FROM tasks").await, 0);

    // A completion whose timeline entry fails leaves the task open.
    let t = s.add_tasks(i.id, &[task("ok", 1)]).await.unwrap().remove(0);
    let completion = TaskCompletion {
        by: None,
        at: t0(),
        entry: entry("boom", t0(), Lane::ItBusiness),
    };
    s.complete_task(i.id, t.id, &completion).await.unwrap_err();
    assert_eq!(
        s.list_tasks(i.id).await.unwrap()[0].status,
        TaskStatus::Open
    );

    // A custody event that fails does not move the item.
    let item = s
        .add_evidence(i.id, &evidence("disk"), t0(), t0())
        .await
        .unwrap();
    s.add_custody_event(
        i.id,
        item.id,
        &CustodyRecord {
            at: t0(),
            event: NewCustodyEvent {
                at: None,
                action: CustodyAction::Transferred,
                handler: "boom".into(),
                location: "nowhere".into(),
                note: String::new(),
            },
        },
    )
    .await
    .unwrap_err();
    assert_eq!(s.list_evidence(i.id).await.unwrap()[0].location, "safe 1");

    // Evidence whose first custody event fails is not stored at all.
    let mut e = evidence("usb");
    e.collected_by = "boom".into();
    s.add_evidence(i.id, &e, t0(), t0()).await.unwrap_err();
    assert_eq!(s.list_evidence(i.id).await.unwrap().len(), 1);
}

// --- children of a missing incident -----------------------------------------------------------

fn evidence(name: &str) -> NewEvidence {
    NewEvidence {
        name: name.into(),
        description: String::new(),
        sha256: None,
        location: "safe 1".into(),
        collected_by: "Sato".into(),
        collected_at: None,
    }
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
        due_at: Some(at("2026-01-06T00:00:00Z")),
        rationale: "case 3".into(),
        position,
    }
}

fn new_decision() -> NewDecision {
    NewDecision {
        question: "Pay?".into(),
        options: vec![
            DecisionOption {
                label: "No".into(),
                scenario: "restore from backup".into(),
            },
            DecisionOption {
                label: "Yes".into(),
                scenario: String::new(),
            },
        ],
        chosen: None,
        decided_by: String::new(),
        decided_at: None,
        rationale: String::new(),
        decide_by: None,
    }
}

fn party() -> NewParty {
    NewParty {
        kind: PartyKind::Jpcert,
        name: "JPCERT/CC".into(),
        organisation: String::new(),
        role: String::new(),
        email: String::new(),
        phone: String::new(),
        fallback_channel: "phone".into(),
        notes: String::new(),
    }
}

fn observable(value: &str) -> NewObservable {
    NewObservable {
        kind: ObservableKind::Ip,
        value: value.into(),
        note: String::new(),
        first_seen: None,
    }
}

fn is_missing_incident<T: std::fmt::Debug>(r: Result<T>, id: i64) {
    match r {
        Err(StoreError::NotFound {
            entity: "incident",
            id: got,
        }) => assert_eq!(got, id.to_string()),
        other => panic!("expected missing incident, got {other:?}"),
    }
}

#[tokio::test]
async fn every_child_insert_on_a_missing_incident_is_not_found() {
    let s = memory().await;
    let gone = 4242;
    let e = entry("x", t0(), Lane::External);
    is_missing_incident(s.add_timeline_entry(gone, &e, None, t0()).await, gone);
    is_missing_incident(s.add_timeline_entries(gone, &[e], None, t0()).await, gone);
    is_missing_incident(s.add_tasks(gone, &[task("t", 1)]).await, gone);
    is_missing_incident(s.add_decision(gone, &new_decision(), t0()).await, gone);
    is_missing_incident(s.add_party(gone, &party()).await, gone);
    is_missing_incident(s.add_evidence(gone, &evidence("e"), t0(), t0()).await, gone);
    is_missing_incident(
        s.add_observable(gone, &observable("192.0.2.1"), "192.0.2.1", t0())
            .await,
        gone,
    );
    is_missing_incident(
        s.add_legal_clock(gone, &clock_fields(ClockKind::Gdpr))
            .await,
        gone,
    );
    // Nothing was written anywhere.
    for sql in [
        "SELECT count(*) FROM timeline_entries",
        "SELECT count(*) FROM tasks",
        "SELECT count(*) FROM decisions",
        "SELECT count(*) FROM parties",
        "SELECT count(*) FROM evidence_items",
        "SELECT count(*) FROM observables",
        "SELECT count(*) FROM legal_clocks",
    ] {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap();
        assert_eq!(n, 0, "{sql}");
    }
}

// --- tasks, decisions, parties ----------------------------------------------------------------

#[tokio::test]
async fn completing_a_task_writes_the_task_and_its_entry_once() {
    let s = memory().await;
    let i = incident(&s, "t").await;
    let other = incident(&s, "other").await;
    let tasks = s
        .add_tasks(i.id, &[task("second", 2), task("first", 1)])
        .await
        .unwrap();
    assert_eq!(tasks[0].status, TaskStatus::Open);
    let listed = s.list_tasks(i.id).await.unwrap();
    assert_eq!(listed[0].title, "first", "by position");
    assert_eq!(listed[1].checklist, tasks[0].checklist);

    let done_at = at("2026-01-05T03:00:00Z");
    let completion = TaskCompletion {
        by: Some(9),
        at: done_at,
        entry: TimelineEntryFields {
            source: EntrySource::Task,
            ..entry("unplugged", done_at, Lane::ItBusiness)
        },
    };
    let (t, e) = s
        .complete_task(i.id, tasks[0].id, &completion)
        .await
        .unwrap();
    assert_eq!(t.status, TaskStatus::Done);
    assert_eq!((t.completed_by, t.completed_at), (Some(9), Some(done_at)));
    assert_eq!(
        (e.incident_id, e.created_by, e.created_at),
        (i.id, Some(9), done_at)
    );
    assert_eq!(s.list_tasks(i.id).await.unwrap()[1], t);

    assert!(matches!(
        s.complete_task(i.id, tasks[0].id, &completion)
            .await
            .unwrap_err(),
        StoreError::Duplicate { .. }
    ));
    match s
        .complete_task(other.id, tasks[1].id, &completion)
        .await
        .unwrap_err()
    {
        StoreError::NotFound { entity: "task", .. } => {}
        e => panic!("{e:?}"),
    }
    is_missing_incident(s.complete_task(777, tasks[1].id, &completion).await, 777);
    // Only the one successful completion produced an entry.
    assert_eq!(
        s.list_timeline(i.id, &TimelineQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.list_timeline(other.id, &TimelineQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_decision_is_decided_once() {
    let s = memory().await;
    let i = incident(&s, "t").await;
    let d = s.add_decision(i.id, &new_decision(), t0()).await.unwrap();
    assert_eq!((d.chosen, d.decided_at), (None, None));
    assert_eq!(s.get_decision(i.id, d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(s.get_decision(i.id + 1, d.id).await.unwrap(), None);
    let outcome = DecisionOutcome {
        chosen: 0,
        decided_by: "CEO".into(),
        decided_at: None,
        rationale: "backups are good".into(),
    };
    let later = at("2026-01-05T05:00:00Z");
    let decided = s.decide(i.id, d.id, &outcome, later).await.unwrap();
    assert_eq!(decided.chosen, Some(0));
    assert_eq!(decided.decided_at, Some(later));
    assert_eq!(decided.decided_by, "CEO");
    assert_eq!(decided.rationale, "backups are good");
    assert!(matches!(
        s.decide(i.id, d.id, &outcome, later).await.unwrap_err(),
        StoreError::Duplicate { .. }
    ));
    assert!(matches!(
        s.decide(i.id, d.id + 100, &outcome, later)
            .await
            .unwrap_err(),
        StoreError::NotFound {
            entity: "decision",
            ..
        }
    ));
    assert_eq!(s.list_decisions(i.id).await.unwrap(), [decided]);

    // Recorded as already taken at creation.
    let pre = s
        .add_decision(
            i.id,
            &NewDecision {
                chosen: Some(1),
                decided_by: "CISO".into(),
                ..new_decision()
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!((pre.chosen, pre.decided_at), (Some(1), Some(later)));
}

#[tokio::test]
async fn parties_round_trip() {
    let s = memory().await;
    let i = incident(&s, "t").await;
    let p = s.add_party(i.id, &party()).await.unwrap();
    assert_eq!(p.kind, PartyKind::Jpcert);
    assert_eq!(s.list_parties(i.id).await.unwrap(), [p]);
}

// --- evidence -------------------------------------------------------------------------------

#[tokio::test]
async fn evidence_keeps_its_chain_of_custody_in_order() {
    let s = memory().await;
    let i = incident(&s, "t").await;
    let other = incident(&s, "other").await;
    let collected = at("2026-01-05T02:00:00Z");
    let disk = s
        .add_evidence(i.id, &evidence("disk"), collected, t0())
        .await
        .unwrap();
    assert_eq!(disk.custody.len(), 1);
    let first = &disk.custody[0];
    assert_eq!(first.action, CustodyAction::Collected);
    assert_eq!(
        (first.handler.as_str(), first.location.as_str(), first.at),
        ("Sato", "safe 1", collected)
    );
    let usb = s
        .add_evidence(i.id, &evidence("usb"), collected, t0())
        .await
        .unwrap();
    s.add_evidence(other.id, &evidence("elsewhere"), collected, t0())
        .await
        .unwrap();

    let record = |at_: &str, action, location: &str| CustodyRecord {
        at: at(at_),
        event: NewCustodyEvent {
            at: None,
            action,
            handler: "Vendor".into(),
            location: location.into(),
            note: "n".into(),
        },
    };
    // Appended out of time order: listing sorts by time.
    s.add_custody_event(
        i.id,
        disk.id,
        &record("2026-01-08T00:00:00Z", CustodyAction::Analysed, ""),
    )
    .await
    .unwrap();
    let moved = s
        .add_custody_event(
            i.id,
            disk.id,
            &record("2026-01-06T00:00:00Z", CustodyAction::Transferred, "lab"),
        )
        .await
        .unwrap();
    assert_eq!(moved.evidence_id, disk.id);

    let items = s.list_evidence(i.id).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].id, disk.id);
    assert_eq!(
        items[0].location, "lab",
        "an empty location does not move it back"
    );
    let actions: Vec<_> = items[0].custody.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            CustodyAction::Collected,
            CustodyAction::Transferred,
            CustodyAction::Analysed
        ]
    );
    assert_eq!(items[1].id, usb.id);
    assert_eq!(items[1].custody, usb.custody);

    // The item must belong to the incident named.
    match s
        .add_custody_event(
            other.id,
            disk.id,
            &record("2026-01-09T00:00:00Z", CustodyAction::Returned, "x"),
        )
        .await
        .unwrap_err()
    {
        StoreError::NotFound {
            entity: "evidence", ..
        } => {}
        e => panic!("{e:?}"),
    }
    assert_eq!(s.list_evidence(i.id).await.unwrap()[0].custody.len(), 3);
    assert!(s.list_evidence(999).await.unwrap().is_empty());
}

// --- observables ----------------------------------------------------------------------------

#[tokio::test]
async fn observables_deduplicate_per_incident_and_correlate_across_incidents() {
    let s = memory().await;
    let a = incident(&s, "A").await;
    let b = incident(&s, "B").await;
    let c = incident(&s, "C").await;
    let first = s
        .add_observable(a.id, &observable("192.0.2.1"), "192.0.2.1", t0())
        .await
        .unwrap();
    let again = s
        .add_observable(
            a.id,
            &observable("::ffff:192.0.2.1"),
            "192.0.2.1",
            at("2026-02-01T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(again, first, "the existing row, unchanged");
    s.add_observable(c.id, &observable("192.0.2.1"), "192.0.2.1", t0())
        .await
        .unwrap();
    s.add_observable(b.id, &observable("192.0.2.1"), "192.0.2.1", t0())
        .await
        .unwrap();
    s.add_observable(b.id, &observable("192.0.2.2"), "192.0.2.2", t0())
        .await
        .unwrap();
    assert_eq!(s.list_observables(a.id).await.unwrap(), [first]);

    let sharing = s
        .incidents_sharing(ObservableKind::Ip, "192.0.2.1", Some(a.id), None)
        .await
        .unwrap();
    let got: Vec<_> = sharing
        .iter()
        .map(|x| (x.incident_id, x.incident_title.as_str()))
        .collect();
    assert_eq!(got, [(b.id, "B"), (c.id, "C")]);
    assert_eq!(
        s.incidents_sharing(ObservableKind::Ip, "192.0.2.1", None, None)
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        s.incidents_sharing(ObservableKind::Domain, "192.0.2.1", None, None)
            .await
            .unwrap()
            .is_empty()
    );
}

// --- legal clocks ---------------------------------------------------------------------------

#[tokio::test]
async fn legal_clocks_are_met_only_on_their_incident() {
    let s = memory().await;
    let i = incident(&s, "t").await;
    let other = incident(&s, "other").await;
    let c = s
        .add_legal_clock(i.id, &clock_fields(ClockKind::AppiPreliminary))
        .await
        .unwrap();
    assert_eq!(c.met_at, None);
    let met = at("2026-01-06T00:00:00Z");
    let m = s.mark_legal_clock_met(i.id, c.id, met).await.unwrap();
    assert_eq!(m.met_at, Some(met));
    assert_eq!(s.list_legal_clocks(i.id).await.unwrap(), [m]);
    assert!(matches!(
        s.mark_legal_clock_met(other.id, c.id, met)
            .await
            .unwrap_err(),
        StoreError::NotFound {
            entity: "legal clock",
            ..
        }
    ));
}

// --- users and tokens -------------------------------------------------------------------------

#[tokio::test]
async fn users_are_unique_by_email_and_tokens_expire_and_revoke() {
    let s = memory().await;
    let nu = NewUser::new("csirt@example.jp", "CSIRT", Role::Responder).unwrap();
    let u = s.create_user(&nu, t0()).await.unwrap();
    assert_eq!(
        s.user_by_email("csirt@example.jp").await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(s.user_by_id(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.user_by_id(u.id + 1).await.unwrap(), None);
    match s.create_user(&nu, t0()).await.unwrap_err() {
        StoreError::Duplicate { what } => assert_eq!(what, "user csirt@example.jp"),
        e => panic!("{e:?}"),
    }

    let secret = "f".repeat(64);
    let expires = at("2026-02-01T00:00:00Z");
    let tok = s
        .create_token(
            u.id,
            "ci",
            &TokenScope::full(),
            &secret,
            t0(),
            Some(expires),
        )
        .await
        .unwrap();
    assert_eq!(
        (tok.user_id, tok.expires_at, tok.revoked_at),
        (u.id, Some(expires), None)
    );
    let before = at("2026-01-31T23:59:59Z");
    assert_eq!(
        s.user_by_token_hash(&secret, before).await.unwrap(),
        Some((u.clone(), TokenScope::full()))
    );
    assert_eq!(
        s.user_by_token_hash(&secret, expires).await.unwrap(),
        None,
        "expired at"
    );
    assert_eq!(s.user_by_token_hash("other", before).await.unwrap(), None);

    // Same secret twice: a duplicate, and the hash is not echoed in the message.
    let err = s
        .create_token(u.id, "again", &TokenScope::full(), &secret, t0(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }));
    assert!(!err.to_string().contains(&secret));
    assert!(matches!(
        s.create_token(u.id + 5, "ghost", &TokenScope::full(), "abc", t0(), None)
            .await
            .unwrap_err(),
        StoreError::NotFound { entity: "user", .. }
    ));

    let forever = s
        .create_token(u.id, "forever", &TokenScope::full(), "hash-2", t0(), None)
        .await
        .unwrap();
    assert!(
        s.user_by_token_hash("hash-2", expires)
            .await
            .unwrap()
            .is_some()
    );
    sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ?")
        .bind(micros(t0()))
        .bind(forever.id)
        .execute(s.pool())
        .await
        .unwrap();
    assert_eq!(s.user_by_token_hash("hash-2", expires).await.unwrap(), None);
}

// --- security -------------------------------------------------------------------------------

#[tokio::test]
async fn tokens_and_users_from_before_0004_keep_working_with_full_scope() {
    let s = SqliteStore::connect("sqlite::memory:").await.unwrap();
    MIGRATOR.run_to(3, s.write_pool()).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, display_name, role, created_at) \
         VALUES (7, 'old@example.jp', 'Old', 'responder', 0)",
    )
    .execute(s.write_pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO api_tokens (user_id, name, secret_hash, created_at) \
         VALUES (7, 'old', 'old-hash', 0)",
    )
    .execute(s.write_pool())
    .await
    .unwrap();
    s.migrate().await.unwrap();
    let (user, scope) = s
        .user_by_token_hash("old-hash", t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scope, TokenScope::full());
    assert!(user.active);
    assert!(!user.mfa_enabled);
    let creds = s.credentials_by_id(7).await.unwrap().unwrap();
    assert_eq!(creds.password_hash, None);
    assert_eq!(creds.totp_last_step, None);
}

#[tokio::test]
async fn a_tampered_token_scope_reads_back_as_corrupt() {
    let s = memory().await;
    let u = s
        .create_user(
            &NewUser::new("a@example.jp", "", Role::Responder).unwrap(),
            t0(),
        )
        .await
        .unwrap();
    s.create_token(u.id, "t", &TokenScope::full(), "h", t0(), None)
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET scope = '{\"access\":\"sudo\",\"resources\":[]}'")
        .execute(s.pool())
        .await
        .unwrap();
    assert!(matches!(
        s.user_by_token_hash("h", t0()).await.unwrap_err(),
        StoreError::Corrupt {
            table: "api_tokens",
            column: "scope",
            ..
        }
    ));
}

#[tokio::test]
async fn viewer_filters_use_their_indexes() {
    let s = memory().await;
    let plan = |sql: String| {
        let s = &s;
        async move {
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(s.pool())
                .await
                .unwrap();
            rows.into_iter()
                .map(|r| r.3)
                .collect::<Vec<_>>()
                .join(" | ")
        }
    };
    let sql = |viewer: Viewer| {
        let mut qb =
            QueryBuilder::<Sqlite>::new("EXPLAIN QUERY PLAN SELECT id FROM incidents WHERE 1 = 1");
        push_visible(&mut qb, "incidents", Some(&viewer));
        qb.push(" ORDER BY id DESC LIMIT 51");
        // Bound values do not change the plan; inline the one user id for EXPLAIN.
        qb.sql().as_str().replace('?', "5")
    };
    // An external responder's list walks their memberships, not every incident.
    let p = plan(sql(Viewer::new(5, Role::ExternalResponder))).await;
    assert!(p.contains("incident_members_user"), "{p}");
    assert!(!p.contains("SCAN incidents"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    // A reporter's list walks their own reports, newest first.
    let p = plan(sql(Viewer::new(5, Role::Reporter))).await;
    assert!(p.contains("incidents_created_by"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    // Everyone else walks incidents newest first and stops after a page.
    let p = plan(sql(Viewer::new(5, Role::Responder))).await;
    assert!(!p.contains("TEMP B-TREE"), "{p}");
}

#[tokio::test]
async fn external_responder_pages_walk_memberships_newest_first() {
    let s = memory().await;
    let u = s
        .create_user(
            &NewUser::new("ext@example.jp", "", Role::ExternalResponder).unwrap(),
            t0(),
        )
        .await
        .unwrap();
    let mut mine = Vec::new();
    for n in 0..30 {
        let i = incident(&s, &format!("i{n}")).await;
        if n % 3 == 0 {
            s.add_member(i.id, u.id, t0()).await.unwrap();
            mine.push(i.id);
        }
    }
    mine.reverse();
    let viewer = Viewer::new(u.id, Role::ExternalResponder);
    let mut seen = Vec::new();
    let mut before_id = None;
    loop {
        let page = s
            .list_incidents(&IncidentFilter {
                limit: 4,
                before_id,
                viewer: Some(viewer),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| i.id));
        match page.next_before_id {
            Some(b) => before_id = Some(b),
            None => break,
        }
    }
    assert_eq!(seen, mine);
    assert_eq!(s.count_incidents(Some(&viewer)).await.unwrap(), 10);
}

#[tokio::test]
async fn an_audit_append_is_all_or_nothing() {
    struct Plain;
    impl AuditSealer for Plain {
        fn seal_record(&self, seq: i64, event: &AuditEvent, prev_hash: &str) -> String {
            format!(
                "{seq}:{}:{}:{prev_hash}",
                event.action,
                event.at.as_microsecond()
            )
        }
        fn seal_head(&self, seq: i64, hash: &str) -> String {
            format!("head:{seq}:{hash}")
        }
    }
    let s = memory().await;
    let event = |action: &str| AuditEvent {
        // Nanoseconds: the record is sealed as stored, at microsecond precision.
        at: at("2026-01-05T00:00:00.123456789Z"),
        actor_id: None,
        actor: "cli".into(),
        address: None,
        action: action.into(),
        object: "user:1".into(),
        outcome: "ok".into(),
        detail: "{}".into(),
    };
    let first = s.append_audit(&[event("a")], &Plain).await.unwrap();
    assert_eq!(first[0].event.at, at("2026-01-05T00:00:00.123456Z"));
    assert_eq!(
        first[0].hash,
        Plain.seal_record(1, &first[0].event, GENESIS_HASH),
        "the seal covers the record as stored"
    );
    assert_eq!(s.list_audit(0, 10).await.unwrap(), first);

    sabotage(&s, "audit_log", "action").await;
    s.append_audit(&[event("b"), event("boom"), event("c")], &Plain)
        .await
        .unwrap_err();
    assert_eq!(count(&s, "SELECT count(*) FROM audit_log").await, 1);
    let head = s.audit_head().await.unwrap().unwrap();
    assert_eq!((head.seq, head.hash.as_str()), (1, first[0].hash.as_str()));

    // A head that lost its row (or was rolled back) never makes the chain fork or skip:
    // the next append clashes with the stored seq 1 and writes nothing.
    sqlx::query("DELETE FROM audit_head")
        .execute(s.pool())
        .await
        .unwrap();
    s.append_audit(&[event("d")], &Plain).await.unwrap_err();
    assert_eq!(count(&s, "SELECT count(*) FROM audit_log").await, 1);
    assert!(s.append_audit(&[], &Plain).await.unwrap().is_empty());
}

#[tokio::test]
async fn deactivating_a_user_is_all_or_nothing() {
    let s = memory().await;
    let u = s
        .create_user(
            &NewUser::new("a@example.jp", "", Role::Responder).unwrap(),
            t0(),
        )
        .await
        .unwrap();
    s.create_token(u.id, "t", &TokenScope::full(), "tok", t0(), None)
        .await
        .unwrap();
    let new = NewSession {
        user_id: u.id,
        secret_hash: "sess".into(),
        stage: SessionStage::Full,
        expires_at: at("2026-01-06T00:00:00Z"),
        address: None,
        user_agent: "test".into(),
    };
    s.create_session(&new, t0()).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER boom_tokens BEFORE UPDATE ON api_tokens \
         BEGIN SELECT RAISE(ABORT, 'sabotaged'); END",
    )
    .execute(s.pool())
    .await
    .unwrap();
    s.set_user_active(u.id, false, t0()).await.unwrap_err();
    assert!(s.user_by_id(u.id).await.unwrap().unwrap().active);
    let idle = SignedDuration::from_hours(1);
    assert!(
        s.session_by_hash("sess", t0(), idle)
            .await
            .unwrap()
            .is_some(),
        "the session revocation was rolled back with the rest"
    );
}

#[tokio::test]
async fn unknown_users_are_not_found() {
    let s = memory().await;
    assert!(matches!(
        s.set_user_role(9, Role::Admin).await.unwrap_err(),
        StoreError::NotFound { entity: "user", .. }
    ));
    assert!(matches!(
        s.set_user_active(9, false, t0()).await.unwrap_err(),
        StoreError::NotFound { entity: "user", .. }
    ));
    assert!(matches!(
        s.set_password(9, "x").await.unwrap_err(),
        StoreError::NotFound { entity: "user", .. }
    ));
    assert!(matches!(
        s.activate_totp(9, 1, &[]).await.unwrap_err(),
        StoreError::NotFound { entity: "user", .. }
    ));
    assert!(matches!(
        s.create_enrolment(9, "h", t0()).await.unwrap_err(),
        StoreError::NotFound { entity: "user", .. }
    ));
    assert!(matches!(
        s.promote_session(9).await.unwrap_err(),
        StoreError::NotFound {
            entity: "session",
            ..
        }
    ));
    assert!(!s.claim_totp_step(9, 1).await.unwrap());
}

// --- throughput (run by hand) -------------------------------------------------------------------

/// `cargo test -p kizuki-store-sqlite --release -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run by hand in release mode"]
async fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(file(&dir).await);
    let mut incidents = Vec::new();
    for n in 0..100 {
        incidents.push(incident(&s, &format!("i{n}")).await.id);
    }
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..32 {
        let s = s.clone();
        let id = incidents[w % incidents.len()];
        tasks.push(tokio::spawn(async move {
            for n in 0..500 {
                s.add_timeline_entry(
                    id,
                    &entry(&format!("entry {n}"), t0(), Lane::External),
                    None,
                    t0(),
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("appends/s: {:.0}", 32.0 * 500.0 / secs);

    let id = incidents[0];
    read_p99(&s, id, 500).await;
}

async fn read_p99(s: &SqliteStore, id: i64, expect: usize) {
    let mut times = Vec::new();
    for _ in 0..1000 {
        let t = std::time::Instant::now();
        s.get_incident(id).await.unwrap().unwrap();
        let entries = s
            .list_timeline(id, &TimelineQuery::default())
            .await
            .unwrap();
        assert_eq!(entries.len(), expect);
        times.push(t.elapsed());
    }
    let first = times[0];
    times.sort();
    println!(
        "read {expect} entries: first {first:?} p50 {:?} p99 {:?} max {:?}",
        times[500], times[990], times[999]
    );
}

/// 100,000 incidents x 20 entries, plus one incident with 500 entries, then timed reads.
/// `cargo test -p kizuki-store-sqlite --release -- --ignored --nocapture large_read`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run by hand in release mode"]
async fn large_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = file(&dir).await;
    let started = std::time::Instant::now();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO incidents (title, summary, title_search, summary_search, category, \
           severity, phase, detection_source, start_date, start_basis, aware_at, \
           affected_units, affected_assets, impact, restricted, version, created_at, updated_at) \
         SELECT 'incident ' || i, '', 'incident ' || i, '', 'ransomware', 1 + i % 4, \
           CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'triage' END, 'edr', '2026-01-05', \
           'detection', 0, '[]', '[]', '{}', 0, 1, 0, 0 FROM n",
    )
    .execute(s.write_pool())
    .await
    .unwrap();
    // Entries interleaved across incidents, as they would arrive in real life.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999999) \
         INSERT INTO timeline_entries (incident_id, occurred_at, precision, lane, actor, kind, \
           text, source, created_at) \
         SELECT 1 + i % 100000, i, 'minute', 'external', 'x', 'analysis', \
           'some entry text of a realistic length, about one sentence long', 'manual', i FROM n",
    )
    .execute(s.write_pool())
    .await
    .unwrap();
    println!("loaded in {:?}", started.elapsed());
    let big = incident(&s, "big").await;
    for n in 0..500 {
        s.add_timeline_entry(
            big.id,
            &entry(&format!("e{n}"), t0(), Lane::External),
            None,
            t0(),
        )
        .await
        .unwrap();
    }
    read_p99(&s, big.id, 500).await;
    read_p99(&s, 77_777, 20).await;

    let mut times = Vec::new();
    for filter in [
        IncidentFilter::default(),
        IncidentFilter {
            open_only: true,
            ..Default::default()
        },
        IncidentFilter {
            phases: vec![Phase::Closed],
            ..Default::default()
        },
        IncidentFilter {
            min_severity: Some(4),
            ..Default::default()
        },
        IncidentFilter {
            text: Some("incident 9999".into()),
            ..Default::default()
        },
        IncidentFilter {
            before_id: Some(500),
            open_only: true,
            ..Default::default()
        },
    ] {
        let t = std::time::Instant::now();
        let page = s.list_incidents(&filter).await.unwrap();
        times.push((t.elapsed(), page.items.len()));
    }
    println!("list_incidents: {times:?}");
    let t = std::time::Instant::now();
    assert_eq!(s.count_incidents(None).await.unwrap(), 100_001);
    println!("count: {:?}", t.elapsed());
}
