//! EventBridge cron expressions: `minutes hours day-of-month month day-of-week year`.
//!
//! Written here rather than taken from a cron crate because EventBridge's dialect is its own: six
//! fields with a year, day-of-week 1-7 starting on Sunday, `?` required in exactly one of the two
//! day fields, and `L`, `W` and `#`. The parser checks exactly those rules, and [`Cron::max_gap_minutes`]
//! finds the longest time between two runs so the refresh window can be checked against it.

use super::calendar::{civil_from_days, days_from_civil, days_in_month, weekday};

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: DayRule,
    months: Vec<u32>,
}

/// Which days of a month the expression fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DayRule {
    /// Day-of-month items (day-of-week is `?`).
    OfMonth(Vec<DomItem>),
    /// Day-of-week items (day-of-month is `?`).
    OfWeek(Vec<DowItem>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DomItem {
    Day(u32),
    Last,
    LastWeekday,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DowItem {
    /// 1 = Sunday ... 7 = Saturday.
    Day(u32),
    /// The last such weekday of the month (`6L`).
    Last(u32),
    /// The n-th such weekday of the month (`3#2`).
    Nth(u32, u32),
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const USAGE: &str = "write `cron(minutes hours day-of-month month day-of-week year)` with `?` in \
                     one of the two day fields, e.g. `cron(0 9 */3 * ? *)`";

impl Cron {
    pub(super) fn parse(inner: &str) -> Result<Self, String> {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = fields[..] else {
            return Err(format!(
                "`cron({inner})` has {} fields, EventBridge needs 6; {USAGE}",
                fields.len()
            ));
        };
        let minutes = numeric_field(min, "minutes", 0, 59, &[])?;
        let hours = numeric_field(hour, "hours", 0, 23, &[])?;
        let months = numeric_field(month, "month", 1, 12, &MONTHS)?;
        check_year(year)?;
        let days = day_rule([min, hour, dom, month, dow])?;
        Ok(Self {
            minutes,
            hours,
            days,
            months,
        })
    }

    /// The longest time between two consecutive runs, in minutes, over eight years of calendar
    /// (two leap cycles, so month ends and leap days are all seen).
    pub(super) fn max_gap_minutes(&self) -> u64 {
        let mut times: Vec<u64> = self
            .hours
            .iter()
            .flat_map(|h| {
                self.minutes
                    .iter()
                    .map(move |m| u64::from(*h) * 60 + u64::from(*m))
            })
            .collect();
        times.sort_unstable();
        let (first, last) = (times[0], times[times.len() - 1]);
        let within_day = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);

        let start = days_from_civil(2024, 1, 1);
        let fire_days: Vec<i64> = (start..start + 8 * 366)
            .filter(|&day| self.fires_on(day))
            .collect();
        let across_days = fire_days
            .windows(2)
            .map(|w| u64::try_from(w[1] - w[0]).unwrap_or(0) * 1440 + first - last)
            .max()
            // Fewer than two firing days in eight years: treat as never firing again.
            .unwrap_or(u64::MAX / 120);
        within_day.max(across_days)
    }

    fn fires_on(&self, day: i64) -> bool {
        let (year, month, dom) = civil_from_days(day);
        if !self.months.contains(&month) {
            return false;
        }
        let last_dom = days_in_month(year, month);
        let weekday = weekday(day);
        match &self.days {
            DayRule::OfMonth(items) => items.iter().any(|item| match *item {
                DomItem::Day(d) => d == dom,
                DomItem::Last => dom == last_dom,
                DomItem::LastWeekday => dom == nearest_weekday(year, month, last_dom),
                DomItem::NearestWeekday(d) => {
                    d <= last_dom && dom == nearest_weekday(year, month, d)
                }
            }),
            DayRule::OfWeek(items) => items.iter().any(|item| match *item {
                DowItem::Day(d) => d == weekday,
                DowItem::Last(d) => d == weekday && dom + 7 > last_dom,
                DowItem::Nth(d, n) => d == weekday && (dom - 1) / 7 + 1 == n,
            }),
        }
    }
}

/// The year field: only `*`, since a schedule that stops firing lets tokens expire.
fn check_year(year: &str) -> Result<(), String> {
    if year == "*" {
        return Ok(());
    }
    numeric_field(year, "year", 1970, 2199, &[])?;
    Err(format!(
        "year `{year}` makes the schedule stop firing, and tokens would then expire; use `*`"
    ))
}

/// The day rule of the first five fields: exactly one of day-of-month and day-of-week is `?`.
fn day_rule([min, hour, dom, month, dow]: [&str; 5]) -> Result<DayRule, String> {
    match (dom, dow) {
        ("?", "?") => Err(format!(
            "day-of-month and day-of-week are both `?`; set one of them; {USAGE}"
        )),
        (dom, "?") => Ok(DayRule::OfMonth(dom_items(dom)?)),
        ("?", dow) => Ok(DayRule::OfWeek(dow_items(dow)?)),
        _ => Err(format!(
            "day-of-month `{dom}` and day-of-week `{dow}` are both set; EventBridge needs `?` \
             in one of them, e.g. `{min} {hour} {dom} {month} ? *`"
        )),
    }
}

/// Parses a field of numbers with `,`, `-`, `*` and `/` into the sorted set of values it allows.
fn numeric_field(
    field: &str,
    name: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
) -> Result<Vec<u32>, String> {
    let mut values = Vec::new();
    for item in field.split(',') {
        let (range, step) = range_and_step(item, name)?;
        let (from, to) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                value(a, name, lo, hi, names)?,
                value(b, name, lo, hi, names)?,
            )
        } else {
            let v = value(range, name, lo, hi, names)?;
            // `5/15` means "from 5, every 15"; a bare `5` is just 5.
            (v, if item.contains('/') { hi } else { v })
        };
        if from > to {
            return Err(format!(
                "{name}: range `{range}` runs backwards; write the smaller value first"
            ));
        }
        values.extend((from..=to).step_by(step as usize));
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

/// An item's range and its step (1 when it has none).
fn range_and_step<'a>(item: &'a str, name: &str) -> Result<(&'a str, u32), String> {
    let Some((range, step)) = item.split_once('/') else {
        return Ok((item, 1));
    };
    let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
        format!("{name}: step `{step}` in `{item}` is not a positive number; {USAGE}")
    })?;
    Ok((range, step))
}

fn value(s: &str, name: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u32, String> {
    let upper = s.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(lo + u32::try_from(i).unwrap_or(0));
    }
    match s.parse::<u32>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!(
            "{name}: `{s}` is not a value from {lo} to {hi}{}; {USAGE}",
            if names.is_empty() {
                String::new()
            } else {
                format!(" or {}-{}", names[0], names[names.len() - 1])
            }
        )),
    }
}

fn dom_items(field: &str) -> Result<Vec<DomItem>, String> {
    let mut items = Vec::new();
    for item in field.split(',') {
        match item {
            "L" => items.push(DomItem::Last),
            "LW" => items.push(DomItem::LastWeekday),
            _ if item.ends_with('W') => {
                let day = value(&item[..item.len() - 1], "day-of-month", 1, 31, &[])?;
                items.push(DomItem::NearestWeekday(day));
            }
            _ => items.extend(
                numeric_field(item, "day-of-month", 1, 31, &[])?
                    .into_iter()
                    .map(DomItem::Day),
            ),
        }
    }
    Ok(items)
}

fn dow_items(field: &str) -> Result<Vec<DowItem>, String> {
    let mut items = Vec::new();
    for item in field.split(',') {
        if item == "L" {
            items.push(DowItem::Day(7));
        } else if let Some(day) = item.strip_suffix('L') {
            items.push(DowItem::Last(value(day, "day-of-week", 1, 7, &WEEKDAYS)?));
        } else if let Some((day, nth)) = item.split_once('#') {
            let day = value(day, "day-of-week", 1, 7, &WEEKDAYS)?;
            let nth = nth
                .parse()
                .ok()
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| {
                    format!(
                        "day-of-week: `#{nth}` in `{item}` must be 1 to 5 (the n-th such weekday)"
                    )
                })?;
            items.push(DowItem::Nth(day, nth));
        } else {
            items.extend(
                numeric_field(item, "day-of-week", 1, 7, &WEEKDAYS)?
                    .into_iter()
                    .map(DowItem::Day),
            );
        }
    }
    Ok(items)
}

/// The weekday closest to `day` within the same month (`15W`).
fn nearest_weekday(year: i64, month: u32, day: u32) -> u32 {
    let last = days_in_month(year, month);
    match weekday(days_from_civil(year, month, day)) {
        1 if day < last => day + 1, // Sunday -> Monday
        1 => day - 2,               // last day is a Sunday -> Friday
        7 if day > 1 => day - 1,    // Saturday -> Friday
        7 => day + 2,               // the 1st is a Saturday -> Monday the 3rd
        _ => day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 60;
    const D: u64 = 24 * H;

    fn gap(expr: &str) -> u64 {
        Cron::parse(expr).unwrap().max_gap_minutes()
    }

    #[test]
    fn gaps_of_common_forms() {
        assert_eq!(gap("0 9 * * ? *"), D);
        assert_eq!(gap("0 */6 * * ? *"), 6 * H);
        // Friday 17:30 -> Monday 08:00.
        assert_eq!(gap("0,30 8-17 ? * MON-FRI *"), 2 * D + 14 * H + 30);
        assert_eq!(gap("15 10 ? * 6L *"), 35 * D);
        assert_eq!(gap("0 12 ? * 2#1 *"), 35 * D);
        assert_eq!(gap("0 0 L * ? *"), 31 * D);
        assert_eq!(gap("0 0 1 JAN,JUL ? *"), 184 * D);
        assert_eq!(gap("0/5 * * * ? *"), 5);
    }

    #[test]
    fn weekday_rules() {
        let c = Cron::parse("0 0 15W * ? *").unwrap();
        // 2026-11-15 is a Sunday: fires on Monday the 16th.
        assert!(c.fires_on(days_from_civil(2026, 11, 16)));
        assert!(!c.fires_on(days_from_civil(2026, 11, 15)));
        let c = Cron::parse("0 0 1W * ? *").unwrap();
        // 2026-08-01 is a Saturday: fires on Monday the 3rd, never in July.
        assert!(c.fires_on(days_from_civil(2026, 8, 3)));
        assert!(!c.fires_on(days_from_civil(2026, 7, 31)));
    }

    #[test]
    fn errors_name_the_field() {
        for (bad, hint) in [
            ("0 9 * *", "has 4 fields"),
            ("60 9 * * ? *", "minutes: `60`"),
            ("0 24 * * ? *", "hours: `24`"),
            ("0 9 32 * ? *", "day-of-month: `32`"),
            ("0 9 * 13 ? *", "month: `13`"),
            ("0 9 * FOO ? *", "month: `FOO`"),
            ("0 9 ? * 8 *", "day-of-week: `8`"),
            ("0 9 * * MON *", "both set"),
            ("0 9 ? * ? *", "both `?`"),
            ("0 9 * * ? 2027", "stop firing"),
            ("0 9 * * ? 1800", "year: `1800`"),
            ("0/0 9 * * ? *", "step `0`"),
            ("30-10 9 * * ? *", "runs backwards"),
            ("0 9 ? * 2#6 *", "must be 1 to 5"),
        ] {
            let err = Cron::parse(bad).unwrap_err();
            assert!(err.contains(hint), "{bad}: {err}");
        }
    }
}
