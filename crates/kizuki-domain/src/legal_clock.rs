//! Legal clocks: reporting obligations that start when the organisation becomes aware.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::incident::Impact;
use crate::{ValidationError, string_enum};

string_enum! {
    pub enum ClockKind: "legal clock kind" {
        /// APPI preliminary report to the Personal Information Protection Commission:
        /// "promptly" — in practice about 3 to 5 days.
        AppiPreliminary => "appi_preliminary",
        /// APPI final report: 30 days, or 60 days when caused by an unauthorised act.
        AppiFinal => "appi_final",
        /// GDPR Article 33: 72 hours.
        Gdpr => "gdpr",
        Custom => "custom",
    }
}

string_enum! {
    pub enum ClockStatus: "legal clock status" {
        Running => "running",
        Due => "due",
        Overdue => "overdue",
        Met => "met",
    }
}

/// A clock as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegalClock {
    pub id: i64,
    pub incident_id: i64,
    pub kind: ClockKind,
    pub name: String,
    /// Hours from the start until the obligation is due.
    pub due_hours: i64,
    /// Hours from the start after which it is overdue (at or after due).
    pub overdue_hours: i64,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub met_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLegalClock {
    pub kind: ClockKind,
    /// Required for custom clocks.
    #[serde(default)]
    pub name: Option<String>,
    /// Required for custom clocks.
    #[serde(default)]
    pub hours: Option<i64>,
    /// Defaults to the incident's awareness time.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
}

/// A clock ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalClockFields {
    pub kind: ClockKind,
    pub name: String,
    pub due_hours: i64,
    pub overdue_hours: i64,
    pub started_at: Timestamp,
}

/// A clock with its state at a given moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockReading {
    #[serde(flatten)]
    pub clock: LegalClock,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub overdue_at: Timestamp,
    pub status: ClockStatus,
    /// Seconds until due (negative once past).
    pub seconds_left: i64,
}

impl NewLegalClock {
    pub fn into_fields(
        self,
        impact: &Impact,
        aware_at: Timestamp,
    ) -> Result<LegalClockFields, ValidationError> {
        let mut v = Validator::new();
        v.optional_instant("started_at", self.started_at);
        let started_at = self.started_at.unwrap_or(aware_at);
        let fields = match self.kind {
            ClockKind::Custom => {
                let name = self.name.clone().unwrap_or_default();
                v.text("name", &name, limits::NAME);
                match self.hours {
                    Some(h) if (1..=24 * 366).contains(&h) => {}
                    Some(_) => v.push("hours", "must be between 1 and 8784"),
                    None => v.push("hours", "is required for a custom clock"),
                }
                let h = self.hours.unwrap_or(1);
                LegalClockFields {
                    kind: self.kind,
                    name,
                    due_hours: h,
                    overdue_hours: h,
                    started_at,
                }
            }
            kind => {
                if self.hours.is_some() {
                    v.push(
                        "hours",
                        "only custom clocks take hours; statutory ones are fixed",
                    );
                }
                if self.name.is_some() {
                    v.push("name", "only custom clocks take a name");
                }
                statutory(kind, impact, started_at)
            }
        };
        v.finish()?;
        Ok(fields)
    }
}

/// The fixed terms of a statutory clock.
fn statutory(kind: ClockKind, impact: &Impact, started_at: Timestamp) -> LegalClockFields {
    let (name, due, overdue) = match kind {
        ClockKind::AppiPreliminary => (
            "APPI preliminary report / 個人情報保護委員会への速報".to_owned(),
            72,
            120,
        ),
        ClockKind::AppiFinal => {
            let days = if impact.unauthorised_act { 60 } else { 30 };
            (
                format!("APPI final report ({days} days) / 個人情報保護委員会への確報"),
                days * 24,
                days * 24,
            )
        }
        ClockKind::Gdpr | ClockKind::Custom => {
            ("GDPR Art. 33 notification (72 h)".to_owned(), 72, 72)
        }
    };
    LegalClockFields {
        kind,
        name,
        due_hours: due,
        overdue_hours: overdue,
        started_at,
    }
}

/// The statutory clocks an incident's impact calls for, started at awareness. Storage keeps one
/// clock per statutory kind and incident, and updates a clock not yet met when these change.
pub fn statutory_clock_fields(impact: &Impact, aware_at: Timestamp) -> Vec<LegalClockFields> {
    statutory_clocks(impact)
        .into_iter()
        .map(|kind| statutory(kind, impact, aware_at))
        .collect()
}

/// The statutory clocks an incident's impact calls for.
pub fn statutory_clocks(impact: &Impact) -> Vec<ClockKind> {
    let mut kinds = Vec::new();
    if impact.personal_data {
        kinds.push(ClockKind::AppiPreliminary);
        kinds.push(ClockKind::AppiFinal);
    }
    if impact.gdpr {
        kinds.push(ClockKind::Gdpr);
    }
    kinds
}

impl LegalClock {
    pub fn read(&self, now: Timestamp) -> ClockReading {
        let due_at = self
            .started_at
            .saturating_add(SignedDuration::from_hours(self.due_hours))
            .unwrap_or(self.started_at);
        let overdue_at = self
            .started_at
            .saturating_add(SignedDuration::from_hours(self.overdue_hours))
            .unwrap_or(due_at);
        let status = match self.met_at {
            Some(_) => ClockStatus::Met,
            None if now > overdue_at || (now >= overdue_at && overdue_at == due_at) => {
                ClockStatus::Overdue
            }
            None if now >= due_at => ClockStatus::Due,
            None => ClockStatus::Running,
        };
        ClockReading {
            clock: self.clone(),
            due_at,
            overdue_at,
            status,
            seconds_left: due_at.duration_since(now).as_secs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(kind: ClockKind, impact: &Impact) -> LegalClock {
        let f = NewLegalClock {
            kind,
            name: None,
            hours: None,
            started_at: None,
        }
        .into_fields(impact, "2026-04-01T00:00:00Z".parse().unwrap())
        .unwrap();
        LegalClock {
            id: 1,
            incident_id: 1,
            kind: f.kind,
            name: f.name,
            due_hours: f.due_hours,
            overdue_hours: f.overdue_hours,
            started_at: f.started_at,
            met_at: None,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn appi_preliminary_is_due_at_three_days_and_overdue_after_five() {
        let c = clock(ClockKind::AppiPreliminary, &Impact::default());
        assert_eq!(
            c.read(at("2026-04-03T00:00:00Z")).status,
            ClockStatus::Running
        );
        assert_eq!(c.read(at("2026-04-03T00:00:00Z")).seconds_left, 86_400);
        assert_eq!(c.read(at("2026-04-04T00:00:00Z")).status, ClockStatus::Due);
        assert_eq!(c.read(at("2026-04-06T00:00:00Z")).status, ClockStatus::Due);
        assert_eq!(
            c.read(at("2026-04-06T00:00:01Z")).status,
            ClockStatus::Overdue
        );
    }

    #[test]
    fn appi_final_is_sixty_days_when_caused_by_an_attack() {
        let attack = Impact {
            personal_data: true,
            unauthorised_act: true,
            ..Default::default()
        };
        let mistake = Impact {
            personal_data: true,
            ..Default::default()
        };
        assert_eq!(
            clock(ClockKind::AppiFinal, &attack)
                .read(at("2026-04-01T00:00:00Z"))
                .due_at,
            at("2026-05-31T00:00:00Z")
        );
        assert_eq!(
            clock(ClockKind::AppiFinal, &mistake)
                .read(at("2026-04-01T00:00:00Z"))
                .due_at,
            at("2026-05-01T00:00:00Z")
        );
    }

    #[test]
    fn gdpr_is_overdue_after_72_hours() {
        let c = clock(ClockKind::Gdpr, &Impact::default());
        assert_eq!(
            c.read(at("2026-04-03T23:59:59Z")).status,
            ClockStatus::Running
        );
        assert_eq!(
            c.read(at("2026-04-04T00:00:00Z")).status,
            ClockStatus::Overdue
        );
    }

    #[test]
    fn custom_clock_needs_name_and_hours() {
        let err = NewLegalClock {
            kind: ClockKind::Custom,
            name: None,
            hours: None,
            started_at: None,
        }
        .into_fields(&Impact::default(), at("2026-04-01T00:00:00Z"))
        .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "hours"]);
    }

    #[test]
    fn statutory_clocks_follow_the_impact() {
        let impact = Impact {
            personal_data: true,
            gdpr: true,
            ..Default::default()
        };
        assert_eq!(
            statutory_clocks(&impact),
            [
                ClockKind::AppiPreliminary,
                ClockKind::AppiFinal,
                ClockKind::Gdpr
            ]
        );
        assert!(statutory_clocks(&Impact::default()).is_empty());
    }
}
