//! Minimal timestamp handling: ISO 8601 / RFC 3339 text to milliseconds since the epoch.

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |a, c| a * 10 + i64::from(c - b'0')))
}

/// Parse `YYYY-MM-DD[T ]HH:MM:SS[.fff…][Z|±HH:MM]` (a date alone is midnight UTC).
/// Text without an offset is taken as UTC.
pub fn parse_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if b.len() < 19 || !(b[10] == b'T' || b[10] == b' ' || b[10] == b't') {
        return None;
    }
    let (h, mi, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    ms += (h * 3600 + mi * 60 + sec) * 1000;
    let mut i = 19;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        let mut f = 0i64;
        for k in 0..3 {
            f = f * 10 + frac.get(k).map_or(0, |c| i64::from(c - b'0'));
        }
        ms += f;
    }
    let rest = &b[i..];
    match rest.first() {
        None | Some(b'Z') | Some(b'z') => Some(ms),
        Some(sign @ (b'+' | b'-')) => {
            let r: Vec<u8> = rest[1..].iter().copied().filter(|c| *c != b':').collect();
            if r.len() < 2 {
                return None;
            }
            let oh = num(&r[0..2])?;
            let om = if r.len() >= 4 { num(&r[2..4])? } else { 0 };
            let off = (oh * 60 + om) * 60_000;
            Some(if *sign == b'+' { ms - off } else { ms + off })
        }
        Some(b' ') if rest.iter().all(u8::is_ascii_whitespace) => Some(ms),
        _ => Some(ms),
    }
}

/// Parse a Sigma timespan such as `30s`, `5m`, `1h`, `2d`, `1w`, `1M`, `1y` to milliseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let f = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        'M' => 30 * 86_400_000,
        'y' => 365 * 86_400_000,
        _ => return None,
    };
    Some(n * f)
}

/// Split milliseconds into (year, month, day, hour, minute, weekday 1=Monday..7).
pub fn civil_parts(ms: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = (days + 3).rem_euclid(7) + 1;
    (y, m, d, secs / 3600, (secs / 60) % 60, wd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso() {
        assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_ms("1970-01-02T00:00:01.5Z"), Some(86_401_500));
        assert_eq!(parse_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_ms("2019-03-19 23:34:25.123"),
            parse_ms("2019-03-19T23:34:25.123Z")
        );
        assert_eq!(parse_ms("nope"), None);
        let t = parse_ms("2024-02-29T13:45:00Z").unwrap_or_default();
        assert_eq!(civil_parts(t), (2024, 2, 29, 13, 45, 4));
        assert_eq!(parse_timespan("5m"), Some(300_000));
    }
}
