//! Timestamps in files: RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or Unix seconds.
//! Telemetry has whole-second resolution: fractional seconds are truncated.
//! Durations, wherever they are read (`--backfill 30d`, mapping, policy, strategy and
//! experiment files), have one grammar: [`parse_duration`].

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::model::UnixSecs;

/// Parses a timestamp in any accepted form.
pub fn parse_timestamp(text: &str) -> Result<UnixSecs, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Some(t) = parse_fast(s.as_bytes()) {
        return Ok(t);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'+' || b == b'e' || b == b'E')
        && s.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'-')
        && !s[1..].contains('-')
    {
        if let Ok(secs) = s.parse::<i64>() {
            return check_range(secs, text);
        }
        if let Ok(secs) = s.parse::<f64>()
            && secs.is_finite()
            && secs.abs() < 1e13
        {
            return check_range(secs.floor() as i64, text);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc().timestamp());
        }
    }
    Err(format!("cannot read {text:?} as a timestamp (expected RFC 3339, YYYY-MM-DD HH:MM:SS or Unix seconds)"))
}

pub(crate) fn check_range(secs: i64, text: &str) -> Result<UnixSecs, String> {
    // Years 1900..=9999 keep every later calculation far from overflow.
    if (-2_208_988_800..=253_402_300_799).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!("timestamp {text:?} is outside the years 1900–9999"))
    }
}

/// `YYYY-MM-DD[ T]HH:MM:SS[Z]` without chrono, for the common case in large files.
fn parse_fast(b: &[u8]) -> Option<UnixSecs> {
    let b = match b {
        [rest @ .., b'Z'] => rest,
        _ => b,
    };
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b' ' && b[10] != b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 in UTC with a `Z`, e.g. `2026-10-01T00:00:00Z`.
pub fn format_rfc3339(t: UnixSecs) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map_or_else(|| t.to_string(), |d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the form written in output CSV files.
pub fn format_datetime(t: UnixSecs) -> String {
    DateTime::<Utc>::from_timestamp(t, 0).map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `YYYY-MM-DD HH:MM` in UTC, for display.
pub fn format_short(t: UnixSecs) -> String {
    DateTime::<Utc>::from_timestamp(t, 0).map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d %H:%M").to_string())
}

/// A label for a time axis mark: the date when marks are a day or more apart, else
/// date and time (UTC).
pub fn format_axis(t: UnixSecs, step_secs: f64) -> String {
    let Some(d) = DateTime::<Utc>::from_timestamp(t, 0) else {
        return String::new();
    };
    if step_secs >= 86_400.0 { d.format("%b %d").to_string() } else { d.format("%b %d %H:%M").to_string() }
}

/// Parses a duration — the one grammar of every duration twinbench reads (command-line
/// options, mapping, policy, strategy and experiment files): one or more terms
/// `<number><unit>`, the number whole or with a fraction, spaces allowed around terms
/// and before a unit, terms in any order and summed. Units: `ns`, `us`/`µs`,
/// `ms`/`msec`/`millis`, `s`/`sec`/`secs`/`second(s)`, `m`/`min`/`mins`/`minute(s)`,
/// `h`/`hr`/`hrs`/`hour(s)`, `d`/`day(s)`, `w`/`wk`/`wks`/`week(s)`,
/// `M`/`month(s)` (30.44 days) and `y`/`yr`/`yrs`/`year(s)` (365 days). So both
/// Prometheus' spellings (`30d`, `1h30m`, `500ms`) and written-out ones (`15 minutes`,
/// `1hour 30min`, `1.5h`) are read.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    const NANOS: [(&[&str], u128); 10] = [
        (&["ns", "nsec", "nanos"], 1),
        (&["us", "µs", "usec"], 1_000),
        (&["ms", "msec", "millis"], 1_000_000),
        (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
        (&["m", "min", "mins", "minute", "minutes"], 60 * 1_000_000_000),
        (&["h", "hr", "hrs", "hour", "hours"], 3_600 * 1_000_000_000),
        (&["d", "day", "days"], 86_400 * 1_000_000_000),
        (&["w", "wk", "wks", "week", "weeks"], 7 * 86_400 * 1_000_000_000),
        (&["M", "month", "months"], 2_630_016 * 1_000_000_000),
        (&["y", "yr", "yrs", "year", "years"], 365 * 86_400 * 1_000_000_000),
    ];
    let bad = |why: String| {
        format!("cannot read {text:?} as a duration: {why} (write e.g. 30d, 6h, 1h30m, 15s, 500ms or 15 minutes)")
    };
    let mut rest = text.trim_start();
    if rest.trim_end().is_empty() {
        return Err(bad("it is empty".into()));
    }
    let mut total_ns: u128 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad(format!("expected a number at {rest:?}")));
        }
        let whole: u128 = rest[..digits].parse().map_err(|_| bad("the number is too large".into()))?;
        rest = &rest[digits..];
        // An optional fraction: numerator / 10^places.
        let (mut numerator, mut places) = (0u128, 0u32);
        if let Some(after) = rest.strip_prefix('.') {
            let frac = after.bytes().take_while(u8::is_ascii_digit).count();
            if frac == 0 || frac > 18 {
                return Err(bad("a fraction needs 1 to 18 digits after the point".into()));
            }
            numerator = after[..frac].parse().map_err(|_| bad("bad fraction".into()))?;
            places = frac as u32;
            rest = &after[frac..];
        }
        rest = rest.trim_start();
        let unit_len: usize =
            rest.chars().take_while(|c| c.is_ascii_alphabetic() || *c == 'µ').map(char::len_utf8).sum();
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(bad(format!("{whole} needs a unit")));
        }
        let Some((_, unit_ns)) = NANOS.iter().find(|(names, _)| names.contains(&unit)) else {
            return Err(bad(format!("unknown unit {unit:?}")));
        };
        let term = whole
            .checked_mul(*unit_ns)
            .and_then(|w| w.checked_add(numerator.checked_mul(*unit_ns)? / 10u128.pow(places)))
            .ok_or_else(|| bad("it is too long".into()))?;
        total_ns = total_ns.checked_add(term).ok_or_else(|| bad("it is too long".into()))?;
        rest = rest[unit_len..].trim_start();
    }
    let secs = u64::try_from(total_ns / 1_000_000_000).map_err(|_| bad("it is too long".into()))?;
    Ok(std::time::Duration::new(secs, (total_ns % 1_000_000_000) as u32))
}

/// A duration in the largest whole units, e.g. `30d`, `1h30m`, `15s`.
pub fn format_duration(d: std::time::Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_prometheus_syntax() {
        let d = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(d("30d"), Ok(30 * 86_400_000));
        assert_eq!(d("1h30m"), Ok(5_400_000));
        assert_eq!(d("15s"), Ok(15_000));
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("1m500ms"), Ok(60_500));
        assert_eq!(d("2w"), Ok(14 * 86_400_000));
        assert_eq!(d("10y"), Ok(3650 * 86_400_000));
        for bad in ["", "30", "d", "-5m", "5x", "1h30", "1.h", "5 m 3", "99999999999999999999y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(std::time::Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(std::time::Duration::from_secs(30 * 86_400)), "30d");
    }

    /// Spellings policy, strategy and experiment files accepted (they were read with
    /// `humantime`) read the same through the one grammar; the Prometheus forms above
    /// are the command line's and mapping files'.
    #[test]
    fn durations_accept_the_written_out_forms_of_policy_files() {
        let secs = |s: &str| parse_duration(s).map(|d| d.as_secs());
        for (text, expected) in [
            ("90s", 90),
            ("15m", 900),
            ("2h", 7_200),
            ("1d", 86_400),
            (" 10m ", 600),
            ("15 minutes", 900),
            ("1hour 30min", 5_400),
            ("1h 30m", 5_400),
            ("2days", 172_800),
            ("90sec", 90),
            ("5 m", 300),
            ("1.5h", 5_400),
            ("30m1h", 5_400),
            ("1h1h", 7_200),
            ("2wk", 1_209_600),
            ("1M", 2_630_016),
            ("3 hrs", 10_800),
            ("1500ms", 1),
        ] {
            assert_eq!(secs(text), Ok(expected), "{text}");
        }
        assert_eq!(parse_duration("250us").map(|d| d.as_nanos()), Ok(250_000));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit \"parsecs\""));
    }

    #[test]
    fn accepts_every_documented_form() {
        let t = 1_392_388_200; // 2014-02-14 14:30:00 UTC
        for s in [
            "2014-02-14 14:30:00",
            "2014-02-14T14:30:00Z",
            "2014-02-14T14:30:00+00:00",
            "2014-02-14T15:30:00+01:00",
            "2014-02-14 14:30:00.000000",
            "1392388200",
            "1392388200.75",
            " 2014-02-14 14:30:00 ",
        ] {
            assert_eq!(parse_timestamp(s), Ok(t), "{s}");
        }
        assert_eq!(format_rfc3339(t), "2014-02-14T14:30:00Z");
        assert_eq!(format_datetime(t), "2014-02-14 14:30:00");
        assert_eq!(parse_timestamp(&format_datetime(t)), Ok(t));
    }

    #[test]
    fn rejects_garbage() {
        for s in
            ["", "yesterday", "2014-02-30 00:00:00", "2014-13-01 00:00:00", "99999999999999999999", "NaN", "1e400", "-"]
        {
            assert!(parse_timestamp(s).is_err(), "{s}");
        }
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for t in [0i64, 951_782_400, 1_392_388_200, 4_102_444_799, -86_400] {
            let s = DateTime::<Utc>::from_timestamp(t, 0).unwrap().format("%Y-%m-%d %H:%M:%S").to_string();
            assert_eq!(parse_fast(s.as_bytes()), Some(t), "{s}");
        }
    }
}
