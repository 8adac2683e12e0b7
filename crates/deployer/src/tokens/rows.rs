//! An import file parsed into rows. JSON lines when the first non-blank line starts with `{`, else
//! CSV whose first line is the header. Fields: `userId`, `platform`, `accessToken`, `refreshToken`
//! (optional for an Instagram provider, which refreshes with its long-lived access token),
//! `expiresAt` (epoch seconds), optional `refreshExpiresAt` (epoch seconds) and `status`
//! (`active`, the default, `needs_reauth` or `inactive`).
//!
//! A bad row is reported by its line number and field and skipped; errors never quote a value,
//! since any cell may hold a token (a JSON parser's own message could, so it is not passed on).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use refresher::secret::SecretString;
use refresher::store::TokenStatus;
use serde::Serialize;
use serde_json::Value;

use super::csv;
use crate::stage::ProviderKind;

const FIELDS: [&str; 7] = [
    "userId",
    "platform",
    "accessToken",
    "refreshToken",
    "expiresAt",
    "refreshExpiresAt",
    "status",
];

/// One good row. Token values stay wrapped: `Debug` shows `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    pub user_id: String,
    pub platform: String,
    pub access_token: SecretString,
    /// `None` only for an Instagram provider's row.
    pub refresh_token: Option<SecretString>,
    pub expires_at: u64,
    pub refresh_expires_at: Option<u64>,
    pub status: TokenStatus,
}

/// A skipped row: where and why, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: usize,
    /// The field at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: `{field}`: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

fn error(line: usize, field: Option<&str>, reason: impl Into<String>) -> RowError {
    RowError {
        line,
        field: field.map(str::to_owned),
        reason: reason.into(),
    }
}

/// The parsed file: good rows, and bad rows in line order.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<Row>,
    pub errors: Vec<RowError>,
}

/// Parses `text`; `platforms` are the stage's providers and their kinds (a row for another
/// platform is bad). `Err`: the file as a whole is unusable (no header, unknown CSV columns).
pub fn parse(text: &str, platforms: &BTreeMap<String, ProviderKind>) -> Result<Parsed, String> {
    let records = match text.lines().find(|l| !l.trim().is_empty()) {
        None => return Ok(Parsed::default()),
        Some(first) if first.trim_start().starts_with('{') => json_records(text),
        Some(_) => csv_records(text)?,
    };
    let mut parsed = Parsed::default();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for record in records {
        let row = record.and_then(|(line, fields)| row(line, &fields, platforms));
        match row {
            Ok(row) => {
                let key = (row.user_id.clone(), row.platform.clone());
                if let Some(first) = seen.insert(key, row.line) {
                    parsed.errors.push(error(
                        row.line,
                        None,
                        format!("the same userId and platform as line {first}"),
                    ));
                } else {
                    parsed.rows.push(row);
                }
            }
            Err(err) => parsed.errors.push(err),
        }
    }
    Ok(parsed)
}

/// A record's fields: text, whole numbers, or anything else (a wrong type).
#[derive(Debug)]
enum Field {
    Text(String),
    Number(u64),
    Other(&'static str),
}

type Record = Result<(usize, BTreeMap<String, Field>), RowError>;

fn json_records(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                records.push(Err(error(n, None, "is not a JSON object")));
                continue;
            }
            Err(err) => {
                let at = format!("is not valid JSON (column {})", err.column());
                records.push(Err(error(n, None, at)));
                continue;
            }
        };
        let fields = object
            .into_iter()
            .filter_map(|(k, v)| json_field(v).map(|f| (k, f)))
            .collect();
        records.push(Ok((n, fields)));
    }
    records
}

fn json_field(value: Value) -> Option<Field> {
    Some(match value {
        Value::Null => return None,
        Value::String(text) => Field::Text(text),
        Value::Number(number) => number.as_u64().map_or(
            Field::Other("a number that is not a whole epoch second"),
            Field::Number,
        ),
        Value::Bool(_) => Field::Other("a boolean"),
        Value::Array(_) => Field::Other("an array"),
        Value::Object(_) => Field::Other("an object"),
    })
}

fn csv_records(text: &str) -> Result<Vec<Record>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_at, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let header = csv::split(header).map_err(|e| format!("line {}: {e}", header_at + 1))?;
    let header: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
    if let Some(unknown) = header.iter().find(|h| !FIELDS.contains(&h.as_str())) {
        return Err(format!(
            "line {}: unknown column `{unknown}`; the columns are {}",
            header_at + 1,
            FIELDS.join(", ")
        ));
    }
    Ok(lines
        .map(|(i, line)| csv_record(i + 1, line, &header))
        .collect())
}

/// Line `n` as a record of the header's columns, its empty cells left out.
fn csv_record(n: usize, line: &str, header: &[String]) -> Record {
    let cells = csv::split(line).map_err(|e| error(n, None, e))?;
    if cells.len() != header.len() {
        let why = format!("has {} fields, the header {}", cells.len(), header.len());
        return Err(error(n, None, why));
    }
    let fields = header
        .iter()
        .zip(cells)
        .filter(|(_, cell)| !cell.is_empty())
        .map(|(name, cell)| (name.clone(), Field::Text(cell)))
        .collect();
    Ok((n, fields))
}

fn row(
    line: usize,
    fields: &BTreeMap<String, Field>,
    platforms: &BTreeMap<String, ProviderKind>,
) -> Result<Row, RowError> {
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(error(line, Some(unknown), "is not a field of a token item"));
    }
    let platform = text(line, fields, "platform")?;
    let Some(kind) = platforms.get(&platform) else {
        let known = platforms.keys().cloned().collect::<Vec<_>>().join(", ");
        let why = format!("is not a provider of this stage (one of {known})");
        return Err(error(line, Some("platform"), why));
    };
    let refresh_token = refresh_token(line, fields, *kind)?;
    Ok(Row {
        line,
        user_id: text(line, fields, "userId")?,
        access_token: SecretString::new(text(line, fields, "accessToken")?),
        refresh_token,
        expires_at: epoch(line, "expiresAt", fields.get("expiresAt"))?
            .ok_or_else(|| error(line, Some("expiresAt"), "is missing"))?,
        refresh_expires_at: epoch(line, "refreshExpiresAt", fields.get("refreshExpiresAt"))?,
        status: status(line, fields.get("status"))?,
        platform,
    })
}

/// The text of a required field; an error when it is missing, empty or not text.
fn text(line: usize, fields: &BTreeMap<String, Field>, name: &str) -> Result<String, RowError> {
    match fields.get(name) {
        None => Err(error(line, Some(name), "is missing")),
        Some(Field::Text(t)) if t.is_empty() => Err(error(line, Some(name), "is empty")),
        Some(Field::Text(t)) => Ok(t.clone()),
        Some(Field::Number(_)) => Err(error(line, Some(name), "is a number, not a string")),
        Some(Field::Other(kind)) => {
            Err(error(line, Some(name), format!("is {kind}, not a string")))
        }
    }
}

/// The row's refresh token; only an Instagram provider's row may leave it out.
fn refresh_token(
    line: usize,
    fields: &BTreeMap<String, Field>,
    kind: ProviderKind,
) -> Result<Option<SecretString>, RowError> {
    // Instagram refreshes with the long-lived access token: a refresh token would be a copy.
    match fields.get("refreshToken") {
        None if kind == ProviderKind::Instagram => Ok(None),
        None => {
            let why = "is missing (only an Instagram provider's rows may leave it out)";
            Err(error(line, Some("refreshToken"), why))
        }
        Some(_) => Ok(Some(SecretString::new(text(line, fields, "refreshToken")?))),
    }
}

fn epoch(line: usize, name: &str, field: Option<&Field>) -> Result<Option<u64>, RowError> {
    let bad = || error(line, Some(name), "is not a whole number of epoch seconds");
    match field {
        None => Ok(None),
        Some(Field::Number(n)) => Ok(Some(*n)),
        Some(Field::Text(t)) => t.trim().parse().map(Some).map_err(|_| bad()),
        Some(Field::Other(_)) => Err(bad()),
    }
}

fn status(line: usize, field: Option<&Field>) -> Result<TokenStatus, RowError> {
    let value = match field {
        None => return Ok(TokenStatus::Active),
        Some(Field::Text(t)) => t.trim(),
        Some(_) => return Err(error(line, Some("status"), "is not a string")),
    };
    match value {
        "active" => Ok(TokenStatus::Active),
        "needs_reauth" => Ok(TokenStatus::NeedsReauth),
        "inactive" => Ok(TokenStatus::Inactive),
        _ => Err(error(
            line,
            Some("status"),
            "is not one of active, needs_reauth, inactive",
        )),
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
