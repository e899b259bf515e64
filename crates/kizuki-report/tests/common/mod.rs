//! Builders shared by the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use kizuki_domain::incident::{Category, DetectionSource, Impact, Incident, Phase, StartBasis};
use kizuki_domain::timeline::{
    DayPart, EntryKind, EntrySource, Lane, TimePrecision, TimelineEntry, TimelineEntryFields,
};

pub fn tokyo() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap()
}

pub fn now() -> Timestamp {
    "2026-11-26T00:00:00Z".parse().unwrap()
}

pub fn incident(title: &str, summary: &str, start_date: Date) -> Incident {
    Incident {
        id: 7,
        title: title.to_owned(),
        summary: summary.to_owned(),
        category: Category::Ransomware,
        severity: 3,
        phase: Phase::PostIncident,
        detection_source: DetectionSource::Edr,
        start_date,
        start_basis: StartBasis::Detection,
        aware_at: now(),
        affected_units: Vec::new(),
        affected_assets: Vec::new(),
        impact: Impact::default(),
        restricted: false,
        exercise: false,
        version: 1,
        created_by: None,
        created_at: now(),
        updated_at: now(),
    }
}

pub fn stored(id: i64, f: TimelineEntryFields) -> TimelineEntry {
    TimelineEntry {
        id,
        incident_id: 7,
        occurred_at: f.occurred_at,
        precision: f.precision,
        day_part: f.day_part,
        lane: f.lane,
        actor: f.actor,
        kind: f.kind,
        text: f.text,
        source: f.source,
        created_by: None,
        created_at: now(),
    }
}

pub fn entry(
    id: i64,
    at: &str,
    precision: TimePrecision,
    lane: Lane,
    kind: EntryKind,
    text: &str,
) -> TimelineEntry {
    stored(
        id,
        TimelineEntryFields {
            occurred_at: at.parse().unwrap(),
            precision,
            day_part: (precision == TimePrecision::DayPart).then_some(DayPart::Morning),
            lane,
            actor: String::new(),
            kind,
            text: text.to_owned(),
            source: EntrySource::Manual,
        },
    )
}
