//! "Report a suspicion": the one form any employee may use, signed in or not. In the study,
//! the organisations that noticed early were those where people reported odd things without
//! fear; so the answer thanks them whatever it turns out to be.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kizuki_domain::incident::{Category, DetectionSource, NewIncident, Phase};
use kizuki_domain::legal_clock::statutory_clock_fields;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::client_addr::ClientAddr;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, MaybePrincipal};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspicionReport {
    /// What was noticed, in the reporter's own words.
    pub what_happened: String,
    /// Which computer, system or place.
    #[serde(default, rename = "where")]
    pub location: String,
    /// When it was noticed (default: now).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub noticed_at: Option<Timestamp>,
    /// How to reach the reporter (phone, e-mail, desk).
    #[serde(default)]
    pub contact: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportReceipt {
    /// Quote it when asked about the report.
    pub reference: i64,
    pub next_steps_ja: String,
    pub next_steps_en: String,
}

/// Longest description accepted, in characters.
pub const MAX_TEXT: usize = 4_000;
/// Longest place or contact detail, in characters.
pub const MAX_DETAIL: usize = 500;

#[utoipa::path(post, path = "/api/v1/reports", tag = "incidents", request_body = SuspicionReport,
    security((), ("bearer" = [])),
    responses((status = 201, body = ReportReceipt),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Anonymous reports are turned off"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn file(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    addr: ClientAddr,
    ApiJson(report): ApiJson<SuspicionReport>,
) -> ApiResult<(StatusCode, Json<ReportReceipt>)> {
    let incident = file_suspicion(&state, principal.as_ref(), &addr, report).await?;
    tracing::info!(incident = incident.id, "suspicion reported");
    Ok((
        StatusCode::CREATED,
        Json(ReportReceipt {
            reference: incident.id,
            next_steps_ja: NEXT_STEPS_JA.into(),
            next_steps_en: NEXT_STEPS_EN.into(),
        }),
    ))
}

const NEXT_STEPS_JA: &str = "ご報告ありがとうございます。誤報でも問題ありません。担当チームが内容を確認し、必要があれば記入いただいた連絡先にご連絡します。それまで、できればネットワークから外し（LANケーブルを抜く・Wi-Fiを切る）、電源は切らず、ファイルも消さずにそのままにしてください。";
const NEXT_STEPS_EN: &str = "Thank you for reporting. A false alarm is welcome and costs nothing. The response team will look at it and contact you if they need more. Until then, if you can, disconnect it from the network (unplug the cable, turn off Wi-Fi), but do not switch it off or delete anything.";

/// Files a suspicion report as a new incident in phase `reported` (used by the API and the
/// `/report` page). An anonymous reporter is rate-limited per address like a login attempt,
/// so the open form cannot be used to flood the board.
pub async fn file_suspicion(
    state: &AppState,
    principal: Option<&crate::access::Principal>,
    addr: &ClientAddr,
    report: SuspicionReport,
) -> ApiResult<kizuki_domain::incident::Incident> {
    let now = state.clock.now();
    if principal.is_none()
        && let Some(ip) = addr.0
    {
        state.login_limiter.check(ip, now)?;
    }
    let mut v = kizuki_domain::error::Validator::new();
    v.text("what_happened", &report.what_happened, MAX_TEXT);
    v.optional_text("where", &report.location, MAX_DETAIL);
    v.optional_text("contact", &report.contact, MAX_DETAIL);
    v.optional_instant("noticed_at", report.noticed_at);
    v.finish()?;
    let first_line = report
        .what_happened
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Suspicion report");
    let title: String = first_line.chars().take(120).collect();
    let mut summary = report.what_happened.trim().to_owned();
    if !report.location.trim().is_empty() {
        summary.push_str(&format!("\n\nWhere / 場所: {}", report.location.trim()));
    }
    if !report.contact.trim().is_empty() {
        summary.push_str(&format!("\nContact / 連絡先: {}", report.contact.trim()));
    }
    let new = NewIncident {
        title,
        summary,
        category: Category::Other,
        severity: None,
        phase: Some(Phase::Reported),
        detection_source: DetectionSource::UserReport,
        start_date: None,
        start_basis: None,
        aware_at: Some(report.noticed_at.unwrap_or(now).min(now)),
        affected_units: vec![],
        affected_assets: vec![],
        impact: Default::default(),
        restricted: false,
    };
    let settings = &state.settings;
    let fields = new.into_fields(
        &settings.severity,
        now,
        &settings.time_zone,
        settings.start_basis,
    )?;
    let clocks = statutory_clock_fields(&fields.impact, fields.aware_at);
    let incident = state
        .store
        .create_incident(&fields, &clocks, principal.map(|p| p.user.id), now)
        .await?;
    crate::notify::incident_opened(state, &incident).await;
    Ok(incident)
}
