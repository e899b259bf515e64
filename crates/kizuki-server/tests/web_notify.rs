//! The notification pages (issue #5): the signed acknowledgement link, the notifications and
//! phone tree on the incident page, who is on call now, and the administrators' page. The real
//! router and store, a browser simulated by cookies and `Sec-Fetch-Site`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use kizuki_auth::audit_chain::AuditKey;
use kizuki_domain::clock::{Clock, ManualClock};
use kizuki_domain::incident::NewIncident;
use kizuki_domain::notification::{CallOutcome, JobKind, NotificationState};
use kizuki_domain::settings::{Language, OrgSettings};
use kizuki_domain::timeline::EntrySource;
use kizuki_domain::user::{NewSession, NewUser, Role, SessionStage};
use kizuki_notify::oncall::{Override, Period, RotationSpec};
use kizuki_notify::rule::Channel;
use kizuki_notify::template::TemplateKind;
use kizuki_server::AppState;
use kizuki_store::{JobEffects, NewJob, NewNotification, Store, TimelineQuery};
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    body: String,
}

impl Page {
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        self.body[at..at + self.body[at..].find('"').unwrap()].to_owned()
    }
}

struct World {
    app: Router,
    state: AppState,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    commander: Person,
    responder: Person,
    colleague: Person,
    incident: i64,
}

struct Person {
    id: i64,
    cookie: String,
}

async fn person(store: &Arc<dyn Store>, now: Timestamp, role: Role, name: &str) -> Person {
    let user = store
        .create_user(
            &NewUser::new(&format!("{name}@example.jp"), name, role).unwrap(),
            now,
        )
        .await
        .unwrap();
    let secret = format!("kzs_web-notify-session-{name}");
    store
        .create_session(
            &NewSession {
                user_id: user.id,
                secret_hash: kizuki_auth::secret::hash_secret(&secret),
                stage: SessionStage::Full,
                expires_at: now.checked_add(SignedDuration::from_hours(8)).unwrap(),
                address: None,
                user_agent: "tests".into(),
            },
            now,
        )
        .await
        .unwrap();
    Person {
        id: user.id,
        cookie: format!("kizuki_session={secret}"),
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.join("web-notify.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let now: Timestamp = "2026-06-20T03:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let commander = person(&store, now, Role::IncidentCommander, "commander").await;
    let responder = person(&store, now, Role::Responder, "responder").await;
    let colleague = person(&store, now, Role::Responder, "colleague").await;
    let state = AppState::new(
        Arc::clone(&store),
        clock.clone(),
        OrgSettings::default(),
        kizuki_playbook::Library::builtin().unwrap(),
        kizuki_reference::Library::builtin().unwrap(),
        AuditKey::generate(&mut rand::rng()),
    );
    let new: NewIncident = serde_json::from_value(serde_json::json!({
        "title": "ファイルサーバ暗号化",
        "category": "ransomware",
        "severity": 3
    }))
    .unwrap();
    let incident = kizuki_server::api::incidents::create_incident(&state, commander.id, new)
        .await
        .unwrap()
        .id;
    World {
        app: kizuki_server::app(state.clone()),
        state,
        store,
        clock,
        commander,
        responder,
        colleague,
        incident,
    }
}

impl World {
    /// Writes notifications as the worker would (through a finished job), returning their ids.
    async fn notify(&self, to: &[(Option<i64>, &str, Channel)]) -> Vec<i64> {
        let now = self.clock.now();
        let job = self
            .store
            .enqueue_job(
                &NewJob {
                    kind: JobKind::PlanIncidentNotifications,
                    payload: serde_json::json!({}),
                    run_at: now,
                    incident_id: Some(self.incident),
                    dedupe_key: None,
                },
                now,
            )
            .await
            .unwrap();
        let claimed = self
            .store
            .claim_jobs("tests", now, SignedDuration::from_mins(2), 100)
            .await
            .unwrap();
        assert!(claimed.iter().any(|j| j.id == job.id));
        let effects = JobEffects {
            notifications: to
                .iter()
                .map(|(user_id, address, channel)| NewNotification {
                    incident_id: self.incident,
                    rule_ids: vec![],
                    escalation_step: None,
                    clock_id: None,
                    user_id: *user_id,
                    party_id: None,
                    address: (*address).to_owned(),
                    channel: *channel,
                    language: Language::En,
                    template: TemplateKind::NewIncident,
                    send_at: None,
                })
                .collect(),
            ..JobEffects::default()
        };
        let finished = self
            .store
            .finish_job(job.id, "tests", &effects, now)
            .await
            .unwrap();
        finished.notifications.iter().map(|n| n.id).collect()
    }

    fn token(&self, notification_id: i64) -> String {
        kizuki_notify::ack::issue(
            &self.state.notify.ack_key,
            notification_id,
            self.clock
                .now()
                .checked_add(SignedDuration::from_hours(24))
                .unwrap(),
        )
    }

    async fn send(&self, req: Request<Body>) -> Page {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(bytes.to_vec()).unwrap_or_default();
        if headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"))
        {
            let lower = body.to_lowercase();
            assert!(
                !lower.contains("<style") && !lower.contains(" style="),
                "{body}"
            );
            for (at, _) in lower.match_indices("<script") {
                let tag = &lower[at..at + lower[at..].find('>').unwrap()];
                assert!(tag.contains(" src="), "an inline script:\n{body}");
            }
        }
        Page { status, body }
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Page {
        let mut req = Request::builder().uri(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(
        &self,
        uri: &str,
        cookie: Option<&str>,
        site: &str,
        form: &[(&str, &str)],
    ) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    async fn notification_entries(&self) -> Vec<String> {
        self.store
            .list_timeline(self.incident, &TimelineQuery::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.source == EntrySource::Notification)
            .map(|e| e.text)
            .collect()
    }
}

#[tokio::test]
async fn the_link_shows_a_button_and_only_the_post_acknowledges() {
    let w = world().await;
    let ids = w
        .notify(&[(Some(w.responder.id), "responder@example.jp", Channel::Email)])
        .await;
    let token = w.token(ids[0]);
    let uri = format!("/ack/{token}");

    // A scanner (or the person) opening the link changes nothing.
    for _ in 0..2 {
        let page = w.get(&uri, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("ファイルサーバ暗号化"),
            "names the incident"
        );
        assert!(
            page.body.contains("I have seen it"),
            "in the message's language"
        );
        assert!(page.body.contains(&format!("action=\"{uri}\"")));
        assert!(!page.body.contains("responder@example.jp"), "no address");
    }
    let n = w.store.get_notification(ids[0]).await.unwrap().unwrap();
    assert_eq!(n.acknowledged_at, None);
    assert_ne!(n.state, NotificationState::Acknowledged);
    // In Japanese on request.
    let page = w.get(&format!("{uri}?lang=ja"), None).await;
    assert!(page.body.contains("確認しました"), "{}", page.body);

    // A post from another site is refused and changes nothing.
    let page = w.post(&uri, None, "cross-site", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.store
            .get_notification(ids[0])
            .await
            .unwrap()
            .unwrap()
            .acknowledged_at,
        None
    );
    assert!(w.notification_entries().await.is_empty());

    // The button acknowledges, for the recipient, and the timeline says so.
    w.clock.advance(SignedDuration::from_mins(3));
    let page = w.post(&uri, None, "same-origin", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("your acknowledgement is recorded"));
    assert!(
        page.body
            .contains("Acknowledged by responder at 2026-06-20 12:03")
    );
    let n = w.store.get_notification(ids[0]).await.unwrap().unwrap();
    assert_eq!(n.state, NotificationState::Acknowledged);
    assert_eq!(n.acknowledged_by, Some(w.responder.id));
    assert!(
        w.store
            .incident_acknowledged_at(w.incident)
            .await
            .unwrap()
            .is_some(),
        "the escalation chain stops"
    );
    let entries = w.notification_entries().await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].contains("responder"), "{entries:?}");
    let page = w
        .get(
            &format!("/incidents/{}?lang=en", w.incident),
            Some(&w.commander.cookie),
        )
        .await;
    // The timeline is written in the organisation's language (Japanese by default).
    assert!(page.body.contains("通知のリンクから"), "{}", page.body);

    // Pressing again (or a second tab) says who was first and writes nothing more.
    w.clock.advance(SignedDuration::from_mins(5));
    let page = w.post(&uri, None, "same-origin", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("already acknowledged"), "{}", page.body);
    assert!(
        page.body
            .contains("Acknowledged by responder at 2026-06-20 12:03")
    );
    assert_eq!(w.notification_entries().await.len(), 1);
    // And the link now shows no button.
    let page = w.get(&uri, None).await;
    assert!(
        !page
            .body
            .contains("<button type=\"submit\" class=\"primary\">")
    );
    assert!(page.body.contains("already acknowledged"));
}

#[tokio::test]
async fn a_tampered_or_expired_link_is_refused() {
    let w = world().await;
    let ids = w
        .notify(&[
            (Some(w.responder.id), "responder@example.jp", Channel::Email),
            (Some(w.colleague.id), "colleague@example.jp", Channel::Email),
        ])
        .await;
    let token = w.token(ids[0]);
    // Another notification's id under the first one's signature.
    let forged = token.replacen(&format!("v1.{}.", ids[0]), &format!("v1.{}.", ids[1]), 1);
    assert_ne!(forged, token);
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [forged.as_str(), flipped.as_str(), "v1.1.2", "nonsense"] {
        let uri = format!("/ack/{bad}?lang=en");
        let page = w.get(&uri, None).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.body.contains("This link is not valid"), "{bad}");
        let page = w.post(&uri, None, "same-origin", &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // Eight days later the genuine link has expired.
    w.clock.advance(SignedDuration::from_hours(8 * 24));
    let uri = format!("/ack/{token}?lang=en");
    let page = w.get(&uri, None).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.body.contains("This link has expired"));
    let page = w.post(&uri, None, "same-origin", &[]).await;
    assert_eq!(page.status, StatusCode::GONE);
    for id in ids {
        let n = w.store.get_notification(id).await.unwrap().unwrap();
        assert_eq!(n.acknowledged_at, None);
    }
    assert!(w.notification_entries().await.is_empty());
}

#[tokio::test]
async fn the_incident_page_lists_notifications_and_acknowledges_ones_own() {
    let w = world().await;
    let ids = w
        .notify(&[
            (Some(w.responder.id), "responder@example.jp", Channel::Email),
            (Some(w.colleague.id), "colleague@example.jp", Channel::Email),
        ])
        .await;
    w.store
        .mark_notification_failed(ids[1], "SMTP said 550 no such mailbox")
        .await
        .unwrap();
    let uri = format!("/incidents/{}?lang=en", w.incident);
    let page = w.get(&uri, Some(&w.responder.cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"notifications\""));
    assert!(page.body.contains("SMTP said 550 no such mailbox"));
    assert!(page.body.contains("waiting to be sent"));
    let own = format!("/incidents/{}/notifications/{}/ack", w.incident, ids[0]);
    let other = format!("/incidents/{}/notifications/{}/ack", w.incident, ids[1]);
    assert!(page.body.contains(&own), "a button for one's own");
    assert!(!page.body.contains(&other), "none for a colleague's");
    let csrf = page.csrf();

    // Someone else's: refused.
    let page = w
        .post(
            &other,
            Some(&w.responder.cookie),
            "same-origin",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // Without the CSRF token: refused.
    let page = w
        .post(&own, Some(&w.responder.cookie), "same-origin", &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(w.notification_entries().await.is_empty());

    let page = w
        .post(
            &own,
            Some(&w.responder.cookie),
            "same-origin",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let n = w.store.get_notification(ids[0]).await.unwrap().unwrap();
    assert_eq!(n.acknowledged_by, Some(w.responder.id));
    assert_eq!(w.notification_entries().await.len(), 1);

    // A commander may acknowledge a colleague's; the timeline names both.
    let csrf = w.get(&uri, Some(&w.commander.cookie)).await.csrf();
    let page = w
        .post(
            &other,
            Some(&w.commander.cookie),
            "same-origin",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let entries = w.notification_entries().await;
    assert_eq!(entries.len(), 2);
    assert!(
        entries[1].contains("commander") && entries[1].contains("colleague"),
        "{entries:?}"
    );
    // Again: already acknowledged, nothing new.
    let page = w
        .post(
            &other,
            Some(&w.commander.cookie),
            "same-origin",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("already acknowledged"));
    assert_eq!(w.notification_entries().await.len(), 2);
}

#[tokio::test]
async fn the_commander_ticks_off_the_phone_tree_and_others_cannot() {
    let w = world().await;
    let ids = w
        .notify(&[(None, "+81-3-1234-5678", Channel::PhoneTree)])
        .await;
    let line = ids[0];
    let uri = format!("/incidents/{}?lang=en", w.incident);
    let call_uri = format!("/incidents/{}/calls/{line}", w.incident);

    // A responder sees no call list and cannot record a call.
    let page = w.get(&uri, Some(&w.responder.cookie)).await;
    assert!(!page.body.contains("id=\"phone-tree\""));
    let csrf = page.csrf();
    let page = w
        .post(
            &call_uri,
            Some(&w.responder.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", "0"),
                ("outcome", "reached"),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        w.store.phone_tree(w.incident).await.unwrap()[0]
            .calls
            .is_empty()
    );

    let page = w.get(&uri, Some(&w.commander.cookie)).await;
    assert!(page.body.contains("id=\"phone-tree\""), "{}", page.body);
    assert!(page.body.contains("href=\"tel:+81-3-1234-5678\""));
    assert!(page.body.contains("<label for=\"call-"));
    let csrf = page.csrf();
    let version = w.store.phone_tree(w.incident).await.unwrap()[0]
        .version
        .to_string();

    // No outcome: refused, the note kept.
    let page = w
        .post(
            &call_uri,
            Some(&w.commander.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", ""),
                ("note", "site manager's mobile"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("site manager&#39;s mobile"),
        "{}",
        page.body
    );
    assert!(page.body.contains("aria-invalid=\"true\""));
    assert!(
        w.store.phone_tree(w.incident).await.unwrap()[0]
            .calls
            .is_empty()
    );

    let page = w
        .post(
            &call_uri,
            Some(&w.commander.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "voicemail"),
                ("note", "will call back"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let tree = w.store.phone_tree(w.incident).await.unwrap();
    assert_eq!(tree[0].calls.len(), 1);
    assert_eq!(tree[0].calls[0].outcome, CallOutcome::Voicemail);
    assert_eq!(tree[0].calls[0].note, "will call back");
    assert_eq!(tree[0].calls[0].called_by, Some(w.commander.id));
    let entries = w.notification_entries().await;
    assert!(
        entries.iter().any(|e| e.contains("will call back")),
        "{entries:?}"
    );

    // The same (now stale) version again: refused, nothing recorded twice.
    let page = w
        .post(
            &call_uri,
            Some(&w.commander.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "reached"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert_eq!(
        w.store.phone_tree(w.incident).await.unwrap()[0].calls.len(),
        1
    );
    let page = w.get(&uri, Some(&w.commander.cookie)).await;
    assert!(page.body.contains("left a message"), "{}", page.body);
}

#[tokio::test]
async fn the_board_shows_who_is_on_call_now_including_an_override() {
    let w = world().await;
    let now = w.clock.now();
    let rotation = w
        .store
        .create_rotation(
            &RotationSpec {
                name: "First responders".into(),
                members: vec![w.responder.id],
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
    let page = w.get("/incidents?lang=en", Some(&w.responder.cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("On call now"), "{}", page.body);
    assert!(page.body.contains("First responders"));
    assert!(page.body.contains("<strong>responder</strong>"));
    assert!(
        page.body.contains("no hand-over planned"),
        "one member, no override ahead"
    );

    // The colleague covers from an hour ago until 18:00 Tokyo time today.
    w.store
        .add_rotation_override(
            rotation.id,
            &Override {
                user_id: w.colleague.id,
                from: now.checked_sub(SignedDuration::from_hours(1)).unwrap(),
                to: "2026-06-20T09:00:00Z".parse().unwrap(),
            },
            now,
        )
        .await
        .unwrap();
    let page = w.get("/incidents?lang=en", Some(&w.responder.cookie)).await;
    assert!(
        page.body.contains("<strong>colleague</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("covering"));
    assert!(page.body.contains("until 2026-06-20 18:00"));
    assert!(!page.body.contains("<strong>responder</strong>"));
    let page = w.get("/incidents?lang=ja", Some(&w.responder.cookie)).await;
    assert!(page.body.contains("現在の当番"));
    assert!(page.body.contains("2026-06-20 18:00 まで"));

    // After the cover ends, the rotation's own person again.
    // (A fresh session: the morning's one has gone idle by then.)
    w.clock.advance(SignedDuration::from_hours(7));
    let reader = person(&w.store, w.clock.now(), Role::Responder, "evening").await;
    let page = w.get("/incidents?lang=en", Some(&reader.cookie)).await;
    assert!(
        page.body.contains("<strong>responder</strong>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn only_administrators_reach_the_notification_settings() {
    let w = world().await;
    for who in [&w.commander, &w.responder] {
        for uri in ["/admin/notify", "/admin/notify/templates/new_incident/en"] {
            let page = w.get(uri, Some(&who.cookie)).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri}");
        }
        let page = w
            .post(
                "/admin/notify/templates/new_incident/en",
                Some(&who.cookie),
                "same-origin",
                &[("action", "save"), ("subject", "x"), ("body", "y")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
    let page = w.get("/admin/notify", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "to the login page");
    assert!(
        w.store
            .get_template(TemplateKind::NewIncident, Language::En)
            .await
            .unwrap()
            .is_built_in()
    );
}

#[tokio::test]
async fn a_template_preview_names_an_unknown_field_and_save_keeps_the_text() {
    let w = world().await;
    let admin = person(&w.store, w.clock.now(), Role::Admin, "admin").await;
    let uri = "/admin/notify/templates/new_incident/en";
    let page = w.get(&format!("{uri}?lang=en"), Some(&admin.cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<label for=\"tpl-body\">"));
    assert!(
        page.body.contains("{{ack_url}}"),
        "the built-in text to start from"
    );
    let csrf = page.csrf();
    let before = w
        .store
        .get_template(TemplateKind::NewIncident, Language::En)
        .await
        .unwrap();

    let broken = "Hello {{recipient.nmae}},\nSee {{incident.url}} & <b>act</b>";
    for action in ["preview", "save"] {
        let page = w
            .post(
                &format!("{uri}?lang=en"),
                Some(&admin.cookie),
                "same-origin",
                &[
                    ("csrf", &csrf),
                    ("version", "0"),
                    ("action", action),
                    ("subject", "[Kizuki] {{incident.title}}"),
                    ("body", broken),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
        assert!(
            page.body
                .contains("Line 1, column 7: there is no field called &#34;recipient.nmae&#34;"),
            "{action}: {}",
            page.body
        );
        assert!(page.body.contains("aria-describedby=\"tpl-body-error\""));
        assert!(
            page.body.contains(
                "Hello {{recipient.nmae}},\nSee {{incident.url}} &#38; &#60;b&#62;act&#60;/b&#62;"
            ),
            "{action}: the text is kept as typed"
        );
        assert_eq!(
            w.store
                .get_template(TemplateKind::NewIncident, Language::En)
                .await
                .unwrap(),
            before,
            "{action} stored nothing"
        );
    }
    // In Japanese, the message is Japanese.
    let page = w
        .post(
            &format!("{uri}?lang=ja"),
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", "0"),
                ("action", "preview"),
                ("subject", "件名"),
                ("body", broken),
            ],
        )
        .await;
    assert!(
        page.body
            .contains("「recipient.nmae」という項目はありません"),
        "{}",
        page.body
    );

    // A good text previews with sample facts, still without saving.
    let good = "Hello {{recipient.name}}, see {{incident.url}}";
    let page = w
        .post(
            &format!("{uri}?lang=en"),
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", "0"),
                ("action", "preview"),
                ("subject", "[Kizuki] {{incident.title}}"),
                ("body", good),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Hello Hanako Yamada, see http://127.0.0.1:8080/incidents/42")
    );
    assert!(
        page.body
            .contains("[Kizuki] File server encrypted (sample)")
    );
    assert!(
        w.store
            .get_template(TemplateKind::NewIncident, Language::En)
            .await
            .unwrap()
            .is_built_in()
    );
    // Save stores it.
    let page = w
        .post(
            uri,
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", "0"),
                ("action", "save"),
                ("subject", "[Kizuki] {{incident.title}}"),
                ("body", good),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let stored = w
        .store
        .get_template(TemplateKind::NewIncident, Language::En)
        .await
        .unwrap();
    assert_eq!(stored.body, good);
    assert_eq!(stored.version, 1);
    // Saving again from the stale version 0 is refused, the text kept.
    let page = w
        .post(
            &format!("{uri}?lang=en"),
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("version", "0"),
                ("action", "save"),
                ("subject", "Other"),
                ("body", "Other text"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("Other text"));
    assert_eq!(
        w.store
            .get_template(TemplateKind::NewIncident, Language::En)
            .await
            .unwrap()
            .body,
        good
    );
}

#[tokio::test]
async fn administrators_manage_rotations_rules_and_webhooks() {
    let w = world().await;
    let admin = person(&w.store, w.clock.now(), Role::Admin, "admin").await;
    let page = w.get("/admin/notify?lang=en", Some(&admin.cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/admin/notify\""), "in the menu");
    assert!(
        page.body
            .contains("href=\"/admin/notify/templates/escalation/ja\"")
    );
    let csrf = page.csrf();
    let responder = w.responder.id.to_string();
    let colleague = w.colleague.id.to_string();

    // A rotation without members is refused with the name kept.
    let page = w
        .post(
            "/admin/notify/rotations?lang=en",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("rot_name", "Night desk"),
                ("rot_period", "weekly"),
                ("rot_handover", "09:00"),
                ("rot_start", "2026-06-01"),
                ("rot_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("value=\"Night desk\""));
    assert!(page.body.contains("id=\"rot-member-error\""));
    assert!(w.store.list_rotations().await.unwrap().is_empty());

    let page = w
        .post(
            "/admin/notify/rotations",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("rot_name", "Night desk"),
                ("rot_member", &responder),
                ("rot_member", &colleague),
                ("rot_period", "weekly"),
                ("rot_handover", "09:00"),
                ("rot_start", "2026-06-01"),
                ("rot_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let rotations = w.store.list_rotations().await.unwrap();
    assert_eq!(rotations.len(), 1);
    assert_eq!(
        rotations[0].spec.members,
        vec![w.responder.id, w.colleague.id]
    );
    let rid = rotations[0].id;

    // An override whose end is before its start: refused beside the field.
    let ov = format!("/admin/notify/rotations/{rid}/overrides?lang=en");
    let page = w
        .post(
            &ov,
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("ov_user", &colleague),
                ("ov_from", "2026-06-20T18:00"),
                ("ov_to", "2026-06-20T08:00"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The end must be after the start."));
    assert!(page.body.contains("value=\"2026-06-20T18:00\""));
    let page = w
        .post(
            &ov,
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("ov_user", &colleague),
                ("ov_from", "2026-06-20T08:00"),
                ("ov_to", "2026-06-20T18:00"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let spec = w.store.get_rotation(rid).await.unwrap().unwrap().spec;
    assert_eq!(spec.overrides.len(), 1);
    assert_eq!(spec.overrides[0].user_id, w.colleague.id);
    assert_eq!(
        spec.overrides[0].from,
        "2026-06-19T23:00:00Z".parse::<Timestamp>().unwrap(),
        "read in the organisation's zone"
    );
    let page = w.get("/admin/notify?lang=en", Some(&admin.cookie)).await;
    assert!(
        page.body.contains("On call now: colleague"),
        "{}",
        page.body
    );

    // A webhook with a bad address is refused; a good one is stored without showing a secret.
    let page = w
        .post(
            "/admin/notify/webhooks?lang=en",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("hook_name", "SOC chat"),
                ("hook_format", "slack"),
                ("hook_url", "ftp://chat.example/hook"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"hook-url-error\""));
    assert!(page.body.contains("value=\"ftp://chat.example/hook\""));
    let page = w
        .post(
            "/admin/notify/webhooks",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("hook_name", "SOC chat"),
                ("hook_format", "signed_json"),
                ("hook_url", "https://chat.example/hook"),
                ("hook_secret", "a-long-shared-secret-value"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let hooks = w.store.list_webhook_targets().await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].has_secret);
    let page = w.get("/admin/notify?lang=en", Some(&admin.cookie)).await;
    assert!(!page.body.contains("a-long-shared-secret-value"));
    // Without a typed secret, Kizuki makes one and shows it on this answer only.
    let page = w
        .post(
            "/admin/notify/webhooks?lang=en",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("hook_name", "Ticketing"),
                ("hook_format", "signed_json"),
                ("hook_url", "https://tickets.example/hook"),
                ("hook_secret", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let at = page
        .body
        .find("kzw_")
        .expect("the made secret is shown once");
    let made: String = page.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let page = w.get("/admin/notify?lang=en", Some(&admin.cookie)).await;
    assert!(!page.body.contains(&made), "and never again");
    let ticketing = w
        .store
        .list_webhook_targets()
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.name == "Ticketing")
        .unwrap();
    assert!(ticketing.has_secret);
    let page = w
        .post(
            &format!("/admin/notify/webhooks/{}/delete", ticketing.id),
            Some(&admin.cookie),
            "same-origin",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    // A rule: on call of the rotation, by e-mail and the webhook.
    let page = w
        .post(
            "/admin/notify/rules?lang=en",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("rule_name", "Ransomware to the desk"),
                ("rule_min_severity", "3"),
                ("rule_recipient", &format!("oncall:{rid}")),
                ("rule_category", "ransomware"),
                ("rule_template", "new_incident"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "no channel");
    assert!(page.body.contains("id=\"rule-channel-error\""));
    assert!(page.body.contains("value=\"Ransomware to the desk\""));
    let page = w
        .post(
            "/admin/notify/rules",
            Some(&admin.cookie),
            "same-origin",
            &[
                ("csrf", &csrf),
                ("rule_name", "Ransomware to the desk"),
                ("rule_min_severity", "3"),
                ("rule_recipient", &format!("oncall:{rid}")),
                ("rule_channel", "email"),
                ("rule_channel", &format!("webhook:{}", hooks[0].id)),
                ("rule_category", "ransomware"),
                ("rule_template", "new_incident"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let rules = w.store.list_rules().await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rule.channels.len(), 2);
    let page = w.get("/admin/notify?lang=en", Some(&admin.cookie)).await;
    assert!(
        page.body.contains("whoever is on call in Night desk"),
        "{}",
        page.body
    );

    // Deleting both.
    let page = w
        .post(
            &format!("/admin/notify/rules/{}/delete", rules[0].rule.id),
            Some(&admin.cookie),
            "same-origin",
            &[("csrf", &csrf), ("version", &rules[0].version.to_string())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(w.store.list_rules().await.unwrap().is_empty());
    let page = w
        .post(
            &format!("/admin/notify/webhooks/{}/delete", hooks[0].id),
            Some(&admin.cookie),
            "same-origin",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(w.store.list_webhook_targets().await.unwrap().is_empty());
    // Without the CSRF token nothing happens.
    let page = w
        .post(
            "/admin/notify/rotations",
            Some(&admin.cookie),
            "same-origin",
            &[("rot_name", "X"), ("rot_member", &responder)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn anonymous_acknowledgements_are_rate_limited_per_address() {
    let w = world().await;
    let ids = w
        .notify(&[(Some(w.responder.id), "responder@example.jp", Channel::Email)])
        .await;
    let uri = format!("/ack/{}?lang=en", w.token(ids[0]));
    let post = |peer: &str| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
                peer.parse().unwrap(),
            ));
        req
    };
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(w.send(post("203.0.113.9:5000")).await.status);
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[11], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Another address is not held up.
    assert_eq!(
        w.send(post("198.51.100.7:5000")).await.status,
        StatusCode::OK
    );
}
