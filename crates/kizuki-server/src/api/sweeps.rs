//! Indicator sweeps from the server: upload a log, and every observable Kizuki already knows
//! (from any incident) is looked for in it, in one pass. Case 6 of the study found its intruder
//! by sweeping logs for traces another victim had published; this is that, with the traces of
//! every earlier incident.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use kizuki_domain::observable::ObservableKind;
use kizuki_hunt::{Hunter, IndicatorKind, LoadOptions, RuleSet, ScanOptions};
use serde::Serialize;

use super::load_incident;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiPath;

/// The largest log one request may carry. Bigger sets belong to `kizuki hunt`.
pub const SWEEP_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// At most this many known observables are swept for.
const MAX_INDICATORS: u32 = 100_000;

/// One indicator found in the uploaded log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SweepHit {
    /// Event time as written in the log.
    pub timestamp: Option<String>,
    pub computer: Option<String>,
    pub event_id: Option<u32>,
    /// Record number (EVTX) or line number.
    pub record: u64,
    pub indicator: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SweepReport {
    pub indicators_swept: usize,
    pub events: u64,
    pub hits: Vec<SweepHit>,
    /// Timeline entries added to the incident (one per indicator's first sighting).
    pub timeline_entries_added: usize,
    /// Matched indicators recorded as observables of this incident.
    pub observables_added: usize,
    /// Parts of the upload that could not be read (offset and reason).
    pub unreadable: Vec<String>,
}

fn indicator_kind(kind: ObservableKind) -> IndicatorKind {
    match kind {
        ObservableKind::Ip => IndicatorKind::Ip,
        ObservableKind::Cidr => IndicatorKind::Cidr,
        ObservableKind::Domain => IndicatorKind::Domain,
        ObservableKind::Url => IndicatorKind::Url,
        ObservableKind::Email => IndicatorKind::Email,
        ObservableKind::Hash => IndicatorKind::Hash,
        ObservableKind::Account => IndicatorKind::Account,
        ObservableKind::FileName => IndicatorKind::FileName,
    }
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/sweeps", tag = "observables",
    params(("id" = i64, Path, description = "Incident the findings are attached to")),
    request_body(content = Vec<u8>, description = "A Windows EVTX file, JSON-lines events or Suricata EVE JSON (up to 64 MiB)", content_type = "application/octet-stream"),
    responses((status = 200, body = SweepReport),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty upload or nothing known to sweep for", body = Problem, content_type = "application/problem+json")))]
pub async fn sweep(
    State(state): State<AppState>,
    principal: crate::access::Principal,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<SweepReport>> {
    let body = body.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge {
                limit: SWEEP_BODY_LIMIT,
            }
        } else {
            ApiError::BadJson {
                field: String::new(),
                message: r.body_text(),
            }
        }
    })?;
    let is_binary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/octet-stream") || ct.starts_with("application/x-ndjson")
        });
    if !is_binary {
        return Err(ApiError::UnsupportedMediaType);
    }
    load_incident(&state, id).await?;
    if body.is_empty() {
        return Err(kizuki_domain::ValidationError::one("body", "the upload is empty").into());
    }
    let observables = state
        .store
        .list_all_observables(MAX_INDICATORS, Some(&principal.viewer()))
        .await?;
    let mut seen = std::collections::HashSet::new();
    let indicators: Vec<kizuki_hunt::ioc::Indicator> = observables
        .into_iter()
        .filter(|o| seen.insert((o.kind, o.normalized.clone())))
        .map(|o| kizuki_hunt::ioc::Indicator {
            kind: indicator_kind(o.kind),
            value: o.normalized,
        })
        .collect();
    if indicators.is_empty() {
        return Err(kizuki_domain::ValidationError::one(
            "observables",
            "no observable is recorded in any incident yet: there is nothing to sweep for",
        )
        .into());
    }
    let swept = indicators.len();
    let scan = tokio::task::spawn_blocking(move || -> Result<kizuki_hunt::ScanResult, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("upload");
        std::fs::write(&path, &body).map_err(|e| e.to_string())?;
        let opts = LoadOptions::new()?;
        let hunter = Hunter {
            rules: RuleSet::load(&[], &opts),
            iocs: Some(kizuki_hunt::ioc::IocSet::new(indicators, Vec::new())),
        };
        let scan_opts = ScanOptions {
            progress: false,
            sort: true,
            ..ScanOptions::default()
        };
        hunter
            .scan_collect(&[path], &scan_opts)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("sweep task failed: {e}")))?
    .map_err(|e| ApiError::Internal(format!("sweep failed: {e}")))?;

    let attached = crate::hunting::attach(&state, id, &scan.outcome).await?;
    tracing::info!(
        incident = id,
        user = principal.user.id,
        hits = scan.hits.len(),
        "indicator sweep"
    );
    Ok(Json(SweepReport {
        indicators_swept: swept,
        events: scan.outcome.summary.events,
        hits: scan
            .hits
            .iter()
            .map(|h| SweepHit {
                timestamp: h.timestamp.clone(),
                computer: h.computer.clone(),
                event_id: h.event_id,
                record: h.record,
                indicator: h.rule_title.clone(),
            })
            .collect(),
        timeline_entries_added: attached.timeline_entries,
        observables_added: attached.observables,
        unreadable: scan
            .outcome
            .summary
            .input_errors
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}
