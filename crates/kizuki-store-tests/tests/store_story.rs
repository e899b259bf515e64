//! One story of what a store must do, told to every backend (atuin's db_story idea).
//!
//! SQLite runs everywhere. PostgreSQL runs when `KIZUKI_TEST_POSTGRES_URL` points at a
//! server where databases may be created (`.ci/run` starts one); under CI a missing server
//! is a failure, not a skip. The harness is in `common/mod.rs`, shared with `review_story.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

mod common;

use std::sync::Arc;

use jiff::SignedDuration;
use jiff::Timestamp;
use kizuki_domain::access::Viewer;
use kizuki_domain::audit::{AuditEvent, AuditHead, AuditRecord, AuditSealer, GENESIS_HASH};
use kizuki_domain::decision::{DecisionOption, DecisionOutcome, NewDecision};
use kizuki_domain::evidence::{CustodyAction, NewCustodyEvent, NewEvidence};
use kizuki_domain::incident::{Category, IncidentFilter, Phase};
use kizuki_domain::legal_clock::{ClockKind, NewLegalClock};
use kizuki_domain::observable::{NewObservable, ObservableKind};
use kizuki_domain::party::{NewParty, PartyKind, PartyPatch};
use kizuki_domain::settings::Language;
use kizuki_domain::task::{ChecklistItem, NewTask, TaskStatus};
use kizuki_domain::timeline::{DayPart, EntryKind, Lane, TimePrecision};
use kizuki_domain::user::{
    LoginFailures, Member, NewSession, NewUser, Role, SessionStage, TokenAccess, TokenResource,
    TokenScope, User,
};
use kizuki_store::{CustodyRecord, Store, StoreError, TaskCompletion, TaskUpdate, TimelineQuery};

use common::{NOW, at, entry, fields, story, user};

async fn incidents_round_trip_every_field(store: &dyn Store) {
    let f = fields("Ransomware at many branches 多拠点");
    let clock = NewLegalClock {
        kind: ClockKind::AppiPreliminary,
        name: None,
        hours: None,
        started_at: None,
    }
    .into_fields(&f.impact, f.aware_at)
    .unwrap();
    let created = store
        .create_incident(&f, &[clock], None, at(NOW))
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    let got = store.get_incident(created.id).await.unwrap().unwrap();
    assert_eq!(got, created);
    assert_eq!(got.title, f.title);
    assert_eq!(got.impact, f.impact);
    assert_eq!(got.aware_at, f.aware_at, "microseconds survive");
    assert_eq!(got.start_date, f.start_date);
    assert_eq!(got.affected_units, f.affected_units);
    let clocks = store.list_legal_clocks(created.id).await.unwrap();
    assert_eq!(clocks.len(), 1);
    assert_eq!(clocks[0].kind, ClockKind::AppiPreliminary);
    assert_eq!(clocks[0].started_at, f.aware_at);
    assert!(
        store
            .get_incident(created.id + 1000)
            .await
            .unwrap()
            .is_none()
    );
}

async fn stale_update_conflicts_and_changes_nothing(store: &dyn Store) {
    let created = store
        .create_incident(&fields("conflict"), &[], None, at(NOW))
        .await
        .unwrap();
    let mut first = fields("conflict");
    first.phase = Phase::Triage;
    first.severity = 4;
    let updated = store
        .update_incident(created.id, 1, &first, &[], at(NOW))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.phase, Phase::Triage);

    let mut stale = fields("overwritten by a stale editor");
    stale.severity = 1;
    match store
        .update_incident(created.id, 1, &stale, &[], at(NOW))
        .await
    {
        Err(StoreError::Conflict {
            id,
            expected,
            current,
        }) => {
            assert_eq!((id, expected, current), (created.id, 1, 2));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let after = store.get_incident(created.id).await.unwrap().unwrap();
    assert_eq!(after, updated, "a stale write changes nothing");

    match store
        .update_incident(created.id + 1000, 1, &stale, &[], at(NOW))
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn concurrent_editors_of_one_version_get_exactly_one_win(store: Arc<dyn Store>) {
    let created = store
        .create_incident(&fields("race"), &[], None, at(NOW))
        .await
        .unwrap();
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        async move {
            let mut f = fields("race");
            f.summary = format!("editor {i}");
            store.update_incident(created.id, 1, &f, &[], at(NOW)).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
        .count();
    assert_eq!((wins, conflicts), (1, 7), "{results:?}");
    assert_eq!(
        store
            .get_incident(created.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

async fn lists_filter_and_paginate_newest_first(store: &dyn Store) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut f = fields(&format!("list-{i}"));
        f.category = if i % 2 == 0 {
            Category::Ransomware
        } else {
            Category::WebDefacement
        };
        f.severity = (i % 4 + 1) as u8;
        f.phase = if i == 6 { Phase::Closed } else { Phase::Triage };
        if i == 3 {
            f.summary = "Attacker left 100%_sure marker".into();
        }
        ids.push(
            store
                .create_incident(&f, &[], None, at(NOW))
                .await
                .unwrap()
                .id,
        );
    }
    let all = IncidentFilter {
        text: Some("list-".into()),
        limit: 3,
        ..Default::default()
    };
    let page1 = store.list_incidents(&all).await.unwrap();
    assert_eq!(
        page1.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[6], ids[5], ids[4]]
    );
    let page2 = store
        .list_incidents(&IncidentFilter {
            before_id: page1.next_before_id,
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        page2.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[3], ids[2], ids[1]]
    );
    let page3 = store
        .list_incidents(&IncidentFilter {
            before_id: page2.next_before_id,
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        page3.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert_eq!(page3.next_before_id, None);

    let defacements = store
        .list_incidents(&IncidentFilter {
            text: Some("LIST-".into()),
            categories: vec![Category::WebDefacement],
            open_only: true,
            min_severity: Some(2),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    // i = 1 (level 2), 3 (level 4), 5 (level 2); all open.
    assert_eq!(
        defacements.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[5], ids[3], ids[1]]
    );

    let closed = store
        .list_incidents(&IncidentFilter {
            phases: vec![Phase::Closed],
            text: Some("list-".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.items.len(), 1);

    // % and _ in the search text are literal characters, not wildcards.
    let literal = store
        .list_incidents(&IncidentFilter {
            text: Some("100%_sure".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        literal.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[3]]
    );
    let no_wildcard = store
        .list_incidents(&IncidentFilter {
            text: Some("100%sure".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(no_wildcard.items.is_empty());
    assert!(store.count_incidents(None).await.unwrap() >= 7);
}

async fn timeline_keeps_time_order_and_lanes(store: &dyn Store) {
    let inc = store
        .create_incident(&fields("timeline"), &[], None, at(NOW))
        .await
        .unwrap();
    let later = entry(
        "Ransom note found on a server",
        Lane::ItBusiness,
        "2026-01-11T01:00:00Z",
    );
    let earlier = entry(
        "Branches told by phone to unplug",
        Lane::ItBusiness,
        "2026-01-10T23:30:00Z",
    );
    let mut decision = entry(
        "Refuse to contact the attacker",
        Lane::ManagementPr,
        "2026-01-14T03:00:00Z",
    );
    decision.kind = EntryKind::Decision;
    decision.precision = TimePrecision::Week;
    let mut dawn = entry(
        "Encryption starts",
        Lane::ItBusiness,
        "2026-01-10T18:00:00Z",
    );
    dawn.precision = TimePrecision::DayPart;
    dawn.day_part = Some(DayPart::EarlyMorning);
    for e in [&later, &earlier, &decision] {
        store
            .add_timeline_entry(inc.id, e, None, at(NOW))
            .await
            .unwrap();
    }
    store
        .add_timeline_entries(inc.id, &[dawn.clone()], None, at(NOW))
        .await
        .unwrap();

    let (count, max_id) = store.timeline_stamp(inc.id).await.unwrap();
    assert_eq!(count, 4);
    assert_eq!(store.timeline_stamp(inc.id + 1000).await.unwrap(), (0, 0));
    let all = store
        .list_timeline(inc.id, &TimelineQuery::default())
        .await
        .unwrap();
    assert_eq!(all.iter().map(|e| e.id).max(), Some(max_id));
    let texts: Vec<_> = all.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Encryption starts",
            "Branches told by phone to unplug",
            "Ransom note found on a server",
            "Refuse to contact the attacker"
        ]
    );
    assert_eq!(all[0].day_part, Some(DayPart::EarlyMorning));
    assert_eq!(all[0].precision, TimePrecision::DayPart);
    assert_eq!(all[3].precision, TimePrecision::Week);

    let mgmt = store
        .list_timeline(
            inc.id,
            &TimelineQuery {
                lanes: vec![Lane::ManagementPr],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(mgmt.len(), 1);
    assert_eq!(mgmt[0].kind, EntryKind::Decision);

    let page = store
        .list_timeline(
            inc.id,
            &TimelineQuery {
                offset: 1,
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
        [texts[1], texts[2]]
    );

    match store
        .add_timeline_entry(inc.id + 1000, &later, None, at(NOW))
        .await
    {
        Err(StoreError::NotFound { entity, .. }) => assert_eq!(entity, "incident"),
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn completing_a_task_writes_its_timeline_entry_once(store: &dyn Store) {
    let inc = store
        .create_incident(&fields("tasks"), &[], None, at(NOW))
        .await
        .unwrap();
    let tasks = vec![
        NewTask {
            playbook: Some("ransomware@1".into()),
            phase: "containment".into(),
            title: "Isolate infected hosts, keep them powered".into(),
            lane: Lane::ItBusiness,
            checklist: vec![ChecklistItem {
                text: "Unplug the LAN cable".into(),
                done: false,
            }],
            due_at: Some(at("2026-01-11T01:00:00Z")),
            rationale: "Case 4".into(),
            position: 0,
        },
        NewTask {
            playbook: Some("ransomware@1".into()),
            phase: "disclosure".into(),
            title: "Prepare the first press notice".into(),
            lane: Lane::ManagementPr,
            checklist: vec![],
            due_at: None,
            rationale: "Case 3".into(),
            position: 1,
        },
    ];
    let created = store.add_tasks(inc.id, &tasks).await.unwrap();
    assert_eq!(created.len(), 2);
    assert!(created.iter().all(|t| t.status == TaskStatus::Open));
    let listed = store.list_tasks(inc.id).await.unwrap();
    assert_eq!(listed, created);
    assert_eq!(listed[0].checklist[0].text, "Unplug the LAN cable");

    // Ticking items and skipping: each tick is its own statement, so concurrent ticks of
    // different items both stick.
    let mut three = tasks[0].clone();
    three.checklist = (0..3)
        .map(|i| ChecklistItem {
            text: format!("step {i}"),
            done: false,
        })
        .collect();
    three.position = 2;
    let t3 = store.add_tasks(inc.id, &[three]).await.unwrap().remove(0);
    let (a, b) = futures::join!(
        store.update_task(
            inc.id,
            t3.id,
            &TaskUpdate {
                checklist_item: Some((0, true)),
                status: None
            }
        ),
        store.update_task(
            inc.id,
            t3.id,
            &TaskUpdate {
                checklist_item: Some((2, true)),
                status: None
            }
        ),
    );
    a.unwrap();
    b.unwrap();
    let skipped = store
        .update_task(
            inc.id,
            t3.id,
            &TaskUpdate {
                checklist_item: Some((0, false)),
                status: Some(TaskStatus::Skipped),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        skipped.checklist.iter().map(|c| c.done).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(skipped.status, TaskStatus::Skipped);
    assert_eq!(skipped.checklist[2].text, "step 2");
    assert!(matches!(
        store
            .update_task(
                inc.id + 1000,
                t3.id,
                &TaskUpdate {
                    checklist_item: None,
                    status: Some(TaskStatus::Open)
                }
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));

    let completion = TaskCompletion {
        by: None,
        at: at(NOW),
        entry: entry("✔ Isolate infected hosts", Lane::ItBusiness, NOW),
    };
    let (task, timeline_entry) = store
        .complete_task(inc.id, created[0].id, &completion)
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Done);
    assert_eq!(task.completed_at, Some(at(NOW)));
    assert_eq!(timeline_entry.text, "✔ Isolate infected hosts");
    match store
        .complete_task(inc.id, created[0].id, &completion)
        .await
    {
        Err(StoreError::Duplicate { .. }) => {}
        other => panic!("second completion must be refused, got {other:?}"),
    }
    assert_eq!(
        store
            .list_timeline(inc.id, &TimelineQuery::default())
            .await
            .unwrap()
            .len(),
        1,
        "exactly one entry"
    );
    let other = store
        .create_incident(&fields("other"), &[], None, at(NOW))
        .await
        .unwrap();
    match store
        .complete_task(other.id, created[1].id, &completion)
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("a task of another incident is not found, got {other:?}"),
    }
}

async fn decisions_keep_options_and_are_decided_once(store: &dyn Store) {
    let inc = store
        .create_incident(&fields("decisions"), &[], None, at(NOW))
        .await
        .unwrap();
    let new = NewDecision {
        question: "Pay the ransom?".into(),
        options: vec![
            DecisionOption {
                label: "Refuse".into(),
                scenario: "Months of rebuilding from clean backups".into(),
            },
            DecisionOption {
                label: "Negotiate".into(),
                scenario: "No guarantee; funds crime".into(),
            },
        ],
        chosen: None,
        decided_by: String::new(),
        decided_at: None,
        rationale: "Options prepared by the CSIRT for the committee".into(),
        decide_by: Some(at("2026-01-12T00:00:00Z")),
    };
    let d = store.add_decision(inc.id, &new, at(NOW)).await.unwrap();
    assert_eq!(d.options, new.options);
    assert_eq!(d.chosen, None);
    assert_eq!(d.decide_by, new.decide_by);
    let outcome = DecisionOutcome {
        chosen: 0,
        decided_by: "Risk committee chaired by the president".into(),
        decided_at: None,
        rationale: "Public-minded culture; never fund crime".into(),
    };
    let decided = store.decide(inc.id, d.id, &outcome, at(NOW)).await.unwrap();
    assert_eq!(decided.chosen, Some(0));
    assert_eq!(decided.decided_at, Some(at(NOW)));
    assert_eq!(decided.rationale, outcome.rationale);
    let d2 = store.add_decision(inc.id, &new, at(NOW)).await.unwrap();
    let silent = DecisionOutcome {
        rationale: String::new(),
        ..outcome.clone()
    };
    let kept = store.decide(inc.id, d2.id, &silent, at(NOW)).await.unwrap();
    assert_eq!(
        kept.rationale, new.rationale,
        "an empty outcome rationale keeps the one written at creation"
    );
    assert_eq!(
        store.get_decision(inc.id, d.id).await.unwrap(),
        Some(decided.clone())
    );
    assert!(matches!(
        store.decide(inc.id, d.id, &outcome, at(NOW)).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert_eq!(
        store.list_decisions(inc.id).await.unwrap(),
        vec![decided, kept]
    );
    assert!(
        store
            .get_decision(inc.id + 1000, d.id)
            .await
            .unwrap()
            .is_none()
    );
}

async fn evidence_keeps_its_chain_of_custody(store: &dyn Store) {
    let inc = store
        .create_incident(&fields("evidence"), &[], None, at(NOW))
        .await
        .unwrap();
    let new = NewEvidence {
        name: "PC-0231 (sleep mode)".into(),
        description: "Laptop that opened the attachment".into(),
        sha256: Some("ab".repeat(32)),
        location: "Branch 12 safe".into(),
        collected_by: "Branch manager".into(),
        collected_at: None,
    };
    let item = store
        .add_evidence(inc.id, &new, at("2026-01-11T00:10:00Z"), at(NOW))
        .await
        .unwrap();
    assert_eq!(item.custody.len(), 1);
    assert_eq!(item.custody[0].action, CustodyAction::Collected);
    assert_eq!(item.custody[0].handler, "Branch manager");
    let moved = CustodyRecord {
        at: at("2026-01-12T09:00:00Z"),
        event: NewCustodyEvent {
            at: None,
            action: CustodyAction::Transferred,
            handler: "Forensics vendor courier".into(),
            location: "Vendor lab, Tokyo".into(),
            note: "sealed bag #4411".into(),
        },
    };
    store
        .add_custody_event(inc.id, item.id, &moved)
        .await
        .unwrap();
    let listed = store.list_evidence(inc.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].location, "Vendor lab, Tokyo");
    assert_eq!(listed[0].sha256.as_deref(), Some("ab".repeat(32).as_str()));
    assert_eq!(
        listed[0]
            .custody
            .iter()
            .map(|c| c.action)
            .collect::<Vec<_>>(),
        [CustodyAction::Collected, CustodyAction::Transferred]
    );
    let other = store
        .create_incident(&fields("other"), &[], None, at(NOW))
        .await
        .unwrap();
    assert!(matches!(
        store.add_custody_event(other.id, item.id, &moved).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn observables_correlate_across_incidents(store: &dyn Store) {
    let a = store
        .create_incident(&fields("AV detection on day 2"), &[], None, at(NOW))
        .await
        .unwrap();
    let b = store
        .create_incident(&fields("IDS alert on day 6"), &[], None, at(NOW))
        .await
        .unwrap();
    let c = store
        .create_incident(&fields("unrelated"), &[], None, at(NOW))
        .await
        .unwrap();
    let ip = |value: &str| NewObservable {
        kind: ObservableKind::Ip,
        value: value.into(),
        note: String::new(),
        first_seen: None,
    };
    let first = store
        .add_observable(a.id, &ip("203.0.113.9"), "203.0.113.9", at(NOW))
        .await
        .unwrap();
    let again = store
        .add_observable(a.id, &ip("::ffff:203.0.113.9"), "203.0.113.9", at(NOW))
        .await
        .unwrap();
    assert_eq!(
        first.id, again.id,
        "one observable per normalised value per incident"
    );
    store
        .add_observable(b.id, &ip("203.0.113.9"), "203.0.113.9", at(NOW))
        .await
        .unwrap();
    store
        .add_observable(c.id, &ip("198.51.100.1"), "198.51.100.1", at(NOW))
        .await
        .unwrap();

    let shared = store
        .incidents_sharing(ObservableKind::Ip, "203.0.113.9", Some(a.id), None)
        .await
        .unwrap();
    assert_eq!(
        shared.iter().map(|s| s.incident_id).collect::<Vec<_>>(),
        vec![b.id]
    );
    assert_eq!(shared[0].incident_title, "IDS alert on day 6");
    let everywhere = store
        .incidents_sharing(ObservableKind::Ip, "203.0.113.9", None, None)
        .await
        .unwrap();
    assert_eq!(
        everywhere.iter().map(|s| s.incident_id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    assert!(
        store
            .incidents_sharing(ObservableKind::Domain, "203.0.113.9", None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_observables(a.id).await.unwrap().len(), 1);
}

async fn parties_and_clocks(store: &dyn Store) {
    let inc = store
        .create_incident(&fields("parties"), &[], None, at(NOW))
        .await
        .unwrap();
    let party = NewParty {
        kind: PartyKind::Jpcert,
        name: "JPCERT/CC incident response".into(),
        organisation: "JPCERT/CC".into(),
        role: "coordination".into(),
        email: "info@example.jp".into(),
        phone: "03-0000-0000".into(),
        fallback_channel: "Business emergency phone line".into(),
        notes: String::new(),
    };
    let p = store.add_party(inc.id, &party).await.unwrap();
    assert_eq!(p.fallback_channel, party.fallback_channel);
    assert_eq!(store.list_parties(inc.id).await.unwrap(), vec![p.clone()]);

    // Two people fix different details at once: both changes stay.
    let phone = PartyPatch {
        phone: Some("03-1111-2222".into()),
        ..Default::default()
    };
    let channel = PartyPatch {
        fallback_channel: Some("Satellite phone".into()),
        ..Default::default()
    };
    let (a, b) = futures::join!(
        store.update_party(inc.id, p.id, &phone),
        store.update_party(inc.id, p.id, &channel)
    );
    a.unwrap();
    b.unwrap();
    let fixed = store.list_parties(inc.id).await.unwrap().remove(0);
    assert_eq!(
        (fixed.phone.as_str(), fixed.fallback_channel.as_str()),
        ("03-1111-2222", "Satellite phone")
    );
    assert_eq!(fixed.name, party.name);
    assert!(matches!(
        store
            .update_party(
                inc.id + 1000,
                p.id,
                &PartyPatch {
                    notes: Some("x".into()),
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));

    let f = fields("parties");
    let clock = NewLegalClock {
        kind: ClockKind::Custom,
        name: Some("Customer contract notice".into()),
        hours: Some(24),
        started_at: None,
    }
    .into_fields(&f.impact, f.aware_at)
    .unwrap();
    let c = store.add_legal_clock(inc.id, &clock).await.unwrap();
    assert_eq!(c.due_hours, 24);
    assert_eq!(c.met_at, None);
    let met = store
        .mark_legal_clock_met(inc.id, c.id, at(NOW))
        .await
        .unwrap();
    assert_eq!(met.met_at, Some(at(NOW)));
    let again = store
        .mark_legal_clock_met(inc.id, c.id, at("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        again.met_at,
        Some(at(NOW)),
        "an obligation met stays met at the first time"
    );
    assert!(matches!(
        store
            .mark_legal_clock_met(inc.id + 1000, c.id, at(NOW))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn statutory_clocks_follow_the_incident(store: &dyn Store) {
    use kizuki_domain::legal_clock::statutory_clock_fields;
    let mut f = fields("clocks follow");
    f.impact.unauthorised_act = false;
    let created = store
        .create_incident(
            &f,
            &statutory_clock_fields(&f.impact, f.aware_at),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    let clocks = store.list_legal_clocks(created.id).await.unwrap();
    assert_eq!(
        clocks.iter().map(|c| c.kind).collect::<Vec<_>>(),
        [ClockKind::AppiPreliminary, ClockKind::AppiFinal]
    );
    assert_eq!(clocks[1].due_hours, 30 * 24);
    store
        .mark_legal_clock_met(created.id, clocks[0].id, at(NOW))
        .await
        .unwrap();

    // Later it turns out to be an attack, awareness was earlier, and EU residents are involved.
    f.impact.unauthorised_act = true;
    f.impact.gdpr = true;
    f.aware_at = at("2026-01-09T00:00:00Z");
    let updated = store
        .update_incident(
            created.id,
            1,
            &f,
            &statutory_clock_fields(&f.impact, f.aware_at),
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    let after = store.list_legal_clocks(created.id).await.unwrap();
    assert_eq!(after.len(), 3, "one clock per statutory kind: {after:?}");
    assert_eq!(
        after[0],
        clocks[0].clone().with_met(at(NOW)),
        "a met clock is left as it was"
    );
    assert_eq!(after[1].id, clocks[1].id);
    assert_eq!(
        (after[1].due_hours, after[1].started_at),
        (60 * 24, f.aware_at)
    );
    assert_eq!(
        (after[2].kind, after[2].started_at),
        (ClockKind::Gdpr, f.aware_at)
    );

    // A stale update moves no clock either.
    f.aware_at = at("2026-01-01T00:00:00Z");
    assert!(matches!(
        store
            .update_incident(
                created.id,
                1,
                &f,
                &statutory_clock_fields(&f.impact, f.aware_at),
                at(NOW)
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.list_legal_clocks(created.id).await.unwrap(), after);

    let gdpr_again = NewLegalClock {
        kind: ClockKind::Gdpr,
        name: None,
        hours: None,
        started_at: None,
    }
    .into_fields(&f.impact, f.aware_at)
    .unwrap();
    assert!(matches!(
        store.add_legal_clock(created.id, &gdpr_again).await,
        Err(StoreError::Duplicate { .. })
    ));
    let custom = NewLegalClock {
        kind: ClockKind::Custom,
        name: Some("Customer notice".into()),
        hours: Some(48),
        started_at: None,
    }
    .into_fields(&f.impact, f.aware_at)
    .unwrap();
    store.add_legal_clock(created.id, &custom).await.unwrap();
    store.add_legal_clock(created.id, &custom).await.unwrap();
    assert_eq!(
        store.list_legal_clocks(created.id).await.unwrap().len(),
        5,
        "custom clocks may repeat"
    );
}

trait WithMet {
    fn with_met(self, at: Timestamp) -> Self;
}

impl WithMet for kizuki_domain::legal_clock::LegalClock {
    fn with_met(mut self, at: Timestamp) -> Self {
        self.met_at = Some(at);
        self
    }
}

async fn users_and_tokens(store: &dyn Store) {
    let user = store
        .create_user(
            &NewUser::new("Lead@Example.JP", "Lead responder", Role::IncidentCommander).unwrap(),
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(user.email, "lead@example.jp");
    assert!(user.active, "new users start active");
    assert!(!user.mfa_enabled, "and without a second factor");
    assert!(matches!(
        store
            .create_user(
                &NewUser::new("lead@example.jp", "", Role::Responder).unwrap(),
                at(NOW)
            )
            .await,
        Err(StoreError::Duplicate { .. })
    ));
    assert_eq!(
        store.user_by_email("lead@example.jp").await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user.clone()));

    store
        .create_token(
            user.id,
            "cli",
            &TokenScope::full(),
            "hash-forever",
            at(NOW),
            None,
        )
        .await
        .unwrap();
    store
        .create_token(
            user.id,
            "short",
            &TokenScope::full(),
            "hash-expiring",
            at(NOW),
            Some(at("2026-01-11T01:00:00Z")),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .user_by_token_hash("hash-forever", at(NOW))
            .await
            .unwrap(),
        Some((user.clone(), TokenScope::full()))
    );
    assert_eq!(
        store
            .user_by_token_hash("hash-expiring", at(NOW))
            .await
            .unwrap(),
        Some((user, TokenScope::full()))
    );
    assert_eq!(
        store
            .user_by_token_hash("hash-expiring", at("2026-01-11T01:00:00Z"))
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.user_by_token_hash("unknown", at(NOW)).await.unwrap(),
        None
    );
}

async fn many_concurrent_appends_all_land(store: Arc<dyn Store>) {
    let inc = store
        .create_incident(&fields("concurrent"), &[], None, at(NOW))
        .await
        .unwrap();
    let writers = (0..32).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for j in 0..5 {
                let e = entry(&format!("writer {i} entry {j}"), Lane::CisoCsirt, NOW);
                store
                    .add_timeline_entry(inc.id, &e, None, at(NOW))
                    .await
                    .unwrap();
            }
        })
    });
    for w in futures::future::join_all(writers).await {
        w.unwrap();
    }
    assert_eq!(
        store
            .list_timeline(inc.id, &TimelineQuery::default())
            .await
            .unwrap()
            .len(),
        160
    );
}

// --- security: need-to-know ------------------------------------------------------------------

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn later(d: SignedDuration) -> Timestamp {
    at(NOW) + d
}

fn ip(value: &str) -> NewObservable {
    NewObservable {
        kind: ObservableKind::Ip,
        value: value.into(),
        note: String::new(),
        first_seen: None,
    }
}

/// Every page of `filter`, walked with `before_id`, as incident ids.
async fn all_pages(store: &dyn Store, filter: IncidentFilter) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut before_id = None;
    loop {
        let page = store
            .list_incidents(&IncidentFilter {
                before_id,
                ..filter.clone()
            })
            .await
            .unwrap();
        ids.extend(page.items.iter().map(|i| i.id));
        match page.next_before_id {
            Some(next) => before_id = Some(next),
            None => return ids,
        }
    }
}

/// What one viewer gets from every query that judges need-to-know.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// list_incidents, newest first (one big page).
    listed: Vec<i64>,
    /// list_incidents walked in pages of 2.
    paged: Vec<i64>,
    /// list_incidents with a text search answered by an index (3+ characters) …
    searched: Vec<i64>,
    /// … and with a short one, in pages of 2.
    searched_short: Vec<i64>,
    counted: u64,
    /// Incidents of list_all_observables, in observable order.
    observed: Vec<i64>,
    /// incidents_sharing of the indicator every incident holds.
    sharing: Vec<i64>,
}

const SHARED_IP: &str = "198.51.100.7";

async fn seen_by(store: &dyn Store, viewer: Option<Viewer>, needle: &str) -> Seen {
    let v = viewer.as_ref();
    let filter = |text: Option<&str>, limit: u32| IncidentFilter {
        text: text.map(str::to_owned),
        limit,
        viewer,
        ..Default::default()
    };
    let short: String = needle.chars().take(2).collect();
    Seen {
        listed: store
            .list_incidents(&filter(None, 500))
            .await
            .unwrap()
            .items
            .iter()
            .map(|i| i.id)
            .collect(),
        paged: all_pages(store, filter(None, 2)).await,
        searched: all_pages(store, filter(Some(needle), 500)).await,
        searched_short: all_pages(store, filter(Some(&short), 2)).await,
        counted: store.count_incidents(v).await.unwrap(),
        observed: store
            .list_all_observables(1000, v)
            .await
            .unwrap()
            .iter()
            .map(|o| o.incident_id)
            .collect(),
        sharing: store
            .incidents_sharing(ObservableKind::Ip, SHARED_IP, None, v)
            .await
            .unwrap()
            .iter()
            .map(|s| s.incident_id)
            .collect(),
    }
}

/// What every query must return for a viewer who may see exactly `visible` (ids ascending).
fn expected(visible: &[i64]) -> Seen {
    let newest_first: Vec<i64> = visible.iter().rev().copied().collect();
    Seen {
        listed: newest_first.clone(),
        paged: newest_first.clone(),
        searched: newest_first.clone(),
        searched_short: newest_first,
        counted: visible.len() as u64,
        observed: visible.to_vec(),
        sharing: visible.to_vec(),
    }
}

async fn restricted_incidents_exist_only_for_their_creator_and_members(store: &dyn Store) {
    let creator = user(store, "creator@example.jp", Role::IncidentCommander).await;
    let member = user(store, "member@example.jp", Role::Responder).await;
    let outsider = user(store, "outsider@example.jp", Role::Responder).await;
    let admin = user(store, "admin@example.jp", Role::Admin).await;
    let external = user(store, "vendor@example.jp", Role::ExternalResponder).await;
    let reporter = user(store, "clerk@example.jp", Role::Reporter).await;

    let create = |title: &'static str, restricted: bool, by: Option<i64>| async move {
        let mut f = fields(title);
        f.title = format!("Merger {title}");
        f.restricted = restricted;
        let inc = store.create_incident(&f, &[], by, at(NOW)).await.unwrap();
        store
            .add_observable(inc.id, &ip(SHARED_IP), SHARED_IP, at(NOW))
            .await
            .unwrap();
        inc.id
    };
    let open = create("open", false, None).await;
    let secret = create("secret", true, Some(creator.id)).await;
    let vendor_job = create("vendor job", false, Some(creator.id)).await;
    let reported = create("reported", false, Some(reporter.id)).await;
    let reported_secret = create("reported secret", true, Some(reporter.id)).await;
    let orphan_secret = create("orphan secret", true, None).await;
    store.add_member(secret, member.id, at(NOW)).await.unwrap();
    store
        .add_member(secret, external.id, at(NOW))
        .await
        .unwrap();
    store
        .add_member(vendor_job, external.id, at(NOW))
        .await
        .unwrap();

    let everything = [
        open,
        secret,
        vendor_job,
        reported,
        reported_secret,
        orphan_secret,
    ];
    let as_ = |u: &User| Some(Viewer::new(u.id, u.role));
    // The system (the operator's CLI, background jobs) sees everything.
    assert_eq!(seen_by(store, None, "merger").await, expected(&everything));
    // Organisation scope: what is not restricted, plus restricted ones created or joined.
    let unrestricted = [open, vendor_job, reported];
    assert_eq!(
        seen_by(store, as_(&outsider), "merger").await,
        expected(&unrestricted),
        "a non-member sees no restricted incident, in any query"
    );
    assert_eq!(
        seen_by(store, as_(&admin), "merger").await,
        expected(&unrestricted),
        "need-to-know binds administrators too"
    );
    assert_eq!(
        seen_by(store, as_(&creator), "merger").await,
        expected(&[open, secret, vendor_job, reported])
    );
    assert_eq!(
        seen_by(store, as_(&member), "merger").await,
        expected(&[open, secret, vendor_job, reported])
    );
    // A member-only viewer sees what they joined, restricted or not, and nothing else.
    assert_eq!(
        seen_by(store, as_(&external), "merger").await,
        expected(&[secret, vendor_job])
    );
    // A reporter sees what they reported, restricted or not.
    assert_eq!(
        seen_by(store, as_(&reporter), "merger").await,
        expected(&[reported, reported_secret])
    );

    // A text search naming the secret finds nothing for an outsider: not even that it exists.
    let search = |u: &User| IncidentFilter {
        text: Some("secret".into()),
        limit: 50,
        viewer: as_(u),
        ..Default::default()
    };
    assert!(
        store
            .list_incidents(&search(&outsider))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .list_incidents(&search(&member))
            .await
            .unwrap()
            .items
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        [secret]
    );
    // Correlating from an incident the outsider can see never points at the secret one.
    let from_open = |u: &User| {
        let viewer = as_(u);
        async move {
            store
                .incidents_sharing(ObservableKind::Ip, SHARED_IP, Some(open), viewer.as_ref())
                .await
                .unwrap()
                .iter()
                .map(|s| s.incident_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(from_open(&outsider).await, [vendor_job, reported]);
    assert_eq!(from_open(&member).await, [secret, vendor_job, reported]);

    // Leaving the incident takes it out of every list at once.
    assert!(store.remove_member(secret, member.id).await.unwrap());
    assert_eq!(
        seen_by(store, as_(&member), "merger").await,
        expected(&unrestricted)
    );
}

/// `Viewer::can_see` (what the server checks for one incident) and the queries (what lists,
/// counts, searches and correlations return) must agree for every role and every shape of
/// incident: restricted or not, created by the viewer, by someone else or by no one, with
/// the viewer as a member or not.
async fn can_see_agrees_with_every_query(store: &dyn Store) {
    let other = user(store, "someone-else@example.jp", Role::Responder).await;
    let mut viewers = Vec::new();
    for role in Role::ALL {
        viewers.push(user(store, &format!("{role}@example.jp"), *role).await);
    }
    // (incident, its members), oldest first.
    let mut incidents = Vec::new();
    for v in &viewers {
        for restricted in [false, true] {
            for creator in [Some(v.id), Some(other.id), None] {
                for member in [false, true] {
                    let mut f = fields("table");
                    f.title = format!("Table case {} {restricted} {creator:?} {member}", v.role);
                    f.restricted = restricted;
                    let inc = store
                        .create_incident(&f, &[], creator, at(NOW))
                        .await
                        .unwrap();
                    let mut members = Vec::new();
                    if member {
                        store.add_member(inc.id, v.id, at(NOW)).await.unwrap();
                        members.push(v.id);
                    }
                    store
                        .add_observable(inc.id, &ip(SHARED_IP), SHARED_IP, at(NOW))
                        .await
                        .unwrap();
                    incidents.push((inc, members));
                }
            }
        }
    }
    assert_eq!(incidents.len(), Role::ALL.len() * 12);

    for v in &viewers {
        let viewer = Viewer::new(v.id, v.role);
        let mut visible = Vec::new();
        for (inc, members) in &incidents {
            let is_member = members.contains(&v.id);
            assert_eq!(store.is_member(inc.id, v.id).await.unwrap(), is_member);
            if viewer.can_see(inc, is_member) {
                visible.push(inc.id);
            }
        }
        assert!(!visible.is_empty(), "every role sees something: {}", v.role);
        assert_eq!(
            seen_by(store, Some(viewer), "table case").await,
            expected(&visible),
            "the queries disagree with Viewer::can_see for {}",
            v.role
        );
    }
    let everything: Vec<i64> = incidents.iter().map(|(i, _)| i.id).collect();
    assert_eq!(
        seen_by(store, None, "table case").await,
        expected(&everything)
    );
}

async fn members_are_added_once_listed_and_removed(store: &dyn Store) {
    let inc = store
        .create_incident(&fields("members"), &[], None, at(NOW))
        .await
        .unwrap();
    let a = user(store, "a@example.jp", Role::Responder).await;
    let b = user(store, "b@example.jp", Role::ExternalResponder).await;
    assert!(store.list_members(inc.id).await.unwrap().is_empty());
    store
        .add_member(inc.id, a.id, later(mins(1)))
        .await
        .unwrap();
    store
        .add_member(inc.id, b.id, later(mins(2)))
        .await
        .unwrap();
    store
        .add_member(inc.id, a.id, later(mins(3)))
        .await
        .unwrap();
    let members = store.list_members(inc.id).await.unwrap();
    assert_eq!(
        members,
        [
            Member {
                user_id: a.id,
                email: a.email.clone(),
                display_name: a.display_name.clone(),
                role: Role::Responder,
                added_at: later(mins(1)),
            },
            Member {
                user_id: b.id,
                email: b.email.clone(),
                display_name: b.display_name.clone(),
                role: Role::ExternalResponder,
                added_at: later(mins(2)),
            },
        ],
        "adding a member twice keeps the first"
    );
    assert!(store.is_member(inc.id, a.id).await.unwrap());
    assert!(store.remove_member(inc.id, a.id).await.unwrap());
    assert!(!store.remove_member(inc.id, a.id).await.unwrap());
    assert!(!store.is_member(inc.id, a.id).await.unwrap());
    assert_eq!(
        store
            .list_members(inc.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.user_id)
            .collect::<Vec<_>>(),
        [b.id]
    );
    assert!(store.list_members(inc.id + 1000).await.unwrap().is_empty());
    assert!(!store.is_member(inc.id + 1000, b.id).await.unwrap());
    assert!(matches!(
        store.add_member(inc.id + 1000, b.id, at(NOW)).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Each lane has at most one owner, who is always a member; the board can ask for the
/// incidents where someone owns a lane.
async fn lane_owners_are_members_and_filter_incidents(store: &dyn Store) {
    let first = store
        .create_incident(&fields("owned lanes"), &[], None, at(NOW))
        .await
        .unwrap();
    let second = store
        .create_incident(&fields("nobody owns"), &[], None, at(NOW))
        .await
        .unwrap();
    let ken = user(store, "ken@example.jp", Role::Responder).await;
    let aoi = user(store, "aoi@example.jp", Role::Executive).await;
    assert!(store.list_lane_owners(first.id).await.unwrap().is_empty());

    store
        .set_lane_owner(first.id, Lane::CisoCsirt, Some(ken.id), later(mins(1)))
        .await
        .unwrap();
    store
        .set_lane_owner(first.id, Lane::ManagementPr, Some(ken.id), later(mins(2)))
        .await
        .unwrap();
    assert!(
        store.is_member(first.id, ken.id).await.unwrap(),
        "an owner is a member"
    );
    // A new owner takes the lane over; a person may own several lanes.
    store
        .set_lane_owner(first.id, Lane::ManagementPr, Some(aoi.id), later(mins(3)))
        .await
        .unwrap();
    let owners = store.list_lane_owners(first.id).await.unwrap();
    assert_eq!(
        owners
            .iter()
            .map(|o| (o.lane, o.user_id, o.display_name.as_str(), o.assigned_at))
            .collect::<Vec<_>>(),
        [
            (
                Lane::ManagementPr,
                aoi.id,
                aoi.display_name.as_str(),
                later(mins(3))
            ),
            (
                Lane::CisoCsirt,
                ken.id,
                ken.display_name.as_str(),
                later(mins(1))
            ),
        ],
        "in lane order, the latest owner of each lane"
    );

    let owned_by = |user_id: i64| IncidentFilter {
        lane_owner: Some(user_id),
        ..IncidentFilter::default()
    };
    let ids = |page: kizuki_store::Page<kizuki_domain::incident::Incident>| {
        page.items.iter().map(|i| i.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list_incidents(&owned_by(ken.id)).await.unwrap()),
        [first.id]
    );
    assert_eq!(
        ids(store.list_incidents(&owned_by(aoi.id)).await.unwrap()),
        [first.id]
    );
    assert!(
        ids(store
            .list_incidents(&owned_by(aoi.id + 1000))
            .await
            .unwrap())
        .is_empty()
    );
    assert_ne!(second.id, first.id);

    // Clearing a lane, and removing a member, both end the ownership.
    store
        .set_lane_owner(first.id, Lane::CisoCsirt, None, later(mins(4)))
        .await
        .unwrap();
    assert!(ids(store.list_incidents(&owned_by(ken.id)).await.unwrap()).is_empty());
    assert!(
        store.is_member(first.id, ken.id).await.unwrap(),
        "still a member"
    );
    assert!(store.remove_member(first.id, aoi.id).await.unwrap());
    assert!(store.list_lane_owners(first.id).await.unwrap().is_empty());

    assert!(matches!(
        store
            .set_lane_owner(first.id + 1000, Lane::External, Some(ken.id), at(NOW))
            .await,
        Err(StoreError::NotFound {
            entity: "incident",
            ..
        })
    ));
    assert!(matches!(
        store
            .set_lane_owner(first.id, Lane::External, Some(ken.id + 1000), at(NOW))
            .await,
        Err(StoreError::NotFound { entity: "user", .. })
    ));
    assert!(
        store.list_lane_owners(first.id).await.unwrap().is_empty(),
        "nothing half-done"
    );
}

// --- security: credentials -------------------------------------------------------------------

async fn users_are_listed_changed_and_deactivated(store: &dyn Store) {
    let a = user(store, "a@example.jp", Role::Responder).await;
    let b = user(store, "b@example.jp", Role::Reporter).await;
    assert_eq!(store.list_users().await.unwrap(), [a.clone(), b.clone()]);
    let promoted = store
        .set_user_role(b.id, Role::IncidentCommander)
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::IncidentCommander);
    assert_eq!(store.user_by_id(b.id).await.unwrap(), Some(promoted));
    let off = store.set_user_active(a.id, false, at(NOW)).await.unwrap();
    assert!(!off.active);
    assert_eq!(store.user_by_email(&a.email).await.unwrap(), Some(off));
    let on = store.set_user_active(a.id, true, at(NOW)).await.unwrap();
    assert!(on.active);
    assert_eq!(on.language, None, "no language until the person chooses");
    let on = store
        .set_user_language(a.id, Some(Language::En))
        .await
        .unwrap();
    assert_eq!(on.language, Some(Language::En));
    assert_eq!(store.user_by_id(a.id).await.unwrap(), Some(on.clone()));
    let forgot = store.set_user_language(b.id, None).await.unwrap();
    assert_eq!(forgot.language, None);
    assert!(matches!(
        store
            .set_user_language(b.id + 1000, Some(Language::Ja))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.set_user_role(b.id + 1000, Role::Admin).await,
        Err(StoreError::NotFound { .. })
    ));

    let creds = store.credentials_by_email(&a.email).await.unwrap().unwrap();
    assert_eq!(creds.user, on);
    assert_eq!(creds.password_hash, None);
    store
        .set_password(a.id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .unwrap();
    let creds = store.credentials_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(
        creds.password_hash.as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
    );
    assert!(
        store
            .credentials_by_email("nobody@example.jp")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .credentials_by_id(b.id + 1000)
            .await
            .unwrap()
            .is_none()
    );
}

async fn totp_steps_are_never_replayed_and_recovery_codes_work_once(store: Arc<dyn Store>) {
    let u = user(&*store, "mfa@example.jp", Role::Admin).await;
    let other = user(&*store, "other@example.jp", Role::Admin).await;
    assert!(matches!(
        store.activate_totp(u.id, 100, &[]).await,
        Err(StoreError::NotFound { .. })
    ));
    store.set_totp_pending(u.id, "PENDINGSECRET").await.unwrap();
    let creds = store.credentials_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(creds.totp_pending_secret.as_deref(), Some("PENDINGSECRET"));
    assert_eq!(creds.totp_secret, None);
    assert!(!creds.user.mfa_enabled, "not before the first code");

    let codes: Vec<String> = ["rc-1", "rc-2", "rc-3"].map(String::from).to_vec();
    store.activate_totp(u.id, 100, &codes).await.unwrap();
    let creds = store.credentials_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(creds.totp_secret.as_deref(), Some("PENDINGSECRET"));
    assert_eq!(creds.totp_pending_secret, None);
    assert_eq!(creds.totp_last_step, Some(100));
    assert!(creds.user.mfa_enabled);
    assert!(store.user_by_id(u.id).await.unwrap().unwrap().mfa_enabled);

    // The step that activated is used; so is anything earlier.
    assert!(!store.claim_totp_step(u.id, 100).await.unwrap());
    assert!(!store.claim_totp_step(u.id, 99).await.unwrap());
    assert!(store.claim_totp_step(u.id, 101).await.unwrap());
    assert!(!store.claim_totp_step(u.id, 101).await.unwrap());
    assert_eq!(
        store
            .credentials_by_id(u.id)
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(101)
    );
    // Eight requests racing with one code: exactly one gets in.
    let claims = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.claim_totp_step(u.id, 200).await.unwrap() })
    });
    let wins = futures::future::join_all(claims)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);

    // Recovery codes: each once, only by their owner.
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 3);
    assert!(
        !store
            .use_recovery_code(other.id, "rc-1", at(NOW))
            .await
            .unwrap()
    );
    assert!(
        store
            .use_recovery_code(u.id, "rc-1", at(NOW))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(u.id, "rc-1", at(NOW))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(u.id, "nope", at(NOW))
            .await
            .unwrap()
    );
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 2);
    let uses = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .use_recovery_code(u.id, "rc-2", at(NOW))
                .await
                .unwrap()
        })
    });
    let wins = futures::future::join_all(uses)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1, "a recovery code raced eight times works once");
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 1);

    // A new offer leaves the active secret working until it is confirmed; confirming
    // replaces the recovery codes.
    store.set_totp_pending(u.id, "NEWSECRET").await.unwrap();
    let creds = store.credentials_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(creds.totp_secret.as_deref(), Some("PENDINGSECRET"));
    assert_eq!(creds.totp_pending_secret.as_deref(), Some("NEWSECRET"));
    assert!(creds.user.mfa_enabled);
    store
        .activate_totp(u.id, 300, &["rc-4".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        store
            .credentials_by_id(u.id)
            .await
            .unwrap()
            .unwrap()
            .totp_secret
            .as_deref(),
        Some("NEWSECRET")
    );
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 1);
    assert!(
        !store
            .use_recovery_code(u.id, "rc-3", at(NOW))
            .await
            .unwrap()
    );

    // An administrator's reset removes the factor and its codes.
    store.reset_mfa(u.id).await.unwrap();
    let creds = store.credentials_by_id(u.id).await.unwrap().unwrap();
    assert_eq!((creds.totp_secret, creds.totp_pending_secret), (None, None));
    assert!(!creds.user.mfa_enabled);
    assert_eq!(store.recovery_codes_left(u.id).await.unwrap(), 0);
    assert!(
        !store
            .use_recovery_code(u.id, "rc-4", at(NOW))
            .await
            .unwrap()
    );
}

async fn login_failures_count_up_start_over_and_clear(store: Arc<dyn Store>) {
    let key = "victim@example.jp";
    let window = mins(15);
    assert_eq!(
        store.login_failures(key).await.unwrap(),
        LoginFailures::default()
    );
    for n in 1..=3 {
        let f = store
            .record_login_failure(key, later(mins(n)), window)
            .await
            .unwrap();
        assert_eq!(
            f,
            LoginFailures {
                failures: n as u32,
                last_failure_at: Some(later(mins(n)))
            }
        );
    }
    assert_eq!(store.login_failures(key).await.unwrap().failures, 3);
    assert_eq!(
        store.login_failures("other@example.jp").await.unwrap(),
        LoginFailures::default(),
        "keys are separate"
    );
    // Quiet for longer than the window: the count starts over.
    let f = store
        .record_login_failure(key, later(mins(3 + 16)), window)
        .await
        .unwrap();
    assert_eq!(
        f,
        LoginFailures {
            failures: 1,
            last_failure_at: Some(later(mins(19)))
        }
    );
    store.clear_login_failures(key).await.unwrap();
    assert_eq!(
        store.login_failures(key).await.unwrap(),
        LoginFailures::default()
    );
    store.clear_login_failures("never-failed").await.unwrap();

    // A burst of concurrent failures loses none.
    let burst = (0..10).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .record_login_failure(key, at(NOW), window)
                .await
                .unwrap()
        })
    });
    let mut seen: Vec<u32> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(|r| r.unwrap().failures)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    assert_eq!(store.login_failures(key).await.unwrap().failures, 10);
}

// --- security: sessions, tokens, enrolment ----------------------------------------------------

fn new_session(user_id: i64, secret_hash: &str, expires_at: Timestamp) -> NewSession {
    NewSession {
        user_id,
        secret_hash: secret_hash.into(),
        stage: SessionStage::Full,
        expires_at,
        address: Some("192.0.2.10".into()),
        user_agent: "Firefox".into(),
    }
}

async fn sessions_expire_idle_and_absolute_and_are_revoked(store: &dyn Store) {
    let u = user(store, "s@example.jp", Role::Responder).await;
    // The session's user carries the chosen language: pages are drawn in it.
    let u = store
        .set_user_language(u.id, Some(Language::Ja))
        .await
        .unwrap();
    let idle = mins(30);
    let s1 = store
        .create_session(&new_session(u.id, "s1", later(mins(12 * 60))), at(NOW))
        .await
        .unwrap();
    assert_eq!(
        (s1.user_id, s1.stage, s1.created_at, s1.last_seen_at),
        (u.id, SessionStage::Full, at(NOW), at(NOW))
    );
    assert_eq!(s1.expires_at, later(mins(12 * 60)));
    assert_eq!(
        (s1.address.as_deref(), s1.user_agent.as_str()),
        (Some("192.0.2.10"), "Firefox")
    );

    // Found with its user; seen again within a minute, last_seen_at stays put.
    let (found, found_user) = store
        .session_by_hash("s1", later(SignedDuration::from_secs(30)), idle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found_user, u);
    assert_eq!(found, s1);
    assert!(
        store
            .session_by_hash("unknown", at(NOW), idle)
            .await
            .unwrap()
            .is_none()
    );
    // Activity keeps it alive past the idle timeout counted from its creation …
    let (found, _) = store
        .session_by_hash("s1", later(mins(20)), idle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_seen_at, later(mins(20)));
    assert_eq!(
        store
            .list_sessions(u.id, later(mins(20)), idle)
            .await
            .unwrap()[0]
            .last_seen_at,
        later(mins(20)),
        "the move is stored"
    );
    assert!(
        store
            .session_by_hash("s1", later(mins(45)), idle)
            .await
            .unwrap()
            .is_some()
    );
    // … and idleness ends it.
    assert!(
        store
            .session_by_hash("s1", later(mins(45 + 31)), idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .list_sessions(u.id, later(mins(45 + 31)), idle)
            .await
            .unwrap()
            .is_empty()
    );

    // However active, a session ends at its absolute end.
    store
        .create_session(&new_session(u.id, "short", later(mins(60))), at(NOW))
        .await
        .unwrap();
    for m in [20, 40, 59] {
        assert!(
            store
                .session_by_hash("short", later(mins(m)), idle)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(
        store
            .session_by_hash("short", later(mins(60)), idle)
            .await
            .unwrap()
            .is_none(),
        "dead at expires_at"
    );

    // Revoking one, then all others (for a user whose every session is live: the store
    // cannot tell idle ones apart, it is not given the idle timeout here).
    let u = user(store, "s2@example.jp", Role::Responder).await;
    let t = later(mins(2 * 60));
    let a = store
        .create_session(&new_session(u.id, "a", later(mins(12 * 60))), t)
        .await
        .unwrap();
    let b = store
        .create_session(&new_session(u.id, "b", later(mins(12 * 60))), t + mins(1))
        .await
        .unwrap();
    let c = store
        .create_session(&new_session(u.id, "c", later(mins(12 * 60))), t + mins(2))
        .await
        .unwrap();
    let now = t + mins(3);
    assert_eq!(
        store
            .list_sessions(u.id, now, idle)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        [c.id, b.id, a.id],
        "newest first"
    );
    let other = user(store, "other@example.jp", Role::Responder).await;
    assert!(
        !store.revoke_session(other.id, a.id, now).await.unwrap(),
        "only one's own sessions"
    );
    assert!(store.revoke_session(u.id, a.id, now).await.unwrap());
    assert!(!store.revoke_session(u.id, a.id, now).await.unwrap());
    assert!(
        store
            .session_by_hash("a", now, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .revoke_sessions_except(u.id, Some(c.id), now)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .session_by_hash("b", now, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .list_sessions(u.id, now, idle)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        [c.id]
    );
    assert_eq!(
        store.revoke_sessions_except(u.id, None, now).await.unwrap(),
        1
    );
    assert!(
        store
            .session_by_hash("c", now, idle)
            .await
            .unwrap()
            .is_none()
    );

    // Moving on from MFA enrolment.
    let mut enrol = new_session(u.id, "enrol", later(mins(12 * 60)));
    enrol.stage = SessionStage::EnrolMfa;
    let e = store.create_session(&enrol, now).await.unwrap();
    assert_eq!(e.stage, SessionStage::EnrolMfa);
    store.promote_session(e.id).await.unwrap();
    let (promoted, _) = store
        .session_by_hash("enrol", now, idle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(promoted.stage, SessionStage::Full);

    // Deactivating the user ends their sessions, for good.
    store.set_user_active(u.id, false, now).await.unwrap();
    assert!(
        store
            .session_by_hash("enrol", now, idle)
            .await
            .unwrap()
            .is_none()
    );
    store.set_user_active(u.id, true, now).await.unwrap();
    assert!(
        store
            .session_by_hash("enrol", now, idle)
            .await
            .unwrap()
            .is_none(),
        "reactivating does not bring sessions back"
    );
    assert!(
        store
            .list_sessions(u.id, now, idle)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn tokens_keep_their_scope_and_die_with_their_user(store: &dyn Store) {
    let u = user(store, "t@example.jp", Role::Responder).await;
    let other = user(store, "o@example.jp", Role::Responder).await;
    let read_only = TokenScope {
        access: TokenAccess::Read,
        resources: vec![TokenResource::Incidents, TokenResource::Timeline],
    };
    let ro = store
        .create_token(u.id, "dashboard", &read_only, "ro", at(NOW), None)
        .await
        .unwrap();
    assert_eq!(ro.scope, read_only);
    assert_eq!((ro.name.as_str(), ro.revoked_at), ("dashboard", None));
    assert_eq!(
        store.user_by_token_hash("ro", at(NOW)).await.unwrap(),
        Some((u.clone(), read_only.clone()))
    );
    let short = store
        .create_token(
            u.id,
            "short",
            &TokenScope::full(),
            "short",
            later(mins(1)),
            Some(later(mins(60))),
        )
        .await
        .unwrap();
    let full = store
        .create_token(
            u.id,
            "cli",
            &TokenScope::full(),
            "full",
            later(mins(2)),
            None,
        )
        .await
        .unwrap();
    assert!(
        store
            .user_by_token_hash("short", later(mins(60)))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    assert!(
        !store
            .revoke_token(other.id, full.id, at(NOW))
            .await
            .unwrap(),
        "only one's own tokens"
    );
    assert!(
        store
            .revoke_token(u.id, full.id, later(mins(3)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_token(u.id, full.id, later(mins(4)))
            .await
            .unwrap()
    );
    assert!(
        store
            .user_by_token_hash("full", later(mins(5)))
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );
    let listed = store.list_tokens(u.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [full.id, short.id, ro.id],
        "newest first, revoked and expired ones too"
    );
    assert_eq!(listed[0].revoked_at, Some(later(mins(3))));
    assert_eq!(listed[1].expires_at, Some(later(mins(60))));
    assert_eq!(listed[2], ro);
    assert!(store.list_tokens(other.id).await.unwrap().is_empty());

    // A deactivated user's tokens stop working and stay revoked.
    store
        .set_user_active(u.id, false, later(mins(6)))
        .await
        .unwrap();
    assert!(
        store
            .user_by_token_hash("ro", later(mins(7)))
            .await
            .unwrap()
            .is_none()
    );
    store
        .set_user_active(u.id, true, later(mins(8)))
        .await
        .unwrap();
    assert!(
        store
            .user_by_token_hash("ro", later(mins(9)))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .list_tokens(u.id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.revoked_at.is_some())
    );
}

async fn enrolment_links_work_once_and_expire(store: Arc<dyn Store>) {
    let u = user(&*store, "new@example.jp", Role::Responder).await;
    store
        .create_enrolment(u.id, "link-1", later(mins(24 * 60)))
        .await
        .unwrap();
    store
        .create_enrolment(u.id, "link-2", later(mins(60)))
        .await
        .unwrap();
    assert_eq!(
        store
            .consume_enrolment("link-1", later(mins(10)))
            .await
            .unwrap(),
        Some(u.id)
    );
    assert_eq!(
        store
            .consume_enrolment("link-1", later(mins(11)))
            .await
            .unwrap(),
        None,
        "a second use finds nothing"
    );
    assert_eq!(
        store
            .consume_enrolment("link-2", later(mins(60)))
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.consume_enrolment("unknown", at(NOW)).await.unwrap(),
        None
    );
    store
        .create_enrolment(u.id, "link-3", later(mins(60)))
        .await
        .unwrap();
    let uses = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.consume_enrolment("link-3", at(NOW)).await.unwrap() })
    });
    let used: Vec<i64> = futures::future::join_all(uses)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(used, [u.id], "eight racing uses of one link: one wins");
}

// --- security: audit log ---------------------------------------------------------------------

/// A test sealer: SHA-256 over every field. (The real one is keyed; the store cannot tell.)
struct TestSealer;

impl AuditSealer for TestSealer {
    fn seal_record(&self, seq: i64, event: &AuditEvent, prev_hash: &str) -> String {
        // `Debug` of the event includes the instant at full precision, so a record sealed
        // before it was cut to the stored precision would not verify.
        kizuki_auth::secret::hash_secret(&format!("record|{seq}|{event:?}|{prev_hash}"))
    }

    fn seal_head(&self, seq: i64, hash: &str) -> String {
        kizuki_auth::secret::hash_secret(&format!("head|{seq}|{hash}"))
    }
}

fn audit_event(n: usize) -> AuditEvent {
    AuditEvent {
        at: later(SignedDuration::from_micros(n as i64 * 1_000_001)),
        actor_id: n.is_multiple_of(2).then_some(n as i64),
        actor: if n.is_multiple_of(2) {
            format!("user{n}@example.jp")
        } else {
            "anonymous".into()
        },
        address: (!n.is_multiple_of(3)).then(|| format!("192.0.2.{}", n % 250)),
        action: "incident.update".into(),
        object: format!("/api/v1/incidents/{n}"),
        outcome: "ok".into(),
        detail: format!("{{\"n\":{n}}}"),
    }
}

/// The whole log verifies: seq 1, 2, 3, … without gaps, each record linked to the one
/// before and sealed over what is stored, and the head sealed over the last one.
async fn assert_chain(store: &dyn Store, expect_len: usize) -> Vec<AuditRecord> {
    let records = store.list_audit(0, 100_000).await.unwrap();
    assert_eq!(records.len(), expect_len);
    let mut prev = GENESIS_HASH.to_owned();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1, "contiguous");
        assert_eq!(r.prev_hash, prev, "linked at seq {}", r.seq);
        assert_eq!(
            r.hash,
            TestSealer.seal_record(r.seq, &r.event, &r.prev_hash),
            "sealed as stored at seq {}",
            r.seq
        );
        prev = r.hash.clone();
    }
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!(
        head,
        AuditHead {
            seq: expect_len as i64,
            hash: prev.clone(),
            seal: TestSealer.seal_head(expect_len as i64, &prev),
        }
    );
    records
}

async fn audit_appends_chain_and_move_the_sealed_head(store: &dyn Store) {
    assert_eq!(store.audit_head().await.unwrap(), None);
    assert!(store.list_audit(0, 10).await.unwrap().is_empty());
    let first = store
        .append_audit(&[audit_event(1)], &TestSealer)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].seq, first[0].prev_hash.as_str()),
        (1, GENESIS_HASH)
    );
    assert_eq!(first[0].event, audit_event(1));
    let batch: Vec<AuditEvent> = (2..=4).map(audit_event).collect();
    let appended = store.append_audit(&batch, &TestSealer).await.unwrap();
    assert_eq!(
        appended.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(
        appended.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        batch,
        "every field round trips"
    );
    // An instant finer than the stored microsecond: the record is sealed as stored.
    let mut fine = audit_event(5);
    fine.at = at("2026-01-11T00:00:00.123456789Z");
    let fifth = store.append_audit(&[fine], &TestSealer).await.unwrap();
    assert_eq!(fifth[0].event.at, at("2026-01-11T00:00:00.123456Z"));
    store
        .append_audit(&[audit_event(6), audit_event(7)], &TestSealer)
        .await
        .unwrap();
    let all = assert_chain(store, 7).await;
    assert_eq!(all[..4], [first, appended].concat());
    assert_eq!(all[4], fifth[0]);
    assert_eq!(
        store
            .list_audit(2, 2)
            .await
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        [3, 4]
    );
    assert!(store.list_audit(7, 10).await.unwrap().is_empty());
}

async fn concurrent_audit_appends_never_fork_the_chain(store: Arc<dyn Store>) {
    let appenders = (0..8).map(|task| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for round in 0..6 {
                // Batches of one to three events.
                let events: Vec<AuditEvent> = (0..=(task + round) % 3)
                    .map(|k| audit_event(task * 100 + round * 10 + k))
                    .collect();
                let records = store.append_audit(&events, &TestSealer).await.unwrap();
                assert_eq!(records.len(), events.len());
                // A batch is contiguous: nobody else's record lands inside it.
                for pair in records.windows(2) {
                    assert_eq!(pair[1].seq, pair[0].seq + 1);
                    assert_eq!(pair[1].prev_hash, pair[0].hash);
                }
            }
        })
    });
    for a in futures::future::join_all(appenders).await {
        a.unwrap();
    }
    let expect: usize = (0..8)
        .flat_map(|task| (0..6).map(move |round| (task + round) % 3 + 1))
        .sum();
    assert_chain(&*store, expect).await;
}

story! {
    incidents_round_trip => |s: Arc<dyn Store>| async move { super::incidents_round_trip_every_field(&*s).await };
    stale_update => |s: Arc<dyn Store>| async move { super::stale_update_conflicts_and_changes_nothing(&*s).await };
    concurrent_editors => |s: Arc<dyn Store>| async move { super::concurrent_editors_of_one_version_get_exactly_one_win(s).await };
    lists => |s: Arc<dyn Store>| async move { super::lists_filter_and_paginate_newest_first(&*s).await };
    timeline => |s: Arc<dyn Store>| async move { super::timeline_keeps_time_order_and_lanes(&*s).await };
    tasks => |s: Arc<dyn Store>| async move { super::completing_a_task_writes_its_timeline_entry_once(&*s).await };
    decisions => |s: Arc<dyn Store>| async move { super::decisions_keep_options_and_are_decided_once(&*s).await };
    evidence => |s: Arc<dyn Store>| async move { super::evidence_keeps_its_chain_of_custody(&*s).await };
    observables => |s: Arc<dyn Store>| async move { super::observables_correlate_across_incidents(&*s).await };
    parties_and_clocks => |s: Arc<dyn Store>| async move { super::parties_and_clocks(&*s).await };
    statutory_clocks => |s: Arc<dyn Store>| async move { super::statutory_clocks_follow_the_incident(&*s).await };
    users_and_tokens => |s: Arc<dyn Store>| async move { super::users_and_tokens(&*s).await };
    concurrent_appends => |s: Arc<dyn Store>| async move { super::many_concurrent_appends_all_land(s).await };
    need_to_know => |s: Arc<dyn Store>| async move { super::restricted_incidents_exist_only_for_their_creator_and_members(&*s).await };
    can_see_agrees_with_queries => |s: Arc<dyn Store>| async move { super::can_see_agrees_with_every_query(&*s).await };
    members => |s: Arc<dyn Store>| async move { super::members_are_added_once_listed_and_removed(&*s).await };
    lane_owners => |s: Arc<dyn Store>| async move { super::lane_owners_are_members_and_filter_incidents(&*s).await };
    user_admin => |s: Arc<dyn Store>| async move { super::users_are_listed_changed_and_deactivated(&*s).await };
    totp_and_recovery_codes => |s: Arc<dyn Store>| async move { super::totp_steps_are_never_replayed_and_recovery_codes_work_once(s).await };
    login_failures => |s: Arc<dyn Store>| async move { super::login_failures_count_up_start_over_and_clear(s).await };
    sessions => |s: Arc<dyn Store>| async move { super::sessions_expire_idle_and_absolute_and_are_revoked(&*s).await };
    scoped_tokens => |s: Arc<dyn Store>| async move { super::tokens_keep_their_scope_and_die_with_their_user(&*s).await };
    enrolment_links => |s: Arc<dyn Store>| async move { super::enrolment_links_work_once_and_expire(s).await };
    audit_chain => |s: Arc<dyn Store>| async move { super::audit_appends_chain_and_move_the_sealed_head(&*s).await };
    concurrent_audit => |s: Arc<dyn Store>| async move { super::concurrent_audit_appends_never_fork_the_chain(s).await };
}
