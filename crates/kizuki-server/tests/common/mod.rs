//! The in-process HTTP harness shared by the server's test files: the real router on a real
//! store (SQLite always, PostgreSQL when `KIZUKI_TEST_POSTGRES_URL` is set), a stopped clock
//! and one incident commander's token.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use kizuki_auth::audit_chain::AuditKey;
use kizuki_auth::secret::hash_secret as token_hash;
use kizuki_domain::clock::ManualClock;
use kizuki_domain::settings::OrgSettings;
use kizuki_domain::user::{NewUser, Role, TokenScope};
use kizuki_server::AppState;
use kizuki_store::Store;
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "kzk_test-token-for-api-tests";

pub struct Api {
    pub app: Router,
    /// The state behind `app`, for what a test needs from it (the acknowledgement key).
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
}

impl Api {
    pub async fn new(store: Arc<dyn Store>) -> Self {
        let now: Timestamp = "2026-06-20T03:00:00Z".parse().unwrap();
        let clock = Arc::new(ManualClock::new(now));
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
        let state = AppState::new(
            Arc::clone(&store),
            clock.clone(),
            OrgSettings::default(),
            kizuki_playbook::Library::builtin().unwrap(),
            kizuki_reference::Library::builtin().unwrap(),
            AuditKey::generate(&mut rand::rng()),
        );
        Self {
            app: kizuki_server::app(state.clone()),
            state,
            store,
            clock,
        }
    }

    pub async fn sqlite() -> Self {
        let dir =
            std::env::temp_dir().join(format!("kizuki-api-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
            "sqlite://{}",
            dir.join("api.db").display()
        ))
        .await
        .unwrap();
        store.migrate().await.unwrap();
        Self::new(Arc::new(store)).await
    }

    pub async fn postgres() -> Option<Self> {
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
        Some(Self::new(Arc::new(store)).await)
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, ct, body)
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let (status, _, bytes) = self.raw(req.body(body).unwrap()).await;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    pub async fn send_text(
        &self,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, String, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .unwrap();
        let (status, ct, bytes) = self.raw(req).await;
        (
            status,
            ct,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn patch(&self, uri: &str, body: Value) -> Value {
        let (status, res) = self.call(Method::PATCH, uri, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "PATCH {uri}: {res}");
        res
    }

    pub async fn get(&self, uri: &str) -> Value {
        let (status, body) = self.call(Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
        body
    }

    pub async fn post(&self, uri: &str, body: Value) -> Value {
        let (status, res) = self.call(Method::POST, uri, Some(body)).await;
        assert!(status.is_success(), "POST {uri}: {status} {res}");
        res
    }
}

pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
