//! Due offsets written as `30m`, `4h`, `3d`, `2w` or combinations such as `1d12h`.

use jiff::SignedDuration;

const UNITS: &[(char, i64)] = &[('w', 7 * 24 * 60), ('d', 24 * 60), ('h', 60), ('m', 1)];

/// Parses an offset: one or more `<number><unit>` groups, units `w` (weeks), `d` (days of 24 h),
/// `h` (hours) and `m` (minutes), largest first, e.g. `90m`, `1d12h`. Returns a message on error.
pub fn parse_offset(s: &str) -> Result<SignedDuration, String> {
    let bad = || {
        format!(
            "invalid offset {s:?}; expected a number followed by a unit (m, h, d or w), e.g. 30m, 4h, 3d, 1d12h"
        )
    };
    let s_trim = s.trim();
    if s_trim.is_empty() {
        return Err(bad());
    }
    let mut minutes: i64 = 0;
    let mut digits = String::new();
    let mut last_rank: Option<usize> = None;
    for c in s_trim.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let rank = UNITS.iter().position(|(u, _)| *u == c).ok_or_else(bad)?;
        if digits.is_empty() || last_rank.is_some_and(|r| r >= rank) {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        let add = n.checked_mul(UNITS[rank].1).ok_or_else(bad)?;
        minutes = minutes.checked_add(add).ok_or_else(bad)?;
        // More than ten years is surely a typo.
        if minutes > 10 * 366 * 24 * 60 {
            return Err(format!("offset {s:?} is too large (at most 10 years)"));
        }
        digits.clear();
        last_rank = Some(rank);
    }
    if !digits.is_empty() || last_rank.is_none() {
        return Err(bad());
    }
    Ok(SignedDuration::from_mins(minutes))
}

/// Formats an offset the way [`parse_offset`] reads it, largest units first (`1d12h`, `0m`).
pub fn format_offset(d: SignedDuration) -> String {
    let mut minutes = d.as_mins();
    if minutes <= 0 {
        return "0m".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        // Weeks are only used when the offset is a whole number of weeks.
        if *unit == 'w' && minutes % size != 0 {
            continue;
        }
        let n = minutes / size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(*unit);
            minutes -= n * size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_offset("30m"), Ok(SignedDuration::from_mins(30)));
        assert_eq!(parse_offset("4h"), Ok(SignedDuration::from_hours(4)));
        assert_eq!(parse_offset("3d"), Ok(SignedDuration::from_hours(72)));
        assert_eq!(parse_offset("2w"), Ok(SignedDuration::from_hours(336)));
        assert_eq!(parse_offset("1d12h"), Ok(SignedDuration::from_hours(36)));
        assert_eq!(parse_offset("0m"), Ok(SignedDuration::ZERO));
    }

    #[test]
    fn refuses_bad_offsets() {
        for bad in [
            "",
            "3x",
            "3",
            "h",
            "1h1d",
            "1h1h",
            "-1h",
            "1.5h",
            "1 h",
            "99999999w",
        ] {
            assert!(parse_offset(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            parse_offset("3x").unwrap_err(),
            "invalid offset \"3x\"; expected a number followed by a unit (m, h, d or w), e.g. 30m, 4h, 3d, 1d12h"
        );
    }

    #[test]
    fn formats_round_trip() {
        for s in ["30m", "1h", "4h", "1d", "1d12h", "2w", "10d", "1h30m", "0m"] {
            let d = parse_offset(s).unwrap();
            assert_eq!(format_offset(d), s);
        }
    }
}
