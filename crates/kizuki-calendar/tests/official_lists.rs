//! Checks the computed holidays against the Cabinet Office's published lists for 2019–2027,
//! the years whose special laws and substitutes are most likely to go wrong.

use std::collections::BTreeMap;

use jiff::civil::Date;
use kizuki_calendar::{holiday_name, holidays_in_year};

const OFFICIAL: &str = include_str!("data/official_2019_2027.txt");
const YEARS: std::ops::RangeInclusive<i16> = 2019..=2027;

/// The data file as date → name; a malformed line is an error rather than skipped, so a typo
/// cannot silently drop a holiday from the comparison.
fn official() -> Result<BTreeMap<Date, &'static str>, String> {
    let mut map = BTreeMap::new();
    for (n, line) in OFFICIAL.lines().enumerate() {
        let n = n + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (date, name) = line
            .split_once('\t')
            .ok_or_else(|| format!("line {n}: no tab in {line:?}"))?;
        let date: Date = date
            .parse()
            .map_err(|e| format!("line {n}: bad date {date:?}: {e}"))?;
        if name.trim().is_empty() || name.trim() != name {
            return Err(format!("line {n}: bad name {name:?}"));
        }
        if map.insert(date, name).is_some() {
            return Err(format!("line {n}: {date} listed twice"));
        }
    }
    Ok(map)
}

#[test]
fn data_file_covers_every_year() {
    let official = official().unwrap();
    for year in YEARS {
        let count = official.keys().filter(|d| d.year() == year).count();
        // Every year since 2016 has at least 16 holidays.
        assert!(
            count >= 16,
            "{year}: only {count} holidays in the data file"
        );
    }
    assert!(official.keys().all(|d| YEARS.contains(&d.year())));
}

#[test]
fn holidays_in_year_matches_the_official_lists() {
    let official = official().unwrap();
    let mut differences = Vec::new();
    for year in YEARS {
        let computed: BTreeMap<Date, &str> = holidays_in_year(year)
            .into_iter()
            .map(|h| (h.date, h.name_ja))
            .collect();
        let expected: BTreeMap<Date, &str> = official
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, n)| (*d, *n))
            .collect();
        for (date, name) in &expected {
            match computed.get(date) {
                None => differences.push(format!("{date}: missing {name}")),
                Some(got) if got != name => {
                    differences.push(format!("{date}: expected {name}, computed {got}"))
                }
                Some(_) => {}
            }
        }
        for (date, name) in &computed {
            if !expected.contains_key(date) {
                differences.push(format!("{date}: unexpected {name}"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} difference(s) from the official lists:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn holiday_name_agrees_with_holidays_in_year_for_every_date() {
    let mut differences = Vec::new();
    for year in YEARS {
        let listed: BTreeMap<Date, &str> = holidays_in_year(year)
            .into_iter()
            .map(|h| (h.date, h.name_ja))
            .collect();
        let mut date = Date::new(year, 1, 1).unwrap();
        while date.year() == year {
            let per_day = holiday_name(date);
            let in_list = listed.get(&date).copied();
            if per_day != in_list {
                differences.push(format!(
                    "{date}: holiday_name {per_day:?}, list {in_list:?}"
                ));
            }
            date = date.tomorrow().unwrap();
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
