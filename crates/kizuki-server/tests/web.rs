//! The web UI in process: the real router and store, a browser simulated by cookies.
//! Every HTML answer is also checked for inline script and style, which the CSP forbids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use kizuki_domain::clock::Clock;
use kizuki_domain::user::{NewSession, NewUser, Role, SessionStage};
use serde_json::json;
use tower::ServiceExt;

mod common;
use common::Api;

const PASSWORD: &str = "correct horse battery staple 42";
/// RFC 6238's test key ("12345678901234567890") in base32.
const TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// One answer, with the parts the tests look at.
struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The value the answer sets cookie `name` to.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find_map(|c| {
            c.split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        })
    }

    /// The hidden CSRF field of the sign-out form.
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
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
    if is_html {
        assert_no_inline_script_or_style(&body);
    }
    Page {
        status,
        headers,
        body,
    }
}

fn assert_no_inline_script_or_style(html: &str) {
    let lower = html.to_lowercase();
    assert!(!lower.contains("<style"), "a <style> element:\n{html}");
    assert!(!lower.contains(" style="), "a style attribute:\n{html}");
    for (at, _) in lower.match_indices("<script") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap()];
        assert!(tag.contains(" src="), "an inline script:\n{html}");
    }
}

async fn get(api: &Api, uri: &str, cookie: Option<&str>) -> Page {
    let mut req = Request::builder().uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(api, req.body(Body::empty()).unwrap()).await
}

async fn post_form(api: &Api, uri: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Page {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(api, req.body(Body::from(body)).unwrap()).await
}

async fn user(api: &Api, role: Role, name: &str) -> i64 {
    api.store
        .create_user(
            &NewUser::new(&format!("{name}@example.jp"), name, role).unwrap(),
            api.clock.now(),
        )
        .await
        .unwrap()
        .id
}

/// A fully signed-in session made in the store, as the `Cookie` header that carries it.
async fn session(api: &Api, user_id: i64, name: &str) -> String {
    let secret = format!("kzs_web-test-session-{name}");
    let now = api.clock.now();
    api.store
        .create_session(
            &NewSession {
                user_id,
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

async fn signed_in(api: &Api, role: Role, name: &str) -> String {
    let id = user(api, role, name).await;
    session(api, id, name).await
}

/// A responder with a password and an authenticator app.
async fn person_with_totp(api: &Api, name: &str) -> String {
    let id = user(api, Role::Responder, name).await;
    let hash = kizuki_auth::password::hash_password(&mut rand::rng(), PASSWORD).unwrap();
    api.store.set_password(id, &hash).await.unwrap();
    api.store.set_totp_pending(id, TOTP_SECRET).await.unwrap();
    api.store.activate_totp(id, 1, &[]).await.unwrap();
    format!("{name}@example.jp")
}

/// RFC 6238 (HMAC-SHA-1, 30 s, 6 digits), computed here rather than by the code under test.
fn totp(at: Timestamp) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    // The key is the ASCII digits the base32 secret above encodes.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"12345678901234567890").unwrap();
    mac.update(&(u64::try_from(at.as_second()).unwrap() / 30).to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = usize::from(d[19] & 0x0f);
    let n = u32::from_be_bytes([d[o] & 0x7f, d[o + 1], d[o + 2], d[o + 3]]);
    format!("{:06}", n % 1_000_000)
}

#[test]
fn the_tests_totp_matches_rfc_6238() {
    // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082.
    assert_eq!(totp(Timestamp::from_second(59).unwrap()), "287082");
}

#[tokio::test]
async fn a_visitor_is_sent_to_login_and_back() {
    let api = Api::sqlite().await;
    let page = get(&api, "/library", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Flibrary");
    let page = get(&api, "/library/3?lang=en", None).await;
    assert_eq!(page.location(), "/login?next=%2Flibrary%2F3%3Flang%3Den");
    // A stale cookie is the same as none.
    let page = get(&api, "/library", Some("kizuki_session=kzs_gone")).await;
    assert_eq!(page.location(), "/login?next=%2Flibrary");
    // An API token opens no page.
    let req = Request::builder()
        .uri("/library")
        .header(header::AUTHORIZATION, format!("Bearer {}", common::TOKEN))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&api, req).await.status, StatusCode::SEE_OTHER);

    let login = get(&api, "/login?next=%2Flibrary", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("<html lang=\"ja\">"));
    assert!(login.body.contains("action=\"/login?next=%2Flibrary\""));
    assert!(
        login
            .body
            .contains("<label for=\"email\">メールアドレス</label>")
    );
}

#[tokio::test]
async fn wrong_password_is_shown_in_the_users_language_and_keeps_the_email() {
    let api = Api::sqlite().await;
    let email = person_with_totp(&api, "aya").await;
    let page = post_form(
        &api,
        "/login?lang=en",
        None,
        &[
            ("email", &email),
            ("password", "not-the-password"),
            ("code", ""),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.body
            .contains("The e-mail address, password or code is not correct")
    );
    assert!(page.body.contains("value=\"aya@example.jp\""));
    assert!(
        !page.body.contains("not-the-password"),
        "the password is never echoed"
    );
    assert!(page.cookie("kizuki_session").is_none());

    // An empty password is named beside its field, in Japanese by default.
    let page = post_form(&api, "/login", None, &[("email", &email), ("password", "")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"password-error\">パスワードを入力してください。")
    );
    assert!(page.body.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn password_and_totp_sign_in_and_return_to_next() {
    let api = Api::sqlite().await;
    let email = person_with_totp(&api, "ken").await;
    // Right password, no code: asked for the code beside its field.
    let page = post_form(
        &api,
        "/login?next=%2Flibrary%2F3",
        None,
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("id=\"code-error\""));
    assert!(page.body.contains("value=\"ken@example.jp\""));

    let code = totp(api.clock.now());
    let page = post_form(
        &api,
        "/login?next=%2Flibrary%2F3",
        None,
        &[("email", &email), ("password", PASSWORD), ("code", &code)],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/library/3");
    let set = page
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("kizuki_session="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    let cookie = format!("kizuki_session={}", page.cookie("kizuki_session").unwrap());
    let case = get(&api, "/library/3", Some(&cookie)).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(case.body.contains("ken さん"));
}

#[tokio::test]
async fn a_next_that_leaves_the_site_is_ignored() {
    let api = Api::sqlite().await;
    let email = person_with_totp(&api, "rin").await;
    for (i, next) in ["//evil.example", "https://evil.example/", "/\\evil.example"]
        .into_iter()
        .enumerate()
    {
        // A fresh 30-second step each time: a TOTP code is accepted once.
        api.clock
            .advance(jiff::SignedDuration::from_secs(30 * (i as i64 + 1)));
        let uri = format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        let code = totp(api.clock.now());
        let page = post_form(
            &api,
            &uri,
            None,
            &[("email", &email), ("password", PASSWORD), ("code", &code)],
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{next}: {}", page.body);
        assert_eq!(page.location(), "/library", "{next}");
    }
}

#[tokio::test]
async fn the_chosen_language_is_remembered() {
    let api = Api::sqlite().await;
    let cookie = signed_in(&api, Role::Responder, "mika").await;
    let page = get(&api, "/library?lang=en", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("Case library"));
    assert_eq!(page.cookie("kizuki_lang").as_deref(), Some("en"));
    let set = page
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("kizuki_lang="))
        .unwrap();
    assert!(set.contains("Path=/") && set.contains("SameSite=Lax"));
    // The switcher keeps the page and its query, changing only the language.
    assert!(page.body.contains("href=\"/library?lang=ja\""));

    let both = format!("{cookie}; kizuki_lang=en");
    let page = get(&api, "/library", Some(&both)).await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.cookie("kizuki_lang").is_none());

    // Without a choice, the browser's language; without that, the organisation's (ja).
    let req = Request::builder()
        .uri("/login")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    assert!(send(&api, req).await.body.contains("<html lang=\"en\">"));
    let page = get(&api, "/library?attack_vector=supplier", Some(&cookie)).await;
    assert!(page.body.contains("<html lang=\"ja\">"));
    assert!(
        page.body
            .contains("href=\"/library?attack_vector=supplier&#38;lang=en\"")
    );
}

#[tokio::test]
async fn the_library_filters_cases() {
    let api = Api::sqlite().await;
    let cookie = signed_in(&api, Role::Responder, "sora").await;
    let all = get(&api, "/library?lang=en", Some(&cookie)).await;
    assert_eq!(all.body.matches("class=\"case-card\"").count(), 10);
    assert!(all.body.contains("10 cases found"));

    let page = get(
        &api,
        "/library?attack_vector=password_guessing",
        Some(&cookie),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/library/8\""));
    assert!(!page.body.contains("href=\"/library/3\""));
    assert!(
        page.body
            .contains("<option value=\"password_guessing\" selected>")
    );

    // An unknown value is named beside its filter, and what was typed in the text box stays.
    let page = get(
        &api,
        "/library?q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0&category=nonsense",
        Some(&cookie),
    )
    .await;
    assert!(page.body.contains("id=\"f-category-error\""));
    assert!(page.body.contains("「nonsense」は選択肢にない"));
    assert!(page.body.contains("value=\"ランサム\""));
    assert!(page.body.contains("href=\"/library/3\""));
}

#[tokio::test]
async fn a_case_shows_its_timeline_by_day_in_lanes() {
    let api = Api::sqlite().await;
    let cookie = signed_in(&api, Role::BusinessUnit, "yui").await;
    let page = get(&api, "/library/3", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<table class=\"timeline\">"));
    for lane in ["経営・広報", "CISO・CSIRT", "情報システム・事業部門"] {
        assert!(
            page.body
                .contains(&format!("<th scope=\"col\">{lane}</th>")),
            "{lane}"
        );
    }
    assert!(page.body.contains("<span class=\"when\">1日目</span>"));
    assert!(page.body.contains("<span class=\"when\">7日目</span>"));
    assert!(page.body.contains("<span class=\"when\">2週目</span>"));
    assert!(page.body.contains("出典：NISC"));
    // Case 3's timeline has no rest days; case 2's has several.
    let page = get(&api, "/library/2", Some(&cookie)).await;
    assert!(page.body.contains("<tr class=\"rest-day\">"));
    assert!(
        page.body
            .contains("<span class=\"rest-mark\">（休）</span>")
    );
    let page = get(&api, "/library/2?lang=en", Some(&cookie)).await;
    assert!(
        page.body
            .contains("<span class=\"rest-mark\"> (holiday)</span>")
    );
    assert!(page.body.contains("Source: NISC"));
}

#[tokio::test]
async fn unknown_case_is_a_404_page_in_the_users_language() {
    let api = Api::sqlite().await;
    let cookie = signed_in(&api, Role::Responder, "aoi").await;
    let page = get(&api, "/library/99", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("ページが見つかりません"));
    let page = get(&api, "/library/99?lang=en", Some(&cookie)).await;
    assert!(page.body.contains("Page not found"));
}

#[tokio::test]
async fn a_reporter_may_not_open_the_library() {
    let api = Api::sqlite().await;
    let cookie = signed_in(&api, Role::Reporter, "taro").await;
    for uri in ["/library", "/library/3"] {
        let page = get(&api, uri, Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(page.body.contains("権限がありません"));
    }
}

#[tokio::test]
async fn the_report_page_respects_role_and_need_to_know() {
    let api = Api::sqlite().await;
    let incident = api
        .post(
            "/api/v1/incidents",
            json!({
                "title": "Ransomware on the file servers",
                "summary": "Encrypted overnight; restored from backups",
                "category": "ransomware",
                "severity": 3,
                "detection_source": "edr",
                "start_date": "2026-06-02",
                "restricted": true
            }),
        )
        .await;
    let id = incident["id"].as_i64().unwrap();
    let commander = api
        .store
        .user_by_email("csirt@example.jp")
        .await
        .unwrap()
        .unwrap();
    let cookie = session(&api, commander.id, "commander").await;
    let page = get(&api, &format!("/incidents/{id}/report"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("class=\"after-action-report\""));
    assert!(page.body.contains("Ransomware on the file servers"));
    assert!(page.body.contains(&format!(
        "href=\"/api/v1/incidents/{id}/report?format=pdf&#38;lang=ja\""
    )));
    // The download link works with the same cookie.
    let md = get(
        &api,
        &format!("/api/v1/incidents/{id}/report?format=md&lang=ja"),
        Some(&cookie),
    )
    .await;
    assert_eq!(md.status, StatusCode::OK);

    // A responder outside the restricted incident sees nothing there, as for a missing one.
    let outsider = signed_in(&api, Role::Responder, "outsider").await;
    for uri in [
        format!("/incidents/{id}/report"),
        "/incidents/999/report".to_owned(),
        "/incidents/%35/report".to_owned(),
    ] {
        let page = get(&api, &uri, Some(&outsider)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!page.body.contains("Ransomware on the file servers"));
    }
    // A business unit may not export at all.
    let unit = signed_in(&api, Role::BusinessUnit, "unit").await;
    let page = get(&api, &format!("/incidents/{id}/report"), Some(&unit)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signing_out_needs_the_csrf_field() {
    let api = Api::sqlite().await;
    let cookie = signed_in(&api, Role::Responder, "nao").await;
    let page = get(&api, "/library", Some(&cookie)).await;
    let csrf = page.csrf();
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/logout\"")
    );

    let refused = post_form(&api, "/logout", Some(&cookie), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = post_form(&api, "/logout", Some(&cookie), &[("csrf", "forged")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The right token sent from another site is refused too.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/logout")
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}")))
        .unwrap();
    assert_eq!(send(&api, req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&api, "/library", Some(&cookie)).await.status,
        StatusCode::OK
    );

    let page = post_form(&api, "/logout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?signed_out=1");
    assert_eq!(page.cookie("kizuki_session").as_deref(), Some(""));
    let after = get(&api, "/library", Some(&cookie)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session has ended");
    let login = get(&api, "/login?signed_out=1", None).await;
    assert!(login.body.contains("ログアウトしました。"));
}

#[tokio::test]
async fn the_stylesheet_is_served_for_a_year_under_its_hash() {
    let api = Api::sqlite().await;
    let page = get(&api, "/login", None).await;
    let at = page.body.find("href=\"/static/kizuki.").unwrap() + 6;
    let href = &page.body[at..at + page.body[at..].find('"').unwrap()];
    assert!(href.ends_with(".css"));
    let css = get(&api, href, None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(
        css.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains(":focus-visible"));
    assert_eq!(
        get(&api, "/static/kizuki.css", None).await.status,
        StatusCode::NOT_FOUND
    );
    // Pages themselves are never cached, and carry the CSP.
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(page.headers.contains_key(header::CONTENT_SECURITY_POLICY));
}
