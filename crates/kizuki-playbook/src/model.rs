//! The validated playbook and how it is applied to an incident.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use kizuki_domain::incident::Category;
use kizuki_domain::settings::Language;
use kizuki_domain::task::{ChecklistItem, NewTask};
use kizuki_domain::timeline::Lane;
use serde::{Deserialize, Serialize};

/// A text in both of Kizuki's languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

impl Text {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            ja: ja.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Ja => &self.ja,
            Language::En => &self.en,
        }
    }
}

/// What a due offset is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueFrom {
    /// The incident's start date (the study's "Day 1") at 00:00 in the organisation's zone.
    Start,
    /// The moment the playbook was applied to the incident.
    Applied,
}

impl DueFrom {
    pub const ALL: &'static [DueFrom] = &[DueFrom::Start, DueFrom::Applied];

    pub fn as_str(self) -> &'static str {
        match self {
            DueFrom::Start => "start",
            DueFrom::Applied => "applied",
        }
    }
}

/// When a task falls due: `after` this long, counted `from` start or application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Due {
    #[serde(with = "offset_serde")]
    pub after: SignedDuration,
    pub from: DueFrom,
}

mod offset_serde {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &SignedDuration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::offset::format_offset(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
        let s = String::deserialize(d)?;
        crate::offset::parse_offset(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a task exists: the case(s) of the NISC study and the lesson drawn from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Why {
    /// Case numbers of the study, 1..=10.
    pub cases: Vec<u8>,
    pub lesson: Text,
}

impl Why {
    /// "Case 3: …" / "Cases 3, 9: …" in English, "ケース3：…" / "ケース3・9：…" in Japanese.
    pub fn rationale(&self, lang: Language) -> String {
        let nums: Vec<String> = self.cases.iter().map(u8::to_string).collect();
        match lang {
            Language::En => {
                let word = if self.cases.len() == 1 {
                    "Case"
                } else {
                    "Cases"
                };
                format!("{word} {}: {}", nums.join(", "), self.lesson.en)
            }
            Language::Ja => format!("ケース{}：{}", nums.join("・"), self.lesson.ja),
        }
    }
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookTask {
    /// Unique within the playbook.
    pub id: String,
    pub title: Text,
    pub lane: Lane,
    #[serde(default)]
    pub checklist: Vec<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Due>,
    pub why: Why,
}

/// A phase of the response (NIST SP 800-61: triage, containment, …) and its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub id: String,
    pub title: Text,
    pub tasks: Vec<PlaybookTask>,
}

/// A validated playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    /// Starts at 1; bump it on every change so a newer file replaces an older one.
    pub version: u32,
    pub category: Category,
    pub title: Text,
    pub summary: Text,
    pub phases: Vec<Phase>,
}

impl Playbook {
    /// `id@version`, as recorded on the tasks the playbook creates.
    pub fn key(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// All tasks in order, with the phase each belongs to.
    pub fn tasks(&self) -> impl Iterator<Item = (&Phase, &PlaybookTask)> {
        self.phases
            .iter()
            .flat_map(|p| p.tasks.iter().map(move |t| (p, t)))
    }

    pub fn task_count(&self) -> usize {
        self.phases.iter().map(|p| p.tasks.len()).sum()
    }

    /// Resolves a due offset to a point in time.
    ///
    /// `from: start` counts from `start_date` at 00:00 in `tz` (the study's Day 1);
    /// `from: applied` counts from `applied_at`. `None` if the result is out of range.
    pub fn resolve_due(
        due: &Due,
        start_date: Date,
        applied_at: Timestamp,
        tz: &TimeZone,
    ) -> Option<Timestamp> {
        let base = match due.from {
            DueFrom::Applied => applied_at,
            DueFrom::Start => start_date.to_zoned_datetime(tz.clone()).ok()?.timestamp(),
        };
        base.checked_add(due.after).ok()
    }

    /// The tasks to create when this playbook is applied to an incident that started on
    /// `start_date` (Day 1, local), applied at `applied_at`, in zone `tz`, written in `lang`.
    pub fn plan(
        &self,
        start_date: Date,
        applied_at: Timestamp,
        tz: &TimeZone,
        lang: Language,
    ) -> Vec<NewTask> {
        let key = self.key();
        self.tasks()
            .enumerate()
            .map(|(i, (phase, task))| NewTask {
                playbook: Some(key.clone()),
                phase: phase.id.clone(),
                title: task.title.get(lang).to_owned(),
                lane: task.lane,
                checklist: task
                    .checklist
                    .iter()
                    .map(|c| ChecklistItem {
                        text: c.get(lang).to_owned(),
                        done: false,
                    })
                    .collect(),
                due_at: task
                    .due
                    .as_ref()
                    .and_then(|d| Self::resolve_due(d, start_date, applied_at, tz)),
                rationale: task.why.rationale(lang),
                position: i64::try_from(i).unwrap_or(i64::MAX),
            })
            .collect()
    }
}
