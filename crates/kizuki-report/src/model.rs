//! The report model and the pure function that builds it.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use kizuki_domain::decision::Decision;
use kizuki_domain::incident::Incident;
use kizuki_domain::review::{ActionStatus, CorrectiveAction, ReviewNarrative};
use kizuki_domain::settings::{Language, OrgSettings};
use kizuki_domain::task::{Task, TaskStatus};
use kizuki_domain::timeline::{EntryKind, Lane, TimelineEntry, day_label};
use kizuki_reference::LessonCategory;
use serde::{Deserialize, Serialize};

use crate::figures::{self, Figures};

/// The reader level and cause pair are the domain's, since reviews are stored with them.
pub use kizuki_domain::review::{CauseAnalysis, ReaderLevel};

/// A lesson, filed under the study's appendix categories, with what is being done about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewLesson {
    pub text: String,
    pub categories: Vec<LessonCategory>,
    /// The action taken or planned; empty when not yet agreed.
    pub action: String,
}

/// What the review adds that an incident does not hold (yet). Every field may be empty;
/// empty fields become entries in [`AfterActionReport::missing`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFields {
    pub reader_level: Option<ReaderLevel>,
    pub organisation_profile: String,
    pub main_cause: String,
    /// Narrative of how the incident unfolded, beyond the incident's own facts.
    pub situation: String,
    pub background: String,
    pub causes: Vec<CauseAnalysis>,
    pub damage_limiters: Vec<String>,
    pub lessons: Vec<ReviewLesson>,
    pub challenges: Vec<String>,
}

impl ReviewFields {
    /// A stored review's narrative with the incident's lessons.
    pub fn from_parts(narrative: &ReviewNarrative, lessons: Vec<ReviewLesson>) -> Self {
        let n = narrative.clone();
        Self {
            reader_level: n.reader_level,
            organisation_profile: n.organisation_profile,
            main_cause: n.main_cause,
            situation: n.situation,
            background: n.background,
            causes: n.causes,
            damage_limiters: n.damage_limiters,
            lessons,
            challenges: n.challenges,
        }
    }
}

/// One corrective action as a line of a lesson's "action" cell: what, who, by when, and
/// where it stands, so a printed report shows whether the lesson was acted on.
pub fn action_line(a: &CorrectiveAction, lang: Language) -> String {
    use ActionStatus::*;
    let status = match (a.status, lang) {
        (Open, Language::Ja) => "未着手",
        (InProgress, Language::Ja) => "対応中",
        (Done, Language::Ja) => "完了",
        (Cancelled, Language::Ja) => "中止",
        (Open, Language::En) => "open",
        (InProgress, Language::En) => "in progress",
        (Done, Language::En) => "done",
        (Cancelled, Language::En) => "cancelled",
    };
    match lang {
        Language::Ja => format!(
            "{}（担当: {}、期限: {}、{}）",
            a.title, a.owner, a.due_date, status
        ),
        Language::En => format!(
            "{} (owner: {}, due {}, {})",
            a.title, a.owner, a.due_date, status
        ),
    }
}

/// Everything the caller gathers for one report.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub incident: &'a Incident,
    pub timeline: &'a [TimelineEntry],
    pub decisions: &'a [Decision],
    pub tasks: &'a [Task],
    pub review: Option<&'a ReviewFields>,
}

/// A section of the report, in the study's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    ReaderLevel,
    OrganisationProfile,
    MainCause,
    Overview,
    Situation,
    Timeline,
    Background,
    Impact,
    TechnicalCause,
    RootCause,
    DamageLimiters,
    Lessons,
    LessonActions,
    Challenges,
}

/// One entry in a timeline cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellItem {
    pub actor: String,
    pub kind: EntryKind,
    pub text: String,
}

/// One row of the study-style table: one Day-N/time label, one cell per lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// The label in the report's language, e.g. "3日目（休）22:00" or "Day 3 (holiday) 22:00".
    pub label: String,
    pub day: i64,
    /// Saturday, Sunday or national holiday (the study's 休 mark).
    pub rest_day: bool,
    pub holiday: Option<String>,
    /// One cell per lane in [`TimelineTable::lanes`], same order.
    pub cells: Vec<Vec<CellItem>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineTable {
    /// The study's three lanes always; the external lane only when used.
    pub lanes: Vec<Lane>,
    pub rows: Vec<TimelineRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionSummary {
    pub question: String,
    /// The chosen option's label; `None` while undecided.
    pub chosen: Option<String>,
    pub decided_by: String,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub done: usize,
    pub skipped: usize,
    /// Titles of tasks still open.
    pub open: Vec<String>,
}

/// The report, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfterActionReport {
    pub language: Language,
    pub incident_id: i64,
    pub title: String,
    pub start_date: Date,
    pub reader_level: Option<ReaderLevel>,
    pub organisation_profile: String,
    pub main_cause: String,
    pub overview: String,
    /// Facts from the incident record, as label/value pairs in the report's language.
    pub facts: Vec<(String, String)>,
    pub situation: String,
    pub timeline: TimelineTable,
    pub background: String,
    /// Impact flags in the report's language, then the incident's impact notes.
    pub impact: Vec<String>,
    pub causes: Vec<CauseAnalysis>,
    pub damage_limiters: Vec<String>,
    pub lessons: Vec<ReviewLesson>,
    pub challenges: Vec<String>,
    pub decisions: Vec<DecisionSummary>,
    pub tasks: TaskSummary,
    pub figures: Figures,
    /// Sections with no content yet, in the study's order: what the review must still ask.
    pub missing: Vec<Section>,
}

/// Builds the report. Pure: same inputs, same report.
///
/// Day-N labels and times use `settings.time_zone`; `lang` is usually
/// `settings.language`, but is passed on its own so either language can be produced.
pub fn build(input: &ReportInput<'_>, settings: &OrgSettings, lang: Language) -> AfterActionReport {
    let incident = input.incident;
    let empty = ReviewFields::default();
    let review = input.review.unwrap_or(&empty);
    let tz = &settings.time_zone;

    let mut entries: Vec<&TimelineEntry> = input.timeline.iter().collect();
    entries.sort_by_key(|e| (e.occurred_at, e.id));

    let timeline = table(incident.start_date, &entries, tz, lang);
    let figures = figures::compute(&entries, incident.start_date, tz, lang);

    let impact = impact_lines(incident, lang);
    let causes: Vec<CauseAnalysis> = review
        .causes
        .iter()
        .filter(|c| !blank(&c.technical) || !blank(&c.organisational))
        .cloned()
        .collect();
    let lessons: Vec<ReviewLesson> = review
        .lessons
        .iter()
        .filter(|l| !blank(&l.text))
        .cloned()
        .collect();
    let damage_limiters = non_blank(&review.damage_limiters);
    let challenges = non_blank(&review.challenges);

    let mut missing = Vec::new();
    let mut need = |section: Section, absent: bool| {
        if absent {
            missing.push(section);
        }
    };
    need(Section::ReaderLevel, review.reader_level.is_none());
    need(
        Section::OrganisationProfile,
        blank(&review.organisation_profile),
    );
    need(Section::MainCause, blank(&review.main_cause));
    need(Section::Overview, blank(&incident.summary));
    need(Section::Situation, blank(&review.situation));
    need(Section::Timeline, timeline.rows.is_empty());
    need(Section::Background, blank(&review.background));
    need(Section::Impact, impact.is_empty());
    need(
        Section::TechnicalCause,
        causes.iter().all(|c| blank(&c.technical)),
    );
    need(
        Section::RootCause,
        causes.iter().all(|c| blank(&c.organisational)),
    );
    need(Section::DamageLimiters, damage_limiters.is_empty());
    need(Section::Lessons, lessons.is_empty());
    need(
        Section::LessonActions,
        !lessons.is_empty() && lessons.iter().any(|l| blank(&l.action)),
    );
    need(Section::Challenges, challenges.is_empty());

    AfterActionReport {
        language: lang,
        incident_id: incident.id,
        title: incident.title.clone(),
        start_date: incident.start_date,
        reader_level: review.reader_level,
        organisation_profile: review.organisation_profile.trim().to_owned(),
        main_cause: review.main_cause.trim().to_owned(),
        overview: incident.summary.trim().to_owned(),
        facts: facts(incident, tz, lang),
        situation: review.situation.trim().to_owned(),
        timeline,
        background: review.background.trim().to_owned(),
        impact,
        causes,
        damage_limiters,
        lessons,
        challenges,
        decisions: input.decisions.iter().map(decision_summary).collect(),
        tasks: task_summary(input.tasks),
        figures,
        missing,
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn non_blank(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn table(start: Date, entries: &[&TimelineEntry], tz: &TimeZone, lang: Language) -> TimelineTable {
    let mut lanes = vec![Lane::ManagementPr, Lane::CisoCsirt, Lane::ItBusiness];
    if entries.iter().any(|e| e.lane == Lane::External) {
        lanes.push(Lane::External);
    }
    let mut rows: Vec<TimelineRow> = Vec::new();
    for e in entries {
        let l = day_label(start, e.occurred_at, e.precision, e.day_part, tz);
        let label = l.label(lang).to_owned();
        let row = match rows.last_mut() {
            Some(r) if r.label == label => r,
            _ => {
                rows.push(TimelineRow {
                    label,
                    day: l.day,
                    rest_day: l.rest_day,
                    holiday: l.holiday.clone(),
                    cells: vec![Vec::new(); lanes.len()],
                });
                match rows.last_mut() {
                    Some(r) => r,
                    None => continue,
                }
            }
        };
        if let Some(i) = lanes.iter().position(|l| *l == e.lane)
            && let Some(cell) = row.cells.get_mut(i)
        {
            cell.push(CellItem {
                actor: e.actor.trim().to_owned(),
                kind: e.kind,
                text: e.text.trim().to_owned(),
            });
        }
    }
    TimelineTable { lanes, rows }
}

fn facts(i: &Incident, tz: &TimeZone, lang: Language) -> Vec<(String, String)> {
    use crate::text::{fact, t};
    let aware = i.aware_at.to_zoned_datetime(tz.clone());
    let mut out = vec![
        (t(lang, fact::CATEGORY), i.category.as_str().to_owned()),
        (t(lang, fact::SEVERITY), i.severity.to_string()),
        (t(lang, fact::PHASE), i.phase.as_str().to_owned()),
        (
            t(lang, fact::DETECTION_SOURCE),
            i.detection_source.as_str().to_owned(),
        ),
        (t(lang, fact::START_DATE), i.start_date.to_string()),
        (
            t(lang, fact::START_BASIS),
            i.start_basis.as_str().to_owned(),
        ),
        (
            t(lang, fact::AWARE_AT),
            aware.strftime("%Y-%m-%d %H:%M %Z").to_string(),
        ),
    ];
    if !i.affected_units.is_empty() {
        out.push((t(lang, fact::UNITS), i.affected_units.join(", ")));
    }
    if !i.affected_assets.is_empty() {
        out.push((t(lang, fact::ASSETS), i.affected_assets.join(", ")));
    }
    out.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn impact_lines(i: &Incident, lang: Language) -> Vec<String> {
    use crate::text::{impact, t};
    let m = &i.impact;
    let mut out: Vec<String> = [
        (m.confidentiality, impact::CONFIDENTIALITY),
        (m.integrity, impact::INTEGRITY),
        (m.availability, impact::AVAILABILITY),
        (m.unauthorised_act, impact::UNAUTHORISED),
        (m.gdpr, impact::GDPR),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, k)| t(lang, k).to_owned())
    .collect();
    if m.personal_data {
        let base = t(lang, impact::PERSONAL_DATA);
        out.push(match m.personal_data_count {
            Some(n) => format!("{base} ({n})"),
            None => base.to_owned(),
        });
    }
    if !blank(&m.notes) {
        out.push(m.notes.trim().to_owned());
    }
    out
}

fn decision_summary(d: &Decision) -> DecisionSummary {
    let chosen = d
        .chosen
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| d.options.get(i))
        .map(|o| o.label.clone());
    DecisionSummary {
        question: d.question.clone(),
        chosen,
        decided_by: d.decided_by.clone(),
        rationale: d.rationale.clone(),
    }
}

fn task_summary(tasks: &[Task]) -> TaskSummary {
    TaskSummary {
        done: tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Done)
            .count(),
        skipped: tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Skipped)
            .count(),
        open: tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .map(|t| t.title.clone())
            .collect(),
    }
}
