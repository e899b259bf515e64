//! The incident: what happened, how bad it is, where it stands, and from which day we count.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::settings::SeverityLadder;
use crate::{ValidationError, string_enum};

string_enum! {
    /// The kind of attack or failure, as the study and PRODUCT.md sort them.
    pub enum Category: "category" {
        Ransomware => "ransomware",
        WebDefacement => "web_defacement",
        UnauthorisedAccess => "unauthorised_access",
        TargetedEmail => "targeted_email",
        SupplyChain => "supply_chain",
        CloudExposure => "cloud_exposure",
        CryptoMining => "crypto_mining",
        DataLeak => "data_leak",
        DenialOfService => "denial_of_service",
        Insider => "insider",
        Other => "other",
    }
}

impl Category {
    /// Whether incidents of this kind are, by default, caused by an unauthorised act
    /// (which lengthens the APPI final-report deadline to 60 days).
    pub fn is_attack(self) -> bool {
        !matches!(self, Category::Other | Category::CloudExposure)
    }
}

string_enum! {
    /// Where the incident stands. Transitions are restricted; see [`Phase::can_move_to`].
    pub enum Phase: "phase" {
        Reported => "reported",
        Triage => "triage",
        Containment => "containment",
        Eradication => "eradication",
        Recovery => "recovery",
        PostIncident => "post_incident",
        Closed => "closed",
    }
}

impl Phase {
    /// The phases that may follow this one.
    ///
    /// The path is mostly forward, but real responses loop: a new foothold found during
    /// recovery sends the incident back to containment, and a closed incident can be
    /// reopened for review when new facts appear. A false alarm may be closed from triage.
    pub fn next_phases(self) -> &'static [Phase] {
        use Phase::*;
        match self {
            Reported => &[Triage, Closed],
            Triage => &[Containment, Closed],
            Containment => &[Eradication, Recovery],
            Eradication => &[Recovery, Containment],
            Recovery => &[PostIncident, Containment],
            PostIncident => &[Closed],
            Closed => &[PostIncident],
        }
    }

    pub fn can_move_to(self, to: Phase) -> bool {
        self == to || self.next_phases().contains(&to)
    }

    pub fn is_open(self) -> bool {
        self != Phase::Closed
    }
}

string_enum! {
    /// How the organisation learned of the incident.
    pub enum DetectionSource: "detection source" {
        Edr => "edr",
        Ids => "ids",
        Antivirus => "antivirus",
        Monitoring => "monitoring",
        Hunting => "hunting",
        UserReport => "user_report",
        ExternalJpcert => "external_jpcert",
        ExternalCustomer => "external_customer",
        ExternalMedia => "external_media",
        ExternalPolice => "external_police",
        ExternalOther => "external_other",
        Unknown => "unknown",
    }
}

string_enum! {
    /// What "Day 1" of the timeline means for this incident. The study counts from the day
    /// of occurrence in some cases and from the day of detection in others.
    pub enum StartBasis: "start basis" {
        Occurrence => "occurrence",
        Detection => "detection",
    }
}

/// The damage done, in the terms regulators and executives ask about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Impact {
    pub confidentiality: bool,
    pub integrity: bool,
    pub availability: bool,
    /// Personal data is (or may be) involved: the APPI clocks apply.
    pub personal_data: bool,
    /// How many people's data, when known.
    pub personal_data_count: Option<u64>,
    /// The leak was caused by an unauthorised act (APPI final report within 60 days, not 30).
    pub unauthorised_act: bool,
    /// EU residents' personal data is involved: the GDPR 72-hour clock applies.
    pub gdpr: bool,
    /// Free-text description of business impact.
    pub notes: String,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub category: Category,
    /// Level on the organisation's severity ladder (1 = lowest).
    pub severity: u8,
    pub phase: Phase,
    pub detection_source: DetectionSource,
    /// Day 1 of the timeline, in the organisation's time zone.
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    pub start_basis: StartBasis,
    /// When the organisation became aware; legal clocks start here.
    #[schema(value_type = String, format = DateTime)]
    pub aware_at: Timestamp,
    pub affected_units: Vec<String>,
    pub affected_assets: Vec<String>,
    pub impact: Impact,
    /// Need-to-know: only members may see it.
    pub restricted: bool,
    /// A tabletop exercise, not a real incident: left out of lists and counts unless asked for.
    pub exercise: bool,
    /// Incremented on every change; a write must name the version it read.
    pub version: i64,
    pub created_by: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// What a user sends to open an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub category: Category,
    /// Defaults to the lowest level; set during triage.
    #[serde(default)]
    pub severity: Option<u8>,
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(default = "unknown_source")]
    pub detection_source: DetectionSource,
    /// Defaults to the day of awareness in the organisation's time zone.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<Date>,
    /// Defaults to the organisation's setting.
    #[serde(default)]
    pub start_basis: Option<StartBasis>,
    /// Defaults to now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub aware_at: Option<Timestamp>,
    #[serde(default)]
    pub affected_units: Vec<String>,
    #[serde(default)]
    pub affected_assets: Vec<String>,
    #[serde(default)]
    pub impact: Impact,
    #[serde(default)]
    pub restricted: bool,
}

fn unknown_source() -> DetectionSource {
    DetectionSource::Unknown
}

/// A partial update. Fields left out stay as they are; `version` is the one the editor read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    pub version: i64,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub category: Option<Category>,
    pub severity: Option<u8>,
    pub phase: Option<Phase>,
    pub detection_source: Option<DetectionSource>,
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<Date>,
    pub start_basis: Option<StartBasis>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub aware_at: Option<Timestamp>,
    pub affected_units: Option<Vec<String>>,
    pub affected_assets: Option<Vec<String>>,
    /// Only the impact fields given change; the others stay.
    pub impact: Option<ImpactPatch>,
    pub restricted: Option<bool>,
}

/// A partial update of the impact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactPatch {
    pub confidentiality: Option<bool>,
    pub integrity: Option<bool>,
    pub availability: Option<bool>,
    pub personal_data: Option<bool>,
    /// `null` clears the count.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub personal_data_count: Option<Option<u64>>,
    pub unauthorised_act: Option<bool>,
    pub gdpr: Option<bool>,
    pub notes: Option<String>,
}

/// Tells a field left out (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

impl ImpactPatch {
    fn apply(self, impact: &mut Impact) {
        let Self {
            confidentiality,
            integrity,
            availability,
            personal_data,
            personal_data_count,
            unauthorised_act,
            gdpr,
            notes,
        } = self;
        let set = |slot: &mut bool, v: Option<bool>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut impact.confidentiality, confidentiality);
        set(&mut impact.integrity, integrity);
        set(&mut impact.availability, availability);
        set(&mut impact.personal_data, personal_data);
        set(&mut impact.unauthorised_act, unauthorised_act);
        set(&mut impact.gdpr, gdpr);
        if let Some(count) = personal_data_count {
            impact.personal_data_count = count;
        }
        if let Some(notes) = notes {
            impact.notes = notes;
        }
    }
}

/// The fields of an incident a writer controls; storage adds id, version and times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentFields {
    pub title: String,
    pub summary: String,
    pub category: Category,
    pub severity: u8,
    pub phase: Phase,
    pub detection_source: DetectionSource,
    pub start_date: Date,
    pub start_basis: StartBasis,
    pub aware_at: Timestamp,
    pub affected_units: Vec<String>,
    pub affected_assets: Vec<String>,
    pub impact: Impact,
    pub restricted: bool,
}

impl NewIncident {
    /// Fills defaults and checks every rule, reporting all broken fields at once.
    pub fn into_fields(
        self,
        ladder: &SeverityLadder,
        now: Timestamp,
        tz: &jiff::tz::TimeZone,
        default_basis: StartBasis,
    ) -> Result<IncidentFields, ValidationError> {
        let aware_at = self.aware_at.unwrap_or(now);
        let fields = IncidentFields {
            title: self.title.trim().to_owned(),
            summary: self.summary,
            category: self.category,
            severity: self.severity.unwrap_or_else(|| ladder.lowest()),
            phase: self.phase.unwrap_or(Phase::Reported),
            detection_source: self.detection_source,
            start_date: self
                .start_date
                .unwrap_or_else(|| aware_at.to_zoned_datetime(tz.clone()).date()),
            start_basis: self.start_basis.unwrap_or(default_basis),
            aware_at,
            affected_units: self.affected_units,
            affected_assets: self.affected_assets,
            impact: self.impact,
            restricted: self.restricted,
        };
        fields.validate(ladder, true)?;
        Ok(fields)
    }
}

impl IncidentFields {
    /// Checks every rule. The severity is checked against the ladder only when it is being
    /// set: an incident triaged on a longer ladder stays editable after the ladder shrinks.
    pub fn validate(
        &self,
        ladder: &SeverityLadder,
        check_severity: bool,
    ) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("title", &self.title, limits::TITLE);
        v.optional_text("summary", &self.summary, limits::TEXT);
        v.instant("aware_at", self.aware_at);
        v.date("start_date", self.start_date);
        if check_severity && !ladder.contains(self.severity) {
            v.push(
                "severity",
                format!(
                    "level {} is not on the severity ladder ({}..={})",
                    self.severity,
                    ladder.lowest(),
                    ladder.highest()
                ),
            );
        }
        check_names(&mut v, "affected_units", &self.affected_units);
        check_names(&mut v, "affected_assets", &self.affected_assets);
        v.optional_text("impact.notes", &self.impact.notes, limits::TEXT);
        if self.impact.personal_data_count.is_some() && !self.impact.personal_data {
            v.push(
                "impact.personal_data_count",
                "is set but impact.personal_data is false",
            );
        }
        v.finish()
    }

    pub fn from_incident(i: &Incident) -> Self {
        Self {
            title: i.title.clone(),
            summary: i.summary.clone(),
            category: i.category,
            severity: i.severity,
            phase: i.phase,
            detection_source: i.detection_source,
            start_date: i.start_date,
            start_basis: i.start_basis,
            aware_at: i.aware_at,
            affected_units: i.affected_units.clone(),
            affected_assets: i.affected_assets.clone(),
            impact: i.impact.clone(),
            restricted: i.restricted,
        }
    }
}

fn check_names(v: &mut Validator, field: &str, names: &[String]) {
    if names.len() > limits::LIST_ITEMS {
        v.push(field, format!("at most {} items", limits::LIST_ITEMS));
    }
    for (i, n) in names.iter().enumerate() {
        v.text(&format!("{field}[{i}]"), n, limits::NAME);
    }
}

impl IncidentPatch {
    /// Applies the patch to the incident as read, enforcing phase transitions.
    pub fn apply(
        self,
        current: &Incident,
        ladder: &SeverityLadder,
    ) -> Result<IncidentFields, ValidationError> {
        let mut f = IncidentFields::from_incident(current);
        if let Some(phase) = self.phase
            && !current.phase.can_move_to(phase)
        {
            let allowed: Vec<&str> = current
                .phase
                .next_phases()
                .iter()
                .map(|p| p.as_str())
                .collect();
            return Err(ValidationError::one(
                "phase",
                format!(
                    "cannot move from {} to {}; allowed next: {}",
                    current.phase,
                    phase,
                    allowed.join(", ")
                ),
            ));
        }
        if let Some(x) = self.title {
            f.title = x.trim().to_owned();
        }
        if let Some(x) = self.summary {
            f.summary = x;
        }
        if let Some(x) = self.category {
            f.category = x;
        }
        let severity_set = self.severity.is_some();
        if let Some(x) = self.severity {
            f.severity = x;
        }
        if let Some(x) = self.phase {
            f.phase = x;
        }
        if let Some(x) = self.detection_source {
            f.detection_source = x;
        }
        if let Some(x) = self.start_date {
            f.start_date = x;
        }
        if let Some(x) = self.start_basis {
            f.start_basis = x;
        }
        if let Some(x) = self.aware_at {
            f.aware_at = x;
        }
        if let Some(x) = self.affected_units {
            f.affected_units = x;
        }
        if let Some(x) = self.affected_assets {
            f.affected_assets = x;
        }
        if let Some(x) = self.impact {
            x.apply(&mut f.impact);
        }
        if let Some(x) = self.restricted {
            f.restricted = x;
        }
        f.validate(ladder, severity_set)?;
        Ok(f)
    }
}

/// Filters for listing incidents. Everything is optional; results are newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFilter {
    pub phases: Vec<Phase>,
    pub categories: Vec<Category>,
    pub min_severity: Option<u8>,
    /// Only open (not closed) incidents.
    pub open_only: bool,
    /// Case-insensitive substring of title or summary.
    pub text: Option<String>,
    /// Only incidents where this user owns a lane.
    pub lane_owner: Option<i64>,
    /// Only incidents with an id lower than this (keyset pagination, newest first).
    pub before_id: Option<i64>,
    pub limit: u32,
    /// Only what this person may see (`None`: everything, for the operator's CLI).
    #[serde(skip)]
    pub viewer: Option<crate::access::Viewer>,
    /// Real incidents, exercises, or both (real incidents only by default).
    pub exercises: ExerciseFilter,
}

/// Whether a list of incidents holds real incidents, tabletop exercises, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExerciseFilter {
    /// Real incidents only: exercises never inflate what the organisation reports.
    #[default]
    Exclude,
    Include,
    Only,
}

impl IncidentFilter {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_move_forward_and_loop_back_only_where_responders_do() {
        assert!(Phase::Reported.can_move_to(Phase::Triage));
        assert!(Phase::Triage.can_move_to(Phase::Closed));
        assert!(Phase::Recovery.can_move_to(Phase::Containment));
        assert!(!Phase::Reported.can_move_to(Phase::Recovery));
        assert!(!Phase::Closed.can_move_to(Phase::Reported));
        assert!(!Phase::Containment.can_move_to(Phase::Closed));
    }

    #[test]
    fn unknown_category_names_the_choices() {
        let err = "worm".parse::<Category>().unwrap_err();
        assert!(err.to_string().contains("ransomware"));
        assert_eq!(err.kind, "category");
    }

    #[test]
    fn every_category_round_trips_through_its_string() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    fn sample() -> Incident {
        Incident {
            id: 1,
            title: "t".into(),
            summary: String::new(),
            category: Category::Ransomware,
            severity: 1,
            phase: Phase::Reported,
            detection_source: DetectionSource::Edr,
            start_date: jiff::civil::date(2026, 1, 5),
            start_basis: StartBasis::Detection,
            aware_at: "2026-01-05T00:00:00Z".parse().unwrap(),
            affected_units: vec![],
            affected_assets: vec![],
            impact: Impact::default(),
            restricted: false,
            exercise: false,
            version: 1,
            created_by: None,
            created_at: "2026-01-05T00:00:00Z".parse().unwrap(),
            updated_at: "2026-01-05T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn patch_refuses_a_jump_from_reported_to_recovery_naming_phase() {
        let patch = IncidentPatch {
            version: 1,
            phase: Some(Phase::Recovery),
            ..Default::default()
        };
        let err = patch
            .apply(&sample(), &SeverityLadder::default())
            .unwrap_err();
        assert_eq!(err.errors[0].field, "phase");
        assert!(err.errors[0].message.contains("triage"));
    }

    #[test]
    fn patch_refuses_a_level_off_the_ladder() {
        let patch = IncidentPatch {
            version: 1,
            severity: Some(9),
            ..Default::default()
        };
        let err = patch
            .apply(&sample(), &SeverityLadder::default())
            .unwrap_err();
        assert_eq!(err.errors[0].field, "severity");
    }

    #[test]
    fn patching_one_impact_field_keeps_the_others() {
        let mut current = sample();
        current.impact = Impact {
            availability: true,
            notes: "e-mail down".into(),
            personal_data_count: None,
            ..Impact::default()
        };
        let patch: IncidentPatch = serde_json::from_str(
            r#"{"version": 1, "impact": {"personal_data": true, "personal_data_count": 1200}}"#,
        )
        .unwrap();
        let f = patch.apply(&current, &SeverityLadder::default()).unwrap();
        assert!(f.impact.availability && f.impact.personal_data);
        assert_eq!(f.impact.notes, "e-mail down");
        assert_eq!(f.impact.personal_data_count, Some(1200));
        let mut with_count = current.clone();
        with_count.impact = f.impact.clone();
        let clear: IncidentPatch =
            serde_json::from_str(r#"{"version": 1, "impact": {"personal_data_count": null}}"#)
                .unwrap();
        assert_eq!(
            clear
                .apply(&with_count, &SeverityLadder::default())
                .unwrap()
                .impact
                .personal_data_count,
            None
        );
    }

    #[test]
    fn a_level_above_a_shrunk_ladder_does_not_block_other_edits() {
        let mut current = sample();
        current.severity = 4;
        let three = SeverityLadder::new(SeverityLadder::default().levels()[..3].to_vec()).unwrap();
        let patch = IncidentPatch {
            version: 1,
            phase: Some(Phase::Triage),
            ..Default::default()
        };
        assert_eq!(patch.apply(&current, &three).unwrap().phase, Phase::Triage);
        let raise = IncidentPatch {
            version: 1,
            severity: Some(4),
            ..Default::default()
        };
        assert_eq!(
            raise.apply(&current, &three).unwrap_err().errors[0].field,
            "severity"
        );
    }

    #[test]
    fn control_characters_and_absurd_times_are_refused() {
        let mut current = sample();
        current.title = "ok".into();
        let nul = IncidentPatch {
            version: 1,
            title: Some("a\u{0}b".into()),
            ..Default::default()
        };
        assert_eq!(
            nul.apply(&current, &SeverityLadder::default())
                .unwrap_err()
                .errors[0]
                .field,
            "title"
        );
        let ancient = IncidentPatch {
            version: 1,
            aware_at: Some("-005000-01-01T00:00:00Z".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(
            ancient
                .apply(&current, &SeverityLadder::default())
                .unwrap_err()
                .errors[0]
                .field,
            "aware_at"
        );
        current.title = "multi\nline\ttext".into();
        assert!(
            IncidentFields::from_incident(&current)
                .validate(&SeverityLadder::default(), true)
                .is_ok()
        );
    }

    #[test]
    fn new_incident_reports_every_broken_field_at_once() {
        let new = NewIncident {
            title: "  ".into(),
            summary: String::new(),
            category: Category::Ransomware,
            severity: Some(0),
            phase: None,
            detection_source: DetectionSource::Edr,
            start_date: None,
            start_basis: None,
            aware_at: None,
            affected_units: vec!["".into()],
            affected_assets: vec![],
            impact: Impact::default(),
            restricted: false,
        };
        let err = new
            .into_fields(
                &SeverityLadder::default(),
                "2026-01-05T00:00:00Z".parse().unwrap(),
                &jiff::tz::TimeZone::UTC,
                StartBasis::Detection,
            )
            .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "severity", "affected_units[0]"]);
    }
}
