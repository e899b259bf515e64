//! The notification worker against a real SMTP server (aiosmtpd, `tests/fixtures/smtp_sink.py`)
//! on a real store, with a fast-forwarded clock: the scenario end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use kizuki_auth::audit_chain::AuditKey;
use kizuki_domain::clock::{Clock, ManualClock};
use kizuki_domain::incident::{Category, NewIncident};
use kizuki_domain::notification::CallOutcome;
use kizuki_domain::notification::{AckVia, NotificationState};
use kizuki_domain::settings::OrgSettings;
use kizuki_domain::timeline::EntrySource;
use kizuki_domain::user::{NewUser, Role};
use kizuki_notify::escalation::{EscalationChain, EscalationStep};
use kizuki_notify::oncall::{Period, RotationSpec};
use kizuki_notify::rule::{Channel, NotificationRule, Recipient};
use kizuki_server::AppState;
use kizuki_server::api::notifications::{NewCall, acknowledge_in_ui, send_again, tick_off_call};
use kizuki_server::delivery::{Delivery, Mailer, SmtpSettings};
use kizuki_server::notify::run_due;
use kizuki_store::Store;

#[path = "support/smtp_sink.rs"]
mod smtp_sink;
use smtp_sink::{Sink, free_port, python_with_aiosmtpd};

async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.join("notify.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

struct World {
    state: AppState,
    clock: Arc<ManualClock>,
    commander: i64,
}

/// Commander (role), an on-call responder, a CISO (executive); a rotation with the
/// responder, a rule "level >= 3 ransomware -> commander by e-mail", a chain "after 15 min:
/// executives".
async fn world(store: Arc<dyn Store>, smtp_port: u16) -> World {
    let now: Timestamp = "2026-06-20T03:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let user = |email: &str, name: &str, role| NewUser::new(email, name, role).unwrap();
    let commander = store
        .create_user(
            &user("ic@example.jp", "指揮 花子", Role::IncidentCommander),
            now,
        )
        .await
        .unwrap();
    let responder = store
        .create_user(
            &user("oncall@example.jp", "当番 一郎", Role::Responder),
            now,
        )
        .await
        .unwrap();
    store
        .create_user(&user("ciso@example.jp", "情報 太郎", Role::Executive), now)
        .await
        .unwrap();
    store
        .create_rotation(
            &RotationSpec {
                name: "first responders".into(),
                members: vec![responder.id],
                handover: "09:00".parse().unwrap(),
                time_zone: "Asia/Tokyo".into(),
                period: Period::Weekly,
                start_date: "2026-06-01".parse().unwrap(),
                overrides: vec![],
            },
            now,
        )
        .await
        .unwrap();
    store
        .create_rule(
            &NotificationRule {
                id: 0,
                name: "ransomware to the commander".into(),
                enabled: true,
                min_severity: 3,
                categories: vec![Category::Ransomware],
                on_reports: false,
                recipients: vec![Recipient::Role {
                    role: Role::IncidentCommander,
                }],
                channels: vec![Channel::Email],
                template_id: "new_incident".into(),
            },
            now,
        )
        .await
        .unwrap();
    store
        .save_escalation_chain(
            0,
            &EscalationChain {
                steps: vec![EscalationStep {
                    recipients: vec![Recipient::Role {
                        role: Role::Executive,
                    }],
                    channels: vec![Channel::Email],
                    after_minutes: 15,
                }],
            },
            None,
            now,
        )
        .await
        .unwrap();
    let mut state = AppState::new(
        store,
        clock.clone(),
        OrgSettings::default(),
        kizuki_playbook::Library::builtin().unwrap(),
        kizuki_reference::Library::builtin().unwrap(),
        AuditKey::generate(&mut rand::rng()),
    );
    let mut smtp = SmtpSettings::parse(
        &format!("smtp://127.0.0.1:{smtp_port}"),
        "Kizuki <kizuki@example.jp>",
    )
    .unwrap();
    smtp.connect_timeout = std::time::Duration::from_secs(2);
    state.delivery = Arc::new(Delivery {
        mailer: Some(Mailer::new(smtp).unwrap()),
        webhooks: Default::default(),
    });
    World {
        state,
        clock,
        commander: commander.id,
    }
}

async fn open_ransomware(w: &World) -> i64 {
    let new: NewIncident = serde_json::from_value(serde_json::json!({
        "title": "ファイルサーバ暗号化",
        "category": "ransomware",
        "severity": 3
    }))
    .unwrap();
    kizuki_server::api::incidents::create_incident(&w.state, w.commander, new)
        .await
        .unwrap()
        .id
}

/// Runs the worker until nothing is due at the current time.
async fn drain(w: &World, worker: &str) {
    for _ in 0..10 {
        if run_due(&w.state, worker, w.clock.now()).await == 0 {
            return;
        }
    }
}

#[tokio::test]
async fn on_call_and_commander_then_ciso_after_the_delay() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = world(sqlite().await, sink.port).await;
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    assert_eq!(sink.to(), vec!["ic@example.jp", "oncall@example.jp"]);
    for (m, _) in sink.messages() {
        let subject = m["subject"].as_str().unwrap();
        assert!(
            subject.contains("レベル3") && subject.contains("ファイルサーバ暗号化"),
            "{subject}"
        );
        let text = m["text"].as_str().unwrap();
        assert!(text.contains("http://127.0.0.1:8080/ack/v1."), "{text}");
    }
    // Nobody acknowledges; 14 minutes: nothing yet; 15: the CISO.
    w.clock.advance(SignedDuration::from_mins(14));
    drain(&w, "worker-a").await;
    assert_eq!(sink.messages().len(), 2);
    w.clock.advance(SignedDuration::from_mins(1));
    drain(&w, "worker-a").await;
    assert_eq!(
        sink.to(),
        vec!["ciso@example.jp", "ic@example.jp", "oncall@example.jp"]
    );
    let timeline = w
        .state
        .store
        .list_timeline(id, &Default::default())
        .await
        .unwrap();
    let texts: Vec<&str> = timeline
        .iter()
        .filter(|e| e.source == EntrySource::Notification)
        .map(|e| e.text.as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("当番 一郎")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("15 分")), "{texts:?}");
    assert!(
        texts
            .iter()
            .filter(|t| t.contains("メールを送信しました"))
            .count()
            == 3,
        "{texts:?}"
    );
}

#[tokio::test]
async fn acknowledging_stops_the_escalation() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = world(sqlite().await, sink.port).await;
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    let first = w.state.store.list_notifications(id).await.unwrap()[0].id;
    w.state
        .store
        .acknowledge_notification(first, None, AckVia::Link, None, w.clock.now())
        .await
        .unwrap();
    w.clock.advance(SignedDuration::from_hours(2));
    drain(&w, "worker-a").await;
    assert_eq!(
        sink.messages().len(),
        2,
        "no escalation after an acknowledgement"
    );
}

#[tokio::test]
async fn smtp_down_is_retried_and_delivered_later() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    // Reserve a port, leave it closed, start the sink there later.
    let port = free_port();
    let w = world(sqlite().await, port).await;
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    let ns = w.state.store.list_notifications(id).await.unwrap();
    assert_eq!(ns.len(), 2);
    for n in &ns {
        assert_eq!(n.state, NotificationState::Failed);
        assert!(
            n.last_error
                .as_deref()
                .unwrap()
                .contains("refused the connection"),
            "{n:?}"
        );
    }
    // The server comes up; after the back-off the retry delivers.
    let sink = Sink::start_on(&python, port, None);
    w.clock.advance(SignedDuration::from_mins(2));
    drain(&w, "worker-a").await;
    assert_eq!(sink.to(), vec!["ic@example.jp", "oncall@example.jp"]);
    for n in w.state.store.list_notifications(id).await.unwrap() {
        assert_eq!(n.state, NotificationState::Sent);
    }
}

async fn set_severity(w: &World, id: i64, severity: u8) {
    let current = w.state.store.get_incident(id).await.unwrap().unwrap();
    let patch: kizuki_domain::incident::IncidentPatch = serde_json::from_value(
        serde_json::json!({ "version": current.version, "severity": severity }),
    )
    .unwrap();
    kizuki_server::api::incidents::update_incident(&w.state, id, patch)
        .await
        .unwrap();
}

#[tokio::test]
async fn raising_the_level_tells_only_those_the_new_level_adds() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = world(sqlite().await, sink.port).await;
    // Level 2: below the commander's rule; only the on-call responder hears.
    let new: NewIncident = serde_json::from_value(serde_json::json!({
        "title": "不審な暗号化",
        "category": "ransomware",
        "severity": 2
    }))
    .unwrap();
    let id = kizuki_server::api::incidents::create_incident(&w.state, w.commander, new)
        .await
        .unwrap()
        .id;
    drain(&w, "worker-a").await;
    assert_eq!(sink.to(), vec!["oncall@example.jp"]);

    // Raised to 3: the commander now; the responder is not told twice.
    w.clock.advance(SignedDuration::from_mins(5));
    set_severity(&w, id, 3).await;
    drain(&w, "worker-a").await;
    assert_eq!(sink.to(), vec!["ic@example.jp", "oncall@example.jp"]);
    let timeline = w
        .state
        .store
        .list_timeline(id, &Default::default())
        .await
        .unwrap();
    let raised: Vec<&str> = timeline
        .iter()
        .filter(|e| e.source == EntrySource::Notification && e.text.contains("レベル3"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(raised[0].contains("指揮 花子"), "{raised:?}");
    assert!(!raised[0].contains("当番 一郎"), "{raised:?}");

    // Down and up again: nobody new, nothing sent.
    set_severity(&w, id, 2).await;
    set_severity(&w, id, 3).await;
    drain(&w, "worker-a").await;
    assert_eq!(sink.messages().len(), 2);
}

async fn person(w: &World, email: &str) -> kizuki_domain::user::User {
    w.state
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == email)
        .unwrap()
}

#[tokio::test]
async fn a_broken_template_fails_visibly_and_is_sent_again_once_fixed() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = world(sqlite().await, sink.port).await;
    // Saved behind the validation's back (as an older version might have): a field that
    // does not exist.
    w.state
        .store
        .save_template(
            kizuki_notify::template::TemplateKind::NewIncident,
            kizuki_domain::settings::Language::Ja,
            0,
            "{{incident_title}}",
            "{{no_such_field}}",
            None,
            w.clock.now(),
        )
        .await
        .unwrap();
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    assert!(sink.messages().is_empty());
    let failed = w.state.store.list_notifications(id).await.unwrap();
    assert_eq!(failed.len(), 2);
    for n in &failed {
        assert_eq!(n.state, NotificationState::Failed);
        let error = n.last_error.as_deref().unwrap();
        assert!(error.contains("no_such_field"), "{error}");
    }
    let timeline = w
        .state
        .store
        .list_timeline(id, &Default::default())
        .await
        .unwrap();
    assert!(
        timeline
            .iter()
            .any(|e| e.source == EntrySource::Notification && e.text.contains("no_such_field")),
        "the failure is on the timeline"
    );

    // The administrator puts the built-in text back and sends both again.
    w.state
        .store
        .reset_template(
            kizuki_notify::template::TemplateKind::NewIncident,
            kizuki_domain::settings::Language::Ja,
        )
        .await
        .unwrap();
    for n in &failed {
        send_again(&w.state, id, n.id).await.unwrap();
        // Asking twice before the worker runs queues one send.
        send_again(&w.state, id, n.id).await.unwrap();
    }
    drain(&w, "worker-a").await;
    assert_eq!(sink.to(), vec!["ic@example.jp", "oncall@example.jp"]);
    for n in w.state.store.list_notifications(id).await.unwrap() {
        assert_eq!(n.state, NotificationState::Sent);
        // Sent now: nothing to send again.
        let err = send_again(&w.state, id, n.id).await.unwrap_err();
        assert!(err.to_string().contains("only a failed one"), "{err}");
    }
}

#[tokio::test]
async fn acknowledging_in_kizuki_is_for_the_person_told_or_a_commander() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = world(sqlite().await, sink.port).await;
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    let ciso = person(&w, "ciso@example.jp").await;
    let on_call = person(&w, "oncall@example.jp").await;
    let notifications = w.state.store.list_notifications(id).await.unwrap();
    let theirs = notifications
        .iter()
        .find(|n| n.user_id == Some(on_call.id))
        .unwrap();
    // Someone else's notification: refused, nothing changes.
    let err = acknowledge_in_ui(&w.state, &ciso, id, theirs.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kizuki_server::error::ApiError::Forbidden(_)),
        "{err}"
    );
    // Another incident's id in the path: not found.
    let err = acknowledge_in_ui(&w.state, &on_call, id + 1, theirs.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kizuki_server::error::ApiError::NotFound(_)),
        "{err}"
    );
    let (n, first) = acknowledge_in_ui(&w.state, &on_call, id, theirs.id)
        .await
        .unwrap();
    assert!(first);
    assert_eq!(n.state, NotificationState::Acknowledged);
    assert_eq!(n.acknowledged_by, Some(on_call.id));
    assert_eq!(n.ack_via, Some(AckVia::Ui));
    let (_, again) = acknowledge_in_ui(&w.state, &on_call, id, theirs.id)
        .await
        .unwrap();
    assert!(!again, "the second acknowledgement changes nothing");
    let timeline = w
        .state
        .store
        .list_timeline(id, &Default::default())
        .await
        .unwrap();
    let acks: Vec<_> = timeline
        .iter()
        .filter(|e| e.text.contains("インシデント画面から"))
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].actor, on_call.display_name);
    // And the chain stops: no CISO after the delay.
    w.clock.advance(SignedDuration::from_hours(1));
    drain(&w, "worker-a").await;
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn the_commander_ticks_off_the_phone_tree() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = world(sqlite().await, sink.port).await;
    w.state
        .store
        .create_rule(
            &NotificationRule {
                id: 0,
                name: "executives by telephone".into(),
                enabled: true,
                min_severity: 3,
                categories: vec![],
                on_reports: false,
                recipients: vec![Recipient::Role {
                    role: Role::Executive,
                }],
                channels: vec![Channel::PhoneTree],
                template_id: "new_incident".into(),
            },
            w.clock.now(),
        )
        .await
        .unwrap();
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    let lines = w.state.store.phone_tree(id).await.unwrap();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(
        line.notification.user_id,
        Some(person(&w, "ciso@example.jp").await.id)
    );
    let commander = person(&w, "ic@example.jp").await;
    let responder = person(&w, "oncall@example.jp").await;
    let call = |outcome, version| NewCall {
        outcome,
        note: "  携帯に  ".into(),
        version,
    };
    let err = tick_off_call(
        &w.state,
        &responder,
        id,
        line.notification.id,
        call(CallOutcome::Reached, line.version),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, kizuki_server::error::ApiError::Forbidden(_)),
        "{err}"
    );
    let after = tick_off_call(
        &w.state,
        &commander,
        id,
        line.notification.id,
        call(CallOutcome::NoAnswer, line.version),
    )
    .await
    .unwrap();
    assert_eq!(after.calls.len(), 1);
    assert_eq!(after.calls[0].outcome, CallOutcome::NoAnswer);
    assert_eq!(after.calls[0].note, "携帯に");
    assert_eq!(after.calls[0].called_by, Some(commander.id));
    // A second caller working from the old version is told, and the first call stays.
    let err = tick_off_call(
        &w.state,
        &commander,
        id,
        line.notification.id,
        call(CallOutcome::Reached, line.version),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, kizuki_server::error::ApiError::Conflict { .. }),
        "{err}"
    );
    let now = w.state.store.phone_tree(id).await.unwrap();
    assert_eq!(now[0].calls.len(), 1);
    let timeline = w
        .state
        .store
        .list_timeline(id, &Default::default())
        .await
        .unwrap();
    assert!(
        timeline
            .iter()
            .any(|e| e.text.contains("応答なし") && e.text.contains("携帯に")),
        "the call is on the timeline"
    );
}

/// PostgreSQL when `KIZUKI_TEST_POSTGRES_URL` names a server (required under CI).
async fn postgres() -> Option<Arc<dyn Store>> {
    let Ok(admin) = std::env::var("KIZUKI_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KIZUKI_TEST_POSTGRES_URL must be set under CI"
        );
        eprintln!("SKIPPED: PostgreSQL half (set KIZUKI_TEST_POSTGRES_URL)");
        return None;
    };
    let url = kizuki_store_postgres::create_test_database(&admin)
        .await
        .unwrap();
    let store = kizuki_store_postgres::PgStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some(Arc::new(store))
}

#[tokio::test]
async fn two_workers_send_each_message_once() {
    two_workers(sqlite().await).await;
}

#[tokio::test]
async fn two_workers_send_each_message_once_on_postgres() {
    if let Some(store) = postgres().await {
        two_workers(store).await;
    }
}

async fn two_workers(store: Arc<dyn Store>) {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let w = Arc::new(world(store, sink.port).await);
    for _ in 0..3 {
        open_ransomware(&w).await;
    }
    for _ in 0..5 {
        let (a, b) = (Arc::clone(&w), Arc::clone(&w));
        let ta = tokio::spawn(async move { run_due(&a.state, "worker-a", a.clock.now()).await });
        let tb = tokio::spawn(async move { run_due(&b.state, "worker-b", b.clock.now()).await });
        ta.await.unwrap();
        tb.await.unwrap();
    }
    assert_eq!(
        sink.messages().len(),
        6,
        "3 incidents x (on call + commander)"
    );
}

/// A receiver on 127.0.0.1: `/flaky` answers 500 once, then 200; `/hang` never answers.
async fn receiver() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::StatusCode;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = Arc::clone(&hits);
    let app = axum::Router::new()
        .route(
            "/flaky",
            axum::routing::post(move || {
                let counter = Arc::clone(&counter);
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        )
        .route(
            "/hang",
            axum::routing::post(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                StatusCode::OK
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

#[tokio::test]
async fn webhook_500_is_retried_and_a_hanging_one_times_out_visibly() {
    use kizuki_server::delivery::{WebhookSender, WebhookSettings, parse_allow_list};
    use kizuki_store::WebhookTargetFields;
    let (addr, hits) = receiver().await;
    // No SMTP here: the mails fail permanently ("not configured"), the webhooks are the point.
    let mut w = world(sqlite().await, 9).await;
    w.state.delivery = Arc::new(Delivery {
        mailer: None,
        webhooks: WebhookSender::new(WebhookSettings {
            allow: parse_allow_list(&["127.0.0.1/32"]).unwrap(),
            connect_timeout: std::time::Duration::from_secs(2),
            total_timeout: std::time::Duration::from_millis(500),
            max_response_bytes: 4096,
        }),
    });
    let now = w.clock.now();
    let mut hooks = Vec::new();
    for path in ["flaky", "hang"] {
        let t = w
            .state
            .store
            .create_webhook_target(
                &WebhookTargetFields {
                    name: format!("#{path}"),
                    format: kizuki_notify::webhook::Format::Slack,
                    url: format!("http://{addr}/{path}"),
                    secret: None,
                    enabled: true,
                },
                now,
            )
            .await
            .unwrap();
        hooks.push(Channel::Webhook { webhook_id: t.id });
    }
    w.state
        .store
        .create_rule(
            &NotificationRule {
                id: 0,
                name: "chat".into(),
                enabled: true,
                min_severity: 1,
                categories: vec![],
                on_reports: false,
                recipients: vec![Recipient::Role {
                    role: Role::IncidentCommander,
                }],
                channels: hooks,
                template_id: "new_incident".into(),
            },
            now,
        )
        .await
        .unwrap();
    let id = open_ransomware(&w).await;
    drain(&w, "worker-a").await;
    let by_address = |ns: &[kizuki_store::Notification], a: &str| {
        ns.iter().find(|n| n.address == a).cloned().unwrap()
    };
    let ns = w.state.store.list_notifications(id).await.unwrap();
    let flaky = by_address(&ns, "#flaky");
    assert_eq!(flaky.state, NotificationState::Failed);
    assert!(
        flaky.last_error.as_deref().unwrap().contains("500"),
        "{flaky:?}"
    );
    let hang = by_address(&ns, "#hang");
    assert!(
        hang.last_error
            .as_deref()
            .unwrap()
            .contains("did not answer within"),
        "{hang:?}"
    );
    let mail = by_address(&ns, "ic@example.jp");
    assert!(
        mail.last_error
            .as_deref()
            .unwrap()
            .contains("e-mail is not configured (KIZUKI_SMTP_URL)"),
        "{mail:?}"
    );
    // After the back-off the flaky one gets through.
    w.clock.advance(SignedDuration::from_mins(2));
    drain(&w, "worker-a").await;
    let ns = w.state.store.list_notifications(id).await.unwrap();
    assert_eq!(by_address(&ns, "#flaky").state, NotificationState::Sent);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(by_address(&ns, "#hang").state, NotificationState::Failed);
}
