//! What the participants did, set against the original and the playbook.

use kizuki_domain::ValidationError;
use kizuki_domain::error::{Validator, limits};
use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::settings::Language;
use kizuki_domain::task::TaskStatus;
use kizuki_domain::timeline::{EntryKind, Lane};
use kizuki_playbook::{DueFrom, Playbook};
use serde::{Deserialize, Serialize};

use crate::error::ExerciseError;
use crate::label::case_time_label;
use crate::script::{
    DecisionPoint, Inject, MAX_CASE_MINUTES, Script, ScriptTiming, UnplacedDecision, Window,
    is_escalation,
};

/// One action or decision a participant recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseAction {
    /// When, in case minutes from Day 1 00:00 (the clock's offset when it was recorded, or
    /// the time the participants say they would have acted).
    pub case_offset_minutes: i64,
    pub lane: Lane,
    pub kind: EntryKind,
    pub text: String,
    #[serde(default)]
    pub actor: String,
    /// The decision point this action answers, when the participant says so.
    #[serde(default)]
    pub decision_point: Option<usize>,
}

impl ExerciseAction {
    /// Checks an action before it is stored, naming each field at fault.
    pub fn validate(&self, script: &Script) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("text", &self.text, limits::TEXT);
        v.optional_text("actor", &self.actor, limits::NAME);
        if self.case_offset_minutes.abs() > MAX_CASE_MINUTES {
            v.push("case_offset_minutes", "is too far from Day 1");
        }
        if let Some(p) = self.decision_point
            && p >= script.decision_points.len()
        {
            v.push(
                "decision_point",
                format!(
                    "the script has {} decision points (numbered from 0)",
                    script.decision_points.len()
                ),
            );
        }
        v.finish()
    }
}

/// A playbook task as the comparison needs it, in case time; independent of storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseTask {
    /// The playbook's task id (or any stable key).
    pub key: String,
    pub title: String,
    pub lane: Lane,
    pub status: TaskStatus,
    /// When the playbook wants it done, in case minutes; `None` when it sets no due time.
    #[serde(default)]
    pub due_offset_minutes: Option<i64>,
    /// When it was marked done, in case minutes.
    #[serde(default)]
    pub done_at_offset_minutes: Option<i64>,
}

impl ExerciseTask {
    /// The playbook's tasks, open, with due offsets in case time: `from: start` counts from
    /// Day 1 00:00, `from: applied` from `applied_at_offset` (usually the opening).
    pub fn from_playbook(
        playbook: &Playbook,
        lang: Language,
        applied_at_offset: i64,
    ) -> Vec<ExerciseTask> {
        playbook
            .tasks()
            .map(|(_, task)| ExerciseTask {
                key: task.id.clone(),
                title: task.title.get(lang).to_owned(),
                lane: task.lane,
                status: TaskStatus::Open,
                due_offset_minutes: task.due.map(|d| {
                    let base = match d.from {
                        DueFrom::Start => 0,
                        DueFrom::Applied => applied_at_offset,
                    };
                    base.saturating_add(d.after.as_mins())
                }),
                done_at_offset_minutes: None,
            })
            .collect()
    }
}

/// How the participants' timing compares with the original's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Before the original's window.
    Earlier,
    /// Inside the window in which the original is known to have acted.
    Same,
    /// After that window.
    Later,
    /// The original did it; the participants did not.
    NotTaken,
    /// The original has nothing to compare with.
    NoOriginal,
    /// The original's time is unknown (only the order is).
    Unknown,
}

/// The response milestones compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    Detection,
    Escalation,
    Containment,
    Recovery,
}

impl Milestone {
    pub const ALL: &'static [Milestone] = &[
        Milestone::Detection,
        Milestone::Escalation,
        Milestone::Containment,
        Milestone::Recovery,
    ];
}

/// A moment of the original or of the exercise, with its label in both languages so a
/// stored comparison renders without the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub offset_minutes: i64,
    pub label_ja: String,
    pub label_en: String,
    pub lane: Option<Lane>,
    pub text: String,
}

impl Moment {
    pub fn label(&self, lang: Language) -> &str {
        match lang {
            Language::Ja => &self.label_ja,
            Language::En => &self.label_en,
        }
    }

    fn of_inject(i: &Inject) -> Self {
        Self {
            offset_minutes: i.offset_minutes,
            label_ja: i.label_ja.clone(),
            label_en: i.label_en.clone(),
            lane: Some(i.lane),
            text: i.text.clone(),
        }
    }

    fn of_action(a: &ExerciseAction) -> Self {
        Self {
            offset_minutes: a.case_offset_minutes,
            label_ja: case_time_label(a.case_offset_minutes, Language::Ja),
            label_en: case_time_label(a.case_offset_minutes, Language::En),
            lane: Some(a.lane),
            text: a.text.clone(),
        }
    }
}

/// One milestone, original against exercise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneComparison {
    pub milestone: Milestone,
    pub original: Option<Moment>,
    pub exercise: Option<Moment>,
    /// Minutes from the original's detection (the moment both sides learned of it).
    pub original_since_detection: Option<i64>,
    pub exercise_since_detection: Option<i64>,
    /// Exercise minus original; positive is later.
    pub delta_minutes: Option<i64>,
    pub verdict: Verdict,
}

/// How a participant decision was tied to a decision point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The participant named the point.
    Named,
    /// The first unnamed decision in the point's lane once the point opened.
    Lane,
    /// The point has no lane: the first unnamed decision in any lane once it opened.
    AnyLane,
}

/// One decision point, original against exercise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionComparison {
    pub point: usize,
    pub question: Option<String>,
    pub lane: Option<Lane>,
    /// What the original decided, and when.
    pub original: Moment,
    pub exercise: Option<Moment>,
    pub matched_by: Option<MatchedBy>,
    pub delta_minutes: Option<i64>,
    pub verdict: Verdict,
}

/// What became of one playbook task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskVerdict {
    OnTime,
    /// Done after its due offset.
    Late,
    /// Done, but when is not known.
    DoneUntimed,
    /// Not done by the end of the exercise.
    Missed,
    /// Deliberately skipped by the participants.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOutcome {
    pub key: String,
    pub title: String,
    pub lane: Lane,
    pub due_offset_minutes: Option<i64>,
    pub done_at_offset_minutes: Option<i64>,
    /// Minutes after the due offset, for a late task.
    pub late_by_minutes: Option<i64>,
    pub verdict: TaskVerdict,
}

/// Participant actions in one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneCount {
    pub lane: Lane,
    pub actions: usize,
    pub decisions: usize,
}

/// The outcome of an exercise; self-contained, so it can be stored once and rendered any
/// time in either language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub title: String,
    pub source: ExerciseSource,
    pub timing: ScriptTiming,
    pub note: Option<String>,
    pub opening_offset_minutes: i64,
    pub ended_at_offset_minutes: i64,
    pub injects_released: usize,
    pub injects_total: usize,
    /// Actions taken into account (recorded no later than the end).
    pub actions_counted: usize,
    /// Actions dated after the end, left out.
    pub actions_after_end: usize,
    pub milestones: Vec<MilestoneComparison>,
    pub decisions: Vec<DecisionComparison>,
    pub unplaced_decisions: Vec<UnplacedDecision>,
    pub tasks: Vec<TaskOutcome>,
    pub lanes: Vec<LaneCount>,
}

impl Comparison {
    pub fn milestone(&self, m: Milestone) -> Option<&MilestoneComparison> {
        self.milestones.iter().find(|x| x.milestone == m)
    }

    pub fn tasks_with(&self, verdict: TaskVerdict) -> impl Iterator<Item = &TaskOutcome> {
        self.tasks.iter().filter(move |t| t.verdict == verdict)
    }
}

fn verdict(window: Option<&Window>, at: i64) -> Verdict {
    match window {
        None => Verdict::Unknown,
        Some(w) if w.from.is_some_and(|f| at < f) => Verdict::Earlier,
        Some(w) if w.to.is_some_and(|t| at > t) => Verdict::Later,
        Some(_) => Verdict::Same,
    }
}

/// Compares the participants' actions and the playbook tasks with the script, as of the
/// end of the exercise at case offset `ended_at_offset`.
///
/// The participants' milestones follow the rules of [`crate::Marks`], with actions in
/// place of injects: the first `detection` action; from the original's detection on, the
/// first `communication`/`decision` action in the management & PR or CISO & CSIRT lane, the
/// first `containment` and the first `recovery` action.
///
/// Each decision point takes, in this order: the earliest action that names it; else, the
/// earliest unnamed `decision` action in its lane (any lane if it has none) at or after the
/// point opened ([`DecisionPoint::opens_at_minutes`]). Points are served in time order and an
/// action answers at most one point. The verdict is earlier/same/later against the window in
/// which the original is known to have decided.
pub fn compare(
    script: &Script,
    actions: &[ExerciseAction],
    tasks: &[ExerciseTask],
    ended_at_offset: i64,
) -> Result<Comparison, ExerciseError> {
    for (i, a) in actions.iter().enumerate() {
        if let Some(p) = a.decision_point
            && p >= script.decision_points.len()
        {
            return Err(ExerciseError::UnknownDecisionPoint {
                action: i,
                point: p,
                count: script.decision_points.len(),
            });
        }
    }
    // In time order, the order recorded breaking ties.
    let mut counted: Vec<&ExerciseAction> = actions
        .iter()
        .filter(|a| a.case_offset_minutes <= ended_at_offset)
        .collect();
    counted.sort_by_key(|a| a.case_offset_minutes);

    let milestones = compare_milestones(script, &counted);
    let decisions = compare_decisions(script, &counted);
    let tasks = tasks
        .iter()
        .map(|t| task_outcome(t, ended_at_offset))
        .collect();
    let lanes = Lane::ALL
        .iter()
        .map(|lane| LaneCount {
            lane: *lane,
            actions: counted.iter().filter(|a| a.lane == *lane).count(),
            decisions: counted
                .iter()
                .filter(|a| a.lane == *lane && a.kind == EntryKind::Decision)
                .count(),
        })
        .collect();
    Ok(Comparison {
        title: script.title.clone(),
        source: script.source,
        timing: script.timing,
        note: script.note.clone(),
        opening_offset_minutes: script.opening_offset(),
        ended_at_offset_minutes: ended_at_offset,
        injects_released: script
            .injects
            .iter()
            .filter(|i| i.offset_minutes <= ended_at_offset)
            .count(),
        injects_total: script.injects.len(),
        actions_counted: counted.len(),
        actions_after_end: actions.len() - counted.len(),
        milestones,
        decisions,
        unplaced_decisions: script.unplaced_decisions.clone(),
        tasks,
        lanes,
    })
}

fn compare_milestones(script: &Script, actions: &[&ExerciseAction]) -> Vec<MilestoneComparison> {
    let reference = script.reference_offset();
    let timed = script.timing == ScriptTiming::Dated;
    Milestone::ALL
        .iter()
        .map(|m| {
            let mark = match m {
                Milestone::Detection => script.marks.detection,
                Milestone::Escalation => script.marks.escalation,
                Milestone::Containment => script.marks.containment,
                Milestone::Recovery => script.marks.recovery,
            };
            let original = mark.and_then(|i| script.injects.get(i));
            let exercise = actions.iter().find(|a| marks_milestone(*m, a, reference));
            let (delta, verdict) = match (original, exercise) {
                (None, _) => (None, Verdict::NoOriginal),
                (Some(_), None) => (None, Verdict::NotTaken),
                (Some(o), Some(e)) if timed => (
                    Some(e.case_offset_minutes.saturating_sub(o.offset_minutes)),
                    verdict(o.window.as_ref(), e.case_offset_minutes),
                ),
                (Some(_), Some(_)) => (None, Verdict::Unknown),
            };
            MilestoneComparison {
                milestone: *m,
                original_since_detection: original
                    .filter(|_| timed)
                    .map(|o| o.offset_minutes.saturating_sub(reference)),
                exercise_since_detection: exercise
                    .filter(|_| timed)
                    .map(|e| e.case_offset_minutes.saturating_sub(reference)),
                original: original.map(Moment::of_inject),
                exercise: exercise.map(|a| Moment::of_action(a)),
                delta_minutes: delta,
                verdict,
            }
        })
        .collect()
}

/// Whether a participant action reaches a milestone, by the rules of [`crate::Marks`].
fn marks_milestone(m: Milestone, a: &ExerciseAction, reference: i64) -> bool {
    let after = a.case_offset_minutes >= reference;
    match m {
        Milestone::Detection => a.kind == EntryKind::Detection,
        Milestone::Escalation => after && is_escalation(a.lane, a.kind),
        Milestone::Containment => after && a.kind == EntryKind::Containment,
        Milestone::Recovery => after && a.kind == EntryKind::Recovery,
    }
}

fn compare_decisions(script: &Script, actions: &[&ExerciseAction]) -> Vec<DecisionComparison> {
    let points = &script.decision_points;
    let mut answer: Vec<Option<(usize, MatchedBy)>> = vec![None; points.len()];
    let mut used = vec![false; actions.len()];
    for (ai, a) in actions.iter().enumerate() {
        if let Some(p) = a.decision_point
            && let Some(slot @ None) = answer.get_mut(p)
        {
            *slot = Some((ai, MatchedBy::Named));
            if let Some(u) = used.get_mut(ai) {
                *u = true;
            }
        }
    }
    for (p, point) in points.iter().enumerate() {
        if answer.get(p).is_some_and(Option::is_some) {
            continue;
        }
        let found = actions.iter().enumerate().find(|(ai, a)| {
            !used.get(*ai).copied().unwrap_or(true)
                && a.decision_point.is_none()
                && a.kind == EntryKind::Decision
                && a.case_offset_minutes >= point.opens_at_minutes
                && point.lane.is_none_or(|l| l == a.lane)
        });
        if let Some((ai, _)) = found {
            let how = if point.lane.is_some() {
                MatchedBy::Lane
            } else {
                MatchedBy::AnyLane
            };
            if let Some(slot) = answer.get_mut(p) {
                *slot = Some((ai, how));
            }
            if let Some(u) = used.get_mut(ai) {
                *u = true;
            }
        }
    }
    let timed = script.timing == ScriptTiming::Dated;
    points
        .iter()
        .zip(answer)
        .map(|(point, ans)| {
            let exercise = ans.and_then(|(ai, how)| actions.get(ai).map(|a| (*a, how)));
            let (delta, v) = match exercise {
                None => (None, Verdict::NotTaken),
                Some((a, _)) if timed => (
                    Some(a.case_offset_minutes.saturating_sub(point.offset_minutes)),
                    verdict(point.window.as_ref(), a.case_offset_minutes),
                ),
                Some(_) => (None, Verdict::Unknown),
            };
            DecisionComparison {
                point: point.index,
                question: point.question.clone(),
                lane: point.lane,
                original: original_moment(point),
                exercise: exercise.map(|(a, _)| Moment::of_action(a)),
                matched_by: exercise.map(|(_, how)| how),
                delta_minutes: delta,
                verdict: v,
            }
        })
        .collect()
}

fn original_moment(p: &DecisionPoint) -> Moment {
    Moment {
        offset_minutes: p.offset_minutes,
        label_ja: p.label_ja.clone(),
        label_en: p.label_en.clone(),
        lane: p.lane,
        text: p.original.clone(),
    }
}

fn task_outcome(t: &ExerciseTask, ended_at: i64) -> TaskOutcome {
    let late_by = match (t.due_offset_minutes, t.done_at_offset_minutes) {
        (Some(due), Some(done)) if done > due => Some(done.saturating_sub(due)),
        _ => None,
    };
    let verdict = match (t.status, t.done_at_offset_minutes) {
        (TaskStatus::Skipped, _) => TaskVerdict::Skipped,
        (TaskStatus::Open, _) => TaskVerdict::Missed,
        (TaskStatus::Done, Some(done)) if done > ended_at => TaskVerdict::Missed,
        (TaskStatus::Done, None) => TaskVerdict::DoneUntimed,
        (TaskStatus::Done, Some(_)) if late_by.is_some() => TaskVerdict::Late,
        (TaskStatus::Done, Some(_)) => TaskVerdict::OnTime,
    };
    TaskOutcome {
        key: t.key.clone(),
        title: t.title.clone(),
        lane: t.lane,
        due_offset_minutes: t.due_offset_minutes,
        done_at_offset_minutes: t.done_at_offset_minutes,
        late_by_minutes: late_by.filter(|_| verdict == TaskVerdict::Late),
        verdict,
    }
}
