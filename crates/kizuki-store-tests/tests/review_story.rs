//! The store story of what happens after an incident: the review, lessons learned and the
//! corrective actions they become, and tabletop exercises. Told to SQLite and PostgreSQL
//! alike through the harness in `common/mod.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

mod common;

use std::sync::Arc;

use jiff::civil::date;
use kizuki_domain::access::Viewer;
use kizuki_domain::exercise::{ExerciseSource, ExerciseState};
use kizuki_domain::incident::{ExerciseFilter, IncidentFilter};
use kizuki_domain::legal_clock::{ClockKind, NewLegalClock};
use kizuki_domain::review::{
    ActionQuery, ActionStatus, CauseAnalysis, CorrectiveAction, CorrectiveActionState,
    LessonCategory, LessonFields, LessonQuery, ReaderLevel, ReviewNarrative,
};
use kizuki_domain::timeline::Lane;
use kizuki_domain::user::{Role, User};
use kizuki_store::{NewExercise, Store, StoreError, TimelineQuery};

use common::{NOW, at, entry, fields, story, user};

fn as_viewer(u: &User) -> Viewer {
    Viewer::new(u.id, u.role)
}

fn assert_stale<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    want_entity: &str,
    want_id: i64,
    want_expected: i64,
    want_current: i64,
) {
    match result {
        Err(StoreError::Stale {
            entity,
            id,
            expected,
            current,
        }) => assert_eq!(
            (entity, id, expected, current),
            (want_entity, want_id, want_expected, want_current)
        ),
        other => panic!("expected a stale {want_entity}, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, want_entity: &str) {
    match result {
        Err(StoreError::NotFound { entity, .. }) => assert_eq!(entity, want_entity),
        other => panic!("expected {want_entity} not found, got {other:?}"),
    }
}

fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Duplicate { .. }) => {}
        other => panic!("expected a duplicate, got {other:?}"),
    }
}

// --- the review -------------------------------------------------------------------------------

fn narrative(main_cause: &str) -> ReviewNarrative {
    ReviewNarrative {
        reader_level: Some(ReaderLevel::Advanced),
        organisation_profile: "製造業、従業員約800名".into(),
        main_cause: main_cause.into(),
        situation: "The VPN appliance was exploited; file servers were encrypted.".into(),
        background: String::new(),
        causes: vec![CauseAnalysis {
            technical: "VPN機器の脆弱性が未修正".into(),
            organisational: "No one owned the patching of network appliances".into(),
        }],
        damage_limiters: vec!["Offline backups".into()],
        challenges: vec!["Asset inventory".into()],
    }
}

async fn the_review_is_saved_only_over_the_version_read(store: Arc<dyn Store>) {
    let editor = user(&*store, "editor@example.jp", Role::IncidentCommander).await;
    let inc = store
        .create_incident(&fields("review"), &[], None, at(NOW))
        .await
        .unwrap();

    let empty = store.get_review(inc.id).await.unwrap();
    assert_eq!(empty.incident_id, inc.id);
    assert_eq!(empty.version, 0, "nothing saved yet is version 0");
    assert_eq!(empty.narrative, ReviewNarrative::default());
    assert_eq!((empty.updated_at, empty.updated_by), (None, None));

    // The first save must say it read version 0.
    assert_stale(
        store
            .save_review(inc.id, 1, &narrative("x"), None, at(NOW))
            .await,
        "review of incident",
        inc.id,
        1,
        0,
    );
    assert_eq!(store.get_review(inc.id).await.unwrap(), empty);

    let saved_at = at("2026-02-01T09:00:00.654321Z");
    let first = store
        .save_review(
            inc.id,
            0,
            &narrative("未修正のVPN機器"),
            Some(editor.id),
            saved_at,
        )
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.narrative, narrative("未修正のVPN機器"));
    assert_eq!(first.updated_by, Some(editor.id));
    assert_eq!(first.updated_at, Some(saved_at), "microseconds survive");
    assert_eq!(store.get_review(inc.id).await.unwrap(), first);

    // A second "first save" (someone else who also read the empty review) is stale.
    assert_stale(
        store
            .save_review(inc.id, 0, &narrative("overwrite"), None, at(NOW))
            .await,
        "review of incident",
        inc.id,
        0,
        1,
    );
    let second = store
        .save_review(inc.id, 1, &narrative("second"), None, at(NOW))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert_stale(
        store
            .save_review(inc.id, 1, &narrative("stale"), Some(editor.id), at(NOW))
            .await,
        "review of incident",
        inc.id,
        1,
        2,
    );
    assert_eq!(
        store.get_review(inc.id).await.unwrap(),
        second,
        "a stale save changes nothing"
    );

    // No such incident: not found, whichever version is named.
    assert_not_found(store.get_review(inc.id + 1000).await, "incident");
    for version in [0, 1] {
        assert_not_found(
            store
                .save_review(inc.id + 1000, version, &narrative("x"), None, at(NOW))
                .await,
            "incident",
        );
    }

    // Editors racing to make the first save of another incident: exactly one lands.
    let other = store
        .create_incident(&fields("review race"), &[], None, at(NOW))
        .await
        .unwrap();
    let other_id = other.id;
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        async move {
            store
                .save_review(
                    other_id,
                    0,
                    &narrative(&format!("editor {i}")),
                    None,
                    at(NOW),
                )
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let wins: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let stale = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Stale { current: 1, .. })))
        .count();
    assert_eq!((wins.len(), stale), (1, 7), "{results:?}");
    assert_eq!(&store.get_review(other.id).await.unwrap(), wins[0]);
}

// --- lessons ----------------------------------------------------------------------------------

fn lesson(text: &str, categories: &[LessonCategory]) -> LessonFields {
    LessonFields {
        text: text.into(),
        categories: categories.to_vec(),
    }
}

fn search(text: Option<&str>, category: Option<LessonCategory>) -> LessonQuery {
    LessonQuery {
        text: text.map(str::to_owned),
        category,
        limit: 100,
    }
}

/// The texts found, newest first.
async fn found(store: &dyn Store, query: &LessonQuery, viewer: Option<&Viewer>) -> Vec<String> {
    store
        .search_lessons(query, viewer)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.lesson.text)
        .collect()
}

fn exercise_of(title: &str) -> NewExercise {
    NewExercise {
        source: ExerciseSource::ReferenceCase { number: 3 },
        title: title.into(),
        speed: 10,
        started_at: at("2026-03-01T10:00:00.000001Z"),
        skipped_minutes: 0,
        script: r#"{"injects":[{"at":0,"text":"ransom note"}],"z":1,"a":2}"#.into(),
    }
}

async fn lessons_are_versioned_and_found_across_incidents(store: &dyn Store) {
    use LessonCategory::*;
    let author = user(store, "author@example.jp", Role::Responder).await;
    let first = store
        .create_incident(&fields("VPN ransomware"), &[], None, at(NOW))
        .await
        .unwrap();
    let second = store
        .create_incident(&fields("Supplier breach"), &[], None, at(NOW))
        .await
        .unwrap();

    const MFA: &str = "VPNの多要素認証を有効にしていなかった";
    const BACKUP: &str = "Backups were restored from tape only once a year";
    const SUPPLIER_JA: &str = "委託先のVPN機器の脆弱性を把握していなかった";
    const SUPPLIER_EN: &str = "The supplier's VPN contract had no notification clause";
    const TEAM: &str = "ÉQUIPE de crise: nobody knew who decides";

    let mfa = store
        .add_lesson(
            first.id,
            // Not the appendix's order: the writer's order is kept.
            &lesson(
                &format!("  {MFA}  "),
                &[InformationAssetManagement, DetectionEnvironment],
            ),
            Some(author.id),
            at("2026-02-01T10:00:00.123456Z"),
        )
        .await
        .unwrap();
    assert_eq!(mfa.text, MFA, "the text is stored trimmed");
    assert_eq!(
        mfa.categories,
        [InformationAssetManagement, DetectionEnvironment]
    );
    assert_eq!((mfa.version, mfa.incident_id), (1, first.id));
    assert_eq!(mfa.created_by, Some(author.id));
    assert_eq!(mfa.created_at, at("2026-02-01T10:00:00.123456Z"));
    assert_eq!(mfa.updated_at, mfa.created_at);

    let backup = store
        .add_lesson(
            first.id,
            &lesson(BACKUP, &[BusinessRecovery]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    store
        .add_lesson(
            second.id,
            &lesson(SUPPLIER_JA, &[SupplyChain, InformationAssetManagement]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    store
        .add_lesson(
            second.id,
            &lesson(SUPPLIER_EN, &[SupplyChain]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    store
        .add_lesson(second.id, &lesson(TEAM, &[Organisation]), None, at(NOW))
        .await
        .unwrap();
    assert_not_found(
        store
            .add_lesson(first.id + 1000, &lesson("x", &[Culture]), None, at(NOW))
            .await,
        "incident",
    );

    // Each incident lists its own, in the order written.
    let listed = store.list_lessons(first.id).await.unwrap();
    assert_eq!(listed, [mfa.clone(), backup.clone()]);
    assert_eq!(store.list_lessons(second.id).await.unwrap().len(), 3);

    // Every category survives the round trip.
    let all = store
        .add_lesson(
            first.id,
            &lesson("all of them", LessonCategory::ALL),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(all.categories, LessonCategory::ALL);
    let stored = store.list_lessons(first.id).await.unwrap().pop().unwrap();
    assert_eq!(stored, all);
    // Refiled under one category, it leaves every other category's search.
    let all = store
        .update_lesson(
            first.id,
            all.id,
            1,
            &lesson("all of them", &[Culture]),
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(all.categories, [Culture]);

    // Editing names the version read; a stale edit changes nothing.
    let edited_at = at("2026-02-02T08:00:00.000002Z");
    let backup = store
        .update_lesson(
            first.id,
            backup.id,
            1,
            &lesson(BACKUP, &[BusinessRecovery, DamageMitigation]),
            edited_at,
        )
        .await
        .unwrap();
    assert_eq!(backup.version, 2);
    assert_eq!(backup.categories, [BusinessRecovery, DamageMitigation]);
    assert_eq!(backup.updated_at, edited_at);
    assert_stale(
        store
            .update_lesson(
                first.id,
                backup.id,
                1,
                &lesson("lost edit", &[Culture]),
                at(NOW),
            )
            .await,
        "lesson",
        backup.id,
        1,
        2,
    );
    assert_eq!(store.list_lessons(first.id).await.unwrap()[1], backup);
    // A lesson is edited through its own incident only.
    assert_not_found(
        store
            .update_lesson(second.id, backup.id, 2, &lesson("x", &[Culture]), at(NOW))
            .await,
        "lesson",
    );
    assert_not_found(
        store
            .update_lesson(
                first.id + 1000,
                backup.id,
                2,
                &lesson("x", &[Culture]),
                at(NOW),
            )
            .await,
        "incident",
    );

    // Searching across incidents: every word must occur, case does not matter, newest first.
    assert_eq!(
        found(store, &search(Some("vpn"), None), None).await,
        [SUPPLIER_EN, SUPPLIER_JA, MFA]
    );
    assert_eq!(
        found(store, &search(Some("脆弱性 vpn"), None), None).await,
        [SUPPLIER_JA]
    );
    assert_eq!(
        found(store, &search(Some("多要素認証"), None), None).await,
        [MFA]
    );
    assert_eq!(
        found(
            store,
            &search(Some("SUPPLIER'S   Notification"), None),
            None
        )
        .await,
        [SUPPLIER_EN]
    );
    assert_eq!(
        found(store, &search(Some("équipe"), None), None).await,
        [TEAM],
        "case folding is Unicode's, not only ASCII's"
    );
    assert!(
        found(store, &search(Some("vpn tape"), None), None)
            .await
            .is_empty()
    );
    // By category, and by both.
    assert_eq!(
        found(store, &search(None, Some(SupplyChain)), None).await,
        [SUPPLIER_EN, SUPPLIER_JA]
    );
    assert_eq!(
        found(store, &search(None, Some(InformationAssetManagement)), None).await,
        [SUPPLIER_JA, MFA]
    );
    assert_eq!(
        found(store, &search(None, Some(Culture)), None).await,
        ["all of them"]
    );
    assert_eq!(
        found(
            store,
            &search(Some("vpn"), Some(InformationAssetManagement)),
            None
        )
        .await,
        [SUPPLIER_JA, MFA]
    );
    assert_eq!(
        found(store, &search(None, Some(DamageMitigation)), None).await,
        [BACKUP],
        "an edit refiles the lesson"
    );
    assert!(
        found(store, &search(Some("lost edit"), None), None)
            .await
            .is_empty()
    );
    // A hit names the incident it came from; the limit keeps the newest.
    let hits = store
        .search_lessons(
            &LessonQuery {
                text: Some("vpn".into()),
                category: None,
                limit: 1,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].lesson.text, SUPPLIER_EN);
    assert_eq!(hits[0].lesson.incident_id, second.id);
    assert_eq!(hits[0].incident_title, "Supplier breach");

    // What an exercise taught is a rehearsal, not experience: never found.
    let (drill, _) = store
        .create_exercise(
            &fields("Tabletop VPN"),
            &[],
            &exercise_of("Tabletop VPN"),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    store
        .add_lesson(
            drill.id,
            &lesson("Drill: the VPN runbook was out of date", &[SupplyChain]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(store.list_lessons(drill.id).await.unwrap().len(), 1);
    assert_eq!(
        found(store, &search(Some("vpn"), None), None).await,
        [SUPPLIER_EN, SUPPLIER_JA, MFA]
    );
    assert_eq!(
        found(store, &search(None, Some(SupplyChain)), None).await,
        [SUPPLIER_EN, SUPPLIER_JA]
    );

    // Need-to-know: the lessons of a restricted incident exist only for those who may see it.
    let creator = user(store, "creator@example.jp", Role::IncidentCommander).await;
    let member = user(store, "member@example.jp", Role::Responder).await;
    let outsider = user(store, "outsider@example.jp", Role::Responder).await;
    let admin = user(store, "admin@example.jp", Role::Admin).await;
    let mut secret_fields = fields("Merger VPN leak");
    secret_fields.restricted = true;
    let secret = store
        .create_incident(&secret_fields, &[], Some(creator.id), at(NOW))
        .await
        .unwrap();
    store
        .add_member(secret.id, member.id, at(NOW))
        .await
        .unwrap();
    const SECRET: &str = "The merger data room VPN was shared by e-mail";
    store
        .add_lesson(secret.id, &lesson(SECRET, &[SupplyChain]), None, at(NOW))
        .await
        .unwrap();
    let vpn = search(Some("vpn"), None);
    let supply = search(None, Some(SupplyChain));
    for who in [&outsider, &admin] {
        let v = as_viewer(who);
        assert_eq!(
            found(store, &vpn, Some(&v)).await,
            [SUPPLIER_EN, SUPPLIER_JA, MFA],
            "{} must not find the restricted incident's lesson",
            who.email
        );
        assert_eq!(
            found(store, &supply, Some(&v)).await,
            [SUPPLIER_EN, SUPPLIER_JA]
        );
    }
    for who in [&creator, &member] {
        let v = as_viewer(who);
        assert_eq!(
            found(store, &vpn, Some(&v)).await,
            [SECRET, SUPPLIER_EN, SUPPLIER_JA, MFA],
            "{} may see the restricted incident",
            who.email
        );
    }
    assert_eq!(found(store, &supply, None).await[0], SECRET);
}

// --- corrective actions -----------------------------------------------------------------------

fn action_state(
    title: &str,
    owner_user_id: Option<i64>,
    due: jiff::civil::Date,
) -> CorrectiveActionState {
    CorrectiveActionState {
        title: title.into(),
        owner: "情報システム部".into(),
        owner_user_id,
        due_date: due,
        status: ActionStatus::Open,
        notes: String::new(),
        closed_at: None,
    }
}

fn titles(actions: &[CorrectiveAction]) -> Vec<&str> {
    actions.iter().map(|a| a.title.as_str()).collect()
}

async fn listed(store: &dyn Store, query: ActionQuery, viewer: Option<&Viewer>) -> Vec<String> {
    store
        .list_corrective_actions(&query, viewer)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect()
}

async fn corrective_actions_keep_their_state_and_list_by_due_date(store: &dyn Store) {
    use LessonCategory::*;
    let owner = user(store, "owner@example.jp", Role::Responder).await;
    let first = store
        .create_incident(&fields("first"), &[], None, at(NOW))
        .await
        .unwrap();
    let second = store
        .create_incident(&fields("second"), &[], None, at(NOW))
        .await
        .unwrap();
    let mfa = store
        .add_lesson(
            first.id,
            &lesson("MFA was off", &[DetectionEnvironment]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    let backup = store
        .add_lesson(
            first.id,
            &lesson("Backups untested", &[BusinessRecovery]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    let supplier = store
        .add_lesson(
            second.id,
            &lesson("No supplier clause", &[SupplyChain]),
            None,
            at(NOW),
        )
        .await
        .unwrap();

    // An action belongs to a lesson of the incident it is filed under.
    assert_not_found(
        store
            .add_corrective_action(
                first.id,
                supplier.id,
                &action_state("x", None, date(2026, 3, 1)),
                at(NOW),
            )
            .await,
        "lesson",
    );
    assert_not_found(
        store
            .add_corrective_action(
                first.id,
                mfa.id + 1000,
                &action_state("x", None, date(2026, 3, 1)),
                at(NOW),
            )
            .await,
        "lesson",
    );
    assert_not_found(
        store
            .add_corrective_action(
                first.id + 1000,
                mfa.id,
                &action_state("x", None, date(2026, 3, 1)),
                at(NOW),
            )
            .await,
        "incident",
    );

    let created_at = at("2026-01-20T09:30:00.000123Z");
    let vpn_mfa = store
        .add_corrective_action(
            first.id,
            mfa.id,
            &action_state("Turn on MFA for the VPN", Some(owner.id), date(2026, 3, 10)),
            created_at,
        )
        .await
        .unwrap();
    assert_eq!(
        (vpn_mfa.lesson_id, vpn_mfa.incident_id, vpn_mfa.version),
        (mfa.id, first.id, 1)
    );
    assert_eq!(vpn_mfa.owner, "情報システム部");
    assert_eq!(vpn_mfa.owner_user_id, Some(owner.id));
    assert_eq!(vpn_mfa.due_date, date(2026, 3, 10));
    assert_eq!(vpn_mfa.status, ActionStatus::Open);
    assert_eq!(vpn_mfa.closed_at, None);
    assert_eq!(
        (vpn_mfa.created_at, vpn_mfa.updated_at),
        (created_at, created_at)
    );
    assert_eq!(
        store.get_corrective_action(vpn_mfa.id).await.unwrap(),
        Some(vpn_mfa.clone())
    );

    let restore = store
        .add_corrective_action(
            first.id,
            backup.id,
            &action_state("Test a restore every quarter", None, date(2026, 2, 1)),
            at(NOW),
        )
        .await
        .unwrap();
    let audit = store
        .add_corrective_action(
            first.id,
            mfa.id,
            &action_state(
                "Audit every remote access path",
                Some(owner.id),
                date(2026, 3, 10),
            ),
            at(NOW),
        )
        .await
        .unwrap();
    let clause = store
        .add_corrective_action(
            second.id,
            supplier.id,
            &action_state("Add a notification clause", None, date(2026, 4, 30)),
            at(NOW),
        )
        .await
        .unwrap();

    // Closing: the state computed by the caller (with its closing time) is what is kept.
    let closed_at = at("2026-02-20T10:00:00.123456Z");
    let edited_at = at("2026-02-21T00:00:00Z");
    let mut done = action_state("Test a restore every quarter", None, date(2026, 2, 1));
    done.status = ActionStatus::Done;
    done.closed_at = Some(closed_at);
    done.notes = "First restore took 6 hours".into();
    let restore = store
        .update_corrective_action(restore.id, 1, &done, edited_at)
        .await
        .unwrap();
    assert_eq!(restore.version, 2);
    assert_eq!(restore.status, ActionStatus::Done);
    assert_eq!(
        restore.closed_at,
        Some(closed_at),
        "closed_at is kept as given"
    );
    assert_eq!(restore.updated_at, edited_at);
    assert_eq!(restore.notes, "First restore took 6 hours");
    // A stale edit (e.g. reopening from an old page) is refused and changes nothing.
    assert_stale(
        store
            .update_corrective_action(
                restore.id,
                1,
                &action_state("reopened", None, date(2027, 1, 1)),
                at(NOW),
            )
            .await,
        "corrective action",
        restore.id,
        1,
        2,
    );
    assert_eq!(
        store.get_corrective_action(restore.id).await.unwrap(),
        Some(restore.clone())
    );
    assert_not_found(
        store
            .update_corrective_action(
                restore.id + 1000,
                1,
                &action_state("x", None, date(2026, 1, 1)),
                at(NOW),
            )
            .await,
        "corrective action",
    );
    assert_eq!(
        store
            .get_corrective_action(restore.id + 1000)
            .await
            .unwrap(),
        None
    );

    // Listing: by due date, then by id; every filter narrows.
    let all = store
        .list_corrective_actions(&ActionQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(
        titles(&all),
        [
            "Test a restore every quarter",
            "Turn on MFA for the VPN",
            "Audit every remote access path",
            "Add a notification clause",
        ]
    );
    assert_eq!(all, [restore.clone(), vpn_mfa.clone(), audit, clause]);
    let open = ActionQuery {
        open_only: true,
        ..Default::default()
    };
    assert_eq!(
        listed(store, open.clone(), None).await,
        [
            "Turn on MFA for the VPN",
            "Audit every remote access path",
            "Add a notification clause",
        ]
    );
    assert_eq!(
        listed(
            store,
            ActionQuery {
                due_by: Some(date(2026, 3, 10)),
                ..open.clone()
            },
            None
        )
        .await,
        ["Turn on MFA for the VPN", "Audit every remote access path"],
        "due on the day counts as due by it"
    );
    assert_eq!(
        listed(
            store,
            ActionQuery {
                due_by: Some(date(2026, 3, 9)),
                ..Default::default()
            },
            None
        )
        .await,
        ["Test a restore every quarter"]
    );
    assert_eq!(
        listed(
            store,
            ActionQuery {
                owner_user_id: Some(owner.id),
                ..Default::default()
            },
            None
        )
        .await,
        ["Turn on MFA for the VPN", "Audit every remote access path"]
    );
    assert_eq!(
        listed(
            store,
            ActionQuery {
                incident_id: Some(second.id),
                ..Default::default()
            },
            None
        )
        .await,
        ["Add a notification clause"]
    );
    assert_eq!(
        listed(
            store,
            ActionQuery {
                lesson_id: Some(mfa.id),
                ..Default::default()
            },
            None
        )
        .await,
        ["Turn on MFA for the VPN", "Audit every remote access path"]
    );
    assert!(
        listed(
            store,
            ActionQuery {
                incident_id: Some(second.id),
                lesson_id: Some(mfa.id),
                ..Default::default()
            },
            None
        )
        .await
        .is_empty()
    );
    // Reopening clears the closing time (as the caller computed it).
    let mut reopened = done.clone();
    reopened.status = ActionStatus::InProgress;
    reopened.closed_at = None;
    let restore = store
        .update_corrective_action(restore.id, 2, &reopened, at(NOW))
        .await
        .unwrap();
    assert_eq!((restore.version, restore.closed_at), (3, None));
    assert_eq!(listed(store, open.clone(), None).await.len(), 4);

    // Need-to-know: the actions of a restricted incident are listed only for its people.
    let creator = user(store, "creator@example.jp", Role::IncidentCommander).await;
    let outsider = user(store, "outsider@example.jp", Role::Responder).await;
    let external = user(store, "vendor@example.jp", Role::ExternalResponder).await;
    let mut secret_fields = fields("secret");
    secret_fields.restricted = true;
    let secret = store
        .create_incident(&secret_fields, &[], Some(creator.id), at(NOW))
        .await
        .unwrap();
    store
        .add_member(second.id, external.id, at(NOW))
        .await
        .unwrap();
    let secret_lesson = store
        .add_lesson(
            secret.id,
            &lesson("Insider access", &[Culture]),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    store
        .add_corrective_action(
            secret.id,
            secret_lesson.id,
            &action_state("Review insider access", Some(owner.id), date(2026, 1, 15)),
            at(NOW),
        )
        .await
        .unwrap();
    let public = [
        "Test a restore every quarter",
        "Turn on MFA for the VPN",
        "Audit every remote access path",
        "Add a notification clause",
    ];
    assert_eq!(
        listed(store, ActionQuery::default(), Some(&as_viewer(&outsider))).await,
        public
    );
    // Even the action's owner sees it only through the incident.
    assert_eq!(
        listed(
            store,
            ActionQuery {
                owner_user_id: Some(owner.id),
                ..Default::default()
            },
            Some(&as_viewer(&outsider))
        )
        .await,
        ["Turn on MFA for the VPN", "Audit every remote access path"]
    );
    let mut with_secret = vec!["Review insider access"];
    with_secret.extend(public);
    assert_eq!(
        listed(store, ActionQuery::default(), Some(&as_viewer(&creator))).await,
        with_secret
    );
    assert_eq!(
        listed(store, ActionQuery::default(), None).await,
        with_secret
    );
    assert_eq!(
        listed(store, ActionQuery::default(), Some(&as_viewer(&external))).await,
        ["Add a notification clause"],
        "a member-only viewer sees the actions of what they joined"
    );
}

// --- tabletop exercises -----------------------------------------------------------------------

async fn timeline_texts(store: &dyn Store, incident_id: i64) -> Vec<String> {
    let mut entries = store
        .list_timeline(incident_id, &TimelineQuery::default())
        .await
        .unwrap();
    entries.sort_by_key(|e| e.id);
    entries.into_iter().map(|e| e.text).collect()
}

fn ids(filter: ExerciseFilter, text: Option<&str>) -> IncidentFilter {
    IncidentFilter {
        exercises: filter,
        text: text.map(str::to_owned),
        limit: 100,
        ..Default::default()
    }
}

async fn listed_incidents(store: &dyn Store, filter: IncidentFilter) -> Vec<i64> {
    store
        .list_incidents(&filter)
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.id)
        .collect()
}

async fn exercises_run_on_their_own_incidents(store: Arc<dyn Store>) {
    let s = &*store;
    let facilitator = user(s, "facilitator@example.jp", Role::IncidentCommander).await;
    let real = s
        .create_incident(&fields("Real ransomware"), &[], None, at(NOW))
        .await
        .unwrap();

    let drill_fields = fields("Tabletop: ransomware case 3");
    let clock = NewLegalClock {
        kind: ClockKind::AppiPreliminary,
        name: None,
        hours: None,
        started_at: None,
    }
    .into_fields(&drill_fields.impact, drill_fields.aware_at)
    .unwrap();
    let new = exercise_of("Case 3 drill");
    let (drill, ex) = s
        .create_exercise(&drill_fields, &[clock], &new, Some(facilitator.id), at(NOW))
        .await
        .unwrap();
    assert!(drill.exercise, "the exercise's incident is marked");
    assert!(!real.exercise);
    assert_eq!(drill.title, drill_fields.title);
    assert_eq!(drill.created_by, Some(facilitator.id));
    assert_eq!(s.get_incident(drill.id).await.unwrap(), Some(drill.clone()));
    assert_eq!(s.list_legal_clocks(drill.id).await.unwrap().len(), 1);
    assert_eq!(ex.incident_id, drill.id);
    assert_eq!(ex.source, ExerciseSource::ReferenceCase { number: 3 });
    assert_eq!((ex.title.as_str(), ex.speed), ("Case 3 drill", 10));
    assert_eq!(ex.started_at, new.started_at);
    assert_eq!((ex.skipped_minutes, ex.released), (0, 0));
    assert_eq!(ex.state, ExerciseState::Running);
    assert_eq!((ex.ended_at, ex.outcome.as_deref()), (None, None));
    assert_eq!(
        ex.script, new.script,
        "the engine's JSON comes back byte for byte"
    );
    assert_eq!((ex.created_by, ex.version), (Some(facilitator.id), 1));
    assert_eq!(s.get_exercise(ex.id).await.unwrap(), Some(ex.clone()));
    assert_eq!(s.get_exercise(ex.id + 1000).await.unwrap(), None);

    // Exercises stay out of lists and counts unless asked for.
    assert_eq!(
        listed_incidents(s, IncidentFilter::default()).await,
        [real.id]
    );
    assert_eq!(
        listed_incidents(s, ids(ExerciseFilter::Exclude, None)).await,
        [real.id]
    );
    assert_eq!(
        listed_incidents(s, ids(ExerciseFilter::Only, None)).await,
        [drill.id]
    );
    assert_eq!(
        listed_incidents(s, ids(ExerciseFilter::Include, None)).await,
        [drill.id, real.id]
    );
    for text in ["ransomware", "ra"] {
        assert_eq!(
            listed_incidents(s, ids(ExerciseFilter::Exclude, Some(text))).await,
            [real.id],
            "searching {text:?}"
        );
        assert_eq!(
            listed_incidents(s, ids(ExerciseFilter::Only, Some(text))).await,
            [drill.id],
            "searching {text:?}"
        );
    }
    assert_eq!(s.count_incidents(None).await.unwrap(), 1);

    // Releasing injects writes them to the exercise's timeline and moves the mark.
    let inject = |n: u32| {
        entry(
            &format!("inject {n}"),
            Lane::External,
            "2026-03-01T10:00:00Z",
        )
    };
    let released_at = at("2026-03-01T10:05:00.000007Z");
    let version_before = ex.version;
    let ex = s
        .release_injects(ex.id, 0, &[inject(1), inject(2)], released_at)
        .await
        .unwrap()
        .expect("the first release of mark 0 lands");
    assert_eq!(ex.released, 2);
    assert_eq!(
        ex.version, version_before,
        "time releasing injects must not make a facilitator's jump stale"
    );
    let timeline = s
        .list_timeline(drill.id, &TimelineQuery::default())
        .await
        .unwrap();
    assert_eq!(timeline.len(), 2);
    assert!(timeline.iter().all(|e| e.created_at == released_at));
    assert_eq!(timeline_texts(s, drill.id).await, ["inject 1", "inject 2"]);
    assert!(timeline_texts(s, real.id).await.is_empty());
    // Another request that read the old mark is too late and writes nothing.
    assert_eq!(
        s.release_injects(ex.id, 0, &[inject(1), inject(2)], at(NOW))
            .await
            .unwrap(),
        None
    );
    assert_eq!(timeline_texts(s, drill.id).await.len(), 2);
    assert_eq!(s.get_exercise(ex.id).await.unwrap(), Some(ex.clone()));
    let ex = s
        .release_injects(ex.id, 2, &[inject(3)], at(NOW))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ex.released, 3);
    assert_not_found(
        s.release_injects(ex.id + 1000, 0, &[inject(1)], at(NOW))
            .await,
        "exercise",
    );

    // Eight pollers release the same mark at once: each inject lands exactly once.
    let ex_id = ex.id;
    let racers = (0..8).map(|_| {
        let store = Arc::clone(&store);
        async move {
            store
                .release_injects(ex_id, 3, &[inject(4), inject(5)], at(NOW))
                .await
        }
    });
    let results = futures::future::join_all(racers).await;
    let winners: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().expect("losing a race is not an error"))
        .filter_map(Option::as_ref)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(winners[0].released, 5);
    assert_eq!(
        timeline_texts(s, drill.id).await,
        ["inject 1", "inject 2", "inject 3", "inject 4", "inject 5"]
    );
    let ex = s.get_exercise(ex.id).await.unwrap().unwrap();
    assert_eq!(ex.released, 5);

    // The facilitator skips ahead, naming the version read.
    let skipped = s.set_exercise_skip(ex.id, ex.version, 30).await.unwrap();
    assert_eq!(skipped.skipped_minutes, 30);
    assert_eq!(skipped.version, ex.version + 1);
    assert_stale(
        s.set_exercise_skip(ex.id, ex.version, 90).await,
        "exercise",
        ex.id,
        ex.version,
        skipped.version,
    );
    assert_eq!(s.get_exercise(ex.id).await.unwrap(), Some(skipped.clone()));
    assert_not_found(s.set_exercise_skip(ex.id + 1000, 1, 5).await, "exercise");

    // Participants' actions are kept in order, each with its timeline entry.
    let participant = user(s, "participant@example.jp", Role::Responder).await;
    const ISOLATE: &str = r#"{"kind":"action","text":"Isolate FS01","z":0,"a":1}"#;
    const DECIDE: &str = r#"{"kind":"decision","text":"身代金は支払わない"}"#;
    let acted_at = at("2026-03-01T10:20:00.000009Z");
    let a1 = s
        .add_exercise_action(
            ex.id,
            ISOLATE,
            &entry("Isolate FS01", Lane::ItBusiness, "2026-03-01T10:20:00Z"),
            Some(participant.id),
            acted_at,
        )
        .await
        .unwrap();
    assert_eq!(
        (a1.exercise_id, a1.action.as_str(), a1.recorded_by),
        (ex.id, ISOLATE, Some(participant.id))
    );
    assert_eq!(a1.recorded_at, acted_at);
    let a2 = s
        .add_exercise_action(
            ex.id,
            DECIDE,
            &entry(
                "身代金は支払わない",
                Lane::ManagementPr,
                "2026-03-01T10:25:00Z",
            ),
            None,
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(
        s.list_exercise_actions(ex.id).await.unwrap(),
        [a1.clone(), a2]
    );
    assert!(
        s.list_exercise_actions(ex.id + 1000)
            .await
            .unwrap()
            .is_empty()
    );
    let timeline = s
        .list_timeline(drill.id, &TimelineQuery::default())
        .await
        .unwrap();
    let isolate = timeline.iter().find(|e| e.text == "Isolate FS01").unwrap();
    assert_eq!(isolate.created_by, Some(participant.id));
    assert_eq!(isolate.lane, Lane::ItBusiness);
    assert_eq!(timeline.len(), 7);
    assert_not_found(
        s.add_exercise_action(
            ex.id + 1000,
            ISOLATE,
            &entry("x", Lane::ItBusiness, NOW),
            None,
            at(NOW),
        )
        .await,
        "exercise",
    );

    // Ending keeps the outcome; an exercise ends once.
    const OUTCOME: &str = r#"{"matched":3,"missed":["notify PPC"],"b":1,"a":0}"#;
    let ended_at = at("2026-03-01T11:00:00.000011Z");
    let ended = s.end_exercise(ex.id, OUTCOME, ended_at).await.unwrap();
    assert_eq!(ended.state, ExerciseState::Ended);
    assert_eq!(ended.ended_at, Some(ended_at));
    assert_eq!(ended.outcome.as_deref(), Some(OUTCOME));
    assert_duplicate(s.end_exercise(ex.id, "{}", at(NOW)).await);
    assert_eq!(
        s.get_exercise(ex.id).await.unwrap(),
        Some(ended.clone()),
        "a second end does not replace the outcome"
    );
    assert_not_found(
        s.end_exercise(ex.id + 1000, "{}", at(NOW)).await,
        "exercise",
    );
    // After the end, nothing more is recorded or released.
    assert_duplicate(
        s.add_exercise_action(
            ex.id,
            ISOLATE,
            &entry("too late", Lane::ItBusiness, NOW),
            None,
            at(NOW),
        )
        .await,
    );
    assert_eq!(
        s.release_injects(ex.id, 5, &[inject(6)], at(NOW))
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.list_exercise_actions(ex.id).await.unwrap().len(), 2);
    assert_eq!(timeline_texts(s, drill.id).await.len(), 7);
    assert_eq!(s.get_exercise(ex.id).await.unwrap(), Some(ended.clone()));

    // Need-to-know: a restricted exercise is listed only for its people, newest first.
    let creator = user(s, "creator@example.jp", Role::IncidentCommander).await;
    let outsider = user(s, "outsider@example.jp", Role::Responder).await;
    let mut secret_fields = fields("Tabletop: insider");
    secret_fields.restricted = true;
    let (_, secret) = s
        .create_exercise(
            &secret_fields,
            &[],
            &NewExercise {
                source: ExerciseSource::Incident {
                    incident_id: real.id,
                },
                ..exercise_of("Insider drill")
            },
            Some(creator.id),
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(
        secret.source,
        ExerciseSource::Incident {
            incident_id: real.id
        }
    );
    let exercise_ids = |v: Option<Viewer>| async move {
        s.list_exercises(v.as_ref())
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(exercise_ids(None).await, [secret.id, ex.id]);
    assert_eq!(
        exercise_ids(Some(as_viewer(&creator))).await,
        [secret.id, ex.id]
    );
    assert_eq!(exercise_ids(Some(as_viewer(&outsider))).await, [ex.id]);
    assert_eq!(
        s.count_incidents(None).await.unwrap(),
        1,
        "exercises never count"
    );
}

story! {
    review => |s: Arc<dyn Store>| async move { super::the_review_is_saved_only_over_the_version_read(s).await };
    lessons => |s: Arc<dyn Store>| async move { super::lessons_are_versioned_and_found_across_incidents(&*s).await };
    corrective_actions => |s: Arc<dyn Store>| async move { super::corrective_actions_keep_their_state_and_list_by_due_date(&*s).await };
    exercises => |s: Arc<dyn Store>| async move { super::exercises_run_on_their_own_incidents(s).await };
}
