//! Turning a case's timeline into Kizuki timeline inputs, so that a tabletop exercise or a
//! demo can replay it against a chosen start date.

use jiff::civil::Date;
use kizuki_domain::settings::Language;
use kizuki_domain::timeline::{DayPart, EntrySource, NewTimelineEntry, TimePrecision};

use crate::model::{Case, TimelineItem};

impl Case {
    /// The case's dated timeline entries as [`NewTimelineEntry`] values, with `source`
    /// `import`, the text and actor (the study's lane label) in `lang`.
    ///
    /// Entries are placed by day number relative to the incident's start date (Day 1 =
    /// `start_date`), so they resolve correctly when the incident is created with that
    /// start date, and they resolve in the study's order:
    ///
    /// - a day, time or part of day is kept as given; "N days before" becomes day 1 − N;
    /// - weeks stay weeks ("week 3 or later" becomes week 3);
    /// - months ("month 2", "at least a month before") are counted in calendar months from
    ///   `start_date` and keep month precision; a month entry is placed no earlier than
    ///   the entry before it when that falls inside its month;
    /// - an entry known only to the day is anchored, at day precision, to the time of the
    ///   entry before it on the same day (the study's rows are in order), or to 00:00 when
    ///   it is the first of its day.
    ///
    /// Undated entries (the study masks every date of case 6) are left out.
    pub fn timeline_entries(&self, start_date: Date, lang: Language) -> Vec<NewTimelineEntry> {
        let mut out: Vec<NewTimelineEntry> = Vec::new();
        // (day, time, part of day) of the previous entry, for anchoring coarse ones.
        let mut prev: Option<(i64, Option<String>, Option<DayPart>)> = None;
        for item in &self.timeline {
            let Some(mut entry) = convert(item, start_date, lang) else {
                continue;
            };
            if let Some(m) = item.month {
                let m = i64::from(m);
                if let (Some(day), Some((prev_day, ..)), Some(end)) =
                    (entry.day, &prev, months_from(start_date, m).map(|d| d + 1))
                    && *prev_day > day
                    && *prev_day < end
                {
                    entry.day = Some(*prev_day);
                }
            } else if (item.day.is_some() || item.day_before.is_some())
                && item.time.is_none()
                && item.day_part.is_none()
            {
                match &prev {
                    Some((d, t, p)) if Some(*d) == entry.day && (t.is_some() || p.is_some()) => {
                        entry.time_of_day = t.clone();
                        entry.day_part = *p;
                        entry.precision = Some(if t.is_some() {
                            TimePrecision::Day
                        } else {
                            TimePrecision::DayPart
                        });
                    }
                    Some((d, ..)) if Some(*d) == entry.day => {}
                    _ => {
                        entry.time_of_day = Some("00:00".to_owned());
                        entry.precision = Some(TimePrecision::Day);
                    }
                }
            }
            let day = entry
                .day
                .or(entry.week.map(|w| (w - 1) * 7 + 1))
                .unwrap_or(1);
            prev = Some((day, entry.time_of_day.clone(), entry.day_part));
            out.push(entry);
        }
        out
    }
}

fn convert(item: &TimelineItem, start: Date, lang: Language) -> Option<NewTimelineEntry> {
    let (day, week, precision) = if let Some(d) = item.day {
        (Some(d), None, None)
    } else if let Some(n) = item.day_before {
        (Some(1 - i64::from(n)), None, None)
    } else if let Some(w) = item.week {
        (None, Some(i64::from(w)), None)
    } else if let Some(m) = item.month {
        (
            Some(months_from(start, i64::from(m) - 1)? + 1),
            None,
            Some(TimePrecision::Month),
        )
    } else if let Some(m) = item.months_before_at_least {
        (
            Some(months_from(start, -i64::from(m))? + 1),
            None,
            Some(TimePrecision::Month),
        )
    } else {
        return None;
    };
    Some(NewTimelineEntry {
        occurred_at: None,
        day,
        time_of_day: item.time.clone(),
        week,
        precision,
        day_part: item.day_part,
        lane: item.lane,
        actor: item.lane_label.get(lang).to_owned(),
        kind: item.kind,
        text: item.text.get(lang).to_owned(),
        source: EntrySource::Import,
    })
}

/// Days from `start` to `start` moved by `months` calendar months.
fn months_from(start: Date, months: i64) -> Option<i64> {
    let target = start.checked_add(jiff::Span::new().months(months)).ok()?;
    let span = start.until(target).ok()?;
    Some(i64::from(span.get_days()))
}
