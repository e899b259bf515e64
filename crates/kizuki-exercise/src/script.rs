//! The script: everything the exercise replays, placed in case time.
//!
//! Case time is counted in minutes from Day 1 00:00 of the original, so a reference case
//! (which has no calendar dates) and a past incident (which has) are handled alike, and the
//! exercise incident can be given any start date.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use kizuki_domain::exercise::ExerciseSource;
use kizuki_domain::incident::Incident;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{
    DayPart, EntryKind, EntrySource, Lane, NewTimelineEntry, TimePrecision, TimelineEntry,
    day_label,
};
use kizuki_reference::{Case, TimelineItem};
use serde::{Deserialize, Serialize};

use crate::error::ExerciseError;
use crate::label::{MINUTES_PER_DAY, clock_text, day_of, day_text, day_with, t};

/// How far from Day 1 a script may reach (a hundred years, as the domain allows for days).
pub const MAX_CASE_MINUTES: i64 = 36_500 * MINUTES_PER_DAY;

/// The spacing given to injects of a timeline whose dates are all masked: one case hour
/// per step, so a facilitator steps through them in order without long waits.
pub const ORDER_ONLY_STEP_MINUTES: i64 = 60;

/// Half the window in which a decision or milestone at a known minute counts as "the same
/// time": the study writes its times to the half hour at best.
const MINUTE_TOLERANCE: i64 = 30;

/// Whether the original's times can be compared with at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptTiming {
    /// Injects sit where the original placed them.
    Dated,
    /// The original gives only an order (case 6 masks every date): injects are spaced
    /// [`ORDER_ONLY_STEP_MINUTES`] apart and no earlier/later verdict is given.
    OrderOnly,
}

/// The span of case time in which the original is known to have done something, both ends
/// included; `None` leaves that end open ("week 3 or later", "at least a month before").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Window {
    fn between(from: i64, to: i64) -> Self {
        Self {
            from: Some(from),
            to: Some(to),
        }
    }

    pub fn contains(&self, offset: i64) -> bool {
        self.from.is_none_or(|f| offset >= f) && self.to.is_none_or(|t| offset <= t)
    }
}

/// One event of the original, released to the participants when case time reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inject {
    /// Position in the script (and in release order).
    pub index: usize,
    /// When it is released, in case minutes from Day 1 00:00.
    pub offset_minutes: i64,
    /// When the original is known to have done it; `None` when only the order is known.
    pub window: Option<Window>,
    /// How precisely the original's time is known; `None` when only the order is known.
    pub precision: Option<TimePrecision>,
    #[serde(default)]
    pub day_part: Option<DayPart>,
    /// Released before the exercise opens, as the situation the participants walk into.
    pub background: bool,
    /// The original's moment, worded as the study or the live timeline words it.
    pub label_ja: String,
    pub label_en: String,
    pub lane: Lane,
    pub kind: EntryKind,
    /// Who acted, as the original labels the lane or names the person.
    pub actor: String,
    pub text: String,
}

impl Inject {
    pub fn label(&self, lang: Language) -> &str {
        match lang {
            Language::Ja => &self.label_ja,
            Language::En => &self.label_en,
        }
    }

    /// The inject as an entry for the exercise incident's own timeline, placed by day
    /// number so it lands at the same case time when that incident's start date is the
    /// exercise's Day 1. The original's precision is kept, so "Week 2" stays a week.
    pub fn timeline_entry(&self) -> NewTimelineEntry {
        let day = day_of(self.offset_minutes);
        let time = clock_text(self.offset_minutes.rem_euclid(MINUTES_PER_DAY));
        let time = if time.len() == 4 {
            format!("0{time}")
        } else {
            time
        };
        let (time_of_day, precision, day_part) = match self.precision {
            Some(TimePrecision::DayPart) if self.day_part.is_some() => {
                (None, Some(TimePrecision::DayPart), self.day_part)
            }
            Some(p) => (Some(time), Some(p), None),
            None => (Some(time), Some(TimePrecision::Minute), None),
        };
        NewTimelineEntry {
            occurred_at: None,
            day: Some(day),
            time_of_day,
            week: None,
            precision,
            day_part,
            lane: self.lane,
            actor: self.actor.clone(),
            kind: self.kind,
            text: self.text.clone(),
            source: EntrySource::Import,
        }
    }
}

/// The original's response milestones, as indices into [`Script::injects`].
///
/// - detection: the first `detection` inject;
/// - escalation: from the detection on (in the script's order), the first `communication`
///   or `decision` inject in the management & PR or CISO & CSIRT lane, i.e. the moment the
///   matter reached the people who can decide;
/// - containment / recovery: from the detection on, the first inject of that kind.
///
/// Without a detection inject, the search starts at the first inject of the exercise
/// proper (the opening).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    pub detection: Option<usize>,
    pub escalation: Option<usize>,
    pub containment: Option<usize>,
    pub recovery: Option<usize>,
}

/// A moment where the original decided something, and where the participants' decision is
/// compared with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionPoint {
    /// What a participant action names in [`crate::ExerciseAction::decision_point`].
    pub index: usize,
    /// The `decision` inject it comes from, if any (a case's structured decision may have
    /// no timeline entry of its own).
    pub inject: Option<usize>,
    pub offset_minutes: i64,
    /// From when an unlabelled participant decision may answer this point: the release of
    /// the inject before it, i.e. once the participants know what the original knew just
    /// before deciding.
    pub opens_at_minutes: i64,
    pub window: Option<Window>,
    /// `None` when the original does not say which lane decided; any lane may answer then.
    pub lane: Option<Lane>,
    pub label_ja: String,
    pub label_en: String,
    /// The question, where the case frames the decision as options.
    pub question: Option<String>,
    /// What the original decided.
    pub original: String,
}

impl DecisionPoint {
    pub fn label(&self, lang: Language) -> &str {
        match lang {
            Language::Ja => &self.label_ja,
            Language::En => &self.label_en,
        }
    }
}

/// A decision of the case that cannot be placed in time; shown for discussion only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnplacedDecision {
    pub question: String,
    pub original: String,
}

/// What an exercise replays: injects in release order, the original's milestones and
/// decision points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub title: String,
    pub source: ExerciseSource,
    /// The language of the case text; `None` for an incident (its text is as recorded).
    pub language: Option<Language>,
    pub timing: ScriptTiming,
    /// The case's remark on its timeline, if any.
    #[serde(default)]
    pub note: Option<String>,
    pub injects: Vec<Inject>,
    pub marks: Marks,
    pub decision_points: Vec<DecisionPoint>,
    #[serde(default)]
    pub unplaced_decisions: Vec<UnplacedDecision>,
}

/// Where one case timeline item sits.
struct Placement {
    offset: i64,
    window: Option<Window>,
    precision: Option<TimePrecision>,
    day_part: Option<DayPart>,
    label_ja: String,
    label_en: String,
}

impl Script {
    /// The script of a reference case, its text in `lang`.
    ///
    /// Each entry is released at the start of the period the study gives (its time, the
    /// middle of its part of day, the start of its day, week or 30-day month), but never
    /// before the entry the study lists ahead of it, because the study's rows are in order
    /// ("month 1" after "week 2" is released with week 2). Entries before Day 1 become
    /// background. A fully masked timeline (case 6) is replayed in order, one step per
    /// [`ORDER_ONLY_STEP_MINUTES`]; a case without a timeline (case 7) is
    /// [`ExerciseError::NoTimeline`].
    pub fn from_case(case: &Case, lang: Language) -> Result<Self, ExerciseError> {
        if case.timeline.is_empty() {
            return Err(ExerciseError::NoTimeline {
                case: case.id.clone(),
            });
        }
        let order_only = case.timeline.iter().all(|i| !i.is_dated());
        let mut injects: Vec<Inject> = Vec::with_capacity(case.timeline.len());
        for (i, item) in case.timeline.iter().enumerate() {
            let placement = if order_only {
                let step = i64::try_from(i).unwrap_or(i64::MAX);
                Some(Placement {
                    offset: step.saturating_mul(ORDER_ONLY_STEP_MINUTES),
                    window: None,
                    precision: None,
                    day_part: None,
                    label_ja: format!("{}番目", step.saturating_add(1)),
                    label_en: format!("Step {}", step.saturating_add(1)),
                })
            } else {
                place(item)
            };
            let prev = injects.last();
            let placement = match (placement, prev) {
                (Some(p), _) => p,
                // An undated entry in a dated timeline belongs with the entry before it.
                (None, Some(prev)) => Placement {
                    offset: prev.offset_minutes,
                    window: prev.window,
                    precision: prev.precision,
                    day_part: prev.day_part,
                    label_ja: prev.label_ja.clone(),
                    label_en: prev.label_en.clone(),
                },
                (None, None) => Placement {
                    offset: -1,
                    window: None,
                    precision: None,
                    day_part: None,
                    label_ja: "日時不明".to_owned(),
                    label_en: "undated".to_owned(),
                },
            };
            let offset = prev.map_or(placement.offset, |p| placement.offset.max(p.offset_minutes));
            injects.push(Inject {
                index: i,
                offset_minutes: offset,
                window: placement.window,
                precision: placement.precision,
                day_part: placement.day_part,
                background: false,
                label_ja: placement.label_ja,
                label_en: placement.label_en,
                lane: item.lane,
                kind: item.kind,
                actor: item.lane_label.get(lang).to_owned(),
                text: item.text.get(lang).to_owned(),
            });
        }
        let mut script = Script {
            title: case.title.get(lang).to_owned(),
            source: ExerciseSource::ReferenceCase {
                number: case.number,
            },
            language: Some(lang),
            timing: if order_only {
                ScriptTiming::OrderOnly
            } else {
                ScriptTiming::Dated
            },
            note: case.timeline_note.as_ref().map(|n| n.get(lang).to_owned()),
            injects,
            marks: Marks::default(),
            decision_points: Vec::new(),
            unplaced_decisions: Vec::new(),
        };
        script.finish();
        // The case's decisions framed as options: merged into the `decision` inject of the
        // period their `when` names, or a point of their own at the start of that period.
        for d in &case.decisions {
            let original = d
                .chosen_option()
                .map_or_else(|| d.chosen.clone(), |o| o.label.get(lang).to_owned());
            let question = d.question.get(lang).to_owned();
            let Some((window, label_ja, label_en)) =
                d.when.as_ref().and_then(|w| period_named(&w.en))
            else {
                script
                    .unplaced_decisions
                    .push(UnplacedDecision { question, original });
                continue;
            };
            let merged = script.decision_points.iter_mut().find(|p| {
                p.inject.is_some() && p.question.is_none() && window.contains(p.offset_minutes)
            });
            if let Some(p) = merged {
                p.question = Some(question);
                p.original = original;
            } else {
                let from = window.from.unwrap_or(0);
                script.decision_points.push(DecisionPoint {
                    index: 0,
                    inject: None,
                    offset_minutes: from.max(script.opening_offset()),
                    opens_at_minutes: 0,
                    window: Some(window),
                    lane: None,
                    label_ja,
                    label_en,
                    question: Some(question),
                    original,
                });
            }
        }
        script.number_decision_points();
        Ok(script)
    }

    /// The script of a past incident: its timeline entries in time order, placed in case
    /// minutes from its start date at 00:00 in `tz`, labelled as the live timeline labels
    /// them. Entries before Day 1 become background; its `decision` entries are the
    /// decision points.
    pub fn from_incident(
        incident: &Incident,
        entries: &[TimelineEntry],
        tz: &TimeZone,
    ) -> Result<Self, ExerciseError> {
        if incident.exercise {
            return Err(ExerciseError::SourceIsExercise {
                incident_id: incident.id,
            });
        }
        let mut sorted: Vec<&TimelineEntry> = entries
            .iter()
            .filter(|e| e.incident_id == incident.id)
            .collect();
        if sorted.is_empty() {
            return Err(ExerciseError::EmptyIncidentTimeline {
                incident_id: incident.id,
            });
        }
        sorted.sort_by_key(|e| (e.occurred_at, e.id));
        let day_one: Timestamp = incident
            .start_date
            .to_zoned_datetime(tz.clone())
            .map_err(|_| ExerciseError::StartDateOutOfRange {
                date: incident.start_date.to_string(),
            })?
            .timestamp();
        let mut injects = Vec::with_capacity(sorted.len());
        for (i, e) in sorted.into_iter().enumerate() {
            let offset = e
                .occurred_at
                .duration_since(day_one)
                .as_secs()
                .div_euclid(60);
            if offset.abs() > MAX_CASE_MINUTES {
                return Err(ExerciseError::OutOfRange {
                    field: "occurred_at",
                    min: -MAX_CASE_MINUTES,
                    max: MAX_CASE_MINUTES,
                    value: offset,
                });
            }
            let label = day_label(
                incident.start_date,
                e.occurred_at,
                e.precision,
                e.day_part,
                tz,
            );
            injects.push(Inject {
                index: i,
                offset_minutes: offset,
                window: Some(window_around(offset, e.precision, e.day_part)),
                precision: Some(e.precision),
                day_part: e.day_part,
                background: false,
                label_ja: label.label_ja,
                label_en: label.label_en,
                lane: e.lane,
                kind: e.kind,
                actor: e.actor.clone(),
                text: e.text.clone(),
            });
        }
        let mut script = Script {
            title: incident.title.clone(),
            source: ExerciseSource::Incident {
                incident_id: incident.id,
            },
            language: None,
            timing: ScriptTiming::Dated,
            note: None,
            injects,
            marks: Marks::default(),
            decision_points: Vec::new(),
            unplaced_decisions: Vec::new(),
        };
        script.finish();
        script.number_decision_points();
        Ok(script)
    }

    /// Where the exercise opens: the first inject on Day 1 or later, so nobody sits through
    /// the background; 0 when there is none.
    pub fn opening_offset(&self) -> i64 {
        self.injects
            .iter()
            .map(|i| i.offset_minutes)
            .find(|o| *o >= 0)
            .unwrap_or(0)
    }

    /// The case offset from which response milestones are looked for: the original's first
    /// detection, or the opening.
    pub fn reference_offset(&self) -> i64 {
        self.marks
            .detection
            .and_then(|i| self.injects.get(i))
            .map_or_else(|| self.opening_offset(), |i| i.offset_minutes)
    }

    /// The injects released before the exercise opens.
    pub fn background(&self) -> &[Inject] {
        let opening = self.opening_offset();
        let n = self.injects.partition_point(|i| i.offset_minutes < opening);
        self.injects.get(..n).unwrap_or(&[])
    }

    /// Checks what a stored (deserialised) script must hold for the clock to work.
    pub fn validate(&self) -> Result<(), ExerciseError> {
        for (i, pair) in self.injects.windows(2).enumerate() {
            if let [a, b] = pair
                && b.offset_minutes < a.offset_minutes
            {
                return Err(ExerciseError::ScriptNotOrdered { index: i + 1 });
            }
        }
        Ok(())
    }

    /// Fills in background flags, marks and the decision points of `decision` injects.
    fn finish(&mut self) {
        let opening = self.opening_offset();
        for inject in &mut self.injects {
            inject.background = inject.offset_minutes < opening;
        }
        let detection = self
            .injects
            .iter()
            .position(|i| i.kind == EntryKind::Detection);
        let from = detection.unwrap_or_else(|| self.background().len());
        let after = |pred: &dyn Fn(&Inject) -> bool| {
            self.injects
                .iter()
                .skip(from)
                .find(|i| pred(i))
                .map(|i| i.index)
        };
        self.marks = Marks {
            detection,
            escalation: after(&|i| is_escalation(i.lane, i.kind)),
            containment: after(&|i| i.kind == EntryKind::Containment),
            recovery: after(&|i| i.kind == EntryKind::Recovery),
        };
        self.decision_points = self
            .injects
            .iter()
            .filter(|i| i.kind == EntryKind::Decision && !i.background)
            .map(|i| DecisionPoint {
                index: 0,
                inject: Some(i.index),
                offset_minutes: i.offset_minutes,
                opens_at_minutes: 0,
                window: i.window,
                lane: Some(i.lane),
                label_ja: i.label_ja.clone(),
                label_en: i.label_en.clone(),
                question: None,
                original: i.text.clone(),
            })
            .collect();
    }

    /// Puts decision points in time order, numbers them, and opens each at the release of
    /// the inject before it.
    fn number_decision_points(&mut self) {
        let opening = self.opening_offset();
        self.decision_points
            .sort_by_key(|p| (p.offset_minutes, p.inject.unwrap_or(usize::MAX)));
        for (n, p) in self.decision_points.iter_mut().enumerate() {
            p.index = n;
            p.opens_at_minutes = self
                .injects
                .iter()
                .map(|i| i.offset_minutes)
                .filter(|o| *o < p.offset_minutes && *o >= opening)
                .max()
                .unwrap_or(opening);
        }
    }
}

/// The escalation rule shared by the original and the participants.
pub(crate) fn is_escalation(lane: Lane, kind: EntryKind) -> bool {
    matches!(lane, Lane::ManagementPr | Lane::CisoCsirt)
        && matches!(kind, EntryKind::Communication | EntryKind::Decision)
}

/// Span of a part of the day, in minutes after midnight (start, end inclusive), and the
/// point the domain resolves it to.
fn part_span(part: DayPart) -> (i64, i64, i64) {
    match part {
        DayPart::EarlyMorning => (0, 6 * 60 - 1, 3 * 60),
        DayPart::Morning => (6 * 60, 12 * 60 - 1, 9 * 60),
        DayPart::Afternoon => (12 * 60, 16 * 60 - 1, 14 * 60),
        DayPart::Evening => (16 * 60, 18 * 60 - 1, 17 * 60),
        DayPart::Night => (18 * 60, 24 * 60 - 1, 21 * 60),
    }
}

fn day_start(day: i64) -> i64 {
    day.saturating_sub(1).saturating_mul(MINUTES_PER_DAY)
}

fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// The window of an incident entry, from the precision it was recorded with.
fn window_around(offset: i64, precision: TimePrecision, part: Option<DayPart>) -> Window {
    let day = day_of(offset);
    let ds = day_start(day);
    match precision {
        TimePrecision::Minute => Window::between(
            offset.saturating_sub(MINUTE_TOLERANCE),
            offset.saturating_add(MINUTE_TOLERANCE),
        ),
        TimePrecision::DayPart => {
            let (from, to, _) = part_span(part.unwrap_or(DayPart::Morning));
            Window::between(ds + from, ds + to)
        }
        TimePrecision::Day => Window::between(ds, ds + MINUTES_PER_DAY - 1),
        TimePrecision::Week => {
            let ws = day_start((day - 1).div_euclid(7) * 7 + 1);
            Window::between(ws, ws + 7 * MINUTES_PER_DAY - 1)
        }
        TimePrecision::Month => {
            let ms = day_start((day - 1).div_euclid(30) * 30 + 1);
            Window::between(ms, ms + 30 * MINUTES_PER_DAY - 1)
        }
    }
}

/// Where the study places one dated item, before the "never before the row above" rule.
fn place(item: &TimelineItem) -> Option<Placement> {
    let lang_pair = |f: &dyn Fn(Language) -> String| (f(Language::Ja), f(Language::En));
    if let Some(day) = item.day.or(item.day_before.map(|n| 1 - i64::from(n))) {
        let ds = day_start(day);
        let holiday = item.holiday;
        if let Some(minute) = item.time.as_deref().and_then(parse_hhmm) {
            let at = ds + minute;
            let (ja, en) = lang_pair(&|l| day_with(day, holiday, &clock_text(minute), l));
            return Some(Placement {
                offset: at,
                window: Some(Window::between(
                    at - MINUTE_TOLERANCE,
                    at + MINUTE_TOLERANCE,
                )),
                precision: Some(TimePrecision::Minute),
                day_part: None,
                label_ja: ja,
                label_en: en,
            });
        }
        if let Some(part) = item.day_part {
            let (from, to, mid) = part_span(part);
            let (ja, en) = lang_pair(&|l| day_with(day, holiday, part.label(l), l));
            return Some(Placement {
                offset: ds + mid,
                window: Some(Window::between(ds + from, ds + to)),
                precision: Some(TimePrecision::DayPart),
                day_part: Some(part),
                label_ja: ja,
                label_en: en,
            });
        }
        let (ja, en) = lang_pair(&|l| day_text(day, holiday, l));
        return Some(Placement {
            offset: ds,
            window: Some(Window::between(ds, ds + MINUTES_PER_DAY - 1)),
            precision: Some(TimePrecision::Day),
            day_part: None,
            label_ja: ja,
            label_en: en,
        });
    }
    if let Some(week) = item.week {
        let week = i64::from(week);
        let ws = day_start((week - 1) * 7 + 1);
        let (ja, en) = if item.week_or_later {
            (format!("{week}週目以降"), format!("Week {week} or later"))
        } else {
            (format!("{week}週目"), format!("Week {week}"))
        };
        return Some(Placement {
            offset: ws,
            window: Some(Window {
                from: Some(ws),
                to: (!item.week_or_later).then_some(ws + 7 * MINUTES_PER_DAY - 1),
            }),
            precision: Some(TimePrecision::Week),
            day_part: None,
            label_ja: ja,
            label_en: en,
        });
    }
    if let Some(month) = item.month {
        let month = i64::from(month);
        let ms = day_start((month - 1) * 30 + 1);
        return Some(Placement {
            offset: ms,
            window: Some(Window::between(ms, ms + 30 * MINUTES_PER_DAY - 1)),
            precision: Some(TimePrecision::Month),
            day_part: None,
            label_ja: format!("{month}か月目"),
            label_en: format!("Month {month}"),
        });
    }
    if let Some(months) = item.months_before_at_least {
        let months = i64::from(months);
        let at = -months * 30 * MINUTES_PER_DAY;
        let plural = if months == 1 { "" } else { "s" };
        return Some(Placement {
            offset: at,
            window: Some(Window {
                from: None,
                to: Some(at + MINUTES_PER_DAY - 1),
            }),
            precision: Some(TimePrecision::Month),
            day_part: None,
            label_ja: format!("{months}か月以上前"),
            label_en: format!("At least {months} month{plural} before"),
        });
    }
    None
}

/// The period a case decision's English `when` names first ("day 3", "week 2"), as a
/// window and its labels. The study words these freely, so only those two forms are read.
fn period_named(when: &str) -> Option<(Window, String, String)> {
    let lower = when.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let [unit, n] = pair else { continue };
        let Ok(n) = n.parse::<i64>() else { continue };
        if !(1..=3650).contains(&n) {
            continue;
        }
        match *unit {
            "day" => {
                let ds = day_start(n);
                return Some((
                    Window::between(ds, ds + MINUTES_PER_DAY - 1),
                    day_text(n, false, Language::Ja),
                    day_text(n, false, Language::En),
                ));
            }
            "week" => {
                let ws = day_start((n - 1) * 7 + 1);
                return Some((
                    Window::between(ws, ws + 7 * MINUTES_PER_DAY - 1),
                    format!("{n}週目"),
                    format!("Week {n}"),
                ));
            }
            _ => {}
        }
    }
    None
}

/// Words for a script's timing, shared by the report.
pub(crate) const ORDER_ONLY_NOTE: (&str, &str) = (
    "元の事例は順序だけが分かり日時が伏せられているため、注入は1ステップ1時間で順に出し、時刻の早い・遅いは判定していません。",
    "The original gives only the order of events, not their times, so injects come one step per case hour and no earlier/later verdict is given.",
);

pub(crate) fn order_only_note(lang: Language) -> &'static str {
    t(lang, ORDER_ONLY_NOTE)
}
