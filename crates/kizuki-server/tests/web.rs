//! The web UI in process: the real router and store, a browser simulated by cookies.
//! Every HTML answer is also checked for inline script and style, which the CSP forbids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use kizuki_domain::clock::Clock;
use kizuki_domain::settings::Language;
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
    // The key is the ASCII digits the base32 secret above encodes.
    totp_with(b"12345678901234567890", at)
}

fn totp_with(key: &[u8], at: Timestamp) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
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
    // Nobody chose a language, so none is stored.
    let ken = api.store.user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(ken.language, None);
}

#[tokio::test]
async fn the_language_chosen_before_signing_in_becomes_the_persons() {
    let api = Api::sqlite().await;
    let email = person_with_totp(&api, "yui").await;
    let code = totp(api.clock.now());
    let page = post_form(
        &api,
        "/login?lang=en",
        Some("kizuki_lang=ja"),
        &[("email", &email), ("password", PASSWORD), ("code", &code)],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let yui = api.store.user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(yui.language, Some(Language::En), "?lang= beats the cookie");
    let cookie = format!("kizuki_session={}", page.cookie("kizuki_session").unwrap());
    assert!(
        get(&api, "/incidents", Some(&cookie))
            .await
            .body
            .contains("<html lang=\"en\">")
    );
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
        assert_eq!(page.location(), "/incidents", "{next}");
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
    // The choice is also the person's: it follows them to a browser that has no cookie,
    // even one asking for Japanese.
    let req = Request::builder()
        .uri("/library")
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_LANGUAGE, "ja")
        .body(Body::empty())
        .unwrap();
    assert!(send(&api, req).await.body.contains("<html lang=\"en\">"));
    let mika = api
        .store
        .user_by_email("mika@example.jp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mika.language, Some(Language::En));
    // Someone who never chose gets the organisation's language (ja).
    let other = signed_in(&api, Role::Responder, "ren").await;
    let page = get(&api, "/library?attack_vector=supplier", Some(&other)).await;
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
        "/library?lang=ja&q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0&category=nonsense",
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

/// An incident made through the API (as the commander), returning its id.
async fn incident(api: &Api, title: &str, extra: serde_json::Value) -> i64 {
    let mut body = json!({
        "title": title,
        "summary": "Seen by the night shift",
        "category": "ransomware",
        "severity": 3,
        "detection_source": "edr",
        "start_date": "2026-06-19"
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let made = api.post("/api/v1/incidents", body).await;
    made["id"].as_i64().unwrap_or_else(|| panic!("{made}"))
}

async fn commander_cookie(api: &Api) -> String {
    let commander = api
        .store
        .user_by_email("csirt@example.jp")
        .await
        .unwrap()
        .unwrap();
    session(api, commander.id, "commander").await
}

/// The cells of the timeline row labelled `when` (and `at`, when given), one string per
/// lane column, in the header's order.
fn timeline_row(body: &str, when: &str, at: Option<&str>) -> Vec<String> {
    let table = &body[body
        .find("id=\"timeline-table\"")
        .expect("a timeline table")..];
    let table = &table[..table.find("</table>").unwrap()];
    for row in table.split("<tr").skip(2) {
        let header = &row[..row.find("</th>").unwrap_or(row.len())];
        let when_ok = header.contains(&format!("<span class=\"when\">{when}</span>"));
        let at_ok = at.is_none_or(|a| header.contains(&format!("<span class=\"at\">{a}</span>")));
        if when_ok && at_ok {
            return row
                .split("<td>")
                .skip(1)
                .map(|c| c[..c.find("</td>").unwrap()].to_owned())
                .collect();
        }
    }
    panic!("no row {when} {at:?} in:\n{table}");
}

#[tokio::test]
async fn an_employee_reports_a_suspicion_without_signing_in() {
    let api = Api::sqlite().await;
    let form = get(&api, "/report?lang=ja", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("何でもなくても、まったく問題ありません"));
    assert!(form.body.contains("name=\"what_happened\""));

    // Nothing typed: the error sits beside the field, and what was typed elsewhere stays.
    let empty = post_form(
        &api,
        "/report?lang=ja",
        None,
        &[
            ("what_happened", "  "),
            ("where", "3F 経理部"),
            ("contact", "内線 1234"),
        ],
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("id=\"what-error\""));
    assert!(empty.body.contains("気付いたことを一言でも書いてください"));
    assert!(empty.body.contains("value=\"3F 経理部\""));
    assert!(empty.body.contains("value=\"内線 1234\""));

    // A time that is no time, in English this time.
    let bad_time = post_form(
        &api,
        "/report?lang=en",
        None,
        &[
            ("what_happened", "Odd pop-up"),
            ("noticed_at", "yesterday-ish"),
        ],
    )
    .await;
    assert_eq!(bad_time.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_time.body.contains("id=\"noticed-error\""));
    assert!(bad_time.body.contains("This is not a date and time"));
    assert!(bad_time.body.contains(">Odd pop-up</textarea>"));
    assert_eq!(
        api.store.count_incidents(None).await.unwrap(),
        0,
        "refused forms file nothing"
    );

    let sent = post_form(
        &api,
        "/report?lang=en",
        None,
        &[
            (
                "what_happened",
                "A red screen asks for bitcoin\nFiles end in .lock",
            ),
            ("where", "PC-ACC-07"),
            ("noticed_at", "2026-06-20T11:40"),
            ("contact", "ext. 1234"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location().to_owned();
    let reference: i64 = location
        .strip_prefix("/report/thanks?reference=")
        .unwrap()
        .parse()
        .unwrap();
    let thanks = get(&api, &format!("{location}&lang=en"), None).await;
    assert_eq!(thanks.status, StatusCode::OK);
    assert!(
        thanks
            .body
            .contains(&format!("Your report number is {reference}."))
    );
    assert!(thanks.body.contains("do not delete anything"));

    let filed = api.store.get_incident(reference).await.unwrap().unwrap();
    assert_eq!(filed.title, "A red screen asks for bitcoin");
    assert_eq!(filed.phase.as_str(), "reported");
    assert_eq!(filed.detection_source.as_str(), "user_report");
    assert!(filed.summary.contains("PC-ACC-07") && filed.summary.contains("ext. 1234"));
    // 11:40 in Tokyo is 02:40 UTC.
    assert_eq!(filed.aware_at.to_string(), "2026-06-20T02:40:00Z");
}

#[tokio::test]
async fn a_report_sent_from_another_site_is_refused_and_files_nothing() {
    let api = Api::sqlite().await;
    let body = "what_happened=forged";
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/report")
            .header(header::HOST, "kizuki.example.jp")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header, value)
            .body(Body::from(body))
            .unwrap();
        let page = send(&api, req).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{header}");
    }
    assert_eq!(api.store.count_incidents(None).await.unwrap(), 0);

    // Regression: under `Referrer-Policy: no-referrer` Chromium posts our own forms with
    // `Origin: null` and `Sec-Fetch-Site: same-origin`; that is our page and is accepted.
    // A null origin that does not say so stays refused.
    for (site, status) in [
        (Some("same-origin"), StatusCode::SEE_OTHER),
        (None, StatusCode::FORBIDDEN),
    ] {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/report")
            .header(header::HOST, "kizuki.example.jp")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "null");
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        let page = send(&api, req.body(Body::from("what_happened=real")).unwrap()).await;
        assert_eq!(page.status, status, "{site:?}");
    }
    assert_eq!(api.store.count_incidents(None).await.unwrap(), 1);
}

#[tokio::test]
async fn the_board_lists_filters_and_counts_open_incidents() {
    let api = Api::sqlite().await;
    let a = incident(&api, "Ransomware at the plant", json!({})).await;
    let b = incident(
        &api,
        "Defaced campaign site",
        json!({"category": "web_defacement", "severity": 1}),
    )
    .await;
    for phase in ["triage", "containment"] {
        let v = api.get(&format!("/api/v1/incidents/{b}")).await["version"]
            .as_i64()
            .unwrap();
        api.patch(
            &format!("/api/v1/incidents/{b}"),
            json!({"version": v, "phase": phase}),
        )
        .await;
    }
    let cookie = commander_cookie(&api).await;

    let board = get(&api, "/incidents?lang=en", Some(&cookie)).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    assert!(board.body.contains(&format!("href=\"/incidents/{a}\"")));
    assert!(board.body.contains("Defaced campaign site"));
    assert!(board.body.contains("2 incidents shown"));
    assert!(board.body.contains("Day 2"), "the day count since Day 1");
    // Counts by phase link to the filtered board.
    assert!(board.body.contains(
        "<a href=\"/incidents?phase=containment\"><span class=\"count\">1</span> <span class=\"label\">Containment</span></a>"
    ));

    let filtered = get(&api, "/incidents?lang=en&phase=containment", Some(&cookie)).await;
    assert!(filtered.body.contains("Defaced campaign site"));
    assert!(!filtered.body.contains("Ransomware at the plant"));
    let severe = get(&api, "/incidents?lang=en&min_severity=3", Some(&cookie)).await;
    assert!(severe.body.contains("Ransomware at the plant"));
    assert!(!severe.body.contains("Defaced campaign site"));

    // An unknown value is shown beside its filter, not silently dropped.
    let odd = get(&api, "/incidents?lang=en&phase=panic", Some(&cookie)).await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(odd.body.contains("id=\"f-phase-error\""));
    assert!(odd.body.contains("“panic” is not one of the choices"));

    // A reporter sees only their own reports on the board.
    let reporter = signed_in(&api, Role::Reporter, "reporter").await;
    let page = get(&api, "/incidents?lang=en", Some(&reporter)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Ransomware at the plant"));
    assert!(page.body.contains("No incidents shown"));
    // And without a session, the board asks for one.
    let page = get(&api, "/incidents", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Fincidents");
}

#[tokio::test]
async fn the_incident_page_lays_the_timeline_out_by_day_and_lane() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    for (day, time, lane, text) in [
        (1, "22:00", "it_business", "File server alerts"),
        (2, "09:30", "ciso_csirt", "CSIRT convened"),
        (2, "09:30", "management_pr", "President briefed"),
    ] {
        api.post(
            &format!("/api/v1/incidents/{id}/timeline"),
            json!({"day": day, "time_of_day": time, "lane": lane, "kind": "communication", "text": text}),
        )
        .await;
    }
    api.post(
        &format!("/api/v1/incidents/{id}/decisions"),
        json!({
            "question": "Shut down the plant network?",
            "options": [
                {"label": "Shut down now", "scenario": "Production stops for two days"},
                {"label": "Keep running", "scenario": "Encryption may spread"}
            ]
        }),
    )
    .await;
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Lanes in the study's order: management & PR, CISO & CSIRT, IT & business units.
    let day1 = timeline_row(&page.body, "Day 1", Some("22:00"));
    assert!(day1[2].contains("File server alerts"), "{day1:?}");
    assert!(day1[0].is_empty() && day1[1].is_empty());
    // 20 June 2026 is a Saturday: Day 2 carries the rest-day mark, and both lanes share it.
    let day2 = timeline_row(&page.body, "Day 2", Some("9:30"));
    assert!(day2[0].contains("President briefed"), "{day2:?}");
    assert!(day2[1].contains("CSIRT convened"), "{day2:?}");
    assert!(page.body.contains("<tr class=\"rest-day\">"));
    assert!(page.body.contains("Shut down the plant network?"));
    assert!(page.body.contains("Production stops for two days"));
    assert!(page.body.contains("Not decided yet."));
    // The header: severity, phase, day count.
    assert!(page.body.contains("<dd>Reported</dd>") || page.body.contains("<dd>Triage</dd>"));
    assert!(page.body.contains("<dd>Day 2</dd>"));

    let ja = get(&api, &format!("/incidents/{id}?lang=ja"), Some(&cookie)).await;
    let day2 = timeline_row(&ja.body, "2日目", Some("9:30"));
    assert!(day2[0].contains("President briefed"));
    assert!(ja.body.contains("経営・広報"));
}

#[tokio::test]
async fn quick_add_keeps_the_lane_and_what_was_typed() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    let executive = signed_in(&api, Role::Executive, "exec").await;
    // Members only? Executives see unrestricted incidents; the page opens in their lane.
    let page = get(&api, &format!("/incidents/{id}?lang=ja"), Some(&executive)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<option value=\"management_pr\" selected>")
    );
    let csrf = page.csrf();

    // Empty text: the error beside the field in Japanese, lane and time kept.
    let refused = post_form(
        &api,
        &format!("/incidents/{id}/timeline?lang=ja"),
        Some(&executive),
        &[
            ("csrf", &csrf),
            ("lane", "external"),
            ("kind", "decision"),
            ("at", "2026-06-20T10:15"),
            ("text", ""),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("出来事を書いてください"));
    assert!(
        refused
            .body
            .contains("<option value=\"external\" selected>")
    );
    assert!(
        refused
            .body
            .contains("<option value=\"decision\" selected>")
    );
    assert!(refused.body.contains("value=\"2026-06-20T10:15\""));

    // Without the page's CSRF token nothing is written.
    let forged = post_form(
        &api,
        &format!("/incidents/{id}/timeline"),
        Some(&executive),
        &[
            ("lane", "management_pr"),
            ("kind", "other"),
            ("text", "forged"),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let added = post_form(
        &api,
        &format!("/incidents/{id}/timeline"),
        Some(&executive),
        &[
            ("csrf", &csrf),
            ("lane", "management_pr"),
            ("kind", "decision"),
            ("at", "2026-06-20T10:15"),
            ("text", "Decided to disclose on Monday"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(
        added.location(),
        format!("/incidents/{id}?lane=management_pr&added=1#timeline")
    );
    let after = get(
        &api,
        &format!("/incidents/{id}?lane=management_pr&added=1&lang=en"),
        Some(&executive),
    )
    .await;
    assert!(after.body.contains("Added to the timeline."));
    let row = timeline_row(&after.body, "Day 2", Some("10:15"));
    assert!(row[0].contains("Decided to disclose on Monday"), "{row:?}");
    assert!(row[0].contains("— exec"), "the writer is the actor");
    let stored = api.get(&format!("/api/v1/incidents/{id}/timeline")).await;
    let texts: Vec<&str> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Decided to disclose on Monday"],
        "forged and refused posts wrote nothing"
    );

    // A role that reads but may not write sees no quick-add box, and its posts are refused.
    let reporter = signed_in(&api, Role::Reporter, "reporter").await;
    let refused = post_form(
        &api,
        &format!("/incidents/{id}/timeline"),
        Some(&reporter),
        &[("lane", "management_pr"), ("kind", "other"), ("text", "x")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_restricted_incident_page_is_a_404_for_outsiders() {
    let api = Api::sqlite().await;
    let id = incident(
        &api,
        "Insider copying files",
        json!({"restricted": true, "category": "insider"}),
    )
    .await;
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let outsider = signed_in(&api, Role::Responder, "outsider").await;
    for uri in [
        format!("/incidents/{id}"),
        "/incidents/%31".to_owned(),
        "/incidents/999".to_owned(),
    ] {
        let page = get(&api, &uri, Some(&outsider)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!page.body.contains("Insider copying files"));
    }
    let board = get(&api, "/incidents", Some(&outsider)).await;
    assert!(!board.body.contains("Insider copying files"));
}

/// The hidden `version` of the triage form.
fn triage_version(body: &str) -> String {
    let at = body.find("name=\"version\" value=\"").unwrap() + 22;
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn triage_applies_and_a_colleagues_change_is_shown_not_lost() {
    let api = Api::sqlite().await;
    let id = incident(
        &api,
        "Odd pop-up on PC-7",
        json!({"category": "other", "severity": 1}),
    )
    .await;
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    let csrf = page.csrf();
    let version = triage_version(&page.body);

    let sent = post_form(
        &api,
        &format!("/incidents/{id}/triage"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("severity", "3"),
            ("phase", "triage"),
            ("category", "ransomware"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let stored = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(stored["severity"], 3);
    assert_eq!(stored["phase"], "triage");
    assert_eq!(stored["category"], "ransomware");

    // The same (now stale) form again, wanting containment: refused with the colleague's
    // state named, the choice kept, and the form moved to the current version.
    let stale = post_form(
        &api,
        &format!("/incidents/{id}/triage?lang=en"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("severity", "2"),
            ("phase", "triage"),
            ("category", "ransomware"),
        ],
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("A colleague changed this incident"));
    assert!(stale.body.contains("severity 3, phase Triage"));
    assert!(stale.body.contains("<option value=\"2\" selected>"));
    assert_eq!(
        triage_version(&stale.body),
        stored["version"].as_i64().unwrap().to_string()
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}")).await["severity"],
        3,
        "the stale form changed nothing"
    );

    // A phase the incident cannot move to is refused beside the phase.
    let jump = post_form(
        &api,
        &format!("/incidents/{id}/triage?lang=en"),
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("version", &triage_version(&stale.body)),
            ("severity", "3"),
            ("phase", "post_incident"),
            ("category", "ransomware"),
        ],
    )
    .await;
    assert_eq!(
        jump.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        jump.body
    );
    assert!(jump.body.contains("id=\"t-phase-error\""));
}

#[tokio::test]
async fn a_playbook_is_applied_once_from_the_page() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    // The incident's own category is offered first and preselected.
    assert!(page.body.contains("<option value=\"ransomware\" selected>"));
    let csrf = page.csrf();
    let form = [("csrf", csrf.as_str()), ("playbook", "ransomware")];
    let applied = post_form(
        &api,
        &format!("/incidents/{id}/playbook"),
        Some(&cookie),
        &form,
    )
    .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let tasks = api.get(&format!("/api/v1/incidents/{id}/tasks")).await;
    let count = tasks.as_array().unwrap().len();
    assert!(count > 5, "{tasks}");
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    assert!(
        page.body.contains("<h3>CISO &#38; CSIRT</h3>")
            || page.body.contains("<h3>CISO &amp; CSIRT</h3>")
    );
    // Twice is refused beside the field, and adds nothing.
    let again = post_form(
        &api,
        &format!("/incidents/{id}/playbook?lang=en"),
        Some(&cookie),
        &form,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("id=\"p-playbook-error\""));
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/tasks"))
            .await
            .as_array()
            .unwrap()
            .len(),
        count
    );
    // Unknown playbook.
    let odd = post_form(
        &api,
        &format!("/incidents/{id}/playbook?lang=en"),
        Some(&cookie),
        &[("csrf", csrf.as_str()), ("playbook", "nope")],
    )
    .await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_executive_records_a_decision_with_two_options() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    let executive = signed_in(&api, Role::Executive, "exec").await;
    let page = get(&api, &format!("/incidents/{id}?lang=ja"), Some(&executive)).await;
    let csrf = page.csrf();
    // One option only: refused beside option 2, everything typed kept.
    let short = post_form(
        &api,
        &format!("/incidents/{id}/decisions?lang=ja"),
        Some(&executive),
        &[
            ("csrf", &csrf),
            ("question", "工場ネットワークを止めるか"),
            ("label_1", "すぐ止める"),
            ("scenario_1", "生産が2日止まる"),
            ("rationale", "感染拡大を防ぐ"),
        ],
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("id=\"d-label-2-error\""));
    assert!(short.body.contains("選択肢は2つ以上必要です"));
    assert!(short.body.contains("value=\"工場ネットワークを止めるか\""));
    assert!(short.body.contains("value=\"生産が2日止まる\""));
    assert!(short.body.contains(">感染拡大を防ぐ</textarea>"));

    let made = post_form(
        &api,
        &format!("/incidents/{id}/decisions"),
        Some(&executive),
        &[
            ("csrf", &csrf),
            ("question", "工場ネットワークを止めるか"),
            ("label_1", "すぐ止める"),
            ("scenario_1", "生産が2日止まる"),
            ("label_2", "止めずに監視"),
            ("scenario_2", "暗号化が広がるおそれ"),
            ("chosen", "1"),
            ("rationale", "感染拡大を防ぐ"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let decisions = api.get(&format!("/api/v1/incidents/{id}/decisions")).await;
    let d = &decisions[0];
    assert_eq!(d["options"].as_array().unwrap().len(), 2);
    assert_eq!(d["chosen"], 0);
    assert_eq!(d["decided_by"], "exec");
    let page = get(&api, &format!("/incidents/{id}?lang=ja"), Some(&executive)).await;
    assert!(
        page.body
            .contains("<li class=\"chosen\"><strong>すぐ止める</strong>")
    );

    // An open decision proposed by a responder is decided later by the executive.
    let responder = signed_in(&api, Role::Responder, "resp").await;
    let rpage = get(&api, &format!("/incidents/{id}"), Some(&responder)).await;
    let rcsrf = rpage.csrf();
    let refused = post_form(
        &api,
        &format!("/incidents/{id}/decisions?lang=en"),
        Some(&responder),
        &[
            ("csrf", &rcsrf),
            ("question", "Pay the ransom?"),
            ("label_1", "No"),
            ("scenario_1", "Rebuild from backups"),
            ("label_2", "Yes"),
            ("scenario_2", "No guarantee of a key"),
            ("chosen", "2"),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "responders may not decide"
    );
    assert!(
        refused
            .body
            .contains("may propose decisions but not take them")
    );
    let proposed = post_form(
        &api,
        &format!("/incidents/{id}/decisions"),
        Some(&responder),
        &[
            ("csrf", &rcsrf),
            ("question", "Pay the ransom?"),
            ("label_1", "No"),
            ("scenario_1", "Rebuild from backups"),
            ("label_2", "Yes"),
            ("scenario_2", ""),
        ],
    )
    .await;
    // Option 2 says nothing of what it leads to: refused beside that option.
    assert_eq!(proposed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(proposed.body.contains("id=\"d-label-2-error\""));
    let proposed = post_form(
        &api,
        &format!("/incidents/{id}/decisions"),
        Some(&responder),
        &[
            ("csrf", &rcsrf),
            ("question", "Pay the ransom?"),
            ("label_1", "No"),
            ("scenario_1", "Rebuild from backups"),
            ("label_2", "Yes"),
            ("scenario_2", "No guarantee of a key"),
        ],
    )
    .await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    let decisions = api.get(&format!("/api/v1/incidents/{id}/decisions")).await;
    let open = decisions
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["question"] == "Pay the ransom?")
        .unwrap();
    let did = open["id"].as_i64().unwrap();
    assert!(open["chosen"].is_null());
    let decided = post_form(
        &api,
        &format!("/incidents/{id}/decisions/{did}/decide"),
        Some(&executive),
        &[
            ("csrf", &csrf),
            ("chosen", "0"),
            ("rationale", "Police advice"),
        ],
    )
    .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    let twice = post_form(
        &api,
        &format!("/incidents/{id}/decisions/{did}/decide?lang=en"),
        Some(&executive),
        &[("csrf", &csrf), ("chosen", "1")],
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(
        twice
            .body
            .contains("A colleague recorded the outcome first")
    );
    let stored = api
        .get(&format!("/api/v1/incidents/{id}/decisions/{did}"))
        .await;
    assert_eq!(stored["chosen"], 0, "the first outcome stands");
}

#[tokio::test]
async fn the_incident_page_hears_when_a_colleague_adds_an_entry() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}"), Some(&cookie)).await;
    assert!(
        page.body
            .contains(&format!("data-events=\"/incidents/{id}/events\""))
    );
    let script = {
        let at = page.body.find("<script src=\"").unwrap() + 13;
        page.body[at..at + page.body[at..].find('"').unwrap()].to_owned()
    };
    let js = get(&api, &script, None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.contains("EventSource"));

    let res = api
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/incidents/{id}/events"))
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = res.into_body();
    api.post(
        &format!("/api/v1/incidents/{id}/timeline"),
        json!({"lane": "it_business", "kind": "detection", "text": "Second server encrypted"}),
    )
    .await;
    let event = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            let frame = body.frame().await.unwrap().unwrap();
            if let Ok(data) = frame.into_data() {
                let text = String::from_utf8(data.to_vec()).unwrap();
                if text.contains("event: timeline") {
                    return text;
                }
            }
        }
    })
    .await
    .expect("a timeline event within 15 s");
    assert!(event.contains("data: 1-"), "{event}");

    // Outsiders get no stream for a restricted incident.
    let secret = incident(&api, "Insider", json!({"restricted": true})).await;
    let outsider = signed_in(&api, Role::Responder, "outsider").await;
    let page = get(
        &api,
        &format!("/incidents/{secret}/events"),
        Some(&outsider),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_commander_sets_up_two_step_verification_in_the_browser() {
    let api = Api::sqlite().await;
    let id = user(&api, Role::IncidentCommander, "newic").await;
    let hash = kizuki_auth::password::hash_password(&mut rand::rng(), PASSWORD).unwrap();
    api.store.set_password(id, &hash).await.unwrap();
    let signed = post_form(
        &api,
        "/login?lang=en",
        None,
        &[("email", "newic@example.jp"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), "/account/mfa");
    let cookie = format!(
        "kizuki_session={}",
        signed.cookie("kizuki_session").unwrap()
    );
    // Until it is done, every page leads back here.
    let board = get(&api, "/incidents", Some(&cookie)).await;
    assert_eq!(board.status, StatusCode::SEE_OTHER);
    assert_eq!(board.location(), "/account/mfa");

    let page = get(&api, "/account/mfa?lang=en", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Your role must use two-step verification")
    );
    let csrf = page.csrf();
    let offer = post_form(
        &api,
        "/account/mfa/start?lang=en",
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(offer.status, StatusCode::OK, "{}", offer.body);
    assert!(offer.body.contains("src=\"data:image/svg+xml;base64,"));
    let secret = {
        let marker = "id=\"totp-secret\">";
        let at = offer.body.find(marker).unwrap() + marker.len();
        offer.body[at..at + offer.body[at..].find('<').unwrap()].to_owned()
    };
    let key = kizuki_auth::totp::TotpSecret::from_base32(&secret).unwrap();

    // A wrong code: the same secret again, the error beside the field.
    let wrong = post_form(
        &api,
        "/account/mfa/confirm?lang=en",
        Some(&cookie),
        &[("csrf", &csrf), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("id=\"code-error\""));
    assert!(
        wrong.body.contains(&secret),
        "the phone's secret stays valid"
    );

    let code = totp_with(key.as_bytes(), api.clock.now());
    let done = post_form(
        &api,
        "/account/mfa/confirm?lang=en",
        Some(&cookie),
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Two-step verification is on."));
    assert_eq!(
        done.body.matches("<li><code>").count(),
        10,
        "ten recovery codes"
    );
    // The same session now opens the board.
    let board = get(&api, "/incidents", Some(&cookie)).await;
    assert_eq!(board.status, StatusCode::OK);
    // Without the page's CSRF token nothing starts.
    let forged = post_form(&api, "/account/mfa/start", Some(&cookie), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_new_incident_gets_its_categorys_playbook() {
    let api = Api::sqlite().await;
    let cookie = commander_cookie(&api).await;
    let form = get(&api, "/incidents/new?lang=en", Some(&cookie)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("Ransomware (playbook:"),
        "the playbook is named beside its category"
    );
    let csrf = form.csrf();

    // No title and no category: both refused beside their fields, the summary kept.
    let refused = post_form(
        &api,
        "/incidents/new?lang=en",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("summary", "Files renamed .lock"),
            ("detection_source", "edr"),
            ("apply_playbook", "1"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"n-title-error\""));
    assert!(refused.body.contains("id=\"n-category-error\""));
    assert!(refused.body.contains(">Files renamed .lock</textarea>"));
    assert!(refused.body.contains("<option value=\"edr\" selected>"));
    assert_eq!(api.store.count_incidents(None).await.unwrap(), 0);

    let opened = post_form(
        &api,
        "/incidents/new",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("title", "Ransom note on FS01"),
            ("category", "ransomware"),
            ("severity", "3"),
            ("detection_source", "edr"),
            ("apply_playbook", "1"),
        ],
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let id: i64 = opened
        .location()
        .strip_prefix("/incidents/")
        .unwrap()
        .parse()
        .unwrap();
    let incident = api.store.get_incident(id).await.unwrap().unwrap();
    assert_eq!(incident.severity, 3);
    let tasks = api.store.list_tasks(id).await.unwrap();
    assert!(!tasks.is_empty());
    assert!(tasks.iter().all(|t| {
        t.playbook
            .as_deref()
            .is_some_and(|p| p.starts_with("ransomware@"))
    }));

    // Unticked: no tasks. A business unit may not open incidents here at all.
    let plain = post_form(
        &api,
        "/incidents/new",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("title", "Odd login"),
            ("category", "unauthorised_access"),
            ("detection_source", "unknown"),
        ],
    )
    .await;
    let plain_id: i64 = plain
        .location()
        .strip_prefix("/incidents/")
        .unwrap()
        .parse()
        .unwrap();
    assert!(api.store.list_tasks(plain_id).await.unwrap().is_empty());
    let unit = signed_in(&api, Role::BusinessUnit, "unit").await;
    assert_eq!(
        get(&api, "/incidents/new", Some(&unit)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_task_is_marked_done_once_and_lands_on_the_timeline() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    api.post(
        &format!("/api/v1/incidents/{id}/playbooks"),
        json!({"playbook": "ransomware"}),
    )
    .await;
    let tasks = api.store.list_tasks(id).await.unwrap();
    let task = &tasks[0];
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    assert!(page.body.contains(&format!(
        "action=\"/incidents/{id}/tasks/{}/done\"",
        task.id
    )));
    let csrf = page.csrf();
    let uri = format!("/incidents/{id}/tasks/{}/done?lang=en", task.id);
    let done = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[("csrf", &csrf), ("note", "all 40 PCs checked")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let entries = api.get(&format!("/api/v1/incidents/{id}/timeline")).await;
    let text = entries[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with('✔') && text.ends_with("all 40 PCs checked"),
        "{text}"
    );
    assert_eq!(entries[0]["lane"], task.lane.as_str());
    // A second click (or a colleague's) is refused with a message, and writes nothing.
    let again = post_form(&api, &uri, Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again
            .body
            .contains("A colleague marked this task done first")
    );
    assert_eq!(
        api.get(&format!("/api/v1/incidents/{id}/timeline"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A task of another incident is not found through this one.
    let other = incident(&api, "Other", json!({})).await;
    let wrong = post_form(
        &api,
        &format!("/incidents/{other}/tasks/{}/done", tasks[1].id),
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_are_compressed_only_for_requests_from_our_own_pages() {
    let api = Api::sqlite().await;
    let id = incident(&api, "Ransomware at the plant", json!({})).await;
    for i in 0..200 {
        api.post(
            &format!("/api/v1/incidents/{id}/timeline"),
            json!({"lane": "ciso_csirt", "kind": "analysis", "text": format!("Checked host FS-{i:04}: encrypted shares found and isolated")}),
        )
        .await;
    }
    let cookie = commander_cookie(&api).await;
    let fetch = |site: Option<&'static str>| {
        let mut req = Request::builder()
            .uri(format!("/incidents/{id}"))
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_ENCODING, "gzip");
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        let app = api.app.clone();
        async move {
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let encoding = res
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap().to_owned());
            let size = res.into_body().collect().await.unwrap().to_bytes().len();
            (encoding, size)
        }
    };
    let (encoding, compressed) = fetch(Some("same-origin")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let (encoding, plain) = fetch(Some("cross-site")).await;
    assert_eq!(encoding, None, "a cross-site request is never compressed");
    assert!(compressed * 4 < plain, "{compressed} vs {plain}");
    let (encoding, _) = fetch(None).await;
    assert_eq!(
        encoding, None,
        "a browser that does not say where it comes from"
    );
    // A program with a token (no cookies) gets what it asks for.
    let res = api
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/api/v1/incidents/{id}/timeline"))
                .header(header::AUTHORIZATION, format!("Bearer {}", common::TOKEN))
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test]
async fn a_new_user_sets_a_first_password_from_the_enrolment_link() {
    let api = Api::sqlite().await;
    let id = user(&api, Role::Responder, "newbie").await;
    let code = "kze_web-test-enrolment-code";
    let expires = api
        .clock
        .now()
        .checked_add(jiff::SignedDuration::from_hours(72))
        .unwrap();
    api.store
        .create_enrolment(id, &kizuki_auth::secret::hash_secret(code), expires)
        .await
        .unwrap();
    // (The other tests' password is the famous comic's phrase, which the strength check refuses.)
    const NEW_PASSWORD: &str = "vermilion lantern harbour quietly 7";
    let page = get(&api, "/enrol?lang=en", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"enrol-code\""));

    // Two different passwords: refused beside the second, the code kept.
    let differ = post_form(
        &api,
        "/enrol?lang=en",
        None,
        &[
            ("code", code),
            ("password", NEW_PASSWORD),
            ("password_again", "something else"),
        ],
    )
    .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.body.contains("id=\"again-error\""));
    assert!(differ.body.contains(&format!("value=\"{code}\"")));
    // A weak password does not use the link up.
    let weak = post_form(
        &api,
        "/enrol?lang=ja",
        None,
        &[
            ("code", code),
            ("password", "password1234"),
            ("password_again", "password1234"),
        ],
    )
    .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("推測されやすいパスワードです"));
    let done = post_form(
        &api,
        "/enrol?lang=en",
        None,
        &[
            ("code", code),
            ("password", NEW_PASSWORD),
            ("password_again", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Your password is set."));
    // The link works once.
    let again = post_form(
        &api,
        "/enrol?lang=en",
        None,
        &[
            ("code", code),
            ("password", NEW_PASSWORD),
            ("password_again", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body.contains("unknown, already used or expired"));
    // And the new password signs in.
    let signed = post_form(
        &api,
        "/login",
        None,
        &[("email", "newbie@example.jp"), ("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), "/incidents");
}

#[tokio::test]
async fn an_administrator_manages_people_from_the_page() {
    let api = Api::sqlite().await;
    let admin_id = user(&api, Role::Admin, "root").await;
    let cookie = session(&api, admin_id, "root").await;
    let page = get(&api, "/admin/users?lang=en", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("csirt@example.jp"));
    let csrf = page.csrf();

    let added = post_form(
        &api,
        "/admin/users?lang=en",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("email", "suzuki@example.jp"),
            ("display_name", "Suzuki"),
            ("role", "responder"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(
        added.body.contains("/enrol#kze_"),
        "the one-time link is shown"
    );
    let suzuki = api
        .store
        .user_by_email("suzuki@example.jp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(suzuki.role, Role::Responder);

    let taken = post_form(
        &api,
        "/admin/users?lang=en",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("email", "suzuki@example.jp"),
            ("display_name", "Other"),
            ("role", "responder"),
        ],
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(taken.body.contains("id=\"a-email-error\""));
    assert!(
        taken.body.contains("value=\"Other\""),
        "what was typed is kept"
    );

    let uri = format!("/admin/users/{}", suzuki.id);
    let role = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[("csrf", &csrf), ("change", "role"), ("role", "executive")],
    )
    .await;
    assert_eq!(role.status, StatusCode::SEE_OTHER, "{}", role.body);
    let off = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[("csrf", &csrf), ("change", "deactivate")],
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let suzuki = api.store.user_by_id(suzuki.id).await.unwrap().unwrap();
    assert_eq!(suzuki.role, Role::Executive);
    assert!(!suzuki.active);
    // Every change is in the audit log.
    let audit = api.store.list_audit(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .filter(|r| r.event.action == "user.update")
            .count()
            >= 2
    );

    // An administrator cannot lock themselves out; and others cannot open the page.
    let me = post_form(
        &api,
        &format!("/admin/users/{admin_id}?lang=en"),
        Some(&cookie),
        &[("csrf", &csrf), ("change", "deactivate")],
    )
    .await;
    assert_eq!(me.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        api.store
            .user_by_id(admin_id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let commander = commander_cookie(&api).await;
    assert_eq!(
        get(&api, "/admin/users", Some(&commander)).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The `<ul class="lane-owners">` list of an incident page.
fn lane_owners(body: &str) -> &str {
    let list = &body[body
        .find("<ul class=\"lane-owners\">")
        .expect("lane owners")..];
    &list[..list.find("</ul>").unwrap()]
}

#[tokio::test]
async fn a_commander_gives_a_lane_an_owner_and_the_board_filters_by_owner() {
    let api = Api::sqlite().await;
    let plant = incident(&api, "Ransomware at the plant", json!({})).await;
    let _other = incident(&api, "Phishing wave", json!({"category": "targeted_email"})).await;
    let aoi = user(&api, Role::Responder, "aoi").await;
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{plant}?lang=en"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        lane_owners(&page.body)
            .contains("IT &#38; business units</span>: <span class=\"muted\">no owner</span>"),
        "{}",
        lane_owners(&page.body)
    );
    let csrf = page.csrf();
    let uri = format!("/incidents/{plant}/lane-owners?lang=en");

    // A lane that does not exist is refused beside the lane; the person chosen stays chosen.
    let aoi_s = aoi.to_string();
    let refused = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[("csrf", &csrf), ("lane", "kitchen"), ("user", &aoi_s)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"o-lane-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(&format!("<option value=\"{aoi}\" selected>"))
    );
    assert!(refused.body.contains("<details class=\"team-forms\" open>"));
    // Someone who is not a user is refused beside the person.
    let refused = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[("csrf", &csrf), ("lane", "it_business"), ("user", "987654")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"o-user-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<option value=\"it_business\" selected>")
    );
    // A form from another site changes nothing.
    let forged = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[
            ("csrf", "forged"),
            ("lane", "it_business"),
            ("user", &aoi_s),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(api.store.list_lane_owners(plant).await.unwrap().is_empty());

    let given = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[("csrf", &csrf), ("lane", "it_business"), ("user", &aoi_s)],
    )
    .await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    assert_eq!(given.location(), format!("/incidents/{plant}#team"));
    let page = get(&api, &format!("/incidents/{plant}?lang=en"), Some(&cookie)).await;
    assert!(
        lane_owners(&page.body).contains("IT &#38; business units</span>: aoi"),
        "{}",
        lane_owners(&page.body)
    );
    assert!(
        page.body.contains(&format!(
            "action=\"/incidents/{plant}/members/{aoi}/remove\""
        )),
        "the owner became a member"
    );
    let audit = api.store.list_audit(0, 500).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event.action == "incident.lane_owner.set")
    );

    // The board: the commander filters by Aoi; Aoi filters by "mine".
    let board = get(
        &api,
        &format!("/incidents?lang=en&owner={aoi}"),
        Some(&cookie),
    )
    .await;
    assert!(board.body.contains("Ransomware at the plant"));
    assert!(!board.body.contains("Phishing wave"));
    let aoi_cookie = session(&api, aoi, "aoi").await;
    let mine = get(&api, "/incidents?lang=en&owner=me", Some(&aoi_cookie)).await;
    assert!(
        mine.body.contains("Ransomware at the plant"),
        "{}",
        mine.body
    );
    assert!(!mine.body.contains("Phishing wave"));
    // A responder may not hand out lanes, and is not offered the form.
    let aoi_page = get(
        &api,
        &format!("/incidents/{plant}?lang=en"),
        Some(&aoi_cookie),
    )
    .await;
    assert!(!aoi_page.body.contains("team-forms"));
    let not_theirs = post_form(
        &api,
        &uri,
        Some(&aoi_cookie),
        &[
            ("csrf", &aoi_page.csrf()),
            ("lane", "external"),
            ("user", &aoi_s),
        ],
    )
    .await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);

    // Removing the member also frees the lane they owned.
    let removed = post_form(
        &api,
        &format!("/incidents/{plant}/members/{aoi}/remove"),
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let page = get(&api, &format!("/incidents/{plant}?lang=en"), Some(&cookie)).await;
    assert!(
        lane_owners(&page.body)
            .contains("IT &#38; business units</span>: <span class=\"muted\">no owner</span>")
    );
    let board = get(
        &api,
        &format!("/incidents?lang=en&owner={aoi}"),
        Some(&cookie),
    )
    .await;
    assert!(!board.body.contains("Ransomware at the plant"));

    // Adding a member: choosing nobody is shown beside the field; choosing Aoi works.
    let members = format!("/incidents/{plant}/members?lang=en");
    let empty = post_form(
        &api,
        &members,
        Some(&cookie),
        &[("csrf", &csrf), ("user", "")],
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("id=\"m-user-error\""));
    let added = post_form(
        &api,
        &members,
        Some(&cookie),
        &[("csrf", &csrf), ("user", &aoi_s)],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert!(api.store.is_member(plant, aoi).await.unwrap());

    // The same page in Japanese.
    let ja = get(&api, &format!("/incidents/{plant}?lang=ja"), Some(&cookie)).await;
    assert!(
        ja.body.contains("レーン担当者"),
        "{}",
        lane_owners(&ja.body)
    );
}

#[tokio::test]
async fn legal_clocks_are_marked_met_and_observables_added_from_the_page() {
    let api = Api::sqlite().await;
    let id = incident(
        &api,
        "Customer list leaked",
        json!({"impact": {"confidentiality": true, "personal_data": true}}),
    )
    .await;
    let clocks = api
        .get(&format!("/api/v1/incidents/{id}/legal-clocks"))
        .await;
    let clock_id = clocks[0]["id"].as_i64().unwrap();
    let cookie = commander_cookie(&api).await;
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    let action = format!("action=\"/incidents/{id}/clocks/{clock_id}/met\"");
    assert!(page.body.contains(&action), "{}", page.body);
    let csrf = page.csrf();

    // An executive reads the clocks but may not tick them off.
    let exec = signed_in(&api, Role::Executive, "exec").await;
    let exec_page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&exec)).await;
    assert!(!exec_page.body.contains(&action));

    let met = post_form(
        &api,
        &format!("/incidents/{id}/clocks/{clock_id}/met"),
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(met.status, StatusCode::SEE_OTHER, "{}", met.body);
    let clocks = api
        .get(&format!("/api/v1/incidents/{id}/legal-clocks"))
        .await;
    assert_eq!(clocks[0]["status"], "met");
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    assert!(!page.body.contains(&action), "a met clock has no button");
    // A clock that is not this incident's is a notice, not a crash.
    let gone = post_form(
        &api,
        &format!("/incidents/{id}/clocks/99999/met?lang=en"),
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.body.contains("That deadline no longer exists"));

    // Observables: a missing value is shown beside it, and the note typed is kept.
    let uri = format!("/incidents/{id}/observables?lang=en");
    let refused = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("kind", "ip"),
            ("value", "  "),
            ("note", "C2 seen in proxy log"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"ob-value-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"C2 seen in proxy log\""));
    let bad_ip = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("kind", "ip"),
            ("value", "999.1.1.1"),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(
        bad_ip.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_ip.body
    );
    assert!(bad_ip.body.contains("id=\"ob-value-error\""));
    assert!(bad_ip.body.contains("value=\"999.1.1.1\""));

    // The same address in another incident links the two.
    let other = incident(
        &api,
        "Odd VPN logins",
        json!({"category": "unauthorised_access"}),
    )
    .await;
    api.post(
        &format!("/api/v1/incidents/{other}/observables"),
        json!({"kind": "ip", "value": "203.0.113.7"}),
    )
    .await;
    let added = post_form(
        &api,
        &uri,
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("kind", "ip"),
            ("value", "203.0.113.7"),
            ("note", "C2"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), format!("/incidents/{id}#observables"));
    let page = get(&api, &format!("/incidents/{id}?lang=en"), Some(&cookie)).await;
    assert!(page.body.contains("203.0.113.7"));
    assert!(
        page.body.contains(&format!(
            "<a href=\"/incidents/{other}\">#{other} Odd VPN logins</a>"
        )),
        "{}",
        page.body
    );
}
