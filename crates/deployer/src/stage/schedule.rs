//! EventBridge schedule expressions: `rate(...)` and `cron(...)`, parsed and checked the way
//! EventBridge checks them, plus the longest gap between two runs (the window rule needs it).

use std::fmt;

use serde::{Serialize, Serializer};

use super::cron::Cron;

/// A parsed, valid schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expression: String,
    kind: Kind,
    max_gap_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Rate { value: u64, unit: RateUnit },
    Cron,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    /// The unit a word names, and whether the word is singular.
    fn parse(word: &str) -> Option<(Self, bool)> {
        [Self::Minute, Self::Hour, Self::Day]
            .into_iter()
            .find_map(|unit| match unit.words() {
                (one, _) if one == word => Some((unit, true)),
                (_, many) if many == word => Some((unit, false)),
                _ => None,
            })
    }

    /// The unit's singular and plural words in a rate expression.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Self::Minute => ("minute", "minutes"),
            Self::Hour => ("hour", "hours"),
            Self::Day => ("day", "days"),
        }
    }

    fn seconds(self) -> u64 {
        match self {
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    fn letter(self) -> char {
        match self {
            Self::Minute => 'm',
            Self::Hour => 'h',
            Self::Day => 'd',
        }
    }
}

impl Schedule {
    /// Parses an EventBridge schedule expression. The error says what is wrong and how to write it.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let trimmed = expr.trim();
        if let Some(inner) = strip_call(trimmed, "rate") {
            let (value, unit) = parse_rate(inner)?;
            return Ok(Self {
                expression: trimmed.to_owned(),
                kind: Kind::Rate { value, unit },
                max_gap_s: value * unit.seconds(),
            });
        }
        if let Some(inner) = strip_call(trimmed, "cron") {
            let cron = Cron::parse(inner)?;
            return Ok(Self {
                expression: trimmed.to_owned(),
                kind: Kind::Cron,
                max_gap_s: cron.max_gap_minutes() * 60,
            });
        }
        Err(format!(
            "`{trimmed}` is not an EventBridge schedule; write `rate(15 minutes)` or \
             `cron(0 9 */3 * ? *)` (minutes hours day-of-month month day-of-week year, UTC)"
        ))
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The longest time between two consecutive runs, in seconds.
    pub fn max_gap_s(&self) -> u64 {
        self.max_gap_s
    }

    /// A short name for the schedule, used in rule names: `Rate15m` for `rate(15 minutes)`;
    /// `None` for cron expressions, which are named after their providers instead.
    pub fn rate_label(&self) -> Option<String> {
        match self.kind {
            Kind::Rate { value, unit } => Some(format!("Rate{value}{}", unit.letter())),
            Kind::Cron => None,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.expression)
    }
}

fn strip_call<'a>(expr: &'a str, name: &str) -> Option<&'a str> {
    expr.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

fn parse_rate(inner: &str) -> Result<(u64, RateUnit), String> {
    let usage = "write `rate(<value> <unit>)` with a whole number and minute(s), hour(s) or day(s), \
                 e.g. `rate(1 hour)` or `rate(15 minutes)`";
    let mut parts = inner.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("`rate({inner})` needs a value and a unit; {usage}"));
    };
    let value: u64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("`{value}` is not a positive whole number; {usage}"))?;
    let (unit, singular) =
        RateUnit::parse(unit).ok_or_else(|| format!("`{unit}` is not a rate unit; {usage}"))?;
    // EventBridge rejects `rate(1 minutes)` and `rate(5 minute)`.
    if singular != (value == 1) {
        let (one, many) = unit.words();
        let fixed = if value == 1 { one } else { many };
        return Err(format!(
            "EventBridge wants the singular unit for 1 and the plural otherwise; write `rate({value} {fixed})`"
        ));
    }
    Ok((value, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_forms() {
        let s = Schedule::parse("rate(15 minutes)").unwrap();
        assert_eq!(s.max_gap_s(), 900);
        assert_eq!(s.rate_label().as_deref(), Some("Rate15m"));
        assert_eq!(Schedule::parse("rate(1 hour)").unwrap().max_gap_s(), 3600);
        assert_eq!(
            Schedule::parse("rate(2 days)").unwrap().max_gap_s(),
            172_800
        );
        assert_eq!(
            Schedule::parse(" rate(1 day) ").unwrap().expression(),
            "rate(1 day)"
        );
    }

    #[test]
    fn rate_errors_name_the_fix() {
        for (bad, hint) in [
            ("rate(1 minutes)", "rate(1 minute)"),
            ("rate(5 minute)", "rate(5 minutes)"),
            ("rate(0 minutes)", "positive whole number"),
            ("rate(-5 minutes)", "positive whole number"),
            ("rate(1.5 hours)", "positive whole number"),
            ("rate(5 weeks)", "not a rate unit"),
            ("rate(5)", "needs a value and a unit"),
            ("rate(5 minutes extra)", "needs a value and a unit"),
            ("every 5 minutes", "not an EventBridge schedule"),
            ("rate 5 minutes", "not an EventBridge schedule"),
        ] {
            let err = Schedule::parse(bad).unwrap_err();
            assert!(err.contains(hint), "{bad}: {err}");
        }
    }

    #[test]
    fn cron_gap_comes_from_the_expression() {
        let s = Schedule::parse("cron(0/10 * * * ? *)").unwrap();
        assert_eq!(s.max_gap_s(), 600);
        assert_eq!(s.rate_label(), None);
        // Every third day of the month at 09:00: the longest gap is 3 days (day 28 -> 31 or -> 1).
        let s = Schedule::parse("cron(0 9 */3 * ? *)").unwrap();
        assert_eq!(s.max_gap_s(), 3 * 86_400);
    }
}
