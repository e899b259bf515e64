//! The shape of one reference case, as written in `reference/case-NN.yml`.

use kizuki_domain::incident::Category;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{DayPart, EntryKind, Lane};
use serde::{Deserialize, Serialize};

use crate::vocab::{AttackVector, LessonCategory, OrganisationType, StartBasis};

/// A text in both of Kizuki's languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

impl Text {
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Ja => &self.ja,
            Language::En => &self.en,
        }
    }
}

/// One of the study's ten cases, summarised in Kizuki's own words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// `case-01` … `case-10`.
    pub id: String,
    /// The study's case number (ケース1 … ケース10).
    pub number: u8,
    pub title: Text,
    pub organisation_type: OrganisationType,
    /// Kizuki's incident category.
    pub category: Category,
    pub attack_vectors: Vec<AttackVector>,
    /// What Day 1 means in this case; absent where the study gives no dated timeline.
    pub start_basis: Option<StartBasis>,
    pub overview: Text,
    /// How the attack unfolded and how the organisation reacted.
    pub situation: Text,
    /// The situation in Japan and abroad, and in the organisation, when it happened.
    pub background: Text,
    pub impact: Text,
    pub causes: Vec<Cause>,
    pub damage_limiters: Vec<Text>,
    pub lessons: Vec<Lesson>,
    pub challenges: Vec<Text>,
    /// A remark on the timeline as a whole (e.g. that the study masks the dates).
    #[serde(default)]
    pub timeline_note: Option<Text>,
    #[serde(default)]
    pub timeline: Vec<TimelineItem>,
    #[serde(default)]
    pub decisions: Vec<Decision>,
}

/// A technical cause and the organisational cause behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cause {
    pub technical: Text,
    pub organisational: Text,
}

/// What the organisation learned, filed under the appendix's categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub text: Text,
    pub categories: Vec<LessonCategory>,
}

/// One entry of a case's timeline, placed the way the study places it.
///
/// Exactly one of `day`, `day_before`, `week`, `month` or `months_before_at_least` is set,
/// except in a timeline whose dates the study masks, where none is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineItem {
    /// Day counted from Day 1 (1日目 = 1).
    #[serde(default)]
    pub day: Option<i64>,
    /// Days before Day 1 (検知のN日前 = N).
    #[serde(default)]
    pub day_before: Option<u32>,
    /// Week counted from Day 1 (2週目 = 2).
    #[serde(default)]
    pub week: Option<u32>,
    /// The study writes "week N or later" (N週目以降).
    #[serde(default)]
    pub week_or_later: bool,
    /// Month counted from Day 1 (1か月目 = 1).
    #[serde(default)]
    pub month: Option<u32>,
    /// At least N months before Day 1 (Nか月以上前).
    #[serde(default)]
    pub months_before_at_least: Option<u32>,
    /// Local time "HH:MM", where the study gives one.
    #[serde(default)]
    pub time: Option<String>,
    /// Part of the day (未明, 午前, 夕方, 夜 …), where the study gives only that.
    #[serde(default)]
    pub day_part: Option<DayPart>,
    /// The study marks the day as a holiday (休).
    #[serde(default)]
    pub holiday: bool,
    /// The study leaves the date cell empty: the entry belongs to the same period as the
    /// one before it, after it.
    #[serde(default)]
    pub continued: bool,
    /// Kizuki's lane.
    pub lane: Lane,
    /// The lane (column) as the study labels it in this case.
    pub lane_label: Text,
    pub kind: EntryKind,
    pub text: Text,
}

impl TimelineItem {
    /// Whether the entry is placed in time at all.
    pub fn is_dated(&self) -> bool {
        self.day.is_some()
            || self.day_before.is_some()
            || self.week.is_some()
            || self.month.is_some()
            || self.months_before_at_least.is_some()
    }

    /// A sort key for the entry's period: the sum of the first and last day number the
    /// period can cover (twice its midpoint), so that days, weeks and months interleave
    /// the way the study lists them. `None` for undated entries.
    pub fn order_key(&self) -> Option<i64> {
        if let Some(d) = self.day {
            Some(2 * d)
        } else if let Some(n) = self.day_before {
            Some(2 * (1 - i64::from(n)))
        } else if let Some(w) = self.week {
            let first = (i64::from(w) - 1) * 7 + 1;
            Some(first + first + 6)
        } else if let Some(m) = self.month {
            let first = (i64::from(m) - 1) * 30 + 1;
            Some(first + first + 29)
        } else {
            self.months_before_at_least
                .map(|m| 2 * (1 - 30 * i64::from(m)))
        }
    }
}

/// A decision the case describes, framed as options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub question: Text,
    pub options: Vec<DecisionOption>,
    /// The `id` of the option taken.
    pub chosen: String,
    /// Who decided, where the study says.
    #[serde(default)]
    pub by: Option<Text>,
    /// Why, where the study says.
    #[serde(default)]
    pub rationale: Option<Text>,
    /// When, in the case's own terms (e.g. "Week 2").
    #[serde(default)]
    pub when: Option<Text>,
}

/// One option of a decision; `scenario` is what followed or would follow, only where the
/// study supports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionOption {
    pub id: String,
    pub label: Text,
    #[serde(default)]
    pub scenario: Option<Text>,
}

impl Decision {
    /// The option taken.
    pub fn chosen_option(&self) -> Option<&DecisionOption> {
        self.options.iter().find(|o| o.id == self.chosen)
    }
}
