//! Response figures read from the timeline.
//!
//! The markers, by [`EntryKind`] (entries are taken in time order):
//!
//! - **occurrence**: the earliest entry *before* the first `detection` entry (the first
//!   recorded trace of the attack);
//! - **detection**: the first `detection` entry;
//! - **acknowledged**: the first `analysis`, `communication`, `decision` or `containment`
//!   entry at or after detection (someone started to respond);
//! - **contained**: the first `containment` entry at or after detection;
//! - **recovered**: the last `recovery` entry at or after detection (recovery finished).
//!
//! Time to detect runs from occurrence to detection; the other three run from detection.
//! A figure is unknown when either marker is missing, and approximate when either marker
//! is known more coarsely than to the minute.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{EntryKind, TimePrecision, TimelineEntry, day_label};
use serde::{Deserialize, Serialize};

/// The entry that marks one end of a figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub entry_id: i64,
    pub at: jiff::Timestamp,
    pub precision: TimePrecision,
    /// The Day-N label of the entry in the report's language.
    pub label: String,
}

/// One figure: a span between two markers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    pub from: Option<Marker>,
    pub to: Option<Marker>,
    /// Whole seconds from `from` to `to`; `None` when a marker is missing.
    pub seconds: Option<i64>,
    /// A marker is known only to the part of day, day, week or month.
    pub approximate: bool,
}

impl Figure {
    fn between(from: Option<Marker>, to: Option<Marker>) -> Self {
        let seconds = match (&from, &to) {
            (Some(f), Some(t)) => Some(t.at.duration_since(f.at).as_secs()),
            _ => None,
        };
        let approximate = [&from, &to].iter().any(|m| {
            m.as_ref()
                .is_some_and(|m| m.precision != TimePrecision::Minute)
        });
        Figure {
            from,
            to,
            seconds,
            approximate,
        }
    }

    pub fn is_known(&self) -> bool {
        self.seconds.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub detect: Figure,
    pub acknowledge: Figure,
    pub contain: Figure,
    pub recover: Figure,
}

/// Computes the figures from entries sorted by time.
pub fn compute(entries: &[&TimelineEntry], start: Date, tz: &TimeZone, lang: Language) -> Figures {
    let marker = |e: &TimelineEntry| Marker {
        entry_id: e.id,
        at: e.occurred_at,
        precision: e.precision,
        label: day_label(start, e.occurred_at, e.precision, e.day_part, tz)
            .label(lang)
            .to_owned(),
    };
    let detection = entries.iter().find(|e| e.kind == EntryKind::Detection);
    let occurrence = detection.and_then(|d| {
        entries
            .iter()
            .find(|e| e.occurred_at < d.occurred_at && e.kind != EntryKind::Detection)
    });
    let after = |kinds: &[EntryKind]| -> Vec<&TimelineEntry> {
        match detection {
            Some(d) => entries
                .iter()
                .filter(|e| e.occurred_at >= d.occurred_at && kinds.contains(&e.kind))
                .copied()
                .collect(),
            None => Vec::new(),
        }
    };
    let acknowledged = after(&[
        EntryKind::Analysis,
        EntryKind::Communication,
        EntryKind::Decision,
        EntryKind::Containment,
    ]);
    let contained = after(&[EntryKind::Containment]);
    let recovered = after(&[EntryKind::Recovery]);

    let det = detection.map(|e| marker(e));
    Figures {
        detect: Figure::between(occurrence.map(|e| marker(e)), det.clone()),
        acknowledge: Figure::between(det.clone(), acknowledged.first().map(|e| marker(e))),
        contain: Figure::between(det.clone(), contained.first().map(|e| marker(e))),
        recover: Figure::between(det, recovered.last().map(|e| marker(e))),
    }
}

/// "2 d 3 h 15 min" / "2日3時間15分"; a negative span is shown with a minus sign.
pub fn format_duration(seconds: i64, lang: Language) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let total_min = seconds.unsigned_abs() / 60;
    let (d, h, m) = (total_min / 1440, (total_min % 1440) / 60, total_min % 60);
    let (ud, uh, um, sep) = match lang {
        Language::Ja => ("日", "時間", "分", ""),
        Language::En => (" d", " h", " min", " "),
    };
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}{ud}"));
    }
    if h > 0 {
        parts.push(format!("{h}{uh}"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m}{um}"));
    }
    format!("{sign}{}", parts.join(sep))
}
