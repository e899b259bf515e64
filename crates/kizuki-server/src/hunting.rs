//! Turning hunting results into incident facts, shared by `kizuki hunt --incident` and the
//! sweep endpoint: one timeline entry per first sighting (CSIRT lane, source import) and the
//! matched indicators as observables, so they correlate with other incidents.

use kizuki_domain::observable::{NewObservable, ObservableKind};
use kizuki_domain::timeline::{EntryKind, EntrySource, Lane, TimePrecision, TimelineEntryFields};
use kizuki_hunt::HuntOutcome;

use crate::AppState;
use crate::error::ApiResult;

/// What was added to the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attached {
    pub timeline_entries: usize,
    pub observables: usize,
}

/// Adds the first sightings (in one transaction) and the matched indicators to the incident.
pub async fn attach(
    state: &AppState,
    incident_id: i64,
    outcome: &HuntOutcome,
) -> ApiResult<Attached> {
    let now = state.clock.now();
    let entries: Vec<TimelineEntryFields> = outcome
        .first_sightings
        .iter()
        .map(|s| TimelineEntryFields {
            occurred_at: s
                .time_ms
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .unwrap_or(now),
            precision: TimePrecision::Minute,
            day_part: None,
            lane: Lane::CisoCsirt,
            actor: "Kizuki hunt".into(),
            kind: EntryKind::Detection,
            text: format!(
                "First sighting: {} [{}] ({}) on {}, event {}",
                s.rule_title,
                s.level,
                s.rule_id,
                s.computer.as_deref().unwrap_or("unknown computer"),
                s.event_id
                    .map_or_else(|| "-".to_owned(), |id| id.to_string()),
            ),
            source: EntrySource::Import,
        })
        .collect();
    let added = state
        .store
        .add_timeline_entries(incident_id, &entries, None, now)
        .await?;
    let mut observables = 0;
    for (kind, value) in &outcome.matched_indicators {
        let Ok(kind) = kind.as_str().parse::<ObservableKind>() else {
            continue;
        };
        let new = NewObservable {
            kind,
            value: value.clone(),
            note: "matched by a hunt".into(),
            first_seen: Some(now),
        };
        let Ok(normalized) = new.validate() else {
            continue;
        };
        state
            .store
            .add_observable(incident_id, &new, &normalized, now)
            .await?;
        observables += 1;
    }
    Ok(Attached {
        timeline_entries: added.len(),
        observables,
    })
}
