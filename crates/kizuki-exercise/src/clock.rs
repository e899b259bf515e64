//! The accelerated clock: which injects are out at a given real instant.
//!
//! Only the start instant, the speed and the minutes skipped are stored (they are the
//! fields of the domain's exercise record); everything else is recomputed from them and
//! the script, so a restarted server or a second facilitator sees exactly the same state.
//! Time is always a parameter: nothing here reads the wall clock.

use std::ops::RangeInclusive;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::ExerciseError;
use crate::script::{Inject, MAX_CASE_MINUTES, Script};

/// Case minutes per real minute the engine accepts: from real time to about a week of
/// case time per real minute.
pub const SPEED_RANGE: RangeInclusive<u32> = 1..=10_000;

/// How fast and from when an exercise runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pace {
    /// The real instant the exercise opened.
    pub started_at: Timestamp,
    /// Case minutes per real minute (60: an hour of the case per minute).
    pub speed: u32,
    /// Case minutes the facilitator jumped over.
    #[serde(default)]
    pub skipped_minutes: i64,
}

impl Pace {
    pub fn new(started_at: Timestamp, speed: u32) -> Result<Self, ExerciseError> {
        let pace = Self {
            started_at,
            speed,
            skipped_minutes: 0,
        };
        pace.validate()?;
        Ok(pace)
    }

    /// Checks a pace read back from storage or a request.
    pub fn validate(&self) -> Result<(), ExerciseError> {
        if !SPEED_RANGE.contains(&self.speed) {
            return Err(ExerciseError::OutOfRange {
                field: "speed",
                min: i64::from(*SPEED_RANGE.start()),
                max: i64::from(*SPEED_RANGE.end()),
                value: i64::from(self.speed),
            });
        }
        let max_skip = 2 * MAX_CASE_MINUTES;
        if !(0..=max_skip).contains(&self.skipped_minutes) {
            return Err(ExerciseError::OutOfRange {
                field: "skipped_minutes",
                min: 0,
                max: max_skip,
                value: self.skipped_minutes,
            });
        }
        Ok(())
    }
}

/// The next inject to come out, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NextInject<'s> {
    pub inject: &'s Inject,
    /// The real instant it is released at the current pace.
    pub due_at: Timestamp,
    /// Real seconds from `now` until then (0 if `now` is before the start).
    pub wait_seconds: i64,
    /// Case minutes still to go.
    pub case_minutes_away: i64,
}

/// A script running at a pace. Both are checked once, here, so the queries cannot fail.
#[derive(Debug, Clone)]
pub struct ExerciseClock<'s> {
    script: &'s Script,
    pace: Pace,
}

impl<'s> ExerciseClock<'s> {
    pub fn new(script: &'s Script, pace: Pace) -> Result<Self, ExerciseError> {
        pace.validate()?;
        script.validate()?;
        Ok(Self { script, pace })
    }

    pub fn pace(&self) -> &Pace {
        &self.pace
    }

    pub fn script(&self) -> &'s Script {
        self.script
    }

    /// Whole real seconds since the start; a `now` before the start counts as the start, so
    /// a facilitator's clock running slightly behind the server's releases nothing early.
    fn elapsed_seconds(&self, now: Timestamp) -> i64 {
        now.duration_since(self.pace.started_at).as_secs().max(0)
    }

    /// Case minutes from Day 1 00:00 at the real instant `now`.
    pub fn case_offset_at(&self, now: Timestamp) -> i64 {
        let run = self
            .elapsed_seconds(now)
            .saturating_mul(i64::from(self.pace.speed))
            / 60;
        self.script
            .opening_offset()
            .saturating_add(self.pace.skipped_minutes)
            .saturating_add(run)
    }

    /// Everything out at `now`: the background and every inject whose time has come.
    pub fn released(&self, now: Timestamp) -> &'s [Inject] {
        let at = self.case_offset_at(now);
        let n = self
            .script
            .injects
            .partition_point(|i| i.offset_minutes <= at);
        self.script.injects.get(..n).unwrap_or(&[])
    }

    /// The first inject still to come at `now`, or `None` once everything is out.
    pub fn next_inject(&self, now: Timestamp) -> Option<NextInject<'s>> {
        let at = self.case_offset_at(now);
        let inject = self.script.injects.iter().find(|i| i.offset_minutes > at)?;
        // Case minutes the clock itself must run (beyond opening and skips) to reach it,
        // turned into the first whole real second at which it is reached.
        let run = inject
            .offset_minutes
            .saturating_sub(self.script.opening_offset())
            .saturating_sub(self.pace.skipped_minutes);
        let speed = i64::from(self.pace.speed.max(1));
        let seconds = run.saturating_mul(60).saturating_add(speed - 1) / speed;
        let due_at = self
            .pace
            .started_at
            .saturating_add(SignedDuration::from_secs(seconds))
            .unwrap_or(self.pace.started_at);
        let wait_seconds = due_at.duration_since(now).as_secs().max(0);
        Some(NextInject {
            inject,
            due_at,
            wait_seconds,
            case_minutes_away: inject.offset_minutes.saturating_sub(at),
        })
    }

    /// Jumps the case clock to the next inject (and any sharing its time), for a
    /// facilitator who does not want the room to wait. Returns the new `skipped_minutes`
    /// to store, or `None` when nothing is left to release.
    pub fn skip_to_next(&mut self, now: Timestamp) -> Option<i64> {
        let next = self.next_inject(now)?;
        self.pace.skipped_minutes = self
            .pace
            .skipped_minutes
            .saturating_add(next.case_minutes_away);
        Some(self.pace.skipped_minutes)
    }
}
