//! The three-lane timeline, labelled the way the study labels it: "Day 3 (holiday) 22:00",
//! "11 days before", "Week 2".

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::{Validator, limits};
use crate::settings::Language;
use crate::{ValidationError, string_enum};

string_enum! {
    /// The organisational lane an entry belongs to. The study draws three; Kizuki adds a
    /// fourth for vendors, authorities and other outside parties.
    pub enum Lane: "lane" {
        ManagementPr => "management_pr",
        CisoCsirt => "ciso_csirt",
        ItBusiness => "it_business",
        External => "external",
    }
}

impl Lane {
    pub fn label(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Lane::ManagementPr, Language::Ja) => "経営・広報",
            (Lane::ManagementPr, Language::En) => "Management & PR",
            (Lane::CisoCsirt, Language::Ja) => "CISO・CSIRT",
            (Lane::CisoCsirt, Language::En) => "CISO & CSIRT",
            (Lane::ItBusiness, Language::Ja) => "情報システム・事業部門",
            (Lane::ItBusiness, Language::En) => "IT & business units",
            (Lane::External, Language::Ja) => "外部関係者",
            (Lane::External, Language::En) => "External parties",
        }
    }
}

string_enum! {
    /// What sort of step an entry records.
    pub enum EntryKind: "entry kind" {
        Detection => "detection",
        Analysis => "analysis",
        Containment => "containment",
        Communication => "communication",
        Decision => "decision",
        Recovery => "recovery",
        Disclosure => "disclosure",
        Other => "other",
    }
}

string_enum! {
    /// Where an entry came from.
    pub enum EntrySource: "entry source" {
        Manual => "manual",
        Task => "task",
        Alert => "alert",
        Notification => "notification",
        Import => "import",
    }
}

string_enum! {
    /// How precisely the time of an entry is known. Reconstructed timelines are often
    /// known only to the day, the part of a day, or the week.
    pub enum TimePrecision: "time precision" {
        Minute => "minute",
        DayPart => "day_part",
        Day => "day",
        Week => "week",
        Month => "month",
    }
}

string_enum! {
    /// A part of a day, for entries known only as "pre-dawn" or "evening".
    pub enum DayPart: "day part" {
        EarlyMorning => "early_morning",
        Morning => "morning",
        Afternoon => "afternoon",
        Evening => "evening",
        Night => "night",
    }
}

impl DayPart {
    pub fn label(self, lang: Language) -> &'static str {
        match (self, lang) {
            (DayPart::EarlyMorning, Language::Ja) => "未明",
            (DayPart::EarlyMorning, Language::En) => "early morning",
            (DayPart::Morning, Language::Ja) => "午前",
            (DayPart::Morning, Language::En) => "morning",
            (DayPart::Afternoon, Language::Ja) => "午後",
            (DayPart::Afternoon, Language::En) => "afternoon",
            (DayPart::Evening, Language::Ja) => "夕方",
            (DayPart::Evening, Language::En) => "evening",
            (DayPart::Night, Language::Ja) => "夜間",
            (DayPart::Night, Language::En) => "night",
        }
    }
}

/// A stored timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    pub incident_id: i64,
    /// The instant (UTC). For coarse precisions, any instant inside the known period.
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub precision: TimePrecision,
    pub day_part: Option<DayPart>,
    pub lane: Lane,
    pub actor: String,
    pub kind: EntryKind,
    pub text: String,
    pub source: EntrySource,
    pub created_by: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// What a user sends to add an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTimelineEntry {
    /// Defaults to now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Timestamp>,
    /// Alternative to `occurred_at` for reconstructed timelines: a day counted from the
    /// incident's start date (1 = Day 1, 0 = the day before, -10 = 11 days before).
    #[serde(default)]
    pub day: Option<i64>,
    /// With `day`: local time of day as "HH:MM".
    #[serde(default)]
    pub time_of_day: Option<String>,
    /// Alternative for entries known only to the week: 1 = days 1–7.
    #[serde(default)]
    pub week: Option<i64>,
    #[serde(default)]
    pub precision: Option<TimePrecision>,
    #[serde(default)]
    pub day_part: Option<DayPart>,
    pub lane: Lane,
    #[serde(default)]
    pub actor: String,
    pub kind: EntryKind,
    pub text: String,
    #[serde(default = "manual")]
    pub source: EntrySource,
}

fn manual() -> EntrySource {
    EntrySource::Manual
}

/// A validated entry ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntryFields {
    pub occurred_at: Timestamp,
    pub precision: TimePrecision,
    pub day_part: Option<DayPart>,
    pub lane: Lane,
    pub actor: String,
    pub kind: EntryKind,
    pub text: String,
    pub source: EntrySource,
}

impl NewTimelineEntry {
    /// Resolves the entry's instant (from a timestamp, a day number, or a week number)
    /// against the incident's start date in the organisation's zone, and validates it.
    pub fn into_fields(
        self,
        start_date: Date,
        tz: &TimeZone,
        now: Timestamp,
    ) -> Result<TimelineEntryFields, ValidationError> {
        let mut v = Validator::new();
        v.text("text", &self.text, limits::TEXT);
        v.optional_text("actor", &self.actor, limits::NAME);
        let given = [
            self.occurred_at.is_some(),
            self.day.is_some(),
            self.week.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given > 1 {
            v.push("occurred_at", "give only one of occurred_at, day or week");
        }
        if self.time_of_day.is_some() && self.day.is_none() {
            v.push("time_of_day", "needs day");
        }
        if self.precision == Some(TimePrecision::DayPart) && self.day_part.is_none() {
            v.push("day_part", "is required when precision is day_part");
        }
        if self.day_part.is_some() && !matches!(self.precision, None | Some(TimePrecision::DayPart))
        {
            v.push("day_part", "only fits precision day_part");
        }
        v.optional_instant("occurred_at", self.occurred_at);
        // A precision finer than what was given would invent a time nobody knew.
        let finest = if self.week.is_some() {
            Some(TimePrecision::Week)
        } else if self.day.is_some() && self.time_of_day.is_none() {
            Some(if self.day_part.is_some() {
                TimePrecision::DayPart
            } else {
                TimePrecision::Day
            })
        } else {
            None
        };
        if let (Some(finest), Some(wanted)) = (finest, self.precision)
            && wanted < finest
        {
            v.push(
                "precision",
                format!(
                    "`{wanted}` is finer than the time given, which is known to the {finest} only"
                ),
            );
        }
        let resolved = if let Some(day) = self.day {
            resolve_day(
                &mut v,
                start_date,
                tz,
                day,
                self.time_of_day.as_deref(),
                self.day_part,
            )
        } else if let Some(week) = self.week {
            resolve_week(&mut v, start_date, tz, week)
        } else {
            let precision = if self.day_part.is_some() {
                TimePrecision::DayPart
            } else {
                TimePrecision::Minute
            };
            self.occurred_at
                .map(|t| (t, precision))
                .or(Some((now, precision)))
        };
        v.finish()?;
        let Some((occurred_at, implied)) = resolved else {
            return Err(ValidationError::one("occurred_at", "could not be resolved"));
        };
        Ok(TimelineEntryFields {
            occurred_at,
            precision: self.precision.unwrap_or(implied),
            day_part: self.day_part,
            lane: self.lane,
            actor: self.actor.trim().to_owned(),
            kind: self.kind,
            text: self.text,
            source: self.source,
        })
    }
}

const MAX_DAY_OFFSET: i64 = 36_500;

fn resolve_day(
    v: &mut Validator,
    start: Date,
    tz: &TimeZone,
    day: i64,
    time_of_day: Option<&str>,
    day_part: Option<DayPart>,
) -> Option<(Timestamp, TimePrecision)> {
    if day.abs() > MAX_DAY_OFFSET {
        v.push("day", "is too far from the start date");
        return None;
    }
    let date = match start.checked_add(jiff::Span::new().days(day - 1)) {
        Ok(d) => d,
        Err(_) => {
            v.push("day", "is outside the calendar");
            return None;
        }
    };
    let (time, precision) = match (time_of_day, day_part) {
        (Some(t), _) => match parse_hhmm(t) {
            Some(t) => (t, TimePrecision::Minute),
            None => {
                v.push("time_of_day", "must be HH:MM, e.g. 08:30");
                return None;
            }
        },
        (None, Some(part)) => (part_midpoint(part), TimePrecision::DayPart),
        (None, None) => (jiff::civil::time(12, 0, 0, 0), TimePrecision::Day),
    };
    match date.to_datetime(time).to_zoned_datetime(tz.clone()) {
        Ok(z) => Some((z.timestamp(), precision)),
        Err(_) => {
            v.push("day", "is outside the calendar");
            None
        }
    }
}

fn resolve_week(
    v: &mut Validator,
    start: Date,
    tz: &TimeZone,
    week: i64,
) -> Option<(Timestamp, TimePrecision)> {
    if !(1..=MAX_DAY_OFFSET / 7).contains(&week) {
        v.push("week", "must be 1 or more (week 1 is days 1 to 7)");
        return None;
    }
    let first_day = (week - 1) * 7 + 1;
    let date = start
        .checked_add(jiff::Span::new().days(first_day - 1))
        .ok()?;
    let z = date
        .to_datetime(jiff::civil::time(12, 0, 0, 0))
        .to_zoned_datetime(tz.clone())
        .ok()?;
    Some((z.timestamp(), TimePrecision::Week))
}

fn parse_hhmm(s: &str) -> Option<jiff::civil::Time> {
    let (h, m) = s.trim().split_once(':')?;
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    jiff::civil::Time::new(h, m, 0, 0).ok()
}

fn part_midpoint(part: DayPart) -> jiff::civil::Time {
    let h = match part {
        DayPart::EarlyMorning => 3,
        DayPart::Morning => 9,
        DayPart::Afternoon => 14,
        DayPart::Evening => 17,
        DayPart::Night => 21,
    };
    jiff::civil::time(h, 0, 0, 0)
}

/// How an entry's moment reads on the study-style timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayLabel {
    /// Day number counted from the start date (Day 1); 0 and below are days before.
    pub day: i64,
    /// Week number (1 = days 1–7), for coarse entries.
    pub week: i64,
    /// The local date, in the organisation's zone.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// Saturday, Sunday or a Japanese national holiday.
    pub rest_day: bool,
    /// Name of the national holiday, in Japanese, when the day is one.
    pub holiday: Option<String>,
    pub label_ja: String,
    pub label_en: String,
}

impl DayLabel {
    pub fn label(&self, lang: Language) -> &str {
        match lang {
            Language::Ja => &self.label_ja,
            Language::En => &self.label_en,
        }
    }
}

/// Labels an instant relative to the incident's Day 1, at the precision it is known.
pub fn day_label(
    start: Date,
    at: Timestamp,
    precision: TimePrecision,
    day_part: Option<DayPart>,
    tz: &TimeZone,
) -> DayLabel {
    let local = at.to_zoned_datetime(tz.clone());
    let date = local.date();
    let offset = start
        .until(date)
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0);
    let day = offset + 1;
    let week = if day >= 1 {
        (day - 1) / 7 + 1
    } else {
        -((-day) / 7 + 1) + 1
    };
    // A week or a month has no single day to mark as a holiday.
    let day_known = !matches!(precision, TimePrecision::Week | TimePrecision::Month);
    let holiday = kizuki_calendar::holiday_name(date).filter(|_| day_known);
    let rest_day = day_known
        && (holiday.is_some() || matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday));
    let time = format!("{}:{:02}", local.hour(), local.minute());

    let (day_ja, day_en) = if day >= 1 {
        (format!("{day}日目"), format!("Day {day}"))
    } else {
        let before = 1 - day;
        let plural = if before == 1 { "" } else { "s" };
        (
            format!("{before}日前"),
            format!("{before} day{plural} before"),
        )
    };
    // The study writes "3日目（休）22:00" but "7日目 8:30": the bracket already separates.
    let (rest_ja, rest_en) = if rest_day {
        ("（休）", " (holiday)")
    } else {
        (" ", "")
    };

    let (label_ja, label_en) = match precision {
        TimePrecision::Minute => (
            format!("{day_ja}{rest_ja}{time}"),
            format!("{day_en}{rest_en} {time}"),
        ),
        TimePrecision::DayPart => {
            let part = day_part.unwrap_or(DayPart::Morning);
            (
                format!("{day_ja}{rest_ja}{}", part.label(Language::Ja)),
                format!("{day_en}{rest_en} {}", part.label(Language::En)),
            )
        }
        TimePrecision::Day => (
            format!("{day_ja}{}", rest_ja.trim_end()),
            format!("{day_en}{rest_en}"),
        ),
        TimePrecision::Week if day >= 1 => (format!("{week}週目"), format!("Week {week}")),
        TimePrecision::Week => (
            format!("{}週間前", 1 - week),
            format!("{} week(s) before", 1 - week),
        ),
        TimePrecision::Month => (
            format!("{}年{}月", date.year(), date.month()),
            format!("{} {}", month_name(date.month()), date.year()),
        ),
    };
    DayLabel {
        day,
        week,
        date,
        rest_day,
        holiday: holiday.map(str::to_owned),
        label_ja,
        label_en,
    }
}

fn month_name(m: i8) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    usize::try_from(m - 1)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn first_day_is_day_one_in_the_organisations_zone() {
        // 2026-01-05 is a Monday; 23:30 UTC on the 4th is 08:30 on the 5th in Tokyo.
        let l = day_label(
            date(2026, 1, 5),
            at("2026-01-04T23:30:00Z"),
            TimePrecision::Minute,
            None,
            &tokyo(),
        );
        assert_eq!(l.day, 1);
        assert_eq!(l.label_ja, "1日目 8:30");
        assert_eq!(l.label_en, "Day 1 8:30");
        assert!(!l.rest_day);
    }

    #[test]
    fn weekend_days_are_marked_as_rest_days() {
        // Day 3 from Thursday 2026-01-08 is Saturday the 10th.
        let l = day_label(
            date(2026, 1, 8),
            at("2026-01-10T13:00:00Z"),
            TimePrecision::Minute,
            None,
            &tokyo(),
        );
        assert_eq!(l.label_ja, "3日目（休）22:00");
        assert_eq!(l.label_en, "Day 3 (holiday) 22:00");
    }

    #[test]
    fn days_before_the_start_count_backwards() {
        let l = day_label(
            date(2026, 1, 12),
            at("2026-01-01T03:00:00Z"),
            TimePrecision::Day,
            None,
            &tokyo(),
        );
        assert_eq!(l.day, -10);
        assert_eq!(l.label_ja, "11日前（休）");
        assert_eq!(l.label_en, "11 days before (holiday)");
        let l = day_label(
            date(2026, 1, 14),
            at("2026-01-13T03:00:00Z"),
            TimePrecision::Day,
            None,
            &tokyo(),
        );
        assert_eq!(l.label_en, "1 day before");
    }

    #[test]
    fn week_precision_shows_only_the_week() {
        let l = day_label(
            date(2026, 1, 5),
            at("2026-01-14T03:00:00Z"),
            TimePrecision::Week,
            None,
            &tokyo(),
        );
        assert_eq!(l.day, 10);
        assert_eq!(l.label_ja, "2週目");
        assert_eq!(l.label_en, "Week 2");
    }

    #[test]
    fn day_part_precision_names_the_part() {
        let l = day_label(
            date(2026, 1, 5),
            at("2026-01-10T18:00:00Z"),
            TimePrecision::DayPart,
            Some(DayPart::EarlyMorning),
            &tokyo(),
        );
        assert_eq!(l.label_ja, "7日目（休）未明");
        assert_eq!(l.label_en, "Day 7 (holiday) early morning");
    }

    #[test]
    fn entry_by_day_and_time_resolves_in_the_zone() {
        let new = NewTimelineEntry {
            occurred_at: None,
            day: Some(7),
            time_of_day: Some("08:30".into()),
            week: None,
            precision: None,
            day_part: None,
            lane: Lane::ItBusiness,
            actor: "IT".into(),
            kind: EntryKind::Containment,
            text: "cut every branch off the network by phone".into(),
            source: EntrySource::Manual,
        };
        let f = new
            .into_fields(date(2026, 1, 5), &tokyo(), at("2026-02-01T00:00:00Z"))
            .unwrap();
        assert_eq!(f.occurred_at, at("2026-01-10T23:30:00Z"));
        assert_eq!(f.precision, TimePrecision::Minute);
    }

    #[test]
    fn a_precision_finer_than_what_is_known_is_refused() {
        let new = NewTimelineEntry {
            occurred_at: None,
            day: None,
            time_of_day: None,
            week: Some(2),
            precision: Some(TimePrecision::Minute),
            day_part: None,
            lane: Lane::ManagementPr,
            actor: String::new(),
            kind: EntryKind::Disclosure,
            text: "first notice".into(),
            source: EntrySource::Manual,
        };
        let err = new
            .clone()
            .into_fields(date(2026, 1, 5), &tokyo(), at("2026-02-01T00:00:00Z"))
            .unwrap_err();
        assert_eq!(err.errors[0].field, "precision");
        let coarser = NewTimelineEntry {
            precision: Some(TimePrecision::Month),
            ..new
        };
        assert!(
            coarser
                .into_fields(date(2026, 1, 5), &tokyo(), at("2026-02-01T00:00:00Z"))
                .is_ok()
        );
    }

    #[test]
    fn a_week_is_never_marked_as_a_holiday() {
        // Week 2 from 2026-01-05 resolves to Monday the 12th, Coming of Age Day.
        let l = day_label(
            date(2026, 1, 5),
            at("2026-01-12T03:00:00Z"),
            TimePrecision::Week,
            None,
            &tokyo(),
        );
        assert!(!l.rest_day);
        assert_eq!(l.holiday, None);
        let d = day_label(
            date(2026, 1, 5),
            at("2026-01-12T03:00:00Z"),
            TimePrecision::Day,
            None,
            &tokyo(),
        );
        assert_eq!(d.holiday.as_deref(), Some("成人の日"));
        assert_eq!(d.label_ja, "8日目（休）");
    }

    #[test]
    fn bad_time_of_day_names_the_field() {
        let new = NewTimelineEntry {
            occurred_at: None,
            day: Some(1),
            time_of_day: Some("25:00".into()),
            week: None,
            precision: None,
            day_part: None,
            lane: Lane::ItBusiness,
            actor: String::new(),
            kind: EntryKind::Other,
            text: "x".into(),
            source: EntrySource::Manual,
        };
        let err = new
            .into_fields(date(2026, 1, 5), &tokyo(), at("2026-02-01T00:00:00Z"))
            .unwrap_err();
        assert_eq!(err.errors[0].field, "time_of_day");
    }
}
