//! The server-rendered web UI: HTML pages for people, beside the JSON API for programs.
//!
//! Pages sit outside the API's gate (`access::guard` covers `/api/v1` only) and check for
//! themselves, with the same session cookie and the same `Role::may` rules: a visitor who is
//! not signed in is sent to `/login?next=…`, a role that may not do something gets a 403 page,
//! an incident outside one's need-to-know is a 404 page. API tokens are never accepted here:
//! a page is for a browser, and a token's scope was not written with pages in mind.
//!
//! Every visible word comes from `locales/{ja,en}/main.ftl` through [`i18n::Tr`]; templates
//! live in `templates/` and are compiled into the binary by askama. Pages carry no inline
//! script or style, which the Content-Security-Policy would block anyway.

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kizuki_domain::access::Action;
use kizuki_domain::user::SessionStage;

use crate::AppState;
use crate::access::{Credential, Principal, check_same_origin};
use crate::client_addr::ClientAddr;

mod account;
mod ack;
mod admin;
mod admin_notify;
mod admin_playbooks;
pub mod assets;
mod board;
mod enrol;
pub mod i18n;
mod incident_page;
mod incident_team;
mod incidents;
mod library;
mod login;
mod new_incident;
mod notifications;

// The timeline wording of acknowledgements and calls, shared with the API.
pub(crate) use ack::{ack_entry, recipient_name};
pub(crate) use notifications::call_entry;
mod oncall;
mod suspicion;
mod tokens;

use i18n::Tr;

/// Where a signed-in user lands when nothing else was asked for.
pub const HOME: &str = "/incidents";

/// The page routes. `app()` merges them beside the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/enrol", get(enrol::form).post(enrol::submit))
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route("/admin/users/{user_id}", post(admin::change_user))
        .route(
            "/admin/playbooks",
            get(admin_playbooks::index).post(admin_playbooks::submit),
        )
        .route("/admin/playbooks/{id}", get(admin_playbooks::show))
        .route("/admin/notify", get(admin_notify::index))
        .route(
            "/admin/notify/rotations",
            post(admin_notify::create_rotation),
        )
        .route(
            "/admin/notify/rotations/{rotation_id}/overrides",
            post(admin_notify::add_override),
        )
        .route("/admin/notify/rules", post(admin_notify::create_rule))
        .route(
            "/admin/notify/rules/{rule_id}/delete",
            post(admin_notify::delete_rule),
        )
        .route("/admin/notify/webhooks", post(admin_notify::create_webhook))
        .route(
            "/admin/notify/webhooks/{webhook_id}/delete",
            post(admin_notify::delete_webhook),
        )
        .route(
            "/admin/notify/templates/{kind}/{lang}",
            get(admin_notify::template).post(admin_notify::save_template),
        )
        .route("/admin/tokens", get(tokens::all))
        .route("/admin/tokens/{token_id}/revoke", post(tokens::revoke_any))
        .route("/account/tokens", get(tokens::own).post(tokens::create))
        .route(
            "/account/tokens/{token_id}/revoke",
            post(tokens::revoke_own),
        )
        .route("/account/mfa", get(account::page))
        .route("/account/mfa/start", post(account::start))
        .route("/account/mfa/confirm", post(account::confirm))
        .route("/ack/{token}", get(ack::show).post(ack::submit))
        .route("/report", get(suspicion::form).post(suspicion::submit))
        .route("/report/thanks", get(suspicion::thanks))
        .route("/incidents", get(board::index))
        .route(
            "/incidents/new",
            get(new_incident::form).post(new_incident::submit),
        )
        .route("/incidents/{id}", get(incident_page::show))
        .route("/incidents/{id}/timeline", post(incident_page::add_entry))
        .route("/incidents/{id}/events", get(incident_page::events))
        .route("/incidents/{id}/triage", post(incident_page::triage))
        .route(
            "/incidents/{id}/playbook",
            post(incident_page::apply_playbook),
        )
        .route(
            "/incidents/{id}/tasks/{task_id}/done",
            post(incident_page::complete_task),
        )
        .route(
            "/incidents/{id}/decisions",
            post(incident_page::add_decision),
        )
        .route(
            "/incidents/{id}/decisions/{decision_id}/decide",
            post(incident_page::decide),
        )
        .route(
            "/incidents/{id}/lane-owners",
            post(incident_team::set_lane_owner),
        )
        .route("/incidents/{id}/members", post(incident_team::add_member))
        .route(
            "/incidents/{id}/members/{user_id}/remove",
            post(incident_team::remove_member),
        )
        .route(
            "/incidents/{id}/clocks/{clock_id}/met",
            post(incident_team::mark_clock_met),
        )
        .route(
            "/incidents/{id}/observables",
            post(incident_team::add_observable),
        )
        .route(
            "/incidents/{id}/notifications/{notification_id}/ack",
            post(notifications::acknowledge),
        )
        .route(
            "/incidents/{id}/calls/{notification_id}",
            post(notifications::record_call),
        )
        .route("/library", get(library::index))
        .route("/library/{case}", get(library::case))
        .route("/incidents/{id}/report", get(incidents::report))
        .route("/static/{file}", get(assets::serve))
}

async fn home(req: WebRequest) -> Response {
    match req.principal {
        Some(_) => see_other(HOME),
        None => see_other("/login"),
    }
}

/// What every page handler starts from: the language, the address, and who is signed in.
#[derive(Debug, Clone)]
pub struct WebRequest {
    pub tr: Tr,
    /// `?lang=` chose the language just now; the answer must remember it.
    pub lang_chosen: bool,
    pub uri: Uri,
    pub method: Method,
    pub headers: HeaderMap,
    pub addr: ClientAddr,
    /// The signed-in user of a browser session, if any (an expired or unknown cookie counts
    /// as not signed in: the user is simply asked to sign in again).
    pub principal: Option<Principal>,
    /// The organisation's zone: every time on a page is shown in it.
    pub time_zone: jiff::tz::TimeZone,
    /// Cookies get `Secure`.
    secure: bool,
}

impl FromRequestParts<AppState> for WebRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let time_zone = state.settings.time_zone.clone();
        let addr = match ClientAddr::from_request_parts(parts, state).await {
            Ok(a) => a,
            Err(never) => match never {},
        };
        // Only the cookie is looked at: `authenticate` would prefer a bearer token, and
        // pages are for browsers.
        let mut cookies = HeaderMap::new();
        for value in parts.headers.get_all(header::COOKIE) {
            cookies.append(header::COOKIE, value.clone());
        }
        let mut principal = match crate::access::authenticate(state, &cookies).await {
            Ok(Some(p)) if matches!(p.credential, Credential::Session { .. }) => Some(p),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "web request with an unusable session cookie");
                None
            }
        };
        let resolved = i18n::resolve(
            parts.uri.query(),
            &parts.headers,
            principal.as_ref().and_then(|p| p.user.language),
            state.settings.language,
        );
        if resolved.chosen
            && let Some(p) = principal.as_mut()
            && p.user.language != Some(resolved.lang)
        {
            p.user.language = Some(resolved.lang);
            remember_for_person(state, p.user.id, resolved.lang).await;
        }
        Ok(Self {
            tr: Tr::new(resolved.lang),
            lang_chosen: resolved.chosen,
            uri: parts.uri.clone(),
            method: parts.method.clone(),
            headers: parts.headers.clone(),
            addr,
            principal,
            time_zone,
            secure: state.auth.secure_cookies,
        })
    }
}

/// Stores `lang` as the person's language, so it follows them to other browsers (and to
/// what Kizuki writes to them). A failure only costs the memory, never the page.
pub async fn remember_for_person(
    state: &AppState,
    user_id: i64,
    lang: kizuki_domain::settings::Language,
) {
    match state.store.set_user_language(user_id, Some(lang)).await {
        // Cached principals carry the old language.
        Ok(_) => state.auth_cache.clear(),
        Err(e) => tracing::warn!(error = %e, user_id, "could not store a chosen language"),
    }
}

impl WebRequest {
    /// The path and query of this request, as a page may link back to it.
    pub fn path_and_query(&self) -> String {
        self.uri
            .path_and_query()
            .map_or_else(|| self.uri.path().to_owned(), |pq| pq.as_str().to_owned())
    }

    /// The current address with `lang` set to `code`, keeping every other parameter.
    pub fn with_lang(&self, code: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = self.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if k != "lang" {
                    query.append_pair(&k, &v);
                }
            }
        }
        query.append_pair("lang", code);
        format!("{}?{}", self.uri.path(), query.finish())
    }

    /// The frame around a page: header, navigation, the language switcher.
    pub fn layout(&self, title: String, nav: Nav) -> Layout {
        let sees_admin = self
            .principal
            .as_ref()
            .is_some_and(|p| p.user.role.may(Action::ManageUsers));
        let sees_incidents = self
            .principal
            .as_ref()
            .is_some_and(|p| p.user.role.may(Action::ReadIncidents));
        let (user, csrf) = match &self.principal {
            Some(p) => (
                Some(p.user.display_name.clone()),
                match &p.credential {
                    Credential::Session { csrf, .. } => Some(csrf.clone()),
                    Credential::Token { .. } => None,
                },
            ),
            None => (None, None),
        };
        Layout {
            t: self.tr,
            title,
            nav,
            user,
            csrf,
            sees_incidents,
            sees_admin,
            switch_ja: self.with_lang("ja"),
            switch_en: self.with_lang("en"),
            stylesheet: assets::STYLESHEET.href(),
            script: assets::SCRIPT.href(),
        }
    }

    /// The signed-in user if they may take `action`, else the answer to send instead: the
    /// login page (with a way back here), or a 403 page.
    pub async fn require(&self, state: &AppState, action: Action) -> Result<Principal, Response> {
        let Some(principal) = self.principal.clone() else {
            return Err(self.to_login());
        };
        if let Credential::Session { stage, .. } = &principal.credential
            && *stage == SessionStage::EnrolMfa
        {
            return Err(see_other("/account/mfa"));
        }
        if !principal.user.role.may(action) {
            state
                .audit
                .record_request(
                    Some(&principal),
                    self.addr.0,
                    &self.method,
                    self.uri.path(),
                    self.uri.path(),
                    "denied",
                )
                .await;
            return Err(self.message(
                StatusCode::FORBIDDEN,
                "forbidden-title",
                self.tr.t("forbidden-text"),
            ));
        }
        Ok(principal)
    }

    /// Whether a form post may be acted on: it came from one of our own pages
    /// (`Sec-Fetch-Site`/`Origin`), and, for a signed-in user, carries the session's CSRF
    /// token in its hidden `csrf` field. An anonymous post (the report form) has no session
    /// to steal, so the same-origin check is all it needs.
    pub fn form_is_genuine(&self, sent_csrf: &str) -> bool {
        if check_same_origin(&self.headers).is_err() {
            return false;
        }
        match self.principal.as_ref().map(|p| &p.credential) {
            Some(Credential::Session { csrf, .. }) => {
                !csrf.is_empty()
                    && kizuki_auth::secret::constant_time_eq(sent_csrf.as_bytes(), csrf.as_bytes())
            }
            Some(Credential::Token { .. }) => false,
            None => true,
        }
    }

    /// The page answered to a form that failed [`Self::form_is_genuine`], after noting the
    /// refusal in the audit log.
    pub async fn refuse_form(&self, state: &AppState) -> Response {
        state
            .audit
            .record_request(
                self.principal.as_ref(),
                self.addr.0,
                &self.method,
                self.uri.path(),
                self.uri.path(),
                "denied",
            )
            .await;
        self.message(
            StatusCode::FORBIDDEN,
            "csrf-title",
            self.tr.t("csrf-failed"),
        )
    }

    /// The incident id of an `/incidents/{id}/…` address as it was sent, before the router
    /// decodes it: a plain number only, as the API's gate insists (`%35` must not become 5).
    pub fn incident_id(&self) -> Option<i64> {
        self.path_number(2)
    }

    /// The `n`-th segment of the path as sent, when it is a plain number
    /// (`/incidents/1/tasks/7/done`: 2 is 1, 4 is 7).
    pub fn path_number(&self, n: usize) -> Option<i64> {
        self.uri
            .path()
            .split('/')
            .nth(n)
            .filter(|raw| !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|raw| raw.parse().ok())
    }

    /// `at` as the organisation's wall-clock time, "2026-06-20 12:00".
    pub fn local_time(&self, at: jiff::Timestamp) -> String {
        at.to_zoned_datetime(self.time_zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// Sends a visitor who is not signed in to the login page, remembering where they were.
    pub fn to_login(&self) -> Response {
        let next: String =
            form_urlencoded::byte_serialize(self.path_and_query().as_bytes()).collect();
        see_other(&format!("/login?next={next}"))
    }

    /// A page with only a heading and a paragraph: errors, refusals, notices.
    pub fn message(&self, status: StatusCode, title_key: &str, text: String) -> Response {
        let title = self.tr.t(title_key);
        let page = MessagePage {
            layout: self.layout(title.clone(), Nav::None),
            t: self.tr,
            title,
            text,
        };
        self.render(status, &page)
    }

    pub fn not_found(&self) -> Response {
        self.message(
            StatusCode::NOT_FOUND,
            "not-found-title",
            self.tr.t("not-found-text"),
        )
    }

    /// Renders `page` as the answer, remembering a language chosen with `?lang=`.
    pub fn render(&self, status: StatusCode, page: &impl Template) -> Response {
        let body = match page.render() {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "could not render a page");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "internal error",
                )
                    .into_response();
            }
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(self.tr.code()),
        );
        self.remember_language(headers);
        response
    }

    /// Adds the language cookie when `?lang=` chose the language of this answer.
    pub fn remember_language(&self, headers: &mut HeaderMap) {
        if self.lang_chosen
            && let Some(cookie) = i18n::remember(self.tr.lang, self.secure)
        {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
}

/// A `303 See Other` to `location` (a path on this site).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Where to go after signing in: only a path on this site. Anything that a browser could
/// read as another host (`//evil.example`, `/\evil.example`, `https://…`) falls back to
/// [`HOME`], so the login page cannot be used to bounce users elsewhere.
pub fn safe_next(raw: Option<&str>) -> String {
    match raw {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && next.len() <= 2048
                && !next.chars().any(|c| c.is_control() || c.is_whitespace())
                && !next.starts_with("/login")
                && !next.starts_with("/logout") =>
        {
            next.to_owned()
        }
        _ => HOME.to_owned(),
    }
}

/// The value of query parameter `name`.
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// Which navigation item the page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Incidents,
    Report,
    Library,
}

/// The frame of every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub t: Tr,
    pub title: String,
    pub nav: Nav,
    /// The signed-in user's display name.
    pub user: Option<String>,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: Option<String>,
    /// The menu offers the incident board (a reporter's role does not read incidents).
    pub sees_incidents: bool,
    /// The menu offers administration.
    pub sees_admin: bool,
    pub switch_ja: String,
    pub switch_en: String,
    pub stylesheet: String,
    pub script: String,
}

impl Layout {
    pub fn in_library(&self) -> bool {
        self.nav == Nav::Library
    }

    pub fn in_incidents(&self) -> bool {
        self.nav == Nav::Incidents
    }

    pub fn in_report(&self) -> bool {
        self.nav == Nav::Report
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    t: Tr,
    title: String,
    text: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kizuki_domain::settings::Language;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(safe_next(Some("/library?q=a")), "/library?q=a");
        assert_eq!(
            safe_next(Some("/incidents/3/report")),
            "/incidents/3/report"
        );
        for bad in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
            "/login?next=/x",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), HOME, "{bad}");
        }
        assert_eq!(safe_next(None), HOME);
    }

    /// Keys built at run time from vocabularies (`category-…`, `lane-…`, `day-part-…`) exist
    /// in both languages.
    #[test]
    fn vocabulary_messages_exist_in_both_languages() {
        for lang in [Language::Ja, Language::En] {
            let tr = Tr::new(lang);
            let mut keys: Vec<String> = Vec::new();
            keys.extend(
                kizuki_domain::incident::Category::ALL
                    .iter()
                    .map(|c| library::category_key(*c)),
            );
            keys.extend(
                kizuki_domain::timeline::Lane::ALL
                    .iter()
                    .map(|l| library::lane_key(*l)),
            );
            keys.extend(
                kizuki_domain::timeline::DayPart::ALL
                    .iter()
                    .map(|p| library::day_part_key(*p)),
            );
            let vocab = |prefix: &str, values: Vec<&'static str>| {
                values
                    .into_iter()
                    .map(|v| format!("{prefix}-{v}"))
                    .collect::<Vec<_>>()
            };
            use kizuki_domain::{evidence, legal_clock, party, task, timeline, user};
            keys.extend(vocab(
                "phase",
                kizuki_domain::incident::Phase::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            keys.extend(vocab(
                "clock-status",
                legal_clock::ClockStatus::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            keys.extend(vocab(
                "clock-kind",
                legal_clock::ClockKind::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            keys.extend(vocab(
                "entry-kind",
                timeline::EntryKind::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            keys.extend(vocab(
                "task-status",
                task::TaskStatus::ALL.iter().map(|p| p.as_str()).collect(),
            ));
            keys.extend(vocab(
                "custody",
                evidence::CustodyAction::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            keys.extend(vocab(
                "party-kind",
                party::PartyKind::ALL.iter().map(|p| p.as_str()).collect(),
            ));
            keys.extend(vocab(
                "source",
                kizuki_domain::incident::DetectionSource::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            keys.extend(vocab(
                "role",
                user::Role::ALL.iter().map(|p| p.as_str()).collect(),
            ));
            keys.extend(vocab(
                "observable-kind",
                kizuki_domain::observable::ObservableKind::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
            ));
            for key in keys {
                assert_ne!(tr.t(&key), key, "{key} missing in {lang}");
            }
        }
    }
}
