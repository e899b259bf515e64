//! Kizuki's tabletop-exercise engine: replay a reference case or a past incident on an
//! accelerated clock, let participants record what they would do, and compare that with
//! what the original organisation did and with the playbook.
//!
//! Pure domain logic: no HTTP, no SQL, no async runtime, and no wall clock — every "now" is
//! a parameter, so the same inputs always give the same exercise and the same report.
//!
//! # The flow
//!
//! 1. **Script.** [`Script::from_case`] (a study case, text in one language) or
//!    [`Script::from_incident`] (a past incident's timeline) places every event of the
//!    original as an [`Inject`] in *case time*: minutes from Day 1 00:00. The script also
//!    holds the original's milestones ([`Marks`]) and its [`DecisionPoint`]s. It is plain
//!    serde data, stored as JSON for the whole exercise.
//! 2. **Clock.** A [`Pace`] (real start instant, speed in case minutes per real minute,
//!    minutes skipped by the facilitator) and the script make an [`ExerciseClock`]:
//!    [`ExerciseClock::case_offset_at`], [`ExerciseClock::released`],
//!    [`ExerciseClock::next_inject`], [`ExerciseClock::skip_to_next`]. The exercise opens at
//!    the first inject on Day 1 or later ([`Script::opening_offset`]); injects before Day 1
//!    are out from the start as background. [`Inject::timeline_entry`] turns an inject into
//!    an entry for the exercise incident's timeline.
//! 3. **Actions.** Participants record [`ExerciseAction`]s (case offset, lane, kind, text,
//!    optionally the decision point they answer); [`ExerciseAction::validate`] checks one
//!    before it is stored.
//! 4. **Comparison.** [`compare()`] sets the actions and the playbook's tasks
//!    ([`ExerciseTask`], e.g. from [`ExerciseTask::from_playbook`]) against the script and
//!    returns a self-contained [`Comparison`], which [`report::markdown`] and
//!    [`report::html`] render in Japanese or English.
//!
//! Exercises run on an incident marked as an exercise
//! ([`kizuki_domain::incident::Incident::exercise`]) so that incident metrics leave them
//! out; a script cannot be built from such an incident.
//!
//! # Rules
//!
//! - **Placement** (reference cases): an entry is released at its time, at the middle of
//!   its part of day, or at the start of its day, week or 30-day month — never before the
//!   entry the study lists ahead of it. Before Day 1 ("11 days before", "at least a month
//!   before") means background. A timeline whose dates are all masked (case 6) is replayed
//!   in order one case hour apart, with [`ScriptTiming::OrderOnly`] and no earlier/later
//!   verdicts; a case with no timeline (case 7) is [`ExerciseError::NoTimeline`].
//! - **Same time** means inside the window in which the original is known to have acted:
//!   ±30 minutes of a given time, the part of day, the day, the week, or the month.
//! - **Escalation** is the first `communication` or `decision` in the management & PR or
//!   CISO & CSIRT lane from the original's detection on — the matter reaching people who can
//!   decide. Containment and recovery are the first entry of their kind from detection on.
//!   All "time to" figures count from the original's detection inject, the moment both the
//!   original and the participants learned of the incident.
//! - **Decision points** are the original's `decision` entries, plus a case's structured
//!   decisions placed by the first "day N" / "week N" of their `when` (merged into a
//!   `decision` entry of that period, or standing alone with no lane). Those that cannot be
//!   placed are listed for discussion. A participant decision answers a point when it names
//!   it; otherwise the first unnamed `decision` in the point's lane (any lane for a point
//!   without one) once the inject before the point is out.
//! - **Tasks**: open at the end → missed; done after the playbook's due offset → late;
//!   skipped → skipped (a deliberate choice, not a miss).

pub mod clock;
pub mod compare;
pub mod error;
pub mod label;
pub mod report;
pub mod script;

pub use clock::{ExerciseClock, NextInject, Pace, SPEED_RANGE};
pub use compare::{
    Comparison, DecisionComparison, ExerciseAction, ExerciseTask, LaneCount, MatchedBy, Milestone,
    MilestoneComparison, Moment, TaskOutcome, TaskVerdict, Verdict, compare,
};
pub use error::ExerciseError;
pub use label::{case_time_label, format_delta, format_minutes};
pub use script::{
    DecisionPoint, Inject, MAX_CASE_MINUTES, Marks, ORDER_ONLY_STEP_MINUTES, Script, ScriptTiming,
    UnplacedDecision, Window,
};
