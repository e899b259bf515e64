//! The review after an incident: the narrative the after-action report needs, the lessons
//! learned (filed under the study's appendix categories), and the corrective actions that
//! keep a lesson from being forgotten.
//!
//! Why lessons are rows and not text inside the review: the study's point is that what one
//! incident teaches must change the organisation, so every lesson can become a tracked
//! action with an owner and a due date, and lessons are searched across all incidents
//! ("what did we learn about supply chain last year?").

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::settings::Language;
use crate::{ValidationError, string_enum};

string_enum! {
    /// The categories into which the study's appendix sorts what organisations learned,
    /// in the appendix's order.
    pub enum LessonCategory: "lesson category" {
        Ceo => "ceo",
        Management => "management",
        GoalSetting => "goal_setting",
        BusinessRecovery => "business_recovery",
        StaffingTraining => "staffing_training",
        EmployeeEducation => "employee_education",
        Customers => "customers",
        SupplyChain => "supply_chain",
        Culture => "culture",
        Organisation => "organisation",
        InformationAssetManagement => "information_asset_management",
        IncidentProcedures => "incident_procedures",
        DamageMitigation => "damage_mitigation",
        DetectionEnvironment => "detection_environment",
        InformationSharing => "information_sharing",
        FactoriesProduction => "factories_production",
    }
}

impl LessonCategory {
    /// The appendix's heading for this category.
    pub fn label(self, lang: Language) -> &'static str {
        use LessonCategory::*;
        let (ja, en) = match self {
            Ceo => ("経営トップ（CEO）", "CEO"),
            Management => ("経営課題", "Management issues"),
            GoalSetting => ("目標設定", "Goal setting"),
            BusinessRecovery => ("事業の復旧", "Business recovery"),
            StaffingTraining => ("人材の確保と育成", "Staffing and training"),
            EmployeeEducation => ("従業員教育", "Employee education"),
            Customers => ("顧客", "Customers"),
            SupplyChain => ("サプライチェーン", "Supply chain"),
            Culture => ("組織文化", "Culture"),
            Organisation => ("組織体制", "Organisation"),
            InformationAssetManagement => ("情報・資産の管理", "Information and asset management"),
            IncidentProcedures => ("インシデント対応手続き", "Incident procedures"),
            DamageMitigation => ("被害の軽減", "Damage mitigation"),
            DetectionEnvironment => ("攻撃の検知環境", "Detection environment"),
            InformationSharing => ("情報共有", "Information sharing"),
            FactoriesProduction => ("工場・生産現場", "Factories and production sites"),
        };
        match lang {
            Language::Ja => ja,
            Language::En => en,
        }
    }
}

/// Who the report is written for; the study marks each case 基礎 (basic) or 応用 (advanced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReaderLevel {
    Basic,
    Advanced,
}

/// A technical cause and the organisational cause that let it happen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseAnalysis {
    #[serde(default)]
    pub technical: String,
    /// The organisational root cause behind the technical one.
    #[serde(default)]
    pub organisational: String,
}

/// The narrative sections of an after-action report that an incident record does not
/// hold. Every field may stay empty: the report lists empty ones as still to be asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewNarrative {
    #[serde(default)]
    pub reader_level: Option<ReaderLevel>,
    #[serde(default)]
    pub organisation_profile: String,
    #[serde(default)]
    pub main_cause: String,
    /// How the incident unfolded, beyond the incident's own facts.
    #[serde(default)]
    pub situation: String,
    #[serde(default)]
    pub background: String,
    #[serde(default)]
    pub causes: Vec<CauseAnalysis>,
    /// What limited the damage.
    #[serde(default)]
    pub damage_limiters: Vec<String>,
    /// What is still open after the incident.
    #[serde(default)]
    pub challenges: Vec<String>,
}

/// Most list sections of a review stay short; a cap keeps one request from storing megabytes.
const MAX_ITEMS: usize = 100;

impl ReviewNarrative {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.optional_text(
            "organisation_profile",
            &self.organisation_profile,
            limits::TEXT,
        );
        v.optional_text("main_cause", &self.main_cause, limits::TEXT);
        v.optional_text("situation", &self.situation, limits::TEXT);
        v.optional_text("background", &self.background, limits::TEXT);
        for (field, len) in [
            ("causes", self.causes.len()),
            ("damage_limiters", self.damage_limiters.len()),
            ("challenges", self.challenges.len()),
        ] {
            if len > MAX_ITEMS {
                v.push(field, format!("must have at most {MAX_ITEMS} items"));
            }
        }
        for (i, c) in self.causes.iter().enumerate() {
            v.optional_text(
                &format!("causes[{i}].technical"),
                &c.technical,
                limits::TEXT,
            );
            v.optional_text(
                &format!("causes[{i}].organisational"),
                &c.organisational,
                limits::TEXT,
            );
        }
        for (field, items) in [
            ("damage_limiters", &self.damage_limiters),
            ("challenges", &self.challenges),
        ] {
            for (i, s) in items.iter().enumerate() {
                v.optional_text(&format!("{field}[{i}]"), s, limits::TEXT);
            }
        }
        v.finish()
    }
}

/// The stored review of one incident. Version 0 means nothing has been written yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    pub incident_id: i64,
    pub narrative: ReviewNarrative,
    /// Incremented on every save; a save must name the version it read.
    pub version: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<i64>,
}

/// A review as sent by a user: the narrative and the version it was based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewUpdate {
    /// The version read before editing (0 for the first save).
    pub version: i64,
    pub narrative: ReviewNarrative,
}

/// What was learned, filed under one or more of the appendix's categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lesson {
    pub id: i64,
    pub incident_id: i64,
    pub text: String,
    pub categories: Vec<LessonCategory>,
    pub version: i64,
    pub created_by: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A lesson as written or edited by a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonFields {
    pub text: String,
    pub categories: Vec<LessonCategory>,
}

impl LessonFields {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("text", &self.text, limits::TEXT);
        if self.categories.is_empty() {
            v.push(
                "categories",
                "name at least one category from the study's appendix",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.categories.iter().enumerate() {
            if !seen.insert(*c) {
                v.push(format!("categories[{i}]"), "is listed twice");
            }
        }
        v.finish()
    }
}

/// A lesson found by a search across incidents, with the incident it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LessonHit {
    #[serde(flatten)]
    pub lesson: Lesson,
    pub incident_title: String,
}

/// Which lessons to find across incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LessonQuery {
    /// Words that must all occur in the lesson's text (case-insensitive).
    pub text: Option<String>,
    pub category: Option<LessonCategory>,
    pub limit: u32,
}

string_enum! {
    /// Where a corrective action stands. Done and cancelled actions are closed.
    pub enum ActionStatus: "action status" {
        Open => "open",
        InProgress => "in_progress",
        Done => "done",
        Cancelled => "cancelled",
    }
}

impl ActionStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, ActionStatus::Done | ActionStatus::Cancelled)
    }
}

/// A lesson turned into work: somebody owns it and it has a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CorrectiveAction {
    pub id: i64,
    pub lesson_id: i64,
    pub incident_id: i64,
    pub title: String,
    /// Who answers for it: a name or a team, as people say it.
    pub owner: String,
    /// The owning user, when the owner has an account (reminders go to them).
    pub owner_user_id: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    pub status: ActionStatus,
    pub notes: String,
    /// When it was closed (done or cancelled); cleared if it is reopened.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A corrective action as a user creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCorrectiveAction {
    pub title: String,
    pub owner: String,
    #[serde(default)]
    pub owner_user_id: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    #[serde(default)]
    pub notes: String,
}

impl NewCorrectiveAction {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("title", &self.title, limits::NAME * 2);
        v.text("owner", &self.owner, limits::NAME);
        v.optional_text("notes", &self.notes, limits::TEXT);
        v.finish()
    }
}

/// A change to a corrective action. Fields left out stay as they are; `version` is the
/// version read before editing, so a stale edit is refused rather than lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectiveActionPatch {
    pub version: i64,
    pub title: Option<String>,
    pub owner: Option<String>,
    /// `Some(None)` clears the owning user.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_user_id: Option<Option<i64>>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<Date>,
    pub status: Option<ActionStatus>,
    pub notes: Option<String>,
}

/// The full new state of a corrective action, computed from a patch (what a store writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectiveActionState {
    pub title: String,
    pub owner: String,
    pub owner_user_id: Option<i64>,
    pub due_date: Date,
    pub status: ActionStatus,
    pub notes: String,
    pub closed_at: Option<Timestamp>,
}

impl CorrectiveActionPatch {
    /// The action after the change, validated as a whole. Closing stamps `now`; reopening
    /// clears the stamp; staying closed keeps the first one.
    pub fn apply(
        &self,
        current: &CorrectiveAction,
        now: Timestamp,
    ) -> Result<CorrectiveActionState, ValidationError> {
        let merged = NewCorrectiveAction {
            title: self.title.clone().unwrap_or_else(|| current.title.clone()),
            owner: self.owner.clone().unwrap_or_else(|| current.owner.clone()),
            owner_user_id: self.owner_user_id.unwrap_or(current.owner_user_id),
            due_date: self.due_date.unwrap_or(current.due_date),
            notes: self.notes.clone().unwrap_or_else(|| current.notes.clone()),
        };
        merged.validate()?;
        let status = self.status.unwrap_or(current.status);
        let closed_at = match (current.status.is_closed(), status.is_closed()) {
            (_, false) => None,
            (true, true) => current.closed_at.or(Some(now)),
            (false, true) => Some(now),
        };
        Ok(CorrectiveActionState {
            title: merged.title,
            owner: merged.owner,
            owner_user_id: merged.owner_user_id,
            due_date: merged.due_date,
            status,
            notes: merged.notes,
            closed_at,
        })
    }
}

impl CorrectiveActionState {
    /// The state of a newly created action.
    pub fn new(action: &NewCorrectiveAction) -> Self {
        Self {
            title: action.title.trim().to_owned(),
            owner: action.owner.trim().to_owned(),
            owner_user_id: action.owner_user_id,
            due_date: action.due_date,
            status: ActionStatus::Open,
            notes: action.notes.clone(),
            closed_at: None,
        }
    }
}

/// Where an open action stands against its due date on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reminder {
    /// Closed actions need no reminder.
    None,
    /// Due within the reminder window (0 = due today).
    DueSoon {
        days_left: i32,
    },
    Overdue {
        days_late: i32,
    },
}

/// How many days before the due date an owner is reminded.
pub const REMINDER_WINDOW_DAYS: i32 = 7;

impl CorrectiveAction {
    /// The reminder an owner should see on `today` (in the organisation's time zone).
    /// Open actions further than the window from their date need none yet.
    pub fn reminder(&self, today: Date) -> Reminder {
        if self.status.is_closed() {
            return Reminder::None;
        }
        let days = match today.until(self.due_date) {
            Ok(span) => span.get_days(),
            Err(_) => return Reminder::None,
        };
        if days < 0 {
            Reminder::Overdue {
                days_late: days.saturating_neg(),
            }
        } else if days <= REMINDER_WINDOW_DAYS {
            Reminder::DueSoon { days_left: days }
        } else {
            Reminder::None
        }
    }
}

/// Which corrective actions to list across incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionQuery {
    /// Only open and in-progress actions.
    pub open_only: bool,
    pub owner_user_id: Option<i64>,
    /// Only actions due on or before this date.
    pub due_by: Option<Date>,
    pub incident_id: Option<i64>,
    pub lesson_id: Option<i64>,
}

/// `Option<Option<T>>` where an explicit `null` means "clear" and an absent field "keep".
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::civil::date;

    fn action(status: ActionStatus, due: Date) -> CorrectiveAction {
        let t: Timestamp = "2026-01-05T00:00:00Z".parse().unwrap();
        CorrectiveAction {
            id: 1,
            lesson_id: 1,
            incident_id: 1,
            title: "Turn on MFA for the VPN".into(),
            owner: "IT".into(),
            owner_user_id: None,
            due_date: due,
            status,
            notes: String::new(),
            closed_at: None,
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn reminders_follow_the_due_date_and_stop_when_closed() {
        let a = action(ActionStatus::Open, date(2026, 3, 10));
        assert_eq!(a.reminder(date(2026, 3, 1)), Reminder::None);
        assert_eq!(
            a.reminder(date(2026, 3, 3)),
            Reminder::DueSoon { days_left: 7 }
        );
        assert_eq!(
            a.reminder(date(2026, 3, 10)),
            Reminder::DueSoon { days_left: 0 }
        );
        assert_eq!(
            a.reminder(date(2026, 3, 12)),
            Reminder::Overdue { days_late: 2 }
        );
        let done = action(ActionStatus::Done, date(2026, 3, 10));
        assert_eq!(done.reminder(date(2026, 4, 1)), Reminder::None);
    }

    #[test]
    fn closing_stamps_the_time_and_reopening_clears_it() {
        let now: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        let open = action(ActionStatus::Open, date(2026, 3, 10));
        let patch = CorrectiveActionPatch {
            version: 1,
            status: Some(ActionStatus::Done),
            ..Default::default()
        };
        let closed = patch.apply(&open, now).unwrap();
        assert_eq!(closed.closed_at, Some(now));
        let mut stored = open.clone();
        stored.status = ActionStatus::Done;
        stored.closed_at = Some(now);
        let later: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        let cancel = CorrectiveActionPatch {
            version: 2,
            status: Some(ActionStatus::Cancelled),
            ..Default::default()
        };
        assert_eq!(cancel.apply(&stored, later).unwrap().closed_at, Some(now));
        let reopen = CorrectiveActionPatch {
            version: 2,
            status: Some(ActionStatus::Open),
            ..Default::default()
        };
        assert_eq!(reopen.apply(&stored, later).unwrap().closed_at, None);
    }

    #[test]
    fn a_patch_that_empties_the_owner_names_the_field() {
        let open = action(ActionStatus::Open, date(2026, 3, 10));
        let now: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        let patch = CorrectiveActionPatch {
            version: 1,
            owner: Some("  ".into()),
            ..Default::default()
        };
        let err = patch.apply(&open, now).unwrap_err();
        assert_eq!(err.errors[0].field, "owner");
    }

    #[test]
    fn a_lesson_needs_text_and_distinct_categories() {
        let l = LessonFields {
            text: String::new(),
            categories: vec![LessonCategory::Culture, LessonCategory::Culture],
        };
        let err = l.validate().unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["text", "categories[1]"]);
    }

    #[test]
    fn owner_user_id_null_clears_and_absent_keeps() {
        let p: CorrectiveActionPatch =
            serde_json::from_str(r#"{"version":1,"owner_user_id":null}"#).unwrap();
        assert_eq!(p.owner_user_id, Some(None));
        let p: CorrectiveActionPatch = serde_json::from_str(r#"{"version":1}"#).unwrap();
        assert_eq!(p.owner_user_id, None);
    }
}
