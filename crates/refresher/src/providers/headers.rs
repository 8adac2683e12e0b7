//! Reading response headers: lookup, `Retry-After` and the rate-limit reset headers.
//!
//! `Retry-After` is either a number of seconds or an HTTP date (RFC 9110 §10.2.3); dates are read
//! in the IMF-fixdate form every current server sends (`Sun, 06 Nov 1994 08:49:37 GMT`). Anything
//! unreadable is treated as no hint, so the backoff decides instead.

/// A header's trimmed value; names compare case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

/// Seconds to wait according to `Retry-After`, given `now` in epoch seconds.
pub fn retry_after(headers: &[(String, String)], now: u64) -> Option<u64> {
    let value = header(headers, "Retry-After")?;
    value
        .parse::<u64>()
        .ok()
        .or_else(|| parse_http_date(value).map(|at| at.saturating_sub(now)))
}

/// A rate-limit reset header that may be seconds from now or an epoch time (TikTok does not say
/// which; values past 2001-09-09, i.e. 10^9, can only be epoch times). Fractions round up.
pub(crate) fn reset_seconds(value: &str, now: u64) -> Option<u64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let mut seconds = whole.parse::<u64>().ok()?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.bytes().any(|b| b != b'0') {
        seconds += 1;
    }
    Some(if seconds >= 1_000_000_000 {
        seconds.saturating_sub(now)
    } else {
        seconds
    })
}

/// Epoch seconds of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn parse_http_date(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [weekday, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    if !weekday.ends_with(',') {
        return None;
    }
    let day: u64 = digits(day, 2)?;
    let month = month_number(month)?;
    let year: u64 = digits(year, 4)?;
    let mut clock = time.split(':').map(|part| digits(part, 2));
    let (Some(Some(h)), Some(Some(m)), Some(Some(s)), None) =
        (clock.next(), clock.next(), clock.next(), clock.next())
    else {
        return None;
    };
    if !(1..=31).contains(&day) || year < 1970 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_since_epoch(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

fn digits(text: &str, len: usize) -> Option<u64> {
    if text.len() == len && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

fn month_number(name: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let index = MONTHS.iter().position(|m| *m == name)?;
    u64::try_from(index).ok().map(|i| i + 1)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`, years >= 1970 only).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::tests::headers;

    #[test]
    fn lookup_ignores_case_and_trims() {
        let h = headers(&[("x-ratelimit-reset", " 42 ")]);
        assert_eq!(header(&h, "X-Ratelimit-Reset"), Some("42"));
        assert_eq!(header(&h, "Retry-After"), None);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "120")]), 0),
            Some(120)
        );
        let date = headers(&[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert_eq!(retry_after(&date, 784_111_770), Some(7));
        assert_eq!(
            retry_after(&date, 784_111_800),
            Some(0),
            "a past date means now"
        );
        assert_eq!(retry_after(&headers(&[("Retry-After", "soon")]), 0), None);
        assert_eq!(retry_after(&headers(&[("Retry-After", "-5")]), 0), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"),
            Some(1_709_208_000)
        );
        assert_eq!(
            parse_http_date("Fri, 01 Jan 2100 00:00:00 GMT"),
            Some(4_102_444_800)
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn reset_values() {
        assert_eq!(reset_seconds("30", 1_700_000_000), Some(30));
        assert_eq!(reset_seconds("1700000045", 1_700_000_000), Some(45));
        assert_eq!(reset_seconds("1600000000", 1_700_000_000), Some(0));
        assert_eq!(reset_seconds("12.2", 0), Some(13));
        assert_eq!(reset_seconds("12.0", 0), Some(12));
        assert_eq!(reset_seconds("x", 0), None);
        assert_eq!(reset_seconds("1.x", 0), None);
    }
}
