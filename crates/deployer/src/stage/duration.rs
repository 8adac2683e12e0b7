//! Durations in stage files: `90s`, `20m`, `12h`, `7d`, or combined like `1h30m`.

use std::fmt::Write;

const USAGE: &str =
    "write a whole number with a unit s, m, h or d, e.g. `20m`, `12h`, `7d` or `1h30m`";

/// Parses a duration into seconds. The error shows the accepted forms.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("the duration is empty; {USAGE}"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let (n, unit) = term(s, &digits, c)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}` is too long a duration; {USAGE}"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("`{s}` ends in a number without a unit; {USAGE}"));
    }
    if total == 0 {
        return Err(format!("`{s}` is zero; {USAGE}"));
    }
    Ok(total)
}

/// The number and the unit's size in seconds of one term of `s`: `digits` followed by `unit`.
fn term(s: &str, digits: &str, unit: char) -> Result<(u64, u64), String> {
    let size = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("`{s}` has `{unit}`, which is not a unit; {USAGE}")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` has a unit without a number before it; {USAGE}"))?;
    Ok((n, size))
}

/// Formats seconds the way stage files write them, largest units first: `1h30m`, `7d`.
pub fn format_duration(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)] {
        if secs >= size {
            let _ = write!(out, "{}{unit}", secs / size);
            secs %= size;
        }
    }
    out
}

/// `in 3h20m` for a time after `now`, `2d ago` for one at or before it.
pub fn relative(at: u64, now: u64) -> String {
    if at > now {
        format!("in {}", format_duration(at - now))
    } else {
        format!("{} ago", format_duration(now - at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(100 + 3600, 100), "in 1h");
        assert_eq!(relative(100, 100 + 90), "1m30s ago");
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("20m"), Ok(1200));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "12",
            "h",
            "12x",
            "1.5h",
            "-5m",
            "0m",
            "12 h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for secs in [1, 59, 60, 5400, 86_400, 694_861] {
            assert_eq!(parse_duration(&format_duration(secs)), Ok(secs));
        }
        assert_eq!(format_duration(1020), "17m");
    }
}
