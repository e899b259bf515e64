//! The security of the API, observed from outside: in-process requests against the real
//! router and a real store (SQLite always; PostgreSQL too when `KIZUKI_TEST_POSTGRES_URL` is
//! set, which CI must do), with a stopped clock.
//!
//! Who may call what is written out below as one table, from `docs/SECURITY.md` and the roles
//! the issue describes — not read from the server — so that a change to the server's rules
//! fails here until the table is changed with it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use kizuki_auth::audit_chain::AuditKey;
use kizuki_domain::clock::{Clock, ManualClock};
use kizuki_domain::settings::OrgSettings;
use kizuki_domain::user::{NewSession, NewUser, Role, SessionStage, TokenScope, User};
use kizuki_server::AppState;
use kizuki_server::access::AuthSettings;
use kizuki_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

// --- the rules, written out ----------------------------------------------------------------

const Y: bool = true;
const N: bool = false;

/// How a route may be reached once the role allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// A token or a browser session.
    Any,
    /// A browser session only: a token never manages an account.
    Session,
}
use Via::{Any as A, Session as S};

/// The roles, in the order of the table's columns.
const ROLES: [Role; 8] = [
    Role::Admin,
    Role::IncidentCommander,
    Role::Responder,
    Role::Executive,
    Role::PrLegal,
    Role::BusinessUnit,
    Role::Reporter,
    Role::ExternalResponder,
];

/// Every route, and which signed-in roles may call it.
///
/// Everyone may report a suspicion; reporters only do that and read their own reports;
/// external responders read and work on the incidents they are members of; only
/// administrators manage users and read the audit log; everyone signed in manages their own
/// account.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, Via, [bool; 8])] = &[
    //                                                                      adm ic rsp exe pr bu rep ext
    ("POST",   "/api/v1/auth/login",                                    A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/auth/enrol",                                    A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/auth/logout",                                   A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/me",                                            A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/auth/mfa/totp",                                 A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/auth/mfa/totp/confirm",                         A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/auth/password",                                 S, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/auth/sessions",                                 S, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("DELETE", "/api/v1/auth/sessions/{session_id}",                    S, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/auth/tokens",                                   S, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/auth/tokens",                                   S, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("DELETE", "/api/v1/auth/tokens/{token_id}",                        S, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/users",                                         A, [Y, N, N, N, N, N, N, N]),
    ("POST",   "/api/v1/users",                                         A, [Y, N, N, N, N, N, N, N]),
    ("PATCH",  "/api/v1/users/{user_id}",                               A, [Y, N, N, N, N, N, N, N]),
    ("POST",   "/api/v1/users/{user_id}/mfa/reset",                     A, [Y, N, N, N, N, N, N, N]),
    ("GET",    "/api/v1/audit",                                         A, [Y, N, N, N, N, N, N, N]),
    ("GET",    "/api/v1/audit/verify",                                  A, [Y, N, N, N, N, N, N, N]),
    ("POST",   "/api/v1/reports",                                       A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/incidents",                                     A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents",                                     A, [Y, Y, Y, N, N, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}",                                A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("PATCH",  "/api/v1/incidents/{id}",                                A, [Y, Y, Y, N, N, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/export",                         A, [Y, Y, Y, Y, Y, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/members",                        A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/members",                        A, [Y, Y, N, N, N, N, N, N]),
    ("DELETE", "/api/v1/incidents/{id}/members/{user_id}",              A, [Y, Y, N, N, N, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/lane-owners",                    A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("PUT",    "/api/v1/incidents/{id}/lane-owners/{lane}",             A, [Y, Y, N, N, N, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/timeline",                       A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/timeline",                       A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("GET",    "/api/v1/incidents/{id}/tasks",                          A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/playbooks",                      A, [Y, Y, Y, N, N, N, N, Y]),
    ("PATCH",  "/api/v1/incidents/{id}/tasks/{task_id}",                A, [Y, Y, Y, N, N, N, N, Y]),
    ("POST",   "/api/v1/incidents/{id}/tasks/{task_id}/complete",       A, [Y, Y, Y, N, N, N, N, Y]),
    ("GET",    "/api/v1/incidents/{id}/decisions",                      A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/decisions",                      A, [Y, Y, Y, Y, Y, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/decisions/{decision_id}",        A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/decisions/{decision_id}/decide", A, [Y, Y, N, Y, N, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/parties",                        A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/parties",                        A, [Y, Y, Y, N, Y, N, N, N]),
    ("PATCH",  "/api/v1/incidents/{id}/parties/{party_id}",             A, [Y, Y, Y, N, Y, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/evidence",                       A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/evidence",                       A, [Y, Y, Y, N, N, N, N, Y]),
    ("POST",   "/api/v1/incidents/{id}/evidence/{evidence_id}/custody", A, [Y, Y, Y, N, N, N, N, Y]),
    ("GET",    "/api/v1/incidents/{id}/observables",                    A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/observables",                    A, [Y, Y, Y, N, N, N, N, Y]),
    ("POST",   "/api/v1/incidents/{id}/sweeps",                         A, [Y, Y, Y, N, N, N, N, Y]),
    ("GET",    "/api/v1/observables/search",                            A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/incidents/{id}/legal-clocks",                   A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/legal-clocks",                   A, [Y, Y, Y, N, Y, N, N, N]),
    ("POST",   "/api/v1/incidents/{id}/legal-clocks/{clock_id}/met",    A, [Y, Y, Y, N, Y, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/notifications",                  A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/notifications/{notification_id}/ack", A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/notifications/{notification_id}/retry", A, [Y, Y, N, N, N, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/phone-tree",                     A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/phone-tree/{notification_id}/calls", A, [Y, Y, N, N, N, N, N, N]),
    ("GET",    "/api/v1/reference/cases",                               A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("GET",    "/api/v1/reference/cases/{case_id}",                     A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("GET",    "/api/v1/playbooks",                                     A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("GET",    "/api/v1/playbooks/{id}",                                A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("POST",   "/api/v1/playbooks/validate",                            A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("POST",   "/api/v1/playbooks",                                     A, [Y, N, N, N, N, N, N, N]),
    ("GET",    "/api/v1/settings/severity",                             A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("GET",    "/api/v1/incidents/{id}/review",                         A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("PUT",    "/api/v1/incidents/{id}/review",                         A, [Y, Y, Y, Y, Y, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/lessons",                        A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("POST",   "/api/v1/incidents/{id}/lessons",                        A, [Y, Y, Y, Y, Y, N, N, N]),
    ("PUT",    "/api/v1/incidents/{id}/lessons/{lesson_id}",            A, [Y, Y, Y, Y, Y, N, N, N]),
    ("POST",   "/api/v1/incidents/{id}/lessons/{lesson_id}/actions",    A, [Y, Y, Y, Y, Y, N, N, N]),
    ("GET",    "/api/v1/incidents/{id}/report",                         A, [Y, Y, Y, Y, Y, N, N, N]),
    ("GET",    "/api/v1/lessons",                                       A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("GET",    "/api/v1/corrective-actions",                            A, [Y, Y, Y, Y, Y, Y, Y, Y]),
    ("PATCH",  "/api/v1/corrective-actions/{action_id}",                A, [Y, Y, Y, Y, Y, N, N, N]),
    ("GET",    "/api/v1/exercises",                                     A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("POST",   "/api/v1/exercises",                                     A, [Y, Y, Y, N, N, N, N, N]),
    ("GET",    "/api/v1/exercises/{exercise_id}",                       A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("POST",   "/api/v1/exercises/{exercise_id}/advance",               A, [Y, Y, Y, N, N, N, N, N]),
    ("POST",   "/api/v1/exercises/{exercise_id}/actions",               A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("POST",   "/api/v1/exercises/{exercise_id}/end",                   A, [Y, Y, Y, N, N, N, N, N]),
    ("GET",    "/api/v1/exercises/{exercise_id}/report",                A, [Y, Y, Y, Y, Y, Y, N, Y]),    ("GET",    "/api/v1/notify/oncall/now",                             A, [Y, Y, Y, Y, Y, Y, N, Y]),
    ("GET",  "/api/v1/notify/rules",                                  A, [Y, N, N, N, N, N, N, N]),
    ("POST", "/api/v1/notify/rules",                                  A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/rules/{rule_id}",                        A, [Y, N, N, N, N, N, N, N]),
    ("PUT",  "/api/v1/notify/rules/{rule_id}",                        A, [Y, N, N, N, N, N, N, N]),
    ("DELETE","/api/v1/notify/rules/{rule_id}",                        A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/chain",                                  A, [Y, N, N, N, N, N, N, N]),
    ("PUT",  "/api/v1/notify/chain",                                  A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/templates",                              A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/templates/{kind}/{language}",            A, [Y, N, N, N, N, N, N, N]),
    ("PUT",  "/api/v1/notify/templates/{kind}/{language}",            A, [Y, N, N, N, N, N, N, N]),
    ("DELETE","/api/v1/notify/templates/{kind}/{language}",            A, [Y, N, N, N, N, N, N, N]),
    ("POST", "/api/v1/notify/templates/{kind}/{language}/preview",    A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/rotations",                              A, [Y, N, N, N, N, N, N, N]),
    ("POST", "/api/v1/notify/rotations",                              A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/rotations/{rotation_id}",                A, [Y, N, N, N, N, N, N, N]),
    ("PUT",  "/api/v1/notify/rotations/{rotation_id}",                A, [Y, N, N, N, N, N, N, N]),
    ("DELETE","/api/v1/notify/rotations/{rotation_id}",                A, [Y, N, N, N, N, N, N, N]),
    ("POST", "/api/v1/notify/rotations/{rotation_id}/overrides",      A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/webhooks",                               A, [Y, N, N, N, N, N, N, N]),
    ("POST", "/api/v1/notify/webhooks",                               A, [Y, N, N, N, N, N, N, N]),
    ("GET",  "/api/v1/notify/webhooks/{webhook_id}",                  A, [Y, N, N, N, N, N, N, N]),
    ("PUT",  "/api/v1/notify/webhooks/{webhook_id}",                  A, [Y, N, N, N, N, N, N, N]),
    ("DELETE","/api/v1/notify/webhooks/{webhook_id}",                  A, [Y, N, N, N, N, N, N, N]),
];

/// The routes that answer without signing in.
const PUBLIC: [(&str, &str); 3] = [
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/enrol"),
    ("POST", "/api/v1/reports"),
];

fn column(role: Role) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap()
}

/// Whether the table lets `role` call `method path` (through a session).
fn table_allows(role: Role, method: &str, path: &str) -> bool {
    let row = MATRIX
        .iter()
        .find(|(m, p, _, _)| *m == method && *p == path)
        .unwrap_or_else(|| panic!("{method} {path} is not in the table"));
    row.3[column(role)]
}

/// Every (method, path) the served OpenAPI document describes.
fn openapi_routes() -> BTreeSet<(String, String)> {
    let doc = kizuki_server::openapi();
    let mut routes = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PATCH", &item.patch),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ] {
            if op.is_some() {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

// --- the harness ---------------------------------------------------------------------------

const PASSWORD: &str = "plum blossoms over Kanazawa 1994";
const NEW_PASSWORD: &str = "seven lanterns by the Kamo river";
/// An id no row has.
const MISSING: i64 = 999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

/// One database with its clock and audit key; any number of apps ("server processes") can
/// be started on it.
struct Env {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    key: AuditKey,
    db: Db,
    _dir: Option<tempfile::TempDir>,
}

/// A user with a full-scope API token.
struct Person {
    user: User,
    token: String,
}

impl Person {
    fn id(&self) -> i64 {
        self.user.id
    }
}

fn postgres_available() -> bool {
    if std::env::var_os("KIZUKI_TEST_POSTGRES_URL").is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "KIZUKI_TEST_POSTGRES_URL must be set under CI"
    );
    eprintln!("SKIPPED: PostgreSQL half (set KIZUKI_TEST_POSTGRES_URL)");
    false
}

impl Env {
    async fn new(backend: Backend) -> Env {
        let (store, db, dir): (Arc<dyn Store>, Db, Option<tempfile::TempDir>) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("security.db");
                let store = kizuki_store_sqlite::SqliteStore::connect(&format!(
                    "sqlite://{}",
                    path.display()
                ))
                .await
                .unwrap();
                store.migrate().await.unwrap();
                (Arc::new(store), Db::Sqlite(path), Some(dir))
            }
            Backend::Postgres => {
                let admin = std::env::var("KIZUKI_TEST_POSTGRES_URL").unwrap();
                let url = kizuki_store_postgres::create_test_database(&admin)
                    .await
                    .unwrap();
                let store = kizuki_store_postgres::PgStore::connect(&url).await.unwrap();
                store.migrate().await.unwrap();
                (Arc::new(store), Db::Postgres(url), None)
            }
        };
        Env {
            store,
            clock: Arc::new(ManualClock::new(
                "2026-06-20T03:00:00Z".parse::<Timestamp>().unwrap(),
            )),
            key: AuditKey::generate(&mut rand::rng()),
            db,
            _dir: dir,
        }
    }

    /// A server's state with every default, as `kizuki serve` would build it.
    fn state(&self) -> AppState {
        AppState::new(
            Arc::clone(&self.store),
            self.clock.clone(),
            OrgSettings::default(),
            kizuki_playbook::Library::builtin().unwrap(),
            kizuki_reference::Library::builtin().unwrap(),
            self.key.clone(),
        )
    }

    fn api(&self) -> Api {
        Api::new(self.state())
    }

    fn with_auth(&self, auth: AuthSettings) -> Api {
        let mut state = self.state();
        state.auth = Arc::new(auth);
        Api::new(state)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    async fn person(&self, role: Role, name: &str) -> Person {
        let user = self
            .store
            .create_user(
                &NewUser::new(&format!("{name}@example.jp"), name, role).unwrap(),
                self.now(),
            )
            .await
            .unwrap();
        let token = format!("kzk_security-test-{name}");
        self.store
            .create_token(
                user.id,
                "tests",
                &TokenScope::full(),
                &kizuki_auth::secret::hash_secret(&token),
                self.now(),
                None,
            )
            .await
            .unwrap();
        Person { user, token }
    }

    async fn set_password(&self, user_id: i64, password: &str) {
        let hash = kizuki_auth::password::hash_password(&mut rand::rng(), password).unwrap();
        self.store.set_password(user_id, &hash).await.unwrap();
    }

    /// A fully signed-in browser session made directly in the store (no password hashing),
    /// for tests about what a session may reach rather than about signing in.
    async fn session_for(&self, user_id: i64, name: &str) -> Session {
        let secret = format!("kzs_security-test-session-{name}");
        self.store
            .create_session(
                &NewSession {
                    user_id,
                    secret_hash: kizuki_auth::secret::hash_secret(&secret),
                    stage: SessionStage::Full,
                    expires_at: self
                        .now()
                        .checked_add(SignedDuration::from_hours(12))
                        .unwrap(),
                    address: None,
                    user_agent: "tests".into(),
                },
                self.now(),
            )
            .await
            .unwrap();
        Session {
            cookie: format!("kizuki_session={secret}"),
            csrf: kizuki_server::access::csrf_token(&secret),
        }
    }

    /// Runs SQL on the database directly, past the store, as someone with database access
    /// but without the audit key would.
    async fn tamper(&self, statements: &[String]) {
        use sqlx::AssertSqlSafe;
        match &self.db {
            Db::Sqlite(path) => {
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                for s in statements {
                    sqlx::raw_sql(AssertSqlSafe(s.clone()))
                        .execute(&pool)
                        .await
                        .unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                pool.close().await;
            }
            Db::Postgres(url) => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .unwrap();
                for s in statements {
                    sqlx::raw_sql(AssertSqlSafe(s.clone()))
                        .execute(&pool)
                        .await
                        .unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                pool.close().await;
            }
        }
    }
}

/// A browser's session: its cookie (`name=value`) and the CSRF token it was given.
#[derive(Debug, Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

/// A request being put together.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Option<(Vec<u8>, String)>,
    peer: Option<SocketAddr>,
}

impl Req {
    fn new(method: &str, uri: impl Into<String>) -> Req {
        Req {
            method: method.parse().unwrap(),
            uri: uri.into(),
            headers: Vec::new(),
            body: None,
            peer: None,
        }
    }

    fn get(uri: impl Into<String>) -> Req {
        Req::new("GET", uri)
    }

    fn post(uri: impl Into<String>, body: Value) -> Req {
        Req::new("POST", uri).json(body)
    }

    fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// The cookie alone, as a browser sends it with any request, forged ones included.
    fn cookie(self, session: &Session) -> Req {
        self.header("cookie", &session.cookie)
    }

    /// The cookie and the CSRF token, as Kizuki's own pages send them.
    fn session(self, session: &Session) -> Req {
        let csrf = session.csrf.clone();
        self.cookie(session).header("x-csrf-token", &csrf)
    }

    fn json(mut self, body: Value) -> Req {
        self.body = Some((body.to_string().into_bytes(), "application/json".into()));
        self
    }

    fn bytes(mut self, body: &[u8], content_type: &str) -> Req {
        self.body = Some((body.to_vec(), content_type.into()));
        self
    }

    fn peer(mut self, addr: &str) -> Req {
        self.peer = Some(addr.parse().unwrap());
        self
    }

    fn build(self) -> Request<Body> {
        let mut req = Request::builder().method(self.method).uri(self.uri);
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let body = match self.body {
            Some((bytes, content_type)) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).unwrap();
        if let Some(peer) = self.peer {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        req
    }
}

#[derive(Debug)]
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The last part of a problem's `type` (`csrf`, `forbidden`, …).
    fn problem(&self) -> String {
        self.json()["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or_default()
            .to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn describe(&self) -> String {
        format!("{} {}", self.status, self.text())
    }
}

struct Api {
    app: Router,
}

impl Api {
    fn new(state: AppState) -> Api {
        Api {
            app: kizuki_server::app(state),
        }
    }

    async fn send(&self, req: Req) -> Resp {
        let res = self.app.clone().oneshot(req.build()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Resp {
            status,
            headers,
            bytes,
        }
    }

    /// Sends and insists on success; returns the JSON answer.
    async fn ok(&self, req: Req) -> Value {
        let what = format!("{} {}", req.method, req.uri);
        let res = self.send(req).await;
        assert!(res.status.is_success(), "{what}: {}", res.describe());
        res.json()
    }

    async fn get(&self, token: &str, uri: &str) -> Value {
        self.ok(Req::get(uri).bearer(token)).await
    }

    async fn post(&self, token: &str, uri: &str, body: Value) -> Value {
        self.ok(Req::post(uri, body).bearer(token)).await
    }

    async fn login(&self, body: Value) -> Resp {
        self.send(Req::post("/api/v1/auth/login", body)).await
    }

    async fn sign_in(&self, email: &str, password: &str) -> Session {
        let res = self
            .login(json!({"email": email, "password": password}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "login: {}", res.describe());
        session_of(&res)
    }
}

/// The session a login answer set up.
fn session_of(res: &Resp) -> Session {
    let set = res.header("set-cookie").expect("a session cookie");
    let pair = set.split(';').next().unwrap().trim().to_owned();
    assert!(pair.contains('='), "{set}");
    Session {
        cookie: pair,
        csrf: res.json()["csrf_token"].as_str().unwrap().to_owned(),
    }
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// RFC 6238 with HMAC-SHA-1, 30-second steps and 6 digits, written out here so that the
/// codes the tests present do not come from the code under test.
fn totp_code(secret_base32: &str, at: Timestamp) -> String {
    let key = base32_decode(secret_base32);
    let step = u64::try_from(at.as_second()).unwrap() / 30;
    format!("{:06}", hotp(&key, step) % 1_000_000)
}

/// RFC 4226's HOTP value before it is cut to digits.
fn hotp(key: &[u8], counter: u64) -> u32 {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ])
}

/// RFC 4648 base32 (upper case, padding ignored).
fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| *c != '=') {
        let value = match c {
            'A'..='Z' => u64::from(c) - u64::from('A'),
            '2'..='7' => u64::from(c) - u64::from('2') + 26,
            other => panic!("not base32: {other:?}"),
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap());
        }
    }
    out
}

#[test]
fn the_tests_own_totp_matches_rfc_6238() {
    // Appendix B of RFC 6238 (SHA-1, 8 digits), and the key in base32.
    let key = b"12345678901234567890";
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), key);
    for (t, expected) in [
        (59_u64, 94_287_082),
        (1_111_111_109, 7_081_804),
        (1_234_567_890, 89_005_924),
        (2_000_000_000, 69_279_037),
    ] {
        assert_eq!(hotp(key, t / 30) % 100_000_000, expected, "T={t}");
    }
    let at = Timestamp::from_second(59).unwrap();
    assert_eq!(totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", at), "287082");
}

/// Runs a scenario on SQLite, and on PostgreSQL when one is configured.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                if super::postgres_available() {
                    super::$name(super::Backend::Postgres).await;
                }
            }
        }
    )* };
}

on_both_stores!(
    unauthenticated_requests_are_refused,
    role_route_matrix,
    login_and_its_defences,
    totp_second_factor,
    mfa_is_mandatory_for_admins_and_commanders,
    mfa_can_be_required_for_other_roles,
    csrf_protects_session_writes,
    sessions_end_when_they_should,
    need_to_know,
    token_scopes,
    audit_tampering_is_detected,
    report_form,
);

// --- fixtures --------------------------------------------------------------------------------

/// The ids of an incident and one of each of its children.
#[derive(Debug, Clone, Copy)]
struct Fixture {
    incident: i64,
    task: i64,
    decision: i64,
    evidence: i64,
    clock: i64,
    party: i64,
    lesson: i64,
    action: i64,
    /// A tabletop exercise (of reference case 8) and the incident it runs on.
    exercise: i64,
    exercise_incident: i64,
    /// A user who may be removed, reset and edited at will.
    spare: i64,
    /// A notification rule, an on-call rotation and a webhook target (made by an
    /// administrator with [`furnish_notify`]; `MISSING` until then).
    rule: i64,
    rotation: i64,
    webhook: i64,
}

/// Gives `incident` one of every child, with `owner`'s token.
async fn furnish(api: &Api, owner: &str, incident: i64, spare: i64) -> Fixture {
    let base = format!("/api/v1/incidents/{incident}");
    api.post(
        owner,
        &format!("{base}/timeline"),
        json!({"lane": "ciso_csirt", "kind": "analysis", "text": "Proxy logs pulled"}),
    )
    .await;
    let tasks = api
        .post(
            owner,
            &format!("{base}/playbooks"),
            json!({"playbook": "data_leak"}),
        )
        .await;
    let decision = api
        .post(
            owner,
            &format!("{base}/decisions"),
            json!({"question": "Tell customers today?",
                   "options": [{"label": "Today", "scenario": "Early notice, facts still thin"},
                               {"label": "After the forensics", "scenario": "Accurate, but late"}]}),
        )
        .await;
    let evidence = api
        .post(
            owner,
            &format!("{base}/evidence"),
            json!({"name": "Proxy log export", "collected_by": "CSIRT"}),
        )
        .await;
    let clock = api
        .post(
            owner,
            &format!("{base}/legal-clocks"),
            json!({"kind": "custom", "name": "Tell the key customer (contract)", "hours": 48}),
        )
        .await;
    let party = api
        .post(
            owner,
            &format!("{base}/parties"),
            json!({"kind": "vendor_forensics", "name": "Forensics Co.", "phone": "03-0000-0000"}),
        )
        .await;
    api.post(
        owner,
        &format!("{base}/observables"),
        json!({"kind": "ip", "value": "192.0.2.1"}),
    )
    .await;
    api.post(owner, &format!("{base}/members"), json!({"user_id": spare}))
        .await;
    let lesson = api
        .post(
            owner,
            &format!("{base}/lessons"),
            json!({"text": "Keep an offline copy of the contact list", "categories": ["information_sharing"]}),
        )
        .await;
    let action = api
        .post(
            owner,
            &format!("{base}/lessons/{}/actions", id_of(&lesson)),
            json!({"title": "Print the call tree", "owner": "CSIRT", "due_date": "2026-09-30"}),
        )
        .await;
    let exercise = api
        .post(
            owner,
            "/api/v1/exercises",
            json!({"source": {"kind": "reference_case", "number": 8}}),
        )
        .await;
    Fixture {
        incident,
        task: id_of(&tasks[0]),
        decision: id_of(&decision),
        evidence: id_of(&evidence),
        clock: id_of(&clock),
        party: id_of(&party),
        lesson: id_of(&lesson),
        action: id_of(&action),
        exercise: id_of(&exercise),
        exercise_incident: exercise["incident_id"].as_i64().unwrap(),
        spare,
        rule: MISSING,
        rotation: MISSING,
        webhook: MISSING,
    }
}

/// Gives the fixture a notification rule, a rotation and a webhook target, with an
/// administrator's token (nobody else may make them).
async fn furnish_notify(api: &Api, admin: &str, f: &mut Fixture) {
    let rotation = api
        .post(
            admin,
            "/api/v1/notify/rotations",
            json!({"name": "CSIRT nights", "members": [f.spare], "handover": "09:00",
                   "time_zone": "Asia/Tokyo", "period": {"kind": "weekly"},
                   "start_date": "2026-06-01"}),
        )
        .await;
    f.rotation = id_of(&rotation);
    let rule = api
        .post(
            admin,
            "/api/v1/notify/rules",
            json!({"name": "Level 3 and up", "min_severity": 3,
                   "recipients": [{"kind": "on_call", "rotation_id": f.rotation}],
                   "channels": [{"kind": "email"}], "template_id": "new_incident"}),
        )
        .await;
    f.rule = id_of(&rule);
    let webhook = api
        .post(
            admin,
            "/api/v1/notify/webhooks",
            json!({"name": "SOC channel", "format": "slack",
                   "url": "https://hooks.example.com/services/T0/B0"}),
        )
        .await;
    f.webhook = id_of(&webhook);
}

/// A log line holding `ip`, in the JSON-lines shape the sweep reads.
fn log_with(ip: &str) -> Vec<u8> {
    format!(
        "{{\"@timestamp\":\"2026-06-20T01:05:00Z\",\"host\":{{\"name\":\"FS01\"}},\"event\":{{\"code\":\"4624\"}},\"source\":{{\"ip\":\"{ip}\"}}}}\n"
    )
    .into_bytes()
}

/// A callable URI for a route, with the fixture's ids in it.
fn concrete(path: &str, f: &Fixture) -> String {
    let uri = if path == "/api/v1/playbooks/{id}" {
        path.replace("{id}", "ransomware")
    } else {
        path.replace("{id}", &f.incident.to_string())
    };
    let uri = uri
        .replace("{task_id}", &f.task.to_string())
        .replace("{decision_id}", &f.decision.to_string())
        .replace("{evidence_id}", &f.evidence.to_string())
        .replace("{clock_id}", &f.clock.to_string())
        .replace("{party_id}", &f.party.to_string())
        .replace("{lesson_id}", &f.lesson.to_string())
        .replace("{action_id}", &f.action.to_string())
        .replace("{exercise_id}", &f.exercise.to_string())
        .replace("{rule_id}", &f.rule.to_string())
        .replace("{rotation_id}", &f.rotation.to_string())
        .replace("{webhook_id}", &f.webhook.to_string())
        .replace("{kind}", "new_incident")
        .replace("{language}", "en")
        .replace("{user_id}", &f.spare.to_string())
        .replace("{case_id}", "3")
        .replace("{lane}", "ciso_csirt")
        .replace("{notification_id}", &MISSING.to_string())
        .replace("{session_id}", &MISSING.to_string())
        .replace("{token_id}", &MISSING.to_string());
    assert!(!uri.contains('{'), "unfilled parameter in {uri}");
    if path == "/api/v1/observables/search" {
        format!("{uri}?kind=ip&value=192.0.2.1")
    } else {
        uri
    }
}

/// A request for a route with a body its handler will look at (usually refuse: an empty
/// object), so that the gate's decision is what the status shows.
fn request_for(method: &str, path: &str, uri: String) -> Req {
    // Deleting a webhook target takes no version, so an allowed call would delete the
    // fixture's; a missing id still shows the gate's decision (404, not 403).
    let uri = if method == "DELETE" && path == "/api/v1/notify/webhooks/{webhook_id}" {
        format!("/api/v1/notify/webhooks/{MISSING}")
    } else {
        uri
    };
    let req = Req::new(method, uri);
    match method {
        "POST" if path.ends_with("/sweeps") => {
            req.bytes(&log_with("192.0.2.1"), "application/octet-stream")
        }
        "POST" | "PATCH" | "PUT" => req.json(json!({})),
        _ => req,
    }
}

// --- scenarios -------------------------------------------------------------------------------

/// Without credentials, or with made-up ones, nothing but signing in, enrolment and the
/// report form answers.
async fn unauthenticated_requests_are_refused(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let ic = env.person(Role::IncidentCommander, "commander").await;
    let spare = env.person(Role::Responder, "spare").await;
    let incident = api
        .post(
            &ic.token,
            "/api/v1/incidents",
            json!({"title": "Suspicious logons", "category": "unauthorised_access"}),
        )
        .await;
    let f = furnish(&api, &ic.token, id_of(&incident), spare.id()).await;
    let before = api.get(&ic.token, "/api/v1/incidents").await;
    let audit_before = env.store.list_audit(0, 1000).await.unwrap().len();

    let garbage = [
        ("authorization", "Bearer kzk_garbage"),
        ("authorization", "Bearer "),
        ("authorization", "Basic Y3NpcnQ6cGFzcw=="),
        ("cookie", "kizuki_session=kzs_garbage"),
    ];
    let mut checked = 0;
    for (method, path) in openapi_routes() {
        let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
        let uri = concrete(&path, &f);
        let res = api.send(request_for(&method, &path, uri.clone())).await;
        if public {
            assert!(
                !matches!(res.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                "{method} {uri} is open to everyone: {}",
                res.describe()
            );
        } else {
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} without credentials: {}",
                res.describe()
            );
            assert_eq!(res.header("content-type"), Some("application/problem+json"));
            assert_eq!(res.problem(), "unauthorized");
        }
        checked += 1;
        for (name, value) in garbage {
            let res = api
                .send(request_for(&method, &path, uri.clone()).header(name, value))
                .await;
            // The open routes answer as for anyone (a browser keeps sending a cookie after
            // its session ends, and must still be able to sign in again); everything else is
            // refused.
            if public {
                assert!(
                    !matches!(res.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{method} {uri} with {name}: {value}: {}",
                    res.describe()
                );
            } else {
                assert_eq!(
                    res.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} with {name}: {value}: {}",
                    res.describe()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 55 * 5, "only {checked} requests");
    let audit_after = env.store.list_audit(0, 1000).await.unwrap();
    assert!(
        audit_after[audit_before..]
            .iter()
            .all(|r| r.event.actor_id.is_none()),
        "no refused request was recorded as someone's"
    );
    // The open pieces stay open.
    for uri in ["/healthz", "/api/openapi.json"] {
        assert_eq!(
            api.send(Req::get(uri)).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    // Nothing was changed by any refused request.
    assert_eq!(api.get(&ic.token, "/api/v1/incidents").await, before);
    let export = api
        .get(
            &ic.token,
            &format!("/api/v1/incidents/{}/export", f.incident),
        )
        .await;
    assert_eq!(export["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(export["tasks"][0]["status"], "open");
    assert_eq!(export["decisions"][0]["chosen"], Value::Null);
}

/// Every role against every route, with a token and with a browser session, checked
/// against the table above.
async fn role_route_matrix(backend: Backend) {
    // The table and the server's own rules cover exactly the documented routes.
    let routes = openapi_routes();
    let table: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(table.len(), MATRIX.len(), "a route is in the table twice");
    let missing: Vec<_> = routes.difference(&table).collect();
    let extra: Vec<_> = table.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a row: {missing:?}; rows without a route: {extra:?}"
    );
    let policies: BTreeSet<(String, String)> = kizuki_server::access::POLICIES
        .iter()
        .map(|p| (p.method.to_owned(), p.path.to_owned()))
        .collect();
    assert_eq!(
        policies.len(),
        kizuki_server::access::POLICIES.len(),
        "a route has two rules"
    );
    assert_eq!(policies, routes, "POLICIES and the OpenAPI document differ");

    let env = Env::new(backend).await;
    let api = env.api();
    let mut people = Vec::new();
    for role in ROLES {
        people.push(env.person(role, &format!("matrix-{role}")).await);
    }
    let spare = env.person(Role::Responder, "spare").await;
    let commander = &people[column(Role::IncidentCommander)];
    let reporter = &people[column(Role::Reporter)];
    let external = &people[column(Role::ExternalResponder)];
    // One incident every role can see: the reporter filed it, the external responder is a
    // member, and it is not restricted.
    let receipt = api
        .post(
            &reporter.token,
            "/api/v1/reports",
            json!({"what_happened": "Customer list on a paste site", "where": "Sales"}),
        )
        .await;
    let incident = receipt["reference"].as_i64().unwrap();
    let mut f = furnish(&api, &commander.token, incident, spare.id()).await;
    furnish_notify(&api, &people[column(Role::Admin)].token, &mut f).await;
    api.post(
        &commander.token,
        &format!("/api/v1/incidents/{incident}/members"),
        json!({"user_id": external.id()}),
    )
    .await;
    // The external responder takes part in the exercise too.
    api.post(
        &commander.token,
        &format!("/api/v1/incidents/{}/members", f.exercise_incident),
        json!({"user_id": external.id()}),
    )
    .await;

    let mut sessions = Vec::new();
    for p in &people {
        sessions.push(env.session_for(p.id(), &p.user.email).await);
    }
    // Signing out ends the session used for the rest, so it goes last.
    let mut rows: Vec<_> = MATRIX.iter().collect();
    rows.sort_by_key(|(m, p, _, _)| (*m, *p) == ("POST", "/api/v1/auth/logout"));

    let mut wrong = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        for with_session in [false, true] {
            for (method, path, via, allowed) in &rows {
                let uri = concrete(path, &f);
                let req = request_for(method, path, uri.clone());
                let req = if with_session {
                    req.session(&sessions[i])
                } else {
                    req.bearer(&people[i].token)
                };
                let res = api.send(req).await;
                let expect_allowed = allowed[i] && (with_session || *via == Via::Any);
                let how = if with_session { "session" } else { "token" };
                let fine = if !expect_allowed {
                    res.status == StatusCode::FORBIDDEN && res.problem() == "forbidden"
                } else if *method == "GET" {
                    res.status == StatusCode::OK
                } else {
                    !matches!(res.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                };
                if !fine {
                    wrong.push(format!(
                        "{role} ({how}) {method} {uri}: expected {}, got {}",
                        if expect_allowed { "allowed" } else { "403" },
                        res.describe()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Signing in with a password: the cookie, one answer for every failure, lock-out that
/// survives a restart, per-address rate limiting, and an audit record of every failure.
async fn login_and_its_defences(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let admin = env.person(Role::Admin, "auditor").await;
    let mika = env.person(Role::Responder, "mika").await;
    env.set_password(mika.id(), PASSWORD).await;
    let mut failures = 0;

    // A good login: the answer and an HttpOnly, SameSite cookie that works.
    let res = api
        .login(json!({"email": " Mika@Example.JP ", "password": PASSWORD}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    let answer = res.json();
    assert_eq!(answer["user"]["email"], "mika@example.jp");
    assert_eq!(answer["stage"], "full");
    assert_eq!(answer["mfa_enrolment_required"], false);
    assert!(answer["csrf_token"].as_str().unwrap().len() >= 32);
    let cookie = res.header("set-cookie").unwrap().to_owned();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("kizuki_session="), "{cookie}");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"Path=/"), "{cookie}");
    assert!(
        attributes
            .iter()
            .any(|a| *a == "SameSite=Lax" || *a == "SameSite=Strict"),
        "{cookie}"
    );
    assert!(!attributes.contains(&"Secure"), "plain HTTP: {cookie}");
    let session = session_of(&res);
    let secret = session.cookie.split_once('=').unwrap().1.to_owned();
    assert!(
        !res.text().contains(&secret),
        "the secret is only in the cookie"
    );
    let me = api.ok(Req::get("/api/v1/me").cookie(&session)).await;
    assert_eq!(me["email"], "mika@example.jp");

    // Behind TLS: the __Host- prefix and Secure; the plain name is not accepted.
    let tls = env.with_auth(AuthSettings {
        secure_cookies: true,
        ..AuthSettings::default()
    });
    let res = tls
        .login(json!({"email": "mika@example.jp", "password": PASSWORD}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    let cookie = res.header("set-cookie").unwrap().to_owned();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(
        attributes[0].starts_with("__Host-kizuki_session="),
        "{cookie}"
    );
    assert!(attributes.contains(&"Secure"), "{cookie}");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"Path=/"), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("Domain=")),
        "{cookie}"
    );
    let secure = session_of(&res);
    assert_eq!(
        tls.send(Req::get("/api/v1/me").cookie(&secure))
            .await
            .status,
        StatusCode::OK
    );
    let value = secure.cookie.split_once('=').unwrap().1;
    let plain = Session {
        cookie: format!("kizuki_session={value}"),
        csrf: secure.csrf.clone(),
    };
    assert_eq!(
        tls.send(Req::get("/api/v1/me").cookie(&plain)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // An unknown address and a wrong password look exactly alike.
    let unknown = api
        .login(json!({"email": "nobody@example.jp", "password": PASSWORD}))
        .await;
    let wrong = api
        .login(json!({"email": "mika@example.jp", "password": "not the password"}))
        .await;
    failures += 2;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.bytes, wrong.bytes, "byte-identical answers");
    assert_eq!(unknown.header("content-type"), wrong.header("content-type"));
    assert_eq!(unknown.problem(), "login-failed");
    assert!(unknown.header("set-cookie").is_none());
    // The failure is forgotten after a good login.
    api.sign_in("mika@example.jp", PASSWORD).await;

    // Lock-out: five free failures, the sixth locks; then even the right password fails.
    let ken = env.person(Role::Responder, "ken").await;
    env.set_password(ken.id(), PASSWORD).await;
    let refused = wrong.bytes.clone();
    for attempt in 1..=6 {
        let res = api
            .login(json!({"email": "ken@example.jp", "password": format!("guess {attempt}")}))
            .await;
        failures += 1;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert_eq!(res.bytes, refused, "attempt {attempt}");
    }
    let locked = api
        .login(json!({"email": "ken@example.jp", "password": PASSWORD}))
        .await;
    failures += 1;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(locked.bytes, refused, "a lock looks like any failure");
    // A restart (a new process on the same database) keeps the lock.
    let restarted = env.api();
    let res = restarted
        .login(json!({"email": "ken@example.jp", "password": PASSWORD}))
        .await;
    failures += 1;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "still locked after a restart"
    );
    env.advance(SignedDuration::from_secs(59));
    let res = restarted
        .login(json!({"email": "ken@example.jp", "password": PASSWORD}))
        .await;
    failures += 1;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the first lock lasts a minute"
    );
    // Once the minute since the sixth failure has passed, the right password works again.
    env.advance(SignedDuration::from_secs(2));
    restarted.sign_in("ken@example.jp", PASSWORD).await;

    // Per address: ten attempts at once, then 429 with Retry-After; others are unaffected.
    let limited = env.api();
    for attempt in 1..=10 {
        let res = limited
            .send(
                Req::post("/api/v1/auth/login", json!({"email": "", "password": "x"}))
                    .peer("192.0.2.10:40000"),
            )
            .await;
        failures += 1;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let res = limited
        .send(
            Req::post(
                "/api/v1/auth/login",
                json!({"email": "mika@example.jp", "password": PASSWORD}),
            )
            .peer("192.0.2.10:40001"),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        res.describe()
    );
    assert_eq!(res.problem(), "too-many-requests");
    let wait: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    let res = limited
        .send(
            Req::post(
                "/api/v1/auth/login",
                json!({"email": "mika@example.jp", "password": PASSWORD}),
            )
            .peer("198.51.100.20:40000"),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "another address: {}",
        res.describe()
    );
    env.advance(SignedDuration::from_secs(wait));
    let res = limited
        .send(
            Req::post(
                "/api/v1/auth/login",
                json!({"email": "mika@example.jp", "password": PASSWORD}),
            )
            .peer("192.0.2.10:40002"),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "after Retry-After: {}",
        res.describe()
    );

    // Every failure is in the audit log, with its reason and never a password.
    let records = api
        .get(&admin.token, "/api/v1/audit?limit=1000")
        .await
        .as_array()
        .unwrap()
        .clone();
    let failed: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "auth.login.failed")
        .collect();
    assert_eq!(failed.len(), failures, "{failed:#?}");
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &failed {
        assert_eq!(r["outcome"], "failed");
        let detail: Value = serde_json::from_str(r["detail"].as_str().unwrap()).unwrap();
        *reasons
            .entry(detail["reason"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(reasons.get("unknown_user"), Some(&1), "{reasons:?}");
    assert_eq!(reasons.get("wrong_password"), Some(&7), "{reasons:?}");
    assert_eq!(reasons.get("locked"), Some(&3), "{reasons:?}");
    assert_eq!(reasons.get("malformed"), Some(&10), "{reasons:?}");
    assert!(
        failed
            .iter()
            .any(|r| r["object"] == format!("user:{}", ken.id())),
        "failures name the account"
    );
    assert!(
        failed.iter().any(|r| r["address"] == "192.0.2.10"),
        "failures name the address"
    );
    let logins = records
        .iter()
        .filter(|r| r["action"] == "auth.login" && r["outcome"] == "ok")
        .count();
    assert_eq!(logins, 6, "successful logins are recorded too");
    let everything = serde_json::to_string(&records).unwrap();
    for secret in [PASSWORD, "not the password", "guess 3"] {
        assert!(!everything.contains(secret), "{secret} in the audit log");
    }
}

/// Setting up TOTP, signing in with it, replays, and recovery codes.
async fn totp_second_factor(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let aya = env.person(Role::Responder, "aya").await;
    env.set_password(aya.id(), PASSWORD).await;
    let session = api.sign_in("aya@example.jp", PASSWORD).await;

    let offer = api
        .ok(Req::post("/api/v1/auth/mfa/totp", json!({})).session(&session))
        .await;
    let secret = offer["secret"].as_str().unwrap().to_owned();
    assert!(
        offer["otpauth_uri"].as_str().unwrap().contains(&secret),
        "{offer}"
    );
    assert!(offer["qr_svg"].as_str().unwrap().starts_with("<svg"));
    // A wrong code confirms nothing.
    let right = totp_code(&secret, env.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = api
        .send(Req::post("/api/v1/auth/mfa/totp/confirm", json!({"code": wrong})).session(&session))
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.describe()
    );
    assert_eq!(res.json()["errors"][0]["field"], "code");
    let codes = api
        .ok(Req::post("/api/v1/auth/mfa/totp/confirm", json!({"code": right})).session(&session))
        .await["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        codes.iter().collect::<BTreeSet<_>>().len(),
        10,
        "all different"
    );
    assert_eq!(
        api.ok(Req::get("/api/v1/me").cookie(&session)).await["mfa_enabled"],
        true
    );

    // The password alone is no longer enough.
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD}))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.problem(), "mfa-required");
    assert!(res.header("set-cookie").is_none());
    let audit = env.store.list_audit(0, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event.action.starts_with("auth.login.")
                && r.event.object == format!("user:{}", aya.id())
                && r.event.outcome != "ok"),
        "the half-finished login is in the audit log"
    );

    // The next step's code works once.
    env.advance(SignedDuration::from_secs(30));
    let code = totp_code(&secret, env.now());
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD, "totp_code": code}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    assert_eq!(res.json()["stage"], "full");
    assert_eq!(res.json()["recovery_codes_left"], 10);
    env.advance(SignedDuration::from_secs(5));
    let replay = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD, "totp_code": code}))
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "a replayed code");
    assert_eq!(replay.problem(), "login-failed");
    // A code for the wrong secret, and a right code with a wrong password, fail too.
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD, "totp_code": wrong}))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    env.advance(SignedDuration::from_secs(30));
    let res = api
        .login(
            json!({"email": "aya@example.jp", "password": "wrong password",
                      "totp_code": totp_code(&secret, env.now())}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // A recovery code works once; another still works, typed carelessly.
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD, "recovery_code": codes[0]}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    assert_eq!(res.json()["recovery_codes_left"], 9);
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD, "recovery_code": codes[0]}))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "a used recovery code");
    let careless = codes[1].replace('-', " ").to_uppercase();
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD, "recovery_code": careless}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    assert_eq!(res.json()["recovery_codes_left"], 8);

    // An administrator's reset removes the second factor and signs the user out everywhere.
    let admin = env.person(Role::Admin, "helpdesk").await;
    assert_eq!(
        api.send(Req::get("/api/v1/me").cookie(&session))
            .await
            .status,
        StatusCode::OK
    );
    let res = api
        .send(
            Req::post(format!("/api/v1/users/{}/mfa/reset", aya.id()), json!({}))
                .bearer(&admin.token),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.describe());
    assert_eq!(
        api.send(Req::get("/api/v1/me").cookie(&session))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let res = api
        .login(json!({"email": "aya@example.jp", "password": PASSWORD}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    assert_eq!(res.json()["user"]["mfa_enabled"], false);
}

/// `mfa_required_roles` makes other roles enrol a second factor too.
async fn mfa_can_be_required_for_other_roles(backend: Backend) {
    let env = Env::new(backend).await;
    let p = env.person(Role::Responder, "strict-responder").await;
    env.set_password(p.id(), PASSWORD).await;
    let login = json!({"email": "strict-responder@example.jp", "password": PASSWORD});
    let res = env.api().login(login.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    assert_eq!(res.json()["stage"], "full");
    let strict = env.with_auth(AuthSettings {
        mfa_also_for: vec![Role::Responder],
        ..AuthSettings::default()
    });
    let res = strict.login(login).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.describe());
    assert_eq!(res.json()["stage"], "enrol_mfa");
    assert_eq!(res.json()["mfa_enrolment_required"], true);
}

/// An administrator or commander without a second factor can only set one up.
async fn mfa_is_mandatory_for_admins_and_commanders(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    for role in [Role::IncidentCommander, Role::Admin] {
        let name = format!("first-{role}");
        let email = format!("{name}@example.jp");
        let p = env.person(role, &name).await;
        env.set_password(p.id(), PASSWORD).await;
        let res = api
            .login(json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{role}: {}", res.describe());
        assert_eq!(res.json()["stage"], "enrol_mfa", "{role}");
        assert_eq!(res.json()["mfa_enrolment_required"], true, "{role}");
        let session = session_of(&res);

        // Enrolment, identity and signing out answer; nothing else does.
        assert_eq!(
            api.send(Req::get("/api/v1/me").cookie(&session))
                .await
                .status,
            StatusCode::OK,
            "{role}"
        );
        let refused = [
            Req::get("/api/v1/incidents"),
            Req::get("/api/v1/reference/cases"),
            Req::get("/api/v1/auth/sessions"),
            Req::get("/api/v1/users"),
            Req::post(
                "/api/v1/incidents",
                json!({"title": "Anything", "category": "other"}),
            ),
            Req::post("/api/v1/auth/tokens", json!({"name": "script"})),
        ];
        for req in refused {
            let what = format!("{role} {} {}", req.method, req.uri);
            let res = api.send(req.session(&session)).await;
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{what}: {}",
                res.describe()
            );
            assert_eq!(res.problem(), "forbidden", "{what}");
        }
        let offer = api
            .ok(Req::post("/api/v1/auth/mfa/totp", json!({})).session(&session))
            .await;
        let secret = offer["secret"].as_str().unwrap().to_owned();
        api.ok(Req::post(
            "/api/v1/auth/mfa/totp/confirm",
            json!({"code": totp_code(&secret, env.now())}),
        )
        .session(&session))
            .await;
        // The same session is now fully signed in.
        assert_eq!(
            api.send(Req::get("/api/v1/incidents").cookie(&session))
                .await
                .status,
            StatusCode::OK,
            "{role}"
        );
        let users = api.send(Req::get("/api/v1/users").cookie(&session)).await;
        let expected = if role == Role::Admin {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(users.status, expected, "{role}");
        // And the next login asks for a code and then gives a full session.
        env.advance(SignedDuration::from_secs(30));
        let res = api
            .login(json!({"email": email, "password": PASSWORD,
                          "totp_code": totp_code(&secret, env.now())}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{role}: {}", res.describe());
        assert_eq!(res.json()["stage"], "full", "{role}");
    }
}

/// A browser session may change things only from Kizuki's own pages.
async fn csrf_protects_session_writes(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let rin = env.person(Role::Responder, "rin").await;
    env.set_password(rin.id(), PASSWORD).await;
    let session = api.sign_in("rin@example.jp", PASSWORD).await;
    let other = api.sign_in("rin@example.jp", PASSWORD).await;
    assert_ne!(session.csrf, other.csrf, "each session has its own token");
    let new = || {
        Req::post(
            "/api/v1/incidents",
            json!({"title": "USB stick found in the car park", "category": "other"}),
        )
    };

    let cases = [
        ("no token", new().cookie(&session)),
        (
            "a wrong token",
            new().cookie(&session).header("x-csrf-token", "kzs_made-up"),
        ),
        (
            "another session's token",
            new().cookie(&session).header("x-csrf-token", &other.csrf),
        ),
        (
            "Sec-Fetch-Site: cross-site",
            new()
                .session(&session)
                .header("sec-fetch-site", "cross-site"),
        ),
        (
            "Sec-Fetch-Site: same-site",
            new()
                .session(&session)
                .header("sec-fetch-site", "same-site"),
        ),
        (
            "Origin of another host",
            new()
                .session(&session)
                .header("host", "kizuki.example.jp")
                .header("origin", "https://evil.example"),
        ),
        (
            "Origin: null",
            new()
                .session(&session)
                .header("host", "kizuki.example.jp")
                .header("origin", "null"),
        ),
    ];
    for (what, req) in cases {
        let res = api.send(req).await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            res.describe()
        );
        assert_eq!(res.problem(), "csrf", "{what}");
    }
    // Other writes are protected the same way.
    let res = api
        .send(Req::new("DELETE", format!("/api/v1/auth/sessions/{MISSING}")).cookie(&session))
        .await;
    assert_eq!(
        (res.status, res.problem().as_str()),
        (StatusCode::FORBIDDEN, "csrf")
    );
    let res = api
        .send(Req::post("/api/v1/auth/logout", json!({})).cookie(&session))
        .await;
    assert_eq!(
        (res.status, res.problem().as_str()),
        (StatusCode::FORBIDDEN, "csrf")
    );

    // Reads need no token; nothing was created by the refused writes.
    let list = api.ok(Req::get("/api/v1/incidents").cookie(&session)).await;
    assert_eq!(list["items"], json!([]));

    // From our own pages (the header, same-origin) it works.
    let created = api
        .send(
            new()
                .session(&session)
                .header("sec-fetch-site", "same-origin")
                .header("host", "kizuki.example.jp")
                .header("origin", "https://kizuki.example.jp"),
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        created.describe()
    );
    // A script with a token sends no CSRF token.
    let scripted = api.send(new().bearer(&rin.token)).await;
    assert_eq!(
        scripted.status,
        StatusCode::CREATED,
        "{}",
        scripted.describe()
    );
    let list = api.get(&rin.token, "/api/v1/incidents").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Login itself refuses a cross-site form post (login CSRF).
    let res = api
        .send(
            Req::post(
                "/api/v1/auth/login",
                json!({"email": "rin@example.jp", "password": PASSWORD}),
            )
            .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(
        (res.status, res.problem().as_str()),
        (StatusCode::FORBIDDEN, "csrf")
    );
}

/// Listing and revoking sessions, idle and absolute timeouts, and what a password change
/// does to the other sessions.
async fn sessions_end_when_they_should(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let sora = env.person(Role::Responder, "sora").await;
    env.set_password(sora.id(), PASSWORD).await;
    let me = |s: &Session| Req::get("/api/v1/me").cookie(s);

    // Two sessions; each lists both and knows which one it is.
    let laptop = api.sign_in("sora@example.jp", PASSWORD).await;
    env.advance(SignedDuration::from_mins(1));
    let phone = api.sign_in("sora@example.jp", PASSWORD).await;
    let listed = api
        .ok(Req::get("/api/v1/auth/sessions").cookie(&laptop))
        .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let current: Vec<_> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let phone_id = listed
        .iter()
        .find(|s| s["current"] == false)
        .map(id_of)
        .unwrap();
    // Revoking the phone's session ends it at once.
    let res = api
        .send(Req::new("DELETE", format!("/api/v1/auth/sessions/{phone_id}")).session(&laptop))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.describe());
    assert_eq!(api.send(me(&phone)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.send(me(&laptop)).await.status, StatusCode::OK);
    // Someone else's session cannot be revoked, nor even confirmed to exist.
    let kai = env.person(Role::Responder, "kai").await;
    let theirs = env.session_for(kai.id(), "kai").await;
    let kai_sessions = api
        .ok(Req::get("/api/v1/auth/sessions").cookie(&theirs))
        .await;
    let kai_id = id_of(&kai_sessions[0]);
    let res = api
        .send(Req::new("DELETE", format!("/api/v1/auth/sessions/{kai_id}")).session(&laptop))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(api.send(me(&theirs)).await.status, StatusCode::OK);

    // A browser still sending the ended session's cookie can sign in again.
    let res = api
        .send(
            Req::post(
                "/api/v1/auth/login",
                json!({"email": "sora@example.jp", "password": PASSWORD}),
            )
            .cookie(&phone),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "with a stale cookie: {}",
        res.describe()
    );

    // Idle timeout: 30 minutes without a request.
    let desk = api.sign_in("sora@example.jp", PASSWORD).await;
    for _ in 0..2 {
        env.advance(SignedDuration::from_mins(29));
        assert_eq!(
            api.send(me(&desk)).await.status,
            StatusCode::OK,
            "still in use"
        );
    }
    env.advance(SignedDuration::from_mins(31));
    assert_eq!(
        api.send(me(&desk)).await.status,
        StatusCode::UNAUTHORIZED,
        "idle"
    );

    // Absolute timeout: 12 hours after signing in, however busy.
    let busy = api.sign_in("sora@example.jp", PASSWORD).await;
    let mut elapsed = SignedDuration::ZERO;
    loop {
        env.advance(SignedDuration::from_mins(25));
        elapsed += SignedDuration::from_mins(25);
        let status = api.send(me(&busy)).await.status;
        if elapsed < SignedDuration::from_hours(12) {
            assert_eq!(status, StatusCode::OK, "after {elapsed}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "after {elapsed}");
            break;
        }
    }

    // Changing the password: the current session stays, the others end.
    let here = api.sign_in("sora@example.jp", PASSWORD).await;
    let there = api.sign_in("sora@example.jp", PASSWORD).await;
    let change = |current: &str, new: &str| {
        Req::post(
            "/api/v1/auth/password",
            json!({"current_password": current, "new_password": new}),
        )
        .session(&here)
    };
    let res = api.send(change("not it", NEW_PASSWORD)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["errors"][0]["field"], "current_password");
    let res = api.send(change(PASSWORD, "password123")).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.describe()
    );
    assert_eq!(res.json()["errors"][0]["field"], "new_password");
    let res = api.send(change(PASSWORD, "sora@example.jp")).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.describe()
    );
    assert_eq!(res.json()["errors"][0]["field"], "new_password");
    assert_eq!(
        api.send(me(&there)).await.status,
        StatusCode::OK,
        "refused changes end nothing"
    );
    let res = api.send(change(PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.describe());
    assert_eq!(api.send(me(&here)).await.status, StatusCode::OK);
    assert_eq!(api.send(me(&there)).await.status, StatusCode::UNAUTHORIZED);
    let old = api
        .login(json!({"email": "sora@example.jp", "password": PASSWORD}))
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    api.sign_in("sora@example.jp", NEW_PASSWORD).await;

    // Signing out ends the session and clears the cookie.
    let res = api
        .send(Req::post("/api/v1/auth/logout", json!({})).session(&here))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(res.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(api.send(me(&here)).await.status, StatusCode::UNAUTHORIZED);
}

/// The ids of the incidents `token` can list (following every page), optionally matching `q`.
async fn listed(api: &Api, token: &str, q: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let mut uri = format!("/api/v1/incidents?limit=1&q={q}");
        if let Some(b) = before {
            uri.push_str(&format!("&before={b}"));
        }
        let page = api.get(token, &uri).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        ids.extend(items.iter().map(id_of));
        match page["next_before"].as_i64() {
            Some(next) => before = Some(next),
            None => break,
        }
        assert!(ids.len() < 100, "paging does not end");
    }
    ids.sort_unstable();
    ids
}

/// Which incidents hold an indicator, for `token`.
async fn holding(api: &Api, token: &str, ip: &str) -> Vec<i64> {
    let found = api
        .get(
            token,
            &format!("/api/v1/observables/search?kind=ip&value={ip}"),
        )
        .await;
    let mut ids: Vec<i64> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["incident_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// `id` with every digit percent-encoded (`12` → `%31%32`).
fn percent_encoded(id: i64) -> String {
    id.to_string()
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect()
}

/// An export without the moment it was taken, to compare two of them.
fn content(mut export: Value) -> Value {
    export.as_object_mut().unwrap().remove("exported_at");
    export
}

/// An answer with the incident id taken out, to compare "not found" answers for two ids.
fn anonymised(res: &Resp, id: i64) -> (StatusCode, String) {
    (
        res.status,
        res.text()
            .replace(&format!("incident {id} "), "incident <id> "),
    )
}

/// A restricted incident exists only for its creator and members; external responders and
/// reporters see only their own corner. Lists, searches, correlations and sweeps agree.
async fn need_to_know(backend: Backend) {
    const SHARED: &str = "198.51.100.7";
    const SECRET_ONLY: &str = "203.0.113.66";
    let env = Env::new(backend).await;
    let api = env.api();
    let a = env.person(Role::IncidentCommander, "creator").await;
    let b = env.person(Role::Responder, "member").await;
    let c = env.person(Role::Responder, "outsider").await;
    let d = env.person(Role::IncidentCommander, "other-commander").await;
    let e = env.person(Role::ExternalResponder, "vendor").await;
    let r = env.person(Role::Reporter, "reporter").await;

    let open = id_of(
        &api.post(
            &a.token,
            "/api/v1/incidents",
            json!({"title": "Phishing wave at the call centre", "category": "targeted_email"}),
        )
        .await,
    );
    let other_open = id_of(
        &api.post(
            &a.token,
            "/api/v1/incidents",
            json!({"title": "Laptop lost at a branch", "category": "other"}),
        )
        .await,
    );
    let created = api
        .post(
            &a.token,
            "/api/v1/incidents",
            json!({"title": "Merger papers leaked", "summary": "Board papers on the Aoba merger found on a paste site",
                   "category": "data_leak", "restricted": true, "aware_at": "2026-06-20T03:00:00Z",
                   "impact": {"personal_data": true}}),
        )
        .await;
    assert_eq!(created["restricted"], true);
    let secret = id_of(&created);
    let spare = env.person(Role::Responder, "spare").await;
    let f = furnish(&api, &a.token, secret, spare.id()).await;
    api.post(
        &a.token,
        &format!("/api/v1/incidents/{secret}/members"),
        json!({"user_id": b.id()}),
    )
    .await;
    for (incident, ip) in [(secret, SHARED), (secret, SECRET_ONLY), (open, SHARED)] {
        api.post(
            &a.token,
            &format!("/api/v1/incidents/{incident}/observables"),
            json!({"kind": "ip", "value": ip}),
        )
        .await;
    }
    api.post(
        &a.token,
        &format!("/api/v1/incidents/{open}/members"),
        json!({"user_id": e.id()}),
    )
    .await;
    let snapshot = content(
        api.get(&a.token, &format!("/api/v1/incidents/{secret}/export"))
            .await,
    );
    assert_eq!(snapshot["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(snapshot["observables"].as_array().unwrap().len(), 3);

    // The creator and the member see it everywhere.
    for (who, p) in [("creator", &a), ("member", &b)] {
        assert_eq!(
            listed(&api, &p.token, "").await,
            [open, other_open, secret],
            "{who}"
        );
        assert_eq!(listed(&api, &p.token, "merger").await, [secret], "{who}");
        api.get(&p.token, &format!("/api/v1/incidents/{secret}"))
            .await;
        for child in [
            "timeline",
            "tasks",
            "decisions",
            "evidence",
            "observables",
            "parties",
            "legal-clocks",
            "members",
            "export",
        ] {
            api.get(&p.token, &format!("/api/v1/incidents/{secret}/{child}"))
                .await;
        }
        assert_eq!(
            holding(&api, &p.token, SHARED).await,
            [open, secret],
            "{who}"
        );
        let observables = api
            .get(&p.token, &format!("/api/v1/incidents/{open}/observables"))
            .await;
        assert_eq!(
            observables[0]["shared_with"][0]["incident_id"], secret,
            "{who}"
        );
    }

    // An outsider responder and an outsider commander: it does not exist.
    for (who, p) in [("responder", &c), ("commander", &d)] {
        assert_eq!(
            listed(&api, &p.token, "").await,
            [open, other_open],
            "{who}"
        );
        assert_eq!(
            listed(&api, &p.token, "merger").await,
            Vec::<i64>::new(),
            "{who}"
        );
        assert_eq!(
            listed(&api, &p.token, "Aoba").await,
            Vec::<i64>::new(),
            "{who}"
        );
        // Every route under the incident answers as for an id that does not exist.
        let role = p.user.role;
        let missing = Fixture {
            incident: MISSING,
            ..f
        };
        for (method, path) in openapi_routes() {
            if !path.starts_with("/api/v1/incidents/{id}") {
                continue;
            }
            let hidden = api
                .send(request_for(&method, &path, concrete(&path, &f)).bearer(&p.token))
                .await;
            let absent = api
                .send(request_for(&method, &path, concrete(&path, &missing)).bearer(&p.token))
                .await;
            let expected = if table_allows(role, &method, &path) {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(
                hidden.status,
                expected,
                "{who} {method} {path}: {}",
                hidden.describe()
            );
            assert_eq!(
                anonymised(&hidden, secret),
                anonymised(&absent, MISSING),
                "{who} {method} {path}: the same answer as for a missing incident"
            );
        }
        // Spelling the id differently (the router decodes `%33` to `3`) does not get round
        // it: the answer is the one for a missing id spelt the same way.
        for suffix in ["", "/timeline", "/export", "/observables"] {
            let hidden_uri = format!("/api/v1/incidents/{}{suffix}", percent_encoded(secret));
            let absent_uri = format!("/api/v1/incidents/{}{suffix}", percent_encoded(MISSING));
            let hidden = api.send(Req::get(&hidden_uri).bearer(&p.token)).await;
            let absent = api.send(Req::get(&absent_uri).bearer(&p.token)).await;
            assert!(
                matches!(
                    hidden.status,
                    StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
                ),
                "{who} {hidden_uri}: {}",
                hidden.describe()
            );
            assert_eq!(
                hidden.text().replace(&percent_encoded(secret), "<id>"),
                absent.text().replace(&percent_encoded(MISSING), "<id>"),
                "{who} {hidden_uri}"
            );
            assert_eq!(hidden.status, absent.status, "{who} {hidden_uri}");
        }
        // Searches and correlations leave it out.
        assert_eq!(holding(&api, &p.token, SHARED).await, [open], "{who}");
        assert_eq!(
            holding(&api, &p.token, SECRET_ONLY).await,
            Vec::<i64>::new(),
            "{who}"
        );
        let observables = api
            .get(&p.token, &format!("/api/v1/incidents/{open}/observables"))
            .await;
        assert_eq!(observables[0]["normalized"], SHARED);
        assert_eq!(observables[0]["shared_with"], json!([]), "{who}");
        // A sweep does not look for (and so cannot reveal) its indicators.
        let res = api
            .send(
                Req::new("POST", format!("/api/v1/incidents/{open}/sweeps"))
                    .bytes(&log_with(SECRET_ONLY), "application/octet-stream")
                    .bearer(&p.token),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{who}: {}", res.describe());
        let report = res.json();
        assert_eq!(report["indicators_swept"], 1, "{who}: {report}");
        assert_eq!(report["hits"], json!([]), "{who}: {report}");
        assert_eq!(report["observables_added"], 0, "{who}");
    }
    // Children of the hidden incident cannot be reached through a visible one either.
    let base = format!("/api/v1/incidents/{open}");
    let via_open = [
        Req::get(format!("{base}/decisions/{}", f.decision)),
        Req::post(
            format!("{base}/decisions/{}/decide", f.decision),
            json!({"chosen": 0, "decided_by": "Outsider", "rationale": "Because"}),
        ),
        Req::new("PATCH", format!("{base}/tasks/{}", f.task)).json(json!({"status": "skipped"})),
        Req::post(format!("{base}/tasks/{}/complete", f.task), json!({})),
        Req::new("PATCH", format!("{base}/parties/{}", f.party)).json(json!({"phone": "000"})),
        Req::post(
            format!("{base}/evidence/{}/custody", f.evidence),
            json!({"action": "transferred", "handler": "Outsider"}),
        ),
        Req::post(format!("{base}/legal-clocks/{}/met", f.clock), json!({})),
    ];
    for req in via_open {
        let what = format!("{} {}", req.method, req.uri);
        let res = api.send(req.bearer(&d.token)).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{what}: {}",
            res.describe()
        );
    }
    // None of the outsiders' requests changed it.
    let after = content(
        api.get(&a.token, &format!("/api/v1/incidents/{secret}/export"))
            .await,
    );
    assert_eq!(after, snapshot, "the hidden incident is unchanged");
    // The log does hold one of its indicators: its creator's sweep finds it.
    let report = api
        .ok(
            Req::new("POST", format!("/api/v1/incidents/{secret}/sweeps"))
                .bytes(&log_with(SECRET_ONLY), "application/octet-stream")
                .bearer(&a.token),
        )
        .await;
    assert_eq!(report["hits"].as_array().unwrap().len(), 1, "{report}");

    // A member removed from the list loses it at once.
    let res = api
        .send(
            Req::new(
                "DELETE",
                format!("/api/v1/incidents/{secret}/members/{}", b.id()),
            )
            .bearer(&a.token),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = api
        .send(Req::get(format!("/api/v1/incidents/{secret}")).bearer(&b.token))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(listed(&api, &b.token, "").await, [open, other_open]);

    // An external responder sees the incidents they are a member of, and nothing else.
    assert_eq!(listed(&api, &e.token, "").await, [open]);
    api.get(&e.token, &format!("/api/v1/incidents/{open}/timeline"))
        .await;
    for hidden in [other_open, secret] {
        let res = api
            .send(Req::get(format!("/api/v1/incidents/{hidden}")).bearer(&e.token))
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{hidden}");
    }
    assert_eq!(holding(&api, &e.token, SHARED).await, [open]);

    // A reporter sees what they reported, and nothing else.
    let anonymous = api
        .ok(Req::post(
            "/api/v1/reports",
            json!({"what_happened": "Odd pop-up on the reception PC"}),
        ))
        .await["reference"]
        .as_i64()
        .unwrap();
    let own = api
        .post(
            &r.token,
            "/api/v1/reports",
            json!({"what_happened": "A caller asked for my password", "contact": "ext. 4410"}),
        )
        .await["reference"]
        .as_i64()
        .unwrap();
    assert_eq!(listed(&api, &r.token, "").await, [own]);
    let mine = api.get(&r.token, &format!("/api/v1/incidents/{own}")).await;
    assert_eq!(mine["created_by"], r.id());
    for hidden in [open, other_open, secret, anonymous] {
        let res = api
            .send(Req::get(format!("/api/v1/incidents/{hidden}")).bearer(&r.token))
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{hidden}");
    }
    assert_eq!(holding(&api, &r.token, SHARED).await, Vec::<i64>::new());
    // The commander who can see everything unrestricted sees both reports.
    assert_eq!(
        listed(&api, &d.token, "").await,
        [open, other_open, anonymous, own]
    );
}

/// What a token may reach is limited by its scope, its expiry and its revocation.
async fn token_scopes(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let yui = env.person(Role::Responder, "yui").await;
    env.set_password(yui.id(), PASSWORD).await;
    let session = api.sign_in("yui@example.jp", PASSWORD).await;
    let incident = id_of(
        &api.post(
            &yui.token,
            "/api/v1/incidents",
            json!({"title": "Mail server spam relay", "category": "other"}),
        )
        .await,
    );
    let base = format!("/api/v1/incidents/{incident}");
    let entry = json!({"lane": "it_business", "kind": "analysis", "text": "Relay closed"});
    let create = |body: Value| Req::post("/api/v1/auth/tokens", body).session(&session);

    // Read-only (the default).
    let read_only = api.ok(create(json!({"name": "dashboard"}))).await;
    assert_eq!(read_only["scope"]["access"], "read");
    let ro = read_only["token"].as_str().unwrap().to_owned();
    assert!(ro.starts_with("kzk_"));
    api.get(&ro, &format!("{base}/timeline")).await;
    api.get(&ro, "/api/v1/incidents").await;
    for req in [
        Req::post(
            "/api/v1/incidents",
            json!({"title": "x", "category": "other"}),
        ),
        Req::post(format!("{base}/timeline"), entry.clone()),
        Req::new("PATCH", base.clone()).json(json!({"version": 1, "title": "Renamed"})),
    ] {
        let what = format!("{} {}", req.method, req.uri);
        let res = api.send(req.bearer(&ro)).await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            res.describe()
        );
    }

    // Limited to the timeline.
    let timeline_only = api
        .ok(create(
            json!({"name": "log shipper", "access": "write", "resources": ["timeline"]}),
        ))
        .await;
    let tl = timeline_only["token"].as_str().unwrap().to_owned();
    let res = api
        .send(Req::post(format!("{base}/timeline"), entry.clone()).bearer(&tl))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.describe());
    api.get(&tl, &format!("{base}/timeline")).await;
    for req in [
        Req::get(format!("{base}/decisions")),
        Req::get(base.clone()),
        Req::get("/api/v1/incidents"),
        Req::post(
            format!("{base}/decisions"),
            json!({"question": "?", "options": [{"label": "a", "scenario": "b"}]}),
        ),
        Req::get(format!("{base}/observables")),
    ] {
        let what = format!("{} {}", req.method, req.uri);
        let res = api.send(req.bearer(&tl)).await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            res.describe()
        );
    }
    // A scope never adds to the role: a responder's token cannot decide or manage users.
    let wide = api
        .ok(create(
            json!({"name": "wide", "access": "write", "resources": ["all"]}),
        ))
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for req in [Req::get("/api/v1/users"), Req::get("/api/v1/audit")] {
        assert_eq!(
            api.send(req.bearer(&wide)).await.status,
            StatusCode::FORBIDDEN
        );
    }

    // Tokens never reach the routes that manage the account, whatever their scope.
    let session_only = [
        Req::get("/api/v1/auth/sessions"),
        Req::get("/api/v1/auth/tokens"),
        Req::post("/api/v1/auth/tokens", json!({"name": "minted by a token"})),
        Req::post(
            "/api/v1/auth/password",
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ),
        Req::new(
            "DELETE",
            format!("/api/v1/auth/tokens/{}", id_of(&read_only)),
        ),
        Req::new("DELETE", "/api/v1/auth/sessions/1"),
    ];
    for req in session_only {
        let what = format!("{} {}", req.method, req.uri);
        let res = api.send(req.bearer(&yui.token)).await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            res.describe()
        );
    }
    let tokens = api
        .ok(Req::get("/api/v1/auth/tokens").cookie(&session))
        .await;
    assert_eq!(
        tokens.as_array().unwrap().len(),
        4,
        "nothing minted: {tokens}"
    );
    assert!(
        !tokens.to_string().contains(&ro),
        "the secret is shown once only"
    );
    api.get(&ro, "/api/v1/me").await;
    api.get(&yui.token, "/api/v1/me").await;

    // Revoked through the API: refused at once, despite the lookup cache.
    let res = api
        .send(
            Req::new(
                "DELETE",
                format!("/api/v1/auth/tokens/{}", id_of(&read_only)),
            )
            .session(&session),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = api.send(Req::get("/api/v1/me").bearer(&ro)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // Revoked elsewhere (another replica, the CLI): refused once the cache has expired.
    api.get(&tl, &format!("{base}/timeline")).await;
    assert!(
        env.store
            .revoke_token(yui.id(), id_of(&timeline_only), env.now())
            .await
            .unwrap()
    );
    env.advance(SignedDuration::from_secs(5));
    let res = api
        .send(Req::get(format!("{base}/timeline")).bearer(&tl))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // Expired: a one-day token stops after a day.
    let short = api
        .ok(create(json!({"name": "one day", "expires_in_days": 1})))
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    api.get(&short, "/api/v1/me").await;
    env.advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1));
    let res = api.send(Req::get("/api/v1/me").bearer(&short)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    api.get(&wide, "/api/v1/me").await;

    // Deactivating the user stops their tokens at once, and for good.
    let admin = env.person(Role::Admin, "admin").await;
    let res = api
        .send(
            Req::new("PATCH", format!("/api/v1/users/{}", admin.id()))
                .json(json!({"active": false}))
                .bearer(&admin.token),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no self-lock-out"
    );
    let deactivate = |active: bool| {
        Req::new("PATCH", format!("/api/v1/users/{}", yui.id()))
            .json(json!({"active": active}))
            .bearer(&admin.token)
    };
    assert_eq!(api.ok(deactivate(false)).await["active"], false);
    let res = api.send(Req::get("/api/v1/me").bearer(&wide)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = api
        .login(json!({"email": "yui@example.jp", "password": PASSWORD}))
        .await;
    let unknown = api
        .login(json!({"email": "nobody@example.jp", "password": PASSWORD}))
        .await;
    assert_eq!((res.status, &res.bytes), (unknown.status, &unknown.bytes));
    assert_eq!(api.ok(deactivate(true)).await["active"], true);
    let res = api.send(Req::get("/api/v1/me").bearer(&wide)).await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "revoked, not suspended"
    );
    api.sign_in("yui@example.jp", PASSWORD).await;
}

/// Changes made to the audit tables behind the server's back break the chain where they
/// were made.
async fn audit_tampering_is_detected(backend: Backend) {
    type Tamper = fn(i64) -> (Vec<String>, i64);
    let cases: [(&str, Tamper); 6] = [
        ("edit a record", |_| {
            (
                vec!["UPDATE audit_log SET actor = 'mallory@example.jp' WHERE seq = 3".into()],
                3,
            )
        }),
        ("edit an outcome", |_| {
            (
                vec!["UPDATE audit_log SET outcome = '403' WHERE seq = 2".into()],
                2,
            )
        }),
        ("delete a record in the middle", |_| {
            (vec!["DELETE FROM audit_log WHERE seq = 3".into()], 4)
        }),
        ("delete the last record", |last| {
            (
                vec![format!("DELETE FROM audit_log WHERE seq = {last}")],
                last,
            )
        }),
        ("swap two records", |_| {
            (
                vec![
                    "UPDATE audit_log SET seq = 1000000 WHERE seq = 2".into(),
                    "UPDATE audit_log SET seq = 2 WHERE seq = 3".into(),
                    "UPDATE audit_log SET seq = 3 WHERE seq = 1000000".into(),
                ],
                2,
            )
        }),
        ("append a forged record", |last| {
            (
                vec![format!(
                    "INSERT INTO audit_log (seq, at, actor_id, actor, address, action, object, outcome, detail, prev_hash, hash) \
                     SELECT seq + 1, at, actor_id, 'forger@example.jp', address, action, object, outcome, detail, hash, \
                     '{}' FROM audit_log WHERE seq = {last}",
                    "ab".repeat(32)
                )],
                last + 1,
            )
        }),
    ];
    for (what, tamper) in cases {
        // A fresh chain for every case.
        let env = Env::new(backend).await;
        let api = env.api();
        let admin = env.person(Role::Admin, "admin").await;
        let ic = env.person(Role::IncidentCommander, "commander").await;
        for title in ["Web shell on the CMS", "Defaced top page"] {
            let id = id_of(
                &api.post(
                    &ic.token,
                    "/api/v1/incidents",
                    json!({"title": title, "category": "web_defacement"}),
                )
                .await,
            );
            api.post(
                &ic.token,
                &format!("/api/v1/incidents/{id}/timeline"),
                json!({"lane": "it_business", "kind": "containment", "text": "Server isolated"}),
            )
            .await;
        }
        let verified = api.get(&admin.token, "/api/v1/audit/verify").await;
        assert_eq!(verified["intact"], true, "{what}: {verified}");
        assert_eq!(verified["records"], 4, "{what}: {verified}");
        assert_eq!(verified["broken_at"], Value::Null);
        let records = env.store.list_audit(0, 1000).await.unwrap();
        let last = records.last().unwrap().seq;
        assert_eq!(last, 5, "four changes and the verification");

        let (statements, broken_at) = tamper(last);
        env.tamper(&statements).await;
        let verified = api.get(&admin.token, "/api/v1/audit/verify").await;
        assert_eq!(verified["intact"], false, "{what}: {verified}");
        assert_eq!(verified["broken_at"], broken_at, "{what}: {verified}");
        assert!(
            !verified["reason"].as_str().unwrap_or_default().is_empty(),
            "{what}: {verified}"
        );
    }
}

/// Anyone may report a suspicion, unless the administrator closes the form to anonymous
/// users.
async fn report_form(backend: Backend) {
    let env = Env::new(backend).await;
    let api = env.api();
    let ic = env.person(Role::IncidentCommander, "commander").await;
    let reporter = env.person(Role::Reporter, "staff").await;
    let report = json!({"what_happened": "A pop-up says my files are encrypted\nIt asks for bitcoin",
                        "where": "Accounting, PC-12", "contact": "ext. 1234"});

    let res = api.send(Req::post("/api/v1/reports", report.clone())).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.describe());
    let receipt = res.json();
    assert!(!receipt["next_steps_ja"].as_str().unwrap().is_empty());
    assert!(!receipt["next_steps_en"].as_str().unwrap().is_empty());
    let id = receipt["reference"].as_i64().unwrap();
    let incident = api.get(&ic.token, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(incident["phase"], "reported");
    assert_eq!(incident["detection_source"], "user_report");
    assert_eq!(incident["title"], "A pop-up says my files are encrypted");
    assert_eq!(incident["created_by"], Value::Null);
    assert!(incident["summary"].as_str().unwrap().contains("ext. 1234"));
    let audit = env.store.list_audit(0, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event.action == "POST /api/v1/reports"
                && r.event.actor == "anonymous"
                && r.event.outcome == "201"),
        "the report is in the audit log"
    );

    // Closed to anonymous users: refused, and nothing is created.
    let closed = env.with_auth(AuthSettings {
        public_reports: false,
        ..AuthSettings::default()
    });
    let res = closed
        .send(Req::post("/api/v1/reports", report.clone()))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.describe());
    // Signed in, it still works.
    let res = closed
        .send(Req::post("/api/v1/reports", report.clone()).bearer(&reporter.token))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.describe());
    let list = api.get(&ic.token, "/api/v1/incidents").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}
