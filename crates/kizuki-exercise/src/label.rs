//! Case-time labels and durations, worded like the study ("3日目 14:00", "Day 3 14:00") and
//! like [`kizuki_domain::timeline::day_label`], so an exercise reads like a live timeline.

use kizuki_domain::settings::Language;

/// Minutes in a day of case time.
pub const MINUTES_PER_DAY: i64 = 1440;

/// A (ja, en) pair of fixed words.
pub(crate) type Pair = (&'static str, &'static str);

pub(crate) fn t(lang: Language, p: Pair) -> &'static str {
    match lang {
        Language::Ja => p.0,
        Language::En => p.1,
    }
}

/// The day number of a case offset (Day 1 starts at offset 0; 0 and below are days before).
pub fn day_of(offset_minutes: i64) -> i64 {
    offset_minutes.div_euclid(MINUTES_PER_DAY).saturating_add(1)
}

/// "Day 3" / "3日目", or "2 days before" / "2日前" before Day 1, with the study's rest-day
/// mark when `holiday` is set.
pub(crate) fn day_text(day: i64, holiday: bool, lang: Language) -> String {
    let base = if day >= 1 {
        match lang {
            Language::Ja => format!("{day}日目"),
            Language::En => format!("Day {day}"),
        }
    } else {
        let before = 1i64.saturating_sub(day);
        match lang {
            Language::Ja => format!("{before}日前"),
            Language::En if before == 1 => "1 day before".to_owned(),
            Language::En => format!("{before} days before"),
        }
    };
    if holiday {
        match lang {
            Language::Ja => format!("{base}（休）"),
            Language::En => format!("{base} (holiday)"),
        }
    } else {
        base
    }
}

/// Joins a day and something finer the way `day_label` does: the Japanese bracket of a
/// rest day already separates, so no space follows it.
pub(crate) fn day_with(day: i64, holiday: bool, rest: &str, lang: Language) -> String {
    let d = day_text(day, holiday, lang);
    if holiday && lang == Language::Ja {
        format!("{d}{rest}")
    } else {
        format!("{d} {rest}")
    }
}

/// "14:05" / "8:30": hours unpadded, as the study and `day_label` write them.
pub(crate) fn clock_text(minute_of_day: i64) -> String {
    format!("{}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// The label of a moment known to the minute, e.g. what a participant recorded:
/// "Day 3 14:00" / "3日目 14:00".
pub fn case_time_label(offset_minutes: i64, lang: Language) -> String {
    let day = day_of(offset_minutes);
    let minute = offset_minutes.rem_euclid(MINUTES_PER_DAY);
    day_with(day, false, &clock_text(minute), lang)
}

/// A length of case time: "1 d 10 h" / "1日10時間"; "0 min" / "0分" for nothing.
pub fn format_minutes(minutes: i64, lang: Language) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let total = minutes.unsigned_abs();
    let (d, h, m) = (total / 1440, (total % 1440) / 60, total % 60);
    let (ud, uh, um, sep) = match lang {
        Language::Ja => ("日", "時間", "分", ""),
        Language::En => (" d", " h", " min", " "),
    };
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}{ud}"));
    }
    if h > 0 {
        parts.push(format!("{h}{uh}"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m}{um}"));
    }
    format!("{sign}{}", parts.join(sep))
}

/// A difference, always signed so that "later" and "earlier" cannot be confused:
/// "+1 d 10 h", "-30 min", "±0".
pub fn format_delta(minutes: i64, lang: Language) -> String {
    if minutes > 0 {
        format!("+{}", format_minutes(minutes, lang))
    } else if minutes < 0 {
        format_minutes(minutes, lang)
    } else {
        "±0".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_domain_wording() {
        assert_eq!(
            case_time_label(2 * 1440 + 14 * 60, Language::En),
            "Day 3 14:00"
        );
        assert_eq!(
            case_time_label(2 * 1440 + 14 * 60, Language::Ja),
            "3日目 14:00"
        );
        assert_eq!(case_time_label(510, Language::En), "Day 1 8:30");
        assert_eq!(case_time_label(-1440, Language::En), "1 day before 0:00");
        assert_eq!(case_time_label(-3 * 1440, Language::Ja), "3日前 0:00");
        assert_eq!(day_with(3, true, "22:00", Language::Ja), "3日目（休）22:00");
        assert_eq!(
            day_with(3, true, "22:00", Language::En),
            "Day 3 (holiday) 22:00"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_minutes(0, Language::En), "0 min");
        assert_eq!(format_minutes(2040, Language::En), "1 d 10 h");
        assert_eq!(format_minutes(2040, Language::Ja), "1日10時間");
        assert_eq!(format_delta(-30, Language::En), "-30 min");
        assert_eq!(format_delta(90, Language::Ja), "+1時間30分");
        assert_eq!(format_delta(0, Language::Ja), "±0");
        assert_eq!(
            format_minutes(i64::MIN, Language::En).chars().next(),
            Some('-')
        );
    }
}
