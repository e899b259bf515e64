//! On-call rotations: who holds the pager at a given instant.
//!
//! One company in the study put first responders on a rota and found they came to know each
//! other; the rota also answers the first question of every new incident, "whom do we call?".
//!
//! A rotation hands over at a wall-clock time in its own zone ("09:00 in Tokyo"), every day,
//! week or N days from a start date, through its members in order. Shifts are counted in
//! calendar days, never in multiples of 24 hours, so a hand-over stays at 09:00 across
//! daylight-saving changes (that shift is an hour shorter or longer) and leap days are just
//! days. A hand-over time that does not exist on a spring-forward day happens at the first
//! instant after the gap; one that occurs twice on a fall-back day happens the first time.
//!
//! Overrides cover swaps, holidays and sick days: person X is on call from t1 to t2. When
//! overrides overlap, the one added later wins, as the most recent arrangement is the one
//! people agreed to last.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use kizuki_domain::ValidationError;
use kizuki_domain::error::{Validator, limits};
use serde::{Deserialize, Serialize};

/// How long each member's turn lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Period {
    Daily,
    Weekly,
    EveryNDays { days: u16 },
}

impl Period {
    fn days(self) -> i32 {
        match self {
            Period::Daily => 1,
            Period::Weekly => 7,
            Period::EveryNDays { days } => i32::from(days),
        }
    }
}

/// Someone covering for the rotation between two instants (`from` inclusive, `to` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub user_id: i64,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// A rotation as an administrator writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSpec {
    pub name: String,
    /// User ids in order of their turns; a person may appear more than once.
    pub members: Vec<i64>,
    /// The wall-clock time of hand-over in `time_zone`.
    pub handover: Time,
    /// An IANA zone name such as `Asia/Tokyo`.
    pub time_zone: String,
    pub period: Period,
    /// The day the first member's first turn begins (at the hand-over time).
    pub start_date: Date,
    /// In the order they were added; later ones win where they overlap.
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// Most members and overrides a rotation may have.
pub const MAX_MEMBERS: usize = 200;
pub const MAX_PERIOD_DAYS: u16 = 366;

/// A validated rotation, ready to answer questions.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    members: Vec<i64>,
    handover: Time,
    time_zone: TimeZone,
    period_days: i32,
    start_date: Date,
    overrides: Vec<Override>,
}

/// Why someone is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Their regular turn, which began at `shift_start` and ends at `shift_end` (unless an
    /// override intervenes).
    Turn {
        shift_start: Timestamp,
        shift_end: Timestamp,
    },
    /// The override at this index in the rotation's list.
    Override { index: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnCall {
    pub user_id: i64,
    pub source: Source,
}

impl Rotation {
    /// Validates the spec, naming every bad field.
    pub fn new(spec: &RotationSpec) -> Result<Rotation, ValidationError> {
        let mut v = Validator::new();
        v.text("name", &spec.name, limits::NAME);
        if spec.members.is_empty() {
            v.push("members", "must have at least one member");
        }
        if spec.members.len() > MAX_MEMBERS {
            v.push(
                "members",
                format!("must have at most {MAX_MEMBERS} members"),
            );
        }
        for (i, m) in spec.members.iter().enumerate() {
            if *m <= 0 {
                v.push(format!("members[{i}]"), "must be a positive user id");
            }
        }
        let time_zone = TimeZone::get(&spec.time_zone);
        if time_zone.is_err() {
            v.push(
                "time_zone",
                "must be an IANA time zone name such as Asia/Tokyo",
            );
        }
        if let Period::EveryNDays { days } = spec.period
            && !(1..=MAX_PERIOD_DAYS).contains(&days)
        {
            v.push(
                "period.days",
                format!("must be between 1 and {MAX_PERIOD_DAYS}"),
            );
        }
        v.date("start_date", spec.start_date);
        if spec.overrides.len() > limits::LIST_ITEMS {
            v.push(
                "overrides",
                format!("must have at most {} entries", limits::LIST_ITEMS),
            );
        }
        for (i, o) in spec.overrides.iter().enumerate() {
            if o.user_id <= 0 {
                v.push(
                    format!("overrides[{i}].user_id"),
                    "must be a positive user id",
                );
            }
            v.instant(&format!("overrides[{i}].from"), o.from);
            v.instant(&format!("overrides[{i}].to"), o.to);
            if o.to <= o.from {
                v.push(format!("overrides[{i}].to"), "must be after `from`");
            }
        }
        v.finish()?;
        let time_zone = time_zone.map_err(|_| ValidationError::one("time_zone", "unknown zone"))?;
        Ok(Rotation {
            members: spec.members.clone(),
            handover: spec.handover,
            time_zone,
            period_days: spec.period.days(),
            start_date: spec.start_date,
            overrides: spec.overrides.clone(),
        })
    }

    /// The instant of the hand-over on a local calendar day.
    fn boundary(&self, day: Date) -> Option<Timestamp> {
        day.to_datetime(self.handover)
            .to_zoned_datetime(self.time_zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }

    fn add_days(day: Date, days: i64) -> Option<Date> {
        day.checked_add(Span::new().try_days(days).ok()?).ok()
    }

    /// The local day whose hand-over most recently began at or before `t`.
    fn shift_day(&self, t: Timestamp) -> Option<Date> {
        let mut day = t.to_zoned_datetime(self.time_zone.clone()).date();
        // At most a step or two either way: the hand-over can move by a DST gap only.
        for _ in 0..3 {
            if t < self.boundary(day)? {
                day = day.yesterday().ok()?;
            } else {
                break;
            }
        }
        for _ in 0..3 {
            let next = day.tomorrow().ok()?;
            if self.boundary(next)? <= t {
                day = next;
            } else {
                break;
            }
        }
        Some(day)
    }

    /// The turn number (0 = the first) that covers `t`, or `None` before the rotation starts.
    fn slot(&self, t: Timestamp) -> Option<i64> {
        let day = self.shift_day(t)?;
        let days = i64::from(self.start_date.until(day).ok()?.get_days());
        (days >= 0).then(|| days.div_euclid(i64::from(self.period_days)))
    }

    fn slot_start(&self, slot: i64) -> Option<Timestamp> {
        let offset = slot.checked_mul(i64::from(self.period_days))?;
        self.boundary(Self::add_days(self.start_date, offset)?)
    }

    fn member(&self, slot: i64) -> Option<i64> {
        let n = i64::try_from(self.members.len()).ok()?;
        let i = usize::try_from(slot.rem_euclid(n)).ok()?;
        self.members.get(i).copied()
    }

    /// The override in force at `t`, the latest-added one winning.
    fn override_at(&self, t: Timestamp) -> Option<(usize, &Override)> {
        self.overrides
            .iter()
            .enumerate()
            .rev()
            .find(|(_, o)| o.from <= t && t < o.to)
    }

    /// Who is on call at `t`: `None` before the rotation's first turn, unless an override
    /// covers that time.
    pub fn on_call_at(&self, t: Timestamp) -> Option<OnCall> {
        if let Some((index, o)) = self.override_at(t) {
            return Some(OnCall {
                user_id: o.user_id,
                source: Source::Override { index },
            });
        }
        let slot = self.slot(t)?;
        Some(OnCall {
            user_id: self.member(slot)?,
            source: Source::Turn {
                shift_start: self.slot_start(slot)?,
                shift_end: self.slot_start(slot.checked_add(1)?)?,
            },
        })
    }

    /// The first turn boundary after `t` at which the scheduled member changes.
    fn next_turn_change(&self, t: Timestamp) -> Option<Timestamp> {
        let Some(slot) = self.slot(t) else {
            // Before the start the schedule names nobody; the first turn changes that.
            return self.slot_start(0);
        };
        let current = self.member(slot)?;
        let n = i64::try_from(self.members.len()).ok()?;
        (1..=n)
            .map(|k| slot.checked_add(k))
            .find(|s| s.and_then(|s| self.member(s)) != Some(current))
            .and_then(|s| self.slot_start(s?))
    }

    fn next_override_edge(&self, t: Timestamp) -> Option<Timestamp> {
        self.overrides
            .iter()
            .flat_map(|o| [o.from, o.to])
            .filter(|e| *e > t)
            .min()
    }

    /// The next instant after `t` at which a different person (or nobody) is on call:
    /// what the UI shows as "on call until". `None` when that never happens (a rotation of
    /// one person with no overrides ahead).
    pub fn next_handover_after(&self, t: Timestamp) -> Option<Timestamp> {
        let who = |at| self.on_call_at(at).map(|o| o.user_id);
        let current = who(t);
        let mut cursor = t;
        // Each step passes an override edge or finds the change, so this is bounded.
        for _ in 0..(2 * self.overrides.len() + 3) {
            let overridden = self.override_at(cursor).is_some();
            let turn = if overridden {
                None
            } else {
                self.next_turn_change(cursor)
            };
            let edge = [turn, self.next_override_edge(cursor)]
                .into_iter()
                .flatten()
                .min()?;
            if who(edge) != current {
                return Some(edge);
            }
            cursor = edge;
        }
        None
    }

    /// The stretches of one person's cover from `from` until `until` (at most `max` of
    /// them), for the "who is on call this week" view. Stretches without anyone on call are
    /// left out; each entry is `(start, end, user_id)`, clipped to the window.
    pub fn schedule(
        &self,
        from: Timestamp,
        until: Timestamp,
        max: usize,
    ) -> Vec<(Timestamp, Timestamp, i64)> {
        let mut out = Vec::new();
        let mut t = from;
        while t < until && out.len() < max {
            let end = self.next_handover_after(t).map_or(until, |h| h.min(until));
            if let Some(o) = self.on_call_at(t) {
                out.push((t, end, o.user_id));
            }
            t = end;
        }
        out
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use jiff::civil::{date, time};

    const A: i64 = 1;
    const B: i64 = 2;
    const C: i64 = 3;
    const X: i64 = 9;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn spec(
        zone: &str,
        handover: Time,
        period: Period,
        start: Date,
        members: &[i64],
    ) -> RotationSpec {
        RotationSpec {
            name: "first responders".into(),
            members: members.to_vec(),
            handover,
            time_zone: zone.into(),
            period,
            start_date: start,
            overrides: vec![],
        }
    }

    fn who(r: &Rotation, t: &str) -> Option<i64> {
        r.on_call_at(ts(t)).map(|o| o.user_id)
    }

    #[test]
    fn tokyo_daily_rotation() {
        // 09:00 JST is 00:00 UTC; Tokyo has no DST.
        let r = Rotation::new(&spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Daily,
            date(2026, 4, 1),
            &[A, B, C],
        ))
        .unwrap();
        let cases: &[(&str, Option<i64>)] = &[
            ("2026-03-31T23:59:59Z", None),
            ("2026-04-01T00:00:00Z", Some(A)),
            ("2026-04-01T14:59:59Z", Some(A)),
            ("2026-04-01T23:59:59Z", Some(A)),
            ("2026-04-02T00:00:00Z", Some(B)),
            ("2026-04-03T12:00:00Z", Some(C)),
            ("2026-04-04T00:00:00Z", Some(A)),
            // 365 days after the start is turn 365, and 365 % 3 == 2.
            ("2027-04-01T00:00:00Z", Some(C)),
        ];
        for (t, expect) in cases {
            assert_eq!(who(&r, t), *expect, "{t}");
        }
        assert_eq!(
            r.on_call_at(ts("2026-04-02T05:00:00Z")).unwrap().source,
            Source::Turn {
                shift_start: ts("2026-04-02T00:00:00Z"),
                shift_end: ts("2026-04-03T00:00:00Z"),
            }
        );
        assert_eq!(
            r.next_handover_after(ts("2026-03-20T00:00:00Z")),
            Some(ts("2026-04-01T00:00:00Z"))
        );
        assert_eq!(
            r.next_handover_after(ts("2026-04-02T00:00:00Z")),
            Some(ts("2026-04-03T00:00:00Z"))
        );
    }

    #[test]
    fn new_york_spring_forward_with_handover_in_the_gap() {
        // 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT; 02:30 does not exist.
        let r = Rotation::new(&spec(
            "America/New_York",
            time(2, 30, 0, 0),
            Period::Daily,
            date(2026, 3, 1),
            &[A, B],
        ))
        .unwrap();
        // Mar 7 (turn 6, A) began 02:30 EST = 07:30Z.
        assert_eq!(who(&r, "2026-03-07T07:30:00Z"), Some(A));
        // 03:15 EDT on Mar 8 = 07:15Z: before the moved hand-over (03:30 EDT = 07:30Z).
        assert_eq!(who(&r, "2026-03-08T07:15:00Z"), Some(A));
        assert_eq!(who(&r, "2026-03-08T07:30:00Z"), Some(B));
        assert_eq!(
            r.next_handover_after(ts("2026-03-08T06:00:00Z")),
            Some(ts("2026-03-08T07:30:00Z"))
        );
        // Mar 9 is back to 02:30 EDT = 06:30Z: that turn is 23 hours long.
        let Some(OnCall {
            source:
                Source::Turn {
                    shift_start,
                    shift_end,
                },
            ..
        }) = r.on_call_at(ts("2026-03-08T12:00:00Z"))
        else {
            panic!("expected a turn")
        };
        assert_eq!(shift_start, ts("2026-03-08T07:30:00Z"));
        assert_eq!(shift_end, ts("2026-03-09T06:30:00Z"));
        assert_eq!(who(&r, "2026-03-09T06:29:59Z"), Some(B));
        assert_eq!(who(&r, "2026-03-09T06:30:00Z"), Some(A));
    }

    #[test]
    fn new_york_fall_back_with_handover_in_the_fold() {
        // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice, the hand-over at
        // the first (EDT, 05:30Z).
        let r = Rotation::new(&spec(
            "America/New_York",
            time(1, 30, 0, 0),
            Period::Daily,
            date(2026, 10, 30),
            &[A, B, C],
        ))
        .unwrap();
        assert_eq!(who(&r, "2026-11-01T05:29:59Z"), Some(B)); // Oct 31's turn
        assert_eq!(who(&r, "2026-11-01T05:30:00Z"), Some(C));
        // 01:15 EST, the second time round the clock, still Nov 1's turn.
        assert_eq!(who(&r, "2026-11-01T06:15:00Z"), Some(C));
        assert_eq!(who(&r, "2026-11-01T06:45:00Z"), Some(C));
        // Nov 2 01:30 EST = 06:30Z: the Nov 1 turn lasted 25 hours.
        assert_eq!(
            r.next_handover_after(ts("2026-11-01T05:30:00Z")),
            Some(ts("2026-11-02T06:30:00Z"))
        );
        assert_eq!(who(&r, "2026-11-02T06:30:00Z"), Some(A));
    }

    #[test]
    fn weekly_rotation_keeps_wall_clock_across_dst() {
        // Mondays 09:00 New York. The week holding the spring change is 167 hours long.
        let r = Rotation::new(&spec(
            "America/New_York",
            time(9, 0, 0, 0),
            Period::Weekly,
            date(2026, 3, 2),
            &[A, B],
        ))
        .unwrap();
        assert_eq!(who(&r, "2026-03-02T14:00:00Z"), Some(A));
        assert_eq!(who(&r, "2026-03-09T12:59:59Z"), Some(A));
        assert_eq!(who(&r, "2026-03-09T13:00:00Z"), Some(B));
        assert_eq!(
            r.next_handover_after(ts("2026-03-05T00:00:00Z")),
            Some(ts("2026-03-09T13:00:00Z"))
        );
        // And November's week is 169 hours.
        assert_eq!(
            r.next_handover_after(ts("2026-10-27T00:00:00Z")),
            Some(ts("2026-11-02T14:00:00Z"))
        );
    }

    #[test]
    fn leap_days_are_ordinary_days() {
        // Daily in Tokyo around 2028-02-29.
        let r = Rotation::new(&spec(
            "Asia/Tokyo",
            time(0, 0, 0, 0),
            Period::Daily,
            date(2028, 2, 27),
            &[A, B, C],
        ))
        .unwrap();
        let cases: &[(&str, i64)] = &[
            ("2028-02-27T00:00:00+09:00", A),
            ("2028-02-28T00:00:00+09:00", B),
            ("2028-02-29T12:00:00+09:00", C),
            ("2028-03-01T00:00:00+09:00", A),
        ];
        for (t, expect) in cases {
            assert_eq!(who(&r, t), Some(*expect), "{t}");
        }
        // Every 2 days from 2024-02-28: turns begin Feb 28, Mar 1 (not Mar 2), Mar 3.
        let r = Rotation::new(&spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::EveryNDays { days: 2 },
            date(2024, 2, 28),
            &[A, B],
        ))
        .unwrap();
        assert_eq!(who(&r, "2024-02-29T23:59:59+09:00"), Some(A));
        assert_eq!(who(&r, "2024-03-01T09:00:00+09:00"), Some(B));
        assert_eq!(
            r.next_handover_after(ts("2024-02-28T10:00:00+09:00")),
            Some(ts("2024-03-01T09:00:00+09:00"))
        );
        // Four years on, the count still lines up with the calendar: 1461 days = turn 730.
        assert_eq!(who(&r, "2028-02-28T09:00:00+09:00"), Some(A));
        assert_eq!(who(&r, "2028-03-01T09:00:00+09:00"), Some(B));
    }

    #[test]
    fn overrides_cover_and_later_ones_win() {
        let mut s = spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Weekly,
            date(2026, 1, 5),
            &[A, B],
        );
        s.overrides = vec![
            Override {
                user_id: X,
                from: ts("2026-01-06T00:00:00Z"),
                to: ts("2026-01-08T00:00:00Z"),
            },
            Override {
                user_id: C,
                from: ts("2026-01-07T00:00:00Z"),
                to: ts("2026-01-07T12:00:00Z"),
            },
            // Before the rotation starts: still honoured.
            Override {
                user_id: C,
                from: ts("2025-12-31T00:00:00Z"),
                to: ts("2026-01-01T00:00:00Z"),
            },
        ];
        let r = Rotation::new(&s).unwrap();
        let cases: &[(&str, Option<i64>)] = &[
            ("2025-12-30T00:00:00Z", None),
            ("2025-12-31T10:00:00Z", Some(C)),
            ("2026-01-05T00:00:00Z", Some(A)),
            ("2026-01-06T00:00:00Z", Some(X)),
            ("2026-01-07T06:00:00Z", Some(C)),
            ("2026-01-07T12:00:00Z", Some(X)),
            ("2026-01-08T00:00:00Z", Some(A)),
            ("2026-01-12T00:00:00Z", Some(B)),
        ];
        for (t, expect) in cases {
            assert_eq!(who(&r, t), *expect, "{t}");
        }
        assert_eq!(
            r.on_call_at(ts("2026-01-07T06:00:00Z")).unwrap().source,
            Source::Override { index: 1 }
        );
        let next: &[(&str, &str)] = &[
            ("2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"),
            ("2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z"),
            ("2026-01-07T00:00:00Z", "2026-01-07T12:00:00Z"),
            ("2026-01-07T12:00:00Z", "2026-01-08T00:00:00Z"),
            ("2026-01-08T00:00:00Z", "2026-01-12T00:00:00Z"),
            ("2025-12-30T00:00:00Z", "2025-12-31T00:00:00Z"),
            ("2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"),
            ("2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"),
        ];
        for (t, expect) in next {
            assert_eq!(r.next_handover_after(ts(t)), Some(ts(expect)), "after {t}");
        }
    }

    #[test]
    fn override_by_the_person_already_on_call_is_not_a_handover() {
        let mut s = spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Daily,
            date(2026, 1, 1),
            &[A],
        );
        assert_eq!(
            Rotation::new(&s)
                .unwrap()
                .next_handover_after(ts("2026-01-02T00:00:00Z")),
            None,
            "one person, no overrides: nobody ever takes over"
        );
        s.overrides = vec![
            Override {
                user_id: A,
                from: ts("2026-02-01T00:00:00Z"),
                to: ts("2026-02-02T00:00:00Z"),
            },
            Override {
                user_id: B,
                from: ts("2027-06-01T00:00:00Z"),
                to: ts("2027-06-02T00:00:00Z"),
            },
        ];
        let r = Rotation::new(&s).unwrap();
        assert_eq!(
            r.next_handover_after(ts("2026-01-02T00:00:00Z")),
            Some(ts("2027-06-01T00:00:00Z"))
        );
        // Repeated members do not count as hand-overs either.
        let r = Rotation::new(&spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Daily,
            date(2026, 1, 1),
            &[A, A, B],
        ))
        .unwrap();
        assert_eq!(
            r.next_handover_after(ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-01-03T00:00:00Z"))
        );
    }

    #[test]
    fn a_long_override_is_one_handover_not_thirty() {
        // X covers a month of a daily rotation; the turns beneath it change every day but
        // the person on call does not.
        let mut s = spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Daily,
            date(2026, 7, 1),
            &[A, B],
        );
        s.overrides = vec![Override {
            user_id: X,
            from: ts("2026-07-02T00:00:00Z"),
            to: ts("2026-08-01T03:00:00Z"),
        }];
        let r = Rotation::new(&s).unwrap();
        assert_eq!(
            r.next_handover_after(ts("2026-07-01T00:00:00Z")),
            Some(ts("2026-07-02T00:00:00Z"))
        );
        assert_eq!(
            r.next_handover_after(ts("2026-07-02T00:00:00Z")),
            Some(ts("2026-08-01T03:00:00Z"))
        );
        // The override ends at noon in Tokyo, inside turn 31 (August 1, B's).
        assert_eq!(who(&r, "2026-08-01T03:00:00Z"), Some(B));
        assert_eq!(
            r.next_handover_after(ts("2026-08-01T03:00:00Z")),
            Some(ts("2026-08-02T00:00:00Z"))
        );
    }

    #[test]
    fn sweep_a_year_hour_by_hour_in_both_zones() {
        // Whatever the zone and overrides, `next_handover_after` must name exactly the first
        // instant at which `on_call_at` changes, and turns must begin at the local hand-over
        // time (or just after a DST gap).
        for zone in ["America/New_York", "Asia/Tokyo"] {
            let mut s = spec(
                zone,
                time(2, 30, 0, 0),
                Period::Daily,
                date(2026, 1, 1),
                &[A, B, C],
            );
            s.overrides = vec![
                Override {
                    user_id: X,
                    from: ts("2026-03-07T00:00:00Z"),
                    to: ts("2026-03-10T00:00:00Z"),
                },
                Override {
                    user_id: C,
                    from: ts("2026-10-31T20:00:00Z"),
                    to: ts("2026-11-01T06:10:00Z"),
                },
            ];
            let r = Rotation::new(&s).unwrap();
            let tz = r.time_zone().clone();
            let mut t = ts("2026-01-01T12:00:00Z");
            let end = ts("2027-01-01T00:00:00Z");
            while t < end {
                let now = r.on_call_at(t).map(|o| o.user_id);
                let h = r.next_handover_after(t).unwrap();
                assert!(h > t);
                let just_before = h.checked_sub(SignedDuration::from_secs(1)).unwrap();
                assert_eq!(
                    r.on_call_at(just_before).map(|o| o.user_id),
                    now,
                    "{zone} {t}"
                );
                assert_ne!(r.on_call_at(h).map(|o| o.user_id), now, "{zone} {t} -> {h}");
                if let Some(OnCall {
                    source: Source::Turn { shift_start, .. },
                    ..
                }) = r.on_call_at(t)
                {
                    let local = shift_start.to_zoned_datetime(tz.clone()).time();
                    assert!(
                        local == time(2, 30, 0, 0) || local == time(3, 30, 0, 0),
                        "{zone}: turn began at {local}"
                    );
                }
                t = crate::after(t, SignedDuration::from_mins(61));
            }
        }
    }

    #[test]
    fn schedule_lists_each_stretch_of_cover() {
        let mut s = spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Daily,
            date(2026, 5, 1),
            &[A, B],
        );
        s.overrides = vec![Override {
            user_id: X,
            from: ts("2026-05-02T03:00:00Z"),
            to: ts("2026-05-02T06:00:00Z"),
        }];
        let r = Rotation::new(&s).unwrap();
        let got = r.schedule(ts("2026-04-30T12:00:00Z"), ts("2026-05-03T12:00:00Z"), 10);
        let want: Vec<(Timestamp, Timestamp, i64)> = [
            ("2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z", A),
            ("2026-05-02T00:00:00Z", "2026-05-02T03:00:00Z", B),
            ("2026-05-02T03:00:00Z", "2026-05-02T06:00:00Z", X),
            ("2026-05-02T06:00:00Z", "2026-05-03T00:00:00Z", B),
            ("2026-05-03T00:00:00Z", "2026-05-03T12:00:00Z", A),
        ]
        .iter()
        .map(|(a, b, u)| (ts(a), ts(b), *u))
        .collect();
        assert_eq!(got, want);
        assert_eq!(
            r.schedule(ts("2026-05-01T00:00:00Z"), ts("2026-06-01T00:00:00Z"), 3)
                .len(),
            3
        );
    }

    #[test]
    fn validation_names_fields() {
        let mut s = spec(
            "Asia/Tokio",
            time(9, 0, 0, 0),
            Period::EveryNDays { days: 0 },
            date(1800, 1, 1),
            &[],
        );
        s.name = String::new();
        s.overrides = vec![Override {
            user_id: 0,
            from: ts("2026-01-02T00:00:00Z"),
            to: ts("2026-01-01T00:00:00Z"),
        }];
        let fields: Vec<String> = Rotation::new(&s)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "members",
                "time_zone",
                "period.days",
                "start_date",
                "overrides[0].user_id",
                "overrides[0].to"
            ]
        );
        let s = spec(
            "Asia/Tokyo",
            time(9, 0, 0, 0),
            Period::Daily,
            date(2026, 1, 1),
            &[A, -4],
        );
        let e = Rotation::new(&s).unwrap_err();
        assert_eq!(e.errors[0].field, "members[1]");
    }

    #[test]
    fn spec_json_round_trip() {
        let json = serde_json::json!({
            "name": "SOC",
            "members": [1, 2],
            "handover": "09:00:00",
            "time_zone": "Asia/Tokyo",
            "period": {"kind": "every_n_days", "days": 3},
            "start_date": "2026-04-01"
        });
        let s: RotationSpec = serde_json::from_value(json).unwrap();
        assert_eq!(s.period, Period::EveryNDays { days: 3 });
        assert!(s.overrides.is_empty());
        let back: RotationSpec = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(Rotation::new(&s).is_ok());
    }
}
