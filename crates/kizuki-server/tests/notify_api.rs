//! `/api/v1/notify/…`: what an administrator does with rules, templates, rotations and
//! webhook targets through the API, and what a responder may read. SQLite always;
//! PostgreSQL too when `KIZUKI_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use kizuki_auth::audit_chain::AuditKey;
use kizuki_auth::secret::hash_secret;
use kizuki_domain::clock::ManualClock;
use kizuki_domain::settings::OrgSettings;
use kizuki_domain::user::{NewUser, Role, TokenScope};
use kizuki_server::AppState;
use kizuki_server::delivery::{Delivery, WebhookSender, WebhookSettings, parse_allow_list};
use kizuki_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "kzk_notify-admin-token";
const COMMANDER: &str = "kzk_notify-commander-token";
const RESPONDER: &str = "kzk_notify-responder-token";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Harness {
    app: Router,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    /// Ids of two people who take turns on call.
    alice: i64,
    bob: i64,
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn open_store(backend: Backend) -> Option<Arc<dyn Store>> {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!(
                "kizuki-notify-api-{}-{}",
                std::process::id(),
                unique()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
                "sqlite://{}",
                dir.join("api.db").display()
            ))
            .await
            .unwrap();
            store.migrate().await.unwrap();
            Some(Arc::new(store))
        }
        Backend::Postgres => {
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
    }
}

impl Harness {
    /// The server with `allow` as `KIZUKI_WEBHOOK_ALLOW`.
    async fn new(backend: Backend, allow: &[&str]) -> Option<Harness> {
        let store = open_store(backend).await?;
        let now: Timestamp = "2026-06-20T03:00:00Z".parse().unwrap(); // 12:00 in Tokyo
        let clock = Arc::new(ManualClock::new(now));
        let mut ids = Vec::new();
        for (email, name, role, token) in [
            ("admin@example.jp", "Admin", Role::Admin, Some(ADMIN)),
            (
                "ic@example.jp",
                "Commander",
                Role::IncidentCommander,
                Some(COMMANDER),
            ),
            (
                "responder@example.jp",
                "Responder",
                Role::Responder,
                Some(RESPONDER),
            ),
            ("alice@example.jp", "Alice Sato", Role::Responder, None),
            ("bob@example.jp", "Bob Tanaka", Role::Responder, None),
        ] {
            let user = store
                .create_user(&NewUser::new(email, name, role).unwrap(), now)
                .await
                .unwrap();
            if let Some(token) = token {
                store
                    .create_token(
                        user.id,
                        "tests",
                        &TokenScope::full(),
                        &hash_secret(token),
                        now,
                        None,
                    )
                    .await
                    .unwrap();
            }
            ids.push(user.id);
        }
        let mut state = AppState::new(
            Arc::clone(&store),
            clock.clone(),
            OrgSettings::default(),
            kizuki_playbook::Library::builtin().unwrap(),
            kizuki_reference::Library::builtin().unwrap(),
            AuditKey::generate(&mut rand::rng()),
        );
        state.delivery = Arc::new(Delivery {
            mailer: None,
            webhooks: WebhookSender::new(WebhookSettings {
                allow: parse_allow_list(allow).unwrap(),
                ..WebhookSettings::default()
            }),
        });
        Some(Harness {
            app: kizuki_server::app(state),
            store,
            clock,
            alice: ids[3],
            bob: ids[4],
        })
    }

    async fn call(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_raw(token, method, uri, body.map(|b| b.to_string()))
            .await
    }

    async fn call_raw(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(text) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(text)
            }
            None => Body::empty(),
        };
        let res = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }
}

/// The fields a problem document names.
fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn rule(name: &str) -> Value {
    json!({"name": name, "min_severity": 3,
           "recipients": [{"kind": "role", "role": "incident_commander"}],
           "channels": [{"kind": "email"}], "template_id": "new_incident"})
}

/// "CSIRT primary": weekly turns from Monday 2026-06-15, handing over at 09:00 Tokyo time.
fn weekly_rotation(members: &[i64]) -> Value {
    json!({"name": "CSIRT primary", "members": members,
           "handover": "09:00", "time_zone": "Asia/Tokyo",
           "period": {"kind": "weekly"}, "start_date": "2026-06-15"})
}

// --- scenarios -------------------------------------------------------------------------------

async fn rules_are_versioned(backend: Backend) {
    let Some(h) = Harness::new(backend, &[]).await else {
        return;
    };
    let (status, created) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/rules",
            Some(rule("Level 3 and up")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["name"], "Level 3 and up");
    let id = created["id"].as_i64().unwrap();
    let uri = format!("/api/v1/notify/rules/{id}");

    // Two administrators read version 1; the first to save wins.
    let mut first = rule("Level 4 and up");
    first["min_severity"] = json!(4);
    first["version"] = json!(1);
    let (status, saved) = h.call(ADMIN, Method::PUT, &uri, Some(first)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 2);
    let mut second = rule("Everything");
    second["version"] = json!(1);
    let (status, problem) = h.call(ADMIN, Method::PUT, &uri, Some(second)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(fields(&problem), vec!["version"]);
    // The stale save changed nothing.
    let (_, now) = h.call(ADMIN, Method::GET, &uri, None).await;
    assert_eq!(now["name"], "Level 4 and up");
    assert_eq!(now["min_severity"], 4);
    assert_eq!(now["version"], 2);

    // Both changes are in the audit log under the administrator's name; the refused one is not.
    let (_, audit) = h
        .call(ADMIN, Method::GET, "/api/v1/audit?limit=1000", None)
        .await;
    let ours: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["object"] == format!("rule:{id}"))
        .map(|r| {
            assert_eq!(r["actor"], "admin@example.jp", "{r}");
            (
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ours,
        vec![("notify.rule.create", "ok"), ("notify.rule.update", "ok")],
        "{audit}"
    );

    // A level the ladder does not have, and a webhook that does not exist, are named.
    let mut bad = rule("Bad");
    bad["min_severity"] = json!(9);
    bad["channels"] = json!([{"kind": "webhook", "webhook_id": 77}]);
    let (status, problem) = h
        .call(ADMIN, Method::POST, "/api/v1/notify/rules", Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let named = fields(&problem);
    assert!(named.contains(&"min_severity".to_owned()), "{problem}");
    assert!(
        named.contains(&"channels[0].webhook_id".to_owned()),
        "{problem}"
    );

    // A typo in a field name and an unknown channel are named, not ignored.
    let mut typo = rule("Typo");
    typo["min_severty"] = json!(3);
    let (status, problem) = h
        .call(ADMIN, Method::POST, "/api/v1/notify/rules", Some(typo))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem.to_string().contains("min_severty"), "{problem}");
    let mut channel = rule("Pager");
    channel["channels"] = json!([{"kind": "pager"}]);
    let (status, problem) = h
        .call(ADMIN, Method::POST, "/api/v1/notify/rules", Some(channel))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem.to_string().contains("pager"), "{problem}");
    let (status, problem) = h
        .call_raw(
            ADMIN,
            Method::POST,
            "/api/v1/notify/rules",
            Some(r#"{"name": "x", "min_severity": "high"}"#.to_owned()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(fields(&problem), vec!["min_severity"], "{problem}");

    // Deleting needs the current version too.
    let (status, _) = h
        .call(ADMIN, Method::DELETE, &format!("{uri}?version=1"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = h
        .call(ADMIN, Method::DELETE, &format!("{uri}?version=2"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.call(ADMIN, Method::GET, &uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = h
        .call(ADMIN, Method::GET, "/api/v1/notify/rules", None)
        .await;
    assert_eq!(list, json!([]));
}

async fn a_broken_template_is_previewed_and_never_saved(backend: Backend) {
    let Some(h) = Harness::new(backend, &[]).await else {
        return;
    };
    let uri = "/api/v1/notify/templates/new_incident/en";
    let (status, built_in) = h.call(ADMIN, Method::GET, uri, None).await;
    assert_eq!(status, StatusCode::OK, "{built_in}");
    assert_eq!(built_in["version"], 0);
    assert_eq!(built_in["built_in"], true);

    let good = json!({"version": 0, "subject": "[Kizuki] {{incident.title}}",
                      "body": "Hello {{recipient.name}},\nLevel {{incident.severity}}: {{incident.url}}"});
    let (status, saved) = h.call(ADMIN, Method::PUT, uri, Some(good)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);

    // The preview names the unknown field, its part and its line; nothing is saved.
    let broken_body = "Hello {{recipient.name}},\nSee {{incident.titel}} now";
    let (status, problem) = h
        .call(
            ADMIN,
            Method::POST,
            &format!("{uri}/preview"),
            Some(json!({"subject": "[Kizuki] {{incident.title}}", "body": broken_body})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), vec!["body"], "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("incident.titel"), "{message}");
    assert!(message.contains("line 2"), "{message}");

    // Saving it is refused the same way, and the saved template is untouched.
    let (status, problem) = h
        .call(
            ADMIN,
            Method::PUT,
            uri,
            Some(json!({"version": 1, "subject": "x", "body": broken_body})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("incident.titel"), "{problem}");
    let (_, kept) = h.call(ADMIN, Method::GET, uri, None).await;
    assert_eq!(kept["version"], 1);
    assert_eq!(kept["subject"], "[Kizuki] {{incident.title}}");

    // A good preview renders with sample values, or with a real incident's facts.
    let (status, preview) = h
        .call(
            ADMIN,
            Method::POST,
            &format!("{uri}/preview"),
            Some(json!({"subject": "[Kizuki] {{incident.title}}", "body": "Day: {{day}}"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview["subject"],
        "[Kizuki] File server encrypted (sample)"
    );
    let (status, incident) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "VPN accounts brute-forced", "category": "unauthorised_access", "severity": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    let (status, preview) = h
        .call(
            ADMIN,
            Method::POST,
            &format!("{uri}/preview"),
            Some(
                json!({"subject": "[Kizuki] {{incident.title}} (#{{incident.id}})", "body": "-",
                        "incident_id": incident["id"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview["subject"],
        format!("[Kizuki] VPN accounts brute-forced (#{})", incident["id"])
    );

    // A restricted incident the administrator is not on stays hidden: same answer as none.
    let (status, secret) = h
        .call(
            COMMANDER,
            Method::POST,
            "/api/v1/incidents",
            Some(
                json!({"title": "Board member phished", "category": "targeted_email",
                        "severity": 4, "restricted": true}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{secret}");
    for incident_id in [secret["id"].as_i64().unwrap(), 999_999] {
        let (status, problem) = h
            .call(
                ADMIN,
                Method::POST,
                &format!("{uri}/preview"),
                Some(json!({"subject": "{{incident.title}}", "body": "-", "incident_id": incident_id})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert!(!problem.to_string().contains("phished"), "{problem}");
    }

    // Stale saves conflict; resetting goes back to the built-in one.
    let (status, _) = h
        .call(
            ADMIN,
            Method::PUT,
            uri,
            Some(json!({"version": 0, "subject": "s", "body": "b"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, reset) = h.call(ADMIN, Method::DELETE, uri, None).await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(reset["version"], 0);
    assert_eq!(reset["subject"], built_in["subject"]);

    // An unknown kind or language is named.
    let (status, problem) = h
        .call(ADMIN, Method::GET, "/api/v1/notify/templates/sms/en", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), vec!["kind"]);
}

async fn an_override_takes_the_pager(backend: Backend) {
    let Some(h) = Harness::new(backend, &[]).await else {
        return;
    };
    let (status, rotation) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/rotations",
            Some(weekly_rotation(&[h.alice, h.bob])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotation}");
    let id = rotation["id"].as_i64().unwrap();

    // 2026-06-20 12:00 in Tokyo: Alice's week (from Monday 15th 09:00).
    let (status, now) = h
        .call(RESPONDER, Method::GET, "/api/v1/notify/oncall/now", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now[0]["user_id"], h.alice, "{now}");
    assert_eq!(now[0]["display_name"], "Alice Sato");
    assert_eq!(now[0]["because"], "turn");

    // Bob covers the afternoon.
    let (status, with) = h
        .call(
            ADMIN,
            Method::POST,
            &format!("/api/v1/notify/rotations/{id}/overrides"),
            Some(json!({"user_id": h.bob, "from": "2026-06-20T02:00:00Z", "to": "2026-06-20T09:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{with}");
    let (_, now) = h
        .call(RESPONDER, Method::GET, "/api/v1/notify/oncall/now", None)
        .await;
    assert_eq!(now[0]["user_id"], h.bob, "{now}");
    assert_eq!(now[0]["display_name"], "Bob Tanaka");
    assert_eq!(now[0]["because"], "override");
    assert_eq!(now[0]["until"], "2026-06-20T09:00:00Z");

    // When the override ends, the pager goes back to Alice (time is the server's clock).
    h.clock.set("2026-06-20T10:00:00Z".parse().unwrap());
    let (_, now) = h
        .call(RESPONDER, Method::GET, "/api/v1/notify/oncall/now", None)
        .await;
    assert_eq!(now[0]["user_id"], h.alice, "{now}");

    // An override that ends before it starts, or names nobody, is named.
    let (status, problem) = h
        .call(
            ADMIN,
            Method::POST,
            &format!("/api/v1/notify/rotations/{id}/overrides"),
            Some(json!({"user_id": 999_999, "from": "2026-06-21T02:00:00Z", "to": "2026-06-21T01:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let named = fields(&problem);
    assert!(named.contains(&"to".to_owned()), "{problem}");
    assert!(named.contains(&"user_id".to_owned()), "{problem}");

    // A rotation with an unknown zone is refused naming it.
    let (status, problem) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/rotations",
            Some(
                json!({"name": "Bad", "members": [h.alice], "handover": "09:00",
                        "time_zone": "Asia/Atlantis", "period": {"kind": "daily"},
                        "start_date": "2026-06-15"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        fields(&problem).contains(&"time_zone".to_owned()),
        "{problem}"
    );
}

async fn a_rotation_in_use_is_not_deleted(backend: Backend) {
    let Some(h) = Harness::new(backend, &[]).await else {
        return;
    };
    let (status, rotation) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/rotations",
            Some(weekly_rotation(&[h.alice])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotation}");
    let id = rotation["id"].as_i64().unwrap();
    let mut paging = rule("page the first responders");
    paging["recipients"] = json!([{"kind": "on_call", "rotation_id": id}]);
    let (status, created) = h
        .call(ADMIN, Method::POST, "/api/v1/notify/rules", Some(paging))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // Deleting it would leave the rule paging nobody: refused, naming the rule.
    let path = format!("/api/v1/notify/rotations/{id}?version=1");
    let (status, problem) = h.call(ADMIN, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("page the first responders")),
        "{problem}"
    );
    let (status, _) = h
        .call(
            ADMIN,
            Method::GET,
            &format!("/api/v1/notify/rotations/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the rotation is still there");

    // Once the rule is gone, so may the rotation be.
    let rule_id = created["id"].as_i64().unwrap();
    let (status, _) = h
        .call(
            ADMIN,
            Method::DELETE,
            &format!("/api/v1/notify/rules/{rule_id}?version=1"),
            None,
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (status, _) = h.call(ADMIN, Method::DELETE, &path, None).await;
    assert!(status.is_success(), "{status}");
}

async fn webhooks_to_this_machine_need_allowing(backend: Backend) {
    let Some(h) = Harness::new(backend, &[]).await else {
        return;
    };
    let (status, problem) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/webhooks",
            Some(json!({"name": "Local", "format": "signed_json", "url": "http://127.0.0.1:9000/hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), vec!["url"], "{problem}");
    assert!(
        problem.to_string().contains("KIZUKI_WEBHOOK_ALLOW"),
        "{problem}"
    );
    // Credentials in the URL are refused too.
    let (status, problem) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/webhooks",
            Some(json!({"name": "Creds", "format": "slack", "url": "https://u:p@hooks.example.com/x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), vec!["url"], "{problem}");
    let (_, list) = h
        .call(ADMIN, Method::GET, "/api/v1/notify/webhooks", None)
        .await;
    assert_eq!(list, json!([]));

    // Allowed by the administrator: accepted, and the secret is shown this once.
    let Some(h) = Harness::new(backend, &["127.0.0.1/32"]).await else {
        return;
    };
    let (status, created) = h
        .call(
            ADMIN,
            Method::POST,
            "/api/v1/notify/webhooks",
            Some(json!({"name": "Local", "format": "signed_json", "url": "http://127.0.0.1:9000/hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (_, one) = h
        .call(
            ADMIN,
            Method::GET,
            &format!("/api/v1/notify/webhooks/{id}"),
            None,
        )
        .await;
    let (_, list) = h
        .call(ADMIN, Method::GET, "/api/v1/notify/webhooks", None)
        .await;
    for shown in [&one, &list[0]] {
        assert_eq!(shown["has_secret"], true, "{shown}");
        assert!(shown.get("secret").is_none(), "{shown}");
        assert!(!shown.to_string().contains(&secret), "{shown}");
    }
    // Nor does the audit log keep it.
    let (_, audit) = h
        .call(ADMIN, Method::GET, "/api/v1/audit?limit=1000", None)
        .await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "notify.webhook.create"),
        "{audit}"
    );
    assert!(!audit.to_string().contains(&secret));
    // The sender gets the same secret.
    assert_eq!(h.store.webhook_secret(id).await.unwrap(), Some(secret));
}

async fn only_administrators_manage(backend: Backend) {
    let Some(h) = Harness::new(backend, &[]).await else {
        return;
    };
    for token in [COMMANDER, RESPONDER] {
        for (method, uri, body) in [
            (Method::GET, "/api/v1/notify/rules", None),
            (Method::POST, "/api/v1/notify/rules", Some(rule("Sneaky"))),
            (
                Method::PUT,
                "/api/v1/notify/chain",
                Some(json!({"version": 0, "steps": []})),
            ),
            (Method::GET, "/api/v1/notify/webhooks", None),
            (
                Method::POST,
                "/api/v1/notify/templates/new_incident/ja/preview",
                Some(json!({"subject": "s", "body": "b"})),
            ),
        ] {
            let (status, problem) = h.call(token, method.clone(), uri, body).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{token} {method} {uri}: {problem}"
            );
        }
    }
    // Nothing was written.
    let (_, rules) = h
        .call(ADMIN, Method::GET, "/api/v1/notify/rules", None)
        .await;
    assert_eq!(rules, json!([]));
    // Everyone who responds may see who is on call.
    let (status, _) = h
        .call(COMMANDER, Method::GET, "/api/v1/notify/oncall/now", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The chain: saved by an administrator at version 0, then stale at 0.
    let chain = json!({"version": 0, "steps": [{"recipients": [{"kind": "role", "role": "admin"}],
                        "channels": [{"kind": "email"}], "after_minutes": 30}]});
    let (status, saved) = h
        .call(
            ADMIN,
            Method::PUT,
            "/api/v1/notify/chain",
            Some(chain.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    let (status, _) = h
        .call(ADMIN, Method::PUT, "/api/v1/notify/chain", Some(chain))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await;
            })+
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Postgres).await;
            })+
        }
    };
}

both_backends!(
    rules_are_versioned,
    a_broken_template_is_previewed_and_never_saved,
    an_override_takes_the_pager,
    a_rotation_in_use_is_not_deleted,
    webhooks_to_this_machine_need_allowing,
    only_administrators_manage,
);
