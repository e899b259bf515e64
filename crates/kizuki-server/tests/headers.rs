//! Security headers on every kind of response the real router gives: success, problem+json
//! errors, the 404 fallback. In-process, so the server does not know the peer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use jiff::Timestamp;
use kizuki_auth::audit_chain::AuditKey;
use kizuki_auth::secret::hash_secret as token_hash;
use kizuki_domain::clock::ManualClock;
use kizuki_domain::settings::OrgSettings;
use kizuki_domain::user::{NewUser, Role, TokenScope};
use kizuki_server::AppState;
use kizuki_server::client_addr::NetworkConfig;
use kizuki_server::security_headers::{CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY};
use kizuki_store::Store;
use tower::ServiceExt;

const TOKEN: &str = "kzk_test-token-for-header-tests";

async fn app(dir: &tempfile::TempDir, tls: bool) -> Router {
    let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
        "sqlite://{}",
        dir.path().join("headers.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let now: Timestamp = "2026-06-20T03:00:00Z".parse().unwrap();
    let user = store
        .create_user(
            &NewUser::new("csirt@example.jp", "CSIRT lead", Role::IncidentCommander).unwrap(),
            now,
        )
        .await
        .unwrap();
    store
        .create_token(
            user.id,
            "tests",
            &TokenScope::full(),
            &token_hash(TOKEN),
            now,
            None,
        )
        .await
        .unwrap();
    let mut state = AppState::new(
        Arc::new(store),
        Arc::new(ManualClock::new(now)),
        OrgSettings::default(),
        kizuki_playbook::Library::builtin().unwrap(),
        kizuki_reference::Library::builtin().unwrap(),
        AuditKey::generate(&mut rand::rng()),
    );
    state.network = Arc::new(NetworkConfig {
        trusted_proxies: vec![],
        tls,
    });
    kizuki_server::app(state)
}

async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, HeaderMap) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    (res.status(), res.headers().clone())
}

fn assert_secure(what: &str, h: &HeaderMap, tls: bool) {
    let expect = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        ("cache-control", "no-store"),
    ];
    for (name, value) in expect {
        assert_eq!(
            h.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: {name}"
        );
    }
    assert_eq!(
        h.get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        tls.then_some(STRICT_TRANSPORT_SECURITY),
        "{what}: HSTS only over TLS"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    for tls in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let app = app(&dir, tls).await;
        let cases = [
            (Method::GET, "/healthz", None, StatusCode::OK),
            (Method::GET, "/api/v1/me", None, StatusCode::OK),
            (Method::GET, "/api/openapi.json", None, StatusCode::OK),
            (Method::GET, "/no/such/route", None, StatusCode::NOT_FOUND),
            (
                Method::POST,
                "/api/v1/incidents",
                Some(r#"{"title": "", "category": "other"}"#),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                Method::POST,
                "/api/v1/incidents",
                Some("{not json"),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (method, uri, body, status) in cases {
            let what = format!("{method} {uri} (tls: {tls})");
            let (got, headers) = send(&app, method, uri, body).await;
            assert_eq!(got, status, "{what}");
            assert_secure(&what, &headers, tls);
        }
        // Without a token.
        let res = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/api/v1/incidents")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_secure("401", res.headers(), tls);
    }
}
