//! The accelerated clock: what is out when, skipping, and hostile inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use jiff::{SignedDuration, Timestamp};
use kizuki_domain::settings::Language;
use kizuki_exercise::{ExerciseClock, ExerciseError, Pace, Script};
use kizuki_reference::Library;

fn script(number: u8) -> Script {
    let lib = Library::builtin().unwrap();
    let case = lib.cases().iter().find(|c| c.number == number).unwrap();
    Script::from_case(case, Language::En).unwrap()
}

fn start() -> Timestamp {
    "2026-04-06T01:00:00Z".parse().unwrap()
}

fn after(minutes: i64) -> Timestamp {
    start() + SignedDuration::from_mins(minutes)
}

/// How many injects a correct clock has out at case offset `at`.
fn expected_released(script: &Script, at: i64) -> usize {
    script
        .injects
        .iter()
        .filter(|i| i.offset_minutes <= at)
        .count()
}

#[test]
fn nothing_beyond_the_opening_is_out_at_the_start() {
    for n in [1, 2, 3, 5, 8, 9, 10] {
        let s = script(n);
        let clock = ExerciseClock::new(&s, Pace::new(start(), 60).unwrap()).unwrap();
        let opening = s.opening_offset();
        assert_eq!(clock.case_offset_at(start()), opening);
        let out = clock.released(start());
        assert!(out.iter().all(|i| i.offset_minutes <= opening), "case {n}");
        assert_eq!(out.len(), expected_released(&s, opening), "case {n}");
        // A facilitator clock a little behind the server releases nothing early.
        assert_eq!(
            clock.released(start() - SignedDuration::from_mins(5)).len(),
            out.len()
        );
    }
}

#[test]
fn n_real_minutes_at_speed_s_release_exactly_up_to_n_times_s() {
    let s = script(8);
    for speed in [1u32, 7, 60, 120, 600, 10_000] {
        let clock = ExerciseClock::new(&s, Pace::new(start(), speed).unwrap()).unwrap();
        for n in [0i64, 1, 23, 24, 25, 47, 48, 100, 1_000, 100_000] {
            let at = s.opening_offset() + n * i64::from(speed);
            assert_eq!(clock.case_offset_at(after(n)), at);
            assert_eq!(
                clock.released(after(n)).len(),
                expected_released(&s, at),
                "speed {speed}, {n} min"
            );
        }
    }
}

#[test]
fn seconds_count_at_high_speed() {
    let s = script(8);
    let clock = ExerciseClock::new(&s, Pace::new(start(), 600).unwrap()).unwrap();
    // 90 real seconds at 600x = 900 case minutes.
    assert_eq!(
        clock.case_offset_at(start() + SignedDuration::from_secs(90)),
        900
    );
}

#[test]
fn next_inject_says_when_it_comes_out() {
    let s = script(8);
    for speed in [1u32, 7, 60, 9_999] {
        let clock = ExerciseClock::new(&s, Pace::new(start(), speed).unwrap()).unwrap();
        let mut now = start();
        let mut seen = clock.released(now).len();
        while let Some(next) = clock.next_inject(now) {
            assert!(next.wait_seconds > 0);
            assert!(next.case_minutes_away > 0);
            // One second before: still hidden; at the due instant: out.
            let before = next.due_at - SignedDuration::from_secs(1);
            assert!(clock.released(before).len() <= next.inject.index);
            let out = clock.released(next.due_at);
            assert!(out.len() > next.inject.index, "speed {speed}");
            assert!(out.len() > seen);
            seen = out.len();
            now = next.due_at;
        }
        assert_eq!(seen, s.injects.len());
    }
}

#[test]
fn skip_to_next_releases_the_next_inject_and_nothing_after_it() {
    let s = script(8);
    let mut clock = ExerciseClock::new(&s, Pace::new(start(), 60).unwrap()).unwrap();
    let now = after(3);
    let mut out = clock.released(now).len();
    let mut skips = 0;
    while let Some(next) = clock.next_inject(now).map(|n| n.inject.clone()) {
        let skipped = clock.skip_to_next(now).unwrap();
        assert_eq!(clock.pace().skipped_minutes, skipped);
        let released = clock.released(now);
        // The next inject is out, with any sharing its time, and nothing later.
        assert_eq!(released.len(), expected_released(&s, next.offset_minutes));
        assert_eq!(clock.case_offset_at(now), next.offset_minutes);
        assert!(released.len() > out);
        out = released.len();
        skips += 1;
    }
    assert_eq!(out, s.injects.len());
    assert_eq!(clock.skip_to_next(now), None);
    // Day 2, day 3, day 6, week 2 (with month 1), month 2.
    assert_eq!(skips, 5);
    // The stored pace reproduces the same state.
    let again = ExerciseClock::new(&s, *clock.pace()).unwrap();
    assert_eq!(again.released(now).len(), s.injects.len());
}

#[test]
fn bad_speeds_and_skips_are_typed_errors() {
    for speed in [0u32, 10_001, u32::MAX] {
        let err = Pace::new(start(), speed).unwrap_err();
        assert_eq!(err.field(), Some("speed"));
        assert!(matches!(
            err,
            ExerciseError::OutOfRange { field: "speed", .. }
        ));
        assert!(err.to_string().contains("`speed`"));
    }
    let s = script(8);
    for skipped in [-1i64, i64::MIN, i64::MAX] {
        let pace = Pace {
            started_at: start(),
            speed: 60,
            skipped_minutes: skipped,
        };
        let err = ExerciseClock::new(&s, pace).unwrap_err();
        assert_eq!(err.field(), Some("skipped_minutes"));
    }
}

#[test]
fn extreme_instants_never_panic() {
    let s = script(8);
    let clock = ExerciseClock::new(&s, Pace::new(start(), 10_000).unwrap()).unwrap();
    for now in [Timestamp::MIN, Timestamp::UNIX_EPOCH, Timestamp::MAX] {
        let at = clock.case_offset_at(now);
        assert!(at >= s.opening_offset());
        let _ = clock.released(now);
        let _ = clock.next_inject(now);
    }
    assert_eq!(clock.released(Timestamp::MAX).len(), s.injects.len());
    assert_eq!(clock.released(Timestamp::MIN).len(), 6);
    let edge = Pace {
        started_at: Timestamp::MAX,
        speed: 1,
        skipped_minutes: 0,
    };
    let mut clock = ExerciseClock::new(&s, edge).unwrap();
    let next = clock.next_inject(Timestamp::MAX).unwrap();
    assert!(next.wait_seconds >= 0);
    assert!(clock.skip_to_next(Timestamp::MAX).is_some());
}

#[test]
fn a_script_out_of_order_is_refused() {
    let mut s = script(8);
    s.injects.swap(4, 12);
    let err = ExerciseClock::new(&s, Pace::new(start(), 60).unwrap()).unwrap_err();
    assert!(matches!(err, ExerciseError::ScriptNotOrdered { .. }));
}
