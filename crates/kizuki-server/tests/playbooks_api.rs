//! `POST /api/v1/playbooks/validate` and `POST /api/v1/playbooks`: checking and uploading
//! playbook versions through the API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use kizuki_domain::clock::Clock;
use kizuki_domain::user::{NewUser, Role, TokenScope};
use serde_json::{Value, json};

mod common;
use common::{Api, TOKEN};

const ADMIN_TOKEN: &str = "kzk_admin-token-for-playbook-tests";

/// A small valid playbook for `general` at `version`, whose one task is `task`.
pub fn playbook(version: u32, task: &str) -> String {
    format!(
        "id: general
version: {version}
category: other
title:
  ja: 汎用（改訂）
  en: General, revised
summary:
  ja: 改訂版
  en: The revised basics
phases:
  - id: triage
    title: {{ ja: 初動, en: Triage }}
    tasks:
      - id: call-hotline
        title: {{ ja: {task}, en: {task} }}
        lane: ciso_csirt
        due: {{ after: 2h, from: applied }}
        why:
          cases: [3]
          lesson: {{ ja: 早く動く, en: Move early }}
"
    )
}

async fn admin(api: &Api) {
    let now = api.clock.now();
    let u = api
        .store
        .create_user(
            &NewUser::new("admin@example.jp", "Admin", Role::Admin).unwrap(),
            now,
        )
        .await
        .unwrap();
    api.store
        .create_token(
            u.id,
            "admin",
            &TokenScope::full(),
            &kizuki_auth::secret::hash_secret(ADMIN_TOKEN),
            now,
            None,
        )
        .await
        .unwrap();
}

async fn send_yaml(
    api: &Api,
    token: &str,
    uri: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/yaml")
        .body(body.into())
        .unwrap();
    let (status, _, bytes) = api.raw(req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn validate_answers_the_summary_or_every_error_with_line_and_field() {
    let api = Api::sqlite().await;
    let (status, body) = send_yaml(
        &api,
        TOKEN,
        "/api/v1/playbooks/validate",
        playbook(2, "Call"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "general");
    assert_eq!(body["version"], 2);
    assert_eq!(body["tasks"], 1);

    let broken = playbook(2, "Call")
        .replace("lane: ciso_csirt", "lane: it")
        .replace("category: other", "category: nonsense");
    let (status, body) = send_yaml(&api, TOKEN, "/api/v1/playbooks/validate", broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body}");
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"category"), "{body}");
    assert!(fields.contains(&"phases[0].tasks[0].lane"), "{body}");
    for e in errors {
        assert!(e["message"].as_str().unwrap().starts_with("line "), "{e}");
    }
    // Validating stores nothing.
    assert_eq!(api.store.playbook_upload_seq().await.unwrap(), 0);
}

#[tokio::test]
async fn only_administrators_upload_and_only_higher_versions() {
    let api = Api::sqlite().await;
    admin(&api).await;
    // An incident commander may validate but not upload.
    let (status, body) = send_yaml(&api, TOKEN, "/api/v1/playbooks", playbook(2, "Call")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = send_yaml(
        &api,
        ADMIN_TOKEN,
        "/api/v1/playbooks",
        playbook(2, "Call the hotline"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], 2);
    let listed = api.get("/api/v1/playbooks/general").await;
    assert_eq!(listed["version"], 2);
    assert_eq!(
        listed["phases"][0]["tasks"][0]["title"]["en"],
        "Call the hotline"
    );

    for v in [2, 1] {
        let (status, body) =
            send_yaml(&api, ADMIN_TOKEN, "/api/v1/playbooks", playbook(v, "Again")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}: {body}");
        assert_eq!(body["errors"][0]["field"], "version", "{body}");
    }
    // The upload is in the audit log.
    let audit = api.store.list_audit(0, 1000).await.unwrap();
    assert!(audit.iter().any(|r| r.event.action == "playbook.upload"));

    // An oversized body is refused with a clear problem.
    let big = "#".repeat(300 * 1024);
    let (status, body) = send_yaml(&api, ADMIN_TOKEN, "/api/v1/playbooks", big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("262144"),
        "{body}"
    );
    let (status, _) = send_yaml(&api, TOKEN, "/api/v1/playbooks/validate", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A second replica (another server on the same database) serves an upload made on the first.
#[tokio::test]
async fn another_replica_notices_an_upload() {
    let first = Api::sqlite().await;
    admin(&first).await;
    let state = kizuki_server::AppState::new(
        first.store.clone(),
        first.clock.clone(),
        kizuki_domain::settings::OrgSettings::default(),
        kizuki_playbook::Library::builtin().unwrap(),
        kizuki_reference::Library::builtin().unwrap(),
        kizuki_auth::audit_chain::AuditKey::generate(&mut rand::rng()),
    );
    let second = common::Api {
        app: kizuki_server::app(state.clone()),
        state,
        store: first.store.clone(),
        clock: first.clock.clone(),
    };
    assert_eq!(second.get("/api/v1/playbooks/general").await["version"], 1);
    let (status, body) = send_yaml(
        &first,
        ADMIN_TOKEN,
        "/api/v1/playbooks",
        playbook(7, "Seven"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(second.get("/api/v1/playbooks/general").await["version"], 7);
    let _ = json!({});
}
