//! The administration pages for playbooks (and, in process, what they change): the real
//! router and store, a browser simulated by cookies. Every HTML answer is checked for inline
//! script and style, which the CSP forbids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use kizuki_domain::clock::Clock;
use kizuki_domain::user::{NewSession, NewUser, Role, SessionStage};
use serde_json::json;
use tower::ServiceExt;

mod common;
use common::Api;

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        self.body[at..at + self.body[at..].find('"').unwrap()].to_owned()
    }
}

async fn send(api: &Api, req: Request<Body>) -> Page {
    let res = api.app.clone().oneshot(req).await.unwrap();
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
    Page {
        status,
        headers,
        body,
    }
}

async fn get(api: &Api, uri: &str, cookie: &str) -> Page {
    let req = Request::builder()
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    send(api, req).await
}

async fn post_form(api: &Api, uri: &str, cookie: &str, form: &[(&str, &str)]) -> Page {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    send(api, req).await
}

async fn signed_in(api: &Api, role: Role, name: &str) -> String {
    let now = api.clock.now();
    let user = api
        .store
        .create_user(
            &NewUser::new(&format!("{name}@example.jp"), name, role).unwrap(),
            now,
        )
        .await
        .unwrap();
    let secret = format!("kzs_web-admin-session-{name}");
    api.store
        .create_session(
            &NewSession {
                user_id: user.id,
                secret_hash: kizuki_auth::secret::hash_secret(&secret),
                stage: SessionStage::Full,
                expires_at: now
                    .checked_add(jiff::SignedDuration::from_hours(8))
                    .unwrap(),
                address: None,
                user_agent: "tests".into(),
            },
            now,
        )
        .await
        .unwrap();
    format!("kizuki_session={secret}")
}

/// A small valid playbook for `general` at `version`, whose one task is `task`.
fn playbook(version: u32, task: &str) -> String {
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

/// The text as the page shows it inside the textarea (HTML-escaped).
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
}

#[tokio::test]
async fn administrators_list_and_view_playbooks() {
    let api = Api::sqlite().await;
    let admin = signed_in(&api, Role::Admin, "admin").await;
    let page = get(&api, "/admin/playbooks?lang=en", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/admin/playbooks/ransomware\""));
    assert!(page.body.contains("built into Kizuki"));
    assert!(
        page.body
            .contains("<textarea id=\"p-source\" name=\"source\"")
    );
    assert!(page.body.contains("<label for=\"p-source\">"));
    assert!(
        page.body.contains("href=\"/admin/playbooks\""),
        "the menu links here"
    );

    let page = get(&api, "/admin/playbooks/ransomware?lang=ja", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<pre class=\"source\""));
    assert!(page.body.contains("id: ransomware"));
    assert!(page.body.contains("CISO・CSIRT") || page.body.contains("CSIRT"));
    assert!(page.body.contains("Kizuki に組み込み"));

    let page = get(&api, "/admin/playbooks/no-such-playbook", &admin).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_broken_playbook_is_shown_with_line_and_field_and_the_text_is_kept() {
    let api = Api::sqlite().await;
    let admin = signed_in(&api, Role::Admin, "admin").await;
    let csrf = get(&api, "/admin/playbooks", &admin).await.csrf();
    let broken = playbook(2, "Call the hotline").replace("lane: ciso_csirt", "lane: it");
    for action in ["validate", "save"] {
        let page = post_form(
            &api,
            "/admin/playbooks?lang=en",
            &admin,
            &[("csrf", &csrf), ("action", action), ("source", &broken)],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
        assert!(
            page.body.contains("Line 16, phases[0].tasks[0].lane:"),
            "{}",
            page.body
        );
        assert!(page.body.contains(&escaped(&broken)), "the text is kept");
    }
    assert_eq!(api.store.playbook_upload_seq().await.unwrap(), 0);

    // In Japanese, the frame is Japanese.
    let page = post_form(
        &api,
        "/admin/playbooks?lang=ja",
        &admin,
        &[("csrf", &csrf), ("action", "validate"), ("source", &broken)],
    )
    .await;
    assert!(
        page.body.contains("16 行目・phases[0].tasks[0].lane："),
        "{}",
        page.body
    );

    // A valid text is previewed, not saved.
    let good = playbook(2, "Call the hotline");
    let page = post_form(
        &api,
        "/admin/playbooks?lang=en",
        &admin,
        &[("csrf", &csrf), ("action", "validate"), ("source", &good)],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Valid: general, version 2, 1 tasks"));
    assert!(page.body.contains("Call the hotline"));
    assert!(page.body.contains(&escaped(&good)));
    assert_eq!(api.store.playbook_upload_seq().await.unwrap(), 0);
}

#[tokio::test]
async fn an_uploaded_version_is_what_the_next_incident_gets() {
    let api = Api::sqlite().await;
    let admin = signed_in(&api, Role::Admin, "admin").await;
    let csrf = get(&api, "/admin/playbooks", &admin).await.csrf();
    let page = post_form(
        &api,
        "/admin/playbooks?lang=en",
        &admin,
        &[
            ("csrf", &csrf),
            ("action", "save"),
            ("source", &playbook(2, "Call the hotline")),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, "/admin/playbooks/general?saved=1");
    let shown = get(&api, &format!("{to}&lang=en"), &admin).await;
    assert!(shown.body.contains("Version 2 is now in use"));
    assert!(shown.body.contains("uploaded by admin on 2026-06-20 12:00"));
    let list = get(&api, "/admin/playbooks?lang=en", &admin).await;
    assert!(list.body.contains("uploaded by admin"));

    // Applying the playbook to an incident uses the new tasks.
    let incident = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Odd logons", "category": "other"}),
        )
        .await;
    let tasks = api
        .post(
            &format!("/api/v1/incidents/{}/playbooks", incident["id"]),
            json!({"playbook": "general"}),
        )
        .await;
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["playbook"], "general@2");

    // An equal or lower version is refused beside the field, the text kept.
    for v in [2, 1] {
        let text = playbook(v, "Again");
        let page = post_form(
            &api,
            "/admin/playbooks?lang=en",
            &admin,
            &[("csrf", &csrf), ("action", "save"), ("source", &text)],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body
                .contains("Version 2 of general is in use. Give this one version 3 or higher."),
            "{}",
            page.body
        );
        assert!(page.body.contains("aria-describedby=\"p-source-error\""));
        assert!(page.body.contains(&escaped(&text)));
    }
    assert_eq!(api.store.list_playbook_versions().await.unwrap().len(), 1);
}

#[tokio::test]
async fn only_administrators_with_a_genuine_form_reach_the_playbook_pages() {
    let api = Api::sqlite().await;
    let admin = signed_in(&api, Role::Admin, "admin").await;
    let ic = signed_in(&api, Role::IncidentCommander, "ic").await;
    for uri in ["/admin/playbooks", "/admin/playbooks/general"] {
        assert_eq!(
            get(&api, uri, &ic).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    let ic_csrf = get(&api, "/incidents", &ic).await.csrf();
    let page = post_form(
        &api,
        "/admin/playbooks",
        &ic,
        &[
            ("csrf", &ic_csrf),
            ("action", "save"),
            ("source", &playbook(2, "X")),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // No CSRF token, or another site: refused and audited.
    let page = post_form(
        &api,
        "/admin/playbooks",
        &admin,
        &[("action", "save"), ("source", &playbook(2, "X"))],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(api.store.playbook_upload_seq().await.unwrap(), 0);
    let audit = api.store.list_audit(0, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .filter(|r| r.event.object == "/admin/playbooks" && r.event.outcome == "denied")
            .count()
            >= 2
    );
}

/// `GET /api/v1/playbooks` (reference data every role here may read) with a bearer token.
async fn me_with(api: &Api, token: &str) -> StatusCode {
    let req = Request::builder()
        .uri("/api/v1/playbooks")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(api, req).await.status
}

fn secret_in(body: &str) -> String {
    let at = body.find("<code class=\"secret\">").unwrap() + 21;
    body[at..at + body[at..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn a_token_made_on_the_page_is_shown_once_works_and_stops_when_revoked() {
    let api = Api::sqlite().await;
    let me = signed_in(&api, Role::Responder, "resp").await;
    let page = get(&api, "/account/tokens?lang=en", &me).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<label for=\"tk-name\">"));
    let csrf = page.csrf();

    // A refused form keeps what was typed and says why.
    let page = post_form(
        &api,
        "/account/tokens?lang=en",
        &me,
        &[
            ("csrf", &csrf),
            ("name", "dashboard"),
            ("access", "read"),
            ("resources", "incidents"),
            ("expires_in_days", "900"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("whole number of days from 1 to 365"));
    assert!(page.body.contains("value=\"dashboard\""));
    assert!(page.body.contains("value=\"900\""));

    let page = post_form(
        &api,
        "/account/tokens?lang=en",
        &me,
        &[
            ("csrf", &csrf),
            ("name", "dashboard"),
            ("access", "read"),
            ("resources", "incidents"),
            ("resources", "reference"),
            ("expires_in_days", "30"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(page.body.contains("It is shown only this once"));
    let secret = secret_in(&page.body);
    assert!(secret.starts_with("kzk_"), "{secret}");
    assert_eq!(me_with(&api, &secret).await, StatusCode::OK);

    // Shown once: the list afterwards does not carry it.
    let page = get(&api, "/account/tokens?lang=en", &me).await;
    assert!(!page.body.contains(&secret));
    assert!(page.body.contains("dashboard"));
    assert!(page.body.contains("incidents, reference"));
    assert!(page.body.contains("read only"));

    // Revoking needs the CSRF token, then the token stops working at once.
    let id = api.store.list_unrevoked_tokens().await.unwrap()[0].id;
    let uri = format!("/account/tokens/{id}/revoke");
    assert_eq!(
        post_form(&api, &uri, &me, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(me_with(&api, &secret).await, StatusCode::OK);
    let page = post_form(&api, &uri, &me, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(me_with(&api, &secret).await, StatusCode::UNAUTHORIZED);
    assert!(
        get(&api, "/account/tokens?lang=en", &me)
            .await
            .body
            .contains("revoked 2026-06-20")
    );
}

#[tokio::test]
async fn an_administrator_revokes_someone_elses_token_and_others_cannot_see_the_list() {
    let api = Api::sqlite().await;
    let admin = signed_in(&api, Role::Admin, "admin").await;
    let ic = signed_in(&api, Role::IncidentCommander, "ic").await;
    let ic_csrf = get(&api, "/account/tokens", &ic).await.csrf();
    let page = post_form(
        &api,
        "/account/tokens",
        &ic,
        &[
            ("csrf", &ic_csrf),
            ("name", "ic-script"),
            ("access", "write"),
            ("resources", "all"),
            ("expires_in_days", "90"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::CREATED);
    let secret = secret_in(&page.body);
    assert_eq!(me_with(&api, &secret).await, StatusCode::OK);

    // Not for a non-administrator.
    assert_eq!(
        get(&api, "/admin/tokens", &ic).await.status,
        StatusCode::FORBIDDEN
    );
    let id = api
        .store
        .list_unrevoked_tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "ic-script")
        .unwrap()
        .id;
    let uri = format!("/admin/tokens/{id}/revoke");
    assert_eq!(
        post_form(&api, &uri, &ic, &[("csrf", &ic_csrf)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(me_with(&api, &secret).await, StatusCode::OK);

    let page = get(&api, "/admin/tokens?lang=en", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("ic &#60;ic@example.jp&#62;") || page.body.contains("ic@example.jp")
    );
    assert!(page.body.contains("ic-script"));
    let csrf = page.csrf();
    let page = post_form(&api, &uri, &admin, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(me_with(&api, &secret).await, StatusCode::UNAUTHORIZED);
    assert!(
        !get(&api, "/admin/tokens?lang=en", &admin)
            .await
            .body
            .contains("ic-script")
    );
    // A second revocation finds nothing.
    assert_eq!(
        post_form(&api, &uri, &admin, &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let audit = api.store.list_audit(0, 1000).await.unwrap();
    let record = audit
        .iter()
        .find(|r| r.event.action == "token.revoke")
        .expect("the revocation is audited");
    assert_eq!(record.event.object, format!("token:{id}"));
}
