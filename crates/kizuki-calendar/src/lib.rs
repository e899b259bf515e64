//! Japanese national holidays (国民の祝日) and rest days.
//!
//! Holidays are derived from the rules of the 国民の祝日に関する法律 and the one-off special
//! laws, not read from a table, so that a new year needs no data update. The rules are
//! written for 1980–2099 ([`FIRST_YEAR`]..=[`LAST_YEAR`]): the equinox approximation is only
//! valid there, and earlier years would need rules (no substitutes before 1973, the 1959
//! royal wedding) that nothing in Kizuki uses. Outside that range no date is a holiday: [`holiday_name`] returns `None`
//! and [`holidays_in_year`] an empty list.
//!
//! The equinox days are legally fixed each February by the Cabinet Office's announcement of
//! the National Astronomical Observatory's calculation; the formula used here matches the
//! dates announced so far, but a year not yet announced is a prediction.

use jiff::civil::{Date, Weekday};

/// The first year whose holidays are computed; earlier dates are never holidays here.
pub const FIRST_YEAR: i16 = 1980;
/// The last year whose holidays are computed, bounded by the equinox formula.
pub const LAST_YEAR: i16 = 2099;

/// One national holiday, with the names a Japanese and an English reader expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Holiday {
    pub date: Date,
    pub name_ja: &'static str,
    pub name_en: &'static str,
}

/// The Japanese name of the national holiday on `date`, if it is one (e.g. "元日",
/// "振替休日", "国民の休日").
///
/// Called for every rendered timeline entry, so it computes from the date alone with a few
/// comparisons: ordinary days cost two rule look-ups and no allocation. Always `None`
/// outside 1980–2099.
pub fn holiday_name(date: Date) -> Option<&'static str> {
    holiday_kind(date).map(Kind::name_ja)
}

/// The English name of the national holiday on `date` (e.g. "New Year's Day",
/// "Substitute holiday", "Citizens' holiday"). Always `None` outside 1980–2099.
pub fn holiday_name_en(date: Date) -> Option<&'static str> {
    holiday_kind(date).map(Kind::name_en)
}

/// Saturday, Sunday or a national holiday. Outside 1980–2099 only weekends count.
pub fn is_rest_day(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) || holiday_kind(date).is_some()
}

/// Every national holiday of `year`, in date order, with both names; empty outside
/// 1980–2099.
///
/// Built year-at-a-time (forward from each Sunday holiday, over each gap between two
/// holidays) rather than by asking [`holiday_name`] for each day, so the two derivations of
/// substitute and citizens' holidays check each other in the tests.
pub fn holidays_in_year(year: i16) -> Vec<Holiday> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Vec::new();
    }
    let Ok(mut date) = Date::new(year, 1, 1) else {
        return Vec::new();
    };
    let len = usize::try_from(date.days_in_year()).unwrap_or(0);
    let mut days: Vec<(Date, Option<Kind>)> = Vec::with_capacity(len);
    for _ in 0..len {
        days.push((date, statutory(date)));
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    // No statutory holiday falls on Dec 30/31 or Jan 2, so nothing derived crosses a year edge.
    let statutory_at = |days: &[(Date, Option<Kind>)], i: usize| {
        days.get(i).is_some_and(|d| is_statutory_kind(d.1))
    };

    for i in 0..days.len() {
        let (day, kind) = days[i];
        if !is_statutory_kind(kind) || day.weekday() != Weekday::Sunday {
            continue;
        }
        let mut j = i + 1;
        if year >= 2007 {
            while statutory_at(&days, j) {
                j += 1;
            }
        } else if statutory_at(&days, j) {
            continue;
        }
        if let Some(slot) = days.get_mut(j) {
            slot.1 = Some(Kind::Substitute);
        }
    }
    if year >= CITIZENS_HOLIDAY_FROM {
        for i in 1..days.len().saturating_sub(1) {
            let (day, kind) = days[i];
            let sandwiched = is_statutory_kind(days[i - 1].1) && is_statutory_kind(days[i + 1].1);
            if kind.is_none() && sandwiched && (year >= 2007 || day.weekday() != Weekday::Sunday) {
                days[i].1 = Some(Kind::Citizens);
            }
        }
    }

    days.into_iter()
        .filter_map(|(date, kind)| {
            kind.map(|k| Holiday {
                date,
                name_ja: k.name_ja(),
                name_en: k.name_en(),
            })
        })
        .collect()
}

/// The 1985 amendment (in force 1985-12-27) created the citizens' holiday; its first case was
/// May 4, 1988.
const CITIZENS_HOLIDAY_FROM: i16 = 1986;

fn is_statutory_kind(kind: Option<Kind>) -> bool {
    kind.is_some_and(|k| !matches!(k, Kind::Substitute | Kind::Citizens))
}

/// Statutory holiday, else substitute, else citizens' holiday: the order of 第3条.
fn holiday_kind(date: Date) -> Option<Kind> {
    if let Some(kind) = statutory(date) {
        return Some(kind);
    }
    // Both derived kinds need a holiday the day before; checking it first keeps the common
    // case (an ordinary day after an ordinary day) to two look-ups.
    let yesterday = date.yesterday().ok()?;
    statutory(yesterday)?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        return None;
    }
    if is_substitute(date, yesterday) {
        return Some(Kind::Substitute);
    }
    if is_citizens_holiday(date) {
        return Some(Kind::Citizens);
    }
    None
}

/// 振替休日 for a non-holiday `date` whose `yesterday` is a holiday.
///
/// Since 2007 the substitute is the first non-holiday after a Sunday holiday, so it may come
/// after a run of holidays (May 3 on Sunday gives May 6); walk back over that run. From 1973
/// to 2006 only the Monday after a Sunday holiday counted.
fn is_substitute(date: Date, yesterday: Date) -> bool {
    if date.year() < 2007 {
        return date.weekday() == Weekday::Monday;
    }
    let mut day = yesterday;
    // A run of consecutive holidays is at most three days (May 3–5), so a week bounds it.
    for _ in 0..7 {
        if statutory(day).is_none() {
            return false;
        }
        if day.weekday() == Weekday::Sunday {
            return true;
        }
        match day.yesterday() {
            Ok(prev) => day = prev,
            Err(_) => return false,
        }
    }
    false
}

/// 国民の休日: a non-holiday between two 祝日 (not substitute days). Before 2007 the law also
/// excluded Sundays and substitute holidays; the latter is handled by checking substitutes
/// first.
fn is_citizens_holiday(date: Date) -> bool {
    let year = date.year();
    if year < CITIZENS_HOLIDAY_FROM || (year < 2007 && date.weekday() == Weekday::Sunday) {
        return false;
    }
    date.tomorrow().ok().and_then(statutory).is_some()
}

/// Every holiday the law names for a date (国民の祝日 and the special-law days), before
/// substitute and citizens' holidays are derived from them.
///
/// The 2019 special law deems 即位の日 and 即位礼正殿の儀 to be 祝日 for the substitute and
/// sandwich rules, which is what makes Apr 30 and May 2, 2019 citizens' holidays. The
/// 1989/1990/1993 laws did not, but those days never touch another holiday, so treating them
/// alike changes nothing.
fn statutory(date: Date) -> Option<Kind> {
    use Kind::*;
    let y = date.year();
    if !(FIRST_YEAR..=LAST_YEAR).contains(&y) {
        return None;
    }
    let (m, d) = (date.month(), date.day());
    // Happy Monday days (2000 for January/October, 2003 for July/September) are "the nth
    // Monday", which is a Monday whose day of the month falls in the nth week.
    let monday = date.weekday() == Weekday::Monday;
    let second_monday = monday && (8..=14).contains(&d);
    let third_monday = monday && (15..=21).contains(&d);
    // The Tokyo Olympics special laws moved 海の日, スポーツの日 and 山の日 in these years only.
    let olympic = y == 2020 || y == 2021;

    let kind = match (m, d) {
        (1, 1) => NewYear,
        (1, 15) if y < 2000 => ComingOfAge,
        (1, _) if y >= 2000 && second_monday => ComingOfAge,
        (2, 11) => NationalFoundation,
        (2, 23) if y >= 2020 => EmperorsBirthday,
        (2, 24) if y == 1989 => FuneralOfEmperorShowa,
        (3, _) if Some(d) == vernal_equinox_day(y) => VernalEquinox,
        // Emperor Shōwa's birthday, kept as みどりの日 after 1989 and renamed 昭和の日 in 2007.
        (4, 29) if y <= 1988 => EmperorsBirthday,
        (4, 29) if y <= 2006 => Greenery,
        (4, 29) => Showa,
        (5, 1) if y == 2019 => Accession,
        (5, 3) => ConstitutionMemorial,
        (5, 4) if y >= 2007 => Greenery,
        (5, 5) => Children,
        (6, 9) if y == 1993 => RoyalWedding,
        (7, 20) if (1996..=2002).contains(&y) => Marine,
        (7, 23) if y == 2020 => Marine,
        (7, 24) if y == 2020 => Sports,
        (7, 22) if y == 2021 => Marine,
        (7, 23) if y == 2021 => Sports,
        (7, _) if y >= 2003 && !olympic && third_monday => Marine,
        (8, 10) if y == 2020 => Mountain,
        (8, 8) if y == 2021 => Mountain,
        (8, 11) if y >= 2016 && !olympic => Mountain,
        (9, 15) if y < 2003 => RespectForTheAged,
        (9, _) if y >= 2003 && third_monday => RespectForTheAged,
        (9, _) if Some(d) == autumnal_equinox_day(y) => AutumnalEquinox,
        (10, 10) if y < 2000 => HealthAndSports,
        (10, _) if (2000..=2019).contains(&y) && second_monday => HealthAndSports,
        (10, _) if y >= 2022 && second_monday => Sports,
        (10, 22) if y == 2019 => Enthronement,
        (11, 3) => Culture,
        (11, 12) if y == 1990 => Enthronement,
        (11, 23) => LaborThanksgiving,
        // The present Emperor Emeritus' birthday; 2019 has none (he abdicated on Apr 30, and
        // the new Emperor's Feb 23 only starts in 2020).
        (12, 23) if (1989..=2018).contains(&y) => EmperorsBirthday,
        _ => return None,
    };
    Some(kind)
}

/// Day of March of 春分の日, by the usual approximation for 1980–2099:
/// `floor(20.8431 + 0.242194 (y − 1980) − floor((y − 1980) / 4))`.
fn vernal_equinox_day(year: i16) -> Option<i8> {
    equinox_day(year, 20_843_100)
}

/// Day of September of 秋分の日, as [`vernal_equinox_day`] with 23.2488.
fn autumnal_equinox_day(year: i16) -> Option<i8> {
    equinox_day(year, 23_248_800)
}

/// The formula in millionths, in integers, so that a year whose value lands near a whole day
/// (2022: 21.015) cannot be tipped over by floating-point rounding.
fn equinox_day(year: i16, base_millionths: i32) -> Option<i8> {
    let n = i32::from(year) - 1980;
    if !(0..=i32::from(LAST_YEAR - FIRST_YEAR)).contains(&n) {
        return None;
    }
    let millionths = base_millionths + 242_194 * n - 1_000_000 * (n / 4);
    i8::try_from(millionths / 1_000_000).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NewYear,
    ComingOfAge,
    NationalFoundation,
    EmperorsBirthday,
    VernalEquinox,
    Showa,
    ConstitutionMemorial,
    Greenery,
    Children,
    Marine,
    Mountain,
    RespectForTheAged,
    AutumnalEquinox,
    /// 体育の日, the name of the October holiday until 2019.
    HealthAndSports,
    /// スポーツの日, from 2020.
    Sports,
    Culture,
    LaborThanksgiving,
    FuneralOfEmperorShowa,
    /// 即位礼正殿の儀, in 1990 and 2019.
    Enthronement,
    RoyalWedding,
    /// 即位の日, May 1, 2019.
    Accession,
    Substitute,
    Citizens,
}

impl Kind {
    fn name_ja(self) -> &'static str {
        match self {
            Kind::NewYear => "元日",
            Kind::ComingOfAge => "成人の日",
            Kind::NationalFoundation => "建国記念の日",
            Kind::EmperorsBirthday => "天皇誕生日",
            Kind::VernalEquinox => "春分の日",
            Kind::Showa => "昭和の日",
            Kind::ConstitutionMemorial => "憲法記念日",
            Kind::Greenery => "みどりの日",
            Kind::Children => "こどもの日",
            Kind::Marine => "海の日",
            Kind::Mountain => "山の日",
            Kind::RespectForTheAged => "敬老の日",
            Kind::AutumnalEquinox => "秋分の日",
            Kind::HealthAndSports => "体育の日",
            Kind::Sports => "スポーツの日",
            Kind::Culture => "文化の日",
            Kind::LaborThanksgiving => "勤労感謝の日",
            Kind::FuneralOfEmperorShowa => "昭和天皇の大喪の礼",
            Kind::Enthronement => "即位礼正殿の儀",
            Kind::RoyalWedding => "皇太子徳仁親王の結婚の儀",
            Kind::Accession => "即位の日",
            Kind::Substitute => "振替休日",
            Kind::Citizens => "国民の休日",
        }
    }

    fn name_en(self) -> &'static str {
        match self {
            Kind::NewYear => "New Year's Day",
            Kind::ComingOfAge => "Coming of Age Day",
            Kind::NationalFoundation => "National Foundation Day",
            Kind::EmperorsBirthday => "The Emperor's Birthday",
            Kind::VernalEquinox => "Vernal Equinox Day",
            Kind::Showa => "Showa Day",
            Kind::ConstitutionMemorial => "Constitution Memorial Day",
            Kind::Greenery => "Greenery Day",
            Kind::Children => "Children's Day",
            Kind::Marine => "Marine Day",
            Kind::Mountain => "Mountain Day",
            Kind::RespectForTheAged => "Respect for the Aged Day",
            Kind::AutumnalEquinox => "Autumnal Equinox Day",
            Kind::HealthAndSports => "Health and Sports Day",
            Kind::Sports => "Sports Day",
            Kind::Culture => "Culture Day",
            Kind::LaborThanksgiving => "Labor Thanksgiving Day",
            Kind::FuneralOfEmperorShowa => "Funeral of Emperor Showa",
            Kind::Enthronement => "Enthronement Ceremony",
            Kind::RoyalWedding => "Wedding of Crown Prince Naruhito",
            Kind::Accession => "Emperor's Accession Day",
            Kind::Substitute => "Substitute holiday",
            Kind::Citizens => "Citizens' holiday",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn name(y: i16, m: i8, d: i8) -> Option<&'static str> {
        holiday_name(date(y, m, d))
    }

    #[test]
    fn sunday_holiday_moves_to_monday() {
        // 2024-02-11 建国記念の日 is a Sunday.
        assert_eq!(date(2024, 2, 11).weekday(), Weekday::Sunday);
        assert_eq!(name(2024, 2, 11), Some("建国記念の日"));
        assert_eq!(name(2024, 2, 12), Some("振替休日"));
        assert_eq!(name(2024, 2, 13), None);
        // Jan 1, 2023 was a Sunday.
        assert_eq!(name(2023, 1, 2), Some("振替休日"));
    }

    #[test]
    fn saturday_holiday_has_no_substitute() {
        // 2022-01-01 and 2023-02-11 are Saturdays.
        assert_eq!(name(2022, 1, 3), None);
        assert_eq!(name(2023, 2, 13), None);
    }

    #[test]
    fn substitute_skips_a_run_of_holidays() {
        // 2026-05-03 is a Sunday: May 4 and 5 are holidays in their own right, so the
        // substitute lands on Wednesday May 6.
        assert_eq!(date(2026, 5, 3).weekday(), Weekday::Sunday);
        assert_eq!(name(2026, 5, 4), Some("みどりの日"));
        assert_eq!(name(2026, 5, 5), Some("こどもの日"));
        assert_eq!(name(2026, 5, 6), Some("振替休日"));
        assert_eq!(name(2026, 5, 7), None);
        // 2025-05-04 (Sunday) gives Tuesday May 6.
        assert_eq!(name(2025, 5, 6), Some("振替休日"));
    }

    #[test]
    fn before_2007_only_the_monday_was_a_substitute() {
        // 1998-05-03 was a Sunday: the Monday after it was the substitute, and nothing moved
        // past May 5 as it would since 2007.
        assert_eq!(date(1998, 5, 3).weekday(), Weekday::Sunday);
        assert_eq!(name(1998, 5, 4), Some("振替休日"));
        assert_eq!(name(1998, 5, 6), None);
        // Before 2007 May 4 was no 祝日, only a citizens' holiday between two.
        assert_eq!(date(2004, 5, 4).weekday(), Weekday::Tuesday);
        assert_eq!(name(2004, 5, 4), Some("国民の休日"));
        // 2003-05-04 was a Sunday: the old law made a sandwiched Sunday no holiday at all.
        assert_eq!(date(2003, 5, 4).weekday(), Weekday::Sunday);
        assert_eq!(name(2003, 5, 4), None);
        assert_eq!(name(2003, 5, 5), Some("こどもの日"));
        assert_eq!(name(2003, 5, 6), None);
    }

    #[test]
    fn citizens_holiday_between_two_holidays() {
        // 敬老の日 on Monday Sep 21 and 秋分の日 on Wednesday Sep 23, 2026.
        assert_eq!(name(2026, 9, 21), Some("敬老の日"));
        assert_eq!(name(2026, 9, 22), Some("国民の休日"));
        assert_eq!(name(2026, 9, 23), Some("秋分の日"));
        assert_eq!(name(2015, 9, 22), Some("国民の休日"));
        assert_eq!(
            holiday_name_en(date(2015, 9, 22)),
            Some("Citizens' holiday")
        );
        // 2020: 敬老の日 Sep 21 and 秋分の日 Sep 22 are adjacent, nothing sandwiched.
        assert_eq!(name(2020, 9, 23), None);
        // Not before the 1985 amendment: the first was May 4, 1988 (a Wednesday).
        assert!(!is_citizens_holiday(date(1985, 5, 4)));
        assert_eq!(name(1988, 5, 4), Some("国民の休日"));
    }

    #[test]
    fn equinox_days_move_between_years() {
        assert_eq!(name(2020, 3, 20), Some("春分の日"));
        assert_eq!(name(2022, 3, 21), Some("春分の日"));
        assert_eq!(name(2022, 3, 20), None);
        assert_eq!(name(2024, 9, 22), Some("秋分の日"));
        assert_eq!(name(2025, 9, 23), Some("秋分の日"));
        // Known extremes of the formula's range.
        assert_eq!(vernal_equinox_day(1980), Some(20));
        assert_eq!(autumnal_equinox_day(1980), Some(23));
        assert_eq!(vernal_equinox_day(2092), Some(19));
        assert_eq!(autumnal_equinox_day(2012), Some(22));
        assert_eq!(autumnal_equinox_day(1979), None);
        assert_eq!(autumnal_equinox_day(2100), None);
    }

    #[test]
    fn first_day_after_an_equinox_on_sunday() {
        // 春分の日 2027-03-21 and 秋分の日 2024-09-22 fall on Sundays.
        assert_eq!(date(2027, 3, 21).weekday(), Weekday::Sunday);
        assert_eq!(name(2027, 3, 22), Some("振替休日"));
        assert_eq!(
            holiday_name_en(date(2027, 3, 22)),
            Some("Substitute holiday")
        );
        assert_eq!(date(2024, 9, 22).weekday(), Weekday::Sunday);
        assert_eq!(name(2024, 9, 23), Some("振替休日"));
    }

    #[test]
    fn october_holiday_was_taiiku_no_hi_before_2020() {
        assert_eq!(name(1999, 10, 10), Some("体育の日"));
        assert_eq!(name(2019, 10, 14), Some("体育の日"));
        assert_eq!(
            holiday_name_en(date(2019, 10, 14)),
            Some("Health and Sports Day")
        );
        assert_eq!(name(2022, 10, 10), Some("スポーツの日"));
        assert_eq!(holiday_name_en(date(2022, 10, 10)), Some("Sports Day"));
    }

    #[test]
    fn happy_monday_dates() {
        assert_eq!(name(1999, 1, 15), Some("成人の日"));
        assert_eq!(name(2000, 1, 15), None);
        assert_eq!(name(2000, 1, 10), Some("成人の日"));
        assert_eq!(name(2002, 7, 20), Some("海の日"));
        assert_eq!(name(2003, 7, 21), Some("海の日"));
        assert_eq!(name(2002, 9, 15), Some("敬老の日"));
        assert_eq!(name(2003, 9, 15), Some("敬老の日"));
        assert_eq!(name(2004, 9, 15), None);
        assert_eq!(name(2004, 9, 20), Some("敬老の日"));
    }

    #[test]
    fn introduction_years() {
        assert_eq!(name(1995, 7, 20), None);
        assert_eq!(name(1996, 7, 20), Some("海の日"));
        assert_eq!(name(2015, 8, 11), None);
        assert_eq!(name(2016, 8, 11), Some("山の日"));
        assert_eq!(name(1988, 4, 29), Some("天皇誕生日"));
        assert_eq!(name(1989, 4, 29), Some("みどりの日"));
        assert_eq!(name(2007, 4, 29), Some("昭和の日"));
        assert_eq!(name(2007, 5, 4), Some("みどりの日"));
        assert_eq!(name(1988, 12, 23), None);
        assert_eq!(name(1989, 12, 23), Some("天皇誕生日"));
        assert_eq!(name(2019, 2, 23), None);
        assert_eq!(name(2020, 2, 23), Some("天皇誕生日"));
    }

    #[test]
    fn special_days_of_2019() {
        assert_eq!(name(2019, 4, 30), Some("国民の休日"));
        assert_eq!(name(2019, 5, 1), Some("即位の日"));
        assert_eq!(name(2019, 5, 2), Some("国民の休日"));
        assert_eq!(name(2019, 5, 6), Some("振替休日"));
        assert_eq!(name(2019, 10, 22), Some("即位礼正殿の儀"));
        assert_eq!(name(2018, 12, 23), Some("天皇誕生日"));
        assert_eq!(name(2018, 12, 24), Some("振替休日"));
        assert_eq!(name(2019, 12, 23), None);
        assert_eq!(name(2020, 5, 1), None);
    }

    #[test]
    fn olympic_years_move_summer_holidays() {
        assert_eq!(name(2020, 7, 20), None);
        assert_eq!(name(2020, 7, 23), Some("海の日"));
        assert_eq!(name(2020, 7, 24), Some("スポーツの日"));
        assert_eq!(name(2020, 8, 10), Some("山の日"));
        assert_eq!(name(2020, 8, 11), None);
        assert_eq!(name(2020, 10, 12), None);
        assert_eq!(name(2021, 7, 19), None);
        assert_eq!(name(2021, 8, 9), Some("振替休日"));
        assert_eq!(name(2021, 10, 11), None);
    }

    #[test]
    fn showa_era_special_days() {
        assert_eq!(name(1989, 2, 24), Some("昭和天皇の大喪の礼"));
        assert_eq!(name(1990, 11, 12), Some("即位礼正殿の儀"));
        assert_eq!(name(1993, 6, 9), Some("皇太子徳仁親王の結婚の儀"));
        assert_eq!(name(1994, 6, 9), None);
    }

    #[test]
    fn outside_supported_range_is_never_a_holiday() {
        assert_eq!(name(1979, 1, 1), None);
        assert_eq!(name(2100, 1, 1), None);
        assert_eq!(name(1980, 1, 1), Some("元日"));
        assert_eq!(name(2099, 11, 23), Some("勤労感謝の日"));
        assert!(holidays_in_year(1979).is_empty());
        assert!(holidays_in_year(2100).is_empty());
        // Weekends are still rest days.
        assert!(is_rest_day(date(2100, 1, 2)));
        assert!(!is_rest_day(date(2100, 1, 1)));
    }

    #[test]
    fn rest_days() {
        assert!(is_rest_day(date(2026, 1, 3))); // Saturday
        assert!(is_rest_day(date(2026, 1, 4))); // Sunday
        assert!(is_rest_day(date(2026, 1, 12))); // 成人の日
        assert!(is_rest_day(date(2026, 9, 22))); // 国民の休日
        assert!(!is_rest_day(date(2026, 1, 13)));
    }

    #[test]
    fn holidays_in_year_is_ordered_with_both_names() {
        let list = holidays_in_year(2024);
        assert_eq!(list.len(), 21);
        assert!(list.windows(2).all(|w| w[0].date < w[1].date));
        assert_eq!(
            list[0],
            Holiday {
                date: date(2024, 1, 1),
                name_ja: "元日",
                name_en: "New Year's Day",
            }
        );
    }

    #[test]
    fn holiday_name_agrees_with_holidays_in_year_across_the_range() {
        let mut mismatches = Vec::new();
        for year in FIRST_YEAR..=LAST_YEAR {
            let list = holidays_in_year(year);
            let mut day = date(year, 1, 1);
            while day.year() == year {
                let listed = list.iter().find(|h| h.date == day);
                let per_day = (holiday_name(day), holiday_name_en(day));
                if per_day != (listed.map(|h| h.name_ja), listed.map(|h| h.name_en)) {
                    mismatches.push(format!("{day}: per-day {per_day:?}, listed {listed:?}"));
                }
                day = day.tomorrow().unwrap();
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}
