//! The CSV this importer reads: one record per line, comma-separated, fields optionally in double
//! quotes (a quote inside a quoted field is doubled), as spreadsheets export it. Records spanning
//! lines are not supported: token values never contain line breaks.

use std::iter::Peekable;
use std::str::Chars;

/// Splits one line into fields. The error says where, never what (the line holds tokens).
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    loop {
        let number = fields.len() + 1;
        let field = if chars.next_if_eq(&'"').is_some() {
            quoted_field(&mut chars, number)?
        } else {
            plain_field(&mut chars)
        };
        fields.push(field);
        // The next character, if any, is the comma before the next field.
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// A field without quotes: everything up to the next comma or the end of the line.
fn plain_field(chars: &mut Peekable<Chars<'_>>) -> String {
    let mut field = String::new();
    while let Some(c) = chars.next_if(|c| *c != ',') {
        field.push(c);
    }
    field
}

/// A quoted field after its opening quote, up to its closing quote (`""` is a quote inside it),
/// which must end the line or come before a comma; `number` is its position, for the error.
fn quoted_field(chars: &mut Peekable<Chars<'_>>, number: usize) -> Result<String, String> {
    let mut field = String::new();
    while let Some(c) = chars.next() {
        if c != '"' {
            field.push(c);
        } else if chars.next_if_eq(&'"').is_some() {
            field.push('"');
        } else if matches!(chars.peek(), None | Some(',')) {
            return Ok(field);
        } else {
            return Err(format!("field {number} has text after its closing quote"));
        }
    }
    Err(format!("field {number} has no closing quote"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            split(r#""a,1","say ""hi""",x"#).unwrap(),
            ["a,1", r#"say "hi""#, "x"]
        );
        assert_eq!(split("a,b\r").unwrap(), ["a", "b"]);
        assert_eq!(split("").unwrap(), [""]);
    }

    #[test]
    fn broken_quotes_are_reported_by_position() {
        assert_eq!(
            split(r#"a,"secret"#).unwrap_err(),
            "field 2 has no closing quote"
        );
        assert_eq!(
            split(r#""secret"x,b"#).unwrap_err(),
            "field 1 has text after its closing quote"
        );
    }
}
